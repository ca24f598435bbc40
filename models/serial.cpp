// serial: the baseline every speedup is measured against. Every chunk and
// both halves of every fork_join run on the calling thread, in order.
#include "core/first_exception.hpp"
#include "core/model.hpp"

namespace parbench {
namespace {

class SerialExecutor final : public Executor {
 public:
  std::size_t workers() const noexcept override { return 1; }

  void parallel_for(std::size_t n, std::size_t grain, RangeBody body) override {
    check_grain(grain);
    for (std::size_t c = 0, chunks = chunk_count(n, grain); c < chunks; ++c) {
      const Chunk chunk = chunk_bounds(n, grain, c);
      note_cpu();
      body(chunk.lo, chunk.hi);
    }
  }

  void fork_join(TaskBody a, TaskBody b) override {
    a();
    b();
  }

  void spawn_tasks(std::size_t count, IndexBody task) override {
    for (std::size_t i = 0; i < count; ++i) task(i);
  }
};

const bool registered = register_model({
    .name = "serial",
    .label = "serial",
    .group = "baseline",
    .launch = "in-process",
    .summary = "the baseline: everything on the calling thread",
    .order = 0,
    .parallel = false,
    .no_task_spawn = "the baseline: every task runs inline, in order",
    .create = [](std::size_t, const Placement&) -> std::unique_ptr<Executor> {
      return std::make_unique<SerialExecutor>();
    },
});

}  // namespace
}  // namespace parbench
