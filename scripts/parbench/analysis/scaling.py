"""Scaling: one point per workload, model, n and p (speedup, efficiency, Karp-Flatt), Amdahl fits
and Gustafson's scaled speedup."""
from __future__ import annotations

from collections import defaultdict

from .. import stats
from ..gbench import ResultSet, Run
from ..modelnames import baseline_of, is_baseline
from .common import IO_CATEGORY, MIN_FIT_LEVELS, empty_limits, limit_of


# A run's placement counters (the binary's): the distinct CPUs its workers were seen on and the
# CPUs its affinity policy bound them to (bound runs only).
PLACEMENT_COUNTERS = ("cpus_used", "cpus_bound")


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
        for key in PLACEMENT_COUNTERS:  # where the workers ran: the most any repetition saw
            if run.counters.get(key):
                point[key] = max(run.counters[key])
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
                             self_efficiency=stats.efficiency(s, p), self_karp_flatt=stats.karp_flatt(s, p))
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


def _gustafson_expected(point: dict) -> dict:
    """With a configured serial fraction s whose serial part grows with n (the amdahl_*
    workloads), weak scaling to p workers gives S = p / (s p + 1 - s), so Gustafson's
    s_G = p s / (s p + 1 - s): 1/3 for s = 0.2 at p = 2, not s itself."""
    s, p = point.get("true_serial_fraction"), point["p"]
    if s is None:
        return {}
    return {"true_serial_fraction": s, "expected_scaled_speedup": p / (s * p + 1 - s),
            "expected_serial_fraction": p * s / (s * p + 1 - s)}


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
                     "limit": point.get("limit"), **_gustafson_expected(point)})
    # One p besides p = 1 makes the serial fraction an exact solve of S = p - s (p - 1), not an
    # estimate from a trend: each row says from how many p its line is drawn.
    levels: dict[tuple, set] = defaultdict(set)
    for row in rows:
        levels[(row["workload"], row["model"], row["base_n"])].add(row["p"])
    for row in rows:
        row["distinct_p"] = len(levels[(row["workload"], row["model"], row["base_n"])]) + 1
    return rows
