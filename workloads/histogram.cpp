// histogram: count n 32-bit values into 256 bins.
// Pattern: parallel_for; each chunk fills its own private bins (no sharing,
// no atomics), merged serially in chunk order at the end.
// Cost: one load and one increment per value: memory- and store-bound.
// Verified: bins sum to n and equal a plain serial recount.
// Sizes: default n = 96 Mi values (384 MiB); quick 12 Mi; selfcheck 100,000.
#include <algorithm>
#include <array>
#include <cstdint>

#include "core/random.hpp"
#include "core/workload.hpp"

namespace parbench {
namespace {

constexpr std::size_t kBins = 256;
constexpr std::size_t kGrain = 1 << 18;

std::size_t bin_of(std::uint32_t value) {
  return value >> 24;
}

class Histogram final : public Instance {
 public:
  Histogram(Executor& executor, std::size_t n)
      : n_(n),
        values_(executor, n),
        private_bins_(executor, chunk_count(n, kGrain) * kBins),
        bins_(executor, kBins) {
    // Written by the workers, chunk by chunk as the kernel reads it: on a NUMA machine each
    // page starts on the node of a worker that reads it (first touch).
    std::uint32_t* values = values_.data();
    executor.parallel_for(n, kGrain, [=](std::size_t lo, std::size_t hi) {
      for (std::size_t i = lo; i < hi; ++i) {
        // Skewed: the product of two uniforms favours low bins.
        const std::uint64_t r = random_u64(31, i);
        values[i] = static_cast<std::uint32_t>(((r >> 32) * (r & 0xffffffffULL)) >> 32);
      }
    });
  }

  void run(Executor& executor) override {
    const std::uint32_t* values = values_.data();
    std::uint64_t* private_bins = private_bins_.data();
    executor.parallel_for(n_, kGrain, [=](std::size_t lo, std::size_t hi) {
      std::uint64_t* bins = private_bins + (lo / kGrain) * kBins;
      std::fill(bins, bins + kBins, 0);
      for (std::size_t i = lo; i < hi; ++i) ++bins[bin_of(values[i])];
    });
    std::fill(bins_.begin(), bins_.end(), 0);
    for (std::size_t c = 0, chunks = chunk_count(n_, kGrain); c < chunks; ++c)
      for (std::size_t b = 0; b < kBins; ++b) bins_[b] += private_bins[c * kBins + b];
  }
  Verdict verify() const override {
    std::array<std::uint64_t, kBins> expected{};
    for (std::size_t i = 0; i < n_; ++i) ++expected[bin_of(values_[i])];
    std::uint64_t total = 0;
    for (std::size_t b = 0; b < kBins; ++b) {
      total += bins_[b];
      if (bins_[b] != expected[b])
        return Verdict::fail("bin ", b, " holds ", bins_[b], ", a recount gives ", expected[b]);
    }
    if (total != n_) return Verdict::fail("bins hold ", total, " values, expected ", n_);
    return Verdict::pass();
  }
  void corrupt() override { ++bins_[7]; }
  WorkPerRun work() const override {
    return {static_cast<double>(n_), 4.0 * static_cast<double>(n_),
            4.0 * static_cast<double>(n_) +
                8.0 * static_cast<double>(private_bins_.size() + bins_.size())};
  }

 private:
  std::size_t n_;
  Array<std::uint32_t> values_;
  Array<std::uint64_t> private_bins_, bins_;
};

const bool registered = register_workload({
    .name = "histogram",
    .category = Category::memory,
    .summary = "256-bin histogram of n values with private per-chunk bins",
    .size_meaning = "number of values n",
    .default_sizes = {96 << 20},
    .quick_sizes = {12 << 20},
    .small_size = 100'000,
    .min_size = 0,
    .max_size = 1ULL << 32,
    .uses_fork_join = false,
    .prepare = [](Executor& executor, std::size_t n) -> std::unique_ptr<Instance> {
      return std::make_unique<Histogram>(executor, n);
    },
});

}  // namespace
}  // namespace parbench
