// parbench's own lock-free single-producer/single-consumer ring. Head and tail
// live on their own cache lines, and each side keeps a cached copy of the
// other's index so that it touches the shared line only when the ring looks
// full (producer) or empty (consumer). Capacity is a power of two.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <optional>
#include <stdexcept>
#include <type_traits>

namespace parbench {

template <class T>
class SpscRing {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  explicit SpscRing(std::size_t capacity) : mask_(capacity - 1), slots_(new T[capacity]) {
    if (capacity < 2 || (capacity & (capacity - 1)) != 0)
      throw std::invalid_argument("SpscRing: capacity must be a power of two >= 2");
  }
  /// Producer only. False if full.
  bool try_push(const T& value) noexcept {
    const std::size_t tail = tail_.load(std::memory_order_relaxed);
    if (tail - head_cache_ > mask_) {
      head_cache_ = head_.load(std::memory_order_acquire);
      if (tail - head_cache_ > mask_) return false;
    }
    slots_[tail & mask_] = value;
    tail_.store(tail + 1, std::memory_order_release);
    return true;
  }
  /// Consumer only. False if empty.
  bool try_pop(T& value) noexcept {
    const std::size_t head = head_.load(std::memory_order_relaxed);
    if (head == tail_cache_) {
      tail_cache_ = tail_.load(std::memory_order_acquire);
      if (head == tail_cache_) return false;
    }
    value = slots_[head & mask_];
    head_.store(head + 1, std::memory_order_release);
    return true;
  }
  std::size_t capacity() const noexcept { return mask_ + 1; }

 private:
  const std::size_t mask_;
  std::unique_ptr<T[]> slots_;
  alignas(64) std::atomic<std::size_t> head_{0};  // consumer's index
  std::size_t tail_cache_ = 0;                    // consumer's view of tail_
  alignas(64) std::atomic<std::size_t> tail_{0};  // producer's index
  std::size_t head_cache_ = 0;                    // producer's view of head_
};

}  // namespace parbench
