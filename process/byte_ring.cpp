#include "process/byte_ring.hpp"
#include "primitives/cpu_relax.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <new>
#include <stdexcept>
#include <thread>

#include "process/process_util.hpp"

namespace parbench {

ByteRing* ByteRing::create(void* memory, std::size_t capacity) {
  if (capacity == 0 || (capacity & (capacity - 1)) != 0)
    throw std::invalid_argument("ByteRing capacity must be a power of two");
  return new (memory) ByteRing(capacity);
}

void ByteRing::wait_for_change(std::atomic<std::uint32_t>& word,
                               std::atomic<std::uint32_t>& sleeping,
                               const std::atomic<std::uint64_t>& watched,
                               std::uint64_t seen) noexcept {
  const auto start = std::chrono::steady_clock::now();
  for (std::uint32_t spins = 0; watched.load(std::memory_order_acquire) == seen; ++spins) {
    if (closed_.load(std::memory_order_acquire) && &watched == &tail_) return;
    if ((spins & 127) != 0 ||
        std::chrono::steady_clock::now() - start < std::chrono::microseconds(50)) {
      cpu_relax();
      continue;
    }
    const std::uint32_t observed = word.load(std::memory_order_seq_cst);
    sleeping.store(1, std::memory_order_seq_cst);
    if (watched.load(std::memory_order_seq_cst) == seen &&
        !(closed_.load(std::memory_order_seq_cst) && &watched == &tail_))
      futex_wait(word, observed, 10'000'000);
    sleeping.store(0, std::memory_order_relaxed);
  }
}

void ByteRing::notify(std::atomic<std::uint32_t>& word,
                      std::atomic<std::uint32_t>& sleeping) noexcept {
  word.fetch_add(1, std::memory_order_seq_cst);
  if (sleeping.load(std::memory_order_seq_cst)) futex_wake(word, 1);
}

void ByteRing::write(const void* data, std::size_t bytes) noexcept {
  const auto* in = static_cast<const unsigned char*>(data);
  std::uint64_t tail = tail_.load(std::memory_order_relaxed);
  while (bytes > 0) {
    std::uint64_t head = head_.load(std::memory_order_acquire);
    while (tail - head == capacity_) {
      wait_for_change(reader_moved_, writer_sleeping_, head_, head);
      head = head_.load(std::memory_order_acquire);
    }
    const std::size_t room = capacity_ - static_cast<std::size_t>(tail - head);
    const std::size_t offset = static_cast<std::size_t>(tail & (capacity_ - 1));
    const std::size_t count = std::min({bytes, room, capacity_ - offset});
    std::memcpy(buffer() + offset, in, count);
    tail += count;
    tail_.store(tail, std::memory_order_release);
    notify(writer_moved_, reader_sleeping_);
    in += count;
    bytes -= count;
  }
}

std::size_t ByteRing::read_some(void* data, std::size_t max) noexcept {
  const std::uint64_t head = head_.load(std::memory_order_relaxed);
  std::uint64_t tail = tail_.load(std::memory_order_acquire);
  while (tail == head) {
    if (closed_.load(std::memory_order_acquire)) {
      tail = tail_.load(std::memory_order_acquire);
      if (tail == head) return 0;
      break;
    }
    wait_for_change(writer_moved_, reader_sleeping_, tail_, head);
    tail = tail_.load(std::memory_order_acquire);
  }
  const std::size_t offset = static_cast<std::size_t>(head & (capacity_ - 1));
  const std::size_t count =
      std::min({max, static_cast<std::size_t>(tail - head), capacity_ - offset});
  std::memcpy(data, buffer() + offset, count);
  head_.store(head + count, std::memory_order_release);
  notify(reader_moved_, writer_sleeping_);
  return count;
}

void ByteRing::close() noexcept {
  closed_.store(1, std::memory_order_seq_cst);
  notify(writer_moved_, reader_sleeping_);
}

}  // namespace parbench
