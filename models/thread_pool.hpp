// ThreadPool: the suite's own thread pool (the `pool` model and the task
// micro-benchmarks use it).
//
// Design
// - Persistent workers, one queue each (a ring under a short spin lock: LIFO
//   for its owner, FIFO for thieves), plus one injection queue for threads
//   that are not workers of this pool. A thread pushes to its home queue (own
//   queue, or the injection queue); idle workers steal half of another
//   queue's front (up to 32 tasks) at once, which keeps thieves off the
//   pusher's lock when one thread spawns many tasks.
// - Blocking operations (parallel_for, fork_join, spawn_tasks, waiting on a
//   group) are done by the calling thread together with the workers: it runs
//   work while it waits, so a pool of p - 1 threads plus the caller gives p
//   workers, as in oneTBB and OpenMP.
// - fork_join pushes `a` as a task living in the caller's stack frame, runs
//   `b`, then takes `a` back if nobody stole it (no allocation, no wake-up
//   needed on the fast path); if it was stolen it helps with other work until
//   `a` is done.
// - parallel_for pushes up to p - 1 helper tasks that all pull chunks from one
//   shared counter (dynamic scheduling at chunk granularity); the caller pulls
//   too, takes back helpers that never started, and waits for the chunks
//   (not the helpers: the job is reference-counted on the heap, so a helper
//   preempted before it looked costs the caller nothing).
// - Idle workers spin briefly (pause, then yield) before sleeping on an
//   atomic epoch with C++20 wait/notify; pushers wake them only if some sleep
//   (both sides update one counter with a read-modify-write, so either the
//   pusher sees the sleeper or the sleeper sees the task: no lost wake-up).
// - An oversubscribed pool (more threads than hardware threads) never spins:
//   its idle threads yield, then sleep.
// Why not lock-free Chase-Lev deques: short locked sections cost ~10-20 ns
// here, keep the code short and ThreadSanitizer-clean, and measure within
// reach of oneTBB's per-task cost (see overhead/tasks).
#pragma once

#include <atomic>
#include <cstddef>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

#include "core/executor.hpp"

namespace parbench {

/// A one-shot completion flag that its owner may destroy as soon as is_set()
/// returns true: set() publishes "done", wakes a sleeping waiter, and only
/// then marks itself released, so no access follows the owner's observation.
class DoneSignal {
 public:
  void set() noexcept {
    state_.store(kDone, std::memory_order_release);
    state_.notify_all();
    state_.store(kReleased, std::memory_order_release);
  }
  /// Makes the signal pending again (for reuse; nobody may be waiting).
  void reset() noexcept { state_.store(kPending, std::memory_order_relaxed); }
  bool is_set() const noexcept { return state_.load(std::memory_order_acquire) == kReleased; }
  /// Sleeps until set() has run.
  void wait() const noexcept {
    state_.wait(kPending, std::memory_order_acquire);
    while (!is_set()) std::this_thread::yield();
  }

 private:
  static constexpr std::uint32_t kPending = 0, kDone = 1, kReleased = 2;
  std::atomic<std::uint32_t> state_{kPending};
};

class ThreadPool {
 public:
  /// A unit of work in a queue. `execute` runs it and publishes completion;
  /// it must not throw (bodies' exceptions are stored by the task itself).
  struct Task {
    void (*execute)(Task*) noexcept = nullptr;
  };

  /// Starts `threads` worker threads (0 is allowed: callers then do all work).
  explicit ThreadPool(std::size_t threads);
  /// Runs every task still queued, then joins the workers.
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  /// Number of worker threads (not counting callers).
  std::size_t threads() const noexcept { return workers_.size(); }

  /// Queues f to run on a worker and returns a future for its result. With
  /// no worker threads f runs inline before submit returns.
  template <class F>
  auto submit(F&& f) -> std::future<std::invoke_result_t<std::decay_t<F>&>> {
    using Result = std::invoke_result_t<std::decay_t<F>&>;
    auto* task = new SubmittedTask<Result>(std::forward<F>(f));
    auto future = task->work.get_future();
    if (workers_.empty())
      SubmittedTask<Result>::run(task);
    else
      push(task);
    return future;
  }

  /// See Executor::parallel_for; the caller works too.
  void parallel_for(std::size_t n, std::size_t grain, RangeBody body);
  /// See Executor::fork_join.
  void fork_join(TaskBody a, TaskBody b);
  /// Pushes count tasks one by one and waits for all, helping meanwhile.
  void spawn_tasks(std::size_t count, IndexBody task);

 private:
  template <class Result>
  struct SubmittedTask : Task {
    template <class F>
    explicit SubmittedTask(F&& f) : work(std::forward<F>(f)) {
      execute = &SubmittedTask::run;
    }
    static void run(Task* self) noexcept {
      auto* task = static_cast<SubmittedTask*>(self);
      task->work();  // packaged_task stores any exception in the future
      delete task;
    }
    std::packaged_task<Result()> work;
  };

  class Queue;
  struct WorkerState;

  void push(Task* task);
  void stop_workers() noexcept;
  Task* find_task(std::size_t home) noexcept;
  void wake_sleepers() noexcept;
  void worker_loop(std::size_t index);
  std::size_t home_queue() const noexcept;
  /// Takes task back from the caller's home queue if it is still queued.
  bool take_back(Task* task) noexcept;
  /// Runs other tasks until done is set (then returns).
  void help_until(const DoneSignal& done) noexcept;

  std::vector<std::unique_ptr<Queue>> queues_;  // [0, threads): workers; [threads]: injection
  std::vector<std::thread> workers_;
  std::atomic<std::uint32_t> epoch_{0};
  std::atomic<std::size_t> sleepers_{0};
  std::atomic<bool> stopping_{false};
  bool spin_when_idle_;  // false when oversubscribed: idle threads only yield
};

}  // namespace parbench
