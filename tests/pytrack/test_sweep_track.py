"""The Python track inside `parbench sweep`: its families run beside the binary's, the C++
serial model at the Python sizes feeds the cross-language table, py_ speedups are against
py_serial, the report has the Python section, and a missing or too-old interpreter is one
clear line before anything runs."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

CONFIG = """
[sweep]
size = "small"
workloads = ["primes", "mandelbrot", "amdahl_s20"]
models = ["serial", "pool", "py_serial", "py_threads", "py_process_pool"]
workers = [1, 2]
repetitions = 3
min_time = 0.01
family_timeout = 300
primitives = ["py/sync/lock", "sync/mutex"]
python = "{python}"
"""


def bench_binary():
    path = Path(os.environ.get("PARBENCH_BENCH", ROOT / "build" / "release" / "parbench_bench"))
    if not path.exists():
        pytest.skip("no benchmark binary (run under ctest, or ./parbench list first)")
    return path


def sweep(tmp_path, config_text, *extra):
    config = tmp_path / "track.toml"
    config.write_text(config_text)
    environment = dict(os.environ, PYTHONPATH=str(ROOT / "scripts"), PARBENCH_BENCH=str(bench_binary()))
    return subprocess.run([sys.executable, "-m", "parbench", "sweep", "--config", str(config),
                           "--out", str(tmp_path / "run"), *extra],
                          capture_output=True, text=True, env=environment, timeout=900)


def test_both_tracks_in_one_sweep(tmp_path):
    result = sweep(tmp_path, CONFIG.format(python=sys.executable))
    assert result.returncode == 0, result.stdout + result.stderr
    out = tmp_path / "run"
    state = json.loads((out / "sweep.json").read_text())
    families = {(f["family"], f.get("sizes", "")): f for f in state["families"]}
    assert all(f["status"] == "ok" for f in families.values()), families
    assert families[("primes/py_threads", "")]["track"] == "python"
    assert families[("primes/pool", "")]["track"] == ""
    # the C++ serial at the Python track's sizes, for primes and mandelbrot but not amdahl (n is time)
    assert ("primes/serial", "2000") in families and ("mandelbrot/serial", "32") in families
    assert not any(name == "amdahl_s20/serial" and sizes for name, sizes in families)
    assert "py/sync/lock" in {name for name, _ in families}
    assert state["python_info"]["spin_iters_per_us"] > 0
    env = json.loads((out / "env.json").read_text())
    assert env["python_track"]["python_executable"] == sys.executable

    analysis = json.loads((out / "analysis.json").read_text())
    python = analysis["python"]
    assert {row["workload"] for row in python["cross_language"]} == {"primes", "mandelbrot"}
    for row in python["cross_language"]:
        assert row["ratio"] > 1 and row["ratio_ci"][0] <= row["ratio"] <= row["ratio_ci"][1]
    points = {(p["workload"], p["model"], p["n"], p["p"]): p for p in analysis["points"]}
    # py_ speedups are against py_serial at the same n
    threads = points[("primes", "py_threads", 2000, 2)]
    serial = points[("primes", "py_serial", 2000, 1)]
    assert threads["speedup"] == pytest.approx(serial["median_s"] / threads["median_s"], rel=1e-4)
    assert any(rule["figure"].startswith("py_threads speedup") for rule in python["rules"])
    pair = next(x for x in python["primitive_pairs"] if x["python"].startswith("py/sync/lock/nthreads:1"))
    assert pair["cpp"].startswith("sync/mutex/std") and pair["ratio"] > 0

    report = (out / "report.md").read_text()
    assert "## Python track" in report and "### C++ and Python, the same work" in report
    assert (out / "plots" / "speedup_python.png").exists()
    assert (out / "cross_language.csv").read_text().count("\n") == 3  # header + 2 workloads


def test_python_can_be_left_out(tmp_path):
    config = CONFIG.format(python="").replace('primitives = ["py/sync/lock", "sync/mutex"]', "primitives = []")
    config = config.replace('workloads = ["primes", "mandelbrot", "amdahl_s20"]', 'workloads = ["primes"]')
    # naming py_ models with the track left out is a contradiction, said in one line
    result = sweep(tmp_path, config)
    assert result.returncode == 2 and "leaves the track out" in result.stderr, result.stderr
    config = config.replace('models = ["serial", "pool", "py_serial", "py_threads", "py_process_pool"]',
                            'models = ["serial", "pool"]')
    result = sweep(tmp_path, config)
    assert result.returncode == 0, result.stderr
    state = json.loads((tmp_path / "run" / "sweep.json").read_text())
    assert {f["family"] for f in state["families"]} == {"primes/serial", "primes/pool"}


def test_a_missing_interpreter_is_one_line(tmp_path):
    result = sweep(tmp_path, CONFIG.format(python=sys.executable), "--python", "/nonexistent/python3")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "interpreter '/nonexistent/python3' not found" in lines[0], result.stderr
    assert not (tmp_path / "run" / "sweep.json").exists()


def test_a_too_old_interpreter_is_one_line(tmp_path):
    fake = tmp_path / "python2"
    fake.write_text("#!/bin/sh\necho '2 7'\n")
    fake.chmod(0o755)
    result = sweep(tmp_path, CONFIG.format(python=fake))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "is Python 2.7, the track needs 3.9 or newer" in lines[0], result.stderr


def test_bad_python_workers_is_one_line(tmp_path):
    result = sweep(tmp_path, CONFIG.format(python=sys.executable) + 'python_workers = "many"\n')
    assert result.returncode == 2 and "python_workers" in result.stderr


def test_every_primitive_rule_names_registered_primitives():
    sys.path.insert(0, str(ROOT / "scripts"))
    from parbench import python_track
    from pytrack import registry
    names = [p.name for p in registry.primitives()]
    for prefix in python_track.PRIMITIVE_RULES:
        assert any(name == prefix or name.startswith(prefix + "/") for name in names), prefix
