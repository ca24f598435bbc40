#include "mpi/change_tracker.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

namespace parbench::mpi {
namespace {

constexpr std::size_t kLine = 64;

struct BlockHeader {
  std::uint64_t id, runs;
};
struct RunHeader {
  std::uint64_t first_line, lines;
};

bool line_differs(const std::byte* a, const std::byte* b) noexcept {
  std::uint64_t x[8], y[8];
  std::memcpy(x, a, kLine);
  std::memcpy(y, b, kLine);
  std::uint64_t any = 0;
  for (int i = 0; i < 8; ++i) any |= x[i] ^ y[i];
  return any != 0;
}

// Bit i set where byte i of the line differs, eight bytes at a time: a
// byte of x = a ^ b is nonzero iff its high bit or its low seven bits
// (added to 0x7f, carrying into the high bit) are; the multiply gathers the
// eight high bits into the top byte.
std::uint64_t byte_mask(const std::byte* now, const std::byte* before) noexcept {
  constexpr std::uint64_t kLow7 = 0x7f7f7f7f7f7f7f7fULL, kHigh = 0x8080808080808080ULL;
  std::uint64_t mask = 0;
  for (int word = 0; word < 8; ++word) {
    std::uint64_t a, b;
    std::memcpy(&a, now + word * 8, 8);
    std::memcpy(&b, before + word * 8, 8);
    const std::uint64_t x = a ^ b;
    const std::uint64_t nonzero = (((x & kLow7) + kLow7) | x) & kHigh;
    mask |= ((nonzero >> 7) * 0x0102040810204080ULL >> 56) << (word * 8);
  }
  return mask;
}

}  // namespace

void ChangeTracker::add(void* data, std::size_t bytes) {
  if (bytes % kLine != 0 || reinterpret_cast<std::uintptr_t>(data) % kLine != 0)
    throw std::logic_error("ChangeTracker: blocks must be whole 64-byte lines");
  // The twin is made now (a prepare, untimed) rather than at the first
  // region, whose time would otherwise include faulting its pages in.
  Memory twin = allocate_heap(bytes);
  std::memcpy(twin.data(), data, bytes);
  blocks_.push_back({next_id_++, static_cast<std::byte*>(data), bytes, std::move(twin)});
}

void ChangeTracker::remove(const void* data) noexcept {
  std::erase_if(blocks_, [data](const Block& block) { return block.data == data; });
}

std::size_t ChangeTracker::tracked_bytes() const noexcept {
  std::size_t total = 0;
  for (const Block& block : blocks_) total += block.bytes;
  return total;
}

void ChangeTracker::snapshot() {
  for (Block& block : blocks_) {
    std::memcpy(block.twin.data(), block.data, block.bytes);
  }
}

std::size_t ChangeTracker::append_changes(std::vector<std::byte>& out) const {
  // Two passes: find the runs of changed lines, then grow `out` once to its
  // final size and fill it (growing it run by run cost more than the
  // encoding: every reallocation copies and faults in fresh pages).
  struct Run {
    std::size_t block, first_line, lines;
  };
  std::vector<Run> runs;
  std::size_t size = 0;
  for (std::size_t b = 0; b < blocks_.size(); ++b) {
    const Block& block = blocks_[b];
    const auto* twin = static_cast<const std::byte*>(block.twin.data());
    const std::size_t lines = block.bytes / kLine, runs_before = runs.size();
    for (std::size_t line = 0; line < lines;) {
      if (!line_differs(block.data + line * kLine, twin + line * kLine)) {
        ++line;
        continue;
      }
      std::size_t end = line + 1;
      while (end < lines && line_differs(block.data + end * kLine, twin + end * kLine)) ++end;
      runs.push_back({b, line, end - line});
      size += sizeof(RunHeader) + (end - line) * (8 + kLine);
      line = end;
    }
    if (runs.size() > runs_before) size += sizeof(BlockHeader);
  }
  const std::size_t start = out.size();
  out.resize(start + size);
  std::byte* at = out.data() + start;
  auto put = [&at](const auto& value) {
    std::memcpy(at, &value, sizeof(value));
    at += sizeof(value);
  };
  for (std::size_t r = 0; r < runs.size();) {
    const Block& block = blocks_[runs[r].block];
    const auto* twin = static_cast<const std::byte*>(block.twin.data());
    std::size_t last = r;
    while (last < runs.size() && runs[last].block == runs[r].block) ++last;
    put(BlockHeader{block.id, last - r});
    for (; r < last; ++r) {
      const Run& run = runs[r];
      put(RunHeader{run.first_line, run.lines});
      for (std::size_t l = run.first_line; l < run.first_line + run.lines; ++l)
        put(byte_mask(block.data + l * kLine, twin + l * kLine));
      std::memcpy(at, block.data + run.first_line * kLine, run.lines * kLine);
      at += run.lines * kLine;
    }
  }
  return size;
}

void ChangeTracker::apply(const std::byte* changes, std::size_t size) {
  std::size_t at = 0;
  auto take = [&](void* into, std::size_t bytes) {
    if (size - at < bytes) throw std::runtime_error("mpi: truncated memory changes from a rank");
    std::memcpy(into, changes + at, bytes);
    at += bytes;
  };
  while (at < size) {
    BlockHeader header;
    take(&header, sizeof(header));
    const auto block = std::find_if(blocks_.begin(), blocks_.end(),
                                    [&](const Block& b) { return b.id == header.id; });
    if (block == blocks_.end())
      throw std::runtime_error("mpi: a rank changed memory block " + std::to_string(header.id) +
                               " that this rank does not have (ranks out of step)");
    for (std::uint64_t r = 0; r < header.runs; ++r) {
      RunHeader run;
      take(&run, sizeof(run));
      if (run.first_line > block->bytes / kLine ||
          run.lines > block->bytes / kLine - run.first_line)
        throw std::runtime_error("mpi: memory changes beyond the end of a block");
      std::vector<std::uint64_t> masks(run.lines);
      take(masks.data(), run.lines * 8);
      if (size - at < run.lines * kLine)
        throw std::runtime_error("mpi: truncated memory changes from a rank");
      const std::byte* source = changes + at;
      std::byte* target = block->data + run.first_line * kLine;
      for (std::size_t l = 0; l < run.lines; ++l, source += kLine, target += kLine) {
        if (masks[l] == ~std::uint64_t{0}) {
          std::memcpy(target, source, kLine);
          continue;
        }
        for (std::size_t i = 0; i < kLine; ++i)
          if (masks[l] >> i & 1) target[i] = source[i];
      }
      at += run.lines * kLine;
    }
  }
}

}  // namespace parbench::mpi
