"""What the machine and build were: the sweep's env.json."""
from __future__ import annotations

import hashlib
import os
import platform
import re
import socket
import subprocess
import sys
from pathlib import Path

from . import UserError
from .topology import read_topology
from .util import OutputTooLarge, read_regular_text, run_bounded

RELEVANT_VARIABLES = re.compile(r"^(OMP_|GOMP_|KMP_|TBB_|PARBENCH_|MALLOC_|LD_PRELOAD$)")


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text().strip()
    except (OSError, ValueError):  # ValueError: not UTF-8
        return None


def _run(command: list[str], cwd: Path | None = None) -> str | None:
    try:
        result = run_bounded(command, cwd=cwd, timeout=10, limit=1 << 20)
    except (OSError, subprocess.TimeoutExpired, OutputTooLarge):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def machine_fingerprint(cpu: dict) -> dict:
    """What tells this machine from another of the same host name: CPU model, cores, memory,
    kernel and a digest of /etc/machine-id (the id itself is not recorded)."""
    memory = re.search(r"^MemTotal:\s+(\d+) kB", _read("/proc/meminfo") or "", re.M)
    machine_id = _read("/etc/machine-id")
    return {"cpu_model": cpu.get("model"), "physical_cores": cpu.get("physical_cores"),
            "hardware_threads": cpu.get("hardware_threads"),
            "memory_kib": int(memory.group(1)) if memory else None, "kernel": platform.release(),
            "machine_id_sha256": hashlib.sha256(machine_id.encode()).hexdigest()[:16] if machine_id else None}


def _topology_record() -> dict:
    """The topology for env.json; a sysfs that cannot be read (a container's) is said, and the
    sweep goes on."""
    try:
        return read_topology().record()
    except UserError as error:
        return {"error": str(error)}


def cpu_info() -> dict:
    text = _read("/proc/cpuinfo") or ""
    model, mhz, cores = None, [], set()
    physical_id = core_id = None
    for line in text.splitlines() + [""]:
        key, _, value = (part.strip() for part in line.partition(":"))
        if key == "model name":
            model = value
        elif key == "cpu MHz":
            mhz.append(float(value))
        elif key == "physical id":
            physical_id = value
        elif key == "core id":
            core_id = value
        elif not line.strip():
            if core_id is not None:
                cores.add((physical_id, core_id))
            physical_id = core_id = None
    threads = os.cpu_count() or 1
    physical = len(cores) or threads
    caches = []
    for index in sorted(Path("/sys/devices/system/cpu/cpu0/cache").glob("index*")):
        caches.append({"level": _read(f"{index}/level"), "type": _read(f"{index}/type"),
                       "size": _read(f"{index}/size"),
                       "shared_with_cpus": _read(f"{index}/shared_cpu_list")})
    smt_active = _read("/sys/devices/system/cpu/smt/active")
    return {
        "model": model or platform.processor() or "unknown",
        "physical_cores": physical,
        "hardware_threads": threads,
        "smt": (smt_active == "1") if smt_active is not None else threads > physical,
        "mhz": round(sum(mhz) / len(mhz), 1) if mhz else None,
        "governor": _read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor") or "unknown",
        "caches": caches,
    }


def cmake_cache(build_dir: Path) -> dict:
    values = {}
    for line in (_read(str(build_dir / "CMakeCache.txt")) or "").splitlines():
        match = re.match(r"^(CMAKE_CXX_COMPILER|CMAKE_BUILD_TYPE|CMAKE_CXX_FLAGS\w*|PARBENCH_\w+):\w+=(.*)$", line)
        if match:
            values[match.group(1)] = match.group(2)
    return values


def package_versions() -> dict:
    versions = {}
    for package in ("libbenchmark-dev", "libtbb-dev", "libgomp1", "g++", "libgtest-dev", "liburing-dev"):
        versions[package] = _run(["dpkg-query", "-W", "-f=${Version}", package]) or "unknown"
    return versions


def network_text(loopback: dict, hosts: bool) -> str:
    """Which interfaces Open MPI's TCP traffic and listeners used (the report shows it)."""
    if loopback:
        shown = ", ".join(f"{k}={v}" for k, v in loopback.items() if k.startswith("OMPI_MCA_"))
        bound = ("its listeners bound to 127.0.0.1 and ::1 (libparbench_loopback.so: Open MPI 4.1 binds "
                 "them to every interface whatever it is told)" if "LD_PRELOAD" in loopback
                 else "its listeners as Open MPI binds them (no loopback library beside the binary)")
        return f"loopback only (every rank on this host): {shown}; {bound}"
    chosen = ", ".join(f"{k}={v}" for k, v in sorted(os.environ.items())
                       if (k.startswith("OMPI_MCA_") and "_if_" in k) or k == "PARBENCH_MPI_LOOPBACK")
    return ("the interfaces Open MPI chooses (" + ("hosts or a hostfile given" if hosts else "set in the environment")
            + (f": {chosen}" if chosen else ": every interface") + ")")


def mpi_info(settings, launch: list[str] | None = None, loopback: dict | None = None) -> dict:
    """The MPI set-up a sweep ran with: Open MPI's version, the launcher and the command of a job
    (`launch`, with <p> for the rank count), hosts, the network interfaces, transports, binding
    and the mpi model's schedule (PARBENCH_MPI_SCHEDULE)."""
    version = _run([settings.launcher, "--version"]) or "unknown"
    hosts = list(settings.hosts or [])
    if settings.hostfile:
        try:
            text = read_regular_text(Path(settings.hostfile), follow=True, limit=1 << 20)
        except UserError:
            text = ""  # the sweep has checked it; gone or changed since: no hosts to name
        hosts = [line.split("#")[0].strip() for line in text.splitlines() if line.split("#")[0].strip()]
    return {"library": version.splitlines()[0] if version else "unknown", "launcher": settings.launcher,
            "launcher_args": list(settings.launcher_args),
            "hosts": hosts or [f"{socket.gethostname()} (this machine only)"],
            "hostfile": settings.hostfile,
            "network": network_text(loopback or {}, bool(settings.hosts or settings.hostfile)),
            "transport": settings.transport or "Open MPI's default (shared memory on a host, TCP between hosts)",
            "ranks_start": "one mpirun job per rank count (rank 0 runs the benchmarks)",
            "launch": " ".join(launch or []),
            # Departures from Open MPI's defaults, and what they mean here.
            "oversubscribe": "--oversubscribe on every job, so that p may exceed the cores (p = 2 x cores)",
            "binding": "Open MPI's default: each rank bound to a core while the ranks fit the cores; "
                       "unbound when oversubscribed",
            "schedule": os.environ.get("PARBENCH_MPI_SCHEDULE")
            or "dynamic (the default: chunks claimed from a shared counter; cyclic when ranks span hosts)"}


# How the report names env.json's "libraries" (a key not here is shown as it is).
LIBRARY_NAMES = {"google_benchmark": "Google Benchmark", "onetbb": "oneTBB", "openmp": "OpenMP",
                 "compiler_package": "g++ (Debian package)", "liburing": "liburing"}


def collect(root: Path, build_dir: Path, binary_info: dict) -> dict:
    """Everything but the load average after the run (the sweep adds that)."""
    sha = _run(["git", "rev-parse", "HEAD"], cwd=root)
    dirty = _run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root)
    branch = _run(["git", "rev-parse", "--abbrev-ref", "HEAD"], cwd=root)  # "HEAD" when detached
    # the committer date orders commits in the history (measurement order is not commit order)
    commit_date = _run(["git", "show", "-s", "--format=%cI", "HEAD"], cwd=root)
    versions = package_versions()
    try:
        import matplotlib
        import numpy
        import scipy
        python_packages = {"numpy": numpy.__version__, "scipy": scipy.__version__,
                           "matplotlib": matplotlib.__version__}
    except ImportError:  # pragma: no cover - the entry script checks this
        python_packages = {}
    cpu = cpu_info()
    return {
        "hostname": socket.gethostname(),
        "machine": machine_fingerprint(cpu),
        # a name for a class of machines (CI runners are a new VM each job): the history pools
        # them by this name, CPU model and thread count instead of by each VM's own id
        "machine_name": " ".join(os.environ.get("PARBENCH_MACHINE", "").split()),
        "topology": _topology_record(),
        "kernel": platform.release(),
        "os": _read("/etc/debian_version") and f"Debian {_read('/etc/debian_version')}" or platform.platform(),
        "cpu": cpu,
        "affinity": sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "load_average": {"before": list(os.getloadavg())},
        "git": {"sha": sha or "unknown", "dirty": bool(dirty), "branch": "" if branch in (None, "HEAD") else branch,
                "commit_date": commit_date or ""},
        "build": {"binary": binary_info, "cmake": cmake_cache(build_dir)},
        "libraries": {
            "google_benchmark": versions["libbenchmark-dev"],
            "google_benchmark_note": "Debian's package reports itself as a DEBUG build: the "
                                     "library's own build type, not parbench's (its effect is not "
                                     "measured here)",
            "onetbb": binary_info.get("tbb_version", "unknown") + f" (package {versions['libtbb-dev']})",
            "openmp": f"_OPENMP {binary_info.get('openmp_version', 'unknown')} (libgomp {versions['libgomp1']})",
            "compiler_package": versions["g++"],
            "liburing": versions["liburing-dev"],
        },
        "io_backend": {"backend": binary_info.get("io_backend", "unknown"),
                       "reason": binary_info.get("io_backend_reason", ""),
                       "forced_by": os.environ.get("PARBENCH_IO_BACKEND", "")},
        "environment": {k: v for k, v in sorted(os.environ.items()) if RELEVANT_VARIABLES.match(k)},
        "omp_wait_policy": binary_info.get("omp_wait_policy", "unknown"),
        "process_per_family": True,
        "python": {"version": sys.version.split()[0], **python_packages},
    }
