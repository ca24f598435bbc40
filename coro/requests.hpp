// I/O requests on any model. An I/O workload's kernel is one coroutine per
// request, written against coro::Io; run_requests() runs n of them with the
// model's concurrency: blocking models call them with a loop-less Io inside
// parallel_for (p requests in flight, one per worker), coroutine models keep
// p of them in flight on their event loops.
#pragma once

#include <cstddef>
#include <type_traits>

#include "core/executor.hpp"
#include "coro/coro.hpp"

namespace parbench {

using IoRequest = FunctionRef<coro::Task<void>(std::size_t index, coro::Io io)>;

/// Implemented by models that run requests on event loops.
class RequestRunner {
 public:
  virtual ~RequestRunner() = default;
  /// Runs request(i, io) for every i in [0, n) with up to workers() requests
  /// in flight; rethrows the first exception after every started request ended.
  virtual void run_requests(std::size_t n, IoRequest request) = 0;
};

/// Runs request(i, io) for each i in [0, n) on executor, executor.workers()
/// at a time. request must capture by value (process models copy it) and
/// must not itself be a coroutine lambda: make it call a coroutine function
/// that takes its arguments by value.
template <class Request>
void run_requests(Executor& executor, std::size_t n, Request request) {
  static_assert(std::is_trivially_copyable_v<Request>,
                "an I/O request must capture by value (process models copy it)");
  if (RequestRunner* runner = executor.request_runner()) {
    runner->run_requests(n, request);
    return;
  }
  executor.parallel_for(n, 1, [request](std::size_t lo, std::size_t hi) {
    for (std::size_t i = lo; i < hi; ++i) coro::run_blocking(request(i, coro::Io{}));
  });
}

}  // namespace parbench
