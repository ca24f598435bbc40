"""./parbench analyze DIR: scaling figures from a sweep's raw Google Benchmark JSON.

Writes DIR/analysis.json and CSV tables (points, fits, gustafson, metg,
overhead, primitives, which_model). Pure math lives in stats.py.
"""
from __future__ import annotations

import csv
import json
import math
import os
from collections import defaultdict
from pathlib import Path

from . import UserError, stats
from .gbench import ResultSet, Run, format_arg, load_results
from .util import atomic_write_text

BASELINE_MODEL = "serial"
THREAD_MODELS = ("threads", "pool", "tbb", "openmp")
CV_WARNING = 0.05
AMDAHL_METHOD = ("least squares of T(p) = T1 (s + (1 - s)/p) on the median time at each p, "
                 "fitted on p up to the number of physical cores only (oversubscribed points "
                 "are excluded); 95% interval by percentile bootstrap, resampling the repetitions "
                 "within each p")
BASELINE_STATEMENT = ("speedup is the median time of the `serial` model at the same n divided by "
                      "the model's median time; self-speedup uses the same model at p = 1")
METG_STATEMENT = ("METG(50%): the shortest task length at which a model reaches 50% efficiency "
                  "on the granularity workload, interpolated in log(length) between sweep points; "
                  "lengths are the measured ones (each task body timed back to back on one thread "
                  "when the instance is prepared). Only models that spawn each task take part; "
                  "the others are listed with the reason")
IO_CATEGORY = "io"
IO_STATEMENT = ("I/O workloads: p is concurrency (requests in flight) and n = requests per slot x p; "
                "throughput = n / median time; speedup = throughput / the `serial` model's "
                "throughput (one request at a time); concurrency efficiency = speedup / p; no "
                "Amdahl fit (waiting is not a serial fraction)")


def result_files(directory: Path) -> list[Path]:
    if not directory.exists():
        raise UserError(f"{directory}: no such directory")
    if not directory.is_dir():
        raise UserError(f"{directory}: not a directory")
    raw = directory / "raw"
    files = sorted((raw if raw.is_dir() else directory).glob("*.json"))
    if not files:
        raise UserError(f"{directory}: no Google Benchmark JSON files (expected raw/*.json)")
    return files


def read_json_if_present(path: Path) -> dict:
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise UserError(f"{path}: malformed JSON ({error})") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a JSON object")
    return data


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


def build_points(results: ResultSet, physical: int, threads: int) -> list[dict]:
    runs = [r for r in results.workload_runs() if r.real_times]
    medians = {(r.parts[0], r.parts[1], int(r.args["n"]), int(r.args["p"]), r.weak): stats.median(r.real_times)
               for r in runs}
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
        }
        if point["category"] == IO_CATEGORY:
            point["oversubscribed"] = False  # p is concurrency, not workers
            per_slot = max(1, n // p)
            point["requests_per_slot"] = per_slot
            throughput = n / median if median > 0 else None
            point["throughput"] = throughput
            serial = medians.get((workload, BASELINE_MODEL, per_slot, 1, False))
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
            serial = medians.get((workload, BASELINE_MODEL, n, 1, False))
            own = medians.get((workload, model, n, 1, False))
            if serial:
                s = stats.speedup(serial, median)
                point.update(speedup=s, speedup_ci=[serial / high, serial / low],
                             efficiency=stats.efficiency(s, p), karp_flatt=stats.karp_flatt(s, p))
            if own:
                s = stats.speedup(own, median)
                point.update(self_speedup=s, self_efficiency=stats.efficiency(s, p))
        for key in ("true_serial_fraction", "task_us", "task_us_actual", "items_per_second",
                    "bytes_per_second"):
            value = run.counter(key)
            if value is not None:
                point[key] = value
        points.append(point)
    return points


def build_fits(results: ResultSet, physical: int) -> list[dict]:
    groups: dict[tuple, list[Run]] = defaultdict(list)
    for run in results.workload_runs():
        workload, model = run.parts
        if run.weak or model == BASELINE_MODEL or not run.real_times:
            continue
        if results.categories.get(workload, "cpu") not in ("cpu", "memory"):
            continue  # I/O workloads: p is concurrency, Amdahl does not apply
        groups[(workload, model, int(run.args["n"]))].append(run)
    fits = []
    for (workload, model, n), runs in sorted(groups.items()):
        ps, times = [], []
        for run in runs:
            if run.args["p"] <= physical:
                ps += [run.args["p"]] * len(run.real_times)
                times += run.real_times
        fit = stats.fit_amdahl(ps, times)
        if fit is None:
            continue
        record = {"workload": workload, "model": model, "n": n,
                  "true_serial_fraction": runs[0].counter("true_serial_fraction"),
                  "serial_fraction": fit["serial_fraction"],
                  "serial_fraction_ci": fit["serial_fraction_ci"],
                  "t1_s": fit["t1"], "points": fit["points"], "max_p": int(max(ps))}
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
                     "serial_fraction": stats.gustafson_serial_fraction(scaled, point["p"])})
    return rows


def build_metg(points: list[dict]) -> tuple[list[dict], list[dict]]:
    """METG(50%) per model and p, on each task's measured length (task_us_actual, the task
    body timed back to back when the instance was prepared; the nominal n where absent)."""
    curves: dict[tuple, list[tuple[float, float]]] = defaultdict(list)
    for point in points:
        if (point["workload"] == "granularity" and point["scaling"] == "strong"
                and point["model"] != BASELINE_MODEL and "efficiency" in point):
            length = point.get("task_us_actual") or point["n"] / 1000.0
            curves[(point["model"], point["p"])].append((length, point["efficiency"]))
    metg_rows, curve_rows = [], []
    for (model, p), pairs in sorted(curves.items()):
        pairs.sort()
        value, how = stats.metg([d for d, _ in pairs], [e for _, e in pairs], 0.5)
        metg_rows.append({"model": model, "p": p, "metg_us": value, "how": how})
        curve_rows.append({"model": model, "p": p, "task_us": [d for d, _ in pairs],
                           "efficiency": [e for _, e in pairs]})
    return metg_rows, curve_rows


def build_task_lengths(points: list[dict]) -> list[dict]:
    """Per granularity size: the nominal task length beside the measured one (median over the
    families that ran it, and their range), and actual / nominal."""
    by_n: dict[int, list[float]] = defaultdict(list)
    for point in points:
        if point["workload"] == "granularity" and point.get("task_us_actual"):
            by_n[point["n"]].append(point["task_us_actual"])
    rows = []
    for n, values in sorted(by_n.items()):
        actual = stats.median(values)
        rows.append({"nominal_us": n / 1000.0, "actual_us": actual, "actual_min_us": min(values),
                     "actual_max_us": max(values), "ratio": actual / (n / 1000.0),
                     "measurements": len(values)})
    return rows


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
                     "ns_per_latch", "drift_us", "median_late_us")
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
            row.update(metric=metric, value=stats.median(values), ci=[low, high])
        rows.append(row)
    return rows


def build_overhead(primitives: list[dict]) -> list[dict]:
    rows = []
    for row in primitives:
        parts = row["family"].split("/")
        if parts[0] != "overhead" or len(parts) < 3 or "metric" not in row:
            continue
        wait = row["args"].get("wait")  # OpenMP's wait policy, a dimension of its figures
        rows.append({"kind": parts[1], "model": parts[2] + (f" wait:{wait}" if wait else ""),
                     "wait": wait or "", "p": int(row["args"].get("p", 1)),
                     "metric": row["metric"], "ns": row["value"], "ci": row["ci"]})
    return sorted(rows, key=lambda r: (r["kind"], r["model"], r["p"]))


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
    ladder = [(label, _value(tables, family)) for label, family in SPAWN_LADDER]
    ladder = [(label, value) for label, value in ladder if value]
    if len(ladder) >= 2:
        text = " < ".join(f"{label} {value:,.0f} ns" for label, value in ladder)
        inversions = [f"{a} ({va:,.0f} ns) costs more than {b} ({vb:,.0f} ns)"
                      for (a, va), (b, vb) in zip(ladder, ladder[1:]) if va >= vb]
        findings.append("Spawn ladder, expected cheapest first: " + text.replace(" < ", ", ") + ": " +
                        ("monotone, as expected" if not inversions else
                         "NOT monotone here: " + "; ".join(inversions)))
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


def build_which_model(results: ResultSet, cores: int) -> list[dict]:
    by_workload: dict[tuple, dict[str, Run]] = defaultdict(dict)
    ps_available: dict[tuple, set] = defaultdict(set)
    for run in results.workload_runs():
        if run.weak or not run.real_times or results.categories.get(run.parts[0]) == IO_CATEGORY:
            continue  # I/O workloads have their own table (build_io)
        key = (run.parts[0], int(run.args["n"]))
        ps_available[key].add(int(run.args["p"]))
    rows = []
    for key in sorted(ps_available):
        p = choose_p(ps_available[key], cores)
        contenders = {}
        for run in results.workload_runs():
            if run.weak or not run.real_times or (run.parts[0], int(run.args["n"])) != key:
                continue
            model, run_p = run.parts[1], int(run.args["p"])
            if run_p == p or (model == BASELINE_MODEL and run_p == 1):
                contenders[model] = run
        if len(contenders) < 1:
            continue
        ranked = sorted(contenders.items(), key=lambda item: stats.median(item[1].real_times))
        best_model, best = ranked[0]
        row = {"workload": key[0], "n": key[1], "p": p, "best": best_model,
               "best_median_s": stats.median(best.real_times)}
        if len(ranked) > 1:
            runner_model, runner = ranked[1]
            p_value = stats.mann_whitney(best.real_times, runner.real_times)
            row.update(runner_up=runner_model, runner_up_median_s=stats.median(runner.real_times),
                       margin=stats.median(runner.real_times) / row["best_median_s"] - 1,
                       p_value=p_value, significant=p_value < 0.05)
        rows.append(row)
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


def build_warnings(points, env, sweep, physical, threads, primitives) -> list[str]:
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


def analyze(directory: Path, replacements: dict[str, Path] | None = None) -> dict:
    """The analysis of DIR's raw files; replacements maps a raw file's name to another file to
    read in its place (check's re-measurements)."""
    files = [(replacements or {}).get(f.name, f) for f in result_files(directory)]
    results = load_results(files)
    if not results.workload_runs() and not any(
            r.family.startswith(p) for r in results.runs.values() for p in ("overhead/",)):
        if not results.runs:
            raise UserError(f"{directory}: no benchmarks in the JSON files")
    if not any(r.real_times for r in results.runs.values()) and not any(
            r.errors for r in results.runs.values()):
        raise UserError(f"{directory}: no parbench benchmarks with timings")
    parbench_like = results.workload_runs() or any(
        r.family.startswith(("overhead/", "sync/", "queue/", "spawn/", "timer/", "ipc/", "psync/"))
        for r in results.runs.values())
    if not parbench_like:
        raise UserError(f"{directory}: no parbench benchmarks (names like <workload>/<model>/n:<N>/p:<P>)")
    env = read_json_if_present(directory / "env.json")
    sweep = read_json_if_present(directory / "sweep.json")
    physical, threads = machine_cores(env, results)
    points = build_points(results, physical, threads)
    primitives = build_primitives(results)
    metg_rows, curves = build_metg(points)
    primitive_tables = build_primitive_tables(primitives)
    errors = [{"benchmark": r.run_name, "errors": sorted(set(r.errors))}
              for r in results.runs.values() if r.errors]
    return {
        "parbench_analysis": 1,
        "directory": str(directory),
        "cores": {"physical": physical, "hardware_threads": threads},
        "baseline": BASELINE_STATEMENT,
        "amdahl_fit_method": AMDAHL_METHOD,
        "points": points,
        "fits": build_fits(results, physical),
        "gustafson": build_gustafson(points),
        "metg": metg_rows,
        "metg_method": METG_STATEMENT,
        "granularity_curves": curves,
        "task_lengths": build_task_lengths(points),
        "task_spawn": build_task_spawn(results),
        "disturbance": build_disturbance(sweep),
        "disturbance_max": (sweep.get("config") or {}).get("disturbance_max"),
        "overhead": build_overhead(primitives),
        "ipc": build_ipc(primitives),
        "psync": build_psync(primitives),
        "model_notes": {k.split(":", 1)[1]: v for context in results.contexts.values()
                        for k, v in context.items() if k.startswith("model_note:")},
        "primitives": primitives,
        "which_model": build_which_model(results, physical),
        "primitive_tables": primitive_tables,
        "primitive_findings": build_primitive_findings(primitive_tables, threads),
        "io_method": IO_STATEMENT,
        "io": build_io(points),
        "errors": errors,
        "failures": [f for f in sweep.get("families", []) if f.get("status") != "ok"],
        "warnings": build_warnings(points, env, sweep, physical, threads, primitives),
    }


def _clean(value):
    if isinstance(value, float):
        return _round(value, 9)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


CSV_TABLES = {
    "points": ["workload", "model", "category", "scaling", "n", "p", "repetitions", "median_s",
               "ci_low_s", "ci_high_s", "cv", "speedup", "efficiency", "self_speedup",
               "self_efficiency", "karp_flatt", "throughput", "oversubscribed", "verified"],
    "fits": ["workload", "model", "n", "true_serial_fraction", "serial_fraction",
             "serial_fraction_ci", "t1_s", "points", "max_p"],
    "gustafson": ["workload", "model", "base_n", "n", "p", "scaled_speedup", "serial_fraction"],
    "metg": ["model", "p", "metg_us", "how"],
    "overhead": ["kind", "model", "wait", "p", "metric", "ns", "ci"],
    "which_model": ["workload", "n", "p", "best", "best_median_s", "runner_up",
                    "runner_up_median_s", "margin", "p_value", "significant"],
    "ipc": ["mechanism", "mode", "size", "us_per_message", "bytes_per_second", "messages_per_second"],
    "psync": ["benchmark", "us_per_iteration", "ns_per_op", "cv"],
    "io": ["workload", "model", "best_p", "throughput", "concurrency_reached", "efficiency_at_best", "max_p"],
    "task_lengths": ["nominal_us", "actual_us", "actual_min_us", "actual_max_us", "ratio", "measurements"],
    "disturbance": ["family", "weak", "omp_wait", "status", "steal", "other", "total", "attempts"],
}


def write_outputs(directory: Path, analysis: dict) -> None:
    analysis = _clean(analysis)
    atomic_write_text(directory / "analysis.json", json.dumps(analysis, indent=1, sort_keys=False) + "\n")
    for table, columns in CSV_TABLES.items():
        path = directory / f"{table}.csv"
        lines = []

        class _Sink:
            def write(self, text):
                lines.append(text)

        writer = csv.writer(_Sink(), lineterminator="\n")
        writer.writerow(columns)
        for row in analysis[table]:
            writer.writerow(["" if row.get(c) is None else
                             (json.dumps(row[c]) if isinstance(row.get(c), list) else row[c])
                             for c in columns])
        atomic_write_text(path, "".join(lines))


def main(directory: str) -> int:
    path = Path(directory)
    analysis = analyze(path)
    write_outputs(path, analysis)
    print(f"analysis: {len(analysis['points'])} points, {len(analysis['fits'])} Amdahl fits, "
          f"{len(analysis['metg'])} METG values -> {path / 'analysis.json'}")
    return 0
