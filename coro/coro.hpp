// C++20 coroutines for I/O-bound workloads: a lazy Task<T>, an Io handle whose
// awaitables (sleep, file read/write, sockets, yield) either suspend on an
// event loop (io_uring or epoll, coro/io_loop.hpp) or, with no loop, do the
// blocking system call on the spot; and the combinators when_all, when_any and
// with_timeout. One request kernel therefore runs on every model: blocking
// models call it with a loop-less Io in their workers (concurrency = workers),
// coroutine models keep many requests in flight on one loop per thread.
//
// Rules, as for asyncio: a coroutine belongs to the loop (thread) it started
// on; exceptions propagate through co_await; a coroutine that is a lambda must
// not capture (its captures die with the lambda) - call a free function that
// takes its arguments by value instead.
#pragma once

#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace parbench::coro {

// ---------------------------------------------------------------- Task<T>

template <class T = void>
class Task;

namespace detail {

struct FinalAwaiter {
  bool await_ready() const noexcept { return false; }
  template <class Promise>
  std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> self) const noexcept {
    // Symmetric transfer: resuming the awaiting coroutine here keeps the stack
    // flat however long a chain of co_awaits completes synchronously.
    auto continuation = self.promise().continuation;
    return continuation ? continuation : std::noop_coroutine();
  }
  void await_resume() const noexcept {}
};

struct PromiseBase {
  std::coroutine_handle<> continuation;
  std::exception_ptr error;
  std::suspend_always initial_suspend() const noexcept { return {}; }
  FinalAwaiter final_suspend() const noexcept { return {}; }
  void unhandled_exception() noexcept { error = std::current_exception(); }
};

template <class T>
struct Promise : PromiseBase {
  std::optional<T> value;
  Task<T> get_return_object() noexcept;
  template <class U>
  void return_value(U&& result) {
    value.emplace(std::forward<U>(result));
  }
  T take() {
    if (error) std::rethrow_exception(error);
    return std::move(*value);
  }
};

template <>
struct Promise<void> : PromiseBase {
  Task<void> get_return_object() noexcept;
  void return_void() const noexcept {}
  void take() const {
    if (error) std::rethrow_exception(error);
  }
};

}  // namespace detail

/// A lazily started coroutine returning T. It starts when awaited (or when a
/// loop or run_blocking starts it) and owns its frame.
template <class T>
class [[nodiscard]] Task {
 public:
  using promise_type = detail::Promise<T>;
  using Handle = std::coroutine_handle<promise_type>;

  Task() = default;
  explicit Task(Handle handle) noexcept : handle_(handle) {}
  Task(Task&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  Task& operator=(Task&& other) noexcept {
    if (this != &other) {
      if (handle_) handle_.destroy();
      handle_ = std::exchange(other.handle_, {});
    }
    return *this;
  }
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  ~Task() {
    if (handle_) handle_.destroy();
  }

  bool valid() const noexcept { return static_cast<bool>(handle_); }
  bool done() const noexcept { return handle_.done(); }
  Handle handle() const noexcept { return handle_; }
  /// The result (or the exception) of a finished task.
  T result() { return handle_.promise().take(); }

  auto operator co_await() && noexcept {
    struct Awaiter {
      Handle handle;
      bool await_ready() const noexcept { return false; }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) const noexcept {
        handle.promise().continuation = awaiting;
        return handle;
      }
      T await_resume() const { return handle.promise().take(); }
    };
    return Awaiter{handle_};
  }

 private:
  Handle handle_;
};

namespace detail {
template <class T>
Task<T> Promise<T>::get_return_object() noexcept {
  return Task<T>(Task<T>::Handle::from_promise(*this));
}
inline Task<void> Promise<void>::get_return_object() noexcept {
  return Task<void>(Task<void>::Handle::from_promise(*this));
}
}  // namespace detail

// ---------------------------------------------------------------- operations

class Loop;
class CancelScope;

/// Thrown by an awaitable whose operation was cancelled (by when_any, a
/// timeout or CancelScope::cancel).
struct Cancelled : std::runtime_error {
  Cancelled() : std::runtime_error("operation cancelled") {}
};

/// Thrown by an I/O awaitable whose system call failed; what() names the
/// operation and the error (e.g. "connect: Connection refused").
struct IoError : std::runtime_error {
  IoError(const std::string& operation, int error_number);
  int error_number;
};

enum class OpKind : std::uint8_t {
  sleep,
  read,
  write,
  fsync,
  open,
  close,
  accept,
  connect,
  recv,
  send,
};
const char* to_string(OpKind kind) noexcept;

/// One operation in flight: what the loop needs to start it and to resume its
/// coroutine. It lives in the awaiting coroutine's frame.
struct Op {
  OpKind kind = OpKind::sleep;
  int fd = -1;
  void* buffer = nullptr;
  std::size_t length = 0;
  std::uint64_t offset = 0;
  int flags = 0;
  unsigned mode = 0;
  const char* path = nullptr;
  const sockaddr* address = nullptr;
  socklen_t address_length = 0;
  std::int64_t nanoseconds = 0;  ///< sleep length
  std::int64_t scratch[2] = {};  ///< back-end storage (io_uring timespec, epoll deadline)
  std::int64_t result = 0;       ///< >= 0, or -errno
  std::coroutine_handle<> waiter;
  CancelScope* scope = nullptr;
  Op* scope_next = nullptr;  ///< intrusive list of the scope's pending ops
  Op* scope_prev = nullptr;
  void* backend_data = nullptr;  ///< owned by the loop while the op is pending
};

/// Offset for read/write on streams (pipes, sockets): use the current position.
inline constexpr std::uint64_t kCurrentPosition = ~std::uint64_t{0};

/// Does op's system call right now, blocking (the loop-less path); fills
/// op.result.
void run_blocking_op(Op& op) noexcept;

/// A group of operations that can be cancelled together. Operations started
/// under a cancelled scope fail at once with Cancelled.
class CancelScope {
 public:
  CancelScope() = default;
  CancelScope(const CancelScope&) = delete;
  CancelScope& operator=(const CancelScope&) = delete;
  /// Cancels every pending operation of this scope; later ones fail at once.
  void cancel() noexcept;
  bool cancelled() const noexcept { return cancelled_; }

 private:
  friend class Loop;
  bool cancelled_ = false;
  Loop* loop_ = nullptr;
  Op* pending_ = nullptr;
};

/// The awaitable behind every Io operation.
class OpAwaiter {
 public:
  OpAwaiter(Loop* loop, CancelScope* scope, Op op) noexcept : loop_(loop), op_(op) {
    op_.scope = scope;
  }
  bool await_ready() noexcept;
  void await_suspend(std::coroutine_handle<> waiter) noexcept;
  /// The system call's non-negative result; throws IoError or Cancelled.
  std::int64_t await_resume() const;

 private:
  Loop* loop_;
  Op op_;
};

/// Awaitable for yield(): lets the loop run other ready coroutines.
struct YieldAwaiter {
  Loop* loop;
  bool await_ready() const noexcept { return loop == nullptr; }
  void await_suspend(std::coroutine_handle<> waiter) const noexcept;
  void await_resume() const noexcept {}
};

/// The handle a request coroutine does its I/O through. With a loop the
/// operations suspend; without one (Io{}) they block the calling thread.
/// Cheap to copy; pass it by value.
class Io {
 public:
  Io() = default;
  Io(Loop* loop, CancelScope* scope = nullptr) noexcept : loop_(loop), scope_(scope) {}

  Loop* loop() const noexcept { return loop_; }
  bool blocking() const noexcept { return loop_ == nullptr; }
  /// The same Io whose operations belong to scope (for when_any/timeouts).
  Io with_scope(CancelScope* scope) const noexcept { return Io(loop_, scope); }

  OpAwaiter sleep(std::chrono::nanoseconds duration) const noexcept;
  /// openat(AT_FDCWD, path, flags, mode); path must outlive the await.
  OpAwaiter open(const char* path, int flags, unsigned mode = 0) const noexcept;
  OpAwaiter close(int fd) const noexcept;
  /// pread/pwrite at an offset (offset is ignored for pipes and sockets).
  OpAwaiter read(int fd, void* buffer, std::size_t length, std::uint64_t offset) const noexcept;
  OpAwaiter write(int fd, const void* buffer, std::size_t length,
                  std::uint64_t offset) const noexcept;
  OpAwaiter fsync(int fd) const noexcept;
  /// accept4 with SOCK_CLOEXEC (and SOCK_NONBLOCK on a loop); returns the fd.
  OpAwaiter accept(int listen_fd) const noexcept;
  OpAwaiter connect(int fd, const sockaddr* address, socklen_t length) const noexcept;
  OpAwaiter recv(int fd, void* buffer, std::size_t length) const noexcept;
  OpAwaiter send(int fd, const void* buffer, std::size_t length) const noexcept;
  YieldAwaiter yield() const noexcept { return {loop_}; }

  /// A TCP socket suited to this Io (non-blocking on a loop), close-on-exec.
  int tcp_socket() const;

 private:
  Loop* loop_ = nullptr;
  CancelScope* scope_ = nullptr;
};

// ---------------------------------------------------------------- driving

/// Runs task to completion on the calling thread with no loop: every Io
/// operation in it must be loop-less (blocking), so it never suspends.
/// Rethrows the task's exception.
template <class T>
T run_blocking(Task<T> task) {
  task.handle().resume();
  if (!task.done())
    throw std::logic_error("run_blocking: the task suspended, but there is no event loop");
  return task.result();
}

// ---------------------------------------------------------------- combinators

namespace detail {

/// A fire-and-forget coroutine used to start children; it never throws.
struct Detached {
  struct promise_type {
    Detached get_return_object() const noexcept { return {}; }
    std::suspend_never initial_suspend() const noexcept { return {}; }
    std::suspend_never final_suspend() const noexcept { return {}; }
    void return_void() const noexcept {}
    void unhandled_exception() const noexcept { std::terminate(); }
  };
};

struct JoinState {
  std::size_t remaining = 0;
  std::coroutine_handle<> parent;
  std::exception_ptr first_error;
  std::ptrdiff_t first_done = -1;
  std::exception_ptr first_done_error;
  std::vector<CancelScope>* scopes = nullptr;  // when_any: cancel the others
};

inline void finish_child(JoinState& state, std::size_t index, std::exception_ptr error) {
  if (error && !state.first_error) state.first_error = error;
  if (state.first_done < 0) {
    state.first_done_error = error;
    state.first_done = static_cast<std::ptrdiff_t>(index);
    if (state.scopes != nullptr)
      for (std::size_t i = 0; i < state.scopes->size(); ++i)
        if (i != index) (*state.scopes)[i].cancel();
  }
  if (--state.remaining == 0 && state.parent) state.parent.resume();
}

inline Detached run_child(Task<void>& child, JoinState& state, std::size_t index) {
  std::exception_ptr error;
  try {
    co_await std::move(child);
  } catch (...) {
    error = std::current_exception();
  }
  finish_child(state, index, error);
}

/// Starts every child and resumes the parent when all have finished.
struct JoinAwaiter {
  std::vector<Task<void>>& children;
  JoinState& state;
  bool await_ready() const noexcept { return children.empty(); }
  bool await_suspend(std::coroutine_handle<> parent) {
    state.remaining = children.size() + 1;  // +1: none may resume us before we suspend
    for (std::size_t i = 0; i < children.size(); ++i) run_child(children[i], state, i);
    if (--state.remaining == 0) return false;  // all finished synchronously
    state.parent = parent;
    return true;
  }
  void await_resume() const noexcept {}
};

}  // namespace detail

/// Runs the tasks concurrently (like asyncio.gather) and waits for all of
/// them; then rethrows the first exception any of them threw.
Task<void> when_all(std::vector<Task<void>> tasks);

/// Factory of a child task given the Io (with its own cancel scope) to use.
using TaskFactory = std::function<Task<void>(Io)>;

/// Starts every child; when the first finishes (success or exception) the
/// others are cancelled (their pending operation fails with Cancelled) and
/// awaited. Returns the index of the first, or rethrows its exception. On a
/// loop-less Io the children run one after another, so child 0 wins.
Task<std::size_t> when_any(Io io, std::vector<TaskFactory> children);

/// Runs child, cancelling it if it has not finished within timeout. Returns
/// true if it finished, false if it timed out. Loop-less: runs child fully.
Task<bool> with_timeout(Io io, std::chrono::nanoseconds timeout, TaskFactory child);

}  // namespace parbench::coro
