// bind() confined to loopback (mpi/loopback.hpp). Also compiled into the
// preload library, which is loaded into C programs (mpirun, orted): nothing
// here may need the C++ runtime (no exceptions, no std::string, no guarded
// statics).
#include "mpi/loopback.hpp"

#include <dlfcn.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace parbench::mpi::loopback {

bool enabled() noexcept {
  const char* value = std::getenv(kEnableVariable);
  return value != nullptr && std::strcmp(value, "1") == 0;
}

bool to_loopback(const sockaddr* address, socklen_t length, sockaddr_storage& loopback) noexcept {
  if (address == nullptr) return false;
  if (address->sa_family == AF_INET && length >= sizeof(sockaddr_in)) {
    sockaddr_in v4;
    std::memcpy(&v4, address, sizeof(v4));
    if (v4.sin_addr.s_addr != htonl(INADDR_ANY)) return false;
    v4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::memset(&loopback, 0, sizeof(loopback));
    std::memcpy(&loopback, &v4, sizeof(v4));
    return true;
  }
  if (address->sa_family == AF_INET6 && length >= sizeof(sockaddr_in6)) {
    sockaddr_in6 v6;
    std::memcpy(&v6, address, sizeof(v6));
    if (!IN6_IS_ADDR_UNSPECIFIED(&v6.sin6_addr)) return false;
    v6.sin6_addr = in6addr_loopback;
    std::memset(&loopback, 0, sizeof(loopback));
    std::memcpy(&loopback, &v6, sizeof(v6));
    return true;
  }
  return false;
}

}  // namespace parbench::mpi::loopback

namespace {

using BindFunction = int (*)(int, const sockaddr*, socklen_t);

// Looked up at each call rather than kept: bind is rare (a few per process),
// and a cache would be a mutable global (or a guarded static, which needs the
// C++ runtime the preload library must not pull into mpirun).
BindFunction next_bind() noexcept {
  return reinterpret_cast<BindFunction>(dlsym(RTLD_NEXT, "bind"));
}

}  // namespace

extern "C" __attribute__((visibility("default"))) int bind(int fd, const sockaddr* address,
                                                           socklen_t length) noexcept {
  const BindFunction real_bind = next_bind();
  if (real_bind == nullptr) {
    errno = ENOSYS;
    return -1;
  }
  sockaddr_storage loopback;
  if (!parbench::mpi::loopback::enabled() ||
      !parbench::mpi::loopback::to_loopback(address, length, loopback))
    return real_bind(fd, address, length);
  const int result = real_bind(fd, reinterpret_cast<const sockaddr*>(&loopback), length);
  if (result == 0 || address->sa_family != AF_INET6 || errno != EADDRNOTAVAIL) return result;
  // No ::1 (IPv6 off on lo): the IPv4 loopback through this socket, which
  // must then take IPv4 (Open MPI's BTL sets IPV6_V6ONLY). Failing the bind
  // instead would make Open MPI drop its whole tcp transport.
  sockaddr_in6 mapped;
  std::memcpy(&mapped, &loopback, sizeof(mapped));
  std::memset(&mapped.sin6_addr, 0, sizeof(mapped.sin6_addr));
  mapped.sin6_addr.s6_addr[10] = mapped.sin6_addr.s6_addr[11] = 0xff;  // ::ffff:127.0.0.1
  const in_addr_t v4_loopback = htonl(INADDR_LOOPBACK);
  std::memcpy(&mapped.sin6_addr.s6_addr[12], &v4_loopback, sizeof(v4_loopback));
  const int dual_stack = 0;
  if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &dual_stack, sizeof(dual_stack)) != 0) {
    errno = EADDRNOTAVAIL;
    return -1;
  }
  return real_bind(fd, reinterpret_cast<const sockaddr*>(&mapped), length);
}
