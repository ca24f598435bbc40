#include "benchmarks/memory_policy.hpp"

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

#ifdef PARBENCH_HAVE_LIBNUMA
#include <numa.h>
#endif

namespace parbench {

std::string_view memory_policy_name(MemoryPolicy policy) noexcept {
  return kMemoryPolicies[static_cast<std::size_t>(policy)];
}

std::optional<MemoryPolicy> parse_memory_policy(std::string_view name) noexcept {
  for (std::size_t i = 0; i < std::size(kMemoryPolicies); ++i)
    if (kMemoryPolicies[i] == name) return static_cast<MemoryPolicy>(i);
  return std::nullopt;
}

std::size_t apply_memory_policy(MemoryPolicy policy) {
  if (policy == MemoryPolicy::first_touch) return 0;
#ifdef PARBENCH_HAVE_LIBNUMA
  if (numa_available() < 0)
    throw std::runtime_error("--numa=interleave: this kernel has no NUMA support (numa_available)");
  struct bitmask* nodes = numa_get_mems_allowed();
  const std::size_t count = numa_bitmask_weight(nodes);
  errno = 0;
  numa_set_interleave_mask(nodes);  // reports a refusal on stderr and in errno, returns nothing
  const int error = errno;
  numa_bitmask_free(nodes);
  if (error != 0)
    throw std::runtime_error(std::string("--numa=interleave: set_mempolicy refused: ") +
                             std::strerror(error));
  return count;
#else
  throw std::runtime_error(
      "--numa=interleave: this build has no libnuma (apt install libnuma-dev, then build again)");
#endif
}

}  // namespace parbench
