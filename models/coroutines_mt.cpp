// coroutines_mt: p coroutines over min(p, hardware threads) event-loop
// threads (each its own io_uring or epoll loop), so CPU work scales too.
#include <algorithm>
#include <thread>

#include "core/model.hpp"
#include "coro/coro_runtime.hpp"

namespace parbench {
namespace {

const bool registered = register_model({
    .name = "coroutines_mt",
    .label = "coroutines (multi-threaded)",
    .group = "coroutines",
    .launch = "in-process",
    .summary = "C++20 coroutines on min(p, hardware threads) event-loop threads",
    .order = 75,
    .parallel = true,
    .task_spawn = "a coroutine per task on min(p, hardware threads) loops, p in flight",
    .concurrent_tasks = true,
    .create = [](std::size_t workers, const Placement& placement) -> std::unique_ptr<Executor> {
      const std::size_t hardware = std::max(1u, std::thread::hardware_concurrency());
      return std::make_unique<CoroutineRuntime>(workers, std::min(workers, hardware), placement);
    },
    .note = "loop threads = min(p, hardware threads); top-level fork_join on two coroutines, "
            "nested fork_join serial",
    .max_concurrency = 0,
});

}  // namespace
}  // namespace parbench
