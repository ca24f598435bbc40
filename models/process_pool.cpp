// process_pool: p worker processes created once with the executor and reused,
// like multiprocessing.Pool. The parent hands out work and waits; it does not
// compute.
//
// Design
// - Everything the workers share with the parent lives in mappings made
//   before the workers are forked: a control block, and an arena (a large
//   MAP_SHARED | MAP_NORESERVE reservation) from which allocate() hands out
//   memory. So inputs a workload prepares after the pool exists, and the
//   results its workers write, are visible on both sides.
// - A job (one parallel_for or spawn_tasks) is published in the control block
//   under a sequence lock: the parent makes the sequence odd, writes the job
//   (trampoline, n, grain, and a byte copy of the body: bodies must capture by
//   value, see core/executor.hpp), and makes it even again. Workers copy the
//   job out and retry if the sequence moved meanwhile.
// - Workers claim chunks with a compare-and-swap on one 64-bit word holding
//   (job sequence, next chunk), so a worker late from an old job can never
//   take a chunk of the next one. The worker that finishes the last chunk
//   publishes the job as done.
// - spawn_tasks sends a message per task (its index) through a bounded
//   multi-consumer ring in the control block, like Pool.apply_async per task:
//   the parent publishes the job, then pushes the messages one by one (waiting
//   for a free cell when the ring is full); workers pop and run them. Ring
//   positions count up across jobs and a job's messages take positions
//   [first, first + count), so a worker late from an old job finds the ring
//   past its job and leaves without popping anything of the next.
// - Wake-ups: idle workers spin briefly, then sleep on a futex on the
//   sequence word; the parent spins briefly, then sleeps on a futex on the
//   done word with a 10 ms timeout, and on every timeout checks that each
//   worker is alive (waitpid WNOHANG): a worker that crashed or was killed
//   fails the call within a bounded time with its number, pid and signal, and
//   the pool is marked broken.
// - A body's exception is caught in the worker, its message kept in the
//   control block and rethrown by the parent as std::runtime_error.
// - fork_join runs its halves serially in the caller (its closures write to
//   the caller's stack, which workers cannot reach); nested regions inside a
//   worker run inline.
// - Workers never touch oneTBB, OpenMP or the thread pool; they run plain
//   kernels, ask for SIGKILL if the parent dies, and leave with _exit. The
//   destructor stops them and reaps every one (no zombies).
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/first_exception.hpp"
#include "core/model.hpp"
#include "primitives/cpu_relax.hpp"
#include "process/process_util.hpp"

namespace parbench {
namespace {

constexpr std::size_t kClosureWords = 32;  // bodies up to 256 bytes
constexpr std::size_t kArenaBytes = std::size_t{32} << 30;
constexpr std::chrono::microseconds kSpinTime{100};
constexpr std::size_t kRingCells = 1024;  // task messages in flight, parent to workers

enum class JobKind : std::uint32_t { range = 0, tasks = 1 };

// One cell of the task ring (Vyukov's bounded queue with one producer): the
// cell at position pos is free for the producer when turn == pos and holds a
// message for the consumers when turn == pos + 1.
struct alignas(64) RingCell {
  std::atomic<std::uint64_t> turn{0};
  std::atomic<std::uint64_t> message{0};
};

// The shared control block. Job fields are atomics read and written with
// acquire/release under the sequence lock (no torn or stale reads).
struct Control {
  alignas(64) std::atomic<std::uint32_t> sequence{0};  // even: job stable; futex word
  std::atomic<std::uint32_t> sleepers{0};
  std::atomic<std::uint32_t> stop{0};
  std::atomic<std::uint32_t> kind{0};
  std::atomic<std::size_t> n{0}, grain{1}, chunks{0};
  std::atomic<std::uintptr_t> trampoline{0};
  std::atomic<std::uint64_t> closure[kClosureWords] = {};
  std::atomic<std::uint64_t> first_message{0};          // tasks: ring position of the job's first
  alignas(64) std::atomic<std::uint64_t> next{0};       // (sequence << 32) | next chunk
  alignas(64) std::atomic<std::uint64_t> ring_head{0};  // next ring position to pop
  RingCell ring[kRingCells];
  alignas(64) std::atomic<std::uint64_t> finished{0};
  alignas(64) std::atomic<std::uint32_t> done{0};  // sequence of the last finished job; futex word
  std::atomic<std::uint32_t> parent_sleeping{0};
  std::atomic<std::uint32_t> failed{0};
  char message[512] = {};
};

struct LocalJob {
  JobKind kind;
  std::size_t n, grain, chunks;
  std::uint64_t first_message;
  std::uintptr_t trampoline;
  alignas(64) std::uint64_t closure[kClosureWords];
};

// A bump allocator over the shared reservation. Freed blocks are returned to
// the kernel (MADV_REMOVE: they read as zero when reused); the bump pointer
// rewinds when nothing is live.
class Arena {
 public:
  Arena() : mapping_(kArenaBytes, /*reserve_only=*/true) {}
  Memory allocate(std::size_t bytes) {
    if (bytes == 0) return {};
    const std::size_t rounded = (bytes + 4095) / 4096 * 4096;
    std::lock_guard lock(mutex_);
    if (rounded > mapping_.bytes() - offset_) throw std::bad_alloc();
    void* data = static_cast<char*>(mapping_.data()) + offset_;
    offset_ += rounded;
    ++live_;
    prefault_pages(data, rounded);  // as every model's memory (core/executor.hpp)
    return Memory(data, rounded, &Arena::release, this);
  }

 private:
  static void release(void* context, void* data, std::size_t bytes) noexcept {
    auto* arena = static_cast<Arena*>(context);
    madvise(data, bytes, MADV_REMOVE);
    std::lock_guard lock(arena->mutex_);
    if (--arena->live_ == 0) arena->offset_ = 0;
  }

  SharedMapping mapping_;
  std::mutex mutex_;
  std::size_t offset_ = 0, live_ = 0;
};

class ProcessPoolExecutor final : public RangeOnlyExecutor {
 public:
  ProcessPoolExecutor(std::size_t workers, const Placement& placement)
      : workers_(workers), control_mapping_(sizeof(Control)) {
    control_ = new (control_mapping_.data()) Control();
    for (std::size_t c = 0; c < kRingCells; ++c) control_->ring[c].turn.store(c);
    children_.reserve(workers);
    for (std::size_t k = 0; k < workers; ++k)
      children_.emplace_back([this, k, &placement] {
        in_worker_ = true;
        placement.bind_current_thread(
            k);  // sched_setaffinity after fork, as a pool's initializer would
        worker_loop();
        return 0;
      });
  }

  ~ProcessPoolExecutor() override {
    control_->stop.store(1, std::memory_order_seq_cst);
    control_->sequence.fetch_add(2, std::memory_order_seq_cst);
    futex_wake(control_->sequence, INT_MAX);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
    for (auto& child : children_) {
      int status = 0;
      while (!child.try_wait(status) && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    // ~ChildProcess kills and reaps any worker that did not leave in time.
  }

  std::size_t workers() const noexcept override { return workers_; }
  Memory allocate(std::size_t bytes) override { return arena_.allocate(bytes); }

  void parallel_for(std::size_t n, std::size_t grain, RangeBody body) override {
    check_grain(grain);
    const std::size_t chunks = chunk_count(n, grain);
    if (chunks == 0) return;
    if (in_worker_) {  // nested inside a worker: run inline
      for (std::size_t c = 0; c < chunks; ++c) {
        const Chunk chunk = chunk_bounds(n, grain, c);
        body(chunk.lo, chunk.hi);
      }
      return;
    }
    run_job(JobKind::range, n, grain, chunks, body.object(), body.object_size(),
            body.trivially_copyable(), reinterpret_cast<std::uintptr_t>(body.trampoline()));
  }

  void spawn_tasks(std::size_t count, IndexBody task) override {
    if (count == 0) return;
    if (in_worker_) {
      for (std::size_t i = 0; i < count; ++i) task(i);
      return;
    }
    run_job(JobKind::tasks, count, 1, count, task.object(), task.object_size(),
            task.trivially_copyable(), reinterpret_cast<std::uintptr_t>(task.trampoline()));
  }

 private:
  void run_job(JobKind kind, std::size_t n, std::size_t grain, std::size_t chunks,
               const void* object, std::size_t object_size, bool copyable,
               std::uintptr_t trampoline) {
    if (!broken_.empty()) throw std::runtime_error("process_pool is broken: " + broken_);
    if (!copyable || object_size > sizeof(std::uint64_t) * kClosureWords)
      throw std::logic_error(
          "process_pool: a body must capture by value (trivially copyable, at most 256 bytes)");
    if (chunks >= (std::uint64_t{1} << 32))
      throw std::length_error("process_pool: more than 2^32 chunks in one region");
    Control& control = *control_;
    // Publish the job under the sequence lock.
    const std::uint32_t odd = control.sequence.load(std::memory_order_relaxed) + 1;
    control.sequence.store(odd, std::memory_order_relaxed);
    const std::uint32_t job = odd + 1;
    control.kind.store(static_cast<std::uint32_t>(kind), std::memory_order_release);
    control.n.store(n, std::memory_order_release);
    control.grain.store(grain, std::memory_order_release);
    control.chunks.store(chunks, std::memory_order_release);
    control.trampoline.store(trampoline, std::memory_order_release);
    std::uint64_t words[kClosureWords] = {};
    std::memcpy(words, object, object_size);
    for (std::size_t w = 0; w < kClosureWords; ++w)
      control.closure[w].store(words[w], std::memory_order_release);
    control.failed.store(0, std::memory_order_release);
    control.finished.store(0, std::memory_order_release);
    control.first_message.store(ring_tail_, std::memory_order_release);
    control.next.store(std::uint64_t{job} << 32, std::memory_order_release);
    control.sequence.store(job, std::memory_order_seq_cst);
    if (control.sleepers.load(std::memory_order_seq_cst) > 0) futex_wake(control.sequence, INT_MAX);
    if (kind == JobKind::tasks)
      for (std::size_t i = 0; i < n; ++i) send_task(i);
    wait_for(job);
    if (control.failed.load(std::memory_order_acquire)) throw std::runtime_error(control.message);
  }

  void wait_for(std::uint32_t job) {
    Control& control = *control_;
    const auto start = std::chrono::steady_clock::now();
    for (std::uint32_t spins = 0; control.done.load(std::memory_order_acquire) != job; ++spins) {
      if ((spins & 255) != 0 || std::chrono::steady_clock::now() - start < kSpinTime) {
        cpu_relax();
        continue;
      }
      control.parent_sleeping.store(1, std::memory_order_seq_cst);
      const std::uint32_t seen = control.done.load(std::memory_order_seq_cst);
      if (seen != job) futex_wait(control.done, seen, 10'000'000);
      control.parent_sleeping.store(0, std::memory_order_relaxed);
      if (control.done.load(std::memory_order_acquire) != job) check_workers_alive();
    }
  }

  // Pushes task message i into the next ring cell, waiting while the ring is
  // full (workers free cells as they pop); a worker that died is noticed.
  void send_task(std::size_t i) {
    RingCell& cell = control_->ring[ring_tail_ % kRingCells];
    const auto start = std::chrono::steady_clock::now();
    for (std::uint32_t spins = 0; cell.turn.load(std::memory_order_acquire) != ring_tail_;
         ++spins) {
      if ((spins & 255) != 0 || std::chrono::steady_clock::now() - start < kSpinTime) {
        cpu_relax();
        continue;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(50));
      check_workers_alive();
    }
    cell.message.store(i, std::memory_order_relaxed);
    cell.turn.store(ring_tail_ + 1, std::memory_order_release);
    ++ring_tail_;
  }

  void check_workers_alive() {
    for (std::size_t k = 0; k < children_.size(); ++k) {
      int status = 0;
      if (children_[k].try_wait(status)) {
        broken_ = "worker " + std::to_string(k) + " (pid " + std::to_string(children_[k].pid()) +
                  ") " + describe_wait_status(status);
        throw std::runtime_error("process_pool " + broken_);
      }
    }
  }

  // Runs in each worker process; never returns.
  [[noreturn]] void worker_loop() {
    Control& control = *control_;
    // 0: the sequence before any job. Not a fresh load: the parent may have
    // published the first job before this process even got to run.
    std::uint32_t handled = 0;
    LocalJob job{};
    for (;;) {
      const std::uint32_t sequence = wait_for_new_job(handled);
      if (control.stop.load(std::memory_order_acquire)) _exit(0);
      job.kind = static_cast<JobKind>(control.kind.load(std::memory_order_acquire));
      job.n = control.n.load(std::memory_order_acquire);
      job.grain = control.grain.load(std::memory_order_acquire);
      job.chunks = control.chunks.load(std::memory_order_acquire);
      job.first_message = control.first_message.load(std::memory_order_acquire);
      job.trampoline = control.trampoline.load(std::memory_order_acquire);
      for (std::size_t w = 0; w < kClosureWords; ++w)
        job.closure[w] = control.closure[w].load(std::memory_order_acquire);
      if (control.sequence.load(std::memory_order_acquire) != sequence) continue;  // torn: retry
      handled = sequence;
      if (job.kind == JobKind::tasks)
        run_tasks(job, sequence);
      else
        run_chunks(job, sequence);
    }
  }

  std::uint32_t wait_for_new_job(std::uint32_t handled) {
    Control& control = *control_;
    const auto start = std::chrono::steady_clock::now();
    for (std::uint32_t spins = 0;; ++spins) {
      const std::uint32_t sequence = control.sequence.load(std::memory_order_acquire);
      if (sequence != handled && (sequence & 1) == 0) return sequence;
      if ((spins & 255) != 0 || std::chrono::steady_clock::now() - start < kSpinTime) {
        cpu_relax();
        continue;
      }
      control.sleepers.fetch_add(1, std::memory_order_seq_cst);
      const std::uint32_t now = control.sequence.load(std::memory_order_seq_cst);
      if (now == handled) futex_wait(control.sequence, now);
      control.sleepers.fetch_sub(1, std::memory_order_seq_cst);
    }
  }

  // Pops and runs task messages of this job until all its positions are taken.
  void run_tasks(LocalJob& job, std::uint32_t sequence) {
    Control& control = *control_;
    const std::uint64_t end = job.first_message + job.chunks;
    std::uint64_t position = control.ring_head.load(std::memory_order_acquire);
    for (std::uint32_t waits = 0; position < end;) {
      if (position < job.first_message) {  // cannot happen: the old job finished first
        position = control.ring_head.load(std::memory_order_acquire);
        continue;
      }
      RingCell& cell = control.ring[position % kRingCells];
      if (cell.turn.load(std::memory_order_acquire) != position + 1) {
        // Not sent yet (the parent is still pushing), or popped by another worker.
        const std::uint64_t head = control.ring_head.load(std::memory_order_acquire);
        if (head == position && ++waits > 64) std::this_thread::yield();
        if (head == position) cpu_relax();
        position = head;
        continue;
      }
      if (!control.ring_head.compare_exchange_weak(position, position + 1,
                                                   std::memory_order_acq_rel))
        continue;  // another worker took it; position holds the new head
      waits = 0;
      const std::uint64_t index = cell.message.load(std::memory_order_relaxed);
      cell.turn.store(position + kRingCells, std::memory_order_release);  // free for the parent
      run_one(job, index);
      finish_one(job, sequence);
      position = control.ring_head.load(std::memory_order_acquire);
    }
  }

  void run_one(LocalJob& job, std::uint64_t index) noexcept {
    note_cpu();
    try {
      if (job.kind == JobKind::range) {
        const Chunk chunk = chunk_bounds(job.n, job.grain, index);
        reinterpret_cast<RangeBody::Trampoline>(job.trampoline)(job.closure, chunk.lo, chunk.hi);
      } else {
        reinterpret_cast<IndexBody::Trampoline>(job.trampoline)(job.closure, index);
      }
    } catch (const std::exception& error) {
      record_failure(error.what());
    } catch (...) {
      record_failure("unknown exception");
    }
  }

  void finish_one(const LocalJob& job, std::uint32_t sequence) noexcept {
    Control& control = *control_;
    if (control.finished.fetch_add(1, std::memory_order_acq_rel) + 1 == job.chunks) {
      control.done.store(sequence, std::memory_order_seq_cst);
      if (control.parent_sleeping.load(std::memory_order_seq_cst)) futex_wake(control.done, 1);
    }
  }

  void run_chunks(LocalJob& job, std::uint32_t sequence) {
    Control& control = *control_;
    std::uint64_t claim = control.next.load(std::memory_order_acquire);
    for (;;) {
      if ((claim >> 32) != sequence) return;  // a newer job: not ours to take
      const std::uint64_t c = claim & 0xffffffffULL;
      if (c >= job.chunks) return;
      if (!control.next.compare_exchange_weak(claim, claim + 1, std::memory_order_acq_rel))
        continue;
      run_one(job, c);
      finish_one(job, sequence);
      claim = control.next.load(std::memory_order_acquire);
    }
  }

  void record_failure(const char* what) noexcept {
    std::uint32_t expected = 0;
    if (control_->failed.compare_exchange_strong(expected, 1))
      std::strncpy(control_->message, what, sizeof(control_->message) - 1);
  }

  std::size_t workers_;
  SharedMapping control_mapping_;
  Control* control_;
  Arena arena_;
  std::vector<ChildProcess> children_;
  std::uint64_t ring_tail_ = 0;  // the parent's next ring position to push
  bool in_worker_ = false;       // true in a worker's copy of this object
  std::string broken_;           // why the pool cannot be used any more
};

const bool registered = register_model({
    .name = "process_pool",
    .label = "process pool",
    .group = "processes",
    .launch = "fork",
    .summary =
        "p persistent worker processes fed through shared memory (like multiprocessing.Pool)",
    .order = 60,
    .parallel = true,
    .task_spawn = "a message per task through a shared-memory queue to the worker processes "
                  "(like Pool.apply_async per task)",
    .concurrent_tasks = true,
    .limit_fork_join = "fork_join runs its halves one after the other: a worker process cannot "
                       "write to the caller's stack, where fork_join's closures keep their results",
    .create = [](std::size_t workers, const Placement& placement) -> std::unique_ptr<Executor> {
      return std::make_unique<ProcessPoolExecutor>(workers, placement);
    },
    .note = "fork_join runs its halves serially; bodies must capture by value and write results to "
            "memory from allocate()",
    .max_concurrency = 256,
});

}  // namespace
}  // namespace parbench
