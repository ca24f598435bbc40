// sync/: what a lock, a wake-up, a barrier and a latch cost between threads,
// contended (nthreads:T > 1) and uncontended (nthreads:1), beside a raw
// baseline in the same run: sync/atomic_increment is the floor for locks.
// Thread counts: 1, 2, 4, ... up to twice the hardware threads (the last ones
// oversubscribed: where a spinning lock collapses). A persistent ThreadTeam
// runs each iteration, so thread start-up is not timed.
// Every benchmark checks its own work afterwards: the protected counter equals
// the operations done, every round of a barrier saw all arrivals, every
// ping-pong message came back.
#include <benchmark/benchmark.h>
#include <omp.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <barrier>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <latch>
#include <mutex>
#include <semaphore>
#include <shared_mutex>
#include <string>

#include "benchmarks/harness.hpp"
#include "benchmarks/team.hpp"
#include "primitives/sense_barrier.hpp"
#include "primitives/spinlock.hpp"

namespace parbench {
namespace {

constexpr std::size_t kOpsPerThread = 20'000;  // per iteration
constexpr std::size_t kRounds = 1'000;         // ping-pongs per iteration
// Blocking barriers cost tens of us per round on a VM (a futex wake-up each):
// 200 rounds per iteration keep a family's time reasonable.
constexpr std::size_t kBarrierRounds = 200;
// readers + writers on one shared_mutex can take microseconds per operation.
constexpr std::size_t kSharedOpsPerThread = 2'000;

// ---------------------------------------------------------------- locks

void atomic_increment(benchmark::State& state) {
  const auto threads = static_cast<std::size_t>(state.range(0));
  ThreadTeam team(threads);
  alignas(64) std::atomic<std::uint64_t> counter{0};
  time_units(state, "ns_per_op", static_cast<double>(threads * kOpsPerThread), [&] {
    team.run([&](std::size_t) {
      for (std::size_t k = 0; k < kOpsPerThread; ++k)
        counter.fetch_add(1, std::memory_order_relaxed);
    });
  });
  expect_count(state, counter.load(), threads * kOpsPerThread);
}

template <class Lock>
void lock_counter(benchmark::State& state) {
  const auto threads = static_cast<std::size_t>(state.range(0));
  ThreadTeam team(threads);
  Lock lock;
  std::uint64_t counter = 0;  // protected by lock only
  time_units(state, "ns_per_op", static_cast<double>(threads * kOpsPerThread), [&] {
    team.run([&](std::size_t) {
      for (std::size_t k = 0; k < kOpsPerThread; ++k) {
        std::lock_guard guard(lock);
        ++counter;
      }
    });
  });
  expect_count(state, counter, threads * kOpsPerThread);
}

void recursive_mutex(benchmark::State& state) {
  const auto depth = static_cast<std::size_t>(state.range(0));
  std::recursive_mutex lock;
  std::uint64_t counter = 0;
  time_units(state, "ns_per_op", static_cast<double>(kOpsPerThread), [&] {
    for (std::size_t k = 0; k < kOpsPerThread; ++k) {
      for (std::size_t d = 0; d < depth; ++d) lock.lock();
      ++counter;
      for (std::size_t d = 0; d < depth; ++d) lock.unlock();
    }
  });
  expect_count(state, counter, kOpsPerThread);
}

void shared_mutex(benchmark::State& state) {
  const auto readers = static_cast<std::size_t>(state.range(0));
  const auto writers = static_cast<std::size_t>(state.range(1));
  ThreadTeam team(readers + writers);
  std::shared_mutex lock;
  std::uint64_t value = 0;
  std::atomic<std::uint64_t> reads{0};
  time_units(state, "ns_per_op", static_cast<double>((readers + writers) * kSharedOpsPerThread),
             [&] {
               team.run([&](std::size_t i) {
                 std::uint64_t seen = 0;
                 for (std::size_t k = 0; k < kSharedOpsPerThread; ++k) {
                   if (i < writers) {
                     std::unique_lock guard(lock);
                     ++value;
                   } else {
                     std::shared_lock guard(lock);
                     benchmark::DoNotOptimize(value);
                     ++seen;
                   }
                 }
                 reads.fetch_add(seen);
               });
             });
  expect_count(state, value, writers * kSharedOpsPerThread);
  expect_count(state, reads.load(), readers * kSharedOpsPerThread);
}

template <bool Binary>
void semaphore(benchmark::State& state) {
  const auto threads = static_cast<std::size_t>(state.range(0));
  ThreadTeam team(threads);
  // Binary: a lock. Counting: half the threads may hold it at once.
  const std::ptrdiff_t permits = Binary ? 1 : std::max<std::ptrdiff_t>(1, threads / 2);
  std::counting_semaphore<> sem(permits);
  std::binary_semaphore binary(1);
  std::atomic<std::uint64_t> holders{0}, too_many{0}, acquisitions{0};
  time_units(state, "ns_per_op", static_cast<double>(threads * kOpsPerThread), [&] {
    team.run([&](std::size_t) {
      for (std::size_t k = 0; k < kOpsPerThread; ++k) {
        Binary ? binary.acquire() : sem.acquire();
        if (holders.fetch_add(1, std::memory_order_relaxed) >= static_cast<std::uint64_t>(permits))
          too_many.fetch_add(1, std::memory_order_relaxed);
        acquisitions.fetch_add(1, std::memory_order_relaxed);
        holders.fetch_sub(1, std::memory_order_relaxed);
        Binary ? binary.release() : sem.release();
      }
    });
  });
  if (too_many.load() != 0) state.SkipWithError("semaphore let too many threads in");
  expect_count(state, acquisitions.load(), threads * kOpsPerThread);
}

// ---------------------------------------------------------------- wake-ups

/// One-shot signals for ping-pong: set() wakes the waiter, wait() consumes.
struct CondvarEvent {
  std::mutex mutex;
  std::condition_variable cv;
  bool flag = false;
  void set() {
    {
      std::lock_guard guard(mutex);
      flag = true;
    }
    cv.notify_one();
  }
  void wait() {
    std::unique_lock guard(mutex);
    cv.wait(guard, [&] { return flag; });
    flag = false;
  }
};

struct AtomicEvent {
  std::atomic<int> flag{0};
  void set() {
    flag.store(1, std::memory_order_release);
    flag.notify_one();
  }
  void wait() {
    while (flag.exchange(0, std::memory_order_acquire) == 0)
      flag.wait(0, std::memory_order_acquire);
  }
};

struct EventfdEvent {
  int fd = ::eventfd(0, EFD_CLOEXEC);
  EventfdEvent() {
    if (fd < 0) throw std::runtime_error("eventfd failed");
  }
  ~EventfdEvent() { ::close(fd); }
  EventfdEvent(const EventfdEvent&) = delete;
  EventfdEvent& operator=(const EventfdEvent&) = delete;
  void set() {
    const std::uint64_t one = 1;
    while (::write(fd, &one, sizeof one) < 0 && errno == EINTR) {
    }
  }
  void wait() {
    std::uint64_t value = 0;
    while (::read(fd, &value, sizeof value) < 0 && errno == EINTR) {
    }
  }
};

template <class Event>
void event_pingpong(benchmark::State& state) {
  ThreadTeam team(2);
  Event ping, pong;
  std::uint64_t returned = 0;
  time_units(state, "ns_per_round_trip", static_cast<double>(kRounds), [&] {
    team.run([&](std::size_t i) {
      for (std::size_t r = 0; r < kRounds; ++r) {
        if (i == 0) {
          ping.set();
          pong.wait();
          ++returned;
        } else {
          ping.wait();
          pong.set();
        }
      }
    });
  });
  expect_count(state, returned, kRounds);
}

void condvar_producer_consumer(benchmark::State& state) {
  constexpr std::size_t kItems = 100'000, kCapacity = 64;
  ThreadTeam team(2);
  std::mutex mutex;
  std::condition_variable not_empty, not_full;
  std::deque<std::uint64_t> buffer;
  std::uint64_t sum = 0;
  time_units(state, "ns_per_item", static_cast<double>(kItems), [&] {
    team.run([&](std::size_t i) {
      for (std::uint64_t k = 1; k <= kItems; ++k) {
        std::unique_lock guard(mutex);
        if (i == 0) {
          not_full.wait(guard, [&] { return buffer.size() < kCapacity; });
          buffer.push_back(k);
          guard.unlock();
          not_empty.notify_one();
        } else {
          not_empty.wait(guard, [&] { return !buffer.empty(); });
          sum += buffer.front();
          buffer.pop_front();
          guard.unlock();
          not_full.notify_one();
        }
      }
    });
  });
  expect_count(state, sum,
               static_cast<std::uint64_t>(state.iterations()) * kItems * (kItems + 1) / 2,
               /*per_iteration=*/false);
}

// ---------------------------------------------------------------- barriers

/// Runs kBarrierRounds barrier rounds (two barriers each) on `threads` threads; every thread counts
/// its arrival before the barrier and checks after it that all arrived.
template <class Arrive>
void barrier_rounds(benchmark::State& state, std::size_t threads, Arrive arrive) {
  ThreadTeam team(threads);
  std::atomic<std::uint64_t> arrivals{0}, early{0};
  std::uint64_t done_rounds = 0;
  time_units(state, "ns_per_barrier", static_cast<double>(2 * kBarrierRounds), [&] {
    team.run([&](std::size_t i) {
      bool sense = false;
      for (std::size_t r = 0; r < kBarrierRounds; ++r) {
        arrivals.fetch_add(1, std::memory_order_relaxed);
        arrive(i, sense);
        if (arrivals.load(std::memory_order_relaxed) < done_rounds * threads + (r + 1) * threads)
          early.fetch_add(1, std::memory_order_relaxed);
        arrive(i, sense);  // second barrier: nobody runs ahead into round r + 1's count
      }
    });
    done_rounds += kBarrierRounds;
  });
  if (early.load() != 0) state.SkipWithError("a thread left the barrier before all had arrived");
  expect_count(state, arrivals.load(), threads * kBarrierRounds);
}

void std_barrier(benchmark::State& state) {
  const auto threads = static_cast<std::size_t>(state.range(0));
  std::barrier barrier(static_cast<std::ptrdiff_t>(threads));
  barrier_rounds(state, threads, [&](std::size_t, bool&) { barrier.arrive_and_wait(); });
}

void pthread_barrier(benchmark::State& state) {
  const auto threads = static_cast<std::size_t>(state.range(0));
  pthread_barrier_t barrier;
  pthread_barrier_init(&barrier, nullptr, static_cast<unsigned>(threads));
  barrier_rounds(state, threads, [&](std::size_t, bool&) { pthread_barrier_wait(&barrier); });
  pthread_barrier_destroy(&barrier);
}

void sense_barrier(benchmark::State& state) {
  const auto threads = static_cast<std::size_t>(state.range(0));
  SenseBarrier barrier(threads);
  barrier_rounds(state, threads, [&](std::size_t, bool& sense) { barrier.arrive_and_wait(sense); });
}

void openmp_barrier(benchmark::State& state) {
  // OpenMP's barrier lives inside a parallel region: one region per iteration.
  const auto threads = static_cast<int>(state.range(0));
  std::atomic<std::uint64_t> arrivals{0}, early{0};
  std::uint64_t done = 0;
  time_units(state, "ns_per_barrier", static_cast<double>(2 * kBarrierRounds), [&] {
#pragma omp parallel num_threads(threads)
    {
      for (std::size_t r = 0; r < kBarrierRounds; ++r) {
        arrivals.fetch_add(1, std::memory_order_relaxed);
#pragma omp barrier
        if (arrivals.load(std::memory_order_relaxed) < done + (r + 1) * threads)
          early.fetch_add(1, std::memory_order_relaxed);
#pragma omp barrier
      }
    }
    done += kBarrierRounds * threads;
  });
  if (early.load() != 0) state.SkipWithError("a thread left the barrier before all had arrived");
  expect_count(state, arrivals.load(), static_cast<std::size_t>(threads) * kBarrierRounds);
}

void latch_rounds(benchmark::State& state) {
  const auto threads = static_cast<std::size_t>(state.range(0));
  constexpr std::size_t kLatches = 100;
  ThreadTeam team(threads);
  std::uint64_t passed = 0;
  std::atomic<std::uint64_t> arrivals{0};
  time_units(state, "ns_per_latch", static_cast<double>(kLatches), [&] {
    std::deque<std::latch> latches;  // single-use: a fresh one per round
    for (std::size_t r = 0; r < kLatches; ++r)
      latches.emplace_back(static_cast<std::ptrdiff_t>(threads));
    team.run([&](std::size_t) {
      for (std::latch& latch : latches) {
        arrivals.fetch_add(1, std::memory_order_relaxed);
        latch.arrive_and_wait();
      }
    });
    for (std::latch& latch : latches) passed += latch.try_wait() ? 1 : 0;
  });
  expect_count(state, passed, kLatches);
  expect_count(state, arrivals.load(), threads * kLatches);
}

void add_sync_benchmarks(const Selection& selection) {
  const std::vector<std::size_t> counts = primitive_thread_counts();
  auto per_threads = [&](const std::string& name, void (*function)(benchmark::State&)) {
    auto* benchmark = add_primitive(selection, name, function);
    if (benchmark == nullptr) return;
    benchmark->ArgNames({"nthreads"})
        ->UseRealTime()
        ->MeasureProcessCPUTime()
        ->Unit(benchmark::kMicrosecond);
    for (const std::size_t t : counts) benchmark->Arg(static_cast<std::int64_t>(t));
  };
  per_threads("sync/atomic_increment_baseline", atomic_increment);
  per_threads("sync/mutex/std", lock_counter<std::mutex>);
  per_threads("sync/mutex/spinlock", lock_counter<Spinlock>);
  per_threads("sync/semaphore/counting", semaphore<false>);
  per_threads("sync/semaphore/binary", semaphore<true>);
  per_threads("sync/barrier/std", std_barrier);
  per_threads("sync/barrier/pthread", pthread_barrier);
  // The OpenMP barrier's cost depends on the wait policy (spin or sleep).
  per_threads("sync/barrier/openmp/wait:" + omp_wait_policy(), openmp_barrier);
  per_threads("sync/barrier/sense_reversing", sense_barrier);
  per_threads("sync/latch", latch_rounds);
  if (auto* recursive = add_primitive(selection, "sync/recursive_mutex", recursive_mutex))
    recursive->ArgNames({"depth"})->Arg(1)->Arg(4)->Arg(16)->UseRealTime()->Unit(
        benchmark::kMicrosecond);
  if (auto* shared = add_primitive(selection, "sync/shared_mutex", shared_mutex)) {
    shared->ArgNames({"readers", "writers"})
        ->UseRealTime()
        ->MeasureProcessCPUTime()
        ->Unit(benchmark::kMicrosecond);
    const auto cores = static_cast<std::int64_t>(hardware_threads());
    for (const auto& [readers, writers] : std::vector<std::pair<std::int64_t, std::int64_t>>{
             {1, 0}, {cores, 0}, {0, 1}, {1, 1}, {cores, 1}, {2 * cores, 1}})
      shared->Args({readers, writers});
  }
  for (const auto& [name, function] :
       std::vector<std::pair<std::string, void (*)(benchmark::State&)>>{
           {"sync/event/condvar/pingpong", event_pingpong<CondvarEvent>},
           {"sync/event/atomic_wait/pingpong", event_pingpong<AtomicEvent>},
           {"sync/event/eventfd/pingpong", event_pingpong<EventfdEvent>},
           {"sync/condvar/producer_consumer", condvar_producer_consumer}})
    if (auto* b = add_primitive(selection, name, function))
      b->UseRealTime()->MeasureProcessCPUTime()->Unit(benchmark::kMicrosecond);
}

const bool registered = register_family(
    "sync", &add_sync_benchmarks,
    "locks, wake-ups, barriers and latches between threads, contended and uncontended");

}  // namespace
}  // namespace parbench
