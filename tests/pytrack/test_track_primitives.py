"""The Python track's primitives (scripts/pytrack/primitives): every one runs at a
few iterations and returns its counters; close() leaves no child process,
thread or /dev/shm entry behind and may be called twice; make() that fails
half-way cleans up; a broken operation fails its check; the command line's
JSON is accepted by the analysis; every counterpart names a C++ benchmark."""
import multiprocessing
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from parbench.gbench import load_results, parse_run_name
from pytrack import registry
from pytrack.primitives import _children, _common, mp, spawn
from pytrack.primitives import queue as queue_family
from support import process_table

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
PRIMITIVES = {p.name: p for p in registry.primitives()}
CHILD_FAMILIES = ("py/mp/", "py/spawn/process_pool_task", "py/spawn/mp_pool_apply")


def child_pids() -> set:
    """This process's children, from /proc (zombies included)."""
    me = os.getpid()
    return {pid for pid, parent, _ in process_table() if parent == me}


# /dev/shm is shared with every other process on the machine: the names this
# process makes (named semaphores under spawn and forkserver, SharedMemory
# segments) are recorded as they are made, and only those must be gone.
SHM_MADE: list = []


def _recording(make, prefix):
    def wrapper(*args, **kwargs):
        name = make(*args, **kwargs)
        SHM_MADE.append(prefix + name.lstrip("/"))
        return name
    return wrapper


@pytest.fixture(autouse=True)
def record_shm_names(monkeypatch):
    from multiprocessing import shared_memory, synchronize
    monkeypatch.setattr(synchronize.SemLock, "_make_name",
                        staticmethod(_recording(synchronize.SemLock._make_name, "sem.")))
    monkeypatch.setattr(shared_memory, "_make_filename", _recording(shared_memory._make_filename, ""))


class Leftovers:
    """What exists before a subject is made, to compare with after close()."""

    def __init__(self):
        self.children, self.threads, self.made = child_pids(), threading.active_count(), len(SHM_MADE)

    def check(self):
        assert multiprocessing.active_children() == []
        assert child_pids() - self.children == set(), "child processes left behind"
        left = [name for name in SHM_MADE[self.made:] if os.path.exists(f"/dev/shm/{name}")]
        assert left == [], "/dev/shm entries left behind"
        assert threading.active_count() <= self.threads, [t.name for t in threading.enumerate()]


def exercise(primitive):
    leftovers = Leftovers()
    subject = primitive.make()
    try:
        for iterations in (3, 1):
            counters = subject.run(iterations)
            assert counters is None or all(isinstance(v, (int, float)) for v in counters.values())
            assert (counters or {}).get("verified") == 1
    finally:
        subject.close()
    subject.close()  # idempotent
    leftovers.check()
    return counters


@pytest.mark.parametrize("name", sorted(PRIMITIVES))
def test_every_primitive_runs_and_cleans_up(name):
    primitive = PRIMITIVES[name]
    assert primitive.summary and primitive.name.startswith("py/")
    made = len(SHM_MADE)
    counters = exercise(primitive)
    if name == "py/mp/shared_memory/create":  # the recorder sees the segments (warm-up + 3 + 1)
        assert len(SHM_MADE) - made == 5
    if "/sleep/" in name or "/timer_thread/" in name or "/wait_for/" in name:
        assert counters["median_late_us"] >= -1.0
        assert counters["p99_late_us"] >= counters["median_late_us"]


@pytest.mark.parametrize("method", [m for m in ("spawn", "forkserver") if m in multiprocessing.get_all_start_methods()])
def test_process_primitives_under_other_start_methods(method, monkeypatch):
    """Children started with spawn or forkserver import what they run (_children.py)
    and get their pipes and locks pickled; the servers multiprocessing starts for
    them (resource tracker, fork server) are stopped again by close()."""
    monkeypatch.setenv("PARBENCH_PY_START_METHOD", method)
    names = [n for n in sorted(PRIMITIVES) if n.startswith(CHILD_FAMILIES)
             and not n.startswith("py/mp/manager/get")]  # set starts the same manager
    made = len(SHM_MADE)
    for name in names:
        exercise(PRIMITIVES[name])
    assert any(name.startswith("sem.") for name in SHM_MADE[made:])  # named semaphores were made


def test_the_check_helpers_fail_on_wrong_results():
    _common.expect("items", 3, 3)
    with pytest.raises(AssertionError, match="items: got 2, expected 3"):
        _common.expect("items", 2, 3)
    with pytest.raises(AssertionError, match="fired early"):
        _common.lateness_counters([0.0001, -0.0005], 2)
    with pytest.raises(AssertionError, match="timer samples"):
        _common.lateness_counters([0.0001], 2)
    assert _common.lateness_counters([0.000001, 0.000003, 0.000002], 3)["median_late_us"] == pytest.approx(2.0)
    assert _common.split(5, 2) == [3, 2] and sum(_common.split(7, 3)) == 7


def test_a_queue_that_drops_an_item_fails_and_still_closes(monkeypatch):
    leftovers = Leftovers()
    subject = queue_family.Stream.make(queue_family.queue.Queue)
    try:
        subject.run(5)
        put = subject.queue.put
        monkeypatch.setattr(subject.queue, "put", lambda value: None if value == 2 else put(value))
        with pytest.raises(AssertionError, match="items consumed: got 4, expected 5"):
            subject.run(5)
    finally:
        subject.close()
    leftovers.check()


def test_a_handoff_that_returns_a_wrong_item_fails_without_hanging(monkeypatch):
    leftovers = Leftovers()
    subject = queue_family.Handoff.make(queue_family.queue.Queue)
    try:
        put = subject.back.put
        monkeypatch.setattr(subject.back, "put", lambda value: put(value + 100))
        with pytest.raises(AssertionError, match="items that came back"):
            subject.run(6)
    finally:
        subject.close()
    leftovers.check()


def test_a_corrupted_echo_fails_and_the_child_still_stops(monkeypatch):
    leftovers = Leftovers()
    subject = mp.PipePingPong.make(False)
    try:
        receive = subject.up.recv_bytes
        monkeypatch.setattr(subject.up, "recv_bytes", lambda: b"x" + receive()[1:])
        with pytest.raises(AssertionError, match="echo differs"):
            subject.run(3)
    finally:
        subject.close()
    leftovers.check()


def test_lost_locked_increments_fail(monkeypatch):
    leftovers = Leftovers()
    subject = mp.SharedCounter.make("value_lock", 2)
    try:
        add = subject._add
        monkeypatch.setattr(subject, "_add", lambda n: add(n - 1))
        with pytest.raises(AssertionError, match="increments under the lock"):
            subject.run(10)
    finally:
        subject.close()
    leftovers.check()


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork")
def test_a_process_that_skips_its_work_fails(monkeypatch):
    leftovers = Leftovers()
    subject = spawn.ProcessStart.make("fork")
    try:
        monkeypatch.setattr(_children, "exit_with", lambda code: None)  # exits 0: the work not done
        with pytest.raises(AssertionError, match="exit codes"):
            subject.run(2)
    finally:
        subject.close()
    leftovers.check()


def test_a_make_that_fails_half_way_leaves_nothing(monkeypatch):
    def broken_warm_up(self):
        raise RuntimeError("warm-up failed")

    monkeypatch.setattr(mp.WithChild, "warm_up", broken_warm_up)
    monkeypatch.setattr(mp.SharedCounter, "warm_up", broken_warm_up)
    for make in (lambda: mp.QueuePingPong.make(), lambda: mp.SharedCounter.make("value_lock", 2)):
        leftovers = Leftovers()
        with pytest.raises(RuntimeError, match="warm-up failed"):
            make()
        leftovers.check()


def test_the_command_line_writes_json_the_analysis_accepts(tmp_path):
    out = tmp_path / "py.json"
    environment = dict(os.environ, PYTHONPATH=str(ROOT / "scripts"))
    environment.pop("PARBENCH_PY_START_METHOD", None)
    done = subprocess.run([PYTHON, "-m", "pytrack", "--primitives=py", "--benchmark_min_time=0.001",
                           "--benchmark_repetitions=1", f"--benchmark_out={out}"],
                          capture_output=True, text=True, env=environment, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    results = load_results([out])
    assert set(results.runs) == set(PRIMITIVES)
    for name, run in results.runs.items():
        assert not run.errors, (name, run.errors)
        assert len(run.real_times) == 1 and run.real_times[0] > 0
        assert run.counter("verified") == 1, name
    assert results.runs["py/mp/value/lock/procs:2"].args == {"procs": 2.0}
    assert results.runs["py/sync/lock/nthreads:2"].family == "py/sync/lock"


def test_every_counterpart_names_a_cpp_benchmark():
    binary = ROOT / "build" / "release" / "parbench_bench"
    if not os.access(binary, os.X_OK):
        pytest.skip("the C++ benchmark binary is not built")
    listed = subprocess.run([str(binary), "--benchmark_list_tests=true", "--primitives=all", "--workloads=none"],
                            capture_output=True, text=True, timeout=60)
    known = {(family, tuple(sorted(args.items())))
             for family, args in map(parse_run_name, listed.stdout.split())}
    for primitive in PRIMITIVES.values():
        if primitive.counterpart:
            family, args = parse_run_name(primitive.counterpart)
            assert (family, tuple(sorted(args.items()))) in known, (primitive.name, primitive.counterpart)
