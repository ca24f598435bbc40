// primes: count the primes <= n by trial division.
// Pattern: parallel_for over [2, n] + deterministic sum of per-chunk counts.
// Cost: uneven, O(sqrt(k)) per prime k, so later chunks cost more: a test of
// dynamic load balancing.
// Verified: against a sieve of Eratosthenes (an independent algorithm), which
// checks itself against known values (pi(10^k) up to pi(10^7) = 664579) as it
// passes them.
// Sizes: default n = 3,000,000; quick 500,000; selfcheck 20,000.
#include <cstdint>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "core/reduce.hpp"
#include "core/workload.hpp"

namespace parbench {
namespace {

constexpr std::size_t kGrain = 8192;

bool is_prime_by_trial_division(std::uint32_t k) {
  if (k < 2) return false;
  if (k % 2 == 0) return k == 2;
  for (std::uint32_t d = 3; static_cast<std::uint64_t>(d) * d <= k; d += 2)
    if (k % d == 0) return false;
  return true;
}

// Known values of pi(x), to check the sieve itself on the way.
struct KnownCount {
  std::size_t x;
  std::uint64_t primes;
};
constexpr KnownCount kKnownCounts[] = {
    {10, 4},         {100, 25},          {1000, 168},          {10'000, 1229},
    {100'000, 9592}, {1'000'000, 78498}, {10'000'000, 664579}, {100'000'000, 5761455}};

// Sieve of Eratosthenes; fails if its running count disagrees with a known
// value of pi(x) for some x <= n.
Verdict count_primes_by_sieve(std::size_t n, std::uint64_t& count) {
  count = 0;
  std::vector<bool> composite(n + 1, false);
  const KnownCount* known = std::begin(kKnownCounts);
  for (std::size_t i = 2; i <= n; ++i) {
    if (!composite[i]) {
      ++count;
      for (std::size_t j = i * i; j <= n; j += i) composite[j] = true;
    }
    if (known != std::end(kKnownCounts) && known->x == i) {
      if (known->primes != count)
        return Verdict::fail("sieve gives pi(", i, ") = ", count, ", known value ", known->primes);
      ++known;
    }
  }
  return Verdict::pass();
}

class Primes final : public Instance {
 public:
  Primes(Executor& executor, std::size_t n)
      : n_(n), partials_(executor, chunk_count(n + 1, kGrain)) {}

  void run(Executor& executor) override {
    count_ = chunked_sum(executor, n_ + 1, kGrain, partials_, [](std::size_t lo, std::size_t hi) {
      std::uint64_t count = 0;
      for (std::size_t k = lo; k < hi; ++k)
        count += is_prime_by_trial_division(static_cast<std::uint32_t>(k));
      return count;
    });
  }
  Verdict verify() const override {
    std::uint64_t expected = 0;
    if (Verdict sieve = count_primes_by_sieve(n_, expected); !sieve.ok) return sieve;
    if (count_ != expected)
      return Verdict::fail("counted ", count_, " primes <= ", n_, ", the sieve finds ", expected);
    return Verdict::pass();
  }
  void corrupt() override { ++count_; }
  WorkPerRun work() const override { return {static_cast<double>(n_), 0}; }
  // The result, compared with the Python track's (scripts/pytrack/workloads/primes.py).
  std::vector<std::pair<std::string, double>> counters() const override {
    return {{"answer", static_cast<double>(count_)}};
  }

 private:
  std::size_t n_;
  Array<std::uint64_t> partials_;
  std::uint64_t count_ = 0;
};

const bool registered = register_workload({
    .name = "primes",
    .category = Category::cpu,
    .summary = "count primes <= n by trial division (uneven cost per chunk)",
    .size_meaning = "upper bound n",
    .default_sizes = {3'000'000},
    .quick_sizes = {500'000},
    .small_size = 20'000,
    .min_size = 0,
    .max_size = 1'000'000'000,
    .uses_fork_join = false,
    .work_exponent = 1.5,
    .prepare = [](Executor& executor, std::size_t n) -> std::unique_ptr<Instance> {
      return std::make_unique<Primes>(executor, n);
    },
});

}  // namespace

}  // namespace parbench
