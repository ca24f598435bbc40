// parbench's own test-and-test-and-set spinlock: spin on a plain load (the
// line stays shared in every waiter's cache) and only try the exchange when
// the lock looks free. Under oversubscription a waiter may spin while the
// holder is descheduled, so after kSpinsBeforeYield pauses it yields the CPU.
#pragma once

#include <atomic>
#include <thread>

#include "primitives/cpu_relax.hpp"

namespace parbench {

class Spinlock {
 public:
  void lock() noexcept {
    for (;;) {
      if (!locked_.exchange(true, std::memory_order_acquire)) return;
      for (int spins = 0; locked_.load(std::memory_order_relaxed); ++spins) {
        if (spins < kSpinsBeforeYield) {
          cpu_relax();
        } else {
          std::this_thread::yield();
          spins = 0;
        }
      }
    }
  }
  bool try_lock() noexcept {
    return !locked_.load(std::memory_order_relaxed) &&
           !locked_.exchange(true, std::memory_order_acquire);
  }
  void unlock() noexcept { locked_.store(false, std::memory_order_release); }

 private:
  static constexpr int kSpinsBeforeYield = 1000;
  alignas(64) std::atomic<bool> locked_{false};
};

}  // namespace parbench
