"""The history database: one SQLite file (results/history.sqlite, PARBENCH_HISTORY_DB or --db).

Writers are safe together: WAL journal, a busy timeout, and every write in a BEGIN IMMEDIATE
transaction. Every writer also holds DB.lock (flock) shared, and a rebuild holds it exclusive
for its whole run: a writer connected to the old file while a rebuild replaces it would write into
a deleted file. The read verbs open the database read-only (never create, initialise or lock it).
The schema's version is PRAGMA user_version; MIGRATIONS[i] takes a database from
version i to i + 1, so a new version is one function appended to the list. The results folders
stay the source of truth: a damaged database is one line saying `history rebuild` makes it again.

Tables: entries (one per folder or file added; content_hash UNIQUE: the same data twice is one
entry), measurements (one row per repetition; a failed run is one row with no time and its
error), counters (per repetition), verdicts (check's rows). An entry added from a Google
Benchmark file has config_hash "" (a sweep's always has one): rebuild carries those across.
One commit has one name: a short SHA and the full SHA of the same commit are stored under the
longer of the two (see Store.add).
"""
from __future__ import annotations

import contextlib
import fcntl
import glob
import hashlib
import json
import os
import re
import sqlite3
import stat
import time
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

from .. import UserError
from ..util import REPO_ROOT, make_folder, one_line
from .records import Entry, EntryInfo, Measurement, Point, Series

DB_VARIABLE = "PARBENCH_HISTORY_DB"
BUSY_SECONDS = 30
LOCK_SECONDS = 30  # how long a writer waits for a rebuild (and a rebuild for the writers) before one line
REBUILD_ADVICE = "./parbench history rebuild makes it again from the results folders"


class DamagedDatabase(UserError):
    """A file that cannot be read as a database (damaged, not SQLite): rebuild keeps it aside and
    makes the database again."""


class EmptyDatabase(UserError):
    """An empty file, or an SQLite database without tables: no history yet (a read verb says so;
    a writer makes the history database in it)."""


class ForeignDatabase(UserError):
    """A readable SQLite database that is not this parbench's history (another program's tables,
    a newer schema): refused, and never moved or written, rebuild included."""


def default_path() -> Path:
    """PARBENCH_HISTORY_DB, else REPO_ROOT/results/history.sqlite (--db overrides both)."""
    named = os.environ.get(DB_VARIABLE)
    if named is None:
        return REPO_ROOT / "results" / "history.sqlite"
    if not named.strip():
        raise UserError(f"{DB_VARIABLE} is empty (an unset variable?); unset it, name a file, or set it to off")
    if named == "off":
        raise UserError(f"{DB_VARIABLE}=off: the history is turned off; give --db PATH")
    return Path(named)


def _statements(db: sqlite3.Connection, script: str) -> None:
    """Each statement of `script` in the caller's transaction (executescript would commit it first)."""
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


def _v1_initial(db: sqlite3.Connection) -> None:
    # Benchmark and counter names are stored once (names), each repetition as numbers: a sweep of
    # 1,300 benchmarks is then about 1.5 MB, not 7.
    _statements(db, """
        CREATE TABLE entries (
            id INTEGER PRIMARY KEY, content_hash TEXT NOT NULL UNIQUE, sweep_id TEXT NOT NULL,
            revision TEXT NOT NULL, dirty INTEGER NOT NULL, branch TEXT NOT NULL, date TEXT NOT NULL,
            machine TEXT NOT NULL, fingerprint TEXT NOT NULL, config TEXT NOT NULL, config_hash TEXT NOT NULL,
            source TEXT NOT NULL, added TEXT NOT NULL);
        CREATE TABLE names (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
        CREATE TABLE measurements (
            entry_id INTEGER NOT NULL REFERENCES entries(id), benchmark INTEGER NOT NULL REFERENCES names(id),
            repetition INTEGER NOT NULL, real_time REAL, cpu_time REAL, error TEXT NOT NULL,
            PRIMARY KEY (entry_id, benchmark, repetition)) WITHOUT ROWID;
        CREATE TABLE counters (
            entry_id INTEGER NOT NULL REFERENCES entries(id), benchmark INTEGER NOT NULL REFERENCES names(id),
            name INTEGER NOT NULL REFERENCES names(id), repetition INTEGER NOT NULL, value REAL NOT NULL,
            PRIMARY KEY (entry_id, benchmark, name, repetition)) WITHOUT ROWID;
        CREATE TABLE verdicts (
            entry_id INTEGER NOT NULL REFERENCES entries(id), name TEXT NOT NULL, status TEXT NOT NULL,
            PRIMARY KEY (entry_id, name)) WITHOUT ROWID;
        CREATE INDEX entries_series ON entries (fingerprint, config_hash, date);
        CREATE INDEX entries_sweep ON entries (sweep_id);
        CREATE INDEX measurements_benchmark ON measurements (benchmark);
    """)


def _v2_commit_date(db: sqlite3.Connection) -> None:
    # The commit's committer date ("" when unknown): series are ordered by it, because the order
    # of measurement is not the order of commits (a CI base is measured after newer commits).
    db.execute("ALTER TABLE entries ADD COLUMN commit_date TEXT NOT NULL DEFAULT ''")


# MIGRATIONS[i] takes the schema from user_version i to i + 1 (inside the caller's transaction).
MIGRATIONS = [_v1_initial, _v2_commit_date]


def _check_version(path: Path, version: int, tables: int) -> None:
    """A schema this parbench can use or migrate: not a newer one, not another program's tables."""
    if version > len(MIGRATIONS):
        raise ForeignDatabase(f"{path}: history schema version {version} is newer than this parbench's "
                              f"({len(MIGRATIONS)}); use a newer parbench")
    if version == 0 and tables:
        raise ForeignDatabase(f"{path}: an SQLite file holding other tables, not a history database; give "
                              "another --db")


# A name that may be a SHA, short or full: two such names, one a prefix of the other, are one commit.
_SHA = re.compile(r"[0-9a-fA-F]{7,64}")


def is_sha(name: str) -> bool:
    """Whether a commit's name may be a SHA, short or full (7 to 64 hex digits)."""
    return bool(_SHA.fullmatch(name))


def same_commit(one: str, other: str) -> bool:
    """Whether two names are one commit: equal, or both SHAs with one a prefix of the other
    (a short and a full SHA; case aside)."""
    if one == other:
        return True
    one, other = one.lower(), other.lower()
    return is_sha(one) and is_sha(other) and (one.startswith(other) or other.startswith(one))


def digest(value) -> str:
    """SHA-256 of a JSON value, its keys sorted (the same value, the same digest)."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def content_digest(entry: Entry) -> str:
    """What makes two entries the same: their commit, machine and measured data (not where they
    came from, not check's verdicts, which change when check runs again)."""
    data = {name: [m.real_times, m.cpu_times, sorted(m.counters.items()), m.error]
            for name, m in sorted(entry.benchmarks.items())}
    return digest([entry.commit, entry.fingerprint, data])


def _explain(path: Path, error: sqlite3.Error) -> UserError:
    """One line for what SQLite said about the file."""
    text = str(error)
    if "locked" in text or "busy" in text:
        return UserError(f"{path}: busy (another writer held it over {BUSY_SECONDS} s); try again")
    if "unable to open" in text:
        return UserError(f"{path}: cannot open the history database (a missing folder, or no permission)")
    if "readonly" in text:
        return UserError(f"{path}: read-only (the history database and its folder must be writable)")
    if "disk I/O" in text or "full" in text:
        return UserError(f"{path}: cannot write the history database ({text})")
    return DamagedDatabase(f"{path}: damaged or not a history database ({one_line(text)}); {REBUILD_ADVICE}")


def lock_path(path: Path) -> Path:
    """DB.lock beside the database's real file (a link to it and its target share one lock)."""
    real = Path(os.path.realpath(path))
    return real.with_name(real.name + ".lock")


def take_lock(path: Path, exclusive: bool) -> int:
    """The database's advisory lock (flock on DB.lock): shared for a writer (SQLite orders the
    writers themselves), exclusive for a rebuild. Waits up to LOCK_SECONDS, then one line.
    Returns the descriptor; closing it releases the lock (the kernel does, however we die)."""
    lock = lock_path(path)
    try:
        # read-only: flock needs no write access, and nothing planted at the name is written through
        fd = os.open(lock, os.O_RDONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o666)
    except OSError as error:
        raise UserError(f"{path}: cannot open its lock file {lock} ({error.strerror}); a writer needs write "
                        "access to the database's folder") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise UserError(f"{lock}: not a regular file; remove it (it is the history database's lock)")
        deadline = time.monotonic() + LOCK_SECONDS
        while True:
            try:
                fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
                return fd
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise UserError(f"{path}: in use by another history command (an add or a rebuild); try again"
                                    if exclusive else f"{path}: the history database is being rebuilt; try again") \
                        from None
                time.sleep(0.05)
    except BaseException:
        os.close(fd)
        raise


def rebuild_path(path: Path) -> Path:
    """The temporary database a rebuild makes beside the database (named by the rebuild's PID)."""
    return path.with_name(f".{path.name}.rebuilding-{os.getpid()}")


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    except (OverflowError, ValueError):
        return False
    return True


def remove_stale_rebuilds(path: Path) -> list[Path]:
    """Removes what a killed rebuild left beside the database (its temporary database and that
    one's journals, named by a PID no longer running); returns what it removed."""
    stale = re.compile(rf"\.{re.escape(path.name)}\.rebuilding-(\d+)(-wal|-shm|-journal)?")
    removed = []
    for name in glob.glob(glob.escape(str(path.parent / f".{path.name}.rebuilding-")) + "*"):
        match = stale.fullmatch(Path(name).name)
        if match and not _running(int(match[1])):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name)
                removed.append(Path(name))
    return removed


def journals(path: Path) -> list[Path]:
    """The journal files SQLite keeps beside a database."""
    return [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm", "-journal")]


def check_database_file(path: Path, readonly: bool = False) -> None:
    """Before SQLite touches it (SQLite would make /dev/null-journal beside a device): a regular
    file or none (a link to one is fine); for the read verbs, one that exists and is not empty."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        if readonly:
            raise UserError(f"no history database at {path} (a sweep adds itself; history add DIR)") from None
        return
    except OSError as error:
        raise UserError(f"{path}: cannot read it ({error.strerror})") from None
    if stat.S_ISDIR(info.st_mode):
        raise UserError(f"{path}: a folder, not a history database file")
    if not stat.S_ISREG(info.st_mode):
        raise UserError(f"{path}: not a regular file (a device, FIFO or socket); give a history database file")
    wal = journals(path)[0]
    if readonly and info.st_size == 0 and not (wal.exists() and wal.stat().st_size):
        raise EmptyDatabase(f"{path}: not a history database (empty file)")


def _connect_readonly(path: Path) -> sqlite3.Connection:
    """`path` opened read-only (URI mode=ro). A database in WAL mode needs its -shm: where that
    cannot be made (a read-only folder), and no -wal holds changes, the file alone is the
    database, read as immutable."""
    uri = "file:" + quote(os.path.abspath(path)) + "?mode=ro"
    db = sqlite3.connect(uri, uri=True, timeout=BUSY_SECONDS, isolation_level=None)
    try:
        db.execute("PRAGMA user_version").fetchone()  # opens the WAL index, if any
        return db
    except sqlite3.OperationalError as error:
        db.close()
        if "readonly" not in str(error) and "unable to open" not in str(error):
            raise
    wal, _, journal = journals(path)
    holding = [name.name for name in (wal, journal) if name.exists() and name.stat().st_size]
    if holding:
        raise UserError(f"{path}: cannot be read without write access: {holding[0]} holds changes not yet in the "
                        "database file (a history add by a user who may write it folds them in)")
    return sqlite3.connect(uri + "&immutable=1", uri=True, timeout=BUSY_SECONDS, isolation_level=None)


class Store:
    """An open history database (see open_store). create=False opens it read-only: the read
    verbs never create, initialise or lock it, so a read-only file can be read. A writable one
    holds the database's lock shared until closed (lock=False: a rebuild's own temporary one)."""

    def __init__(self, path: Path, create: bool = True, lock: bool = True):
        self.path = Path(path)
        self.readonly = not create
        self.lock = lock
        self._lock_fd = -1
        check_database_file(self.path, self.readonly)
        if create:
            make_folder(self.path.parent)
            if lock:
                self._lock_fd = take_lock(self.path, exclusive=False)
                remove_stale_rebuilds(Path(os.path.realpath(self.path)))
        try:
            self.db = self._connect()
        except BaseException:
            self._unlock()
            raise

    def _connect(self) -> sqlite3.Connection:
        try:
            if self.readonly:
                db = _connect_readonly(self.path)
            else:
                # isolation_level None: no implicit transactions; each write opens its own IMMEDIATE one.
                db = sqlite3.connect(str(self.path), timeout=BUSY_SECONDS, isolation_level=None)
        except sqlite3.Error as error:
            raise _explain(self.path, error) from None
        self.db = db
        try:
            with self._sqlite():
                db.execute(f"PRAGMA busy_timeout = {BUSY_SECONDS * 1000}")
                if self.readonly:
                    return self._readable()
                self._migrate()  # reads the header first: a file that is no database writes nothing
                db.execute("PRAGMA journal_mode = WAL")
                db.execute("PRAGMA foreign_keys = ON")
        except BaseException:
            db.close()
            raise
        return db

    def _readable(self) -> sqlite3.Connection:
        """The read-only connection, once its schema is this parbench's: an older one is migrated
        once by a writer (which needs write access), a newer or foreign one refused."""
        latest = len(MIGRATIONS)
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version == latest:
            return self.db
        _check_version(self.path, version, self.db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0])
        if version == 0:
            raise EmptyDatabase(f"{self.path}: not a history database (an empty SQLite database)")
        self.db.close()
        Store(self.path, create=True, lock=self.lock).close()
        self.db = _connect_readonly(self.path)
        return self.db

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        try:
            self.db.close()
        finally:
            self._unlock()

    def _unlock(self) -> None:
        if self._lock_fd >= 0:
            os.close(self._lock_fd)  # closing releases the lock
            self._lock_fd = -1

    @contextlib.contextmanager
    def _sqlite(self):
        """SQLite's errors as one line naming the file."""
        try:
            yield
        except sqlite3.Error as error:
            raise _explain(self.path, error) from None

    @contextlib.contextmanager
    def _transaction(self, kind: str = "IMMEDIATE"):
        """A transaction: IMMEDIATE for a write (the write lock taken at its start, so two writers
        queue instead of one failing on upgrade), DEFERRED for a consistent read of several queries."""
        with self._sqlite():
            self.db.execute(f"BEGIN {kind}")
            try:
                yield self.db
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")

    def _migrate(self) -> None:
        latest = len(MIGRATIONS)
        if self.db.execute("PRAGMA user_version").fetchone()[0] == latest:
            return
        with self._transaction():
            # read again under the write lock: another process may have migrated it meanwhile
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
            _check_version(self.path, version, self.db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0])
            for migration in MIGRATIONS[version:]:
                migration(self.db)
            self.db.execute(f"PRAGMA user_version = {latest}")

    def check_integrity(self) -> tuple[str, int]:
        """SQLite's integrity check ("ok" when intact) and the number of entries."""
        with self._sqlite():
            return (self.db.execute("PRAGMA integrity_check").fetchone()[0],
                    self.db.execute("SELECT count(*) FROM entries").fetchone()[0])

    def seal(self) -> int:
        """Finishes a database that is to be moved (a rebuild's): every page in the file itself
        (checkpointed, out of WAL mode, so no -wal is left to lose), closes it and syncs it to disk.
        Returns its entry count, for the caller to check against a fresh read."""
        with self._sqlite():
            count = self.db.execute("SELECT count(*) FROM entries").fetchone()[0]
            busy, _, _ = self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            mode = self.db.execute("PRAGMA journal_mode = DELETE").fetchone()[0]
        if busy or mode.lower() != "delete":
            raise UserError(f"{self.path}: could not fold its write-ahead log into the file (busy {busy}, "
                            f"journal mode {mode})")
        self.close()
        left = [journal.name for journal in journals(self.path) if journal.exists()]
        if left:
            raise UserError(f"{self.path}: {', '.join(left)} left after closing it (its pages are not all in the file)")
        fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        return count

    def add(self, entry: Entry, notes: list[str] | None = None, changed: list[str] | None = None) -> bool:
        """Stores the entry; False when an entry of the same data is there already. That one is
        then updated: its verdicts replaced by the entry's, if it brings any (check runs after the
        sweep), and its date, branch and commit date by the entry's where they differ (an empty
        branch or commit date leaves the stored one); what changed is said in `changed`
        ("date A -> B"), when given. An earlier entry of the same sweep (sweep_id) with other data
        is replaced by this one, and a note says so (naming it when it had more benchmarks).
        A short and a full SHA of one commit are one name: the entry's commit, when a longer
        stored name begins with it, becomes that name (entry.commit and content_hash change),
        and stored entries under a shorter name of it are renamed to the entry's. What was
        renamed or replaced is said in `notes` (one line each), when given."""
        if not entry.content_hash:
            raise ValueError("an entry without its content_hash")
        with self._transaction() as db:
            said = _one_name(db, entry)
            row = db.execute("SELECT id FROM entries WHERE content_hash = ?", (entry.content_hash,)).fetchone()
            if row is not None:
                updates = _update(db, row[0], entry)
            else:
                said += _replace_sweep(db, entry)
                _insert(db, entry)
        if notes is not None:
            notes += said
        if changed is not None and row is not None:
            changed += updates
        return row is None

    def entries(self, machine: str | None = None) -> list[EntryInfo]:
        """Every entry (of one machine name), by date."""
        where, values = ("WHERE machine = ?", (machine,)) if machine is not None else ("", ())
        return self._infos(where, values)

    def left_out(self, machine: str | None = None) -> list[EntryInfo]:
        """The entries (of one machine name) that series() leaves out: those built from a tree
        with uncommitted changes, by date."""
        if machine is None:
            return self._infos("WHERE dirty = 1", ())
        return self._infos("WHERE dirty = 1 AND machine = ?", (machine,))

    def machines(self) -> list[str]:
        """The machine names of the stored entries, sorted."""
        with self._sqlite():
            return [row[0] for row in self.db.execute("SELECT DISTINCT machine FROM entries ORDER BY machine")]

    def _infos(self, where: str, values: tuple) -> list[EntryInfo]:
        with self._transaction("DEFERRED") as db:
            rows = db.execute("SELECT id, revision, dirty, branch, date, machine, config, config_hash, source, "
                              "(SELECT count(DISTINCT benchmark) FROM measurements WHERE entry_id = entries.id), "
                              f"commit_date FROM entries {where} ORDER BY date, id", values).fetchall()
            verdicts: dict[int, dict[str, int]] = {}
            for entry_id, status, count in db.execute("SELECT entry_id, status, count(*) FROM verdicts "
                                                      "GROUP BY entry_id, status"):
                verdicts.setdefault(entry_id, {})[status] = count
        return [EntryInfo(id=r[0], commit=r[1], dirty=bool(r[2]), branch=r[3], date=r[4], machine=r[5],
                          config=r[6], config_hash=r[7], source=r[8], benchmarks=r[9],
                          verdicts=verdicts.get(r[0], {}), commit_date=r[10]) for r in rows]

    def series(self, benchmark_regex: str | None = None, machine: str | None = None) -> list[Series]:
        """One series per machine (fingerprint), config and benchmark; one point per commit holding
        every repetition of every entry of that commit. Points are in the order of each commit's
        committer date when any entry knows it (on any machine), else of its earliest entry's
        date. Failed runs add no time; entries of a dirty tree are left out (their code is not
        the commit's; left_out() lists them)."""
        pattern = _compiled(benchmark_regex)
        where, values = ("AND e.machine = ?", (machine,)) if machine is not None else ("", ())
        with self._transaction("DEFERRED") as db:
            rows = db.execute("SELECT e.fingerprint, e.config_hash, n.name, e.revision, e.date, e.machine, "
                              "m.real_time FROM measurements m JOIN entries e ON e.id = m.entry_id "
                              "JOIN names n ON n.id = m.benchmark "
                              f"WHERE m.real_time IS NOT NULL AND e.dirty = 0 {where} "
                              "ORDER BY e.date, e.id, n.name, m.repetition", values).fetchall()
            commit_dates = dict(db.execute("SELECT revision, min(commit_date) FROM entries WHERE commit_date != '' "
                                           "GROUP BY revision"))
        return _grouped(rows, pattern, commit_dates)

    def entry(self, entry_id: int) -> Entry:
        """A stored entry as it was added (rebuild carries the file entries across with it)."""
        with self._transaction("DEFERRED") as db:
            return _read_entry(db, entry_id, self.path)

    def file_entries(self) -> list[Entry]:
        """The entries added from Google Benchmark files (no results folder to make them again from)."""
        with self._sqlite():
            ids = [row[0] for row in self.db.execute("SELECT id FROM entries WHERE config_hash = '' ORDER BY id")]
        return [self.entry(entry_id) for entry_id in ids]


def _read_entry(db: sqlite3.Connection, entry_id: int, path: Path) -> Entry:
    row = db.execute("SELECT revision, dirty, branch, date, machine, fingerprint, config, config_hash, "
                     "source, content_hash, sweep_id, commit_date FROM entries WHERE id = ?", (entry_id,)).fetchone()
    if row is None:
        raise UserError(f"{path}: no entry {entry_id}")
    benchmarks: dict[str, Measurement] = {}
    for name, real, cpu, error in db.execute("SELECT n.name, real_time, cpu_time, error FROM measurements "
                                             "JOIN names n ON n.id = benchmark WHERE entry_id = ? "
                                             "ORDER BY n.name, repetition", (entry_id,)):
        measurement = benchmarks.setdefault(name, Measurement(real_times=[]))
        if real is None:
            measurement.error = error
        else:
            measurement.real_times.append(real)
            measurement.cpu_times.append(cpu)
    for name, counter, value in db.execute("SELECT b.name, c.name, value FROM counters JOIN names b ON "
                                           "b.id = counters.benchmark JOIN names c ON c.id = counters.name "
                                           "WHERE entry_id = ? ORDER BY b.name, c.name, repetition", (entry_id,)):
        benchmarks.setdefault(name, Measurement(real_times=[])).counters.setdefault(counter, []).append(value)
    verdicts = dict(db.execute("SELECT name, status FROM verdicts WHERE entry_id = ?", (entry_id,)))
    return Entry(commit=row[0], dirty=bool(row[1]), branch=row[2], date=row[3], machine=row[4],
                 fingerprint=row[5], config=row[6], config_hash=row[7], source=row[8], benchmarks=benchmarks,
                 verdicts=verdicts, content_hash=row[9], sweep_id=row[10], commit_date=row[11])


def _one_name(db: sqlite3.Connection, entry: Entry) -> list[str]:
    """One commit, one name: the longest of the names (7 to 64 hex digits, one a prefix of the
    other, case aside) that the entry and the stored entries give it. The entry takes a longer
    stored name; stored entries under a shorter one take the entry's (their content hashes made
    again; one that is then the same data as another stored entry is dropped). Returns notes."""
    if not is_sha(entry.commit):
        return []
    stored = {row[0] for row in db.execute("SELECT DISTINCT revision FROM entries WHERE lower(substr(revision, 1, 7)) "
                                           "= ?", (entry.commit[:7].lower(),))}
    same = {name for name in stored if name != entry.commit and same_commit(name, entry.commit)}
    if not same:
        return []
    longest = max(same | {entry.commit}, key=lambda name: (len(name), name != entry.commit))
    if any(not longest.lower().startswith(name.lower()) for name in same):
        others = sorted(name for name in same if len(name) >= len(entry.commit))
        raise UserError(f"commit {entry.commit}: names more than one stored commit ({', '.join(others[:3])}); "
                        "give the full SHA")
    notes = []
    if longest != entry.commit:
        notes.append(f"history: commit {entry.commit} is stored as {longest} (the same commit's longer name, "
                     "already in the database)")
        entry.commit = longest
        entry.content_hash = content_digest(entry)
    renamed = sorted(name for name in same if name != longest)
    for name in renamed:
        ids = [row[0] for row in db.execute("SELECT id FROM entries WHERE revision = ?", (name,))]
        for entry_id in ids:
            stored_entry = _read_entry(db, entry_id, Path())
            stored_entry.commit = longest
            content_hash = content_digest(stored_entry)
            if db.execute("SELECT 1 FROM entries WHERE content_hash = ?", (content_hash,)).fetchone():
                _delete(db, entry_id)  # the same data under both names: one entry
            else:
                db.execute("UPDATE entries SET revision = ?, content_hash = ? WHERE id = ?",
                           (longest, content_hash, entry_id))
        notes.append(f"history: {len(ids)} stored {'entry' if len(ids) == 1 else 'entries'} of commit {name} "
                     f"now under {longest} (the same commit's longer name)")
    return notes


def _update(db: sqlite3.Connection, entry_id: int, entry: Entry) -> list[str]:
    """The stored entry of the same data takes the entry's verdicts (if it brings any), and its
    date, branch and commit date where they differ (an empty one leaves the stored one).
    Returns what changed, "field old -> new"."""
    if entry.verdicts:
        db.execute("DELETE FROM verdicts WHERE entry_id = ?", (entry_id,))
        db.executemany("INSERT INTO verdicts VALUES (?, ?, ?)",
                       [(entry_id, name, status) for name, status in sorted(entry.verdicts.items())])
    stored = db.execute("SELECT date, branch, commit_date FROM entries WHERE id = ?", (entry_id,)).fetchone()
    changes = []
    given = (entry.date, entry.branch, entry.commit_date)
    for column, old, new in zip(("date", "branch", "commit_date"), stored, given):
        if new and new != old:
            db.execute(f"UPDATE entries SET {column} = ? WHERE id = ?", (new, entry_id))
            changes.append(f"{column.replace('_', ' ')} {one_line(old) or '(none)'} -> {one_line(new)}")
    return changes


def _replace_sweep(db: sqlite3.Connection, entry: Entry) -> list[str]:
    """Removes the stored entries of the entry's sweep (a sweep added again with other data: a
    resumed one, or one added while it ran) so that their repetitions are not pooled twice.
    Returns a note for each: one that had more benchmarks than the entry is named as such."""
    if not entry.sweep_id:
        return []
    notes = []
    for old, source, count in db.execute("SELECT id, source, (SELECT count(DISTINCT benchmark) FROM measurements "
                                         "WHERE entry_id = entries.id) FROM entries WHERE sweep_id = ?",
                                         (entry.sweep_id,)).fetchall():
        fewer = len(entry.benchmarks) < count
        notes.append(f"history: {'note: ' if fewer else ''}replaces the earlier entry of the same sweep "
                     f"({count} benchmarks, from {one_line(source)}) with this one ({len(entry.benchmarks)} "
                     f"benchmarks{', fewer' if fewer else ''})")
        _delete(db, old)
    return notes


def _name_ids(db: sqlite3.Connection, names: set[str]) -> dict[str, int]:
    db.executemany("INSERT OR IGNORE INTO names (name) VALUES (?)", [(name,) for name in sorted(names)])
    ids = {}
    for name in names:
        ids[name] = db.execute("SELECT id FROM names WHERE name = ?", (name,)).fetchone()[0]
    return ids


def _insert(db: sqlite3.Connection, entry: Entry) -> None:
    added = datetime.now(timezone.utc).isoformat(timespec="seconds")
    cursor = db.execute("INSERT INTO entries (content_hash, sweep_id, revision, dirty, branch, date, machine, "
                        "fingerprint, config, config_hash, source, added, commit_date) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (entry.content_hash, entry.sweep_id, entry.commit, int(entry.dirty), entry.branch,
                         entry.date, entry.machine, entry.fingerprint, entry.config, entry.config_hash,
                         entry.source, added, entry.commit_date))
    entry_id = cursor.lastrowid
    ids = _name_ids(db, set(entry.benchmarks) | {c for m in entry.benchmarks.values() for c in m.counters})
    times, counters = [], []
    for name, measurement in sorted(entry.benchmarks.items()):
        if measurement.error or not measurement.real_times:
            times.append((entry_id, ids[name], 0, None, None, measurement.error or "no time"))
            continue
        cpu = measurement.cpu_times if len(measurement.cpu_times) == len(measurement.real_times) else []
        times += [(entry_id, ids[name], index, real, cpu[index] if cpu else None, "")
                  for index, real in enumerate(measurement.real_times)]
        counters += [(entry_id, ids[name], ids[counter], index, value)
                     for counter, values in sorted(measurement.counters.items()) for index, value in enumerate(values)]
    db.executemany("INSERT INTO measurements VALUES (?, ?, ?, ?, ?, ?)", times)
    db.executemany("INSERT INTO counters VALUES (?, ?, ?, ?, ?)", counters)
    db.executemany("INSERT INTO verdicts VALUES (?, ?, ?)",
                   [(entry_id, name, status) for name, status in sorted(entry.verdicts.items())])


def _delete(db: sqlite3.Connection, entry_id: int) -> None:
    for table in ("measurements", "counters", "verdicts"):
        db.execute(f"DELETE FROM {table} WHERE entry_id = ?", (entry_id,))
    db.execute("DELETE FROM entries WHERE id = ?", (entry_id,))


def _compiled(benchmark_regex: str | None) -> re.Pattern | None:
    if benchmark_regex is None:
        return None
    try:
        return re.compile(benchmark_regex)
    except (re.error, RecursionError, OverflowError) as error:
        raise UserError(f"--benchmark {json.dumps(benchmark_regex)[:60]}: not a regular expression ({error})") \
            from None


def _grouped(rows: list[tuple], pattern: re.Pattern | None, commit_dates: dict[str, str] | None = None) -> list[Series]:
    """Rows (fingerprint, config_hash, benchmark, commit, date, machine, seconds), ordered by date,
    as series: one per fingerprint, config and benchmark, one point per commit, ordered by the
    commit's date (commit_dates) when known, else by its earliest entry's date."""
    commit_dates = commit_dates or {}
    groups: dict[tuple, dict[str, Point]] = {}
    names: dict[tuple, str] = {}
    for fingerprint, config_hash, benchmark, commit, date, machine, seconds in rows:
        if pattern is not None and not pattern.search(benchmark):
            continue
        key = (fingerprint, config_hash, benchmark)
        points = groups.setdefault(key, {})
        # rows come by date: a commit's first row is its earliest entry
        points.setdefault(commit, Point(commit=commit, date=date, real_times=[],
                                        commit_date=commit_dates.get(commit, ""))).real_times.append(seconds)
        names[key] = machine  # the machine's latest name
    found = [Series(benchmark=key[2], machine=names[key], fingerprint=key[0], config_hash=key[1],
                    points=sorted(points.values(), key=lambda point: (point.order, point.date, point.commit)))
             for key, points in groups.items()]
    return sorted(found, key=lambda s: (s.benchmark, s.machine, s.fingerprint, s.config_hash))


def open_store(path: Path | None = None, create: bool = True) -> Store:
    """The database at `path` (default_path() when None), made and migrated as needed, holding
    its lock shared until closed; with create=False read-only, and a missing or empty one is one
    line (the read verbs). Use as `with open_store(...) as store:`."""
    return Store(default_path() if path is None else Path(path), create)
