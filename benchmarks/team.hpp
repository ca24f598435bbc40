// What the primitive benchmark families share: the persistent ThreadTeam
// (primitives/thread_team.hpp), timing per unit, the check that a benchmark did
// the work it claims, and the thread counts they run at.
#pragma once

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "primitives/thread_team.hpp"

namespace parbench {

/// Times `iteration` in Google Benchmark's loop and reports the wall time per
/// unit (units_per_iteration units per call) as the counter `name`, in ns.
template <class Iteration>
void time_units(benchmark::State& state, const char* name, double units_per_iteration,
                Iteration iteration) {
  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) iteration();
  const std::chrono::duration<double, std::nano> elapsed = std::chrono::steady_clock::now() - start;
  state.counters[name] =
      elapsed.count() / (static_cast<double>(state.iterations()) * units_per_iteration);
}

/// Fails the benchmark unless `done` equals `expected` (per iteration times
/// the iterations run, unless per_iteration is false); else marks it verified.
inline void expect_count(benchmark::State& state, std::uint64_t done, std::uint64_t expected,
                         bool per_iteration = true) {
  if (per_iteration) expected *= static_cast<std::uint64_t>(state.iterations());
  if (done != expected) {
    state.SkipWithError(("did " + std::to_string(done) + " of the " + std::to_string(expected) +
                         " operations it claims")
                            .c_str());
    return;
  }
  state.counters["verified"] = 1;
}

/// Thread counts for the primitive families: 1, 2, 4, ... up to twice the
/// hardware threads (contended and oversubscribed), and the core count.
std::vector<std::size_t> primitive_thread_counts();

}  // namespace parbench
