// The cross product: every selected workload x model x size x worker count,
// named <workload>/<model>/n:<N>/p:<P>. One Google Benchmark family per
// (workload, model), so that a sweep can run each family in its own process.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <exception>
#include <optional>
#include <string>

#include "benchmarks/harness.hpp"

namespace parbench {
namespace {

/// One benchmark's runs on an executor: prepared, timed, verified, its counters set.
void run_instance(benchmark::State& state, const WorkloadInfo& workload, Executor& executor,
                  std::size_t n, std::size_t p, std::size_t base_n, bool weak) {
  const auto instance = executor.prepare(workload, n);
  executor.cpu_trace().clear();
  for (auto _ : state) instance->run(executor);
  // Where the workers ran over the timed runs (the models that trace: not MPI's ranks).
  if (const std::size_t used = executor.cpu_trace().count(); used > 0)
    state.counters["cpus_used"] = static_cast<double>(used);
  if (const Verdict verdict = instance->verify(); !verdict.ok) {
    state.SkipWithError(("verification failed: " + verdict.message).c_str());
    return;
  }
  const WorkPerRun work = instance->work();
  const auto iterations = static_cast<double>(state.iterations());
  state.counters["items_per_second"] =
      benchmark::Counter(work.items * iterations, benchmark::Counter::kIsRate);
  if (work.bytes > 0)
    state.counters["bytes_per_second"] =
        benchmark::Counter(work.bytes * iterations, benchmark::Counter::kIsRate);
  if (work.working_set > 0) state.counters["working_set_bytes"] = work.working_set;
  state.counters["p"] = static_cast<double>(p);
  state.counters["n"] = static_cast<double>(n);
  state.counters["verified"] = 1;
  if (weak) state.counters["weak_base_n"] = static_cast<double>(base_n);
  if (!workload.concurrency_levels.empty())
    state.counters["requests_per_slot"] = static_cast<double>(base_n);
  for (const auto& [name, value] : instance->counters()) state.counters[name] = value;
}

void run_workload(benchmark::State& state, const WorkloadInfo& workload, const ModelInfo& model,
                  std::size_t base_n, bool weak, Affinity affinity) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto p = static_cast<std::size_t>(state.range(1));
  try {
    const Placement placement = Placement::of(affinity);
    {
      const auto executor = model.make(p, placement);
      run_instance(state, workload, *executor, n, p, base_n, weak);
    }
    // Bound here and traced here: an SPMD model's ranks are the launcher's to bind.
    if (placement.binds() && state.counters.count("cpus_used") != 0)
      state.counters["cpus_bound"] = static_cast<double>(std::min(p, placement.cpus().size()));
  } catch (const std::exception& error) {
    state.SkipWithError(("exception: " + std::string(error.what())).c_str());
  }
}

void add_workload_benchmarks(const Selection& selection) {
  const bool weak = selection.scaling == Selection::Scaling::weak;
  for (const WorkloadInfo* workload : selection.workloads) {
    if (weak && workload->work_exponent <= 0) continue;  // no weak-scaling form
    for (const ModelInfo* model : selection.models) {
      // Per-task spawning measured only where the model spawns each task.
      if (workload->uses_spawn_tasks && model->parallel && model->task_spawn.empty()) continue;
      // Stated by the model (list, the report's model notes), not a silent gap.
      if (!cannot_run(*workload, *model).empty()) continue;
      for (const std::size_t base_n : selection.sizes_for(*workload)) {
        const Affinity affinity = selection.affinity;
        const std::string family =
            workload->name + "/" + model->name +
            (affinity == Affinity::none ? ""
                                        : "/affinity:" + std::string(affinity_name(affinity))) +
            (selection.memory == MemoryPolicy::first_touch
                 ? ""
                 : "/numa:" + std::string(memory_policy_name(selection.memory)));
        // A family per (workload, model, base size) keeps weak-scaling sizes apart.
        auto* benchmark = benchmark::RegisterBenchmark(
            family.c_str(), [workload, model, base_n, weak, affinity](benchmark::State& state) {
              run_workload(state, *workload, *model, base_n, weak, affinity);
            });
        benchmark->ArgNames({"n", "p"})
            ->UseRealTime()
            ->MeasureProcessCPUTime()
            ->Unit(benchmark::kMillisecond);
        for (const std::size_t p : selection.workers_for(*workload, *model)) {
          // Weak scaling stops at the hardware threads: beyond them a worker
          // cannot keep its share of the work per unit time by definition.
          if (weak && p > hardware_threads()) continue;
          const std::size_t n =
              weak ? weak_size(*workload, base_n, p) : requests_at(*workload, base_n, p);
          if (n > workload->max_size) continue;
          benchmark->Args({static_cast<std::int64_t>(n), static_cast<std::int64_t>(p)});
        }
      }
    }
  }
}

const bool registered = register_family("workloads", &add_workload_benchmarks,
                                        "every selected workload x model x size x worker count");

}  // namespace
}  // namespace parbench
