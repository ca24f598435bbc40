// Every registered workload verifies on every model, gives the same verdict
// whatever p is, and its verifier rejects a corrupted result.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/model.hpp"
#include "core/workload.hpp"

namespace parbench {
namespace {

std::vector<const WorkloadInfo*> all_workloads() {
  std::vector<const WorkloadInfo*> list;
  for (const auto& workload : workloads()) list.push_back(&workload);
  return list;
}

class WorkloadTest : public testing::TestWithParam<const WorkloadInfo*> {};

TEST_P(WorkloadTest, VerifiesOnEveryModel) {
  const WorkloadInfo& workload = *GetParam();
  for (const auto& model : models())
    for (std::size_t p : {1, 3}) {
      if ((!model.parallel && p != 1) || !cannot_run(workload, model).empty()) continue;
      const auto executor = model.make(p);
      const auto instance = executor->prepare(workload, workload.small_size);
      instance->run(*executor);
      const Verdict verdict = instance->verify();
      EXPECT_TRUE(verdict.ok) << model.name << " p=" << p << ": " << verdict.message;
    }
}

TEST_P(WorkloadTest, VerifierRejectsACorruptedResult) {
  const WorkloadInfo& workload = *GetParam();
  const auto executor = find_model("serial")->make(1);
  const auto instance = executor->prepare(workload, workload.small_size);
  instance->run(*executor);
  ASSERT_TRUE(instance->verify().ok);
  instance->corrupt();
  const Verdict verdict = instance->verify();
  EXPECT_FALSE(verdict.ok);
  EXPECT_FALSE(verdict.message.empty());
}

TEST_P(WorkloadTest, VerifierRejectsAResultThatWasNeverComputed) {
  const WorkloadInfo& workload = *GetParam();
  const auto executor = find_model("serial")->make(1);
  const auto instance = executor->prepare(workload, workload.small_size);
  EXPECT_FALSE(instance->verify().ok) << "verify() passed before run()";
}

TEST_P(WorkloadTest, DeclaresConsistentSizes) {
  const WorkloadInfo& workload = *GetParam();
  EXPECT_LE(workload.min_size, workload.small_size);
  for (std::size_t n : workload.default_sizes) {
    EXPECT_GE(n, workload.min_size);
    EXPECT_LE(n, workload.max_size);
  }
  for (std::size_t n : workload.quick_sizes) EXPECT_LE(n, workload.max_size);
  EXPECT_FALSE(workload.summary.empty());
  const auto executor = find_model("serial")->make(1);
  EXPECT_GT(executor->prepare(workload, workload.small_size)->work().items, 0.0);
}

// roles() says "amdahl_ground_truth" from the flag: the flag must match what the
// instances export, or the catalogue would promise a counter that is not there.
TEST_P(WorkloadTest, ExportsASerialFractionExactlyWhenItSaysSo) {
  const WorkloadInfo& workload = *GetParam();
  const auto executor = find_model("serial")->make(1);
  const auto instance = executor->prepare(workload, workload.small_size);
  instance->run(*executor);
  bool exported = false;
  for (const auto& counter : instance->counters())
    exported = exported || counter.first == "true_serial_fraction";
  EXPECT_EQ(exported, workload.exports_serial_fraction);
}

INSTANTIATE_TEST_SUITE_P(AllWorkloads, WorkloadTest, testing::ValuesIn(all_workloads()),
                         [](const testing::TestParamInfo<const WorkloadInfo*>& info) {
                           return info.param->name;
                         });

TEST(WorkloadRegistry, HasTheWorkloadsOfThisIssue) {
  for (const char* name :
       {"primes", "mandelbrot", "monte_carlo_pi", "matmul", "stream_triad", "merge_sort", "fib",
        "histogram", "amdahl_s05", "amdahl_s20", "amdahl_s50", "granularity", "sleep_io",
        "file_read", "file_write", "tcp_echo", "pipeline"})
    EXPECT_NE(find_workload(name), nullptr) << name;
}

TEST(WorkloadRegistry, AmdahlExportsItsTrueSerialFraction) {
  const auto executor = find_model("serial")->make(1);
  for (auto [name, fraction] :
       {std::pair{"amdahl_s05", 0.05}, {"amdahl_s20", 0.20}, {"amdahl_s50", 0.50}}) {
    const auto instance = executor->prepare(*find_workload(name), 100);
    bool found = false;
    for (const auto& [key, value] : instance->counters())
      if (key == "true_serial_fraction") {
        found = true;
        EXPECT_DOUBLE_EQ(value, fraction);
      }
    EXPECT_TRUE(found) << name;
  }
}

TEST(WorkloadRegistry, RolesFollowTheFlags) {
  const auto roles_of = [](const char* name) { return roles(*find_workload(name)); };
  EXPECT_EQ(roles_of("granularity"), std::vector<std::string>{"metg"});
  EXPECT_EQ(roles_of("amdahl_s20"), std::vector<std::string>{"amdahl_ground_truth"});
  EXPECT_EQ(roles_of("fib"), std::vector<std::string>{"fork_join"});
  EXPECT_EQ(roles_of("file_write"), std::vector<std::string>{"reads_back_files"});
  EXPECT_TRUE(roles_of("primes").empty());
}

}  // namespace
}  // namespace parbench
