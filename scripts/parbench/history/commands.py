"""./parbench history add | list | rebuild | regressions | report, and a sweep's own registration."""
from __future__ import annotations

import math
import os
import sqlite3
import sys
from datetime import datetime, timezone
from pathlib import Path

from .. import UserError
from ..state import STATE_FILE
from ..util import REPO_ROOT, one_line
from .ingest import folders_under, from_folder, from_gbench_file
from .records import Entry, Series
from .store import DB_VARIABLE, DamagedDatabase, Store, default_path, open_store


def run_history(args) -> int:
    path = Path(args.db) if args.db else default_path()
    verbs = {"add": _add, "list": _list, "rebuild": _rebuild, "regressions": _regressions, "report": _report}
    if args.verb not in verbs:
        raise UserError(f"history: unknown verb {args.verb}")
    return verbs[args.verb](args, path)


def _short(commit: str, dirty: bool = False) -> str:
    return one_line(commit[:12]) + ("+dirty" if dirty else "")


def _added_line(entry: Entry, added: bool, path: Path) -> str:
    if not added:
        updated = f"; {len(entry.verdicts)} check verdicts recorded" if entry.verdicts else ""
        return f"history: already in {path} (same data){updated}"
    return (f"history: added {_short(entry.commit, entry.dirty)} {one_line(entry.machine)} "
            f"({len(entry.benchmarks)} benchmarks) to {path}")


def _add(args, path: Path) -> int:
    source = Path(args.source)
    given = [flag for flag, value in (("--commit", args.commit), ("--machine", args.machine), ("--date", args.date),
                                      ("--branch", args.branch)) if value is not None]
    if source.is_dir():
        if given:
            raise UserError(f"history add {source}: a results folder records its own commit, machine, date and "
                            f"branch; drop {' '.join(given)}")
        entry = from_folder(source)
    elif not source.exists() and not source.is_symlink():
        raise UserError(f"history add {source}: no such file or folder")
    else:
        entry = from_gbench_file(source, args.commit, args.machine, args.date, args.branch or "")
    with open_store(path) as store:
        added = store.add(entry)
    print(_added_line(entry, added, path))
    return 0


def _list(args, path: Path) -> int:
    with open_store(path, create=False) as store:
        infos = store.entries()
    if not infos:
        print(f"history: {path} is empty")
        return 0
    for info in infos:
        verdicts = " ".join(f"{status} {info.verdicts[status]}" for status in ("PASS", "WARN", "FAIL")
                            if status in info.verdicts) or "unchecked"
        print(f"{info.date}  {_short(info.commit, info.dirty):<18}  {one_line(info.branch or '-')}  "
              f"{one_line(info.machine)}  {one_line(info.config or '(file)')}  {info.benchmarks} benchmarks  "
              f"{verdicts}  {one_line(info.source)}")
    print(f"history: {len(infos)} {'entry' if len(infos) == 1 else 'entries'} in {path}")
    return 0


def _sidecars(path: Path) -> list[Path]:
    """The database and the journal files SQLite keeps beside it."""
    return [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm"),
            path.with_name(path.name + "-journal")]


def _old_database(path: Path) -> tuple[list[Entry], str]:
    """The entries of the database there that no folder can make again (those added from files),
    and why it cannot be read ("" when it can, or when there is none)."""
    if not path.exists():
        return [], ""
    try:
        with Store(path, create=False) as store:
            return store.file_entries(), ""
    except DamagedDatabase as error:
        return [], str(error)


def _rebuild(args, path: Path) -> int:
    roots = [Path(folder) for folder in args.folders] or [REPO_ROOT / "results"]
    for root in args.folders:
        if not root.strip():
            raise UserError("history rebuild: an empty folder name (an unset variable?)")
        if not Path(root).is_dir():
            raise UserError(f"history rebuild {root}: no such folder")
    carried, damaged = _old_database(path)
    fresh = path.with_name(f".{path.name}.rebuilding-{os.getpid()}")
    for stale in _sidecars(fresh):
        stale.unlink(missing_ok=True)
    added, failed = 0, []
    try:
        with open_store(fresh) as store:
            for entry in carried:
                added += store.add(entry)
            for folder in folders_under(roots):
                try:
                    added += store.add(from_folder(folder))
                except UserError as error:
                    failed.append(f"{folder}: {one_line(error)}")
        _replace_database(path, fresh, damaged)
    finally:
        for leftover in _sidecars(fresh):
            leftover.unlink(missing_ok=True)
    for line in failed:
        print(f"history: not added: {line}")
    print(f"history: rebuilt {path}: {added} entries ({len(carried)} from files kept), "
          f"{len(failed)} folders not readable")
    return 0


def _replace_database(path: Path, fresh: Path, damaged: str) -> None:
    """The fresh database in place of the old one: a damaged one is kept aside (never deleted),
    a readable one (whose file entries were carried across) removed."""
    if damaged:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        aside = path.with_name(f"{path.name}.damaged-{stamp}")
        for old, new in zip(_sidecars(path), _sidecars(aside)):
            if old.exists():
                os.replace(old, new)
        print(f"history: the damaged database is kept as {aside}")
    else:
        for old in _sidecars(path)[1:]:
            old.unlink(missing_ok=True)
    os.replace(fresh, path)


def _check_alpha(alpha: float) -> None:
    if not (math.isfinite(alpha) and 0 < alpha <= 0.5):
        raise UserError(f"history regressions --alpha: {alpha:g} is not a significance level in (0, 0.5]")


def _percent(ratio: float) -> str:
    return f"{100 * (ratio - 1):+.1f}%"


def _p_text(p: float) -> str:
    return "p_holm<0.001" if p < 0.001 else f"p_holm={p:.2g}"


def _regressions(args, path: Path) -> int:
    _check_alpha(args.alpha)
    from .changepoints import find_regressions
    with open_store(path, create=False) as store:
        series = store.series(args.benchmark, args.machine)
    changes = find_regressions(series, args.alpha)
    if not changes:
        print(f"history: no change found in {len(series)} series")
    for change in changes:
        low, high = change.ci
        print(f"{one_line(change.benchmark)} {one_line(change.machine)} {_short(change.commit)} "
              f"{_percent(change.ratio)} [{_percent(low)}, {_percent(high)}] ({_p_text(change.p_adjusted)})"
              + (" provisional: at the newest commit alone" if getattr(change, "provisional", False) else ""))
    latest = [c for c in changes if c.ratio > 1 and _is_latest(c, series)]
    if args.fail_on_latest and latest:
        print(f"history: {len(latest)} regression(s) begin at the newest commit", file=sys.stderr)
        return 1
    return 0


def _is_latest(change, series: list[Series]) -> bool:
    return any(s.benchmark == change.benchmark and s.machine == change.machine and s.points
               and s.points[-1].commit == change.commit for s in series)


def _report(args, path: Path) -> int:
    from .changepoints import find_regressions
    from .dashboard import write_dashboard
    out = Path(args.out) if args.out else REPO_ROOT / "results" / "history"
    with open_store(path, create=False) as store:
        series = store.series(args.benchmark)
    index = write_dashboard(series, find_regressions(series, 0.05), out)
    print(f"history: report {index}")
    return 0


def record_folder(directory: Path, stream=None) -> None:
    """A sweep's (or a checked sweep's) folder added to the default database, said in one line
    on `stream` (stdout by default); PARBENCH_HISTORY_DB=off turns it off. Whatever goes wrong is
    a note: it never changes the sweep's or check's outcome."""
    stream = stream or sys.stdout
    if os.environ.get(DB_VARIABLE) == "off" or not (Path(directory) / STATE_FILE).exists():
        return  # turned off, or not a sweep's folder (check of a folder of plain runs)
    try:
        path = default_path()
        entry = from_folder(Path(directory))
        with open_store(path) as store:
            added = store.add(entry)
        print(_added_line(entry, added, path), file=stream, flush=True)
    except (UserError, OSError, sqlite3.Error) as error:
        print(f"history: not recorded ({one_line(error)})", file=stream, flush=True)
