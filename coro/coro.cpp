#include "coro/coro.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cstring>

#include "coro/io_loop.hpp"

namespace parbench::coro {

IoError::IoError(const std::string& operation, int error)
    : std::runtime_error(operation + ": " + std::strerror(error)), error_number(error) {}

const char* to_string(OpKind kind) noexcept {
  switch (kind) {
    case OpKind::sleep:
      return "sleep";
    case OpKind::read:
      return "read";
    case OpKind::write:
      return "write";
    case OpKind::fsync:
      return "fsync";
    case OpKind::open:
      return "open";
    case OpKind::close:
      return "close";
    case OpKind::accept:
      return "accept";
    case OpKind::connect:
      return "connect";
    case OpKind::recv:
      return "recv";
    case OpKind::send:
      return "send";
  }
  return "?";
}

namespace {

std::int64_t result_of(long value) noexcept {
  return value < 0 ? -errno : value;
}

template <class Call>
std::int64_t retry_on_eintr(Call call) noexcept {
  for (;;) {
    const long value = call();
    if (value >= 0 || errno != EINTR) return result_of(value);
  }
}

}  // namespace

void run_blocking_op(Op& op) noexcept {
  switch (op.kind) {
    case OpKind::sleep: {
      timespec remaining{static_cast<time_t>(op.nanoseconds / 1'000'000'000),
                         static_cast<long>(op.nanoseconds % 1'000'000'000)};
      while (clock_nanosleep(CLOCK_MONOTONIC, 0, &remaining, &remaining) == EINTR) {
      }
      op.result = 0;
      return;
    }
    case OpKind::read:
      op.result = retry_on_eintr([&] {
        return op.offset == kCurrentPosition
                   ? ::read(op.fd, op.buffer, op.length)
                   : ::pread(op.fd, op.buffer, op.length, static_cast<off_t>(op.offset));
      });
      return;
    case OpKind::write:
      op.result = retry_on_eintr([&] {
        return op.offset == kCurrentPosition
                   ? ::write(op.fd, op.buffer, op.length)
                   : ::pwrite(op.fd, op.buffer, op.length, static_cast<off_t>(op.offset));
      });
      return;
    case OpKind::fsync:
      op.result = retry_on_eintr([&] { return ::fsync(op.fd); });
      return;
    case OpKind::open:
      op.result = retry_on_eintr(
          [&] { return ::openat(AT_FDCWD, op.path, op.flags | O_CLOEXEC, op.mode); });
      return;
    case OpKind::close:
      op.result = result_of(::close(op.fd));
      return;
    case OpKind::accept:
      op.result = retry_on_eintr([&] { return ::accept4(op.fd, nullptr, nullptr, SOCK_CLOEXEC); });
      return;
    case OpKind::connect:
      op.result = retry_on_eintr([&] { return ::connect(op.fd, op.address, op.address_length); });
      return;
    case OpKind::recv:
      op.result = retry_on_eintr([&] { return ::recv(op.fd, op.buffer, op.length, 0); });
      return;
    case OpKind::send:
      op.result = retry_on_eintr([&] { return ::send(op.fd, op.buffer, op.length, MSG_NOSIGNAL); });
      return;
  }
}

bool OpAwaiter::await_ready() noexcept {
  if (loop_ != nullptr) return false;
  if (op_.scope != nullptr && op_.scope->cancelled())
    op_.result = -ECANCELED;
  else
    run_blocking_op(op_);
  return true;
}

void OpAwaiter::await_suspend(std::coroutine_handle<> waiter) noexcept {
  op_.waiter = waiter;
  loop_->start(op_);
}

std::int64_t OpAwaiter::await_resume() const {
  if (op_.result == -ECANCELED) throw Cancelled();
  if (op_.result < 0) throw IoError(to_string(op_.kind), static_cast<int>(-op_.result));
  return op_.result;
}

void YieldAwaiter::await_suspend(std::coroutine_handle<> waiter) const noexcept {
  loop->post(waiter);
}

void CancelScope::cancel() noexcept {
  cancelled_ = true;
  // Cancelling may complete an op synchronously (epoll), which unlinks it:
  // always take the head again.
  Op* op = pending_;
  while (op != nullptr) {
    Op* next = op->scope_next;
    loop_->cancel(*op);
    op = next;
  }
}

namespace {
Op make_op(OpKind kind) noexcept {
  Op op;
  op.kind = kind;
  return op;
}
}  // namespace

OpAwaiter Io::sleep(std::chrono::nanoseconds duration) const noexcept {
  Op op = make_op(OpKind::sleep);
  op.nanoseconds = duration.count() < 0 ? 0 : duration.count();
  return {loop_, scope_, op};
}
OpAwaiter Io::open(const char* path, int flags, unsigned mode) const noexcept {
  Op op = make_op(OpKind::open);
  op.path = path;
  op.flags = flags;
  op.mode = mode;
  return {loop_, scope_, op};
}
OpAwaiter Io::close(int fd) const noexcept {
  Op op = make_op(OpKind::close);
  op.fd = fd;
  return {loop_, scope_, op};
}
OpAwaiter Io::read(int fd, void* buffer, std::size_t length, std::uint64_t offset) const noexcept {
  Op op = make_op(OpKind::read);
  op.fd = fd;
  op.buffer = buffer;
  op.length = length;
  op.offset = offset;
  return {loop_, scope_, op};
}
OpAwaiter Io::write(int fd, const void* buffer, std::size_t length,
                    std::uint64_t offset) const noexcept {
  Op op = make_op(OpKind::write);
  op.fd = fd;
  op.buffer = const_cast<void*>(buffer);
  op.length = length;
  op.offset = offset;
  return {loop_, scope_, op};
}
OpAwaiter Io::fsync(int fd) const noexcept {
  Op op = make_op(OpKind::fsync);
  op.fd = fd;
  return {loop_, scope_, op};
}
OpAwaiter Io::accept(int listen_fd) const noexcept {
  Op op = make_op(OpKind::accept);
  op.fd = listen_fd;
  return {loop_, scope_, op};
}
OpAwaiter Io::connect(int fd, const sockaddr* address, socklen_t length) const noexcept {
  Op op = make_op(OpKind::connect);
  op.fd = fd;
  op.address = address;
  op.address_length = length;
  return {loop_, scope_, op};
}
OpAwaiter Io::recv(int fd, void* buffer, std::size_t length) const noexcept {
  Op op = make_op(OpKind::recv);
  op.fd = fd;
  op.buffer = buffer;
  op.length = length;
  return {loop_, scope_, op};
}
OpAwaiter Io::send(int fd, const void* buffer, std::size_t length) const noexcept {
  Op op = make_op(OpKind::send);
  op.fd = fd;
  op.buffer = const_cast<void*>(buffer);
  op.length = length;
  return {loop_, scope_, op};
}

int Io::tcp_socket() const {
  const int fd =
      ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (loop_ != nullptr ? SOCK_NONBLOCK : 0), 0);
  if (fd < 0) throw IoError("socket", errno);
  return fd;
}

Task<void> when_all(std::vector<Task<void>> tasks) {
  detail::JoinState state;
  co_await detail::JoinAwaiter{tasks, state};
  if (state.first_error) std::rethrow_exception(state.first_error);
}

Task<std::size_t> when_any(Io io, std::vector<TaskFactory> children) {
  if (children.empty()) throw std::invalid_argument("when_any: no children");
  std::vector<CancelScope> scopes(children.size());
  std::vector<Task<void>> tasks;
  tasks.reserve(children.size());
  for (std::size_t i = 0; i < children.size(); ++i)
    tasks.push_back(children[i](io.with_scope(&scopes[i])));
  detail::JoinState state;
  state.scopes = &scopes;
  co_await detail::JoinAwaiter{tasks, state};
  if (state.first_done_error) std::rethrow_exception(state.first_done_error);
  co_return static_cast<std::size_t>(state.first_done);
}

namespace {
Task<void> sleep_for(Io io, std::chrono::nanoseconds duration) {
  co_await io.sleep(duration);
}
}  // namespace

Task<bool> with_timeout(Io io, std::chrono::nanoseconds timeout, TaskFactory child) {
  if (io.blocking()) {
    co_await child(io);
    co_return true;
  }
  std::vector<TaskFactory> racers;
  racers.push_back(std::move(child));
  racers.push_back([timeout](Io timer_io) { return sleep_for(timer_io, timeout); });
  const std::size_t winner = co_await when_any(io, std::move(racers));
  co_return winner == 0;
}

}  // namespace parbench::coro
