"""Synthetic benchmark histories with known answers: per-benchmark levels, log-normal noise,
steps that last and one-commit spikes, over commits on several machines.

As a module: write_series() writes them as Google Benchmark JSON files (one per machine and
commit, as `history add FILE.json --commit --machine --date` takes them); simulate() and
make_series() give the same series in memory, for find_regressions() without files.

As a script (not a test):
- `--study` measures detection rate and false alarms of parbench.history.changepoints on many
  synthetic series (the closing note's figures).
- `--write DIR` writes one Google Benchmark JSON per machine and commit into DIR, named
  MACHINE_NNN_SHA8.json, and prints one line per file: its path, commit (a made-up 40-digit
  SHA), machine and date (one hour apart per commit), ready for
  `./parbench history add FILE --commit SHA --machine NAME --date ISO`. Each file holds every
  benchmark's repetitions (REPETITIONS, log-normal noise of CV 2%) and their aggregates.
  Without other options it writes the issue's case (done_when_benchmarks: alpha and beta, 14
  commits, a +12% step at commit 7 on alpha, a +25% spike at commit 4). With any of --machines,
  --commits, --bench, --step or --spike it writes your own case instead:
      --machines a,b,c          the machines (default alpha,beta)
      --commits N               how many commits (default 14; commits are numbered from 0)
      --bench NAME:SECONDS      a benchmark and its level (repeatable; the n-th machine's level is
                                SECONDS x 1.5^n, machines differ); default BM_Stable/64:0.01
      --step BENCH:MACHINE:COMMIT:FACTOR   times x FACTOR from that commit on (repeatable)
      --spike BENCH:MACHINE:COMMIT:FACTOR  times x FACTOR at that commit only (repeatable)
  A benchmark named only by --step or --spike has the level 0.001 s.
  Example: --write /tmp/h --machines a,b --commits 10 --step BM_x:a:6:1.1 --spike BM_x:b:3:1.3
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / "scripts") not in sys.path:  # run as a script: parbench from this checkout
    sys.path.insert(0, str(ROOT / "scripts"))

from parbench.history.changepoints import find_regressions  # noqa: E402
from parbench.history.records import Point, Series  # noqa: E402

CV = 0.02
REPETITIONS = 5
START = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)


@dataclass
class Bench:
    """One benchmark: its level on each machine (seconds), and per machine the steps (first
    commit index -> factor, lasting) and spikes (commit index -> factor, that commit only)."""
    name: str
    levels: dict[str, float]
    steps: dict[str, dict[int, float]] = field(default_factory=dict)
    spikes: dict[str, dict[int, float]] = field(default_factory=dict)


def commit_names(count: int) -> list[str]:
    """count made-up 40-digit commit SHAs, the same every time."""
    return [hashlib.sha1(f"synthetic commit {i}".encode()).hexdigest() for i in range(count)]


def simulate(level: float, commits: int, rng: np.random.Generator, steps: dict[int, float] | None = None,
             spikes: dict[int, float] | None = None, repetitions: int = REPETITIONS,
             cv: float = CV) -> list[list[float]]:
    """Every repetition's time (seconds) of each commit: the level times the steps begun so far
    (and the commit's spike), with log-normal noise of the given coefficient of variation."""
    sigma = math.sqrt(math.log(1 + cv * cv))
    out = []
    for commit in range(commits):
        factor = math.prod(f for at, f in (steps or {}).items() if at <= commit) * (spikes or {}).get(commit, 1.0)
        out.append([float(t) for t in level * factor * rng.lognormal(-sigma * sigma / 2, sigma, repetitions)])
    return out


def make_series(benchmark: str, machine: str, times: list[list[float]], commits: list[str] | None = None) -> Series:
    """A Series as the store gives it back, from simulate()'s times."""
    commits = commits or commit_names(len(times))
    points = [Point(commit=commit, date=(START + timedelta(hours=i)).isoformat(), real_times=list(repetition))
              for i, (commit, repetition) in enumerate(zip(commits, times))]
    return Series(benchmark=benchmark, machine=machine, fingerprint=machine, config_hash="", points=points)


def _gbench_rows(name: str, index: int, times: list[float]) -> list[dict]:
    """One benchmark's repetitions and its aggregates, as Google Benchmark writes them (ns)."""
    common = {"family_index": index, "per_family_instance_index": 0, "run_name": name, "repetitions": len(times),
              "threads": 1, "time_unit": "ns"}
    rows = [dict(common, name=name, run_type="iteration", repetition_index=i, iterations=max(1, int(1 / t)),
                 real_time=t * 1e9, cpu_time=t * 1e9 * 0.998) for i, t in enumerate(times)]
    nanoseconds = np.asarray(times) * 1e9
    aggregates = {"mean": nanoseconds.mean(), "median": np.median(nanoseconds),
                  "stddev": nanoseconds.std(ddof=1), "cv": nanoseconds.std(ddof=1) / nanoseconds.mean()}
    for aggregate, value in aggregates.items():
        rows.append(dict(common, name=f"{name}_{aggregate}", run_type="aggregate", aggregate_name=aggregate,
                         aggregate_unit="percentage" if aggregate == "cv" else "time", iterations=len(times),
                         real_time=float(value), cpu_time=float(value)))
    return rows


def write_series(out_dir: Path, machines: list[str], commits: list[str], benchmarks: list[Bench],
                 seed: int = 1, repetitions: int = REPETITIONS, cv: float = CV) -> list[dict]:
    """One Google Benchmark JSON per (machine, commit) under out_dir; returns, in commit order
    and then machine order, {"file", "commit", "machine", "date"} for `history add`."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    times = {}
    for b, bench in enumerate(benchmarks):
        for m, machine in enumerate(machines):
            if machine in bench.levels:
                rng = np.random.default_rng([seed, b, m])
                times[bench.name, machine] = simulate(bench.levels[machine], len(commits), rng,
                                                      bench.steps.get(machine), bench.spikes.get(machine),
                                                      repetitions, cv)
    written = []
    for c, commit in enumerate(commits):
        date = (START + timedelta(hours=c)).isoformat()
        for machine in machines:
            rows = [row for b, bench in enumerate(benchmarks) if (bench.name, machine) in times
                    for row in _gbench_rows(bench.name, b, times[bench.name, machine][c])]
            context = {"date": date, "host_name": machine, "executable": "./synthetic_bench", "num_cpus": 4,
                       "mhz_per_cpu": 3000, "cpu_scaling_enabled": False, "caches": [],
                       "library_build_type": "release"}
            path = out_dir / f"{machine}_{c:03d}_{commit[:8]}.json"
            path.write_text(json.dumps({"context": context, "benchmarks": rows}, indent=1))
            written.append({"file": str(path), "commit": commit, "machine": machine, "date": date})
    return written


def done_when_benchmarks() -> list[Bench]:
    """The issue's case on machines "alpha" and "beta", 14 commits: a +12% step at commit 7 on
    alpha only, a one-commit +25% spike at commit 4 of another, a stable one, and beta's levels
    different from alpha's."""
    return [Bench("BM_Step/64", {"alpha": 2.0e-3, "beta": 3.1e-3}, steps={"alpha": {7: 1.12}}),
            Bench("BM_Spike/64", {"alpha": 5.0e-4, "beta": 8.0e-4}, spikes={"alpha": {4: 1.25}}),
            Bench("BM_Stable/64", {"alpha": 1.0e-2, "beta": 1.6e-2})]


# ---- the rate study ---------------------------------------------------------------------------

EVERY_FIVE_COMMITS = 30   # commits of a series with a step every five commits


def _steps_at(where: str, step: float, commits: int, rng: np.random.Generator) -> tuple[dict, dict]:
    """(steps, spikes) of one series: see _step_series."""
    if where in ("up-and-down", "staircase"):
        return {at: step if where == "staircase" or at % 10 else 1 / step for at in range(5, commits - 1, 5)}, {}
    at = commits - 1 if where == "newest" else int(rng.integers(2 if where == "inside" else 0, commits - 1))
    if where == "spike":
        return {}, {at: step}
    return ({at: step} if step != 1.0 else {}), {}


def _step_series(count: int, step: float, commits: int, seed: int, where: str) -> tuple[list[Series], list[set]]:
    """count series of one random level each, and each one's steps (the commits they begin at).
    where: "inside" (a step of `step`, a factor, at a random commit with at least two commits
    on each side), "newest" (the step at the newest commit), "spike" (`step` at one random
    commit before the newest, that commit only: no step), "staircase" (`step` every five
    commits) or "up-and-down" (every five commits, `step` and back by turns)."""
    rng = np.random.default_rng(seed)
    series, truth = [], []
    for i in range(count):
        steps, spikes = _steps_at(where, step, commits, rng)
        level = float(np.exp(rng.uniform(np.log(1e-5), np.log(1.0))))
        series.append(make_series(f"BM_{i}", "m", simulate(level, commits, rng, steps, spikes)))
        truth.append(set(steps))
    return series, truth


def evaluate(series: list[Series], truth: list[set], joint: bool, alpha: float = 0.05) -> dict:
    """find_regressions over the series, in one call (joint: one Holm family) or one call each.
    truth: the commits each series' steps begin at (none: empty). Counts the series with a change
    at each of its steps' commits (and some), the series with any change, and changes elsewhere."""
    if joint:
        changes = find_regressions(series, alpha)
    else:
        changes = [change for one in series for change in find_regressions([one], alpha)]
    by_name = {one.benchmark: steps for one, steps in zip(series, truth)}
    found: dict[str, set[int]] = {}
    for change in changes:
        found.setdefault(change.benchmark, set()).add(change.index)
    exact = sum(1 for name, steps in by_name.items() if steps and steps <= found.get(name, set()))
    extra = sum(len(indices - by_name[name]) for name, indices in found.items())
    return {"series": len(series), "exact": exact, "anywhere": len(found), "extra": extra}


def study(count: int = 100, commits: int = 14, seed: int = 7) -> list[tuple[str, str, dict]]:
    """(case, mode, counts) for stable series, one-commit spikes of +25%, steps of 5, 10, 15 and
    20% inside the series and at the newest commit, 10% faster, and (over EVERY_FIVE_COMMITS)
    steps every five commits: +-10% and +-15% by turns, and +10% each; each case as one call
    per series and as one call over all of them."""
    cases = [("stable", 1.0, "inside"), ("+25% spike", 1.25, "spike")] \
        + [(f"+{s}% inside", 1 + s / 100, "inside") for s in (5, 10, 15, 20)] + [("-10% inside", 1 / 1.1, "inside")] \
        + [(f"+{s}% newest", 1 + s / 100, "newest") for s in (5, 10, 15, 20)] \
        + [("+-10% every 5", 1.1, "up-and-down"), ("+-15% every 5", 1.15, "up-and-down"),
           ("+10% every 5", 1.1, "staircase")]
    rows = []
    for number, (case, step, where) in enumerate(cases):
        length = EVERY_FIVE_COMMITS if where in ("up-and-down", "staircase") else commits
        series, truth = _step_series(count, step, length, seed + number, where)
        for mode, joint in (("one call each", False), (f"one call of {count}", True)):
            rows.append((case, mode, evaluate(series, truth, joint)))
    return rows


def _print_study(count: int, seed: int) -> None:
    began = time.monotonic()
    print(f"{'case':<14} {'mode':<16} {'at the commit':>14} {'anywhere':>9} {'extra changes':>14}")
    for case, mode, counts in study(count, seed=seed):
        print(f"{case:<14} {mode:<16} {counts['exact']:>10}/{counts['series']:<3} "
              f"{counts['anywhere']:>5}/{counts['series']:<3} {counts['extra']:>14}", flush=True)
    print(f"({time.monotonic() - began:.0f} s; 14 commits, 'every 5': {EVERY_FIVE_COMMITS} commits, a step at 5, 10, "
          f"... 25, 'at the commit' = all of them; {REPETITIONS} repetitions, CV {CV:.0%}, alpha 0.05; "
          f"'anywhere' for stable and spike series = false alarms)")


def _change_spec(text: str) -> tuple[str, str, int, float]:
    """BENCH:MACHINE:COMMIT:FACTOR (the benchmark's name may hold colons: the last three fields are split off)."""
    parts = text.rsplit(":", 3)
    try:
        bench, machine, commit, factor = parts[0], parts[1], int(parts[2]), float(parts[3])
    except (IndexError, ValueError):
        raise argparse.ArgumentTypeError(f"{text!r}: give BENCH:MACHINE:COMMIT:FACTOR, e.g. BM_x:alpha:7:1.12") \
            from None
    if not bench or not machine or factor <= 0 or commit < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: a name, a machine, a commit index >= 0 and a factor > 0")
    return bench, machine, commit, factor


def _bench_spec(text: str) -> tuple[str, float]:
    name, _, seconds = text.rpartition(":")
    try:
        level = float(seconds)
    except ValueError:
        level = 0.0
    if not name or not level > 0:
        raise argparse.ArgumentTypeError(f"{text!r}: give NAME:SECONDS, e.g. BM_Stable/64:0.01")
    return name, level


def custom_benchmarks(machines: list[str], commits: int, benches: list[tuple[str, float]],
                      steps: list[tuple], spikes: list[tuple]) -> list[Bench]:
    """The benchmarks --bench, --step and --spike describe (see the module's docstring)."""
    levels = dict(benches) if benches or steps or spikes else {"BM_Stable/64": 0.01}
    for name, machine, commit, _ in steps + spikes:
        if machine not in machines:
            raise ValueError(f"{name}:{machine}: {machine} is not one of --machines {','.join(machines)}")
        if commit >= commits:
            raise ValueError(f"{name}:{machine}:{commit}: the commits are numbered 0 to {commits - 1}")
        levels.setdefault(name, 1e-3)
    found = {name: Bench(name, {m: level * 1.5 ** n for n, m in enumerate(machines)}) for name, level in levels.items()}
    for kind, given in (("steps", steps), ("spikes", spikes)):
        for name, machine, commit, factor in given:
            getattr(found[name], kind).setdefault(machine, {})[commit] = factor
    return list(found.values())


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--study", action="store_true", help="detection rate and false alarms")
    parser.add_argument("--series", type=int, default=100, help="--study: series per case (default 100)")
    parser.add_argument("--seed", type=int, help="the noise's seed (default: 7 for --study, 1 for --write)")
    parser.add_argument("--write", metavar="DIR", help="write one Google Benchmark JSON per machine and commit into "
                        "DIR and print 'FILE COMMIT MACHINE DATE' for each (default: the issue's case)")
    parser.add_argument("--machines", help="--write: the machines, a,b,c (default alpha,beta)")
    parser.add_argument("--commits", type=int, help="--write: how many commits (default 14)")
    parser.add_argument("--bench", type=_bench_spec, action="append", default=[], metavar="NAME:SECONDS",
                        help="--write: a benchmark and its level on the first machine (repeatable)")
    parser.add_argument("--step", type=_change_spec, action="append", default=[],
                        metavar="BENCH:MACHINE:COMMIT:FACTOR", help="--write: a lasting step (repeatable)")
    parser.add_argument("--spike", type=_change_spec, action="append", default=[],
                        metavar="BENCH:MACHINE:COMMIT:FACTOR", help="--write: one commit's spike (repeatable)")
    return parser


def main(argv: list[str]) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    custom = args.machines is not None or args.commits is not None or args.bench or args.step or args.spike
    if custom and not args.write:
        parser.error("--machines, --commits, --bench, --step and --spike describe what --write DIR writes")
    if args.write:
        machines, benchmarks = ["alpha", "beta"], done_when_benchmarks()
        commits = 14 if args.commits is None else args.commits
        if custom:
            machines = [m for m in (args.machines or "alpha,beta").split(",") if m]
            if commits < 1 or not machines:
                parser.error("--commits must be at least 1 and --machines must name a machine")
            try:
                benchmarks = custom_benchmarks(machines, commits, args.bench, args.step, args.spike)
            except ValueError as error:
                parser.error(str(error))
        seed = 1 if args.seed is None else args.seed
        for row in write_series(Path(args.write), machines, commit_names(commits), benchmarks, seed=seed):
            print(row["file"], row["commit"], row["machine"], row["date"])
    if args.study:
        _print_study(args.series, 7 if args.seed is None else args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
