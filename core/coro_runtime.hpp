// The executor behind the coroutine models: `threads` event loops (the
// calling thread runs the first one; the others are persistent threads), and
// `concurrency` coroutines spread over them. parallel_for runs chunks as
// coroutines that yield between chunks; run_requests keeps `concurrency`
// requests in flight. With one thread this is asyncio: concurrency without
// parallelism.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <thread>
#include <vector>

#include "core/first_exception.hpp"
#include "core/io_loop.hpp"
#include "core/requests.hpp"

namespace parbench {

class CoroutineRuntime final : public Executor, public RequestRunner {
 public:
  /// concurrency >= 1 coroutines over threads in [1, concurrency] loops.
  /// Throws if an event loop cannot be created.
  CoroutineRuntime(std::size_t concurrency, std::size_t threads);
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
  RequestRunner* request_runner() noexcept override { return this; }
  void run_requests(std::size_t n, IoRequest request) override;

  struct Job;

 private:
  void run(Job& job);
  void run_share(std::size_t thread, Job& job) noexcept;
  void helper_main(std::size_t thread);

  std::size_t concurrency_;
  std::vector<std::unique_ptr<coro::Loop>> loops_;
  std::vector<std::thread> helpers_;
  Job* job_ = nullptr;
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<std::size_t> helpers_busy_{0};
  std::atomic<bool> stopping_{false};
};

}  // namespace parbench
