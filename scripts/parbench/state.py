"""A results folder's sweep.json, read and checked in one place.

sweep.json is the sweep's transaction log: its settings, the spin calibration, and one
record per family run (status, raw file, size and SHA-256, timings, disturbance). analyze,
check, compare and report read it through read_state, so a record of the wrong shape (a
folder from someone else, a hand edit) is one line naming the file and the field, exit 2,
never an internal error deep in a stage. result_files gives the raw files the state lists
as finished: a stray or copied JSON file in raw/ is not merged into the data.
"""
from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path

from . import UserError
from .config import from_saved
from .util import read_regular_text, refuse_linked_subfolders

STATE_FILE = "sweep.json"
FORMAT = 1  # parbench_sweep: the layout of sweep.json this code reads and writes
SWEEP_STATUSES = ("running", "interrupted", "complete")
FAMILY_STATUSES = ("ok", "failed", "timeout", "errors")

_NUMBER = (int, float)
# A family record's fields and the types each may hold (None allowed where a run may lack it).
_RECORD_FIELDS = {
    "family": (str,), "status": (str,), "message": (str,), "file": (str,), "track": (str,),
    "sizes": (str,), "omp_wait": (str,), "weak": (bool,), "disturbance_reproduced": (bool,),
    "ranks": (int,), "instances": (int,), "bytes": (int,), "sha256": (str,), "kept_attempt": (int, type(None)),
    "seconds": (*_NUMBER, type(None)), "cpu_seconds": (*_NUMBER, type(None)),
    "max_rss_mib": (*_NUMBER, type(None)), "disturbance": (dict, type(None)), "attempts": (list,),
}
_TOP_FIELDS = {"config": (dict,), "families": (list,), "status": (str,), "started": (str,),
               "finished": (str,), "binary_info": (dict,), "python_info": (dict,), "rechecks": (list,),
               "python_tracks": (list,)}


def _type_names(types: tuple) -> str:
    return " or ".join("null" if t is type(None) else {"str": "a string", "int": "a whole number",
                                                       "float": "a number", "bool": "true/false",
                                                       "dict": "an object", "list": "a list"}[t.__name__]
                       for t in types if not (t is int and float in types))


def _check_value(path: Path, where: str, value, types: tuple) -> None:
    if isinstance(value, bool) and bool not in types:
        ok = False
    else:
        ok = isinstance(value, types)
    if ok and isinstance(value, float) and not math.isfinite(value):
        ok = False
    if not ok:
        raise UserError(f"{path}: {where} is {json.dumps(value)[:40]}, not {_type_names(types)} "
                        "(a damaged or foreign sweep state; restore it, or --resume rebuilds it from "
                        "settings.json when it is removed)")


def _check_record(path: Path, where: str, record) -> None:
    if not isinstance(record, dict):
        raise UserError(f"{path}: {where} is not a family record (an object)")
    for key, types in _RECORD_FIELDS.items():
        if key in record:
            _check_value(path, f"{where}.{key}", record[key], types)
    for key in ("family", "status"):
        if key not in record:
            raise UserError(f"{path}: {where} has no '{key}' (a damaged or foreign sweep state)")
    if record["status"] not in FAMILY_STATUSES:
        raise UserError(f"{path}: {where}.status is {record['status']!r}, not one of {', '.join(FAMILY_STATUSES)}")
    file = record.get("file")
    if record["status"] == "ok" and where.startswith("families") and (
            not isinstance(file, str) or not re.fullmatch(r"raw/[^/]+\.json", file) or file.startswith("raw/.")):
        raise UserError(f"{path}: {where}.file is {json.dumps(file)[:60]}, not a file raw/<name>.json")
    for key in ("instances",):
        if key in record and record[key] < 1:
            raise UserError(f"{path}: {where}.{key} is {record[key]}, not a positive count")
    for key, value in (record.get("disturbance") or {}).items():
        _check_value(path, f"{where}.disturbance.{key}", value, (*_NUMBER, type(None)))
    for index, attempt in enumerate(record.get("attempts", [])):
        if not isinstance(attempt, dict):
            raise UserError(f"{path}: {where}.attempts[{index}] is not an object")


def check_state(path: Path, state) -> dict:
    """state (sweep.json's parsed content) if it has the shape a sweep writes; else UserError."""
    if not isinstance(state, dict) or not isinstance(state.get("config"), dict):
        raise UserError(f"{path}: not a parbench sweep state (no 'config' object)")
    if state.get("parbench_sweep", FORMAT) != FORMAT:
        raise UserError(f"{path}: sweep state format {json.dumps(state.get('parbench_sweep'))[:20]}; this "
                        f"parbench reads format {FORMAT}")
    if state.get("status", "running") not in SWEEP_STATUSES:
        raise UserError(f"{path}: status is {json.dumps(state.get('status'))[:40]}, not one of "
                        f"{', '.join(SWEEP_STATUSES)}")
    for key, types in _TOP_FIELDS.items():
        if key in state:
            _check_value(path, key, state[key], types)
    threads = (state.get("binary_info") or {}).get("hardware_threads")
    if threads is not None and (not isinstance(threads, int) or isinstance(threads, bool) or threads < 1):
        raise UserError(f"{path}: binary_info.hardware_threads is {json.dumps(threads)[:20]}, not a positive count")
    for index, record in enumerate(state.get("families", [])):
        _check_record(path, f"families[{index}]", record)
    for index, record in enumerate(state.get("rechecks", [])):
        _check_record(path, f"rechecks[{index}]", record)
    from_saved(state["config"], str(path))  # the settings, validated as a TOML config is
    spin = (state.get("binary_info") or {}).get("spin_iters_per_us")
    if spin is not None:
        _check_value(path, "binary_info.spin_iters_per_us", spin, _NUMBER)
        if not 1e-3 <= spin <= 1e6:
            raise UserError(f"{path}: binary_info.spin_iters_per_us is {spin:.4g}, not a calibration this "
                            "binary makes (1e-3 to 1e6 iterations per microsecond)")
    return state


def spin_calibration(state: dict, path: Path) -> float:
    """The sweep's spin calibration (iterations per microsecond), which every later run of its
    families (a resume, a re-measurement) must use; check_state has checked its range."""
    spin = (state.get("binary_info") or {}).get("spin_iters_per_us")
    if spin is None:
        raise UserError(f"{path}: no binary_info.spin_iters_per_us (the sweep's spin calibration)")
    return spin


def read_state(directory: Path) -> dict:
    """DIR/sweep.json checked (an empty dict when there is none)."""
    path = Path(directory) / STATE_FILE
    if not path.exists() and not path.is_symlink():
        return {}
    try:
        state = json.loads(read_regular_text(path))
    except json.JSONDecodeError as error:
        raise UserError(f"{path}: malformed JSON ({error.msg} at line {error.lineno})") from None
    return check_state(path, state)


def result_files(directory: Path) -> list[Path]:
    """The Google Benchmark JSON files of a results folder: those sweep.json records as
    finished when it exists, else every raw/*.json (a folder of plain runs)."""
    directory = Path(directory)
    if not directory.exists():
        raise UserError(f"{directory}: no such directory")
    if not directory.is_dir():
        raise UserError(f"{directory}: not a directory")
    refuse_linked_subfolders(directory)
    raw = directory / "raw"
    state = read_state(directory)
    if state:
        listed = [directory / f["file"] for f in state.get("families", [])
                  if f["status"] == "ok" and isinstance(f.get("file"), str)]
        listed = [path for path in listed if path.parent == raw]
        stray = sorted({p.name for p in raw.glob("*.json")} - {p.name for p in listed}) if raw.is_dir() else []
        if stray:
            print(f"parbench: note: {len(stray)} file(s) in {raw} not recorded in {STATE_FILE} are not read: "
                  f"{', '.join(stray[:5])}{' ...' if len(stray) > 5 else ''}", file=sys.stderr)
        files = [path for path in listed if path.exists() or path.is_symlink()]
        if not files:
            raise UserError(f"{directory}: {STATE_FILE} records no finished family whose raw file is there")
        return sorted(files)
    if not raw.is_dir():
        files = sorted(path for path in directory.glob("*.json")
                       if path.name not in ("analysis.json", "env.json", "check.json", "settings.json"))
        if not files:
            raise UserError(f"{directory}: no Google Benchmark JSON files (expected raw/*.json: not a results folder)")
        return files
    files = sorted(raw.glob("*.json"))
    if not files:
        raise UserError(f"{directory}: no Google Benchmark JSON files (expected raw/*.json)")
    return files


def missing_raw_files(directory: Path, state: dict) -> list[str]:
    """The raw files of families sweep.json records as finished that are gone."""
    return [f["file"] for f in state.get("families", [])
            if f["status"] == "ok" and isinstance(f.get("file"), str) and not (Path(directory) / f["file"]).exists()]
