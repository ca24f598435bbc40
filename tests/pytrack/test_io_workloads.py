"""The Python track's I/O workloads (sleep_io, file_read, file_write, tcp_echo):
verified on every Python model at p = 1 and 3; every verifier can fail; nothing
left behind (no parbench-io-* directory, no child process: the echo server is
killed and reaped) after a run, after an exception inside the kernel and after
SIGTERM of the runner; and the same `answer` as the C++ workload at the same n."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pytrack import registry

ROOT = Path(__file__).resolve().parents[2]
IO_WORKLOADS = ["sleep_io", "file_read", "file_write", "tcp_echo"]
MODELS = [m.name for m in registry.models()]


def children():
    """Children of this process from /proc, zombies included (not reaped is left behind too)."""
    me = str(os.getpid())
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                command = cmdline.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if fields[1] == me and "resource_tracker" not in command:
            found.append((int(entry), fields[0], command))
    return found


def processes_with(marker):
    """Processes (any parent) whose environment holds marker."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                with open(f"/proc/{entry}/environ", "rb") as environ:
                    if marker.encode() in environ.read():
                        found.append(int(entry))
            except OSError:
                continue
    return found


@pytest.fixture
def io_dir(tmp_path, monkeypatch):
    """A private PARBENCH_IO_DIR: the workloads' directories appear in it and must be gone."""
    path = tmp_path / "io"
    path.mkdir()
    monkeypatch.setenv("PARBENCH_IO_DIR", str(path))
    return path


@pytest.fixture
def leaves_nothing(io_dir):
    before = {pid for pid, _, _ in children()}
    yield io_dir
    deadline = time.monotonic() + 5  # a pool's workers are joined by close(); be patient with the kernel
    while True:
        left = [c for c in children() if c[0] not in before]
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert not left, f"child processes left behind: {left}"
    assert list(io_dir.iterdir()) == [], "files or directories left in the I/O directory"


def workers_for(model):
    return [1, 3] if registry.find_model(model).parallel else [1]


@pytest.mark.parametrize("workload_name", IO_WORKLOADS)
def test_verified_on_every_model_and_every_verifier_can_fail(workload_name, leaves_nothing):
    workload = registry.find_workload(workload_name)
    assert workload.category == "io" and workload.concurrency_levels
    answers = {}
    for model_name in MODELS:
        for p in workers_for(model_name):
            n = workload.small_size * p  # requests per slot x concurrency, as the runner does
            with registry.find_model(model_name).create(p) as executor:
                instance = workload.prepare(n, executor)
                try:
                    instance.run(executor)
                    assert instance.verify() is None, f"{model_name} p={p}: {instance.verify()}"
                    instance.run(executor)  # a second run over the same set-up is as good
                    assert instance.verify() is None, f"{model_name} p={p} (second run): {instance.verify()}"
                    counters = instance.counters()
                    answers.setdefault(n, set()).add(counters["answer"])
                    assert instance.work()["items"] == n
                    instance.corrupt()
                    assert instance.verify(), f"{model_name} p={p}: corrupt() was not detected"
                finally:
                    instance.close()
                instance.close()  # closing twice is harmless
    for n, values in answers.items():
        assert len(values) == 1, f"n={n}: the answer depends on the model: {values}"


def kernel_fails(workload_name, instance):
    """Makes the next run raise inside the kernel; returns the exception types expected."""
    if workload_name == "file_read":
        os.unlink(os.path.join(instance.directory, "in_1"))
        return (FileNotFoundError,)
    if workload_name == "file_write":
        os.mkdir(os.path.join(instance.directory, "out_1"))  # open(O_WRONLY) of a directory
        return (IsADirectoryError,)
    if workload_name == "tcp_echo":
        instance.server.process.kill()  # the listener goes with it: connections are refused
        instance.server.process.wait()
        return (ConnectionError, RuntimeError)
    raise AssertionError(workload_name)


@pytest.mark.parametrize("workload_name", ["file_read", "file_write", "tcp_echo"])
@pytest.mark.parametrize("model_name", ["py_serial", "py_thread_pool", "py_processes", "py_asyncio"])
def test_nothing_left_after_an_exception_in_the_kernel(workload_name, model_name, leaves_nothing):
    workload = registry.find_workload(workload_name)
    p = 1 if model_name == "py_serial" else 3
    with registry.find_model(model_name).create(p) as executor:
        instance = workload.prepare(2 * p, executor)
        try:
            expected = kernel_fails(workload_name, instance)
            with pytest.raises(expected):
                instance.run(executor)
        finally:
            instance.close()


def test_a_bad_knob_is_a_clear_error_and_leaves_nothing(leaves_nothing, monkeypatch):
    for variable, workload_name in (("PARBENCH_SLEEP_US", "sleep_io"), ("PARBENCH_FILE_KIB", "file_read"),
                                    ("PARBENCH_WRITE_KIB", "file_write"), ("PARBENCH_TCP_PAYLOAD", "tcp_echo")):
        monkeypatch.setenv(variable, "-5")
        with registry.find_model("py_serial").create(1) as executor:
            with pytest.raises(ValueError, match=f"{variable}=-5: not an integer in"):
                registry.find_workload(workload_name).prepare(1, executor)
        monkeypatch.delenv(variable)


def test_a_missing_io_dir_names_it(monkeypatch, tmp_path):
    monkeypatch.setenv("PARBENCH_IO_DIR", str(tmp_path / "missing"))
    with registry.find_model("py_serial").create(1) as executor:
        with pytest.raises(RuntimeError, match="missing.*set PARBENCH_IO_DIR"):
            registry.find_workload("file_write").prepare(1, executor)


def test_io_dir_is_named_as_in_cpp(io_dir):
    with registry.find_model("py_serial").create(1) as executor:
        instance = registry.find_workload("file_read").prepare(1, executor)
        try:
            (made,) = list(io_dir.iterdir())
            assert made.name.startswith("parbench-io-") and len(made.name) == len("parbench-io-XXXXXX")
            assert sorted(os.listdir(made)) == ["in_0"] and (made / "in_0").stat().st_size == 64 * 1024
        finally:
            instance.close()
    assert list(io_dir.iterdir()) == []


def test_the_runner_cleans_up_on_sigterm(io_dir, tmp_path):
    """SIGTERM while file_write has its files and tcp_echo its server: the runner
    unwinds through close(): no directory, no server process afterwards."""
    marker = f"PARBENCH_IO_TEST_MARKER={os.getpid()}-{time.monotonic_ns()}"
    env = dict(os.environ, PYTHONPATH=str(ROOT / "scripts"), PARBENCH_IO_DIR=str(io_dir),
               PARBENCH_IO_TEST_MARKER=marker.split("=", 1)[1])
    for workload_name in ("file_write", "tcp_echo"):
        runner = subprocess.Popen(
            [sys.executable, "-m", "pytrack", f"--workloads={workload_name}", "--models=py_thread_pool",
             "--concurrency=4", "--size=2", "--benchmark_min_time=60"],
            cwd=ROOT / "scripts", env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                made = list(io_dir.iterdir())
                if workload_name == "file_write" and made and any(made[0].iterdir()):
                    break
                if workload_name == "tcp_echo" and len(processes_with(marker)) >= 2:  # runner and server
                    break
                time.sleep(0.02)
            else:
                pytest.fail(f"{workload_name}: the run never got going")
            time.sleep(0.2)  # in the timed loop
            runner.send_signal(signal.SIGTERM)
            _, stderr = runner.communicate(timeout=20)
        finally:
            if runner.poll() is None:
                runner.kill()
                runner.wait()
        assert runner.returncode == 128 + signal.SIGTERM, stderr.decode()
        assert list(io_dir.iterdir()) == [], f"{workload_name}: left in the I/O directory"
        deadline = time.monotonic() + 3
        while processes_with(marker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert processes_with(marker) == [], f"{workload_name}: a process outlived the runner"


def cpp_bench():
    path = os.environ.get("PARBENCH_BENCH") or str(ROOT / "build" / "release" / "parbench_bench")
    if not os.access(path, os.X_OK):
        pytest.skip(f"no C++ benchmark binary at {path} (build with ./parbench list, or set PARBENCH_BENCH)")
    return path


# The defaults, and knobs that change every input (a payload with a 5-byte tail word, no service delay).
KNOBS = {"sleep_io": {"PARBENCH_SLEEP_US": "2000"}, "file_read": {"PARBENCH_FILE_KIB": "5"},
         "file_write": {"PARBENCH_WRITE_KIB": "3"},
         "tcp_echo": {"PARBENCH_TCP_PAYLOAD": "13", "PARBENCH_TCP_DELAY_US": "0"}}


@pytest.mark.parametrize("knobs", ["defaults", "set"])
@pytest.mark.parametrize("workload_name", IO_WORKLOADS)
def test_the_answer_is_the_cpp_answer(workload_name, knobs, io_dir, monkeypatch):
    bench, n = cpp_bench(), 3
    for variable, value in (KNOBS[workload_name] if knobs == "set" else {}).items():
        monkeypatch.setenv(variable, value)
    completed = subprocess.run(
        [bench, f"--workloads={workload_name}", "--models=serial", f"--size={n}",
         "--benchmark_min_time=0.01", "--benchmark_format=json"],
        capture_output=True, text=True, timeout=120, env=dict(os.environ, PARBENCH_IO_DIR=str(io_dir)))
    assert completed.returncode == 0, completed.stderr
    (entry,) = [b for b in json.loads(completed.stdout)["benchmarks"]
                if b.get("run_type", "iteration") == "iteration"]
    assert not entry.get("error_occurred"), entry.get("error_message")
    assert entry["n"] == n and "answer" in entry, entry
    with registry.find_model("py_serial").create(1) as executor:
        instance = registry.find_workload(workload_name).prepare(n, executor)
        try:
            instance.run(executor)
            assert instance.verify() is None
            python_answer = instance.counters()["answer"]
        finally:
            instance.close()
    assert python_answer == entry["answer"], f"Python {python_answer!r}, C++ {entry['answer']!r}"
    assert list(io_dir.iterdir()) == []
