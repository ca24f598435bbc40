// parbench's own bounded multi-producer/multi-consumer queue (the
// sequence-number design of D. Vyukov): every slot carries a sequence that
// says whose turn it is, so producers and consumers each claim a position
// with one compare-and-swap and never take a lock. Capacity is a power of two.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <stdexcept>
#include <type_traits>

namespace parbench {

template <class T>
class MpmcQueue {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  explicit MpmcQueue(std::size_t capacity) : mask_(capacity - 1), slots_(new Slot[capacity]) {
    if (capacity < 2 || (capacity & (capacity - 1)) != 0)
      throw std::invalid_argument("MpmcQueue: capacity must be a power of two >= 2");
    for (std::size_t i = 0; i < capacity; ++i)
      slots_[i].sequence.store(i, std::memory_order_relaxed);
  }
  /// False if full.
  bool try_push(const T& value) noexcept {
    std::size_t position = tail_.load(std::memory_order_relaxed);
    for (;;) {
      Slot& slot = slots_[position & mask_];
      const std::size_t sequence = slot.sequence.load(std::memory_order_acquire);
      const auto difference = static_cast<std::ptrdiff_t>(sequence - position);
      if (difference == 0) {
        if (tail_.compare_exchange_weak(position, position + 1, std::memory_order_relaxed)) {
          slot.value = value;
          slot.sequence.store(position + 1, std::memory_order_release);
          return true;
        }
      } else if (difference < 0) {
        return false;  // the slot still holds an unconsumed value: full
      } else {
        position = tail_.load(std::memory_order_relaxed);
      }
    }
  }
  /// False if empty.
  bool try_pop(T& value) noexcept {
    std::size_t position = head_.load(std::memory_order_relaxed);
    for (;;) {
      Slot& slot = slots_[position & mask_];
      const std::size_t sequence = slot.sequence.load(std::memory_order_acquire);
      const auto difference = static_cast<std::ptrdiff_t>(sequence - (position + 1));
      if (difference == 0) {
        if (head_.compare_exchange_weak(position, position + 1, std::memory_order_relaxed)) {
          value = slot.value;
          slot.sequence.store(position + mask_ + 1, std::memory_order_release);
          return true;
        }
      } else if (difference < 0) {
        return false;  // not yet written: empty
      } else {
        position = head_.load(std::memory_order_relaxed);
      }
    }
  }

 private:
  struct alignas(64) Slot {
    std::atomic<std::size_t> sequence;
    T value;
  };
  const std::size_t mask_;
  std::unique_ptr<Slot[]> slots_;
  alignas(64) std::atomic<std::size_t> head_{0};
  alignas(64) std::atomic<std::size_t> tail_{0};
};

}  // namespace parbench
