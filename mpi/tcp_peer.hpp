// The TCP baseline's rendezvous (mpi/tcp_latency in benchmarks/mpi.cpp):
// which address rank 1 listens on, and accepting rank 0's connection only.
// No MPI here (the ranks exchange these facts over MPI; this is what they
// decide with them), so it is tested in every build.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace parbench::mpi::tcp_peer {

/// A descriptor, closed with its owner.
class Socket {
 public:
  explicit Socket(int fd = -1) noexcept : fd_(fd) {}
  Socket(Socket&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Socket& operator=(Socket&& other) noexcept;
  ~Socket();
  int fd() const noexcept { return fd_; }
  bool valid() const noexcept { return fd_ >= 0; }

 private:
  int fd_;
};

/// What the connecting side sends first, proving it is rank 0 of this run.
using Token = std::array<unsigned char, 16>;
/// 16 bytes from getrandom(); throws std::runtime_error if it fails.
Token random_token();
/// Equal, in time that does not depend on where they differ.
bool same_token(const Token& a, const Token& b) noexcept;

/// An IPv4 interface address and its netmask, both in network byte order.
struct Ipv4Interface {
  std::uint32_t address = 0;
  std::uint32_t netmask = 0;
};
/// This host's IPv4 interface addresses (loopback included), in getifaddrs order.
std::vector<Ipv4Interface> ipv4_interfaces();

/// What tells two processes apart by network stack: the kernel's boot id and
/// this process's network namespace ("" if either cannot be read). Loopback
/// joins two processes only if theirs are equal; host names do not say that
/// (network namespaces, containers, share one).
std::string network_identity();
/// Whether loopback joins rank 1 to rank 0: their network identities are
/// equal, or (either unknown) their host names are.
bool same_host(const std::string& host, const std::string& identity, const std::string& peer_host,
               const std::string& peer_identity);

/// Where rank 1 listens (network byte order): 127.0.0.1 on rank 0's host;
/// else its own address on a subnet (by its netmask) of one of rank 0's
/// addresses; else its first address that is not loopback. Throws
/// std::runtime_error if it has none.
std::uint32_t listen_address(bool on_one_host, const std::vector<Ipv4Interface>& mine,
                             const std::vector<Ipv4Interface>& peers);

/// Whom rank 1 accepts.
struct ExpectedPeer {
  bool loopback = false;                       ///< connects from 127.0.0.0/8 (one host)
  std::vector<std::uint32_t> addresses;        ///< else from one of these (network byte order)
  Token token{};                               ///< and sends this first
  std::chrono::milliseconds token_wait{2000};  ///< at most this long
};

/// The connection accepted (invalid if the deadline passed first) and how
/// many others were closed on the way.
struct AcceptedPeer {
  Socket socket;
  unsigned rejected = 0;
};

/// Accepts IPv4 connections on listener until one comes from the expected
/// peer's address and sends its token as its first 16 bytes (within
/// token_wait), or until deadline. Every other connection (another address, a
/// wrong, short or late token) is closed and counted; a silent one holds the
/// wait for token_wait at most. Throws std::runtime_error on a failure of the
/// listener itself.
AcceptedPeer accept_peer(int listener, const ExpectedPeer& expected,
                         std::chrono::steady_clock::time_point deadline);

}  // namespace parbench::mpi::tcp_peer
