// What a test counts before and after to prove nothing was left behind:
// open descriptors, child processes (zombies included), directory entries.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

namespace parbench::testing_support {

inline std::size_t open_descriptors() {
  std::size_t count = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd"))
    ++count;
  return count;
}

/// Processes whose parent is this process (running or zombie).
inline int count_children() {
  int children = 0;
  const std::string self = std::to_string(getpid());
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    std::istringstream fields(line.substr(line.rfind(')') + 2));
    std::string state, parent;
    fields >> state >> parent;
    children += parent == self;
  }
  return children;
}

/// Names in a directory (empty if it does not exist).
inline std::set<std::string> entries(const std::string& directory) {
  std::set<std::string> names;
  if (std::filesystem::exists(directory))
    for (const auto& entry : std::filesystem::directory_iterator(directory))
      names.insert(entry.path().filename());
  return names;
}

}  // namespace parbench::testing_support
