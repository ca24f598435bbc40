"""./parbench ci --base REV [--head REV]: both revisions built in worktrees, run in interleaved
rounds, compared with compare's statistics; exit 1 on a significant slowdown beyond the
threshold (docs/ci.md)."""
from __future__ import annotations

import copy
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from .. import UserError, compare, config as config_module
from ..runner.family import StopRequest
from ..util import REPO_ROOT, make_folder, one_line
from . import rounds as rounds_module
from .sides import BASE, HEAD, Side, plan_side, share_spin
from .verdict import decide, duration, write_report
from .worktrees import BuildFailed, build_release, resolve, worktrees

ALPHA = 0.05
MAX_ROUNDS = 100


@dataclass
class Options:
    base: str                  # full SHAs
    head: str
    base_revision: str         # as given
    head_revision: str
    config: object
    threshold: float
    rounds: int
    out: Path
    db: str | None


def _options(args, repo: Path) -> Options:
    """The command line checked, every problem one line before anything is built."""
    compare.check_levels(ALPHA, args.threshold, "ci")
    if not 1 <= args.rounds <= MAX_ROUNDS:
        raise UserError(f"ci --rounds: {args.rounds} is not a number of rounds from 1 to {MAX_ROUNDS}")
    base, head = resolve(repo, args.base, "--base"), resolve(repo, args.head, "--head")
    config = config_module.load(args.config or "quick")
    out = Path(args.out) if args.out else repo / "results" / f"ci_{base[:12]}_{head[:12]}"
    if out.exists() and not out.is_dir():
        raise UserError(f"ci --out {out}: not a folder")
    if out.is_dir() and any(out.iterdir()):
        raise UserError(f"ci --out {out}: not empty; give a new or empty folder")
    if args.db is not None and Path(args.db).is_dir():
        raise UserError(f"ci --db {args.db}: a folder, not a database file")
    return Options(base, head, args.base, args.head, config, args.threshold, args.rounds, out, args.db)


def run_ci(args, repo: Path = REPO_ROOT, builder=build_release, planner=plan_side) -> int:
    """The whole run; builder(side, root, log) -> binary and planner(config, side, calibrations)
    -> SidePlan are the real build and plan unless a test gives its own."""
    options = _options(args, repo)
    sides = {name: Side(name, commit, options.out / name) for name, commit in ((BASE, options.base),
                                                                               (HEAD, options.head))}
    for folder in (options.out / "logs", *(side.folder for side in sides.values())):
        make_folder(folder)
    ci = {"base": options.base, "head": options.head, "base_revision": options.base_revision,
          "head_revision": options.head_revision, "config": options.config.name, "rounds": options.rounds,
          "threshold": options.threshold, "alpha": ALPHA,
          "started": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    print(f"ci: base {options.base[:12]} ({one_line(options.base_revision)}) -> head {options.head[:12]} "
          f"({one_line(options.head_revision)}), config {options.config.name}, {options.rounds} rounds -> "
          f"{options.out}", flush=True)
    with worktrees(repo, {name: side.commit for name, side in sides.items()}) as roots:
        start = time.monotonic()
        try:
            for name, side in sides.items():
                side.root = roots[name]
                print(f"ci: building {side.label} (log: {options.out / 'logs' / f'build_{name}.log'})", flush=True)
                side.binary = builder(name, side.root, options.out / "logs" / f"build_{name}.log")
        except BuildFailed as error:
            print(f"parbench: {one_line(error)}", file=sys.stderr)
            return 1
        ci["build_seconds"] = round(time.monotonic() - start, 1)
        ran = _run(sides, options, planner, ci)
        if isinstance(ran, int):
            return ran
        families, skipped = ran
    verdict = decide(sides[BASE].folder, sides[HEAD].folder, ci["failed"], options.threshold, ALPHA)
    report = write_report(options.out, verdict, ci, skipped, families)
    print(f"ci: builds {duration(ci['build_seconds'])}, rounds {duration(ci['round_seconds'])}")
    print(f"ci: {verdict.line}")
    print(f"ci: report {report}")
    return _store(options.db, [side.folder for side in sides.values()], verdict.code)


def _run(sides: dict[str, Side], options: Options, planner, ci: dict):
    """Plans both sides, runs the rounds and pools them into each side's folder; the number of
    families compared and those skipped, or the exit status of a stopped run."""
    plans = {HEAD: planner(options.config, sides[HEAD], None)}
    plans[BASE] = planner(options.config, sides[BASE], plans[HEAD].python)
    share_spin(plans, plans[HEAD].info["spin_iters_per_us"])
    keys = {name: [f.key for f in plan.families] for name, plan in plans.items()}
    families = [f for f in plans[HEAD].families if f.key in keys[BASE]]
    skipped = {name: [key for key in keys[name] if key not in keys[other]]
               for name, other in ((BASE, HEAD), (HEAD, BASE))}
    config = copy.deepcopy(plans[HEAD].config)
    config.repetitions = rounds_module.repetitions_per_round(options.config.repetitions, options.rounds)
    ci["repetitions_per_round"] = config.repetitions
    estimate = sum(plans[HEAD].seconds.get(f.key, 0.0) for f in families) / max(plans[HEAD].config.repetitions, 1)
    print(f"ci: {len(families)} families on both sides" + "".join(
        f"; only on {name} (skipped): {', '.join(keys_[:5])}{' ...' if len(keys_) > 5 else ''}"
        for name, keys_ in skipped.items() if keys_) + f"; {options.rounds} rounds x {config.repetitions} "
          f"repetition(s) per side, about {duration(2 * estimate * config.repetitions * options.rounds)}",
          flush=True)
    if not families:
        raise UserError("ci: base and head have no family in common to compare")
    stop = StopRequest()
    stop.install()
    try:
        outcome = rounds_module.run_rounds(rounds_module.schedule(options.rounds, families), sides, plans, config,
                                           stop)
    finally:
        stop.restore()
    ci["round_seconds"] = round(outcome.seconds, 1)
    if outcome.stopped is not None:
        import signal
        print(f"parbench: ci interrupted by {signal.Signals(outcome.stopped).name}; its rounds so far are in "
              f"{options.out} (not compared)", file=sys.stderr)
        return 128 + outcome.stopped
    ci["failed"] = outcome.failed
    for name, side in sides.items():
        records = rounds_module.pool_side(side, families, outcome)
        rounds_module.write_folder(side, plans[name], records, config, ci)
    return len(families), skipped


def _store(db: str | None, folders: list[Path], code: int) -> int:
    """--db: both sides added to the history database (the verdict stands if that fails)."""
    if db is None:
        return code
    from ..history.ingest import from_folder
    from ..history.store import open_store
    try:
        with open_store(Path(db), create=True) as store:
            for folder in folders:
                store.add(from_folder(folder))
    except UserError as error:
        print(f"parbench: ci --db: {one_line(error)} (the comparison's verdict stands; the folders are in "
              f"{folders[0].parent})", file=sys.stderr)
        return code or 2
    print(f"ci: both sides added to {db}")
    return code
