"""The history database: adding folders and files (once each), check's verdicts, bad input, a
damaged database and its rebuild, two writers at once, schema migrations and series."""
import hashlib
import json
import os
import sqlite3
import subprocess
import sys

import pytest

from parbench import UserError
from parbench.history import store as store_module
from parbench.history.commands import record_folder
from parbench.history.ingest import folders_under, from_folder
from parbench.history.store import open_store
from support import ROOT, assert_one_line, run_cli
from synthetic import CONTEXT, entry, write_sweep

RUNS = {("primes", "pool", 1000, 1): [1.0, 1.1, 0.9], ("primes", "pool", 1000, 2): [0.5, 0.6, 0.55]}


def _sweep(directory, sha="a" * 40, started="2026-11-29T10:00:00+00:00", runs=None, dirty=False, commit_date=None,
           **options):
    """A synthetic sweep's folder that records the commit it measured (env.json "git")."""
    write_sweep(directory, runs or RUNS, started=started, **options)
    env = json.loads((directory / "env.json").read_text())
    env["git"] = {"sha": sha, "dirty": dirty, "branch": "main"}
    if commit_date is not None:
        env["git"]["commit_date"] = commit_date
    (directory / "env.json").write_text(json.dumps(env))
    return directory


def _gbench_file(path, seconds, name="work/a", date=CONTEXT["date"]):
    """A Google Benchmark file of one benchmark, its repetitions `seconds`, plus their aggregate."""
    benchmarks = [entry(name, value, index) for index, value in enumerate(seconds)]
    benchmarks.append({**entry(name, sum(seconds) / len(seconds), 0), "name": name + "_mean",
                       "run_type": "aggregate", "aggregate_name": "mean"})
    path.write_text(json.dumps({"context": {**CONTEXT, "date": date}, "benchmarks": benchmarks}))
    return path


def _history(*args) -> int:
    """./parbench history ARGS in this process (a subprocess would spend a second importing)."""
    from parbench.__main__ import run
    return run(["history", *map(str, args)])


def _refused(needle, *args) -> None:
    """Bad input: one line naming the problem (main() prints it and exits 2)."""
    with pytest.raises(UserError) as refused:
        _history(*args)
    assert needle in str(refused.value) and "\n" not in str(refused.value), str(refused.value)


def _entries(db):
    with open_store(db, create=False) as store:
        return store.entries()


def test_a_folder_added_twice_is_one_entry(tmp_path, capsys):
    folder, db = _sweep(tmp_path / "sweep"), tmp_path / "h.sqlite"
    assert _history("add", folder, "--db", db) == 0
    assert capsys.readouterr().out.startswith("history: added aaaaaaaaaaaa testhost (2 benchmarks)")
    assert _history("add", folder, "--db", db) == 0
    assert "already in" in capsys.readouterr().out
    [info] = _entries(db)
    assert (info.commit, info.branch, info.machine, info.config) == ("a" * 40, "main", "testhost", "tiny")
    assert info.benchmarks == 2
    assert _history("list", "--db", db) == 0
    listed = capsys.readouterr().out
    assert "aaaaaaaaaaaa" in listed and "1 entry in" in listed


def _write_check(folder, rows, signed=True):
    from parbench import provenance
    from parbench.state import state_digest
    record = {"when": "2026-11-29T11:00:00+00:00", "sweep_sha256": state_digest(folder),
              "rows": [{"check": check, "subject": subject, "result": result} for check, subject, result in rows]}
    record["digest"] = provenance.signature(record) if signed else "0" * 64
    (folder / "check.json").write_text(json.dumps(record))


def test_check_verdicts_are_recorded_when_the_folder_is_added_again(tmp_path):
    folder, db = _sweep(tmp_path / "sweep"), tmp_path / "h.sqlite"
    with open_store(db) as store:
        assert store.add(from_folder(folder))
    _write_check(folder, [("ran and verified", "all", "PASS"), ("efficiency", "primes/pool", "FAIL")], signed=False)
    assert from_folder(folder).verdicts == {}  # a check.json not written by check on this machine
    _write_check(folder, [("ran and verified", "all", "PASS"), ("efficiency", "primes/pool", "FAIL")])
    with open_store(db) as store:
        assert not store.add(from_folder(folder))  # the same data: no second entry
        [info] = store.entries()
    assert info.verdicts == {"PASS": 1, "FAIL": 1}


def test_a_sweep_added_again_with_other_data_replaces_its_entry(tmp_path):
    folder, db = _sweep(tmp_path / "sweep"), tmp_path / "h.sqlite"
    state = json.loads((folder / "sweep.json").read_text())
    (folder / "sweep.json").write_text(json.dumps({**state, "sweep_id": "1" * 32}))
    with open_store(db) as store:
        store.add(from_folder(folder))
    _sweep(folder, runs={**RUNS, ("primes", "pool", 1000, 4): [0.3, 0.3, 0.3]})  # resumed: one family more
    (folder / "sweep.json").write_text(json.dumps({**json.loads((folder / "sweep.json").read_text()),
                                                   "sweep_id": "1" * 32}))
    with open_store(db) as store:
        assert store.add(from_folder(folder))
        [info] = store.entries()  # not both: their repetitions would be pooled twice
    assert info.benchmarks == 3


def test_a_gbench_file_is_added_with_its_commit_machine_and_date(tmp_path):
    path, db = _gbench_file(tmp_path / "run.json", [0.010, 0.011, 0.012]), tmp_path / "h.sqlite"
    result = run_cli("history", "add", path, "--commit", "c1", "--machine", "box",
                     "--date", "2026-01-02T03:04:05+01:00", "--db", db)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"history: added c1 box (1 benchmarks) to {db}"
    [info] = _entries(db)
    assert (info.commit, info.machine, info.date, info.config) == ("c1", "box", "2026-01-02T02:04:05+00:00", "")
    with open_store(db) as store:
        [series] = store.series()
    assert series.points[0].real_times == pytest.approx([0.010, 0.011, 0.012])  # the aggregate left out
    # without --date: the file's own
    other = _gbench_file(tmp_path / "other.json", [0.02, 0.021], date="2026-02-01T00:00:00+00:00")
    assert _history("add", other, "--commit", "c2", "--machine", "box", "--db", db) == 0
    assert [i.date for i in _entries(db)] == ["2026-01-02T02:04:05+00:00", "2026-02-01T00:00:00+00:00"]


def test_bad_input_to_add_a_file_is_one_line(tmp_path):
    path, db = _gbench_file(tmp_path / "run.json", [0.01, 0.02]), tmp_path / "h.sqlite"
    assert_one_line(run_cli("history", "add", path, "--machine", "box", "--db", db), "--commit is required")
    assert_one_line(run_cli("history", "add", path, "--commit", "c1", "--machine", "box", "--date", "yesterday",
                            "--db", db), "not an ISO 8601 date")
    _refused("--machine is required", "add", path, "--commit", "c1", "--db", db)
    _refused("not a name", "add", path, "--commit", "c 1", "--machine", "box", "--db", db)
    _refused("not a name", "add", path, "--commit", "c1", "--machine", "b\x1bx", "--db", db)
    _refused("not an ISO 8601 date", "add", path, "--commit", "c1", "--machine", "box", "--date", "2026-13-01",
             "--db", db)
    _refused("no such file or folder", "add", tmp_path / "gone.json", "--commit", "c1", "--machine", "box",
             "--db", db)
    assert not db.exists()


def test_a_folder_refuses_file_flags_and_a_file_of_aggregates_only_is_refused(tmp_path, capsys):
    folder, db = _sweep(tmp_path / "sweep"), tmp_path / "h.sqlite"
    _refused("drop --commit", "add", folder, "--commit", "c1", "--db", db)
    aggregates = tmp_path / "aggregates.json"
    aggregates.write_text(json.dumps({"context": CONTEXT, "benchmarks": [
        {**entry("work/a", 0.01, 0), "run_type": "aggregate", "aggregate_name": "mean"}]}))
    _refused("no benchmark repetitions", "add", aggregates, "--commit", "c", "--machine", "m", "--db", db)
    _refused("no history database at", "list", "--db", db)
    _refused("no history database at", "regressions", "--db", db)
    with open_store(db):
        pass
    assert _history("regressions", "--db", db) == 0
    assert capsys.readouterr().out == f"history: {db} holds no series (no entries from a clean tree with a time)\n"


def test_a_damaged_database_is_one_line_and_left_as_it_is(tmp_path):
    db = tmp_path / "h.sqlite"
    garbage = bytes(range(256)) * 40
    db.write_bytes(garbage)
    folder = _sweep(tmp_path / "sweep")
    assert_one_line(run_cli("history", "list", "--db", db), "history rebuild")
    for verb in (["add", folder], ["regressions"], ["list"]):
        _refused("history rebuild", *verb, "--db", db)
    assert db.read_bytes() == garbage


def test_rebuild_restores_the_entries_and_keeps_the_damaged_file(tmp_path):
    results, db = tmp_path / "results", tmp_path / "h.sqlite"
    _sweep(results / "one")
    _sweep(results / "ci" / "head", sha="b" * 40, started="2026-11-30T10:00:00+00:00")  # two levels down
    (results / "not-a-sweep").mkdir()
    garbage = b"not a database" * 100
    db.write_bytes(garbage)
    assert _history("rebuild", results, "--db", db) == 0
    assert [i.commit[0] for i in _entries(db)] == ["a", "b"]
    [aside] = list(tmp_path.glob("h.sqlite.damaged-*"))
    assert aside.read_bytes() == garbage
    # a healthy database: rebuilt from the folders, and the entries added from files kept
    path = _gbench_file(tmp_path / "run.json", [0.01, 0.02])
    assert _history("add", path, "--commit", "c1", "--machine", "box", "--db", db) == 0
    assert _history("rebuild", results, "--db", db) == 0
    assert sorted(i.commit[0] for i in _entries(db)) == ["a", "b", "c"]
    left = sorted(path.name for path in tmp_path.glob("*h.sqlite*"))
    assert left == ["h.sqlite", aside.name, "h.sqlite.lock"]  # the database, the damaged one, the lock: no temp


def test_folders_under_finds_sweeps_two_levels_down_and_follows_no_link(tmp_path):
    _sweep(tmp_path / "a")
    _sweep(tmp_path / "x" / "b")
    (tmp_path / "link").symlink_to(tmp_path / "a")
    assert folders_under([tmp_path]) == [tmp_path / "a", tmp_path / "x" / "b"]


_WRITER = """
import sys
from parbench.history.ingest import from_gbench_file
from parbench.history.store import open_store
with open_store(sys.argv[1]) as store:
    store.add(from_gbench_file(sys.argv[2], sys.argv[3], "box", None))
"""


def test_writers_at_once_each_add_their_entry(tmp_path):
    db = tmp_path / "h.sqlite"
    files = [_gbench_file(tmp_path / f"run{i}.json", [0.01 + i / 1000, 0.02]) for i in range(4)]
    environment = {"PYTHONPATH": str(ROOT / "scripts")}
    writers = [subprocess.Popen([sys.executable, "-c", _WRITER, str(db), str(path), f"c{index}"],
                                env=dict(os.environ, **environment), stderr=subprocess.PIPE, text=True)
               for index, path in enumerate(files)]
    for writer in writers:
        _, stderr = writer.communicate(timeout=120)
        assert writer.returncode == 0, stderr
    assert sorted(i.commit for i in _entries(db)) == ["c0", "c1", "c2", "c3"]


def test_an_empty_database_is_migrated_and_a_newer_or_foreign_one_refused(tmp_path):
    db = tmp_path / "h.sqlite"
    with sqlite3.connect(db) as connection:  # a database at user_version 0 without tables
        connection.execute("CREATE TABLE t (x)")
        connection.execute("DROP TABLE t")
    with open_store(db) as store:
        assert store.entries() == []
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == len(store_module.MIGRATIONS)
        connection.execute("PRAGMA user_version = 99")
    _refused("schema version 99 is newer", "list", "--db", db)
    foreign = tmp_path / "foreign.sqlite"
    with sqlite3.connect(foreign) as connection:
        connection.execute("CREATE TABLE entries (x)")
    _refused("holding other tables", "add", _gbench_file(tmp_path / "r.json", [0.1]), "--commit", "c",
             "--machine", "m", "--db", foreign)


def test_a_new_schema_version_is_one_migration_appended(tmp_path, monkeypatch):
    db = tmp_path / "h.sqlite"
    with open_store(db) as store:
        store.add(from_folder(_sweep(tmp_path / "sweep")))

    def v2_note(connection):
        connection.execute("ALTER TABLE entries ADD COLUMN note TEXT NOT NULL DEFAULT ''")

    latest = len(store_module.MIGRATIONS)
    monkeypatch.setattr(store_module, "MIGRATIONS", [*store_module.MIGRATIONS, v2_note])
    with open_store(db) as store:
        assert len(store.entries()) == 1
        assert store.db.execute("PRAGMA user_version").fetchone()[0] == latest + 1
        assert store.db.execute("SELECT note FROM entries").fetchall() == [("",)]


def test_a_version_1_database_is_migrated_and_keeps_its_entries(tmp_path):
    """A database as the first parbench with a history wrote it (schema 1, no commit dates)."""
    db = tmp_path / "h.sqlite"
    connection = sqlite3.connect(db, isolation_level=None)
    store_module.MIGRATIONS[0](connection)
    connection.execute("PRAGMA user_version = 1")
    for number, (commit, date) in enumerate([("c1", "2026-01-02T00:00:00+00:00"), ("c0", "2026-01-03T00:00:00+00:00")]):
        connection.execute("INSERT INTO entries VALUES (?, ?, '', ?, 0, '', ?, 'box', ?, '', '', 'r.json', ?)",
                           (number + 1, f"hash{number}", commit, date, hashlib.sha256(b"box").hexdigest(), date))
        connection.execute("INSERT OR IGNORE INTO names VALUES (1, 'work/a/process_time/real_time')")
        connection.executemany("INSERT INTO measurements VALUES (?, 1, ?, ?, ?, '')",
                               [(number + 1, r, 0.01 * (number + 1), 0.01) for r in range(2)])
    connection.close()
    with open_store(db) as store:
        assert store.db.execute("PRAGMA user_version").fetchone()[0] == len(store_module.MIGRATIONS) == 2
        infos = store.entries()
        assert [(i.commit, i.commit_date, i.benchmarks) for i in infos] == [("c1", "", 1), ("c0", "", 1)]
        [series] = store.series()
        assert [p.commit for p in series.points] == ["c1", "c0"]  # no commit dates: by entry date
        assert series.points[1].real_times == [0.02, 0.02]
    # the migrated database takes new entries, and their commit dates order the series
    early = _gbench_file(tmp_path / "early.json", [0.03, 0.03])
    assert _history("add", early, "--commit", "c9", "--machine", "box", "--date", "2026-02-01",
                    "--commit-date", "2025-12-01T00:00:00Z", "--db", db) == 0
    with open_store(db, create=False) as store:
        [series] = store.series()
    assert [(p.commit, p.commit_date) for p in series.points] == [
        ("c9", "2025-12-01T00:00:00+00:00"), ("c1", ""), ("c0", "")]


def test_series_pool_a_commits_repetitions_and_never_mix_machines(tmp_path):
    db = tmp_path / "h.sqlite"
    runs = {("primes", "pool", 1000, 1): [1.0, 1.1]}
    folders = [_sweep(tmp_path / "a1", sha="1" * 40, started="2026-11-01T00:00:00+00:00", runs=runs),
               _sweep(tmp_path / "a1bis", sha="1" * 40, started="2026-11-03T00:00:00+00:00",
                      runs={("primes", "pool", 1000, 1): [1.2, 1.3]}),
               _sweep(tmp_path / "a2", sha="2" * 40, started="2026-11-02T00:00:00+00:00",
                      runs={("primes", "pool", 1000, 1): [2.0, 2.1]}),
               _sweep(tmp_path / "b1", sha="1" * 40, started="2026-11-01T00:00:00+00:00", hostname="other",
                      runs={("primes", "pool", 1000, 1): [5.0, 5.1]}),
               _sweep(tmp_path / "dirty", sha="2" * 40, started="2026-11-02T00:00:00+00:00", dirty=True,
                      runs={("primes", "pool", 1000, 1): [9.0, 9.1]})]
    with open_store(db) as store:
        for folder in folders:
            store.add(from_folder(folder))
        found = store.series()
        assert store.series(machine="other")[0].machine == "other"
        assert store.series("^fib") == []
        with pytest.raises(UserError, match="not a regular expression"):
            store.series("(")
    assert [(s.machine, [p.commit[0] for p in s.points]) for s in found] == [("other", ["1"]), ("testhost", ["1", "2"])]
    testhost = found[1]
    assert sorted(testhost.points[0].real_times) == [1.0, 1.1, 1.2, 1.3]  # both entries of commit 1
    assert testhost.points[1].real_times == [2.0, 2.1]  # the dirty tree's 9 s left out
    assert found[0].fingerprint != testhost.fingerprint


def test_a_failed_run_adds_no_time(tmp_path):
    folder = _sweep(tmp_path / "sweep")
    path = folder / "raw" / "all.json"
    data = json.loads(path.read_text())
    data["benchmarks"][0].update(error_occurred=True, error_message="verification failed")
    path.write_text(json.dumps(data))
    state = json.loads((folder / "sweep.json").read_text())  # as the sweep records a family's file
    with open_store(tmp_path / "h.sqlite") as store:
        added = from_folder(folder)
        store.add(added)
        names = [s.benchmark for s in store.series()]
    assert state["families"][0]["status"] == "ok"
    failed = [name for name, m in added.benchmarks.items() if m.error]
    assert failed and failed[0] not in names and len(names) == 1


def test_a_sweep_records_itself_and_a_failure_to_is_a_note(tmp_path, monkeypatch, capsys):
    folder, db = _sweep(tmp_path / "sweep"), tmp_path / "auto.sqlite"
    monkeypatch.setenv("PARBENCH_HISTORY_DB", "off")
    record_folder(folder)
    assert capsys.readouterr().out == "" and not db.exists()
    monkeypatch.setenv("PARBENCH_HISTORY_DB", str(db))
    record_folder(folder)
    assert capsys.readouterr().out.startswith("history: added aaaaaaaaaaaa")
    db.write_bytes(b"garbage" * 200)
    for name in ("auto.sqlite-wal", "auto.sqlite-shm"):
        (tmp_path / name).unlink(missing_ok=True)
    record_folder(folder)  # never raises: the sweep's outcome is its own
    assert capsys.readouterr().out.startswith("history: not recorded (")


def test_check_adds_its_verdicts_to_the_history(tmp_path):
    folder, db = _sweep(tmp_path / "sweep"), tmp_path / "auto.sqlite"
    result = run_cli("check", folder, "--no-remeasure", env={"PARBENCH_HISTORY_DB": str(db)})
    assert "history: added" in result.stderr, result.stderr
    assert result.stdout.strip().splitlines()[-1].startswith("check:")  # its summary stays its last line
    [info] = _entries(db)
    assert sum(info.verdicts.values()) >= 1


def _four_commits(tmp_path, db, names=("c0", "c1", "c2", "c3")):
    for index, name in enumerate(names):
        path = _gbench_file(tmp_path / f"r{index}.json", [0.01 * (1 + index), 0.011, 0.012])
        assert _history("add", path, "--commit", name, "--machine", "box", "--db", db,
                        "--date", f"2026-01-0{index + 1}") == 0


def _changes_at(found, commit, ratio, **fields):
    """A stand-in for find_regressions: one change at `commit`, and the calls it was given."""
    from parbench.history.records import Change

    def find(series, alpha):
        found.append((len(series), alpha))
        index = next(i for i, point in enumerate(series[0].points) if point.commit == commit)
        values = dict(benchmark=series[0].benchmark, machine="box", commit=commit, index=index, ratio=ratio,
                      ci=(ratio - 0.01, ratio + 0.02), p_value=0.001, p_adjusted=0.004, before=1, after=2)
        return [Change(**{**values, **fields})]
    return find


def test_regressions_prints_one_line_per_change_and_fails_on_the_newest_commit(tmp_path, monkeypatch, capsys):
    from parbench.history import changepoints
    db = tmp_path / "h.sqlite"
    _four_commits(tmp_path, db)
    capsys.readouterr()
    found = []
    monkeypatch.setattr(changepoints, "find_regressions", _changes_at(found, "c1", 1.12, confidence=0.983,
                                                                      candidates=42))
    assert _history("regressions", "--db", db, "--fail-on-latest", "--alpha", "0.1") == 0  # not the newest
    assert capsys.readouterr().out == ("work/a/process_time/real_time box c1 +12.0% [+11.0%, +14.0%] (98.3% interval; "
                                       "p=0.004, bootstrap test beyond the noise band, Holm over 42 candidates)\n")
    assert found == [(1, 0.1)]
    monkeypatch.setattr(changepoints, "find_regressions", _changes_at(found, "c3", 0.9))
    assert _history("regressions", "--db", db, "--fail-on-latest") == 0  # faster: no failure
    monkeypatch.setattr(changepoints, "find_regressions", _changes_at(found, "c3", 1.2, p_adjusted=0.0004))
    assert _history("regressions", "--db", db) == 0
    assert "(95% interval; p<0.001, bootstrap test beyond the noise band, Holm over 1 candidate)" in \
        capsys.readouterr().out
    assert _history("regressions", "--db", db, "--fail-on-latest") == 1
    _refused("not a significance level", "regressions", "--db", db, "--alpha", "0.7")


def test_a_filter_that_selects_nothing_is_an_error(tmp_path, monkeypatch, capsys):
    db = tmp_path / "h.sqlite"
    _four_commits(tmp_path, db)
    other = _gbench_file(tmp_path / "other.json", [0.5, 0.5])
    assert _history("add", other, "--commit", "c0", "--machine", "zeta", "--db", db) == 0
    _refused("--machine nosuch: no such machine in", "regressions", "--db", db, "--machine", "nosuch")
    with pytest.raises(UserError, match=r"\(machines: box, zeta\)"):
        _history("regressions", "--db", db, "--machine", "nosuch")
    _refused("--benchmark ^nomatch: matches no benchmark", "regressions", "--db", db, "--benchmark", "^nomatch")
    _refused("--benchmark ^nomatch: matches no benchmark", "report", "--db", db, "--benchmark", "^nomatch")
    assert_one_line(run_cli("history", "regressions", "--db", db, "--machine", "nosuch"), "no such machine")
    # a machine whose entries are all from a dirty tree selects no series either
    dirty = _sweep(tmp_path / "dirty", dirty=True)
    assert _history("add", dirty, "--db", db) == 0
    _refused("no series for --machine testhost", "regressions", "--db", db, "--machine", "testhost")
    capsys.readouterr()
    # the series of too few commits are said to be untested, not "no change found" in them
    assert _history("regressions", "--db", db) == 0
    out = capsys.readouterr().out.splitlines()
    assert "history: 1 of 2 series have fewer than 4 commits: nothing to test there" in out
    assert "history: no change found in 1 series" in out
    assert "history: 1 entry left out (built from a tree with uncommitted changes): testhost" in out
    assert _history("regressions", "--db", db, "--machine", "zeta") == 0
    assert capsys.readouterr().out == "history: 1 of 1 series have fewer than 4 commits: nothing to test there\n"


def test_fail_since_fails_for_a_slowdown_after_the_given_commit(tmp_path, monkeypatch, capsys):
    from parbench.history import changepoints
    db = tmp_path / "h.sqlite"
    shas = [str(digit) * 40 for digit in range(4)]
    _four_commits(tmp_path, db, shas)
    found = []

    def since(at, ratio, rev):
        monkeypatch.setattr(changepoints, "find_regressions", _changes_at(found, shas[at], ratio))
        capsys.readouterr()
        code = _history("regressions", "--db", db, "--fail-since", rev)
        return code, capsys.readouterr()

    # confirmed a commit after it began, so not at the newest: --fail-on-latest passes, --fail-since does not
    assert since(2, 1.2, shas[1])[0] == 1
    monkeypatch.setattr(changepoints, "find_regressions", _changes_at(found, shas[2], 1.2))
    assert _history("regressions", "--db", db, "--fail-on-latest") == 0
    code, output = since(2, 1.2, shas[1][:7])  # a short SHA of a stored full one
    assert code == 1 and "1 slowdown(s) begin after 1111111" in output.err
    assert since(1, 1.2, shas[1])[0] == 0  # began at REV itself: REV is no commit before it
    assert since(3, 0.8, shas[1])[0] == 0  # faster
    # REV in no series: each series judged at its newest commit only, and said so
    code, output = since(2, 1.2, "f" * 40)
    assert code == 0 and "is in no series of this selection: each series is judged at its newest commit" in output.out
    assert since(3, 1.2, "f" * 40)[0] == 1
    _refused("--fail-since: empty", "regressions", "--db", db, "--fail-since", " ")
    _refused("not a commit SHA", "regressions", "--db", db, "--fail-since", "HEAD~1")


def test_report_hands_the_series_and_their_changes_to_the_dashboard(tmp_path, monkeypatch, capsys):
    from parbench.history import changepoints, dashboard
    db = tmp_path / "h.sqlite"
    assert _history("add", _gbench_file(tmp_path / "r.json", [0.01, 0.02]), "--commit", "c", "--machine", "box",
                    "--db", db) == 0
    given = []
    monkeypatch.setattr(changepoints, "find_regressions", lambda series, alpha: ["a change"])
    monkeypatch.setattr(dashboard, "write_dashboard", lambda series, changes, out, left_out:
                        given.append((series, changes, out, left_out)) or out / "index.html")
    assert _history("report", "--db", db, "--out", tmp_path / "site") == 0
    [(series, changes, out, left_out)] = given
    assert left_out == []
    assert [s.benchmark for s in series] == ["work/a/process_time/real_time"] and changes == ["a change"]
    assert out == tmp_path / "site" and capsys.readouterr().out.endswith(f"history: report {out / 'index.html'}\n")


def test_a_named_class_of_machines_is_one_series_and_other_hardware_its_own(tmp_path):
    """CI runners: every job a new VM (its own machine id). Named by PARBENCH_MACHINE, their sweeps
    pool by the name, CPU model and thread count; a runner with another CPU starts its own series."""
    db = tmp_path / "h.sqlite"
    for index, (machine_id, cpu_model) in enumerate([("vm1", "EPYC"), ("vm2", "EPYC"), ("vm3", "Xeon")]):
        folder = _sweep(tmp_path / f"s{index}", sha=str(index) * 40, started=f"2026-11-2{index}T10:00:00+00:00")
        env = json.loads((folder / "env.json").read_text())
        env["machine_name"] = "github-ubuntu-latest"
        env.setdefault("machine", {})["machine_id_sha256"] = machine_id
        env.setdefault("cpu", {})["model"] = cpu_model
        (folder / "env.json").write_text(json.dumps(env))
        assert _history("add", folder, "--db", db) == 0
    with open_store(db, create=False) as store:
        series = store.series()
    assert {s.machine for s in series} == {"github-ubuntu-latest"}
    by_length = sorted(len(s.points) for s in series if s.benchmark == series[0].benchmark)
    assert by_length == [1, 2], by_length  # the two EPYC VMs pool, the Xeon is apart


def test_series_follow_the_commits_dates_not_the_order_they_were_measured_in(tmp_path, capsys):
    """A CI base measured after a newer commit: its point comes first, by its commit's date."""
    db = tmp_path / "h.sqlite"
    newer = _sweep(tmp_path / "head", sha="b" * 40, started="2026-11-01T00:00:00+00:00",
                   commit_date="2026-10-20T12:00:00+02:00")
    base = _sweep(tmp_path / "base", sha="a" * 40, started="2026-11-02T00:00:00+00:00",
                  commit_date="2026-10-10T12:00:00+02:00")
    unknown = _sweep(tmp_path / "old", sha="c" * 40, started="2026-10-15T00:00:00+00:00")  # an older parbench's
    for folder in (newer, base, unknown):
        assert _history("add", folder, "--db", db) == 0
    with open_store(db, create=False) as store:
        series = store.series()
        infos = store.entries()
    assert [p.commit[0] for p in series[0].points] == ["a", "c", "b"]
    assert series[0].points[0].commit_date == "2026-10-10T10:00:00+00:00"
    assert series[0].points[1].order == series[0].points[1].date == "2026-10-15T00:00:00+00:00"
    assert {i.commit[0]: i.commit_date for i in infos}["c"] == ""
    # a file's commit date: given, kept UTC; re-adding the same data fills it in when it had none
    path = _gbench_file(tmp_path / "r.json", [0.01, 0.02])
    assert _history("add", path, "--commit", "d1", "--machine", "box", "--db", db) == 0
    assert _history("add", path, "--commit", "d1", "--machine", "box", "--commit-date", "2026-01-01T01:00:00+01:00",
                    "--db", db) == 0
    assert "already in" in capsys.readouterr().out.splitlines()[-1]
    assert [i.commit_date for i in _entries(db) if i.commit == "d1"] == ["2026-01-01T00:00:00+00:00"]
    _refused("history add --commit-date", "add", path, "--commit", "d2", "--machine", "box", "--commit-date", "soon",
             "--db", db)
    _refused("drop --commit-date", "add", newer, "--commit-date", "2026-01-01", "--db", db)


def test_a_short_and_a_full_sha_of_one_commit_are_one_point(tmp_path, capsys):
    db, full = tmp_path / "h.sqlite", "0123456789abcdef0123456789abcdef01234567"
    files = [_gbench_file(tmp_path / f"r{i}.json", [0.01 + i / 1000, 0.02]) for i in range(4)]
    assert _history("add", files[0], "--commit", full, "--machine", "box", "--db", db) == 0
    capsys.readouterr()
    assert _history("add", files[1], "--commit", full[:7], "--machine", "box", "--db", db) == 0
    out = capsys.readouterr().out
    assert f"commit 0123456 is stored as {full}" in out and f"added {full[:12]} box" in out
    # the other way round: the stored short name takes the full one
    assert _history("add", files[2], "--commit", "fedcba9876", "--machine", "box", "--db", db) == 0
    assert _history("add", files[3], "--commit", "FEDCBA9876" + "5" * 30, "--machine", "box", "--db", db) == 0
    assert "1 stored entry of commit fedcba9876 now under FEDCBA9876" in capsys.readouterr().out
    # names that are no SHAs are never merged: c1 is no short name of c10
    assert _history("add", files[0], "--commit", "c1", "--machine", "box", "--db", db) == 0
    assert _history("add", files[1], "--commit", "c10", "--machine", "box", "--db", db) == 0
    with open_store(db, create=False) as store:
        [series] = store.series()
    assert sorted(p.commit for p in series.points) == sorted([full, "FEDCBA9876" + "5" * 30, "c1", "c10"])
    assert len(next(p for p in series.points if p.commit == full).real_times) == 4
    # the same data under the short name is the entry already there
    assert _history("add", files[0], "--commit", full[:10], "--machine", "box", "--db", db) == 0
    assert "already in" in capsys.readouterr().out
    assert len(_entries(db)) == 6
    # a short name of two stored commits is refused
    assert _history("add", files[2], "--commit", "0123456f" + "0" * 32, "--machine", "box", "--db", db) == 0
    _refused("names more than one stored commit", "add", files[3], "--commit", "0123456", "--machine", "box",
             "--db", db)


def test_a_folder_renames_the_entries_of_its_short_sha_and_drops_a_duplicate(tmp_path):
    """A file added under a short SHA and then the same data under the full one from elsewhere:
    one entry, under the full SHA."""
    from parbench.history.ingest import from_gbench_file
    db, full = tmp_path / "h.sqlite", "ab" * 20
    path = _gbench_file(tmp_path / "r.json", [0.01, 0.02])
    with open_store(db) as store:
        store.add(from_gbench_file(path, full[:8], "box", None))
        store.add(from_gbench_file(path, full[:12], "box", None))  # the longer short name takes the stored one
        assert [i.commit for i in store.entries()] == [full[:12]]
        notes = []
        assert not store.add(from_gbench_file(path, full, "box", None), notes)
        assert [i.commit for i in store.entries()] == [full] and len(notes) == 1
        folder = _sweep(tmp_path / "sweep", sha=full)
        assert store.add(from_folder(folder))
        assert {i.commit for i in store.entries()} == {full}


def test_list_has_a_header_and_left_out_names_the_dirty_entries(tmp_path, capsys):
    db = tmp_path / "h.sqlite"
    assert _history("add", _sweep(tmp_path / "clean", commit_date="2026-11-28T10:00:00Z"), "--db", db) == 0
    assert _history("add", _sweep(tmp_path / "dirty", sha="d" * 40, dirty=True), "--db", db) == 0
    capsys.readouterr()
    assert _history("list", "--db", db) == 0
    header, clean, dirty, total = capsys.readouterr().out.splitlines()
    assert header.split() == ["date", "commit", "committed", "branch", "machine", "config", "benchmarks", "check",
                              "source"]
    assert header.index("commit ") == clean.index("aaaaaaaaaaaa") and header.index("source") == clean.index("/")
    assert clean.split()[2] == "2026-11-28T10:00:00+00:00" and dirty.split()[2] == "-"
    assert "dddddddddddd+dirty" in dirty and total.startswith("history: 2 entries in")
    with open_store(db, create=False) as store:
        assert [i.commit for i in store.left_out()] == ["d" * 40]
        assert store.left_out("testhost")[0].dirty and store.left_out("nosuch") == []


def test_a_sweep_records_its_commits_date(tmp_path):
    from parbench import envinfo
    repo = tmp_path / "repo"
    repo.mkdir()
    environment = dict(os.environ, GIT_AUTHOR_NAME="a", GIT_AUTHOR_EMAIL="a@b", GIT_COMMITTER_NAME="a",
                       GIT_COMMITTER_EMAIL="a@b", GIT_COMMITTER_DATE="2026-03-04T05:06:07+02:00")
    for command in (["init", "-q"], ["commit", "-q", "--allow-empty", "-m", "x"]):
        subprocess.run(["git", "-C", str(repo), *command], env=environment, check=True)
    assert envinfo.collect(repo, tmp_path, {})["git"]["commit_date"] == "2026-03-04T05:06:07+02:00"
    assert envinfo.collect(tmp_path / "build", tmp_path, {})["git"]["commit_date"] == ""


def _keeping_a_second_connection(monkeypatch, opened):
    """from_folder, during a rebuild, also opens the rebuild's temporary database and keeps it
    open: closing the rebuild's own connection then leaves its pages in the -wal (as a checkpoint
    that fails on a full disk does)."""
    from parbench.history import commands
    real = commands.from_folder

    def reading(folder):
        if not opened:
            [fresh] = [p for p in folder.parent.parent.glob(".h.sqlite.rebuilding-*") if p.name[-4:] not in
                       ("-wal", "-shm")]
            opened.append(sqlite3.connect(fresh))
            opened[0].execute("SELECT count(*) FROM entries").fetchone()
        return real(folder)
    monkeypatch.setattr(commands, "from_folder", reading)


def test_a_rebuild_whose_file_is_not_complete_leaves_the_old_database(tmp_path, monkeypatch):
    results, db = tmp_path / "results", tmp_path / "h.sqlite"
    _sweep(results / "one")
    path = _gbench_file(tmp_path / "run.json", [0.01, 0.02])
    assert _history("add", path, "--commit", "c1", "--machine", "box", "--db", db) == 0
    before = db.read_bytes()
    opened = []
    _keeping_a_second_connection(monkeypatch, opened)
    try:
        # its pages could not all be put in the file: refused, nothing replaced (it used to be
        # replaced by a file without them, and their -wal deleted)
        _refused("not rebuilt (", "rebuild", results, "--db", db)
    finally:
        for connection in opened:
            connection.close()
    assert opened and db.read_bytes() == before and [i.commit for i in _entries(db)] == ["c1"]
    assert not list(tmp_path.glob(".h.sqlite.rebuilding-*"))
    monkeypatch.undo()

    def full(fd):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "fsync", full)  # a full disk when the new file is synced
    _refused("not rebuilt (No space left on device); ", "rebuild", results, "--db", db)
    assert db.read_bytes() == before and not list(tmp_path.glob(".h.sqlite.rebuilding-*"))
    monkeypatch.undo()
    assert _history("rebuild", results, "--db", db) == 0
    assert sorted(i.commit[0] for i in _entries(db)) == ["a", "c"]
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_a_rebuild_locks_out_the_writers_and_keeps_every_damaged_copy(tmp_path, monkeypatch, capsys):
    from parbench.history import commands
    results, db = tmp_path / "results", tmp_path / "h.sqlite"
    _sweep(results / "one")
    monkeypatch.setattr(store_module, "LOCK_SECONDS", 0.1)
    path = _gbench_file(tmp_path / "run.json", [0.01, 0.02])
    seen = []
    real = commands.from_folder

    def adding_meanwhile(folder):  # another `history add` while the rebuild runs: refused, not lost
        with pytest.raises(UserError, match="is being rebuilt; try again"):
            _history("add", path, "--commit", "c1", "--machine", "box", "--db", db)
        seen.append(folder)
        return real(folder)
    monkeypatch.setattr(commands, "from_folder", adding_meanwhile)
    assert _history("rebuild", results, "--db", db) == 0 and seen
    monkeypatch.setattr(commands, "from_folder", real)
    # a writer's open store keeps a rebuild out (it would replace the file under the writer)
    with open_store(db):
        _refused("in use by another history command", "rebuild", results, "--db", db)
    # a damaged copy is never written over: not by a second rebuild, not at a name that exists
    monkeypatch.setattr(commands, "datetime", _FixedClock)
    for number in range(2):
        db.write_bytes(b"damaged %d" % number * 300)
        assert _history("rebuild", results, "--db", db) == 0
    copies = sorted(tmp_path.glob("h.sqlite.damaged-*"))
    assert sorted(copy.read_bytes()[:8] for copy in copies) == [b"damaged ", b"damaged "]
    assert {copy.read_bytes()[:9] for copy in copies} == {b"damaged 0", b"damaged 1"}
    assert "kept as" in capsys.readouterr().out


class _FixedClock:
    """A clock that always says the same microsecond (two rebuilds in one)."""
    @staticmethod
    def now(zone=None):
        from datetime import datetime, timezone
        return datetime(2026, 1, 1, tzinfo=timezone.utc)


def test_rebuild_replaces_only_a_history_database_or_a_damaged_file(tmp_path):
    results = tmp_path / "results"
    _sweep(results / "one")
    foreign = tmp_path / "other.sqlite"
    with sqlite3.connect(foreign) as connection:
        connection.execute("CREATE TABLE accounts (x)")
    newer = tmp_path / "newer.sqlite"
    with sqlite3.connect(newer) as connection:
        connection.execute("PRAGMA user_version = 99")
        connection.execute("CREATE TABLE entries (x)")
    for db, needle in ((foreign, "holding other tables"), (newer, "schema version 99 is newer")):
        before = db.read_bytes()
        _refused(needle, "rebuild", results, "--db", db)
        assert db.read_bytes() == before
    assert not list(tmp_path.glob("*.damaged-*")) and not list(tmp_path.glob(".*rebuilding*"))
    empty = tmp_path / "empty.sqlite"
    empty.touch()  # nothing in it to keep: made the history database
    assert _history("rebuild", results, "--db", empty) == 0 and len(_entries(empty)) == 1


def test_a_folder_without_a_raw_file_it_records_is_not_added(tmp_path, capsys):
    folder, db = _sweep(tmp_path / "sweep"), tmp_path / "h.sqlite"
    state = json.loads((folder / "sweep.json").read_text())
    state["sweep_id"] = "1" * 32
    state["families"].append({"family": "more", "status": "ok", "file": "raw/more.json"})
    (folder / "sweep.json").write_text(json.dumps(state))
    _refused("raw/more.json, recorded by sweep.json, is missing: not added", "add", folder, "--db", db)
    assert not db.exists()
    # the same sweep again with fewer benchmarks replaces its entry, and says so
    state["families"].pop()
    (folder / "sweep.json").write_text(json.dumps(state))
    assert _history("add", folder, "--db", db) == 0
    write_sweep(folder, {("primes", "pool", 1000, 1): [1.0, 1.1, 0.9]})
    env = json.loads((folder / "env.json").read_text())
    (folder / "env.json").write_text(json.dumps({**env, "git": {"sha": "a" * 40, "dirty": False, "branch": "main"}}))
    (folder / "sweep.json").write_text(json.dumps(state))
    capsys.readouterr()
    assert _history("add", folder, "--db", db) == 0
    note, added = capsys.readouterr().out.splitlines()
    assert "replaces the earlier entry of the same sweep (2 benchmarks" in note and "(1 benchmarks, fewer)" in note
    assert added.startswith("history: added") and [i.benchmarks for i in _entries(db)] == [1]


@pytest.mark.parametrize("date", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:00:00-05:00"])
def test_a_date_out_of_range_is_one_line(tmp_path, date):
    db = tmp_path / "h.sqlite"
    path = _gbench_file(tmp_path / "run.json", [0.01, 0.02])
    assert_one_line(run_cli("history", "add", path, "--commit", "c1", "--machine", "box", "--date", date, "--db", db),
                    "is out of range in UTC")
    _refused("context.date", "add", _gbench_file(tmp_path / "r2.json", [0.01], date=date), "--commit", "c1",
             "--machine", "box", "--db", db)
    assert not db.exists()


def test_a_date_more_than_a_day_ahead_is_refused(tmp_path):
    from datetime import datetime, timedelta, timezone
    db = tmp_path / "h.sqlite"
    path = _gbench_file(tmp_path / "run.json", [0.01, 0.02])
    soon = datetime.now(timezone.utc) + timedelta(hours=2)
    later = datetime.now(timezone.utc) + timedelta(days=3)
    _refused("more than a day in the future", "add", path, "--commit", "c1", "--machine", "box",
             "--date", later.isoformat(), "--db", db)
    _refused("more than a day in the future", "add", path, "--commit", "c1", "--machine", "box",
             "--commit-date", later.isoformat(), "--db", db)
    assert _history("add", path, "--commit", "c1", "--machine", "box", "--date", soon.isoformat(), "--db", db) == 0


def test_a_db_that_is_not_a_regular_file_is_refused_and_a_link_to_one_is_fine(tmp_path, capsys):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    path = _gbench_file(tmp_path / "run.json", [0.01, 0.02])
    for verb in (["list"], ["regressions"], ["add", path, "--commit", "c1", "--machine", "box"], ["rebuild"]):
        _refused("not a regular file", *verb, "--db", fifo)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo", "run.json"]  # no fifo-journal, no lock
    real, link = tmp_path / "real.sqlite", tmp_path / "link.sqlite"
    link.symlink_to(real)
    assert _history("add", path, "--commit", "c1", "--machine", "box", "--db", link) == 0
    assert _history("rebuild", _sweep(tmp_path / "results" / "one").parent, "--db", link) == 0
    assert link.is_symlink() and sorted(i.commit[0] for i in _entries(real)) == ["a", "c"]
    assert _history("list", "--db", link) == 0 and "2 entries" in capsys.readouterr().out


def test_the_same_data_with_another_date_or_branch_updates_them(tmp_path, capsys):
    db = tmp_path / "h.sqlite"
    path = _gbench_file(tmp_path / "run.json", [0.01, 0.02])
    assert _history("add", path, "--commit", "c1", "--machine", "box", "--date", "2026-01-01T00:00:00Z",
                    "--branch", "main", "--db", db) == 0
    capsys.readouterr()
    assert _history("add", path, "--commit", "c1", "--machine", "box", "--date", "2026-02-01T00:00:00Z",
                    "--branch", "topic", "--commit-date", "2025-12-31T00:00:00Z", "--db", db) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("history: already in") and "(same data)" in line
    assert "date 2026-01-01T00:00:00+00:00 -> 2026-02-01T00:00:00+00:00" in line and "branch main -> topic" in line
    assert "commit date (none) -> 2025-12-31T00:00:00+00:00" in line
    [info] = _entries(db)
    assert (info.date, info.branch, info.commit_date) == ("2026-02-01T00:00:00+00:00", "topic",
                                                          "2025-12-31T00:00:00+00:00")
    assert _history("add", path, "--commit", "c1", "--machine", "box", "--date", "2026-02-01T00:00:00Z",
                    "--db", db) == 0  # no --branch: the stored one stays
    assert capsys.readouterr().out.strip().endswith("(same data)") and _entries(db)[0].branch == "topic"


def test_the_read_verbs_open_the_database_read_only(tmp_path, monkeypatch, capsys):
    from parbench.history import changepoints, dashboard
    db = tmp_path / "h.sqlite"
    for number in range(2):
        assert _history("add", _gbench_file(tmp_path / f"r{number}.json", [0.01 + number, 0.02]),
                        "--commit", f"c{number}", "--machine", "box", "--db", db) == 0
    assert not (tmp_path / "h.sqlite-wal").exists()  # the last writer folded it in
    db.chmod(0o444)
    before = db.read_bytes()
    monkeypatch.setattr(dashboard, "write_dashboard", lambda series, changes, out, left_out: out / "index.html")
    monkeypatch.setattr(changepoints, "find_regressions", lambda series, alpha: [])
    for verb in (["list"], ["regressions"], ["report", "--out", tmp_path / "site"]):
        assert _history(*verb, "--db", db) == 0
    with open_store(db, create=False) as store:
        assert len(store.entries()) == 2
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            store.db.execute("DELETE FROM entries")  # read-only as SQLite opened it, root or not
    assert db.read_bytes() == before
    # a folder where no -shm can be made: a database without changes in a -wal is read as it is
    monkeypatch.setattr(store_module.sqlite3, "connect", _no_shm(sqlite3.connect))
    assert _history("list", "--db", db) == 0 and "2 entries" in capsys.readouterr().out
    (tmp_path / "h.sqlite-wal").write_bytes(b"changes")  # not without them: refused, not read stale
    _refused("h.sqlite-wal holds changes not yet in the database file", "list", "--db", db)


def _no_shm(connect):
    """sqlite3.connect as in a read-only folder: read-only WAL needs a -shm it cannot make."""
    def connecting(database, *args, **options):
        if "immutable=1" in str(database):
            return connect(database, *args, **options)

        class Refusing:
            def execute(self, *_):
                raise sqlite3.OperationalError("attempt to write a readonly database")

            def close(self):
                pass
        return Refusing()
    return connecting


def test_what_a_killed_rebuild_left_is_removed_by_the_next_write(tmp_path):
    db = tmp_path / "h.sqlite"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    dead_pid = int(dead.stdout)
    left = [tmp_path / f".h.sqlite.rebuilding-{dead_pid}{suffix}" for suffix in ("", "-wal", "-shm")]
    running = tmp_path / f".h.sqlite.rebuilding-{os.getppid()}"  # a rebuild still at work
    for path in (*left, running):
        path.write_bytes(b"x")
    path = _gbench_file(tmp_path / "run.json", [0.01, 0.02])
    assert _history("add", path, "--commit", "c1", "--machine", "box", "--db", db) == 0
    assert not any(p.exists() for p in left) and running.exists()
    left[0].write_bytes(b"x")
    assert _history("rebuild", _sweep(tmp_path / "results" / "one").parent, "--db", db) == 0
    assert not left[0].exists() and running.exists()


def test_the_read_verbs_never_make_a_database_of_an_empty_file(tmp_path):
    db = tmp_path / "h.sqlite"
    db.touch()
    for verb in ("list", "regressions", "report"):
        _refused("not a history database (empty file)", verb, "--db", db)
    assert db.stat().st_size == 0 and sorted(p.name for p in tmp_path.iterdir()) == ["h.sqlite"]
    with sqlite3.connect(db) as connection:  # an SQLite database without tables: the same for a reader
        connection.execute("CREATE TABLE t (x)")
        connection.execute("DROP TABLE t")
    _refused("not a history database (an empty SQLite database)", "list", "--db", db)


def test_times_that_are_not_valid_are_counted_or_refused(tmp_path, capsys):
    db = tmp_path / "h.sqlite"
    path = _gbench_file(tmp_path / "run.json", [0.01, 0.02])
    data = json.loads(path.read_text())
    data["benchmarks"] += [{**entry("work/b", 0.01, index), "real_time": value}
                           for index, value in enumerate([float("nan"), -1.0])]
    path.write_text(json.dumps(data))
    assert _history("add", path, "--commit", "c1", "--machine", "box", "--db", db) == 0
    assert "(2 benchmarks, 1 without a valid time (failed, or no valid time))" in capsys.readouterr().out
    for name, seconds in (("nan", float("nan")), ("inf", float("inf")), ("negative", -0.5)):
        bad = _gbench_file(tmp_path / f"{name}.json", [seconds, seconds])
        _refused("none of its 1 benchmarks has a valid time", "add", bad, "--commit", "c2", "--machine", "box",
                 "--db", db)
    assert len(_entries(db)) == 1
