#include "coro/io_loop.hpp"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>
#include <stdexcept>
#include <unordered_map>
#include <utility>

#ifdef PARBENCH_HAVE_LIBURING
#include <liburing.h>
#endif

namespace parbench::coro {

std::string_view to_string(Backend backend) noexcept {
  return backend == Backend::uring ? "io_uring" : "epoll";
}

// ---------------------------------------------------------------- Loop

void Loop::start(Op& op) noexcept {
  if (op.scope != nullptr) {
    if (op.scope->cancelled_) {
      op.result = -ECANCELED;
      post(op.waiter);
      return;
    }
    op.scope->loop_ = this;
    op.scope_prev = nullptr;
    op.scope_next = op.scope->pending_;
    if (op.scope->pending_ != nullptr) op.scope->pending_->scope_prev = &op;
    op.scope->pending_ = &op;
  }
  ++pending_;
  submit(op);
}

void Loop::complete(Op& op, std::int64_t result) noexcept {
  op.result = result;
  if (op.scope != nullptr) {
    if (op.scope_prev != nullptr)
      op.scope_prev->scope_next = op.scope_next;
    else
      op.scope->pending_ = op.scope_next;
    if (op.scope_next != nullptr) op.scope_next->scope_prev = op.scope_prev;
    op.scope_next = op.scope_prev = nullptr;
  }
  --pending_;
  post(op.waiter);
}

void Loop::drain_ready() {
  // Only what is ready now: coroutines posted while draining (yield) wait for
  // the next round, after the completions that arrived meanwhile.
  std::size_t count = ready_.size();
  while (count-- > 0) {
    const auto handle = ready_.front();
    ready_.pop_front();
    handle.resume();
  }
}

namespace {

std::int64_t monotonic_ns() noexcept {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<std::int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}

[[noreturn]] void throw_errno(const char* call, int error) {
  throw std::runtime_error(std::string(call) + ": " + std::strerror(error));
}

// ---------------------------------------------------------------- io_uring

#ifdef PARBENCH_HAVE_LIBURING
class UringLoop final : public Loop {
 public:
  UringLoop() {
    io_uring_params params{};
    params.flags = IORING_SETUP_CQSIZE;
    params.cq_entries = kCompletionEntries;
    const int rc = io_uring_queue_init_params(kSubmissionEntries, &ring_, &params);
    if (rc < 0) throw_errno("io_uring_queue_init", -rc);
  }
  ~UringLoop() override { io_uring_queue_exit(&ring_); }
  UringLoop(const UringLoop&) = delete;
  UringLoop& operator=(const UringLoop&) = delete;

  Backend backend() const noexcept override { return Backend::uring; }

  void cancel(Op& op) noexcept override {
    io_uring_sqe* sqe = next_sqe();
    if (op.kind == OpKind::sleep)
      io_uring_prep_timeout_remove(sqe, reinterpret_cast<std::uint64_t>(&op), 0);
    else
      io_uring_prep_cancel(sqe, &op, 0);
    io_uring_sqe_set_data(sqe, nullptr);  // its own completion is ignored
  }

 protected:
  void submit(Op& op) noexcept override {
    io_uring_sqe* sqe = next_sqe();
    switch (op.kind) {
      case OpKind::sleep: {
        auto* ts = reinterpret_cast<__kernel_timespec*>(op.scratch);
        ts->tv_sec = op.nanoseconds / 1'000'000'000;
        ts->tv_nsec = op.nanoseconds % 1'000'000'000;
        io_uring_prep_timeout(sqe, ts, 0, 0);
        break;
      }
      case OpKind::read:
        io_uring_prep_read(sqe, op.fd, op.buffer, static_cast<unsigned>(op.length), op.offset);
        offload_if_large(sqe, op);
        break;
      case OpKind::write:
        io_uring_prep_write(sqe, op.fd, op.buffer, static_cast<unsigned>(op.length), op.offset);
        offload_if_large(sqe, op);
        break;
      case OpKind::fsync:
        io_uring_prep_fsync(sqe, op.fd, 0);
        break;
      case OpKind::open:
        io_uring_prep_openat(sqe, AT_FDCWD, op.path, op.flags | O_CLOEXEC, op.mode);
        break;
      case OpKind::close:
        io_uring_prep_close(sqe, op.fd);
        break;
      case OpKind::accept:
        io_uring_prep_accept(sqe, op.fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        break;
      case OpKind::connect:
        io_uring_prep_connect(sqe, op.fd, op.address, op.address_length);
        break;
      case OpKind::recv:
        io_uring_prep_recv(sqe, op.fd, op.buffer, op.length, 0);
        break;
      case OpKind::send:
        io_uring_prep_send(sqe, op.fd, op.buffer, op.length, MSG_NOSIGNAL);
        break;
    }
    io_uring_sqe_set_data(sqe, &op);
  }

  void wait_for_completions() override {
    for (;;) {
      const int rc = io_uring_submit_and_wait(&ring_, 1);
      if (rc >= 0) break;
      if (rc != -EINTR && rc != -EAGAIN && rc != -EBUSY)
        throw_errno("io_uring_submit_and_wait", -rc);
    }
    unsigned head = 0;
    unsigned seen = 0;
    io_uring_cqe* cqe = nullptr;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      ++seen;
      auto* op = static_cast<Op*>(io_uring_cqe_get_data(cqe));
      if (op == nullptr) continue;  // a cancel request's own completion
      std::int64_t result = cqe->res;
      if (op->kind == OpKind::sleep && result == -ETIME) result = 0;  // the timer fired
      complete(*op, result);
    }
    io_uring_cq_advance(&ring_, seen);
  }

 private:
  /// PARBENCH_URING_OFFLOAD_KIB=N (default 0: off) sends reads and writes of
  /// at least N KiB to the kernel's io-wq workers (IOSQE_ASYNC) instead of
  /// copying inline in io_uring_enter. Offloading could spread page-cache
  /// copies over cores, but on this 2-vCPU VM the hand-off cost ~70 us per
  /// request and cut file_read throughput ~9x at p = 1, so it is off; change
  /// it to test another machine.
  static std::size_t offload_bytes() {
    static const std::size_t bytes = [] {
      const char* text = std::getenv("PARBENCH_URING_OFFLOAD_KIB");
      return text ? std::strtoull(text, nullptr, 10) * 1024 : std::size_t{0};
    }();
    return bytes;
  }
  static void offload_if_large(io_uring_sqe* sqe, const Op& op) noexcept {
    if (offload_bytes() != 0 && op.length >= offload_bytes())
      io_uring_sqe_set_flags(sqe, IOSQE_ASYNC);
  }

  static constexpr unsigned kSubmissionEntries = 4096;
  static constexpr unsigned kCompletionEntries = 65536;

  io_uring_sqe* next_sqe() noexcept {
    for (;;) {
      if (io_uring_sqe* sqe = io_uring_get_sqe(&ring_)) return sqe;
      io_uring_submit(&ring_);  // the submission queue is full: hand it over
    }
  }

  io_uring ring_{};
};
#endif

// ---------------------------------------------------------------- epoll

class EpollLoop final : public Loop {
 public:
  EpollLoop() {
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0) throw_errno("epoll_create1", errno);
    timer_fd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (timer_fd_ < 0) {
      const int error = errno;
      ::close(epoll_fd_);
      throw_errno("timerfd_create", error);
    }
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.fd = timer_fd_;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, timer_fd_, &event) < 0) {
      const int error = errno;
      ::close(timer_fd_);
      ::close(epoll_fd_);
      throw_errno("epoll_ctl", error);
    }
  }
  ~EpollLoop() override {
    ::close(timer_fd_);
    ::close(epoll_fd_);
  }
  EpollLoop(const EpollLoop&) = delete;
  EpollLoop& operator=(const EpollLoop&) = delete;

  Backend backend() const noexcept override { return Backend::epoll; }

  void cancel(Op& op) noexcept override {
    if (op.kind == OpKind::sleep) {
      if (timers_.erase({op.scratch[0], &op}) != 0) complete(op, -ECANCELED);
      return;
    }
    const auto found = waiters_.find(op.fd);
    if (found == waiters_.end()) return;  // file operations never wait
    Waiters& waiters = found->second;
    if (waiters.reader == &op)
      waiters.reader = nullptr;
    else if (waiters.writer == &op)
      waiters.writer = nullptr;
    else
      return;
    update_interest(op.fd);
    complete(op, -ECANCELED);
  }

 protected:
  void submit(Op& op) noexcept override {
    switch (op.kind) {
      case OpKind::sleep: {
        op.scratch[0] = monotonic_ns() + op.nanoseconds;
        const bool earliest = timers_.empty() || op.scratch[0] < timers_.begin()->first;
        timers_.insert({op.scratch[0], &op});
        if (earliest) arm_timer();
        return;
      }
      case OpKind::read:
      case OpKind::write:
      case OpKind::fsync:
      case OpKind::open:
      case OpKind::close:
        // Regular files are always "ready" to epoll: do the call now.
        run_blocking_op(op);
        complete(op, op.result);
        return;
      case OpKind::connect: {
        if (::connect(op.fd, op.address, op.address_length) == 0) {
          complete(op, 0);
        } else if (errno == EINPROGRESS || errno == EINTR) {
          wait_for(op, /*write=*/true);
        } else {
          complete(op, -errno);
        }
        return;
      }
      case OpKind::accept:
      case OpKind::recv:
      case OpKind::send:
        if (!try_socket_op(op)) wait_for(op, op.kind == OpKind::send);
        return;
    }
  }

  void wait_for_completions() override {
    epoll_event events[256];
    int count = 0;
    do {
      count = epoll_wait(epoll_fd_, events, 256, -1);
    } while (count < 0 && errno == EINTR);
    if (count < 0) throw_errno("epoll_wait", errno);
    for (int i = 0; i < count; ++i) {
      const int fd = events[i].data.fd;
      if (fd == timer_fd_) {
        fire_timers();
        continue;
      }
      const auto found = waiters_.find(fd);
      if (found == waiters_.end()) continue;
      const std::uint32_t ready = events[i].events;
      const bool error = (ready & (EPOLLERR | EPOLLHUP)) != 0;
      if (Op* reader = found->second.reader; reader != nullptr && (error || (ready & EPOLLIN))) {
        if (try_socket_op(*reader)) found->second.reader = nullptr;
      }
      if (Op* writer = found->second.writer; writer != nullptr && (error || (ready & EPOLLOUT))) {
        if (try_socket_op(*writer)) found->second.writer = nullptr;
      }
      update_interest(fd);
    }
  }

 private:
  struct Waiters {
    Op* reader = nullptr;
    Op* writer = nullptr;
    std::uint32_t registered = 0;  // events currently in the epoll set (0: not in it)
  };

  /// Tries op's non-blocking system call; completes op and returns true
  /// unless it would block.
  bool try_socket_op(Op& op) noexcept {
    long value = 0;
    switch (op.kind) {
      case OpKind::accept:
        value = ::accept4(op.fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        break;
      case OpKind::recv:
        value = ::recv(op.fd, op.buffer, op.length, MSG_DONTWAIT);
        break;
      case OpKind::send:
        value = ::send(op.fd, op.buffer, op.length, MSG_DONTWAIT | MSG_NOSIGNAL);
        break;
      case OpKind::connect: {
        int error = 0;
        socklen_t length = sizeof error;
        if (getsockopt(op.fd, SOL_SOCKET, SO_ERROR, &error, &length) < 0) error = errno;
        if (error == EINPROGRESS || error == EALREADY) return false;
        complete(op, -error);
        return true;
      }
      default:
        break;
    }
    if (value < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return false;
    complete(op, value < 0 ? -errno : value);
    return true;
  }

  void wait_for(Op& op, bool write) noexcept {
    Waiters& waiters = waiters_[op.fd];
    (write ? waiters.writer : waiters.reader) = &op;
    update_interest(op.fd);
  }

  void update_interest(int fd) noexcept {
    const auto found = waiters_.find(fd);
    if (found == waiters_.end()) return;
    Waiters& waiters = found->second;
    const std::uint32_t wanted =
        (waiters.reader != nullptr ? EPOLLIN : 0u) | (waiters.writer != nullptr ? EPOLLOUT : 0u);
    if (wanted == waiters.registered) return;
    if (wanted == 0) {
      epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
      waiters_.erase(found);
      return;
    }
    epoll_event event{};
    event.events = wanted;
    event.data.fd = fd;
    if (epoll_ctl(epoll_fd_, waiters.registered == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &event) <
        0) {
      // Not pollable (or closed): fail the waiting operations now.
      const int error = errno;
      Op* reader = std::exchange(waiters.reader, nullptr);
      Op* writer = std::exchange(waiters.writer, nullptr);
      waiters_.erase(found);
      if (reader != nullptr) complete(*reader, -error);
      if (writer != nullptr) complete(*writer, -error);
      return;
    }
    waiters.registered = wanted;
  }

  void arm_timer() noexcept {
    itimerspec spec{};
    if (!timers_.empty()) {
      const std::int64_t deadline = timers_.begin()->first;
      spec.it_value.tv_sec = deadline / 1'000'000'000;
      spec.it_value.tv_nsec = deadline % 1'000'000'000;
      if (spec.it_value.tv_sec == 0 && spec.it_value.tv_nsec == 0) spec.it_value.tv_nsec = 1;
    }
    timerfd_settime(timer_fd_, TFD_TIMER_ABSTIME, &spec, nullptr);
  }

  void fire_timers() noexcept {
    std::uint64_t expirations = 0;
    [[maybe_unused]] const auto ignored = ::read(timer_fd_, &expirations, sizeof expirations);
    const std::int64_t now = monotonic_ns();
    while (!timers_.empty() && timers_.begin()->first <= now) {
      Op* op = timers_.begin()->second;
      timers_.erase(timers_.begin());
      complete(*op, 0);
    }
    arm_timer();
  }

  int epoll_fd_ = -1;
  int timer_fd_ = -1;
  std::set<std::pair<std::int64_t, Op*>> timers_;
  std::unordered_map<int, Waiters> waiters_;
};

struct BackendChoice {
  Backend backend = Backend::epoll;
  std::string reason;
};

const BackendChoice& choice() {
  static const BackendChoice chosen = [] {
    BackendChoice result;
    const char* forced = std::getenv("PARBENCH_IO_BACKEND");
    const std::string wanted = forced != nullptr ? forced : "";
    if (wanted == "epoll") {
      result.reason = "forced by PARBENCH_IO_BACKEND=epoll";
      return result;
    }
    if (!wanted.empty() && wanted != "uring" && wanted != "io_uring")
      throw std::runtime_error("PARBENCH_IO_BACKEND=" + wanted +
                               ": unknown back-end (use uring or epoll)");
#ifdef PARBENCH_HAVE_LIBURING
    io_uring ring{};
    const int rc = io_uring_queue_init(8, &ring, 0);
    if (rc == 0) {
      io_uring_queue_exit(&ring);
      result.backend = Backend::uring;
      return result;
    }
    result.reason = std::string("io_uring unavailable: ") + std::strerror(-rc);
#else
    result.reason = "built without liburing";
#endif
    if (!wanted.empty()) throw std::runtime_error("PARBENCH_IO_BACKEND=uring: " + result.reason);
    return result;
  }();
  return chosen;
}

}  // namespace

Backend default_backend() {
  return choice().backend;
}
std::string backend_reason() {
  return choice().reason;
}

std::unique_ptr<Loop> make_loop(Backend backend) {
  if (backend == Backend::uring) {
#ifdef PARBENCH_HAVE_LIBURING
    return std::make_unique<UringLoop>();
#else
    throw std::runtime_error("io_uring loop requested, but parbench was built without liburing");
#endif
  }
  return std::make_unique<EpollLoop>();
}

}  // namespace parbench::coro
