"""Both revisions checked out side by side in git worktrees of their own (the user's checkout, its
index and its HEAD untouched), and each one's benchmark binary built there."""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from .. import UserError, stop_signals
from ..scratch import remove_stale
from ..util import one_line, run_bounded

# The temporary folder holding a run's two worktrees: <tmp>/parbench-ci-<pid>-...; one whose
# process is gone (a SIGKILLed ci) is removed by the next ci.
WORKTREE_PREFIX = "parbench-ci-"


class BuildFailed(Exception):
    """A side's binary could not be built: the run ends with exit 1, naming the side and its log."""


def _git(repo: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    try:
        return run_bounded(["git", *args], timeout=timeout, cwd=repo)
    except OSError as error:
        raise UserError(f"ci: cannot run git ({error.strerror})") from None
    except subprocess.TimeoutExpired:
        raise UserError(f"ci: git {args[0]} gave no answer within {timeout:g} s") from None


def resolve(repo: Path, revision: str, flag: str) -> str:
    """The full SHA of the commit `revision` names in repo; one line if it names none."""
    if not revision.strip() or revision.startswith("-"):
        raise UserError(f"ci {flag} {revision!r}: not a revision (a branch, tag or commit)")
    result = _git(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{revision}^{{commit}}")
    sha = result.stdout.strip()
    if result.returncode != 0 or not re.fullmatch(r"[0-9a-f]{40}([0-9a-f]{24})?", sha):
        raise UserError(f"ci {flag} {one_line(revision)}: names no commit of {repo} "
                        "(a shallow clone? fetch with fetch-depth: 0)")
    return sha


@contextlib.contextmanager
def _signals_held():
    """Stop signals held back while the worktrees are removed (a second Ctrl-C must not leave
    one behind); delivered when done."""
    held = set(stop_signals())
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


@contextlib.contextmanager
def worktrees(repo: Path, commits: dict[str, str]):
    """A detached worktree per side ({side: commit}) in a fresh temporary folder; yields {side:
    its root}. However the run ends (an error, Ctrl-C, SIGTERM), both are removed and pruned."""
    base = Path(tempfile.gettempdir())
    remove_stale(base, WORKTREE_PREFIX)
    _git(repo, "worktree", "prune")  # the records of worktrees whose folder is gone
    folder = Path(tempfile.mkdtemp(prefix=f"{WORKTREE_PREFIX}{os.getpid()}-", dir=base))
    added: list[Path] = []
    try:
        roots = {}
        for side, commit in commits.items():
            path = folder / side
            added.append(path)
            result = _git(repo, "worktree", "add", "--detach", "--quiet", str(path), commit)
            if result.returncode != 0:
                raise UserError(f"ci: git worktree add {side} ({commit[:12]}) failed: "
                                f"{one_line(result.stderr.strip() or result.stdout.strip())[:300]}")
            roots[side] = path
        yield roots
    finally:
        with _signals_held():
            for path in added:
                with contextlib.suppress(UserError):
                    _git(repo, "worktree", "remove", "--force", str(path))
            shutil.rmtree(folder, ignore_errors=True)
            with contextlib.suppress(UserError):
                _git(repo, "worktree", "prune")


def build_jobs() -> str:
    """PARBENCH_JOBS (as ./parbench builds), else every CPU."""
    jobs = os.environ.get("PARBENCH_JOBS") or str(os.cpu_count() or 1)
    if not jobs.isdigit() or int(jobs) < 1:
        raise UserError(f"PARBENCH_JOBS={jobs}: not a positive whole number of build jobs")
    return jobs


def _run_logged(command: list[str], cwd: Path, log) -> int:
    """Runs a build step with its output in log; a stop (an exception here) kills its whole
    process group (make and its compilers), so nothing writes into a worktree being removed."""
    log.write(f"$ {' '.join(command)}\n")
    log.flush()
    process = subprocess.Popen(command, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               start_new_session=True)
    try:
        return process.wait()
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise


def build_release(side: str, root: Path, log_path: Path) -> Path:
    """The release preset's benchmark binary built in worktree `root` (only that target: the
    Python track runs from the worktree's scripts/); its path. BuildFailed names the log."""
    jobs = build_jobs()
    build = root / "build" / "release"
    steps = [["cmake", "--preset", "release", f"-DPython3_EXECUTABLE={sys.executable}"],
             ["cmake", "--build", str(build), "--target", "parbench_bench", "-j", jobs]]
    with open(log_path, "w") as log:
        for step in steps:
            try:
                code = _run_logged(step, root, log)
            except OSError as error:
                raise BuildFailed(f"ci: building {side}: cannot run {step[0]} ({error.strerror})") from None
            if code != 0:
                raise BuildFailed(f"ci: building {side} failed ({' '.join(step[:2])}: exit {code}): "
                                  f"{_last_error(log_path)}; full log: {log_path}")
    binary = build / "parbench_bench"
    if not binary.exists():
        raise BuildFailed(f"ci: building {side} made no {binary.name}; full log: {log_path}")
    return binary


def _last_error(log_path: Path) -> str:
    try:
        lines = log_path.read_text(errors="replace").splitlines()
    except OSError:
        return "see the log"
    found = [line for line in lines if re.search(r"error|Error", line)]
    return one_line((found or lines or ["see the log"])[0 if found else -1])[:200]
