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

std::uint64_t byte_mask(const std::byte* now, const std::byte* before) noexcept {
  std::uint64_t mask = 0;
  for (std::size_t i = 0; i < kLine; ++i)
    if (now[i] != before[i]) mask |= std::uint64_t{1} << i;
  return mask;
}

template <class T>
void append(std::vector<std::byte>& out, const T& value) {
  const auto* bytes = reinterpret_cast<const std::byte*>(&value);
  out.insert(out.end(), bytes, bytes + sizeof(T));
}

}  // namespace

void ChangeTracker::add(void* data, std::size_t bytes) {
  if (bytes % kLine != 0 || reinterpret_cast<std::uintptr_t>(data) % kLine != 0)
    throw std::logic_error("ChangeTracker: blocks must be whole 64-byte lines");
  blocks_.push_back({next_id_++, static_cast<std::byte*>(data), bytes, Memory()});
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
    if (block.twin.data() == nullptr) block.twin = allocate_heap(block.bytes);
    std::memcpy(block.twin.data(), block.data, block.bytes);
  }
}

std::size_t ChangeTracker::append_changes(std::vector<std::byte>& out) const {
  const std::size_t start = out.size();
  for (const Block& block : blocks_) {
    if (block.twin.data() == nullptr) continue;  // added during the region: not shared yet
    const auto* twin = static_cast<const std::byte*>(block.twin.data());
    const std::size_t lines = block.bytes / kLine;
    std::size_t block_header = 0;
    std::uint64_t runs = 0;
    for (std::size_t line = 0; line < lines;) {
      if (!line_differs(block.data + line * kLine, twin + line * kLine)) {
        ++line;
        continue;
      }
      std::size_t end = line + 1;
      while (end < lines && line_differs(block.data + end * kLine, twin + end * kLine)) ++end;
      if (runs++ == 0) {
        block_header = out.size();
        append(out, BlockHeader{block.id, 0});
      }
      append(out, RunHeader{line, end - line});
      for (std::size_t l = line; l < end; ++l)
        append(out, byte_mask(block.data + l * kLine, twin + l * kLine));
      out.insert(out.end(), block.data + line * kLine, block.data + end * kLine);
      line = end;
    }
    if (runs > 0) std::memcpy(out.data() + block_header + offsetof(BlockHeader, runs), &runs, 8);
  }
  return out.size() - start;
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
