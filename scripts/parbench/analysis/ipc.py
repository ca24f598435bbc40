"""Inter-process communication: the ipc/ and psync/ families' tables."""
from __future__ import annotations

from ..gbench import format_arg


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
