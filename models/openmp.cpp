// openmp: GCC's libgomp. parallel_for is `omp parallel for num_threads(p)
// schedule(dynamic, 1)` over chunk indices (dynamic with the grain as chunk).
// fork_join and spawn_tasks use OpenMP tasks, opening a parallel region of p
// threads when called outside one. Exceptions cannot cross an OpenMP region,
// so every body is wrapped and the first exception is rethrown afterwards.
// Idle OpenMP threads spin and disturb whatever runs next in the process:
// the benchmark binary runs with OMP_WAIT_POLICY=passive unless told otherwise
// (see benchmarks/main.cpp), and records the policy in its context.
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
  static void fork_join_in_region(TaskBody a, TaskBody b) {
    FirstException error;
#pragma omp task shared(a, error)
    {
      try {
        a();
      } catch (...) {
        error.capture();
      }
    }
    try {
      b();
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
    .summary = "OpenMP (libgomp): parallel for, dynamic schedule; tasks for fork_join",
    .order = 40,
    .parallel = true,
    .task_pool = true,
    .create = [](std::size_t workers) -> std::unique_ptr<Executor> {
      return std::make_unique<OpenMpExecutor>(workers);
    },
    .max_concurrency = 1024,
});

}  // namespace
}  // namespace parbench
