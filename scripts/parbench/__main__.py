"""Command line of the analysis package: python3 -m parbench <command> ...

Bad input (missing directories, malformed or foreign JSON, unknown configs)
gives one line on stderr and exit status 2, never a traceback.
"""
from __future__ import annotations

import argparse
import json
import errno
import math
import os
import signal
import sys
import traceback
from pathlib import Path

from . import Stopped, UserError, stop_signals
from .util import InertStream


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line instead of usage + message; main() adds "parbench: "
        where = self.prog.removeprefix("parbench").strip()
        raise UserError(f"{where}: {message}" if where else message)

    def parse_args(self, args=None, namespace=None):
        # Arguments no parser took are found by the top one, which would name only itself: name
        # the command (and verb) they were given to.
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            where = " ".join(str(part) for part in (getattr(parsed, "command", None), getattr(parsed, "verb", None))
                             if part)
            raise UserError(f"{where + ': ' if where else ''}unrecognized arguments: {' '.join(extras)}")
        return parsed


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="parbench", description="parbench analysis tools")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    sweep = commands.add_parser("sweep", help="run a whole sweep, then analyze, plot and report")
    sweep.add_argument("--config", help="quick, default, full or FILE.toml (default: default)")
    sweep.add_argument("--out", help="output directory (default: results/<UTC time>_<host>_<sha>)")
    sweep.add_argument("--resume", metavar="DIR", help="continue an interrupted sweep in DIR")
    baseline_help = ("an earlier sweep to show 'vs previous' against (default: the latest earlier sweep of "
                     "this machine and config under results/ or beside DIR)")
    sweep.add_argument("--baseline", metavar="DIR", help=baseline_help)
    sweep.add_argument("--plan", action="store_true",
                       help="print the plan (machine, families, worker counts, affinity, estimated minutes) and exit")
    sweep.add_argument("--budget", metavar="MIN", type=_minutes,
                       help="thin the plan until it fits MIN minutes (worker counts between boundaries, weak "
                            "scaling, the oversubscribed point, repetitions above 5) and say what it dropped")
    sweep.add_argument("--python", metavar="INTERPRETER[,...]",
                       help="the Python track's interpreter (default: the config's python, /usr/bin/python3), "
                            "or several, comma-separated: the first runs everything, each other one the "
                            "workloads as py_<model>@<version>; '' leaves the track out")
    for name, text in (("analyze", "compute DIR/analysis.json and CSV tables"),
                       ("plot", "draw DIR/plots/*.png and *.svg"),
                       ("report", "write DIR/report.md and DIR/report.html")):
        command = commands.add_parser(name, help=text)
        command.add_argument("directory")
        if name != "plot":
            command.add_argument("--baseline", metavar="DIR", help=baseline_help)
    compare = commands.add_parser("compare", help="per-benchmark change from A to B")
    compare.add_argument("a")
    compare.add_argument("b")
    compare.add_argument("--alpha", type=float, default=0.05, help="significance level (default 0.05)")
    compare.add_argument("--fail-on-regression", type=float, metavar="PCT",
                         help="exit 1 if a significant slowdown exceeds PCT percent or a benchmark of A fails "
                              "in B, and 3 if a slowdown above PCT cannot be decided with these repetitions "
                              "(not significant) or a benchmark of A is missing in B")
    compare.add_argument("--allow-undecided", action="store_true",
                         help="with --fail-on-regression: let slowdowns the data cannot decide pass (exit 0)")
    check = commands.add_parser("check", help="check a sweep's invariants")
    check.add_argument("directory")
    check.add_argument("--reference", help="a reference result directory to compare speedups with")
    check.add_argument("--no-remeasure", action="store_true",
                       help="fail a performance check at once instead of re-running its family")
    _history_parser(commands)
    _ci_parser(commands)
    export = commands.add_parser("export", help="a sweep as one file other tools read")
    export.add_argument("directory")
    export.add_argument("--format", required=True, choices=["gbench"],
                        help="gbench: one Google Benchmark JSON (every repetition of every family)")
    export.add_argument("--out", metavar="FILE", help="where to write it (default: standard output)")
    listing = commands.add_parser("list", help="the catalogue: models, workloads, primitive families and "
                                               "limits of both tracks, as JSON")
    listing.add_argument("--json", action="store_true", required=True, help="as one JSON object (required)")
    return parser


def _history_parser(commands) -> None:
    history = commands.add_parser("history", help="results over commits and machines (results/history.sqlite)")
    verbs = history.add_subparsers(dest="verb", required=True, parser_class=_Parser)
    db_help = "the history database (default: results/history.sqlite, or PARBENCH_HISTORY_DB)"
    add = verbs.add_parser("add", help="store a results folder, or any Google Benchmark JSON file")
    add.add_argument("source", help="a sweep's results folder, or FILE.json")
    add.add_argument("--commit", help="FILE.json: the commit it measured (required for a file)")
    add.add_argument("--machine", help="FILE.json: the machine's name (required for a file)")
    add.add_argument("--date", help="FILE.json: when it ran, ISO 8601 (default: the file's own date)")
    add.add_argument("--branch", help="FILE.json: the branch (optional)")
    add.add_argument("--commit-date", metavar="ISO", help="FILE.json: the commit's own date, which orders it in its "
                                                          "series (default: its earliest entry's date)")
    listing = verbs.add_parser("list", help="what the database holds, one line per entry")
    rebuild = verbs.add_parser("rebuild", help="make the database again from results folders")
    rebuild.add_argument("folders", nargs="*", help="results folders or folders holding them (default: results/)")
    regressions = verbs.add_parser("regressions", help="step changes over commit order, per machine and benchmark")
    regressions.add_argument("--benchmark", metavar="REGEX", help="only benchmarks whose name matches")
    regressions.add_argument("--machine", metavar="NAME", help="only this machine")
    regressions.add_argument("--alpha", type=float, default=0.05, help="significance level (default 0.05)")
    regressions.add_argument("--fail-on-latest", action="store_true",
                             help="exit 1 when a regression begins at a machine's newest commit")
    regressions.add_argument("--fail-since", metavar="REV",
                             help="exit 1 when a slowdown begins at a commit after REV (a SHA) in a series; "
                                  "a series without REV is judged at its newest commit")
    report = verbs.add_parser("report", help="a static HTML dashboard: a chart per benchmark over commits")
    report.add_argument("--out", metavar="DIR", help="where to write it (default: results/history)")
    report.add_argument("--benchmark", metavar="REGEX", help="only benchmarks whose name matches")
    for verb in (add, listing, rebuild, regressions, report):
        verb.add_argument("--db", metavar="PATH", help=db_help)


def _ci_parser(commands) -> None:
    ci = commands.add_parser("ci", help="base against head: both built in git worktrees, run in interleaved rounds")
    ci.add_argument("--base", required=True, metavar="REV", help="the revision to compare against (a merge base)")
    ci.add_argument("--head", default="HEAD", metavar="REV", help="the revision under test (default: HEAD)")
    ci.add_argument("--config", help="quick (default), default, full or FILE.toml: the families to run")
    ci.add_argument("--threshold", type=float, default=5.0, metavar="PCT",
                    help="fail on a significant slowdown above PCT percent (default 5)")
    ci.add_argument("--rounds", type=int, default=5, metavar="N",
                    help="interleaved rounds, each running every family on both sides (default 5)")
    ci.add_argument("--out", metavar="DIR", help="where to write the comparison (default: results/ci_<base>_<head>)")
    ci.add_argument("--db", metavar="PATH", help="also store both sides in this history database")


def run(argv: list[str]) -> int:
    if argv[:1] == ["bench"]:  # the binary's own options and Google Benchmark's, passed on as they are
        from .runner.bench import bench
        return bench(argv[1:])
    args = build_parser().parse_args(argv)
    # An empty value is a mistake (an unset shell variable), never "the default": `--resume ""`
    # must not start a new half-hour sweep, `analyze ""` must not analyse the current folder.
    for name in ("config", "out", "resume", "baseline", "reference", "directory", "a", "b", "db", "source"):
        value = getattr(args, name, None)
        if value is not None and not value.strip():
            flag = f"--{name}" if name in ("config", "out", "resume", "baseline", "reference", "db") else name.upper()
            command = " ".join(part for part in (args.command, getattr(args, "verb", None)) if part)
            raise UserError(f"{command} {flag}: empty (an unset variable?); give a {_wanted(args.command, name)}")
    # before the pipeline's import (numpy, matplotlib): these verbs start in a fraction of a second
    if args.command == "history":
        from .history.commands import run_history
        return run_history(args)
    if args.command == "ci":
        from .ci import run_ci
        return run_ci(args)
    if args.command == "export":
        from .export import export
        return export(Path(args.directory), args.format, Path(args.out) if args.out else None)
    from . import pipeline
    if args.command == "sweep":
        if args.plan:
            for flag, given in (("--resume", args.resume), ("--out", args.out), ("--baseline", args.baseline)):
                if given is not None:
                    raise UserError(f"{flag}: --plan runs nothing; drop {flag}")
            return pipeline.plan(args.config, args.python, args.budget)
        return pipeline.sweep(args.config, args.out, args.resume, args.baseline, args.python, args.budget)
    if args.command == "analyze":
        return pipeline.analyze(Path(args.directory), args.baseline)
    if args.command == "plot":
        return pipeline.plot(Path(args.directory))
    if args.command == "report":
        return pipeline.report(Path(args.directory), args.baseline)
    if args.command == "list":
        from .catalogue import of_checkout
        print(json.dumps(of_checkout().to_json(), indent=1))
        return 0
    if args.command == "compare":
        from .compare import compare
        return compare(Path(args.a), Path(args.b), args.alpha, args.fail_on_regression, args.allow_undecided)
    if args.command == "check":
        return pipeline.check(Path(args.directory), Path(args.reference) if args.reference else None,
                              allow_remeasure=not args.no_remeasure)
    raise UserError(f"unknown command {args.command}")


def _wanted(command: str, name: str) -> str:
    """What a value of that name is: said when it is empty."""
    if name == "config":
        return "config name or file"
    if name == "db" or (command, name) == ("export", "out"):
        return "file"
    if name == "source":
        return "folder or file"
    return "folder"


def _minutes(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value <= 7 * 24 * 60:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of minutes (above 0, at most a week)")
    return value


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).splitlines())


def _raise_stopped(signum, frame):
    raise Stopped(signum)


def main() -> int:
    if signal.getsignal(signal.SIGINT) == signal.SIG_DFL:  # ./parbench's quiet start-up: Ctrl-C is ours now
        signal.signal(signal.SIGINT, signal.default_int_handler)
    for sig in stop_signals()[1:]:  # the others end the run as Ctrl-C does: clean-ups run
        if signal.getsignal(sig) == signal.SIG_DFL:
            signal.signal(sig, _raise_stopped)
    # What parbench prints may hold names and messages from a results folder someone else made:
    # no control character of theirs reaches the terminal.
    if sys.stdout is not None:  # None: stdout closed (>&-)
        sys.stdout = InertStream(sys.stdout)
    if sys.stderr is not None:
        sys.stderr = InertStream(sys.stderr)
    try:
        return run(sys.argv[1:])
    except UserError as error:
        print(f"parbench: {_one_line(error)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as stopped:
        signum = getattr(stopped, "signum", signal.SIGINT)
        print(f"parbench: interrupted by {signal.Signals(signum).name}", file=sys.stderr)
        return 128 + signum
    except BrokenPipeError:  # `| head`: what was asked for was read; the rest goes nowhere
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, AttributeError, ValueError):
            pass
        return 128 + signal.SIGPIPE
    except OSError as error:  # the machine's problem, not parbench's: a full disk, a read-only folder
        if os.environ.get("PARBENCH_DEBUG"):
            traceback.print_exc()
        where = f"{error.filename}: " if error.filename else ""
        advice = {errno.ENOSPC: " (no space left: free some and run it again; a sweep keeps its finished "
                                "families, and --resume continues it)",
                  errno.EDQUOT: " (over quota: free some space)", errno.EROFS: " (a read-only file system)",
                  errno.EACCES: " (permission denied)"}.get(error.errno, "")
        print(f"parbench: {_one_line(where)}{error.strerror or error}{advice}", file=sys.stderr)
        return 2
    except Exception as error:  # a bug: one line, details only on request
        if os.environ.get("PARBENCH_DEBUG"):
            traceback.print_exc()
        print(f"parbench: internal error: {type(error).__name__}: {_one_line(error)} "
              "(set PARBENCH_DEBUG=1 for the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
