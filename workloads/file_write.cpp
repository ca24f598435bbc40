// file_write: n requests, each creating file i in a temporary directory,
// writing PARBENCH_WRITE_KIB (default 16) KiB and fsyncing it. Pattern:
// independent requests, p in flight; fsync makes each one wait for the device.
// Verified by reading every file back (size and checksum against the
// generator); the directory and its files are removed afterwards. answer:
// the sum of the files' checksums as read back, mod 2^52. Errors
// (ENOSPC, a missing PARBENCH_IO_DIR) end the run with the call and the reason.
// Sizes: files per concurrency slot (n = size x p): default 4, quick 2.
#include <fcntl.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "core/workload.hpp"
#include "coro/io_support.hpp"
#include "coro/requests.hpp"

namespace parbench {
namespace {

using io_support::kPathCapacity;

coro::Task<void> write_request(coro::Io io, const char* dir, std::size_t index, std::size_t bytes,
                               std::uint64_t seed, std::uint8_t* done) {
  char path[kPathCapacity];
  io_support::file_name(path, sizeof path, dir, "out_", index);
  std::unique_ptr<unsigned char[]> data(new unsigned char[bytes]);
  io_support::fill_pattern(seed, data.get(), bytes);
  io_support::FdGuard fd(
      static_cast<int>(co_await io.open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600)));
  co_await io_support::write_exact(io, fd.get(), data.get(), bytes);
  co_await io.fsync(fd.get());
  co_await io.close(fd.release());
  *done = 1;
}

// The size of each file written.
constexpr Knob kWriteKib{"PARBENCH_WRITE_KIB", 16, 1, 1024 * 1024};

class FileWrite final : public Instance {
 public:
  FileWrite(Executor& executor, std::size_t n)
      : n_(n), bytes_(1024 * kWriteKib.value()), dir_(executor), done_(executor, n) {}

  void run(Executor& executor) override {
    const char* dir = dir_.path();
    std::uint8_t* done = done_.data();
    const std::size_t bytes = bytes_;
    for (std::size_t i = 0; i < n_; ++i) done[i] = 0;
    run_requests(executor, n_, [=](std::size_t i, coro::Io io) {
      return write_request(io, dir, i, bytes, seed(i), &done[i]);
    });
  }
  Verdict verify() const override {
    for (std::size_t i = 0; i < n_; ++i) {
      if (done_[i] != 1) return Verdict::fail("request ", i, " did not finish");
      char path[kPathCapacity];
      io_support::file_name(path, sizeof path, dir_.path(), "out_", i);
      std::size_t size = 0;
      const std::uint64_t sum = io_support::file_checksum(path, &size);
      if (size != bytes_ || sum != io_support::pattern_checksum(seed(i), bytes_))
        return Verdict::fail("file ", i, " does not hold what was written (", size, " bytes)");
    }
    return Verdict::pass();
  }
  void corrupt() override {
    const unsigned char junk[3] = {1, 2, 3};
    char path[kPathCapacity];
    io_support::file_name(path, sizeof path, dir_.path(), "out_", n_ - 1);
    io_support::write_file(path, junk, sizeof junk);
  }
  WorkPerRun work() const override {
    return {static_cast<double>(n_), static_cast<double>(n_ * bytes_)};
  }
  std::vector<std::pair<std::string, double>> counters() const override {
    // answer: the sum of the files' checksums as read back, mod 2^52 (files of
    // the requests that finished: none before a run).
    std::uint64_t sum = 0;
    char path[kPathCapacity];
    for (std::size_t i = 0; i < n_; ++i) {
      if (done_[i] != 1) continue;
      io_support::file_name(path, sizeof path, dir_.path(), "out_", i);
      std::size_t size = 0;
      sum += io_support::file_checksum(path, &size);
    }
    return {{"file_kib", static_cast<double>(bytes_ / 1024)},
            {"answer", static_cast<double>(sum % (std::uint64_t{1} << 52))}};
  }

 private:
  static std::uint64_t seed(std::size_t i) { return 0xF11E8000ull + i; }
  std::size_t n_, bytes_;
  io_support::TempDir dir_;
  Array<std::uint8_t> done_;
};

const bool registered = register_workload({
    .name = "file_write",
    .category = Category::io,
    .summary = "create, write and fsync 16 KiB files (PARBENCH_WRITE_KIB), read back to verify",
    .size_meaning = "files per concurrency slot (n = size x p)",
    .default_sizes = {4},
    .quick_sizes = {2},
    .small_size = 2,
    .min_size = 1,
    .max_size = 100'000,
    .uses_fork_join = false,
    .work_exponent = 0,
    .concurrency_levels = {1, 2, 4, 16, 64},
    .reads_back_files = true,
    .knobs = {kWriteKib},
    .prepare = [](Executor& executor, std::size_t n) -> std::unique_ptr<Instance> {
      return std::make_unique<FileWrite>(executor, n);
    },
});

}  // namespace
}  // namespace parbench
