"""./parbench ci without real builds: a throw-away git repository whose commits differ in a
stand-in benchmark binary's cost, built by a stub builder and planned by a stub planner; the
rounds, the pooling, the verdict, the report and the clean-up are the real ones."""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

from support import ROOT, assert_one_line, cli

from parbench import UserError
from parbench.ci import command, rounds
from parbench.ci.sides import BASE, HEAD, SidePlan
from parbench.ci.worktrees import WORKTREE_PREFIX, BuildFailed
from parbench.compare import compare
from parbench.gbench import load_results
from parbench.runner.family import Family
from parbench.runner.tracks import Tracks
from parbench.state import result_files

TINY = """
[sweep]
size = "small"
workloads = ["primes"]
models = ["serial", "pool"]
workers = [1, 2]
repetitions = 5
min_time = 0.01
family_timeout = 60
primitives = []
affinity = ["none"]
numa = ["first_touch"]
python = ""
"""

# Stands in for parbench_bench: Google Benchmark JSON for the family its filter names, at p = 1
# and 2, each time 10 ms / p with 1% jitter (the same on both sides: seeded by the round, which
# the output file's name holds); primes/pool at p = 2 takes the factor in the worktree's cost.txt
# ("fail": its verification fails, exit 1).
STUB = """#!{python}
import json, random, re, sys
from pathlib import Path
options = dict(a.split("=", 1) for a in sys.argv[1:] if a.startswith("--benchmark_") and "=" in a)
cost = (Path(__file__).resolve().parents[2] / "cost.txt").read_text().strip()
family = options["--benchmark_filter"][1:].split("(/|$)")[0]
repetitions = int(options["--benchmark_repetitions"])
round_number = re.search(r"round(\\d+)", options["--benchmark_out"]).group(1)
failing = cost == "fail" and family == "primes/pool"
entries = []
for p in (1, 2):
    name = f"{{family}}/n:1000/p:{{p}}/process_time/real_time"
    if cost == "undecided":  # 30% slower in rounds 2-4 only: a noisy start that more rounds settle
        factor = 1.3 if family == "primes/pool" and p == 2 and round_number in ("2", "3", "4") else 1.0
    else:
        factor = float(cost) if family == "primes/pool" and p == 2 and not failing else 1.0
    for index in range(repetitions):
        entry = {{"name": name, "run_name": name, "run_type": "iteration", "repetitions": repetitions,
                 "repetition_index": index, "threads": 1, "iterations": 10, "time_unit": "ms"}}
        if failing:
            entry.update(error_occurred=True, error_message="verification failed")
        else:
            jitter = random.Random(f"{{family}} {{round_number}} {{p}} {{index}}").uniform(0.99, 1.01)
            time = 10.0 / p * factor * jitter
            entry.update(real_time=time, cpu_time=time)
        entries.append(entry)
Path(options["--benchmark_out"]).write_text(json.dumps({{"context": {{"stub": True}}, "benchmarks": entries}}))
sys.exit(1 if failing else 0)
"""


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args], cwd=repo,
                          check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path):
    """A repository of three commits: cost 1.0, cost 1.2 (primes/pool at p = 2 20% slower), and a
    failing verification. Returns (path, {name: sha})."""
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "--quiet")
    commits = {}
    for name, cost in (("same", "1.0"), ("slower", "1.2"), ("fail", "fail"), ("undecided", "undecided")):
        (path / "cost.txt").write_text(cost + "\n")
        git(path, "add", "cost.txt")
        git(path, "commit", "--quiet", "-m", name)
        commits[name] = git(path, "rev-parse", "HEAD")
    return path, commits


def stub_builder(side: str, root: Path, log: Path) -> Path:
    binary = root / "build" / "release" / "parbench_bench"
    binary.parent.mkdir(parents=True)
    binary.write_text(STUB.format(python=sys.executable))
    binary.chmod(0o755)
    log.write_text("stub build\n")
    return binary


def stub_planner(extra_on_head: bool = False):
    def plan(config, side, calibrations):
        families = [Family("primes/serial", False, 2), Family("primes/pool", False, 2)]
        if extra_on_head and side.name == HEAD:
            families.append(Family("primes/new_model", False, 2))
        tracks = Tracks({"": side.binary}, {"": []}, {"": dict(os.environ)})
        return SidePlan(families, tracks, config, {"spin_iters_per_us": 100.0, "hardware_threads": 2})
    return plan


def arguments(tmp_path, base: str, head: str, **changes) -> argparse.Namespace:
    config = tmp_path / "tiny.toml"
    config.write_text(TINY)
    values = dict(base=base, head=head, config=str(config), threshold=5.0, rounds=5, out=str(tmp_path / "out"),
                  db=None)
    values.update(changes)
    return argparse.Namespace(**values)


def worktree_state(repo: Path) -> tuple[str, list[str]]:
    """The repository's worktrees and this process's temporary worktree folders."""
    mine = [p.name for p in Path(tempfile.gettempdir()).glob(f"{WORKTREE_PREFIX}{os.getpid()}-*")]
    return git(repo, "worktree", "list", "--porcelain"), mine


def test_schedule_alternates_the_side_that_goes_first():
    families = [Family(f"w/m{index}", False, 1) for index in range(3)]
    steps = rounds.schedule(4, families)
    assert [step.round for step in steps] == [1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]
    for family in families:
        orders = [step.order for step in steps if step.family is family]
        assert orders[0::2] == [orders[0]] * 2 and orders[1::2] == [orders[0][::-1]] * 2  # AB, BA, AB, BA
    for number in range(1, 5):  # neighbouring families start on opposite sides
        firsts = [step.order[0] for step in steps if step.round == number]
        assert all(a != b for a, b in zip(firsts, firsts[1:]))
    assert sum(step.order[0] == BASE for step in steps) == sum(step.order[0] == HEAD for step in steps)


@pytest.mark.parametrize("repetitions, count, expected", [(5, 5, 1), (10, 3, 4), (2, 2, 2), (1, 1, 3)])
def test_repetitions_spread_over_the_rounds(repetitions, count, expected):
    assert rounds.repetitions_per_round(repetitions, count) == expected


def test_a_slowdown_on_head_fails_and_the_report_names_it(repo, tmp_path, capsys):
    path, commits = repo
    before = worktree_state(path)
    args = arguments(tmp_path, commits["same"], commits["slower"])
    assert command.run_ci(args, path, stub_builder, stub_planner()) == 1
    out = Path(args.out)
    report = (out / "ci_report.md").read_text()
    assert "FAIL: 1 significant slowdown(s) above 5%" in report
    change = re.search(r"worst: primes/pool/n:1000/p:2 \+(\d+\.\d)%", report)
    assert change and change.group(1) == "20.0", report
    assert report.count("| tie |") == 3  # the other benchmarks: ties, said so
    summary = json.loads((out / "ci.json").read_text())
    assert summary["exit"] == 1 and summary["repetitions_per_round"] == 1
    # each side is a results folder compare reads, every round's repetition pooled
    results = load_results(result_files(out / HEAD))
    assert {len(run.real_times) for run in results.runs.values()} == {5}
    assert compare(out / BASE, out / HEAD, fail_on_regression=5) == 1
    assert worktree_state(path) == before
    assert "ci: FAIL" in capsys.readouterr().out


def test_an_undecided_slowdown_gets_more_rounds_of_its_family(repo, tmp_path, capsys):
    """Head's rounds 2-4 are 30% slower on one benchmark: after 5 rounds its median is above the
    threshold and not significant; 5 more rounds of that family alone bring it back to a tie."""
    path, commits = repo
    args = arguments(tmp_path, commits["same"], commits["undecided"])
    assert command.run_ci(args, path, stub_builder, stub_planner()) == 0
    out = capsys.readouterr().out
    assert "not decided: 5 more rounds of primes/pool" in out and "ci: PASS" in out, out
    summary = json.loads((Path(args.out) / "ci.json").read_text())
    assert summary["extra_rounds"] == {"primes/pool": 5}
    runs = load_results(result_files(Path(args.out) / HEAD)).runs
    assert sorted({len(run.real_times) for run in runs.values()}) == [5, 10]  # primes/serial kept its 5
    assert "primes/pool: 5 more rounds" in (Path(args.out) / "ci_report.md").read_text()


def test_identical_sides_pass(repo, tmp_path):
    path, commits = repo
    args = arguments(tmp_path, commits["same"], commits["same"])
    assert command.run_ci(args, path, stub_builder, stub_planner()) == 0
    report = (Path(args.out) / "ci_report.md").read_text()
    assert "**PASS: no significant slowdown above 5%" in report and "A/A run" in report
    assert report.count("| tie |") == 4


def test_a_family_failing_on_head_only_fails_and_one_side_families_are_skipped(repo, tmp_path):
    path, commits = repo
    args = arguments(tmp_path, commits["same"], commits["fail"], rounds=3)
    assert command.run_ci(args, path, stub_builder, stub_planner(extra_on_head=True)) == 1
    out = Path(args.out)
    report = (out / "ci_report.md").read_text()
    assert "failed on head but not on base: primes/pool" in report
    assert "## Only on head (not run)\n\n- primes/new_model" in report
    assert not (out / HEAD / "rounds" / "primes__new_model.round1.json").exists()
    # a family that failed is not run again in later rounds
    assert sorted(p.name for p in (out / HEAD / "rounds").glob("primes__pool.*")) == ["primes__pool.round1.json"]


@pytest.mark.parametrize("failure", [BuildFailed("ci: building head failed: stub"), KeyboardInterrupt()])
def test_worktrees_are_removed_after_a_failed_or_interrupted_build(repo, tmp_path, failure, capsys):
    path, commits = repo
    before = worktree_state(path)

    def builder(side, root, log):
        assert root.is_dir() and (root / "cost.txt").exists()
        if side == HEAD:
            raise failure
        return stub_builder(side, root, log)
    args = arguments(tmp_path, commits["same"], commits["slower"])
    if isinstance(failure, BuildFailed):
        assert command.run_ci(args, path, builder, stub_planner()) == 1
        assert "building head failed" in capsys.readouterr().err
    else:
        with pytest.raises(KeyboardInterrupt):
            command.run_ci(args, path, builder, stub_planner())
    assert worktree_state(path) == before


def test_db_stores_both_sides(repo, tmp_path):
    pytest.importorskip("parbench.history.ingest")
    from parbench.history.store import open_store
    path, commits = repo
    db = tmp_path / "history.sqlite"
    args = arguments(tmp_path, commits["same"], commits["slower"], rounds=3, db=str(db))
    assert command.run_ci(args, path, stub_builder, stub_planner()) == 1
    with open_store(db, create=False) as store:
        assert sorted(entry.commit for entry in store.entries()) == sorted([commits["same"], commits["slower"]])


@pytest.mark.parametrize("args, needle", [
    (["--base", "no-such-revision-xyz"], "ci --base no-such-revision-xyz: names no commit"),
    (["--base", "HEAD", "--head=-x"], "ci --head '-x': not a revision"),
    (["--base", "HEAD", "--rounds", "0"], "ci --rounds: 0"),
    (["--base", "HEAD", "--threshold", "nan"], "ci --threshold: nan"),
])
def test_bad_input_is_one_line(args, needle, tmp_path):
    assert_one_line(cli("ci", *args, "--out", tmp_path / "out"), needle)
    assert not (tmp_path / "out").exists()


def test_a_db_that_is_no_history_database_is_refused_before_anything_runs(repo, tmp_path):
    path, commits = repo
    db = tmp_path / "other.sqlite"
    db.write_bytes(b"not a database at all, some other file" * 100)
    args = arguments(tmp_path, commits["same"], commits["slower"], db=str(db))
    with pytest.raises(UserError, match="ci --db"):
        command.run_ci(args, path, stub_builder, stub_planner())
    assert not Path(args.out).exists() or not any(Path(args.out).iterdir())


def test_a_full_out_folder_is_refused(tmp_path):
    (tmp_path / "mine.txt").write_text("the user's")
    assert_one_line(cli("ci", "--base", "HEAD", "--out", tmp_path), "not empty")


def test_the_workflow_is_valid_and_runs_ci_against_the_merge_base():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "parbench.yml").read_text())
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert "pull_request" in triggers and triggers["push"]["branches"] == ["main"]
    compare_job, history_job = workflow["jobs"]["parbench"], workflow["jobs"]["history"]
    for job in (compare_job, history_job):
        steps = job["steps"]
        checkout = next(s for s in steps if s.get("uses", "").startswith("actions/checkout@"))
        assert checkout["with"]["fetch-depth"] == 0
        assert any(s.get("uses", "").startswith("actions/cache/restore@") for s in steps)
        assert any(s.get("uses", "").startswith("actions/cache/save@") for s in steps)
        upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact@"))
        assert "results/history.sqlite" in upload["with"]["path"] and upload.get("if") == "always()"
        assert "scripts/install-deps" in "\n".join(s.get("run", "") for s in steps)
        assert 0 < job.get("timeout-minutes", 0) <= 45
    runs = "\n".join(s.get("run", "") for s in compare_job["steps"])
    assert "git merge-base" in runs
    assert "./parbench ci --base" in runs and "--db results/history.sqlite" in runs
    history_runs = "\n".join(s.get("run", "") for s in history_job["steps"])
    assert history_job["if"] == "github.event_name == 'push'" and history_job["needs"] == "parbench"
    assert "./parbench sweep --config quick" in history_runs
    assert './parbench history regressions --fail-since "$BEFORE"' in history_runs
    assert workflow["env"]["PARBENCH_MACHINE"]  # runners are a new VM each job: one named series


def test_a_tie_whose_interval_reaches_past_the_threshold_is_said_so():
    from parbench.ci import verdict
    tight = {"name": "a", "ratio": 1.0, "ci": [0.99, 1.01], "significant": False, "confidence": 0.95}
    wide = {"name": "b", "ratio": 0.998, "ci": [0.98, 1.167], "significant": False, "confidence": 0.95}
    assert verdict._row_verdict(tight, 5.0) == "tie"
    assert verdict._row_verdict(wide, 5.0) == "tie (a slowdown up to +16.7% not ruled out)"
    assert verdict._percent(0.9996) == "+0.0%" and verdict._percent(1.0004) == "+0.0%"
