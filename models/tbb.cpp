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

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/parallel_invoke.h>
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>

#include "core/first_exception.hpp"
#include "core/model.hpp"

namespace parbench {
namespace {

class TbbExecutor final : public Executor {
 public:
  explicit TbbExecutor(std::size_t workers)
      : workers_(workers),
        limit_(tbb::global_control::max_allowed_parallelism,
               std::max<std::size_t>(workers, std::thread::hardware_concurrency())),
        arena_(static_cast<int>(workers)) {}

  std::size_t workers() const noexcept override { return workers_; }

  void parallel_for(std::size_t n, std::size_t grain, RangeBody body) override {
    check_grain(grain);
    const std::size_t chunks = chunk_count(n, grain);
    if (chunks == 0) return;
    arena_.execute([&] {
      tbb::parallel_for(
          tbb::blocked_range<std::size_t>(0, chunks, 1),
          [&](const tbb::blocked_range<std::size_t>& range) {
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
    .create = [](std::size_t workers) -> std::unique_ptr<Executor> {
      return std::make_unique<TbbExecutor>(workers);
    },
    .max_concurrency = 256,
});

}  // namespace
}  // namespace parbench
