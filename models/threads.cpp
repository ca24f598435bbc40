// threads: one std::thread per worker per parallel region, like starting
// threading.Thread objects by hand. Thread creation and join are part of what
// is measured.
//
// parallel_for starts min(p, chunks) threads that take chunks from a shared
// counter, and joins them; the caller only waits.
// fork_join runs `a` on a new thread when one of the p running-thread permits
// is free, else inline; a thread that blocks in join gives its permit back
// while it waits, so about p threads compute at any time and recursive work
// (fib, merge_sort) still spreads over all p.
// spawn_tasks starts a std::thread per task, at most p at a time, as a
// program that starts a threading.Thread per task under a semaphore does: a
// finished task's thread is joined and its slot reused by the next task.
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "core/first_exception.hpp"
#include "core/model.hpp"

namespace parbench {
namespace {

class ThreadsExecutor final : public Executor {
 public:
  ThreadsExecutor(std::size_t workers, Placement placement)
      : workers_(workers),
        spare_permits_(static_cast<std::ptrdiff_t>(workers) - 1),
        placement_(std::move(placement)) {}

  std::size_t workers() const noexcept override { return workers_; }

  void parallel_for(std::size_t n, std::size_t grain, RangeBody body) override {
    check_grain(grain);
    const std::size_t chunks = chunk_count(n, grain);
    if (chunks == 0) return;
    std::atomic<std::size_t> next{0};
    FirstException error;
    auto drain = [&](std::size_t worker) {
      placement_.bind_current_thread(worker);  // each new thread binds itself, as a user's would
      for (std::size_t c; !error.failed() && (c = next.fetch_add(1)) < chunks;) {
        try {
          note_cpu();
          const Chunk chunk = chunk_bounds(n, grain, c);
          body(chunk.lo, chunk.hi);
        } catch (...) {
          error.capture();
        }
      }
    };
    {
      std::vector<std::jthread> threads;
      const std::size_t count = std::min(workers_, chunks);
      threads.reserve(count);
      try {
        for (std::size_t t = 0; t < count; ++t) threads.emplace_back(drain, t);
      } catch (...) {  // could not start a thread: the ones started finish the work
        if (threads.empty()) throw;
      }
    }  // jthread joins here
    error.rethrow_if_any();
  }

  void spawn_tasks(std::size_t count, IndexBody task) override {
    if (count == 0) return;
    FirstException error;
    std::mutex mutex;
    std::condition_variable slot_freed;
    std::vector<std::thread> slots(std::min(workers_, count));
    std::vector<std::size_t> free_slots(slots.size());
    for (std::size_t s = 0; s < slots.size(); ++s) free_slots[s] = s;
    for (std::size_t i = 0; i < count && !error.failed(); ++i) {
      std::size_t slot;
      {
        std::unique_lock lock(mutex);
        slot_freed.wait(lock, [&] { return !free_slots.empty(); });
        slot = free_slots.back();
        free_slots.pop_back();
      }
      if (slots[slot].joinable()) slots[slot].join();  // its task is done: only its exit is left
      try {
        slots[slot] = std::thread([&, i, slot] {
          try {
            placement_.bind_current_thread(slot);
            note_cpu();
            task(i);
          } catch (...) {
            error.capture();
          }
          {
            std::lock_guard lock(mutex);
            free_slots.push_back(slot);
          }
          slot_freed.notify_one();  // safe: the caller joins this thread before it returns
        });
      } catch (...) {  // could not start a thread: stop spawning, keep the error
        error.capture();
      }
    }
    for (std::thread& thread : slots)
      if (thread.joinable()) thread.join();
    error.rethrow_if_any();
  }

  void fork_join(TaskBody a, TaskBody b) override {
    if (!try_take_permit()) {
      a();
      b();
      return;
    }
    std::exception_ptr a_error, b_error;
    std::thread thread;
    try {
      thread = std::thread([&] {
        try {
          a();
        } catch (...) {
          a_error = std::current_exception();
        }
        give_permit();
      });
    } catch (...) {
      give_permit();
      a();
      b();
      return;
    }
    try {
      b();
    } catch (...) {
      b_error = std::current_exception();
    }
    give_permit();  // this thread blocks now: let another one run meanwhile
    thread.join();
    spare_permits_.fetch_sub(1, std::memory_order_acq_rel);
    if (a_error) std::rethrow_exception(a_error);
    if (b_error) std::rethrow_exception(b_error);
  }

 private:
  bool try_take_permit() noexcept {
    std::ptrdiff_t available = spare_permits_.load(std::memory_order_relaxed);
    while (available > 0)
      if (spare_permits_.compare_exchange_weak(available, available - 1, std::memory_order_acq_rel))
        return true;
    return false;
  }
  void give_permit() noexcept { spare_permits_.fetch_add(1, std::memory_order_acq_rel); }

  std::size_t workers_;
  std::atomic<std::ptrdiff_t> spare_permits_;  // may dip below 0 briefly after a join
  Placement placement_;
};

const bool registered = register_model({
    .name = "threads",
    .label = "threads",
    .group = "threads",
    .launch = "in-process",
    .summary = "a new std::thread per worker per parallel region (creation cost included)",
    .order = 10,
    .parallel = true,
    .task_spawn = "a std::thread per task, at most p at a time (like threading.Thread per task)",
    .concurrent_tasks = true,
    .create = [](std::size_t workers, const Placement& placement) -> std::unique_ptr<Executor> {
      return std::make_unique<ThreadsExecutor>(workers, placement);
    },
    .max_concurrency = 1024,
});

}  // namespace
}  // namespace parbench
