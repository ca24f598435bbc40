"""./parbench export DIR --format gbench [--out FILE]: a whole sweep as one Google Benchmark JSON.

Every raw file the folder's sweep.json records as finished (checked as compare reads them) goes
in, every entry of each (repetitions and aggregates) with its name as the binary wrote it, so that
Google Benchmark's tools/compare.py, and anything else that reads its JSON, takes a sweep as one
file. What changes:
- family_index and per_family_instance_index are numbered anew over the whole sweep: each raw
  file numbers its own from 0, and tools that sort or group on them would mix two files' families.
- A weak-scaling run (the counter weak_base_n; its own raw file in a sweep) has "scaling:weak"
  among its arguments ('.../n:N/p:1/scaling:weak/process_time/real_time'): at p = 1 it may have
  the name of a strong-scaling run, and compare.py pairs entries by name. Always, not only on a
  clash, so that two exports of sweeps with different plans name it alike.
- The context is the first file's (Google Benchmark's keys as the binary wrote them), with the
  keys only later files hold added (their categories, say), less those that describe one file
  (parbench_family, parbench_track), and parbench's provenance under keys of its own:
  parbench_commit, parbench_dirty, parbench_machine, parbench_machine_id, parbench_config,
  parbench_sweep_id, parbench_started, parbench_files.
Values are written as Google Benchmark writes them (a counter without a value stays NaN).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from . import UserError
from .gbench import load_file, parse_run_name, with_argument
from .state import read_env, read_state, result_files
from .util import atomic_write_text

FORMATS = ("gbench",)
WEAK_ARGUMENT = "scaling:weak"
# Context keys that describe one raw file's family or track, not the sweep: left out.
PER_FILE_KEYS = ("parbench_family", "parbench_track")


def export(directory: Path, fmt: str, out: Path | None) -> int:
    if fmt not in FORMATS:
        raise UserError(f"export --format: {fmt!r} is not a format parbench writes ({', '.join(FORMATS)})")
    if out is not None and out.is_dir():
        raise UserError(f"export --out: {out} is a folder; give a file name")
    document = gbench_document(Path(directory))
    text = json.dumps(document, indent=1) + "\n"  # ASCII: every other character escaped
    if out is None:
        sys.stdout.write(text)
        return 0
    atomic_write_text(out, text)
    print(f"{out}: {len(document['benchmarks'])} benchmark entries from "
          f"{document['context']['parbench_files']} raw file(s)")
    return 0


def gbench_document(directory: Path) -> dict:
    """The sweep in DIR as one Google Benchmark document: {"context": ..., "benchmarks": [...]}."""
    files = result_files(directory)
    contexts, benchmarks = [], []
    families: dict[tuple, tuple[int, dict[str, int]]] = {}  # (file, family) -> its number, its run_names'
    for path in files:
        context, entries = load_file(path)
        contexts.append(context)
        for entry in entries:
            benchmarks.append(_renumbered(path, entry, families))
    return {"context": _merged_context(directory, files, contexts), "benchmarks": benchmarks}


def _renumbered(path: Path, entry: dict, families: dict) -> dict:
    """entry with the family and instance numbers of the whole sweep (a family: one file's
    family_index, or its family's name where the file has none; an instance: one run_name of it),
    a weak-scaling run's names marked."""
    run_name = entry.get("run_name", entry["name"])
    if not isinstance(run_name, str):
        raise UserError(f"{path}: entry '{entry['name']}' has a bad run_name")
    name = entry["name"]
    if "weak_base_n" in entry:
        marked = with_argument(run_name, WEAK_ARGUMENT)
        name = marked + name[len(run_name):] if name.startswith(run_name) else with_argument(name, WEAK_ARGUMENT)
        run_name = marked
    own_family = entry.get("family_index")
    if not isinstance(own_family, int) or isinstance(own_family, bool):
        own_family = parse_run_name(run_name)[0]
    family, instances = families.setdefault((path.name, own_family), (len(families), {}))
    instance = instances.setdefault(run_name, len(instances))
    renumbered = {"name": name, "family_index": family, "per_family_instance_index": instance}
    renumbered.update((key, value) for key, value in entry.items() if key not in renumbered)
    if "run_name" in entry:
        renumbered["run_name"] = run_name
    return renumbered


def _merged_context(directory: Path, files: list[Path], contexts: list[dict]) -> dict:
    merged: dict = {}
    for context in contexts:
        for key, value in context.items():
            if key not in PER_FILE_KEYS:
                merged.setdefault(key, value)
    env, state = read_env(directory), read_state(directory)
    git, machine = env.get("git") or {}, env.get("machine") or {}
    dirty = git.get("dirty")
    merged.update({
        "parbench_commit": git.get("sha", ""),
        "parbench_dirty": "" if dirty is None else "yes" if dirty else "no",
        "parbench_machine": env.get("hostname") or str(merged.get("host_name", "")),
        "parbench_machine_id": machine.get("machine_id_sha256") or "",
        "parbench_config": str(state.get("config", {}).get("name") or (env.get("sweep") or {}).get("config") or ""),
        "parbench_sweep_id": state.get("sweep_id", ""),
        "parbench_started": state.get("started", ""),
        "parbench_files": len(files),
    })
    return merged
