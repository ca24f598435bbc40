// merge_sort: sort n random 64-bit keys (out of place: the input stays).
// Pattern: recursive fork_join: halves are sorted in parallel down to 16 Ki
// keys (std::sort at the leaves), and each merge is itself split in parallel
// (split the larger run at its middle, binary-search the other). Arrays
// alternate between output and buffer by recursion depth, so nothing is
// copied twice. Cost: O(n log n), memory-heavy merges.
// Verified: output sorted, and its multiset hash equals the input's (computed
// at set-up, before any kernel ran).
// Sizes: default n = 3,000,000 keys; quick 400,000; selfcheck 50,000.
#include <algorithm>
#include <cstdint>

#include "core/random.hpp"
#include "core/workload.hpp"

namespace parbench {
namespace {

using Key = std::uint64_t;
constexpr std::size_t kSortCutoff = 1 << 14;
constexpr std::size_t kMergeCutoff = 1 << 14;

// Merges sorted [a, a_end) and [b, b_end) into out.
void parallel_merge(Executor& executor, const Key* a, const Key* a_end, const Key* b,
                    const Key* b_end, Key* out) {
  const std::size_t a_size = a_end - a, b_size = b_end - b;
  if (a_size + b_size <= kMergeCutoff) {
    std::merge(a, a_end, b, b_end, out);
    return;
  }
  if (a_size < b_size) {
    parallel_merge(executor, b, b_end, a, a_end, out);
    return;
  }
  const Key* a_mid = a + a_size / 2;
  const Key* b_mid = std::lower_bound(b, b_end, *a_mid);
  Key* out_mid = out + (a_mid - a) + (b_mid - b);
  executor.fork_join([&] { parallel_merge(executor, a, a_mid, b, b_mid, out); },
                     [&] { parallel_merge(executor, a_mid, a_end, b_mid, b_end, out_mid); });
}

// Sorts input[lo, hi) into target[lo, hi), using other[lo, hi) as scratch.
void sort_into(Executor& executor, const Key* input, Key* target, Key* other, std::size_t lo,
               std::size_t hi) {
  if (hi - lo <= kSortCutoff) {
    std::copy(input + lo, input + hi, target + lo);
    std::sort(target + lo, target + hi);
    return;
  }
  const std::size_t mid = lo + (hi - lo) / 2;
  executor.fork_join([&] { sort_into(executor, input, other, target, lo, mid); },
                     [&] { sort_into(executor, input, other, target, mid, hi); });
  parallel_merge(executor, other + lo, other + mid, other + mid, other + hi, target + lo);
}

class MergeSort final : public Instance {
 public:
  MergeSort(Executor& executor, std::size_t n)
      : n_(n), input_(executor, n), output_(executor, n), buffer_(executor, n) {
    for (std::size_t i = 0; i < n; ++i) {
      input_[i] = random_u64(21, i);
      input_hash_.add(input_[i]);
    }
  }

  void run(Executor& executor) override {
    sort_into(executor, input_.data(), output_.data(), buffer_.data(), 0, n_);
  }
  Verdict verify() const override {
    MultisetHash hash;
    for (std::size_t i = 0; i < n_; ++i) {
      if (i > 0 && output_[i - 1] > output_[i]) return Verdict::fail("not sorted at index ", i);
      hash.add(output_[i]);
    }
    if (!(hash == input_hash_)) return Verdict::fail("output is not a permutation of the input");
    return Verdict::pass();
  }
  void corrupt() override { output_[n_ / 2] = output_[n_ / 2 + 1]; }
  WorkPerRun work() const override { return {static_cast<double>(n_), 0}; }

 private:
  std::size_t n_;
  Array<Key> input_, output_, buffer_;
  MultisetHash input_hash_;
};

const bool registered = register_workload({
    .name = "merge_sort",
    .category = Category::cpu,
    .summary = "recursive fork_join merge sort of n 64-bit keys, parallel merges",
    .size_meaning = "number of keys n",
    .default_sizes = {3'000'000},
    .quick_sizes = {400'000},
    .small_size = 50'000,
    .min_size = 2,
    .max_size = 1ULL << 32,
    .uses_fork_join = true,
    .prepare = [](Executor& executor, std::size_t n) -> std::unique_ptr<Instance> {
      return std::make_unique<MergeSort>(executor, n);
    },
});

}  // namespace
}  // namespace parbench
