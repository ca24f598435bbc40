"""./parbench compare A B: per-benchmark change between two result directories.

For every benchmark both hold: the ratio of median wall times B / A, and one
test of it (stats.holm_band_tests, the same the report's "vs previous" uses):
is the ratio beyond the run-to-run noise band (the larger CV of the two)? The
p-value is the bootstrap's share of resampled ratios on the near side of the
band, Holm-corrected over all the benchmarks compared, and the interval is
shown at the level its test was judged at, so interval and verdict agree. Then
a geometric-mean summary. --fail-on-regression PCT
exits 1 when a significant slowdown exceeds PCT percent, and 3 when a slowdown
above PCT is not significant (the repetitions cannot decide it: a gate that
cannot fire must not pass silently) unless --allow-undecided. A benchmark A measured that B
reports as failed fails the gate (exit 1); one B lacks is undecided (exit 3, unless
--allow-undecided).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import math

from . import UserError, stats
from .state import read_env, read_state, result_files
from .gbench import ResultSet, load_results
from .util import one_line


# With fewer repetitions than this on a side, the bootstrap has too little to resample: no test.
MIN_REPETITIONS = 3


@dataclass
class Table:
    """What compare computes for two result sets: a row per benchmark both measured (its medians,
    noise, ratio B/A, interval, corrected p and verdict), and what A measured that B lost."""
    rows: list[dict]
    errored: list[str]        # A measured it, B reports errors (a crash, a failed verification)
    missing: list[str]        # A measured it, B lacks it
    only_b: int               # benchmarks B has and A does not
    fewest_repetitions: int   # the fewest repetitions on a side among the rows
    after: ResultSet


def check_levels(alpha: float, fail_on_regression: float | None, verb: str = "compare") -> None:
    if not (math.isfinite(alpha) and 0 < alpha <= 0.5):
        raise UserError(f"{verb} --alpha: {alpha:g} is not a significance level in (0, 0.5]")
    if fail_on_regression is not None and not (math.isfinite(fail_on_regression)
                                               and 0 <= fail_on_regression <= 10000):
        flag = "--fail-on-regression" if verb == "compare" else "--threshold"
        raise UserError(f"{verb} {flag}: {fail_on_regression:g} is not a percentage in [0, 10000]")


def compare(a: Path, b: Path, alpha: float = 0.05, fail_on_regression: float | None = None,
            allow_undecided: bool = False) -> int:
    check_levels(alpha, fail_on_regression)
    before = load_results(result_files(a))
    after = load_results(result_files(b))
    _say_what_differs(a, b)
    table = compare_results(before, after, alpha)
    if table is None:
        raise UserError(f"{a} and {b} have no benchmark in common")
    return judge(table, alpha, fail_on_regression, allow_undecided)


def compare_results(before: ResultSet, after: ResultSet, alpha: float) -> Table | None:
    """The comparison of two result sets, nothing printed; None when they share no benchmark."""
    common = sorted(k for k in set(before.runs) & set(after.runs)
                    if before.runs[k].real_times and after.runs[k].real_times)
    # What A measured and B did not: a family that crashed or failed its verification in B
    # is not "no change", and a gate must not pass over it.
    errored = sorted(k for k in set(before.runs) & set(after.runs)
                     if before.runs[k].real_times and after.runs[k].errors)
    missing = sorted(k for k in before.runs if before.runs[k].real_times and k not in after.runs)
    if not common and not errored:
        return None
    rows = []
    for key in common:
        x, y = before.runs[key].real_times, after.runs[key].real_times
        noise = max(stats.coefficient_of_variation(x), stats.coefficient_of_variation(y))
        rows.append({"name": _name(key), "a": stats.median(x), "b": stats.median(y), "noise": noise})
    # one test per benchmark: its interval beyond the noise, Holm over all (the interval printed
    # is at the level its test was judged at)
    tests = stats.holm_band_tests([(before.runs[k].real_times, after.runs[k].real_times) for k in common],
                                  [r["noise"] for r in rows], alpha)
    for row, test in zip(rows, tests):
        row.update(ratio=test["ratio"], ci=test["ci"], confidence=test["confidence"], p_value=test["p_value"],
                   p_adjusted=test["p_adjusted"], significant=test["significant"])
    few = min((min(len(before.runs[k].real_times), len(after.runs[k].real_times)) for k in common), default=0)
    return Table(rows, errored, missing, len(set(after.runs) - set(before.runs)), few, after)


def judge(table: Table, alpha: float, fail_on_regression: float | None, allow_undecided: bool) -> int:
    """Prints the table, its summary and the gate's lines; the exit status (0, 1 or 3)."""
    rows, errored, missing, after = table.rows, table.errored, table.missing, table.after
    if not rows:
        return _gate_on_lost(errored, missing, after, fail_on_regression, allow_undecided)
    width = max(len(r["name"]) for r in rows)
    print(f"{'Benchmark':<{width}}  {'A (ms)':>10}  {'B (ms)':>10}  {'B/A':>6}  {'interval (Holm)':>15}  "
          f"{'p (Holm)':>9}  significant")
    for r in rows:
        print(f"{r['name']:<{width}}  {1000 * r['a']:>10.4g}  {1000 * r['b']:>10.4g}  {r['ratio']:>6.3f}  "
              f"{'[' + format(r['ci'][0], '.3f') + ', ' + format(r['ci'][1], '.3f') + ']':>15}  "
              f"{r['p_adjusted']:>9.3g}  {'yes' if r['significant'] else 'no'}")
    geomean = stats.geometric_mean([r["ratio"] for r in rows])
    slower = [r for r in rows if r["significant"] and r["ratio"] > 1]
    faster = [r for r in rows if r["significant"] and r["ratio"] < 1]
    print(f"\n{len(rows)} benchmarks compared; geometric mean of B/A: {geomean:.4f} ({100 * (geomean - 1):+.1f}%); "
          f"significantly slower: {len(slower)}, faster: {len(faster)} (Holm-corrected, alpha {alpha}); "
          f"only in A: {len(missing)}, only in B: {table.only_b}")
    smallest = min(r["p_adjusted"] for r in rows)
    if not slower and not faster and smallest >= alpha:
        print(f"compare: no change was significant: the smallest corrected p is {smallest:.3g} "
              f"(more repetitions narrow the intervals)")
    if table.fewest_repetitions < MIN_REPETITIONS:
        print(f"compare: some benchmarks have only {table.fewest_repetitions} repetition(s) on a side; with fewer "
              f"than {MIN_REPETITIONS} no change there can be significant")
    gate = _gate_on_lost(errored, missing, after, fail_on_regression, allow_undecided)
    if fail_on_regression is None:
        return 0
    regressions, undecided = gated(rows, fail_on_regression)
    if regressions:
        worst = max(regressions, key=lambda r: r["ratio"])
        print(f"compare: {len(regressions)} significant slowdown(s) above {fail_on_regression:g}% "
              f"(worst: {worst['name']} {100 * (worst['ratio'] - 1):+.1f}%)")
        return 1
    if gate:
        return gate
    if undecided:
        worst = max(undecided, key=lambda r: r["ratio"])
        print(f"compare: {len(undecided)} slowdown(s) above {fail_on_regression:g}% that these repetitions "
              f"cannot decide (worst: {worst['name']} {100 * (worst['ratio'] - 1):+.1f}%, corrected p "
              f"{worst['p_adjusted']:.3g}, not below alpha {alpha:g}): more repetitions decide them"
              + ("; passed (--allow-undecided)" if allow_undecided else "; --allow-undecided passes them"))
        return 0 if allow_undecided else 3
    return 0


def gated(rows: list[dict], fail_on_regression: float) -> tuple[list[dict], list[dict]]:
    """The rows a gate at fail_on_regression percent fails (significant slowdowns above it) and
    those it cannot decide (slowdowns above it that are not significant)."""
    above = [r for r in rows if 100 * (r["ratio"] - 1) > fail_on_regression]
    return [r for r in above if r["significant"]], [r for r in above if not r["significant"]]


def _say_what_differs(a: Path, b: Path) -> None:
    """A note when A and B come from different machines or configs: their ratios then mix a
    change of code with a change of hardware or settings."""
    from .provenance import differences
    envs, states = (read_env(a), read_env(b)), (read_state(a), read_state(b))

    def machine(env: dict) -> tuple:
        cpu = env.get("cpu") or {}
        return env.get("hostname"), cpu.get("model"), cpu.get("hardware_threads")
    if all(envs) and machine(envs[0]) != machine(envs[1]):
        shown = [one_line("{} ({}, {} threads)".format(*machine(env))) for env in envs]
        print(f"compare: note: A and B come from different machines: A {shown[0]}, B {shown[1]}")
    configs = [state.get("config") for state in states]
    if all(isinstance(c, dict) for c in configs):
        differ = differences(configs[0], configs[1])
        if differ:
            print(f"compare: note: A and B ran different configs (they differ in {', '.join(differ[:8])}"
                  f"{' ...' if len(differ) > 8 else ''})")


def _name(key: str) -> str:
    return one_line(key.replace("/process_time/real_time", "").replace("|weak", " (weak)"))


def _gate_on_lost(errored: list[str], missing: list[str], after, fail_on_regression: float | None,
                  allow_undecided: bool) -> int:
    """Says which of A's benchmarks B lost; the exit status they mean for a gate: 1 when B
    reports errors (a failed run or verification is a regression), 3 when B lacks some (the
    gate cannot judge them) unless --allow-undecided, else 0."""
    for label, keys in (("failed in B", errored), ("missing in B", missing)):
        if keys:
            shown = ", ".join(_name(k) + (f" ({one_line(after.runs[k].errors[0])})" if k in errored else "")
                              for k in keys[:5])
            print(f"compare: {len(keys)} benchmark(s) of A {label}: {shown}{' ...' if len(keys) > 5 else ''}")
    if fail_on_regression is None:
        return 0
    if errored:
        print(f"compare: gate failed: {len(errored)} benchmark(s) reported errors in B")
        return 1
    if missing and not allow_undecided:
        print(f"compare: gate undecided: {len(missing)} benchmark(s) of A are missing in B "
              "(--allow-undecided passes them)")
        return 3
    return 0
