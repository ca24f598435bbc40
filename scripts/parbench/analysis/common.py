"""What every analysis topic shares: the machine's cores, the models' built-in limits, the methods'
statements, rounding and the p a comparison is made at."""
from __future__ import annotations

import math
import os

from .. import stats
from ..gbench import ResultSet
from ..catalogue import current
from ..modelnames import without_placement


CV_WARNING = 0.05
AMDAHL_METHOD = ("least squares of T(p) = T1 (s + (1 - s)/p) on the model's median time at each p, "
                 "on p up to the number of physical cores only (oversubscribed points are left out), "
                 "and only with 3 or more distinct p (2 parameters: fewer points would be an exact "
                 "solve, not a fit); 95% interval by percentile bootstrap, resampling the "
                 "repetitions within each p. With fewer points the serial fraction is the "
                 "Karp-Flatt estimate e = (1/S - 1/p) / (1 - 1/p) from the self-speedup at the "
                 "largest p up to the cores (Amdahl's s exactly, if the law holds)")
MIN_FIT_LEVELS = 3
VERDICT_METHOD = ("At p = the physical cores (the serial model at p = 1; I/O workloads: each model "
                  "at the concurrency of its best throughput, compared per request), the fastest "
                  "model by median time against the runner-up: the ratio of their medians and its "
                  "bootstrap interval, which is the test: a win needs the whole interval beyond the "
                  "run-to-run noise (the larger of the two models' CVs and the sweep's median CV), "
                  "at the confidence Holm's step-down over all workloads gives it (95% for one "
                  "workload, up to 1 - 0.05/m for m workloads; the interval shown is at that "
                  "confidence), otherwise a tie, which lists every model whose interval reaches "
                  "into the noise. The speedup over the serial baseline is tested the same way. One "
                  "verdict per workload, at its largest size; the granularity workload's verdict is its "
                  "METG table")


def baseline_statement() -> str:
    cpp, python = current().baseline("cpp"), current().baseline("python")
    return (f"speedup is the median time of the `{cpp}` model (for the Python track's py_ "
            f"models: `{python}`) at the same n divided by the model's median time; "
            "self-speedup uses the same model at p = 1")


METG_STATEMENT = ("METG(50%): the shortest task length at which a model reaches 50% efficiency "
                  "on the granularity workload, interpolated in log(length) between sweep points; "
                  "lengths are the measured ones (each task body timed back to back on one thread "
                  "when the instance is prepared). Only models that spawn each task take part; "
                  "the others are listed with the reason")
IO_CATEGORY = "io"


def io_statement() -> str:
    cpp, python = current().baseline("cpp"), current().baseline("python")
    return ("I/O workloads: p is concurrency (requests in flight) and n = requests per slot x p; "
            f"throughput = n / median time; speedup = throughput / the `{cpp}` model's "
            f"(py_ models: `{python}`'s) throughput (one request at a time); concurrency efficiency = "
            "speedup / p; no Amdahl fit (waiting is not a serial fraction)")


def machine_cores(env: dict, results: ResultSet) -> tuple[int, int]:
    """(physical cores, hardware threads) from env.json, else from the JSON context."""
    cpu = env.get("cpu", {}) if isinstance(env.get("cpu"), dict) else {}
    threads = cpu.get("hardware_threads")
    physical = cpu.get("physical_cores")
    for context in results.contexts.values():
        threads = threads or context.get("num_cpus")
        if not threads and str(context.get("hardware_threads", "")).isdigit():
            threads = int(context["hardware_threads"])
    threads = int(threads or os.cpu_count() or 1)
    return int(physical or threads), threads


def _round(value, digits=6):
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return round(float(value), digits) if isinstance(value, float) else value


def empty_limits() -> dict:
    return {"cpu": {}, "cpu_except": {}, "fork_join": {}, "fork_join_workloads": set()}


def model_limits(results: ResultSet) -> dict:
    """What the binary says about limits built into models (JSON context): models that cannot
    run CPU work in parallel (and the workloads where that limit does not hold: numpy releases
    the GIL), models whose fork_join is serial, workloads that use fork_join."""
    limits = empty_limits()
    for context in results.contexts.values():
        for key, value in context.items():
            kind, _, name = key.partition(":")
            if kind == "limit_cpu":
                limits["cpu"][name] = value
            elif kind == "limit_cpu_except":
                limits["cpu_except"][name] = set(filter(None, value.split(",")))
            elif kind == "limit_fork_join":
                limits["fork_join"][name] = value
            elif kind == "fork_join":
                limits["fork_join_workloads"].add(name)
    return limits


def limit_of(limits: dict, workload: str, model: str, category: str, p: int) -> str | None:
    """Why (workload, model) cannot run in parallel at p by the model's design, or None."""
    if p <= 1 or category == IO_CATEGORY:
        return None
    model = without_placement(model)  # a bound variant has its model's limits
    if model in limits["cpu"] and workload not in limits.get("cpu_except", {}).get(model, ()):
        return limits["cpu"][model]
    if model in limits["fork_join"] and workload in limits["fork_join_workloads"]:
        return limits["fork_join"][model]
    return None


def choose_p(available: set[int], cores: int) -> int:
    candidates = [p for p in available if p <= cores]
    return max(candidates) if candidates else min(available)


def sweep_noise(points: list[dict]) -> float:
    """The run-to-run noise the sweep measured: the median CV of its cpu and memory points."""
    cvs = [p["cv"] for p in points if p["category"] in ("cpu", "memory") and p["repetitions"] >= 2]
    return stats.median(cvs) if cvs else 0.0


def _per_unit(point: dict) -> list[float]:
    """Repetition times per unit of work: per run (cpu, memory), per request (I/O)."""
    unit = point["n"] if point["category"] == IO_CATEGORY else 1
    return [t / unit for t in point["times_s"]]
