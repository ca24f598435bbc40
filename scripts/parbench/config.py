"""Sweep configurations: TOML files in benchmarks/sweeps/ (or any FILE.toml).

Every key is documented in benchmarks/sweeps/default.toml. Unknown keys and
wrong types are errors (one line naming the file and the key).
"""
from __future__ import annotations

import math
import tomllib
from dataclasses import fields, asdict, dataclass, field
from pathlib import Path

from pytrack.executor import AFFINITY_POLICIES
from pytrack.registry import LIMITS

from . import UserError

SWEEPS_DIR = Path(__file__).resolve().parents[2] / "benchmarks" / "sweeps"


@dataclass
class CheckThresholds:
    amdahl_tolerance: float = 0.03
    amdahl_models: list[str] = field(default_factory=lambda: ["threads", "pool", "tbb", "openmp"])
    efficiency_min: float = 0.8
    efficiency_workloads: list[str] = field(
        default_factory=lambda: ["primes", "mandelbrot", "monte_carlo_pi"])
    efficiency_models: list[str] = field(default_factory=lambda: ["threads", "pool", "tbb", "openmp"])
    reference_tolerance: float = 0.25


@dataclass
class MpiSettings:
    """The [mpi] table: how the sweep launches the mpi model's and the mpi/ family's ranks."""
    launcher: str = "mpirun"
    ranks: list[int] | None = None      # None: the sweep's worker counts
    hosts: list[str] | None = None      # e.g. ["node1:2", "node2:2"]; None: this machine
    hostfile: str = ""
    launcher_args: list[str] = field(default_factory=list)
    transport: str = ""                 # e.g. "tcp,self" (Open MPI's btl list); "": its default
    sizes: list[int] | None = None      # mpi/ message sizes; None: 1 B to 4 MiB doubling


@dataclass
class SweepConfig:
    name: str = "default"
    description: str = ""
    size: str = "default"
    workloads: list[str] | None = None
    models: list[str] | None = None
    workers: list[int] | None = None
    # workers = "auto" as the plan made it on this machine's topology (not a key of a config
    # file: the sweep records it, so that a resumed sweep runs the same counts)
    auto_workers: list[int] | None = None
    auto_python_workers: list[int] | None = None  # python_workers = "cores" or "auto", likewise
    auto_affinity: list[str] | None = None  # affinity = "auto", likewise
    auto_numa: list[str] | None = None      # numa = "auto", likewise
    # the largest oversubscribed worker count "auto" plans (twice the usable CPUs, at most this;
    # at or below the usable CPUs: none)
    oversubscribed_max: int = 256
    # "auto" (the policies whose placements differ on this machine) or a list of none, compact, spread
    affinity: str | list[str] = "auto"
    # the Python track's parallel models bound by the affinity policies too
    python_affinity: bool = True
    # "auto" (first_touch, and interleave too with 2 or more NUMA nodes) or a list of them
    numa: str | list[str] = "auto"
    # the size rule: a region at p = the usable cores takes at least this many ms ...
    min_region_ms: float = 1.0
    # ... by multiplying the default and quick sizes by this ("auto": from the rule, >= 1)
    size_scale: str | float = "auto"
    concurrency: list[int] | None = None
    repetitions: int = 5
    min_time: float = 0.1
    family_timeout: float = 900.0
    weak_scaling: bool | list[str] = False  # left out of a config file: off (default.toml names two)
    primitives: list[str] = field(default_factory=lambda: [
        "overhead", "ipc", "psync", "spawn", "sync", "queue", "timer", "mpi", "py"])
    omp_wait_policies: list[str] = field(default_factory=lambda: ["default", "passive", "active"])
    disturbance_max: float = 0.10
    disturbance_reruns: int = 2
    # the interpreter of the Python track (py_ models, py/ primitives), or a list of them:
    # the first runs everything under the plain py_ names; each other one runs the workloads
    # under names tagged with its version (py_threads@3.13), and a free-threaded one also
    # with the GIL forced on (@3.13t-gil1); "": no Python track
    python: str | list[str] = "/usr/bin/python3"
    # the Python track's worker counts: "cores" (1, 2, 4, ... up to the hardware threads),
    # "auto" (the same as workers) or a list
    python_workers: str | list[int] = "cores"
    # weak scaling (weak_scaling's workloads) for the Python track's models too
    python_weak_scaling: bool = False
    check: CheckThresholds = field(default_factory=CheckThresholds)
    mpi: MpiSettings = field(default_factory=MpiSettings)

    def to_dict(self) -> dict:
        return asdict(self)

    # The file it was read from, for messages (not saved: a resumed sweep's is its sweep.json).
    source = "the config"


_SWEEP_TYPES = {
    "description": str, "size": str, "workloads": (list, str), "models": (list, str),
    "workers": (list, str), "concurrency": (list, str), "repetitions": int, "min_time": (int, float),
    "family_timeout": (int, float), "weak_scaling": (bool, list), "primitives": list,
    "omp_wait_policies": list, "disturbance_max": (int, float), "disturbance_reruns": int,
    "python": (str, list), "python_workers": (list, str), "python_weak_scaling": bool,
    "oversubscribed_max": int, "affinity": (str, list), "python_affinity": bool, "numa": (str, list),
    "min_region_ms": (int, float), "size_scale": (str, int, float),
}
OMP_WAIT_POLICIES = ("default", "passive", "active")
# where a memory-bound family's pages go (--numa= of the binary, benchmarks/memory_policy.hpp)
MEMORY_POLICIES = ("first_touch", "interleave")
_MPI_TYPES = {
    "launcher": str, "ranks": (list, str), "hosts": list, "hostfile": str, "launcher_args": list,
    "transport": str, "sizes": list,
}
_CHECK_TYPES = {
    "amdahl_tolerance": (int, float), "amdahl_models": list, "efficiency_min": (int, float),
    "efficiency_workloads": list, "efficiency_models": list, "reference_tolerance": (int, float),
}


def _checked(table: dict, types: dict, where: str, source: str) -> dict:
    values = {}
    for key, value in table.items():
        if key not in types:
            raise UserError(f"{source}: unknown key '{key}' in [{where}] "
                            f"(known: {', '.join(sorted(types))})")
        allowed = types[key] if isinstance(types[key], tuple) else (types[key],)
        if not isinstance(value, allowed) or isinstance(value, bool) and bool not in allowed:
            raise UserError(f"{source}: [{where}] {key} has the wrong type ({type(value).__name__})")
        values[key] = value
    return values


def from_dict(data: dict, name: str, source: str) -> SweepConfig:
    unknown = set(data) - {"sweep", "check", "mpi"}
    if unknown:
        raise UserError(f"{source}: unknown table(s) {', '.join(sorted(unknown))} (use [sweep], [check] and [mpi])")
    for table in ("sweep", "check", "mpi"):
        if not isinstance(data.get(table, {}), dict):
            raise UserError(f"{source}: [{table}] must be a table, not a {type(data[table]).__name__}")
    sweep = _checked(data.get("sweep", {}), _SWEEP_TYPES, "sweep", source)
    check = _checked(data.get("check", {}), _CHECK_TYPES, "check", source)
    mpi = _checked(data.get("mpi", {}), _MPI_TYPES, "mpi", source)
    if mpi.get("ranks") == "auto":
        mpi["ranks"] = None
    elif isinstance(mpi.get("ranks"), str):
        raise UserError(f"{source}: [mpi] ranks must be a list or \"auto\"")
    config = SweepConfig(name=name, check=CheckThresholds(**check), mpi=MpiSettings(**mpi))
    for key in ("workloads", "models", "workers", "concurrency"):
        if sweep.get(key) == "all" or sweep.get(key) == "auto":
            sweep[key] = None
        elif isinstance(sweep.get(key), str):
            word = "auto" if key in ("workers", "concurrency") else "all"
            raise UserError(f"{source}: [sweep] {key} must be a list or \"{word}\"")
    for key, value in sweep.items():
        setattr(config, key, value)
    if "primitives" not in sweep and config.python == "":  # left out: every family this config can run
        config.primitives = [name for name in config.primitives if name != "py"]
    validate(config, source)
    return config


# The documented ranges of the numbers a config holds (benchmarks/sweeps/default.toml):
# (low, high, whole number). NaN and infinity are never in range: a min_time of nan would
# slip past "<= 0" and run every family until its timeout.
NUMBER_RANGES = {
    "repetitions": (1, LIMITS["max_repetitions"], True), "min_time": (0.001, LIMITS["max_min_time_seconds"], False),
    "family_timeout": (1, 7 * 86400, False), "disturbance_max": (0, 1, False),
    "disturbance_reruns": (0, 10, True), "oversubscribed_max": (1, LIMITS["max_workers"], True),
    "min_region_ms": (0.001, 1000, False),
}
CHECK_RANGES = {"amdahl_tolerance": (0, 1, False), "efficiency_min": (0, 2, False),
                "reference_tolerance": (0, 10, False)}
MAX_WORKERS = LIMITS["max_workers"]  # for p (--p), as the binary's and pytrack's
MAX_CONCURRENCY = LIMITS["max_concurrency"]  # the I/O workloads' concurrency (--concurrency)


def check_number(value, where: str, low: float, high: float, whole: bool) -> None:
    """A finite number in [low, high] (a whole one if `whole`): one line naming `where` if not."""
    kind = "a whole number" if whole else "a number"
    if (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
            or (whole and value != int(value)) or not low <= value <= high):
        raise UserError(f"{where} must be {kind} in [{low:g}, {high:g}], got {value!r}")


def check_names(values, where: str, allow_none: bool = True) -> None:
    """None (all), or a non-empty list of non-empty names, each once."""
    if values is None and allow_none:
        return
    if not isinstance(values, list) or not values or not all(isinstance(v, str) and v for v in values):
        raise UserError(f"{where} must be a non-empty list of names" + (' (or "all")' if allow_none else ""))
    twice = sorted({v for v in values if values.count(v) > 1})
    if twice:
        raise UserError(f"{where} names {', '.join(twice)} more than once")


def check_counts(values, where: str, most: int = MAX_WORKERS) -> None:
    """None (automatic) or a non-empty list of distinct whole numbers in [1, most]."""
    if values is None:
        return
    if not isinstance(values, list) or not values:
        raise UserError(f"{where} must be a non-empty list of positive integers (or \"auto\")")
    for value in values:
        check_number(value, where, 1, most, True)
    if len(set(values)) != len(values):
        raise UserError(f"{where} names a value more than once: {values}")


def validate(config: SweepConfig, source: str) -> None:
    """Every value of a config, from a TOML file or a saved sweep.json: finite numbers in their
    documented ranges, non-empty lists of names. One line naming the file and the key."""
    where = f"{source}: [sweep]"
    if config.size not in ("default", "quick", "small"):
        raise UserError(f"{where} size must be default, quick or small, got {config.size!r}")
    for key, (low, high, whole) in NUMBER_RANGES.items():
        check_number(getattr(config, key), f"{where} {key}", low, high, whole)
    if not isinstance(config.omp_wait_policies, list) or not config.omp_wait_policies or any(
            p not in OMP_WAIT_POLICIES for p in config.omp_wait_policies):
        raise UserError(f"{where} omp_wait_policies must list some of {', '.join(OMP_WAIT_POLICIES)}")
    check_names(config.omp_wait_policies, f"{where} omp_wait_policies", False)
    check_names(config.workloads, f"{where} workloads")
    check_names(config.models, f"{where} models")
    if not isinstance(config.primitives, list) or not all(isinstance(v, str) and v for v in config.primitives):
        raise UserError(f"{where} primitives must be a list of primitive family names (or [])")
    if not isinstance(config.weak_scaling, bool):
        check_names(config.weak_scaling, f"{where} weak_scaling (true, false or a list of workloads)", False)
    check_counts(config.workers, f"{where} workers")
    check_counts(config.auto_workers, f"{where} auto_workers")
    check_counts(config.auto_python_workers, f"{where} auto_python_workers")
    if config.affinity != "auto":
        if not isinstance(config.affinity, list) or any(p not in AFFINITY_POLICIES for p in config.affinity):
            raise UserError(f"{where} affinity must be \"auto\" or a list of {', '.join(AFFINITY_POLICIES)}")
        check_names(config.affinity, f"{where} affinity", False)
    if config.auto_affinity is not None and (not isinstance(config.auto_affinity, list) or any(
            p not in AFFINITY_POLICIES for p in config.auto_affinity)):
        raise UserError(f"{where} auto_affinity must be a list of {', '.join(AFFINITY_POLICIES)}")
    for key, word in (("numa", '"auto" or '), ("auto_numa", "")):
        value = getattr(config, key)
        if (value != "auto" if key == "numa" else value is not None) and (
                not isinstance(value, list) or not value or any(p not in MEMORY_POLICIES for p in value)):
            raise UserError(f"{where} {key} must be {word}a list of {', '.join(MEMORY_POLICIES)}")
    if config.size_scale != "auto":
        check_number(config.size_scale, f"{where} size_scale (\"auto\" or a number)", 1, 1000, False)
    check_counts(config.concurrency, f"{where} concurrency", MAX_CONCURRENCY)
    if isinstance(config.python, list):
        check_interpreters(config.python, f"{where} python")
    elif not isinstance(config.python, str):
        raise UserError(f"{where} python must be an interpreter, a list of them, or \"\"")
    if isinstance(config.python_workers, list):
        check_counts(config.python_workers, f"{where} python_workers")
    elif config.python_workers not in ("auto", "cores"):
        raise UserError(f"{where} python_workers must be \"auto\", \"cores\" or a list")
    if not isinstance(config.python_weak_scaling, bool):
        raise UserError(f"{where} python_weak_scaling must be true or false")
    for key, (low, high, whole) in CHECK_RANGES.items():
        check_number(getattr(config.check, key), f"{source}: [check] {key}", low, high, whole)
    for key in ("amdahl_models", "efficiency_workloads", "efficiency_models"):
        names = getattr(config.check, key)
        if names != []:  # [] turns that check off
            check_names(names, f"{source}: [check] {key}", False)
    validate_mpi(config.mpi, source)
    config.source = source


def validate_mpi(mpi: MpiSettings, source: str) -> None:
    """The [mpi] table, from a TOML file or a saved sweep.json."""
    for key in ("ranks", "sizes"):
        values = getattr(mpi, key)
        if values is not None and (not isinstance(values, list) or not values or any(
                not isinstance(v, int) or isinstance(v, bool) or v < 1 for v in values)):
            raise UserError(f"{source}: [mpi] {key} must be positive integers")
    for key in ("hosts", "launcher_args"):
        values = getattr(mpi, key)
        if values is not None and (not isinstance(values, list) or not all(isinstance(v, str) and v for v in values)):
            raise UserError(f"{source}: [mpi] {key} must be a list of non-empty strings")
    for key in ("launcher", "hostfile", "transport"):
        if not isinstance(getattr(mpi, key), str):
            raise UserError(f"{source}: [mpi] {key} must be a string")
    if mpi.hosts and mpi.hostfile:
        raise UserError(f"{source}: [mpi] give hosts or hostfile, not both")
    if mpi.launcher == "":
        raise UserError(f"{source}: [mpi] launcher must name a program")


def check_interpreters(names: list, where: str) -> None:
    """A list of interpreters: at least one, each a non-empty name, none twice."""
    if not names or not all(isinstance(n, str) and n for n in names):
        raise UserError(f"{where} must be an interpreter, a non-empty list of them, or \"\" (no Python track)")
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise UserError(f"{where} lists {', '.join(twice)} more than once")


def load(name_or_path: str) -> SweepConfig:
    """A named config (quick, default, full) or a FILE.toml."""
    path = Path(name_or_path)
    if not name_or_path.endswith(".toml"):
        path = SWEEPS_DIR / f"{name_or_path}.toml"
        if not path.exists():
            known = sorted(p.stem for p in SWEEPS_DIR.glob("*.toml"))
            raise UserError(f"unknown sweep config '{name_or_path}' (known: {', '.join(known)}, "
                            "or a path to a .toml file)")
    if not path.exists():
        raise UserError(f"{path}: no such file")
    from .util import read_regular_text
    text = read_regular_text(path, follow=True, limit=1 << 20)  # a FIFO, a device or a huge file: refused
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise UserError(f"{path}: malformed TOML ({error})") from None
    except RecursionError:
        raise UserError(f"{path}: TOML nested too deeply") from None
    except ValueError as error:  # a number of thousands of digits
        raise UserError(f"{path}: unreadable TOML ({str(error).split(';')[0]})") from None
    return from_dict(data, path.stem, str(path))


def from_saved(saved: dict, source: str = "sweep.json") -> SweepConfig:
    """Rebuilds the config a sweep stored in its sweep.json, validated as a TOML one is (saved
    state can be damaged or edited). source: the file, for the message."""
    if not isinstance(saved, dict):
        raise UserError(f"{source}: its config is not a table")
    # Keys of other parbench versions are ignored, so old results stay checkable.
    saved = dict(saved)
    check_fields = {f.name for f in fields(CheckThresholds)}
    sweep_fields = {f.name for f in fields(SweepConfig)} - {"check"}
    mpi_fields = {f.name for f in fields(MpiSettings)}
    tables = {"check": saved.pop("check", None) or {}, "mpi": saved.pop("mpi", None) or {}}
    for key, table in tables.items():
        if not isinstance(table, dict):
            raise UserError(f"{source}: its config's [{key}] is not a table")
    check = CheckThresholds(**{k: v for k, v in tables["check"].items() if k in check_fields})
    mpi = MpiSettings(**{k: v for k, v in tables["mpi"].items() if k in mpi_fields})
    sweep_fields -= {"mpi"}
    config = SweepConfig(**{k: v for k, v in saved.items() if k in sweep_fields}, check=check, mpi=mpi)
    validate(config, source)
    return config
