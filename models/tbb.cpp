// tbb: oneTBB inside a task_arena of p slots (the caller takes one).
// parallel_for: tbb::parallel_for over chunk indices with simple_partitioner
// (one task per chunk at most: the grain is ours, not TBB's auto-partitioner's).
// fork_join: tbb::parallel_invoke (a on the caller first). spawn_tasks: one
// tbb::task_group, a run() per task.
// A global_control raises TBB's process-wide thread limit to p while the
// executor lives, so that p above the hardware thread count really runs p
// threads (oversubscription is measured, not silently capped).
#include <algorithm>
#include <thread>
#include <utility>

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/parallel_invoke.h>
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>
#include <oneapi/tbb/task_scheduler_observer.h>
#include <pthread.h>
#include <sched.h>

#include "core/first_exception.hpp"
#include "core/model.hpp"

namespace parbench {
namespace {

/// Binds each thread that joins the arena as the worker of its arena slot, the
/// way oneTBB's users pin (a task_scheduler_observer); a thread leaving the
/// arena that is not TBB's own (the caller) gets its previous CPUs back.
class Pinning final : public tbb::task_scheduler_observer {
 public:
  Pinning(tbb::task_arena& arena, Placement placement)
      : tbb::task_scheduler_observer(arena), placement_(std::move(placement)) {
    if (placement_.binds()) observe(true);
  }
  ~Pinning() override { observe(false); }
  void on_scheduler_entry(bool is_worker) override {
    if (!is_worker) ::pthread_getaffinity_np(::pthread_self(), sizeof caller_cpus_, &caller_cpus_);
    placement_.bind_current_thread(
        static_cast<std::size_t>(tbb::this_task_arena::current_thread_index()));
  }
  void on_scheduler_exit(bool is_worker) override {
    if (!is_worker) ::pthread_setaffinity_np(::pthread_self(), sizeof caller_cpus_, &caller_cpus_);
  }

 private:
  Placement placement_;
  cpu_set_t caller_cpus_{};
};

class TbbExecutor final : public Executor {
 public:
  TbbExecutor(std::size_t workers, Placement placement)
      : workers_(workers),
        limit_(tbb::global_control::max_allowed_parallelism,
               std::max<std::size_t>(workers, std::thread::hardware_concurrency())),
        arena_(static_cast<int>(workers)),
        pinning_(arena_, std::move(placement)) {}

  std::size_t workers() const noexcept override { return workers_; }

  void parallel_for(std::size_t n, std::size_t grain, RangeBody body) override {
    check_grain(grain);
    const std::size_t chunks = chunk_count(n, grain);
    if (chunks == 0) return;
    arena_.execute([&] {
      tbb::parallel_for(
          tbb::blocked_range<std::size_t>(0, chunks, 1),
          [&](const tbb::blocked_range<std::size_t>& range) {
            note_cpu();
            for (std::size_t c = range.begin(); c != range.end(); ++c) {
              const Chunk chunk = chunk_bounds(n, grain, c);
              body(chunk.lo, chunk.hi);
            }
          },
          tbb::simple_partitioner());
    });
  }

  void fork_join(TaskBody a, TaskBody b) override {
    // parallel_invoke runs its last function first on the calling thread and
    // offers the others to thieves: b is passed first so that `a` runs first,
    // as in serial code (at p = 1 nothing is stolen and the order is a, b).
    arena_.execute([&] { tbb::parallel_invoke([&] { b(); }, [&] { a(); }); });
  }

  void spawn_tasks(std::size_t count, IndexBody task) override {
    arena_.execute([&] {
      tbb::task_group group;
      for (std::size_t i = 0; i < count; ++i) group.run([&task, i] { task(i); });
      group.wait();
    });
  }

 private:
  std::size_t workers_;
  tbb::global_control limit_;
  tbb::task_arena arena_;
  Pinning pinning_;  // after the arena: it stops observing before the arena goes
};

const bool registered = register_model({
    .name = "tbb",
    .label = "oneTBB",
    .group = "threads",
    .launch = "in-process",
    .summary = "oneTBB in a task_arena of p threads",
    .order = 30,
    .parallel = true,
    .task_spawn = "tbb::task_group::run per task",
    .concurrent_tasks = true,
    .create = [](std::size_t workers, const Placement& placement) -> std::unique_ptr<Executor> {
      return std::make_unique<TbbExecutor>(workers, placement);
    },
    .max_concurrency = 256,
});

}  // namespace
}  // namespace parbench
