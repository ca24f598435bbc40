// ipc/: moving bytes between two processes, by mechanism:
//   ipc/<mechanism>/<pingpong|stream>/size:<B>
// mechanisms: pipe, fifo, socketpair_stream, socketpair_dgram, mqueue (POSIX
// message queue) and shm_ring (parbench's own shared-memory SPSC byte ring,
// process/byte_ring.hpp). Message sizes 64 B to 1 MiB; a message larger than a
// datagram or queue message is sent as several, as a program would.
// - pingpong: the parent sends a message, a forked child echoes it back; one
//   iteration is one round trip (latency). The echo carries the iteration
//   number (checked every time); the whole payload is compared at the end.
// - stream: the parent sends one message per iteration to a child that counts
//   the bytes and sums them; at the end the child reports both and they must
//   match what was sent (bandwidth: bytes_per_second, messages per second).
// The child is an RAII ChildProcess (killed and reaped whatever happens); the
// FIFOs' temporary directory and the message queues' names are removed as
// soon as both ends are open, so nothing is left behind even after a crash.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <mqueue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <numeric>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "benchmarks/harness.hpp"
#include "process/ipc_channels.hpp"
#include "process/process_util.hpp"

namespace parbench {
namespace {

constexpr std::size_t kSizes[] = {64, 1024, 16 * 1024, 64 * 1024, 1024 * 1024};
using Mechanism = IpcMechanism;

void pingpong(benchmark::State& state, const Mechanism& mechanism) {
  const auto size = static_cast<std::size_t>(state.range(0));
  try {
    Channel channel = mechanism.make();
    ChildProcess child([&] {  // echo every message back
      channel.down.sender->close();
      channel.up.receiver->close();
      std::vector<char> scratch(channel.receive_buffer), message(size);
      while (recv_exact(*channel.down.receiver, scratch, message.data(), size))
        channel.up.sender->send(message.data(), size);
      return 0;
    });
    channel.down.receiver->close();
    channel.up.sender->close();
    std::vector<char> payload(size), echo(size), scratch(channel.receive_buffer);
    for (std::size_t i = 0; i < size; ++i) payload[i] = static_cast<char>(i * 131 + 7);
    std::uint64_t round = 0;
    bool ok = true;
    for (auto _ : state) {
      ++round;
      std::memcpy(payload.data(), &round, std::min(size, sizeof(round)));
      channel.down.sender->send(payload.data(), size);
      ok = recv_exact(*channel.up.receiver, scratch, echo.data(), size) &&
           std::memcmp(echo.data(), &round, std::min(size, sizeof(round))) == 0;
      if (!ok) break;
    }
    ok = ok && std::memcmp(echo.data(), payload.data(), size) == 0;
    channel.down.sender->finish();
    const int status = child.wait();
    if (!ok) {
      state.SkipWithError("echoed payload differs from what was sent");
      return;
    }
    if (status != 0) {
      state.SkipWithError(("echo process " + describe_wait_status(status)).c_str());
      return;
    }
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(2 * size));
    state.counters["messages_per_second"] =
        benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
    state.counters["verified"] = 1;
  } catch (const std::exception& error) {
    state.SkipWithError(("exception: " + std::string(error.what())).c_str());
  }
}

struct StreamSummary {
  std::uint64_t bytes = 0, sum = 0;
};

void stream(benchmark::State& state, const Mechanism& mechanism) {
  const auto size = static_cast<std::size_t>(state.range(0));
  try {
    Channel channel = mechanism.make();
    ChildProcess child([&] {  // count and sum everything, then report
      channel.down.sender->close();
      channel.up.receiver->close();
      std::vector<unsigned char> scratch(channel.receive_buffer);
      StreamSummary summary;
      for (std::size_t got;
           (got = channel.down.receiver->recv_some(scratch.data(), scratch.size())) > 0;) {
        summary.bytes += got;
        summary.sum = std::accumulate(scratch.begin(), scratch.begin() + got, summary.sum);
      }
      channel.up.sender->send(&summary, sizeof(summary));
      return 0;
    });
    channel.down.receiver->close();
    channel.up.sender->close();
    std::vector<unsigned char> payload(size);
    for (std::size_t i = 0; i < size; ++i) payload[i] = static_cast<unsigned char>(i * 131 + 7);
    const std::uint64_t payload_sum =
        std::accumulate(payload.begin(), payload.end(), std::uint64_t{0});
    for (auto _ : state) channel.down.sender->send(payload.data(), size);
    channel.down.sender->finish();
    StreamSummary summary;
    std::vector<char> scratch(channel.receive_buffer);
    const bool got = recv_exact(*channel.up.receiver, scratch, reinterpret_cast<char*>(&summary),
                                sizeof(summary));
    const int status = child.wait();
    const auto iterations = static_cast<std::uint64_t>(state.iterations());
    if (!got || status != 0) {
      state.SkipWithError(("receiving process " + describe_wait_status(status)).c_str());
      return;
    }
    if (summary.bytes != iterations * size || summary.sum != iterations * payload_sum) {
      state.SkipWithError(("received " + std::to_string(summary.bytes) + " bytes, sent " +
                           std::to_string(iterations * size) + " (or the content differs)")
                              .c_str());
      return;
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(iterations * size));
    state.counters["messages_per_second"] =
        benchmark::Counter(static_cast<double>(iterations), benchmark::Counter::kIsRate);
    state.counters["verified"] = 1;
  } catch (const std::exception& error) {
    state.SkipWithError(("exception: " + std::string(error.what())).c_str());
  }
}

void add_ipc_benchmarks(const Selection& selection) {
  for (const Mechanism& mechanism : ipc_mechanisms()) {
    for (auto [mode, function] : {std::pair{"pingpong", &pingpong}, std::pair{"stream", &stream}}) {
      auto* benchmark = add_primitive(selection, std::string("ipc/") + mechanism.name + "/" + mode,
                                      [&mechanism, function = function](benchmark::State& state) {
                                        function(state, mechanism);
                                      });
      if (benchmark == nullptr) continue;
      benchmark->ArgNames({"size"})->UseRealTime()->Unit(benchmark::kMicrosecond);
      for (std::size_t size : kSizes) benchmark->Arg(static_cast<std::int64_t>(size));
    }
  }
}

const bool registered = register_family(
    "ipc", &add_ipc_benchmarks,
    "moving bytes between two processes: pipes, sockets, message queues, shared memory");

}  // namespace
}  // namespace parbench
