"""The Python track's CPU workloads (mandelbrot, monte_carlo_pi, amdahl_sNN, granularity,
matmul_numpy; primes for its answer): each one verified on every Python model at p = 1, 2, 3
with the same answer everywhere, every verifier able to fail, and the answer equal to the C++
binary's at the same n (the same inputs, seeds, closed forms and count rules)."""
import json
import math
import os
import subprocess
from pathlib import Path

import pytest

from pytrack import registry
from pytrack import spin
from pytrack.workloads import amdahl

ROOT = Path(__file__).resolve().parents[2]
WORKLOADS = ["mandelbrot", "monte_carlo_pi", "amdahl_s05", "amdahl_s20", "amdahl_s50", "granularity",
             "matmul_numpy"]
# The C++ source of each workload, to tell a stale binary (built before the answer counter)
CPP_SOURCES = {"primes": "primes", "mandelbrot": "mandelbrot", "monte_carlo_pi": "monte_carlo_pi",
               "amdahl_s05": "amdahl", "amdahl_s20": "amdahl", "amdahl_s50": "amdahl",
               "granularity": "granularity"}
# A spin rate pinned for both tracks in the cross-check, so that both run the same iterations;
# a Python-like rate keeps the Python side short (C++ then spins ~100x less than nominal).
PINNED_SPIN_RATE = 10.0


def workload(name):
    found = registry.find_workload(name)
    assert found is not None, f"{name} is not registered"
    if found.unavailable:
        pytest.skip(f"{name}: {found.unavailable}")
    return found


def answers_equal(name, a, b):
    # matmul_numpy's answer is a float sum that another split of rows could round differently.
    return math.isclose(a, b, rel_tol=1e-9) if name == "matmul_numpy" else a == b


def model_cases():
    """(model, p) pairs, one executor each, model after model."""
    cases = []
    for model in registry.models():
        for p in ([1] if not model.parallel else [1, 2, 3]):
            cases.append((model.name, p))
    return cases


_serial_answers = {}


def serial_answer(name):
    if name not in _serial_answers:
        model = registry.find_model("py_serial")
        with model.create(1) as executor:
            instance = workload(name).prepare(workload(name).small_size, executor)
            try:
                instance.run(executor)
                _serial_answers[name] = instance.counters()["answer"]
            finally:
                instance.close()
    return _serial_answers[name]


@pytest.mark.parametrize("model_name,p", model_cases(), ids=[f"{m}-p{p}" for m, p in model_cases()])
def test_every_workload_is_verified_on_every_model(model_name, p):
    model = registry.find_model(model_name)
    with model.create(p) as executor:
        for name in WORKLOADS:
            found = registry.find_workload(name)
            if found.unavailable or (found.uses_spawn_tasks and model.parallel and not model.task_spawn):
                continue
            instance = found.prepare(found.small_size, executor)
            try:
                instance.run(executor)
                instance.run(executor)  # a second run must leave a complete result too
                assert instance.verify() is None, f"{name} on {model_name} p={p}: {instance.verify()}"
                counters = instance.counters()
                assert isinstance(counters["answer"], (int, float)), name
                assert answers_equal(name, counters["answer"], serial_answer(name)), \
                    f"{name} on {model_name} p={p}: answer {counters['answer']}, py_serial {serial_answer(name)}"
                assert instance.work()["items"] > 0, name
            finally:
                instance.close()


@pytest.mark.parametrize("name", WORKLOADS + ["primes"])
def test_corrupt_makes_verify_fail(name):
    found = workload(name)
    model = registry.find_model("py_serial")
    with model.create(1) as executor:
        instance = found.prepare(found.small_size, executor)
        try:
            instance.run(executor)
            assert instance.verify() is None
            instance.corrupt()
            assert instance.verify() is not None, f"{name}: verify() passes a corrupted result"
        finally:
            instance.close()


def test_counters_the_analysis_reads():
    executor = registry.find_model("py_serial").create(1)
    with executor:
        for name, fraction in (("amdahl_s05", 0.05), ("amdahl_s20", 0.20), ("amdahl_s50", 0.50)):
            counters = workload(name).prepare(100, executor).counters()
            assert counters["true_serial_fraction"] == fraction
            assert counters["spin_iters_per_us"] > 0
        granularity = workload("granularity")
        assert granularity.uses_spawn_tasks
        counters = granularity.prepare(granularity.small_size, executor).counters()
        assert counters["task_us"] == granularity.small_size / 1000
        # Measured back to back on one thread: within a factor of the nominal even on a busy
        # machine (the spin rate was measured on this same machine).
        assert 0.3 < counters["task_us_actual"] / counters["task_us"] < 5


def test_spin_closed_form_and_generator():
    for iterations in (0, 1, 2, 7, 1000):
        for seed in (0, 5, 2**64 - 1):
            assert amdahl.spin(iterations, seed) == amdahl.spin_closed_form(iterations, seed)
    from pytrack import rng as monte_carlo_pi
    # SplitMix64 from state 0 (its first output is mix64(0)): the published first value.
    assert monte_carlo_pi.mix64(0) == 0xE220A8397B1DCDAF
    assert 0 <= monte_carlo_pi.random_unit(3, 12345) < 1
    from pytrack.workloads import matmul_numpy
    if not matmul_numpy.UNAVAILABLE:  # the vectorised generator is the scalar one
        assert list(matmul_numpy.random_units(11, 300)) == [monte_carlo_pi.random_unit(11, i) for i in range(300)]


def cpp_binary():
    path = Path(os.environ.get("PARBENCH_BENCH", ROOT / "build" / "release" / "parbench_bench"))
    return path if path.is_file() and os.access(path, os.X_OK) else None


@pytest.mark.parametrize("name", list(CPP_SOURCES))
def test_answer_equals_the_cpp_answer(name, monkeypatch):
    binary = cpp_binary()
    if binary is None:
        pytest.skip("no C++ binary (build/release/parbench_bench or PARBENCH_BENCH)")
    source = ROOT / "workloads" / f"{CPP_SOURCES[name]}.cpp"
    if "PARBENCH_BENCH" not in os.environ and binary.stat().st_mtime < source.stat().st_mtime:
        pytest.skip(f"{binary} is older than {source.name} (rebuild: ./parbench list)")
    found = workload(name)
    n = found.small_size
    completed = subprocess.run(
        [str(binary), f"--workloads={name}", "--models=serial", f"--size={n}", "--benchmark_min_time=0.01",
         "--benchmark_format=json"],
        capture_output=True, text=True, timeout=120,
        env=dict(os.environ, PARBENCH_SPIN_ITERS_PER_US=str(PINNED_SPIN_RATE)))
    assert completed.returncode == 0, completed.stderr
    entries = [b for b in json.loads(completed.stdout)["benchmarks"] if b.get("run_type") == "iteration"]
    assert entries and not entries[0].get("error_occurred"), entries
    assert "answer" in entries[0], f"the C++ {name} exports no answer counter (stale build?)"

    monkeypatch.setattr(spin, "_spin_rate", PINNED_SPIN_RATE)  # the same iterations as C++
    with registry.find_model("py_serial").create(1) as executor:
        instance = found.prepare(n, executor)
        instance.run(executor)
        assert instance.verify() is None
        python_answer = instance.counters()["answer"]
    assert python_answer == entries[0]["answer"], f"{name} at n={n}: Python {python_answer}, C++ {entries[0]['answer']}"
