#include "process/ipc_channels.hpp"

#include <fcntl.h>
#include <mqueue.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>
#include <stdexcept>
#include <string>
#include <system_error>

#include "process/byte_ring.hpp"
#include "process/process_util.hpp"

namespace parbench {
namespace {

[[noreturn]] void fail(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

class FdEnd : public End {
 public:
  FdEnd(int fd, std::size_t max_message) : fd_(fd), max_message_(max_message) {}
  ~FdEnd() override { close(); }
  void send(const void* data, std::size_t bytes) override {
    const auto* p = static_cast<const char*>(data);
    while (bytes > 0) {
      const std::size_t piece = max_message_ ? std::min(bytes, max_message_) : bytes;
      const ssize_t sent = ::write(fd_, p, piece);
      if (sent < 0) {
        if (errno == EINTR) continue;
        fail("write");
      }
      p += sent;
      bytes -= static_cast<std::size_t>(sent);
    }
  }
  std::size_t recv_some(void* data, std::size_t max) override {
    // A datagram longer than the buffer would be cut short: the caller's buffer must hold
    // the largest message (never read more than the buffer holds).
    if (max_message_ != 0 && max < max_message_)
      throw std::logic_error("recv_some: a buffer of " + std::to_string(max) +
                             " bytes cannot hold a message of up to " +
                             std::to_string(max_message_));
    for (;;) {
      const ssize_t got = ::read(fd_, data, max);
      if (got >= 0) return static_cast<std::size_t>(got);
      if (errno != EINTR) fail("read");
    }
  }
  bool message_based() const override { return max_message_ != 0; }
  void finish() override {
    if (max_message_) {  // datagrams: an empty one marks the end
      while (::write(fd_, "", 0) < 0 && errno == EINTR) {
      }
    } else {
      close();
    }
  }
  void close() override {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
  std::size_t max_message_;  // 0: a byte stream
};

class MqEnd : public End {
 public:
  MqEnd(mqd_t queue, std::size_t max_message) : queue_(queue), max_message_(max_message) {}
  ~MqEnd() override { close(); }
  void send(const void* data, std::size_t bytes) override {
    const auto* p = static_cast<const char*>(data);
    while (bytes > 0) {
      const std::size_t piece = std::min(bytes, max_message_);
      if (mq_send(queue_, p, piece, 0) < 0) {
        if (errno == EINTR) continue;
        fail("mq_send");
      }
      p += piece;
      bytes -= piece;
    }
  }
  std::size_t recv_some(void* data, std::size_t max) override {
    if (max < max_message_) throw std::logic_error("mqueue receive buffer smaller than a message");
    for (;;) {
      const ssize_t got = mq_receive(queue_, static_cast<char*>(data), max_message_, nullptr);
      if (got >= 0) return static_cast<std::size_t>(got);
      if (errno != EINTR) fail("mq_receive");
    }
  }
  bool message_based() const override { return true; }
  void finish() override {
    while (mq_send(queue_, "", 0, 0) < 0 && errno == EINTR) {
    }
  }
  void close() override {
    if (queue_ != static_cast<mqd_t>(-1)) mq_close(queue_);
    queue_ = static_cast<mqd_t>(-1);
  }

 private:
  mqd_t queue_;
  std::size_t max_message_;
};

class RingEnd : public End {
 public:
  explicit RingEnd(ByteRing* ring) : ring_(ring) {}
  void send(const void* data, std::size_t bytes) override { ring_->write(data, bytes); }
  std::size_t recv_some(void* data, std::size_t max) override {
    return ring_->read_some(data, max);
  }
  bool message_based() const override { return false; }
  void finish() override { ring_->close(); }
  void close() override {}

 private:
  ByteRing* ring_;
};

Direction fd_pair(int read_fd, int write_fd, std::size_t max_message) {
  return {std::make_unique<FdEnd>(write_fd, max_message),
          std::make_unique<FdEnd>(read_fd, max_message)};
}

Channel make_pipe() {
  int down[2], up[2];
  if (pipe2(down, O_CLOEXEC) < 0) fail("pipe2");
  if (pipe2(up, O_CLOEXEC) < 0) {
    ::close(down[0]);
    ::close(down[1]);
    fail("pipe2");
  }
  return {fd_pair(down[0], down[1], 0), fd_pair(up[0], up[1], 0), nullptr};
}

Channel make_fifo() {
  // Both FIFOs are opened O_RDWR here (which does not block on Linux) and
  // their names removed at once; each process then uses its own ends.
  char dir_template[] = "/tmp/parbench-fifo-XXXXXX";
  if (mkdtemp(dir_template) == nullptr) fail("mkdtemp");
  const std::filesystem::path dir(dir_template);
  int fds[4] = {-1, -1, -1, -1};
  try {
    for (int k = 0; k < 2; ++k) {
      const auto path = dir / ("fifo" + std::to_string(k));
      if (mkfifo(path.c_str(), 0600) < 0) fail("mkfifo");
      fds[2 * k] = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
      fds[2 * k + 1] = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
      if (fds[2 * k] < 0 || fds[2 * k + 1] < 0) fail("open fifo");
      if (fcntl(fds[2 * k], F_SETFL, 0) < 0) fail("fcntl");  // back to blocking reads
    }
  } catch (...) {
    for (int fd : fds)
      if (fd >= 0) ::close(fd);
    std::filesystem::remove_all(dir);
    throw;
  }
  std::filesystem::remove_all(dir);
  return {fd_pair(fds[0], fds[1], 0), fd_pair(fds[2], fds[3], 0), nullptr};
}

template <int Type>
Channel make_socketpair() {
  constexpr std::size_t kDatagram = 32 * 1024;  // within AF_UNIX's default datagram limit
  int down[2], up[2];
  if (socketpair(AF_UNIX, Type | SOCK_CLOEXEC, 0, down) < 0) fail("socketpair");
  if (socketpair(AF_UNIX, Type | SOCK_CLOEXEC, 0, up) < 0) {
    ::close(down[0]);
    ::close(down[1]);
    fail("socketpair");
  }
  const std::size_t max_message = Type == SOCK_DGRAM ? kDatagram : 0;
  return {fd_pair(down[1], down[0], max_message), fd_pair(up[1], up[0], max_message), nullptr};
}

Channel make_mqueue() {
  constexpr long kMessage = 8192;  // the default msgsize_max of Linux
  Channel channel;
  std::unique_ptr<End>* ends[2][2] = {{&channel.down.sender, &channel.down.receiver},
                                      {&channel.up.sender, &channel.up.receiver}};
  std::random_device entropy;
  for (int k = 0; k < 2; ++k) {
    mq_attr attributes{};
    attributes.mq_maxmsg = 10;
    attributes.mq_msgsize = kMessage;
    // A random name, created exclusively: a name someone else holds (another user's
    // queue, a guess) is skipped, never shared.
    mqd_t queue = static_cast<mqd_t>(-1);
    std::string name;
    // SIGINT/SIGTERM/SIGHUP wait until the name is gone again: a signal between mq_open and
    // mq_unlink would end the process with the queue still named in /dev/mqueue.
    sigset_t ending, previous;
    sigemptyset(&ending);
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaddset(&ending, sig);
    pthread_sigmask(SIG_BLOCK, &ending, &previous);
    for (int attempt = 0; attempt < 100 && queue == static_cast<mqd_t>(-1); ++attempt) {
      name = "/parbench-" + std::to_string(getpid()) + "-" + std::to_string(entropy()) +
             std::to_string(entropy());
      queue = mq_open(name.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600, &attributes);
      if (queue == static_cast<mqd_t>(-1) && errno != EEXIST) break;
    }
    const int open_error = errno;
    if (queue != static_cast<mqd_t>(-1))
      mq_unlink(name.c_str());  // nameless from now on: nothing left in /dev/mqueue
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    errno = open_error;
    if (queue == static_cast<mqd_t>(-1)) fail("mq_open");
    const mqd_t other = dup(queue);
    if (other < 0) {
      mq_close(queue);
      fail("dup");
    }
    *ends[k][0] = std::make_unique<MqEnd>(queue, kMessage);
    *ends[k][1] = std::make_unique<MqEnd>(other, kMessage);
  }
  channel.receive_buffer = std::max<std::size_t>(channel.receive_buffer, kMessage);
  return channel;
}

Channel make_shm_ring() {
  constexpr std::size_t kCapacity = 1 << 22;
  auto mapping = std::make_shared<SharedMapping>(2 * ByteRing::footprint(kCapacity));
  auto* base = static_cast<char*>(mapping->data());
  ByteRing* down = ByteRing::create(base, kCapacity);
  ByteRing* up = ByteRing::create(base + ByteRing::footprint(kCapacity), kCapacity);
  Channel channel;
  channel.down = {std::make_unique<RingEnd>(down), std::make_unique<RingEnd>(down)};
  channel.up = {std::make_unique<RingEnd>(up), std::make_unique<RingEnd>(up)};
  channel.keep_alive = mapping;
  return channel;
}

}  // namespace

constexpr IpcMechanism kMechanisms[] = {
    {"pipe", &make_pipe},
    {"fifo", &make_fifo},
    {"socketpair_stream", &make_socketpair<SOCK_STREAM>},
    {"socketpair_dgram", &make_socketpair<SOCK_DGRAM>},
    {"mqueue", &make_mqueue},
    {"shm_ring", &make_shm_ring},
};

std::span<const IpcMechanism> ipc_mechanisms() {
  return kMechanisms;
}

bool recv_exact(End& end, std::vector<char>& scratch, char* out, std::size_t bytes) {
  while (bytes > 0) {
    // A byte stream must not read past this message; a message mechanism
    // needs room for a whole message.
    const std::size_t want = end.message_based() ? scratch.size() : std::min(bytes, scratch.size());
    const std::size_t got = end.recv_some(scratch.data(), want);
    if (got == 0) return false;
    if (got > bytes) throw std::runtime_error("received more than one message");
    std::memcpy(out, scratch.data(), got);
    out += got;
    bytes -= got;
  }
  return true;
}

}  // namespace parbench
