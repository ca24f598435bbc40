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
from .verdict import UNDECIDED, decide, duration, write_report
from .worktrees import BuildFailed, build_release, resolve, worktrees

ALPHA = 0.05
MAX_ROUNDS = 100
EXTRA_BATCHES = 2   # an undecided slowdown gets at most this many more --rounds of its family


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
    if args.db is not None:
        _usable_db(Path(args.db))
    return Options(base, head, args.base, args.head, config, args.threshold, args.rounds, out, args.db)


def _usable_db(path: Path) -> None:
    """--db checked before half an hour of rounds: a history database, or a new one made now."""
    if path.is_dir():
        raise UserError(f"ci --db {path}: a folder, not a database file")
    from ..history.store import open_store
    try:
        with open_store(path, create=True):
            pass
    except UserError as error:
        raise UserError(f"ci --db: {one_line(error)}") from None


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
        verdict = _settle(sides, options, ran, ci)
        if isinstance(verdict, int):
            return verdict
    report = write_report(options.out, verdict, ci, ran.skipped, len(ran.families))
    print(f"ci: builds {duration(ci['build_seconds'])}, rounds {duration(ci['round_seconds'])}")
    print(f"ci: {verdict.line}")
    print(f"ci: report {report}")
    return _store(options.db, [side.folder for side in sides.values()], verdict.code)


@dataclass
class Ran:
    """The rounds so far: what ran, on what plans, and every run's record."""
    families: list
    skipped: dict[str, list[str]]
    plans: dict
    config: object             # the plan's config with the repetitions of one round
    outcome: rounds_module.Outcome


def _run(sides: dict[str, Side], options: Options, planner, ci: dict):
    """Plans both sides and runs the rounds; what ran, or the exit status of a stopped run."""
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
    ran = Ran(families, skipped, plans, config, rounds_module.Outcome())
    return _more_rounds(sides, options, ran, rounds_module.schedule(options.rounds, families), ci)


def _more_rounds(sides: dict[str, Side], options: Options, ran: Ran, steps: list, ci: dict):
    """Runs these steps, adds their records to the rounds so far; ran, or the exit status of a
    stopped run."""
    stop = StopRequest()
    stop.install()
    try:
        outcome = rounds_module.run_rounds(steps, sides, ran.plans, ran.config, stop)
    finally:
        stop.restore()
    for key, records in outcome.records.items():
        ran.outcome.records.setdefault(key, []).extend(records)
    for key, failures in outcome.failed.items():
        ran.outcome.failed.setdefault(key, {}).update(failures)
    ran.outcome.seconds += outcome.seconds
    ci["round_seconds"] = round(ran.outcome.seconds, 1)
    if outcome.stopped is not None:
        import signal
        print(f"parbench: ci interrupted by {signal.Signals(outcome.stopped).name}; its rounds so far are in "
              f"{options.out} (not compared)", file=sys.stderr)
        return 128 + outcome.stopped
    ci["failed"] = ran.outcome.failed
    return ran


def _settle(sides: dict[str, Side], options: Options, ran: Ran, ci: dict):
    """Pools the rounds and judges them. A slowdown above the threshold that they cannot decide
    (not significant) gets more rounds of its families, --rounds at a time, up to EXTRA_BATCHES
    times: on a noisy machine a median of a few repetitions moves by more than the threshold in an
    unchanged pair, and more repetitions either confirm it or bring it back into the noise. What
    is still undecided then is the verdict (exit 3)."""
    done = options.rounds
    ci["extra_rounds"] = {}
    while True:
        for name, side in sides.items():
            records = rounds_module.pool_side(side, ran.families, ran.outcome)
            rounds_module.write_folder(side, ran.plans[name], records, ran.config, ci)
        verdict = decide(sides[BASE].folder, sides[HEAD].folder, ci["failed"], options.threshold, ALPHA)
        if verdict.code != UNDECIDED or done >= options.rounds * (1 + EXTRA_BATCHES):
            return verdict
        _, undecided = compare.gated(verdict.table.rows if verdict.table else [], options.threshold)
        families = [f for f in ran.families if any(_of_family(row["name"], f) for row in undecided)]
        if not families:
            return verdict
        print(f"ci: {len(undecided)} slowdown(s) above {options.threshold:g}% not decided: {options.rounds} more "
              f"rounds of {', '.join(f.label for f in families)}", flush=True)
        steps = [rounds_module.Step(step.round + done, step.family, step.order)
                 for step in rounds_module.schedule(options.rounds, families)]
        ran = _more_rounds(sides, options, ran, steps, ci)
        if isinstance(ran, int):
            return ran
        for family in families:
            ci["extra_rounds"][family.key] = ci["extra_rounds"].get(family.key, 0) + options.rounds
        done += options.rounds


def _of_family(benchmark: str, family) -> bool:
    """Whether compare's row name (weak runs end in " (weak)") belongs to this family."""
    return benchmark.startswith(family.name + "/") and benchmark.endswith(" (weak)") == family.weak


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
