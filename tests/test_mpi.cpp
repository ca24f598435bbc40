// The mpi model's own promises, beyond the contract every model keeps
// (tests/test_models.cpp): its memory exchange sends only changed bytes and
// merges ranks that wrote different bytes of one line; code that runs on
// rank 0 alone is refused; a lost rank fails the call within seconds.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/model.hpp"
#include "core/workload.hpp"
#include "mpi/change_tracker.hpp"

namespace parbench {
namespace {

using mpi::ChangeTracker;

TEST(ChangeTracker, SendsOnlyChangedLinesAndAppliesThem) {
  const std::size_t bytes = 1 << 20;
  Memory mine = allocate_heap(bytes), theirs = allocate_heap(bytes);
  auto* a = static_cast<unsigned char*>(mine.data());
  auto* b = static_cast<unsigned char*>(theirs.data());
  ChangeTracker tracker, other;
  tracker.add(a, bytes);
  other.add(b, bytes);
  tracker.snapshot();
  std::vector<std::byte> changes;
  EXPECT_EQ(tracker.append_changes(changes), 0u) << "nothing written, nothing to send";
  a[5] = 1;
  a[bytes - 1] = 2;
  std::memset(a + 4096, 7, 1000);
  tracker.append_changes(changes);
  // 1 + 1 + 16 lines changed: well under 2 KiB for 1 MiB tracked.
  EXPECT_LT(changes.size(), 2048u);
  EXPECT_GT(changes.size(), 1000u);
  other.apply(changes.data(), changes.size());
  EXPECT_EQ(std::memcmp(a, b, bytes), 0);
}

TEST(ChangeTracker, RanksThatWroteDifferentBytesOfOneLineBothKeepTheirs) {
  const std::size_t bytes = 4096;
  Memory m0 = allocate_heap(bytes), m1 = allocate_heap(bytes);
  auto* r0 = static_cast<unsigned char*>(m0.data());
  auto* r1 = static_cast<unsigned char*>(m1.data());
  ChangeTracker t0, t1;
  t0.add(r0, bytes);
  t1.add(r1, bytes);
  t0.snapshot();
  t1.snapshot();
  for (std::size_t i = 0; i < bytes; i += 2) r0[i] = static_cast<unsigned char>(i + 1);
  for (std::size_t i = 1; i < bytes; i += 2) r1[i] = static_cast<unsigned char>(i + 1);
  std::vector<std::byte> c0, c1;
  t0.append_changes(c0);
  t1.append_changes(c1);
  t0.apply(c1.data(), c1.size());
  t1.apply(c0.data(), c0.size());
  for (std::size_t i = 0; i < bytes; ++i) {
    ASSERT_EQ(r0[i], static_cast<unsigned char>(i + 1)) << i;
    ASSERT_EQ(r1[i], static_cast<unsigned char>(i + 1)) << i;
  }
}

TEST(ChangeTracker, MaskNamesExactlyTheBytesThatChanged) {
  // Every byte position of a line, with differences in the low bits, the
  // high bit and all bits: only that byte may reach the other copy.
  const std::size_t bytes = 4096;
  for (const unsigned difference : {0x01u, 0x7fu, 0x80u, 0xffu}) {
    for (std::size_t position = 0; position < 64; ++position) {
      Memory mine = allocate_heap(bytes), theirs = allocate_heap(bytes);
      auto* a = static_cast<unsigned char*>(mine.data());
      auto* b = static_cast<unsigned char*>(theirs.data());
      std::memset(a, 0x5a, bytes);
      std::memset(b, 0xa5, bytes);
      ChangeTracker tracker, other;
      tracker.add(a, bytes);
      other.add(b, bytes);
      tracker.snapshot();
      a[128 + position] ^= static_cast<unsigned char>(difference);
      std::vector<std::byte> changes;
      tracker.append_changes(changes);
      other.apply(changes.data(), changes.size());
      for (std::size_t i = 0; i < bytes; ++i)
        ASSERT_EQ(b[i], i == 128 + position ? a[i] : 0xa5) << difference << " at " << position;
    }
  }
}

TEST(ChangeTracker, RejectsChangesThatDoNotFit) {
  Memory m = allocate_heap(4096);
  ChangeTracker tracker;
  tracker.add(m.data(), 4096);
  const std::uint64_t header[4] = {7, 1, 0, 1};  // block 7 does not exist
  EXPECT_THROW(tracker.apply(reinterpret_cast<const std::byte*>(header), sizeof(header)),
               std::runtime_error);
  const std::uint64_t truncated[2] = {0, 1};  // a run promised, none follows
  EXPECT_THROW(tracker.apply(reinterpret_cast<const std::byte*>(truncated), sizeof(truncated)),
               std::runtime_error);
}

TEST(MpiModel, RefusesParallelCodeThatRank0RunsAlone) {
  const auto executor = find_model("mpi")->make(2);
  try {
    executor->parallel_for(10, 1, [](std::size_t, std::size_t) {});
    ADD_FAILURE() << "no exception";
  } catch (const std::logic_error& error) {
    EXPECT_NE(std::string(error.what()).find("run_everywhere"), std::string::npos) << error.what();
  }
}

// A reduction over a large read-only input exchanges its partials, not its
// input: the bytes moved follow the bytes written.
TEST(MpiModel, ExchangesTheBytesWrittenNotTheBytesAllocated) {
  const WorkloadInfo& workload = *find_workload("monte_carlo_pi");
  const auto executor = find_model("mpi")->make(2);
  const auto instance = executor->prepare(workload, workload.small_size);
  instance->run(*executor);
  ASSERT_TRUE(instance->verify().ok);
  double exchanged = -1;
  for (const auto& [name, value] : instance->counters())
    if (name == "mpi_bytes_exchanged") exchanged = value;
  EXPECT_GT(exchanged, 0) << "the ranks must exchange their partials";
  EXPECT_LT(exchanged, 64 * 1024) << "monte_carlo_pi writes a few partials per run";

  const WorkloadInfo& triad = *find_workload("stream_triad");
  const auto big = executor->prepare(triad, 1 << 20);  // a = b + s c: writes 1 of 3 arrays
  big->run(*executor);
  ASSERT_TRUE(big->verify().ok);
  for (const auto& [name, value] : big->counters())
    if (name == "mpi_bytes_exchanged") exchanged = value;
  const double written = 8.0 * (1 << 20);
  EXPECT_GT(exchanged, 0.9 * written);
  EXPECT_LT(exchanged, 1.3 * written) << "only the written array moves (plus masks)";
}

bool is_spawned_rank() {
  std::ifstream cmdline("/proc/self/cmdline");
  const std::string text((std::istreambuf_iterator<char>(cmdline)), {});
  return text.find("--parbench-worker=mpi") != std::string::npos;
}

// Rank 0 (the test process) takes 30 ms a chunk, rank 1 none; each chunk
// records who ran it, and every rank checks that all 40 ran exactly once.
void record_chunk_owners(Executor& executor) {
  constexpr std::size_t kChunks = 40;
  Memory owners = executor.allocate(kChunks);
  auto* owner = static_cast<unsigned char*>(owners.data());
  const unsigned char me = is_spawned_rank() ? 2 : 1;
  executor.parallel_for(kChunks, 1, [owner, me](std::size_t lo, std::size_t hi) {
    for (std::size_t c = lo; c < hi; ++c) {
      if (me == 1) std::this_thread::sleep_for(std::chrono::milliseconds(30));
      if (owner[c] != 0) throw std::runtime_error("chunk ran twice");
      owner[c] = me;
    }
  });
  std::size_t rank0 = 0;
  for (std::size_t c = 0; c < kChunks; ++c) {
    if (owner[c] == 0) throw std::runtime_error("chunk " + std::to_string(c) + " never ran");
    rank0 += owner[c] == 1;
  }
  const char* schedule = std::getenv("PARBENCH_MPI_SCHEDULE");
  const bool dynamic = schedule == nullptr || std::string_view(schedule) == "dynamic";
  // Static schedules give rank 0 half; claims let the fast rank take most.
  if (dynamic ? rank0 >= kChunks / 2 : rank0 != kChunks / 2)
    throw std::runtime_error("rank 0 ran " + std::to_string(rank0) + " of 40 chunks");
}

TEST(MpiModel, EveryScheduleRunsEachChunkOnceAndClaimsBalanceASlowRank) {
  for (const char* schedule : {"dynamic", "cyclic", "block"}) {
    setenv("PARBENCH_MPI_SCHEDULE", schedule, 1);
    const auto executor = find_model("mpi")->make(2);
    EXPECT_NO_THROW(executor->run_everywhere(&record_chunk_owners)) << schedule;
  }
  setenv("PARBENCH_MPI_SCHEDULE", "fastest", 1);
  EXPECT_THROW(find_model("mpi")->make(2), std::invalid_argument);
  unsetenv("PARBENCH_MPI_SCHEDULE");
}

// The TCP listeners of processes: /proc/<pid>/fd's socket inodes against the
// LISTEN rows (state 0A) of /proc/net/tcp and tcp6 (this network namespace).
struct TcpListener {
  long pid = 0;
  std::string address;  ///< as /proc/net/tcp* writes it: hex address:port
  bool ipv6 = false;
};

std::vector<long> this_process_and_descendants() {
  std::map<long, std::vector<long>> children;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    if (!std::getline(stat, line) || line.rfind(')') == std::string::npos) continue;
    std::istringstream fields(line.substr(line.rfind(')') + 2));
    std::string state;
    long parent = 0;
    fields >> state >> parent;
    children[parent].push_back(std::stol(name));
  }
  std::vector<long> family{getpid()};
  for (std::size_t i = 0; i < family.size(); ++i)
    for (const long child : children[family[i]]) family.push_back(child);
  return family;
}

std::vector<TcpListener> tcp_listeners(const std::vector<long>& pids) {
  std::map<std::string, TcpListener> listening;  // by socket inode
  for (const bool ipv6 : {false, true}) {
    std::ifstream table(ipv6 ? "/proc/net/tcp6" : "/proc/net/tcp");
    std::string line;
    std::getline(table, line);  // the header
    while (std::getline(table, line)) {
      std::istringstream fields(line);
      std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
      fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >>
          timeout >> inode;
      if (state == "0A") listening[inode] = TcpListener{0, local, ipv6};
    }
  }
  std::vector<TcpListener> found;
  for (const long pid : pids) {
    std::error_code error;
    for (const auto& fd :
         std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", error)) {
      const std::string target = std::filesystem::read_symlink(fd.path(), error).string();
      if (!target.starts_with("socket:[")) continue;
      const auto socket = listening.find(target.substr(8, target.size() - 9));
      if (socket == listening.end()) continue;
      found.push_back(socket->second);
      found.back().pid = pid;
    }
  }
  return found;
}

bool is_loopback(const TcpListener& listener) {
  const std::string address = listener.address.substr(0, listener.address.find(':'));
  // /proc/net/tcp* write each 32-bit word in host (little-endian) order.
  if (!listener.ipv6) return address.ends_with("7F");      // 127.x.y.z
  return address == "00000000000000000000000001000000" ||  // ::1
         (address.starts_with("0000000000000000FFFF0000") &&
          address.ends_with("7F"));  // ::ffff:127.x
}

// Open MPI's listeners (OOB, tcp BTL) bind every interface unless confined
// (mpi/loopback.hpp): with all ranks on this host, none may be reachable
// from the network, in this process, its orted or the spawned ranks. (Before
// the lost-rank test: a process whose team lost a rank starts no other.)
TEST(MpiModel, ASpawnedTeamListensOnLoopbackOnly) {
  const char* hostfile = std::getenv("PARBENCH_MPI_HOSTFILE");
  const char* setting = std::getenv("PARBENCH_MPI_LOOPBACK");
  if ((hostfile != nullptr && *hostfile != '\0') ||
      std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr ||
      (setting != nullptr && std::string_view(setting) != "1"))
    GTEST_SKIP() << "ranks on other hosts, launched by mpirun, or confinement turned off";
  const auto executor = find_model("mpi")->make(3);
  executor->run_everywhere([](Executor&) {});  // every rank up and answering
  const std::vector<long> family = this_process_and_descendants();
  ASSERT_GE(family.size(), 4u) << "this process, orted and 2 spawned ranks";
  const std::vector<TcpListener> listeners = tcp_listeners(family);
  std::set<long> listening_pids;
  std::string all;
  for (const TcpListener& listener : listeners) {
    listening_pids.insert(listener.pid);
    all += " " + std::to_string(listener.pid) + "=" + listener.address;
  }
  // The scan sees them: rank 0's, orted's and each rank's own listeners.
  EXPECT_EQ(listening_pids.size(), family.size()) << all;
  for (const TcpListener& listener : listeners)
    EXPECT_TRUE(is_loopback(listener)) << "pid " << listener.pid << " listens on "
                                       << listener.address << (listener.ipv6 ? " (tcp6)" : "");
}

void kill_the_other_ranks(Executor& executor) {
  if (is_spawned_rank()) raise(SIGKILL);
  executor.parallel_for(100, 1, [](std::size_t, std::size_t) {});
}

TEST(MpiModel, ALostRankFailsTheCallWithinSeconds) {
  const auto executor = find_model("mpi")->make(3);
  const auto start = std::chrono::steady_clock::now();
  try {
    executor->run_everywhere(&kill_the_other_ranks);
    ADD_FAILURE() << "no exception";
  } catch (const std::runtime_error& error) {
    EXPECT_NE(std::string(error.what()).find("killed or crashed"), std::string::npos)
        << error.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  // The team is abandoned, and says so.
  EXPECT_THROW(find_model("mpi")->make(3), std::runtime_error);
}

}  // namespace
}  // namespace parbench
