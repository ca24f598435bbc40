// granularity: m independent tasks of n nanoseconds of calibrated spin work
// each, with m = 100 ms / n (so every size is about 100 ms of work serially).
// Pattern: Executor::spawn_tasks (each task submitted on its own through the
// model's native task mechanism). Sweeping n from 1 us to 10 ms shows where
// per-task overhead stops mattering: the analysis derives each model's
// minimum effective task granularity (METG at 50% efficiency) from it.
// Verified: each task's spin result against its closed form.
// Sizes: default n = 0.1, 0.3, 1, 3, 10, 30, 100 us and 1 ms (every model is
// efficient well before 1 ms here; larger tasks only cost sweep time);
// quick 0.1, 1, 10 us (where the models cross 50%); selfcheck 20 us.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "core/spin.hpp"
#include "core/workload.hpp"

namespace parbench {
namespace {

constexpr double kTotalWorkNs = 100e6;

class Granularity final : public Instance {
 public:
  Granularity(Executor& executor, std::size_t task_ns)
      : task_ns_(task_ns),
        tasks_(std::max<std::size_t>(1, static_cast<std::size_t>(kTotalWorkNs / task_ns))),
        iterations_(static_cast<std::uint64_t>(
            std::llround(static_cast<double>(task_ns) * spin_iterations_per_us() / 1000.0))),
        results_(executor, tasks_) {}

  void run(Executor& executor) override {
    std::uint64_t* results = results_.data();
    const std::uint64_t iterations = iterations_;
    executor.spawn_tasks(tasks_, [=](std::size_t i) { results[i] = spin(iterations, i); });
  }
  Verdict verify() const override {
    for (std::size_t i = 0; i < tasks_; ++i)
      if (results_[i] != spin_closed_form(iterations_, i))
        return Verdict::fail("task ", i, " of ", tasks_, " has a wrong result (did it run?)");
    return Verdict::pass();
  }
  void corrupt() override { results_[tasks_ / 2] ^= 1; }
  WorkPerRun work() const override { return {static_cast<double>(tasks_), 0}; }
  std::vector<std::pair<std::string, double>> counters() const override {
    return {{"task_us", static_cast<double>(task_ns_) / 1000.0},
            {"tasks", static_cast<double>(tasks_)},
            {"spin_iters_per_us", spin_iterations_per_us()}};
  }

 private:
  std::size_t task_ns_;
  std::size_t tasks_;
  std::uint64_t iterations_;
  Array<std::uint64_t> results_;
};

const bool registered = register_workload({
    .name = "granularity",
    .category = Category::cpu,
    .summary = "100 ms of work as independent tasks of n ns each (for METG)",
    .size_meaning = "task duration in ns",
    .default_sizes = {100, 300, 1'000, 3'000, 10'000, 30'000, 100'000, 1'000'000},
    .quick_sizes = {100, 1'000, 10'000},
    .small_size = 20'000,
    .min_size = 100,
    .max_size = 100'000'000,
    .uses_fork_join = false,
    .work_exponent = 0,
    .prepare = [](Executor& executor, std::size_t n) -> std::unique_ptr<Instance> {
      return std::make_unique<Granularity>(executor, n);
    },
});

}  // namespace
}  // namespace parbench
