// fib: the n-th Fibonacci number by naive double recursion.
// Pattern: recursive fork_join down to fib(kCutoff), plain recursion below:
// many fine-grained tasks of a few microseconds, a test of task overhead.
// Cost: about 1.6^n calls.
// Verified: against the iterative value.
// Sizes: default n = 41; quick 36; selfcheck 22.
#include <cstdint>

#include "core/workload.hpp"

namespace parbench {
namespace {

constexpr std::size_t kCutoff = 18;

std::uint64_t fib_serial(std::size_t n) {
  return n < 2 ? n : fib_serial(n - 1) + fib_serial(n - 2);
}

std::uint64_t fib_parallel(Executor& executor, std::size_t n) {
  if (n <= kCutoff) return fib_serial(n);
  std::uint64_t x = 0, y = 0;
  executor.fork_join([&] { x = fib_parallel(executor, n - 1); },
                     [&] { y = fib_parallel(executor, n - 2); });
  return x + y;
}

std::uint64_t fib_iterative(std::size_t n) {
  std::uint64_t a = 0, b = 1;
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t next = a + b;
    a = b;
    b = next;
  }
  return a;
}

class Fib final : public Instance {
 public:
  explicit Fib(std::size_t n) : n_(n) {}
  void run(Executor& executor) override { result_ = fib_parallel(executor, n_); }
  Verdict verify() const override {
    if (result_ != fib_iterative(n_))
      return Verdict::fail("fib(", n_, ") = ", result_, ", expected ", fib_iterative(n_));
    return Verdict::pass();
  }
  void corrupt() override { ++result_; }
  WorkPerRun work() const override {
    // Calls made: 2 fib(n + 1) - 1.
    return {2.0 * static_cast<double>(fib_iterative(n_ + 1)) - 1, 0};
  }

 private:
  std::size_t n_;
  std::uint64_t result_ = 0;
};

const bool registered = register_workload({
    .name = "fib",
    .category = Category::cpu,
    .summary = "naive recursive Fibonacci with fork_join above a cut-off (fine tasks)",
    .size_meaning = "index n of fib(n)",
    .default_sizes = {41},
    .quick_sizes = {36},
    .small_size = 22,
    .min_size = 0,
    .max_size = 50,
    .uses_fork_join = true,
    .work_exponent = 0,
    .prepare = [](Executor&, std::size_t n) -> std::unique_ptr<Instance> {
      return std::make_unique<Fib>(n);
    },
});

}  // namespace
}  // namespace parbench
