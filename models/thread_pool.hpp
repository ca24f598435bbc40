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
// - parallel_for (the dispatch path of a region, at p = cores): the caller
//   takes a reusable job from a thread-local cache (no allocation), pushes
//   p - 1 helper tasks to its home queue in one locked batch, wakes sleepers
//   only if some sleep (one read-modify-write of a counter otherwise), and
//   claims chunks itself at once from the job's shared counter (dynamic
//   scheduling at chunk granularity). A spinning worker finds a helper on its
//   next poll (at most ~5 us apart, below), claims chunks from the same
//   counter, and bumps a finished count; whoever finishes the last chunk sets
//   the job's DoneSignal, which is how the caller learns the region is over.
//   The caller then takes back helpers that never started and waits for the
//   chunks only, not the helpers: the job is reference-counted, so a helper
//   preempted before it looked costs the caller nothing. For an empty region
//   the caller often runs every chunk before a worker looks; that is the
//   work-stealing contract (oneTBB does the same), not a shortcut.
// - Waiting: a thread that waits (a future's get/wait, the end of a region,
//   fork_join's stolen half) first takes its own task back if no worker has
//   started it (a future's task is usually still the last entry of the queue
//   it went to) and runs it; otherwise it helps, running other queued tasks
//   of the pool; when there are none it spins (pause, with exponential
//   backoff) for kSpinTime = 50 us, yields until kYieldTime = 200 us, and
//   only then parks on the DoneSignal's futex. oneTBB's wait works the same
//   way; a futex wake-up costs ~10 us on this VM, which is what a caller that
//   slept at once paid on every future.get() before.
// - Idle workers poll the queues with exponential backoff between polls (1 to
//   256 pauses, ~19 ns each here, so ~5 us apart at most): a poller reads the
//   queue's cache line and so slows the thread that pushes to it next, and a
//   poller that catches a helper of an empty region turns it into a
//   cross-core round trip (with polls ~1.2 us apart an empty region at p = 2
//   cost 189-200 ns, ~5 us apart 87-111 ns; a region with real work waits at
//   most one poll for its second worker). After running a task a
//   worker goes on at the slowest poll rate at once: otherwise a worker that
//   caught one task polled fast, caught the next ones too, and turned a
//   caller's submit+get or empty region (which it would have finished alone)
//   into a cross-core round trip (spawn/pool_task went from ~150 to ~600 ns
//   in such phases). After kSpinTime of finding nothing it yields, after
//   kYieldTime it sleeps on an atomic epoch with C++20 wait/notify; pushers
//   wake sleepers only if some sleep (both sides update one counter with a
//   read-modify-write, so either the pusher sees the sleeper or the sleeper
//   sees the task: no lost wake-up). An idle pool therefore costs no CPU:
//   overhead/idle measures the process's CPU time over 100 ms after a burst.
// - An oversubscribed pool (more threads than hardware threads) never spins:
//   its idle threads yield, then sleep.
// Measured on this 2-vCPU VM (one run, medians of 5-7 repetitions, pool vs
// oneTBB, each benchmark in its own process as the sweep runs them):
// spawn/pool_task 55 ns vs spawn/tbb_task_group 93-148 ns;
// overhead/parallel_for p = 1, 2, 4: 13 / 87-111 / 156 ns vs 99 / 140 / 222 ns;
// overhead/tasks p = 2: 42 vs 312 ns per task; overhead/idle p = 2: 0.2% of a
// core; efficiency at p = 2 (quick sizes): primes 0.99, mandelbrot 1.00,
// monte_carlo_pi 1.01, matmul 0.98. (Before this design: 13,116 ns per
// submit+get and 303 ns per region; the reference results have the figures
// of the sweep.)
// Why not lock-free Chase-Lev deques: short locked sections cost ~10-20 ns
// here, keep the code short and ThreadSanitizer-clean, and measure within
// reach of oneTBB's per-task cost (see overhead/tasks).
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <utility>
#include <variant>
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
  /// set() for a signal nobody can be waiting on (its only waiter is the
  /// caller): no wake-up to issue.
  void set_unwaited() noexcept { state_.store(kReleased, std::memory_order_release); }
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

  /// Starts `threads` worker threads (0 is allowed: callers then do all work),
  /// worker i bound as placement's worker i + 1 (the caller is worker 0), each
  /// noting its CPU in trace (if given) per task it runs.
  explicit ThreadPool(std::size_t threads, const Placement& placement = {},
                      CpuTrace* trace = nullptr);
  /// Runs every task still queued, then joins the workers.
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  /// Number of worker threads (not counting callers).
  std::size_t threads() const noexcept { return workers_.size(); }

  template <class R>
  class Future;

  /// Queues f to run on the pool and returns a future for its result (or its
  /// exception), usable from any thread. With no worker threads f runs inline
  /// before submit returns. Waiting on the future (get/wait) runs f on the
  /// waiting thread if no worker has started it yet, as oneTBB's
  /// task_group::wait does; otherwise the waiter helps with other queued tasks,
  /// spins, and only then parks (see the design notes above).
  template <class F>
  auto submit(F&& f) -> Future<std::invoke_result_t<std::decay_t<F>&>> {
    using Result = std::invoke_result_t<std::decay_t<F>&>;
    auto* state = new SubmittedTask<Result, std::decay_t<F>>(std::forward<F>(f));
    Future<Result> future(state, this);
    if (workers_.empty()) {
      state->claim();
      state->run_claimed();
      state->release();  // the reference a queue entry would hold
      return future;
    }
    try {
      state->queue = home_queue();
      push(state);
    } catch (...) {
      state->release();
      throw;
    }
    return future;
  }

  /// See Executor::parallel_for; the caller works too.
  void parallel_for(std::size_t n, std::size_t grain, RangeBody body);
  /// See Executor::fork_join.
  void fork_join(TaskBody a, TaskBody b);
  /// Pushes count tasks one by one and waits for all, helping meanwhile.
  void spawn_tasks(std::size_t count, IndexBody task);

 private:
  /// What a submitted task shares with its future. Two references: the queue
  /// entry's and the future's; the last one to let go deletes it. Whoever
  /// claims it first (a worker that pops it, or a waiter taking it back) runs
  /// the work; an entry popped after a waiter ran it is only released.
  template <class R>
  struct SubmittedState : Task {
    using Stored = std::conditional_t<
        std::is_void_v<R>, std::monostate,
        std::conditional_t<std::is_reference_v<R>,
                           std::reference_wrapper<std::remove_reference_t<R>>, R>>;
    SubmittedState() { execute = &SubmittedState::execute_queued; }
    virtual ~SubmittedState() = default;
    /// Runs the work and stores its result or exception.
    virtual void work() noexcept = 0;
    bool claim() noexcept {
      return !claimed.load(std::memory_order_relaxed) &&
             !claimed.exchange(true, std::memory_order_acq_rel);
    }
    void run_claimed() noexcept {
      work();
      done.set();
    }
    /// Runs it on the thread that holds the future: nobody else waits.
    void run_by_waiter() noexcept {
      work();
      done.set_unwaited();
    }
    void release() noexcept {
      if (references.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
    }
    static void execute_queued(Task* self) noexcept {
      auto* state = static_cast<SubmittedState*>(self);
      if (state->claim()) state->run_claimed();
      state->release();
    }
    std::atomic<std::uint32_t> references{2};
    std::atomic<bool> claimed{false};
    std::size_t queue = 0;  // the queue it was pushed to
    DoneSignal done;
    std::optional<Stored> value;
    std::exception_ptr error;
  };

  template <class R, class F>
  struct SubmittedTask final : SubmittedState<R> {
    template <class G>
    explicit SubmittedTask(G&& g) : function(std::forward<G>(g)) {}
    void work() noexcept override {
      try {
        if constexpr (std::is_void_v<R>) {
          function();
          this->value.emplace();
        } else {
          this->value.emplace(function());
        }
      } catch (...) {
        this->error = std::current_exception();
      }
    }
    F function;
  };

  /// Blocks until state is done: runs it here if nobody has claimed it, else
  /// helps with other tasks (help_until) until it is.
  template <class R>
  void wait_for(SubmittedState<R>& state) noexcept {
    if (state.done.is_set()) return;
    // Usually still at the back of the queue it went to: take the entry out
    // (so that no worker pops a stale entry later) and run it here.
    if (take_back_recent(state.queue, &state)) {
      state.claim();
      state.run_by_waiter();
      state.release();  // the entry's reference
      return;
    }
    // Deeper in a queue: claim it, leaving the entry for whoever pops it.
    if (state.claim()) {
      state.run_by_waiter();
      return;
    }
    help_until(state.done);
  }

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
  /// Takes task out of queue `queue` if it is among its most recent entries.
  bool take_back_recent(std::size_t queue, Task* task) noexcept;
  /// Runs other tasks until done is set (then returns).
  void help_until(const DoneSignal& done) noexcept;

  std::vector<std::unique_ptr<Queue>> queues_;  // [0, threads): workers; [threads]: injection
  std::vector<std::thread> workers_;
  std::atomic<std::uint32_t> epoch_{0};
  std::atomic<std::size_t> sleepers_{0};
  std::atomic<bool> stopping_{false};
  bool spin_when_idle_;  // false when oversubscribed: idle threads only yield
  CpuTrace* trace_ = nullptr;
};

/// The result of ThreadPool::submit: like std::future (move-only; get() once,
/// then invalid; get() rethrows the task's exception), waited on by helping.
template <class R>
class ThreadPool::Future {
 public:
  Future() = default;
  Future(Future&& other) noexcept
      : state_(std::exchange(other.state_, nullptr)), pool_(other.pool_) {}
  Future& operator=(Future&& other) noexcept {
    if (this != &other) {
      if (state_) state_->release();
      state_ = std::exchange(other.state_, nullptr);
      pool_ = other.pool_;
    }
    return *this;
  }
  Future(const Future&) = delete;
  Future& operator=(const Future&) = delete;
  ~Future() {
    if (state_) state_->release();
  }

  bool valid() const noexcept { return state_ != nullptr; }
  /// True once the result (or exception) is available: get() will not wait.
  bool ready() const noexcept { return state_ && state_->done.is_set(); }
  /// Waits for the result without taking it.
  void wait() const {
    if (!state_) throw std::future_error(std::future_errc::no_state);
    pool_->wait_for(*state_);
  }
  /// Waits, then returns the result or rethrows the exception; the future is
  /// invalid afterwards.
  R get() {
    wait();
    std::unique_ptr<SubmittedState<R>, Releaser> state(std::exchange(state_, nullptr));
    if (state->error) std::rethrow_exception(state->error);
    if constexpr (std::is_void_v<R>)
      return;
    else if constexpr (std::is_reference_v<R>)
      return state->value->get();
    else
      return std::move(*state->value);
  }

 private:
  friend class ThreadPool;
  struct Releaser {
    void operator()(SubmittedState<R>* state) const noexcept { state->release(); }
  };
  Future(SubmittedState<R>* state, ThreadPool* pool) noexcept : state_(state), pool_(pool) {}

  SubmittedState<R>* state_ = nullptr;
  ThreadPool* pool_ = nullptr;
};

}  // namespace parbench
