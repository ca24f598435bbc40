// What the I/O workloads share: a temporary directory that removes itself, a descriptor
// guard, deterministic file contents and a checksum that does not trust them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/executor.hpp"
#include "coro/coro.hpp"

namespace parbench::io_support {

/// Largest path the I/O workloads keep in executor memory.
inline constexpr std::size_t kPathCapacity = 256;

/// A fresh directory parbench-io-XXXXXX under PARBENCH_IO_DIR (default:
/// $TMPDIR, else /tmp), removed with everything in it on destruction. Its path
/// lives in memory from the executor, so that every worker of the model (also
/// another process) can read it. Throws std::runtime_error naming the
/// directory when it cannot be created. Also removed when SIGINT or SIGTERM
/// ends the process (which skips destructors): see io_support.cpp.
class TempDir {
 public:
  explicit TempDir(Executor& executor);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  /// The path, in executor memory: capture this pointer in request bodies.
  const char* path() const noexcept { return shared_path_.data(); }

  /// Writes files <prefix>0 .. <prefix>count-1 of `bytes` bytes each, file i
  /// holding fill_pattern(seed_base + i) (blocking; set-up only).
  void write_pattern_files(const char* prefix, std::size_t count, std::size_t bytes,
                           std::uint64_t seed_base) const;

 private:
  std::string path_;
  Array<char> shared_path_;
  int live_slot_ = -1;  // its entry in the table the signal handler empties
};

/// Closes a descriptor on scope exit unless released (for error paths; the
/// normal path closes through Io so that it is asynchronous too).
class FdGuard {
 public:
  explicit FdGuard(int fd = -1) noexcept : fd_(fd) {}
  ~FdGuard();
  FdGuard(const FdGuard&) = delete;
  FdGuard& operator=(const FdGuard&) = delete;
  int get() const noexcept { return fd_; }
  int release() noexcept {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

/// Deterministic bytes for (seed, offset): what file i or message i holds.
void fill_pattern(std::uint64_t seed, unsigned char* data, std::size_t bytes) noexcept;
/// A 64-bit hash of the bytes (independent of fill_pattern's generator).
std::uint64_t checksum(const unsigned char* data, std::size_t bytes) noexcept;
/// checksum of the pattern, computed without a buffer.
std::uint64_t pattern_checksum(std::uint64_t seed, std::size_t bytes) noexcept;

/// Writes a whole file (blocking; set-up and verification only). Throws
/// std::runtime_error naming the file and the error.
void write_file(const std::string& path, const unsigned char* data, std::size_t bytes);
/// checksum of a whole file and its size (blocking; verification only).
std::uint64_t file_checksum(const std::string& path, std::size_t* bytes);

/// "dir/prefix<index>" into out (a fixed buffer: requests keep paths in their frame).
void file_name(char* out, std::size_t capacity, const char* dir, const char* prefix,
               std::size_t index) noexcept;

/// Reads exactly `bytes` at offset 0 of fd through io; throws on a short file.
coro::Task<void> read_exact(coro::Io io, int fd, unsigned char* data, std::size_t bytes);
/// Writes exactly `bytes` at offset 0 of fd through io.
coro::Task<void> write_exact(coro::Io io, int fd, const unsigned char* data, std::size_t bytes);

/// Raises this process's soft RLIMIT_NOFILE to at least `needed` descriptors
/// (up to the hard limit); throws std::runtime_error if the hard limit is lower.
void ensure_descriptor_limit(std::size_t needed);

}  // namespace parbench::io_support
