// Process models leave nothing behind: no child processes (zombies
// included), no /dev/shm entries, whether a run ends normally, throws, or a
// worker is killed; and a killed worker fails the run quickly and clearly.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "core/model.hpp"
#include "tests/resource_counts.hpp"

namespace parbench {
namespace {

using testing_support::count_children;

class ProcessModelTest : public testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    model_ = find_model(GetParam());
    ASSERT_NE(model_, nullptr);
    children_before_ = count_children();
    shm_before_ = testing_support::suite_entries("/dev/shm");
  }
  void TearDown() override {
    EXPECT_EQ(count_children(), children_before_) << "child processes left behind";
    EXPECT_EQ(testing_support::suite_entries_left("/dev/shm", shm_before_), std::set<std::string>{})
        << "/dev/shm entries left behind";
  }
  const ModelInfo* model_ = nullptr;
  int children_before_ = 0;
  std::set<std::string> shm_before_;
};

TEST_P(ProcessModelTest, NormalRunsLeaveNothing) {
  for (int round = 0; round < 3; ++round) {
    const auto executor = model_->make(3);
    Array<std::uint64_t> out(*executor, 1000);
    executor->parallel_for(1000, 10, [out = out.data()](std::size_t lo, std::size_t hi) {
      for (std::size_t i = lo; i < hi; ++i) out[i] = i + 1;
    });
    for (std::size_t i = 0; i < 1000; ++i) ASSERT_EQ(out[i], i + 1);
  }
}

TEST_P(ProcessModelTest, ExceptionLeavesNothingAndKeepsItsMessage) {
  const auto executor = model_->make(2);
  try {
    executor->parallel_for(100, 1, [](std::size_t lo, std::size_t) {
      if (lo == 50) throw std::invalid_argument("bad chunk 50");
    });
    FAIL() << "no exception";
  } catch (const std::exception& error) {
    EXPECT_NE(std::string(error.what()).find("bad chunk 50"), std::string::npos) << error.what();
  }
}

TEST_P(ProcessModelTest, KilledWorkerFailsTheRunQuicklyAndClearly) {
  const auto executor = model_->make(2);
  const auto start = std::chrono::steady_clock::now();
  try {
    executor->parallel_for(64, 1, [](std::size_t lo, std::size_t) {
      if (lo == 5) raise(SIGKILL);  // only ever runs in a worker process
      usleep(1000);
    });
    FAIL() << "no exception";
  } catch (const std::runtime_error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("worker"), std::string::npos) << message;
    EXPECT_NE(message.find("pid"), std::string::npos) << message;
    EXPECT_NE(message.find("SIGKILL"), std::string::npos) << message;
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

TEST_P(ProcessModelTest, SpawnTasksReachEveryIndex) {
  const auto executor = model_->make(3);
  Array<std::uint32_t> marks(*executor, 500);
  executor->spawn_tasks(500, [marks = marks.data()](std::size_t i) { marks[i] = 7; });
  for (std::size_t i = 0; i < 500; ++i) ASSERT_EQ(marks[i], 7u) << i;
}

INSTANTIATE_TEST_SUITE_P(ProcessModels, ProcessModelTest,
                         testing::Values("processes", "process_pool"));

TEST(ProcessPool, IsBrokenAfterAWorkerDiedAndSaysSo) {
  const int before = count_children();
  {
    const auto executor = find_model("process_pool")->make(2);
    EXPECT_ANY_THROW(executor->parallel_for(8, 1, [](std::size_t lo, std::size_t) {
      if (lo == 0) raise(SIGKILL);
      usleep(2000);
    }));
    try {
      executor->parallel_for(8, 1, [](std::size_t, std::size_t) {});
      FAIL() << "a broken pool ran a job";
    } catch (const std::runtime_error& error) {
      EXPECT_NE(std::string(error.what()).find("broken"), std::string::npos) << error.what();
    }
  }
  EXPECT_EQ(count_children(), before);
}

TEST(ProcessPool, RejectsBodiesThatCannotBeCopiedToWorkers) {
  const auto executor = find_model("process_pool")->make(1);
  std::string not_trivially_copyable = "captured by value, but owns heap memory";
  EXPECT_THROW(executor->parallel_for(4, 1,
                                      [not_trivially_copyable](std::size_t, std::size_t) {
                                        (void)not_trivially_copyable.size();
                                      }),
               std::logic_error);
}

TEST(ProcessPool, InputsPreparedAfterThePoolExistsAreVisibleToWorkers) {
  const auto executor = find_model("process_pool")->make(2);
  Array<std::uint64_t> input(*executor, 4096), output(*executor, 4096);
  for (std::size_t i = 0; i < input.size(); ++i) input[i] = i * i;  // written after the fork
  executor->parallel_for(input.size(), 64,
                         [in = input.data(), out = output.data()](std::size_t lo, std::size_t hi) {
                           for (std::size_t i = lo; i < hi; ++i) out[i] = in[i] + 1;
                         });
  for (std::size_t i = 0; i < input.size(); ++i) ASSERT_EQ(output[i], i * i + 1) << i;
}

}  // namespace
}  // namespace parbench
