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
from ..util import REPO_ROOT, make_folder, one_line
from .ingest import folders_under, from_folder, from_gbench_file
from .records import Change, Entry, EntryInfo, Series, confidence_text, p_text
from .store import (DB_VARIABLE, DamagedDatabase, EmptyDatabase, ForeignDatabase, Store, check_database_file,
                    default_path, is_sha, journals, open_store, rebuild_path, remove_stale_rebuilds, same_commit,
                    take_lock)


def run_history(args) -> int:
    path = Path(args.db) if args.db else default_path()
    verbs = {"add": _add, "list": _list, "rebuild": _rebuild, "regressions": _regressions, "report": _report}
    if args.verb not in verbs:
        raise UserError(f"history: unknown verb {args.verb}")
    return verbs[args.verb](args, path)


def _short(commit: str, dirty: bool = False) -> str:
    return one_line(commit[:12]) + ("+dirty" if dirty else "")


def _added_line(entry: Entry, added: bool, path: Path, changed: list[str] | None = None) -> str:
    if not added:
        updated = [f"{len(entry.verdicts)} check verdicts recorded"] if entry.verdicts else []
        updated += changed or []
        return f"history: already in {path} (same data){''.join('; ' + line for line in updated)}"
    failed = sum(1 for measurement in entry.benchmarks.values() if measurement.error)
    without = f", {failed} without a valid time (failed, or no valid time)" if failed else ""
    return (f"history: added {_short(entry.commit, entry.dirty)} {one_line(entry.machine)} "
            f"({len(entry.benchmarks)} benchmarks{without}) to {path}")


def _add(args, path: Path) -> int:
    source = Path(args.source)
    given = [flag for flag, value in (("--commit", args.commit), ("--machine", args.machine), ("--date", args.date),
                                      ("--branch", args.branch), ("--commit-date", args.commit_date))
             if value is not None]
    if source.is_dir():
        if given:
            raise UserError(f"history add {source}: a results folder records its own commit, machine, date and "
                            f"branch; drop {' '.join(given)}")
        entry = from_folder(source)
    elif not source.exists() and not source.is_symlink():
        raise UserError(f"history add {source}: no such file or folder")
    else:
        entry = from_gbench_file(source, args.commit, args.machine, args.date, args.branch or "", args.commit_date)
    notes: list[str] = []
    changed: list[str] = []
    with open_store(path) as store:
        added = store.add(entry, notes, changed)
    for note in notes:
        print(note)
    print(_added_line(entry, added, path, changed))
    return 0


_LIST_COLUMNS = ("date", "commit", "committed", "branch", "machine", "config", "benchmarks", "check", "source")


def _list(args, path: Path) -> int:
    with open_store(path, create=False) as store:
        infos = store.entries()
    if not infos:
        print(f"history: {path} is empty")
        return 0
    rows = [_LIST_COLUMNS]
    for info in infos:
        verdicts = " ".join(f"{status} {info.verdicts[status]}" for status in ("PASS", "WARN", "FAIL")
                            if status in info.verdicts) or "unchecked"
        rows.append((info.date, _short(info.commit, info.dirty), info.commit_date or "-", one_line(info.branch or "-"),
                     one_line(info.machine), one_line(info.config or "(file)"), str(info.benchmarks), verdicts,
                     one_line(info.source)))
    widths = [max(len(row[column]) for row in rows) for column in range(len(_LIST_COLUMNS) - 1)]
    for row in rows:
        print("  ".join([cell.ljust(width) for cell, width in zip(row, widths)] + [row[-1]]))
    print(f"history: {len(infos)} {'entry' if len(infos) == 1 else 'entries'} in {path}"
          " (committed: the commit's own date, which orders the series; - when unknown)")
    return 0


def _old_database(path: Path) -> tuple[list[Entry], str]:
    """The entries of the database there that no folder can make again (those added from files),
    and why it cannot be read ("" when it can, is empty, or there is none). A readable database
    that is not this parbench's history (another program's, a newer schema) is refused: it is not
    ours to replace."""
    if not path.exists():
        return [], ""
    try:
        # lock=False: the rebuild holds the lock exclusive (a v1 database is migrated under it)
        with Store(path, create=False, lock=False) as store:
            return store.file_entries(), ""
    except ForeignDatabase as error:
        raise UserError(f"history rebuild: {one_line(error)}; not replaced (rebuild only replaces a history "
                        "database, or a damaged file)") from None
    except DamagedDatabase as error:
        return [], str(error)
    except EmptyDatabase:
        return [], ""  # nothing in it to keep


def _rebuild(args, path: Path) -> int:
    roots = [Path(folder) for folder in args.folders] or [REPO_ROOT / "results"]
    for root in args.folders:
        if not root.strip():
            raise UserError("history rebuild: an empty folder name (an unset variable?)")
        if not Path(root).is_dir():
            raise UserError(f"history rebuild {root}: no such folder")
    check_database_file(path)
    target = Path(os.path.realpath(path))  # a link to the database stays a link: its target is replaced
    make_folder(target.parent)
    lock = take_lock(target, exclusive=True)  # no writer adds to the old file while it is replaced
    try:
        remove_stale_rebuilds(target)
        carried, damaged = _old_database(target)
        count, failed, notes = _make_fresh(target, carried, roots)
        try:
            _replace_database(target, rebuild_path(target), damaged)
        except OSError as error:
            raise UserError(f"history rebuild: could not put the new database in place of {path} ({error})") \
                from None
    finally:
        for leftover in [rebuild_path(target), *journals(rebuild_path(target))]:
            leftover.unlink(missing_ok=True)
        os.close(lock)
    for line in notes + [f"history: not added: {line}" for line in failed]:
        print(line)
    print(f"history: rebuilt {path}: {count} entries ({len(carried)} from files kept), "
          f"{len(failed)} folders not readable")
    return 0


def _make_fresh(target: Path, carried: list[Entry], roots: list[Path]) -> tuple[int, list[str], list[str]]:
    """The new database, made beside the old one, complete in its file, synced and verified
    (integrity and entry count) before anything is replaced. Any failure (a full disk) is one
    line, and the old database stays as it was. Returns (entries, folders not readable, notes)."""
    fresh = rebuild_path(target)
    for stale in [fresh, *journals(fresh)]:
        stale.unlink(missing_ok=True)
    failed: list[str] = []
    notes: list[str] = []
    try:
        store = Store(fresh, lock=False)
        try:
            for entry in carried:
                store.add(entry, notes)
            for folder in folders_under(roots):
                try:
                    entry = from_folder(folder)
                except UserError as error:  # the folder's problem; a store error ends the rebuild
                    failed.append(f"{folder}: {one_line(error)}")
                    continue
                store.add(entry, notes)
            count = store.seal()
        finally:
            store.close()
        _verify(fresh, count)
    except (UserError, OSError, sqlite3.Error) as error:
        why = error.strerror if isinstance(error, OSError) and error.strerror else one_line(error)
        raise UserError(f"history rebuild: not rebuilt ({why}); {target} is left as it was") from None
    return count, failed, notes


def _verify(fresh: Path, count: int) -> None:
    """The fresh database read back from its file alone: intact, and holding every entry."""
    with Store(fresh, create=False, lock=False) as store:
        integrity, found = store.check_integrity()
    if integrity != "ok" or found != count:
        raise UserError(f"the new database does not read back ({one_line(integrity)[:80]}, {found} of {count} "
                        "entries)")


def _aside_name(path: Path) -> Path:
    """A new name beside the database for a damaged one: its time (to the microsecond) and our
    PID, never a file that exists."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
    aside = path.with_name(f"{path.name}.damaged-{stamp}-{os.getpid()}")
    number = 1
    while any(os.path.lexists(name) for name in [aside, *journals(aside)]):
        number += 1
        aside = path.with_name(f"{path.name}.damaged-{stamp}-{os.getpid()}-{number}")
    return aside


def _move_aside(old: Path, new: Path) -> None:
    try:
        os.link(old, new)  # fails rather than replace a file at that name
    except FileExistsError:
        raise
    except OSError:  # a file system without hard links: _aside_name found the name free
        os.rename(old, new)
        return
    os.unlink(old)


def _replace_database(path: Path, fresh: Path, damaged: str) -> None:
    """The fresh database in place of the old one: a damaged one is kept aside (never deleted,
    never over another file), a readable one (whose file entries were carried across) replaced.
    The old one's journals go: a hot -journal would be played into the new file."""
    if damaged:
        aside = _aside_name(path)
        for old, new in zip([path, *journals(path)], [aside, *journals(aside)]):
            if old.exists():
                _move_aside(old, new)
        print(f"history: the damaged database is kept as {aside}")
    path.with_name(path.name + "-journal").unlink(missing_ok=True)
    os.replace(fresh, path)
    for old in journals(path):
        old.unlink(missing_ok=True)
    fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)  # the rename itself on disk
    finally:
        os.close(fd)


def _check_alpha(alpha: float) -> None:
    if not (math.isfinite(alpha) and 0 < alpha <= 0.5):
        raise UserError(f"history regressions --alpha: {alpha:g} is not a significance level in (0, 0.5]")


def _percent(ratio: float) -> str:
    return f"{100 * (ratio - 1):+.1f}%"


def change_line(change: Change) -> str:
    """One change as `history regressions` prints it: benchmark, machine, the first commit after
    the change, the change [its interval], then the interval's level and the test."""
    low, high = change.ci
    candidates = f"{change.candidates} candidate{'' if change.candidates == 1 else 's'}"
    p = p_text(change.p_adjusted)
    return (f"{one_line(change.benchmark)} {one_line(change.machine)} {_short(change.commit)} "
            f"{_percent(change.ratio)} [{_percent(low)}, {_percent(high)}] "
            f"({confidence_text(change.confidence)} interval; p{p if p.startswith('<') else '=' + p}, "
            f"bootstrap test beyond the noise band, Holm over {candidates})"
            + (" provisional: at the newest commit alone" if change.provisional else ""))


def _selected(store: Store, args, path: Path) -> list[Series]:
    """The series --benchmark and --machine select; a filter that selects none is an error (a
    typo must not pass a gate)."""
    series = store.series(args.benchmark, args.machine)
    if series or (args.benchmark is None and args.machine is None):
        return series
    machines = store.machines()
    if args.machine is not None and args.machine not in machines:
        known = ", ".join(one_line(name) for name in machines[:5]) + (" and more" if len(machines) > 5 else "")
        raise UserError(f"history regressions --machine {one_line(args.machine)[:60]}: no such machine in {path} "
                        f"({'machines: ' + known if machines else 'it is empty'})")
    if args.benchmark is not None and not store.series(args.benchmark):
        raise UserError(f"history regressions --benchmark {one_line(args.benchmark)[:60]}: matches no benchmark "
                        f"in {path}")
    raise UserError(f"history regressions: no series for {' and '.join(_filters(args))} in {path} (entries from "
                    "trees with uncommitted changes are left out, and failed runs add no time)")


def _filters(args) -> list[str]:
    given = (("--benchmark", args.benchmark), ("--machine", args.machine))
    return [f"{flag} {one_line(value)[:60]}" for flag, value in given if value is not None]


def _left_out_line(left_out: list[EntryInfo]) -> str:
    machines = sorted({one_line(info.machine) for info in left_out})
    return (f"history: {len(left_out)} {'entry' if len(left_out) == 1 else 'entries'} left out (built from a tree "
            f"with uncommitted changes): {', '.join(machines[:5])}{' and more' if len(machines) > 5 else ''}")


def _regressions(args, path: Path) -> int:
    _check_alpha(args.alpha)
    since = _check_since(args.fail_since)
    from .changepoints import MIN_COMMITS, find_regressions, usable_commits
    with open_store(path, create=False) as store:
        series = _selected(store, args, path)
        left_out = store.left_out(args.machine)
    if left_out:
        print(_left_out_line(left_out))
    changes = find_regressions(series, args.alpha)
    short = sum(1 for one in series if usable_commits(one) < MIN_COMMITS)
    if short:
        print(f"history: {short} of {len(series)} series have fewer than {MIN_COMMITS} commits: nothing to test "
              "there")
    if not series:
        print(f"history: {path} holds no series (no entries from a clean tree with a time)")
    elif not changes and len(series) > short:
        print(f"history: no change found in {len(series) - short} series")
    for change in changes:
        print(change_line(change))
    failed = []
    if args.fail_on_latest:
        latest = [c for c in changes if c.ratio > 1 and _is_latest(c, series)]
        if latest:
            failed.append(f"{len(latest)} slowdown(s) begin at the newest commit")
    if since is not None:
        after = _after(since, changes, series)
        if after:
            rev = one_line(since)[:40]
            failed.append(f"{len(after)} slowdown(s) begin after {rev}" if _holds(series, since) else
                          f"{len(after)} slowdown(s) begin at the newest commit ({rev} is in no series)")
    if failed:
        print(f"history: {'; '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def _check_since(rev: str | None) -> str | None:
    if rev is None:
        return None
    if not rev.strip():
        raise UserError("history regressions --fail-since: empty (an unset variable?); give a commit SHA")
    if not is_sha(rev.strip()):
        raise UserError(f"history regressions --fail-since {one_line(rev)[:60]}: not a commit SHA (7 to 64 hex "
                        "digits)")
    return rev.strip()


def _after(since: str, changes: list[Change], series: list[Series]) -> list[Change]:
    """The slowdowns that begin at a commit after `since` in their series' order. A series that
    does not hold `since` is judged at its newest commit only (as --fail-on-latest); a note says
    so."""
    where = {id(one): next((i for i, point in enumerate(one.points) if same_commit(point.commit, since)), None)
             for one in series}
    missing = sum(1 for one in series if where[id(one)] is None)
    if missing == len(series) and series:
        print(f"history: --fail-since {one_line(since)[:40]} is in no series of this selection: each series is "
              "judged at its newest commit only")
    elif missing:
        print(f"history: --fail-since {one_line(since)[:40]} is not in {missing} of {len(series)} series: those are "
              "judged at their newest commit only")
    found = []
    for change in changes:
        one = _series_of(change, series)
        if change.ratio <= 1 or one is None:
            continue
        at = where[id(one)]
        if change.index > (at if at is not None else len(one.points) - 2):
            found.append(change)
    return found


def _holds(series: list[Series], since: str) -> bool:
    """Whether any series holds the commit `since`."""
    return any(same_commit(point.commit, since) for one in series for point in one.points)


def _series_of(change: Change, series: list[Series]) -> Series | None:
    """The series a change was found in: its benchmark and machine, its commit at its index."""
    return next((one for one in series if one.benchmark == change.benchmark and one.machine == change.machine
                 and change.index < len(one.points) and one.points[change.index].commit == change.commit), None)


def _is_latest(change, series: list[Series]) -> bool:
    return any(s.benchmark == change.benchmark and s.machine == change.machine and s.points
               and s.points[-1].commit == change.commit for s in series)


def _report(args, path: Path) -> int:
    from .changepoints import find_regressions
    from .dashboard import write_dashboard
    out = Path(args.out) if args.out else REPO_ROOT / "results" / "history"
    with open_store(path, create=False) as store:
        series = store.series(args.benchmark)
        left_out = store.left_out()
        if not series and args.benchmark is not None:
            raise UserError(f"history report --benchmark {one_line(args.benchmark)[:60]}: matches no benchmark in "
                            f"{path}")
    index = write_dashboard(series, find_regressions(series, 0.05), out, left_out=left_out)
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
        notes: list[str] = []
        changed: list[str] = []
        with open_store(path) as store:
            added = store.add(entry, notes, changed)
        for note in notes:
            print(note, file=stream, flush=True)
        print(_added_line(entry, added, path, changed), file=stream, flush=True)
    except (UserError, OSError, sqlite3.Error) as error:
        print(f"history: not recorded ({one_line(error)})", file=stream, flush=True)
