"""Which model to use per workload: the fastest against the runner-up, a win only when the
corrected test, the interval and the noise all say so."""
from __future__ import annotations

from collections import defaultdict

from .. import stats
from ..modelnames import is_baseline, track_of
from .common import IO_CATEGORY, _per_unit, choose_p


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
        rows.append({"workload": workload, "track": track, "n": n, "category": group["category"], "p": group["p"],
                     "best": best["model"], "best_p": best["p"], "best_median_s": best["median_s"],
                     "excluded": [{"model": m, "reason": r} for m, r in sorted(group["excluded"].items())],
                     "ranked": ranked, "baseline_point": _baseline_point(points, best, track)})
    tested = [row for row in rows if len(row["ranked"]) > 1]
    # One test per workload, the fastest against the runner-up, Holm over the workloads; its
    # interval is at the level the test was judged at (stats.holm_band_tests).
    tests = stats.holm_band_tests(
        [(_per_unit(r["ranked"][0]), _per_unit(r["ranked"][1])) for r in tested],
        [max(noise, r["ranked"][0]["cv"], r["ranked"][1]["cv"]) for r in tested])
    for row, test in zip(tested, tests):
        best, runner = row["ranked"][0], row["ranked"][1]
        row.update(runner_up=runner["model"], ratio=test["ratio"], ci=test["ci"], confidence=test["confidence"],
                   p_value=test["p_value"], p_adjusted=test["p_adjusted"], noise=test["noise"],
                   verdict="win" if test["significant"] else "tie")
        row["others"] = [_other(best, other, noise, test["confidence"]) for other in row["ranked"][1:]]
        # The tie: every model whose interval (at the runner-up's level) reaches into the noise band.
        row["tied"] = [row["best"]] + ([] if test["significant"] else [
            o["model"] for o in row["others"]
            if o["ci"][0] <= 1.0 + o["noise"] or o["model"] == runner["model"]])
    for row in rows:
        if len(row["ranked"]) == 1:
            row.update(verdict="only", tied=[row["best"]], others=[])
    _speedups(rows, noise)
    for row in rows:
        del row["ranked"], row["baseline_point"]
    return rows


def _other(best: dict, other: dict, noise: float, confidence: float) -> dict:
    threshold = max(noise, best["cv"], other["cv"])
    ratio = stats.median(_per_unit(other)) / stats.median(_per_unit(best))
    return {"model": other["model"], "p": other["p"], "median_s": other["median_s"], "ratio": ratio,
            "ci": stats.interval_at(_per_unit(best), _per_unit(other), confidence), "noise": threshold}


def _baseline_point(points: list[dict], best: dict, track: str) -> dict | None:
    """The serial baseline's point the fastest model's speedup is against (same workload, n,
    request count; p = 1)."""
    if is_baseline(best["model"]):
        return None
    return next((q for q in points if q["workload"] == best["workload"] and q["scaling"] == "strong"
                 and is_baseline(q["model"]) and track_of(q["model"]) == track and q["p"] == 1
                 and (q["n"] == best["n"] if best["category"] != IO_CATEGORY
                      else q.get("requests_per_slot") == best.get("requests_per_slot"))
                 and q.get("times_s")), None)


def _speedups(rows: list[dict], noise: float) -> None:
    """The fastest model's speedup over the serial baseline with its interval, tested as the
    verdicts are (Holm over the workloads, beyond the noise)."""
    with_baseline = [r for r in rows if r["baseline_point"] is not None]
    tests = stats.holm_band_tests(
        [(_per_unit(r["ranked"][0]), _per_unit(r["baseline_point"])) for r in with_baseline],
        [max(noise, r["ranked"][0]["cv"], r["baseline_point"]["cv"]) for r in with_baseline])
    for row, test in zip(with_baseline, tests):
        row["speedup"] = {"baseline": row["baseline_point"]["model"], "ratio": test["ratio"], "ci": test["ci"],
                          "confidence": test["confidence"], "p_adjusted": test["p_adjusted"],
                          "significant": test["significant"], "noise": test["noise"]}
        row.update(speedup_over_serial=test["ratio"], speedup_ci=test["ci"])
    for row in rows:
        row.setdefault("speedup", None)
