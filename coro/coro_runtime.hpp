// The executor behind the coroutine models: `threads` event loops (the
// calling thread runs the first one; the others are persistent threads), and
// `concurrency` coroutines spread over them. parallel_for runs chunks as
// coroutines that yield between chunks; run_requests keeps `concurrency`
// requests in flight. With one thread this is asyncio: concurrency without
// parallelism.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "coro/io_loop.hpp"
#include "coro/requests.hpp"
#include "primitives/thread_team.hpp"

namespace parbench {

class CoroutineRuntime final : public Executor, public RequestRunner {
 public:
  /// concurrency >= 1 coroutines over threads in [1, concurrency] loops,
  /// loop thread t bound as placement's worker t (the caller's for the
  /// runtime's life). Throws if an event loop cannot be created.
  CoroutineRuntime(std::size_t concurrency, std::size_t threads, const Placement& placement = {});
  ~CoroutineRuntime() override;
  CoroutineRuntime(const CoroutineRuntime&) = delete;
  CoroutineRuntime& operator=(const CoroutineRuntime&) = delete;

  std::size_t workers() const noexcept override { return concurrency_; }
  std::size_t threads() const noexcept { return loops_.size(); }
  coro::Backend backend() const noexcept { return loops_.front()->backend(); }

  /// Chunks run as coroutines yielding between chunks. Called from inside a
  /// body (nested), the chunks run in order on the calling coroutine.
  void parallel_for(std::size_t n, std::size_t grain, RangeBody body) override;
  /// The top-level call runs a and b as two coroutines; nested calls run serially.
  void fork_join(TaskBody a, TaskBody b) override;
  /// A coroutine per task (like asyncio.create_task): each loop's spawner
  /// claims task indices and starts a coroutine for each, queued on its loop,
  /// keeping at most its share of the p coroutines in flight. Nested calls
  /// run the tasks in order on the calling coroutine.
  void spawn_tasks(std::size_t count, IndexBody task) override;
  RequestRunner* request_runner() noexcept override { return this; }
  void run_requests(std::size_t n, IoRequest request) override;

  struct Job;

 private:
  void run(Job& job);
  void run_share(std::size_t thread, Job& job) noexcept;

  std::size_t concurrency_;
  Placement placement_;
  ThreadBinding caller_;                            // the caller runs loop 0
  std::vector<char> bound_;                         // team thread t has bound itself (t >= 1)
  std::vector<std::unique_ptr<coro::Loop>> loops_;  // loop t belongs to team thread t
  ThreadTeam team_;
};

}  // namespace parbench
