"""A sweep's families run one after the other into a results folder: its state made or resumed,
each family run, re-run when disturbed, and recorded."""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from .. import UserError, catalogue, config as config_module, envinfo, provenance
from ..gbench import load_file
from ..state import (SETTINGS_FILE, STATE_FILE, check_binary_info, check_state, family_environment, read_env,
                     spin_calibration)
from ..util import (FolderLock, atomic_write_text, load_json, make_folder, read_regular_bytes,
                    refuse_linked_subfolders, remove_partials)
from .family import Family, StopRequest, io_base
from .mpi import check_mpi_setup, is_mpi_family, launcher_command, mpi_loopback_settings
from .paths import ROOT, binary_path
from .tracks import (PYTHON_TRACK, Tracks, _PRIMITIVE_PREFIXES, _binary_label, _check_threshold_names, _run_binary,
                     cross_language_families, list_families, program_info)
from .progress import Progress
from . import plan as plan_module
from ..topology import SYSFS_ROOT_VARIABLE, read_topology


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
            ("instances", 1), ("seconds", 0.0), ("cpu_seconds", None), ("disturbance", None), ("affinity", ""))}
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


def _binary_info(binary: Path, env: dict) -> dict:
    """The binary's info, checked: a program that is not parbench's, or an absurd spin
    calibration, is refused (naming PARBENCH_BENCH) before anything else asks it a thing."""
    return program_info(binary, env, _binary_label(binary),
                        lambda info, where: check_binary_info(info, where, fresh=True))


def _new_state(config, info: dict, env: dict) -> dict:
    """A new sweep's state: its config, and the binary's info (checked before the folder exists)."""
    if env.get("PARBENCH_SPIN_ITERS_PER_US"):  # the user's value, not this machine's: said and recorded
        info["spin_source"] = "PARBENCH_SPIN_ITERS_PER_US"
        print(f"sweep: note: PARBENCH_SPIN_ITERS_PER_US={env['PARBENCH_SPIN_ITERS_PER_US']} from the "
              "environment replaces this machine's spin calibration (the report says so)", flush=True)
    return {"parbench_sweep": 1, "config": config.to_dict(), "binary_info": info,
            "started": datetime.now(timezone.utc).isoformat(timespec="seconds"), "status": "running",
            "families": []}


def _run_families(config_name: str, out: str | None, resume: str | None,
                  stop: StopRequest, python: str | None = None,
                  held: contextlib.ExitStack | None = None, budget: float | None = None) -> tuple[Path, list[dict]]:
    """The sweep up to its last family: returns the directory and the families that failed.
    The folder's lock goes on `held` (released by the caller after its report)."""
    held = held if held is not None else contextlib.ExitStack()
    config = None if resume else _config(config_name, python)
    if resume and budget is not None:
        raise UserError(f"--budget: --resume {resume} continues its own plan; drop --budget")
    if os.environ.get(SYSFS_ROOT_VARIABLE):
        raise UserError(f"{SYSFS_ROOT_VARIABLE} describes a recorded machine, not this one: only "
                        "`./parbench sweep --plan` reads it (unset it to run the sweep)")
    binary = binary_path()
    # OpenMP keeps the user's OMP_WAIT_POLICY or libgomp's default: each family
    # runs alone in its process, so nothing else suffers from its idle threads.
    env = dict(os.environ)
    # A new sweep's plan is made explicit before its folder records the config; a resumed one's
    # is made again from the config it recorded.
    # Asked once (it calibrates the spin work): a program that is not parbench's is said before
    # the plan asks it anything.
    info = _binary_info(binary, env) if config is not None else None
    planned = make_plan(config, binary, env, budget) if config is not None else None
    directory, state, config, env_record = _open_folder(planned.config if planned else None, out, resume, info,
                                                        env, held)
    if planned is None:
        planned = make_plan(config, binary, env, None, state)
    for environment in planned.tracks.environments.values():
        environment.update(family_environment(state, directory / STATE_FILE))
    if planned.tracks.python_info is not None:
        state["python_info"] = planned.tracks.python_info
    if planned.tracks.python_tracks:
        state["python_tracks"] = planned.tracks.python_tracks
    state.setdefault("estimate_minutes", round(planned.minutes, 2))
    env_record = _start_folder(directory, state, config, planned.families, planned.tracks, binary, planned.env,
                               env_record, resume, held)
    return _run_planned(directory, state, config, planned, env_record, resume, stop)


def plan_sweep(config_name: str, python: str | None, budget: float | None) -> plan_module.Plan:
    """`sweep --plan`: the plan of a new sweep of that config, nothing run, no folder made."""
    config, binary, env = _config(config_name, python), binary_path(), dict(os.environ)
    _binary_info(binary, env)
    return make_plan(config, binary, env, budget)


def _config(config_name: str, python: str | None):
    """The named config, with --python's interpreters if given (a bad one: said before anything)."""
    config = config_module.load(config_name)
    if python is not None:
        config.python = python.split(",") if "," in python else python
        if isinstance(config.python, list):
            config_module.check_interpreters(config.python, "--python")
    return config


def make_plan(config, binary: Path, env: dict, budget: float | None, state: dict | None = None) -> plan_module.Plan:
    """The sweep's plan on this machine's topology (or the recorded one PARBENCH_SYSFS_ROOT
    names): its config made explicit, its tracks and families with their estimated seconds, thinned
    to `budget` minutes if given. state: a sweep's own (its Python tracks' calibrations)."""
    topology = read_topology()
    config, roles, notes = plan_module.resolved(config, topology)
    env = dict(env)
    env["PARBENCH_CPUS"] = str(topology.usable_cpus)  # the binary's and pytrack's automatic counts agree
    if config.mpi.sizes:  # the mpi/ families' sizes, for listing their benchmarks as they will run
        env["PARBENCH_MPI_SIZES"] = ",".join(str(size) for size in config.mpi.sizes)
    io_base(env)
    costs, source = plan_module.measured_costs(config)
    saved = dict(state or {})

    def families_of(candidate):
        tracks = Tracks.make(binary, candidate, env, saved)
        saved.setdefault("python_tracks", tracks.python_tracks)
        saved.setdefault("python_info", tracks.python_info)
        families = _with_numa(_with_affinity(_plan(tracks, candidate, binary, env), candidate, topology.usable_cpus),
                              candidate)
        return tracks, families, plan_module.estimate(families, candidate, costs)

    tracks, families, seconds = families_of(config)
    plan = plan_module.Plan(topology, config, roles, families, seconds, source, notes=notes)
    while budget is not None and plan.minutes > budget:
        options = []
        for what, candidate in plan_module.thinning_steps(plan.config, roles):
            options.append((what, candidate, *families_of(candidate)))
        if not options:
            break
        # the step that saves most, unless one step makes it fit: then the one of those that drops least
        fitting = [o for o in options if sum(o[4].values()) <= budget * 60]
        seconds = lambda option: sum(option[4].values())  # noqa: E731
        what, plan.config, tracks, plan.families, plan.seconds = (
            max(fitting, key=seconds) if fitting else min(options, key=seconds))
        plan.dropped.append(what)
    plan.tracks, plan.env = tracks, env
    return plan


def _binds(family: Family, known, python: bool = True) -> bool:
    """Whether a family's workers are placed by the affinity policies: a CPU- or memory-bound
    workload on a parallel model of the binary or (`python`) of the first interpreter (not the primitives,
    the baselines, the I/O workloads, whose p is requests in flight, nor a model whose work runs
    on one event loop)."""
    workload, _, model = family.name.partition("/")
    tracks = ("", PYTHON_TRACK) if python else ("",)
    if family.sizes or family.track not in tracks or not any(m.name == model for m in known.models):
        return False
    entry = known.model(model)
    return any(w["name"] == workload and w.get("category") in ("cpu", "memory") for w in known.workloads) \
        and entry.parallel and model != known.baseline(entry.track) \
        and not entry.details.get("limit_cpu")


def _with_affinity(families: list[Family], config, usable_cpus: int) -> list[Family]:
    """Each family _binds places once per affinity policy ("none": as before, no --affinity),
    the bound ones at the worker counts above 1 (one worker is placed alike by all) and, as
    "auto" plans them, below the usable CPUs (where a worker on every CPU is too)."""
    policies = plan_module.planned_affinity(config)
    bound = [p for p in policies if p != "none"]
    known = catalogue.current()
    workers = plan_module.planned_workers(config)
    limit = usable_cpus if config.affinity == "auto" else max(workers) + 1
    differ = [p for p in workers if 1 < p < limit]
    out = []
    for family in families:
        binds = _binds(family, known, config.python_affinity)
        if "none" in policies or not (bound and differ) or not binds:
            out.append(family)  # unbound: run once all the same
        if not (bound and differ and binds):
            continue
        if family.ranks or is_mpi_family(family.name):  # a job per rank count: bound where it is one of them
            if family.ranks in differ:
                out += [Family(family.name, family.weak, family.instances, family.omp_wait, family.ranks,
                               family.track, family.sizes, policy) for policy in bound]
            continue
        share = len(differ) / max(len(workers), 1)  # a CPU-bound family lists every (n, p)
        out += [Family(family.name, family.weak, max(1, round(family.instances * share)), family.omp_wait,
                       family.ranks, family.track, family.sizes, policy, ",".join(map(str, differ)))
                for policy in bound]
    return out


def _with_numa(families: list[Family], config) -> list[Family]:
    """Each family of a memory-bound workload on a parallel model of the binary (not MPI's jobs)
    once more with its pages interleaved over the NUMA nodes, when the plan has interleave: its
    bound variants where there are some (their workers' nodes are known, so the report can say
    what each node count gives), else the family as the OS places it."""
    if "interleave" not in plan_module.planned_numa(config):
        return families
    known = catalogue.current()
    memory = {w["name"] for w in known.workloads if w.get("category") == "memory"}

    candidates = [family for family in families
                  if family.name.partition("/")[0] in memory and not family.track and not family.ranks
                  and not is_mpi_family(family.name) and _binds(family, known)]
    bound = any(family.affinity for family in candidates)
    interleaved = {family.key for family in candidates if family.affinity or not bound}
    out = []
    for family in families:
        out.append(family)
        if family.key in interleaved:
            out.append(dataclasses.replace(family, numa="interleave"))
    return out


def _open_folder(config, out: str | None, resume: str | None, info: dict | None, env: dict,
                 held: contextlib.ExitStack) -> tuple[Path, dict, object, dict | None]:
    """The folder, its state, its config and its env.json (None: to be collected): a resumed
    one's own (locked at once), or a new one's (not yet made)."""
    if resume:
        directory = Path(resume)
        state_path = directory / STATE_FILE
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
        state, env_record = _new_state(config, info, env), None
    return directory, state, config, env_record


def _plan(tracks: Tracks, config, binary: Path, env: dict) -> list[Family]:
    """Every family the sweep will run, its names and settings checked (one clear line if not)."""
    listed: set[tuple] = set()
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
    return families


def _start_folder(directory: Path, state: dict, config, families: list[Family], tracks: Tracks, binary: Path,
                  env: dict, env_record: dict | None, resume: str | None, held: contextlib.ExitStack) -> dict:
    """The plan recorded; a new folder locked, registered and given its settings; env.json."""
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
    if not (directory / catalogue.CATALOGUE_FILE).exists():  # the models as this checkout names them
        catalogue.record(directory, catalogue.of_checkout(binary))
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
    return env_record


def _run_planned(directory: Path, state: dict, config, plan: plan_module.Plan, env_record: dict,
                 resume: str | None, stop: StopRequest) -> tuple[Path, list[dict]]:
    """Every family not yet done, one after the other, sweep.json rewritten after each."""
    families, tracks = plan.families, plan.tracks
    state_path = directory / STATE_FILE
    done = _finished_families(directory, state, state_path) if resume else {}
    state["families"] = list(done.values())
    state["status"] = "running"
    # Polled for from before sweep.json first appears: a stop from then on leaves the state
    # "interrupted" and says how to resume (installed after the write, a signal between the two
    # ended the sweep with no resume hint).
    stop.install()
    write_state(directory, state)
    progress = Progress(families, plan.seconds)
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
          f"({elapsed / 60:.1f} min of benchmarks; the plan estimated {state['estimate_minutes']:.1f} min, "
          f"measured/estimated {elapsed / 60 / max(state['estimate_minutes'], 1e-9):.2f})", flush=True)
    return directory, failed
