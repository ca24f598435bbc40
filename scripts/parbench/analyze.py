"""./parbench analyze DIR: scaling figures from a sweep's raw Google Benchmark JSON.

Writes DIR/analysis.json and CSV tables (points, fits, gustafson, metg,
overhead, verdicts, ...). Pure math lives in stats.py.

What the data can decide, and nothing more: every comparison carries a
bootstrap interval of its ratio of medians; a verdict is a win only if Welch's
test on log times, corrected over all workloads (Holm), says so, the interval
excludes 1 and the difference exceeds the run-to-run noise; otherwise it is a
tie. A point a model cannot run in parallel by design is marked with the
reason and left out of fits and verdicts. An Amdahl fit needs three distinct
p up to the physical cores (two parameters); with fewer, the serial fraction
is the Karp-Flatt estimate at the largest such p, labelled as such.
"""
from __future__ import annotations

import csv
import json
import math
import os
from collections import defaultdict
from pathlib import Path

from . import UserError, python_track, stats, units
from .gbench import ResultSet, Run, format_arg, load_results
from .state import missing_raw_files, read_env, read_state, result_files, state_digest
from .util import REPO_ROOT, atomic_write_text

from .modelnames import baseline_of, is_baseline, track_label, track_of
THREAD_MODELS = ("threads", "pool", "tbb", "openmp")
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
                  "model by median time against the runner-up: ratio of medians with a 95% "
                  "bootstrap interval, Welch's t-test on log times, p-values corrected over all "
                  "workloads by Holm's method. A win needs the corrected p below 0.05, an "
                  "interval that excludes 1 and a difference above the run-to-run noise (the "
                  "larger of the two models' CVs and the sweep's median CV); anything else is a "
                  "tie, and the tie lists every model that cannot be told apart from the fastest. One "
                  "verdict per workload, at its largest size; the granularity workload's verdict is its "
                  "METG table")
BASELINE_STATEMENT = ("speedup is the median time of the `serial` model (for the Python track's py_ "
                      "models: `py_serial`) at the same n divided by the model's median time; "
                      "self-speedup uses the same model at p = 1")
METG_STATEMENT = ("METG(50%): the shortest task length at which a model reaches 50% efficiency "
                  "on the granularity workload, interpolated in log(length) between sweep points; "
                  "lengths are the measured ones (each task body timed back to back on one thread "
                  "when the instance is prepared). Only models that spawn each task take part; "
                  "the others are listed with the reason")
IO_CATEGORY = "io"
IO_STATEMENT = ("I/O workloads: p is concurrency (requests in flight) and n = requests per slot x p; "
                "throughput = n / median time; speedup = throughput / the `serial` model's "
                "(py_ models: `py_serial`'s) throughput (one request at a time); concurrency efficiency = speedup / p; no "
                "Amdahl fit (waiting is not a serial fraction)")


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
    if model in limits["cpu"] and workload not in limits.get("cpu_except", {}).get(model, ()):
        return limits["cpu"][model]
    if model in limits["fork_join"] and workload in limits["fork_join_workloads"]:
        return limits["fork_join"][model]
    return None


def build_points(results: ResultSet, physical: int, threads: int, limits: dict | None = None) -> list[dict]:
    limits = limits or empty_limits()
    runs = [r for r in results.workload_runs() if r.real_times]
    samples = {(r.parts[0], r.parts[1], int(r.args["n"]), int(r.args["p"]), r.weak): r.real_times for r in runs}
    medians = {key: stats.median(times) for key, times in samples.items()}
    points = []
    for run in sorted(runs, key=lambda r: (r.parts[0], r.parts[1], r.weak, r.args["n"], r.args["p"])):
        workload, model = run.parts
        n, p = int(run.args["n"]), int(run.args["p"])
        median = medians[(workload, model, n, p, run.weak)]
        low, high = stats.bootstrap_median_ci(run.real_times)
        point = {
            "workload": workload, "model": model, "n": n, "p": p,
            "category": results.categories.get(workload, "unknown"),
            "scaling": "weak" if run.weak else "strong",
            "repetitions": len(run.real_times),
            "median_s": median, "ci_low_s": low, "ci_high_s": high,
            "cv": stats.coefficient_of_variation(run.real_times),
            "cpu_median_s": stats.median(run.cpu_times),
            "verified": run.counter("verified") == 1,
            "oversubscribed": p > threads,
            "times_s": list(run.real_times),
        }
        limit = limit_of(limits, workload, model, point["category"], p)
        if limit:
            point["limit"] = limit
        if point["category"] == IO_CATEGORY:
            point["oversubscribed"] = False  # p is concurrency, not workers
            per_slot = max(1, n // p)
            point["requests_per_slot"] = per_slot
            throughput = n / median if median > 0 else None
            point["throughput"] = throughput
            serial = medians.get((workload, baseline_of(model), per_slot, 1, False))
            own = medians.get((workload, model, per_slot, 1, False))
            if serial and throughput:
                s = throughput / (per_slot / serial)
                point.update(speedup=s, speedup_ci=[n / high / (per_slot / serial), n / low / (per_slot / serial)],
                             efficiency=s / p)
            if own and throughput:
                s = throughput / (per_slot / own)
                point.update(self_speedup=s, self_efficiency=s / p)
        elif run.weak:
            point["weak_base_n"] = int(run.counter("weak_base_n") or n)
        else:
            serial = samples.get((workload, baseline_of(model), n, 1, False))
            own = samples.get((workload, model, n, 1, False))
            if serial:
                # speedup = median(serial) / median(this), its interval from both sides' samples
                s, low_s, high_s = stats.ratio_of_medians(serial, run.real_times)
                point.update(speedup=s, speedup_ci=[low_s, high_s],
                             efficiency=stats.efficiency(s, p), efficiency_ci=[low_s / p, high_s / p],
                             karp_flatt=stats.karp_flatt(s, p))
            if own:
                s, low_s, high_s = stats.ratio_of_medians(own, run.real_times)
                point.update(self_speedup=s, self_speedup_ci=[low_s, high_s],
                             self_efficiency=stats.efficiency(s, p))
        for key in ("answer", "true_serial_fraction", "task_us", "task_us_actual", "items_per_second",
                    "bytes_per_second", "working_set_bytes"):
            value = run.counter(key)
            if value is not None:
                point[key] = value
        points.append(point)
    return points


def karp_flatt_estimate(t1: list[float], tp: list[float], p: int) -> tuple[float, list[float]]:
    """Karp-Flatt e at p from the self-speedup T(1) / T(p), with the interval carried over from
    the bootstrap interval of that ratio (e falls as the speedup grows)."""
    s, low, high = stats.ratio_of_medians(t1, tp)
    return stats.karp_flatt(s, p), sorted([stats.karp_flatt(high, p), stats.karp_flatt(low, p)])


def build_fits(results: ResultSet, physical: int, limits: dict | None = None) -> list[dict]:
    """Per (cpu or memory workload, model, n): an Amdahl fit where the data can decide one,
    else the Karp-Flatt estimate (method says which); models limited by design are left out."""
    limits = limits or empty_limits()
    groups: dict[tuple, list[Run]] = defaultdict(list)
    for run in results.workload_runs():
        workload, model = run.parts
        if run.weak or is_baseline(model) or not run.real_times:
            continue
        category = results.categories.get(workload, "cpu")
        if category not in ("cpu", "memory"):
            continue  # I/O workloads: p is concurrency, Amdahl does not apply
        if limit_of(limits, workload, model, category, 2):
            continue  # serial by design: nothing to fit
        groups[(workload, model, int(run.args["n"]))].append(run)
    fits = []
    for (workload, model, n), runs in sorted(groups.items()):
        usable = sorted((r for r in runs if r.args["p"] <= physical), key=lambda r: r.args["p"])
        levels = [int(r.args["p"]) for r in usable]
        if len(usable) < 2 or levels[0] != 1:
            continue
        record = {"workload": workload, "model": model, "n": n,
                  "true_serial_fraction": runs[0].counter("true_serial_fraction"),
                  "distinct_p": len(levels), "max_p": levels[-1]}
        if len(levels) >= MIN_FIT_LEVELS:
            ps = [r.args["p"] for r in usable for _ in r.real_times]
            times = [t for r in usable for t in r.real_times]
            fit = stats.fit_amdahl(ps, times)
            record.update(fitted=True, method="Amdahl fit",
                          serial_fraction=fit["serial_fraction"], serial_fraction_ci=fit["serial_fraction_ci"],
                          t1_s=fit["t1"], points=fit["points"])
        else:
            e, interval = karp_flatt_estimate(usable[0].real_times, usable[-1].real_times, levels[-1])
            record.update(fitted=False, method=f"Karp-Flatt at p = {levels[-1]}",
                          reason=f"not fitted: {len(levels)} distinct p up to the {physical} physical cores "
                                 f"(a fit of 2 parameters needs {MIN_FIT_LEVELS})",
                          serial_fraction=e, serial_fraction_ci=interval,
                          t1_s=stats.median(usable[0].real_times), points=sum(len(r.real_times) for r in usable))
        fits.append(record)
    return fits


def build_gustafson(points: list[dict]) -> list[dict]:
    weak = [p for p in points if p["scaling"] == "weak"]
    base = {(p["workload"], p["model"], p["weak_base_n"]): p["median_s"] for p in weak if p["p"] == 1}
    rows = []
    for point in weak:
        t1 = base.get((point["workload"], point["model"], point["weak_base_n"]))
        if t1 is None or point["p"] == 1:
            continue
        scaled = stats.gustafson_scaled_speedup(t1, point["median_s"], point["p"])
        rows.append({"workload": point["workload"], "model": point["model"],
                     "base_n": point["weak_base_n"], "n": point["n"], "p": point["p"],
                     "scaled_speedup": scaled,
                     "serial_fraction": stats.gustafson_serial_fraction(scaled, point["p"]),
                     "limit": point.get("limit")})
    # One p besides p = 1 makes the serial fraction an exact solve of S = p - s (p - 1), not an
    # estimate from a trend: each row says from how many p its line is drawn.
    levels: dict[tuple, set] = defaultdict(set)
    for row in rows:
        levels[(row["workload"], row["model"], row["base_n"])].add(row["p"])
    for row in rows:
        row["distinct_p"] = len(levels[(row["workload"], row["model"], row["base_n"])]) + 1
    return rows


def build_metg(points: list[dict]) -> tuple[list[dict], list[dict]]:
    """METG(50%) per model and p, on each task's measured length (task_us_actual, the task
    body timed back to back when the instance was prepared; the nominal n where absent)."""
    curves: dict[tuple, list[tuple[float, float]]] = defaultdict(list)
    limited: dict[tuple, str] = {}
    for point in points:
        if (point["workload"] == "granularity" and point["scaling"] == "strong"
                and not is_baseline(point["model"]) and "efficiency" in point):
            if point.get("limit"):
                limited[(point["model"], point["p"])] = point["limit"]
                continue
            length = point.get("task_us_actual") or point["n"] / 1000.0
            curves[(point["model"], point["p"])].append((length, point["efficiency"]))
    metg_rows, curve_rows = [], []
    for (model, p), reason in sorted(limited.items()):
        if (model, p) not in curves:
            metg_rows.append({"model": model, "p": p, "metg_us": None, "how": "n/a: serial by design",
                              "limit": reason})
    for (model, p), pairs in sorted(curves.items()):
        pairs.sort()
        value, how = stats.metg([d for d, _ in pairs], [e for _, e in pairs], 0.5)
        metg_rows.append({"model": model, "p": p, "metg_us": value, "how": how})
        curve_rows.append({"model": model, "p": p, "task_us": [d for d, _ in pairs],
                           "efficiency": [e for _, e in pairs]})
    metg_rows.sort(key=lambda r: (r["model"], r["p"]))
    return metg_rows, curve_rows


def build_task_lengths(points: list[dict]) -> list[dict]:
    """Per track and granularity size: the nominal task length beside the measured one (median
    over the families that ran it, and their range), and actual / nominal. The tracks apart:
    the Python spin is another loop with its own calibration."""
    by_n: dict[tuple, list[float]] = defaultdict(list)
    for point in points:
        if point["workload"] == "granularity" and point.get("task_us_actual"):
            by_n[(track_of(point["model"]), point["n"])].append(point["task_us_actual"])
    rows = []
    for (track, n), values in sorted(by_n.items()):
        actual = stats.median(values)
        rows.append({"track": track, "nominal_us": n / 1000.0, "actual_us": actual, "actual_min_us": min(values),
                     "actual_max_us": max(values), "ratio": actual / (n / 1000.0),
                     "measurements": len(values)})
    return rows


def spawn_workloads(results: ResultSet) -> set[str]:
    """Workloads that measure spawning per task (granularity): their verdict is METG."""
    names = {k.split(":", 1)[1] for context in results.contexts.values() for k in context
             if k.startswith("spawn_tasks:")}
    return names or {"granularity"}


def build_task_spawn(results: ResultSet) -> dict[str, str]:
    """How each model spawns a task (or 'none: why not'), from the binary's context."""
    return {k.split(":", 1)[1]: v for context in results.contexts.values()
            for k, v in context.items() if k.startswith("task_spawn:") and isinstance(v, str)}


def build_disturbance(sweep: dict) -> list[dict]:
    """Per family run of the sweep: the CPU stolen and taken by other processes while it ran
    (fractions of the machine's CPU capacity) and how many attempts it took."""
    rows = []
    for family in sweep.get("families", []):
        figures = family.get("disturbance") or {}
        rows.append({"family": family.get("family"), "weak": bool(family.get("weak")),
                     "omp_wait": family.get("omp_wait", ""), "status": family.get("status"),
                     "steal": figures.get("steal"), "other": figures.get("other"),
                     "total": figures.get("total"), "attempts": len(family.get("attempts", [])) or 1,
                     "reproduced": bool(family.get("disturbance_reproduced")),
                     "attempt_totals": [(a.get("disturbance") or {}).get("total")
                                        for a in family.get("attempts", [])]})
    return rows


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


def build_ipc(primitives: list[dict]) -> list[dict]:
    """ipc/<mechanism>/<mode>/size:<B>: time per message (stream) or round trip (pingpong)."""
    rows = []
    for row in primitives:
        parts = row["family"].split("/")
        if parts[0] != "ipc" or len(parts) != 3 or "size" not in row["args"]:
            continue
        rows.append({"mechanism": parts[1], "mode": parts[2], "size": int(row["args"]["size"]),
                     "us_per_message": row["median_s"] * 1e6,
                     "bytes_per_second": row["counters"].get("bytes_per_second"),
                     "messages_per_second": row["counters"].get("messages_per_second")})
    return sorted(rows, key=lambda r: (r["mode"], r["mechanism"], r["size"]))


def build_mpi(primitives: list[dict]) -> list[dict]:
    """mpi/<benchmark>/size:<B>/ranks:<R>: median time per iteration (a round trip for latency),
    one-way latency (median, p99) and bandwidth; launched: the ranks were one mpirun job."""
    rows = []
    for row in primitives:
        parts = row["family"].split("/")
        if parts[0] != "mpi" or len(parts) != 2:
            continue
        counters = row["counters"]
        rows.append({"benchmark": parts[1], "size": int(row["args"].get("size", 0)),
                     "ranks": int(row["args"].get("ranks", counters.get("ranks") or 2)),
                     "us_per_iteration": row["median_s"] * 1e6,
                     "one_way_us": counters.get("one_way_us"),
                     "one_way_p99_us": counters.get("one_way_p99_us"),
                     "bytes_per_second": counters.get("bytes_per_second"),
                     "launched": bool(counters.get("mpi_launched"))})
    return sorted(rows, key=lambda r: (r["benchmark"], r["ranks"], r["size"]))


def build_psync(primitives: list[dict]) -> list[dict]:
    rows = []
    for row in primitives:
        if not row["family"].startswith("psync/"):
            continue
        args = ", ".join(f"{k}={format_arg(v)}" for k, v in row["args"].items())
        rows.append({"benchmark": row["family"] + (f" ({args})" if args else ""),
                     "us_per_iteration": row["median_s"] * 1e6,
                     "ns_per_op": row["counters"].get("ns_per_op"), "cv": row["cv"]})
    return rows


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


def _contenders(points: list[dict], cores: int, skip: set[str] = frozenset()) -> dict[tuple, dict]:
    """Per workload (at its largest size) the points that compete for the verdict, and the ones
    left out."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for point in points:
        if point["scaling"] != "strong" or not point.get("times_s") or point["workload"] in skip:
            continue
        n = point.get("requests_per_slot", point["n"]) if point["category"] == IO_CATEGORY else point["n"]
        # C++ and Python models compete within their own track (their sizes and baselines differ)
        groups[(point["workload"], track_of(point["model"]), n)].append(point)
    largest = {}
    for workload, track, n in groups:
        largest[(workload, track)] = max(largest.get((workload, track), 0), n)
    groups = {key: group for key, group in groups.items() if key[2] == largest[key[:2]]}
    chosen = {}
    for key, group in sorted(groups.items()):
        category = group[0]["category"]
        contenders, excluded = {}, {}
        if category == IO_CATEGORY:
            p = None  # each model at its best throughput
            for point in group:
                best = contenders.get(point["model"])
                if best is None or point.get("throughput", 0) > best.get("throughput", 0):
                    contenders[point["model"]] = point
        else:
            p = choose_p({q["p"] for q in group}, cores)
            for point in group:
                if is_baseline(point["model"]) and point["p"] == 1:
                    contenders[point["model"]] = point
                elif point["p"] == p:
                    if point.get("limit"):
                        excluded[point["model"]] = point["limit"]
                    else:
                        contenders[point["model"]] = point
        chosen[key] = {"category": category, "p": p, "contenders": contenders, "excluded": excluded}
    return chosen


def build_verdicts(points: list[dict], cores: int, noise: float, skip: set[str] = frozenset()) -> list[dict]:
    """One verdict per workload: see VERDICT_METHOD. skip: workloads whose verdict is elsewhere
    (granularity: METG)."""
    rows = []
    for (workload, track, n), group in _contenders(points, cores, skip).items():
        ranked = sorted(group["contenders"].values(), key=lambda q: stats.median(_per_unit(q)))
        if not ranked:
            continue
        best = ranked[0]
        row = {"workload": workload, "track": track, "n": n, "category": group["category"], "p": group["p"],
               "best": best["model"], "best_p": best["p"], "best_median_s": best["median_s"],
               "excluded": [{"model": m, "reason": r} for m, r in sorted(group["excluded"].items())],
               "others": []}
        for other in ranked[1:]:
            comparison = stats.compare_samples(_per_unit(best), _per_unit(other))
            threshold = max(noise, best["cv"], other["cv"])
            row["others"].append({"model": other["model"], "p": other["p"], "median_s": other["median_s"],
                                  "ratio": comparison["ratio"], "ci": comparison["ci"],
                                  "p_value": comparison["p_value"], "noise": threshold})
        rows.append(row)
    # Holm over the workloads: one test each, the fastest against the runner-up.
    tested = [r for r in rows if r["others"]]
    adjusted = stats.holm([r["others"][0]["p_value"] for r in tested])
    for row, p_adjusted in zip(tested, adjusted):
        runner = row["others"][0]
        row.update(runner_up=runner["model"], ratio=runner["ratio"], ci=runner["ci"],
                   p_value=runner["p_value"], p_adjusted=p_adjusted, noise=runner["noise"])
        won = stats.decide(runner, p_adjusted, runner["noise"])
        row["verdict"] = "win" if won else "tie"
        # The tie: every model that cannot be told apart from the fastest.
        row["tied"] = [row["best"]] + ([] if won else [
            o["model"] for o in row["others"]
            if o["ci"][0] <= 1.0 or o["ratio"] - 1.0 <= o["noise"] or o is runner])
    for row in rows:
        if not row["others"]:
            row.update(verdict="only", tied=[row["best"]])
    return rows


def build_suspicious(points: list[dict], noise: float, spawning: set[str] = frozenset()) -> list[dict]:
    """Values that should not happen if the measurement is sound, each with its likely cause:
    efficiency above 1 (beyond its interval), a negative Karp-Flatt, a serial baseline slower
    than a model at p = 1, and self-speedup that disagrees with speedup (not on the workloads
    that spawn a task per item, `spawning`: there a model's p = 1 pays its spawn cost by design,
    and the METG table is their figure). The cause is a class shared by many flags; each
    flag's own figures are in its detail."""
    flags = []
    slow_baselines = set()
    p1 = {(q["workload"], q["model"], q["n"]): q for q in points
          if q["scaling"] == "strong" and q["p"] == 1 and q["category"] != IO_CATEGORY}
    for (workload, model, n), point in sorted(p1.items()):
        serial = p1.get((workload, baseline_of(model), n))
        if is_baseline(model) or serial is None:
            continue
        ratio, low, high = stats.ratio_of_medians(point["times_s"], serial["times_s"])
        if high < 1.0 and 1.0 - ratio > max(noise, point["cv"], serial["cv"]):
            slow_baselines.add((workload, model, n))
            flags.append({"kind": "baseline slower than p = 1", "workload": workload, "model": model, "n": n,
                          "p": 1, "value": ratio, "ci": [low, high], "severity": 1.0 - ratio,
                          "detail": f"{model} at p = 1 takes {ratio:.3g}x the {baseline_of(model)} model's time",
                          "cause": "the same kernel ran faster on the model than on the serial baseline: "
                                   "placement or cache state differ between the two processes, and every "
                                   "speedup of this workload on this model is inflated by it"})
    for point in points:
        if point["scaling"] != "strong" or point["category"] == IO_CATEGORY or point["p"] <= 1:
            continue
        base = {"workload": point["workload"], "model": point["model"], "n": point["n"], "p": point["p"]}
        key = (point["workload"], point["model"], point["n"])
        own = p1.get(key)
        self_superlinear = (point.get("self_speedup") is not None
                            and point["self_speedup"] / point["p"] > 1.0 + max(noise, point["cv"]))
        why = ""
        if key in slow_baselines:
            serial = p1[(point["workload"], baseline_of(point["model"]), point["n"])]
            cause = "the serial baseline is slower than this model at p = 1"
            why = f"; serial {units.seconds(serial['median_s'])} vs {units.seconds(own['median_s'])} at p = 1"
        elif self_superlinear:
            cause = ("superlinear against the model's own p = 1 too: each worker's share fits a cache level the "
                     "one-worker run's data did not, or the CPUs ran at unequal speeds (on a VM, one vCPU "
                     "slowed by a busy host sibling while the p = 1 run used it; ./parbench check measures this "
                     "as the machine ceiling)")
            why = f"; self-efficiency {point['self_speedup'] / point['p']:.3g}"
        else:
            cause = ("superlinear against the serial baseline only: the serial run was slower than the model's "
                     "own p = 1 (disturbed, or on a slower CPU)")
        efficiency_ci = point.get("efficiency_ci")
        if efficiency_ci and efficiency_ci[0] > 1.0:
            flags.append({**base, "kind": "efficiency above 1", "value": point["efficiency"], "ci": efficiency_ci,
                          "severity": point["efficiency"] - 1.0,
                          "detail": f"efficiency {point['efficiency']:.3g} at p = {point['p']}{why}",
                          "cause": cause})
        if point.get("karp_flatt") is not None and efficiency_ci and efficiency_ci[0] > 1.0:
            flags.append({**base, "kind": "negative Karp-Flatt", "value": point["karp_flatt"], "ci": None,
                          "severity": -point["karp_flatt"],
                          "detail": f"e = {point['karp_flatt']:.3g} at p = {point['p']}{why}", "cause": cause})
        if (point.get("speedup") and point.get("self_speedup") and not point.get("limit")
                and key not in slow_baselines and point["workload"] not in spawning):
            disagreement = point["self_speedup"] / point["speedup"] - 1.0
            if abs(disagreement) > max(0.05, noise):
                flags.append({**base, "kind": "self-speedup disagrees", "value": point["self_speedup"],
                              "ci": point.get("self_speedup_ci"), "severity": abs(disagreement),
                              "detail": f"speedup vs serial {point['speedup']:.3g}, vs itself at p = 1 "
                                        f"{point['self_speedup']:.3g}",
                              "cause": "the model's p = 1 differs from the serial baseline (its own cost at "
                                       "p = 1, or a baseline measured under other conditions)"})
    return flags


def build_memory(points: list[dict], env: dict) -> list[dict]:
    """Memory-bound workloads: bandwidth (GB/s) per model at p = cores and 1, and the working set
    against the last-level cache (a working set that fits measures the cache, not memory)."""
    llc = None
    for cache in (env.get("cpu") or {}).get("caches", []) or []:
        size = units.parse_cache_size(cache.get("size"))
        if size and cache.get("type") in ("Unified", "Data"):
            llc = max(llc or 0, size)
    rows = []
    for point in points:
        if point["category"] != "memory" or point["scaling"] != "strong":
            continue
        working_set = point.get("working_set_bytes")
        rows.append({"workload": point["workload"], "model": point["model"], "n": point["n"], "p": point["p"],
                     "bytes_per_second": point.get("bytes_per_second"), "working_set_bytes": working_set,
                     "llc_bytes": llc, "fits_llc": bool(working_set and llc and working_set <= llc),
                     "limit": point.get("limit")})
    return rows


def build_io(points: list[dict]) -> list[dict]:
    """Per I/O workload and model: the best throughput, the concurrency it was
    reached at, and the concurrency reached (throughput / serial throughput:
    how many requests were effectively in flight), best model first."""
    best: dict[tuple, dict] = {}
    for point in points:
        if point["category"] != IO_CATEGORY or not point.get("throughput"):
            continue
        key = (point["workload"], point["model"])
        if key not in best or point["throughput"] > best[key]["throughput"]:
            best[key] = point
    rows = []
    for (workload, model), point in best.items():
        rows.append({"workload": workload, "model": model, "best_p": point["p"],
                     "throughput": point["throughput"],
                     "concurrency_reached": point.get("speedup"),
                     "efficiency_at_best": point.get("efficiency"),
                     "max_p": max(q["p"] for q in points if q["workload"] == workload and q["model"] == model)})
    return sorted(rows, key=lambda r: (r["workload"], -r["throughput"]))


def build_warnings(points, env, sweep, physical, threads, primitives, directory: Path) -> list[str]:
    warnings = []
    governor = env.get("cpu", {}).get("governor", "unknown") if env else "unknown"
    if governor != "performance":
        warnings.append(f"CPU frequency governor is '{governor}', not 'performance': "
                        "clock changes can add noise")
    noisy = [p for p in points if p["cv"] > CV_WARNING]
    if noisy:
        worst = max(noisy, key=lambda p: p["cv"])
        warnings.append(f"{len(noisy)} of {len(points)} points have a CV above {CV_WARNING:.0%} "
                        f"(worst: {worst['workload']}/{worst['model']} p={worst['p']}, "
                        f"CV {worst['cv']:.1%})")
    load = env.get("load_average", {}) if env else {}
    for when in ("before", "after"):
        value = load.get(when)
        if isinstance(value, list) and value and value[0] > 0.5 * threads:
            warnings.append(f"load average {when} the sweep was {value[0]:.2f} on {threads} hardware "
                            "threads: other work may have disturbed the run")
    over = sorted({p["p"] for p in points if p["oversubscribed"]})
    if over:
        warnings.append(f"points at p = {', '.join(map(str, over))} are oversubscribed "
                        f"(more workers than the {threads} hardware threads)")
    for file in missing_raw_files(directory, sweep):
        warnings.append(f"{file} is missing: its family's points are not in this analysis "
                        "(./parbench sweep --resume runs it again)")
    failed = [f for f in sweep.get("families", []) if f.get("status") != "ok"]
    for family in failed:
        wait = f" (wait:{family['omp_wait']})" if family.get("omp_wait") else ""
        warnings.append(f"family {family['family']}{wait} {family.get('status')}: {family.get('message', '')}")
    limit = (sweep.get("config") or {}).get("disturbance_max")
    disturbed = [f for f in sweep.get("families", [])
                 if isinstance(limit, (int, float)) and ((f.get("disturbance") or {}).get("total") or 0) > limit]
    for own, label in ((False, "other work on the machine may have slowed them"),
                       (True, "as disturbed on a re-run: the families' own pattern (waking idle vCPUs is "
                              "counted as steal), part of what they measure on this VM")):
        group = [f for f in disturbed if bool(f.get("disturbance_reproduced")) == own]
        if group:
            worst = max(group, key=lambda f: f["disturbance"]["total"])
            warnings.append(f"{len(group)} famil{'y' if len(group) == 1 else 'ies'} disturbed above {limit:.0%} "
                            f"of the CPU capacity (worst: {worst['family']}, {worst['disturbance']['total']:.0%}): "
                            + label)
    unverified = [p for p in points if not p["verified"]]
    if unverified:
        warnings.append(f"{len(unverified)} points carry no 'verified' counter")
    if physical != threads:
        warnings.append(f"{physical} physical cores but {threads} hardware threads (SMT): "
                        "Amdahl fits use p <= physical cores")
    return warnings


def find_previous(directory: Path, env: dict, sweep: dict) -> list[Path]:
    """The complete sweeps before this one of the same machine (host name and CPU model) and
    the same config, under the repository's results/ or beside DIR, latest first."""
    started = sweep.get("started")
    config = (sweep.get("config") or {}).get("name")
    if not started or not config:
        return []
    here = directory.resolve()
    roots = {REPO_ROOT / "results", here.parent}
    found: list[tuple[str, Path]] = []
    for root in roots:
        try:
            candidates = [c for c in root.iterdir() if c.is_dir()]
        except OSError:
            continue
        for candidate in candidates:
            if candidate.resolve() == here:
                continue
            try:  # another folder's records, checked as this one's are: a bad one is no candidate
                other, other_env = read_state(candidate), read_env(candidate)
            except UserError:
                continue
            if (other.get("status") != "complete" or (other.get("config") or {}).get("name") != config
                    or not isinstance(other.get("started"), str) or other["started"] >= started
                    or other_env.get("hostname") != env.get("hostname")
                    or (other_env.get("cpu") or {}).get("model") != (env.get("cpu") or {}).get("model")):
                continue
            found.append((other["started"], candidate))
    return [path for _, path in sorted(found, reverse=True)]


def _point_key(point: dict) -> tuple:
    return point["workload"], point["model"], point["n"], point["p"], point["scaling"]


def build_vs_previous(analysis: dict, previous: dict, previous_dir: Path) -> dict:
    """This run against the previous one: each verdict's fastest model, the overheads and the
    I/O throughputs, as now / before with an interval and Welch's p corrected (Holm) over all of
    them. ratio > 1: slower now (throughput rows: fewer requests per second now)."""
    before = {_point_key(p): p for p in previous.get("points", []) if p.get("times_s")}
    rows = []
    for verdict in analysis["verdicts"]:
        point = next((p for p in analysis["points"] if p["workload"] == verdict["workload"]
                      and p["model"] == verdict["best"] and p["p"] == verdict["best_p"] and p["scaling"] == "strong"
                      and (p["n"] == verdict["n"] or p.get("requests_per_slot") == verdict["n"])), None)
        old = before.get(_point_key(point)) if point else None
        if point and old:
            track = track_label(verdict.get("track", ""))
            label = verdict["workload"] + (f" ({track})" if track else "")
            rows.append({"kind": "verdict", "subject": f"{label}: {verdict['best']} at p = {point['p']}",
                         "workload": label, **stats.compare_samples(old["times_s"], point["times_s"]),
                         "now": point["median_s"], "before": old["median_s"], "unit": "s"})
    old_overhead = {(o["kind"], o["model"], o["p"]): o for o in previous.get("overhead", []) if o.get("values")}
    for row in analysis["overhead"]:
        old = old_overhead.get((row["kind"], row["model"], row["p"]))
        if old and row.get("values"):
            rows.append({"kind": "overhead", "subject": f"overhead/{row['kind']}/{row['model']} p = {row['p']}",
                         **stats.compare_samples(old["values"], row["values"]),
                         "now": row["ns"], "before": old["ns"], "unit": "ns"})
    for row in analysis["io"]:
        point = next((p for p in analysis["points"] if p["workload"] == row["workload"] and p["model"] == row["model"]
                      and p["p"] == row["best_p"] and p["scaling"] == "strong"), None)
        old = before.get(_point_key(point)) if point else None
        if point and old:
            rows.append({"kind": "io", "subject": f"{row['workload']}: {row['model']} at p = {row['best_p']}",
                         **stats.compare_samples(old["times_s"], point["times_s"]),
                         "now": point.get("throughput"), "before": old.get("throughput"), "unit": "requests/s"})
    adjusted = stats.holm([r["p_value"] for r in rows])
    for row, p_adjusted in zip(rows, adjusted):
        row["p_adjusted"] = p_adjusted
        row["significant"] = stats.decide(row, p_adjusted, analysis["noise"])
    metg_before = {(m["model"], m["p"]): m for m in previous.get("metg", [])}
    metg = [{"model": m["model"], "p": m["p"], "now": m["metg_us"],
             "before": metg_before.get((m["model"], m["p"]), {}).get("metg_us")}
            for m in analysis["metg"] if (m["model"], m["p"]) in metg_before]
    return {"directory": str(previous_dir), "started": previous.get("started"), "rows": rows, "metg": metg}


def analyze(directory: Path, replacements: dict[str, Path] | None = None,
            baseline: Path | None = None, with_previous: bool = True, changed: list | None = None) -> dict:
    """The analysis of DIR's raw files; replacements maps a raw file's name to another file to
    read in its place (check's re-measurements); baseline names the run to compare with (default:
    find_previous); with_previous=False skips that comparison. A raw file changed since the
    sweep wrote it is refused, or with `changed` (a list) left out and named there."""
    files = [(replacements or {}).get(f.name, f) for f in result_files(directory, changed)]
    results = load_results(files)
    if not results.workload_runs() and not any(
            r.family.startswith(p) for r in results.runs.values() for p in ("overhead/",)):
        if not results.runs:
            raise UserError(f"{directory}: no benchmarks in the JSON files")
    if not any(r.real_times for r in results.runs.values()) and not any(
            r.errors for r in results.runs.values()):
        raise UserError(f"{directory}: no parbench benchmarks with timings")
    parbench_like = results.workload_runs() or any(
        r.family.startswith(("overhead/", "sync/", "queue/", "spawn/", "timer/", "ipc/", "psync/", "mpi/", "py/"))
        for r in results.runs.values())
    if not parbench_like:
        raise UserError(f"{directory}: no parbench benchmarks (names like <workload>/<model>/n:<N>/p:<P>)")
    env = read_env(directory)
    sweep = read_state(directory)
    physical, threads = machine_cores(env, results)
    limits = model_limits(results)
    points = build_points(results, physical, threads, limits)
    noise = sweep_noise(points)
    primitives = build_primitives(results)
    metg_rows, curves = build_metg(points)
    primitive_tables = build_primitive_tables(primitives)
    errors = [{"benchmark": r.run_name, "errors": sorted(set(r.errors))}
              for r in results.runs.values() if r.errors]
    analysis = {
        "parbench_analysis": 1,
        "directory": str(directory),
        "started": sweep.get("started"),
        "cores": {"physical": physical, "hardware_threads": threads},
        "baseline": BASELINE_STATEMENT,
        "amdahl_fit_method": AMDAHL_METHOD,
        "verdict_method": VERDICT_METHOD,
        "noise": noise,
        "limits": {"cpu": limits["cpu"], "fork_join": limits["fork_join"],
                   "fork_join_workloads": sorted(limits["fork_join_workloads"])},
        "points": points,
        "fits": build_fits(results, physical, limits),
        "gustafson": build_gustafson(points),
        "metg": metg_rows,
        "metg_method": METG_STATEMENT,
        "granularity_curves": curves,
        "task_lengths": build_task_lengths(points),
        "task_spawn": build_task_spawn(results),
        "disturbance": build_disturbance(sweep),
        "disturbance_max": (sweep.get("config") or {}).get("disturbance_max"),
        "overhead": build_overhead(primitives),
        "idle": build_idle(primitives),
        "ipc": build_ipc(primitives),
        "mpi": build_mpi(primitives),
        "psync": build_psync(primitives),
        "model_notes": {k.split(":", 1)[1]: v for context in results.contexts.values()
                        for k, v in context.items() if k.startswith("model_note:")},
        "primitives": primitives,
        "verdicts": build_verdicts(points, physical, noise, spawn_workloads(results)),
        "suspicious": build_suspicious(points, noise, spawn_workloads(results)),
        "memory": build_memory(points, env),
        "primitive_tables": primitive_tables,
        "primitive_findings": build_primitive_findings(primitive_tables, threads),
        "io_method": IO_STATEMENT,
        "io": build_io(points),
        "errors": errors,
        "failures": [f for f in sweep.get("families", []) if f.get("status") != "ok"],
        "warnings": build_warnings(points, env, sweep, physical, threads, primitives, directory),
        "previous": None,
    }
    # The Python track's cross-language table, rules of thumb and primitive pairs (None without it).
    analysis["python"] = python_track.build(points, primitives, results.contexts, physical, noise)
    if with_previous:
        analysis["previous"] = _vs_previous(analysis, directory, env, sweep, baseline)
    return analysis


def _vs_previous(analysis: dict, directory: Path, env: dict, sweep: dict, baseline: Path | None) -> dict | None:
    """The comparison with --baseline, else with the latest earlier sweep that can be analysed
    (one whose files are damaged or changed is passed over, and said so)."""
    if baseline is not None:
        try:
            return build_vs_previous(analysis, analyze(baseline, with_previous=False), baseline)
        except UserError as error:
            raise UserError(f"baseline {baseline}: {error}") from None
    passed_over = []
    for candidate in find_previous(directory, env, sweep):
        try:
            previous = analyze(candidate, with_previous=False)
        except UserError as error:
            passed_over.append(f"{candidate.name} ({str(error).split(': ', 1)[-1][:120]})")
            continue
        comparison = build_vs_previous(analysis, previous, candidate)
        if passed_over:
            comparison["passed_over"] = passed_over
        return comparison
    if passed_over:
        analysis["warnings"].append("no earlier sweep to compare with: " + "; ".join(passed_over[:3])
                                    + " could not be analysed")
    return None


def _clean(value):
    if isinstance(value, float):
        return _round(value, 9)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


# The Python track's tables: CSV name -> (key under analysis["python"], columns).
PYTHON_CSV_TABLES = {
    "python_rules": ("rules", ["rule", "workload", "figure", "n", "value", "ci", "threshold", "verdict"]),
    "cross_language": ("cross_language", ["workload", "n", "category", "cpp_s", "python_s", "ratio", "ratio_ci",
                                          "same_answer"]),
    "python_primitives": ("primitive_pairs", ["python", "summary", "metric", "python_value", "cpp", "cpp_value",
                                              "ratio", "ratio_ci"]),
    "python_interpreters": ("interpreters", ["track", "python_version", "python_executable", "python_free_threaded",
                                             "python_gil_setting", "python_gil_enabled", "workload", "n", "p",
                                             "serial_s", "serial_ratio", "serial_ratio_ci", "py_threads",
                                             "py_threads_ci", "py_process_pool", "py_process_pool_ci", "gil_rule"]),
}
CSV_TABLES = {
    "points": ["workload", "model", "category", "scaling", "n", "p", "repetitions", "median_s",
               "ci_low_s", "ci_high_s", "cv", "speedup", "speedup_ci", "efficiency", "self_speedup",
               "self_efficiency", "karp_flatt", "throughput", "bytes_per_second", "oversubscribed",
               "limit", "verified"],
    "fits": ["workload", "model", "n", "method", "fitted", "distinct_p", "true_serial_fraction",
             "serial_fraction", "serial_fraction_ci", "t1_s", "points", "max_p", "reason"],
    "gustafson": ["workload", "model", "base_n", "n", "p", "distinct_p", "scaled_speedup", "serial_fraction",
                  "limit"],
    "metg": ["model", "p", "metg_us", "how"],
    "overhead": ["kind", "model", "wait", "p", "metric", "ns", "ci"],
    "idle": ["model", "wait", "p", "cpu_share", "ci"],
    "verdicts": ["workload", "track", "n", "category", "p", "verdict", "best", "best_p", "best_median_s", "runner_up",
                 "ratio", "ci", "p_value", "p_adjusted", "noise", "tied"],
    "suspicious": ["kind", "workload", "model", "n", "p", "value", "ci", "detail", "cause"],
    "memory": ["workload", "model", "n", "p", "bytes_per_second", "working_set_bytes", "llc_bytes", "fits_llc",
               "limit"],
    "ipc": ["mechanism", "mode", "size", "us_per_message", "bytes_per_second", "messages_per_second"],
    "psync": ["benchmark", "us_per_iteration", "ns_per_op", "cv"],
    "mpi": ["benchmark", "size", "ranks", "us_per_iteration", "one_way_us", "one_way_p99_us", "bytes_per_second",
            "launched"],
    "io": ["workload", "model", "best_p", "throughput", "concurrency_reached", "efficiency_at_best", "max_p"],
    "task_lengths": ["track", "nominal_us", "actual_us", "actual_min_us", "actual_max_us", "ratio", "measurements"],
    "disturbance": ["family", "weak", "omp_wait", "status", "steal", "other", "total", "attempts"],
}


VS_PREVIOUS_COLUMNS = ["kind", "subject", "before", "now", "unit", "ratio", "ci", "p_value", "p_adjusted",
                       "significant"]


def analysis_digest(analysis: dict) -> str:
    """The analysis's signature under this machine's key (provenance.signature): plot and report
    trust an analysis.json only when analyze wrote it here (a hand-edited or foreign one, even
    with its checksum recomputed, is analysed again from raw/)."""
    from .provenance import signature
    return signature(analysis)


def write_outputs(directory: Path, analysis: dict) -> None:
    analysis = _clean(analysis)
    analysis["sweep_sha256"] = state_digest(directory)  # the state it was made from: stale once that changes
    analysis["digest"] = analysis_digest(analysis)
    atomic_write_text(directory / "analysis.json", json.dumps(analysis, indent=1, sort_keys=False) + "\n")
    tables = dict(CSV_TABLES)
    python = analysis.get("python") or {}
    for table, (key, columns) in PYTHON_CSV_TABLES.items():
        analysis = dict(analysis, **{table: python.get(key) or []})
        tables[table] = columns
    previous_rows = (analysis.get("previous") or {}).get("rows")
    if previous_rows is not None:
        analysis = dict(analysis, vs_previous=previous_rows)
        tables["vs_previous"] = VS_PREVIOUS_COLUMNS
    elif (directory / "vs_previous.csv").exists():  # of an earlier analysis: no longer this one's
        (directory / "vs_previous.csv").unlink()
    for table, columns in tables.items():
        path = directory / f"{table}.csv"
        lines = []

        class _Sink:
            def write(self, text):
                lines.append(text)

        writer = csv.writer(_Sink(), lineterminator="\n")
        writer.writerow(columns)
        for row in analysis[table]:
            writer.writerow(["" if row.get(c) is None else
                             (json.dumps(row[c]) if isinstance(row.get(c), list) else csv_cell(row[c]))
                             for c in columns])
        atomic_write_text(path, "".join(lines))


def csv_cell(value):
    """A CSV cell a spreadsheet shows as text: a string starting with = + - @ (or a tab or
    carriage return) would be run as a formula, so it gets a leading apostrophe. Numbers stay
    numbers."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def main(directory: str, baseline: str | None = None) -> int:
    path = Path(directory)
    analysis = analyze(path, baseline=Path(baseline) if baseline else None)
    write_outputs(path, analysis)
    fitted = sum(1 for f in analysis["fits"] if f.get("fitted"))
    previous = analysis.get("previous")
    print(f"analysis: {len(analysis['points'])} points, {len(analysis['verdicts'])} verdicts, "
          f"{fitted} Amdahl fits ({len(analysis['fits']) - fitted} Karp-Flatt estimates), "
          f"{len(analysis['metg'])} METG values"
          + (f", compared with {previous['directory']}" if previous else "")
          + f" -> {path / 'analysis.json'}")
    return 0
