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
