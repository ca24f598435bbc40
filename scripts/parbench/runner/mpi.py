"""MPI families: the launcher's command, its loopback confinement and its environment, the set-up
check and the session folders."""
from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

from .. import UserError
from ..util import read_regular_text
from ..scratch import MPI_SHM_PREFIX, SHARED_MEMORY, NoFolder, private_folder
from .paths import binary_path


# MPI families run as jobs of their rank count under the [mpi] launcher (one
# job: Open MPI's shared-memory transport between ranks on a host). The
# point-to-point ones always use 2 ranks.
MPI_MODEL_SUFFIX = "/mpi"
MPI_POINT_TO_POINT = ("mpi/latency", "mpi/latency_raw", "mpi/tcp_latency", "mpi/bandwidth", "mpi/bibw")


def is_mpi_family(name: str) -> bool:
    return name.startswith("mpi/") or name.endswith(MPI_MODEL_SUFFIX)


def job_ranks(family: str, run_args: dict) -> int:
    """The ranks of the job a benchmark runs in: 2 for the point-to-point family, its p (or
    ranks) for the others of an MPI family; 0 (no job, no launcher) for one rank or none."""
    if not is_mpi_family(family):
        return 0
    ranks = 2 if family.startswith(MPI_POINT_TO_POINT) else int(run_args.get("p", run_args.get("ranks", 1)))
    return ranks if ranks >= 2 else 0


# How MPI's users bind ranks with Open MPI's launcher, per affinity policy: ranks placed
# core by core (compact) or round-robin over sockets (spread), each bound to its core
# (overload-allowed: more ranks than cores are still bound, one core each).
LAUNCHER_BINDING = {"compact": ["--map-by", "core", "--bind-to", "core:overload-allowed"],
                    "spread": ["--map-by", "socket", "--bind-to", "core:overload-allowed"]}


def launcher_command(config, ranks: int | str, affinity: str = "") -> list[str]:
    """mpirun and its arguments for a job of `ranks` ranks, from the [mpi] table, its ranks
    bound by the affinity policy if one is given."""
    mpi = config.mpi
    command = [mpi.launcher, "-np", str(ranks), "--oversubscribe", *LAUNCHER_BINDING.get(affinity, [])]
    if mpi.hosts:
        command += ["--host", ",".join(mpi.hosts)]
    if mpi.hostfile:
        command += ["--hostfile", mpi.hostfile]
    if mpi.transport:
        command += ["--mca", "btl", mpi.transport]
    return command + list(mpi.launcher_args)


# With every rank on this host (no hosts, no hostfile), Open MPI is told to keep its TCP traffic
# on loopback, and its listeners, which Open MPI 4.1 binds to every interface whatever it is
# told, are bound to loopback by the preload library beside the binary (mpi/loopback.hpp): a
# benchmark run is no server for the network. With hosts, the interfaces are the user's choice.
LOOPBACK_LIBRARY = "libparbench_loopback.so"


_USER_INTERFACES = ("OMPI_MCA_oob_tcp_if_include", "OMPI_MCA_oob_tcp_if_exclude", "OMPI_MCA_btl_tcp_if_include",
                    "OMPI_MCA_btl_tcp_if_exclude", "PARBENCH_MPI_LOOPBACK")


def mpi_loopback_settings(config, binary: Path, env: dict) -> dict:
    """The environment that keeps a job of ranks on this host off the network: {} with hosts
    or a hostfile, or when the user's environment chooses Open MPI's interfaces itself."""
    chosen = any(env.get(key) for key in _USER_INTERFACES) or any(
        "_if_include" in arg or "_if_exclude" in arg for arg in config.mpi.launcher_args)
    if config.mpi.hosts or config.mpi.hostfile or chosen:
        return {}
    settings = {"OMPI_MCA_oob_tcp_if_include": "lo", "OMPI_MCA_btl_tcp_if_include": "lo",
                "PARBENCH_MPI_LOOPBACK": "1"}
    library = Path(binary).parent / LOOPBACK_LIBRARY
    if library.exists():
        settings["LD_PRELOAD"] = str(library)
    return settings


def mpi_environment(config, env: dict, binary: Path | None = None) -> dict:
    env = dict(env)
    if os.geteuid() == 0:  # Open MPI refuses root unless told twice
        env.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
        env.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    if config.mpi.sizes:
        env["PARBENCH_MPI_SIZES"] = ",".join(str(size) for size in config.mpi.sizes)
    for key, value in mpi_loopback_settings(config, binary or binary_path(), env).items():
        # LD_PRELOAD is the launcher's own: the library takes itself out for the ranks
        env[key] = value + (":" + env[key] if key == "LD_PRELOAD" and env.get(key) else "")
    return env


def check_mpi_setup(config, families: list) -> None:
    """One clear line before anything runs: no launcher, or a hostfile that is not there."""
    if not any(f.ranks for f in families):
        return
    if shutil.which(config.mpi.launcher) is None:
        raise UserError(f"[mpi] launcher '{config.mpi.launcher}' not found (apt install openmpi-bin, "
                        "or name it in the config's [mpi] table, or leave out the mpi model and family)")
    if config.mpi.hostfile:
        hostfile = Path(config.mpi.hostfile)
        if not hostfile.exists():
            raise UserError(f"[mpi] hostfile {hostfile}: no such file")
        try:
            read_regular_text(hostfile, follow=True, limit=1 << 20)  # not UTF-8, a FIFO, a folder, huge: said now
        except UserError as error:
            raise UserError(f"[mpi] hostfile {error}") from None


@contextlib.contextmanager
def mpi_session_folders(env: dict, io_folder: str):
    """A job of ranks on this host keeps Open MPI's session files (ORTE's session folder, the
    shared-memory transport's segments) in folders of the family's own, removed afterwards
    however the job ended: a SIGKILLed mpirun cannot remove its /tmp/ompi.* or its
    /dev/shm/vader_segment.* itself. The segments stay in /dev/shm (tmpfs), as by default."""
    env = dict(env, OMPI_MCA_orte_tmpdir_base=io_folder)
    if not (SHARED_MEMORY.is_dir() and os.access(SHARED_MEMORY, os.W_OK | os.X_OK)):
        yield env
        return
    try:
        with private_folder(SHARED_MEMORY, MPI_SHM_PREFIX) as shm:
            yield dict(env, OMPI_MCA_btl_vader_backing_directory=str(shm))
    except NoFolder:
        yield env
