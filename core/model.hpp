// The registry of execution models. A model's file registers it with one
// static call; the benchmark harness, selfcheck and tests find it here.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/executor.hpp"
#include "core/placement.hpp"

namespace parbench {

struct ModelInfo {
  /// Name used in benchmark names and on the command line (e.g. "pool").
  std::string name;
  /// Display name for charts and the report (e.g. "oneTBB", "process pool").
  std::string label;
  /// The kind of model, for grouping in the catalogue and the report: one of
  /// kModelGroups ("baseline", "threads", "processes", "coroutines", "distributed").
  std::string group;
  /// How its workers come to exist, one of kModelLaunches: "in-process"
  /// (threads, tasks or coroutines of this process), "fork" (processes this
  /// binary forks), "launcher" (separate copies started by mpirun, or a singleton).
  std::string launch;
  /// One line for `./parbench list`.
  std::string summary;
  /// Display and registration order (serial first).
  int order = 100;
  /// False for the serial baseline: it is registered with p = 1 only.
  bool parallel = true;
  /// How spawn_tasks starts each task, in a few words (e.g. "a std::thread
  /// per task"), for list and the report. Empty when the model has no spawn
  /// per task: overhead/tasks and the granularity workload (METG) then leave
  /// it out, and no_task_spawn says why, rather than report a figure for
  /// tasks it never spawned.
  std::string task_spawn = {};
  std::string no_task_spawn = {};
  /// True when a model with p >= 2 runs spawned tasks at the same time (two
  /// tasks that wait for each other complete); the model tests check it.
  bool concurrent_tasks = false;
  /// Limits built into the model, so that the report shows "n/a: serial by
  /// design" instead of slowness. limit_cpu: why it cannot run CPU work in
  /// parallel at all (one event-loop thread); limit_fork_join: why fork_join
  /// runs its halves one after the other (process models). Empty: no limit.
  std::string limit_cpu = {};
  std::string limit_fork_join = {};
  /// Why workloads that read back the files their kernel wrote
  /// (WorkloadInfo::reads_back_files) cannot run on this model (its workers
  /// have their own temporary directories, possibly on other hosts); they
  /// are then not registered, and list and the report say so. Empty: none.
  std::string limit_files = {};
  /// Creates an executor with the given number of workers (>= 1), bound by
  /// the placement the way the model's users bind theirs (an unbound one:
  /// the OS places them). Callers use make().
  std::function<std::unique_ptr<Executor>(std::size_t workers, const Placement& placement)> create;
  std::unique_ptr<Executor> make(std::size_t workers, const Placement& placement = {}) const {
    return create(workers, placement);
  }
  /// What a reader of the results must know about this model's limits (e.g.
  /// "fork_join runs serially"); shown by list and in the report.
  std::string note = {};
  /// Largest p registered for I/O workloads, whose p is concurrency (0: no
  /// limit). Bounds what a model can sensibly start per region (threads,
  /// processes); coroutine models have none.
  std::size_t max_concurrency = 0;
  /// For models whose workers are separate copies of this program (mpi): the
  /// worker's main, called first by every main (run_worker_if_asked). It
  /// returns -1 at once if this process is not one of its workers (how it
  /// tells is the model's: an argument, the launcher's environment), else
  /// serves as a worker and returns the process's exit status.
  std::function<int(int argc, char** argv)> worker_main = {};
};

/// Adds a model; returns true so that a file can register from a static
/// initialiser: `const bool registered = register_model({...});`.
bool register_model(ModelInfo info);
/// The values ModelInfo::group and ModelInfo::launch take (the tests hold every model to them).
inline constexpr std::string_view kModelGroups[] = {"baseline", "threads", "processes",
                                                    "coroutines", "distributed"};
inline constexpr std::string_view kModelLaunches[] = {"in-process", "fork", "launcher"};
/// All registered models in display order.
const std::vector<ModelInfo>& models();
/// The model called name, or nullptr.
const ModelInfo* find_model(std::string_view name);

/// Call first in every main of a binary that models may start as a worker:
/// if this process is a worker of a model (ModelInfo::worker_main), serves as
/// one and returns its exit status; otherwise returns -1 and main goes on.
int run_worker_if_asked(int argc, char** argv);

}  // namespace parbench
