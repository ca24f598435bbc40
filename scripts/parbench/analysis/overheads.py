"""The primitive families (overhead/, sync/, queue/, spawn/, timer/, ...): their figures, the
overhead and idle tables, and the findings drawn from them."""
from __future__ import annotations

import math

from .. import stats, units
from ..gbench import ResultSet, format_arg


# The headline counter of a primitive benchmark, first one present wins.
PRIMITIVE_METRICS = ("ns_per_task", "ns_per_region", "ns_per_op", "ns_per_unit", "ns_per_spawn",
                     "ns_per_item", "ns_per_handoff", "ns_per_round_trip", "ns_per_barrier",
                     "ns_per_latch", "drift_us", "median_late_us", "idle_cpu_share")
PRIMITIVE_FAMILIES = ("sync", "queue", "spawn", "timer")
# The spawn ladder's expected order (cheapest first) and what stands for each rung.
SPAWN_LADDER = (("coroutine", "spawn/coroutine"), ("pool task", "spawn/pool_task"),
                ("thread", "spawn/thread"), ("process", "spawn/fork"))


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
                 "cv": row["cv"], "baseline": "baseline" in row["family"]}
        for key in ("p99_late_us", "max_late_us", "median_late_us", "drift_us"):
            if key in row["counters"] and row["counters"][key] is not None:
                entry[key] = row["counters"][key]
        tables.setdefault(prefix, []).append(entry)
    for rows in tables.values():  # by family, then numerically by argument (1, 4, 16, not "1", "16", "4")
        rows.sort(key=lambda r: (r["family"], tuple(v if isinstance(v, (int, float)) else math.inf
                                                    for v in r["args"].values())))
    return tables


def _value(tables: dict, family: str, **args) -> float | None:
    for row in tables.get(family.split("/")[0], []):
        if row["family"] == family and all(row["args"].get(k) == v for k, v in args.items()):
            return row["value"]
    return None


def build_primitive_findings(tables: dict, threads: int) -> list[str]:
    """The figures the primitive families exist to answer, as sentences."""
    findings = []
    spsc = _value(tables, "queue/spsc/throughput", producers=1, consumers=1)
    fifo = _value(tables, "queue/fifo/throughput", producers=1, consumers=1)
    if spsc and fifo:
        findings.append(f"SPSC ring vs mutex + deque, 1 producer x 1 consumer: {spsc:.1f} vs {fifo:.1f} ns "
                        f"per item, {fifo / spsc:.2f}x the throughput")
    counts = sorted({int(r["args"]["nthreads"]) for r in tables.get("sync", [])
                     if r["family"] == "sync/mutex/spinlock" and "nthreads" in r["args"]})
    if counts:
        ratios = []
        for t in counts:
            spin, std = _value(tables, "sync/mutex/spinlock", nthreads=t), _value(tables, "sync/mutex/std", nthreads=t)
            if spin and std:
                ratios.append((t, spin / std))
        if ratios:
            text = ", ".join(f"{t} threads {r:.2f}x" for t, r in ratios)
            worst = max(ratios, key=lambda item: item[1])
            over = [(t, r) for t, r in ratios if t > threads]
            findings.append(
                f"Own spinlock / std::mutex time per lock ({threads} hardware threads): {text}. "
                f"Worst at {worst[0]} threads ({worst[1]:.1f}x)"
                + (f"; oversubscribed ({', '.join(f'{t} threads {r:.1f}x' for t, r in over)}): its waiters "
                   "spin while the holder may be descheduled, and only yield after a bounded spin"
                   if over else ""))
    rungs = sorted((r for r in tables.get("spawn", []) if r.get("value") and not r["baseline"]),
                   key=lambda r: r["value"])
    if rungs:
        measured = ", ".join(f"{r['family'].split('/', 1)[1]} {units.nanoseconds(r['value'])}" for r in rungs)
        expected = [(label, _value(tables, family)) for label, family in SPAWN_LADDER]
        expected = [(label, value) for label, value in expected if value]
        inversions = [f"{a} ({units.nanoseconds(va)}) costs more than {b} ({units.nanoseconds(vb)})"
                      for (a, va), (b, vb) in zip(expected, expected[1:]) if va >= vb]
        findings.append(f"Spawn ladder, every rung by its measured median: {measured}. The expected order "
                        "coroutine < pool task < thread < process "
                        + ("holds" if not inversions else "does NOT hold here: " + "; ".join(inversions)) + ".")
    return findings
