"""The two tracks a sweep runs: the C++ binary and the Python track's interpreters, what each can
run (its families) and how it is started."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from .. import UserError, config as config_module
from ..gbench import parse_run_name
from ..state import check_python_info
from ..util import OutputTooLarge, parse_json, run_bounded
from .family import Family, run_family, run_with_reruns
from .paths import ROOT
from .mpi import job_ranks
from ..catalogue import current


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
            _run_binary(binary, ["list", f"--models={','.join(cpp_models) or 'all'}",
                                 f"--workloads={','.join(cpp_workloads) or 'none'}", "--primitives=none"], env)
        except UserError as error:
            raise UserError(f"{config.source}: [check] {error}") from None


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
    configured = config.python_workers if python else config.workers
    automatic = config.auto_python_workers if python else config.auto_workers
    if python and config.workers is not None and not isinstance(configured, list) and automatic:
        configured = automatic  # the configured counts up to the usable CPUs: given, as the binary's
    if isinstance(configured, list):
        args.append("--p=" + ",".join(str(p) for p in configured))
    elif automatic:  # the plan's counts: the I/O workloads keep their own concurrency levels
        args.append("--auto-p=" + ",".join(str(p) for p in automatic))
    elif python and config.python_workers == "cores":
        args.append("--oversubscribe=false")  # the automatic counts up to the hardware threads only
    if isinstance(getattr(config, "size_scale", 1), (int, float)) and config.size_scale != 1:
        args.append(f"--size-scale={config.size_scale:g}")
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
def gil_on_models() -> list[str]:
    """The Python models a GIL setting is compared on: the thread models and their baseline."""
    from pytrack import registry
    return [m.name for m in registry.models() if m.group in ("baseline", "threads")]


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
                        wanted = [m for m in gil_on_models() if models == "all" or m in models.split(",")]
                        args = [a if not a.startswith("--models=") else "--models=" + ",".join(wanted or ["none"])
                                for a in args]
                    if "--workloads=none" in args or "--models=none" in args:
                        continue  # primitives only: they run on the first interpreter
                else:
                    args.append(next(a for a in selection if a.startswith("--primitives=")))
                track = PYTHON_TRACK + (f"@{shown_tag}" if shown_tag else "")
                # One spin calibration for all of a track's processes, as the binary's.
                environment["PARBENCH_PY_SPIN_ITERS_PER_US"] = f"{info['spin_iters_per_us']:.6f}"
                tracks.programs[track], tracks.selections[track] = command, args
                tracks.environments[track] = environment
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
    from pytrack import registry
    cpp_serial = current().baseline("cpp")
    py_serial = next((m.name for m in registry.models() if m.group == "baseline"), None)
    if not any(f.name.endswith("/" + cpp_serial) and not f.track for f in families):
        return []  # no C++ serial in this sweep
    extra = []
    for family in families:
        workload, _, model = family.name.partition("/")
        found = registry.find_workload(workload)
        if model != py_serial or family.weak or found is None or found.python_only or not found.cross_language:
            continue
        sizes = {"default": found.default_sizes, "quick": found.quick_sizes, "small": [found.small_size]}[config.size]
        sizes = [n for n in sizes if (f"{workload}/{cpp_serial}", float(n), 1.0) not in listed]
        if sizes:
            extra.append(Family(f"{workload}/{cpp_serial}", False, len(sizes), sizes=",".join(map(str, sizes))))
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
            ranks = job_ranks(family, run_args)
            if ranks and config.mpi.ranks and ranks not in config.mpi.ranks:
                continue
            counts[(family, ranks)] = counts.get((family, ranks), 0) + 1
        for (name, ranks), count in counts.items():
            if name in per_wait_policy:
                families += [Family(name, weak, count, policy, track=track) for policy in config.omp_wait_policies]
            else:
                families.append(Family(name, weak, count, ranks=ranks, track=track))
    return families
