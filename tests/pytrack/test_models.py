"""The Python track's execution models: the map_chunks contract (every chunk exactly once,
results in chunk order, the first exception reaches the caller, a dead worker is an error with
its exit code) and nothing left behind (threads, processes, /dev/shm, event loops)."""
import asyncio
import os
import threading

import pytest

from pytrack import registry
from pytrack.executor import WorkerDied

MODELS = [m.name for m in registry.models()]


def chunk_bounds_of(lo, hi, tag):
    return (lo, hi, tag)


def fail_at_chunk(lo, hi, bad_lo):
    if lo == bad_lo:
        raise ValueError(f"chunk {lo} failed on purpose")
    return lo


def die_at_chunk(lo, hi, bad_lo):
    if lo == bad_lo:
        os._exit(7)
    return lo


async def async_bounds(lo, hi, tag):
    await asyncio.sleep(0)
    return (lo, hi, "async")


def child_pids():
    """Live children of this process (from /proc: also those multiprocessing forgot)."""
    me = str(os.getpid())
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[1] == me and fields[0] != "Z":
                found.append(int(entry))
    return found


def shm_entries():
    """Python's own /dev/shm names (multiprocessing's semaphores and arenas, SharedMemory
    blocks): the C++ tests ctest runs beside these make their own, which are not ours."""
    if not os.path.isdir("/dev/shm"):
        return set()
    return {name for name in os.listdir("/dev/shm") if name.startswith(("sem.mp-", "mp-", "psm_", "pym-"))}


@pytest.fixture
def leaves_nothing():
    threads, shm = threading.active_count(), shm_entries()
    yield
    for _ in range(100):  # pool threads finish a moment after shutdown returns
        if threading.active_count() <= threads:
            break
        threading.Event().wait(0.01)
    assert threading.active_count() <= threads, "a thread was left running"
    assert child_pids() == [], "a child process was left behind"
    assert shm_entries() <= shm, f"left in /dev/shm: {shm_entries() - shm}"


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("p", [1, 3])
@pytest.mark.parametrize("n,grain", [(0, 1), (1, 1), (10, 3), (100, 7), (64, 64)])
def test_every_chunk_once_in_order(model, p, n, grain, leaves_nothing):
    with registry.find_model(model).create(p) as executor:
        for _ in range(2):  # a second region on the same executor
            results = executor.map_chunks(chunk_bounds_of, n, grain, ("t",))
            expected = [(lo, min(n, lo + grain), "t") for lo in range(0, n, grain)]
            assert results == expected


@pytest.mark.parametrize("model", MODELS)
def test_exception_reaches_the_caller(model, leaves_nothing):
    with registry.find_model(model).create(2) as executor:
        with pytest.raises(ValueError, match="chunk 20 failed on purpose"):
            executor.map_chunks(fail_at_chunk, 40, 5, (20,))
        # the executor still works after a failed region
        assert executor.map_chunks(chunk_bounds_of, 4, 2, ("x",)) == [(0, 2, "x"), (2, 4, "x")]


@pytest.mark.parametrize("model", ["py_processes", "py_process_pool"])
def test_dead_worker_is_an_error_with_its_exit_code(model, leaves_nothing):
    with registry.find_model(model).create(2) as executor:
        with pytest.raises(WorkerDied) as died:
            executor.map_chunks(die_at_chunk, 40, 5, (20,))
    assert died.value.exitcode == 7, str(died.value)
    assert "exit code 7" in str(died.value)


def test_asyncio_awaits_afn_and_others_ignore_it(leaves_nothing):
    for model in MODELS:
        with registry.find_model(model).create(2) as executor:
            results = executor.map_chunks(chunk_bounds_of, 6, 2, ("sync",), afn=async_bounds)
        tag = "async" if model == "py_asyncio" else "sync"
        assert [r[2] for r in results] == [tag] * 3, model


def where_it_ran(lo, hi):
    from pytrack.executor import current_cpu
    return current_cpu()


async def where_it_awaited(lo, hi):
    from pytrack.executor import current_cpu
    await asyncio.sleep(0)
    return current_cpu()


@pytest.mark.parametrize("model", [m for m in MODELS if m != "py_serial"])
def test_bound_workers_run_on_the_cpu_they_are_given(model, leaves_nothing):
    # Every worker bound to the last CPU: every chunk runs there, and the executor saw only it.
    before = os.sched_getaffinity(0)
    cpu = max(before)
    with registry.find_model(model).create(3, (cpu,)) as executor:
        assert set(executor.map_chunks(where_it_ran, 24, 1, afn=where_it_awaited)) == {cpu}
        assert executor.seen == {cpu} and executor.bound_cpus() == 1
    # The caller's own CPUs are as they were (the event loop runs on the caller's thread).
    assert os.sched_getaffinity(0) == before


def test_unbound_executors_note_no_cpus(leaves_nothing):
    with registry.find_model("py_threads").create(2) as executor:
        executor.map_chunks(chunk_bounds_of, 8, 1, ("x",))
        assert executor.seen == set() and executor.bound_cpus() == 0


def test_bad_ranges_are_refused():
    with registry.find_model("py_serial").create(1) as executor:
        with pytest.raises(ValueError):
            executor.map_chunks(chunk_bounds_of, 10, 0, ("t",))
    with pytest.raises(ValueError):
        registry.find_model("py_threads").create(0)


def test_start_method_from_the_environment(monkeypatch):
    from pytrack.executor import start_method
    monkeypatch.setenv("PARBENCH_PY_START_METHOD", "spawn")
    assert start_method() == ("spawn", "PARBENCH_PY_START_METHOD")
    monkeypatch.setenv("PARBENCH_PY_START_METHOD", "teleport")
    with pytest.raises(ValueError, match="teleport"):
        start_method()


def test_models_are_registered_with_their_limits():
    assert MODELS[:6] == ["py_serial", "py_threads", "py_thread_pool", "py_processes", "py_process_pool",
                          "py_asyncio"]
    # one event loop cannot run CPU work in parallel by design; threads under the GIL are
    # measured (that figure is the point), and a free-threaded build would not have the limit
    assert registry.find_model("py_asyncio").limit_cpu
    assert not registry.find_model("py_threads").limit_cpu
    assert not registry.find_model("py_serial").parallel
