// openmp: GCC's libgomp. parallel_for is `omp parallel for num_threads(p)
// schedule(dynamic, 1)` over chunk indices (dynamic with the grain as chunk).
// fork_join and spawn_tasks use OpenMP tasks, opening a parallel region of p
// threads when called outside one. Exceptions cannot cross an OpenMP region,
// so every body is wrapped and the first exception is rethrown afterwards.
//
// Affinity. OpenMP's users bind with OMP_PROC_BIND and OMP_PLACES, which
// libgomp reads when it loads: a run with --affinity sets them (close, the
// policy's CPUs as places) and starts the binary again (benchmarks/main.cpp),
// so the executor itself binds nothing.
//
// Wait policy. libgomp's default (OMP_WAIT_POLICY unset) lets idle threads
// spin for a while after a region, then sleep: back-to-back regions cost
// about 1 us at p = 2 here. That is how OpenMP's users run it and how the
// sweep runs it (each family has its own process, so the spinning disturbs
// nothing else). Only a process that runs OpenMP beside other benchmarks sets
// passive (benchmarks/main.cpp); the policy goes into the JSON context, and
// overhead/parallel_for/openmp and sync/barrier/openmp are measured under
// each policy (wait:<policy> in their names).
// Under passive every region wakes sleeping threads with a futex, and the
// region costs two wake-ups (the team's, then the caller's at the closing
// barrier). On a VM a wake-up means an interrupt to an idle, halted vCPU:
// 10-120 us here depending on the host's load, so passive regions cost
// 20-240 us. An earlier report of 45-60 us for parbench against 10.3 us for
// EPCC's syncbench (PARALLEL FOR, passive) compared runs made at different
// times: measured side by side, an EPCC-style loop (delay 0.1 us, innerreps
// doubled to 1 ms, median of 20) gave 77-122 us per region and
// overhead/parallel_for/openmp/wait:passive 98-127 us (p = 2), the same cost.
#include <omp.h>

#include "core/first_exception.hpp"
#include "core/model.hpp"

namespace parbench {
namespace {

class OpenMpExecutor final : public Executor {
 public:
  explicit OpenMpExecutor(std::size_t workers) : workers_(static_cast<int>(workers)) {}

  std::size_t workers() const noexcept override { return static_cast<std::size_t>(workers_); }

  void parallel_for(std::size_t n, std::size_t grain, RangeBody body) override {
    check_grain(grain);
    const auto chunks = static_cast<long long>(chunk_count(n, grain));
    if (chunks == 0) return;
    FirstException error;
#pragma omp parallel for num_threads(workers_) schedule(dynamic, 1)
    for (long long c = 0; c < chunks; ++c) {
      if (error.failed()) continue;
      try {
        note_cpu();
        const Chunk chunk = chunk_bounds(n, grain, static_cast<std::size_t>(c));
        body(chunk.lo, chunk.hi);
      } catch (...) {
        error.capture();
      }
    }
    error.rethrow_if_any();
  }

  void fork_join(TaskBody a, TaskBody b) override {
    if (omp_in_parallel()) {
      fork_join_in_region(a, b);
      return;
    }
    FirstException error;
#pragma omp parallel num_threads(workers_)
#pragma omp single
    {
      try {
        fork_join_in_region(a, b);
      } catch (...) {
        error.capture();
      }
    }
    error.rethrow_if_any();
  }

  void spawn_tasks(std::size_t count, IndexBody task) override {
    FirstException error;
#pragma omp parallel num_threads(workers_)
#pragma omp single
    {
      for (std::size_t i = 0; i < count; ++i) {
#pragma omp task firstprivate(i) shared(task, error)
        {
          try {
            task(i);
          } catch (...) {
            error.capture();
          }
        }
      }
#pragma omp taskwait
    }
    error.rethrow_if_any();
  }

 private:
  // b becomes the task another thread may take and `a` runs here first, as
  // in serial code (at p = 1 libgomp defers the task to the taskwait: a, b).
  static void fork_join_in_region(TaskBody a, TaskBody b) {
    FirstException error;
#pragma omp task shared(b, error)
    {
      try {
        b();
      } catch (...) {
        error.capture();
      }
    }
    try {
      a();
    } catch (...) {
      error.capture();
    }
#pragma omp taskwait
    error.rethrow_if_any();
  }

  int workers_;
};

const bool registered = register_model({
    .name = "openmp",
    .label = "OpenMP",
    .group = "threads",
    .launch = "in-process",
    .summary = "OpenMP (libgomp): parallel for, dynamic schedule; tasks for fork_join",
    .order = 40,
    .parallel = true,
    .task_spawn = "#pragma omp task per task in a parallel region (libgomp runs a new task at "
                  "once while more than 64 x p are queued)",
    .concurrent_tasks = true,
    .create = [](std::size_t workers, const Placement& placement) -> std::unique_ptr<Executor> {
      return std::make_unique<OpenMpExecutor>(workers);
    },
    .note = "a region's cost depends on OMP_WAIT_POLICY (libgomp's default in the sweep: idle "
            "threads spin, then sleep; passive: each region wakes sleeping threads, tens of us "
            "on a VM)",
    .max_concurrency = 1024,
});

}  // namespace
}  // namespace parbench
