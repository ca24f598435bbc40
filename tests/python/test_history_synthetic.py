"""The issue's "done when", end to end through the command line: synthetic Google Benchmark files
of 14 commits on two machines, added one by one with `history add FILE.json --commit --machine
--date --db`, then `history regressions`: the +12% step in 2% noise is the one line, at its
commit on its machine; a one-commit +25% spike, a stable series and the other machine's level
are not reported. `--fail-on-latest` fails only for a regression that begins at the newest
commit."""
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
