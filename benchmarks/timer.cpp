// timer/: how late timers fire.
// - timer/sleep/<kind>/us:U: one-shot sleeps of U us (100 us to 10 ms);
//   counters median_late_us, p99_late_us, max_late_us (actual - requested).
// - timer/periodic/<kind>: 1,000 periods of 1 ms; counters drift_us (how far
//   the 1,000th tick is from start + 1,000 periods) and p99_late_us, max_late_us
//   of the ticks.
// Kinds: busy_wait_baseline (spin on the clock: the floor, no timer at all),
// sleep_for / sleep_until (the std::this_thread loop), timerfd,
// coroutine_loop (a timer awaited on parbench's event loop: io_uring, or
// epoll + timerfd; counter io_uring says which), timer_thread (a new thread
// per timer that sleeps and then signals, like Python's threading.Timer).
// A timer that fires early, or a sample that is missing, fails the benchmark.
#include <benchmark/benchmark.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "benchmarks/harness.hpp"
#include "coro/coro.hpp"
#include "coro/io_loop.hpp"

namespace parbench {
namespace {

using Clock = std::chrono::steady_clock;
using Micros = std::chrono::duration<double, std::micro>;

constexpr std::size_t kPeriods = 1000;
constexpr auto kPeriod = std::chrono::milliseconds(1);

class TimerFd {
 public:
  TimerFd() : fd_(::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC)) {
    if (fd_ < 0) throw std::runtime_error("timerfd_create failed");
  }
  ~TimerFd() { ::close(fd_); }
  TimerFd(const TimerFd&) = delete;
  TimerFd& operator=(const TimerFd&) = delete;
  /// Arms the timer: first expiry after `first`, then every `interval` (0: once).
  void arm(std::chrono::nanoseconds first, std::chrono::nanoseconds interval) {
    itimerspec spec{};
    spec.it_value.tv_sec = first.count() / 1'000'000'000;
    spec.it_value.tv_nsec = first.count() % 1'000'000'000;
    spec.it_interval.tv_sec = interval.count() / 1'000'000'000;
    spec.it_interval.tv_nsec = interval.count() % 1'000'000'000;
    ::timerfd_settime(fd_, 0, &spec, nullptr);
  }
  /// Blocks until the next expiry; returns the number of expirations.
  std::uint64_t wait() {
    std::uint64_t expirations = 0;
    while (::read(fd_, &expirations, sizeof expirations) < 0 && errno == EINTR) {
    }
    return expirations;
  }

 private:
  int fd_;
};

/// threading.Timer: a new thread sleeps, then sets an event the caller waits on.
void timer_thread_wait(std::chrono::nanoseconds delay) {
  std::mutex mutex;
  std::condition_variable cv;
  bool fired = false;
  std::thread timer([&] {
    std::this_thread::sleep_for(delay);
    {
      std::lock_guard guard(mutex);
      fired = true;
    }
    cv.notify_one();
  });
  {
    std::unique_lock guard(mutex);
    cv.wait(guard, [&] { return fired; });
  }
  timer.join();
}

coro::Task<void> loop_sleep(coro::Io io, std::chrono::nanoseconds delay) {
  co_await io.sleep(delay);
}

enum class Kind { busy_wait, sleep, timerfd, coroutine_loop, timer_thread };

/// Sleeps until `deadline` with the given kind of timer.
struct Sleeper {
  Kind kind;
  TimerFd timerfd;
  std::unique_ptr<coro::Loop> loop;
  explicit Sleeper(Kind k) : kind(k) {
    if (kind == Kind::coroutine_loop) loop = coro::make_loop();
  }
  void sleep_until(Clock::time_point deadline) {
    const auto delay =
        std::max(std::chrono::nanoseconds(0),
                 std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - Clock::now()));
    switch (kind) {
      case Kind::busy_wait:  // the floor: no timer, no wake-up, just the clock
        while (Clock::now() < deadline) {
        }
        break;
      case Kind::sleep:
        std::this_thread::sleep_until(deadline);
        break;
      case Kind::timerfd:
        if (delay.count() > 0) {
          timerfd.arm(delay, std::chrono::nanoseconds(0));
          timerfd.wait();
        }
        break;
      case Kind::coroutine_loop:
        loop->run(loop_sleep(coro::Io(loop.get()), delay));
        break;
      case Kind::timer_thread:
        timer_thread_wait(delay);
        break;
    }
  }
};

double percentile(std::vector<double> values, double q) {
  std::sort(values.begin(), values.end());
  const double position = q * static_cast<double>(values.size() - 1);
  const auto low = static_cast<std::size_t>(position);
  const std::size_t high = std::min(low + 1, values.size() - 1);
  return values[low] + (values[high] - values[low]) * (position - static_cast<double>(low));
}

void report_lateness(benchmark::State& state, const std::vector<double>& late_us,
                     std::size_t expected) {
  if (late_us.size() != expected) {
    state.SkipWithError("timer: samples missing");
    return;
  }
  if (*std::min_element(late_us.begin(), late_us.end()) < -1.0) {  // 1 us for clock granularity
    state.SkipWithError("timer: fired early");
    return;
  }
  state.counters["median_late_us"] = percentile(late_us, 0.5);
  state.counters["p99_late_us"] = percentile(late_us, 0.99);
  state.counters["max_late_us"] = *std::max_element(late_us.begin(), late_us.end());
  state.counters["verified"] = 1;
}

void one_shot(benchmark::State& state, Kind kind) {
  try {
    const auto requested = std::chrono::microseconds(state.range(0));
    // About 100 ms of sleeping per repetition, at least 10 samples.
    const std::size_t samples =
        std::max<std::size_t>(10, 100'000 / static_cast<std::size_t>(state.range(0)));
    Sleeper sleeper(kind);
    std::vector<double> late_us;
    for (auto _ : state) {
      late_us.clear();
      for (std::size_t s = 0; s < samples; ++s) {
        const auto start = Clock::now();
        sleeper.sleep_until(start + requested);
        late_us.push_back(Micros(Clock::now() - start - requested).count());
      }
    }
    report_lateness(state, late_us, samples);
    if (kind == Kind::coroutine_loop)
      state.counters["io_uring"] = sleeper.loop->backend() == coro::Backend::uring ? 1 : 0;
  } catch (const std::exception& error) {
    state.SkipWithError(("exception: " + std::string(error.what())).c_str());
  }
}

void periodic(benchmark::State& state, Kind kind) {
  try {
    Sleeper sleeper(kind);
    std::vector<double> late_us;
    double drift_us = 0;
    for (auto _ : state) {
      late_us.clear();
      const auto start = Clock::now();
      if (kind == Kind::timerfd) {  // the kernel's own periodic timer
        sleeper.timerfd.arm(kPeriod, kPeriod);
        for (std::size_t fired = 0; fired < kPeriods;) {
          const std::uint64_t expirations = sleeper.timerfd.wait();  // > 1: ticks were missed
          const auto now = Clock::now();
          for (std::uint64_t e = 0; e < expirations && fired < kPeriods; ++e)
            late_us.push_back(Micros(now - (start + ++fired * kPeriod)).count());
        }
        sleeper.timerfd.arm(std::chrono::nanoseconds(0), std::chrono::nanoseconds(0));
      } else if (kind == Kind::timer_thread) {
        // threading.Timer re-armed each tick: each period starts when the last
        // one was handled, so lateness accumulates as drift.
        for (std::size_t tick = 1; tick <= kPeriods; ++tick) {
          const auto armed = Clock::now();
          timer_thread_wait(kPeriod);
          late_us.push_back(Micros(Clock::now() - armed - kPeriod).count());
        }
      } else {  // absolute deadlines: start + tick x period
        for (std::size_t tick = 1; tick <= kPeriods; ++tick) {
          const auto deadline = start + tick * kPeriod;
          sleeper.sleep_until(deadline);
          late_us.push_back(Micros(Clock::now() - deadline).count());
        }
      }
      drift_us = Micros(Clock::now() - (start + kPeriods * kPeriod)).count();
    }
    report_lateness(state, late_us, kPeriods);
    state.counters["drift_us"] = drift_us;
  } catch (const std::exception& error) {
    state.SkipWithError(("exception: " + std::string(error.what())).c_str());
  }
}

void add_timer_benchmarks(const Selection& selection) {
  const std::vector<std::pair<std::string, Kind>> kinds{{"busy_wait_baseline", Kind::busy_wait},
                                                        {"sleep_for", Kind::sleep},
                                                        {"timerfd", Kind::timerfd},
                                                        {"coroutine_loop", Kind::coroutine_loop},
                                                        {"timer_thread", Kind::timer_thread}};
  for (const auto& [name, kind] : kinds) {
    if (auto* b = add_primitive(selection, "timer/sleep/" + name,
                                [kind = kind](benchmark::State& state) { one_shot(state, kind); }))
      b->ArgNames({"us"})->Arg(100)->Arg(1000)->Arg(10000)->Iterations(1)->UseRealTime()->Unit(
          benchmark::kMillisecond);
    const std::string periodic_name = name == "sleep_for" ? "sleep_until" : name;
    if (auto* b = add_primitive(selection, "timer/periodic/" + periodic_name,
                                [kind = kind](benchmark::State& state) { periodic(state, kind); }))
      b->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);
  }
}

const bool registered = register_family("timer", &add_timer_benchmarks,
                                        "how late timers fire: one-shot sleeps and periodic ticks");

}  // namespace
}  // namespace parbench
