"""./parbench sweep: run a whole benchmark sweep, one process per family.

A family is one (workload, model) pair, or one primitive family such as
overhead/tasks/pool. Each runs as its own subprocess of the benchmark binary
(so OpenMP's or oneTBB's threads of one family never disturb the next), with
Google Benchmark's JSON written to a temporary file and renamed into raw/ only
when the family finished: raw/ never holds half a file. sweep.json records
every family's status and is rewritten atomically after each one, so Ctrl-C
(or SIGTERM) keeps every finished family and --resume DIR goes on from there.

OpenMP runs with libgomp's default wait policy (the user's OMP_WAIT_POLICY if
set); families whose figures depend on the policy (their benchmarks carry a
wait:<policy> argument) run once per policy of the config's
omp_wait_policies, each in its own process.

Each family's disturbance is measured: the CPU time stolen by the hypervisor
and taken by other processes while it ran, as a fraction of the machine's CPU
capacity (/proc/stat, less the family's and the sweep's own CPU time). A
family disturbed beyond the config's disturbance_max (and by at least 0.1
CPU-seconds, the resolution of /proc/stat) is run again, at most
disturbance_reruns times, until an attempt is quiet or a re-run is about as
disturbed as before (then the disturbance is the family's own: a vCPU woken
from idle is counted as stolen while the hypervisor schedules it); the least
disturbed attempt is kept in raw/, the others in rejected/, and every
attempt's figures in sweep.json and in the raw file's context.
"""
from __future__ import annotations

import contextlib
import ctypes
import functools
import hashlib
import json
import os
import re
import resource
import signal
import socket
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from . import UserError, config as config_module, envinfo, provenance, stop_signals
from .gbench import load_file, parse_run_name
from .state import SETTINGS_FILE, check_binary_info, check_python_info, check_state, read_env, spin_calibration
from .util import (FolderLock, OutputTooLarge, atomic_write_text, load_json, one_line, make_folder, open_new_for_writing,
                   parse_json, read_regular_bytes, read_regular_text, refuse_linked_subfolders, remove_partials,
                   run_bounded)
from . import scratch
from .scratch import FAMILY_IO_PREFIX, MPI_SHM_PREFIX, SHARED_MEMORY, NoFolder, private_folder

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Family:
    name: str          # e.g. "primes/pool"
    weak: bool         # weak-scaling variant
    instances: int     # benchmarks in it (for the ETA)
    omp_wait: str = ""  # "", or the OpenMP wait policy this run of the family uses
    ranks: int = 0      # MPI families: the job of this many ranks the launcher starts (0: none)
    # "": the C++ binary; "python": the Python track (python3 -m pytrack) on the first
    # interpreter; "python@3.13" (or @3.13t, @3.13t-gil1): on another interpreter
    track: str = ""
    # sizes this run uses instead of the config's (the C++ serial model at the Python track's
    # sizes, for the cross-language comparison), e.g. "150000"; "": the config's
    sizes: str = ""

    @property
    def key(self) -> str:
        return (self.name + ("|weak" if self.weak else "") + (f"|wait:{self.omp_wait}" if self.omp_wait else "")
                + (f"|ranks:{self.ranks}" if self.ranks else "") + (f"|sizes:{self.sizes}" if self.sizes else ""))

    @property
    def label(self) -> str:
        return (self.name + (" (weak)" if self.weak else "") + (f" (wait:{self.omp_wait})" if self.omp_wait else "")
                + (f" ({self.ranks} ranks)" if self.ranks else "") + (" (Python track's sizes)" if self.sizes else ""))

    @property
    def stem(self) -> str:
        return (self.name.replace("/", "__") + ("__weak" if self.weak else "")
                + (f"__wait-{self.omp_wait}" if self.omp_wait else "")
                + (f"__ranks-{self.ranks}" if self.ranks else "") + ("__py-sizes" if self.sizes else ""))

    @property
    def benchmark_filter(self) -> str:
        """Google Benchmark's filter: the family, and for an MPI job only its rank count's runs
        (the one-rank runs of an MPI family, no job, on their own: run there, the other rank
        counts would spawn their ranks and repeat the jobs' points over TCP)."""
        if self.ranks and not self.name.startswith(MPI_POINT_TO_POINT):
            return f"^{re.escape(self.name)}/(.*/)?(p|ranks):{self.ranks}(/|$)"
        if not self.ranks and is_mpi_family(self.name) and not self.name.startswith("mpi/"):
            return f"^{re.escape(self.name)}/(.*/)?p:1(/|$)"
        return f"^{re.escape(self.name)}(/|$)"

    def environment(self, env: dict) -> dict:
        """The family process's environment: its OpenMP wait policy, if it has one."""
        if not self.omp_wait:
            return env
        env = dict(env)
        if self.omp_wait == "default":
            env.pop("OMP_WAIT_POLICY", None)
        else:
            env["OMP_WAIT_POLICY"] = self.omp_wait
        return env

    @classmethod
    def from_record(cls, record: dict) -> "Family":
        return cls(record["family"], bool(record.get("weak")), int(record.get("instances", 1)),
                   record.get("omp_wait", ""), int(record.get("ranks", 0)), record.get("track", ""),
                   record.get("sizes", ""))


# MPI families run as jobs of their rank count under the [mpi] launcher (one
# job: Open MPI's shared-memory transport between ranks on a host). The
# point-to-point ones always use 2 ranks.
MPI_MODEL_SUFFIX = "/mpi"
MPI_POINT_TO_POINT = ("mpi/latency", "mpi/latency_raw", "mpi/tcp_latency", "mpi/bandwidth", "mpi/bibw")


def is_mpi_family(name: str) -> bool:
    return name.startswith("mpi/") or name.endswith(MPI_MODEL_SUFFIX)


def launcher_command(config, ranks: int | str) -> list[str]:
    """mpirun and its arguments for a job of `ranks` ranks, from the [mpi] table."""
    mpi = config.mpi
    command = [mpi.launcher, "-np", str(ranks), "--oversubscribe"]
    if mpi.hosts:
        command += ["--host", ",".join(mpi.hosts)]
    if mpi.hostfile:
        command += ["--hostfile", mpi.hostfile]
    if mpi.transport:
        command += ["--mca", "btl", mpi.transport]
    return command + list(mpi.launcher_args)


# With every rank on this host (no hosts, no hostfile), Open MPI is told to keep its TCP traffic
# on loopback, and its listeners, which Open MPI 4.1 binds to every interface whatever it is
# told, are bound to loopback by the preload library beside the binary (mpi/loopback.hpp): a
# benchmark run is no server for the network. With hosts, the interfaces are the user's choice.
LOOPBACK_LIBRARY = "libparbench_loopback.so"


_USER_INTERFACES = ("OMPI_MCA_oob_tcp_if_include", "OMPI_MCA_oob_tcp_if_exclude", "OMPI_MCA_btl_tcp_if_include",
                    "OMPI_MCA_btl_tcp_if_exclude", "PARBENCH_MPI_LOOPBACK")


def mpi_loopback_settings(config, binary: Path, env: dict) -> dict:
    """The environment that keeps a job of ranks on this host off the network: {} with hosts
    or a hostfile, or when the user's environment chooses Open MPI's interfaces itself."""
    chosen = any(env.get(key) for key in _USER_INTERFACES) or any(
        "_if_include" in arg or "_if_exclude" in arg for arg in config.mpi.launcher_args)
    if config.mpi.hosts or config.mpi.hostfile or chosen:
        return {}
    settings = {"OMPI_MCA_oob_tcp_if_include": "lo", "OMPI_MCA_btl_tcp_if_include": "lo",
                "PARBENCH_MPI_LOOPBACK": "1"}
    library = Path(binary).parent / LOOPBACK_LIBRARY
    if library.exists():
        settings["LD_PRELOAD"] = str(library)
    return settings


def mpi_environment(config, env: dict, binary: Path | None = None) -> dict:
    env = dict(env)
    if os.geteuid() == 0:  # Open MPI refuses root unless told twice
        env.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
        env.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    if config.mpi.sizes:
        env["PARBENCH_MPI_SIZES"] = ",".join(str(size) for size in config.mpi.sizes)
    for key, value in mpi_loopback_settings(config, binary or binary_path(), env).items():
        # LD_PRELOAD is the launcher's own: the library takes itself out for the ranks
        env[key] = value + (":" + env[key] if key == "LD_PRELOAD" and env.get(key) else "")
    return env


def _check_threshold_names(config, binary: Path, env: dict) -> None:
    """[check]'s workload and model names are real ones (a misspelt name would silently turn
    its check off): the C++ ones by the binary, the py_ ones by the Python track's registry."""
    from pytrack import registry
    models = sorted(set(config.check.amdahl_models) | set(config.check.efficiency_models))
    python_models = [m for m in models if m.startswith("py_")]
    unknown = [m for m in python_models if registry.find_model(m.split("@")[0]) is None]
    python_only = _python_workloads()[1]
    python_workloads = [w for w in config.check.efficiency_workloads if w in python_only]
    if unknown:
        raise UserError(f"{config.source}: [check] names unknown Python model(s) {', '.join(unknown)}")
    cpp_models = [m for m in models if m not in python_models]
    cpp_workloads = [w for w in config.check.efficiency_workloads if w not in python_workloads]
    if cpp_models or cpp_workloads:
        try:
            _run_binary(binary, ["list", f"--models={','.join(cpp_models) or 'serial'}",
                                 f"--workloads={','.join(cpp_workloads) or 'none'}", "--primitives=none"], env)
        except UserError as error:
            raise UserError(f"{config.source}: [check] {error}") from None


def check_mpi_setup(config, families: list) -> None:
    """One clear line before anything runs: no launcher, or a hostfile that is not there."""
    if not any(f.ranks for f in families):
        return
    if shutil.which(config.mpi.launcher) is None:
        raise UserError(f"[mpi] launcher '{config.mpi.launcher}' not found (apt install openmpi-bin, "
                        "or name it in the config's [mpi] table, or leave out the mpi model and family)")
    if config.mpi.hostfile:
        hostfile = Path(config.mpi.hostfile)
        if not hostfile.exists():
            raise UserError(f"[mpi] hostfile {hostfile}: no such file")
        try:
            read_regular_text(hostfile, follow=True, limit=1 << 20)  # not UTF-8, a FIFO, a folder, huge: said now
        except UserError as error:
            raise UserError(f"[mpi] hostfile {error}") from None


def binary_path() -> Path:
    binary = Path(os.environ.get("PARBENCH_BENCH", ROOT / "build" / "release" / "parbench_bench"))
    if not binary.exists():
        raise UserError(f"{binary}: benchmark binary not found (run ./parbench sweep, which builds it)")
    return binary


def _python_workloads() -> tuple[set[str], set[str]]:
    """The Python track's workload names, and those of them the C++ binary does not have
    (its registry, imported, not run)."""
    from pytrack import registry
    workloads = registry.workloads()
    return {w.name for w in workloads}, {w.name for w in workloads if w.python_only}


def selection_args(config: config_module.SweepConfig, track: str = "") -> list[str] | None:
    """The selection options of one track's command line: the C++ binary ("") or the Python
    track ("python"). Model names with the py_ prefix and primitive families under py/ go
    to the Python track, the rest to the binary; a workload goes to each track that has it
    (a name neither has is left to the binary, whose error names it). None: the track has
    nothing selected."""
    python = track == "python"
    workloads, models = config.workloads, config.models
    if models is not None:
        models = [m for m in models if m.startswith("py_") == python]
    if workloads is not None:
        py_workloads, python_only = _python_workloads()
        workloads = [w for w in workloads if (w in py_workloads if python else w not in python_only)]
    primitives = [p for p in config.primitives if (p == "py" or p.startswith("py/")) == python]
    no_workloads = models == [] or workloads == []
    if no_workloads and not primitives:
        return None
    args = [f"--size={config.size}"]
    # Explicit: with --primitives given, the binary runs workloads only when named.
    args.append("--workloads=" + ("none" if no_workloads else "all" if workloads is None else ",".join(workloads)))
    args.append("--models=" + ("all" if models is None or no_workloads else ",".join(models)))
    workers = config.workers
    if python and isinstance(config.python_workers, list):
        workers = config.python_workers
    elif python and config.python_workers == "cores" and not workers:
        args.append("--oversubscribe=false")  # the automatic counts up to the hardware threads only
    elif python and config.python_workers == "cores":
        threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        workers = [p for p in workers if p <= threads] or [min(workers)]
    if workers:
        args.append("--p=" + ",".join(str(p) for p in workers))
    if config.concurrency:
        args.append("--concurrency=" + ",".join(str(p) for p in config.concurrency))
    args.append("--primitives=" + (",".join(primitives) or "none"))
    return args


def _run_binary(binary, args: list[str], env: dict) -> str:
    """Runs the binary (a path) or a track's command (a list) with args; its output, or one line."""
    program = [str(binary)] if isinstance(binary, (str, Path)) else list(binary)
    try:
        result = run_bounded([*program, *args], env=env, timeout=300)
    except OSError as error:
        raise UserError(f"{program[0]}: cannot run ({error.strerror})") from None
    except subprocess.TimeoutExpired:
        raise UserError(f"{program[0]} {' '.join(args[:2])}: no answer within 300 s") from None
    except OutputTooLarge as error:
        raise UserError(f"{program[0]} {' '.join(args[:2])}: {error} (is it parbench's?)") from None
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        # The binary's own one-line error already starts "parbench: ", as ours will.
        raise UserError(lines[-1].removeprefix("parbench: ") if lines
                        else f"benchmark binary failed ({result.returncode})")
    return result.stdout


def program_info(program, env: dict, what: str, check) -> dict:
    """`<program> info` (the binary's or an interpreter's pytrack's), parsed and checked by
    `check`: one line naming the program when it is not what it should be."""
    text = _run_binary(program, ["info"], env).strip()
    try:
        info = parse_json(text, what) if text else None
        if info is None:
            raise UserError(f"{what}: printed nothing")
        return check(info, f"{what}: its info")
    except UserError as error:
        raise UserError(f"{error} (`info` printed {json.dumps(text[:60])}: is it parbench's?)") from None


def _binary_label(binary) -> str:
    return f"PARBENCH_BENCH={binary}" if os.environ.get("PARBENCH_BENCH") else str(binary)


PYTHON_TRACK = "python"
# The oldest interpreter the Python track runs on (concurrent.futures' cancel_futures, 3.9).
MIN_PYTHON = (3, 9)


def is_python_track(track: str) -> bool:
    return track == PYTHON_TRACK or track.startswith(PYTHON_TRACK + "@")


def python_interpreters(config) -> list[str]:
    """The config's interpreters, first one first ([sweep] python: one name or a list)."""
    if isinstance(config.python, str):
        return [config.python] if config.python else []
    return list(config.python)


# The models a free-threaded interpreter also runs with the GIL forced on (PYTHON_GIL=1):
# the thread models and their baseline (processes and asyncio do not depend on it).
GIL_ON_MODELS = ("py_serial", "py_threads", "py_thread_pool")


LAUNCHER = ROOT / "scripts" / "launch.py"


def python_command(name: str) -> list[str]:
    """`<interpreter> -P scripts/launch.py pytrack` (-I before Python 3.11): the track's
    modules and nothing from the current folder (scripts/launch.py), after checking the
    interpreter runs and is new enough: one clear line if not."""
    interpreter = shutil.which(name)
    if interpreter is None:
        raise UserError(f"Python track: interpreter '{name}' not found (set [sweep] python "
                        "or --python to an installed python3, or \"\" to leave the track out)")
    if not os.path.isabs(interpreter):  # found through a relative PATH entry: the current folder's
        raise UserError(f"Python track: interpreter '{name}' found only as {interpreter}, relative to the "
                        "current folder; name it by its absolute path")
    try:
        # -I: the question itself imports nothing from the current folder
        found = run_bounded([interpreter, "-I", "-c", "import sys; print('%d %d' % sys.version_info[:2])"],
                            timeout=60, limit=1 << 16)
        version = tuple(int(x) for x in found.stdout.split())
    except (OSError, ValueError, subprocess.TimeoutExpired, OutputTooLarge):
        version = ()
    if len(version) != 2:
        raise UserError(f"Python track: '{interpreter}' does not run as a Python 3 interpreter")
    if version < MIN_PYTHON:
        raise UserError(f"Python track: '{interpreter}' is Python {version[0]}.{version[1]}, "
                        f"the track needs {MIN_PYTHON[0]}.{MIN_PYTHON[1]} or newer")
    return [interpreter, "-P" if version >= (3, 11) else "-I", str(LAUNCHER), "pytrack"]


def python_environment(env: dict, gil_setting: str = "") -> dict:
    """The Python track's environment: the pytrack package on its path, and the GIL as the
    interpreter's users get it (PYTHON_GIL unset) unless a variant sets it."""
    env = dict(env)
    env.pop("PYTHON_GIL", None)
    if gil_setting:
        env["PYTHON_GIL"] = gil_setting
    scripts = str(ROOT / "scripts")
    env["PYTHONPATH"] = scripts + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


@dataclass
class Tracks:
    """How each track's families run: the program (the binary, or `python -m pytrack`), its
    selection options and its environment."""
    programs: dict
    selections: dict
    environments: dict
    python_info: dict | None = None  # `python3 -m pytrack info` of the first interpreter
    # every Python track: {"track", "tag", "interpreter", "gil_setting", "info"}, first one first
    python_tracks: list = field(default_factory=list)

    @classmethod
    def make(cls, binary: Path, config, env: dict, saved: dict | None = None) -> "Tracks":
        """The tracks the config selects. saved: the sweep's state, whose Python tracks' info
        (their spin calibrations) is reused; without it, each interpreter is measured now."""
        tracks = cls({}, {}, {})
        selection = selection_args(config)
        if selection is not None:
            tracks.programs[""], tracks.selections[""], tracks.environments[""] = binary, selection, env
        named = [m for m in (config.models or []) if m.startswith("py_")] + [
            p for p in config.primitives if p == "py" or p.startswith("py/")]
        interpreters = python_interpreters(config)
        if named and not interpreters:
            raise UserError(f"the config names Python-track benchmarks ({', '.join(named)}) but python = \"\" "
                            "leaves the track out (name an interpreter, or drop them)")
        selection = selection_args(config, PYTHON_TRACK)
        if selection is None:
            return tracks
        saved_infos = {(t["interpreter"], t["gil_setting"]): t["info"] for t in (saved or {}).get("python_tracks", [])}
        if saved and saved.get("python_info") and interpreters and (interpreters[0], "") not in saved_infos:
            saved_infos[(interpreters[0], "")] = saved["python_info"]  # a sweep of before python_tracks
        first_of_tag: dict[str, str] = {}
        for index, name in enumerate(interpreters):
            command = python_command(name)
            for gil_setting in ("", "1"):
                environment = python_environment(env, gil_setting)
                info = saved_infos.get((name, gil_setting))
                if info is None:
                    info = program_info(command, environment, f"Python track: {name}", check_python_info)
                if gil_setting and not info.get("free_threaded"):
                    break  # the GIL cannot be switched off: nothing to compare
                version = ".".join(str(info["python_version"]).split(".")[:2])
                tag = version + ("t" if info.get("free_threaded") else "") + ("-gil1" if gil_setting else "")
                if tag in first_of_tag:
                    raise UserError(f"Python track: '{first_of_tag[tag]}' and '{name}' are both Python {tag} "
                                    "([sweep] python / --python: list each interpreter once)")
                first_of_tag[tag] = name
                shown_tag = "" if index == 0 and not gil_setting else tag
                args = [a for a in selection if not a.startswith("--primitives=")]
                if shown_tag:
                    args = [*args, f"--tag={shown_tag}", "--primitives=none"]
                    if gil_setting:  # the thread models (and their baseline) only
                        models = next(a for a in args if a.startswith("--models="))[len("--models="):]
                        wanted = [m for m in GIL_ON_MODELS if models == "all" or m in models.split(",")]
                        args = [a if not a.startswith("--models=") else "--models=" + ",".join(wanted or ["none"])
                                for a in args]
                    if "--workloads=none" in args or "--models=none" in args:
                        continue  # primitives only: they run on the first interpreter
                else:
                    args.append(next(a for a in selection if a.startswith("--primitives=")))
                track = PYTHON_TRACK + (f"@{shown_tag}" if shown_tag else "")
                # One spin calibration for all of a track's processes, as the binary's.
                environment["PARBENCH_PY_SPIN_ITERS_PER_US"] = f"{info['spin_iters_per_us']:.6f}"
                tracks.programs[track], tracks.selections[track], tracks.environments[track] = command, args, environment
                tracks.python_tracks.append({"track": track, "tag": shown_tag, "interpreter": name,
                                             "gil_setting": gil_setting, "info": info})
                if track == PYTHON_TRACK:
                    tracks.python_info = info
        return tracks

    def run(self, family: Family, config, directory: Path, stop, out_path: Path | None = None,
            reruns: bool = True) -> dict | None:
        track = family.track
        if reruns:
            return run_with_reruns(self.programs[track], self.selections[track], family, config, directory,
                                   self.environments[track], stop)
        return run_family(self.programs[track], self.selections[track], family, config, directory,
                          self.environments[track], stop, out_path=out_path)


def cross_language_families(families: list[Family], config, listed: set[tuple] = frozenset()) -> list[Family]:
    """The C++ serial model at the Python track's sizes, for each workload both tracks have
    and whose py_serial runs: the report's cross-language table compares the two at the same
    n (the tracks' own sizes differ: Python takes ~50x longer per item). Sizes whose run the
    C++ track already lists (`listed`: its (family, n, p)) are not run twice."""
    if not any(f.name.endswith("/serial") and not f.track for f in families):
        return []  # no C++ serial in this sweep
    from pytrack import registry
    extra = []
    for family in families:
        workload, _, model = family.name.partition("/")
        found = registry.find_workload(workload)
        if model != "py_serial" or family.weak or found is None or found.python_only or not found.cross_language:
            continue
        sizes = {"default": found.default_sizes, "quick": found.quick_sizes, "small": [found.small_size]}[config.size]
        sizes = [n for n in sizes if (f"{workload}/serial", float(n), 1.0) not in listed]
        if sizes:
            extra.append(Family(f"{workload}/serial", False, len(sizes), sizes=",".join(map(str, sizes))))
    return extra


_PRIMITIVE_PREFIXES = tuple(prefix + "/" for prefix in ("overhead", "sync", "queue", "spawn", "timer", "ipc",
                                                         "psync", "mpi", "py"))


def list_families(binary, selection: list[str], config, env: dict, track: str = "",
                  listed: set[tuple] | None = None) -> list[Family]:
    """The families of one track's selection; `listed` collects its strong-scaling benchmarks'
    (family, n, p)."""
    families: list[Family] = []
    weak_scaling = config.weak_scaling and (not is_python_track(track) or config.python_weak_scaling)
    for weak in ([False, True] if weak_scaling else [False]):
        args = selection + (["--scaling=weak"] if weak else []) + ["--benchmark_list_tests=true"]
        counts: dict[str, int] = {}
        per_wait_policy: set[str] = set()
        for line in _run_binary(binary, args, env).splitlines():
            if not line.strip():
                continue
            family, run_args = parse_run_name(line.strip())
            if listed is not None and not weak:
                listed.add((family, run_args.get("n"), run_args.get("p")))
            if "wait" in run_args:
                per_wait_policy.add(family)
            parts = family.split("/")
            is_workload = len(parts) == 2 and not family.startswith(_PRIMITIVE_PREFIXES)
            # A primitives entry is a family prefix: "sync" or a narrower "sync/mutex".
            wanted = any(family == prefix or family.startswith(prefix + "/") for prefix in config.primitives)
            if not is_workload and (weak or not wanted):
                continue
            if weak and isinstance(config.weak_scaling, list) and parts[0] not in config.weak_scaling:
                continue  # weak scaling only for the workloads the config names
            ranks = 0
            if is_mpi_family(family):
                ranks = 2 if family.startswith(MPI_POINT_TO_POINT) else int(run_args.get("p", run_args.get("ranks", 1)))
                if ranks < 2:
                    ranks = 0  # one rank: no job, no MPI
                elif config.mpi.ranks and ranks not in config.mpi.ranks:
                    continue
            counts[(family, ranks)] = counts.get((family, ranks), 0) + 1
        for (name, ranks), count in counts.items():
            if name in per_wait_policy:
                families += [Family(name, weak, count, policy, track=track) for policy in config.omp_wait_policies]
            else:
                families.append(Family(name, weak, count, ranks=ranks, track=track))
    return families


class Progress:
    """A progress bar with an ETA weighted by expected cost on a terminal;
    one plain line per family otherwise."""

    def __init__(self, families: list[Family], config, stream=None):
        # The bar's own carriage returns go to the terminal as they are (the stream under an
        # InertStream); the names and messages in it are made inert here.
        stream = stream or sys.stdout
        self.stream = getattr(stream, "raw", stream)
        self.tty = self.stream.isatty()
        self.cost = {f.key: f.instances * (config.repetitions * max(config.min_time, 0.05) + 0.3)
                     for f in families}
        self.total = sum(self.cost.values())
        self.done_cost = 0.0
        self.start = time.monotonic()
        self.count = len(families)
        self.index = 0

    def eta(self) -> str:
        if self.done_cost <= 0:
            return "--"
        remaining = (time.monotonic() - self.start) * (self.total - self.done_cost) / self.done_cost
        return f"{int(remaining // 60)}m{int(remaining % 60):02d}s"

    def starting(self, family: Family) -> None:
        self.index += 1
        if self.tty:
            width = 30
            filled = int(width * self.done_cost / self.total) if self.total else width
            bar = "#" * filled + "." * (width - filled)
            self.stream.write(f"\r[{bar}] {self.index}/{self.count} {one_line(family.label):<36.36} ETA {self.eta():>7}")
            self.stream.flush()

    def finished(self, family: Family, record: dict, skipped: bool = False) -> None:
        self.done_cost += self.cost[family.key]
        if skipped:
            return
        if self.tty:
            if record["status"] != "ok":
                self.stream.write(f"\r{' ' * 100}\r{one_line(family.name)}: {record['status']}: {one_line(record['message'])}\n")
            return
        line = f"[{self.index}/{self.count}] {family.label} {record['status']} {record['seconds']:.1f}s"
        if record["status"] != "ok":
            line += f": {record['message']}"
        elif len(record.get("attempts", [])) > 1:
            line += f" (run {len(record['attempts'])} times: disturbed)"
        print(one_line(line), file=self.stream, flush=True)

    def close(self) -> None:
        if self.tty:
            self.stream.write(f"\r{' ' * 100}\r")
            self.stream.flush()


def _kill_group(process: subprocess.Popen) -> None:
    """Ends the family's process group and reaps the child (no zombie)."""
    for sig, grace in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            try:
                pid, status = os.waitpid(process.pid, os.WNOHANG)
            except ChildProcessError:
                process.returncode = -sig
                return
            if pid:
                process.returncode = os.waitstatus_to_exitcode(status)
                return
            time.sleep(0.05)


PF_KTHREAD = 0x00200000  # a kernel thread (include/linux/sched.h)


def _kernel_thread_cpu(ticks: int) -> float:
    """CPU seconds used so far by the kernel's own threads (writeback, journalling, kworkers:
    work a family's fsyncs and I/O cause, not disturbance from another program)."""
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        if len(fields) > 12 and int(fields[6]) & PF_KTHREAD:
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


@dataclass
class CpuSample:
    """Machine-wide busy and stolen CPU seconds, the kernel threads' share of the busy time,
    and this process's own CPU seconds."""
    busy: float
    steal: float
    kernel_threads: float
    own: float

    @classmethod
    def take(cls) -> "CpuSample | None":
        try:
            with open("/proc/stat") as stat:
                fields = [int(v) for v in stat.readline().split()[1:]]
            ticks = os.sysconf("SC_CLK_TCK")
            kernel_threads = _kernel_thread_cpu(ticks)
        except (OSError, ValueError):
            return None
        # Interrupt time is left out: the disk and network interrupts of an I/O family are its own.
        user, nice, system, _idle, _iowait, _irq, _softirq, steal = (fields + [0] * 8)[:8]
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return cls((user + nice + system) / ticks, steal / ticks, kernel_threads,
                   usage.ru_utime + usage.ru_stime)


def disturbance(before: CpuSample | None, after: CpuSample | None, seconds: float,
                family_cpu: float) -> dict | None:
    """What else used the machine while a family ran, as fractions of its CPU capacity
    (seconds x CPUs): steal (the hypervisor kept our vCPUs waiting: other guests, and also the
    latency of waking an idle vCPU, which a family that sleeps and wakes often causes itself)
    and other (busy time of other programs: the machine's user and system time less the
    family's, the sweep's own and the kernel threads')."""
    if before is None or after is None or seconds <= 0:
        return None
    capacity = seconds * (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                          else os.cpu_count() or 1)
    other = max(0.0, after.busy - before.busy - family_cpu - (after.own - before.own)
                - (after.kernel_threads - before.kernel_threads))
    steal = max(0.0, after.steal - before.steal)
    return {"steal": round(steal / capacity, 4), "other": round(other / capacity, 4),
            "total": round((steal + other) / capacity, 4), "cpu_seconds": round(steal + other, 3)}


def run_family(binary: Path, selection: list[str], family: Family, config, directory: Path,
               env: dict, stop: "StopRequest", out_path: Path | None = None) -> dict | None:
    """Runs one family in its own process group and moves its JSON to out_path (default
    raw/<stem>.json). Returns its record, or None when a stop was requested while it ran: the
    child is then killed and reaped and its partial output removed."""
    raw, logs = directory / "raw", directory / "logs"
    out_path = out_path or raw / f"{family.stem}.json"
    log_path = logs / f"{out_path.stem}.log"
    program = [str(binary)] if isinstance(binary, (str, Path)) else list(binary)
    if family.sizes:  # one workload on the serial model at the given sizes
        selection = [arg for arg in selection if not arg.startswith(("--size=", "--workloads=", "--models=",
                                                                      "--primitives="))]
        selection += [f"--size={family.sizes}", f"--workloads={family.name.split('/')[0]}", "--models=serial",
                      "--primitives=none"]
    command = [*(launcher_command(config, family.ranks) if family.ranks else []),
               *program, *selection, *(["--scaling=weak"] if family.weak else []),
               f"--benchmark_filter={family.benchmark_filter}",
               f"--benchmark_repetitions={config.repetitions}",
               f"--benchmark_min_time={config.min_time:g}",
               # Repetitions of the family's benchmarks in random order: a slow
               # drift of the machine then spreads over all p instead of
               # biasing one of them.
               "--benchmark_enable_random_interleaving=true", "--benchmark_out_format=json"]
    record = {"family": family.name, "weak": family.weak, "omp_wait": family.omp_wait, "ranks": family.ranks,
              "track": family.track, "sizes": family.sizes,
              "file": str(out_path.relative_to(directory)), "instances": family.instances,
              "status": "failed", "message": "", "seconds": 0.0, "max_rss_mib": None,
              "cpu_seconds": None, "disturbance": None}
    for folder in (out_path.parent, logs):
        make_folder(folder)
    before = CpuSample.take()
    start = time.monotonic()
    family_env = family.environment(env)
    one_host = not (is_mpi_family(family.name) and (config.mpi.hosts or config.mpi.hostfile))
    if is_mpi_family(family.name):
        family_env = mpi_environment(config, family_env)
    with contextlib.ExitStack() as cleanup:
        # The family's files (file_read's, file_write's) go to a folder of its own that the sweep
        # removes however the family ended: a killed child cannot remove its own.
        io_folder = cleanup.enter_context(family_io_directory(family_env))
        family_env = dict(family_env, PARBENCH_IO_DIR=io_folder)
        if is_mpi_family(family.name) and one_host:
            family_env = cleanup.enter_context(mpi_session_folders(family_env, io_folder))
        # Google Benchmark writes its output in that folder too (mkdtemp's: no one else can put
        # a link where it opens the file), then it is checked and moved into the results folder.
        # A job across hosts writes it in the results folder, which its rank 0 may reach.
        temporary = (Path(io_folder) / f"{out_path.name}.partial" if one_host
                     else out_path.parent / f".{out_path.name}.partial")
        command = [*command, f"--benchmark_out={temporary}"]
        return _run_child(command, family, config, directory, family_env, stop, record, out_path, temporary,
                          log_path, before, start)




def _io_variable(env: dict) -> str:
    return "PARBENCH_IO_DIR" if env.get("PARBENCH_IO_DIR") else "TMPDIR" if env.get("TMPDIR") else "the default"


def io_base(env: dict) -> Path:
    """Where the families' I/O folders go: PARBENCH_IO_DIR, else TMPDIR, else /tmp; checked
    before the sweep makes its results folder."""
    base = scratch.io_base(env)
    if not base.is_dir():
        raise UserError(f"{_io_variable(env)}={base}: no such folder (set PARBENCH_IO_DIR to a writable one)")
    if not os.access(base, os.W_OK | os.X_OK):
        raise UserError(f"{_io_variable(env)}={base}: not writable (set PARBENCH_IO_DIR to a writable one)")
    return base


@contextlib.contextmanager
def family_io_directory(env: dict):
    """A fresh folder for one family's files under PARBENCH_IO_DIR (else the temporary
    folder), removed afterwards; folders of sweeps that died (SIGKILL) are removed first."""
    base = io_base(env)
    try:
        with private_folder(base, FAMILY_IO_PREFIX) as folder:
            yield str(folder)
    except NoFolder as error:
        raise UserError(f"{_io_variable(env)}={base}: cannot make a folder there ({error})") from None




@contextlib.contextmanager
def mpi_session_folders(env: dict, io_folder: str):
    """A job of ranks on this host keeps Open MPI's session files (ORTE's session folder, the
    shared-memory transport's segments) in folders of the family's own, removed afterwards
    however the job ended: a SIGKILLed mpirun cannot remove its /tmp/ompi.* or its
    /dev/shm/vader_segment.* itself. The segments stay in /dev/shm (tmpfs), as by default."""
    env = dict(env, OMPI_MCA_orte_tmpdir_base=io_folder)
    if not (SHARED_MEMORY.is_dir() and os.access(SHARED_MEMORY, os.W_OK | os.X_OK)):
        yield env
        return
    try:
        with private_folder(SHARED_MEMORY, MPI_SHM_PREFIX) as shm:
            yield dict(env, OMPI_MCA_btl_vader_backing_directory=str(shm))
    except NoFolder:
        yield env


_PRCTL = ctypes.CDLL(None, use_errno=True).prctl  # looked up here: the child only calls it
PR_SET_PDEATHSIG = 1


def _family_child_setup(sweep_pid: int) -> None:
    """In the family's child, before exec: SIGKILL when the sweep dies, however it dies; and a
    umask that makes no file of the family writable by others, whatever the user's umask."""
    _PRCTL(PR_SET_PDEATHSIG, int(signal.SIGKILL))
    if os.getppid() != sweep_pid:  # the sweep died before prctl took effect
        os._exit(1)
    os.umask(os.umask(0o022) | 0o022)


# Lines of a family's log that say nothing about why it failed.
_NOISE = re.compile(r"\*\*\*WARNING\*\*\* Library was built as DEBUG|^-+$|^Running |^Run on |^CPU Caches|"
                    r"^  L\d |^Load Average|^\d{4}-\d\d-\d\dT")
_ERROR = re.compile(r"error|fail|abort|terminat|exception|traceback|what\(\)|cannot|denied|no such|"
                    r"killed|signal|timeout|ERROR", re.IGNORECASE)


def failure_reason(path: Path) -> str:
    """The log's last line that says what went wrong (an error, a failed check, an exception),
    else its last meaningful line, else ""."""
    try:
        lines = [l.strip() for l in path.read_text(errors="replace").splitlines() if l.strip()]
    except OSError:
        return ""
    lines = [l for l in lines if not _NOISE.search(l)]
    found = next((l for l in reversed(lines) if _ERROR.search(l)), lines[-1] if lines else "")
    return found[:300]


def _run_child(command, family, config, directory, family_env, stop, record, out_path, temporary, log_path,
               before, start) -> dict | None:
    temporary.unlink(missing_ok=True)  # a leftover, or a link planted there: the binary would write through it
    with open_new_for_writing(log_path) as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   env=family_env, start_new_session=True, preexec_fn=functools.partial(_family_child_setup, os.getpid()))
    family_cpu = 0.0
    deadline = start + config.family_timeout
    try:
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                process.returncode = os.waitstatus_to_exitcode(status)
                record["max_rss_mib"] = round(usage.ru_maxrss / 1024, 1)
                family_cpu = usage.ru_utime + usage.ru_stime
                break
            if stop.signal is not None:  # Ctrl-C or SIGTERM: stop the child, keep nothing half-done
                _kill_group(process)
                temporary.unlink(missing_ok=True)
                return None
            if time.monotonic() > deadline:
                _kill_group(process)
                record.update(status="timeout", message=f"killed after {config.family_timeout:g} s")
                break
            time.sleep(0.02)
    except BaseException:  # an exception in the parent (e.g. KeyboardInterrupt without a handler)
        _kill_group(process)
        temporary.unlink(missing_ok=True)
        raise
    elapsed = time.monotonic() - start
    record["seconds"] = round(elapsed, 2)
    record["cpu_seconds"] = round(family_cpu, 3)
    record["disturbance"] = disturbance(before, CpuSample.take(), elapsed, family_cpu)
    try:
        if record["status"] != "timeout":
            _judge(process.returncode, record, temporary, out_path, log_path)
    finally:
        temporary.unlink(missing_ok=True)  # a full disk or an error on the way: nothing half-done stays
    return record


def _judge(code: int, record: dict, temporary: Path, out_path: Path, log_path: Path) -> None:
    """The family's status from its exit and its JSON: ok (moved to out_path, with the size
    and checksum --resume checks), errors (a benchmark's error rows: the binary exits 1 and
    its first row's reason is the message) or failed (the exit, and the log's reason)."""
    if code in (0, 1) and temporary.exists():
        try:
            context, entries = load_file(temporary)
        except UserError as error:
            if code == 0:
                record.update(status="failed", message=str(error))
                return
        else:
            errors = [e for e in entries if e.get("error_occurred")]
            # The raw file says how it was measured: what disturbed it, its OpenMP policy.
            context["parbench_family"] = {key: record[key] for key in (
                "family", "weak", "omp_wait", "ranks", "track", "sizes", "instances", "seconds", "cpu_seconds",
                "disturbance")}
            text = json.dumps({"context": context, "benchmarks": entries}, indent=1) + "\n"
            atomic_write_text(out_path, text)
            record.update(bytes=len(text.encode()), sha256=hashlib.sha256(text.encode()).hexdigest())
            if errors:
                record.update(status="errors", message=f"{len(errors)} benchmark(s) reported an error, "
                              f"first: {errors[0].get('name')}: {errors[0].get('error_message')}")
                return
            if code == 0:
                record.update(status="ok")
                return
    reason = failure_reason(log_path)
    if code < 0:
        record.update(status="failed", message=f"killed by signal {signal.Signals(-code).name}"
                      + (f" (its log: {reason})" if reason else ""))
    else:
        record.update(status="failed", message=f"exit status {code}" + (f": {reason}" if reason else ""))


def _attempt_summary(record: dict) -> dict:
    return {key: record.get(key) for key in ("status", "seconds", "cpu_seconds", "disturbance")}


def _total(record: dict) -> float:
    return (record.get("disturbance") or {}).get("total", 0.0)


# /proc/stat counts in ticks of 10 ms per CPU: below this many CPU-seconds taken
# by others, a short family's "disturbance" is counting noise, not disturbance.
MIN_DISTURBED_CPU_SECONDS = 0.1
# A re-run at least this share as disturbed as the kept attempt reproduces the disturbance.
REPRODUCED_SHARE = 0.75


def _disturbed(record: dict, config) -> bool:
    figures = record.get("disturbance") or {}
    return (figures.get("total", 0.0) > config.disturbance_max
            and figures.get("cpu_seconds", 0.0) >= MIN_DISTURBED_CPU_SECONDS)


def run_with_reruns(binary: Path, selection: list[str], family: Family, config, directory: Path,
                    env: dict, stop: "StopRequest") -> dict | None:
    """Runs a family, and again while it was disturbed beyond config.disturbance_max (at most
    config.disturbance_reruns more times). Keeps the least disturbed successful attempt in raw/
    and moves the others to rejected/<stem>.attempt<N>.json. A failed attempt is the family's
    result: a crash or a wrong answer is never re-run away. None: stopped before any attempt
    finished."""
    final = directory / "raw" / f"{family.stem}.json"
    rejected = directory / "rejected"

    def aside(number: int) -> Path:
        return rejected / f"{family.stem}.attempt{number}.json"

    attempts: list[dict] = []
    kept: dict | None = None  # the least disturbed successful attempt so far; its file is `final`
    kept_number = 0
    reproduced = False  # a re-run was about as disturbed: the family's own pattern, stop
    for number in range(1, 2 + max(0, config.disturbance_reruns)):
        if kept is not None:
            if not _disturbed(kept, config) or reproduced or stop.signal is not None:
                break
            make_folder(rejected)
            os.replace(final, aside(kept_number))  # set aside while the next attempt runs
        record = run_family(binary, selection, family, config, directory, env, stop)
        if record is None:  # stopped mid-run: the kept attempt goes back in place
            if kept is not None:
                os.replace(aside(kept_number), final)
            break
        attempts.append(_attempt_summary(record))
        if record["status"] != "ok":
            record["attempts"] = attempts
            return record
        if kept is not None:
            # Not clearly quieter than the kept attempt: the disturbance comes with the family
            # (e.g. wake-ups the hypervisor counts as steal), and more runs will not remove it.
            reproduced = _total(record) >= REPRODUCED_SHARE * _total(kept)
        if kept is not None and _total(kept) <= _total(record):
            os.replace(final, aside(number))  # the earlier attempt was quieter: it stays
            os.replace(aside(kept_number), final)
        else:
            kept, kept_number = record, number
    if kept is None:
        return None
    kept["attempts"] = attempts
    kept["kept_attempt"] = kept_number
    kept["disturbance_reproduced"] = reproduced
    return kept


def default_directory() -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                         text=True).stdout.strip() or "nogit"
    host = re.sub(r"[^A-Za-z0-9.-]", "-", socket.gethostname())
    return ROOT / "results" / f"{stamp}_{host}_{sha}"


def write_state(directory: Path, state: dict) -> None:
    atomic_write_text(directory / "sweep.json", json.dumps(state, indent=1) + "\n", private=True)


def own_config(directory: Path, state: dict, why: str) -> config_module.SweepConfig:
    """The config of a sweep this checkout started on this machine, from this machine's record
    of it (provenance): what runs its families again (--resume, check's re-measurement). A
    folder without such a record is refused; a value its sweep.json holds that differs from the
    record is shown, never used."""
    record, why_not = provenance.owned(directory, state.get(provenance.ID_FIELD))
    if record is None:
        raise UserError(f"{why} {directory}: not a sweep this checkout started on this machine ({why_not}); "
                        "its families run only where they were started (a results folder never names a "
                        "program to run here)")
    differ = provenance.differences(state.get("config") or {}, record["config"])
    if differ:
        print(f"parbench: note: {directory}/sweep.json's config differs from this machine's record of the sweep "
              f"in {', '.join(differ[:8])}{' ...' if len(differ) > 8 else ''}; the record's values are used",
              file=sys.stderr)
    return config_module.from_saved(record["config"], f"{provenance.state_dir()} (this machine's record of "
                                                      f"{directory})")


class StopRequest:
    """The stop signals' handler while families run: it only records the signal, which the
    sweep polls at safe points (between families and while waiting for one), so an interrupt
    can never land between starting a child and taking charge of it, or halfway through moving
    a result into place. Before it is installed (while the sweep sets up) and after, a stop
    signal raises at once (KeyboardInterrupt or Stopped) and the clean-ups on the way run."""

    def __init__(self) -> None:
        self.signal: int | None = None
        self.previous: dict = {}

    def __call__(self, signum, frame) -> None:
        self.signal = signum

    def install(self) -> None:
        self.previous = {sig: signal.signal(sig, self) for sig in stop_signals()}

    def restore(self) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)
        self.previous = {}


def sweep(config_name: str | None, out: str | None, resume: str | None, baseline: str | None = None,
          python: str | None = None) -> int:
    if resume:  # a resumed sweep is the saved one: nothing on the command line may differ from it
        for flag, given in (("--config", config_name), ("--python", python)):
            if given is not None:
                raise UserError(f"{flag}: --resume {resume} continues with its own saved settings; drop {flag}")
        if out is not None and Path(out).resolve() != Path(resume).resolve():
            raise UserError(f"--out: --resume writes into {resume} itself; drop --out")
    if baseline is not None:  # said now, not after half an hour of families
        from .state import result_files
        result_files(Path(baseline))
    stop = StopRequest()
    # The folder's lock is held from before its state is read until its report is written.
    with contextlib.ExitStack() as held:
        try:
            directory, failed = _run_families(config_name or "default", out, resume, stop, python, held)
        except UserError:
            if stop.signal is None:
                raise
            # Ctrl-C on a terminal also reaches a set-up child (same process group), which then fails.
            print(f"parbench: sweep interrupted by {signal.Signals(stop.signal).name} before its first family",
                  file=sys.stderr)
        finally:
            stop.restore()
        if stop.signal is not None:
            return 128 + stop.signal  # the shell's convention: 130 for Ctrl-C, 143 for SIGTERM
        if not any((directory / "raw").glob("*.json")):
            print(f"parbench: no family of the sweep finished: nothing to analyse (why: "
                  f"{directory / 'sweep.json'}, {directory / 'logs'})", file=sys.stderr)
            return 1
        from . import analyze, plot, report
        try:
            analyze.main(str(directory), baseline)
            plot.main(str(directory))
            report_path = report.write_report(directory)
        except KeyboardInterrupt as stopped:
            print(f"parbench: interrupted during the analysis; every family is kept in {directory}: "
                  f"./parbench report {directory} finishes it", file=sys.stderr)
            return 128 + getattr(stopped, "signum", signal.SIGINT)
    print(f"report: {report_path}")
    return 1 if failed else 0


def _check_new_folder(directory: Path) -> None:
    """--out: a new or empty folder (a sweep's own is continued with --resume); a folder of
    the user's own files is never written into."""
    if (directory / "sweep.json").exists():
        raise UserError(f"{directory}: already holds a sweep (use --resume {directory})")
    if directory.exists() and not directory.is_dir():
        raise UserError(f"--out {directory}: not a folder")
    if directory.is_dir() and any(entry.name != ".lock" for entry in directory.iterdir()):
        raise UserError(f"--out {directory}: not empty and not a parbench sweep (no sweep.json); "
                        "give a new or empty folder")


def file_digest(path: Path) -> str:
    return hashlib.sha256(read_regular_bytes(path)).hexdigest()


def _finished_families(directory: Path, state: dict, state_path: Path) -> dict[str, dict]:
    """The families sweep.json records as finished whose raw file is still there and intact
    (its size and SHA-256 as recorded; a record of before checksums: readable Google
    Benchmark JSON). The others are redone, and said so."""
    done = {}
    records = state.get("families")
    if not isinstance(records, list):
        raise UserError(f"{state_path}: unreadable sweep state (no list of families)")
    for record in records:
        try:
            family = Family.from_record(record)
            status, file = record.get("status"), Path(record["file"])
        except (KeyError, TypeError, ValueError, AttributeError):
            raise UserError(f"{state_path}: unreadable sweep state (a malformed family record)") from None
        if status != "ok":
            continue
        path = directory / file
        problem = ""
        if path.is_symlink() or not path.is_file():
            problem = "missing"
        elif "sha256" in record:
            if path.stat().st_size != record.get("bytes") or file_digest(path) != record["sha256"]:
                problem = "changed since it was written (size or checksum)"
        else:
            try:
                load_file(path)
            except UserError:
                problem = "unreadable"
        if problem:
            print(f"resume: {file} {problem}: {family.label} is run again", flush=True)
            continue
        done[family.key] = record
    return done




def _load_state(directory: Path, state_path: Path) -> dict:
    """sweep.json, or, when it is unreadable or gone, the state rebuilt from settings.json
    (the sweep's fixed settings) and the families whose raw files are intact."""
    try:
        state = load_json(state_path)
        if isinstance(state, dict) and isinstance(state.get("config"), dict):
            return check_state(state_path, state)  # readable but damaged: said, not rebuilt over
        problem = "not a parbench sweep state"
    except UserError as error:
        problem = str(error).split(": ", 1)[-1]
    settings_path = directory / SETTINGS_FILE
    try:
        state = load_json(settings_path)
        if not isinstance(state, dict) or not isinstance(state.get("config"), dict):
            raise ValueError
    except (UserError, ValueError):
        raise UserError(f"{state_path}: unreadable sweep state ({problem})") from None
    state["families"] = _families_from_raw(directory)
    state["status"] = "interrupted"
    check_state(settings_path, state)  # its settings and calibration, named as settings.json's
    print(f"resume: {state_path.name} unreadable ({problem}); rebuilt from {SETTINGS_FILE} and raw/ "
          f"({len(state['families'])} finished families found)", flush=True)
    return state


def _families_from_raw(directory: Path) -> list[dict]:
    """The records of the families whose raw file is readable and says which family it is."""
    records = []
    for path in sorted((directory / "raw").glob("*.json")):
        try:
            context, entries = load_file(path)
        except UserError:
            continue
        found = context.get("parbench_family")
        if not isinstance(found, dict) or not isinstance(found.get("family"), str) or \
                any(e.get("error_occurred") for e in entries):
            continue
        data = read_regular_bytes(path)
        record = {key: found.get(key, default) for key, default in (
            ("family", ""), ("weak", False), ("omp_wait", ""), ("ranks", 0), ("track", ""), ("sizes", ""),
            ("instances", 1), ("seconds", 0.0), ("cpu_seconds", None), ("disturbance", None))}
        record.update(file=str(path.relative_to(directory)), status="ok", message="", max_rss_mib=None,
                      bytes=len(data), sha256=hashlib.sha256(data).hexdigest())
        if path.name == f"{Family.from_record(record).stem}.json":  # the file of that family
            records.append(record)
    return records


def _read_env(directory: Path) -> dict | None:
    if not (directory / "env.json").exists():
        return None
    try:
        return read_env(directory)
    except UserError as error:
        raise UserError(f"{error}; move it away to have it written again") from None


def _new_state(config, binary: Path, env: dict) -> dict:
    """A new sweep's state: its config, and the binary's info (checked: a program that is not
    parbench's, or an absurd spin calibration, is refused before the folder exists)."""
    info = program_info(binary, env, _binary_label(binary),
                        lambda info, where: check_binary_info(info, where, fresh=True))
    if env.get("PARBENCH_SPIN_ITERS_PER_US"):  # the user's value, not this machine's: said and recorded
        info["spin_source"] = "PARBENCH_SPIN_ITERS_PER_US"
        print(f"sweep: note: PARBENCH_SPIN_ITERS_PER_US={env['PARBENCH_SPIN_ITERS_PER_US']} from the "
              "environment replaces this machine's spin calibration (the report says so)", flush=True)
    return {"parbench_sweep": 1, "config": config.to_dict(), "binary_info": info,
            "started": datetime.now(timezone.utc).isoformat(timespec="seconds"), "status": "running",
            "families": []}


def _run_families(config_name: str, out: str | None, resume: str | None,
                  stop: StopRequest, python: str | None = None,
                  held: contextlib.ExitStack | None = None) -> tuple[Path, list[dict]]:
    """The sweep up to its last family: returns the directory and the families that failed.
    The folder's lock goes on `held` (released by the caller after its report)."""
    held = held if held is not None else contextlib.ExitStack()
    config = None if resume else config_module.load(config_name)  # a bad config: said before anything
    if config is not None and python is not None:
        config.python = python.split(",") if "," in python else python
        if isinstance(config.python, list):
            config_module.check_interpreters(config.python, "--python")
    binary = binary_path()
    # OpenMP keeps the user's OMP_WAIT_POLICY or libgomp's default: each family
    # runs alone in its process, so nothing else suffers from its idle threads.
    env = dict(os.environ)
    if resume:
        directory = Path(resume)
        state_path = directory / "sweep.json"
        if not state_path.exists() and not (directory / SETTINGS_FILE).exists():
            raise UserError(f"{directory}: not a sweep directory (no sweep.json)")
        held.enter_context(FolderLock(directory))
        refuse_linked_subfolders(directory)
        remove_partials(directory)
        state = _load_state(directory, state_path)
        config = own_config(directory, state, "--resume")
        spin_calibration(state, state_path)
        env_record = _read_env(directory)
    else:
        directory = Path(out) if out else default_directory()
        _check_new_folder(directory)
        state, env_record = _new_state(config, binary, env), None
    env["PARBENCH_SPIN_ITERS_PER_US"] = f"{state['binary_info']['spin_iters_per_us']:.6f}"
    if config.mpi.sizes:  # the mpi/ families' sizes, for listing their benchmarks as they will run
        env["PARBENCH_MPI_SIZES"] = ",".join(str(size) for size in config.mpi.sizes)
    # Everything that can be refused is refused before a new results folder exists: a
    # mistake leaves nothing behind and the same command can simply be run again.
    io_base(env)
    tracks = Tracks.make(binary, config, env, state)
    listed: set[tuple] = set()
    if tracks.python_info is not None:
        state["python_info"] = tracks.python_info
    if tracks.python_tracks:
        state["python_tracks"] = tracks.python_tracks
    families = []
    for track, program in tracks.programs.items():
        # validates the names and the workloads' settings: one clear line if not
        _run_binary(program, ["list", *tracks.selections[track]], tracks.environments[track])
        families += list_families(program, tracks.selections[track], config, tracks.environments[track], track,
                                  listed)
    families += cross_language_families(families, config, listed)
    if not families:
        raise UserError("the sweep selects no benchmarks")
    if isinstance(config.weak_scaling, list):
        running = sorted({f.name.split("/")[0] for f in families if "/" in f.name
                          and not f.name.startswith(_PRIMITIVE_PREFIXES)})
        unknown = [w for w in config.weak_scaling if w not in running]
        if unknown:
            raise UserError(f"{config.source}: [sweep] weak_scaling names {', '.join(unknown)}, which this sweep "
                            f"does not run (its workloads: {', '.join(running) or 'none'})")
    check_mpi_setup(config, families)
    _check_threshold_names(config, binary, env)
    # What the sweep sets out to run, each family with its number of benchmarks: check finds a
    # family or a benchmark that is missing from the results, however the folder was edited.
    state.setdefault("plan", {family.key: family.instances for family in families})
    if not resume:
        held.enter_context(FolderLock(directory))
        _check_new_folder(directory)  # again, holding the lock: another sweep may have begun
        state[provenance.ID_FIELD] = provenance.register(directory, state["config"], state["plan"])
        # what a resume needs if sweep.json is ever lost: written once, never changed
        atomic_write_text(directory / SETTINGS_FILE, json.dumps(
            {key: state[key] for key in ("parbench_sweep", provenance.ID_FIELD, "config", "plan", "binary_info",
                                          "started", "python_info", "python_tracks") if key in state},
            indent=1) + "\n",
            private=True)
    for sub in ("raw", "logs"):
        make_folder(directory / sub)
    if env_record is None:
        env_record = envinfo.collect(ROOT, binary.parent, state["binary_info"])
        env_record["sweep"] = {"config": config.name, "directory": str(directory)}
        if any(f.ranks for f in families):
            env_record["mpi"] = envinfo.mpi_info(config.mpi, launcher_command(config, "<p>"),
                                                 mpi_loopback_settings(config, binary, env))
        if tracks.python_info is not None:
            env_record["python_track"] = tracks.python_info
        if len(tracks.python_tracks) > 1:
            env_record["python_tracks"] = tracks.python_tracks
    atomic_write_text(directory / "env.json", json.dumps(env_record, indent=1) + "\n")

    done = _finished_families(directory, state, state_path) if resume else {}
    state["families"] = list(done.values())
    state["status"] = "running"
    write_state(directory, state)
    stop.install()  # from here a stop signal is polled for: the state says what has run
    progress = Progress(families, config)
    print(f"sweep '{config.name}': {len(families)} families ({len(done)} already done) -> {directory}",
          flush=True)
    for family in families:
        if stop.signal is not None:
            break
        if family.key in done:
            progress.finished(family, done[family.key], skipped=True)
            continue
        progress.starting(family)
        record = tracks.run(family, config, directory, stop)
        if record is None:
            break
        state["families"].append(record)
        write_state(directory, state)
        progress.finished(family, record)
    progress.close()
    if stop.signal is not None:
        state["status"] = "interrupted"
        write_state(directory, state)
        kept = sum(1 for f in state["families"] if f["status"] == "ok")
        print(f"parbench: sweep interrupted by {signal.Signals(stop.signal).name}; {kept} finished "
              f"families kept in {directory}; continue with: ./parbench sweep --resume {directory}",
              file=sys.stderr)
        return directory, []
    env_record.setdefault("load_average", {})["after"] = list(os.getloadavg())
    atomic_write_text(directory / "env.json", json.dumps(env_record, indent=1) + "\n")
    state["status"] = "complete"
    state["finished"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    write_state(directory, state)
    failed = [f for f in state["families"] if f["status"] != "ok"]
    elapsed = sum(f["seconds"] for f in state["families"])
    print(f"sweep: {len(state['families']) - len(failed)} families ok, {len(failed)} failed "
          f"({elapsed / 60:.1f} min of benchmarks)", flush=True)
    return directory, failed
