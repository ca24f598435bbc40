"""./parbench export DIR --format gbench: a sweep's raw files as one Google Benchmark JSON that
Google Benchmark's tools/compare.py reads (and parbench's own reader reads back alike)."""
import json
import os
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from parbench.gbench import load_file, load_results
from parbench.state import result_files
from support import DATA, assert_one_line, run_cli
from synthetic import entry, write_sweep

# What compare.py (tools/gbench/util.py and report.py) reads of every entry: the name it pairs
# entries on, the run_name its filter matches, the indices it sorts by, the run type that tells
# aggregates apart, and the times and their unit it compares.
COMPARE_KEYS = ("name", "run_name", "run_type", "family_index", "per_family_instance_index", "real_time",
                "cpu_time", "time_unit")
GBENCH_CONTEXT_KEYS = ("date", "host_name", "num_cpus", "mhz_per_cpu", "caches", "library_build_type")


@pytest.fixture
def sweep(tmp_path):
    """A sweep of three raw files: a synthetic one, a real one (aggregates, an error row, NaN
    counters) and a weak-scaling one whose p = 1 run has the name of a strong-scaling run."""
    runs = {("primes", "pool", 1000, 1): [0.010, 0.011, 0.012], ("primes", "pool", 1000, 2): [0.006, 0.0061, 0.0059]}
    directory = write_sweep(tmp_path / "sweep", runs)
    shutil.copy(DATA / "gbench_small.json", directory / "raw" / "small.json")
    weak = [entry(f"primes/pool/n:{1000 * p}/p:{p}", 0.010 + 0.001 * index, index, weak_base_n=1000)
            for p in (1, 2) for index in range(3)]
    context = json.loads((directory / "raw" / "all.json").read_text())["context"]
    (directory / "raw" / "primes__pool__weak.json").write_text(json.dumps({"context": context, "benchmarks": weak}))
    state = json.loads((directory / "sweep.json").read_text())
    state["families"] += [{"family": "small", "status": "ok", "file": "raw/small.json"},
                          {"family": "primes/pool", "status": "ok", "file": "raw/primes__pool__weak.json",
                           "weak": True}]
    (directory / "sweep.json").write_text(json.dumps(state))
    env = json.loads((directory / "env.json").read_text())
    env["git"] = {"sha": "0123456789abcdef0123456789abcdef01234567", "dirty": False}
    (directory / "env.json").write_text(json.dumps(env))
    return directory


def exported(directory: Path) -> dict:
    result = run_cli("export", directory, "--format", "gbench")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_every_entry_of_every_file_once_with_unique_indices(sweep):
    document = exported(sweep)
    files = result_files(sweep)
    assert len(files) == 3
    assert len(document["benchmarks"]) == sum(len(load_file(path)[1]) for path in files)
    # one (family_index, per_family_instance_index) per benchmark instance, and the other way round
    runs_of, pairs_of = defaultdict(set), defaultdict(set)
    for item in document["benchmarks"]:
        pair = (item["family_index"], item["per_family_instance_index"])
        runs_of[pair].add(item["run_name"])
        pairs_of[item["run_name"]].add(pair)
    assert all(len(runs) == 1 for runs in runs_of.values()), runs_of
    assert all(len(pairs) == 1 for pairs in pairs_of.values()), pairs_of
    assert len(runs_of) == 2 + 9 + 2  # synthetic, the real file's nine instances (one an error row), weak


def test_context_keeps_google_benchmarks_keys_and_adds_provenance(sweep):
    context = exported(sweep)["context"]
    first = load_file(result_files(sweep)[0])[0]
    for key in GBENCH_CONTEXT_KEYS:
        assert context[key] == first[key], key
    assert context["parbench_commit"] == "0123456789abcdef0123456789abcdef01234567"
    assert context["parbench_dirty"] == "no"
    assert context["parbench_config"] == "tiny"
    assert context["parbench_machine"] == "testhost"
    assert context["parbench_files"] == 3
    assert context["category:matmul"] == "cpu"  # only the real file's context has it


def test_read_back_gives_the_same_runs_and_repetitions(sweep, tmp_path):
    out = tmp_path / "out" / "sweep.json"
    result = run_cli("export", sweep, "--format", "gbench", "--out", out)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.parent.iterdir()) == ["sweep.json"]  # no temporary file left
    original = load_results(result_files(sweep)).runs
    back = load_results([out]).runs

    def renamed(key: str) -> str:  # a weak run's name carries scaling:weak in the export
        name, weak, _ = key.partition("|weak")
        return name.replace("/process_time", "/scaling:weak/process_time") + "|weak" if weak else key

    assert sorted(back) == sorted(renamed(key) for key in original)
    for key, run in original.items():
        copy = back[renamed(key)]
        assert (copy.real_times, copy.cpu_times, copy.errors, copy.weak) == \
            (run.real_times, run.cpu_times, run.errors, run.weak), key


def test_a_weak_run_is_named_apart_from_the_strong_run_of_its_name(sweep):
    names = {item["name"] for item in exported(sweep)["benchmarks"]}
    assert "primes/pool/n:1000/p:1/process_time/real_time" in names
    assert "primes/pool/n:1000/p:1/scaling:weak/process_time/real_time" in names


def test_every_entry_has_what_compare_py_reads(sweep):
    document = exported(sweep)
    for item in document["benchmarks"]:
        missing = [key for key in COMPARE_KEYS if key not in item]
        assert not missing, (item["name"], missing)
        assert item["run_type"] in ("iteration", "aggregate")
        if item["run_type"] == "aggregate":
            assert item["aggregate_name"] and item["name"] == item["run_name"] + "_" + item["aggregate_name"]
        else:
            assert isinstance(item["repetition_index"], int) and isinstance(item["repetitions"], int)
    # compare.py pairs entries by name and keeps those of the first entry's time unit
    units = defaultdict(set)
    for item in document["benchmarks"]:
        units[item["name"]].add(item["time_unit"])
    assert all(len(unit) == 1 for unit in units.values())


def test_google_benchmarks_compare_py_reads_two_exports(sweep, tmp_path):
    """Runs tools/compare.py when GBENCH_COMPARE_PY names it (Debian's libbenchmark-dev does not
    ship it): the sweep against itself, every benchmark compared, no change."""
    script = os.environ.get("GBENCH_COMPARE_PY")
    if not script or not Path(script).is_file():
        pytest.skip("GBENCH_COMPARE_PY does not name Google Benchmark's tools/compare.py")
    for name in ("a.json", "b.json"):
        assert run_cli("export", sweep, "--format", "gbench", "--out", tmp_path / name).returncode == 0
    result = subprocess.run([sys.executable, script, "--no-color", "benchmarks", tmp_path / "a.json",
                             tmp_path / "b.json"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "primes/pool/n:1000/p:1/scaling:weak/process_time/real_time" in result.stdout
    assert "+0.0000" in result.stdout


def test_bad_input_is_one_line(sweep, tmp_path):
    file = tmp_path / "file.txt"
    file.write_text("x")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_one_line(run_cli("export", file, "--format", "gbench"), "not a directory")
    assert_one_line(run_cli("export", tmp_path / "missing", "--format", "gbench"), "no such directory")
    assert_one_line(run_cli("export", empty, "--format", "gbench"), "no Google Benchmark JSON files")
    assert_one_line(run_cli("export", sweep, "--format", "csv"), "--format")
    assert_one_line(run_cli("export", sweep, "--format", "gbench", "--out", empty), "is a folder")
    assert list(empty.iterdir()) == []
