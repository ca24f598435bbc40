"""`./parbench bench`: the binary with the user's selection and Google Benchmark flags, its MPI
benchmarks launched as the sweep launches them (a job of each rank count under the [mpi]
launcher) instead of spawning their ranks from a singleton over TCP."""
from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys

from .. import UserError, config as config_module
from ..gbench import parse_run_name
from .family import family_io_directory
from .mpi import check_mpi_setup, job_ranks, launcher_command, mpi_environment, mpi_session_folders
from .paths import binary_path
from .tracks import _run_binary

# Flags after which the binary prints and exits: run as they are.
_PASS_THROUGH = ("--help", "-h", "--version", "--benchmark_list_tests")


def bench(args: list[str]) -> int:
    binary = binary_path()
    if (args and args[0] in ("list", "info", "selfcheck")) or any(a.startswith(_PASS_THROUGH) for a in args):
        os.execv(binary, [str(binary), *args])
    config = config_module.load("default")  # its [mpi] table: the launcher the sweep uses
    groups: dict[int, list[str]] = {}
    for line in _run_binary(binary, [*args, "--benchmark_list_tests=true"], dict(os.environ)).splitlines():
        if line.strip():
            family, run_args = parse_run_name(line.strip())
            groups.setdefault(job_ranks(family, run_args), []).append(line.strip())
    if set(groups) <= {0}:  # nothing to launch: the binary as it is
        os.execv(binary, [str(binary), *args])
    if any(a.startswith("--benchmark_out=") for a in args):
        raise UserError("--benchmark_out: MPI benchmarks run as separate jobs here (one per rank count); "
                        "select them alone per file, or use ./parbench sweep, which collects them")
    check_mpi_setup(config, [_Job(ranks) for ranks in groups])
    status = 0
    for ranks, names in sorted(groups.items()):
        if ranks:
            print(f"parbench: {len(names)} benchmark(s) as a job of {ranks} ranks: "
                  f"{' '.join(launcher_command(config, ranks))}", file=sys.stderr, flush=True)
        status = max(status, _run_job(config, binary, args, ranks, names))
    return status


class _Job:
    """What check_mpi_setup asks of a family: its rank count."""

    def __init__(self, ranks: int):
        self.ranks = ranks


def _run_job(config, binary, args: list[str], ranks: int, names: list[str]) -> int:
    """One group of benchmarks: the binary alone (ranks 0), or a job of ranks with its session
    files in folders of its own, removed however it ended."""
    wanted = f"--benchmark_filter=^({'|'.join(re.escape(name) for name in names)})$"
    command = [*(launcher_command(config, ranks) if ranks else []), str(binary),
               *[a for a in args if not a.startswith("--benchmark_filter=")], wanted]
    env = mpi_environment(config, dict(os.environ), binary) if ranks else dict(os.environ)
    with contextlib.ExitStack() as cleanup:
        io_folder = cleanup.enter_context(family_io_directory(env))
        env = dict(env, PARBENCH_IO_DIR=io_folder)
        if ranks:
            env = cleanup.enter_context(mpi_session_folders(env, io_folder))
        # Its own process group: Ctrl-C reaches the launcher, which ends its ranks and reaps them.
        return subprocess.run(command, env=env).returncode
