// Every IPC mechanism carries messages of every size intact, both ways,
// between two processes, and leaves no descriptor, FIFO, queue or
// shared-memory object behind.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "process/ipc_channels.hpp"
#include "process/process_util.hpp"
#include "tests/resource_counts.hpp"

namespace parbench {
namespace {

using testing_support::open_descriptors;
using testing_support::suite_entries;
using testing_support::suite_entries_left;

class IpcTest : public testing::TestWithParam<IpcMechanism> {};

TEST_P(IpcTest, EchoesEverySizeIntact) {
  const std::size_t fds_before = open_descriptors();
  const auto shm_before = suite_entries("/dev/shm"), mqueue_before = suite_entries("/dev/mqueue");
  {
    Channel channel = GetParam().make();
    ChildProcess echo([&] {  // echo: header (size) then payload, until the end
      channel.down.sender->close();
      channel.up.receiver->close();
      std::vector<char> scratch(channel.receive_buffer);
      for (;;) {
        std::uint64_t size = 0;
        if (!recv_exact(*channel.down.receiver, scratch, reinterpret_cast<char*>(&size),
                        sizeof(size)))
          return 0;
        std::vector<char> message(size);
        if (!recv_exact(*channel.down.receiver, scratch, message.data(), size)) return 2;
        channel.up.sender->send(&size, sizeof(size));
        channel.up.sender->send(message.data(), size);
      }
    });
    channel.down.receiver->close();
    channel.up.sender->close();
    std::mt19937_64 random(42);
    std::vector<char> scratch(channel.receive_buffer);
    for (std::uint64_t size : {1ULL, 64ULL, 1000ULL, 8192ULL, 8193ULL, 65536ULL, 1ULL << 20}) {
      std::vector<char> sent(size), received(size);
      for (auto& byte : sent) byte = static_cast<char>(random());
      channel.down.sender->send(&size, sizeof(size));
      channel.down.sender->send(sent.data(), size);
      std::uint64_t echoed_size = 0;
      ASSERT_TRUE(recv_exact(*channel.up.receiver, scratch, reinterpret_cast<char*>(&echoed_size),
                             sizeof(echoed_size)));
      ASSERT_EQ(echoed_size, size);
      ASSERT_TRUE(recv_exact(*channel.up.receiver, scratch, received.data(), size));
      ASSERT_EQ(std::memcmp(sent.data(), received.data(), size), 0) << size << " bytes differ";
    }
    channel.down.sender->finish();
    EXPECT_EQ(echo.wait(), 0);
  }
  EXPECT_EQ(open_descriptors(), fds_before) << "descriptors leaked";
  EXPECT_EQ(suite_entries_left("/dev/shm", shm_before), std::set<std::string>{});
  EXPECT_EQ(suite_entries_left("/dev/mqueue", mqueue_before), std::set<std::string>{});
}

INSTANTIATE_TEST_SUITE_P(AllMechanisms, IpcTest,
                         testing::ValuesIn(ipc_mechanisms().begin(), ipc_mechanisms().end()),
                         [](const testing::TestParamInfo<IpcMechanism>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace parbench
