#include "mpi/tcp_peer.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <thread>

namespace parbench::mpi::tcp_peer {

Socket& Socket::operator=(Socket&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

Socket::~Socket() {
  if (fd_ >= 0) ::close(fd_);
}

namespace {

[[noreturn]] void fail(const char* what) {
  throw std::runtime_error(std::string("tcp: ") + what + ": " + std::strerror(errno));
}

int milliseconds_until(std::chrono::steady_clock::time_point deadline) {
  const auto left =
      std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  return static_cast<int>(std::clamp<std::chrono::milliseconds::rep>(left.count(), 0, INT_MAX));
}

bool from_expected_address(const sockaddr_storage& from, const ExpectedPeer& expected) {
  if (from.ss_family != AF_INET) return false;
  const std::uint32_t address = reinterpret_cast<const sockaddr_in&>(from).sin_addr.s_addr;
  if (expected.loopback) return (ntohl(address) >> 24) == 127;
  return std::find(expected.addresses.begin(), expected.addresses.end(), address) !=
         expected.addresses.end();
}

// Reads the first 16 bytes of a new connection, waiting until `until` at most.
bool sends_token(int fd, const Token& token, std::chrono::steady_clock::time_point until) {
  Token received{};
  for (std::size_t got = 0; got < received.size();) {
    pollfd ready{fd, POLLIN, 0};
    const int polled = ::poll(&ready, 1, milliseconds_until(until));
    if (polled < 0 && errno == EINTR) continue;
    if (polled <= 0) return false;  // silent until the end, or poll failed
    const ssize_t bytes = ::recv(fd, received.data() + got, received.size() - got, MSG_DONTWAIT);
    if (bytes < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
    if (bytes <= 0) return false;  // closed before a whole token, or reset
    got += static_cast<std::size_t>(bytes);
  }
  return same_token(received, token);
}

}  // namespace

Token random_token() {
  Token token{};
  for (std::size_t got = 0; got < token.size();) {
    const ssize_t bytes = getrandom(token.data() + got, token.size() - got, 0);
    if (bytes < 0 && errno == EINTR) continue;
    if (bytes <= 0) fail("getrandom");
    got += static_cast<std::size_t>(bytes);
  }
  return token;
}

bool same_token(const Token& a, const Token& b) noexcept {
  unsigned char difference = 0;
  for (std::size_t i = 0; i < a.size(); ++i) difference |= static_cast<unsigned char>(a[i] ^ b[i]);
  return difference == 0;
}

std::vector<Ipv4Interface> ipv4_interfaces() {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) fail("getifaddrs");
  const std::unique_ptr<ifaddrs, decltype(&freeifaddrs)> owned(list, &freeifaddrs);
  std::vector<Ipv4Interface> interfaces;
  for (const ifaddrs* entry = list; entry != nullptr; entry = entry->ifa_next) {
    if (entry->ifa_addr == nullptr || entry->ifa_addr->sa_family != AF_INET) continue;
    Ipv4Interface interface;
    interface.address = reinterpret_cast<const sockaddr_in*>(entry->ifa_addr)->sin_addr.s_addr;
    if (entry->ifa_netmask != nullptr)
      interface.netmask = reinterpret_cast<const sockaddr_in*>(entry->ifa_netmask)->sin_addr.s_addr;
    interfaces.push_back(interface);
  }
  return interfaces;
}

std::string network_identity() {
  std::ifstream boot("/proc/sys/kernel/random/boot_id");
  std::string boot_id;
  if (!std::getline(boot, boot_id) || boot_id.empty()) return {};
  char namespace_link[128] = {};
  const ssize_t length =
      readlink("/proc/thread-self/ns/net", namespace_link, sizeof(namespace_link) - 1);
  if (length <= 0) return {};
  return boot_id + " " + std::string(namespace_link, static_cast<std::size_t>(length));
}

bool same_host(const std::string& host, const std::string& identity, const std::string& peer_host,
               const std::string& peer_identity) {
  if (!identity.empty() && !peer_identity.empty()) return identity == peer_identity;
  return !host.empty() && host == peer_host;
}

std::uint32_t listen_address(bool on_one_host, const std::vector<Ipv4Interface>& mine,
                             const std::vector<Ipv4Interface>& peers) {
  if (on_one_host) return htonl(INADDR_LOOPBACK);
  const auto loopback = [](const Ipv4Interface& interface) {
    return (ntohl(interface.address) >> 24) == 127;
  };
  for (const Ipv4Interface& own : mine) {
    if (loopback(own)) continue;
    for (const Ipv4Interface& peer : peers)
      if (!loopback(peer) && ((own.address ^ peer.address) & own.netmask) == 0) return own.address;
  }
  for (const Ipv4Interface& own : mine)
    if (!loopback(own)) return own.address;
  throw std::runtime_error("tcp: rank 1's host has no IPv4 address but loopback");
}

AcceptedPeer accept_peer(int listener, const ExpectedPeer& expected,
                         std::chrono::steady_clock::time_point deadline) {
  // Non-blocking, so that a connection gone between poll and accept cannot
  // hold accept past the deadline.
  const int flags = ::fcntl(listener, F_GETFL);
  if (flags < 0 || ::fcntl(listener, F_SETFL, flags | O_NONBLOCK) != 0) fail("fcntl");
  AcceptedPeer accepted;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd ready{listener, POLLIN, 0};
    const int polled = ::poll(&ready, 1, milliseconds_until(deadline));
    if (polled < 0 && errno != EINTR) fail("poll");
    if (polled <= 0) continue;
    sockaddr_storage from{};
    socklen_t length = sizeof(from);
    Socket connection(
        ::accept4(listener, reinterpret_cast<sockaddr*>(&from), &length, SOCK_CLOEXEC));
    if (!connection.valid()) {
      switch (errno) {
        case EBADF:
        case EINVAL:
        case ENOTSOCK:
        case EFAULT:
        case EOPNOTSUPP:
          fail("accept");
        case EMFILE:
        case ENFILE:
        case ENOBUFS:
        case ENOMEM:  // out of descriptors or memory for now: try again shortly
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
          continue;
        default:  // the connection failed before it was accepted (reset, network errors)
          continue;
      }
    }
    const auto token_deadline =
        std::min(deadline, std::chrono::steady_clock::now() + expected.token_wait);
    if (!from_expected_address(from, expected) ||
        !sends_token(connection.fd(), expected.token, token_deadline)) {
      ++accepted.rejected;  // closed as `connection` goes
      continue;
    }
    accepted.socket = std::move(connection);
    return accepted;
  }
  return accepted;
}

}  // namespace parbench::mpi::tcp_peer
