"""The primitive families (overhead/, sync/, queue/, spawn/, timer/, ...): their figures, the
overhead and idle tables, and the findings drawn from them."""
from __future__ import annotations

import math

from .. import stats
from ..gbench import ResultSet, format_arg


# The headline counter of a primitive benchmark, first one present wins.
PRIMITIVE_METRICS = ("ns_per_task", "ns_per_region", "ns_per_op", "ns_per_unit", "ns_per_spawn",
                     "ns_per_item", "ns_per_handoff", "ns_per_round_trip", "ns_per_barrier",
                     "ns_per_latch", "drift_us", "median_late_us", "idle_cpu_share")
PRIMITIVE_FAMILIES = ("sync", "queue", "spawn", "timer")
# The spawn ladder's expected order (cheapest first) and what stands for each rung.
SPAWN_LADDER = (("coroutine", "spawn/coroutine"), ("pool task", "spawn/pool_task"),
                ("thread", "spawn/thread"), ("fork", "spawn/fork"))


def build_primitives(results: ResultSet) -> list[dict]:
    """Every benchmark outside the workload cross product (overhead/, sync/, ...)."""
    rows = []
    workload_keys = {id(r) for r in results.workload_runs()}
    for run in sorted(results.runs.values(), key=lambda r: r.run_name):
        if id(run) in workload_keys or not run.real_times:
            continue
        row = {"benchmark": run.run_name, "family": run.family, "args": run.args,
               "median_s": stats.median(run.real_times), "cv": stats.coefficient_of_variation(run.real_times),
               "counters": {k: run.counter(k) for k in sorted(run.counters)}}
        metric = next((k for k in PRIMITIVE_METRICS if k in run.counters), None)
        if metric:
            values = run.counters[metric]
            low, high = stats.bootstrap_median_ci(values)
            row.update(metric=metric, value=stats.median(values), ci=[low, high], values=list(values))
        rows.append(row)
    return rows


def build_overhead(primitives: list[dict]) -> list[dict]:
    rows = []
    for row in primitives:
        parts = row["family"].split("/")
        if parts[0] != "overhead" or len(parts) < 3 or "metric" not in row or parts[1] == "idle":
            continue
        wait = row["args"].get("wait")  # OpenMP's wait policy, a dimension of its figures
        rows.append({"kind": parts[1], "model": parts[2] + (f" wait:{wait}" if wait else ""),
                     "wait": wait or "", "p": int(row["args"].get("p", 1)),
                     "metric": row["metric"], "ns": row["value"], "ci": row["ci"], "values": row["values"]})
    return sorted(rows, key=lambda r: (r["kind"], r["model"], r["p"]))


def build_idle(primitives: list[dict]) -> list[dict]:
    """overhead/idle: CPU share (1.0 = one core) a model's process and workers use over 100 ms of
    idleness after a burst of work; per model and p, median over repetitions with its interval."""
    rows = []
    for row in primitives:
        parts = row["family"].split("/")
        if parts[:2] != ["overhead", "idle"] or len(parts) < 3 or row.get("metric") != "idle_cpu_share":
            continue
        wait = row["args"].get("wait")
        rows.append({"model": parts[2] + (f" wait:{wait}" if wait else ""), "wait": wait or "",
                     "p": int(row["args"].get("p", 1)), "cpu_share": row["value"], "ci": row["ci"],
                     "values": row["values"]})
    return sorted(rows, key=lambda r: (r["model"], r["p"]))


def build_primitive_tables(primitives: list[dict]) -> dict[str, list[dict]]:
    """sync/, queue/, spawn/ and timer/ rows: the headline metric per benchmark,
    with the raw baselines (names containing 'baseline') marked."""
    tables: dict[str, list[dict]] = {}
    for row in primitives:
        prefix = row["family"].split("/")[0]
        if prefix not in PRIMITIVE_FAMILIES or "metric" not in row:
            continue
        args = ", ".join(f"{k}={format_arg(v)}" for k, v in row["args"].items())
        entry = {"benchmark": row["family"] + (f" ({args})" if args else ""), "family": row["family"],
                 "args": row["args"], "metric": row["metric"], "value": row["value"], "ci": row["ci"],
                 "cv": row["cv"], "baseline": "baseline" in row["family"], "values": row["values"]}
        for key in ("p99_late_us", "max_late_us", "median_late_us", "drift_us"):
            if key in row["counters"] and row["counters"][key] is not None:
                entry[key] = row["counters"][key]
        tables.setdefault(prefix, []).append(entry)
    for rows in tables.values():  # by family, then numerically by argument (1, 4, 16, not "1", "16", "4")
        rows.sort(key=lambda r: (r["family"], tuple(v if isinstance(v, (int, float)) else math.inf
                                                    for v in r["args"].values())))
    return tables
