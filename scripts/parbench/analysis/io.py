"""Memory- and I/O-bound workloads: bandwidth against the last-level cache, throughput per
concurrency."""
from __future__ import annotations

from .. import units
from ..modelnames import baseline_of, is_baseline, without_placement
from .common import IO_CATEGORY


def build_memory(points: list[dict], env: dict) -> list[dict]:
    """Memory-bound workloads: bandwidth (GB/s) per model at p = cores and 1, and the working set
    against the last-level cache (a working set that fits measures the cache, not memory)."""
    llc = None
    for cache in (env.get("cpu") or {}).get("caches", []) or []:
        size = units.parse_cache_size(cache.get("size"))
        if size and cache.get("type") in ("Unified", "Data"):
            llc = max(llc or 0, size)
    p1 = {(q["workload"], q["model"], q["n"]): q for q in points
          if q["category"] == "memory" and q["scaling"] == "strong" and q["p"] == 1}
    rows = []
    for point in points:
        if point["category"] != "memory" or point["scaling"] != "strong":
            continue
        working_set = point.get("working_set_bytes")
        rows.append({"workload": point["workload"], "model": point["model"], "n": point["n"], "p": point["p"],
                     "bytes_per_second": point.get("bytes_per_second"), "working_set_bytes": working_set,
                     "llc_bytes": llc, "fits_llc": bool(working_set and llc and working_set <= llc),
                     "limit": point.get("limit"), "flags": point.get("flags", []),
                     "dominated": _dominated(point, p1)})
        rows[-1]["dominated_by"] = (rows[-1]["dominated"] or {}).get("label")
    return rows


# A model's bandwidth is memory's only where its p = 1 runs within this share of the serial
# model's time; beyond it something else (page faults of fresh shared memory, messages) sets
# the time, and the figure in GB/s would be that cost's, not memory's.
DOMINATED_BEYOND = 0.10


def _dominated(point: dict, p1: dict) -> dict | None:
    """Why a point's GB/s is not memory bandwidth (its p = 1 against the serial model's), or None."""
    # a bound or interleaved variant runs bound at p > 1 only: its model's own p = 1 says it
    own = p1.get((point["workload"], point["model"], point["n"])) or p1.get(
        (point["workload"], without_placement(point["model"]), point["n"]))
    serial = p1.get((point["workload"], baseline_of(point["model"]), point["n"]))
    if is_baseline(point["model"]) or own is None or serial is None:
        return None
    ratio = own["median_s"] / serial["median_s"]
    if abs(ratio - 1.0) <= DOMINATED_BEYOND:
        return None
    base = baseline_of(point["model"])
    return {"p1_over_serial": ratio, "label": "page faults" if ratio > 1 else "baseline slower",
            "cause": (f"at p = 1 it takes {ratio:.2g}x the {base} model's time: page faults of its fresh shared "
                      "memory (or its messages), not memory, set the time" if ratio > 1 else
                      f"at p = 1 it takes {ratio:.2g}x the {base} model's time: the baseline ran slower, not "
                      "this model faster")}


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
