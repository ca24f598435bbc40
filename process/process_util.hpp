// Process plumbing shared by the process models and the ipc/psync
// benchmarks: shared mappings, futexes across processes, and child processes
// as RAII objects (never a zombie, never an orphan).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/executor.hpp"

namespace parbench {

/// Zero-filled MAP_SHARED anonymous memory, faulted in: visible to children
/// forked after it was mapped. Released with munmap.
Memory allocate_shared(std::size_t bytes);

/// A raw shared anonymous mapping (RAII), for control blocks.
class SharedMapping {
 public:
  explicit SharedMapping(std::size_t bytes, bool reserve_only = false);
  ~SharedMapping();
  SharedMapping(const SharedMapping&) = delete;
  SharedMapping& operator=(const SharedMapping&) = delete;
  void* data() const noexcept { return data_; }
  std::size_t bytes() const noexcept { return bytes_; }

 private:
  void* data_;
  std::size_t bytes_;
};

/// Futex wait/wake on a 32-bit word that may live in memory shared between
/// processes (no FUTEX_PRIVATE_FLAG). wait returns after a wake, a change of
/// the value, a signal or the timeout (nanoseconds; 0 = none).
void futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                std::uint64_t timeout_ns = 0) noexcept;
void futex_wake(std::atomic<std::uint32_t>& word, int count) noexcept;

/// "exited with status 3", "killed by signal SIGKILL", from a waitpid status.
std::string describe_wait_status(int status);

/// A forked child running a function and then _exit()ing (never returning
/// into the caller's stack). The child asks to be killed if its parent dies
/// (PR_SET_PDEATHSIG). The destructor kills (SIGKILL) and reaps a child that
/// is still running: no zombie, no orphan.
class ChildProcess {
 public:
  ChildProcess() = default;
  /// Forks; the child runs body() and exits with its return value (1 if it
  /// throws). Throws std::system_error if fork fails.
  explicit ChildProcess(const std::function<int()>& body);
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ~ChildProcess();

  pid_t pid() const noexcept { return pid_; }
  bool running() const noexcept { return pid_ > 0 && !reaped_; }
  /// Blocks until the child ends; returns its waitpid status.
  int wait();
  /// Non-blocking: true (and status) if the child has ended.
  bool try_wait(int& status);
  /// SIGKILL and reap (no-op if already reaped).
  void kill_and_reap() noexcept;

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  int status_ = 0;
};

/// Calls in a freshly forked child: asks for SIGKILL when the parent dies and
/// exits at once if the parent is already gone.
void become_child_of(pid_t parent) noexcept;

}  // namespace parbench
