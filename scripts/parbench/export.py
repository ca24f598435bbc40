"""./parbench export DIR --format gbench [--out FILE]: a whole sweep as one Google Benchmark JSON.

DIR is a sweep's results folder (it has sweep.json: a folder without one is refused in one line;
a lone Google Benchmark file needs no export). Every raw file its sweep.json records as finished
(checked as compare reads them) goes in, every entry of each (repetitions and aggregates) with its
name as the binary wrote it, so that Google Benchmark's tools/compare.py, and anything else that
reads its JSON, takes a sweep as one file. A benchmark two raw files hold (a file copied in) or an
entry twice in a file is refused, as compare refuses it: pooled, two runs' repetitions would look
like one run's. What changes:
- family_index is numbered anew over the whole sweep (each raw file numbers its own from 0, and
  tools that sort or group on it would mix two files' families), in each file's own order;
  per_family_instance_index stays the one Google Benchmark gave (0..k-1 within a family).
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
A raw file sweep.json records as finished but missing is refused (an export without it would
look whole). --out is a new or regular file outside DIR: a device, FIFO or symbolic link there is
refused, not replaced by a file.
"""
from __future__ import annotations

import json
import os
import stat
import sys
from collections import defaultdict
from pathlib import Path

from . import UserError
from .gbench import load_file, parse_run_name, with_argument
from .state import STATE_FILE, missing_raw_files, read_env, read_state, result_files
from .util import atomic_write_text

FORMATS = ("gbench",)
WEAK_ARGUMENT = "scaling:weak"
# Context keys that describe one raw file's family or track, not the sweep: left out.
PER_FILE_KEYS = ("parbench_family", "parbench_track")


def export(directory: Path, fmt: str, out: Path | None) -> int:
    if fmt not in FORMATS:
        raise UserError(f"export --format: {fmt!r} is not a format parbench writes ({', '.join(FORMATS)})")
    if out is not None:
        _check_out(Path(directory), out)
    document = gbench_document(Path(directory))
    text = json.dumps(document, indent=1) + "\n"  # ASCII: every other character escaped
    if out is None:
        sys.stdout.write(text)
        return 0
    atomic_write_text(out, text)
    print(f"{out}: {len(document['benchmarks'])} benchmark entries from "
          f"{document['context']['parbench_files']} raw file(s)")
    return 0


def _check_out(directory: Path, out: Path) -> None:
    """--out names a new or regular file outside the sweep: the write replaces what has the name
    (a rename), so a device, FIFO or link there would be turned into a file (a symbolic link is
    refused, not followed: what it points at is not what was named), and a file of the sweep
    (its sweep.json, a raw file) would be lost."""
    try:
        info = os.lstat(out)
    except FileNotFoundError:
        info = None
    except OSError as error:
        raise UserError(f"export --out {out}: cannot use it ({error.strerror})") from None
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise UserError(f"export --out: {out} is a folder; give a file name")
    if info is not None and not stat.S_ISREG(info.st_mode):
        kind = "a symbolic link" if stat.S_ISLNK(info.st_mode) else "not a regular file (a device or FIFO?)"
        raise UserError(f"export --out {out}: {kind}; give the name of a new or regular file")
    parent = out.absolute().parent
    if not parent.is_dir():
        raise UserError(f"export --out {out}: no such folder {parent} (make it first)")
    source, where = directory.resolve(), parent.resolve()
    if directory.is_dir() and (where == source or source in where.parents):
        raise UserError(f"export --out {out}: inside the sweep's folder {directory}; write it elsewhere")


def _refuse_missing(directory: Path) -> None:
    """A raw file sweep.json records as finished but gone: an export without it would be a
    sweep less some families, with nothing to say so."""
    state = read_state(directory)
    # a dangling link is not missing: result_files refuses it as a link, in its own line
    missing = [f for f in missing_raw_files(directory, state) if not (directory / f).is_symlink()] if state else []
    if missing:
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        raise UserError(f"{directory / missing[0]}{more}: recorded in {STATE_FILE} as finished but missing; "
                        f"restore it, or run its family again: ./parbench sweep --resume {directory}")


def gbench_document(directory: Path) -> dict:
    """The sweep in DIR as one Google Benchmark document: {"context": ..., "benchmarks": [...]}."""
    if directory.is_dir() and not (directory / STATE_FILE).exists() and not (directory / STATE_FILE).is_symlink():
        raise UserError(f"{directory}: not a results folder: no {STATE_FILE} (export takes a sweep's folder; "
                        "a Google Benchmark file is one file already)")
    _refuse_missing(directory)
    files = result_files(directory)
    contexts, benchmarks = [], []
    owner: dict[str, str] = {}  # run_name -> the raw file that holds it
    next_family = 0
    for path in files:
        context, entries = load_file(path)
        contexts.append(context)
        renumbered = _renumbered(path, entries, next_family, owner)
        next_family += len({item["family_index"] for item in renumbered})
        benchmarks += renumbered
    return {"context": _merged_context(directory, files, contexts), "benchmarks": benchmarks}


def _named(path: Path, entry: dict) -> tuple[str, str]:
    """The entry's name and run_name as exported: a weak-scaling run's marked."""
    run_name = entry.get("run_name", entry["name"])
    if not isinstance(run_name, str):
        raise UserError(f"{path}: entry '{entry['name']}' has a bad run_name")
    name = entry["name"]
    if "weak_base_n" in entry:
        marked = with_argument(run_name, WEAK_ARGUMENT)
        name = marked + name[len(run_name):] if name.startswith(run_name) else with_argument(name, WEAK_ARGUMENT)
        run_name = marked
    return name, run_name


def _index(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _renumbered(path: Path, entries: list[dict], first_family: int, owner: dict[str, str]) -> list[dict]:
    """One raw file's entries with the family numbers of the whole sweep (from first_family on,
    in the order of the file's own family_index; a family: its family_index, or its family's
    name where the file has none) and the instance numbers Google Benchmark gave them (the
    file's per_family_instance_index, 0..k-1 within each family; in order of appearance only
    where the file has none), a weak-scaling run's names marked."""
    rows, seen = [], set()
    for entry in entries:
        name, run_name = _named(path, entry)
        _check_once(path, entry, name, run_name, owner, seen)
        own = _index(entry.get("family_index"))
        rows.append((entry, name, run_name, own if own is not None else parse_run_name(run_name)[0]))
    families = _family_numbers([key for *_, key in rows], first_family)
    instances = _instance_numbers([(key, run_name, entry) for entry, _, run_name, key in rows])
    out = []
    for entry, name, run_name, key in rows:
        renumbered = {"name": name, "family_index": families[key],
                      "per_family_instance_index": instances[key][run_name]}
        renumbered.update((k, v) for k, v in entry.items() if k not in renumbered)
        if "run_name" in entry:
            renumbered["run_name"] = run_name
        out.append(renumbered)
    return out


def _check_once(path: Path, entry: dict, name: str, run_name: str, owner: dict[str, str], seen: set) -> None:
    """Refuses a benchmark that another raw file holds too (a copied file: compare.py would pair
    or pool repetitions of two runs) and an entry that appears twice in its file."""
    if owner.setdefault(run_name, path.name) != path.name:
        raise UserError(f"{path}: benchmark {run_name} is also in {owner[run_name]} (a copied file? each "
                        "benchmark's repetitions come from one run; move one away)")
    key = (name, entry.get("run_type"), entry.get("repetition_index"), entry.get("threads"))
    if key in seen:
        repetition = f" (repetition {key[2]})" if key[2] is not None else ""
        raise UserError(f"{path}: entry {name}{repetition} appears twice")
    seen.add(key)


def _family_numbers(keys: list, first: int) -> dict:
    """The file's families numbered from `first`: those with a family_index in its order, then
    those named by their run names in order of appearance."""
    appearance = {key: rank for rank, key in reversed(list(enumerate(keys)))}
    ordered = sorted(appearance, key=lambda key: (0, key, 0) if isinstance(key, int) else (1, 0, appearance[key]))
    return {key: first + rank for rank, key in enumerate(ordered)}


def _instance_numbers(rows: list[tuple]) -> dict:
    """family -> run_name -> instance: the file's per_family_instance_index where it gives one
    (one per run, none twice in a family), then the next free numbers in order of appearance."""
    numbers: dict = defaultdict(dict)
    for family, run_name, entry in rows:
        given = _index(entry.get("per_family_instance_index"))
        if given is not None and run_name not in numbers[family] and given not in numbers[family].values():
            numbers[family][run_name] = given
    for family, run_name, _ in rows:
        if run_name not in numbers[family]:
            numbers[family][run_name] = max(numbers[family].values(), default=-1) + 1
    return numbers


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
