// Affinity: the policies' CPU orders on a recorded two-socket SMT layout, and
// every model that binds its workers keeping them on the placement's CPUs.
#include <gtest/gtest.h>
#include <sched.h>

#include <atomic>
#include <chrono>
#include <string>
#include <vector>

#include "core/model.hpp"
#include "core/placement.hpp"

namespace parbench {
namespace {

// 2 sockets x 2 cores x 2 threads, Linux's numbering: every core's first thread
// first (CPUs 0-3), then the siblings (4-7); one NUMA node per socket.
std::vector<CpuPlace> two_sockets_smt2() {
  std::vector<CpuPlace> cpus;
  for (int sibling = 0; sibling < 2; ++sibling)
    for (int socket = 0; socket < 2; ++socket)
      for (int core = 0; core < 2; ++core)
        cpus.push_back({.cpu = sibling * 4 + socket * 2 + core,
                        .socket = socket,
                        .node = socket,
                        .core = core,
                        .sibling = sibling});
  return cpus;
}

TEST(Placement, CompactFillsOneSocketsCoresFirstAndSiblingsLast) {
  EXPECT_EQ(order_cpus(two_sockets_smt2(), Affinity::compact),
            (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7}));
}

TEST(Placement, SpreadDealsCoresOverSocketsOneThreadPerCoreFirst) {
  EXPECT_EQ(order_cpus(two_sockets_smt2(), Affinity::spread),
            (std::vector<int>{0, 2, 1, 3, 4, 6, 5, 7}));
}

TEST(Placement, NamesRoundTripAndNoneBindsNothing) {
  for (const std::string_view name : kAffinityPolicies)
    EXPECT_EQ(affinity_name(*parse_affinity(name)), name);
  EXPECT_FALSE(parse_affinity("scatter").has_value());
  EXPECT_FALSE(Placement::of(Affinity::none).binds());
  EXPECT_EQ(Placement().cpu_of(3), -1);
  const Placement placement(Affinity::compact, {5, 7});
  EXPECT_EQ(placement.cpu_of(0), 5);
  EXPECT_EQ(placement.cpu_of(3), 7);  // more workers than CPUs: round-robin
  EXPECT_EQ(placement.omp_places(1), "{5}");
  EXPECT_EQ(placement.omp_places(4), "{5},{7}");
}

TEST(Placement, OfThisMachineCoversItsAllowedCpusOnce) {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  ASSERT_EQ(sched_getaffinity(0, sizeof allowed, &allowed), 0);
  for (const Affinity policy : {Affinity::compact, Affinity::spread}) {
    const Placement placement = Placement::of(policy);
    EXPECT_EQ(static_cast<int>(placement.cpus().size()), CPU_COUNT(&allowed));
    for (const int cpu : placement.cpus()) EXPECT_TRUE(CPU_ISSET(cpu, &allowed)) << cpu;
  }
}

int first_allowed_cpu() {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  sched_getaffinity(0, sizeof allowed, &allowed);
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
    if (CPU_ISSET(cpu, &allowed)) return cpu;
  return 0;
}

// Enough chunks, each long enough, that an unbound second worker would be seen elsewhere.
void spin_chunks(Executor& executor) {
  executor.parallel_for(64, 1, [](std::size_t, std::size_t) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(300);
    while (std::chrono::steady_clock::now() < until) {
    }
  });
}

class BoundModel : public testing::TestWithParam<std::string> {};

TEST_P(BoundModel, WorkersStayOnThePlacementsCpus) {
  const ModelInfo* model = find_model(GetParam());
  ASSERT_NE(model, nullptr);
  // Every worker on one CPU: the trace may see that CPU only.
  const int cpu = first_allowed_cpu();
  {
    const auto executor = model->make(3, Placement(Affinity::compact, {cpu}));
    spin_chunks(*executor);
    executor->cpu_trace().clear();
    spin_chunks(*executor);
    EXPECT_EQ(executor->cpu_trace().count(), 1u);
  }
  // The machine's own compact placement: at most p CPUs.
  const auto executor = model->make(2, Placement::of(Affinity::compact));
  executor->cpu_trace().clear();
  spin_chunks(*executor);
  EXPECT_GE(executor->cpu_trace().count(), 1u);
  EXPECT_LE(executor->cpu_trace().count(), 2u);
}

// OpenMP is bound by OMP_PLACES when the binary starts (tests/python/test_affinity.py); MPI's
// ranks by the launcher; serial and coroutines have one worker.
INSTANTIATE_TEST_SUITE_P(Models, BoundModel,
                         testing::Values("threads", "pool", "tbb", "processes", "process_pool",
                                         "coroutines_mt"),
                         [](const testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

TEST(Placement, BindingTheCallerIsUndoneAfter) {
  cpu_set_t before;
  CPU_ZERO(&before);
  ASSERT_EQ(pthread_getaffinity_np(pthread_self(), sizeof before, &before), 0);
  {
    const ThreadBinding binding(Placement(Affinity::compact, {first_allowed_cpu()}), 0);
    cpu_set_t during;
    CPU_ZERO(&during);
    ASSERT_EQ(pthread_getaffinity_np(pthread_self(), sizeof during, &during), 0);
    EXPECT_EQ(CPU_COUNT(&during), 1);
  }
  cpu_set_t after;
  CPU_ZERO(&after);
  ASSERT_EQ(pthread_getaffinity_np(pthread_self(), sizeof after, &after), 0);
  EXPECT_TRUE(CPU_EQUAL(&before, &after));
}

}  // namespace
}  // namespace parbench
