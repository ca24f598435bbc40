// The calibrated spin and the counter-based generator that several workloads
// and verifiers rest on.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/random.hpp"
#include "core/spin.hpp"

namespace parbench {
namespace {

TEST(Spin, ClosedFormMatchesTheLoop) {
  for (std::uint64_t iterations : {0ULL, 1ULL, 2ULL, 3ULL, 17ULL, 1000ULL, 123'457ULL})
    for (std::uint64_t seed : {0ULL, 1ULL, 0xdeadbeefULL})
      EXPECT_EQ(spin(iterations, seed), spin_closed_form(iterations, seed))
          << iterations << " iterations from " << seed;
}

TEST(Spin, DifferentWorkGivesDifferentResults) {
  EXPECT_NE(spin_closed_form(1000, 5), spin_closed_form(1001, 5));
  EXPECT_NE(spin_closed_form(1000, 5), spin_closed_form(1000, 6));
}

TEST(Spin, CalibrationIsPlausible) {
  const double rate = calibrate_spin();
  EXPECT_GT(rate, 10.0);  // at least 10 dependent steps per microsecond
  EXPECT_LT(rate, 100'000.0);
}

TEST(Random, IsAPureFunctionOfSeedAndIndex) {
  EXPECT_EQ(random_u64(7, 1000), random_u64(7, 1000));
  EXPECT_NE(random_u64(7, 1000), random_u64(8, 1000));
  EXPECT_NE(random_u64(7, 1000), random_u64(7, 1001));
  for (std::uint64_t i = 0; i < 10'000; ++i) {
    const double u = random_unit(3, i);
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
  }
}

TEST(MultisetHash, IgnoresOrderButNotContent) {
  std::vector<std::uint64_t> keys{5, 1, 9, 9, 3};
  MultisetHash a, b, c;
  for (auto k : keys) a.add(k);
  std::sort(keys.begin(), keys.end());
  for (auto k : keys) b.add(k);
  EXPECT_EQ(a, b);
  keys[1] = 4;  // {1,3,5,9,9} -> {1,4,5,9,9}
  for (auto k : keys) c.add(k);
  EXPECT_FALSE(a == c);
  MultisetHash d;  // a duplicate swapped for another value with the same sum
  for (auto k : {5ULL, 1ULL, 8ULL, 10ULL, 3ULL}) d.add(k);
  EXPECT_FALSE(a == d);
}

}  // namespace
}  // namespace parbench
