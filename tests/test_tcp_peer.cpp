// The TCP baseline's rendezvous (mpi/tcp_peer.hpp): where rank 1 listens and
// whom it accepts. No MPI needed, so every build runs these, the sanitizer
// builds included.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "mpi/loopback.hpp"
#include "mpi/tcp_peer.hpp"
#include "tests/socket_support.hpp"

namespace parbench {
namespace {

namespace tcp = mpi::tcp_peer;
using std::chrono::milliseconds;
using std::chrono::steady_clock;
using tcp::Socket;
using testing_support::address_of;
using testing_support::bound;
using testing_support::ipv4;
using testing_support::LoopbackSetting;

struct Listening {
  Socket socket;
  std::uint16_t port = 0;
};

Listening listen_on(const char* address) {
  Listening listening{bound(ipv4(address)), 0};
  if (!listening.socket.valid() || ::listen(listening.socket.fd(), 8) != 0)
    throw std::runtime_error("listen failed");
  sockaddr_in name{};
  socklen_t length = sizeof(name);
  getsockname(listening.socket.fd(), reinterpret_cast<sockaddr*>(&name), &length);
  listening.port = ntohs(name.sin_port);
  return listening;
}

// A client of 127.0.0.1:port from source (an address of lo), sending first.
Socket connect_from(const char* source, std::uint16_t port, const std::string& first = "") {
  Socket client = bound(ipv4(source));
  const sockaddr_in to = ipv4("127.0.0.1", port);
  if (!client.valid() ||
      ::connect(client.fd(), reinterpret_cast<const sockaddr*>(&to), sizeof(to)) != 0)
    throw std::runtime_error(std::string("connect: ") + std::strerror(errno));
  if (!first.empty() && ::send(client.fd(), first.data(), first.size(), MSG_NOSIGNAL) < 0)
    throw std::runtime_error("send failed");
  return client;
}

std::string as_text(const tcp::Token& token) {
  return std::string(token.begin(), token.end());
}

// What `from` sent on `to` arrives: `to` is that connection.
bool joined(const Socket& from, const Socket& to) {
  const char hello[] = "hello";
  char got[sizeof(hello)] = {};
  return ::send(from.fd(), hello, sizeof(hello), MSG_NOSIGNAL) == sizeof(hello) &&
         ::recv(to.fd(), got, sizeof(got), MSG_WAITALL) == sizeof(got) &&
         std::memcmp(got, hello, sizeof(hello)) == 0;
}

// The other end closed `socket`: it reads the end of the stream, or a reset
// (closing with unread bytes, as a token never read, resets the connection).
bool closed_by_peer(const Socket& socket) {
  char byte = 0;
  const ssize_t got = ::recv(socket.fd(), &byte, 1, 0);
  return got == 0 || (got < 0 && errno == ECONNRESET);
}

tcp::ExpectedPeer on_one_host(const tcp::Token& token) {
  tcp::ExpectedPeer expected;
  expected.loopback = true;
  expected.token = token;
  return expected;
}

TEST(MpiTcpPeer, AStrangerWithAWrongTokenIsClosedAndRank0IsThenAccepted) {
  const Listening listener = listen_on("127.0.0.1");
  const tcp::Token token = tcp::random_token();
  tcp::Token wrong = token;
  wrong[15] ^= 1;
  const Socket stranger = connect_from("127.0.0.1", listener.port, as_text(wrong));
  const Socket rank0 = connect_from("127.0.0.1", listener.port, as_text(token));
  const tcp::AcceptedPeer accepted = tcp::accept_peer(
      listener.socket.fd(), on_one_host(token), steady_clock::now() + std::chrono::seconds(5));
  ASSERT_TRUE(accepted.socket.valid());
  EXPECT_EQ(accepted.rejected, 1u);
  EXPECT_TRUE(joined(rank0, accepted.socket));
  EXPECT_TRUE(closed_by_peer(stranger));
}

TEST(MpiTcpPeer, AConnectionFromAnotherAddressIsClosedEvenWithTheToken) {
  const Listening listener = listen_on("127.0.0.1");
  const tcp::Token token = tcp::random_token();
  tcp::ExpectedPeer expected;  // rank 0 on another host, at 127.0.0.2
  expected.addresses = {address_of("192.0.2.7"), address_of("127.0.0.2")};
  expected.token = token;
  const Socket stranger = connect_from("127.0.0.3", listener.port, as_text(token));
  const Socket rank0 = connect_from("127.0.0.2", listener.port, as_text(token));
  const tcp::AcceptedPeer accepted = tcp::accept_peer(
      listener.socket.fd(), expected, steady_clock::now() + std::chrono::seconds(5));
  ASSERT_TRUE(accepted.socket.valid());
  EXPECT_EQ(accepted.rejected, 1u);
  EXPECT_TRUE(joined(rank0, accepted.socket));
  EXPECT_TRUE(closed_by_peer(stranger));
}

TEST(MpiTcpPeer, OnOneHostOnlyLoopbackIsAccepted) {
  const LoopbackSetting off(nullptr);  // a wildcard listener, for real
  const Listening listener = listen_on("0.0.0.0");
  std::uint32_t outside = 0;
  for (const tcp::Ipv4Interface& interface : tcp::ipv4_interfaces())
    if ((ntohl(interface.address) >> 24) != 127) outside = interface.address;
  if (outside == 0) GTEST_SKIP() << "no address but loopback here";
  const tcp::Token token = tcp::random_token();
  char text[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &outside, text, sizeof(text));
  Socket stranger = bound(ipv4(text));
  const sockaddr_in to = ipv4(text, listener.port);
  ASSERT_EQ(::connect(stranger.fd(), reinterpret_cast<const sockaddr*>(&to), sizeof(to)), 0);
  ASSERT_EQ(::send(stranger.fd(), token.data(), token.size(), MSG_NOSIGNAL), 16);
  const Socket rank0 = connect_from("127.0.0.1", listener.port, as_text(token));
  const tcp::AcceptedPeer accepted = tcp::accept_peer(
      listener.socket.fd(), on_one_host(token), steady_clock::now() + std::chrono::seconds(5));
  ASSERT_TRUE(accepted.socket.valid());
  EXPECT_EQ(accepted.rejected, 1u) << text << " is not loopback";
  EXPECT_TRUE(joined(rank0, accepted.socket));
}

TEST(MpiTcpPeer, ASilentStrangerHoldsTheWaitNoLongerThanTheTokenWait) {
  const Listening listener = listen_on("127.0.0.1");
  const tcp::Token token = tcp::random_token();
  tcp::ExpectedPeer expected = on_one_host(token);
  expected.token_wait = milliseconds(300);
  const Socket silent = connect_from("127.0.0.1", listener.port);
  const Socket rank0 = connect_from("127.0.0.1", listener.port, as_text(token));
  const auto start = steady_clock::now();
  const tcp::AcceptedPeer accepted =
      tcp::accept_peer(listener.socket.fd(), expected, start + std::chrono::seconds(10));
  const auto waited = steady_clock::now() - start;
  ASSERT_TRUE(accepted.socket.valid());
  EXPECT_EQ(accepted.rejected, 1u);
  EXPECT_TRUE(joined(rank0, accepted.socket));
  EXPECT_GE(waited, milliseconds(290));
  EXPECT_LT(waited, milliseconds(3000)) << "the silent stranger held rank 0 out";
  EXPECT_TRUE(closed_by_peer(silent));
}

TEST(MpiTcpPeer, NoOneAcceptedByTheDeadlineIsAnInvalidSocketAndTheCount) {
  const Listening listener = listen_on("127.0.0.1");
  const tcp::Token token = tcp::random_token();
  {
    const Socket short_token = connect_from("127.0.0.1", listener.port, "only part");
  }  // closed before a whole token
  const auto start = steady_clock::now();
  const tcp::AcceptedPeer accepted =
      tcp::accept_peer(listener.socket.fd(), on_one_host(token), start + milliseconds(300));
  EXPECT_FALSE(accepted.socket.valid());
  EXPECT_EQ(accepted.rejected, 1u);
  EXPECT_GE(steady_clock::now() - start, milliseconds(290));
  EXPECT_LT(steady_clock::now() - start, milliseconds(3000));
}

TEST(MpiTcpPeer, TokensAreRandomAndCompareEveryByte) {
  const tcp::Token a = tcp::random_token(), b = tcp::random_token();
  EXPECT_NE(a, b);
  EXPECT_TRUE(tcp::same_token(a, a));
  for (std::size_t i = 0; i < a.size(); ++i) {
    tcp::Token changed = a;
    changed[i] ^= 0x80;
    EXPECT_FALSE(tcp::same_token(a, changed)) << i;
  }
}

TEST(MpiTcpPeer, Rank1ListensOnLoopbackOnASharedSubnetOrElseItsFirstAddress) {
  const auto at = [](const char* address, const char* netmask) {
    return tcp::Ipv4Interface{address_of(address), address_of(netmask)};
  };
  const std::vector<tcp::Ipv4Interface> mine{at("127.0.0.1", "255.0.0.0"),
                                             at("192.168.1.5", "255.255.255.0"),
                                             at("10.0.0.2", "255.255.255.0")};
  EXPECT_EQ(tcp::listen_address(true, mine, {}), address_of("127.0.0.1"));
  EXPECT_EQ(tcp::listen_address(false, mine,
                                {at("127.0.0.1", "255.0.0.0"), at("10.0.0.1", "255.255.255.0")}),
            address_of("10.0.0.2"));
  EXPECT_EQ(tcp::listen_address(false, mine, {at("172.16.0.1", "255.255.0.0")}),
            address_of("192.168.1.5"))
      << "no shared subnet: the first address that is not loopback";
  EXPECT_EQ(tcp::listen_address(false, mine, {at("127.0.0.1", "255.0.0.0")}),
            address_of("192.168.1.5"))
      << "loopback is no shared subnet across hosts";
  EXPECT_THROW(tcp::listen_address(false, {at("127.0.0.1", "255.0.0.0")}, {}), std::runtime_error);
}

TEST(MpiTcpPeer, LoopbackJoinsTwoRanksOnlyInOneNetworkStack) {
  const std::string here = tcp::network_identity();
  ASSERT_FALSE(here.empty());
  EXPECT_TRUE(tcp::same_host("a", here, "a", here));
  EXPECT_TRUE(tcp::same_host("a", here, "b", here)) << "one stack, two names";
  EXPECT_TRUE(tcp::same_host("a", "", "a", here)) << "unknown: the host names say";
  EXPECT_FALSE(tcp::same_host("a", "", "b", ""));
  EXPECT_FALSE(tcp::same_host("", "", "", ""));
  // Another network namespace of this host, under the same host name (as
  // tests/python/test_mpi_hosts.py's two 'hosts'): loopback does not join them.
  std::string there;
  const bool made =
      testing_support::in_namespace_without_ipv6_loopback([&] { there = tcp::network_identity(); });
  if (!made) return;
  ASSERT_FALSE(there.empty());
  EXPECT_FALSE(tcp::same_host("a", here, "a", there)) << here << " vs " << there;
}

}  // namespace
}  // namespace parbench
