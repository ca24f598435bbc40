"""Reading Google Benchmark JSON as written by parbench_bench.

Entries are keyed on run_name (and aggregate_name), never on their order.
Anything unusable raises UserError naming the file and the problem.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from . import UserError
from .util import parse_json, read_regular_text

_TIME_UNITS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
# Name components that Google Benchmark appends and that are not our arguments.
_GB_SUFFIXES = ("process_time", "real_time", "manual_time")
_GB_ARG_PREFIXES = ("threads:", "repeats:", "min_time:", "iterations:", "min_warmup_time:")
# Keys of a benchmark entry that are Google Benchmark's own, not user counters.
_GB_KEYS = {
    "name", "family_index", "per_family_instance_index", "run_name", "run_type",
    "repetitions", "repetition_index", "threads", "iterations", "real_time", "cpu_time",
    "time_unit", "aggregate_name", "aggregate_unit", "error_occurred", "error_message",
    "label", "big_o", "rms",
}


@dataclass
class Run:
    """All repetitions of one benchmark instance (one run_name)."""
    run_name: str
    family: str                      # e.g. "primes/pool" or "overhead/tasks/pool"
    args: dict[str, float | str]     # e.g. {"n": 3000000, "p": 2}, {"wait": "passive", "p": 2}
    file: str
    weak: bool = False               # a weak-scaling run (n grows with p)
    real_times: list[float] = field(default_factory=list)  # seconds, one per repetition
    cpu_times: list[float] = field(default_factory=list)
    counters: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def parts(self) -> list[str]:
        return self.family.split("/")

    def counter(self, key: str) -> float | None:
        """Median of a user counter over the repetitions, or None."""
        values = [v for v in self.counters.get(key, []) if not math.isnan(v)]
        if not values:
            return None
        values.sort()
        middle = len(values) // 2
        return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2


@dataclass
class ResultSet:
    runs: dict[str, Run]             # by run_name (+ "|weak" for weak scaling)
    contexts: dict[str, dict]        # by file name
    categories: dict[str, str]       # workload -> category, from the contexts

    def workload_runs(self) -> list[Run]:
        """Runs named <workload>/<model>/n:<N>/p:<P>."""
        return [r for r in self.runs.values()
                if len(r.parts) == 2 and _count(r.args.get("n")) and _count(r.args.get("p"))
                and not r.family.startswith(PRIMITIVE_PREFIXES)]

    def primitive_runs(self, prefix: str) -> list[Run]:
        return [r for r in self.runs.values() if r.family.startswith(prefix + "/")]


PRIMITIVE_PREFIXES = ("overhead/", "sync/", "queue/", "spawn/", "timer/", "ipc/", "psync/", "py/")


def _count(value) -> bool:
    """A run-name argument that is a positive whole number (n, p)."""
    return isinstance(value, float) and math.isfinite(value) and value >= 1 and value == int(value)


def format_arg(value: float | str) -> str:
    """A run-name argument as it was written: 2.0 -> '2', 'passive' -> 'passive'."""
    if isinstance(value, float) and math.isfinite(value) and value == int(value):
        return str(int(value))
    return str(value)


def parse_run_name(run_name: str) -> tuple[str, dict[str, float | str]]:
    """Splits 'primes/pool/n:3000000/p:2/process_time/real_time' into
    ('primes/pool', {'n': 3000000.0, 'p': 2.0}); a non-numeric value stays a
    string ('overhead/parallel_for/openmp/wait:passive/p:2' gives wait='passive')."""
    family_parts, args = [], {}
    for part in run_name.split("/"):
        if part in _GB_SUFFIXES or part.startswith(_GB_ARG_PREFIXES):
            continue
        if ":" in part:
            key, _, value = part.partition(":")
            try:
                args[key] = float(value)
            except ValueError:
                args[key] = value
        elif not args:
            family_parts.append(part)
    return "/".join(family_parts), args


def with_argument(run_name: str, argument: str) -> str:
    """run_name with `argument` ("scaling:weak") after its own arguments, before the ones Google
    Benchmark appends: 'primes/pool/n:8/p:1/process_time/real_time' gives
    'primes/pool/n:8/p:1/scaling:weak/process_time/real_time'. A name holding it already is kept."""
    parts = run_name.split("/")
    if argument in parts:
        return run_name
    at = next((i for i, part in enumerate(parts) if i and (part in _GB_SUFFIXES or part.startswith(_GB_ARG_PREFIXES))),
              len(parts))
    return "/".join(parts[:at] + [argument] + parts[at:])


def _number(value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError
    return float(value)


def load_file(path: Path) -> tuple[dict, list[dict]]:
    """Returns (context, benchmark entries) of one Google Benchmark JSON file."""
    text = read_regular_text(path)
    if not text.strip():
        raise UserError(f"{path}: empty file")
    data = parse_json(text, path)
    if (not isinstance(data, dict) or not isinstance(data.get("benchmarks"), list)
            or not isinstance(data.get("context"), dict)):
        raise UserError(f"{path}: not Google Benchmark output (no 'context' and 'benchmarks')")
    for index, entry in enumerate(data["benchmarks"]):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise UserError(f"{path}: benchmark entry {index} has no name")
    return data["context"], data["benchmarks"]


# A repetition longer than this (about 115 days) is not a measurement: the statistics would
# overflow on it (1e308 s), and no family timeout allows it.
MAX_SECONDS = 1e7


def load_results(files: list[Path]) -> ResultSet:
    runs: dict[str, Run] = {}
    seen: set[tuple] = set()
    contexts: dict[str, dict] = {}
    categories: dict[str, str] = {}
    for path in files:
        context, entries = load_file(path)
        contexts[path.name] = context
        for key, value in context.items():
            if key.startswith("category:") and isinstance(value, str):
                categories[key.split(":", 1)[1]] = value
        for entry in entries:
            run_name = entry.get("run_name", entry["name"])
            if not isinstance(run_name, str):
                raise UserError(f"{path}: entry '{entry['name']}' has a bad run_name")
            if entry.get("run_type") == "aggregate":
                continue  # recomputed from the repetitions
            family, args = parse_run_name(run_name)
            placement = [args.pop(key) for key in ("affinity", "numa")
                         if isinstance(args.get(key), str) and family.count("/") == 1]
            if placement:
                # A bound or interleaved run is its model's variant ("threads@compact",
                # "threads@compact+interleave"), measured against the same baseline and shown
                # beside the model as the OS placed it.
                family = f"{family}@{'+'.join(placement)}"
            # Weak-scaling runs (counter weak_base_n) may share a name with a
            # strong-scaling run at p = 1: keep them apart.
            weak = "weak_base_n" in entry
            key = run_name + ("|weak" if weak else "")
            run = runs.get(key)
            if run is None:
                run = runs[key] = Run(run_name, family, args, path.name, weak=weak)
            elif run.file != path.name:  # pooled, a copy's repetitions would narrow every interval
                raise UserError(f"{path}: benchmark {run_name} is also in {run.file} (a copied file? each "
                                "benchmark's repetitions come from one run; move one away)")
            repetition = (key, entry.get("repetition_index"), entry.get("threads"))
            if entry.get("repetition_index") is not None and repetition in seen:
                raise UserError(f"{path}: repetition {entry['repetition_index']} of {run_name} appears twice")
            seen.add(repetition)
            if entry.get("error_occurred"):
                run.errors.append(str(entry.get("error_message", "error")))
                continue
            try:
                scale = _TIME_UNITS[entry.get("time_unit", "ns")]
                real = _number(entry["real_time"]) * scale
                cpu = _number(entry["cpu_time"]) * scale
            except (KeyError, TypeError):
                raise UserError(f"{path}: entry '{entry['name']}' has no numeric real_time, "
                                f"cpu_time and known time_unit") from None
            if not (0 < real < MAX_SECONDS) or not (0 <= cpu < MAX_SECONDS):
                run.errors.append("no valid time")  # nan, infinite (1e400), absurd (1e308 s) or not positive
                continue
            if entry.get("verified") == 0:  # the binary makes this an error row; a file may say it only here
                run.errors.append("not verified (verified = 0)")
                continue
            run.real_times.append(real)
            run.cpu_times.append(cpu)
            for key, value in entry.items():
                if key not in _GB_KEYS and isinstance(value, (int, float)) and not isinstance(value, bool) \
                        and math.isfinite(value):
                    run.counters.setdefault(key, []).append(float(value))
    return ResultSet(runs, contexts, categories)
