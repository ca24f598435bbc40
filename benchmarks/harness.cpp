#include "benchmarks/harness.hpp"
#include "benchmarks/team.hpp"

#include <sched.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

namespace parbench {

std::size_t hardware_threads() {
  if (const char* planned = std::getenv("PARBENCH_CPUS"); planned != nullptr && *planned != '\0') {
    char* end = nullptr;
    const unsigned long long count = std::strtoull(planned, &end, 10);
    if (*end != '\0' || count == 0 || count > kMaxWorkers)
      throw std::invalid_argument("PARBENCH_CPUS='" + std::string(planned) +
                                  "' is not a CPU count (1.." + std::to_string(kMaxWorkers) + ")");
    return static_cast<std::size_t>(count);
  }
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (::sched_getaffinity(0, sizeof allowed, &allowed) == 0)
    return std::max<std::size_t>(1, static_cast<std::size_t>(CPU_COUNT(&allowed)));
  return std::max<std::size_t>(1, std::thread::hardware_concurrency());
}

std::string omp_wait_policy() {
  const char* value = std::getenv("OMP_WAIT_POLICY");
  std::string policy = value != nullptr ? value : "";
  for (char& ch : policy) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  // libgomp ignores any other value and keeps its default.
  return policy == "active" || policy == "passive" ? policy : "default";
}

std::vector<std::size_t> default_worker_counts() {
  const std::size_t cores = hardware_threads();
  std::vector<std::size_t> counts;
  for (std::size_t p = 1; p <= cores; p *= 2) counts.push_back(p);
  counts.push_back(cores);
  counts.push_back(2 * cores);
  std::sort(counts.begin(), counts.end());
  counts.erase(std::unique(counts.begin(), counts.end()), counts.end());
  return counts;
}

std::vector<std::size_t> primitive_thread_counts() {
  std::vector<std::size_t> counts;
  for (std::size_t t = 1; t <= 2 * hardware_threads(); t *= 2) counts.push_back(t);
  counts.push_back(hardware_threads());
  counts.push_back(2 * hardware_threads());
  std::sort(counts.begin(), counts.end());
  counts.erase(std::unique(counts.begin(), counts.end()), counts.end());
  return counts;
}

namespace {

std::vector<std::size_t> scaled(const WorkloadInfo& workload, std::vector<std::size_t> sizes,
                                double scale) {
  if (scale == 1.0) return sizes;
  for (std::size_t& n : sizes)
    n = std::clamp(static_cast<std::size_t>(std::llround(static_cast<double>(n) * scale)),
                   workload.min_size, workload.max_size);
  sizes.erase(std::unique(sizes.begin(), sizes.end()), sizes.end());
  return sizes;
}

}  // namespace

std::vector<std::size_t> Selection::sizes_for(const WorkloadInfo& workload) const {
  switch (size_set) {
    case SizeSet::standard:
      return scaled(workload, workload.default_sizes, size_scale);
    case SizeSet::quick:
      return scaled(workload, workload.quick_sizes, size_scale);
    case SizeSet::small:
      return {workload.small_size};
    case SizeSet::given:
      return sizes;
  }
  return {};
}

bool Selection::wants_primitive(std::string_view name) const {
  for (const std::string& prefix : primitives)
    if (name == prefix || (name.starts_with(prefix) && name[prefix.size()] == '/')) return true;
  return false;
}

std::vector<std::size_t> Selection::workers_for(const ModelInfo& model) const {
  if (!model.parallel) return {1};
  return workers;
}

std::vector<std::size_t> Selection::workers_for(const WorkloadInfo& workload,
                                                const ModelInfo& model) const {
  if (!model.parallel) return {1};
  if (workload.concurrency_levels.empty()) return workers;
  std::vector<std::size_t> levels;
  const std::vector<std::size_t>& wanted = !concurrency.empty() ? concurrency
                                           : workers_given      ? workers
                                                                : workload.concurrency_levels;
  for (const std::size_t p : wanted)
    if (model.max_concurrency == 0 || p <= model.max_concurrency) levels.push_back(p);
  return levels;
}

std::size_t requests_at(const WorkloadInfo& workload, std::size_t size, std::size_t p) {
  if (workload.concurrency_levels.empty()) return size;
  std::size_t n = 0;
  // Overflowed: larger than any workload's max_size, so the point is not registered.
  if (__builtin_mul_overflow(size, p, &n)) return SIZE_MAX;
  return n;
}

std::size_t weak_size(const WorkloadInfo& workload, std::size_t n, std::size_t p) {
  if (workload.work_exponent <= 0) return 0;
  const double scaled =
      static_cast<double>(n) * std::pow(static_cast<double>(p), 1.0 / workload.work_exponent);
  return static_cast<std::size_t>(std::llround(scaled));
}

namespace {
struct Family {
  const char* prefix;
  FamilyRegistrar add;
  const char* summary;
};

std::vector<Family>& family_registry() {
  static std::vector<Family> registry;
  return registry;
}
}  // namespace

bool register_family(const char* prefix, FamilyRegistrar add, const char* summary) {
  family_registry().push_back({prefix, add, summary});
  return true;
}

void add_all_families(const Selection& selection) {
  auto families = family_registry();
  // Workloads first, then the primitive families in name order.
  std::stable_sort(families.begin(), families.end(), [](const Family& a, const Family& b) {
    const bool a_first = std::string(a.prefix) == "workloads";
    const bool b_first = std::string(b.prefix) == "workloads";
    return a_first != b_first ? a_first : std::string(a.prefix) < std::string(b.prefix);
  });
  for (const Family& family : families) family.add(selection);
}

std::vector<FamilyInfo> primitive_families() {
  std::vector<FamilyInfo> families;
  for (const Family& family : family_registry())
    if (std::string(family.prefix) != "workloads")
      families.push_back({family.prefix, family.summary});
  std::sort(families.begin(), families.end(),
            [](const FamilyInfo& a, const FamilyInfo& b) { return a.prefix < b.prefix; });
  return families;
}

std::vector<std::string> primitive_family_names() {
  std::vector<std::string> names;
  for (const FamilyInfo& family : primitive_families()) names.push_back(family.prefix);
  return names;
}

}  // namespace parbench
