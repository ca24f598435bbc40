// amdahl_sNN: synthetic Amdahl's-law workload with a known serial fraction.
// n microseconds of calibrated spin work (core/spin.hpp) per run, of which a
// fraction s runs on the calling thread and the rest as 240 equal chunks
// through parallel_for (240 divides evenly among 1-6, 8, 10, 12 ... workers).
// The configured s is ground truth for the analysis's Amdahl fit: it is
// exported as the counter `true_serial_fraction`.
// Registered for s = 5%, 20% and 50% (amdahl_s05, amdahl_s20, amdahl_s50).
// Verified: every spin result against its closed form (LCG jump-ahead).
// Sizes: default n = 200,000 us of work; quick 30,000; selfcheck 2,000.
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

constexpr std::size_t kParallelChunks = 240;

// The sum of the spin results modulo 2^52 (exact in a double), compared with the
// Python track's (scripts/pytrack/workloads/amdahl.py): equal at the same n and
// spin rate (PARBENCH_SPIN_ITERS_PER_US here, PARBENCH_PY_SPIN_ITERS_PER_US there).
double answer_of(const Array<std::uint64_t>& results) {
  const std::uint64_t sum = std::accumulate(results.begin(), results.end(), std::uint64_t{0});
  return static_cast<double>(sum & ((std::uint64_t{1} << 52) - 1));
}

class Amdahl final : public Instance {
 public:
  Amdahl(Executor& executor, std::size_t work_us, double serial_fraction)
      : serial_fraction_(serial_fraction), results_(executor, kParallelChunks + 1) {
    const double total = static_cast<double>(work_us) * spin_iterations_per_us();
    serial_iterations_ = static_cast<std::uint64_t>(std::llround(total * serial_fraction));
    chunk_iterations_ =
        static_cast<std::uint64_t>(std::llround(total * (1 - serial_fraction) / kParallelChunks));
  }

  void run(Executor& executor) override {
    std::uint64_t* results = results_.data();
    results[kParallelChunks] = spin(serial_iterations_, kParallelChunks);
    const std::uint64_t iterations = chunk_iterations_;
    executor.parallel_for(kParallelChunks, 1, [=](std::size_t lo, std::size_t hi) {
      for (std::size_t c = lo; c < hi; ++c) results[c] = spin(iterations, c);
    });
  }
  Verdict verify() const override {
    for (std::size_t c = 0; c <= kParallelChunks; ++c) {
      const std::uint64_t iterations =
          c == kParallelChunks ? serial_iterations_ : chunk_iterations_;
      if (results_[c] != spin_closed_form(iterations, c))
        return Verdict::fail(c == kParallelChunks ? "serial part" : "parallel chunk ",
                             c == kParallelChunks ? "" : std::to_string(c), " has a wrong result");
    }
    return Verdict::pass();
  }
  void corrupt() override { results_[3] ^= 1; }
  WorkPerRun work() const override {
    return {static_cast<double>(serial_iterations_ + kParallelChunks * chunk_iterations_), 0};
  }
  std::vector<std::pair<std::string, double>> counters() const override {
    return {{"true_serial_fraction", serial_fraction_},
            {"spin_iters_per_us", spin_iterations_per_us()},
            {"answer", answer_of(results_)}};
  }

 private:
  double serial_fraction_;
  Array<std::uint64_t> results_;  // [0, 240): parallel chunks; [240]: serial part
  std::uint64_t serial_iterations_ = 0, chunk_iterations_ = 0;
};

bool register_amdahl(const char* name, double serial_fraction) {
  return register_workload({
      .name = name,
      .category = Category::cpu,
      .summary = "synthetic spin work, serial fraction " +
                 std::to_string(static_cast<int>(std::lround(serial_fraction * 100))) +
                 "% (ground truth for the Amdahl fit)",
      .size_meaning = "microseconds of work n",
      .default_sizes = {200'000},
      .quick_sizes = {30'000},
      .small_size = 2'000,
      .min_size = 1,
      .max_size = 100'000'000,
      .uses_fork_join = false,
      .exports_serial_fraction = true,
      .prepare = [serial_fraction](Executor& executor, std::size_t n) -> std::unique_ptr<Instance> {
        return std::make_unique<Amdahl>(executor, n, serial_fraction);
      },
  });
}

const bool registered = register_amdahl("amdahl_s05", 0.05) &&
                        register_amdahl("amdahl_s20", 0.20) && register_amdahl("amdahl_s50", 0.50);

}  // namespace
}  // namespace parbench
