// Where a model's workers run: an affinity policy turned into an ordered list
// of CPUs (worker i on the i-th, modulo their number), and a record of the
// CPUs the workers were really seen on. Each model binds its workers the way
// its users do (see docs/affinity.md); this only says which CPU is whose.
#pragma once

#include <sched.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace parbench {

enum class Affinity { none, compact, spread };

/// The policies' names, in the order list and the docs give them.
inline constexpr std::string_view kAffinityPolicies[] = {"none", "compact", "spread"};
std::string_view affinity_name(Affinity policy) noexcept;
std::optional<Affinity> parse_affinity(std::string_view name) noexcept;

/// One CPU as sysfs describes it: what the policies order by.
struct CpuPlace {
  int cpu = 0;
  int socket = 0;
  int node = 0;
  int core = 0;     ///< core_id within its socket
  int sibling = 0;  ///< its rank among its core's hardware threads (0: the first)
};

/// The CPUs of `cpus` in a policy's order: compact takes one socket's cores
/// first, then the next socket's, SMT siblings last; spread deals the cores
/// out round-robin over the (socket, NUMA node) groups, one thread per core
/// first. none keeps them as given.
std::vector<int> order_cpus(std::vector<CpuPlace> cpus, Affinity policy);

/// Where a process started again with OMP_PLACES finds the CPUs it had
/// before libgomp bound its first thread: "0,1,5".
inline constexpr const char* kAllowedCpusVariable = "PARBENCH_ALLOWED_CPUS";
/// This process's CPUs in that form.
std::string allowed_cpus_text();

/// The CPUs this process may run on, described from sysfs (root: "/sys").
std::vector<CpuPlace> allowed_cpu_places(const std::string& root = "/sys");

class Placement {
 public:
  Placement() = default;  ///< none: the OS places every worker
  Placement(Affinity policy, std::vector<int> cpus) : policy_(policy), cpus_(std::move(cpus)) {}
  /// The policy over this process's allowed CPUs (none: an empty placement).
  static Placement of(Affinity policy);

  Affinity policy() const noexcept { return policy_; }
  bool binds() const noexcept { return policy_ != Affinity::none && !cpus_.empty(); }
  const std::vector<int>& cpus() const noexcept { return cpus_; }
  /// The CPU of worker i (-1: unbound).
  int cpu_of(std::size_t worker) const noexcept;
  /// Binds the calling thread (or, right after fork, process) to worker's
  /// CPU; nothing when unbound. False if the OS refused: the run's cpus_used
  /// then shows the policy was not honoured (a worker must not die of it).
  bool bind_current_thread(std::size_t worker) const noexcept;
  /// OMP_PLACES for `workers` threads: "{c0},{c1},..." in the policy's order.
  std::string omp_places(std::size_t workers) const;

 private:
  Affinity policy_ = Affinity::none;
  std::vector<int> cpus_;
};

/// Binds the calling thread as worker `worker` while it lives and gives it
/// its previous CPUs back after: for a caller that works beside its pool's
/// threads (the own pool, oneTBB's arena, the coroutine loops).
class ThreadBinding {
 public:
  ThreadBinding(const Placement& placement, std::size_t worker) noexcept;
  ~ThreadBinding();
  ThreadBinding(const ThreadBinding&) = delete;
  ThreadBinding& operator=(const ThreadBinding&) = delete;

 private:
  bool bound_ = false;
  cpu_set_t previous_{};
};

/// The distinct CPUs workers were seen on (sched_getcpu), in memory that
/// every worker of the executor can write (shared with forked workers). A
/// worker notes its CPU at the start of each chunk it takes: a relaxed load
/// first, so that a CPU already seen costs no write to a shared line.
class CpuTrace {
 public:
  static constexpr std::size_t kMaxCpus = 1024;
  void note() noexcept;
  void clear() noexcept;
  std::size_t count() const noexcept;

 private:
  std::atomic<std::uint64_t> seen_[kMaxCpus / 64] = {};
};

}  // namespace parbench
