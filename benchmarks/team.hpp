// A team of T threads kept for a whole benchmark (thread start-up must not be
// in the timed loop): run(body) calls body(i) on threads 0..T-1 (0 is the
// caller) and returns when all are done. Waiting uses futex-backed atomic
// wait, so an oversubscribed team does not burn the cores it is measuring.
#pragma once

#include <benchmark/benchmark.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <string>
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

/// Times `iteration` in Google Benchmark's loop and reports the wall time per
/// unit (units_per_iteration units per call) as the counter `name`, in ns.
template <class Iteration>
void time_units(benchmark::State& state, const char* name, double units_per_iteration,
                Iteration iteration) {
  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) iteration();
  const std::chrono::duration<double, std::nano> elapsed = std::chrono::steady_clock::now() - start;
  state.counters[name] =
      elapsed.count() / (static_cast<double>(state.iterations()) * units_per_iteration);
}

/// Fails the benchmark unless `done` equals `expected` (per iteration times
/// the iterations run, unless per_iteration is false); else marks it verified.
inline void expect_count(benchmark::State& state, std::uint64_t done, std::uint64_t expected,
                         bool per_iteration = true) {
  if (per_iteration) expected *= static_cast<std::uint64_t>(state.iterations());
  if (done != expected) {
    state.SkipWithError(("did " + std::to_string(done) + " of the " + std::to_string(expected) +
                         " operations it claims")
                            .c_str());
    return;
  }
  state.counters["verified"] = 1;
}

/// Thread counts for the primitive families: 1, 2, 4, ... up to twice the
/// hardware threads (contended and oversubscribed), and the core count.
std::vector<std::size_t> primitive_thread_counts();

}  // namespace parbench
