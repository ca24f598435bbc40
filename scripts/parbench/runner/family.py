"""One family in its own process: its command, its private folders, its child set-up, its attempts
and the verdict on each."""
from __future__ import annotations

import contextlib
import ctypes
import functools
import hashlib
import json
import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from .. import UserError, stop_signals, scratch
from ..gbench import load_file
from ..util import atomic_write_text, make_folder, open_new_for_writing
from ..scratch import FAMILY_IO_PREFIX, NoFolder, private_folder
from .mpi import MPI_POINT_TO_POINT, is_mpi_family, launcher_command, mpi_environment, mpi_session_folders
from .disturbance import CpuSample, disturbance


@dataclass
class Family:
    name: str          # e.g. "primes/pool"
    weak: bool         # weak-scaling variant
    instances: int     # benchmarks in it (for the ETA)
    omp_wait: str = ""  # "", or the OpenMP wait policy this run of the family uses
    ranks: int = 0      # MPI families: the job of this many ranks the launcher starts (0: none)
    # "": the C++ binary; "python": the Python track (python3 -m pytrack) on the first
    # interpreter; "python@3.13" (or @3.13t, @3.13t-gil1): on another interpreter
    track: str = ""
    # sizes this run uses instead of the config's (the C++ serial model at the Python track's
    # sizes, for the cross-language comparison), e.g. "150000"; "": the config's
    sizes: str = ""
    # "", or the affinity policy (compact, spread) its workers are bound by (--affinity=)
    affinity: str = ""
    # worker counts this run uses instead of the track's, e.g. "32,64" (a bound family runs where
    # the policies place workers differently); "": the track's
    workers: str = ""
    # "", or "interleave": its pages dealt over the NUMA nodes (--numa=) instead of placed by
    # first touch
    numa: str = ""

    @property
    def key(self) -> str:
        return (self.name + ("|weak" if self.weak else "") + (f"|wait:{self.omp_wait}" if self.omp_wait else "")
                + (f"|ranks:{self.ranks}" if self.ranks else "") + (f"|sizes:{self.sizes}" if self.sizes else "")
                + (f"|affinity:{self.affinity}" if self.affinity else "") + (f"|numa:{self.numa}" if self.numa else ""))

    @property
    def label(self) -> str:
        return (self.name + (" (weak)" if self.weak else "") + (f" (wait:{self.omp_wait})" if self.omp_wait else "")
                + (f" ({self.ranks} ranks)" if self.ranks else "") + (" (Python track's sizes)" if self.sizes else "")
                + (f" (affinity:{self.affinity})" if self.affinity else "")
                + (f" (numa:{self.numa})" if self.numa else ""))

    @property
    def stem(self) -> str:
        return (self.name.replace("/", "__") + ("__weak" if self.weak else "")
                + (f"__wait-{self.omp_wait}" if self.omp_wait else "")
                + (f"__ranks-{self.ranks}" if self.ranks else "") + ("__py-sizes" if self.sizes else "")
                + (f"__affinity-{self.affinity}" if self.affinity else "")
                + (f"__numa-{self.numa}" if self.numa else ""))

    @property
    def benchmark_filter(self) -> str:
        """Google Benchmark's filter: the family, and for an MPI job only its rank count's runs
        (the one-rank runs of an MPI family, no job, on their own: run there, the other rank
        counts would spawn their ranks and repeat the jobs' points over TCP)."""
        if self.ranks and not self.name.startswith(MPI_POINT_TO_POINT):
            return f"^{re.escape(self.name)}/(.*/)?(p|ranks):{self.ranks}(/|$)"
        if not self.ranks and is_mpi_family(self.name) and not self.name.startswith("mpi/"):
            return f"^{re.escape(self.name)}/(.*/)?p:1(/|$)"
        return f"^{re.escape(self.name)}(/|$)"

    def environment(self, env: dict) -> dict:
        """The family process's environment: its OpenMP wait policy, if it has one."""
        if not self.omp_wait:
            return env
        env = dict(env)
        if self.omp_wait == "default":
            env.pop("OMP_WAIT_POLICY", None)
        else:
            env["OMP_WAIT_POLICY"] = self.omp_wait
        return env

    @classmethod
    def from_record(cls, record: dict) -> "Family":
        return cls(record["family"], bool(record.get("weak")), int(record.get("instances", 1)),
                   record.get("omp_wait", ""), int(record.get("ranks", 0)), record.get("track", ""),
                   record.get("sizes", ""), record.get("affinity", ""), record.get("workers", ""),
                   record.get("numa", ""))


def _kill_group(process: subprocess.Popen) -> None:
    """Ends the family's process group and reaps the child (no zombie)."""
    for sig, grace in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            try:
                pid, status = os.waitpid(process.pid, os.WNOHANG)
            except ChildProcessError:
                process.returncode = -sig
                return
            if pid:
                process.returncode = os.waitstatus_to_exitcode(status)
                return
            time.sleep(0.05)


def run_family(binary: Path, selection: list[str], family: Family, config, directory: Path,
               env: dict, stop: "StopRequest", out_path: Path | None = None) -> dict | None:
    """Runs one family in its own process group and moves its JSON to out_path (default
    raw/<stem>.json). Returns its record, or None when a stop was requested while it ran: the
    child is then killed and reaped and its partial output removed."""
    raw, logs = directory / "raw", directory / "logs"
    out_path = out_path or raw / f"{family.stem}.json"
    log_path = logs / f"{out_path.stem}.log"
    program = [str(binary)] if isinstance(binary, (str, Path)) else list(binary)
    if family.sizes:  # one workload on the serial model at the given sizes
        selection = [arg for arg in selection if not arg.startswith(("--size=", "--workloads=", "--models=",
                                                                     "--primitives="))]
        selection += [f"--size={family.sizes}", f"--workloads={family.name.split('/')[0]}", "--models=serial",
                      "--primitives=none"]
    if family.workers:
        selection = [arg for arg in selection if not arg.startswith(("--p=", "--auto-p="))] + [f"--p={family.workers}"]
    command = [*(launcher_command(config, family.ranks, family.affinity) if family.ranks else []),
               *program, *selection, *(["--scaling=weak"] if family.weak else []),
               *([f"--affinity={family.affinity}"] if family.affinity else []),
               *([f"--numa={family.numa}"] if family.numa else []),
               f"--benchmark_filter={family.benchmark_filter}",
               f"--benchmark_repetitions={config.repetitions}",
               f"--benchmark_min_time={config.min_time:g}",
               # Repetitions of the family's benchmarks in random order: a slow
               # drift of the machine then spreads over all p instead of
               # biasing one of them.
               "--benchmark_enable_random_interleaving=true", "--benchmark_out_format=json"]
    record = {"family": family.name, "weak": family.weak, "omp_wait": family.omp_wait, "ranks": family.ranks,
              "track": family.track, "sizes": family.sizes,
              **({"affinity": family.affinity, "workers": family.workers} if family.affinity else {}),
              **({"numa": family.numa} if family.numa else {}),
              "file": str(out_path.relative_to(directory)), "instances": family.instances,
              "status": "failed", "message": "", "seconds": 0.0, "max_rss_mib": None,
              "cpu_seconds": None, "disturbance": None}
    for folder in (out_path.parent, logs):
        make_folder(folder)
    before = CpuSample.take()
    start = time.monotonic()
    family_env = family.environment(env)
    one_host = not (is_mpi_family(family.name) and (config.mpi.hosts or config.mpi.hostfile))
    if is_mpi_family(family.name):
        family_env = mpi_environment(config, family_env)
    with contextlib.ExitStack() as cleanup:
        # The family's files (file_read's, file_write's) go to a folder of its own that the sweep
        # removes however the family ended: a killed child cannot remove its own.
        io_folder = cleanup.enter_context(family_io_directory(family_env))
        family_env = dict(family_env, PARBENCH_IO_DIR=io_folder)
        if is_mpi_family(family.name) and one_host:
            family_env = cleanup.enter_context(mpi_session_folders(family_env, io_folder))
        # Google Benchmark writes its output in that folder too (mkdtemp's: no one else can put
        # a link where it opens the file), then it is checked and moved into the results folder.
        # A job across hosts writes it in the results folder, which its rank 0 may reach.
        temporary = (Path(io_folder) / f"{out_path.name}.partial" if one_host
                     else out_path.parent / f".{out_path.name}.partial")
        command = [*command, f"--benchmark_out={temporary}"]
        return _run_child(command, family, config, directory, family_env, stop, record, out_path, temporary,
                          log_path, before, start)


def _io_variable(env: dict) -> str:
    return "PARBENCH_IO_DIR" if env.get("PARBENCH_IO_DIR") else "TMPDIR" if env.get("TMPDIR") else "the default"


def io_base(env: dict) -> Path:
    """Where the families' I/O folders go: PARBENCH_IO_DIR, else TMPDIR, else /tmp; checked
    before the sweep makes its results folder."""
    base = scratch.io_base(env)
    if not base.is_dir():
        raise UserError(f"{_io_variable(env)}={base}: no such folder (set PARBENCH_IO_DIR to a writable one)")
    if not os.access(base, os.W_OK | os.X_OK):
        raise UserError(f"{_io_variable(env)}={base}: not writable (set PARBENCH_IO_DIR to a writable one)")
    return base


@contextlib.contextmanager
def family_io_directory(env: dict):
    """A fresh folder for one family's files under PARBENCH_IO_DIR (else the temporary
    folder), removed afterwards; folders of sweeps that died (SIGKILL) are removed first."""
    base = io_base(env)
    try:
        with private_folder(base, FAMILY_IO_PREFIX) as folder:
            yield str(folder)
    except NoFolder as error:
        raise UserError(f"{_io_variable(env)}={base}: cannot make a folder there ({error})") from None


_PRCTL = ctypes.CDLL(None, use_errno=True).prctl  # looked up here: the child only calls it
PR_SET_PDEATHSIG = 1


def _family_child_setup(sweep_pid: int) -> None:
    """In the family's child, before exec: SIGKILL when the sweep dies, however it dies; and a
    umask that makes no file of the family writable by others, whatever the user's umask."""
    _PRCTL(PR_SET_PDEATHSIG, int(signal.SIGKILL))
    if os.getppid() != sweep_pid:  # the sweep died before prctl took effect
        os._exit(1)
    os.umask(os.umask(0o022) | 0o022)


# Lines of a family's log that say nothing about why it failed.
_NOISE = re.compile(r"\*\*\*WARNING\*\*\* Library was built as DEBUG|^-+$|^Running |^Run on |^CPU Caches|"
                    r"^  L\d |^Load Average|^\d{4}-\d\d-\d\dT")
_ERROR = re.compile(r"error|fail|abort|terminat|exception|traceback|what\(\)|cannot|denied|no such|"
                    r"killed|signal|timeout|ERROR", re.IGNORECASE)


def failure_reason(path: Path) -> str:
    """The log's last line that says what went wrong (an error, a failed check, an exception),
    else its last meaningful line, else ""."""
    try:
        lines = [line.strip() for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    lines = [line for line in lines if not _NOISE.search(line)]
    found = next((line for line in reversed(lines) if _ERROR.search(line)), lines[-1] if lines else "")
    return found[:300]


def _run_child(command, family, config, directory, family_env, stop, record, out_path, temporary, log_path,
               before, start) -> dict | None:
    temporary.unlink(missing_ok=True)  # a leftover, or a link planted there: the binary would write through it
    with open_new_for_writing(log_path) as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   env=family_env, start_new_session=True,
                                   preexec_fn=functools.partial(_family_child_setup, os.getpid()))
    family_cpu = 0.0
    deadline = start + config.family_timeout
    try:
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                process.returncode = os.waitstatus_to_exitcode(status)
                record["max_rss_mib"] = round(usage.ru_maxrss / 1024, 1)
                family_cpu = usage.ru_utime + usage.ru_stime
                break
            if stop.signal is not None:  # Ctrl-C or SIGTERM: stop the child, keep nothing half-done
                _kill_group(process)
                temporary.unlink(missing_ok=True)
                return None
            if time.monotonic() > deadline:
                _kill_group(process)
                record.update(status="timeout", message=f"killed after {config.family_timeout:g} s")
                break
            time.sleep(0.02)
    except BaseException:  # an exception in the parent (e.g. KeyboardInterrupt without a handler)
        _kill_group(process)
        temporary.unlink(missing_ok=True)
        raise
    elapsed = time.monotonic() - start
    record["seconds"] = round(elapsed, 2)
    record["cpu_seconds"] = round(family_cpu, 3)
    record["disturbance"] = disturbance(before, CpuSample.take(), elapsed, family_cpu)
    try:
        if record["status"] != "timeout":
            _judge(process.returncode, record, temporary, out_path, log_path)
    finally:
        temporary.unlink(missing_ok=True)  # a full disk or an error on the way: nothing half-done stays
    return record


def _judge(code: int, record: dict, temporary: Path, out_path: Path, log_path: Path) -> None:
    """The family's status from its exit and its JSON: ok (moved to out_path, with the size
    and checksum --resume checks), errors (a benchmark's error rows: the binary exits 1 and
    its first row's reason is the message) or failed (the exit, and the log's reason)."""
    if code in (0, 1) and temporary.exists():
        try:
            context, entries = load_file(temporary)
        except UserError as error:
            if code == 0:
                record.update(status="failed", message=str(error))
                return
        else:
            errors = [e for e in entries if e.get("error_occurred")]
            # The raw file says how it was measured: what disturbed it, its OpenMP policy.
            context["parbench_family"] = {key: record[key] for key in (
                "family", "weak", "omp_wait", "ranks", "track", "sizes", "instances", "seconds", "cpu_seconds",
                "disturbance")}
            text = json.dumps({"context": context, "benchmarks": entries}, indent=1) + "\n"
            atomic_write_text(out_path, text)
            record.update(bytes=len(text.encode()), sha256=hashlib.sha256(text.encode()).hexdigest())
            if errors:
                record.update(status="errors", message=f"{len(errors)} benchmark(s) reported an error, "
                              f"first: {errors[0].get('name')}: {errors[0].get('error_message')}")
                return
            if code == 0:
                record.update(status="ok")
                return
    reason = failure_reason(log_path)
    if code < 0:
        record.update(status="failed", message=f"killed by signal {signal.Signals(-code).name}"
                      + (f" (its log: {reason})" if reason else ""))
    else:
        record.update(status="failed", message=f"exit status {code}" + (f": {reason}" if reason else ""))


def _attempt_summary(record: dict) -> dict:
    return {key: record.get(key) for key in ("status", "seconds", "cpu_seconds", "disturbance")}


def _total(record: dict) -> float:
    return (record.get("disturbance") or {}).get("total", 0.0)


# /proc/stat counts in ticks of 10 ms per CPU: below this many CPU-seconds taken
# by others, a short family's "disturbance" is counting noise, not disturbance.
MIN_DISTURBED_CPU_SECONDS = 0.1
# A re-run at least this share as disturbed as the kept attempt reproduces the disturbance.
REPRODUCED_SHARE = 0.75


def _disturbed(record: dict, config) -> bool:
    figures = record.get("disturbance") or {}
    return (figures.get("total", 0.0) > config.disturbance_max
            and figures.get("cpu_seconds", 0.0) >= MIN_DISTURBED_CPU_SECONDS)


def run_with_reruns(binary: Path, selection: list[str], family: Family, config, directory: Path,
                    env: dict, stop: "StopRequest") -> dict | None:
    """Runs a family, and again while it was disturbed beyond config.disturbance_max (at most
    config.disturbance_reruns more times). Keeps the least disturbed successful attempt in raw/
    and moves the others to rejected/<stem>.attempt<N>.json. A failed attempt is the family's
    result: a crash or a wrong answer is never re-run away. None: stopped before any attempt
    finished."""
    final = directory / "raw" / f"{family.stem}.json"
    rejected = directory / "rejected"

    def aside(number: int) -> Path:
        return rejected / f"{family.stem}.attempt{number}.json"

    attempts: list[dict] = []
    kept: dict | None = None  # the least disturbed successful attempt so far; its file is `final`
    kept_number = 0
    reproduced = False  # a re-run was about as disturbed: the family's own pattern, stop
    for number in range(1, 2 + max(0, config.disturbance_reruns)):
        if kept is not None:
            if not _disturbed(kept, config) or reproduced or stop.signal is not None:
                break
            make_folder(rejected)
            os.replace(final, aside(kept_number))  # set aside while the next attempt runs
        record = run_family(binary, selection, family, config, directory, env, stop)
        if record is None:  # stopped mid-run: the kept attempt goes back in place
            if kept is not None:
                os.replace(aside(kept_number), final)
            break
        attempts.append(_attempt_summary(record))
        if record["status"] != "ok":
            record["attempts"] = attempts
            return record
        if kept is not None:
            # Not clearly quieter than the kept attempt: the disturbance comes with the family
            # (e.g. wake-ups the hypervisor counts as steal), and more runs will not remove it.
            reproduced = _total(record) >= REPRODUCED_SHARE * _total(kept)
        if kept is not None and _total(kept) <= _total(record):
            os.replace(final, aside(number))  # the earlier attempt was quieter: it stays
            os.replace(aside(kept_number), final)
        else:
            kept, kept_number = record, number
    if kept is None:
        return None
    kept["attempts"] = attempts
    kept["kept_attempt"] = kept_number
    kept["disturbance_reproduced"] = reproduced
    return kept


class StopRequest:
    """The stop signals' handler while families run: it only records the signal, which the
    sweep polls at safe points (between families and while waiting for one), so an interrupt
    can never land between starting a child and taking charge of it, or halfway through moving
    a result into place. Before it is installed (while the sweep sets up) and after, a stop
    signal raises at once (KeyboardInterrupt or Stopped) and the clean-ups on the way run."""

    def __init__(self) -> None:
        self.signal: int | None = None
        self.previous: dict = {}

    def __call__(self, signum, frame) -> None:
        self.signal = signum

    def install(self) -> None:
        self.previous = {sig: signal.signal(sig, self) for sig in stop_signals()}

    def restore(self) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)
        self.previous = {}
