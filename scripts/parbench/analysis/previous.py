"""The comparison with an earlier sweep of this machine and config (vs previous)."""
from __future__ import annotations

from pathlib import Path

from .. import UserError, stats
from ..state import read_env, read_state
from ..util import REPO_ROOT
from ..modelnames import track_label


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
