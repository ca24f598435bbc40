// Sockets for the tests of mpi/loopback.hpp and mpi/tcp_peer.hpp:
// PARBENCH_MPI_LOOPBACK set for a test, addresses from text, a socket bound
// to one, what it is bound to, and a thread in a network namespace of its own.
#pragma once

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

#include "mpi/loopback.hpp"
#include "mpi/tcp_peer.hpp"

namespace parbench::testing_support {

using mpi::tcp_peer::Socket;

// PARBENCH_MPI_LOOPBACK as a test wants it (nullptr: unset), given back after.
class LoopbackSetting {
 public:
  explicit LoopbackSetting(const char* value) {
    if (const char* old = std::getenv(mpi::loopback::kEnableVariable)) old_ = old;
    if (value != nullptr)
      setenv(mpi::loopback::kEnableVariable, value, 1);
    else
      unsetenv(mpi::loopback::kEnableVariable);
  }
  LoopbackSetting(const LoopbackSetting&) = delete;
  LoopbackSetting& operator=(const LoopbackSetting&) = delete;
  ~LoopbackSetting() {
    if (old_)
      setenv(mpi::loopback::kEnableVariable, old_->c_str(), 1);
    else
      unsetenv(mpi::loopback::kEnableVariable);
  }

 private:
  std::optional<std::string> old_;
};

inline sockaddr_in ipv4(const char* text, std::uint16_t port = 0) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  if (inet_pton(AF_INET, text, &address.sin_addr) != 1) throw std::invalid_argument(text);
  return address;
}

inline sockaddr_in6 ipv6(const char* text, std::uint16_t port = 0) {
  sockaddr_in6 address{};
  address.sin6_family = AF_INET6;
  address.sin6_port = htons(port);
  if (inet_pton(AF_INET6, text, &address.sin6_addr) != 1) throw std::invalid_argument(text);
  return address;
}

inline std::uint32_t address_of(const char* text) {
  return ipv4(text).sin_addr.s_addr;
}

// "address:port" of a socket, as getsockname says.
inline std::string local_name(int fd) {
  sockaddr_storage name{};
  socklen_t length = sizeof(name);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&name), &length) != 0)
    return std::string("getsockname: ") + std::strerror(errno);
  char text[INET6_ADDRSTRLEN] = "?";
  if (name.ss_family == AF_INET) {
    const auto& v4 = reinterpret_cast<const sockaddr_in&>(name);
    inet_ntop(AF_INET, &v4.sin_addr, text, sizeof(text));
    return std::string(text) + ":" + std::to_string(ntohs(v4.sin_port));
  }
  const auto& v6 = reinterpret_cast<const sockaddr_in6&>(name);
  inet_ntop(AF_INET6, &v6.sin6_addr, text, sizeof(text));
  return "[" + std::string(text) + "]:" + std::to_string(ntohs(v6.sin6_port));
}

// A TCP socket of family bound to address, or the reason it could not be.
template <class Address>
Socket bound(const Address& address, std::string* error = nullptr) {
  const auto family = reinterpret_cast<const sockaddr&>(address).sa_family;
  Socket socket(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (socket.valid() &&
      ::bind(socket.fd(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0)
    return socket;
  if (error != nullptr) *error = std::strerror(errno);
  return Socket();
}

// Runs body in a thread of its own network namespace (lo up, IPv6 off on it),
// or returns false if it cannot be made here (not root, no namespaces).
template <class Body>
bool in_namespace_without_ipv6_loopback(Body body) {
  bool made = false;
  std::thread([&] {
    if (unshare(CLONE_NEWNET) != 0) return;  // this thread only
    std::ofstream("/proc/sys/net/ipv6/conf/lo/disable_ipv6") << "1\n";
    const Socket control(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ifreq request{};
    std::strcpy(request.ifr_name, "lo");
    if (ioctl(control.fd(), SIOCGIFFLAGS, &request) != 0) return;
    request.ifr_flags = static_cast<short>(request.ifr_flags | IFF_UP);
    if (ioctl(control.fd(), SIOCSIFFLAGS, &request) != 0) return;
    made = true;
    body();
  }).join();
  return made;
}

}  // namespace parbench::testing_support
