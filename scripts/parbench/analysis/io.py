"""Memory- and I/O-bound workloads: bandwidth against the last-level cache, throughput per
concurrency."""
from __future__ import annotations

from .. import units
from .common import IO_CATEGORY


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
