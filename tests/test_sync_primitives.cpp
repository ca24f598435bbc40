// parbench's own synchronisation primitives: the spinlock, the
// sense-reversing barrier, the SPSC ring and the MPMC queue. Stress tests run
// more threads than cores (and under the tsan preset): every item produced is
// consumed exactly once, no increment is lost, no thread passes a barrier
// early.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "primitives/mpmc_queue.hpp"
#include "primitives/sense_barrier.hpp"
#include "primitives/spinlock.hpp"
#include "primitives/spsc_ring.hpp"

namespace parbench {
namespace {

constexpr std::size_t kThreads = 6;

template <class Body>
void run_threads(std::size_t count, Body body) {
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < count; ++i) threads.emplace_back(body, i);
  for (auto& thread : threads) thread.join();
}

TEST(Spinlock, NoIncrementIsLostUnderContention) {
  Spinlock lock;
  std::uint64_t counter = 0;  // protected by lock only
  constexpr std::uint64_t kPerThread = 20'000;
  run_threads(kThreads, [&](std::size_t) {
    for (std::uint64_t k = 0; k < kPerThread; ++k) {
      std::lock_guard guard(lock);
      ++counter;
    }
  });
  EXPECT_EQ(counter, kThreads * kPerThread);
}

TEST(Spinlock, TryLockFailsWhileHeld) {
  Spinlock lock;
  ASSERT_TRUE(lock.try_lock());
  EXPECT_FALSE(lock.try_lock());
  std::thread other([&] { EXPECT_FALSE(lock.try_lock()); });
  other.join();
  lock.unlock();
  EXPECT_TRUE(lock.try_lock());
  lock.unlock();
}

TEST(SenseBarrier, NobodyLeavesARoundEarly) {
  constexpr std::size_t kRounds = 300;
  SenseBarrier barrier(kThreads);
  std::atomic<std::size_t> arrivals{0}, early{0};
  run_threads(kThreads, [&](std::size_t) {
    bool sense = false;
    for (std::size_t r = 0; r < kRounds; ++r) {
      arrivals.fetch_add(1);
      barrier.arrive_and_wait(sense);
      if (arrivals.load() < (r + 1) * kThreads) early.fetch_add(1);
      barrier.arrive_and_wait(sense);
    }
  });
  EXPECT_EQ(early.load(), 0u);
  EXPECT_EQ(arrivals.load(), kRounds * kThreads);
}

TEST(SpscRing, RejectsBadCapacityAndReportsFullAndEmpty) {
  EXPECT_THROW(SpscRing<int>(3), std::invalid_argument);
  SpscRing<int> ring(4);
  int value = 0;
  EXPECT_FALSE(ring.try_pop(value));
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(ring.try_push(i));
  EXPECT_FALSE(ring.try_push(99));
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(ring.try_pop(value));
    EXPECT_EQ(value, i);  // FIFO
  }
  EXPECT_FALSE(ring.try_pop(value));
}

TEST(SpscRing, StressKeepsOrderAndLosesNothing) {
  constexpr std::uint64_t kItems = 500'000;
  SpscRing<std::uint64_t> ring(64);
  std::uint64_t expected = 1, out_of_order = 0;
  std::thread producer([&] {
    for (std::uint64_t v = 1; v <= kItems; ++v)
      while (!ring.try_push(v)) std::this_thread::yield();
  });
  std::uint64_t value = 0;
  while (expected <= kItems) {
    if (!ring.try_pop(value)) continue;
    out_of_order += value != expected;
    ++expected;
  }
  producer.join();
  EXPECT_EQ(out_of_order, 0u);
  EXPECT_FALSE(ring.try_pop(value));
}

TEST(MpmcQueue, RejectsBadCapacityAndReportsFullAndEmpty) {
  EXPECT_THROW(MpmcQueue<int>(6), std::invalid_argument);
  MpmcQueue<int> queue(2);
  int value = 0;
  EXPECT_FALSE(queue.try_pop(value));
  EXPECT_TRUE(queue.try_push(1));
  EXPECT_TRUE(queue.try_push(2));
  EXPECT_FALSE(queue.try_push(3));
  ASSERT_TRUE(queue.try_pop(value));
  EXPECT_EQ(value, 1);
}

TEST(MpmcQueue, StressEveryItemExactlyOnce) {
  constexpr std::size_t kProducers = 3, kConsumers = 3;
  constexpr std::uint64_t kPerProducer = 100'000, kItems = kProducers * kPerProducer;
  MpmcQueue<std::uint64_t> queue(128);
  std::vector<std::atomic<std::uint8_t>> seen(kItems + 1);
  std::atomic<std::uint64_t> consumed{0}, duplicates{0};
  run_threads(kProducers + kConsumers, [&](std::size_t i) {
    if (i < kProducers) {
      for (std::uint64_t v = i + 1; v <= kItems; v += kProducers)
        while (!queue.try_push(v)) std::this_thread::yield();
      return;
    }
    std::uint64_t value = 0;
    while (consumed.load() < kItems) {
      if (!queue.try_pop(value)) {
        std::this_thread::yield();
        continue;
      }
      if (seen[value].fetch_add(1) != 0) duplicates.fetch_add(1);
      consumed.fetch_add(1);
    }
  });
  EXPECT_EQ(duplicates.load(), 0u);
  std::uint64_t missing = 0;
  for (std::uint64_t v = 1; v <= kItems; ++v) missing += seen[v].load() == 0;
  EXPECT_EQ(missing, 0u);
}

}  // namespace
}  // namespace parbench
