"""The two sides of a ci run (base and head): where each is checked out and built, and what its
families are, planned by this checkout's runner with that side's own binary."""
from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from .. import catalogue
from ..runner.family import Family
from ..runner.paths import ROOT
from ..runner.sweep import make_plan
from ..runner.tracks import Tracks, program_info
from ..state import check_binary_info, family_environment

BASE, HEAD = "base", "head"


@dataclass
class Side:
    name: str                  # BASE or HEAD
    commit: str                # full SHA
    folder: Path               # <out>/<name>: its results folder
    root: Path | None = None   # its worktree
    binary: Path | None = None

    @property
    def label(self) -> str:
        return f"{self.name} {self.commit[:12]}"


@dataclass
class SidePlan:
    """What one side runs: its families (as its binary lists them) and how each track starts."""
    families: list[Family]
    tracks: Tracks
    config: object             # the config as planned (worker counts, affinity made explicit)
    info: dict                 # its binary's `info`
    seconds: dict = field(default_factory=dict)  # family key -> estimated seconds at config.repetitions
    python: dict = field(default_factory=dict)   # the Python tracks' calibrations (python_tracks, python_info)


@contextlib.contextmanager
def bench_variable(binary: Path):
    """PARBENCH_BENCH naming this side's binary while its families are planned and run: what
    the runner looks beside (the MPI loopback library) and the catalogue reads is its own."""
    before = os.environ.get("PARBENCH_BENCH")
    os.environ["PARBENCH_BENCH"] = str(binary)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("PARBENCH_BENCH", None)
        else:
            os.environ["PARBENCH_BENCH"] = before


def plan_side(config, side: Side, calibrations: dict | None = None) -> SidePlan:
    """The side's families and tracks, planned as a sweep plans them, with its binary. The
    Python track runs the side's own scripts/. calibrations: the other side's Python tracks'
    (both sides' Python workloads then spin alike)."""
    env = dict(os.environ)
    with bench_variable(side.binary):
        checkout = catalogue.of_checkout(side.binary)
        with catalogue.using(checkout):
            info = program_info(side.binary, env, f"{side.label}: {side.binary}",
                                lambda found, where: check_binary_info(found, where, fresh=True))
            plan = make_plan(config, side.binary, env, None, calibrations)
    catalogue.record(side.folder, checkout)
    _python_of_worktree(plan.tracks, side.root)
    python = {"python_tracks": plan.tracks.python_tracks, "python_info": plan.tracks.python_info}
    return SidePlan(plan.families, plan.tracks, plan.config, info, plan.seconds, python)


def _python_of_worktree(tracks: Tracks, root: Path) -> None:
    """The Python track's command and path pointed at the worktree's scripts/ instead of this
    checkout's (the interpreters and their calibrations stay)."""
    here, there = str(ROOT / "scripts"), str(root / "scripts")
    for track, program in tracks.programs.items():
        if not isinstance(program, list):
            continue  # the binary
        tracks.programs[track] = [there + part[len(here):] if part.startswith(here + os.sep) else part
                                  for part in program]
        environment = tracks.environments[track]
        paths = environment.get("PYTHONPATH", "").split(os.pathsep)
        environment["PYTHONPATH"] = os.pathsep.join(there if path == here else path for path in paths)


def share_spin(plans: dict[str, SidePlan], spin: float) -> None:
    """Every track of both sides runs the same spin work: the head binary's calibration (a side's
    own would hide a change in the spin loop's speed) and each side's CPU order."""
    for name, plan in plans.items():
        state = {"binary_info": {**plan.info, "spin_iters_per_us": spin}}
        for environment in plan.tracks.environments.values():
            environment.update(family_environment(state, Path(f"{name}'s binary info")))
