"""What the Python tests share: the repository's paths, running a verb or the binary, what a
bad input's answer must look like, and what a fault may not leave behind. Fixtures are in
tests/conftest.py; a test imports these helpers with `from support import ...`."""
import os
import subprocess
import sys
from pathlib import Path

from folder_tools import adopt, record_raw, rewrite_raw  # noqa: F401  (for the tests)

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "python" / "data"


def run_cli(*args, env=None):
    """Runs `python -m parbench ARGS` and returns the CompletedProcess."""
    environment = dict(os.environ, PYTHONPATH=str(ROOT / "scripts"), **(env or {}))
    return subprocess.run([sys.executable, "-m", "parbench", *map(str, args)], capture_output=True,
                          text=True, env=environment, timeout=600)


def bench_path() -> Path:
    return Path(os.environ.get("PARBENCH_BENCH", ROOT / "build" / "release" / "parbench_bench"))


def environment(extra: dict | None = None) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "scripts"), PARBENCH_BENCH=str(bench_path()))
    env.pop("PARBENCH_DEBUG", None)
    env.update(extra or {})
    return env


def cli(*args, env: dict | None = None, cwd=None, timeout: float = 600) -> subprocess.CompletedProcess:
    """python -m parbench ARGS (the verbs behind ./parbench)."""
    return subprocess.run([sys.executable, "-m", "parbench", *map(str, args)], capture_output=True, text=True,
                          env=environment(env), cwd=cwd, timeout=timeout)


def run_bench(*args, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([str(bench_path()), *map(str, args)], capture_output=True, text=True,
                          env=environment(env), timeout=timeout)


def assert_one_line(result: subprocess.CompletedProcess, needle: str, code: int = 2) -> None:
    """A bad input's answer: exit `code`, one line on stderr that names the problem."""
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    assert result.returncode == code, (result.returncode, result.stdout[-2000:], result.stderr[-2000:])
    assert len(lines) == 1, result.stderr
    assert needle in lines[0], (needle, lines[0])
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr, result.stderr


LEFTOVER_GLOBS = ("/tmp/parbench-io-*", "/tmp/parbench-family-*", "/tmp/parbench-fifo-*",
                  "/tmp/parbench-ceiling-*", "/dev/shm/parbench*", "/dev/shm/psm_*", "/dev/shm/sem.mp-*",
                  "/dev/mqueue/parbench*")


def leftovers() -> set[str]:
    """parbench's files, shared-memory objects and queues on this machine now, less the family
    folders of sweeps still running (another user's sweep on a shared machine: a test's own
    sweeps have ended when it looks, so a folder of theirs has a dead owner)."""
    import glob
    found = {path for pattern in LEFTOVER_GLOBS for path in glob.glob(pattern)}
    return {path for path in found if not _owned_by_a_live_sweep(path)}


def _owned_by_a_live_sweep(path: str) -> bool:
    """A folder named for a process still running (a sweep's family folder, a check's ceiling
    scratch folder: parbench-<kind>-<pid>-...), another test's or user's, in use."""
    name = os.path.basename(path)
    prefix = next((p for p in ("parbench-family-", "parbench-ceiling-") if name.startswith(p)), None)
    if prefix is None:
        return False
    owner = name[len(prefix):].split("-")[0]
    return owner.isdigit() and os.path.exists(f"/proc/{owner}")


def process_table() -> list[tuple[int, int, str]]:
    """(pid, parent pid, state) of every process now, from /proc."""
    table = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        table.append((int(entry), int(fields[1]), fields[0]))
    return table


def descendants(pid: int) -> list[int]:
    """The live (not zombie) processes below pid."""
    children: dict[int, list[int]] = {}
    for child, parent, state in process_table():
        if state != "Z":
            children.setdefault(parent, []).append(child)
    found, stack = [], [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def processes_running(program_part: str) -> list[int]:
    """Live processes whose command line contains program_part (not this test's own)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as file:
                command = file.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{entry}/stat") as stat:
                if stat.read().rsplit(")", 1)[1].split()[0] == "Z":
                    continue
        except OSError:
            continue
        if program_part in command:
            found.append(int(entry))
    return found


def plain_build_only() -> None:
    """Skips a test whose subject does not depend on the build (packaging, a fresh copy built on
    its own): the sanitizer builds' ctest runs the rest of tests/python with their binary."""
    import pytest
    if os.environ.get("PARBENCH_SANITIZED_BUILD"):
        pytest.skip("the same in every build: run with the plain (release) build's tests")
