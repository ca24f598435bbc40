#include "core/executor.hpp"
#include "core/workload.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <new>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14; older kernels reject it (see prefault_pages)
#endif

namespace parbench {

void prefault_pages(void* data, std::size_t bytes) noexcept {
  if (bytes == 0) return;
  if (madvise(data, bytes, MADV_POPULATE_WRITE) == 0) return;
  // Kernels before 5.14: write a zero into each page (the pages are new and zero).
  const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  for (std::size_t at = 0; at < bytes; at += page) reinterpret_cast<volatile char*>(data)[at] = 0;
}

Memory allocate_pages(std::size_t bytes, bool shared) {
  if (bytes == 0) return {};
  const int flags = MAP_ANONYMOUS | (shared ? MAP_SHARED : MAP_PRIVATE);
  void* data = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, flags, -1, 0);
  if (data == MAP_FAILED) throw std::bad_alloc();
  prefault_pages(data, bytes);
  return Memory(data, bytes, [](void*, void* p, std::size_t n) noexcept { munmap(p, n); });
}

Memory allocate_heap(std::size_t bytes) {
  return allocate_pages(bytes, false);
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

std::unique_ptr<Instance> Executor::prepare(const WorkloadInfo& workload, std::size_t n) {
  return workload.prepare(*this, n);
}

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
