// mpi/: what a message costs through Open MPI, OSU Micro-Benchmarks style,
// with this binary's own ranks (mpi/team.hpp: rank 0 is this process):
//   mpi/latency/size:<B>             blocking MPI_Send/MPI_Recv ping-pong between
//                                    ranks 0 and 1; one iteration is a round
//                                    trip (as ipc/*/pingpong), each timed:
//                                    counters one_way_us (median) and
//                                    one_way_p99_us are half a round trip
//   mpi/latency_raw/size:<B>         the baseline: the same ping-pong as a bare
//                                    loop timed once with MPI_Wtime (OSU's
//                                    osu_latency); time per round trip
//   mpi/tcp_latency/size:<B>         the same ping-pong over a plain TCP socket
//                                    between the hosts of ranks 0 and 1: what
//                                    MPI adds to, or saves over, the network's
//                                    own round trip. Rank 0 sends rank 1 its
//                                    host and IPv4 addresses over MPI; rank 1
//                                    listens on one address (127.0.0.1 on one
//                                    host, else its own on a subnet of rank
//                                    0's, else its first) and answers with it,
//                                    the port and a random token, which rank 0
//                                    sends first. Rank 1 accepts only that:
//                                    a connection from elsewhere or without
//                                    the token is closed and counted
//                                    (tcp_rejected_connections)
//   mpi/bandwidth/size:<B>           a window of 64 MPI_Isend to rank 1, then a
//                                    4-byte ack; bytes_per_second
//   mpi/bibw/size:<B>                the same window in both directions at once
//   mpi/allreduce/size:<B>/ranks:<R> MPI_Allreduce (sum of int32) over R ranks
//   mpi/bcast/size:<B>/ranks:<R>     MPI_Bcast from rank 0
//   mpi/alltoall/size:<B>/ranks:<R>  MPI_Alltoall, B bytes to each rank
//   mpi/barrier/ranks:<R>            MPI_Barrier
// Sizes 1 B to 4 MiB doubling, or PARBENCH_MPI_SIZES=8,1024,... (the sweep's
// [mpi] sizes); ranks 2, the hardware threads and twice that (more ranks than
// cores oversubscribe: a rank that busy-polls then slows the others).
// Verified: every echo carries its round number and the last payload is
// compared whole; receivers of a window check the payload of the last
// message; allreduce results are checked against R (R + 1) / 2 per element,
// bcast and alltoall payloads against their pattern, on every rank.
#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "benchmarks/harness.hpp"
#include "mpi/tcp_peer.hpp"
#include "mpi/team.hpp"

namespace parbench {
namespace {

using mpi::Command;
using mpi::Team;

constexpr int kWindow = 64;
constexpr int kTag = 7;

enum Arg { kSize = 1, kIterations = 2, kVariant = 3 };

// What every rank needs to run its side of a timed loop: the message size,
// Google Benchmark's iteration count (known before the loop starts) and the
// family's variant (both directions, which collective).
Command loop_command(const benchmark::State& state, std::size_t size, std::uint64_t variant) {
  Command command;
  command.args[kSize] = size;
  command.args[kIterations] = static_cast<std::uint64_t>(state.max_iterations);
  command.args[kVariant] = variant;
  return command;
}

std::vector<std::size_t> message_sizes() {
  std::vector<std::size_t> sizes;
  const char* text = std::getenv("PARBENCH_MPI_SIZES");
  if (text == nullptr || *text == '\0') {
    for (std::size_t size = 1; size <= (4u << 20); size *= 2) sizes.push_back(size);
    return sizes;
  }
  const std::string list = text;
  for (std::size_t start = 0; start <= list.size();) {
    const std::size_t end = std::min(list.find(',', start), list.size());
    const std::string item = list.substr(start, end - start);
    char* rest = nullptr;
    const unsigned long long size = std::strtoull(item.c_str(), &rest, 10);
    if (item.empty() || *rest != '\0' || size == 0 || size > (64u << 20))
      throw std::invalid_argument("PARBENCH_MPI_SIZES=" + list +
                                  ": sizes must be whole bytes from 1 to 64 MiB, got '" + item +
                                  "'");
    sizes.push_back(size);
    start = end + 1;
  }
  return sizes;
}

unsigned char pattern(std::size_t i) {
  return static_cast<unsigned char>(i * 131 + 7);
}

void check(int code, const char* what) {
  if (code != MPI_SUCCESS) throw std::runtime_error(std::string("mpi: ") + what + " failed");
}

// ------------------------------------------------------------ point to point

// Rank 1 echoes every message back; other ranks have nothing to do.
void echo(Team& team, const Command& command) {
  if (team.rank() != 1) return;
  std::vector<unsigned char> buffer(std::max<std::uint64_t>(command.args[kSize], 1));
  const int size = static_cast<int>(command.args[kSize]);
  for (std::uint64_t i = 0; i < command.args[kIterations]; ++i) {
    check(MPI_Recv(buffer.data(), size, MPI_BYTE, 0, kTag, team.comm(), MPI_STATUS_IGNORE),
          "MPI_Recv");
    check(MPI_Send(buffer.data(), size, MPI_BYTE, 0, kTag, team.comm()), "MPI_Send");
  }
}

// Google Benchmark's loop of a ping-pong, each round trip timed: the payload
// carries the round number in its first bytes, which the echo must bring back.
template <class RoundTrip>
void time_round_trips(benchmark::State& state, std::vector<unsigned char>& payload,
                      const std::vector<unsigned char>& back, std::vector<double>& round_trips,
                      RoundTrip round_trip) {
  const std::size_t stamp = std::min(payload.size(), sizeof(std::uint64_t));
  round_trips.reserve(static_cast<std::size_t>(state.max_iterations));
  std::uint64_t round = 0;
  for (auto _ : state) {
    ++round;
    std::memcpy(payload.data(), &round, stamp);
    const auto start = std::chrono::steady_clock::now();
    round_trip();
    round_trips.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    if (std::memcmp(back.data(), &round, stamp) != 0)
      throw std::runtime_error("the echo of round " + std::to_string(round) + " differs");
  }
}

// The counters of a ping-pong: one way = half a round trip (median, p99).
void record_round_trips(benchmark::State& state, std::vector<double>& round_trips,
                        std::size_t size) {
  if (!round_trips.empty()) {
    std::sort(round_trips.begin(), round_trips.end());
    const auto at = [&](double q) {
      return round_trips[std::min(round_trips.size() - 1,
                                  static_cast<std::size_t>(q * round_trips.size()))];
    };
    state.counters["one_way_us"] = at(0.5) / 2 * 1e6;
    state.counters["one_way_p99_us"] = at(0.99) / 2 * 1e6;
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(2 * size));
  state.counters["ranks"] = 2;
  state.counters["mpi_launched"] = std::string_view(Team::transport()) == "launched";
  state.counters["verified"] = 1;
}

void latency(benchmark::State& state, bool raw) {
  const auto size = static_cast<std::size_t>(state.range(0));
  try {
    Team& team = Team::of_size(2);
    const Command command = loop_command(state, size, 0);
    team.start(&echo, command);
    std::string error;
    std::vector<unsigned char> payload(std::max<std::size_t>(size, 1)), back(payload.size());
    for (std::size_t i = 0; i < size; ++i) payload[i] = pattern(i);
    const int count = static_cast<int>(size);
    std::vector<double> round_trips;
    try {
      if (raw) {
        // OSU's loop: nothing but the calls between two clock reads.
        double per_round_trip = 0;
        bool first = true;
        for (auto _ : state) {
          if (first) {
            first = false;
            const double start = MPI_Wtime();
            for (benchmark::IterationCount i = 0; i < state.max_iterations; ++i) {
              check(MPI_Send(payload.data(), count, MPI_BYTE, 1, kTag, team.comm()), "MPI_Send");
              check(MPI_Recv(back.data(), count, MPI_BYTE, 1, kTag, team.comm(), MPI_STATUS_IGNORE),
                    "MPI_Recv");
            }
            per_round_trip = (MPI_Wtime() - start) / static_cast<double>(state.max_iterations);
          }
          state.SetIterationTime(per_round_trip);
        }
      } else {
        time_round_trips(state, payload, back, round_trips, [&] {
          check(MPI_Send(payload.data(), count, MPI_BYTE, 1, kTag, team.comm()), "MPI_Send");
          check(MPI_Recv(back.data(), count, MPI_BYTE, 1, kTag, team.comm(), MPI_STATUS_IGNORE),
                "MPI_Recv");
        });
      }
      if (std::memcmp(back.data(), payload.data(), size) != 0)
        throw std::runtime_error("echoed payload differs from what was sent");
    } catch (const std::exception& failure) {
      error = failure.what();
    }
    team.finish(error);
    record_round_trips(state, round_trips, size);
  } catch (const std::exception& error) {
    state.SkipWithError(("exception: " + std::string(error.what())).c_str());
  }
}

// ------------------------------------------------------- TCP, the baseline

using mpi::tcp_peer::Socket;

void check_errno(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("tcp: ") + what + ": " + std::strerror(errno));
}

void no_delay(int fd) {
  const int one = 1;
  check_errno(setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == 0, "TCP_NODELAY");
}

void send_exact(int fd, const unsigned char* data, std::size_t bytes) {
  for (std::size_t done = 0; done < bytes;) {
    const ssize_t sent = ::send(fd, data + done, bytes - done, MSG_NOSIGNAL);
    if (sent < 0 && errno == EINTR) continue;
    check_errno(sent > 0, "send");
    done += static_cast<std::size_t>(sent);
  }
}

void receive_exact(int fd, unsigned char* data, std::size_t bytes) {
  for (std::size_t done = 0; done < bytes;) {
    const ssize_t got = ::recv(fd, data + done, bytes - done, 0);
    if (got < 0 && errno == EINTR) continue;
    if (got == 0) throw std::runtime_error("tcp: the peer closed the connection");
    check_errno(got > 0, "recv");
    done += static_cast<std::size_t>(got);
  }
}

constexpr int kRejectedTag = kTag + 2;
constexpr auto kTcpWait = std::chrono::seconds(10);  // rank 0 may find no route: never wait forever

// What rank 0 tells rank 1 first: where it is, so that rank 1 listens on the
// one address rank 0 will reach and knows whom to accept.
struct TcpRank0 {
  char host[64] = {};
  char network[128] = {};  // tcp_peer::network_identity()
  std::uint32_t count = 0;
  mpi::tcp_peer::Ipv4Interface interfaces[32] = {};
};

// What rank 1 answers: the address and port it listens on, and the token
// rank 0 sends first. Port 0: it could not listen (error says why).
struct TcpContact {
  std::uint32_t address = 0, port = 0;
  mpi::tcp_peer::Token token{};
  char error[200] = {};
};

std::string host_name() {
  char name[256] = {};
  gethostname(name, sizeof(name) - 1);
  return name;
}

// A fixed-size text field as a string (it may fill the field: no terminator).
template <std::size_t N>
std::string field(const char (&text)[N]) {
  return std::string(text, ::strnlen(text, N));
}

template <std::size_t N>
void set_field(char (&text)[N], const std::string& value) {
  std::memset(text, 0, N);
  std::memcpy(text, value.data(), std::min(value.size(), N - 1));
}

// A message from rank `source`, received through Team::wait (rank 0 notices a
// lost rank instead of waiting forever).
void receive_from(Team& team, void* data, int bytes, int source, int tag, const char* during) {
  MPI_Request request;
  check(MPI_Irecv(data, bytes, MPI_BYTE, source, tag, team.comm(), &request), during);
  team.wait(request, during);
}

// Rank 1's listener and whom it accepts on it.
struct TcpListener {
  Socket socket;
  mpi::tcp_peer::ExpectedPeer expected;
};

TcpListener listen_for_rank0(const TcpRank0& rank0, TcpContact& contact) {
  namespace tcp = mpi::tcp_peer;
  const std::vector<tcp::Ipv4Interface> theirs(
      rank0.interfaces, rank0.interfaces + std::min<std::uint32_t>(rank0.count, 32));
  TcpListener listener;
  listener.expected.loopback =
      tcp::same_host(host_name(), tcp::network_identity(), field(rank0.host), field(rank0.network));
  for (const tcp::Ipv4Interface& interface : theirs)
    listener.expected.addresses.push_back(interface.address);
  contact.address = tcp::listen_address(listener.expected.loopback, tcp::ipv4_interfaces(), theirs);
  listener.socket = Socket(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  check_errno(listener.socket.valid(), "socket");
  sockaddr_in at{};
  at.sin_family = AF_INET;
  at.sin_addr.s_addr = contact.address;
  check_errno(::bind(listener.socket.fd(), reinterpret_cast<sockaddr*>(&at), sizeof(at)) == 0,
              "bind");
  check_errno(::listen(listener.socket.fd(), 8) == 0, "listen");
  socklen_t length = sizeof(at);
  check_errno(::getsockname(listener.socket.fd(), reinterpret_cast<sockaddr*>(&at), &length) == 0,
              "getsockname");
  contact.port = ntohs(at.sin_port);
  contact.token = tcp::random_token();
  listener.expected.token = contact.token;
  return listener;
}

// Rank 1: learns where rank 0 is, listens on one address, sends rank 0 its
// contact over MPI, accepts only rank 0 (its address, its token) within 10 s,
// echoes every message, then tells rank 0 how many other connections it
// closed (whenever it sent a contact, so that no message is left unreceived).
void tcp_echo(Team& team, const Command& command) {
  if (team.rank() != 1) return;
  TcpRank0 rank0;
  receive_from(team, &rank0, sizeof(rank0), 0, kTag, "receiving rank 0's addresses");
  TcpContact contact;
  TcpListener listener;
  try {
    listener = listen_for_rank0(rank0, contact);
  } catch (const std::exception& failure) {
    contact.port = 0;
    set_field(contact.error, failure.what());
  }
  check(MPI_Send(&contact, sizeof(contact), MPI_BYTE, 0, kTag, team.comm()), "MPI_Send");
  if (contact.port == 0) throw std::runtime_error(field(contact.error));
  std::uint32_t rejected = 0;
  const auto report = [&] {
    check(MPI_Send(&rejected, 1, MPI_UINT32_T, 0, kRejectedTag, team.comm()), "MPI_Send");
  };
  try {
    mpi::tcp_peer::AcceptedPeer peer = mpi::tcp_peer::accept_peer(
        listener.socket.fd(), listener.expected, std::chrono::steady_clock::now() + kTcpWait);
    rejected = peer.rejected;
    if (!peer.socket.valid())
      throw std::runtime_error("tcp: rank 0 did not connect within 10 s (" +
                               std::to_string(rejected) + " other connections closed)");
    listener.socket = Socket();  // nobody else gets in
    no_delay(peer.socket.fd());
    std::vector<unsigned char> buffer(std::max<std::uint64_t>(command.args[kSize], 1));
    for (std::uint64_t i = 0; i < command.args[kIterations]; ++i) {
      receive_exact(peer.socket.fd(), buffer.data(), command.args[kSize]);
      send_exact(peer.socket.fd(), buffer.data(), command.args[kSize]);
    }
  } catch (...) {
    report();
    throw;
  }
  report();
}

// Rank 0: where it is, for rank 1.
TcpRank0 describe_rank0() {
  TcpRank0 rank0;
  set_field(rank0.host, host_name());
  set_field(rank0.network, mpi::tcp_peer::network_identity());
  for (const auto& interface : mpi::tcp_peer::ipv4_interfaces())
    if (rank0.count < 32) rank0.interfaces[rank0.count++] = interface;
  return rank0;
}

// Rank 0: a connection to rank 1's address within the 10 s rank 1 waits (an
// unroutable address would otherwise hold connect for minutes).
Socket connect_to(const TcpContact& contact) {
  Socket socket(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  check_errno(socket.valid(), "socket");
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<std::uint16_t>(contact.port));
  to.sin_addr.s_addr = contact.address;
  char text[INET_ADDRSTRLEN] = "?";
  inet_ntop(AF_INET, &to.sin_addr, text, sizeof(text));
  const std::string where = std::string(text) + ":" + std::to_string(contact.port);
  if (::connect(socket.fd(), reinterpret_cast<sockaddr*>(&to), sizeof(to)) != 0) {
    check_errno(errno == EINPROGRESS, ("connect to rank 1 at " + where).c_str());
    pollfd ready{socket.fd(), POLLOUT, 0};
    int polled = 0;
    do polled = ::poll(&ready, 1, static_cast<int>(kTcpWait / std::chrono::milliseconds(1)));
    while (polled < 0 && errno == EINTR);
    if (polled == 0)
      throw std::runtime_error("tcp: could not reach rank 1 at " + where + " in 10 s");
    int error = 0;
    socklen_t length = sizeof(error);
    check_errno(getsockopt(socket.fd(), SOL_SOCKET, SO_ERROR, &error, &length) == 0, "SO_ERROR");
    errno = error;
    check_errno(polled > 0 && error == 0, ("connect to rank 1 at " + where).c_str());
  }
  const int flags = ::fcntl(socket.fd(), F_GETFL);
  check_errno(flags >= 0 && ::fcntl(socket.fd(), F_SETFL, flags & ~O_NONBLOCK) == 0, "fcntl");
  no_delay(socket.fd());
  return socket;
}

void tcp_latency(benchmark::State& state) {
  const auto size = static_cast<std::size_t>(state.range(0));
  try {
    Team& team = Team::of_size(2);
    team.start(&tcp_echo, loop_command(state, size, 0));
    std::string error;
    std::vector<double> round_trips;
    std::uint32_t rejected = 0;
    try {
      TcpRank0 rank0;
      try {
        rank0 = describe_rank0();
      } catch (const std::exception& failure) {
        error = failure.what();  // rank 1 waits for the message all the same
      }
      check(MPI_Send(&rank0, sizeof(rank0), MPI_BYTE, 1, kTag, team.comm()), "MPI_Send");
      TcpContact contact;
      receive_from(team, &contact, sizeof(contact), 1, kTag, "receiving rank 1's TCP contact");
      if (contact.port == 0)
        throw std::runtime_error("tcp: rank 1 could not listen: " + field(contact.error));
      try {
        if (!error.empty()) throw std::runtime_error(error);  // rank 1 then waits out its 10 s
        const Socket peer = connect_to(contact);
        send_exact(peer.fd(), contact.token.data(), contact.token.size());
        std::vector<unsigned char> payload(std::max<std::size_t>(size, 1)), back(payload.size());
        for (std::size_t i = 0; i < size; ++i) payload[i] = pattern(i);
        time_round_trips(state, payload, back, round_trips, [&] {
          send_exact(peer.fd(), payload.data(), size);
          receive_exact(peer.fd(), back.data(), size);
        });
        if (std::memcmp(back.data(), payload.data(), size) != 0)
          throw std::runtime_error("tcp: echoed payload differs from what was sent");
      } catch (const std::exception& failure) {
        if (error.empty()) error = failure.what();  // the socket is closed by now: rank 1 reports
      }
      receive_from(team, &rejected, sizeof(rejected), 1, kRejectedTag,
                   "receiving rank 1's rejected connections");
    } catch (const std::exception& failure) {
      if (error.empty()) error = failure.what();
    }
    team.finish(error);
    record_round_trips(state, round_trips, size);
    state.counters["tcp_rejected_connections"] = rejected;
  } catch (const std::exception& error) {
    state.SkipWithError(("exception: " + std::string(error.what())).c_str());
  }
}

// Windows of kWindow messages; the receiver clears its buffer, checks the
// payload after the window and acknowledges it with 4 bytes. bidirectional: both send and both
// receive (ranks 0 and 1).
// The buffers of a window, made once per benchmark run (outside the timed
// loop: allocating and faulting in megabytes per window was what a window of
// large messages measured before). As in OSU's osu_bw, every message of a
// window lands in the same receive buffer.
struct WindowBuffers {
  explicit WindowBuffers(std::size_t size) : out(std::max<std::size_t>(size, 1)), in(out.size()) {
    for (std::size_t i = 0; i < size; ++i) out[i] = pattern(i);
  }
  std::vector<unsigned char> out, in;
  std::vector<MPI_Request> requests = std::vector<MPI_Request>(2 * kWindow);
};

void window(Team& team, WindowBuffers& buffers, std::size_t size, std::uint64_t windows, bool send,
            bool receive) {
  const int peer = 1 - team.rank();
  const int count = static_cast<int>(size);
  std::uint32_t ack = 0;
  for (std::uint64_t w = 0; w < windows; ++w) {
    int posted = 0;
    if (receive) {
      buffers.in.assign(buffers.in.size(), 0);  // so that the check below sees this window's data
      for (int k = 0; k < kWindow; ++k)
        check(MPI_Irecv(buffers.in.data(), count, MPI_BYTE, peer, kTag, team.comm(),
                        &buffers.requests[posted++]),
              "MPI_Irecv");
    }
    if (send)
      for (int k = 0; k < kWindow; ++k)
        check(MPI_Isend(buffers.out.data(), count, MPI_BYTE, peer, kTag, team.comm(),
                        &buffers.requests[posted++]),
              "MPI_Isend");
    check(MPI_Waitall(posted, buffers.requests.data(), MPI_STATUSES_IGNORE), "MPI_Waitall");
    if (receive && std::memcmp(buffers.in.data(), buffers.out.data(), size) != 0)
      throw std::runtime_error("a message of the window arrived damaged");
    if (receive) check(MPI_Send(&ack, 1, MPI_UINT32_T, peer, kTag + 1, team.comm()), "ack");
    if (send)
      check(MPI_Recv(&ack, 1, MPI_UINT32_T, peer, kTag + 1, team.comm(), MPI_STATUS_IGNORE), "ack");
  }
}

void window_follower(Team& team, const Command& command) {
  if (team.rank() != 1) return;
  const bool both = command.args[kVariant] != 0;
  WindowBuffers buffers(command.args[kSize]);
  window(team, buffers, command.args[kSize], command.args[kIterations], both, true);
}

void bandwidth(benchmark::State& state, bool both) {
  const auto size = static_cast<std::size_t>(state.range(0));
  try {
    Team& team = Team::of_size(2);
    const Command command = loop_command(state, size, both ? 1 : 0);
    team.start(&window_follower, command);
    std::string error;
    try {
      WindowBuffers buffers(size);
      for (auto _ : state) window(team, buffers, size, 1, true, both);
    } catch (const std::exception& failure) {
      error = failure.what();
    }
    team.finish(error);
    state.SetBytesProcessed(state.iterations() * kWindow * static_cast<std::int64_t>(size) *
                            (both ? 2 : 1));
    state.counters["messages_per_second"] =
        benchmark::Counter(static_cast<double>(state.iterations() * kWindow * (both ? 2 : 1)),
                           benchmark::Counter::kIsRate);
    state.counters["ranks"] = 2;
    state.counters["mpi_launched"] = std::string_view(Team::transport()) == "launched";
    state.counters["verified"] = 1;
  } catch (const std::exception& error) {
    state.SkipWithError(("exception: " + std::string(error.what())).c_str());
  }
}

// ----------------------------------------------------------------- collectives

enum class Collective { allreduce, bcast, alltoall, barrier };

// One call of the collective on this rank, with its check.
void collective_once(Team& team, Collective kind, std::size_t size, std::vector<std::int32_t>& a,
                     std::vector<std::int32_t>& b, std::vector<unsigned char>& bytes,
                     std::vector<unsigned char>& all) {
  const int ranks = team.size(), rank = team.rank();
  switch (kind) {
    case Collective::allreduce: {
      std::fill(a.begin(), a.end(), rank + 1);
      check(MPI_Allreduce(a.data(), b.data(), static_cast<int>(a.size()), MPI_INT32_T, MPI_SUM,
                          team.comm()),
            "MPI_Allreduce");
      if (b.front() != ranks * (ranks + 1) / 2 || b.back() != ranks * (ranks + 1) / 2)
        throw std::runtime_error("allreduce gave a wrong sum");
      break;
    }
    case Collective::bcast:
      if (rank != 0) bytes.assign(bytes.size(), 0);
      check(MPI_Bcast(bytes.data(), static_cast<int>(size), MPI_BYTE, 0, team.comm()), "MPI_Bcast");
      if (size > 0 && (bytes[0] != pattern(0) || bytes[size - 1] != pattern(size - 1)))
        throw std::runtime_error("bcast delivered a wrong payload");
      break;
    case Collective::alltoall:
      check(MPI_Alltoall(bytes.data(), static_cast<int>(size), MPI_BYTE, all.data(),
                         static_cast<int>(size), MPI_BYTE, team.comm()),
            "MPI_Alltoall");
      for (int r = 0; r < ranks; ++r)
        if (all[static_cast<std::size_t>(r) * size] != pattern(0))
          throw std::runtime_error("alltoall delivered a wrong payload");
      break;
    case Collective::barrier:
      check(MPI_Barrier(team.comm()), "MPI_Barrier");
      break;
  }
}

struct CollectiveBuffers {
  std::vector<std::int32_t> a, b;
  std::vector<unsigned char> bytes, all;
  CollectiveBuffers(std::size_t size, int ranks)
      : a(std::max<std::size_t>(size / 4, 1)),
        b(a.size()),
        bytes(std::max<std::size_t>(size * static_cast<std::size_t>(ranks), 1)),
        all(bytes.size()) {
    for (std::size_t i = 0; i < bytes.size(); ++i)
      bytes[i] = pattern(i % std::max<std::size_t>(size, 1));
  }
};

void collective_follower(Team& team, const Command& command) {
  const auto kind = static_cast<Collective>(command.args[kVariant]);
  const std::size_t size = command.args[kSize];
  CollectiveBuffers buffers(size, team.size());
  for (std::uint64_t i = 0; i < command.args[kIterations]; ++i)
    collective_once(team, kind, size, buffers.a, buffers.b, buffers.bytes, buffers.all);
}

void collective(benchmark::State& state, Collective kind) {
  const bool sized = kind != Collective::barrier;
  const auto size = sized ? static_cast<std::size_t>(state.range(0)) : 0;
  const auto ranks = static_cast<int>(state.range(sized ? 1 : 0));
  try {
    Team& team = Team::of_size(ranks);
    const Command command = loop_command(state, size, static_cast<std::uint64_t>(kind));
    team.start(&collective_follower, command);
    std::string error;
    CollectiveBuffers buffers(size, ranks);
    try {
      for (auto _ : state)
        collective_once(team, kind, size, buffers.a, buffers.b, buffers.bytes, buffers.all);
    } catch (const std::exception& failure) {
      error = failure.what();
    }
    team.finish(error);
    if (sized) state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(size));
    state.counters["ranks"] = ranks;
    state.counters["mpi_launched"] = std::string_view(Team::transport()) == "launched";
    state.counters["verified"] = 1;
  } catch (const std::exception& error) {
    state.SkipWithError(("exception: " + std::string(error.what())).c_str());
  }
}

void add_mpi_benchmarks(const Selection& selection) {
  if (!selection.wants_primitive("mpi")) {
    bool any = false;
    for (const char* name : {"latency", "latency_raw", "tcp_latency", "bandwidth", "bibw",
                             "allreduce", "bcast", "alltoall", "barrier"})
      any = any || selection.wants_primitive(std::string("mpi/") + name);
    if (!any) return;
  }
  const std::vector<std::size_t> sizes = message_sizes();
  std::vector<std::int64_t> ranks{2};
  for (const std::size_t r : {hardware_threads(), 2 * hardware_threads()})
    if (static_cast<std::int64_t>(r) != ranks.back()) ranks.push_back(static_cast<std::int64_t>(r));
  const auto add = [&](const std::string& name, auto function) {
    return add_primitive(selection, "mpi/" + name, function);
  };
  const auto sized = [&](benchmark::internal::Benchmark* b, bool manual_time) {
    b->ArgNames({"size"})->Unit(benchmark::kMicrosecond);
    if (manual_time)
      b->UseManualTime();
    else
      b->UseRealTime();
    for (std::size_t size : sizes) b->Arg(static_cast<std::int64_t>(size));
  };
  if (auto* b = add("latency", [](benchmark::State& s) { latency(s, false); })) sized(b, false);
  if (auto* b = add("latency_raw", [](benchmark::State& s) { latency(s, true); })) sized(b, true);
  if (auto* b = add("tcp_latency", [](benchmark::State& s) { tcp_latency(s); })) sized(b, false);
  if (auto* b = add("bandwidth", [](benchmark::State& s) { bandwidth(s, false); })) sized(b, false);
  if (auto* b = add("bibw", [](benchmark::State& s) { bandwidth(s, true); })) sized(b, false);
  for (const auto& [name, kind] :
       {std::pair{"allreduce", Collective::allreduce}, std::pair{"bcast", Collective::bcast},
        std::pair{"alltoall", Collective::alltoall}})
    if (auto* b = add(name, [kind = kind](benchmark::State& s) { collective(s, kind); })) {
      b->ArgNames({"size", "ranks"})->UseRealTime()->Unit(benchmark::kMicrosecond);
      for (std::size_t size : sizes)
        for (const std::int64_t r : ranks) b->Args({static_cast<std::int64_t>(size), r});
    }
  if (auto* b = add("barrier", [](benchmark::State& s) { collective(s, Collective::barrier); })) {
    b->ArgNames({"ranks"})->UseRealTime()->Unit(benchmark::kMicrosecond);
    for (const std::int64_t r : ranks) b->Arg(r);
  }
}

const bool registered =
    register_family("mpi", &add_mpi_benchmarks,
                    "what a message costs through Open MPI (latency, bandwidth, collectives)");

}  // namespace
}  // namespace parbench
