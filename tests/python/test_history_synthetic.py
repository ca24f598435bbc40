"""The issue's "done when", end to end through the command line: synthetic Google Benchmark files
of 14 commits on two machines, added one by one with `history add FILE.json --commit --machine
--date --db`, then `history regressions`: the +12% step in 2% noise is the one line, at its
commit on its machine; a one-commit +25% spike, a stable series and the other machine's level
are not reported. `--fail-on-latest` fails only for a regression that begins at the newest
commit; `--fail-since REV` for one that begins after REV, also once a later commit confirmed it.
And history_synthetic.py's --write writes the case its options describe."""
import re

from history_synthetic import Bench, commit_names, done_when_benchmarks, write_series
from support import run_cli


def _add_all(written: list[dict], db) -> None:
    for row in written:
        result = run_cli("history", "add", row["file"], "--commit", row["commit"], "--machine", row["machine"],
                         "--date", row["date"], "--db", db)
        assert result.returncode == 0, (row, result.stdout, result.stderr)


def _change_lines(result) -> list[str]:
    return [line for line in result.stdout.splitlines() if line.strip() and not line.startswith("history:")]


def test_a_12_percent_step_is_the_one_change_reported(tmp_path):
    commits = commit_names(14)
    db = tmp_path / "history.sqlite"
    _add_all(write_series(tmp_path / "json", ["alpha", "beta"], commits, done_when_benchmarks(), seed=1), db)
    result = run_cli("history", "regressions", "--db", db)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, result.stdout
    benchmark, machine, commit, percent = lines[0].split()[:4]
    assert (benchmark, machine) == ("BM_Step/64", "alpha")
    assert commits[7].startswith(commit) and len(commit) >= 7
    assert 9.0 < float(percent.rstrip("%")) < 15.0, lines[0]
    low, high = (float(x) for x in re.search(r"\[([-+\d.]+)%, ([-+\d.]+)%\]", lines[0]).groups())
    assert 0 < low < 12.0 < high, lines[0]
    # the step is at commit 7 of 14: nothing begins at the newest commit
    assert run_cli("history", "regressions", "--db", db, "--fail-on-latest").returncode == 0
    beta = run_cli("history", "regressions", "--db", db, "--machine", "beta")
    assert beta.returncode == 0 and _change_lines(beta) == [], beta.stdout


def test_fail_on_latest_fails_for_a_regression_at_the_newest_commit_only(tmp_path):
    commits = commit_names(6)
    benchmarks = [Bench("BM_Slower/8", {"gamma": 1e-3}, steps={"gamma": {5: 1.15}}),
                  Bench("BM_Faster/8", {"gamma": 4e-3}, steps={"gamma": {5: 0.85}})]
    db = tmp_path / "history.sqlite"
    _add_all(write_series(tmp_path / "json", ["gamma"], commits, benchmarks, seed=2), db)
    failing = run_cli("history", "regressions", "--db", db, "--fail-on-latest")
    assert failing.returncode == 1, (failing.stdout, failing.stderr)
    lines = _change_lines(failing)
    assert len(lines) == 2 and all(commits[5].startswith(line.split()[2]) for line in lines), failing.stdout
    slower = next(line for line in lines if line.startswith("BM_Slower/8 gamma"))
    assert slower.split()[3].startswith("+")
    # a speed-up at the newest commit is reported but fails nothing; without the flag nothing fails
    faster = run_cli("history", "regressions", "--db", db, "--benchmark", "Faster", "--fail-on-latest")
    assert faster.returncode == 0 and len(_change_lines(faster)) == 1, faster.stdout
    assert _change_lines(faster)[0].split()[3].startswith("-")
    assert run_cli("history", "regressions", "--db", db).returncode == 0


def _add_in_process(written: list[dict], db) -> None:
    from parbench.__main__ import run
    for row in written:
        assert run(["history", "add", row["file"], "--commit", row["commit"], "--machine", row["machine"],
                    "--date", row["date"], "--db", str(db)]) == 0


def test_fail_since_stops_a_step_that_the_next_commit_confirmed(tmp_path, capsys):
    """A +15% step at commit 12 of 14: its commit is no longer the newest, so --fail-on-latest
    passes; --fail-since the commit before it (the last push's tip) fails, since its own commit passes."""
    from parbench.__main__ import run
    commits = commit_names(14)
    benchmarks = [Bench("BM_Late/8", {"delta": 1e-3}, steps={"delta": {12: 1.15}}),
                  Bench("BM_Calm/8", {"delta": 2e-3})]
    db = str(tmp_path / "history.sqlite")
    _add_in_process(write_series(tmp_path / "json", ["delta"], commits, benchmarks, seed=3), db)
    capsys.readouterr()
    assert run(["history", "regressions", "--db", db, "--fail-on-latest"]) == 0
    [line] = [line for line in capsys.readouterr().out.splitlines() if not line.startswith("history:")]
    assert line.startswith(f"BM_Late/8 delta {commits[12][:12]} +") and "provisional" not in line, line
    assert re.search(r"\(\d+(\.\d+)?% interval; p(<0\.001|=[\d.e-]+), bootstrap test beyond the noise band, "
                     r"Holm over \d+ candidates\)$", line), line
    assert run(["history", "regressions", "--db", db, "--fail-since", commits[11]]) == 1
    assert "1 slowdown(s) begin after" in capsys.readouterr().err
    assert run(["history", "regressions", "--db", db, "--fail-since", commits[12][:10]]) == 0


def test_the_script_writes_the_case_its_options_describe(tmp_path, capsys):
    import json

    import numpy as np
    import pytest
    from history_synthetic import main
    assert main(["--write", str(tmp_path), "--machines", "a,b", "--commits", "6", "--bench", "BM_y:0.002",
                 "--step", "BM_x:a:3:1.5", "--spike", "BM_x:b:2:2.0"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 12 and all(len(row) == 4 for row in rows)

    def median(machine, commit, name):
        path = next(row[0] for row in rows if row[2] == machine and row[1] == commit_names(6)[commit])
        data = json.loads(open(path).read())
        return np.median([b["real_time"] for b in data["benchmarks"] if b["name"] == name
                          and b["run_type"] == "iteration"]) / 1e9

    assert median("a", 0, "BM_x") == pytest.approx(1e-3, rel=0.05)
    assert median("a", 4, "BM_x") == pytest.approx(1.5e-3, rel=0.05)  # the step lasts
    assert median("b", 2, "BM_x") == pytest.approx(3e-3, rel=0.05)    # b's level x1.5, the spike x2
    assert median("b", 3, "BM_x") == pytest.approx(1.5e-3, rel=0.05)  # the spike was that commit only
    assert median("b", 0, "BM_y") == pytest.approx(3e-3, rel=0.05)
    for bad in (["--write", str(tmp_path), "--step", "BM_x:a:3"], ["--write", str(tmp_path), "--step", "BM_x:zz:1:2"],
                ["--commits", "5"]):
        with pytest.raises(SystemExit) as refused:
            main(bad)
        assert refused.value.code == 2
