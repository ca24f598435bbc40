"""./parbench export DIR --format gbench: a sweep's raw files as one Google Benchmark JSON that
Google Benchmark's tools/compare.py reads (and parbench's own reader reads back alike)."""
import json
import os
import shutil
import stat
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
    out.parent.mkdir()
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
    assert_one_line(run_cli("export", empty, "--format", "gbench"), "not a results folder: no sweep.json")
    assert_one_line(run_cli("export", sweep, "--format", "csv"), "--format")
    assert_one_line(run_cli("export", sweep, "--format", "gbench", "--out", empty), "is a folder")
    assert list(empty.iterdir()) == []
    # a missing folder for --out is refused, not made
    assert_one_line(run_cli("export", sweep, "--format", "gbench", "--out", tmp_path / "nodir" / "x.json"),
                    f"no such folder {tmp_path / 'nodir'}")
    assert not (tmp_path / "nodir").exists()


def test_a_folder_that_is_no_sweeps_is_refused_before_its_files_are_read(tmp_path):
    """A folder of other JSON (raw files copied out, notes): one line saying what it is not,
    not an error about whichever file came first."""
    folder = tmp_path / "files"
    (folder / "raw").mkdir(parents=True)
    (folder / "raw" / "a.json").write_text("garbage")
    (folder / "notes.json").write_text('{"a": 1}')
    assert_one_line(run_cli("export", folder, "--format", "gbench"), f"{folder}: not a results folder: no sweep.json")


def test_a_damaged_raw_file_of_a_sweep_is_named(sweep):
    (sweep / "raw" / "small.json").write_text("garbage")
    assert_one_line(run_cli("export", sweep, "--format", "gbench"), "small.json")


def _record(directory: Path, name: str, benchmarks: list[dict]) -> None:
    """A raw file added to the sweep as a finished family's."""
    context = json.loads((directory / "raw" / "all.json").read_text())["context"]
    (directory / "raw" / name).write_text(json.dumps({"context": context, "benchmarks": benchmarks}))
    state = json.loads((directory / "sweep.json").read_text())
    state["families"].append({"family": name, "status": "ok", "file": f"raw/{name}"})
    (directory / "sweep.json").write_text(json.dumps(state))


def test_a_benchmark_in_two_raw_files_is_refused(sweep):
    """Another commit's file copied into the sweep: pooled, two runs' repetitions would look like one
    run's (compare refuses it alike)."""
    copied = [entry("primes/pool/n:1000/p:2", 0.007, index) for index in range(3)]
    _record(sweep, "copied.json", copied)
    assert_one_line(run_cli("export", sweep, "--format", "gbench"),
                    "primes/pool/n:1000/p:2/process_time/real_time is also in all.json")


def test_a_repetition_twice_in_one_file_is_refused(sweep):
    twice = [entry("other/pool/n:10/p:1", 0.001, 0), entry("other/pool/n:10/p:1", 0.002, 0)]
    _record(sweep, "twice.json", twice)
    assert_one_line(run_cli("export", sweep, "--format", "gbench"),
                    "entry other/pool/n:10/p:1/process_time/real_time (repetition 0) appears twice")


def test_instances_keep_the_numbers_google_benchmark_gave_them(sweep):
    """A raw file lists its runs in the order they ran, not in instance order: primes/pool p:2
    (family 0, instance 1) before p:1 (0, 0). Exported, p:2 is still instance 1 of its family,
    and every family's instances are 0..k-1."""
    runs = []
    for name, family, instance in (("fib/pool/n:30/p:2", 0, 1), ("fib/pool/n:30/p:1", 0, 0),
                                   ("fib/threads/n:30/p:1", 1, 0)):
        for index in range(2):
            runs.append({**entry(name, 0.01, index), "family_index": family, "per_family_instance_index": instance})
    runs.insert(0, runs.pop(4))  # fib/threads first in the file
    _record(sweep, "fib.json", runs)
    document = exported(sweep)
    numbers = {item["run_name"]: (item["family_index"], item["per_family_instance_index"])
               for item in document["benchmarks"]}
    pool_p2, pool_p1, threads = (numbers[f"fib/{run}/process_time/real_time"]
                                 for run in ("pool/n:30/p:2", "pool/n:30/p:1", "threads/n:30/p:1"))
    assert pool_p2[0] == pool_p1[0] and (pool_p2[1], pool_p1[1]) == (1, 0)
    assert threads == (pool_p1[0] + 1, 0)  # the file's own family order, not the order of appearance
    instances = defaultdict(set)
    for family, instance in numbers.values():
        instances[family].add(instance)
    assert all(found == set(range(len(found))) for found in instances.values()), instances
    # the real file's instances as its binary numbered them
    raw = load_file(sweep / "raw" / "small.json")[1]
    for item in raw:
        exported_instance = numbers[item.get("run_name", item["name"])][1]
        assert exported_instance == item["per_family_instance_index"], item["name"]


@pytest.mark.parametrize("kind", ["fifo", "link", "dangling link", "device"])
def test_an_out_that_is_no_regular_file_is_refused_and_left_alone(sweep, tmp_path, kind):
    """The write replaces what has the name: a FIFO, a device, a link (to /proc/self/fd/1, say)
    would become a JSON file."""
    target = tmp_path / "target"
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "device":
        if os.geteuid() != 0:
            pytest.skip("making a device node needs root")
        os.mknod(target, 0o600 | stat.S_IFCHR, os.makedev(1, 3))  # /dev/null's numbers, in tmp_path
    else:
        (tmp_path / "pointee.json").write_text("mine")
        os.symlink(tmp_path / ("pointee.json" if kind == "link" else "gone.json"), target)
    before = os.lstat(target)
    result = run_cli("export", sweep, "--format", "gbench", "--out", target)
    kind_said = "a symbolic link" if "link" in kind else "not a regular file"
    assert_one_line(result, f"export --out {target}: {kind_said}")
    after = os.lstat(target)
    assert (after.st_mode, after.st_ino, after.st_rdev) == (before.st_mode, before.st_ino, before.st_rdev)
    if kind == "link":
        assert (tmp_path / "pointee.json").read_text() == "mine"


@pytest.mark.parametrize("name", ["sweep.json", "raw/all.json", "new.json", "raw/new.json"])
def test_an_out_inside_the_sweep_is_refused(sweep, name):
    before = {path: path.read_bytes() for path in sweep.rglob("*") if path.is_file()}
    assert_one_line(run_cli("export", sweep, "--format", "gbench", "--out", sweep / name),
                    f"inside the sweep's folder {sweep}")
    assert {path: path.read_bytes() for path in sweep.rglob("*") if path.is_file()} == before
    # by a path that names the folder another way too
    assert_one_line(run_cli("export", sweep, "--format", "gbench", "--out", sweep / "raw" / ".." / name),
                    "inside the sweep's folder")


def test_an_out_that_is_a_regular_file_is_replaced(sweep, tmp_path):
    target = tmp_path / "old.json"
    target.write_text("old")
    result = run_cli("export", sweep, "--format", "gbench", "--out", target)
    assert result.returncode == 0, result.stderr
    assert len(json.loads(target.read_text())["benchmarks"]) == len(exported(sweep)["benchmarks"])


def test_a_recorded_raw_file_that_is_missing_is_refused(sweep, tmp_path):
    """Not an export of the families left: it would look like the whole sweep."""
    (sweep / "raw" / "small.json").unlink()
    result = run_cli("export", sweep, "--format", "gbench", "--out", tmp_path / "x.json")
    assert_one_line(result, f"{sweep / 'raw' / 'small.json'}: recorded in sweep.json as finished but missing")
    assert not (tmp_path / "x.json").exists() and result.stdout == ""


def test_an_empty_out_asks_for_a_file(sweep):
    result = run_cli("export", sweep, "--format", "gbench", "--out", "")
    assert result.returncode == 2
    assert result.stderr == "parbench: export --out: empty (an unset variable?); give a file\n"
