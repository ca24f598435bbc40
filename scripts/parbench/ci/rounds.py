"""Interleaved rounds: every family once on each side per round, the side that goes first
alternating from round to round and from family to family (ABBA...), so that a noisy minute of
the machine falls on both sides alike. Then each side's rounds pooled into one results folder
that `./parbench compare` reads."""
from __future__ import annotations

import copy
import hashlib
import json
import math
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from .. import envinfo
from ..compare import MIN_REPETITIONS
from ..gbench import load_file
from ..runner.family import Family
from ..util import atomic_write_text, make_folder
from .sides import BASE, HEAD, Side, SidePlan, bench_variable


@dataclass
class Step:
    round: int                 # 1-based
    family: Family
    order: tuple[str, str]     # which side runs first


def schedule(rounds: int, families: list[Family]) -> list[Step]:
    """Round by round, each family on both sides; base first where round + position is even,
    so each family alternates AB, BA, AB... and neighbouring families start on opposite sides."""
    return [Step(number + 1, family, (BASE, HEAD) if (number + index) % 2 == 0 else (HEAD, BASE))
            for number in range(rounds) for index, family in enumerate(families)]


def repetitions_per_round(repetitions: int, rounds: int) -> int:
    """The config's repetitions spread over the rounds, at least one each, and at least
    compare's minimum in all (with fewer, no change can be significant: a gate that cannot fire)."""
    return max(1, math.ceil(max(repetitions, MIN_REPETITIONS) / rounds))


@dataclass
class Outcome:
    """What the rounds produced: every side's record of every run of each family."""
    records: dict[tuple[str, str], list[dict]] = field(default_factory=dict)  # (side, family key) -> rounds
    failed: dict[str, dict[str, str]] = field(default_factory=dict)  # family key -> {side: message}
    stopped: int | None = None  # the stop signal that ended the rounds early
    seconds: float = 0.0


def run_rounds(steps: list[Step], sides: dict[str, Side], plans: dict[str, SidePlan], config, stop) -> Outcome:
    """Runs the schedule, each run with config.repetitions (already the per-round share). A
    family that fails on either side is not run again (its verdict is its failure)."""
    outcome = Outcome()
    start = time.monotonic()
    total = max((step.round for step in steps), default=0)
    for step in steps:
        key = step.family.key
        if key in outcome.failed:
            continue
        times = {}
        for name in step.order:
            record = _run_once(sides[name], plans[name], step, config, stop)
            if record is None:
                outcome.stopped = stop.signal
                outcome.seconds = time.monotonic() - start
                return outcome
            outcome.records.setdefault((name, key), []).append(record)
            times[name] = record.get("seconds") or 0.0
            if record["status"] != "ok":
                outcome.failed.setdefault(key, {})[name] = f"round {step.round}: {record['status']}: " \
                                                           f"{record.get('message', '')}"
        shown = ", ".join(f"{name} {times[name]:.1f} s" for name in step.order if name in times)
        failed = f"  FAILED on {', '.join(sorted(outcome.failed[key]))}" if key in outcome.failed else ""
        print(f"round {step.round}/{total}  {step.family.label}  ({shown}){failed}", flush=True)
    outcome.seconds = time.monotonic() - start
    return outcome


def _run_once(side: Side, plan: SidePlan, step: Step, config, stop) -> dict | None:
    """One run of a family on one side, its JSON in <side>/rounds/<stem>.round<N>.json."""
    out_path = side.folder / "rounds" / f"{step.family.stem}.round{step.round}.json"
    with bench_variable(side.binary):
        return plan.tracks.run(step.family, config, side.folder, stop, out_path=out_path, reruns=False)


def pool_side(side: Side, families: list[Family], outcome: Outcome) -> list[dict]:
    """<side>/raw/<stem>.json for each family that ran: all its rounds' repetitions in one
    Google Benchmark file (numbered across the rounds: compare reads a benchmark's repetitions
    from one file); its records for sweep.json."""
    make_folder(side.folder / "raw")
    records = []
    for family in families:
        runs = outcome.records.get((side.name, family.key), [])
        if not runs:
            continue
        failed = side.name in outcome.failed.get(family.key, {})
        record = _pooled_record(family, runs, failed)
        if not failed:  # a failed family's rounds stay in rounds/: compare reads no part of it
            text = _pooled_text([side.folder / r["file"] for r in runs], side, len(runs))
            atomic_write_text(side.folder / record["file"], text)
            record.update(bytes=len(text.encode()), sha256=hashlib.sha256(text.encode()).hexdigest())
        records.append(record)
    return records


def _pooled_record(family: Family, runs: list[dict], failed: bool) -> dict:
    bad = next((r for r in runs if r["status"] != "ok"), runs[-1])
    first = runs[0]
    disturbed = [r.get("disturbance") for r in runs if r.get("disturbance")]
    return {**{key: first[key] for key in ("family", "weak", "omp_wait", "ranks", "track", "sizes", "instances")},
            **{key: first[key] for key in ("affinity", "workers", "numa") if key in first},
            "file": "" if failed else f"raw/{family.stem}.json", "status": bad["status"] if failed else "ok",
            "message": bad.get("message", "") if failed else "",
            "seconds": round(sum(r.get("seconds") or 0.0 for r in runs), 2),
            "cpu_seconds": round(sum(r.get("cpu_seconds") or 0.0 for r in runs), 3),
            "max_rss_mib": max((r["max_rss_mib"] for r in runs if r.get("max_rss_mib") is not None), default=None),
            "disturbance": max(disturbed, key=lambda d: d.get("total") or 0.0) if disturbed else None,
            "attempts": [{key: r.get(key) for key in ("status", "seconds", "cpu_seconds", "disturbance")}
                         for r in runs]}


def _pooled_text(files: list[Path], side: Side, rounds: int) -> str:
    """The rounds' files as one: their repetitions renumbered 0, 1, ... per benchmark (the
    aggregates dropped: compare makes its own from the repetitions)."""
    context, entries, counts = None, [], {}
    for path in files:
        file_context, file_entries = load_file(path)
        context = context or dict(file_context)
        for entry in file_entries:
            if entry.get("run_type") == "aggregate":
                continue
            entry = dict(entry)
            key = (entry.get("run_name", entry["name"]), entry.get("threads"), "weak_base_n" in entry)
            if "repetition_index" in entry or not entry.get("error_occurred"):
                entry["repetition_index"] = counts.get(key, 0)
                counts[key] = entry["repetition_index"] + 1
            entries.append((key, entry))
    for key, entry in entries:
        if key in counts:
            entry["repetitions"] = counts[key]
    context["parbench_ci"] = {"side": side.name, "commit": side.commit, "rounds": rounds,
                              "files": [path.name for path in files]}
    return json.dumps({"context": context, "benchmarks": [entry for _, entry in entries]}, indent=1) + "\n"


def write_folder(side: Side, plan: SidePlan, records: list[dict], config, ci: dict) -> None:
    """<side>/sweep.json and env.json: the pooled folder reads as a complete sweep of its commit
    (compare, history add), its config with the repetitions each benchmark has in all."""
    saved = copy.deepcopy(plan.config)
    saved.repetitions = config.repetitions * ci["rounds"]
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    # Both sides ran together; head is dated a second later so that the history, which orders
    # commits by their first entry's date, puts it after base when neither was stored before.
    started = datetime.fromisoformat(ci["started"]) + timedelta(seconds=1 if side.name == HEAD else 0)
    state = {"parbench_sweep": 1, "config": saved.to_dict(), "binary_info": plan.info,
             "started": started.isoformat(timespec="seconds"),
             "finished": now, "status": "complete", "families": records,
             "plan": {Family.from_record(r).key: r["instances"] for r in records},
             **{key: value for key, value in plan.python.items() if value}, "ci": {**ci, "side": side.name}}
    atomic_write_text(side.folder / "sweep.json", json.dumps(state, indent=1) + "\n")
    env = envinfo.collect(side.root, side.binary.parent, plan.info)
    env["sweep"] = {"config": saved.name, "directory": str(side.folder)}
    env["ci"] = {**ci, "side": side.name}
    if plan.python.get("python_info"):
        env["python_track"] = plan.python["python_info"]
    atomic_write_text(side.folder / "env.json", json.dumps(env, indent=1) + "\n")
