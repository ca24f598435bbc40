"""Shared helpers of the adversarial tests: run a verb, and check what a bad input or a fault
must leave: one clear line, a non-zero exit, no traceback, nothing behind."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "tests"))
from folder_tools import adopt, record_raw, rewrite_raw  # noqa: E402,F401  (for the tests)


def bench_path() -> Path:
    return Path(os.environ.get("PARBENCH_BENCH", ROOT / "build" / "release" / "parbench_bench"))


@pytest.fixture
def bench():
    path = bench_path()
    if not path.exists():
        pytest.skip("no benchmark binary (run under ctest, or ./parbench list first)")
    return path


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


def descendants(pid: int) -> list[int]:
    """The live (not zombie) processes below pid."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            children.setdefault(int(fields[1]), []).append(int(entry))
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


@pytest.fixture
def clean_machine():
    """Asserts the test left no parbench file, shared-memory object or queue behind."""
    before = leftovers()
    yield
    after = leftovers() - before
    assert not after, f"left behind: {sorted(after)}"


@pytest.fixture(autouse=True, scope="session")
def _private_state_dir(tmp_path_factory):
    """This machine's record of its sweeps (and its key) in a folder of the test session's:
    the tests' sweeps are not added to the user's own (~/.local/state/parbench)."""
    os.environ["PARBENCH_STATE_DIR"] = str(tmp_path_factory.mktemp("parbench-state"))
    yield
