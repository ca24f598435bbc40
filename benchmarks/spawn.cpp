// spawn/: the cost to start one unit of work and see it finish.
// - spawn/coroutine: create a C++20 coroutine (frame allocation), resume it
//   to completion and destroy it. Counter ns_per_spawn.
// Each unit returns a value derived from its index; their sum is checked
// after the timed loop, so a unit that did not run fails the benchmark.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "benchmarks/harness.hpp"
#include "core/coro.hpp"

namespace parbench {
namespace {

coro::Task<std::uint64_t> plus_one(std::uint64_t x) { co_return x + 1; }

void spawn_coroutine(benchmark::State& state) {
  std::uint64_t sum = 0, i = 0;
  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    coro::Task<std::uint64_t> task = plus_one(i++);  // create (the frame is allocated)
    task.handle().resume();                          // run to completion
    sum += task.result();
    benchmark::DoNotOptimize(sum);
  }  // destroy
  const std::chrono::duration<double, std::nano> elapsed = std::chrono::steady_clock::now() - start;
  if (sum != i * (i + 1) / 2) {
    state.SkipWithError("spawn/coroutine: a coroutine did not return its value");
    return;
  }
  state.counters["ns_per_spawn"] = elapsed.count() / static_cast<double>(state.iterations());
  state.counters["verified"] = 1;
}

void add_spawn_benchmarks(const Selection&) {
  benchmark::RegisterBenchmark("spawn/coroutine", spawn_coroutine)->Unit(benchmark::kNanosecond);
}

const bool registered = register_family("spawn", &add_spawn_benchmarks);

}  // namespace
}  // namespace parbench
