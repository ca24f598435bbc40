#include "process/process_util.hpp"

#include <linux/futex.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <new>
#include <system_error>

namespace parbench {

Memory allocate_shared(std::size_t bytes) {
  return allocate_pages(bytes, true);
}

SharedMapping::SharedMapping(std::size_t bytes, bool reserve_only) : bytes_(bytes) {
  const int flags = MAP_SHARED | MAP_ANONYMOUS | (reserve_only ? MAP_NORESERVE : 0);
  data_ = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, flags, -1, 0);
  if (data_ == MAP_FAILED) throw std::system_error(errno, std::generic_category(), "mmap");
}

SharedMapping::~SharedMapping() {
  munmap(data_, bytes_);
}

void futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                std::uint64_t timeout_ns) noexcept {
  timespec timeout{static_cast<time_t>(timeout_ns / 1'000'000'000),
                   static_cast<long>(timeout_ns % 1'000'000'000)};
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT, expected,
          timeout_ns ? &timeout : nullptr, nullptr, 0);
}

void futex_wake(std::atomic<std::uint32_t>& word, int count) noexcept {
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE, count, nullptr, nullptr,
          0);
}

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const char* name = sigabbrev_np(WTERMSIG(status));
    return std::string("killed by signal ") +
           (name ? std::string("SIG") + name : std::to_string(WTERMSIG(status)));
  }
  return "stopped (status " + std::to_string(status) + ")";
}

void become_child_of(pid_t parent) noexcept {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(1);  // the parent died before prctl took effect
}

ChildProcess::ChildProcess(const std::function<int()>& body) {
  const pid_t parent = getpid();
  pid_ = fork();
  if (pid_ < 0) throw std::system_error(errno, std::generic_category(), "fork");
  if (pid_ == 0) {
    become_child_of(parent);
    int code = 1;
    try {
      code = body();
    } catch (...) {
      code = 1;
    }
    _exit(code);
  }
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(other.pid_), reaped_(other.reaped_), status_(other.status_) {
  other.pid_ = -1;
}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    kill_and_reap();
    pid_ = other.pid_;
    reaped_ = other.reaped_;
    status_ = other.status_;
    other.pid_ = -1;
  }
  return *this;
}

ChildProcess::~ChildProcess() {
  kill_and_reap();
}

int ChildProcess::wait() {
  if (pid_ <= 0 || reaped_) return status_;
  while (waitpid(pid_, &status_, 0) < 0) {
    if (errno != EINTR) throw std::system_error(errno, std::generic_category(), "waitpid");
  }
  reaped_ = true;
  return status_;
}

bool ChildProcess::try_wait(int& status) {
  if (pid_ <= 0) return false;
  if (!reaped_) {
    const pid_t result = waitpid(pid_, &status_, WNOHANG);
    if (result == 0) return false;
    if (result < 0 && errno != ECHILD) return false;
    reaped_ = true;
  }
  status = status_;
  return true;
}

void ChildProcess::kill_and_reap() noexcept {
  if (pid_ <= 0 || reaped_) return;
  ::kill(pid_, SIGKILL);
  while (waitpid(pid_, &status_, 0) < 0 && errno == EINTR) {
  }
  reaped_ = true;
}

}  // namespace parbench
