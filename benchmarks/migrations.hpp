// CPU migrations of this process and of the threads and processes it starts
// while the counter is open: Linux's software perf counter, inherited.
#pragma once

#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <optional>

namespace parbench {

class MigrationCounter {
 public:
  MigrationCounter() noexcept {
    perf_event_attr attr;
    std::memset(&attr, 0, sizeof attr);
    attr.type = PERF_TYPE_SOFTWARE;
    attr.size = sizeof attr;
    attr.config = PERF_COUNT_SW_CPU_MIGRATIONS;
    attr.inherit = 1;  // threads and children started from now on count too (when they exit)
    attr.exclude_kernel = 0;
    fd_ = static_cast<int>(::syscall(SYS_perf_event_open, &attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC));
  }
  ~MigrationCounter() {
    if (fd_ >= 0) ::close(fd_);
  }
  MigrationCounter(const MigrationCounter&) = delete;
  MigrationCounter& operator=(const MigrationCounter&) = delete;

  /// Migrations so far; nothing where the counter cannot be opened (perf_event_paranoid).
  std::optional<double> read() const noexcept {
    std::uint64_t value = 0;
    if (fd_ < 0 || ::read(fd_, &value, sizeof value) != static_cast<ssize_t>(sizeof value))
      return std::nullopt;
    return static_cast<double>(value);
  }

 private:
  int fd_ = -1;
};

}  // namespace parbench
