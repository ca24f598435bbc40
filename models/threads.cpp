// threads: one std::thread per worker per parallel region, like starting
// threading.Thread objects by hand. Thread creation and join are part of what
// is measured.
//
// parallel_for starts min(p, chunks) threads that take chunks from a shared
// counter, and joins them; the caller only waits.
// fork_join runs `a` on a new thread when one of the p running-thread permits
// is free, else inline; a thread that blocks in join gives its permit back
// while it waits, so about p threads compute at any time and recursive work
// (fib, merge_sort) still spreads over all p.
#include <atomic>
#include <thread>
#include <vector>

#include "core/first_exception.hpp"
#include "core/model.hpp"

namespace parbench {
namespace {

class ThreadsExecutor final : public Executor {
 public:
  explicit ThreadsExecutor(std::size_t workers)
      : workers_(workers), spare_permits_(static_cast<std::ptrdiff_t>(workers) - 1) {}

  std::size_t workers() const noexcept override { return workers_; }

  void parallel_for(std::size_t n, std::size_t grain, RangeBody body) override {
    check_grain(grain);
    const std::size_t chunks = chunk_count(n, grain);
    if (chunks == 0) return;
    std::atomic<std::size_t> next{0};
    FirstException error;
    auto drain = [&] {
      for (std::size_t c; !error.failed() && (c = next.fetch_add(1)) < chunks;) {
        try {
          const Chunk chunk = chunk_bounds(n, grain, c);
          body(chunk.lo, chunk.hi);
        } catch (...) {
          error.capture();
        }
      }
    };
    {
      std::vector<std::jthread> threads;
      const std::size_t count = std::min(workers_, chunks);
      threads.reserve(count);
      try {
        for (std::size_t t = 0; t < count; ++t) threads.emplace_back(drain);
      } catch (...) {  // could not start a thread: the ones started finish the work
        if (threads.empty()) throw;
      }
    }  // jthread joins here
    error.rethrow_if_any();
  }

  void fork_join(TaskBody a, TaskBody b) override {
    if (!try_take_permit()) {
      a();
      b();
      return;
    }
    std::exception_ptr a_error, b_error;
    std::thread thread;
    try {
      thread = std::thread([&] {
        try {
          a();
        } catch (...) {
          a_error = std::current_exception();
        }
        give_permit();
      });
    } catch (...) {
      give_permit();
      a();
      b();
      return;
    }
    try {
      b();
    } catch (...) {
      b_error = std::current_exception();
    }
    give_permit();  // this thread blocks now: let another one run meanwhile
    thread.join();
    spare_permits_.fetch_sub(1, std::memory_order_acq_rel);
    if (a_error) std::rethrow_exception(a_error);
    if (b_error) std::rethrow_exception(b_error);
  }

 private:
  bool try_take_permit() noexcept {
    std::ptrdiff_t available = spare_permits_.load(std::memory_order_relaxed);
    while (available > 0)
      if (spare_permits_.compare_exchange_weak(available, available - 1, std::memory_order_acq_rel))
        return true;
    return false;
  }
  void give_permit() noexcept { spare_permits_.fetch_add(1, std::memory_order_acq_rel); }

  std::size_t workers_;
  std::atomic<std::ptrdiff_t> spare_permits_;  // may dip below 0 briefly after a join
};

const bool registered = register_model({
    .name = "threads",
    .summary = "a new std::thread per worker per parallel region (creation cost included)",
    .order = 10,
    .parallel = true,
    .task_pool = false,
    .create = [](std::size_t workers) -> std::unique_ptr<Executor> {
      return std::make_unique<ThreadsExecutor>(workers);
    },
    .max_concurrency = 1024,
});

}  // namespace
}  // namespace parbench
