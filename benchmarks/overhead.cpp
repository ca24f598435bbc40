// overhead/: the fixed cost of a model's primitives, with no work inside.
// - overhead/tasks/<model>/p:<P>: spawn_tasks of 10,000 tasks that each only
//   bump their own counter, and wait (task-pool models). Counter ns_per_task.
// - overhead/parallel_for/<model>/p:<P>: a parallel_for of p one-index chunks
//   that each bump a counter: the dispatch cost of a region. Counter
//   ns_per_region.
// After the timed loop every counter must equal the iteration count: a task
// or chunk that did not run exactly once per iteration fails the benchmark.
// The headline counters are medians over batches (see time_dispatch).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <exception>
#include <string>
#include <vector>

#include "benchmarks/harness.hpp"

namespace parbench {
namespace {

constexpr std::size_t kTasks = 10'000;

// Runs `dispatch` in the timed loop; each call must bump every counts[i] once.
// The counter is the median over batches of `batch` calls of the time per
// unit (EPCC's way: a mean over inner repetitions, a median over outer ones),
// so that a vCPU the hypervisor deschedules for milliseconds moves one batch,
// not the figure; the counter `mean_ns` keeps the plain mean beside it.
template <class Dispatch>
void time_dispatch(benchmark::State& state, Array<std::uint64_t>& counts, const char* counter,
                   double units_per_iteration, std::size_t batch, Dispatch dispatch) {
  using Clock = std::chrono::steady_clock;
  std::vector<double> batches;
  const auto start = Clock::now();
  auto batch_start = start;
  std::size_t in_batch = 0;
  for (auto _ : state) {
    dispatch();
    if (++in_batch == batch) {
      const auto now = Clock::now();
      batches.push_back(std::chrono::duration<double, std::nano>(now - batch_start).count());
      batch_start = now;
      in_batch = 0;
    }
  }
  const std::chrono::duration<double, std::nano> elapsed = Clock::now() - start;
  for (std::size_t i = 0; i < counts.size(); ++i)
    if (counts[i] != static_cast<std::uint64_t>(state.iterations())) {
      state.SkipWithError(("index " + std::to_string(i) + " ran " + std::to_string(counts[i]) +
                           " times in " + std::to_string(state.iterations()) + " iterations")
                              .c_str());
      return;
    }
  const double per_batch = static_cast<double>(batch) * units_per_iteration;
  const double mean =
      elapsed.count() / (static_cast<double>(state.iterations()) * units_per_iteration);
  double median = mean;  // too few iterations for a whole batch: the mean is all there is
  if (!batches.empty()) {
    std::nth_element(batches.begin(), batches.begin() + batches.size() / 2, batches.end());
    median = batches[batches.size() / 2] / per_batch;
  }
  state.counters[counter] = median;
  state.counters["mean_ns"] = mean;
  state.counters["batches"] = static_cast<double>(batches.size());
  state.counters["verified"] = 1;
}

void tasks_overhead(benchmark::State& state, const ModelInfo& model) {
  const auto p = static_cast<std::size_t>(state.range(0));
  try {
    const auto executor = model.create(p);
    Array<std::uint64_t> counts(*executor, kTasks);
    std::uint64_t* data = counts.data();
    time_dispatch(state, counts, "ns_per_task", kTasks, /*batch=*/1,
                  [&] { executor->spawn_tasks(kTasks, [data](std::size_t i) { ++data[i]; }); });
    state.counters["p"] = static_cast<double>(p);
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kTasks));
  } catch (const std::exception& error) {
    state.SkipWithError(("exception: " + std::string(error.what())).c_str());
  }
}

void parallel_for_overhead(benchmark::State& state, const ModelInfo& model) {
  const auto p = static_cast<std::size_t>(state.range(0));
  try {
    const auto executor = model.create(p);
    Array<std::uint64_t> counts(*executor, p * 8);  // a cache line per chunk
    std::uint64_t* data = counts.data();
    time_dispatch(state, counts, "ns_per_region", 1, /*batch=*/64, [&] {
      executor->parallel_for(p * 8, 8, [data](std::size_t lo, std::size_t hi) {
        for (std::size_t i = lo; i < hi; ++i) ++data[i];
      });
    });
    state.counters["p"] = static_cast<double>(p);
  } catch (const std::exception& error) {
    state.SkipWithError(("exception: " + std::string(error.what())).c_str());
  }
}

void add_overhead_benchmarks(const Selection& selection) {
  for (const ModelInfo* model : selection.models) {
    if (!model->task_spawn.empty()) {
      if (auto* tasks =
              add_primitive(selection, "overhead/tasks/" + model->name,
                            [model](benchmark::State& state) { tasks_overhead(state, *model); })) {
        tasks->ArgNames({"p"})->UseRealTime()->MeasureProcessCPUTime()->Unit(
            benchmark::kMicrosecond);
        for (const std::size_t p : selection.workers_for(*model))
          tasks->Arg(static_cast<std::int64_t>(p));
      }
    }
    // OpenMP's region cost depends on its wait policy (idle threads spin or
    // sleep): the name says which one this process runs with.
    const std::string wait = model->name == "openmp" ? "/wait:" + omp_wait_policy() : "";
    auto* region =
        add_primitive(selection, "overhead/parallel_for/" + model->name + wait,
                      [model](benchmark::State& state) { parallel_for_overhead(state, *model); });
    if (region == nullptr) continue;
    region->ArgNames({"p"})->UseRealTime()->MeasureProcessCPUTime()->Unit(benchmark::kMicrosecond);
    for (const std::size_t p : selection.workers_for(*model))
      region->Arg(static_cast<std::int64_t>(p));
  }
}

const bool registered = register_family("overhead", &add_overhead_benchmarks);

}  // namespace
}  // namespace parbench
