"""The Python track's command line: Google Benchmark JSON the analysis accepts, one clear
line and exit 2 on bad input, a dead worker failing the run with its exit code, and Ctrl-C
leaving no process or shared-memory block behind."""
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from pytrack import registry, runner
from test_models import shm_entries
from pytrack.registry import Instance, Workload

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


def pytrack(*args, env=None, timeout=300):
    environment = dict(os.environ, PYTHONPATH=str(ROOT / "scripts"), **(env or {}))
    return subprocess.run([PYTHON, "-m", "pytrack", *args], capture_output=True, text=True,
                          env=environment, timeout=timeout)


@pytest.mark.parametrize("args,needle", [
    (["--models=py_nope"], "unknown name 'py_nope'"),
    (["--workloads=nope"], "unknown name 'nope'"),
    (["--workloads="], "empty list"),
    (["--p=0"], "'0' is not a whole number in [1, 1024]"),
    (["--p=100000"], "'100000' is not a whole number in [1, 1024]"),
    (["--p=2,2"], "names a value twice"),
    (["--benchmark_repetitions=5,1"], "--benchmark_repetitions"),
    (["--benchmark_out=/no/such/dir/x.json"], "cannot write"),
    (["--benchmark_enable_random_interleaving=bogus"], "not true or false"),
    (["--size=abc"], "'abc' is not a whole number"),
    (["--benchmark_min_time=nan"], "--benchmark_min_time"),
    (["--benchmark_min_time=inf"], "--benchmark_min_time"),
    (["--benchmark_filter=("], "bad regular expression"),
    (["--primitives=sync"], "not a Python primitive family"),
    (["--frobnicate=1"], "unknown option"),
    (["--tag=a b"], "'a b' is not a tag"),
    (["--tag=3.13", "--primitives=py/sync"], "first interpreter only"),
    (["stray"], "unknown argument"),
])
def test_bad_input_is_one_line_and_exit_2(args, needle):
    result = pytrack(*args)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], result.stderr


def test_bad_start_method_is_one_line():
    result = pytrack("info", env={"PARBENCH_PY_START_METHOD": "teleport"})
    assert result.returncode == 2 and "teleport" in result.stderr and "Traceback" not in result.stderr


def test_json_is_google_benchmark_and_the_analysis_takes_it(tmp_path):
    out = tmp_path / "raw" / "py.json"
    out.parent.mkdir()
    result = pytrack("--workloads=primes", "--models=py_serial,py_threads,py_process_pool", "--size=small",
                     "--p=1,2", "--benchmark_repetitions=3", "--benchmark_min_time=0.01",
                     "--benchmark_enable_random_interleaving=true", f"--benchmark_out={out}")
    assert result.returncode == 0, result.stderr
    data = json.loads(out.read_text())
    assert data["context"]["parbench_track"] == "python"
    names = {e["run_name"] for e in data["benchmarks"]}
    assert "primes/py_threads/n:2000/p:2" in names and "primes/py_serial/n:2000/p:1" in names
    rows = [e for e in data["benchmarks"] if e["run_type"] == "iteration"]
    assert all(e["verified"] == 1 and e["real_time"] > 0 for e in rows)
    assert len(rows) == 3 * 5  # serial at p = 1 only; 3 repetitions each
    from parbench import analysis as analyze
    analysis = analyze.analyze(tmp_path)
    points = {(p["model"], p["p"]): p for p in analysis["points"]}
    speedup = points[("py_threads", 2)]["speedup"]
    # against py_serial at the same n (the C++ serial is not in this folder at all)
    assert 0 < speedup < 4 and points[("py_serial", 1)]["speedup"] == pytest.approx(1.0)


def _dies_in_its_worker(lo, hi):
    os._exit(9)


class _Dies(Instance):
    def __init__(self, n, executor):
        pass

    def run(self, executor):
        executor.map_chunks(_dies_in_its_worker, 4, 1)


def test_a_dead_worker_fails_the_run_with_its_exit_code(tmp_path, monkeypatch):
    workload = Workload("test_dies", "cpu", "dies", "n", [1], [1], 1, _Dies)
    monkeypatch.setitem(registry._workloads, workload.name, workload)
    out = tmp_path / "out.json"
    code = runner.main(["--workloads=test_dies", "--models=py_processes", "--p=2", "--size=small",
                        "--benchmark_min_time=0.01", f"--benchmark_out={out}"])
    assert code == 9
    rows = json.loads(out.read_text())["benchmarks"]
    assert rows[0]["error_occurred"] and "exit code 9" in rows[0]["error_message"]


def _processes_marked(mark):
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/environ", "rb") as environ:
                    if mark.encode() in environ.read():
                        found.append(int(entry))
            except OSError:
                pass
    return found


@pytest.mark.parametrize("model", ["py_processes", "py_process_pool"])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_leaves_nothing_behind(model, sig, tmp_path):
    mark = f"PARBENCH_TEST_MARK_{uuid.uuid4().hex}"
    shm_before = shm_entries()
    environment = dict(os.environ, PYTHONPATH=str(ROOT / "scripts"), **{mark: "1"})
    child = subprocess.Popen([PYTHON, "-m", "pytrack", "--workloads=primes", f"--models={model}", "--p=2",
                              "--size=3000000", "--benchmark_min_time=5", f"--benchmark_out={tmp_path / 'x.json'}"],
                             env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while len(_processes_marked(mark)) < 3 and time.monotonic() < deadline:  # the runner and its 2 workers
        time.sleep(0.05)
    time.sleep(0.3)
    child.send_signal(sig)
    _, stderr = child.communicate(timeout=60)
    assert child.returncode == 128 + sig, stderr
    assert f"interrupted by {signal.Signals(sig).name}" in stderr and "Traceback" not in stderr
    deadline = time.monotonic() + 5
    while _processes_marked(mark) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _processes_marked(mark) == []
    assert shm_entries() <= shm_before


def test_all_named_workloads_run_beside_primitives():
    """As the binary: --workloads=all with --primitives lists both (the sweep passes all
    explicitly); --primitives alone lists only the primitives; nothing given lists everything."""
    def listed(*args):
        result = pytrack(*args, "--size=small", "--benchmark_list_tests=true")
        assert result.returncode == 0, result.stderr
        return result.stdout.split()
    both = listed("--workloads=all", "--models=all", "--primitives=py/sync/lock")
    assert "primes/py_threads/n:2000/p:2" in both and "py/sync/lock/nthreads:1" in both
    only = listed("--primitives=py/sync/lock")
    assert only and all(name.startswith("py/sync/lock") for name in only)
    everything = listed()
    assert "primes/py_serial/n:2000/p:1" in everything and any(n.startswith("py/queue/") for n in everything)


def test_the_sweeps_selection_for_the_track_runs_its_workloads():
    from parbench import config as config_module
    from parbench.runner import tracks as sweep
    config = config_module.load("default")
    args = sweep.selection_args(config, sweep.PYTHON_TRACK)
    result = pytrack(*args, "--benchmark_list_tests=true")
    assert result.returncode == 0, result.stderr
    names = result.stdout.split()
    for workload in ("primes", "sleep_io", "tcp_echo", "granularity"):
        assert any(name.startswith(f"{workload}/py_threads/") for name in names), workload
    threads = len(os.sched_getaffinity(0))
    assert not any(f"/p:{2 * threads}" in name for name in names if name.startswith("primes/"))  # "cores"
    assert any(name.startswith("py/sync/lock") for name in names)


def test_a_tag_names_every_workload_run_and_its_context(tmp_path):
    listed = pytrack("--tag=3.99t-gil1", "--workloads=primes", "--models=py_serial,py_threads", "--size=small",
                     "--p=1,2", "--benchmark_list_tests=true")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split() == ["primes/py_serial@3.99t-gil1/n:2000/p:1",
                                     "primes/py_threads@3.99t-gil1/n:2000/p:1",
                                     "primes/py_threads@3.99t-gil1/n:2000/p:2"]
    out = tmp_path / "tagged.json"
    result = pytrack("--tag=3.99", "--workloads=primes", "--models=py_threads", "--size=small", "--p=2",
                     "--benchmark_min_time=0.01", f"--benchmark_out={out}")
    assert result.returncode == 0, result.stderr
    document = json.loads(out.read_text())
    assert {b["run_name"] for b in document["benchmarks"]} == {"primes/py_threads@3.99/n:2000/p:2"}
    context = document["context"]
    assert context["parbench_track"] == "python@3.99" and context["python_tag"] == "3.99"
    assert context["task_spawn:py_threads@3.99"] and "task_spawn:py_threads" not in context
    assert context["python_free_threaded"] in ("yes", "no")


def test_affinity_binds_the_parallel_models_by_the_binarys_order(tmp_path):
    cpus = sorted(os.sched_getaffinity(0))
    out = tmp_path / "bound.json"
    result = pytrack("--workloads=primes", "--models=py_serial,py_threads,py_process_pool", "--p=2", "--size=small",
                     "--affinity=compact", "--benchmark_min_time=0.01", f"--benchmark_out={out}",
                     env={"PARBENCH_PLACEMENTS": json.dumps({"compact": cpus[-1:], "spread": cpus})})
    assert result.returncode == 0, result.stderr
    rows = {row["name"].split("/")[1]: row for row in json.loads(out.read_text())["benchmarks"]}
    # the baseline runs unbound, as the binary's; the bound ones on the one CPU they were given
    assert "affinity" not in rows["py_serial"]["name"] and "cpus_bound" not in rows["py_serial"]
    for model in ("py_threads", "py_process_pool"):
        assert "/affinity:compact/" in rows[model]["name"]
        assert (rows[model]["cpus_used"], rows[model]["cpus_bound"]) == (1, 1), model


@pytest.mark.parametrize("args,env,needle", [
    (["--affinity=scatter"], {}, "--affinity must be none, compact or spread"),
    (["--affinity=spread"], {"PARBENCH_PLACEMENTS": ""}, "no CPU order for it in PARBENCH_PLACEMENTS"),
    (["--affinity=spread"], {"PARBENCH_PLACEMENTS": '{"spread": []}'}, "no CPU order for it"),
    (["--affinity=compact", "--tag=3.13", "--primitives=none"], {}, "no --tag with it"),
])
def test_bad_affinity_gets_one_line(args, env, needle):
    result = pytrack("--workloads=primes", "--models=py_threads", "--size=small", *args, env=env)
    assert result.returncode == 2 and needle in result.stderr and "Traceback" not in result.stderr, result.stderr
