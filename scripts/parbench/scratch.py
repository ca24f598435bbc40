"""Scratch folders outside a results folder: each family's own (its files, Google Benchmark's
output, Open MPI's session files and shared-memory segments) and check's for the machine
ceiling. Each is made by mkdtemp (0700: no one else can put anything in it) with its owner's
PID in its name, and removed when done; one whose owner is gone (SIGKILL) is removed by the
next parbench that looks (remove_stale)."""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

FAMILY_IO_PREFIX = "parbench-family-"
CEILING_PREFIX = "parbench-ceiling-"
MPI_SHM_PREFIX = "parbench-mpi-"
SHARED_MEMORY = Path("/dev/shm")


class NoFolder(Exception):
    pass


def remove_stale(base: Path, prefix: str) -> None:
    """The folders prefix<pid>-... under base whose process <pid> is gone."""
    try:
        candidates = list(Path(base).glob(f"{prefix}*-*"))
    except OSError:
        return
    for stale in candidates:
        owner = stale.name[len(prefix):].split("-")[0]
        if owner.isdigit() and not Path(f"/proc/{owner}").exists() and not stale.is_symlink():
            shutil.rmtree(stale, ignore_errors=True)


@contextlib.contextmanager
def private_folder(base: Path, prefix: str):
    """A folder of this process's under base, named prefix<pid>-..., removed afterwards;
    stale ones of that prefix are removed first."""
    remove_stale(base, prefix)
    try:
        folder = Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-", dir=base))
    except OSError as error:
        raise NoFolder(error.strerror) from None
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def io_base(env: dict) -> Path:
    """Where families' folders go: PARBENCH_IO_DIR, else TMPDIR, else /tmp (unchecked here)."""
    return Path(env.get("PARBENCH_IO_DIR") or env.get("TMPDIR") or "/tmp")


def remove_all_stale(env: dict) -> None:
    """Every scratch folder a parbench killed outright left behind, wherever it was."""
    remove_stale(io_base(env), FAMILY_IO_PREFIX)
    remove_stale(Path(tempfile.gettempdir()), CEILING_PREFIX)
    remove_stale(SHARED_MEMORY, MPI_SHM_PREFIX)
