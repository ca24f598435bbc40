// coroutines: one event-loop thread (io_uring, or epoll), p coroutines on it.
// The asyncio model: I/O requests overlap (p in flight), CPU work does not
// (chunks run one at a time, yielding in between), so CPU speedup stays ~1.
#include "core/model.hpp"
#include "coro/coro_runtime.hpp"

namespace parbench {
namespace {

const bool registered = register_model({
    .name = "coroutines",
    .label = "coroutines",
    .group = "coroutines",
    .launch = "in-process",
    .summary = "C++20 coroutines on one event-loop thread (io_uring or epoll), p in flight",
    .order = 70,
    .parallel = true,
    .task_spawn = "a coroutine per task on the loop, p in flight (like asyncio.create_task)",
    .concurrent_tasks = false,
    .limit_cpu = "one event-loop thread: CPU work gets concurrency, not parallelism (like asyncio)",
    .create = [](std::size_t workers, const Placement&) -> std::unique_ptr<Executor> {
      return std::make_unique<CoroutineRuntime>(workers, 1);
    },
    .note = "one thread: p is concurrency, not parallelism (CPU speedup ~1, like asyncio); "
            "fork_join runs serially",
    .max_concurrency = 0,
});

}  // namespace
}  // namespace parbench
