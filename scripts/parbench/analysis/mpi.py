"""MPI: latency and bandwidth of the mpi/ family per size and rank count."""
from __future__ import annotations


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
