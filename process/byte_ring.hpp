// ByteRing: a single-producer/single-consumer byte ring that can live in
// memory shared between two processes (all its state is in the object, its
// atomics are lock-free and address-free). The writer blocks while the ring
// is full, the reader while it is empty: both spin briefly, then sleep on a
// futex. Used by the ipc/shm_ring benchmarks.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace parbench {

class ByteRing {
 public:
  /// Bytes needed for a ring with `capacity` data bytes (a power of two).
  static std::size_t footprint(std::size_t capacity) { return sizeof(ByteRing) + capacity; }
  /// Constructs a ring in `memory` (footprint(capacity) bytes, shared or not).
  static ByteRing* create(void* memory, std::size_t capacity);

  /// Copies all `bytes` in, waiting for room as needed.
  void write(const void* data, std::size_t bytes) noexcept;
  /// Copies out between 1 and `max` bytes, waiting for some; 0 once the
  /// writer has closed the ring and everything was read.
  std::size_t read_some(void* data, std::size_t max) noexcept;
  /// Tells the reader no more bytes will come.
  void close() noexcept;

 private:
  explicit ByteRing(std::size_t capacity) : capacity_(capacity) {}
  unsigned char* buffer() noexcept { return reinterpret_cast<unsigned char*>(this + 1); }
  void wait_for_change(std::atomic<std::uint32_t>& word, std::atomic<std::uint32_t>& sleeping,
                       const std::atomic<std::uint64_t>& watched, std::uint64_t seen) noexcept;
  void notify(std::atomic<std::uint32_t>& word, std::atomic<std::uint32_t>& sleeping) noexcept;

  const std::size_t capacity_;
  alignas(64) std::atomic<std::uint64_t> head_{0};  // bytes read so far (reader writes)
  std::atomic<std::uint32_t> reader_moved_{0};      // futex word: bumped after each read
  std::atomic<std::uint32_t> writer_sleeping_{0};
  alignas(64) std::atomic<std::uint64_t> tail_{0};  // bytes written so far (writer writes)
  std::atomic<std::uint32_t> writer_moved_{0};      // futex word: bumped after each write
  std::atomic<std::uint32_t> reader_sleeping_{0};
  std::atomic<std::uint32_t> closed_{0};
  alignas(64) char padding_[1] = {};
};

}  // namespace parbench
