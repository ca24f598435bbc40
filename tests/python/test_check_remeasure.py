"""check re-measures a failed performance check before it fails: a slow measurement that does
not reproduce becomes WARN ("not reproduced"), a real failure stays FAIL, and a failed
verification is never re-run away. Runs a tiny real sweep (PARBENCH_BENCH)."""
import json

import pytest

from support import record_raw, run_cli

SWEEP = """
[sweep]
size = "quick"
workloads = ["primes"]
models = ["serial", "pool"]
workers = [1, 2]
repetitions = 3
min_time = 0.01
family_timeout = 120
weak_scaling = false
primitives = []

[check]
amdahl_models = []
efficiency_workloads = ["primes"]
efficiency_models = ["pool"]
efficiency_min = 0.3
"""


def _sweep(tmp_path, bench_binary, text):
    config = tmp_path / "tiny.toml"
    config.write_text(text)
    out = tmp_path / "run"
    result = run_cli("sweep", "--config", config, "--out", out, env={"PARBENCH_BENCH": str(bench_binary)})
    assert result.returncode == 0, result.stdout + result.stderr
    return out


@pytest.fixture
def tiny_sweep(tmp_path, bench_binary):
    return _sweep(tmp_path, bench_binary, SWEEP)


def _slow_down(directory, family_file, factor):
    """Makes every p = 2 repetition in a raw file `factor` times slower (a disturbed run)."""
    path = directory / "raw" / family_file
    data = json.loads(path.read_text())
    for entry in data["benchmarks"]:
        if "/p:2/" in entry["run_name"]:
            entry["real_time"] *= factor
    path.write_text(json.dumps(data))
    record_raw(directory, family_file)  # a slow measurement, as the sweep recorded it
    return path.read_text()


def _row(stdout, subject):
    return next(line for line in stdout.splitlines() if subject in line and "efficiency" in line)


def test_a_noisy_failure_is_re_measured_into_warn(tiny_sweep, bench_binary):
    slowed = _slow_down(tiny_sweep, "primes__pool.json", 8.0)  # efficiency ~0.12: fails 0.3
    result = run_cli("check", tiny_sweep, env={"PARBENCH_BENCH": str(bench_binary)})
    assert result.returncode == 0, result.stdout + result.stderr
    row = _row(result.stdout, "primes/pool")
    assert "WARN (not reproduced on re-measurement)" in row and "re-measured:" in row
    assert "1 not reproduced on re-measurement" in result.stdout.splitlines()[-1]
    # Both measurements kept: the sweep's own file unchanged, the new one beside it.
    assert (tiny_sweep / "raw" / "primes__pool.json").read_text() == slowed
    assert (tiny_sweep / "rechecks" / "primes__pool.json").exists()
    rechecks = json.loads((tiny_sweep / "sweep.json").read_text())["rechecks"]
    # The serial baseline is measured again too: an efficiency is the ratio of the two.
    assert sorted(r["family"] for r in rechecks) == ["primes/pool", "primes/serial"]
    assert all(r["status"] == "ok" for r in rechecks)


def test_a_real_failure_stays_fail(tmp_path, bench_binary):
    # no model can reach 1.9 (range: [0, 2]): every measurement fails
    tiny_sweep = _sweep(tmp_path, bench_binary, SWEEP.replace("efficiency_min = 0.3", "efficiency_min = 1.9"))
    result = run_cli("check", tiny_sweep, env={"PARBENCH_BENCH": str(bench_binary)})
    assert result.returncode == 1, result.stdout + result.stderr
    row = _row(result.stdout, "primes/pool")
    assert "FAIL (reproduced on re-measurement; not explained by the machine)" in row and "re-measured:" in row
    assert "machine ceiling" in row


def test_no_remeasure_fails_at_once(tiny_sweep, bench_binary):
    _slow_down(tiny_sweep, "primes__pool.json", 8.0)
    result = run_cli("check", tiny_sweep, "--no-remeasure", env={"PARBENCH_BENCH": str(bench_binary)})
    assert result.returncode == 1
    assert "FAIL (not re-measured: re-measuring is off" in _row(result.stdout, "primes/pool")
    assert not (tiny_sweep / "rechecks").exists()


def test_a_failed_family_is_never_re_run(tiny_sweep, bench_binary):
    state = json.loads((tiny_sweep / "sweep.json").read_text())
    broken = next(f for f in state["families"] if f["family"] == "primes/pool")
    broken.update(status="errors", message="1 benchmark(s) reported an error, first: verification failed")
    (tiny_sweep / "sweep.json").write_text(json.dumps(state))
    result = run_cli("check", tiny_sweep, env={"PARBENCH_BENCH": str(bench_binary)})
    assert result.returncode == 1
    assert "measuring" not in result.stdout and not (tiny_sweep / "rechecks").exists()
    assert any("ran and verified" in line and "FAIL" in line for line in result.stdout.splitlines())


def test_an_efficiency_below_the_machine_ceiling_is_judged_against_it():
    from parbench.check.rules import efficiency_verdict
    # The machine runs two copies at 0.75 of the fastest alone: 0.70 is 0.93 of what it allows.
    passed, note = efficiency_verdict(0.70, 0.75, 0.8)
    assert passed is None and "limited by this machine" in note and "0.93" in note
    # 0.50 is 0.67 of that ceiling: the model is slow, not the machine.
    assert efficiency_verdict(0.50, 0.75, 0.8)[0] is False
    # A machine that allows the threshold explains nothing; nor does an unmeasured ceiling.
    assert efficiency_verdict(0.70, 0.95, 0.8)[0] is False
    assert efficiency_verdict(0.70, None, 0.8)[0] is False
    # Measured a third time beside the ceiling, the model reached the threshold: not reproduced.
    passed, note = efficiency_verdict(0.85, 0.90, 0.8)
    assert passed is None and "not reproduced" in note


def test_the_machine_ceiling_is_measured(bench_binary, monkeypatch):
    import os
    from parbench.check.remeasure import machine_ceiling
    monkeypatch.setenv("PARBENCH_BENCH", str(bench_binary))
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("needs two CPUs")
    ceiling = machine_ceiling("primes", 20_000, 2, min_time=0.01, rounds=1)
    # Throughput of two copies against twice the fastest: positive, and about 1 at most; the vCPUs'
    # speed swings by up to 30% within a minute (more with other work beside), so only an absurd
    # value fails here.
    assert ceiling is not None and 0.1 < ceiling < 2.0
    # A copy that cannot run (an unknown workload) gives no ceiling, not a number.
    assert machine_ceiling("no_such_workload", 20_000, 2, min_time=0.01, rounds=1) is None
    # With a model, its efficiency is measured in the same rounds as the ceiling: a pair of positive
    # figures (their values are the machine's; ctest runs other suites beside this one).
    paired = machine_ceiling("primes", 20_000, 2, min_time=0.01, rounds=1, model="threads")
    assert isinstance(paired, tuple) and len(paired) == 2 and all(0 < value < 100 for value in paired)
    assert machine_ceiling("primes", 20_000, 2, min_time=0.01, rounds=1, model="no_such_model") is None
