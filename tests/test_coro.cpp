// The coroutine runtime on both back-ends (io_uring and the epoll fallback):
// timer ordering, cancellation, exception propagation, when_all / when_any /
// with_timeout, sockets and files, and no descriptor left behind.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "coro/coro.hpp"
#include "coro/coro_runtime.hpp"
#include "coro/io_loop.hpp"
#include "tests/resource_counts.hpp"

namespace parbench::coro {
namespace {

using namespace std::chrono_literals;
using testing_support::open_descriptors;

Task<void> sleep_then_record(Io io, std::chrono::milliseconds delay, int id,
                             std::vector<int>* order) {
  co_await io.sleep(delay);
  order->push_back(id);
}

Task<int> answer(Io io) {
  co_await io.yield();
  co_return 42;
}

Task<int> add_one(Io io) {
  co_return co_await answer(io) + 1;
}

Task<void> fail_after(Io io, std::chrono::milliseconds delay, const char* message) {
  co_await io.sleep(delay);
  throw std::runtime_error(message);
}

Task<void> sleep_for(Io io, std::chrono::milliseconds delay, int* finished) {
  co_await io.sleep(delay);
  ++*finished;
}

class CoroTest : public testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    fds_before_ = open_descriptors();
    try {
      loop_ = make_loop(GetParam());
    } catch (const std::exception& error) {
      GTEST_SKIP() << "back-end unavailable here: " << error.what();
    }
  }
  void TearDown() override {
    loop_.reset();
    EXPECT_EQ(open_descriptors(), fds_before_) << "descriptors left open";
  }
  std::unique_ptr<Loop> loop_;
  std::size_t fds_before_ = 0;
};

TEST_P(CoroTest, TimersFireInDeadlineOrderNotStartOrder) {
  std::vector<int> order;
  std::vector<Task<void>> tasks;
  const Io io(loop_.get());
  tasks.push_back(sleep_then_record(io, 30ms, 3, &order));
  tasks.push_back(sleep_then_record(io, 10ms, 1, &order));
  tasks.push_back(sleep_then_record(io, 20ms, 2, &order));
  tasks.push_back(sleep_then_record(io, 0ms, 0, &order));
  const auto start = std::chrono::steady_clock::now();
  loop_->run(when_all(std::move(tasks)));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_GE(elapsed, 30ms);  // a timer never fires early
}

TEST_P(CoroTest, ValuesAndNestedAwaits) {
  EXPECT_EQ(loop_->run(add_one(Io(loop_.get()))), 43);
  EXPECT_EQ(run_blocking(add_one(Io{})), 43);  // the same coroutine without a loop
}

TEST_P(CoroTest, WhenAllWaitsForEveryChildThenRethrowsTheFirstFailure) {
  int finished = 0;
  std::vector<Task<void>> tasks;
  const Io io(loop_.get());
  tasks.push_back(sleep_for(io, 20ms, &finished));
  tasks.push_back(fail_after(io, 5ms, "child failed"));
  tasks.push_back(sleep_for(io, 10ms, &finished));
  try {
    loop_->run(when_all(std::move(tasks)));
    FAIL() << "when_all did not rethrow";
  } catch (const std::runtime_error& error) {
    EXPECT_STREQ(error.what(), "child failed");
  }
  EXPECT_EQ(finished, 2) << "when_all returned before every child finished";
  EXPECT_EQ(loop_->pending(), 0u);
}

TEST_P(CoroTest, WhenAnyReturnsTheFirstAndCancelsTheRest) {
  int finished = 0;
  std::vector<TaskFactory> children;
  children.push_back([&](Io io) { return sleep_for(io, 2000ms, &finished); });
  children.push_back([&](Io io) { return sleep_for(io, 5ms, &finished); });
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(loop_->run(when_any(Io(loop_.get()), std::move(children))), 1u);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1000ms) << "the loser was not cancelled";
  EXPECT_EQ(finished, 1);
  EXPECT_EQ(loop_->pending(), 0u);
}

TEST_P(CoroTest, WhenAnyRethrowsTheWinnersException) {
  int finished = 0;
  std::vector<TaskFactory> children;
  children.push_back([](Io io) { return fail_after(io, 1ms, "first failed"); });
  children.push_back([&](Io io) { return sleep_for(io, 2000ms, &finished); });
  EXPECT_THROW(loop_->run(when_any(Io(loop_.get()), std::move(children))), std::runtime_error);
  EXPECT_EQ(finished, 0);
}

TEST_P(CoroTest, TimeoutCancelsTheSlowOperation) {
  int finished = 0;
  const Io io(loop_.get());
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(loop_->run(
      with_timeout(io, 10ms, [&](Io child) { return sleep_for(child, 5000ms, &finished); })));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1000ms);
  EXPECT_EQ(finished, 0);
  EXPECT_TRUE(loop_->run(
      with_timeout(io, 2000ms, [&](Io child) { return sleep_for(child, 1ms, &finished); })));
  EXPECT_EQ(finished, 1);
  EXPECT_EQ(loop_->pending(), 0u);
}

TEST_P(CoroTest, CancelledScopeFailsNewOperationsAtOnce) {
  CancelScope scope;
  scope.cancel();
  int finished = 0;
  EXPECT_THROW(loop_->run(sleep_for(Io(loop_.get(), &scope), 1000ms, &finished)), Cancelled);
  EXPECT_EQ(finished, 0);
}

Task<void> echo_once(Io io, int listener, std::string* received) {
  const int fd = static_cast<int>(co_await io.accept(listener));
  char buffer[64];
  const auto n = co_await io.recv(fd, buffer, sizeof buffer);
  received->assign(buffer, static_cast<std::size_t>(n));
  co_await io.send(fd, buffer, static_cast<std::size_t>(n));
  co_await io.close(fd);
}

Task<void> ask(Io io, sockaddr_in address, std::string* reply) {
  const int fd = io.tcp_socket();
  try {
    co_await io.connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address);
    co_await io.send(fd, "ping", 4);
    char buffer[64];
    const auto n = co_await io.recv(fd, buffer, sizeof buffer);
    reply->assign(buffer, static_cast<std::size_t>(n));
  } catch (...) {
    ::close(fd);
    throw;
  }
  co_await io.close(fd);
}

int loopback_listener(sockaddr_in* address) {
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  *address = {};
  address->sin_family = AF_INET;
  address->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof *address;
  if (::bind(listener, reinterpret_cast<sockaddr*>(address), sizeof *address) != 0 ||
      ::listen(listener, 16) != 0 ||
      ::getsockname(listener, reinterpret_cast<sockaddr*>(address), &length) != 0)
    throw std::runtime_error("loopback listener");
  return listener;
}

TEST_P(CoroTest, SocketsAcceptConnectSendRecv) {
  sockaddr_in address{};
  const int listener = loopback_listener(&address);
  std::string received, reply;
  std::vector<Task<void>> tasks;
  const Io io(loop_.get());
  tasks.push_back(echo_once(io, listener, &received));
  tasks.push_back(ask(io, address, &reply));
  loop_->run(when_all(std::move(tasks)));
  ::close(listener);
  EXPECT_EQ(received, "ping");
  EXPECT_EQ(reply, "ping");
}

TEST_P(CoroTest, UnreachableServerIsAClearError) {
  sockaddr_in address{};
  ::close(loopback_listener(&address));  // a port nobody listens on now
  std::string reply;
  try {
    loop_->run(ask(Io(loop_.get()), address, &reply));
    FAIL() << "connect to a closed port succeeded";
  } catch (const IoError& error) {
    EXPECT_EQ(error.error_number, ECONNREFUSED);
    EXPECT_NE(std::string(error.what()).find("connect: Connection refused"), std::string::npos);
  }
}

// ctest runs the uring and epoll instances of a test at the same time, in
// separate processes: a file name shared between them lets one truncate the
// other's file mid-test, so every name carries the process id.
std::string private_temp_path(const char* tag) {
  return testing::TempDir() + "parbench_" + tag + "_" + std::to_string(::getpid());
}

Task<void> write_then_read(Io io, const char* path, std::string* back) {
  const int fd = static_cast<int>(co_await io.open(path, O_CREAT | O_TRUNC | O_RDWR, 0600));
  co_await io.write(fd, "hello, file", 11, 0);
  co_await io.fsync(fd);
  char buffer[32] = {};
  const auto n = co_await io.read(fd, buffer, sizeof buffer, 7);
  back->assign(buffer, static_cast<std::size_t>(n));
  co_await io.close(fd);
}

TEST_P(CoroTest, FilesAtOffsetsAndErrorsNameTheOperation) {
  const std::string path = private_temp_path("coro_file");
  std::string back;
  loop_->run(write_then_read(Io(loop_.get()), path.c_str(), &back));
  EXPECT_EQ(back, "file");
  ::unlink(path.c_str());
  try {
    loop_->run(write_then_read(Io(loop_.get()), "/nonexistent-dir/x", &back));
    FAIL() << "open in a missing directory succeeded";
  } catch (const IoError& error) {
    EXPECT_EQ(error.error_number, ENOENT);
    EXPECT_STREQ(error.what(), "open: No such file or directory");
  }
}

Task<void> write_full(Io io) {
  const int fd = static_cast<int>(co_await io.open("/dev/full", O_WRONLY));
  try {
    co_await io.write(fd, "x", 1, kCurrentPosition);
  } catch (...) {
    ::close(fd);
    throw;
  }
  co_await io.close(fd);
}

TEST_P(CoroTest, FullDiskIsAClearError) {
  try {
    loop_->run(write_full(Io(loop_.get())));
    FAIL() << "writing /dev/full succeeded";
  } catch (const IoError& error) {
    EXPECT_EQ(error.error_number, ENOSPC);
    EXPECT_STREQ(error.what(), "write: No space left on device");
  }
}

TEST_P(CoroTest, TenThousandConcurrentSleepsOverlap) {
  int finished = 0;
  std::vector<Task<void>> tasks;
  const Io io(loop_.get());
  for (int i = 0; i < 10000; ++i) tasks.push_back(sleep_for(io, 20ms, &finished));
  const auto start = std::chrono::steady_clock::now();
  loop_->run(when_all(std::move(tasks)));
  EXPECT_EQ(finished, 10000);
  // Serially this would take 200 s; overlapped it takes about one sleep.
  EXPECT_LT(std::chrono::steady_clock::now() - start, 20s);
}

INSTANTIATE_TEST_SUITE_P(Backends, CoroTest, testing::Values(Backend::uring, Backend::epoll),
                         [](const auto& info) {
                           return std::string(to_string(info.param)) == "io_uring" ? "uring"
                                                                                   : "epoll";
                         });

TEST(CoroBlocking, LooplessIoDoesTheCallsOnTheSpot) {
  const std::string path = private_temp_path("coro_blocking");
  std::string back;
  run_blocking(write_then_read(Io{}, path.c_str(), &back));
  EXPECT_EQ(back, "file");
  ::unlink(path.c_str());
  int finished = 0;
  std::vector<Task<void>> tasks;
  tasks.push_back(sleep_for(Io{}, 1ms, &finished));
  tasks.push_back(sleep_for(Io{}, 1ms, &finished));
  run_blocking(when_all(std::move(tasks)));
  EXPECT_EQ(finished, 2);
}

Task<void> sleep_only(Io io, std::chrono::milliseconds delay) {
  co_await io.sleep(delay);
}

TEST(CoroRuntime, RequestsRunWithTheConfiguredConcurrencyAndErrorsPropagate) {
  for (std::size_t threads : {1u, 2u}) {
    CoroutineRuntime runtime(64, threads);
    std::vector<int> done(256, 0);
    int* marks = done.data();
    const auto start = std::chrono::steady_clock::now();
    runtime.run_requests(256,
                         [marks](std::size_t i, Io io) { return sleep_for(io, 10ms, &marks[i]); });
    const auto elapsed = std::chrono::steady_clock::now() - start;
    for (int mark : done) EXPECT_EQ(mark, 1);
    EXPECT_GE(elapsed, 40ms);  // 256 requests, 64 at a time: at least 4 rounds
    EXPECT_THROW(runtime.run_requests(8,
                                      [](std::size_t i, Io io) {
                                        return i == 5 ? fail_after(io, 1ms, "request 5")
                                                      : sleep_only(io, 1ms);
                                      }),
                 std::runtime_error);
  }
}

}  // namespace
}  // namespace parbench::coro
