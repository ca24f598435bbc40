#include "core/spin.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace parbench {
namespace {
constexpr std::uint64_t kMultiplier = 6364136223846793005ULL;  // Knuth's MMIX LCG
constexpr std::uint64_t kIncrement = 1442695040888963407ULL;
}  // namespace

std::uint64_t spin(std::uint64_t iterations, std::uint64_t seed) noexcept {
  // Calls back to back are independent chains: an out-of-order core would run
  // the start of the next call while the previous one finishes, and 100 ns of
  // nominal spin measured 79 ns per call on this suite's reference machine.
  // A serialising instruction first keeps one call's cost its own, so a task
  // of n ns takes n ns whatever surrounds it (spin_closed_form is unchanged).
#if defined(__x86_64__) || defined(__i386__)
  asm volatile("lfence" ::: "memory");
#elif defined(__aarch64__)
  asm volatile("isb" ::: "memory");
#endif
  std::uint64_t x = seed;
  for (std::uint64_t i = 0; i < iterations; ++i) {
    x = x * kMultiplier + kIncrement;
    // Keep the loop opaque so the compiler cannot vectorise or fold it.
    asm volatile("" : "+r"(x));
  }
  return x;
}

std::uint64_t spin_closed_form(std::uint64_t iterations, std::uint64_t seed) noexcept {
  // x -> a*x + c composed with itself: (a, c) o (a, c) = (a*a, a*c + c).
  std::uint64_t result_a = 1, result_c = 0;
  std::uint64_t step_a = kMultiplier, step_c = kIncrement;
  for (std::uint64_t k = iterations; k != 0; k >>= 1) {
    if (k & 1) {
      result_a = result_a * step_a;
      result_c = result_c * step_a + step_c;
    }
    step_c = step_c * step_a + step_c;
    step_a = step_a * step_a;
  }
  return result_a * seed + result_c;
}

double calibrate_spin() {
  // The median of 9 trials of ~2.5 ms, not the best: on a shared VM the best
  // trial catches the machine at its fastest, and every task then ran ~7%
  // longer than its nominal length for the rest of a sweep.
  using Clock = std::chrono::steady_clock;
  constexpr std::uint64_t kTrialIterations = 2'000'000;
  std::array<double, 9> trials{};
  volatile std::uint64_t sink = 0;
  for (std::size_t trial = 0; trial < trials.size(); ++trial) {
    const auto start = Clock::now();
    sink = sink + spin(kTrialIterations, trial);
    const std::chrono::duration<double, std::nano> elapsed = Clock::now() - start;
    trials[trial] = elapsed.count();
  }
  std::nth_element(trials.begin(), trials.begin() + trials.size() / 2, trials.end());
  return kTrialIterations / (trials[trials.size() / 2] / 1000.0);
}

double spin_iterations_per_us() {
  static const double value = [] {
    if (const char* text = std::getenv("PARBENCH_SPIN_ITERS_PER_US"); text && *text) {
      char* end = nullptr;
      const double parsed = std::strtod(text, &end);
      if (*end != '\0' || !(parsed > 0 && parsed < 1e6))
        throw std::invalid_argument("PARBENCH_SPIN_ITERS_PER_US is not a positive number: " +
                                    std::string(text));
      return parsed;
    }
    return calibrate_spin();
  }();
  return value;
}

}  // namespace parbench
