// A team of T persistent threads: run(body) calls body(i) on threads
// 0..T-1 (0 is the caller) and returns when all are done. Waiting uses
// futex-backed atomic wait, so an oversubscribed team does not burn the cores
// it shares. The primitive benchmarks keep one for a whole benchmark (thread
// start-up must not be timed); the coroutine runtime runs its loops on one.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <thread>
#include <vector>

#include "core/first_exception.hpp"
#include "core/function_ref.hpp"

namespace parbench {

class ThreadTeam {
 public:
  explicit ThreadTeam(std::size_t threads) : size_(threads) {
    for (std::size_t i = 1; i < threads; ++i) helpers_.emplace_back([this, i] { helper(i); });
  }
  ~ThreadTeam() {
    stopping_.store(true);
    generation_.fetch_add(1);
    generation_.notify_all();
    for (auto& helper : helpers_) helper.join();
  }
  ThreadTeam(const ThreadTeam&) = delete;
  ThreadTeam& operator=(const ThreadTeam&) = delete;

  std::size_t size() const noexcept { return size_; }

  /// Runs body(i) on every member; rethrows the first exception.
  void run(FunctionRef<void(std::size_t)> body) {
    body_ = &body;
    error_.reset();
    busy_.store(size_ - 1);
    generation_.fetch_add(1);
    generation_.notify_all();
    call(0);
    for (std::size_t busy = busy_.load(); busy != 0; busy = busy_.load()) busy_.wait(busy);
    error_.rethrow_if_any();
  }

 private:
  void call(std::size_t i) noexcept {
    try {
      (*body_)(i);
    } catch (...) {
      error_.capture();
    }
  }
  void helper(std::size_t i) {
    std::uint64_t seen = 0;
    for (;;) {
      generation_.wait(seen);
      seen = generation_.load();
      if (stopping_.load()) return;
      call(i);
      if (busy_.fetch_sub(1) == 1) busy_.notify_one();
    }
  }

  std::size_t size_;
  std::vector<std::thread> helpers_;
  FunctionRef<void(std::size_t)>* body_ = nullptr;
  FirstException error_;
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<std::size_t> busy_{0};
  std::atomic<bool> stopping_{false};
};

}  // namespace parbench
