// pool: the suite's own thread pool (design in thread_pool.hpp): persistent
// workers, per-worker queues with batch stealing, the caller as the p-th
// worker.
#include <algorithm>
#include <array>
#include <chrono>
#include <optional>

#include "core/first_exception.hpp"
#include "core/model.hpp"
#include "models/thread_pool.hpp"
#include "primitives/cpu_relax.hpp"

namespace parbench {
namespace {

// A test-and-test-and-set lock for the queues' few-instruction critical
// sections: cheaper than a futex mutex when briefly contended; it yields
// after a while so that a preempted holder (oversubscription) can go on.
class SpinLock {
 public:
  void lock() noexcept {
    for (int spins = 0;; ++spins) {
      if (!locked_.exchange(true, std::memory_order_acquire)) return;
      while (locked_.load(std::memory_order_relaxed)) {
        if (++spins < 64)
          cpu_relax();
        else
          std::this_thread::yield();
      }
    }
  }
  void unlock() noexcept { locked_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> locked_{false};
};

}  // namespace

// A growable ring of task pointers under a spin lock. size_ is readable
// without the lock so that idle threads can look before they lock.
class ThreadPool::Queue {
 public:
  void push_back(Task* task) {
    std::lock_guard lock(lock_);
    if (count_ == ring_.size()) grow();
    ring_[(head_ + count_) & (ring_.size() - 1)] = task;
    size_.store(++count_, std::memory_order_relaxed);
  }
  void push_back_all(Task* const* tasks, std::size_t count) {
    std::lock_guard lock(lock_);
    while (count_ + count > ring_.size()) grow();
    for (std::size_t i = 0; i < count; ++i)
      ring_[(head_ + count_ + i) & (ring_.size() - 1)] = tasks[i];
    count_ += count;
    size_.store(count_, std::memory_order_relaxed);
  }
  Task* pop_back() noexcept {
    if (empty()) return nullptr;
    std::lock_guard lock(lock_);
    if (count_ == 0) return nullptr;
    Task* task = ring_[(head_ + count_ - 1) & (ring_.size() - 1)];
    size_.store(--count_, std::memory_order_relaxed);
    return task;
  }
  /// Takes up to `max` tasks from the front (half the queue, at least one).
  std::size_t steal_front(Task** out, std::size_t max) noexcept {
    if (empty()) return 0;
    std::lock_guard lock(lock_);
    const std::size_t take = std::min(max, (count_ + 1) / 2);
    for (std::size_t i = 0; i < take; ++i) out[i] = ring_[(head_ + i) & (ring_.size() - 1)];
    head_ = (head_ + take) & (ring_.size() - 1);
    count_ -= take;
    size_.store(count_, std::memory_order_relaxed);
    return take;
  }
  /// Removes task if it is among the last `depth` entries (usually the very
  /// last); false if it is not there.
  bool remove(Task* task, std::size_t depth = SIZE_MAX) noexcept {
    if (empty()) return false;
    std::lock_guard lock(lock_);
    const std::size_t mask = ring_.size() - 1;
    const std::size_t lowest = count_ > depth ? count_ - depth : 0;
    for (std::size_t i = count_; i-- > lowest;) {
      if (ring_[(head_ + i) & mask] != task) continue;
      for (std::size_t j = i; j + 1 < count_; ++j)
        ring_[(head_ + j) & mask] = ring_[(head_ + j + 1) & mask];
      size_.store(--count_, std::memory_order_relaxed);
      return true;
    }
    return false;
  }
  bool empty() const noexcept { return size_.load(std::memory_order_relaxed) == 0; }

 private:
  void grow() {
    std::vector<Task*> bigger(ring_.size() * 2);
    for (std::size_t i = 0; i < count_; ++i) bigger[i] = ring_[(head_ + i) & (ring_.size() - 1)];
    ring_.swap(bigger);
    head_ = 0;
  }

  alignas(64) SpinLock lock_;
  std::vector<Task*> ring_ = std::vector<Task*>(256);  // size: a power of two
  std::size_t head_ = 0, count_ = 0;
  std::atomic<std::size_t> size_{0};
};

namespace {

// Which pool and queue the current thread is a worker of (if any).
struct WorkerIdentity {
  const void* pool = nullptr;
  std::size_t index = 0;
};
thread_local WorkerIdentity current_worker;

// How an idle thread waits: it spins (pause) for kSpinTime, then yields until
// kYieldTime, then sleeps. Spinning keeps back-to-back regions cheap; the
// bounds keep idle workers from taking a core from the caller's serial code
// for long. An oversubscribed pool (more threads than hardware threads) does
// not spin at all: a spinning thread would only delay one that has work.
constexpr std::chrono::microseconds kSpinTime{50};
constexpr std::chrono::microseconds kYieldTime{200};
constexpr std::size_t kMaxSteal = 32;

class Backoff {
 public:
  enum class Step { retry, sleep };
  explicit Backoff(bool spin) : spin_(spin) {}
  /// Waits a little; returns Step::sleep once the spin and yield budget is spent.
  Step pause() noexcept {
    if (spin_) {
      // Exponential backoff between polls (1 to 256 pauses): an idle thread
      // that polls a busy queue's cache line on every pause slows down the
      // thread pushing to it.
      for (std::uint32_t i = 0; i < (1u << std::min<std::uint64_t>(rounds_, 8)); ++i) cpu_relax();
      if ((++rounds_ & 15) != 0) return Step::retry;
    }
    const auto now = std::chrono::steady_clock::now();
    if (!started_) {
      start_ = now;
      started_ = true;
    }
    if (spin_ && now - start_ < kSpinTime) return Step::retry;
    if (now - start_ < kYieldTime) {
      std::this_thread::yield();
      return Step::retry;
    }
    return Step::sleep;
  }
  void reset() noexcept {
    rounds_ = 0;
    started_ = false;
  }
  /// After a task: a new idle period, polled at the slowest rate at once
  /// (thread_pool.hpp says why).
  void after_task() noexcept {
    rounds_ = 8;
    started_ = false;
  }

 private:
  bool spin_;
  bool started_ = false;
  std::uint64_t rounds_ = 0;
  std::chrono::steady_clock::time_point start_{};
};

}  // namespace

ThreadPool::ThreadPool(std::size_t threads, const Placement& placement, CpuTrace* trace)
    : spin_when_idle_(threads + 1 <= std::max(1u, std::thread::hardware_concurrency())),
      trace_(trace) {
  queues_.reserve(threads + 1);
  for (std::size_t i = 0; i <= threads; ++i) queues_.push_back(std::make_unique<Queue>());
  workers_.reserve(threads);
  try {
    for (std::size_t i = 0; i < threads; ++i)
      workers_.emplace_back([this, i, placement] {
        placement.bind_current_thread(i + 1);
        worker_loop(i);
      });
  } catch (...) {
    stop_workers();
    throw;
  }
}

ThreadPool::~ThreadPool() {
  stop_workers();
}

void ThreadPool::stop_workers() noexcept {
  stopping_.store(true, std::memory_order_seq_cst);
  epoch_.fetch_add(1, std::memory_order_seq_cst);
  epoch_.notify_all();
  for (auto& worker : workers_) worker.join();
}

std::size_t ThreadPool::home_queue() const noexcept {
  return current_worker.pool == this ? current_worker.index : workers_.size();
}

void ThreadPool::push(Task* task) {
  queues_[home_queue()]->push_back(task);
  wake_sleepers();
}

void ThreadPool::wake_sleepers() noexcept {
  // No lost wake-up: this read-modify-write and the sleeper's increment in
  // worker_loop are totally ordered on sleepers_. If ours comes second we see
  // the sleeper and wake it; if it comes second, it synchronises with ours and
  // sees the task we pushed before it goes to sleep.
  if (sleepers_.fetch_add(0, std::memory_order_acq_rel) > 0) {
    epoch_.fetch_add(1, std::memory_order_seq_cst);
    epoch_.notify_all();
  }
}

ThreadPool::Task* ThreadPool::find_task(std::size_t home) noexcept {
  Queue& own = *queues_[home];
  if (Task* task = own.pop_back()) return task;
  const std::size_t count = queues_.size();
  std::array<Task*, kMaxSteal> stolen;
  for (std::size_t k = 1; k < count; ++k) {
    const std::size_t taken = queues_[(home + k) % count]->steal_front(stolen.data(), kMaxSteal);
    if (taken == 0) continue;
    // Keep the rest in our own queue, where others can steal them in turn.
    if (taken > 1) {
      own.push_back_all(stolen.data() + 1, taken - 1);
      wake_sleepers();
    }
    return stolen[0];
  }
  return nullptr;
}

void ThreadPool::worker_loop(std::size_t index) {
  current_worker = {this, index};
  Backoff backoff(spin_when_idle_);
  for (;;) {
    if (Task* task = find_task(index)) {
      if (trace_ != nullptr) trace_->note();
      task->execute(task);
      backoff.after_task();
      continue;
    }
    if (stopping_.load(std::memory_order_acquire)) {
      // Drain what is left (submitted tasks) before leaving.
      if (Task* task = find_task(index)) {
        task->execute(task);
        continue;
      }
      return;
    }
    if (backoff.pause() == Backoff::Step::retry) continue;
    sleepers_.fetch_add(1, std::memory_order_acq_rel);  // see wake_sleepers
    const std::uint32_t epoch = epoch_.load(std::memory_order_seq_cst);
    bool has_work = stopping_.load(std::memory_order_seq_cst);
    for (const auto& queue : queues_) has_work = has_work || !queue->empty();
    if (!has_work) epoch_.wait(epoch, std::memory_order_seq_cst);
    sleepers_.fetch_sub(1, std::memory_order_relaxed);
    backoff.reset();
  }
}

bool ThreadPool::take_back(Task* task) noexcept {
  return queues_[home_queue()]->remove(task);
}

bool ThreadPool::take_back_recent(std::size_t queue, Task* task) noexcept {
  return queues_[queue]->remove(task, 16);
}

void ThreadPool::help_until(const DoneSignal& done) noexcept {
  const std::size_t home = home_queue();
  Backoff backoff(spin_when_idle_);
  while (!done.is_set()) {
    if (Task* task = find_task(home)) {
      task->execute(task);
      backoff.reset();
    } else if (backoff.pause() == Backoff::Step::sleep) {
      done.wait();
    }
  }
}

namespace {

// A task that calls a TaskBody once and records completion and exception.
struct CallTask : ThreadPool::Task {
  explicit CallTask(TaskBody body) : body(body) { execute = &CallTask::run; }
  static void run(ThreadPool::Task* self) noexcept {
    auto* task = static_cast<CallTask*>(self);
    try {
      task->body();
    } catch (...) {
      task->error = std::current_exception();
    }
    task->done.set();  // last access: the owner may free the task right after
  }
  TaskBody body;
  std::exception_ptr error;
  DoneSignal done;
};

// One parallel_for call, shared by the caller and its helper tasks. The
// caller waits for the chunks to be done, never for a helper that got no
// chunk (a helper may be preempted before it even looks: oversubscription),
// so the job is reference-counted: the last holder lets go of it. Each thread
// keeps one job to reuse (a fresh allocation per region would travel between
// the cores' caches); a busy one (nesting, or a straggler still holding it) is
// replaced by a heap job that its last holder deletes.
struct ForJob {
  struct Helper : ThreadPool::Task {
    ForJob* job;
  };
  static constexpr std::size_t kInlineHelpers = 15;

  void start(std::size_t n_, std::size_t grain_, RangeBody body_, std::size_t helpers) {
    n = n_;
    grain = grain_;
    chunks = chunk_count(n_, grain_);
    body = body_;
    next.store(0, std::memory_order_relaxed);
    finished.store(0, std::memory_order_relaxed);
    references.store(helpers + 1, std::memory_order_relaxed);
    all_done.reset();
    error.reset();
    if (helpers > kInlineHelpers)
      extra_helpers = std::make_unique<Helper[]>(helpers - kInlineHelpers);
    for (std::size_t h = 0; h < helpers; ++h) {
      helper(h).execute = &ForJob::run_helper;
      helper(h).job = this;
    }
  }

  Helper& helper(std::size_t h) noexcept {
    return h < kInlineHelpers ? inline_helpers[h] : extra_helpers[h - kInlineHelpers];
  }

  /// Claims and runs chunks until none is left.
  void drain() noexcept {
    for (std::size_t c; (c = next.fetch_add(1, std::memory_order_relaxed)) < chunks;) {
      if (!error.failed()) {
        try {
          const Chunk chunk = chunk_bounds(n, grain, c);
          (*body)(chunk.lo, chunk.hi);
        } catch (...) {
          error.capture();
        }
      }
      if (finished.fetch_add(1, std::memory_order_acq_rel) + 1 == chunks) all_done.set();
    }
  }
  static void run_helper(ThreadPool::Task* self) noexcept {
    ForJob* job = static_cast<Helper*>(self)->job;
    job->drain();
    job->release();
  }
  /// Drops one reference; the last access to the job unless it deletes it.
  /// `cached` is read before the decrement: once the count reaches zero a
  /// thread's JobCache may destroy a cached job at once (TSan caught the late
  /// read racing with that delete at thread exit).
  void release() noexcept {
    const bool owned_by_cache = cached;
    if (references.fetch_sub(1, std::memory_order_acq_rel) == 1 && !owned_by_cache) delete this;
  }
  bool idle() const noexcept { return references.load(std::memory_order_acquire) == 0; }

  std::size_t n = 0, grain = 1, chunks = 0;
  std::optional<RangeBody> body;  // valid until all_done: only chunk bodies call it
  bool cached = false;            // owned by a thread's JobCache, never deleted by release
  // The counters share one cache line: fewer lines travel between cores.
  alignas(64) std::atomic<std::size_t> next{0};
  std::atomic<std::size_t> finished{0};
  std::atomic<std::size_t> references{0};
  DoneSignal all_done;
  FirstException error;
  std::array<Helper, kInlineHelpers> inline_helpers{};
  std::unique_ptr<Helper[]> extra_helpers;
};

struct JobCache {
  std::unique_ptr<ForJob> job;
  ~JobCache() {
    if (job)
      while (!job->idle()) std::this_thread::yield();  // a straggler's last fetch_sub
  }
  ForJob* acquire() {
    if (!job) {
      job = std::make_unique<ForJob>();
      job->cached = true;
    }
    return job->idle() ? job.get() : new ForJob();
  }
};
thread_local JobCache job_cache;

}  // namespace

void ThreadPool::fork_join(TaskBody a, TaskBody b) {
  if (workers_.empty()) {
    a();
    b();
    return;
  }
  CallTask task_a(a);
  push(&task_a);
  std::exception_ptr b_error;
  try {
    b();
  } catch (...) {
    b_error = std::current_exception();
  }
  if (take_back(&task_a))
    CallTask::run(&task_a);
  else
    help_until(task_a.done);
  if (task_a.error) std::rethrow_exception(task_a.error);
  if (b_error) std::rethrow_exception(b_error);
}

void ThreadPool::parallel_for(std::size_t n, std::size_t grain, RangeBody body) {
  check_grain(grain);
  const std::size_t chunks = chunk_count(n, grain);
  if (chunks == 0) return;
  const std::size_t helpers = std::min(workers_.size(), chunks - 1);
  if (helpers == 0) {
    FirstException error;
    for (std::size_t c = 0; c < chunks && !error.failed(); ++c) {
      try {
        const Chunk chunk = chunk_bounds(n, grain, c);
        body(chunk.lo, chunk.hi);
      } catch (...) {
        error.capture();
      }
    }
    error.rethrow_if_any();
    return;
  }
  ForJob* job = job_cache.acquire();
  job->start(n, grain, body, helpers);
  Queue& home = *queues_[home_queue()];
  std::array<Task*, kMaxSteal> batch;
  for (std::size_t h = 0; h < helpers; h += kMaxSteal) {
    const std::size_t count = std::min(kMaxSteal, helpers - h);
    for (std::size_t i = 0; i < count; ++i) batch[i] = &job->helper(h + i);
    home.push_back_all(batch.data(), count);
  }
  wake_sleepers();
  job->drain();
  // Helpers still queued here never started: take them back and drop their
  // references; then wait for chunks others are still running.
  for (std::size_t h = helpers; h-- > 0;)
    if (home.remove(&job->helper(h))) job->release();
  help_until(job->all_done);
  std::exception_ptr error;
  try {
    job->error.rethrow_if_any();
  } catch (...) {
    error = std::current_exception();
  }
  job->release();
  if (error) std::rethrow_exception(error);
}

void ThreadPool::spawn_tasks(std::size_t count, IndexBody task) {
  if (count == 0) return;
  struct IndexTask : Task {
    static void run(Task* self) noexcept {
      auto* t = static_cast<IndexTask*>(self);
      try {
        (*t->body)(t->index);
      } catch (...) {
        t->error->capture();
      }
      // The task that finishes last signals; `all_done` is its last access.
      if (t->remaining->fetch_sub(1, std::memory_order_acq_rel) == 1) t->all_done->set();
    }
    IndexBody* body;
    std::size_t index;
    std::atomic<std::size_t>* remaining;
    DoneSignal* all_done;
    FirstException* error;
  };
  std::atomic<std::size_t> remaining{count};
  DoneSignal all_done;
  FirstException error;
  std::vector<IndexTask> tasks(count);
  Queue& home = *queues_[home_queue()];
  for (std::size_t i = 0; i < count; ++i) {
    tasks[i].execute = &IndexTask::run;
    tasks[i].body = &task;
    tasks[i].index = i;
    tasks[i].remaining = &remaining;
    tasks[i].all_done = &all_done;
    tasks[i].error = &error;
    // Pushed even with no worker thread (p = 1): each task is spawned and
    // taken from the queue, as the figure for spawning a task says.
    home.push_back(&tasks[i]);
    if (i == 0) wake_sleepers();
  }
  help_until(all_done);
  error.rethrow_if_any();
}

namespace {

class PoolExecutor final : public Executor {
 public:
  PoolExecutor(std::size_t workers, const Placement& placement)
      : workers_(workers), caller_(placement, 0), pool_(workers - 1, placement, &cpu_trace()) {}
  std::size_t workers() const noexcept override { return workers_; }
  void parallel_for(std::size_t n, std::size_t grain, RangeBody body) override {
    note_cpu();  // the caller works beside the pool's threads
    pool_.parallel_for(n, grain, body);
  }
  void fork_join(TaskBody a, TaskBody b) override { pool_.fork_join(a, b); }
  void spawn_tasks(std::size_t count, IndexBody task) override { pool_.spawn_tasks(count, task); }

 private:
  std::size_t workers_;
  ThreadBinding caller_;  // the caller is worker 0 while the executor lives
  ThreadPool pool_;
};

const bool registered = register_model({
    .name = "pool",
    .label = "pool",
    .group = "threads",
    .launch = "in-process",
    .summary = "parbench's own work-stealing thread pool (p - 1 threads + the caller)",
    .order = 20,
    .parallel = true,
    .task_spawn = "a task pushed to the caller's queue per task; workers steal, the caller helps",
    .concurrent_tasks = true,
    .create = [](std::size_t workers, const Placement& placement) -> std::unique_ptr<Executor> {
      return std::make_unique<PoolExecutor>(workers, placement);
    },
    .max_concurrency = 1024,
});

}  // namespace
}  // namespace parbench
