// psync/: synchronisation between processes, through a MAP_SHARED control
// block, and a manager-style server for comparison.
// - psync/counter/<atomic|mutex|robust_mutex|semaphore>/procs:<P>: P processes
//   (the parent and P-1 forked children) each add 1 to one shared counter
//   10,000 times per iteration: an atomic fetch_add (like multiprocessing's
//   Value without a lock), a PTHREAD_PROCESS_SHARED mutex, the same mutex
//   made robust, or a process-shared sem_t used as a lock. ns_per_op counter;
//   the final count must equal P x 10,000 x iterations.
// - psync/pingpong/<semaphore|condvar|event>: parent and child hand a turn back
//   and forth (two sem_t; a shared mutex + condition variable; a futex-based
//   event): one iteration is one round trip. The child counts its turns.
// - psync/barrier/procs:<P>: a PTHREAD_PROCESS_SHARED pthread_barrier crossed
//   once per iteration by P processes; each counts its crossings.
// - psync/manager/<set|get> vs psync/shared_map/<set|get>: a key-value map
//   held by a server process and reached over a socket (like
//   multiprocessing.Manager), against a table in shared memory under a
//   process-shared mutex used directly. Every reply is checked.
#include <benchmark/benchmark.h>
#include <pthread.h>
#include <semaphore.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <vector>

#include "benchmarks/harness.hpp"
#include "process/process_util.hpp"

namespace parbench {
namespace {

constexpr std::uint64_t kOpsPerRound = 10'000;

void check(int error, const char* what) {
  if (error != 0) throw std::system_error(error, std::generic_category(), what);
}

// ---- counters ---------------------------------------------------------------

enum class CounterKind { atomic, mutex, robust_mutex, semaphore };

struct CounterBlock {
  alignas(64) std::atomic<std::uint32_t> round{0};  // futex word: parent starts a round
  std::atomic<std::uint32_t> stop{0};
  alignas(64) std::atomic<std::uint32_t> finished{0};  // futex word: children done this round
  alignas(64) std::atomic<std::uint64_t> atomic_counter{0};
  alignas(64) std::uint64_t locked_counter = 0;
  pthread_mutex_t mutex;
  sem_t semaphore;
};

void add_many(CounterBlock& block, CounterKind kind) {
  for (std::uint64_t i = 0; i < kOpsPerRound; ++i) {
    switch (kind) {
      case CounterKind::atomic:
        block.atomic_counter.fetch_add(1, std::memory_order_relaxed);
        break;
      case CounterKind::mutex:
      case CounterKind::robust_mutex:
        if (pthread_mutex_lock(&block.mutex) == EOWNERDEAD) pthread_mutex_consistent(&block.mutex);
        ++block.locked_counter;
        pthread_mutex_unlock(&block.mutex);
        break;
      case CounterKind::semaphore:
        while (sem_wait(&block.semaphore) != 0 && errno == EINTR) {
        }
        ++block.locked_counter;
        sem_post(&block.semaphore);
        break;
    }
  }
}

void counter_benchmark(benchmark::State& state, CounterKind kind) {
  const auto processes = static_cast<std::size_t>(state.range(0));
  try {
    SharedMapping mapping(sizeof(CounterBlock));
    auto* block = new (mapping.data()) CounterBlock();
    pthread_mutexattr_t attributes;
    pthread_mutexattr_init(&attributes);
    pthread_mutexattr_setpshared(&attributes, PTHREAD_PROCESS_SHARED);
    if (kind == CounterKind::robust_mutex)
      pthread_mutexattr_setrobust(&attributes, PTHREAD_MUTEX_ROBUST);
    check(pthread_mutex_init(&block->mutex, &attributes), "pthread_mutex_init");
    pthread_mutexattr_destroy(&attributes);
    if (sem_init(&block->semaphore, 1, 1) != 0) check(errno, "sem_init");
    std::vector<ChildProcess> children;
    for (std::size_t k = 1; k < processes; ++k)
      children.emplace_back([block, kind] {
        for (std::uint32_t seen = 0;;) {
          while (block->round.load(std::memory_order_acquire) == seen) {
            if (block->stop.load(std::memory_order_acquire)) return 0;
            futex_wait(block->round, seen, 1'000'000);
          }
          seen = block->round.load(std::memory_order_acquire);
          if (block->stop.load(std::memory_order_acquire)) return 0;
          add_many(*block, kind);
          block->finished.fetch_add(1, std::memory_order_acq_rel);
          futex_wake(block->finished, 1);
        }
      });
    std::uint32_t rounds = 0;
    const auto start = std::chrono::steady_clock::now();
    for (auto _ : state) {
      block->finished.store(0, std::memory_order_release);
      block->round.store(++rounds, std::memory_order_release);
      futex_wake(block->round, INT32_MAX);
      add_many(*block, kind);
      for (std::uint32_t done;
           (done = block->finished.load(std::memory_order_acquire)) < processes - 1;)
        futex_wait(block->finished, done, 1'000'000);
    }
    const std::chrono::duration<double, std::nano> elapsed =
        std::chrono::steady_clock::now() - start;
    block->stop.store(1, std::memory_order_release);
    block->round.fetch_add(1, std::memory_order_acq_rel);
    futex_wake(block->round, INT32_MAX);
    for (auto& child : children) {
      const int status = child.wait();
      if (status != 0) throw std::runtime_error("counter process " + describe_wait_status(status));
    }
    const std::uint64_t expected =
        static_cast<std::uint64_t>(state.iterations()) * processes * kOpsPerRound;
    const std::uint64_t counted =
        kind == CounterKind::atomic ? block->atomic_counter.load() : block->locked_counter;
    pthread_mutex_destroy(&block->mutex);
    sem_destroy(&block->semaphore);
    if (counted != expected) {
      state.SkipWithError(
          ("counted " + std::to_string(counted) + ", expected " + std::to_string(expected))
              .c_str());
      return;
    }
    state.counters["ns_per_op"] =
        elapsed.count() / static_cast<double>(state.iterations() * processes * kOpsPerRound);
    state.counters["procs"] = static_cast<double>(processes);
    state.counters["verified"] = 1;
  } catch (const std::exception& error) {
    state.SkipWithError(("exception: " + std::string(error.what())).c_str());
  }
}

// ---- ping-pong --------------------------------------------------------------

enum class PingKind { semaphore, condvar, event };

struct PingBlock {
  sem_t to_child, to_parent;
  pthread_mutex_t mutex;
  pthread_cond_t cond;
  std::uint32_t turn = 0;  // condvar: 0 parent's turn, 1 child's turn; guarded by mutex
  alignas(64) std::atomic<std::uint32_t> child_turn{0};   // event: futex word
  alignas(64) std::atomic<std::uint32_t> parent_turn{0};  // event: futex word
  std::atomic<std::uint32_t> stop{0};
  std::atomic<std::uint64_t> child_turns{0};
};

void await_event(std::atomic<std::uint32_t>& word) {
  for (int spin = 0; word.load(std::memory_order_acquire) == 0; ++spin)
    if (spin > 200) futex_wait(word, 0, 1'000'000);
  word.store(0, std::memory_order_relaxed);
}

void signal_event(std::atomic<std::uint32_t>& word) {
  word.store(1, std::memory_order_release);
  futex_wake(word, 1);
}

void pass_turn(PingBlock& block, PingKind kind, bool from_parent) {
  switch (kind) {
    case PingKind::semaphore:
      sem_post(from_parent ? &block.to_child : &block.to_parent);
      break;
    case PingKind::condvar:
      pthread_mutex_lock(&block.mutex);
      block.turn = from_parent ? 1 : 0;
      pthread_cond_broadcast(&block.cond);
      pthread_mutex_unlock(&block.mutex);
      break;
    case PingKind::event:
      signal_event(from_parent ? block.child_turn : block.parent_turn);
      break;
  }
}

void await_turn(PingBlock& block, PingKind kind, bool parent) {
  switch (kind) {
    case PingKind::semaphore:
      while (sem_wait(parent ? &block.to_parent : &block.to_child) != 0 && errno == EINTR) {
      }
      break;
    case PingKind::condvar:
      pthread_mutex_lock(&block.mutex);
      while (block.turn != (parent ? 0u : 1u)) pthread_cond_wait(&block.cond, &block.mutex);
      pthread_mutex_unlock(&block.mutex);
      break;
    case PingKind::event:
      await_event(parent ? block.parent_turn : block.child_turn);
      break;
  }
}

void pingpong_benchmark(benchmark::State& state, PingKind kind) {
  try {
    SharedMapping mapping(sizeof(PingBlock));
    auto* block = new (mapping.data()) PingBlock();
    if (sem_init(&block->to_child, 1, 0) != 0 || sem_init(&block->to_parent, 1, 0) != 0)
      throw std::system_error(errno, std::generic_category(), "sem_init");
    pthread_mutexattr_t mutex_attributes;
    pthread_mutexattr_init(&mutex_attributes);
    pthread_mutexattr_setpshared(&mutex_attributes, PTHREAD_PROCESS_SHARED);
    if (const int error = pthread_mutex_init(&block->mutex, &mutex_attributes); error != 0)
      throw std::system_error(error, std::generic_category(), "pthread_mutex_init");
    pthread_condattr_t cond_attributes;
    pthread_condattr_init(&cond_attributes);
    pthread_condattr_setpshared(&cond_attributes, PTHREAD_PROCESS_SHARED);
    if (const int error = pthread_cond_init(&block->cond, &cond_attributes); error != 0)
      throw std::system_error(error, std::generic_category(), "pthread_cond_init");
    ChildProcess child([block, kind] {
      for (;;) {
        await_turn(*block, kind, false);
        if (block->stop.load(std::memory_order_acquire)) return 0;
        block->child_turns.fetch_add(1, std::memory_order_relaxed);
        pass_turn(*block, kind, false);
      }
    });
    for (auto _ : state) {
      pass_turn(*block, kind, true);
      await_turn(*block, kind, true);
    }
    block->stop.store(1, std::memory_order_release);
    pass_turn(*block, kind, true);
    const int status = child.wait();
    const std::uint64_t turns = block->child_turns.load();
    pthread_cond_destroy(&block->cond);
    pthread_mutex_destroy(&block->mutex);
    sem_destroy(&block->to_child);
    sem_destroy(&block->to_parent);
    if (status != 0 || turns != static_cast<std::uint64_t>(state.iterations())) {
      state.SkipWithError(("child took " + std::to_string(turns) + " turns in " +
                           std::to_string(state.iterations()) + " round trips; it " +
                           describe_wait_status(status))
                              .c_str());
      return;
    }
    state.counters["verified"] = 1;
  } catch (const std::exception& error) {
    state.SkipWithError(("exception: " + std::string(error.what())).c_str());
  }
}

// ---- barrier ----------------------------------------------------------------

struct BarrierBlock {
  pthread_barrier_t barrier;
  // The round after which children leave (0: not yet known). A plain "stop"
  // flag would race: a child could see it after the round in which the parent
  // set it and skip the parent's last round.
  std::atomic<std::uint64_t> final_round{0};
  std::atomic<std::uint64_t> crossings{0};  // by children, in all, before the final round
};

void barrier_benchmark(benchmark::State& state) {
  const auto processes = static_cast<unsigned>(state.range(0));
  try {
    SharedMapping mapping(sizeof(BarrierBlock));
    auto* block = new (mapping.data()) BarrierBlock();
    pthread_barrierattr_t attributes;
    pthread_barrierattr_init(&attributes);
    pthread_barrierattr_setpshared(&attributes, PTHREAD_PROCESS_SHARED);
    check(pthread_barrier_init(&block->barrier, &attributes, processes), "pthread_barrier_init");
    pthread_barrierattr_destroy(&attributes);
    std::vector<ChildProcess> children;
    for (unsigned k = 1; k < processes; ++k)
      children.emplace_back([block] {
        for (std::uint64_t round = 1;; ++round) {
          pthread_barrier_wait(&block->barrier);
          if (round == block->final_round.load(std::memory_order_acquire)) return 0;
          block->crossings.fetch_add(1, std::memory_order_relaxed);
        }
      });
    for (auto _ : state) pthread_barrier_wait(&block->barrier);
    block->final_round.store(static_cast<std::uint64_t>(state.iterations()) + 1,
                             std::memory_order_release);
    pthread_barrier_wait(&block->barrier);
    for (auto& child : children) child.wait();
    pthread_barrier_destroy(&block->barrier);
    const std::uint64_t expected = static_cast<std::uint64_t>(state.iterations()) * (processes - 1);
    if (block->crossings.load() != expected) {
      state.SkipWithError("children crossed the barrier a different number of times");
      return;
    }
    state.counters["procs"] = processes;
    state.counters["verified"] = 1;
  } catch (const std::exception& error) {
    state.SkipWithError(("exception: " + std::string(error.what())).c_str());
  }
}

// ---- manager vs shared map ----------------------------------------------------

struct Request {
  std::uint64_t op;  // 0 set, 1 get, 2 stop
  std::uint64_t key, value;
};

constexpr std::uint64_t kKeys = 4096;

void read_exact(int fd, void* data, std::size_t bytes) {
  auto* p = static_cast<char*>(data);
  while (bytes > 0) {
    const ssize_t got = ::read(fd, p, bytes);
    if (got == 0) throw std::runtime_error("connection closed");
    if (got < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "read");
    }
    p += got;
    bytes -= static_cast<std::size_t>(got);
  }
}

void write_all(int fd, const void* data, std::size_t bytes) {
  const auto* p = static_cast<const char*>(data);
  while (bytes > 0) {
    const ssize_t sent = ::write(fd, p, bytes);
    if (sent < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "write");
    }
    p += sent;
    bytes -= static_cast<std::size_t>(sent);
  }
}

void manager_benchmark(benchmark::State& state, bool get) {
  int sockets[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sockets) != 0) {
    state.SkipWithError("socketpair failed");
    return;
  }
  try {
    ChildProcess server([&] {
      ::close(sockets[0]);
      std::unordered_map<std::uint64_t, std::uint64_t> map;
      for (;;) {
        Request request;
        read_exact(sockets[1], &request, sizeof(request));
        if (request.op == 2) return 0;
        std::uint64_t reply = 0;
        if (request.op == 0)
          map[request.key] = request.value;
        else if (auto found = map.find(request.key); found != map.end())
          reply = found->second;
        write_all(sockets[1], &reply, sizeof(reply));
      }
    });
    ::close(sockets[1]);
    sockets[1] = -1;
    auto call = [&](std::uint64_t op, std::uint64_t key, std::uint64_t value) {
      const Request request{op, key, value};
      write_all(sockets[0], &request, sizeof(request));
      std::uint64_t reply = 0;
      read_exact(sockets[0], &reply, sizeof(reply));
      return reply;
    };
    for (std::uint64_t key = 0; key < kKeys; ++key) call(0, key, key * 3 + 1);
    std::uint64_t i = 0, wrong = 0;
    for (auto _ : state) {
      const std::uint64_t key = (i++ * 2654435761u) % kKeys;
      if (get)
        wrong += call(1, key, 0) != key * 3 + 1;
      else
        call(0, key, key * 3 + 1);
    }
    wrong += call(1, 17, 0) != 17 * 3 + 1;
    const Request stop{2, 0, 0};
    write_all(sockets[0], &stop, sizeof(stop));
    const int status = server.wait();
    ::close(sockets[0]);
    if (wrong != 0 || status != 0) {
      state.SkipWithError(("manager returned " + std::to_string(wrong) + " wrong values; it " +
                           describe_wait_status(status))
                              .c_str());
      return;
    }
    state.counters["verified"] = 1;
  } catch (const std::exception& error) {
    ::close(sockets[0]);
    if (sockets[1] >= 0) ::close(sockets[1]);
    state.SkipWithError(("exception: " + std::string(error.what())).c_str());
  }
}

struct SharedTable {
  pthread_mutex_t mutex;
  std::uint64_t keys[2 * kKeys];
  std::uint64_t values[2 * kKeys];
  std::uint8_t used[2 * kKeys];
};

void shared_map_benchmark(benchmark::State& state, bool get) {
  SharedMapping mapping(sizeof(SharedTable));
  auto* table = new (mapping.data()) SharedTable();
  pthread_mutexattr_t attributes;
  pthread_mutexattr_init(&attributes);
  pthread_mutexattr_setpshared(&attributes, PTHREAD_PROCESS_SHARED);
  if (const int error = pthread_mutex_init(&table->mutex, &attributes); error != 0) {
    state.SkipWithError(("pthread_mutex_init: " + std::string(std::strerror(error))).c_str());
    return;
  }
  auto slot_of = [&](std::uint64_t key) {
    std::size_t slot = (key * 11400714819323198485ull) >> 51;  // 13 bits: 2 * kKeys slots
    while (table->used[slot] && table->keys[slot] != key) slot = (slot + 1) % (2 * kKeys);
    return slot;
  };
  auto set = [&](std::uint64_t key, std::uint64_t value) {
    pthread_mutex_lock(&table->mutex);
    const std::size_t slot = slot_of(key);
    table->used[slot] = 1;
    table->keys[slot] = key;
    table->values[slot] = value;
    pthread_mutex_unlock(&table->mutex);
  };
  auto lookup = [&](std::uint64_t key) {
    pthread_mutex_lock(&table->mutex);
    const std::size_t slot = slot_of(key);
    const std::uint64_t value = table->used[slot] ? table->values[slot] : 0;
    pthread_mutex_unlock(&table->mutex);
    return value;
  };
  for (std::uint64_t key = 0; key < kKeys; ++key) set(key, key * 3 + 1);
  std::uint64_t i = 0, wrong = 0;
  for (auto _ : state) {
    const std::uint64_t key = (i++ * 2654435761u) % kKeys;
    if (get)
      wrong += lookup(key) != key * 3 + 1;
    else
      set(key, key * 3 + 1);
  }
  // A child process must see the same table.
  ChildProcess reader([&] { return lookup(17) == 17 * 3 + 1 ? 0 : 1; });
  const int status = reader.wait();
  pthread_mutex_destroy(&table->mutex);
  if (wrong != 0 || status != 0) {
    state.SkipWithError("shared table returned wrong values");
    return;
  }
  state.counters["verified"] = 1;
}

void add_psync_benchmarks(const Selection& selection) {
  const std::size_t cores = hardware_threads();
  std::vector<std::size_t> process_counts{1, 2};
  if (cores > 2) process_counts.push_back(cores);
  for (auto [name, kind] :
       {std::pair{"atomic", CounterKind::atomic}, std::pair{"mutex", CounterKind::mutex},
        std::pair{"robust_mutex", CounterKind::robust_mutex},
        std::pair{"semaphore", CounterKind::semaphore}}) {
    auto* b = add_primitive(selection, std::string("psync/counter/") + name,
                            [kind = kind](benchmark::State& s) { counter_benchmark(s, kind); });
    if (b == nullptr) continue;
    b->ArgNames({"procs"})->UseRealTime()->Unit(benchmark::kMicrosecond);
    for (std::size_t p : process_counts) b->Arg(static_cast<std::int64_t>(p));
  }
  for (auto [name, kind] :
       {std::pair{"semaphore", PingKind::semaphore}, std::pair{"condvar", PingKind::condvar},
        std::pair{"event", PingKind::event}})
    if (auto* b =
            add_primitive(selection, std::string("psync/pingpong/") + name,
                          [kind = kind](benchmark::State& s) { pingpong_benchmark(s, kind); }))
      b->UseRealTime()->Unit(benchmark::kMicrosecond);
  if (auto* barrier = add_primitive(selection, "psync/barrier", &barrier_benchmark)) {
    barrier->ArgNames({"procs"})->UseRealTime()->Unit(benchmark::kMicrosecond);
    for (std::size_t p : process_counts)
      if (p > 1) barrier->Arg(static_cast<std::int64_t>(p));
  }
  for (bool get : {false, true}) {
    if (auto* b = add_primitive(selection, std::string("psync/manager/") + (get ? "get" : "set"),
                                [get](benchmark::State& s) { manager_benchmark(s, get); }))
      b->UseRealTime()->Unit(benchmark::kMicrosecond);
    if (auto* b = add_primitive(selection, std::string("psync/shared_map/") + (get ? "get" : "set"),
                                [get](benchmark::State& s) { shared_map_benchmark(s, get); }))
      b->UseRealTime()->Unit(benchmark::kMicrosecond);
  }
}

const bool registered = register_family(
    "psync", &add_psync_benchmarks,
    "synchronisation between processes through shared memory, and a manager-style server");

}  // namespace
}  // namespace parbench
