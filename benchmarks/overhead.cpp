// overhead/: the fixed cost of a model's primitives, with no work inside.
// - overhead/tasks/<model>/p:<P>: spawn_tasks of 10,000 tasks that each only
//   bump their own counter, and wait (task-pool models). Counter ns_per_task.
// - overhead/parallel_for/<model>/p:<P>: a parallel_for of p one-index chunks
//   that each bump a counter: the dispatch cost of a region. Counter
//   ns_per_region.
// - overhead/idle/<model>/p:<P>: what an idle model costs. Each iteration runs
//   a burst (spawn_tasks of 10,000 tasks, or a parallel_for of p chunks on
//   models without a spawn per task), then the caller sleeps 100 ms; counter
//   idle_cpu_share = CPU time of the process and its worker processes during
//   that sleep / 100 ms (1.0 = one core busy). A pool whose idle workers spin
//   forever shows p - 1; one that parks shows ~0.
// After the timed loop every counter must equal the iteration count: a task
// or chunk that did not run exactly once per iteration fails the benchmark.
// SPMD models (mpi), whose other workers are other programs, run the regions
// on every rank through Executor::run_everywhere, kSpmdBatch per call: the
// call's own broadcast and reply are spread over the batch. Their idle cost
// is not measured here: idle ranks are other processes (not children) that
// sleep between commands (mpi/team.hpp).
// The headline counters are medians over batches (see time_dispatch).
#include <benchmark/benchmark.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "benchmarks/harness.hpp"

namespace parbench {
namespace {

constexpr std::size_t kTasks = 10'000;

/// True when every counts[i] equals the iteration count; otherwise fails the
/// benchmark, naming the first index that did not run exactly once per iteration.
bool each_ran_once_per_iteration(benchmark::State& state, const Array<std::uint64_t>& counts) {
  for (std::size_t i = 0; i < counts.size(); ++i)
    if (counts[i] != static_cast<std::uint64_t>(state.iterations())) {
      state.SkipWithError(("index " + std::to_string(i) + " ran " + std::to_string(counts[i]) +
                           " times in " + std::to_string(state.iterations()) + " iterations")
                              .c_str());
      return false;
    }
  return true;
}

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
  if (!each_ran_once_per_iteration(state, counts)) return;
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
    const auto executor = model.make(p);
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

constexpr std::size_t kSpmdBatch = 256;

// kSpmdBatch regions of p one-line chunks, run by every rank; each counter
// must then read kSpmdBatch on every rank (the exchange made them agree).
void spmd_regions(Executor& executor) {
  const std::size_t p = executor.workers();
  Array<std::uint64_t> counts(executor, p * 8);
  std::uint64_t* data = counts.data();
  for (std::size_t r = 0; r < kSpmdBatch; ++r)
    executor.parallel_for(p * 8, 8, [data](std::size_t lo, std::size_t hi) {
      for (std::size_t i = lo; i < hi; ++i) ++data[i];
    });
  for (std::size_t i = 0; i < counts.size(); ++i)
    if (counts[i] != kSpmdBatch)
      throw std::runtime_error("index " + std::to_string(i) + " ran " + std::to_string(counts[i]) +
                               " times in " + std::to_string(kSpmdBatch) + " regions");
}

void spmd_parallel_for_overhead(benchmark::State& state, Executor& executor) {
  using Clock = std::chrono::steady_clock;
  std::vector<double> per_region;
  for (auto _ : state) {
    const auto start = Clock::now();
    executor.run_everywhere(&spmd_regions);
    per_region.push_back(std::chrono::duration<double, std::nano>(Clock::now() - start).count() /
                         kSpmdBatch);
  }
  std::nth_element(per_region.begin(), per_region.begin() + per_region.size() / 2,
                   per_region.end());
  state.counters["ns_per_region"] = per_region[per_region.size() / 2];
  state.counters["regions_per_call"] = kSpmdBatch;
  state.counters["verified"] = 1;
}

void parallel_for_overhead(benchmark::State& state, const ModelInfo& model) {
  const auto p = static_cast<std::size_t>(state.range(0));
  try {
    const auto executor = model.make(p);
    if (model.worker_main) {
      spmd_parallel_for_overhead(state, *executor);
      state.counters["p"] = static_cast<double>(p);
      return;
    }
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

double own_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1e-6;
}

/// CPU seconds used so far by the live child processes of this one (process
/// models' workers; getrusage counts children only once reaped), from
/// /proc/<pid>/task/*/schedstat (ns).
double children_cpu_seconds() {
  double seconds = 0;
  const std::string self = std::to_string(::getpid());
  std::error_code ignored;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ignored)) {
    const std::string pid = entry.path().filename();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    if (!std::getline(stat, line) || line.rfind(')') == std::string::npos) continue;
    std::istringstream fields(line.substr(line.rfind(')') + 2));
    std::string state, parent;
    fields >> state >> parent;
    if (parent != self) continue;
    for (const auto& task : std::filesystem::directory_iterator(entry.path() / "task", ignored)) {
      std::ifstream schedstat(task.path() / "schedstat");
      double on_cpu_ns = 0;
      if (schedstat >> on_cpu_ns) seconds += on_cpu_ns * 1e-9;
    }
  }
  return seconds;
}

void idle_overhead(benchmark::State& state, const ModelInfo& model) {
  constexpr auto kIdle = std::chrono::milliseconds(100);
  const auto p = static_cast<std::size_t>(state.range(0));
  try {
    const auto executor = model.make(p);
    const bool spawns = !model.task_spawn.empty();
    Array<std::uint64_t> counts(*executor, spawns ? kTasks : p * 8);
    std::uint64_t* data = counts.data();
    std::vector<double> shares;
    for (auto _ : state) {
      if (spawns)
        executor->spawn_tasks(kTasks, [data](std::size_t i) { ++data[i]; });
      else
        executor->parallel_for(p * 8, 8, [data](std::size_t lo, std::size_t hi) {
          for (std::size_t i = lo; i < hi; ++i) ++data[i];
        });
      // The /proc scan costs this process CPU time: it runs before the first
      // reading of our own time and after the second, outside the interval.
      const double children_before = children_cpu_seconds();
      const double own_before = own_cpu_seconds();
      const auto start = std::chrono::steady_clock::now();
      std::this_thread::sleep_for(kIdle);
      const std::chrono::duration<double> slept = std::chrono::steady_clock::now() - start;
      const double own = own_cpu_seconds() - own_before;
      const double children = children_cpu_seconds() - children_before;
      shares.push_back((own + children) / slept.count());
    }
    if (!each_ran_once_per_iteration(state, counts)) return;
    std::nth_element(shares.begin(), shares.begin() + shares.size() / 2, shares.end());
    state.counters["idle_cpu_share"] = shares[shares.size() / 2];
    state.counters["p"] = static_cast<double>(p);
    state.counters["verified"] = 1;
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
    // Idleness matters where workers could spin: 2 <= p <= hardware threads
    // (an oversubscribed pool yields, and p = 1 has no worker to idle).
    std::vector<std::int64_t> idle_ps;
    for (const std::size_t p : selection.workers_for(*model))
      if (p >= 2 && p <= std::max(1u, std::thread::hardware_concurrency()))
        idle_ps.push_back(static_cast<std::int64_t>(p));
    if (!model->parallel || idle_ps.empty() || model->worker_main) continue;
    auto* idle = add_primitive(selection, "overhead/idle/" + model->name + wait,
                               [model](benchmark::State& state) { idle_overhead(state, *model); });
    if (idle == nullptr) continue;
    // Each iteration sleeps 100 ms: three are enough for a median, whatever the min time.
    idle->ArgNames({"p"})->UseRealTime()->Iterations(3)->Unit(benchmark::kMillisecond);
    for (const std::int64_t p : idle_ps) idle->Arg(p);
  }
}

const bool registered = register_family("overhead", &add_overhead_benchmarks,
                                        "fixed cost of a model's primitives with no work inside: "
                                        "tasks, parallel_for regions, idle CPU");

}  // namespace
}  // namespace parbench
