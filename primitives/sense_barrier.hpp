// parbench's own sense-reversing barrier: one shared counter and a global
// sense flag that flips each round; a thread waits until the global sense
// equals its own (flipped) sense, so the barrier is reusable at once. Waiters
// spin briefly, then yield (correct under oversubscription, if slow).
#pragma once

#include <atomic>
#include <cstddef>
#include <thread>

#include "primitives/cpu_relax.hpp"

namespace parbench {

class SenseBarrier {
 public:
  explicit SenseBarrier(std::size_t participants) noexcept
      : participants_(participants), remaining_(participants) {}

  /// Blocks until all participants have arrived in this round. local_sense
  /// is the caller's own flag (start with false; the barrier flips it).
  void arrive_and_wait(bool& local_sense) noexcept {
    local_sense = !local_sense;
    if (remaining_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      remaining_.store(participants_, std::memory_order_relaxed);
      sense_.store(local_sense, std::memory_order_release);
      return;
    }
    for (int spins = 0; sense_.load(std::memory_order_acquire) != local_sense; ++spins) {
      if (spins < 2000) {
        cpu_relax();
      } else {
        std::this_thread::yield();
        spins = 0;
      }
    }
  }

 private:
  const std::size_t participants_;
  alignas(64) std::atomic<std::size_t> remaining_;
  alignas(64) std::atomic<bool> sense_{false};
};

}  // namespace parbench
