// tcp_echo: n request/response exchanges, each on its own loopback TCP
// connection (connect, send PARBENCH_TCP_PAYLOAD bytes, default 64, receive
// the echo, close with RST so no TIME_WAIT piles up), against an echo server
// that the set-up forks into its own process on an ephemeral port. The server
// is a single-threaded epoll loop that answers each message after a service
// delay (PARBENCH_TCP_DELAY_US, default 1000 us), so concurrency pays, as
// with a real back end. It is killed and reaped when the instance goes,
// whatever happened. Verified: every reply's checksum against the bytes sent,
// and a clean run: each message starts with this run's random token, so the
// server drops connections that are not this run's (another local program on
// the port) and counts them; those, accept failures (a descriptor limit: the
// server then stops accepting for a moment, evicts idle connections and never
// spins) and clients beyond its table fail the run as disturbed.
// answer: the sum of the replies' payload checksums mod 2^52.
// Sizes: exchanges per concurrency slot (n = size x p): default 2, quick 2.
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <new>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/workload.hpp"
#include "coro/io_support.hpp"
#include "coro/requests.hpp"
#include "process/process_util.hpp"

namespace parbench {
namespace {

constexpr std::size_t kMaxPayload = 1024;
constexpr std::size_t kToken = sizeof(std::uint64_t);  // each message begins with the run's token
constexpr std::size_t kMaxMessage = kToken + kMaxPayload;
// A connection that has sent nothing this long after it was accepted is not one of this
// run's clients (they send at once): evicted when descriptors run out.
constexpr std::int64_t kIdleEvictNs = 100'000'000;

/// What disturbed the server, in memory shared with the instance (the server is a child).
struct EchoServerStats {
  std::atomic<std::uint64_t> accept_failures{0};  // accept4 failed: descriptors or memory ran out
  std::atomic<std::uint64_t> foreign{0};          // connections without this run's token
  std::atomic<std::uint64_t> over_table{0};       // descriptors beyond the connection table
};

// ---------------------------------------------------------------- the server

/// Everything the server process uses, allocated before the fork: the child
/// of a multi-threaded process must not allocate.
struct EchoServerState {
  struct Connection {
    unsigned char data[kMaxMessage];
    std::size_t length = 0;
    bool queued = false;
    std::int64_t accepted_ns = 0;
    bool open = false;
  };
  struct Pending {
    int fd;
    std::int64_t due_ns;
  };
  EchoServerState(std::size_t max_fds, std::uint64_t run_token, EchoServerStats* shared_stats)
      : connections(max_fds), queue(max_fds), token(run_token), stats(shared_stats) {}
  std::vector<Connection> connections;  // indexed by descriptor: the table's bound
  std::vector<Pending> queue;           // FIFO ring: one constant delay keeps it sorted
  std::uint64_t token;
  EchoServerStats* stats;
};

std::int64_t now_ns() noexcept {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<std::int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

int serve_echo(int listener, std::int64_t delay_ns, EchoServerState& state) noexcept {
  const int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd < 0) return 3;
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.fd = listener;
  if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, listener, &event) < 0) return 3;
  const std::size_t capacity = state.queue.size();
  std::size_t head = 0, count = 0;
  bool accepting = true;  // false: the listener is out of the set until a descriptor is free
  std::int64_t resume_accepting_ns = 0;
  auto listen_again = [&] {
    if (accepting) return;
    if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, listener, &event) == 0) accepting = true;
  };
  auto drop = [&](int fd) {
    // DEL cannot fail for a descriptor in the set; close removes it anyway
    epoll_ctl(epoll_fd, EPOLL_CTL_DEL, fd, nullptr);
    ::close(fd);
    auto& connection = state.connections[static_cast<std::size_t>(fd)];
    connection.length = 0;
    connection.open = false;
    listen_again();  // a descriptor is free again
  };
  auto evict_idle = [&](std::int64_t now) {
    for (std::size_t fd = 0; fd < state.connections.size(); ++fd) {
      auto& connection = state.connections[fd];
      if (connection.open && connection.length == 0 && !connection.queued &&
          now - connection.accepted_ns > kIdleEvictNs) {
        state.stats->foreign.fetch_add(1, std::memory_order_relaxed);
        drop(static_cast<int>(fd));
      }
    }
  };
  auto reply = [&](int fd) {
    auto& connection = state.connections[static_cast<std::size_t>(fd)];
    connection.queued = false;
    const ssize_t sent =
        ::send(fd, connection.data, connection.length, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (sent != static_cast<ssize_t>(connection.length)) drop(fd);  // the client went away
    connection.length = 0;
  };
  epoll_event events[256];
  for (;;) {
    int timeout_ms = -1;
    if (count > 0) {
      const std::int64_t wait = state.queue[head].due_ns - now_ns();
      timeout_ms = wait <= 0 ? 0 : static_cast<int>((wait + 999'999) / 1'000'000);
    }
    if (!accepting) {  // try again in 10 ms, not in a loop
      const std::int64_t wait = resume_accepting_ns - now_ns();
      const int retry_ms = wait <= 0 ? 0 : static_cast<int>((wait + 999'999) / 1'000'000);
      timeout_ms = timeout_ms < 0 ? retry_ms : std::min(timeout_ms, retry_ms);
      if (wait <= 0) listen_again();
    }
    const int ready = epoll_wait(epoll_fd, events, 256, timeout_ms);
    if (ready < 0 && errno != EINTR) return 4;
    for (int i = 0; i < ready; ++i) {
      const int fd = events[i].data.fd;
      if (fd == listener) {
        for (;;) {
          const int client = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (client < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            // Out of descriptors (or memory): the listener stays readable, so polling it
            // again would spin. Leave it out of the set, evict idle strangers, retry soon.
            state.stats->accept_failures.fetch_add(1, std::memory_order_relaxed);
            if (accepting && epoll_ctl(epoll_fd, EPOLL_CTL_DEL, listener, nullptr) == 0)
              accepting = false;
            resume_accepting_ns = now_ns() + 10'000'000;
            evict_idle(now_ns());
            break;
          }
          if (static_cast<std::size_t>(client) >= state.connections.size()) {
            state.stats->over_table.fetch_add(1, std::memory_order_relaxed);
            ::close(client);
            continue;
          }
          epoll_event client_event{};
          client_event.events = EPOLLIN;
          client_event.data.fd = client;
          if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, client, &client_event) < 0) {
            ::close(client);
            continue;
          }
          auto& connection = state.connections[static_cast<std::size_t>(client)];
          connection = {};
          connection.open = true;
          connection.accepted_ns = now_ns();
        }
        continue;
      }
      auto& connection = state.connections[static_cast<std::size_t>(fd)];
      const ssize_t got = ::recv(fd, connection.data + connection.length,
                                 kMaxMessage - connection.length, MSG_DONTWAIT);
      if (got <= 0) {
        if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (!connection.queued) drop(fd);  // closed (a queued reply will find it gone)
        continue;
      }
      connection.length += static_cast<std::size_t>(got);
      if (connection.length < kToken) continue;  // not yet a whole token
      std::uint64_t token = 0;
      std::memcpy(&token, connection.data, kToken);
      if (token != state.token) {  // not this run's client
        state.stats->foreign.fetch_add(1, std::memory_order_relaxed);
        if (!connection.queued) drop(fd);
        continue;
      }
      if (delay_ns == 0) {
        reply(fd);
      } else if (!connection.queued && count < capacity) {
        connection.queued = true;
        state.queue[(head + count) % capacity] = {fd, now_ns() + delay_ns};
        ++count;
      }
    }
    const std::int64_t now = now_ns();
    while (count > 0 && state.queue[head].due_ns <= now) {
      reply(state.queue[head].fd);
      head = (head + 1) % capacity;
      --count;
    }
  }
}

/// The server process: listens on 127.0.0.1 at an ephemeral port.
class EchoServer {
 public:
  EchoServer(std::int64_t delay_ns, std::uint64_t token)
      : stats_mapping_(sizeof(EchoServerStats)),
        stats_(new (stats_mapping_.data()) EchoServerStats()),
        state_(8192, token, stats_) {
    const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (listener < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    io_support::FdGuard guard(listener);
    address_.sin_family = AF_INET;
    address_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address_.sin_port = 0;
    socklen_t length = sizeof address_;
    if (::bind(listener, reinterpret_cast<sockaddr*>(&address_), sizeof address_) < 0 ||
        ::listen(listener, 4096) < 0 ||
        ::getsockname(listener, reinterpret_cast<sockaddr*>(&address_), &length) < 0)
      throw std::runtime_error(std::string("echo server: ") + std::strerror(errno));
    // Bound and listening before the fork: clients can connect at once.
    EchoServerState* state = &state_;
    server_ = ChildProcess(
        [listener, delay_ns, state] { return serve_echo(listener, delay_ns, *state); });
  }
  ~EchoServer() { server_.kill_and_reap(); }
  EchoServer(const EchoServer&) = delete;
  EchoServer& operator=(const EchoServer&) = delete;
  const sockaddr_in& address() const noexcept { return address_; }
  pid_t pid() const noexcept { return server_.pid(); }
  const EchoServerStats& stats() const noexcept { return *stats_; }

 private:
  SharedMapping stats_mapping_;
  EchoServerStats* stats_;
  EchoServerState state_;
  sockaddr_in address_{};
  ChildProcess server_;
};

// ---------------------------------------------------------------- the client

coro::Task<void> echo_request(coro::Io io, sockaddr_in server, std::size_t payload,
                              std::uint64_t token, std::uint64_t seed, std::uint64_t* out) {
  unsigned char message[kMaxMessage], reply[kMaxMessage];
  std::memcpy(message, &token, kToken);
  io_support::fill_pattern(seed, message + kToken, payload);
  const std::size_t length = kToken + payload;
  io_support::FdGuard fd(io.tcp_socket());
  const linger abortive{1, 0};  // close sends RST: no TIME_WAIT for n connections
  ::setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &abortive, sizeof abortive);
  const int one = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  co_await io.connect(fd.get(), reinterpret_cast<const sockaddr*>(&server), sizeof server);
  for (std::size_t sent = 0; sent < length;)
    sent += static_cast<std::size_t>(co_await io.send(fd.get(), message + sent, length - sent));
  for (std::size_t got = 0; got < length;) {
    const auto n = co_await io.recv(fd.get(), reply + got, length - got);
    if (n == 0) throw std::runtime_error("tcp_echo: the server closed the connection early");
    got += static_cast<std::size_t>(n);
  }
  co_await io.close(fd.release());
  // a reply without the token is not from this run's server: it fails the checksum
  *out =
      std::memcmp(reply, message, kToken) == 0 ? io_support::checksum(reply + kToken, payload) : 0;
}

// Bytes each request sends (and gets back), and the server's delay per reply.
constexpr Knob kPayload{"PARBENCH_TCP_PAYLOAD", 64, 1, kMaxPayload};
constexpr Knob kDelayUs{"PARBENCH_TCP_DELAY_US", 1000, 0, 10'000'000};

class TcpEcho final : public Instance {
 public:
  TcpEcho(Executor& executor, std::size_t n)
      : n_(n),
        payload_(kPayload.value()),
        delay_us_(kDelayUs.value()),
        token_(random_token()),
        server_((io_support::ensure_descriptor_limit(2 * executor.workers() + 256),
                 static_cast<std::int64_t>(delay_us_) * 1000),
                token_),
        checksums_(executor, n) {}

  void run(Executor& executor) override {
    std::uint64_t* checksums = checksums_.data();
    const sockaddr_in server = server_.address();
    const std::size_t payload = payload_;
    const std::uint64_t token = token_;
    for (std::size_t i = 0; i < n_; ++i) checksums[i] = 0;
    run_requests(executor, n_, [=](std::size_t i, coro::Io io) {
      return echo_request(io, server, payload, token, seed(i), &checksums[i]);
    });
  }
  Verdict verify() const override {
    const EchoServerStats& stats = server_.stats();
    const auto failures = stats.accept_failures.load(), foreign = stats.foreign.load(),
               over = stats.over_table.load();
    if (failures + foreign + over > 0)
      return Verdict::fail("disturbed: the echo server met ", failures,
                           " accept failure(s) (out of descriptors), ", foreign,
                           " connection(s) not of this run and ", over,
                           " beyond its table: another program used the port or the machine's "
                           "descriptors; not a clean measurement");
    for (std::size_t i = 0; i < n_; ++i)
      if (checksums_[i] != io_support::pattern_checksum(seed(i), payload_))
        return Verdict::fail("exchange ", i, " did not get its message back intact");
    return Verdict::pass();
  }
  void corrupt() override { checksums_[n_ - 1] ^= 1; }
  WorkPerRun work() const override {
    return {static_cast<double>(n_), static_cast<double>(2 * n_ * payload_)};
  }
  std::vector<std::pair<std::string, double>> counters() const override {
    return {{"service_delay_us", static_cast<double>(delay_us_)},
            {"payload_bytes", static_cast<double>(payload_)},
            {"answer", answer()}};
  }

 private:
  /// The sum of the checksums mod 2^52 (exact in a double): the value the
  /// Python track's counterpart must report too.
  double answer() const noexcept {
    std::uint64_t sum = 0;
    for (std::size_t i = 0; i < n_; ++i) sum += checksums_[i];
    return static_cast<double>(sum % (std::uint64_t{1} << 52));
  }
  static std::uint64_t seed(std::size_t i) { return 0x7C9E0000ull + i; }
  static std::uint64_t random_token() {
    std::random_device entropy;
    return (std::uint64_t{entropy()} << 32) ^ entropy() ^ 1;  // never 0 (a zeroed message)
  }
  std::size_t n_, payload_;
  std::uint64_t delay_us_;
  std::uint64_t token_;
  EchoServer server_;
  Array<std::uint64_t> checksums_;
};

const bool registered = register_workload({
    .name = "tcp_echo",
    .category = Category::io,
    .summary = "loopback TCP exchanges with an echo server process (1 ms service delay)",
    .size_meaning = "exchanges per concurrency slot (n = size x p)",
    .default_sizes = {2},
    .quick_sizes = {2},
    .small_size = 2,
    .min_size = 1,
    .max_size = 100'000,
    .uses_fork_join = false,
    .work_exponent = 0,
    .concurrency_levels = {1, 4, 16, 64, 256, 1024},
    .knobs = {kPayload, kDelayUs},
    .prepare = [](Executor& executor, std::size_t n) -> std::unique_ptr<Instance> {
      return std::make_unique<TcpEcho>(executor, n);
    },
});

}  // namespace
}  // namespace parbench
