// An executor of another project's own, registered as a model beside parbench's
// and run on some of parbench's workloads, each checked by its verifier.
#include <cstdio>
#include <memory>

#include "core/executor.hpp"
#include "core/first_exception.hpp"
#include "core/model.hpp"
#include "core/workload.hpp"

namespace {

// Runs the chunks last to first and fork_join's halves in reverse: a kernel
// that relied on the serial order would fail its verifier here.
class ReverseExecutor final : public parbench::Executor {
 public:
  std::size_t workers() const noexcept override { return 1; }
  void parallel_for(std::size_t n, std::size_t grain, parbench::RangeBody body) override {
    parbench::check_grain(grain);
    for (std::size_t c = parbench::chunk_count(n, grain); c-- > 0;) {
      const parbench::Chunk chunk = parbench::chunk_bounds(n, grain, c);
      body(chunk.lo, chunk.hi);
    }
  }
  void fork_join(parbench::TaskBody a, parbench::TaskBody b) override {
    b();
    a();
  }
};

const bool registered = parbench::register_model({
    .name = "reverse",
    .label = "reverse order",
    .group = "baseline",
    .launch = "in-process",
    .summary = "the consumer's own executor: chunks last to first",
    .order = 200,
    .parallel = false,
    .no_task_spawn = "every task runs inline",
    .create = [](std::size_t, const parbench::Placement&) -> std::unique_ptr<parbench::Executor> {
      return std::make_unique<ReverseExecutor>();
    },
});

}  // namespace

int main(int argc, char** argv) {
  if (const int status = parbench::run_worker_if_asked(argc, argv); status >= 0) return status;
  // parbench's own models came along with the library (their registration was kept).
  if (!registered || parbench::find_model("serial") == nullptr) {
    std::fprintf(stderr, "consumer: parbench's models are not registered\n");
    return 1;
  }
  const auto executor = parbench::find_model("reverse")->make(1);
  int failures = 0;
  for (const char* name : {"primes", "fib", "merge_sort", "amdahl_s05"}) {
    const parbench::WorkloadInfo* workload = parbench::find_workload(name);
    if (workload == nullptr) {
      std::fprintf(stderr, "consumer: no workload %s\n", name);
      return 1;
    }
    const auto instance = executor->prepare(*workload, workload->small_size);
    instance->run(*executor);
    const parbench::Verdict verdict = instance->verify();
    std::printf("%-12s %s %s\n", name, verdict.ok ? "ok" : "FAIL", verdict.message.c_str());
    failures += !verdict.ok;
  }
  return failures == 0 ? 0 : 1;
}
