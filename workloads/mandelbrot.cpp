// mandelbrot: escape-time iteration counts on an n x n grid over
// [-2, 0.5] x [-1.25, 1.25], at most 256 iterations per pixel.
// Pattern: parallel_for over rows (one row per chunk). Cost: very uneven
// rows (the set's interior costs the maximum), so static splits lose.
// Verified: every pixel against a plain serial recomputation.
// Sizes: default n = 1200; quick 400; selfcheck 64.
#include <cstdint>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "core/workload.hpp"

namespace parbench {
namespace {

constexpr int kMaxIterations = 256;

std::uint16_t escape_time(std::size_t row, std::size_t column, std::size_t n) {
  const double cr = -2.0 + 2.5 * static_cast<double>(column) / static_cast<double>(n);
  const double ci = -1.25 + 2.5 * static_cast<double>(row) / static_cast<double>(n);
  double zr = 0, zi = 0;
  int i = 0;
  for (; i < kMaxIterations && zr * zr + zi * zi <= 4.0; ++i) {
    const double next_r = zr * zr - zi * zi + cr;
    zi = 2.0 * zr * zi + ci;
    zr = next_r;
  }
  return static_cast<std::uint16_t>(i);
}

class Mandelbrot final : public Instance {
 public:
  Mandelbrot(Executor& executor, std::size_t n) : n_(n), counts_(executor, n * n) {}

  void run(Executor& executor) override {
    const std::size_t n = n_;
    std::uint16_t* counts = counts_.data();
    executor.parallel_for(n, 1, [=](std::size_t lo, std::size_t hi) {
      for (std::size_t row = lo; row < hi; ++row)
        for (std::size_t column = 0; column < n; ++column)
          counts[row * n + column] = escape_time(row, column, n);
    });
  }
  Verdict verify() const override {
    for (std::size_t row = 0; row < n_; ++row)
      for (std::size_t column = 0; column < n_; ++column) {
        const std::uint16_t expected = escape_time(row, column, n_);
        if (counts_[row * n_ + column] != expected)
          return Verdict::fail("pixel (", row, ", ", column, ") has ", counts_[row * n_ + column],
                               " iterations, expected ", expected);
      }
    return Verdict::pass();
  }
  void corrupt() override { counts_[(n_ / 2) * n_ + n_ / 3] ^= 1; }
  WorkPerRun work() const override { return {static_cast<double>(n_ * n_), 0}; }
  // The total of all escape counts (exact in a double: below 256 n^2), compared
  // with the Python track's (scripts/pytrack/workloads/mandelbrot.py).
  std::vector<std::pair<std::string, double>> counters() const override {
    return {{"answer", static_cast<double>(
                           std::accumulate(counts_.begin(), counts_.end(), std::uint64_t{0}))}};
  }

 private:
  std::size_t n_;
  Array<std::uint16_t> counts_;
};

const bool registered = register_workload({
    .name = "mandelbrot",
    .category = Category::cpu,
    .summary = "escape-time counts on an n x n grid (very uneven rows)",
    .size_meaning = "grid side n (n*n pixels)",
    .default_sizes = {1200},
    .quick_sizes = {400},
    .small_size = 64,
    .min_size = 1,
    .max_size = 40'000,
    .uses_fork_join = false,
    .work_exponent = 2,
    .prepare = [](Executor& executor, std::size_t n) -> std::unique_ptr<Instance> {
      return std::make_unique<Mandelbrot>(executor, n);
    },
});

}  // namespace
}  // namespace parbench
