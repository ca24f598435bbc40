// The pool's own API beyond the Executor primitives: submit with futures,
// shutdown semantics, and a concurrent stress test (run it under tsan).
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <stdexcept>
#include <thread>
#include <vector>

#include "models/thread_pool.hpp"

namespace parbench {
namespace {

TEST(ThreadPool, SubmitReturnsTheResult) {
  ThreadPool pool(2);
  auto answer = pool.submit([] { return 6 * 7; });
  EXPECT_EQ(answer.get(), 42);
}

TEST(ThreadPool, SubmitPropagatesExceptionsThroughTheFuture) {
  ThreadPool pool(1);
  auto failing = pool.submit([]() -> int { throw std::runtime_error("boom"); });
  EXPECT_THROW(failing.get(), std::runtime_error);
}

TEST(ThreadPool, WithoutThreadsSubmitRunsInline) {
  ThreadPool pool(0);
  const auto caller = std::this_thread::get_id();
  auto where = pool.submit([] { return std::this_thread::get_id(); });
  EXPECT_EQ(where.get(), caller);
}

TEST(ThreadPool, DestructorRunsEveryQueuedTask) {
  std::atomic<int> ran{0};
  {
    ThreadPool pool(2);
    for (int i = 0; i < 1000; ++i) pool.submit([&ran] { ran.fetch_add(1); });
  }
  EXPECT_EQ(ran.load(), 1000);
}

TEST(ThreadPool, ConcurrentCallersStress) {
  ThreadPool pool(3);
  std::atomic<std::uint64_t> total{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 4; ++t)
    callers.emplace_back([&pool, &total, t] {
      for (int round = 0; round < 50; ++round) {
        std::atomic<std::uint64_t> local{0};
        pool.parallel_for(1000, 7, [&](std::size_t lo, std::size_t hi) {
          for (std::size_t i = lo; i < hi; ++i) local.fetch_add(i, std::memory_order_relaxed);
        });
        pool.spawn_tasks(50, [&](std::size_t i) { local.fetch_add(i, std::memory_order_relaxed); });
        std::uint64_t a = 0, b = 0;
        pool.fork_join([&] { a = 1; }, [&] { b = 2; });
        auto future = pool.submit([t] { return t; });
        if (future.get() != t || a + b != 3) return;
        if (local.load() == 999 * 1000 / 2 + 49 * 50 / 2) total.fetch_add(1);
      }
    });
  for (auto& caller : callers) caller.join();
  EXPECT_EQ(total.load(), 4u * 50u);
}

TEST(ThreadPool, ParallelForRegionsBackToBack) {
  ThreadPool pool(3);
  std::vector<std::uint64_t> counts(64);
  for (int round = 0; round < 20'000; ++round)
    pool.parallel_for(counts.size(), 8, [&](std::size_t lo, std::size_t hi) {
      for (std::size_t i = lo; i < hi; ++i) ++counts[i];
    });
  for (std::uint64_t count : counts) ASSERT_EQ(count, 20'000u);
}

}  // namespace
}  // namespace parbench
