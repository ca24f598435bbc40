"""./parbench compare A B: per-benchmark change between two result directories.

In the spirit of Google Benchmark's compare.py: the change of the median wall
time, a two-sided Mann-Whitney U test over the repetitions, and a geometric-
mean summary. --fail-on-regression PCT exits 1 when a significant slowdown
exceeds PCT percent.
"""
from __future__ import annotations

from pathlib import Path

from . import UserError, stats
from .analyze import result_files
from .gbench import load_results


def compare(a: Path, b: Path, alpha: float = 0.05, fail_on_regression: float | None = None) -> int:
    before = load_results(result_files(a))
    after = load_results(result_files(b))
    common = sorted(k for k in set(before.runs) & set(after.runs)
                    if before.runs[k].real_times and after.runs[k].real_times)
    if not common:
        raise UserError(f"{a} and {b} have no benchmark in common")
    rows, ratios = [], []
    for key in common:
        x, y = before.runs[key].real_times, after.runs[key].real_times
        ratio = stats.median(y) / stats.median(x)
        p_value = stats.mann_whitney(x, y)
        ratios.append(ratio)
        rows.append((key.replace("/process_time/real_time", "").replace("|weak", " (weak)"),
                     stats.median(x), stats.median(y), ratio - 1, p_value, p_value < alpha))
    width = max(len(r[0]) for r in rows)
    print(f"{'Benchmark':<{width}}  {'A (ms)':>10}  {'B (ms)':>10}  {'change':>8}  {'p-value':>8}  significant")
    for name, ta, tb, change, p_value, significant in rows:
        print(f"{name:<{width}}  {1000 * ta:>10.4g}  {1000 * tb:>10.4g}  {100 * change:>+7.1f}%  "
              f"{p_value:>8.3g}  {'yes' if significant else 'no'}")
    geomean = stats.geometric_mean(ratios)
    slower = [r for r in rows if r[5] and r[3] > 0]
    faster = [r for r in rows if r[5] and r[3] < 0]
    only_a = len(set(before.runs) - set(after.runs))
    only_b = len(set(after.runs) - set(before.runs))
    print(f"\n{len(rows)} benchmarks compared; geometric mean of B/A: {geomean:.4f} ({100 * (geomean - 1):+.1f}%); "
          f"significantly slower: {len(slower)}, faster: {len(faster)} (alpha {alpha}); "
          f"only in A: {only_a}, only in B: {only_b}")
    if fail_on_regression is not None:
        regressions = [r for r in slower if 100 * r[3] > fail_on_regression]
        if regressions:
            worst = max(regressions, key=lambda r: r[3])
            print(f"compare: {len(regressions)} significant slowdown(s) above {fail_on_regression:g}% "
                  f"(worst: {worst[0]} {100 * worst[3]:+.1f}%)")
            return 1
    return 0
