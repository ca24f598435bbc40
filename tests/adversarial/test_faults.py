"""Faults during a sweep: SIGKILL of the sweep or of its benchmark child, SIGTERM during a file
workload, a family timeout, a full disk, two writers at once, damaged raw files. Each ends with
every finished family intact, a clean --resume, and nothing left behind: no process, file,
shared-memory object or queue."""
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from support import assert_one_line, cli, environment, leftovers, processes_running

# Families of a second or two each: primes on two models, file_read on one (it writes files).
CONFIG = """
[sweep]
size = "small"
workloads = ["primes", "file_read", "sleep_io"]
models = ["serial", "threads"]
workers = [1, 2]
concurrency = [1, 4]
repetitions = 3
min_time = 0.2
family_timeout = 120
primitives = []
python = ""
"""


def start_sweep(tmp_path, config_text=CONFIG, out="run", extra=(), env=None) -> subprocess.Popen:
    config = tmp_path / "faults.toml"
    config.write_text(config_text)
    return subprocess.Popen([sys.executable, "-m", "parbench", "sweep", "--config", str(config),
                             "--out", str(tmp_path / out), *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=environment(env))


def state_of(folder: Path) -> dict:
    try:
        return json.loads((folder / "sweep.json").read_text())
    except (OSError, json.JSONDecodeError):
        return {}


def wait_for(condition, timeout=120.0, what="a condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def finished(folder: Path) -> list[dict]:
    return [f for f in state_of(folder).get("families", []) if f.get("status") == "ok"]


def family_processes(owner: int) -> list[int]:
    """The live processes of the families a sweep or check (pid `owner`) runs: their command
    lines name the family's own folder, parbench-family-<owner>-..."""
    return processes_running(f"parbench-family-{owner}-")


def running_family_child(sweep: subprocess.Popen) -> int | None:
    """The benchmark process of the family the sweep runs now."""
    pids = [pid for pid in family_processes(sweep.pid) if "parbench_bench" in
            Path(f"/proc/{pid}/exe").resolve(strict=False).name]
    return pids[0] if pids else None


def intact(folder: Path, records: list[dict]) -> None:
    """Each recorded family's raw file is the one the sweep wrote (size and SHA-256)."""
    for record in records:
        data = (folder / record["file"]).read_bytes()
        assert len(data) == record["bytes"] and hashlib.sha256(data).hexdigest() == record["sha256"], record["file"]


def orphans() -> list[int]:
    """Family processes whose sweep or check has ended (its pid, in their folder's name, is gone)."""
    found = []
    for pid in processes_running("parbench-family-"):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # it ended after it was listed
            continue
        if "parbench-family-" not in command:  # ended between the listing and this read (empty line)
            continue
        owner = command.split("parbench-family-", 1)[1].split("-", 1)[0]
        if owner.isdigit() and not Path(f"/proc/{owner}").exists():
            found.append(pid)
    return found


def nothing_left(folder: Path, before: set) -> None:
    wait_for(lambda: not orphans(), 15, "the family's processes to end")
    assert not (leftovers() - before), sorted(leftovers() - before)
    assert not list((folder / "raw").glob(".*.partial"))


def resume_completes(folder: Path) -> dict:
    result = cli("sweep", "--resume", folder, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    state = state_of(folder)
    assert state["status"] == "complete" and all(f["status"] == "ok" for f in state["families"])
    intact(folder, state["families"])
    return state


def test_sigkill_of_the_sweep_kills_its_child_and_resume_finishes(tmp_path, bench):
    before = leftovers()
    folder = tmp_path / "run"
    sweep = start_sweep(tmp_path)
    wait_for(lambda: len(finished(folder)) >= 1 and running_family_child(sweep), what="a family running")
    kept = finished(folder)
    child = running_family_child(sweep)
    sweep.kill()
    sweep.wait()
    # the benchmark child dies with its sweep (PR_SET_PDEATHSIG), not when its family would end
    wait_for(lambda: not Path(f"/proc/{child}").exists() or "Z" in Path(f"/proc/{child}/stat").read_text(),
             10, "the benchmark child to die with the sweep")
    intact(folder, kept)
    state = resume_completes(folder)
    assert {f["family"] for f in kept} <= {f["family"] for f in state["families"]}
    nothing_left(folder, before)


def test_sigkill_of_the_child_fails_its_family_with_the_signal(tmp_path, bench):
    before = leftovers()
    folder = tmp_path / "run"
    sweep = start_sweep(tmp_path)
    child = wait_for(lambda: running_family_child(sweep), what="a family running")
    os.kill(child, signal.SIGKILL)
    out, err = sweep.communicate(timeout=600)
    assert sweep.returncode == 1, out + err
    failed = [f for f in state_of(folder)["families"] if f["status"] != "ok"]
    assert len(failed) == 1 and failed[0]["message"].startswith("killed by signal SIGKILL"), failed
    assert "Library was built as DEBUG" not in failed[0]["message"]
    intact(folder, finished(folder))
    resume_completes(folder)
    nothing_left(folder, before)


def test_sigterm_during_file_read_leaves_no_files(tmp_path, bench):
    before = leftovers()
    folder = tmp_path / "run"
    io_dir = tmp_path / "io"
    io_dir.mkdir()
    config = CONFIG.replace('workloads = ["primes", "file_read", "sleep_io"]', 'workloads = ["file_read"]')
    sweep = start_sweep(tmp_path, config, env={"PARBENCH_IO_DIR": str(io_dir)})
    # the family's own folder appears, with the workload's files in it
    wait_for(lambda: any(io_dir.glob("parbench-family-*/parbench-io-*")), what="file_read's files")
    sweep.send_signal(signal.SIGTERM)
    out, err = sweep.communicate(timeout=120)
    assert sweep.returncode == 143, out + err
    assert "continue with: ./parbench sweep --resume" in err
    assert not list(io_dir.iterdir()), list(io_dir.iterdir())
    nothing_left(folder, before)
    resume_completes(folder)
    assert not list(io_dir.iterdir())


def test_a_family_timeout_is_recorded_and_leaves_nothing(tmp_path, bench):
    before = leftovers()
    folder = tmp_path / "run"
    config = CONFIG.replace("family_timeout = 120", "family_timeout = 1").replace(
        'workloads = ["primes", "file_read", "sleep_io"]', 'workloads = ["file_read"]').replace(
        "min_time = 0.2", "min_time = 2")
    sweep = start_sweep(tmp_path, config)
    out, err = sweep.communicate(timeout=300)
    assert sweep.returncode == 1, out + err
    families = state_of(folder)["families"]
    assert families and all(f["status"] == "timeout" for f in families), families
    nothing_left(folder, before)


def test_a_second_writer_is_refused_while_the_first_runs(tmp_path, bench):
    before = leftovers()
    folder = tmp_path / "run"
    first = start_sweep(tmp_path)
    wait_for(lambda: state_of(folder).get("families") is not None, what="the first sweep's state")
    second = cli("sweep", "--resume", folder)
    assert_one_line(second, f"in use by PID {first.pid}")
    third = cli("sweep", "--config", "quick", "--out", folder)
    assert third.returncode == 2 and ("in use by PID" in third.stderr or "already holds a sweep" in third.stderr)
    out, err = first.communicate(timeout=600)
    assert first.returncode == 0, out + err
    state = state_of(folder)
    assert state["status"] == "complete" and all(f["status"] == "ok" for f in state["families"])
    intact(folder, state["families"])
    assert (folder / "report.html").exists()
    nothing_left(folder, before)


def test_resume_redoes_missing_and_damaged_raw_files(tmp_path, bench):
    folder = tmp_path / "run"
    config = CONFIG.replace('workloads = ["primes", "file_read", "sleep_io"]', 'workloads = ["primes"]')
    sweep = start_sweep(tmp_path, config)
    sweep.communicate(timeout=600)
    assert sweep.returncode == 0
    records = {f["family"]: f for f in state_of(folder)["families"]}
    (folder / records["primes/serial"]["file"]).unlink()
    damaged = folder / records["primes/threads"]["file"]
    damaged.write_text(damaged.read_text()[:200])
    (folder / "raw" / ".leftover.json.partial").write_text("half")
    result = cli("sweep", "--resume", folder)
    assert result.returncode == 0, result.stderr
    assert "raw/primes__serial.json missing: primes/serial is run again" in result.stdout
    assert "raw/primes__threads.json changed since it was written" in result.stdout
    state = state_of(folder)
    assert {f["family"] for f in state["families"]} == {"primes/serial", "primes/threads"}
    intact(folder, state["families"])
    assert not (folder / "raw" / ".leftover.json.partial").exists()
    # results are for reading (0644 less the umask, like the charts), the sweep's state for its owner
    umask = os.umask(0)
    os.umask(umask)
    for path in [*(folder / "raw").glob("*.json"), folder / "report.md"]:
        assert path.stat().st_mode & 0o777 == 0o644 & ~umask, path
    assert (folder / "sweep.json").stat().st_mode & 0o777 == 0o600 & ~umask


@pytest.fixture
def small_tmpfs(tmp_path):
    """A 3 MiB tmpfs (root only): a disk that fills up."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)],
                                           capture_output=True).returncode != 0:
        pytest.skip("needs root to mount a tmpfs")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_a_full_disk_keeps_finished_families_and_resume_finishes(tmp_path, bench, small_tmpfs):
    before = leftovers()
    folder = small_tmpfs / "run"
    config = CONFIG.replace('workloads = ["primes", "file_read", "sleep_io"]', 'workloads = ["primes", "sleep_io"]')
    sweep = start_sweep(tmp_path, config, out=str(folder))
    wait_for(lambda: len(finished(folder)) >= 1, what="a finished family")
    filler = small_tmpfs / "filler"
    with open(filler, "wb", buffering=0) as file:  # the disk fills up under the running sweep (unbuffered:
        # a partly written block left in a buffer would fail again at close)
        try:
            while True:
                file.write(b"\0" * 65536)
                file.flush()
        except OSError:
            pass
    out, err = sweep.communicate(timeout=600)
    assert sweep.returncode != 0, out + err
    assert "Traceback" not in err and "internal error" not in err, err
    assert "No space left on device" in err or "No space left on device" in json.dumps(state_of(folder)), err
    kept = finished(folder)
    assert kept
    intact(folder, kept)
    filler.unlink()
    resume_completes(folder)
    nothing_left(folder, before)


def test_a_foreign_client_makes_tcp_echo_a_disturbed_run(bench):
    """Another program connected to the echo server's port: the run fails as disturbed
    instead of reporting a verified measurement."""
    import socket
    process = subprocess.Popen([str(bench), "--workloads=tcp_echo", "--models=serial", "--size=500",
                                "--benchmark_min_time=1", "--benchmark_repetitions=2"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ports = set()

    def listening_ports():
        found = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True).stdout
        mine = {str(pid) for pid in [process.pid, *processes_running("parbench_bench")]}
        return {int(line.split()[3].rsplit(":", 1)[1]) for line in found.splitlines()
                if "127.0.0.1:" in line and any(f"pid={pid}," in line for pid in mine)}

    ports = wait_for(listening_ports, 30, "the echo server's port")
    strangers = []
    for port in ports:
        for _ in range(5):
            stranger = socket.create_connection(("127.0.0.1", port), timeout=5)
            stranger.sendall(b"\0" * 16)  # not this run's token
            strangers.append(stranger)
    out, err = process.communicate(timeout=300)
    for stranger in strangers:
        stranger.close()
    assert process.returncode == 1, out[-2000:] + err[-2000:]
    assert "disturbed" in out and "not of this run" in out, out[-3000:]


def test_resume_rebuilds_a_lost_sweep_state_from_raw(tmp_path, bench):
    folder = tmp_path / "run"
    config = CONFIG.replace('workloads = ["primes", "file_read", "sleep_io"]', 'workloads = ["primes"]')
    sweep = start_sweep(tmp_path, config)
    sweep.communicate(timeout=600)
    assert sweep.returncode == 0
    kept = state_of(folder)["families"]
    state_path = folder / "sweep.json"
    state_path.write_text(state_path.read_text()[:100])  # truncated
    result = cli("sweep", "--resume", folder)
    assert result.returncode == 0, result.stderr
    assert "sweep.json unreadable" in result.stdout and "2 finished families found" in result.stdout
    assert "0 already done" not in result.stdout
    state = state_of(folder)
    assert {f["family"] for f in state["families"]} == {f["family"] for f in kept}
    assert {f["sha256"] for f in state["families"]} == {f["sha256"] for f in kept}  # nothing re-run


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_the_binary_removes_its_files_when_signalled(tmp_path, bench, sig):
    """Run directly (not by a sweep), the binary itself removes file_read's folder when
    SIGTERM or SIGINT ends it, and still dies of that signal."""
    io_dir = tmp_path / "io"
    io_dir.mkdir()
    process = subprocess.Popen([str(bench), "--workloads=file_read,file_write", "--models=serial,threads",
                                "--benchmark_min_time=2"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, env=dict(os.environ, PARBENCH_IO_DIR=str(io_dir)))
    wait_for(lambda: any(io_dir.glob("parbench-io-*/*")), 60, "file_read's files")
    process.send_signal(sig)
    assert process.wait(timeout=60) == -sig
    assert not list(io_dir.iterdir()), list(io_dir.rglob("*"))[:5]


def test_ctrl_c_during_checks_remeasurement_leaves_nothing_half_done(tmp_path, bench):
    before = leftovers()
    folder = tmp_path / "run"
    # no model reaches an efficiency of 1.9: the check re-measures
    sweep = start_sweep(tmp_path, CONFIG.replace('"primes", "file_read", "sleep_io"', '"primes"')
                        + "[check]\nefficiency_min = 1.9\n")
    out, err = sweep.communicate(timeout=600)
    assert sweep.returncode == 0, out + err
    check = subprocess.Popen([sys.executable, "-m", "parbench", "check", str(folder)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=environment())
    wait_for(lambda: family_processes(check.pid), what="a re-measurement running")
    check.send_signal(signal.SIGINT)
    out, err = check.communicate(timeout=120)
    assert check.returncode == 130, out + err
    assert "Traceback" not in err and "interrupted" in err, err
    assert not list((folder / "rechecks").glob(".*.partial"))
    json.loads((folder / "sweep.json").read_text())  # the state is whole
    intact(folder, finished(folder))
    nothing_left(folder, before)
