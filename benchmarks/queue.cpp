// queue/: hand-offs between threads through a queue.
// - queue/<kind>/throughput/producers:P/consumers:C: P producers push 100,000 items in
//   total, C consumers pop them all (throughput, counter ns_per_item). The
//   consumers' count and the sum of the values popped are checked: an item
//   lost or duplicated fails the benchmark.
// - queue/<kind>/handoff: one item bounced between two threads through two
//   queues (latency, counter ns_per_handoff).
// Kinds: fifo (mutex + deque), lifo (mutex + vector), priority (mutex +
// priority_queue), tbb_queue, tbb_bounded_queue, tbb_priority_queue (oneTBB
// concurrent containers), mpmc (parbench's bounded lock-free queue) and spsc
// (parbench's single-producer/single-consumer ring: 1 x 1 only).
// queue/plain_ring_baseline: the same items through a plain ring on one
// thread, the floor. Empty and full queues are waited on by spinning with a pause, then yielding.
#include <benchmark/benchmark.h>
#include <oneapi/tbb/concurrent_priority_queue.h>
#include <oneapi/tbb/concurrent_queue.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <queue>
#include <string>
#include <thread>
#include <vector>

#include "benchmarks/harness.hpp"
#include "benchmarks/team.hpp"
#include "primitives/cpu_relax.hpp"
#include "primitives/mpmc_queue.hpp"
#include "primitives/spsc_ring.hpp"

namespace parbench {
namespace {

constexpr std::uint64_t kItems = 100'000;
constexpr std::size_t kRoundTrips = 2'000;
constexpr std::size_t kBoundedCapacity = 1024;

// Every kind behind one face: try_push / try_pop.
template <class Container>
class Locked {
 public:
  bool try_push(std::uint64_t value) {
    std::lock_guard guard(mutex_);
    if constexpr (requires { items_.push_back(value); })
      items_.push_back(value);
    else
      items_.push(value);
    return true;
  }
  bool try_pop(std::uint64_t& value) {
    std::lock_guard guard(mutex_);
    if (items_.empty()) return false;
    if constexpr (requires { items_.pop_front(); }) {
      value = items_.front();
      items_.pop_front();
    } else if constexpr (requires { items_.top(); }) {
      value = items_.top();
      items_.pop();
    } else {
      value = items_.back();
      items_.pop_back();
    }
    return true;
  }

 private:
  std::mutex mutex_;
  Container items_;
};
using Fifo = Locked<std::deque<std::uint64_t>>;
using Lifo = Locked<std::vector<std::uint64_t>>;
using Priority = Locked<std::priority_queue<std::uint64_t>>;

struct TbbQueue {
  tbb::concurrent_queue<std::uint64_t> queue;
  bool try_push(std::uint64_t value) {
    queue.push(value);
    return true;
  }
  bool try_pop(std::uint64_t& value) { return queue.try_pop(value); }
};
struct TbbBoundedQueue {
  tbb::concurrent_bounded_queue<std::uint64_t> queue;
  TbbBoundedQueue() { queue.set_capacity(kBoundedCapacity); }
  bool try_push(std::uint64_t value) { return queue.try_push(value); }
  bool try_pop(std::uint64_t& value) { return queue.try_pop(value); }
};
struct TbbPriorityQueue {
  tbb::concurrent_priority_queue<std::uint64_t> queue;
  bool try_push(std::uint64_t value) {
    queue.push(value);
    return true;
  }
  bool try_pop(std::uint64_t& value) { return queue.try_pop(value); }
};
struct Mpmc {
  MpmcQueue<std::uint64_t> queue{kBoundedCapacity};
  bool try_push(std::uint64_t value) { return queue.try_push(value); }
  bool try_pop(std::uint64_t& value) { return queue.try_pop(value); }
};
struct Spsc {
  SpscRing<std::uint64_t> queue{kBoundedCapacity};
  bool try_push(std::uint64_t value) { return queue.try_push(value); }
  bool try_pop(std::uint64_t& value) { return queue.try_pop(value); }
};

/// Spin with a pause, then yield (waiters may outnumber cores).
struct Backoff {
  int spins = 0;
  void wait() {
    if (++spins < 64) {
      cpu_relax();
    } else {
      std::this_thread::yield();
      spins = 0;
    }
  }
};

template <class Queue>
void throughput(benchmark::State& state) {
  const auto producers = static_cast<std::size_t>(state.range(0));
  const auto consumers = static_cast<std::size_t>(state.range(1));
  ThreadTeam team(producers + consumers);
  std::atomic<std::uint64_t> consumed{0}, sum{0};
  time_units(state, "ns_per_item", static_cast<double>(kItems), [&] {
    Queue queue;  // fresh each iteration
    std::atomic<std::uint64_t> popped{0};
    team.run([&](std::size_t i) {
      if (i < producers) {  // values i+1, i+1+P, ...: together exactly 1..kItems
        for (std::uint64_t value = i + 1; value <= kItems; value += producers) {
          Backoff backoff;
          while (!queue.try_push(value)) backoff.wait();
        }
        return;
      }
      std::uint64_t mine = 0, my_sum = 0, value = 0;
      Backoff backoff;
      for (;;) {
        if (queue.try_pop(value)) {
          ++mine;
          my_sum += value;
          continue;
        }
        // Empty: publish what this consumer has, and stop once all are in.
        popped.fetch_add(mine);
        consumed.fetch_add(mine);
        sum.fetch_add(my_sum);
        mine = my_sum = 0;
        if (popped.load() >= kItems) return;
        backoff.wait();
      }
    });
  });
  expect_count(state, consumed.load(), kItems);
  if (sum.load() != static_cast<std::uint64_t>(state.iterations()) * kItems * (kItems + 1) / 2)
    state.SkipWithError("the values popped do not add up to the values pushed");
}

template <class Queue>
void handoff(benchmark::State& state) {
  ThreadTeam team(2);
  std::uint64_t returned = 0;
  time_units(state, "ns_per_handoff", static_cast<double>(2 * kRoundTrips), [&] {
    Queue there, back;
    team.run([&](std::size_t i) {
      std::uint64_t value = 0;
      for (std::uint64_t r = 1; r <= kRoundTrips; ++r) {
        Backoff backoff;
        if (i == 0) {
          while (!there.try_push(r)) backoff.wait();
          while (!back.try_pop(value)) backoff.wait();
          returned += value == r ? 1 : 0;
        } else {
          while (!there.try_pop(value)) backoff.wait();
          while (!back.try_push(value)) backoff.wait();
        }
      }
    });
  });
  expect_count(state, returned, kRoundTrips);
}

template <class Queue>
void add_kind(const Selection& selection, const std::string& kind, bool single_producer_consumer) {
  if (auto* fill = add_primitive(selection, "queue/" + kind + "/throughput", throughput<Queue>)) {
    fill->ArgNames({"producers", "consumers"})
        ->UseRealTime()
        ->MeasureProcessCPUTime()
        ->Unit(benchmark::kMicrosecond);
    std::vector<std::int64_t> sides{1, 2, static_cast<std::int64_t>(hardware_threads())};
    std::sort(sides.begin(), sides.end());
    sides.erase(std::unique(sides.begin(), sides.end()), sides.end());
    for (const std::int64_t p : sides)
      for (const std::int64_t c : sides)
        if (!single_producer_consumer || (p == 1 && c == 1)) fill->Args({p, c});
  }
  if (auto* handoff_benchmark =
          add_primitive(selection, "queue/" + kind + "/handoff", handoff<Queue>))
    handoff_benchmark->UseRealTime()->MeasureProcessCPUTime()->Unit(benchmark::kMicrosecond);
}

/// The floor: the same items through a plain ring on one thread, no
/// synchronisation at all (what a queue costs before any thread is involved).
void plain_ring_baseline(benchmark::State& state) {
  std::vector<std::uint64_t> ring(kBoundedCapacity);
  std::uint64_t sum = 0, count = 0;
  time_units(state, "ns_per_item", static_cast<double>(kItems), [&] {
    for (std::uint64_t value = 1; value <= kItems; ++value) {
      ring[value & (kBoundedCapacity - 1)] = value;  // push
      benchmark::ClobberMemory();
      sum += ring[value & (kBoundedCapacity - 1)];  // pop
      ++count;
    }
  });
  expect_count(state, count, kItems);
  if (sum != static_cast<std::uint64_t>(state.iterations()) * kItems * (kItems + 1) / 2)
    state.SkipWithError("the values popped do not add up to the values pushed");
}

void add_queue_benchmarks(const Selection& selection) {
  if (auto* b = add_primitive(selection, "queue/plain_ring_baseline", plain_ring_baseline))
    b->UseRealTime()->Unit(benchmark::kMicrosecond);
  add_kind<Fifo>(selection, "fifo", false);
  add_kind<Lifo>(selection, "lifo", false);
  add_kind<Priority>(selection, "priority", false);
  add_kind<TbbQueue>(selection, "tbb_queue", false);
  add_kind<TbbBoundedQueue>(selection, "tbb_bounded_queue", false);
  add_kind<TbbPriorityQueue>(selection, "tbb_priority_queue", false);
  add_kind<Mpmc>(selection, "mpmc", false);
  add_kind<Spsc>(selection, "spsc", true);
}

const bool registered =
    register_family("queue", &add_queue_benchmarks,
                    "hand-offs between threads through queues: throughput and one-item latency");

}  // namespace
}  // namespace parbench
