// Calibrated spin work: a chain of dependent 64-bit LCG steps. Its cost is a
// number of iterations (not a clock), so it is honest under oversubscription,
// and its result has a closed form (LCG jump-ahead) for verification.
#pragma once

#include <cstdint>

namespace parbench {

/// Runs `iterations` LCG steps from `seed` and returns the final state. Work
/// before the call completes before its chain starts (no overlap between
/// back-to-back calls), so short calls cost what the calibration says.
std::uint64_t spin(std::uint64_t iterations, std::uint64_t seed) noexcept;

/// The same value as spin(iterations, seed), in O(log iterations).
std::uint64_t spin_closed_form(std::uint64_t iterations, std::uint64_t seed) noexcept;

/// Spin iterations per microsecond on this machine: measured once per process
/// (median of several trials), or taken from PARBENCH_SPIN_ITERS_PER_US so that
/// a sweep's separate processes all use the value it measured once.
double spin_iterations_per_us();

/// Measures spin_iterations_per_us afresh (no environment, no cache).
double calibrate_spin();

}  // namespace parbench
