#include "core/placement.hpp"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <tuple>

namespace parbench {

std::string_view affinity_name(Affinity policy) noexcept {
  return kAffinityPolicies[static_cast<int>(policy)];
}

std::optional<Affinity> parse_affinity(std::string_view name) noexcept {
  for (int i = 0; i < 3; ++i)
    if (kAffinityPolicies[i] == name) return static_cast<Affinity>(i);
  return std::nullopt;
}

std::vector<int> order_cpus(std::vector<CpuPlace> cpus, Affinity policy) {
  if (policy == Affinity::compact) {
    std::sort(cpus.begin(), cpus.end(), [](const CpuPlace& a, const CpuPlace& b) {
      return std::tie(a.sibling, a.socket, a.node, a.core, a.cpu) <
             std::tie(b.sibling, b.socket, b.node, b.core, b.cpu);
    });
  } else if (policy == Affinity::spread) {
    // Each CPU's rank within its (sibling level, socket, node) group: the deal goes
    // rank 0 of every group, then rank 1 of every group, and so on.
    std::sort(cpus.begin(), cpus.end(), [](const CpuPlace& a, const CpuPlace& b) {
      return std::tie(a.sibling, a.socket, a.node, a.core, a.cpu) <
             std::tie(b.sibling, b.socket, b.node, b.core, b.cpu);
    });
    std::map<std::tuple<int, int, int>, int> next_rank;
    std::vector<std::tuple<int, int, int, int, int>> keyed;  // sibling, rank, socket, node, cpu
    for (const CpuPlace& place : cpus) {
      const int rank = next_rank[{place.sibling, place.socket, place.node}]++;
      keyed.emplace_back(place.sibling, rank, place.socket, place.node, place.cpu);
    }
    std::sort(keyed.begin(), keyed.end());
    std::vector<int> order;
    for (const auto& key : keyed) order.push_back(std::get<4>(key));
    return order;
  }
  std::vector<int> order;
  for (const CpuPlace& place : cpus) order.push_back(place.cpu);
  return order;
}

namespace {

int read_number(const std::filesystem::path& path, int fallback) {
  std::ifstream file(path);
  int value = fallback;
  return (file >> value) ? value : fallback;
}

/// "0-3,8,10-11" -> {0, 1, 2, 3, 8, 10, 11}; anything unreadable gives what was read so far.
std::vector<int> read_cpu_list(const std::filesystem::path& path) {
  std::ifstream file(path);
  std::string text;
  std::getline(file, text);
  std::vector<int> cpus;
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t used = 0;
    int first = 0;
    try {
      first = std::stoi(text.substr(at), &used);
    } catch (const std::exception&) {
      break;
    }
    at += used;
    int last = first;
    if (at < text.size() && text[at] == '-') {
      try {
        last = std::stoi(text.substr(at + 1), &used);
      } catch (const std::exception&) {
        break;
      }
      at += used + 1;
    }
    for (int cpu = first; cpu <= last; ++cpu) cpus.push_back(cpu);
    if (at < text.size() && text[at] == ',')
      ++at;
    else
      break;
  }
  return cpus;
}

}  // namespace

std::vector<CpuPlace> allowed_cpu_places(const std::string& root) {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  // Started again with OMP_PLACES set, libgomp has bound this thread to the first place by now:
  // the CPUs the process had before are in the environment.
  if (const char* before = std::getenv(kAllowedCpusVariable);
      before != nullptr && *before != '\0') {
    std::istringstream list(before);
    for (std::string cpu; std::getline(list, cpu, ',');)
      if (!cpu.empty() && std::atoi(cpu.c_str()) >= 0 && std::atoi(cpu.c_str()) < CPU_SETSIZE)
        CPU_SET(std::atoi(cpu.c_str()), &allowed);
  } else if (::sched_getaffinity(0, sizeof allowed, &allowed) != 0) {
    return {};
  }
  const std::filesystem::path base = std::filesystem::path(root) / "devices/system/cpu";
  std::map<int, int> node_of;
  std::error_code ignored;
  for (const auto& entry : std::filesystem::directory_iterator(
           std::filesystem::path(root) / "devices/system/node", ignored)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("node", 0) != 0 || name.size() == 4) continue;
    const int node = std::atoi(name.c_str() + 4);
    for (int cpu : read_cpu_list(entry.path() / "cpulist")) node_of[cpu] = node;
  }
  std::vector<CpuPlace> places;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &allowed)) continue;
    const std::filesystem::path topology = base / ("cpu" + std::to_string(cpu)) / "topology";
    CpuPlace place{.cpu = cpu,
                   .socket = read_number(topology / "physical_package_id", 0),
                   .node = node_of.count(cpu) ? node_of[cpu] : 0,
                   .core = read_number(topology / "core_id", cpu)};
    const std::vector<int> siblings = read_cpu_list(topology / "thread_siblings_list");
    place.sibling = static_cast<int>(
        std::count_if(siblings.begin(), siblings.end(), [cpu](int other) { return other < cpu; }));
    places.push_back(place);
  }
  return places;
}

Placement Placement::of(Affinity policy) {
  if (policy == Affinity::none) return {};
  return Placement(policy, order_cpus(allowed_cpu_places(), policy));
}

int Placement::cpu_of(std::size_t worker) const noexcept {
  return binds() ? cpus_[worker % cpus_.size()] : -1;
}

bool Placement::bind_current_thread(std::size_t worker) const noexcept {
  const int cpu = cpu_of(worker);
  if (cpu < 0) return true;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  return ::pthread_setaffinity_np(::pthread_self(), sizeof one, &one) == 0;
}

ThreadBinding::ThreadBinding(const Placement& placement, std::size_t worker) noexcept {
  if (!placement.binds()) return;
  CPU_ZERO(&previous_);
  bound_ = ::pthread_getaffinity_np(::pthread_self(), sizeof previous_, &previous_) == 0 &&
           placement.bind_current_thread(worker);
}

ThreadBinding::~ThreadBinding() {
  if (bound_) ::pthread_setaffinity_np(::pthread_self(), sizeof previous_, &previous_);
}

std::string allowed_cpus_text() {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  std::string text;
  if (::sched_getaffinity(0, sizeof allowed, &allowed) != 0) return text;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
    if (CPU_ISSET(cpu, &allowed)) text += (text.empty() ? "" : ",") + std::to_string(cpu);
  return text;
}

std::string Placement::omp_places(std::size_t workers) const {
  std::string places;
  for (std::size_t i = 0; i < std::min(workers, cpus_.size()); ++i)
    places += (i ? ",{" : "{") + std::to_string(cpus_[i]) + "}";
  return places;
}

void CpuTrace::note() noexcept {
  const int cpu = ::sched_getcpu();
  if (cpu < 0 || static_cast<std::size_t>(cpu) >= kMaxCpus) return;
  std::atomic<std::uint64_t>& word = seen_[cpu / 64];
  const std::uint64_t bit = std::uint64_t{1} << (cpu % 64);
  if ((word.load(std::memory_order_relaxed) & bit) == 0)
    word.fetch_or(bit, std::memory_order_relaxed);
}

void CpuTrace::clear() noexcept {
  for (auto& word : seen_) word.store(0, std::memory_order_relaxed);
}

std::size_t CpuTrace::count() const noexcept {
  std::size_t total = 0;
  for (const auto& word : seen_) total += std::popcount(word.load(std::memory_order_relaxed));
  return total;
}

}  // namespace parbench
