// tcp_echo: n request/response exchanges, each on its own loopback TCP
// connection (connect, send PARBENCH_TCP_PAYLOAD bytes, default 64, receive
// the echo, close with RST so no TIME_WAIT piles up), against an echo server
// that the set-up forks into its own process on an ephemeral port. The server
// is a single-threaded epoll loop that answers each message after a service
// delay (PARBENCH_TCP_DELAY_US, default 1000 us), so concurrency pays, as
// with a real back end. It is killed and reaped when the instance goes,
// whatever happened. Verified: every reply's checksum against the bytes sent.
// answer: the sum of the replies' checksums mod 2^52.
// Sizes: exchanges per concurrency slot (n = size x p): default 2, quick 2.
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
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

// ---------------------------------------------------------------- the server

/// Everything the server process uses, allocated before the fork: the child
/// of a multi-threaded process must not allocate.
struct EchoServerState {
  struct Connection {
    unsigned char data[kMaxPayload];
    std::size_t length = 0;
    bool queued = false;
  };
  struct Pending {
    int fd;
    std::int64_t due_ns;
  };
  explicit EchoServerState(std::size_t max_fds) : connections(max_fds), queue(max_fds) {}
  std::vector<Connection> connections;  // indexed by descriptor
  std::vector<Pending> queue;           // FIFO ring: one constant delay keeps it sorted
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
  auto drop = [&](int fd) {
    epoll_ctl(epoll_fd, EPOLL_CTL_DEL, fd, nullptr);
    ::close(fd);
    state.connections[static_cast<std::size_t>(fd)].length = 0;
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
    const int ready = epoll_wait(epoll_fd, events, 256, timeout_ms);
    if (ready < 0 && errno != EINTR) return 4;
    for (int i = 0; i < ready; ++i) {
      const int fd = events[i].data.fd;
      if (fd == listener) {
        for (;;) {
          const int client = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (client < 0) break;
          if (static_cast<std::size_t>(client) >= state.connections.size()) {
            ::close(client);
            continue;
          }
          epoll_event client_event{};
          client_event.events = EPOLLIN;
          client_event.data.fd = client;
          epoll_ctl(epoll_fd, EPOLL_CTL_ADD, client, &client_event);
        }
        continue;
      }
      auto& connection = state.connections[static_cast<std::size_t>(fd)];
      const ssize_t got = ::recv(fd, connection.data + connection.length,
                                 kMaxPayload - connection.length, MSG_DONTWAIT);
      if (got <= 0) {
        if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (!connection.queued) drop(fd);  // closed (a queued reply will find it gone)
        continue;
      }
      connection.length += static_cast<std::size_t>(got);
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
  explicit EchoServer(std::int64_t delay_ns) : state_(8192) {
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

 private:
  EchoServerState state_;
  sockaddr_in address_{};
  ChildProcess server_;
};

// ---------------------------------------------------------------- the client

coro::Task<void> echo_request(coro::Io io, sockaddr_in server, std::size_t payload,
                              std::uint64_t seed, std::uint64_t* out) {
  unsigned char message[kMaxPayload], reply[kMaxPayload];
  io_support::fill_pattern(seed, message, payload);
  io_support::FdGuard fd(io.tcp_socket());
  const linger abortive{1, 0};  // close sends RST: no TIME_WAIT for n connections
  ::setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &abortive, sizeof abortive);
  const int one = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  co_await io.connect(fd.get(), reinterpret_cast<const sockaddr*>(&server), sizeof server);
  for (std::size_t sent = 0; sent < payload;)
    sent += static_cast<std::size_t>(co_await io.send(fd.get(), message + sent, payload - sent));
  for (std::size_t got = 0; got < payload;) {
    const auto n = co_await io.recv(fd.get(), reply + got, payload - got);
    if (n == 0) throw std::runtime_error("tcp_echo: the server closed the connection early");
    got += static_cast<std::size_t>(n);
  }
  co_await io.close(fd.release());
  *out = io_support::checksum(reply, payload);
}

class TcpEcho final : public Instance {
 public:
  TcpEcho(Executor& executor, std::size_t n)
      : n_(n),
        payload_(io_support::knob("PARBENCH_TCP_PAYLOAD", 64, 1, kMaxPayload)),
        delay_us_(io_support::knob("PARBENCH_TCP_DELAY_US", 1000, 0, 10'000'000)),
        server_((io_support::ensure_descriptor_limit(2 * executor.workers() + 256),
                 static_cast<std::int64_t>(delay_us_) * 1000)),
        checksums_(executor, n) {}

  void run(Executor& executor) override {
    std::uint64_t* checksums = checksums_.data();
    const sockaddr_in server = server_.address();
    const std::size_t payload = payload_;
    for (std::size_t i = 0; i < n_; ++i) checksums[i] = 0;
    run_requests(executor, n_, [=](std::size_t i, coro::Io io) {
      return echo_request(io, server, payload, seed(i), &checksums[i]);
    });
  }
  Verdict verify() const override {
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
  std::size_t n_, payload_;
  std::uint64_t delay_us_;
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
    .prepare = [](Executor& executor, std::size_t n) -> std::unique_ptr<Instance> {
      return std::make_unique<TcpEcho>(executor, n);
    },
});

}  // namespace
}  // namespace parbench
