// matmul: C = A * B for dense n x n matrices of doubles.
// Pattern: parallel_for over blocks of 16 rows of C; inside, loops blocked
// over k and j so that a tile of B stays in cache. Cost: even, 2n^3 flops.
// Verified: Freivalds' check with two random vectors r: C r must equal
// A (B r) within a rounding tolerance, in O(n^2), independent of the kernel.
// Sizes: default n = 896; quick 384; selfcheck 48.
#include <algorithm>
#include <cmath>

#include "core/random.hpp"
#include "core/workload.hpp"

namespace parbench {
namespace {

constexpr std::size_t kRowBlock = 16, kDepthBlock = 128, kColumnBlock = 256;

class Matmul final : public Instance {
 public:
  Matmul(Executor& executor, std::size_t n)
      : n_(n), a_(executor, n * n), b_(executor, n * n), c_(executor, n * n) {
    for (std::size_t i = 0; i < n * n; ++i) {
      a_[i] = 2 * random_unit(11, i) - 1;
      b_[i] = 2 * random_unit(12, i) - 1;
    }
  }

  void run(Executor& executor) override {
    const std::size_t n = n_;
    const double* a = a_.data();
    const double* b = b_.data();
    double* c = c_.data();
    executor.parallel_for(n, kRowBlock, [=](std::size_t row_lo, std::size_t row_hi) {
      std::fill(c + row_lo * n, c + row_hi * n, 0.0);
      for (std::size_t kk = 0; kk < n; kk += kDepthBlock) {
        const std::size_t k_hi = std::min(n, kk + kDepthBlock);
        for (std::size_t jj = 0; jj < n; jj += kColumnBlock) {
          const std::size_t j_hi = std::min(n, jj + kColumnBlock);
          for (std::size_t i = row_lo; i < row_hi; ++i) {
            double* c_row = c + i * n;
            for (std::size_t k = kk; k < k_hi; ++k) {
              const double a_ik = a[i * n + k];
              const double* b_row = b + k * n;
              for (std::size_t j = jj; j < j_hi; ++j) c_row[j] += a_ik * b_row[j];
            }
          }
        }
      }
    });
  }

  Verdict verify() const override {
    std::vector<double> r(n_), br(n_), abr(n_), cr(n_);
    for (std::uint64_t trial = 0; trial < 2; ++trial) {
      for (std::size_t j = 0; j < n_; ++j) r[j] = 2 * random_unit(100 + trial, j) - 1;
      multiply(b_, r, br);
      multiply(a_, br, abr);
      multiply(c_, r, cr);
      // Each entry sums n products of magnitude <= 1: rounding error grows
      // like n * eps; 1e-9 * n leaves a wide margin and still catches any
      // wrong element (an error of e in C shows as about e * |r_j|).
      const double tolerance = 1e-9 * static_cast<double>(n_);
      for (std::size_t i = 0; i < n_; ++i)
        if (!(std::abs(cr[i] - abr[i]) <= tolerance))
          return Verdict::fail("Freivalds check fails in row ", i, ": (C r) = ", cr[i],
                               ", A (B r) = ", abr[i]);
    }
    return Verdict::pass();
  }
  void corrupt() override { c_[n_ * n_ / 2] += 0.5; }
  WorkPerRun work() const override { return {2.0 * n_ * n_ * n_, 0}; }

 private:
  void multiply(const Array<double>& m, const std::vector<double>& x,
                std::vector<double>& y) const {
    for (std::size_t i = 0; i < n_; ++i) {
      double sum = 0;
      for (std::size_t j = 0; j < n_; ++j) sum += m[i * n_ + j] * x[j];
      y[i] = sum;
    }
  }

  std::size_t n_;
  Array<double> a_, b_, c_;
};

const bool registered = register_workload({
    .name = "matmul",
    .category = Category::cpu,
    .summary = "blocked dense n x n double matrix product (items = flops)",
    .size_meaning = "matrix side n",
    .default_sizes = {896},
    .quick_sizes = {384},
    .small_size = 48,
    .min_size = 1,
    .max_size = 16'384,
    .uses_fork_join = false,
    .work_exponent = 3,
    .prepare = [](Executor& executor, std::size_t n) -> std::unique_ptr<Instance> {
      return std::make_unique<Matmul>(executor, n);
    },
});

}  // namespace
}  // namespace parbench
