#include "coro/io_support.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <vector>

#include "core/random.hpp"

namespace parbench::io_support {

namespace {

// The live I/O folders of this process, for its SIGINT/SIGTERM handler: a signal
// ends the process without unwinding, so ~TempDir would not run and the files
// (tens of MB) would stay. A fixed table (the handler cannot allocate), one slot
// per TempDir; a slot names the process that made it, so that a forked worker
// that is sent SIGTERM leaves its parent's folder alone.
constexpr int kLiveSlots = 16;
struct LiveDir {
  std::atomic<int> fd{-1};
  std::atomic<pid_t> owner{0};
  char path[kPathCapacity] = {};
};
LiveDir live_dirs[kLiveSlots];
std::once_flag handlers_installed;

struct Dirent64 {  // the kernel's linux_dirent64 (no glibc declaration)
  std::uint64_t inode;
  std::int64_t offset;
  unsigned short length;
  unsigned char type;
  char name[1];
};

/// Async-signal-safe: getdents64, unlinkat and close only. The folders are flat.
void empty_and_remove(LiveDir& slot) {
  const int fd = slot.fd.exchange(-1);
  if (fd < 0) return;
  alignas(8) char buffer[4096];
  for (;;) {
    const long got = syscall(SYS_getdents64, fd, buffer, sizeof buffer);
    if (got <= 0) break;
    for (long at = 0; at < got;) {
      const auto* entry = reinterpret_cast<const Dirent64*>(buffer + at);
      const char* name = entry->name;
      if (!(name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'))))
        unlinkat(fd, name, 0);
      at += entry->length;
    }
  }
  close(fd);
  unlinkat(AT_FDCWD, slot.path, AT_REMOVEDIR);
}

void remove_live_dirs_and_die(int signo) {
  const pid_t self = getpid();
  for (LiveDir& slot : live_dirs)
    if (slot.owner.load() == self) empty_and_remove(slot);
  // SA_RESETHAND restored the default action: the signal ends the process as it would have.
  raise(signo);
}

void install_handlers() {
  for (const int signo : {SIGINT, SIGTERM}) {
    struct sigaction current {};
    if (sigaction(signo, nullptr, &current) != 0 || current.sa_handler != SIG_DFL) continue;
    struct sigaction action {};
    action.sa_handler = remove_live_dirs_and_die;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESETHAND;
    sigaction(signo, &action, nullptr);
  }
}

int claim_live_slot(const std::string& path) {
  std::call_once(handlers_installed, install_handlers);
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -1;
  constexpr int kClaiming = -2;  // taken, not yet filled in: the handler skips it
  for (int k = 0; k < kLiveSlots; ++k) {
    int free_slot = -1;
    if (!live_dirs[k].fd.compare_exchange_strong(free_slot, kClaiming)) continue;
    std::memcpy(live_dirs[k].path, path.c_str(), path.size() + 1);
    live_dirs[k].owner.store(getpid());
    live_dirs[k].fd.store(fd);
    return k;
  }
  ::close(fd);  // more than kLiveSlots at once: the destructor still removes it
  return -1;
}

void release_live_slot(int slot) {
  if (slot < 0) return;
  const int fd = live_dirs[slot].fd.exchange(-1);
  if (fd >= 0) ::close(fd);
}

}  // namespace

TempDir::TempDir(Executor& executor) : shared_path_(executor, kPathCapacity) {
  const char* base = std::getenv("PARBENCH_IO_DIR");
  if (base == nullptr || *base == '\0') base = std::getenv("TMPDIR");
  if (base == nullptr || *base == '\0') base = "/tmp";
  std::string pattern = std::string(base) + "/parbench-io-XXXXXX";
  if (pattern.size() + 32 > kPathCapacity)
    throw std::runtime_error(std::string("I/O directory ") + base + ": path too long");
  if (::mkdtemp(pattern.data()) == nullptr)
    throw std::runtime_error(std::string("I/O directory ") + base + ": " + std::strerror(errno) +
                             " (set PARBENCH_IO_DIR to a writable directory)");
  path_ = pattern;
  std::memcpy(shared_path_.data(), path_.c_str(), path_.size() + 1);
  live_slot_ = claim_live_slot(path_);
}

void TempDir::write_pattern_files(const char* prefix, std::size_t count, std::size_t bytes,
                                  std::uint64_t seed_base) const {
  std::vector<unsigned char> data(bytes);
  char name[kPathCapacity];
  for (std::size_t i = 0; i < count; ++i) {
    fill_pattern(seed_base + i, data.data(), bytes);
    file_name(name, sizeof name, path(), prefix, i);
    write_file(name, data.data(), bytes);
  }
}

TempDir::~TempDir() {
  release_live_slot(live_slot_);
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

FdGuard::~FdGuard() {
  if (fd_ >= 0) ::close(fd_);
}

void fill_pattern(std::uint64_t seed, unsigned char* data, std::size_t bytes) noexcept {
  for (std::size_t i = 0; i < bytes; i += 8) {
    const std::uint64_t word = random_u64(seed, i / 8);
    const std::size_t n = bytes - i < 8 ? bytes - i : 8;
    std::memcpy(data + i, &word, n);
  }
}

namespace {
/// Four independent multiply-xor lanes over 64-bit words (the last one
/// zero-padded): fast enough that verifying a file costs far less than
/// reading it, and any changed byte changes the result.
struct WordHash {
  std::uint64_t lanes[4] = {0x243F6A8885A308D3ull, 0x13198A2E03707344ull, 0xA4093822299F31D0ull,
                            0x082EFA98EC4E6C89ull};
  std::size_t words = 0;
  void add(std::uint64_t word) noexcept {
    std::uint64_t& lane = lanes[words++ & 3];
    lane = (lane ^ word) * 0x9E3779B97F4A7C15ull;
    lane ^= lane >> 29;
  }
  std::uint64_t finish(std::size_t bytes) const noexcept {
    return mix64(mix64(lanes[0] ^ mix64(lanes[1])) ^ mix64(lanes[2] ^ mix64(lanes[3])) ^ bytes);
  }
};
}  // namespace

std::uint64_t checksum(const unsigned char* data, std::size_t bytes) noexcept {
  WordHash hash;
  std::size_t i = 0;
  for (; i + 8 <= bytes; i += 8) {
    std::uint64_t word;
    std::memcpy(&word, data + i, 8);
    hash.add(word);
  }
  if (i < bytes) {
    std::uint64_t word = 0;
    std::memcpy(&word, data + i, bytes - i);
    hash.add(word);
  }
  return hash.finish(bytes);
}

std::uint64_t pattern_checksum(std::uint64_t seed, std::size_t bytes) noexcept {
  WordHash hash;
  for (std::size_t i = 0; i < bytes; i += 8) {
    std::uint64_t word = random_u64(seed, i / 8);
    if (bytes - i < 8) word &= (std::uint64_t{1} << (8 * (bytes - i))) - 1;  // little-endian tail
    hash.add(word);
  }
  return hash.finish(bytes);
}

void write_file(const std::string& path, const unsigned char* data, std::size_t bytes) {
  const int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error(path + ": " + std::strerror(errno));
  FdGuard guard(fd);
  for (std::size_t done = 0; done < bytes;) {
    const ssize_t n = ::write(fd, data + done, bytes - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw std::runtime_error(path + ": write: " + std::strerror(n < 0 ? errno : EIO));
    done += static_cast<std::size_t>(n);
  }
  if (::close(guard.release()) != 0)
    throw std::runtime_error(path + ": close: " + std::strerror(errno));
}

std::uint64_t file_checksum(const std::string& path, std::size_t* bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error(path + ": " + std::strerror(errno));
  FdGuard guard(fd);
  std::vector<unsigned char> data;
  unsigned char buffer[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::runtime_error(path + ": read: " + std::strerror(errno));
    if (n == 0) break;
    data.insert(data.end(), buffer, buffer + n);
  }
  *bytes = data.size();
  return checksum(data.data(), data.size());
}

void ensure_descriptor_limit(std::size_t needed) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= needed) return;
  if (limit.rlim_max != RLIM_INFINITY && limit.rlim_max < needed)
    throw std::runtime_error("need " + std::to_string(needed) +
                             " open descriptors, but the hard limit (ulimit -Hn) is " +
                             std::to_string(limit.rlim_max));
  limit.rlim_cur = needed;
  if (::setrlimit(RLIMIT_NOFILE, &limit) != 0)
    throw std::runtime_error(std::string("setrlimit(RLIMIT_NOFILE): ") + std::strerror(errno));
}

void file_name(char* out, std::size_t capacity, const char* dir, const char* prefix,
               std::size_t index) noexcept {
  std::snprintf(out, capacity, "%s/%s%zu", dir, prefix, index);
}

coro::Task<void> read_exact(coro::Io io, int fd, unsigned char* data, std::size_t bytes) {
  for (std::size_t done = 0; done < bytes;) {
    const auto n = co_await io.read(fd, data + done, bytes - done, done);
    if (n == 0) throw std::runtime_error("read: file shorter than expected");
    done += static_cast<std::size_t>(n);
  }
}

coro::Task<void> write_exact(coro::Io io, int fd, const unsigned char* data, std::size_t bytes) {
  for (std::size_t done = 0; done < bytes;)
    done += static_cast<std::size_t>(co_await io.write(fd, data + done, bytes - done, done));
}

}  // namespace parbench::io_support
