// sleep_io: n requests, each waiting a fixed latency (PARBENCH_SLEEP_US,
// default 10 ms, like the classic sleep-call examples) and then doing a little
// CPU work (1 us of calibrated spin). Pattern: independent requests, p of
// them in flight: blocking models sleep in their workers, coroutine models
// await a timer. Cost: about n / p x latency. Verified: every request's spin
// result against its closed form (a request that did not run fails). answer:
// the time the completed requests slept, in microseconds.
// Sizes: requests per concurrency slot (n = size x p): default 1, quick 1.
#include <chrono>
#include <cstdint>

#include "core/spin.hpp"
#include "core/workload.hpp"
#include "coro/io_support.hpp"
#include "coro/requests.hpp"

namespace parbench {
namespace {

constexpr double kCpuMicroseconds = 1;

coro::Task<void> sleep_request(coro::Io io, std::chrono::nanoseconds latency,
                               std::uint64_t iterations, std::size_t index, std::uint64_t* out) {
  co_await io.sleep(latency);
  *out = spin(iterations, index);
}

// The latency of each request, in microseconds.
constexpr Knob kLatencyUs{"PARBENCH_SLEEP_US", 10'000, 0, 10'000'000};

class SleepIo final : public Instance {
 public:
  SleepIo(Executor& executor, std::size_t n)
      : n_(n),
        latency_(std::chrono::microseconds(kLatencyUs.value())),
        iterations_(static_cast<std::uint64_t>(kCpuMicroseconds * spin_iterations_per_us())),
        results_(executor, n) {}

  void run(Executor& executor) override {
    std::uint64_t* results = results_.data();
    for (std::size_t i = 0; i < n_; ++i) results[i] = 0;
    const auto latency = latency_;
    const std::uint64_t iterations = iterations_;
    run_requests(executor, n_, [=](std::size_t i, coro::Io io) {
      return sleep_request(io, latency, iterations, i, &results[i]);
    });
  }
  Verdict verify() const override {
    for (std::size_t i = 0; i < n_; ++i)
      if (results_[i] != spin_closed_form(iterations_, i))
        return Verdict::fail("request ", i, " did not complete its work");
    return Verdict::pass();
  }
  void corrupt() override { results_[n_ / 2] ^= 1; }
  WorkPerRun work() const override { return {static_cast<double>(n_), 0}; }
  std::vector<std::pair<std::string, double>> counters() const override {
    const double latency_us = std::chrono::duration<double, std::micro>(latency_).count();
    // answer (checked against the Python track): the time the completed
    // requests slept, in microseconds (a request that ran left a non-zero result).
    std::size_t completed = 0;
    for (std::size_t i = 0; i < n_; ++i) completed += results_[i] != 0;
    return {{"latency_us", latency_us}, {"answer", static_cast<double>(completed) * latency_us}};
  }

 private:
  std::size_t n_;
  std::chrono::nanoseconds latency_;
  std::uint64_t iterations_;
  Array<std::uint64_t> results_;
};

const bool registered = register_workload({
    .name = "sleep_io",
    .category = Category::io,
    .summary = "requests that wait 10 ms (PARBENCH_SLEEP_US) then spin 1 us",
    .size_meaning = "requests per concurrency slot (n = size x p)",
    .default_sizes = {1},
    .quick_sizes = {1},
    .small_size = 1,
    .min_size = 1,
    .max_size = 1'000'000,
    .uses_fork_join = false,
    .work_exponent = 0,
    .concurrency_levels = {1, 4, 16, 64, 256, 1024, 10000},
    .knobs = {kLatencyUs},
    .prepare = [](Executor& executor, std::size_t n) -> std::unique_ptr<Instance> {
      return std::make_unique<SleepIo>(executor, n);
    },
});

}  // namespace
}  // namespace parbench
