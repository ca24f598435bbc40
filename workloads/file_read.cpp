// file_read: n requests, each opening file i of a set generated at set-up in a
// temporary directory, reading it whole and checksumming it. Files are
// PARBENCH_FILE_KIB (default 64) KiB; the page cache is warm (the set-up just
// wrote them) unless PARBENCH_FILE_DIRECT=1, which reads with O_DIRECT (cold,
// from the device; needs a file system that supports it). Pattern:
// independent requests, p in flight; on io_uring each read is a kernel
// request. Cost: open + read + close per file. Verified: each checksum against
// the checksum of the generator's bytes (computed without reading the file).
// answer: the sum of the checksums mod 2^52.
// Sizes: files per concurrency slot (n = size x p): default 8, quick 4.
#include <fcntl.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "core/workload.hpp"
#include "coro/io_support.hpp"
#include "coro/requests.hpp"

namespace parbench {
namespace {

using io_support::kPathCapacity;

struct AlignedFree {
  void operator()(unsigned char* p) const noexcept { std::free(p); }
};

coro::Task<void> read_request(coro::Io io, const char* dir, std::size_t index, std::size_t bytes,
                              bool direct, std::uint64_t* out) {
  char path[kPathCapacity];
  io_support::file_name(path, sizeof path, dir, "in_", index);
  // O_DIRECT needs block-aligned buffers; 4096 suits every device here.
  std::unique_ptr<unsigned char, AlignedFree> buffer(
      static_cast<unsigned char*>(std::aligned_alloc(4096, (bytes + 4095) / 4096 * 4096)));
  if (!buffer) throw std::bad_alloc();
  io_support::FdGuard fd(
      static_cast<int>(co_await io.open(path, O_RDONLY | (direct ? O_DIRECT : 0))));
  co_await io_support::read_exact(io, fd.get(), buffer.get(), bytes);
  co_await io.close(fd.release());
  *out = io_support::checksum(buffer.get(), bytes);
}

// The size of each file, and 1 to read with O_DIRECT (past the page cache).
constexpr Knob kFileKib{"PARBENCH_FILE_KIB", 64, 4, 1024 * 1024};
constexpr Knob kDirect{"PARBENCH_FILE_DIRECT", 0, 0, 1};

class FileRead final : public Instance {
 public:
  FileRead(Executor& executor, std::size_t n)
      : n_(n),
        bytes_(1024 * kFileKib.value()),
        direct_(kDirect.value() == 1),
        dir_(executor),
        checksums_(executor, n) {
    dir_.write_pattern_files("in_", n, bytes_, seed(0));
  }

  void run(Executor& executor) override {
    const char* dir = dir_.path();
    std::uint64_t* checksums = checksums_.data();
    const std::size_t bytes = bytes_;
    const bool direct = direct_;
    for (std::size_t i = 0; i < n_; ++i) checksums[i] = 0;
    run_requests(executor, n_, [=](std::size_t i, coro::Io io) {
      return read_request(io, dir, i, bytes, direct, &checksums[i]);
    });
  }
  Verdict verify() const override {
    for (std::size_t i = 0; i < n_; ++i)
      if (checksums_[i] != io_support::pattern_checksum(seed(i), bytes_))
        return Verdict::fail("file ", i, " was not read intact");
    return Verdict::pass();
  }
  void corrupt() override { checksums_[0] ^= 1; }
  WorkPerRun work() const override {
    return {static_cast<double>(n_), static_cast<double>(n_ * bytes_)};
  }
  std::vector<std::pair<std::string, double>> counters() const override {
    return {{"file_kib", static_cast<double>(bytes_ / 1024)},
            {"o_direct", direct_ ? 1.0 : 0.0},
            {"answer", answer()}};
  }

 private:
  /// The sum of the checksums mod 2^52 (exact in a double): the value the
  /// Python track's counterpart must report too.
  double answer() const noexcept {
    std::uint64_t sum = 0;
    for (std::size_t i = 0; i < n_; ++i) sum += checksums_[i];
    return static_cast<double>(sum % (std::uint64_t{1} << 52));
  }
  static std::uint64_t seed(std::size_t i) { return 0xF11E0000ull + i; }
  std::size_t n_, bytes_;
  bool direct_;
  io_support::TempDir dir_;
  Array<std::uint64_t> checksums_;
};

const bool registered = register_workload({
    .name = "file_read",
    .category = Category::io,
    .summary = "open, read and checksum 64 KiB files (PARBENCH_FILE_KIB; page cache warm)",
    .size_meaning = "files per concurrency slot (n = size x p)",
    .default_sizes = {8},
    .quick_sizes = {4},
    .small_size = 2,
    .min_size = 1,
    .max_size = 100'000,
    .uses_fork_join = false,
    .work_exponent = 0,
    .concurrency_levels = {1, 2, 4, 16, 64},
    .knobs = {kFileKib, kDirect},
    .prepare = [](Executor& executor, std::size_t n) -> std::unique_ptr<Instance> {
      return std::make_unique<FileRead>(executor, n);
    },
});

}  // namespace
}  // namespace parbench
