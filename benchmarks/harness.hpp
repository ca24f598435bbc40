// What the benchmark binary was asked to run, and the registry of benchmark
// families. A family file registers a function that adds its benchmarks to
// Google Benchmark for a Selection; main calls them all.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "core/model.hpp"
#include "core/workload.hpp"

namespace parbench {

struct Selection {
  enum class SizeSet { standard, quick, small, given };
  enum class Scaling { strong, weak };

  std::vector<const WorkloadInfo*> workloads;  ///< --workloads (default: all)
  std::vector<const ModelInfo*> models;        ///< --models (default: all)
  std::vector<std::size_t> workers;            ///< --p (default: default_worker_counts())
  SizeSet size_set = SizeSet::standard;        ///< --size=default|quick|small|N[,N...]
  std::vector<std::size_t> sizes;              ///< the N list of --size=N,...
  Scaling scaling = Scaling::strong;           ///< --scaling=strong|weak

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
};

/// Hardware threads of this machine (at least 1).
std::size_t hardware_threads();
/// 1, 2, 4, ... up to the hardware threads, plus that count and twice it.
std::vector<std::size_t> default_worker_counts();

/// n registered for base size `size` at p: size x p for I/O workloads (size
/// is requests per concurrency slot), size otherwise.
std::size_t requests_at(const WorkloadInfo& workload, std::size_t size, std::size_t p);

/// Weak scaling: the size whose work is p times that of size n (0 when the
/// workload does not support weak scaling).
std::size_t weak_size(const WorkloadInfo& workload, std::size_t n, std::size_t p);

using FamilyRegistrar = void (*)(const Selection&);
/// Registers a family of benchmarks (by prefix, e.g. "overhead").
bool register_family(const char* prefix, FamilyRegistrar add);
/// Adds every family's benchmarks for the selection.
void add_all_families(const Selection& selection);

}  // namespace parbench
