// The event loop under the coroutine models: one per thread, on io_uring
// (liburing) when the kernel allows it, otherwise on epoll + timerfd. The
// choice is made at run time; PARBENCH_IO_BACKEND=uring|epoll forces one
// (uring fails loudly if it is not available rather than falling back).
//
// The epoll fallback, like asyncio's, cannot wait for regular files: it does
// open/read/write/fsync/close on the spot (blocking the loop) and resumes the
// coroutine through the ready queue. Sockets and timers are truly asynchronous
// on both back-ends.
#pragma once

#include <coroutine>
#include <cstddef>
#include <deque>
#include <memory>
#include <string>
#include <string_view>

#include "coro/coro.hpp"

namespace parbench::coro {

enum class Backend { uring, epoll };
std::string_view to_string(Backend backend) noexcept;

/// The back-end new loops get: PARBENCH_IO_BACKEND if set (uring or epoll,
/// anything else is an error), else io_uring if a ring can be created here,
/// else epoll. Probed once per process.
Backend default_backend();
/// Why io_uring is not used ("" when it is): for env.json and the report.
std::string backend_reason();

class Loop {
 public:
  virtual ~Loop() = default;
  virtual Backend backend() const noexcept = 0;

  /// Starts op (the awaiting coroutine is op.waiter). Called by OpAwaiter.
  void start(Op& op) noexcept;
  /// Asks the kernel to cancel a pending op; it then completes with -ECANCELED.
  virtual void cancel(Op& op) noexcept = 0;
  /// Queues a coroutine to be resumed by run() (yield, synchronous results).
  void post(std::coroutine_handle<> handle) { ready_.push_back(handle); }

  /// Runs until `done()` is true: resumes ready coroutines and waits for
  /// completions. Throws std::logic_error if nothing can make progress.
  template <class Done>
  void run_until(Done done) {
    while (!done()) {
      if (!ready_.empty()) {
        drain_ready();
        continue;
      }
      if (pending_ == 0)
        throw std::logic_error("event loop: coroutines wait, but no operation is pending");
      wait_for_completions();
    }
  }
  /// Runs task to completion on this loop and returns its result.
  template <class T>
  T run(Task<T> task) {
    post(task.handle());
    run_until([&] { return task.done(); });
    return task.result();
  }
  /// Operations submitted and not yet completed.
  std::size_t pending() const noexcept { return pending_; }

 protected:
  virtual void submit(Op& op) noexcept = 0;
  /// Blocks until at least one completion, and resumes their coroutines.
  virtual void wait_for_completions() = 0;
  /// Called by back-ends when op finished with result (>= 0 or -errno).
  void complete(Op& op, std::int64_t result) noexcept;
  void drain_ready();

  std::size_t pending_ = 0;

 private:
  friend class CancelScope;
  std::deque<std::coroutine_handle<>> ready_;
};

/// A loop on the given back-end. Throws std::runtime_error naming the
/// system call that failed (e.g. io_uring_queue_init: Operation not permitted).
std::unique_ptr<Loop> make_loop(Backend backend);
inline std::unique_ptr<Loop> make_loop() {
  return make_loop(default_backend());
}

}  // namespace parbench::coro
