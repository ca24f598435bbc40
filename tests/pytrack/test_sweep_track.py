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
    from parbench.analysis import python as python_track
    from pytrack import registry
    names = [p.name for p in registry.primitives()]
    for prefix in python_track.PRIMITIVE_RULES:
        assert any(name == prefix or name.startswith(prefix + "/") for name in names), prefix


def test_model_names_say_their_track_and_baseline():
    from parbench.modelnames import baseline_of, is_baseline, split_tag, track_label, track_of
    assert split_tag("py_threads@3.13t-gil1") == ("py_threads", "3.13t-gil1") and split_tag("pool") == ("pool", "")
    assert baseline_of("threads") == "serial" and baseline_of("py_threads") == "py_serial"
    assert baseline_of("py_threads@3.13") == "py_serial@3.13"
    assert is_baseline("py_serial@3.13") and is_baseline("serial") and not is_baseline("py_threads@3.13")
    assert (track_of("tbb"), track_of("py_asyncio"), track_of("py_asyncio@3.13t")) == ("cpp", "python", "python@3.13t")
    assert track_label("python@3.13t") == "Python 3.13t track" and track_label("cpp") == ""


FAKE_INTERPRETER = """#!{python}
# Reports itself as Python {version} ({build}) and runs everything else on {python};
# each run's PYTHON_GIL goes to {log}.
import json, os, subprocess, sys
args = sys.argv[1:]
rest = args[1:] if args[:1] in (["-P"], ["-I"]) else args  # the safe-path flag parbench passes
if rest[:1] == ["-c"] and "version_info" in rest[1]:
    print("{major} {minor}")
elif rest[1:] == ["pytrack", "info"]:
    info = json.loads(subprocess.run([{python!r}, *args], capture_output=True, text=True, check=True).stdout)
    info.update(python_version="{version}", free_threaded={free_threaded})
    print(json.dumps(info))
else:
    with open({log!r}, "a") as log:
        log.write(repr(os.environ.get("PYTHON_GIL")) + " " + " ".join(a for a in args if a.startswith("--tag")) + "\\n")
    os.execv({python!r}, [{python!r}, *args])
"""


def fake_interpreter(tmp_path, version, free_threaded):
    path = tmp_path / f"python{version}{'t' if free_threaded else ''}"
    major, minor = version.split(".")[:2]
    path.write_text(FAKE_INTERPRETER.format(python=sys.executable, version=version, major=major, minor=minor,
                                            free_threaded=free_threaded, log=str(tmp_path / "gil.log"),
                                            build="free-threaded" if free_threaded else "with the GIL"))
    path.chmod(0o755)
    return path


TWO_INTERPRETERS = """
[sweep]
size = "small"
workloads = ["primes"]
models = ["py_serial", "py_threads", "py_process_pool"]
workers = [1, 2]
repetitions = 3
min_time = 0.01
family_timeout = 300
primitives = ["py/sync/lock"]
python = {pythons}
"""


def test_more_interpreters_run_the_workloads_under_tagged_names(tmp_path):
    # a free-threaded "3.99t": its models tagged @3.99t, and the thread models again with the
    # GIL forced on (@3.99t-gil1, PYTHON_GIL=1); the primitives only on the first interpreter
    fake = fake_interpreter(tmp_path, "3.99.0", True)
    result = sweep(tmp_path, TWO_INTERPRETERS.format(pythons=json.dumps([sys.executable, str(fake)])))
    assert result.returncode == 0, result.stdout + result.stderr
    out = tmp_path / "run"
    state = json.loads((out / "sweep.json").read_text())
    families = {f["family"]: f for f in state["families"]}
    assert set(families) == {
        "primes/py_serial", "primes/py_threads", "primes/py_process_pool", "py/sync/lock",
        "primes/py_serial@3.99t", "primes/py_threads@3.99t", "primes/py_process_pool@3.99t",
        "primes/py_serial@3.99t-gil1", "primes/py_threads@3.99t-gil1"}, sorted(families)
    assert families["primes/py_threads@3.99t-gil1"]["track"] == "python@3.99t-gil1"
    assert [t["track"] for t in state["python_tracks"]] == ["python", "python@3.99t", "python@3.99t-gil1"]
    runs = (tmp_path / "gil.log").read_text().splitlines()
    assert runs and all(line.startswith("'1' --tag=3.99t-gil1") or line.startswith("None --tag=3.99t ")
                        or line == "None --tag=3.99t" for line in runs), runs
    assert any("gil1" in line for line in runs) and any("gil1" not in line for line in runs)

    analysis = json.loads((out / "analysis.json").read_text())
    points = {(p["model"], p["p"]): p for p in analysis["points"] if p["workload"] == "primes"}
    tagged = points[("py_threads@3.99t", 2)]
    assert tagged["speedup"] == pytest.approx(points[("py_serial@3.99t", 1)]["median_s"] / tagged["median_s"],
                                              rel=1e-4)
    rows = analysis["python"]["interpreters"]
    assert [r["track"] for r in rows] == ["python", "python@3.99t", "python@3.99t-gil1"]
    assert rows[0]["serial_ratio"] is None and rows[1]["serial_ratio"] > 0
    assert rows[2]["py_process_pool"] is None and rows[2]["py_threads"] > 0
    assert {v["track"] for v in analysis["verdicts"]} >= {"python", "python@3.99t"}
    report = (out / "report.md").read_text()
    assert "### Interpreters and the GIL" in report and "models @3.99t-gil1" in report
    assert (out / "plots" / "speedup_python-3.99t.png").exists()
    assert (out / "python_interpreters.csv").read_text().count("\n") == 4


def test_an_interpreter_named_twice_is_one_line(tmp_path):
    result = sweep(tmp_path, TWO_INTERPRETERS.format(pythons=json.dumps([sys.executable, sys.executable])))
    assert result.returncode == 2 and "more than once" in result.stderr.strip().splitlines()[-1], result.stderr
    alias = tmp_path / "python-alias"
    alias.symlink_to(sys.executable)
    result = sweep(tmp_path, TWO_INTERPRETERS.format(pythons=json.dumps([sys.executable, str(alias)])))
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1 and "are both Python" in lines[0], result.stderr
    for bad in ("[]", '[""]', "[3]"):
        result = sweep(tmp_path, TWO_INTERPRETERS.format(pythons=bad))
        assert result.returncode == 2 and "[sweep] python" in result.stderr, (bad, result.stderr)


def other_interpreter():
    """An installed CPython of another version than this one (3.9 or newer), or None."""
    import glob
    import shutil
    candidates = [shutil.which(f"python3.{minor}") for minor in range(9, 16)]
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.*/bin/python3")))
    mine = "%d.%d" % sys.version_info[:2]
    for path in filter(None, candidates):
        found = subprocess.run([path, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                               capture_output=True, text=True)
        version = found.stdout.strip()
        if found.returncode == 0 and version != mine and tuple(map(int, version.split("."))) >= (3, 9):
            return path, version
    return None


def test_a_real_second_interpreter_runs_every_workload(tmp_path):
    """Every workload on every model, verified, on a CPython of another version (as the sweep
    runs a second interpreter: tagged, workloads only)."""
    found = other_interpreter()
    if found is None:
        pytest.skip("no CPython of another version installed")
    path, version = found
    out = tmp_path / "other.json"
    environment = dict(os.environ, PYTHONPATH=str(ROOT / "scripts"))
    result = subprocess.run([path, "-m", "pytrack", f"--tag={version}", "--size=small", "--p=2", "--concurrency=4",
                             "--workloads=all", "--primitives=none", "--benchmark_min_time=0.01",
                             f"--benchmark_out={out}"],
                            capture_output=True, text=True, env=environment, timeout=600)
    assert result.returncode == 0, result.stderr
    document = json.loads(out.read_text())
    assert document["context"]["python_version"].startswith(version + ".")
    runs = [b for b in document["benchmarks"] if b.get("run_type") == "iteration"]
    assert not [b for b in runs if b.get("error_occurred")], [b for b in runs if b.get("error_occurred")]
    from pytrack import registry
    workloads = {w.name for w in registry.workloads() if not w.unavailable}
    assert {b["run_name"].split("/")[0] for b in runs} >= workloads - {"matmul_numpy"}
    assert all(b["run_name"].split("/")[1].endswith(f"@{version}") for b in runs)
