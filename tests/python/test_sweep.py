"""A real (tiny) sweep end to end, and Ctrl-C in the middle of one."""
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from support import ROOT, run_cli

TINY = """
[sweep]
size = "small"
workloads = ["fib", "amdahl_s20", "primes"]
models = ["serial", "pool", "tbb", "processes", "process_pool"]
workers = [1, 2]
repetitions = 3
min_time = 0.01
family_timeout = 120
weak_scaling = true
primitives = ["overhead", "ipc", "psync"]
"""


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def processes_mentioning(text: str) -> list[int]:
    """Processes whose command line contains text: catches orphans, which children_of cannot."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if text in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_tiny_sweep_end_to_end(tmp_path, bench_binary):
    config = tmp_path / "tiny.toml"
    config.write_text(TINY)
    out = tmp_path / "run"
    result = run_cli("sweep", "--config", config, "--out", out, env={"PARBENCH_BENCH": str(bench_binary)})
    assert result.returncode == 0, result.stdout + result.stderr
    state = json.loads((out / "sweep.json").read_text())
    assert state["status"] == "complete"
    assert all(f["status"] == "ok" for f in state["families"])
    names = {(f["family"], f["weak"]) for f in state["families"]}
    assert ("fib/pool", False) in names and ("primes/tbb", True) in names  # weak scaling ran
    assert ("fib/pool", True) not in names  # fib has no weak-scaling form
    assert ("overhead/tasks/pool", False) in names
    assert not list((out / "raw").glob(".*"))  # no temporary files left
    env = json.loads((out / "env.json").read_text())
    assert env["cpu"]["hardware_threads"] >= 1 and "after" in env["load_average"]
    assert env["omp_wait_policy"] == "default"
    analysis = json.loads((out / "analysis.json").read_text())
    assert analysis["gustafson"]
    assert {r["mechanism"] for r in analysis["ipc"]} >= {"pipe", "shm_ring", "mqueue"}
    assert any(r["benchmark"].startswith("psync/counter/atomic") for r in analysis["psync"])
    assert {"processes", "process_pool"} <= {p["model"] for p in analysis["points"]}
    assert "processes" in analysis["model_notes"]
    assert (out / "plots" / "ipc.png").exists() and (out / "plots" / "processes.png").exists()
    report = (out / "report.md").read_text()
    assert "## Processes" in report and "## Inter-process communication" in report
    assert (out / "report.html").exists() and (out / "plots" / "speedup_threads.png").exists()
    check = run_cli("check", out)
    assert "serial fraction" in check.stdout and "check:" in check.stdout


def start_tiny_sweep(tmp_path: Path, bench_binary: Path) -> tuple[subprocess.Popen, Path]:
    """Starts the tiny sweep in the background (to be interrupted); returns it and its directory."""
    config = tmp_path / "tiny.toml"
    config.write_text(TINY)
    out = tmp_path / "run"
    environment = dict(os.environ, PYTHONPATH=str(ROOT / "scripts"), PARBENCH_BENCH=str(bench_binary))
    process = subprocess.Popen([sys.executable, "-m", "parbench", "sweep", "--config", str(config),
                                "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=environment)
    return process, out


def test_interrupt_keeps_finished_families_and_resume_completes(tmp_path, bench_binary):
    process, out = start_tiny_sweep(tmp_path, bench_binary)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # wait until two families are done
        try:
            state = json.loads((out / "sweep.json").read_text())
            if len(state["families"]) >= 2:
                break
        except (OSError, json.JSONDecodeError, KeyError):
            pass
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "--resume" in stderr
    assert children_of(process.pid) == [] and processes_mentioning(str(out)) == []
    state = json.loads((out / "sweep.json").read_text())
    assert state["status"] == "interrupted"
    kept = [f for f in state["families"] if f["status"] == "ok"]
    assert len(kept) >= 2
    for family in kept:
        json.loads((out / family["file"]).read_text())  # complete JSON, never half a file
    assert not list((out / "raw").glob(".*"))
    resumed = run_cli("sweep", "--resume", out, env={"PARBENCH_BENCH": str(bench_binary)})
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert f"({len(kept)} already done)" in resumed.stdout
    state = json.loads((out / "sweep.json").read_text())
    assert state["status"] == "complete" and all(f["status"] == "ok" for f in state["families"])


@pytest.mark.parametrize("delay", [0.0, 0.003, 0.02, 0.15])
def test_sigterm_at_any_moment_leaves_no_partial_file_or_process(tmp_path, bench_binary, delay):
    # The signal lands at a different point of starting and running the first families each time,
    # including the moment a child has been forked but not yet waited for.
    process, out = start_tiny_sweep(tmp_path, bench_binary)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (out / "sweep.json").exists():
        time.sleep(0.001)
    time.sleep(delay)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM, stderr
    assert "SIGTERM" in stderr and "--resume" in stderr
    assert processes_mentioning(str(out)) == []
    assert not list((out / "raw").glob(".*"))
    state = json.loads((out / "sweep.json").read_text())
    assert state["status"] == "interrupted"
    for family in state["families"]:
        json.loads((out / family["file"]).read_text())


def test_crashing_family_is_recorded_and_the_sweep_goes_on(tmp_path, bench_binary):
    # A stand-in binary that crashes for one family and defers to the real one otherwise.
    fake = tmp_path / "crashy"
    fake.write_text(f"""#!/bin/sh
case "$*" in *"benchmark_filter=^fib/pool("*) kill -SEGV $$ ;; esac
exec {bench_binary} "$@"
""")
    fake.chmod(0o755)
    config = tmp_path / "tiny.toml"
    config.write_text(TINY.replace('weak_scaling = true', 'weak_scaling = false'))
    out = tmp_path / "run"
    result = run_cli("sweep", "--config", config, "--out", out, env={"PARBENCH_BENCH": str(fake)})
    assert result.returncode == 1
    state = json.loads((out / "sweep.json").read_text())
    crashed = [f for f in state["families"] if f["status"] != "ok"]
    assert [f["family"] for f in crashed] == ["fib/pool"]
    assert "SIGSEGV" in crashed[0]["message"]
    assert len(state["families"]) > 5 and (out / "report.html").exists()
    assert "fib/pool" in (out / "report.md").read_text()


def test_family_past_its_time_limit_is_killed_and_recorded(tmp_path, bench_binary):
    hang = tmp_path / "hangs"
    hang.write_text(f"""#!/bin/sh
case "$*" in *"benchmark_filter=^primes/tbb("*) exec sleep 600 ;; esac
exec {bench_binary} "$@"
""")
    hang.chmod(0o755)
    config = tmp_path / "tiny.toml"
    # No primitive families here: under ASan with ctest's other jobs beside it, psync/manager took
    # 1.4 s alone, too close to a short limit. The limit stays well above any real family's time.
    config.write_text(TINY.replace("weak_scaling = true", "weak_scaling = false")
                      .replace('primitives = ["overhead", "ipc", "psync"]', "primitives = []")
                      .replace("family_timeout = 120", "family_timeout = 8"))
    out = tmp_path / "run"
    started = time.monotonic()
    result = run_cli("sweep", "--config", config, "--out", out, env={"PARBENCH_BENCH": str(hang)})
    assert result.returncode == 1
    assert time.monotonic() - started < 120
    state = json.loads((out / "sweep.json").read_text())
    failed = [f for f in state["families"] if f["status"] != "ok"]
    assert [(f["family"], f["status"]) for f in failed] == [("primes/tbb", "timeout")]
    assert not list((out / "raw").glob(".*"))


HOGGED = """
[sweep]
size = "small"
workloads = ["primes"]
models = ["serial", "pool"]
workers = [1, 2]
repetitions = 3
min_time = 0.2
family_timeout = 120
weak_scaling = false
primitives = []
"""


def test_a_sweep_beside_a_cpu_hog_says_so_at_the_top(tmp_path, bench_binary):
    """Every CPU busy with another program while the sweep runs: the report's first lines judge
    the run before any result, with the share of disturbed families and how to rerun."""
    config = tmp_path / "hogged.toml"
    config.write_text(HOGGED)
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(os.cpu_count() or 1)]
    try:
        result = run_cli("sweep", "--config", config, "--out", tmp_path / "run",
                         env={"PARBENCH_BENCH": str(bench_binary)})
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    assert result.returncode == 0, result.stdout + result.stderr
    top = "\n".join((tmp_path / "run" / "report.md").read_text().splitlines()[:15])
    assert re.search(r"Run quality: (not trustworthy|use with care)\.", top), top
    assert re.search(r"\d+\.\d% of the families ran disturbed by other work", top), top
    assert "Rerun on a quiet machine" in top
