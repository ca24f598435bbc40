#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>

#include "core/model.hpp"
#include "core/workload.hpp"

namespace parbench {
namespace {

// The two registries: the only mutable globals of the suite. Function-local
// statics, so registration from other files' static initialisers is safe.
std::vector<ModelInfo>& model_registry() {
  static std::vector<ModelInfo> registry;
  return registry;
}

std::vector<WorkloadInfo>& workload_registry() {
  static std::vector<WorkloadInfo> registry;
  return registry;
}

bool valid_name(const std::string& name) {
  return !name.empty() && name.find_first_of("/: ,") == std::string::npos;
}

}  // namespace

std::string_view to_string(Category category) {
  switch (category) {
    case Category::cpu:
      return "cpu";
    case Category::memory:
      return "memory";
    case Category::io:
      return "io";
    case Category::mixed:
      return "mixed";
  }
  return "unknown";
}

bool register_model(ModelInfo info) {
  if (!valid_name(info.name) || !info.create || find_model(info.name) != nullptr)
    throw std::logic_error("bad or duplicate model registration: " + info.name);
  auto& registry = model_registry();
  registry.push_back(std::move(info));
  std::stable_sort(registry.begin(), registry.end(), [](const auto& a, const auto& b) {
    return std::tie(a.order, a.name) < std::tie(b.order, b.name);
  });
  return true;
}

const std::vector<ModelInfo>& models() {
  return model_registry();
}

std::string cannot_run(const WorkloadInfo& workload, const ModelInfo& model) {
  return workload.reads_back_files ? model.limit_files : std::string();
}

std::vector<std::string> roles(const WorkloadInfo& workload) {
  std::vector<std::string> roles;
  if (workload.uses_spawn_tasks) roles.emplace_back("metg");
  if (workload.exports_serial_fraction) roles.emplace_back("amdahl_ground_truth");
  if (workload.uses_fork_join) roles.emplace_back("fork_join");
  if (workload.reads_back_files) roles.emplace_back("reads_back_files");
  return roles;
}

int run_worker_if_asked(int argc, char** argv) {
  for (const ModelInfo& model : model_registry())
    if (model.worker_main)
      if (const int status = model.worker_main(argc, argv); status >= 0) return status;
  return -1;
}

const ModelInfo* find_model(std::string_view name) {
  for (const auto& model : model_registry())
    if (model.name == name) return &model;
  return nullptr;
}

std::uint64_t Knob::value() const {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return default_value;
  char* end = nullptr;
  errno = 0;
  const unsigned long long parsed = std::strtoull(text, &end, 10);
  if (errno != 0 || *end != '\0' || text[0] == '-' || parsed < min_value || parsed > max_value)
    throw std::invalid_argument(std::string(name) + "=" + text + ": not an integer in [" +
                                std::to_string(min_value) + ", " + std::to_string(max_value) + "]");
  return parsed;
}

bool register_workload(WorkloadInfo info) {
  if (!valid_name(info.name) || !info.prepare || find_workload(info.name) != nullptr ||
      info.default_sizes.empty() || info.quick_sizes.empty() || info.small_size == 0 ||
      info.min_size > info.max_size)
    throw std::logic_error("bad or duplicate workload registration: " + info.name);
  auto& registry = workload_registry();
  registry.push_back(std::move(info));
  std::stable_sort(registry.begin(), registry.end(), [](const auto& a, const auto& b) {
    return std::tie(a.category, a.name) < std::tie(b.category, b.name);
  });
  return true;
}

const std::vector<WorkloadInfo>& workloads() {
  return workload_registry();
}

const WorkloadInfo* find_workload(std::string_view name) {
  for (const auto& workload : workload_registry())
    if (workload.name == name) return &workload;
  return nullptr;
}

}  // namespace parbench
