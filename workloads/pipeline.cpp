// pipeline: the mixed case. Each of n requests is a three-stage pipeline:
// read input file i (16 KiB, generated at set-up), a CPU stage hashing every
// 64-byte block with 10 rounds of a 64-bit mixer (about 50 us), and writing
// the block digests (2 KiB) to output file i. Pattern: independent requests,
// p in flight; I/O waits overlap with other requests' CPU work. Verified:
// every output file read back against digests the verifier computes from
// the generator's bytes. The directory is removed afterwards.
// Sizes: requests per concurrency slot (n = size x p): default 4, quick 4.
#include <fcntl.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/random.hpp"
#include "core/workload.hpp"
#include "coro/io_support.hpp"
#include "coro/requests.hpp"

namespace parbench {
namespace {

using io_support::kPathCapacity;

constexpr std::size_t kInputBytes = 16 * 1024;
constexpr std::size_t kBlockBytes = 64;
constexpr std::size_t kDigestBytes = kInputBytes / kBlockBytes * sizeof(std::uint64_t);
constexpr int kRounds = 10;

/// The CPU stage: one 64-bit digest per 64-byte block.
void digest_blocks(const unsigned char* input, std::uint64_t* digests) noexcept {
  for (std::size_t block = 0; block < kInputBytes / kBlockBytes; ++block) {
    std::uint64_t hash = block;
    for (std::size_t w = 0; w < kBlockBytes / 8; ++w) {
      std::uint64_t word;
      std::memcpy(&word, input + block * kBlockBytes + w * 8, 8);
      hash ^= word;
      for (int r = 0; r < kRounds; ++r) hash = mix64(hash);
    }
    digests[block] = hash;
  }
}

coro::Task<void> pipeline_request(coro::Io io, const char* dir, std::size_t index,
                                  std::uint8_t* done) {
  char in_path[kPathCapacity], out_path[kPathCapacity];
  io_support::file_name(in_path, sizeof in_path, dir, "in_", index);
  io_support::file_name(out_path, sizeof out_path, dir, "out_", index);
  std::unique_ptr<unsigned char[]> input(new unsigned char[kInputBytes]);
  std::unique_ptr<std::uint64_t[]> digests(new std::uint64_t[kDigestBytes / 8]);
  {  // stage 1: read
    io_support::FdGuard fd(static_cast<int>(co_await io.open(in_path, O_RDONLY)));
    co_await io_support::read_exact(io, fd.get(), input.get(), kInputBytes);
    co_await io.close(fd.release());
  }
  digest_blocks(input.get(), digests.get());  // stage 2: compute
  {                                           // stage 3: write
    io_support::FdGuard fd(
        static_cast<int>(co_await io.open(out_path, O_CREAT | O_TRUNC | O_WRONLY, 0600)));
    co_await io_support::write_exact(
        io, fd.get(), reinterpret_cast<const unsigned char*>(digests.get()), kDigestBytes);
    co_await io.close(fd.release());
  }
  *done = 1;
}

class Pipeline final : public Instance {
 public:
  Pipeline(Executor& executor, std::size_t n) : n_(n), dir_(executor), done_(executor, n) {
    dir_.write_pattern_files("in_", n, kInputBytes, seed(0));
  }

  void run(Executor& executor) override {
    const char* dir = dir_.path();
    std::uint8_t* done = done_.data();
    for (std::size_t i = 0; i < n_; ++i) done[i] = 0;
    run_requests(executor, n_, [=](std::size_t i, coro::Io io) {
      return pipeline_request(io, dir, i, &done[i]);
    });
  }
  Verdict verify() const override {
    std::vector<unsigned char> input(kInputBytes);
    std::vector<std::uint64_t> digests(kDigestBytes / 8);
    char path[kPathCapacity];
    for (std::size_t i = 0; i < n_; ++i) {
      if (done_[i] != 1) return Verdict::fail("request ", i, " did not finish");
      io_support::fill_pattern(seed(i), input.data(), kInputBytes);
      digest_blocks(input.data(), digests.data());
      io_support::file_name(path, sizeof path, dir_.path(), "out_", i);
      std::size_t size = 0;
      const std::uint64_t sum = io_support::file_checksum(path, &size);
      if (size != kDigestBytes ||
          sum != io_support::checksum(reinterpret_cast<const unsigned char*>(digests.data()),
                                      kDigestBytes))
        return Verdict::fail("output file ", i, " does not hold the input's digests");
    }
    return Verdict::pass();
  }
  void corrupt() override {
    char path[kPathCapacity];
    io_support::file_name(path, sizeof path, dir_.path(), "out_", 0);
    const unsigned char junk[8] = {};
    io_support::write_file(path, junk, sizeof junk);
  }
  WorkPerRun work() const override {
    return {static_cast<double>(n_), static_cast<double>(n_ * (kInputBytes + kDigestBytes))};
  }

 private:
  static std::uint64_t seed(std::size_t i) { return 0x919E0000ull + i; }
  std::size_t n_;
  io_support::TempDir dir_;
  Array<std::uint8_t> done_;
};

const bool registered = register_workload({
    .name = "pipeline",
    .category = Category::io,
    .summary = "read 16 KiB -> hash (~50 us CPU) -> write digests, per request (mixed I/O + CPU)",
    .size_meaning = "requests per concurrency slot (n = size x p)",
    .default_sizes = {4},
    .quick_sizes = {4},
    .small_size = 2,
    .min_size = 1,
    .max_size = 100'000,
    .uses_fork_join = false,
    .work_exponent = 0,
    .concurrency_levels = {1, 2, 4, 16, 64},
    .reads_back_files = true,
    .prepare = [](Executor& executor, std::size_t n) -> std::unique_ptr<Instance> {
      return std::make_unique<Pipeline>(executor, n);
    },
});

}  // namespace
}  // namespace parbench
