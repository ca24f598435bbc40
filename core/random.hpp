// Counter-based pseudo-random numbers: value i of a stream is a pure function
// of (seed, i), so inputs are identical however the work is split.
#pragma once

#include <cstdint>

namespace parbench {

/// SplitMix64 finaliser: a bijective 64-bit mixer.
constexpr std::uint64_t mix64(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

/// The i-th 64-bit value of stream `seed`.
constexpr std::uint64_t random_u64(std::uint64_t seed, std::uint64_t i) noexcept {
  return mix64(mix64(seed) ^ (i * 0xd1b54a32d192ed03ULL));
}

/// The i-th value of stream `seed` as a double in [0, 1), 53 random bits.
constexpr double random_unit(std::uint64_t seed, std::uint64_t i) noexcept {
  return static_cast<double>(random_u64(seed, i) >> 11) * 0x1.0p-53;
}

/// Order-independent hash of a multiset of 64-bit keys: equal for any
/// permutation, different (with high probability) for any other multiset.
struct MultisetHash {
  std::uint64_t sum = 0, sum_sq = 0, count = 0;
  void add(std::uint64_t key) noexcept {
    const std::uint64_t h = mix64(key);
    sum += h;
    sum_sq += h * h;
    ++count;
  }
  friend bool operator==(const MultisetHash&, const MultisetHash&) = default;
};

}  // namespace parbench
