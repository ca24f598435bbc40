"""The comparison with an earlier sweep of this machine and config (vs previous)."""
from __future__ import annotations

from pathlib import Path

from .. import UserError, stats
from ..state import read_env, read_state
from ..util import REPO_ROOT
from ..modelnames import track_label


def fingerprint(env: dict) -> dict | None:
    """The machine a sweep ran on (env.json "machine": CPU model, cores, memory, kernel and a
    digest of the machine id), or None for a sweep that did not record one: a host name is no
    identity (every VM of an image may be "vm")."""
    machine = env.get("machine")
    return machine if isinstance(machine, dict) and machine.get("machine_id_sha256") else None


def folder_name(directory: Path) -> str:
    """A results folder as the report names it: its path under the repository's results/, else
    its own name (never an absolute path of this machine)."""
    resolved = Path(directory).resolve()
    try:
        return str(resolved.relative_to((REPO_ROOT / "results").resolve()))
    except ValueError:
        return resolved.name


def raw_digests(sweep: dict) -> dict:
    """The raw files' recorded SHA-256 digests: two folders with the same ones hold the same data."""
    return {f.get("file"): f.get("sha256") for f in sweep.get("families", []) if f.get("sha256")}


def find_previous(directory: Path, env: dict, sweep: dict) -> list[Path]:
    """The complete sweeps before this one of the same machine (its fingerprint) and the same
    config, under the repository's results/ or beside DIR, latest first."""
    started = sweep.get("started")
    config = (sweep.get("config") or {}).get("name")
    machine = fingerprint(env)
    if not started or not config or machine is None:
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
                    or fingerprint(other_env) != machine):
                continue
            found.append((other["started"], candidate))
    return [path for _, path in sorted(found, reverse=True)]


def _point_key(point: dict) -> tuple:
    return point["workload"], point["model"], point["n"], point["p"], point["scaling"]


def same_data(sweep: dict, other_sweep: dict) -> bool:
    mine, theirs = raw_digests(sweep), raw_digests(other_sweep)
    return bool(mine) and mine == theirs


def build_vs_previous(analysis: dict, previous: dict, previous_dir: Path, sweep: dict, env: dict) -> dict:
    """This run against the previous one: each verdict's fastest model, the overheads and the
    I/O throughputs, as now / before with an interval, tested as the verdicts are (beyond the
    noise, Holm over all of them). ratio > 1: slower now (throughput rows: fewer requests per
    second now). Two folders with the same raw data are no comparison, and say so."""
    other_sweep, other_env = read_state(previous_dir), read_env(previous_dir)
    header = {"directory": folder_name(previous_dir), "started": previous.get("started"),
              "same_machine": fingerprint(env) is not None and fingerprint(env) == fingerprint(other_env),
              "same_config": (sweep.get("config") or {}).get("name") == (other_sweep.get("config") or {}).get("name")}
    if same_data(sweep, other_sweep):
        return {**header, "same_data": True, "rows": [], "metg": []}
    rows, samples = _comparisons(analysis, previous)
    tests = stats.holm_band_tests(samples, [analysis["noise"]] * len(rows))
    for row, test in zip(rows, tests):
        row.update(ratio=test["ratio"], ci=test["ci"], confidence=test["confidence"], p_value=test["p_value"],
                   p_adjusted=test["p_adjusted"], significant=test["significant"],
                   direction=("slower" if test["ratio"] > 1 else "faster") if test["significant"] else "tie")
    metg_before = {(m["model"], m["p"]): m for m in previous.get("metg", [])}
    metg = [{"model": m["model"], "p": m["p"], "now": m["metg_us"],
             "before": metg_before.get((m["model"], m["p"]), {}).get("metg_us")}
            for m in analysis["metg"] if (m["model"], m["p"]) in metg_before]
    return {**header, "same_data": False, "rows": rows, "metg": metg}


def _comparisons(analysis: dict, previous: dict) -> tuple[list[dict], list[tuple]]:
    """The figures both runs measured, and their samples (before, now)."""
    before = {_point_key(p): p for p in previous.get("points", []) if p.get("times_s")}
    rows, samples = [], []
    for verdict in analysis["verdicts"]:
        point = next((p for p in analysis["points"] if p["workload"] == verdict["workload"]
                      and p["model"] == verdict["best"] and p["p"] == verdict["best_p"] and p["scaling"] == "strong"
                      and (p["n"] == verdict["n"] or p.get("requests_per_slot") == verdict["n"])), None)
        old = before.get(_point_key(point)) if point else None
        if point and old:
            track = track_label(verdict.get("track", ""))
            label = verdict["workload"] + (f" ({track})" if track else "")
            rows.append({"kind": "verdict", "subject": f"{label}: {verdict['best']} at p = {point['p']}",
                         "workload": label, "now": point["median_s"], "before": old["median_s"], "unit": "s"})
            samples.append((old["times_s"], point["times_s"]))
    old_overhead = {(o["kind"], o["model"], o["p"]): o for o in previous.get("overhead", []) if o.get("values")}
    for row in analysis["overhead"]:
        old = old_overhead.get((row["kind"], row["model"], row["p"]))
        if old and row.get("values"):
            rows.append({"kind": "overhead", "subject": f"overhead/{row['kind']}/{row['model']} p = {row['p']}",
                         "now": row["ns"], "before": old["ns"], "unit": "ns"})
            samples.append((old["values"], row["values"]))
    for row in analysis["io"]:
        point = next((p for p in analysis["points"] if p["workload"] == row["workload"] and p["model"] == row["model"]
                      and p["p"] == row["best_p"] and p["scaling"] == "strong"), None)
        old = before.get(_point_key(point)) if point else None
        if point and old:
            rows.append({"kind": "io", "subject": f"{row['workload']}: {row['model']} at p = {row['best_p']}",
                         "now": point.get("throughput"), "before": old.get("throughput"), "unit": "requests/s"})
            samples.append((old["times_s"], point["times_s"]))
    return rows, samples
