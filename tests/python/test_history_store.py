"""The history database: adding folders and files (once each), check's verdicts, bad input, a
damaged database and its rebuild, two writers at once, schema migrations and series."""
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


def _sweep(directory, sha="a" * 40, started="2026-11-29T10:00:00+00:00", runs=None, dirty=False, **options):
    """A synthetic sweep's folder that records the commit it measured (env.json "git")."""
    write_sweep(directory, runs or RUNS, started=started, **options)
    env = json.loads((directory / "env.json").read_text())
    env["git"] = {"sha": sha, "dirty": dirty, "branch": "main"}
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


def test_a_folder_refuses_file_flags_and_a_file_of_aggregates_only_is_refused(tmp_path):
    folder, db = _sweep(tmp_path / "sweep"), tmp_path / "h.sqlite"
    _refused("drop --commit", "add", folder, "--commit", "c1", "--db", db)
    aggregates = tmp_path / "aggregates.json"
    aggregates.write_text(json.dumps({"context": CONTEXT, "benchmarks": [
        {**entry("work/a", 0.01, 0), "run_type": "aggregate", "aggregate_name": "mean"}]}))
    _refused("no benchmark repetitions", "add", aggregates, "--commit", "c", "--machine", "m", "--db", db)
    _refused("no history database at", "list", "--db", db)
    _refused("no history database at", "regressions", "--db", db)


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
    assert len(list(tmp_path.glob("h.sqlite*"))) == 2  # the database and the damaged one: nothing else left


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

    monkeypatch.setattr(store_module, "MIGRATIONS", [*store_module.MIGRATIONS, v2_note])
    with open_store(db) as store:
        assert len(store.entries()) == 1
        assert store.db.execute("PRAGMA user_version").fetchone()[0] == 2
        assert store.db.execute("SELECT note FROM entries").fetchall() == [("",)]


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


def test_regressions_prints_one_line_per_change_and_fails_on_the_newest_commit(tmp_path, monkeypatch, capsys):
    from parbench.history import changepoints
    from parbench.history.records import Change
    db = tmp_path / "h.sqlite"
    for index in range(3):
        path = _gbench_file(tmp_path / f"r{index}.json", [0.01 * (1 + index), 0.011])
        assert _history("add", path, "--commit", f"c{index}", "--machine", "box", "--db", db,
                        "--date", f"2026-01-0{index + 1}") == 0
    capsys.readouterr()
    found = []

    def changes_at(commit, ratio):
        def find(series, alpha):
            found.append((len(series), alpha))
            return [Change(benchmark=series[0].benchmark, machine="box", commit=commit, index=1, ratio=ratio,
                           ci=(ratio - 0.01, ratio + 0.02), p_value=0.001, p_adjusted=0.004, before=1, after=2)]
        return find

    monkeypatch.setattr(changepoints, "find_regressions", changes_at("c1", 1.12))
    assert _history("regressions", "--db", db, "--fail-on-latest", "--alpha", "0.1") == 0  # not the newest
    assert capsys.readouterr().out == "work/a/process_time/real_time box c1 +12.0% [+11.0%, +14.0%] (p_holm=0.004)\n"
    assert found == [(1, 0.1)]
    monkeypatch.setattr(changepoints, "find_regressions", changes_at("c2", 0.9))
    assert _history("regressions", "--db", db, "--fail-on-latest") == 0  # faster: no failure
    monkeypatch.setattr(changepoints, "find_regressions", changes_at("c2", 1.2))
    assert _history("regressions", "--db", db) == 0
    assert _history("regressions", "--db", db, "--fail-on-latest") == 1
    _refused("not a significance level", "regressions", "--db", db, "--alpha", "0.7")
    monkeypatch.setattr(changepoints, "find_regressions", lambda series, alpha: [])
    capsys.readouterr()
    assert _history("regressions", "--db", db, "--benchmark", "^nothing") == 0
    assert capsys.readouterr().out == "history: no change found in 0 series\n"


def test_report_hands_the_series_and_their_changes_to_the_dashboard(tmp_path, monkeypatch, capsys):
    from parbench.history import changepoints, dashboard
    db = tmp_path / "h.sqlite"
    assert _history("add", _gbench_file(tmp_path / "r.json", [0.01, 0.02]), "--commit", "c", "--machine", "box",
                    "--db", db) == 0
    given = []
    monkeypatch.setattr(changepoints, "find_regressions", lambda series, alpha: ["a change"])
    monkeypatch.setattr(dashboard, "write_dashboard",
                        lambda series, changes, out: given.append((series, changes, out)) or out / "index.html")
    assert _history("report", "--db", db, "--out", tmp_path / "site") == 0
    [(series, changes, out)] = given
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
