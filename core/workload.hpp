// The workload interface and registry. A workload is a seeded input
// generator, a kernel written only against Executor, and a verifier that does
// not trust the kernel. Each workload file registers itself.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/executor.hpp"

namespace parbench {

enum class Category { cpu, memory, io, mixed };
std::string_view to_string(Category category);

/// Outcome of a verification: ok, or the first problem found.
struct Verdict {
  bool ok = true;
  std::string message;

  static Verdict pass() { return {}; }
  template <class... Parts>
  static Verdict fail(const Parts&... parts) {
    std::ostringstream out;
    (out << ... << parts);
    return {false, out.str()};
  }
};

/// The work one run() does, for Google Benchmark's rate counters.
struct WorkPerRun {
  double items = 0;  ///< items processed (elements, pixels, tasks, ...)
  double bytes = 0;  ///< bytes moved, for memory-bound workloads (0: not reported)
  /// Bytes a run touches (its working set), for memory-bound workloads: the
  /// report sets it against the last-level cache (0: not reported).
  double working_set = 0;
};

/// One prepared problem of size n. Inputs live in memory from the executor
/// that prepared it, so every worker of that model can read them.
class Instance {
 public:
  virtual ~Instance() = default;
  /// The timed kernel. Leaves its complete result in the instance; running it
  /// again recomputes the same result from the same inputs.
  virtual void run(Executor& executor) = 0;
  /// Checks the result of the last run() independently of the kernel.
  virtual Verdict verify() const = 0;
  /// Damages the result so that verify() must fail (used by the tests that
  /// prove every verifier can fail).
  virtual void corrupt() = 0;
  virtual WorkPerRun work() const = 0;
  /// Extra values exported as benchmark counters (e.g. a configured serial
  /// fraction that the analysis uses as ground truth).
  virtual std::vector<std::pair<std::string, double>> counters() const { return {}; }
};

/// A workload's setting from the environment (e.g. PARBENCH_TCP_PAYLOAD). Declared in its
/// WorkloadInfo so that a bad value is refused when the binary starts (one line, exit 2),
/// not found at the first setup after a sweep has begun.
struct Knob {
  const char* name;
  std::uint64_t default_value, min_value, max_value;
  /// The value from the environment, else default_value. Throws
  /// std::invalid_argument("NAME=...: ...") when it is not an integer in [min, max].
  std::uint64_t value() const;
};

struct WorkloadInfo {
  /// Name used in benchmark names and on the command line.
  std::string name;
  Category category = Category::cpu;
  /// One line for `./parbench list`: what is computed.
  std::string summary;
  /// What n means for this workload (e.g. "upper bound", "grid side").
  std::string size_meaning;
  /// Sizes registered by default: each takes 100-300 ms serially here.
  std::vector<std::size_t> default_sizes;
  /// Sizes for quick runs: 10-30 ms serially.
  std::vector<std::size_t> quick_sizes;
  /// Size used by selfcheck and the tests: milliseconds at most.
  std::size_t small_size = 0;
  /// Accepted range of n; anything else is rejected on the command line.
  std::size_t min_size = 1, max_size = 0;
  /// True if the kernel uses fork_join (recursive work).
  bool uses_fork_join = false;
  /// True if the workload measures spawning one task per unit of work
  /// (granularity): it runs on the serial baseline and on the models that
  /// spawn each task (ModelInfo::task_spawn), not on the others.
  bool uses_spawn_tasks = false;
  /// Work grows like n^work_exponent; weak scaling uses it to give p workers
  /// p times the work. 0: the workload has no weak-scaling form.
  double work_exponent = 1;
  /// I/O workloads (p is concurrency, not workers): the p values registered,
  /// each capped by the model's max_concurrency; and their sizes are requests
  /// per concurrency slot, so a point at p runs n = size x p requests and
  /// every point takes about the same time. Empty for cpu/memory workloads.
  std::vector<std::size_t> concurrency_levels = {};
  /// True if the verifier reads back files the kernel wrote: every worker
  /// must then write into the caller's file system, which a model whose
  /// workers have their own (ModelInfo::limit_files) cannot offer.
  bool reads_back_files = false;
  /// Its settings from the environment, checked before anything runs.
  std::vector<Knob> knobs = {};
  /// True if its instances export the configured serial fraction as the
  /// counter true_serial_fraction: ground truth for the analysis's Amdahl fit
  /// (the tests check that the counter is there exactly when this is set).
  bool exports_serial_fraction = false;
  /// Generates the seeded input for size n in memory from executor.
  std::function<std::unique_ptr<Instance>(Executor& executor, std::size_t n)> prepare;
};

bool register_workload(WorkloadInfo info);
struct ModelInfo;
/// Why workload cannot run on model by the model's own statement (its
/// limit_files, for workloads that read back their files), or "" if it can.
std::string cannot_run(const WorkloadInfo& workload, const ModelInfo& model);
/// What the analysis may use a workload for, derived from its flags: "metg"
/// (uses_spawn_tasks: it measures task granularity), "amdahl_ground_truth"
/// (exports_serial_fraction), "fork_join" (uses_fork_join), "reads_back_files".
std::vector<std::string> roles(const WorkloadInfo& workload);
/// All registered workloads, sorted by category then name.
const std::vector<WorkloadInfo>& workloads();
const WorkloadInfo* find_workload(std::string_view name);

}  // namespace parbench
