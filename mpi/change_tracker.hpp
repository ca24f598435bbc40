// Which bytes of a rank's executor memory a parallel region changed, and
// applying another rank's changes: how the mpi model makes every rank's
// memory identical again after each rank ran its share of the chunks.
//
// Before a region every tracked block is copied (its "twin", as in
// TreadMarks' twin-and-diff); afterwards each 64-byte line is compared with
// its twin and the changed lines are encoded with a byte mask, so that two
// ranks that wrote different bytes of one line (chunks write disjoint bytes,
// not disjoint lines) never overwrite each other's. What is sent grows with
// the bytes written (1.125 x the changed lines, plus 16 bytes a run), not
// with the bytes allocated: a reduction over a large read-only input sends
// only its partials. The local cost is one copy and one compare of the
// tracked memory per region, at memory bandwidth.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/executor.hpp"

namespace parbench::mpi {

class ChangeTracker {
 public:
  /// Tracks [data, data + bytes); bytes must be a multiple of 64 and data
  /// 64-byte aligned. Blocks are identified by the order they were added,
  /// which SPMD code makes the same on every rank.
  void add(void* data, std::size_t bytes);
  /// Stops tracking the block at data (no-op if it is not tracked).
  void remove(const void* data) noexcept;
  std::size_t tracked_bytes() const noexcept;

  /// Copies every tracked block into its twin (before a region).
  void snapshot();
  /// Appends the changes since snapshot() to out; returns the bytes appended.
  std::size_t append_changes(std::vector<std::byte>& out) const;
  /// Applies changes encoded by append_changes (of any rank with the same
  /// blocks). Throws std::runtime_error if they do not fit this memory.
  void apply(const std::byte* changes, std::size_t size);

 private:
  struct Block {
    std::uint64_t id;
    std::byte* data;
    std::size_t bytes;
    Memory twin;
  };
  std::vector<Block> blocks_;
  std::uint64_t next_id_ = 0;
};

}  // namespace parbench::mpi
