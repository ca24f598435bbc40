// The execution-model interface: the only thing a workload's kernel may use to
// run in parallel. A model implements these primitives and nothing else; every
// workload then runs on it and is verified by the workload's own checker.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <new>
#include <string>
#include <type_traits>

#include "core/function_ref.hpp"
#include "core/placement.hpp"

namespace parbench {

using RangeBody = FunctionRef<void(std::size_t lo, std::size_t hi)>;
using TaskBody = FunctionRef<void()>;
using IndexBody = FunctionRef<void(std::size_t index)>;
class RequestRunner;  // coro/requests.hpp
class Instance;       // core/workload.hpp
struct WorkloadInfo;  // core/workload.hpp

/// Number of chunks parallel_for(n, grain, ...) hands out: ceil(n / grain).
constexpr std::size_t chunk_count(std::size_t n, std::size_t grain) noexcept {
  return n / grain + (n % grain != 0 ? 1 : 0);
}

/// Bounds of chunk c: [c * grain, min(n, (c + 1) * grain)), overflow-safe.
struct Chunk {
  std::size_t lo, hi;
};
constexpr Chunk chunk_bounds(std::size_t n, std::size_t grain, std::size_t c) noexcept {
  const std::size_t lo = c * grain;
  return {lo, lo + (n - lo < grain ? n - lo : grain)};
}

/// Memory that every worker of a model can read and write (private pages for
/// threads; shared mappings for process models). Zero-filled, page-aligned
/// and faulted in before it is returned, on every model, so that no model's
/// arrays sit at different cache or page offsets, or take their page faults
/// inside a timed run, than another's. Released by its own deleter (with an
/// optional context, e.g. the arena it came from).
class Memory {
 public:
  using Deleter = void (*)(void* context, void* data, std::size_t bytes) noexcept;
  Memory() = default;
  Memory(void* data, std::size_t bytes, Deleter deleter, void* context = nullptr) noexcept
      : data_(data), bytes_(bytes), deleter_(deleter), context_(context) {}
  Memory(Memory&& other) noexcept { swap(other); }
  Memory& operator=(Memory&& other) noexcept {
    Memory(std::move(other)).swap(*this);
    return *this;
  }
  Memory(const Memory&) = delete;
  Memory& operator=(const Memory&) = delete;
  ~Memory() {
    if (data_ != nullptr) deleter_(context_, data_, bytes_);
  }
  void* data() const noexcept { return data_; }
  std::size_t bytes() const noexcept { return bytes_; }

 private:
  void swap(Memory& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(bytes_, other.bytes_);
    std::swap(deleter_, other.deleter_);
    std::swap(context_, other.context_);
  }
  void* data_ = nullptr;
  std::size_t bytes_ = 0;
  Deleter deleter_ = nullptr;
  void* context_ = nullptr;
};

/// Zero-filled private pages, faulted in: what thread-based models return.
/// (Not malloc: where malloc puts a large block depends on what the process
/// allocated and freed before, and that moved the page offsets of matmul's
/// matrices, and so its 4 KiB aliasing, between models: serial ran 0.75x the
/// speed of the same code at p = 1 on other models.)
Memory allocate_heap(std::size_t bytes);
/// Anonymous pages (MAP_SHARED if shared: visible to children forked later),
/// zero-filled and faulted in for writing; released with munmap.
Memory allocate_pages(std::size_t bytes, bool shared);
/// Faults in [data, data + bytes) for writing (page-aligned data).
void prefault_pages(void* data, std::size_t bytes) noexcept;

/// An execution model bound to a worker count. Contract for every primitive:
/// the first exception thrown by a body is rethrown to the caller after every
/// body that started has finished (no body outlives the call).
///
/// Bodies that must also run on process models (whose workers are other
/// processes) follow three rules: capture by value (the callable must be
/// trivially copyable: process_pool copies its bytes to its workers); reach
/// shared data only through pointers into memory from allocate(); and write
/// results only there. A process model may run fork_join's halves serially,
/// and rethrows a body's exception as std::runtime_error with its message.
class Executor {
 public:
  virtual ~Executor() = default;

  /// Number of workers p this executor was created with.
  virtual std::size_t workers() const noexcept = 0;

  /// Calls body(lo, hi) exactly once for each chunk c in [0, chunk_count(n, grain)),
  /// with [lo, hi) = chunk_bounds(n, grain, c), in any order and on any worker.
  /// The chunking depends only on n and grain, never on the model or p, so a
  /// reduction over per-chunk partials gives the same result everywhere.
  /// grain == 0 is rejected with std::invalid_argument.
  virtual void parallel_for(std::size_t n, std::size_t grain, RangeBody body) = 0;

  /// Runs a and b, possibly in parallel, and returns when both are done. May
  /// be called recursively from inside a, b or a parallel_for body.
  virtual void fork_join(TaskBody a, TaskBody b) = 0;

  /// Submits count independent tasks task(0) ... task(count - 1) one by one
  /// and waits for all. The default splits the index range recursively with
  /// fork_join; task-pool models override it with their native spawn.
  virtual void spawn_tasks(std::size_t count, IndexBody task);

  /// Zero-filled memory that every worker of this model can write.
  virtual Memory allocate(std::size_t bytes) { return allocate_heap(bytes); }

  /// The offset in its memory where the next Array made with this executor
  /// starts: the k-th is (k x 320) mod 4096 bytes into its page-aligned
  /// memory. Arrays walked in lockstep (a[i] = b[i] + c[i]) then never share
  /// their low 12 address bits, which x86 cores compare to tell whether a load
  /// depends on an earlier store (4 KiB aliasing); and the k-th array of a
  /// workload sits at the same offset on every model.
  std::size_t next_array_offset() noexcept { return (arrays_made_++ * 320) % 4096; }

  /// Coroutine models return their event-loop runner here, so that I/O
  /// requests (coro/requests.hpp) suspend instead of blocking a worker. The
  /// default, nullptr, runs each request as a blocking call in parallel_for.
  virtual RequestRunner* request_runner() noexcept { return nullptr; }

  /// Prepares `workload` at size n on this executor: what every caller (the
  /// harness, selfcheck, the tests) uses instead of WorkloadInfo::prepare.
  /// The default is workload.prepare(*this, n). SPMD models (mpi), whose
  /// workers are separate copies of this program, override it to prepare the
  /// same instance on every worker and return one whose run, verify and
  /// corrupt run on all of them in lockstep.
  virtual std::unique_ptr<Instance> prepare(const WorkloadInfo& workload, std::size_t n);

  /// A function of this program that takes the executor, for run_everywhere.
  using Program = void (*)(Executor&);
  /// Runs program(executor) on every worker of an SPMD model at once, each
  /// with its own executor (every call of a primitive inside it is then
  /// made by all of them, as SPMD code must); other models just call it. A
  /// program must behave the same on every worker: it is how code other than
  /// a workload (the model tests) runs on SPMD models.
  virtual void run_everywhere(Program program) { program(*this); }

  /// The CPUs this executor's workers were seen on since its last clear():
  /// the models note them as their workers take chunks (forked workers too:
  /// the trace lives in shared pages mapped before any worker starts). An
  /// SPMD model's ranks note none (their placement is the launcher's).
  CpuTrace& cpu_trace() noexcept { return *trace_; }

 protected:
  void note_cpu() noexcept { trace_->note(); }

 private:
  std::size_t arrays_made_ = 0;
  Memory trace_memory_ = allocate_pages(sizeof(CpuTrace), true);
  CpuTrace* trace_ = ::new (trace_memory_.data()) CpuTrace;
};

/// Base of the models whose workers share no memory to split a recursion
/// over (processes, MPI ranks): fork_join runs its halves one after the
/// other (their ModelInfo::limit_fork_join says so) and spawn_tasks hands
/// the task indices out as parallel_for chunks of one.
class RangeOnlyExecutor : public Executor {
 public:
  void fork_join(TaskBody a, TaskBody b) override {
    a();
    b();
  }
  void spawn_tasks(std::size_t count, IndexBody task) override {
    parallel_for(count, 1, [task](std::size_t lo, std::size_t hi) {
      for (std::size_t i = lo; i < hi; ++i) task(i);
    });
  }
};

/// Typed view over Memory from Executor::allocate, starting at the
/// executor's next_array_offset(). T must be an implicit-lifetime type (no
/// constructor runs: the bytes are zero) aligned to at most 64 bytes.
template <class T>
class Array {
  static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>);
  static_assert(alignof(T) <= 64);

 public:
  Array() = default;
  Array(Executor& executor, std::size_t size) : size_(size) {
    if (size == 0) return;
    const std::size_t offset = executor.next_array_offset();
    memory_ = executor.allocate(offset + size * sizeof(T));
    data_ = reinterpret_cast<T*>(static_cast<char*>(memory_.data()) + offset);
  }
  T* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  T& operator[](std::size_t i) const noexcept { return data()[i]; }
  T* begin() const noexcept { return data(); }
  T* end() const noexcept { return data() + size_; }

 private:
  Memory memory_;
  T* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace parbench
