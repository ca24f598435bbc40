// processes: each parallel region forks p child processes, like starting
// multiprocessing.Process objects by hand; fork and wait are part of what is
// measured.
//
// - Visibility: a child is forked inside the region, so it sees everything the
//   parent had at that moment (inputs, the body and what it captured). Its
//   writes reach the parent only through memory from allocate(): MAP_SHARED
//   mappings made before the fork.
// - Scheduling: children take chunks from one atomic counter in a shared
//   control block (dynamic, like the thread models).
// - Errors: a body's exception is caught in the child, its message stored in
//   the control block, and rethrown by the parent as std::runtime_error; a
//   child that dies (signal, exit status) makes the region fail with a message
//   naming the worker. Children run plain kernels and leave with _exit (no
//   atexit handlers, no static destructors, no oneTBB or OpenMP): nested
//   regions inside a child run inline, and fork_join runs its halves serially
//   (its closures write to the parent's stack, which a child cannot reach).
// - Hygiene: children ask for SIGKILL if the parent dies (PR_SET_PDEATHSIG),
//   and every child is reaped before the region returns or throws.
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "core/first_exception.hpp"
#include "core/model.hpp"
#include "process/process_util.hpp"

namespace parbench {
namespace {

struct RegionControl {
  alignas(64) std::atomic<std::size_t> next_chunk{0};
  alignas(64) std::atomic<int> failed{0};
  char message[512] = {};
};

class ProcessesExecutor final : public RangeOnlyExecutor {
 public:
  ProcessesExecutor(std::size_t workers, Placement placement)
      : workers_(workers),
        placement_(std::move(placement)),
        control_mapping_(sizeof(RegionControl)) {}

  std::size_t workers() const noexcept override { return workers_; }
  Memory allocate(std::size_t bytes) override { return allocate_shared(bytes); }

  void parallel_for(std::size_t n, std::size_t grain, RangeBody body) override {
    check_grain(grain);
    const std::size_t chunks = chunk_count(n, grain);
    if (chunks == 0) return;
    if (in_child_) {  // nested inside a child: no grandchildren
      for (std::size_t c = 0; c < chunks; ++c) {
        const Chunk chunk = chunk_bounds(n, grain, c);
        body(chunk.lo, chunk.hi);
      }
      return;
    }
    auto* control = new (control_mapping_.data()) RegionControl();
    std::vector<ChildProcess> children;
    children.reserve(workers_);
    for (std::size_t k = 0; k < std::min(workers_, chunks); ++k)
      children.emplace_back([&, k] {
        in_child_ = true;
        placement_.bind_current_thread(
            k);  // sched_setaffinity after fork, as multiprocessing users do
        for (std::size_t c; (c = control->next_chunk.fetch_add(1)) < chunks;) {
          try {
            note_cpu();
            const Chunk chunk = chunk_bounds(n, grain, c);
            body(chunk.lo, chunk.hi);
          } catch (const std::exception& error) {
            record_failure(*control, error.what());
            return 1;
          } catch (...) {
            record_failure(*control, "unknown exception");
            return 1;
          }
        }
        return 0;
      });
    std::string crashed;
    for (std::size_t k = 0; k < children.size(); ++k) {
      const int status = children[k].wait();
      if (status != 0 && !control->failed.load() && crashed.empty())
        crashed = "processes worker " + std::to_string(k) + " (pid " +
                  std::to_string(children[k].pid()) + ") " + describe_wait_status(status);
    }
    if (control->failed.load()) throw std::runtime_error(control->message);
    if (!crashed.empty()) throw std::runtime_error(crashed);
  }

 private:
  static void record_failure(RegionControl& control, const char* what) noexcept {
    int expected = 0;
    if (control.failed.compare_exchange_strong(expected, 1)) {
      std::strncpy(control.message, what, sizeof(control.message) - 1);
    }
  }

  std::size_t workers_;
  Placement placement_;
  SharedMapping control_mapping_;
  bool in_child_ = false;  // true in a child's copy of this object
};

const bool registered = register_model({
    .name = "processes",
    .label = "processes",
    .group = "processes",
    .launch = "fork",
    .summary = "p forked child processes per parallel region (fork + wait measured)",
    .order = 50,
    .parallel = true,
    .no_task_spawn = "a process per task is spawn/fork (hundreds of us); this model forks p "
                     "workers per region that claim task indices, so it spawns nothing per task",
    .limit_fork_join = "fork_join runs its halves one after the other: a child process cannot "
                       "write to the parent's stack, where fork_join's closures keep their results",
    .create = [](std::size_t workers, const Placement& placement) -> std::unique_ptr<Executor> {
      return std::make_unique<ProcessesExecutor>(workers, placement);
    },
    .note = "fork_join runs its halves serially (a child cannot write to the parent's stack); "
            "bodies write results to shared memory",
    .max_concurrency = 256,
});

}  // namespace
}  // namespace parbench
