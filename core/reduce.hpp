// Deterministic parallel reduction on top of Executor::parallel_for: each
// chunk writes its partial into its own slot of model memory, and the caller
// adds the slots in chunk order. Chunks depend only on (n, grain), so the
// result (floating point included) is identical on every model and p.
#pragma once

#include <cstddef>

#include "core/executor.hpp"

namespace parbench {

/// Sums partial(lo, hi) over the chunks of [0, n). `partials` needs at least
/// chunk_count(n, grain) slots and must come from the executor's allocate.
template <class T, class Partial>
T chunked_sum(Executor& executor, std::size_t n, std::size_t grain, const Array<T>& partials,
              Partial partial) {
  // Captures by value (a pointer into executor memory): runs on process models too.
  executor.parallel_for(n, grain,
                        [slots = partials.data(), grain, partial](std::size_t lo, std::size_t hi) {
                          slots[lo / grain] = partial(lo, hi);
                        });
  T total{};
  for (std::size_t c = 0, chunks = chunk_count(n, grain); c < chunks; ++c) total += partials[c];
  return total;
}

}  // namespace parbench
