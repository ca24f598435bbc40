// granularity: independent tasks of n nanoseconds of calibrated spin work
// each, min(100 ms / n, 10,000) of them (100 ms of work from 10 us up; fewer
// tasks below, so that a model that pays microseconds per spawn, a thread per
// task, still finishes a run in about a second).
// Pattern: Executor::spawn_tasks, each task spawned on its own through the
// model's native mechanism; it runs only on models that spawn per task
// (ModelInfo::task_spawn) and the serial baseline. Sweeping n from 100 ns to
// 1 ms shows where per-task overhead stops mattering: the analysis derives
// each model's minimum effective task granularity (METG at 50% efficiency).
// Cost: a task's real length is measured when the instance is prepared (the
// task body run back to back on one thread) and exported beside the nominal
// one (task_us_actual vs task_us): the spin is serialised (core/spin.hpp), so
// the two agree within a few percent from 100 ns up; METG uses the measured.
// Verified: each task's spin result against its closed form.
// Sizes: default n = 0.1, 0.3, 1, 10, 100 us and 1 ms: half decades where
// pools and coroutines cross 50% on 2 cores (0.2-0.9 us), decades above,
// where only a thread per task crosses (60-150 us; interpolated on a log
// scale); every model is efficient well before 1 ms here;
// quick 0.1, 1, 10 us (where the models cross 50%); selfcheck 20 us.
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "core/spin.hpp"
#include "core/workload.hpp"

namespace parbench {
namespace {

constexpr double kTotalWorkNs = 100e6;
constexpr std::size_t kMaxTasks = 10'000;
constexpr double kMeasureNs = 2e6;  // task work per round of the length measurement

inline void run_task(std::uint64_t* results, std::uint64_t iterations, std::size_t i) noexcept {
  results[i] = spin(iterations, i);
}

class Granularity final : public Instance {
 public:
  Granularity(Executor& executor, std::size_t task_ns)
      : task_ns_(task_ns),
        tasks_(std::clamp<std::size_t>(static_cast<std::size_t>(kTotalWorkNs / task_ns), 1,
                                       kMaxTasks)),
        iterations_(static_cast<std::uint64_t>(
            std::llround(static_cast<double>(task_ns) * spin_iterations_per_us() / 1000.0))),
        results_(executor, tasks_) {
    actual_ns_ = measure_task_ns();
  }

  void run(Executor& executor) override {
    std::uint64_t* results = results_.data();
    const std::uint64_t iterations = iterations_;
    executor.spawn_tasks(tasks_, [=](std::size_t i) { run_task(results, iterations, i); });
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
    // The sum of the task results modulo 2^52 (exact in a double), compared with
    // the Python track's (scripts/pytrack/workloads/granularity.py): equal at the
    // same n and spin rate.
    const std::uint64_t answer_sum =
        std::accumulate(results_.begin(), results_.end(), std::uint64_t{0});
    return {{"task_us", static_cast<double>(task_ns_) / 1000.0},
            {"task_us_actual", actual_ns_ / 1000.0},
            {"tasks", static_cast<double>(tasks_)},
            {"spin_iters_per_us", spin_iterations_per_us()},
            {"answer", static_cast<double>(answer_sum & ((std::uint64_t{1} << 52) - 1))}};
  }

 private:
  // The real length of one task: the task body run back to back on this
  // thread (no spawning), the median of five rounds of about 2 ms of work.
  double measure_task_ns() {
    const std::size_t count = std::clamp<std::size_t>(
        static_cast<std::size_t>(kMeasureNs / static_cast<double>(task_ns_)), 1, tasks_);
    std::array<double, 5> rounds{};
    for (double& round : rounds) {
      const auto start = std::chrono::steady_clock::now();
      for (std::size_t i = 0; i < count; ++i) run_task(results_.data(), iterations_, i);
      const std::chrono::duration<double, std::nano> elapsed =
          std::chrono::steady_clock::now() - start;
      round = elapsed.count() / static_cast<double>(count);
    }
    std::fill(results_.begin(), results_.end(), 0);  // run() must write every result itself
    std::nth_element(rounds.begin(), rounds.begin() + 2, rounds.end());
    return rounds[2];
  }

  std::size_t task_ns_;
  std::size_t tasks_;
  std::uint64_t iterations_;
  Array<std::uint64_t> results_;
  double actual_ns_ = 0;
};

const bool registered = register_workload({
    .name = "granularity",
    .category = Category::cpu,
    .summary = "independent tasks of n ns each, min(100 ms / n, 10,000) of them (for METG)",
    .size_meaning = "task duration in ns",
    .default_sizes = {100, 300, 1'000, 10'000, 100'000, 1'000'000},
    .quick_sizes = {100, 1'000, 10'000},
    .small_size = 20'000,
    .min_size = 100,
    .max_size = 100'000'000,
    .uses_fork_join = false,
    .uses_spawn_tasks = true,
    .work_exponent = 0,
    .prepare = [](Executor& executor, std::size_t n) -> std::unique_ptr<Instance> {
      return std::make_unique<Granularity>(executor, n);
    },
});

}  // namespace
}  // namespace parbench
