"""A results folder's sweep.json, read and checked in one place.

sweep.json is the sweep's transaction log: its settings, the spin calibration, and one
record per family run (status, raw file, size and SHA-256, timings, disturbance). analyze,
check, compare and report read it through read_state, so a record of the wrong shape (a
folder from someone else, a hand edit) is one line naming the file and the field, exit 2,
never an internal error deep in a stage. result_files gives the raw files the state lists
as finished: a stray or copied JSON file in raw/ is not merged into the data.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import stat
import sys
from pathlib import Path

from . import UserError
from .config import from_saved
from .provenance import signature
from .util import FolderLock, load_json, read_regular_bytes, refuse_linked_subfolders, remove_partials

STATE_FILE = "sweep.json"
FORMAT = 1  # parbench_sweep: the layout of sweep.json this code reads and writes
SWEEP_STATUSES = ("running", "interrupted", "complete")
FAMILY_STATUSES = ("ok", "failed", "timeout", "errors")

_NUMBER = (int, float)
# A family record's fields and the types each may hold (None allowed where a run may lack it).
_RECORD_FIELDS = {
    "family": (str,), "status": (str,), "message": (str,), "file": (str,), "track": (str,),
    "sizes": (str,), "omp_wait": (str,), "affinity": (str,), "workers": (str,), "numa": (str,), "weak": (bool,),
    "disturbance_reproduced": (bool,),
    "ranks": (int,), "instances": (int,), "bytes": (int,), "sha256": (str,), "kept_attempt": (int, type(None)),
    "seconds": (*_NUMBER, type(None)), "cpu_seconds": (*_NUMBER, type(None)),
    "max_rss_mib": (*_NUMBER, type(None)), "disturbance": (dict, type(None)), "attempts": (list,),
}
# A family's file: raw/<stem>.json, its stem made of the family's name (letters, digits, _ . @ + -).
_FILE_NAME = r"/[A-Za-z0-9_@+=-][A-Za-z0-9_.@+=-]*\.json"
_TOP_FIELDS = {"config": (dict,), "families": (list,), "status": (str,), "started": (str,),
               "finished": (str,), "binary_info": (dict,), "python_info": (dict,), "rechecks": (list,),
               "python_tracks": (list,), "sweep_id": (str,), "plan": (dict,), "estimate_minutes": (int, float)}


def _type_names(types: tuple) -> str:
    return " or ".join("null" if t is type(None) else {"str": "a string", "int": "a whole number",  # noqa: E721
                                                       "float": "a number", "bool": "true/false",
                                                       "dict": "an object", "list": "a list"}[t.__name__]
                       for t in types if not (t is int and float in types))


_STATE_ADVICE = ("a damaged or foreign sweep state; restore it, or --resume rebuilds it from settings.json when "
                 "it is removed")


def _check_value(path: Path, where: str, value, types: tuple, advice: str = _STATE_ADVICE) -> None:
    if isinstance(value, bool) and bool not in types:
        ok = False
    else:
        ok = isinstance(value, types)
    if ok and isinstance(value, float) and not math.isfinite(value):
        ok = False
    if not ok:
        raise UserError(f"{path}: {where} is {json.dumps(value)[:40]}, not {_type_names(types)} ({advice})")


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
    folder = "raw" if where.startswith("families") else "rechecks"
    if record["status"] == "ok" and not (isinstance(file, str) and re.fullmatch(folder + _FILE_NAME, file)):
        raise UserError(f"{path}: {where}.file is {json.dumps(file)[:60]}, not a file {folder}/<name>.json")
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
    if "binary_info" in state:
        check_binary_info(state["binary_info"], f"{path}: binary_info")
    for key, count in (state.get("plan") or {}).items():
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise UserError(f"{path}: plan[{json.dumps(key)[:60]}] is {json.dumps(count)[:20]}, not a positive count")
    for index, record in enumerate(state.get("families", [])):
        _check_record(path, f"families[{index}]", record)
    for index, record in enumerate(state.get("rechecks", [])):
        _check_record(path, f"rechecks[{index}]", record)
    from_saved(state["config"], str(path))  # the settings, validated as a TOML config is
    return state


# The spin calibrations a binary or an interpreter can make (iterations per microsecond): a
# value outside is a mistake (PARBENCH_SPIN_ITERS_PER_US=0.0001 would make every task a
# million times too short) that no stage could analyse afterwards.
SPIN_RANGE = (1e-3, 1e6)


def check_spin(value, where: str) -> None:
    low, high = SPIN_RANGE
    if isinstance(value, bool) or not isinstance(value, _NUMBER) or not math.isfinite(value):
        raise UserError(f"{where}.spin_iters_per_us is {json.dumps(value)[:20]}, not a number")
    if not low <= value <= high:
        raise UserError(f"{where}.spin_iters_per_us is {value:.4g}, not a calibration this machine makes "
                        f"({low:g} to {high:g} iterations per microsecond)")


def check_binary_info(info, where: str, fresh: bool = False) -> dict:
    """The benchmark binary's `info` record: an object with a spin calibration in range and a
    positive hardware thread count (both required of a `fresh` one, as printed; a saved one
    of an older parbench may lack them)."""
    if not isinstance(info, dict):
        raise UserError(f"{where} is not an object")
    threads = info.get("hardware_threads")
    if (fresh or threads is not None) and (not isinstance(threads, int) or isinstance(threads, bool) or threads < 1):
        raise UserError(f"{where}.hardware_threads is {json.dumps(threads)[:20]}, not a positive count")
    if fresh or "spin_iters_per_us" in info:
        check_spin(info.get("spin_iters_per_us"), where)
    return info


def check_python_info(info, where: str) -> dict:
    """An interpreter's `pytrack info` record: its version and its spin calibration."""
    if not isinstance(info, dict):
        raise UserError(f"{where} is not an object")
    version = info.get("python_version")
    if not isinstance(version, str) or not re.fullmatch(r"\d+\.\d+(\.\d+)?[a-z0-9+]*", version):
        raise UserError(f"{where}.python_version is {json.dumps(version)[:30]}, not a Python version")
    check_spin(info.get("spin_iters_per_us"), where)
    return info


def spin_calibration(state: dict, path: Path) -> float:
    """The sweep's spin calibration (iterations per microsecond), which every later run of its
    families (a resume, a re-measurement) must use; check_state has checked its range."""
    spin = (state.get("binary_info") or {}).get("spin_iters_per_us")
    if spin is None:
        raise UserError(f"{path}: no binary_info.spin_iters_per_us (the sweep's spin calibration)")
    return spin


PLACEMENTS_VARIABLE = "PARBENCH_PLACEMENTS"


def family_environment(state: dict, path: Path) -> dict:
    """What every run of the sweep's families gets from the binary's info: its spin calibration
    and each binding policy's CPU order (the Python track binds its workers by the binary's)."""
    placements = (state.get("binary_info") or {}).get("placements")
    return {"PARBENCH_SPIN_ITERS_PER_US": f"{spin_calibration(state, path):.6f}",
            **({PLACEMENTS_VARIABLE: json.dumps(placements)} if isinstance(placements, dict) else {})}


def read_state(directory: Path) -> dict:
    """DIR/sweep.json checked (an empty dict when there is none)."""
    path = Path(directory) / STATE_FILE
    if not path.exists() and not path.is_symlink():
        return {}
    return check_state(path, load_json(path))


def changed_since_written(path: Path, record: dict) -> str:
    """Why a raw file no longer is the one its record describes ("" when it is): its size and
    SHA-256 as the sweep recorded them when it wrote it (records of before checksums: "")."""
    if "sha256" not in record:
        return ""
    if not stat.S_ISREG(os.lstat(path).st_mode):
        read_regular_bytes(path)  # a link, a FIFO, a folder: its own one line
    if path.stat().st_size != record.get("bytes"):  # a size says it, unread
        return "changed since the sweep wrote it (its size or SHA-256 is not the one sweep.json records)"
    data = read_regular_bytes(path)
    if len(data) != record.get("bytes") or hashlib.sha256(data).hexdigest() != record["sha256"]:
        return "changed since the sweep wrote it (its size or SHA-256 is not the one sweep.json records)"
    return ""


def result_files(directory: Path, changed: list | None = None) -> list[Path]:
    """The Google Benchmark JSON files of a results folder: those sweep.json records as
    finished when it exists, each checked against the size and SHA-256 recorded when it was
    written, else every raw/*.json (a folder of plain runs). A changed file is refused (one
    line naming it), or, when `changed` is a list, left out and added to it as (file, why)."""
    directory = Path(directory)
    if not directory.exists():
        raise UserError(f"{directory}: no such directory")
    if not directory.is_dir():
        raise UserError(f"{directory}: not a directory")
    refuse_linked_subfolders(directory)
    raw = directory / "raw"
    state = read_state(directory)
    if state:
        records = [f for f in state.get("families", []) if f["status"] == "ok" and isinstance(f.get("file"), str)
                   and (directory / f["file"]).parent == raw]
        listed = [directory / f["file"] for f in records]
        stray = sorted({p.name for p in raw.glob("*.json")} - {p.name for p in listed}) if raw.is_dir() else []
        if stray:
            print(f"parbench: note: {len(stray)} file(s) in {raw} not recorded in {STATE_FILE} are not read: "
                  f"{', '.join(stray[:5])}{' ...' if len(stray) > 5 else ''}", file=sys.stderr)
        files = []
        for record in records:
            path = directory / record["file"]
            if not path.exists() and not path.is_symlink():
                continue  # missing_raw_files names it
            why = changed_since_written(path, record)
            if why and changed is None:
                raise UserError(f"{path}: {why}; restore it, or run its family again: "
                                f"./parbench sweep --resume {directory}")
            if why:
                changed.append((record["file"], why))
                continue
            files.append(path)
        if not files:
            raise UserError(f"{directory}: {STATE_FILE} records no finished family whose raw file is there"
                            + (" unchanged" if changed else ""))
        return sorted(files)
    if not raw.is_dir():
        files = sorted(path for path in directory.glob("*.json")
                       if path.name not in ("analysis.json", "env.json", "check.json", "settings.json",
                                            "catalogue.json"))
        if not files:
            raise UserError(f"{directory}: no Google Benchmark JSON files (expected raw/*.json: not a results folder)")
        return files
    files = sorted(raw.glob("*.json"))
    if not files:
        raise UserError(f"{directory}: no Google Benchmark JSON files (expected raw/*.json)")
    return files


SETTINGS_FILE = "settings.json"


def read_settings(directory: Path) -> dict:
    """DIR/settings.json (the sweep's settings as it started: written once) as a dict, {} when
    it is missing or unreadable (it is consulted, never relied on)."""
    path = Path(directory) / SETTINGS_FILE
    try:
        data = load_json(path) if path.exists() else {}
    except UserError:
        return {}
    return data if isinstance(data, dict) else {}


def state_digest(directory: Path) -> str | None:
    """SHA-256 of DIR/sweep.json as it is now (None without one): what a check.json checked."""
    path = Path(directory) / STATE_FILE
    if not path.exists():
        return None
    return hashlib.sha256(read_regular_bytes(path)).hexdigest()


def missing_raw_files(directory: Path, state: dict) -> list[str]:
    """The raw files of families sweep.json records as finished that are gone."""
    return [f["file"] for f in state.get("families", [])
            if f["status"] == "ok" and isinstance(f.get("file"), str) and not (Path(directory) / f["file"]).exists()]


ENV_FILE = "env.json"
_TEXT, _COUNT, _REAL, _NONE = (str,), (int,), (int, float), (type(None),)
# The fields of env.json a stage reads, and what each may hold: ("list", item types) for a
# list, a dict for a nested object. Fields it does not name (another parbench's) are left alone.
_ENV_SCHEMA = {
    "hostname": _TEXT, "kernel": _TEXT, "os": _TEXT, "omp_wait_policy": _TEXT, "process_per_family": (bool,),
    "cpu": {"model": _TEXT, "physical_cores": _COUNT, "hardware_threads": _COUNT, "smt": (bool,),
            "mhz": _REAL + _NONE, "governor": _TEXT,
            "caches": ("list", {"level": _TEXT + _COUNT + _NONE, "type": _TEXT + _NONE, "size": _TEXT + _NONE,
                                "shared_with_cpus": _TEXT + _NONE})},
    "affinity": ("list", _COUNT),
    "topology": {"sockets": _COUNT, "dies": _COUNT, "cores": _COUNT, "threads": _COUNT, "threads_per_core": _COUNT,
                 "nodes": ("list", {"id": _COUNT, "cpus": ("list", _COUNT), "memory_kib": _COUNT + _NONE}),
                 "caches": ("list", {"level": _COUNT, "type": _TEXT, "size_kib": _COUNT, "shared_by": _COUNT}),
                 "online": ("list", _COUNT), "allowed": ("list", _COUNT), "quota_cpus": _REAL + _NONE,
                 "core_types": dict, "core_of": dict, "source": _TEXT, "usable_cpus": _COUNT, "error": _TEXT},
    "machine": {"cpu_model": _TEXT + _NONE, "physical_cores": _COUNT + _NONE, "hardware_threads": _COUNT + _NONE,
                "memory_kib": _COUNT + _NONE, "kernel": _TEXT + _NONE, "machine_id_sha256": _TEXT + _NONE},
    "load_average": {"before": ("list", _REAL), "after": ("list", _REAL)},
    "machine_name": _TEXT,
    "git": {"sha": _TEXT, "dirty": (bool,), "branch": _TEXT, "commit_date": _TEXT},
    "build": {"binary": {"spin_iters_per_us": _REAL, "hardware_threads": _COUNT, "compiler": _TEXT,
                         "build_type": _TEXT, "cxx_flags": _TEXT, "spin_source": _TEXT},
              "cmake": dict},
    "libraries": dict, "io_backend": {"backend": _TEXT, "reason": _TEXT, "forced_by": _TEXT},
    "environment": dict, "python": dict, "sweep": dict, "python_track": dict, "python_tracks": ("list", dict),
    "mpi": {"library": _TEXT, "launch": _TEXT, "hosts": ("list", _TEXT), "transport": _TEXT, "network": _TEXT,
            "binding": _TEXT, "oversubscribe": _TEXT, "schedule": _TEXT},
}


def _check_shape(path: Path, where: str, value, shape) -> None:
    if isinstance(shape, dict):
        if not isinstance(value, dict) and not where:
            raise UserError(f"{path}: not a parbench environment record (an object expected)")
        if not isinstance(value, dict):
            raise UserError(f"{path}: {where} is {json.dumps(value)[:40]}, not an object (a damaged or foreign "
                            "environment record)")
        for key, inner in shape.items():
            if key in value:
                _check_shape(path, f"{where}.{key}" if where else key, value[key], inner)
    elif isinstance(shape, tuple) and shape and shape[0] == "list":
        if not isinstance(value, list):
            raise UserError(f"{path}: {where} is {json.dumps(value)[:40]}, not a list")
        for index, item in enumerate(value):
            _check_shape(path, f"{where}[{index}]", item, shape[1])
    else:
        types = shape if isinstance(shape, tuple) else (shape,)
        _check_value(path, where, value, types, "a damaged or foreign environment record")
        if types == _COUNT and value < 0:
            raise UserError(f"{path}: {where} is {value}, not a count")


def read_env(directory: Path) -> dict:
    """DIR/env.json checked field by field ({} when there is none): a wrong type is one line
    naming the file and the field."""
    path = Path(directory) / ENV_FILE
    if not path.exists() and not path.is_symlink():
        return {}
    env = load_json(path)
    _check_shape(path, "", env, _ENV_SCHEMA)
    return env


STALE = "made from an earlier state of the folder"


def load_analysis(directory: Path) -> dict:
    """DIR/analysis.json when analyze wrote it on this machine from the folder as it is now
    (its HMAC and the digest of sweep.json it was made from); else one line saying why."""
    path = directory / "analysis.json"
    if not directory.is_dir():
        raise UserError(f"{directory}: no such directory")
    if not path.exists():
        raise UserError(f"{path}: missing (run ./parbench analyze {directory} first)")
    data = load_json(path)
    if not isinstance(data, dict) or data.get("parbench_analysis") != 1:
        raise UserError(f"{path}: not a parbench analysis")
    if any(key not in data for key in ("verdicts", "digest", "claims", "quality")):
        raise UserError(f"{path}: made by an older parbench (run ./parbench analyze {directory} again)")
    if data["digest"] != signature(data):
        raise UserError(f"{path}: changed since analyze wrote it, or written on another machine (run "
                        f"./parbench analyze {directory} again)")
    if data.get("sweep_sha256") != state_digest(directory):
        raise UserError(f"{path}: {STALE} (sweep.json changed since; run ./parbench analyze {directory} again)")
    return data


def analysis_problem(directory: Path) -> str | None:
    """Why DIR/analysis.json cannot be drawn from as it is (missing, damaged, older), or None."""
    try:
        load_analysis(directory)
    except UserError as error:
        return str(error)
    return None


class ResultsFolder:
    """A results folder as parbench reads it: its lock, sweep.json, settings.json, env.json, the
    raw files (checked against their recorded digests), the digest of its state and its current
    analysis. The stages take a folder's files from here; atomic writes and the lock itself are
    util.py's."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def is_sweep(self) -> bool:
        return self.path.is_dir() and (self.path / STATE_FILE).exists()

    @contextlib.contextmanager
    def locked(self):
        """The folder's lock, what a writer killed outright left half-done removed first; a
        folder that is not a sweep's (no sweep.json) is read without a .lock file."""
        if not self.is_sweep():
            yield self
            return
        with FolderLock(self.path):
            remove_partials(self.path)
            yield self

    def state(self) -> dict:
        return read_state(self.path)

    def settings(self) -> dict:
        return read_settings(self.path)

    def env(self) -> dict:
        return read_env(self.path)

    def raw_files(self, changed: list | None = None) -> list[Path]:
        return result_files(self.path, changed)

    def missing_raw_files(self) -> list[str]:
        return missing_raw_files(self.path, self.state())

    def digest(self) -> str | None:
        return state_digest(self.path)

    def analysis(self) -> dict:
        return load_analysis(self.path)

    def analysis_problem(self) -> str | None:
        return analysis_problem(self.path)
