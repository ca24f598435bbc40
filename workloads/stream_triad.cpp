// stream_triad: a = b + s * c over n doubles, repeated kPasses times per run
// (STREAM's triad; bytes counted as 24 per element per pass, STREAM's
// convention, without write-allocate traffic).
// Pattern: parallel_for, chunks of 64 Ki elements. Cost: memory bandwidth.
// Verified: every element exactly (b and c hold small integers, so b + s*c
// is exact in double).
// Sizes: default n = 16 Mi elements (384 MiB in all); quick 4 Mi; selfcheck 100,000.
#include "core/workload.hpp"

namespace parbench {
namespace {

constexpr std::size_t kGrain = 1 << 16;
constexpr int kPasses = 5;
constexpr double kScalar = 3.0;

double b_value(std::size_t i) {
  return static_cast<double>(i % 1021);
}
double c_value(std::size_t i) {
  return static_cast<double>(i % 97);
}

class StreamTriad final : public Instance {
 public:
  StreamTriad(Executor& executor, std::size_t n)
      : n_(n), a_(executor, n), b_(executor, n), c_(executor, n) {
    // Written by the workers, chunk by chunk as the kernel reads them: on a NUMA machine each
    // page starts on the node of a worker that uses it (first touch), as STREAM's own does.
    double* a = a_.data();
    double* b = b_.data();
    double* c = c_.data();
    executor.parallel_for(n, kGrain, [=](std::size_t lo, std::size_t hi) {
      for (std::size_t i = lo; i < hi; ++i) {
        a[i] = 0;
        b[i] = b_value(i);
        c[i] = c_value(i);
      }
    });
  }

  void run(Executor& executor) override {
    double* a = a_.data();
    const double* b = b_.data();
    const double* c = c_.data();
    for (int pass = 0; pass < kPasses; ++pass)
      executor.parallel_for(n_, kGrain, [=](std::size_t lo, std::size_t hi) {
        for (std::size_t i = lo; i < hi; ++i) a[i] = b[i] + kScalar * c[i];
      });
  }
  Verdict verify() const override {
    for (std::size_t i = 0; i < n_; ++i)
      if (a_[i] != b_value(i) + kScalar * c_value(i))
        return Verdict::fail("a[", i, "] = ", a_[i], ", expected ",
                             b_value(i) + kScalar * c_value(i));
    return Verdict::pass();
  }
  void corrupt() override { a_[n_ - 1] += 1; }
  WorkPerRun work() const override {
    return {static_cast<double>(n_) * kPasses, 24.0 * static_cast<double>(n_) * kPasses,
            24.0 * static_cast<double>(n_)};
  }

 private:
  std::size_t n_;
  Array<double> a_, b_, c_;
};

const bool registered = register_workload({
    .name = "stream_triad",
    .category = Category::memory,
    .summary = "STREAM triad a = b + s*c, 5 passes per run (bytes/s reported)",
    .size_meaning = "elements per array n",
    .default_sizes = {1 << 24},
    .quick_sizes = {1 << 22},
    .small_size = 100'000,
    .min_size = 1,
    .max_size = 1ULL << 31,
    .uses_fork_join = false,
    .prepare = [](Executor& executor, std::size_t n) -> std::unique_ptr<Instance> {
      return std::make_unique<StreamTriad>(executor, n);
    },
});

}  // namespace
}  // namespace parbench
