// spawn/: the cost to start one unit of work and see it finish, one unit per
// iteration (counter ns_per_spawn), from nanoseconds to milliseconds:
//   function_call_baseline  an indirect call of the same unit: the floor
//   coroutine          create a C++20 coroutine, resume it to completion, destroy it
//   pool_task          parbench's pool: submit() -> future.get() (the waiter
//                      runs the task itself if no worker has started it, as
//                      oneTBB's task_group::wait does)
//   tbb_task_group     oneTBB task_group::run + wait
//   openmp_task        an OpenMP task + taskwait inside one parallel region
//   thread             std::thread create + join
//   async              std::async(std::launch::async) + get
//   process_pool_task  a one-chunk parallel_for round trip on the process_pool model
//   vfork              vfork + _exit + waitpid
//   fork               fork + _exit + waitpid
//   posix_spawn        posix_spawn of /bin/true + waitpid (includes exec)
// Each unit adds its index to a counter that is checked afterwards (a unit
// that did not run fails the benchmark); child processes must exit with 0.
#include <benchmark/benchmark.h>
#include <omp.h>
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <future>
#include <string>
#include <thread>

#include "benchmarks/harness.hpp"
#include "benchmarks/team.hpp"
#include "core/model.hpp"
#include "coro/coro.hpp"
#include "models/thread_pool.hpp"

extern char** environ;

namespace parbench {
namespace {

coro::Task<std::uint64_t> plus_one(std::uint64_t x) {
  co_return x + 1;
}

/// Runs one unit per iteration; unit(i) must make `sum` grow by i + 1.
template <class Unit>
void spawn_units(benchmark::State& state, std::atomic<std::uint64_t>& sum, Unit unit) {
  std::uint64_t i = 0;
  time_units(state, "ns_per_spawn", 1.0, [&] { unit(i++); });
  expect_count(state, sum.load(), i * (i + 1) / 2, /*per_iteration=*/false);
}

void spawn_function_call(benchmark::State& state) {
  std::atomic<std::uint64_t> sum{0};
  std::function<void(std::uint64_t)> unit = [&sum](std::uint64_t i) {
    sum.fetch_add(i + 1, std::memory_order_relaxed);
  };
  benchmark::DoNotOptimize(unit);
  spawn_units(state, sum, [&](std::uint64_t i) { unit(i); });
}

void spawn_coroutine(benchmark::State& state) {
  std::atomic<std::uint64_t> sum{0};
  spawn_units(state, sum, [&](std::uint64_t i) {
    coro::Task<std::uint64_t> task = plus_one(i);  // create (the frame is allocated)
    task.handle().resume();                        // run to completion
    sum.fetch_add(task.result(), std::memory_order_relaxed);
  });  // destroy
}

void spawn_pool_task(benchmark::State& state) {
  ThreadPool pool(1);  // one worker, as the task_group's arena has: either may run the unit
  std::atomic<std::uint64_t> sum{0};
  spawn_units(state, sum, [&](std::uint64_t i) {
    pool.submit([&sum, i] { sum.fetch_add(i + 1, std::memory_order_relaxed); }).get();
  });
}

void spawn_tbb_task_group(benchmark::State& state) {
  tbb::task_arena arena(2);
  std::atomic<std::uint64_t> sum{0};
  arena.execute([&] {
    spawn_units(state, sum, [&](std::uint64_t i) {
      tbb::task_group group;
      group.run([&sum, i] { sum.fetch_add(i + 1, std::memory_order_relaxed); });
      group.wait();
    });
  });
}

void spawn_openmp_task(benchmark::State& state) {
  std::atomic<std::uint64_t> sum{0};
#pragma omp parallel num_threads(2)
#pragma omp single
  spawn_units(state, sum, [&](std::uint64_t i) {
#pragma omp task firstprivate(i) shared(sum)
    sum.fetch_add(i + 1, std::memory_order_relaxed);
#pragma omp taskwait
  });
}

void spawn_thread(benchmark::State& state) {
  std::atomic<std::uint64_t> sum{0};
  spawn_units(state, sum, [&](std::uint64_t i) {
    std::thread thread([&sum, i] { sum.fetch_add(i + 1, std::memory_order_relaxed); });
    thread.join();
  });
}

void spawn_async(benchmark::State& state) {
  std::atomic<std::uint64_t> sum{0};
  spawn_units(state, sum, [&](std::uint64_t i) {
    std::async(std::launch::async, [&sum, i] {
      sum.fetch_add(i + 1, std::memory_order_relaxed);
    }).get();
  });
}

void spawn_process_pool_task(benchmark::State& state) {
  try {
    const auto executor = find_model("process_pool")->make(1);
    Array<std::uint64_t> total(*executor, 1);  // shared with the worker process
    std::uint64_t* cell = total.data();
    std::atomic<std::uint64_t> sum{0};
    spawn_units(state, sum, [&](std::uint64_t i) {
      executor->parallel_for(1, 1, [cell, i](std::size_t, std::size_t) { *cell += i + 1; });
      sum.store(*cell, std::memory_order_relaxed);
    });
  } catch (const std::exception& error) {
    state.SkipWithError(("exception: " + std::string(error.what())).c_str());
  }
}

/// Reaps child pid; the unit counts only if it exited with status 0.
std::uint64_t reaped_ok(pid_t pid, std::uint64_t value) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? value : 0;
}

void spawn_fork(benchmark::State& state) {
  std::atomic<std::uint64_t> sum{0};
  spawn_units(state, sum, [&](std::uint64_t i) {
    const pid_t pid = ::fork();
    if (pid == 0) ::_exit(0);  // the child runs nothing that a fork could break
    if (pid > 0) sum.fetch_add(reaped_ok(pid, i + 1));
  });
}

void spawn_vfork(benchmark::State& state) {
  std::atomic<std::uint64_t> sum{0};
  spawn_units(state, sum, [&](std::uint64_t i) {
    const pid_t pid = ::vfork();
    if (pid == 0) ::_exit(0);
    if (pid > 0) sum.fetch_add(reaped_ok(pid, i + 1));
  });
}

void spawn_posix_spawn(benchmark::State& state) {
  std::atomic<std::uint64_t> sum{0};
  char program[] = "/bin/true";
  char* argv[] = {program, nullptr};
  spawn_units(state, sum, [&](std::uint64_t i) {
    pid_t pid = -1;
    if (::posix_spawn(&pid, program, nullptr, nullptr, argv, environ) == 0)
      sum.fetch_add(reaped_ok(pid, i + 1));
  });
}

void add_spawn_benchmarks(const Selection& selection) {
  for (const auto& [name, function] :
       std::vector<std::pair<const char*, void (*)(benchmark::State&)>>{
           {"spawn/function_call_baseline", spawn_function_call},
           {"spawn/coroutine", spawn_coroutine},
           {"spawn/pool_task", spawn_pool_task},
           {"spawn/tbb_task_group", spawn_tbb_task_group},
           {"spawn/openmp_task", spawn_openmp_task},
           {"spawn/thread", spawn_thread},
           {"spawn/async", spawn_async},
           {"spawn/process_pool_task", spawn_process_pool_task},
           {"spawn/vfork", spawn_vfork},
           {"spawn/fork", spawn_fork},
           {"spawn/posix_spawn", spawn_posix_spawn}})
    if (auto* b = add_primitive(selection, name, function))
      b->UseRealTime()->Unit(benchmark::kNanosecond);
}

const bool registered = register_family(
    "spawn", &add_spawn_benchmarks,
    "the cost to start one unit of work and see it finish, from a coroutine to a thread");

}  // namespace
}  // namespace parbench
