// monte_carlo_pi: estimate pi from n points in the unit square.
// Pattern: parallel_for + deterministic sum of per-chunk hit counts. Point i
// comes from a counter-based generator (a pure function of the seed and i),
// so the count is identical on every model and p. Cost: even.
// Verified: the hit count equals a plain serial recount, and the estimate is
// within 6 standard errors of pi.
// Sizes: default n = 80,000,000; quick 5,000,000; selfcheck 100,000.
#include <cmath>
#include <cstdint>
#include <numbers>
#include <string>
#include <utility>
#include <vector>

#include "core/random.hpp"
#include "core/reduce.hpp"
#include "core/workload.hpp"

namespace parbench {
namespace {

constexpr std::size_t kGrain = 1 << 16;
constexpr std::uint64_t kSeed = 0x5eed'0001;

bool inside(std::uint64_t i) {
  const double x = random_unit(kSeed, 2 * i), y = random_unit(kSeed, 2 * i + 1);
  return x * x + y * y < 1.0;
}

class MonteCarloPi final : public Instance {
 public:
  MonteCarloPi(Executor& executor, std::size_t n)
      : n_(n), partials_(executor, chunk_count(n, kGrain)) {}

  void run(Executor& executor) override {
    hits_ = chunked_sum(executor, n_, kGrain, partials_, [](std::size_t lo, std::size_t hi) {
      std::uint64_t hits = 0;
      for (std::size_t i = lo; i < hi; ++i) hits += inside(i);
      return hits;
    });
  }
  Verdict verify() const override {
    std::uint64_t expected = 0;
    for (std::size_t i = 0; i < n_; ++i) expected += inside(i);
    if (hits_ != expected) return Verdict::fail(hits_, " hits, a serial recount gives ", expected);
    const double p = std::numbers::pi / 4;
    const double estimate = 4.0 * static_cast<double>(hits_) / static_cast<double>(n_);
    const double standard_error = 4.0 * std::sqrt(p * (1 - p) / static_cast<double>(n_));
    if (std::abs(estimate - std::numbers::pi) > 6 * standard_error)
      return Verdict::fail("estimate ", estimate, " is more than 6 standard errors from pi");
    return Verdict::pass();
  }
  void corrupt() override { hits_ += 1; }
  WorkPerRun work() const override { return {static_cast<double>(n_), 0}; }
  // The hit count, compared with the Python track's (scripts/pytrack/workloads/monte_carlo_pi.py).
  std::vector<std::pair<std::string, double>> counters() const override {
    return {{"answer", static_cast<double>(hits_)}};
  }

 private:
  std::size_t n_;
  Array<std::uint64_t> partials_;
  std::uint64_t hits_ = 0;
};

const bool registered = register_workload({
    .name = "monte_carlo_pi",
    .category = Category::cpu,
    .summary = "pi from n counter-based random points (identical on every model)",
    .size_meaning = "number of points n",
    .default_sizes = {80'000'000},
    .quick_sizes = {5'000'000},
    .small_size = 100'000,
    .min_size = 1000,
    .max_size = 1ULL << 40,
    .uses_fork_join = false,
    .prepare = [](Executor& executor, std::size_t n) -> std::unique_ptr<Instance> {
      return std::make_unique<MonteCarloPi>(executor, n);
    },
});

}  // namespace
}  // namespace parbench
