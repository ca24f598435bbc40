#include "core/executor.hpp"

#include <cstdlib>
#include <cstring>
#include <new>

namespace parbench {

Memory allocate_heap(std::size_t bytes) {
  if (bytes == 0) return {};
  constexpr std::size_t alignment = 64;
  const std::size_t rounded = (bytes + alignment - 1) / alignment * alignment;
  void* data = std::aligned_alloc(alignment, rounded);
  if (data == nullptr) throw std::bad_alloc();
  std::memset(data, 0, rounded);
  return Memory(data, rounded, [](void*, void* p, std::size_t) noexcept { std::free(p); });
}

namespace {
void spawn_range(Executor& executor, std::size_t lo, std::size_t hi, IndexBody task) {
  if (hi - lo == 1) {
    task(lo);
    return;
  }
  const std::size_t mid = lo + (hi - lo) / 2;
  executor.fork_join([&] { spawn_range(executor, lo, mid, task); },
                     [&] { spawn_range(executor, mid, hi, task); });
}
}  // namespace

void Executor::spawn_tasks(std::size_t count, IndexBody task) {
  if (count > 0) spawn_range(*this, 0, count, task);
}

}  // namespace parbench

#include <stdexcept>

#include "core/first_exception.hpp"

namespace parbench {
void check_grain(std::size_t grain) {
  if (grain == 0) throw std::invalid_argument("parallel_for: grain must be at least 1");
}
}  // namespace parbench
