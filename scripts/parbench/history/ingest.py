"""What `history add` stores, read from a sweep's results folder or from one Google Benchmark file.

A folder says everything itself: the commit, its date, dirty flag and branch (env.json "git"),
the date (sweep.json "started"), the machine (env.json), the config (sweep.json) and check's
verdicts (check.json, when check wrote it on this machine for the folder as it is). A file says only its
measurements: the user names the commit and the machine. Its entry has config "" and config_hash
"": every file of a machine is one config (a context's fields differ between library versions
and runs, so none of them would tell configs apart reliably).
"""
from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

from .. import UserError
from ..gbench import ResultSet, load_results
from ..provenance import signature
from ..state import STATE_FILE, missing_raw_files, read_env, read_state, result_files, state_digest
from ..util import load_json, one_line
from .records import Entry, Measurement
from .store import content_digest, digest

CHECK_FILE = "check.json"
FUTURE_SLACK = timedelta(days=1)
MAX_LABEL = 200
_BAD_LABEL = re.compile(r"[\s\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def utc_date(text, where: str) -> str:
    """An ISO 8601 date as UTC text of one form (string order is time order); a date without an
    offset is taken as UTC. One more than a day ahead of now is refused: it would stay the newest
    forever (a wrong clock, or a typo)."""
    try:
        # "Z": Python before 3.11 reads only "+00:00"
        moment = datetime.fromisoformat(re.sub(r"[Zz]$", "+00:00", text.strip())) if isinstance(text, str) else None
    except ValueError:
        moment = None
    if moment is None:
        raise UserError(f"{where}: {json.dumps(text)[:60]} is not an ISO 8601 date (e.g. 2026-01-31T12:00:00+00:00)")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    try:
        moment = moment.astimezone(timezone.utc)
    except OverflowError:  # 0001-01-01T00:00:00+05:00 is before year 1 in UTC
        raise UserError(f"{where}: {json.dumps(text)[:60]} is out of range in UTC (years 1 to 9999)") from None
    if moment > datetime.now(timezone.utc) + FUTURE_SLACK:
        raise UserError(f"{where}: {json.dumps(text)[:60]} is more than a day in the future (a wrong clock?)")
    return moment.isoformat(timespec="seconds")


def check_label(value: str | None, flag: str) -> str:
    """A commit or machine name the user gave: present, short, one word of printable characters."""
    if value is None or not value.strip():
        raise UserError(f"history add FILE.json: {flag} is required for a file (a folder records its own)")
    if len(value) > MAX_LABEL or _BAD_LABEL.search(value):
        raise UserError(f"history add {flag} {json.dumps(value)[:60]}: not a name (at most {MAX_LABEL} "
                        "characters, no spaces or control characters)")
    return value


def _measurements(results: ResultSet) -> dict[str, Measurement]:
    """Every run by its key (run_name, "|weak" for weak scaling); a run with an error keeps no time."""
    found = {}
    for key, run in sorted(results.runs.items()):
        if run.errors:
            found[key] = Measurement(real_times=[], error=one_line("; ".join(sorted(set(run.errors))))[:500])
        else:
            found[key] = Measurement(real_times=list(run.real_times), cpu_times=list(run.cpu_times),
                                     counters={name: list(values) for name, values in run.counters.items()})
    return found


def machine_name_of(env: dict) -> str:
    """The name the sweep was given (PARBENCH_MACHINE), else its host name."""
    return str(env.get("machine_name") or env.get("hostname") or "unknown")


def fingerprint_of(env: dict) -> str:
    """The machine as env.json describes it ("machine": CPU, cores, memory, kernel, a digest of its
    id), else its host name, CPU model and thread count. A named class of machines (CI runners,
    each job a new VM) is its name, CPU model and thread count: its VMs pool, other hardware not."""
    cpu = env.get("cpu") or {}
    if env.get("machine_name"):
        return digest(["named", env["machine_name"], cpu.get("model"), cpu.get("hardware_threads")])
    machine = env.get("machine")
    if isinstance(machine, dict) and any(value is not None for value in machine.values()):
        return digest(machine)
    return digest([env.get("hostname"), cpu.get("model"), cpu.get("hardware_threads")])


def verdicts_of(directory: Path) -> dict[str, str]:
    """check's rows ("check | subject" -> PASS/WARN/FAIL) when check.json is check's, written on
    this machine for the folder as it is now (as the report shows them); else none."""
    path = directory / CHECK_FILE
    if not path.exists():
        return {}
    try:
        saved = load_json(path)
    except UserError:
        return {}
    if (not isinstance(saved, dict) or not isinstance(saved.get("rows"), list)
            or saved.get("digest") != signature(saved) or saved.get("sweep_sha256") != state_digest(directory)):
        return {}
    return {f"{row.get('check', '')} | {row.get('subject', '')}": str(row.get("result", ""))
            for row in saved["rows"] if isinstance(row, dict) and row.get("result") in ("PASS", "WARN", "FAIL")}


def from_folder(directory: Path) -> Entry:
    """A sweep's results folder as one entry."""
    directory = Path(directory)
    if not directory.is_dir():
        raise UserError(f"{directory}: no such folder")
    state = read_state(directory)
    if not state:
        raise UserError(f"{directory}: not a sweep's results folder (no {STATE_FILE}); add a Google Benchmark "
                        "file instead: history add FILE.json --commit SHA --machine NAME")
    env = read_env(directory)
    git = env.get("git") or {}
    commit = git.get("sha")
    if not commit or commit == "unknown":
        raise UserError(f"{directory}: env.json records no git commit (a sweep outside a git checkout?); add its "
                        "raw files instead: history add FILE.json --commit SHA --machine NAME")
    if not isinstance(state.get("started"), str):
        raise UserError(f"{directory / STATE_FILE}: no 'started' date")
    commit_date = git.get("commit_date") or ""  # a sweep of an older parbench records none
    if commit_date:
        commit_date = utc_date(commit_date, f"{directory / 'env.json'}: git.commit_date")
    missing = missing_raw_files(directory, state)
    if missing:
        # result_files skips it (check names it): an entry without it would replace the sweep's whole one
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise UserError(f"{directory}: {one_line(missing[0])[:100]}, recorded by {STATE_FILE}, is missing{more}: "
                        "not added")
    benchmarks = _measurements(load_results(result_files(directory)))
    entry = Entry(commit=commit, dirty=bool(git.get("dirty", False)), branch=str(git.get("branch") or ""),
                  date=utc_date(state["started"], f"{directory / STATE_FILE}: started"),
                  machine=machine_name_of(env), fingerprint=fingerprint_of(env),
                  config=str(state["config"].get("name") or ""), config_hash=digest(state["config"]),
                  source=str(directory.resolve()), benchmarks=benchmarks, verdicts=verdicts_of(directory),
                  sweep_id=str(state.get("sweep_id") or ""), commit_date=commit_date)
    entry.content_hash = content_digest(entry)
    return entry


def from_gbench_file(path: Path, commit: str, machine: str, date: str | None, branch: str = "",
                     commit_date: str | None = None) -> Entry:
    """Any Google Benchmark JSON (parbench's or another project's): its repetitions (aggregates
    are left out: they are computed from them), under the commit and machine the user names; the
    date is `date`, else the file's context "date"; commit_date, the commit's own date, orders
    the commit in its series (unknown when None)."""
    path = Path(path)
    commit, machine = check_label(commit, "--commit"), check_label(machine, "--machine")
    if branch:
        branch = check_label(branch, "--branch")
    if path.is_dir():
        raise UserError(f"{path}: a folder; --commit and --machine are for a FILE.json (a folder records its own)")
    results = load_results([path])
    if date is not None:
        when = utc_date(date, "history add --date")
    else:
        context_date = next(iter(results.contexts.values()), {}).get("date")
        if context_date is None:
            raise UserError(f"{path}: its context has no date; give --date ISO")
        when = utc_date(context_date, f"{path}: context.date (give --date ISO instead)")
    commit_date = utc_date(commit_date, "history add --commit-date") if commit_date is not None else ""
    benchmarks = _measurements(results)
    if not benchmarks:
        raise UserError(f"{path}: no benchmark repetitions (only aggregates? run it without "
                        "--benchmark_report_aggregates_only)")
    if all(measurement.error for measurement in benchmarks.values()):
        reasons = sorted({measurement.error for measurement in benchmarks.values()})
        raise UserError(f"{path}: none of its {len(benchmarks)} benchmarks has a valid time ({reasons[0][:80]}"
                        f"{' ...' if len(reasons) > 1 else ''}): nothing to add")
    entry = Entry(commit=commit, dirty=False, branch=branch, date=when, machine=machine,
                  fingerprint=hashlib.sha256(machine.encode()).hexdigest(), config="", config_hash="",
                  source=str(path.resolve()), benchmarks=benchmarks, commit_date=commit_date)
    entry.content_hash = content_digest(entry)
    return entry


def is_sweep_folder(path: Path) -> bool:
    return (path / STATE_FILE).is_file() and (path / "raw").is_dir()


def folders_under(roots: list[Path]) -> list[Path]:
    """The sweeps' results folders among `roots` and the folders up to two levels below them (a
    results/ folder, a CI run's folder of two sweeps); links are not followed."""
    found: list[Path] = []
    for root in roots:
        level = [Path(root)]
        for _ in range(3):
            below = []
            for folder in level:
                if folder.is_symlink() or not folder.is_dir():
                    continue
                if is_sweep_folder(folder):
                    found.append(folder)
                    continue
                try:
                    below += sorted(child for child in folder.iterdir() if child.is_dir() and not child.is_symlink())
                except OSError:
                    continue
            level = below
    return sorted(set(found))
