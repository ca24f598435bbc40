// Open MPI's listeners confined to loopback (mpi/loopback.hpp: this binary
// exports the bind() under test). No MPI needed, so every build runs these,
// the sanitizer builds included; the spawned team's listeners are checked in
// tests/test_mpi.cpp.
#include <arpa/inet.h>
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>

#include "mpi/loopback.hpp"
#include "tests/socket_support.hpp"

namespace parbench {
namespace {

namespace loopback = mpi::loopback;
using testing_support::bound;
using testing_support::in_namespace_without_ipv6_loopback;
using testing_support::ipv4;
using testing_support::ipv6;
using testing_support::local_name;
using testing_support::LoopbackSetting;
using testing_support::Socket;

// A port that was free a moment ago (to see that the port is kept).
std::uint16_t free_port() {
  const Socket probe = bound(ipv4("127.0.0.1"));
  sockaddr_in name{};
  socklen_t length = sizeof(name);
  getsockname(probe.fd(), reinterpret_cast<sockaddr*>(&name), &length);
  return ntohs(name.sin_port);
}

bool ipv6_loopback_available() {
  const LoopbackSetting off(nullptr);
  return bound(ipv6("::1")).valid();
}

TEST(MpiLoopback, LibrariesAndPluginsLoadedLaterCallThisProgramsBind) {
  // The first bind in the global scope, which Open MPI's libraries and the
  // plugins it dlopens (mca_oob_tcp.so, mca_btl_tcp.so) bind to: ours only
  // if the executable exports it.
  EXPECT_EQ(dlsym(RTLD_DEFAULT, "bind"), reinterpret_cast<void*>(&::bind));
}

TEST(MpiLoopback, AWildcardIpv4BindEndsOnLoopbackWhenEnabled) {
  const LoopbackSetting on("1");
  const Socket any_port = bound(ipv4("0.0.0.0"));
  ASSERT_TRUE(any_port.valid());
  EXPECT_TRUE(local_name(any_port.fd()).starts_with("127.0.0.1:")) << local_name(any_port.fd());
  const std::uint16_t port = free_port();
  const Socket fixed_port = bound(ipv4("0.0.0.0", port));
  ASSERT_TRUE(fixed_port.valid());
  EXPECT_EQ(local_name(fixed_port.fd()), "127.0.0.1:" + std::to_string(port)) << "port kept";
}

TEST(MpiLoopback, AWildcardBindStaysWildcardWhenNotEnabled) {
  for (const char* value : {static_cast<const char*>(nullptr), "", "0", "yes"}) {
    const LoopbackSetting setting(value);
    const Socket socket = bound(ipv4("0.0.0.0"));
    ASSERT_TRUE(socket.valid());
    EXPECT_TRUE(local_name(socket.fd()).starts_with("0.0.0.0:"))
        << (value ? value : "unset") << ": " << local_name(socket.fd());
  }
  if (!ipv6_loopback_available()) return;
  const LoopbackSetting off(nullptr);
  const Socket socket = bound(ipv6("::"));
  ASSERT_TRUE(socket.valid());
  EXPECT_TRUE(local_name(socket.fd()).starts_with("[::]:")) << local_name(socket.fd());
}

TEST(MpiLoopback, AWildcardIpv6BindEndsOnIpv6LoopbackWhenEnabled) {
  if (!ipv6_loopback_available()) GTEST_SKIP() << "::1 cannot be bound here";
  const LoopbackSetting on("1");
  const std::uint16_t port = free_port();
  const Socket socket = bound(ipv6("::", port));
  ASSERT_TRUE(socket.valid());
  EXPECT_EQ(local_name(socket.fd()), "[::1]:" + std::to_string(port));
}

TEST(MpiLoopback, OtherAddressesPassThroughUnchanged) {
  const LoopbackSetting on("1");
  const Socket other = bound(ipv4("127.0.0.2"));
  ASSERT_TRUE(other.valid());
  EXPECT_TRUE(local_name(other.fd()).starts_with("127.0.0.2:")) << local_name(other.fd());
  // A Unix socket (abstract name) binds as asked.
  Socket unix_socket(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un name{};
  name.sun_family = AF_UNIX;
  const std::string abstract = "parbench-loopback-test-" + std::to_string(getpid());
  std::memcpy(name.sun_path + 1, abstract.data(), abstract.size());
  const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + abstract.size());
  EXPECT_EQ(::bind(unix_socket.fd(), reinterpret_cast<sockaddr*>(&name), length), 0)
      << std::strerror(errno);
}

TEST(MpiLoopback, ToLoopbackKeepsEveryOtherFieldAndRefusesWhatIsNotAWildcard) {
  sockaddr_storage out{};
  sockaddr_in6 any = ipv6("::", 4242);
  any.sin6_flowinfo = htonl(7);
  any.sin6_scope_id = 3;
  ASSERT_TRUE(loopback::to_loopback(reinterpret_cast<sockaddr*>(&any), sizeof(any), out));
  const auto& v6 = reinterpret_cast<const sockaddr_in6&>(out);
  EXPECT_TRUE(IN6_IS_ADDR_LOOPBACK(&v6.sin6_addr));
  EXPECT_EQ(ntohs(v6.sin6_port), 4242);
  EXPECT_EQ(ntohl(v6.sin6_flowinfo), 7u);
  EXPECT_EQ(v6.sin6_scope_id, 3u);
  const sockaddr_in host = ipv4("192.0.2.1");
  EXPECT_FALSE(loopback::to_loopback(reinterpret_cast<const sockaddr*>(&host), sizeof(host), out));
  const sockaddr_in any4 = ipv4("0.0.0.0");
  EXPECT_FALSE(loopback::to_loopback(reinterpret_cast<const sockaddr*>(&any4), 4, out))
      << "a short address is left to the kernel to refuse";
  EXPECT_FALSE(loopback::to_loopback(nullptr, 0, out));
}

TEST(MpiLoopback, WithoutIpv6LoopbackAWildcardIpv6BindTakesTheIpv4Loopback) {
  // Open MPI's tcp BTL gives up the whole transport when its IPv6 listener
  // cannot bind: with IPv6 off on lo, the socket must still bind, and only
  // on loopback.
  std::string plain_error, name, reached;
  const bool made = in_namespace_without_ipv6_loopback([&] {
    const LoopbackSetting on("1");
    bound(ipv6("::1"), &plain_error);
    const Socket listener = bound(ipv6("::"));
    if (!listener.valid() || ::listen(listener.fd(), 1) != 0) return;
    name = local_name(listener.fd());
    const std::string port = name.substr(name.rfind(':') + 1);
    const sockaddr_in to = ipv4("127.0.0.1", static_cast<std::uint16_t>(std::stoi(port)));
    const Socket client(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    reached = ::connect(client.fd(), reinterpret_cast<const sockaddr*>(&to), sizeof(to)) == 0
                  ? "yes"
                  : std::strerror(errno);
  });
  if (!made) GTEST_SKIP() << "no network namespace can be made here";
  ASSERT_FALSE(plain_error.empty()) << "::1 was still there: the test proves nothing";
  EXPECT_TRUE(name.starts_with("[::ffff:127.0.0.1]:")) << name;
  EXPECT_EQ(reached, "yes");
}

}  // namespace
}  // namespace parbench
