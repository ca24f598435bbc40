#include "coro/coro_runtime.hpp"

#include <stdexcept>

namespace parbench {

struct CoroutineRuntime::Job {
  enum class Kind { range, requests, tasks } kind = Kind::range;
  std::size_t n = 0, grain = 1, items = 0;  // items: chunks, requests or tasks
  RangeBody* body = nullptr;
  IoRequest* request = nullptr;
  IndexBody* task = nullptr;
  std::atomic<std::size_t> next{0};
  FirstException error;
};

namespace {

// The runtime whose share the current thread is running (nested calls from
// inside a body must not start another round on the same loops).
thread_local const CoroutineRuntime* t_running = nullptr;

coro::Task<void> range_worker(coro::Io io, CoroutineRuntime::Job* job) {
  for (;;) {
    const std::size_t c = job->next.fetch_add(1, std::memory_order_relaxed);
    if (c >= job->items || job->error.failed()) co_return;
    const Chunk chunk = chunk_bounds(job->n, job->grain, c);
    try {
      (*job->body)(chunk.lo, chunk.hi);
    } catch (...) {
      job->error.capture();
      co_return;
    }
    co_await io.yield();  // let the loop's other coroutines run between chunks
  }
}

coro::Task<void> request_worker(coro::Io io, CoroutineRuntime::Job* job) {
  for (;;) {
    const std::size_t i = job->next.fetch_add(1, std::memory_order_relaxed);
    if (i >= job->items || job->error.failed()) co_return;
    bool failed = false;
    try {
      co_await (*job->request)(i, io);
    } catch (...) {
      job->error.capture();
      failed = true;
    }
    if (failed) co_return;
  }
}

/// A started coroutine that nobody awaits (asyncio.create_task's task): it
/// waits in the loop's ready queue, runs when resumed and frees its frame.
struct SpawnedTask {
  struct promise_type {
    SpawnedTask get_return_object() noexcept {
      return {std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    std::suspend_always initial_suspend() const noexcept { return {}; }
    std::suspend_never final_suspend() const noexcept { return {}; }
    void return_void() const noexcept {}
    void unhandled_exception() const noexcept { std::terminate(); }
  };
  std::coroutine_handle<promise_type> handle;
};

SpawnedTask task_coroutine(CoroutineRuntime::Job* job, std::size_t index, std::size_t* in_flight) {
  try {
    (*job->task)(index);
  } catch (...) {
    job->error.capture();
  }
  --*in_flight;  // the spawner's frame outlives every task it started
  co_return;
}

/// Starts a coroutine per claimed task index on its loop, at most `limit` in
/// flight, and returns when all it started have finished.
coro::Task<void> task_spawner(coro::Io io, CoroutineRuntime::Job* job, std::size_t limit) {
  std::size_t in_flight = 0;
  for (;;) {
    while (in_flight >= limit) co_await io.yield();  // the loop runs the queued tasks
    const std::size_t i = job->next.fetch_add(1, std::memory_order_relaxed);
    if (i >= job->items || job->error.failed()) break;
    ++in_flight;
    io.loop()->post(task_coroutine(job, i, &in_flight).handle);
  }
  while (in_flight > 0) co_await io.yield();
}

/// Coroutines thread t runs out of `total` spread over `threads` loops.
std::size_t share_of(std::size_t total, std::size_t threads, std::size_t t) {
  return total / threads + (t < total % threads ? 1 : 0);
}

}  // namespace

namespace {
std::size_t checked_threads(std::size_t concurrency, std::size_t threads) {
  if (concurrency == 0 || threads == 0 || threads > concurrency)
    throw std::invalid_argument("coroutine runtime: need 1 <= threads <= concurrency");
  return threads;
}
}  // namespace

CoroutineRuntime::CoroutineRuntime(std::size_t concurrency, std::size_t threads,
                                   const Placement& placement)
    : concurrency_(concurrency),
      placement_(placement),
      caller_(placement, 0),
      bound_(threads, 0),
      team_(checked_threads(concurrency, threads)) {
  const coro::Backend backend = coro::default_backend();
  for (std::size_t t = 0; t < threads; ++t) loops_.push_back(coro::make_loop(backend));
}

CoroutineRuntime::~CoroutineRuntime() = default;

void CoroutineRuntime::run_share(std::size_t thread, Job& job) noexcept {
  const std::size_t workers = std::min(concurrency_, job.items);
  const std::size_t mine = share_of(workers, loops_.size(), thread);
  if (mine == 0) return;
  if (thread > 0 && !bound_[thread]) {  // a loop thread binds itself once, on its first share
    placement_.bind_current_thread(thread);
    bound_[thread] = 1;
  }
  note_cpu();
  coro::Loop& loop = *loops_[thread];
  const coro::Io io(&loop);
  t_running = this;
  try {
    if (job.kind == Job::Kind::tasks) {
      loop.run(task_spawner(io, &job, mine));
    } else {
      std::vector<coro::Task<void>> tasks;
      tasks.reserve(mine);
      for (std::size_t k = 0; k < mine; ++k)
        tasks.push_back(job.kind == Job::Kind::range ? range_worker(io, &job)
                                                     : request_worker(io, &job));
      loop.run(coro::when_all(std::move(tasks)));
    }
  } catch (...) {
    job.error.capture();  // the loop itself failed (the workers catch their own)
  }
  t_running = nullptr;
}

void CoroutineRuntime::run(Job& job) {
  if (job.items == 0) return;
  team_.run([&](std::size_t thread) { run_share(thread, job); });
  job.error.rethrow_if_any();
}

void CoroutineRuntime::parallel_for(std::size_t n, std::size_t grain, RangeBody body) {
  check_grain(grain);
  const std::size_t chunks = chunk_count(n, grain);
  if (t_running == this) {  // nested inside a body: this coroutine runs them in order
    for (std::size_t c = 0; c < chunks; ++c) {
      const Chunk chunk = chunk_bounds(n, grain, c);
      body(chunk.lo, chunk.hi);
    }
    return;
  }
  Job job;
  job.kind = Job::Kind::range;
  job.n = n;
  job.grain = grain;
  job.items = chunks;
  job.body = &body;
  run(job);
}

void CoroutineRuntime::fork_join(TaskBody a, TaskBody b) {
  if (t_running == this) {
    a();
    b();
    return;
  }
  parallel_for(2, 1, [&](std::size_t lo, std::size_t) { lo == 0 ? a() : b(); });
}

void CoroutineRuntime::spawn_tasks(std::size_t count, IndexBody task) {
  if (t_running == this) {  // nested inside a body: this coroutine runs them in order
    for (std::size_t i = 0; i < count; ++i) task(i);
    return;
  }
  Job job;
  job.kind = Job::Kind::tasks;
  job.n = count;
  job.items = count;
  job.task = &task;
  run(job);
}

void CoroutineRuntime::run_requests(std::size_t n, IoRequest request) {
  if (t_running == this)
    throw std::logic_error("run_requests: nested inside a coroutine model's body");
  Job job;
  job.kind = Job::Kind::requests;
  job.n = n;
  job.items = n;
  job.request = &request;
  run(job);
}

}  // namespace parbench
