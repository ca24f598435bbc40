// The execution-model interface: the only thing a workload's kernel may use to
// run in parallel. A model implements these primitives and nothing else; every
// workload then runs on it and is verified by the workload's own checker.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>

#include "core/function_ref.hpp"

namespace parbench {

using RangeBody = FunctionRef<void(std::size_t lo, std::size_t hi)>;
using TaskBody = FunctionRef<void()>;
using IndexBody = FunctionRef<void(std::size_t index)>;
class RequestRunner;  // core/requests.hpp

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

/// Memory that every worker of a model can read and write (plain heap memory
/// for threads; shared mappings for process models). Zero-filled, 64-byte
/// aligned, released by its own deleter (with an optional context, e.g. the
/// arena it came from).
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

/// Zero-filled, 64-byte aligned heap memory: what thread-based models return.
Memory allocate_heap(std::size_t bytes);

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

  /// Coroutine models return their event-loop runner here, so that I/O
  /// requests (core/requests.hpp) suspend instead of blocking a worker. The
  /// default, nullptr, runs each request as a blocking call in parallel_for.
  virtual RequestRunner* request_runner() noexcept { return nullptr; }
};

/// Typed view over Memory from Executor::allocate. T must be an implicit-
/// lifetime type (no constructor runs: the bytes are zero).
template <class T>
class Array {
  static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>);

 public:
  Array() = default;
  Array(Executor& executor, std::size_t size)
      : memory_(executor.allocate(size * sizeof(T))), size_(size) {}
  T* data() const noexcept { return static_cast<T*>(memory_.data()); }
  std::size_t size() const noexcept { return size_; }
  T& operator[](std::size_t i) const noexcept { return data()[i]; }
  T* begin() const noexcept { return data(); }
  T* end() const noexcept { return data() + size_; }

 private:
  Memory memory_;
  std::size_t size_ = 0;
};

}  // namespace parbench
