// Where a workload family's pages go on a machine of several NUMA nodes:
// first_touch (Linux's default: a page lands on the node of the worker that
// first writes it; the memory-bound workloads initialise their arrays through
// the executor, so each worker touches its own chunks) or interleave (pages
// dealt round-robin over the nodes the process may use, as
// `numactl --interleave=all` does). See docs/affinity.md.
#pragma once
#include <cstddef>
#include <optional>
#include <string_view>

namespace parbench {

enum class MemoryPolicy { first_touch, interleave };

/// The policies' names, as --numa= takes them and the docs give them.
inline constexpr std::string_view kMemoryPolicies[] = {"first_touch", "interleave"};
std::string_view memory_policy_name(MemoryPolicy policy) noexcept;
std::optional<MemoryPolicy> parse_memory_policy(std::string_view name) noexcept;

/// Sets the policy for this thread and every thread and process it starts
/// after (call it before any worker exists); returns the number of nodes the
/// pages are interleaved over (0 for first_touch). Throws std::runtime_error
/// when interleaving is impossible here (no libnuma in the build, no NUMA
/// support in the kernel, the call refused).
std::size_t apply_memory_policy(MemoryPolicy policy);

}  // namespace parbench
