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

/// The entries of a shared namespace (/dev/shm, /dev/mqueue) that this suite
/// names: every object it names starts with "parbench". Other programs on the
/// machine create and remove their own entries at any time, so a leak check
/// looks at ours only.
inline std::set<std::string> suite_entries(const std::string& directory) {
  std::set<std::string> ours;
  for (const auto& name : entries(directory))
    if (name.starts_with("parbench")) ours.insert(name);
  return ours;
}

/// Suite entries in directory that were not in before and are still there a
/// moment later. Tests in other processes (ctest runs several at once, and the
/// sweep tests run the ipc benchmarks) name an object for the microseconds
/// between creating and unlinking it; a leaked one stays.
inline std::set<std::string> suite_entries_left(const std::string& directory,
                                                const std::set<std::string>& before) {
  std::set<std::string> left;
  for (int look = 0; look < 5; ++look) {
    if (look > 0) usleep(20'000);
    left.clear();
    for (const auto& name : suite_entries(directory))
      if (!before.contains(name)) left.insert(name);
    if (left.empty()) break;
  }
  return left;
}

}  // namespace parbench::testing_support
