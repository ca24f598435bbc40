// The I/O workloads leave nothing behind on any model - no descriptors, no
// temporary files, no server process - whether they succeed or fail, and
// their failures are clear errors. ctest runs this suite twice: on the
// default event loop and with PARBENCH_IO_BACKEND=epoll.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/model.hpp"
#include "core/workload.hpp"
#include "coro/io_loop.hpp"
#include "tests/resource_counts.hpp"

namespace parbench {
namespace {

using testing_support::count_children;
using testing_support::entries;
using testing_support::open_descriptors;

std::vector<const WorkloadInfo*> io_workloads() {
  std::vector<const WorkloadInfo*> list;
  for (const auto& workload : workloads())
    if (workload.category == Category::io) list.push_back(&workload);
  return list;
}

/// A private PARBENCH_IO_DIR for one test (tests may run in parallel): the
/// workloads' temporary directories appear in it and must be gone afterwards.
class PrivateIoDir {
 public:
  PrivateIoDir() {
    std::string pattern = testing::TempDir() + "parbench-test-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp");
    path_ = pattern;
    setenv("PARBENCH_IO_DIR", path_.c_str(), 1);
  }
  ~PrivateIoDir() {
    unsetenv("PARBENCH_IO_DIR");
    ::rmdir(path_.c_str());  // fails (and the test has already failed) if not empty
  }
  std::set<std::string> contents() const { return entries(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class IoWorkloadTest : public testing::TestWithParam<const WorkloadInfo*> {};

TEST_P(IoWorkloadTest, LeavesNoDescriptorsFilesOrProcessesOnAnyModel) {
  const WorkloadInfo& workload = *GetParam();
  for (const auto& model : models()) {
    if (!cannot_run(workload, model).empty()) continue;  // stated by the model (list, report)
    // The mpi model keeps MPI (and Open MPI's daemon, a child) and its teams
    // of ranks for the life of the process: counted once they exist.
    const std::size_t ranks = 4;
    if (model.worker_main) model.make(ranks);
    const std::size_t fds = open_descriptors();
    const int children = count_children();
    const PrivateIoDir io_dir;
    for (std::size_t p : {1, 16}) {
      if (!model.parallel && p != 1) continue;
      const auto executor = model.make(model.worker_main ? std::min(p, ranks) : p);
      const auto instance = executor->prepare(workload, workload.small_size * p);
      instance->run(*executor);
      const Verdict verdict = instance->verify();
      EXPECT_TRUE(verdict.ok) << model.name << " p=" << p << ": " << verdict.message;
    }
    EXPECT_EQ(open_descriptors(), fds) << model.name << ": descriptors left open";
    EXPECT_EQ(count_children(), children) << model.name << ": processes left behind";
    EXPECT_TRUE(io_dir.contents().empty()) << model.name << ": temporary directories left behind";
  }
}

TEST_P(IoWorkloadTest, BadKnobsAreClearErrors) {
  // Each setting the workload declares (the binary checks them before anything runs) is
  // also refused by its setup, naming the variable and the value.
  const WorkloadInfo& workload = *GetParam();
  const auto executor = find_model("serial")->make(1);
  for (const Knob& knob : workload.knobs) {
    setenv(knob.name, "12abc", 1);
    EXPECT_THROW((void)knob.value(), std::invalid_argument) << knob.name;
    try {
      executor->prepare(workload, 1);
      ADD_FAILURE() << workload.name << ": " << knob.name << "=12abc was accepted";
    } catch (const std::invalid_argument& error) {
      EXPECT_NE(std::string(error.what()).find(std::string(knob.name) + "=12abc"),
                std::string::npos)
          << error.what();
    }
    unsetenv(knob.name);
    EXPECT_EQ(knob.value(), knob.default_value) << knob.name;
  }
}

INSTANTIATE_TEST_SUITE_P(IoWorkloads, IoWorkloadTest, testing::ValuesIn(io_workloads()),
                         [](const auto& info) { return info.param->name; });

TEST(IoWorkloadErrors, MissingDirectoryIsNamed) {
  setenv("PARBENCH_IO_DIR", "/nonexistent-parbench-dir", 1);
  const auto executor = find_model("serial")->make(1);
  for (const char* name : {"file_read", "file_write", "pipeline"}) {
    try {
      executor->prepare(*find_workload(name), 1);
      ADD_FAILURE() << name << " accepted a missing directory";
    } catch (const std::runtime_error& error) {
      const std::string message = error.what();
      EXPECT_NE(message.find("/nonexistent-parbench-dir"), std::string::npos) << message;
      EXPECT_NE(message.find("No such file or directory"), std::string::npos) << message;
    }
  }
  unsetenv("PARBENCH_IO_DIR");
}

TEST(IoWorkloadErrors, ARequestThatFailsMidRunLeavesNothingOpen) {
  // file_read with its files deleted under it: every model must report the
  // open error and close whatever the other in-flight requests had opened.
  for (const auto& model : models()) {
    const std::size_t workers = !model.parallel ? 1 : model.worker_main ? 4 : 8;
    if (model.worker_main) model.make(workers);  // MPI and its team live on (see above)
    const std::size_t fds = open_descriptors();
    const PrivateIoDir io_dir;
    {
      const auto executor = model.make(workers);
      const WorkloadInfo& workload = *find_workload("file_read");
      const auto instance = executor->prepare(workload, 32);
      for (const std::string& dir : io_dir.contents())
        ::unlink((io_dir.path() + "/" + dir + "/in_17").c_str());
      try {
        instance->run(*executor);
        ADD_FAILURE() << model.name << ": a missing file went unnoticed";
      } catch (const std::exception& error) {
        EXPECT_NE(std::string(error.what()).find("No such file or directory"), std::string::npos)
            << model.name << ": " << error.what();
      }
    }
    EXPECT_EQ(open_descriptors(), fds) << model.name << ": descriptors left open";
    EXPECT_TRUE(io_dir.contents().empty()) << model.name << ": temporary directory left behind";
  }
}

TEST(IoBackend, IsReportedAndCanBeForced) {
  const std::string backend(coro::to_string(coro::default_backend()));
  const char* forced = std::getenv("PARBENCH_IO_BACKEND");
  if (forced != nullptr && std::string(forced) == "epoll") {
    EXPECT_EQ(backend, "epoll");
    EXPECT_NE(coro::backend_reason().find("forced"), std::string::npos);
  } else {
    EXPECT_TRUE(backend == "io_uring" || backend == "epoll");
  }
}

}  // namespace
}  // namespace parbench
