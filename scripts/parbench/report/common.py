"""What the sections share: their context, the environment's lines, times and the verdicts'
wording."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .. import UserError, units
from ..modelnames import track_label
from ..util import load_json


def read_optional(path: Path) -> dict:
    try:
        data = load_json(path)
    except UserError:
        return {}
    return data if isinstance(data, dict) else {}


def _io_backend(env: dict) -> str:
    backend = env.get("io_backend", {}) if isinstance(env.get("io_backend"), dict) else {}
    name = backend.get("backend", "unknown")
    reason = backend.get("reason", "")
    return f"{name}" + (f" ({reason})" if reason else "")


def _mpi_rows(env: dict) -> list[list[str]]:
    """How the MPI jobs ran (env.json "mpi"), where the sweep ran any."""
    mpi = env.get("mpi") if isinstance(env.get("mpi"), dict) else None
    if not mpi:
        return []
    text = lambda key: str(mpi.get(key) or "?")
    hosts = mpi.get("hosts") if isinstance(mpi.get("hosts"), list) else []
    return [["MPI", f"{text('library')}; jobs: {text('launch')}"],
            ["MPI hosts and transport", f"{', '.join(map(str, hosts)) or '?'}; {text('transport')}"],
            ["MPI binding and schedule",
             f"{text('binding')}; {text('oversubscribe')}; schedule {text('schedule')}"],
            ["MPI network", text("network") if mpi.get("network") else "not recorded (a sweep of an older parbench)"]]


def _program_name(path) -> str:
    """An interpreter by its file name: a report names no path of this machine."""
    return Path(str(path)).name if path else "?"


def _python_rows(env: dict) -> list[list[str]]:
    """The Python track's interpreter, as the sweep recorded it (env.json's python_track)."""
    info = env.get("python_track")
    if not isinstance(info, dict):
        return []
    return [["Python track", f"{info.get('python_implementation', '?')} {info.get('python_version', '?')} "
             f"({_program_name(info.get('python_executable'))}), "
             f"GIL {'on' if info.get('gil_enabled', True) else 'off'}, "
             f"start method {info.get('start_method', '?')} ({info.get('start_method_set_by', '?')})"]]


def _omp_policy(env: dict, config: dict) -> str:
    policy = env.get("omp_wait_policy", "?")
    text = {"default": "libgomp's default (idle threads spin for a while, then sleep)",
            "passive": "passive (idle threads sleep at once), set in the environment",
            "active": "active (idle threads spin), set in the environment"}.get(policy, policy)
    policies = config.get("omp_wait_policies") or []
    others = [p for p in policies if p != policy]
    return (text + "; every family in its own process"
            + (f"; overhead/parallel_for/openmp and sync/barrier/openmp also run under "
               f"{', '.join(others)} (wait:<policy> in their names)" if others else ""))


def _when(text: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None


def _duration(sweep: dict) -> str:
    start, end = _when(sweep.get("started")), _when(sweep.get("finished"))
    benchmarks = sum(f.get("seconds", 0) for f in sweep.get("families", []))
    wall = f"{(end - start).total_seconds() / 60:.1f} min" if start and end else "unknown (not finished)"
    return f"{wall} ({benchmarks / 60:.1f} min of benchmarks)"


def machine_line(env: dict, cores: dict) -> str:
    cpu = env.get("cpu", {})
    load = (env.get("load_average") or {}).get("before") or []
    after = (env.get("load_average") or {}).get("after") or []
    load_text = (" / ".join(f"{v:.2f}" for v in load[:3]) if load else "unknown") + (
        " before the sweep, " + " / ".join(f"{v:.2f}" for v in after[:3]) + " after" if after else " before the sweep")
    return (f"{cpu.get('model', 'unknown CPU')}, {cores['physical']} physical cores / "
            f"{cores['hardware_threads']} hardware threads, governor {cpu.get('governor', 'unknown')}, "
            f"load (1/5/15 min) {load_text}")


def _verdict_label(verdict: dict) -> str:
    """A verdict's workload, marked when it is the Python track's (py_ models among themselves)."""
    track = track_label(verdict.get("track", ""))
    return verdict["workload"] + (f" ({track})" if track else "")


def _vs_previous(row: dict | None) -> str:
    """now / before [interval at its test's confidence] and the direction its test found."""
    if row is None:
        return "–"
    text = f"{row['ratio']:.2f}x {units.interval(*row['ci'])}"
    return text + {"slower": " slower", "faster": " faster"}.get(row.get("direction"), " tie")


@dataclass(frozen=True)
class Context:
    """What every section reads: the folder, its analysis, env.json, sweep.json and check's rows."""
    directory: Path
    analysis: dict
    env: dict
    sweep: dict
    cores: dict
    plots: Path
    config: dict
    previous: dict | None
    checks: list[dict]
    checked_how: str
