"""Task granularity: METG(50%) per model and p, the measured task lengths, and how each model
spawns a task."""
from __future__ import annotations

from collections import defaultdict

from .. import stats
from ..gbench import ResultSet
from ..modelnames import is_baseline, track_of


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
        metg_rows.append({"model": model, "p": p, "metg_us": value, "how": how, "bracket_us": _bracket(pairs, how)})
        curve_rows.append({"model": model, "p": p, "task_us": [d for d, _ in pairs],
                           "efficiency": [e for _, e in pairs]})
    metg_rows.sort(key=lambda r: (r["model"], r["p"]))
    return metg_rows, curve_rows


def _bracket(pairs: list[tuple[float, float]], how: str) -> list | None:
    """The two sweep lengths the METG lies between (below the range: none below the smallest)."""
    if how == "below_range":
        return [None, pairs[0][0]]
    if how != "interpolated":
        return None
    below = max(i for i, (_, e) in enumerate(pairs) if e < 0.5)
    return [pairs[below][0], pairs[below + 1][0]]


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
