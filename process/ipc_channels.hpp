// Two-way byte channels between a parent and a forked child, one factory per
// IPC mechanism: pipe, fifo, socketpair_stream, socketpair_dgram, mqueue (POSIX
// message queue) and shm_ring (process/byte_ring.hpp in a shared mapping). Used
// by the ipc/ benchmarks and their tests.
//
// A channel is made before fork(); afterwards each process closes the two
// ends it does not use (close()). Messages larger than a mechanism's datagram
// or queue message are sent in pieces. Nothing is left in the file system:
// FIFO paths and queue names are removed as soon as both ends are open.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <vector>

namespace parbench {

/// One direction's sending or receiving end. recv_some returns 0 at the end
/// of the stream (EOF, or a zero-length message on message mechanisms).
class End {
 public:
  virtual ~End() = default;
  virtual void send(const void* data, std::size_t bytes) = 0;
  virtual std::size_t recv_some(void* data, std::size_t max) = 0;
  /// True if recv_some returns whole messages (and needs a buffer as large as
  /// the largest one); false for byte streams.
  virtual bool message_based() const = 0;
  virtual void finish() = 0;  // no more sends: the peer's recv_some returns 0
  virtual void close() = 0;   // release this end (in the process that does not use it)
};

/// One direction: a sending end and a receiving end (plus what keeps them alive).
struct Direction {
  std::unique_ptr<End> sender, receiver;
};

/// A channel between parent and child: parent -> child and child -> parent.
struct Channel {
  Direction down, up;
  std::shared_ptr<void> keep_alive;  // shared mapping of the rings
  std::size_t receive_buffer = 1 << 20;
};

struct IpcMechanism {
  const char* name;
  Channel (*make)();
};

/// Every mechanism, in display order.
std::span<const IpcMechanism> ipc_mechanisms();

/// Receives exactly `bytes` into out (false if the stream ended first).
bool recv_exact(End& end, std::vector<char>& scratch, char* out, std::size_t bytes);

}  // namespace parbench
