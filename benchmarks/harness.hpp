// What the benchmark binary was asked to run, and the registry of benchmark
// families. A family file registers a function that adds its benchmarks to
// Google Benchmark for a Selection; main calls them all.
#pragma once

#include <benchmark/benchmark.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "benchmarks/memory_policy.hpp"
#include "core/model.hpp"
#include "core/workload.hpp"

namespace parbench {

/// The largest worker count p accepted (--p, PARBENCH_CPUS).
inline constexpr std::size_t kMaxWorkers = 1024;

struct Selection {
  enum class SizeSet { standard, quick, small, given };
  enum class Scaling { strong, weak };

  std::vector<const WorkloadInfo*> workloads;  ///< --workloads (default: all)
  std::vector<const ModelInfo*> models;        ///< --models (default: all)
  std::vector<std::size_t> workers;            ///< --p (default: default_worker_counts())
  SizeSet size_set = SizeSet::standard;        ///< --size=default|quick|small|N[,N...]
  std::vector<std::size_t> sizes;              ///< the N list of --size=N,...
  Scaling scaling = Scaling::strong;           ///< --scaling=strong|weak
  /// --size-scale: the declared default and quick sizes times this (within
  /// each workload's range), so that a region at the largest p stays long
  /// enough on a big machine (the sweep's size rule, benchmarks/sweeps/default.toml).
  double size_scale = 1.0;
  /// --affinity: how the workload families' workers are bound (names then
  /// carry /affinity:<policy>; none: the OS places them, as before).
  Affinity affinity = Affinity::none;
  /// --numa: where the pages go (names carry /numa:interleave when interleaved).
  MemoryPolicy memory = MemoryPolicy::first_touch;

  /// The sizes n to register for a workload under this selection.
  std::vector<std::size_t> sizes_for(const WorkloadInfo& workload) const;
  /// Worker counts for a model (serial: {1}).
  std::vector<std::size_t> workers_for(const ModelInfo& model) const;
  /// p values for a workload on a model: workers_for(model), or for an I/O
  /// workload its concurrency levels (unless --p was given) up to the model's
  /// max_concurrency.
  std::vector<std::size_t> workers_for(const WorkloadInfo& workload, const ModelInfo& model) const;
  bool workers_given = false;            ///< --p was on the command line
  std::vector<std::size_t> concurrency;  ///< --concurrency (default: each I/O workload's levels)
  /// --primitives: prefixes of the primitive families to register ("sync",
  /// "sync/mutex", ...). Primitive families run when named here, or when no
  /// selection at all is given (then this holds every family's name); naming
  /// workloads or models alone selects workload families only.
  std::vector<std::string> primitives;

  /// True when the primitive benchmark `name` (e.g. "sync/mutex/std") is selected.
  bool wants_primitive(std::string_view name) const;
};

/// The OpenMP wait policy this process runs with, as libgomp read it when it
/// was loaded: "active" or "passive" from OMP_WAIT_POLICY, else "default"
/// (libgomp's own: idle threads spin for a while, then sleep). Benchmarks whose
/// figure depends on it carry it in their name (wait:<policy>).
std::string omp_wait_policy();

/// The CPUs this process may run on (its affinity mask, at least 1), or
/// PARBENCH_CPUS when set: the planner lists a recorded machine's benchmarks.
std::size_t hardware_threads();
/// 1, 2, 4, ... up to the hardware threads, plus that count and twice it.
std::vector<std::size_t> default_worker_counts();

/// n registered for base size `size` at p: size x p for I/O workloads (size
/// is requests per concurrency slot), size otherwise.
std::size_t requests_at(const WorkloadInfo& workload, std::size_t size, std::size_t p);

/// Weak scaling: the size whose work is p times that of size n (0 when the
/// workload does not support weak scaling).
std::size_t weak_size(const WorkloadInfo& workload, std::size_t n, std::size_t p);

/// Google Benchmark's RegisterBenchmark for a primitive family's benchmark,
/// if the selection wants it (see Selection::primitives); nullptr otherwise.
template <class Function>
benchmark::internal::Benchmark* add_primitive(const Selection& selection, const std::string& name,
                                              Function&& function) {
  if (!selection.wants_primitive(name)) return nullptr;
  return benchmark::RegisterBenchmark(name.c_str(), std::forward<Function>(function));
}

using FamilyRegistrar = void (*)(const Selection&);
/// Registers a family of benchmarks (by prefix, e.g. "overhead") with one line
/// saying what it measures (for list --json).
bool register_family(const char* prefix, FamilyRegistrar add, const char* summary);
/// Adds every family's benchmarks for the selection.
void add_all_families(const Selection& selection);
/// The prefixes of the registered primitive families (overhead, sync, ...).
std::vector<std::string> primitive_family_names();

struct FamilyInfo {
  std::string prefix, summary;
};
/// The registered primitive families in name order (the order of primitive_family_names).
std::vector<FamilyInfo> primitive_families();

}  // namespace parbench
