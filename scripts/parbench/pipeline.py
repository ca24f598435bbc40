"""The one place that knows the order of the stages:

    sweep (runner/) -> analyze (analysis/) -> check (check/) -> plot (plot/) -> report (report/)

Each verb of ./parbench is a path through it. A stage reads what the stages before it wrote
in the results folder (state.py reads and checks it) and never calls a later one: the report
shows check's rows from check.json, and the charts are drawn before the report is written.
A derived file that is missing, damaged, stale or made elsewhere is made again from raw/.
"""
from __future__ import annotations

import contextlib
import os
import signal
import sys
from pathlib import Path

from . import UserError, catalogue
from .analysis import analyze as analyse_folder, main as analysis_main, write_outputs
from .check import check as check_folder, report_rows
from .plot import missing_figures, plot_all
from .report import write_report
from .runner.family import StopRequest
from .runner.plan import describe
from .runner.sweep import _run_families, plan_sweep
from .scratch import remove_all_stale
from .state import STALE, ResultsFolder


@contextlib.contextmanager
def folder_lock(directory: Path):
    """The folder's lock while a verb writes a sweep's folder: not while a sweep or check is
    still writing it; what a writer killed outright left half-done is removed first. A folder
    that is not a sweep's (no sweep.json) is left without a .lock file."""
    remove_all_stale(dict(os.environ))  # scratch folders of a sweep or check killed outright
    with ResultsFolder(directory).locked():
        with catalogue.using(catalogue.of_folder(directory) if directory.is_dir() else None):
            yield


def current_analysis(directory: Path, baseline: Path | None = None) -> dict:
    """DIR's analysis: analysis.json when it is current (load_analysis), else made again from
    raw/ and written (with its CSV tables) with a note saying why; with `baseline`, always made
    again against it."""
    folder = ResultsFolder(directory)
    problem = folder.analysis_problem()
    if problem is None and baseline is None:
        return folder.analysis()
    try:
        analysis = analyse_folder(directory, baseline=baseline)
    except UserError:
        if problem and (directory / "analysis.json").exists() and STALE not in problem:
            raise UserError(problem) from None  # nothing to make it again from: its own fault first
        raise
    if problem and (directory / "analysis.json").exists():
        print(f"parbench: note: {problem.split(' (run ')[0]}: analysed again", file=sys.stderr)
    write_outputs(directory, analysis)
    return folder.analysis()


def _figures(directory: Path, analysis: dict) -> None:
    """The charts of this analysis, drawn again when one was never drawn for it or is gone (a
    failed plot, a full disk)."""
    if missing_figures(directory, analysis) != []:
        plot_all(directory)
        missing = missing_figures(directory, analysis)
        if missing:
            raise UserError(f"{directory / 'plots'}: cannot draw {', '.join(missing)} (see plot's error)")


def make_report(directory: Path) -> Path:
    analysis = current_analysis(directory)
    _figures(directory, analysis)
    return write_report(directory, report_rows(directory, analysis))


def _derive(directory: Path, baseline: str | None) -> Path:
    """Everything a sweep's folder holds beyond raw/: analysis, charts and report."""
    with catalogue.using(catalogue.of_folder(directory)):
        analysis_main(str(directory), baseline)
        paths = plot_all(directory)
        print(f"plot: {len(paths)} files in {directory / 'plots'}")
        return make_report(directory)


def analyze(directory: Path, baseline: str | None) -> int:
    with folder_lock(directory):
        return analysis_main(str(directory), baseline)


def _derived_ready(directory: Path, baseline: str | None) -> None:
    folder = ResultsFolder(directory)
    if folder.is_sweep():
        folder.raw_files()  # the raw files are those the sweep wrote: else one line, no figure
    if directory.is_dir():
        current_analysis(directory, Path(baseline) if baseline else None)


def plot(directory: Path) -> int:
    with folder_lock(directory):
        _derived_ready(directory, None)
        paths = plot_all(directory)
    print(f"plot: {len(paths)} files in {directory / 'plots'}")
    return 0


def report(directory: Path, baseline: str | None) -> int:
    with folder_lock(directory):
        _derived_ready(directory, baseline)
        path = make_report(directory)
    print(f"report: {path} (and report.md)")
    return 0


def check(directory: Path, reference: Path | None, allow_remeasure: bool) -> int:
    """check, holding the folder's lock throughout (a sweep or resume writing it meanwhile would
    make the verdict describe a state that no longer is), then the report again so that its
    summary shows this check."""
    with folder_lock(directory):
        status = check_folder(directory, reference, allow_remeasure)
        if (directory / "check.json").exists() and (directory / "analysis.json").exists() \
                and (directory / "report.md").exists():
            try:
                make_report(directory)
            except (OSError, UserError) as error:
                print(f"check: could not write the report again in {directory} ({error})")
        # check's verdicts into the history; on stderr: check's summary stays its last line of output
        _record_history(directory, sys.stderr)
    return status


def _record_history(directory: Path, stream=None) -> None:
    """The folder (and its check verdicts) in the history database: one line, never a failure."""
    from .history.commands import record_folder
    record_folder(directory, stream)


def plan(config_name: str | None, python: str | None, budget: float | None) -> int:
    """./parbench sweep --plan: what the sweep would run on this machine (or the recorded one
    PARBENCH_SYSFS_ROOT names), and its estimated minutes; 1 when it does not fit the budget."""
    made = plan_sweep(config_name or "default", python, budget)
    for line in describe(made, budget):
        print(line)
    if budget is not None and made.minutes > budget:
        print(f"parbench: the plan does not fit {budget:g} min even after dropping all a budget may drop",
              file=sys.stderr)
        return 1
    return 0


def sweep(config_name: str | None, out: str | None, resume: str | None, baseline: str | None = None,
          python: str | None = None, budget: float | None = None) -> int:
    """./parbench sweep: the families run (runner), then analyze, check, plot and report."""
    if resume:  # a resumed sweep is the saved one: nothing on the command line may differ from it
        for flag, given in (("--config", config_name), ("--python", python)):
            if given is not None:
                raise UserError(f"{flag}: --resume {resume} continues with its own saved settings; drop {flag}")
        if out is not None and Path(out).resolve() != Path(resume).resolve():
            raise UserError(f"--out: --resume writes into {resume} itself; drop --out")
    if baseline is not None:  # said now, not after half an hour of families
        ResultsFolder(Path(baseline)).raw_files()
    stop = StopRequest()
    # The folder's lock is held from before its state is read until its report is written.
    with contextlib.ExitStack() as held:
        try:
            directory, failed = _run_families(config_name or "default", out, resume, stop, python, held, budget)
        except UserError:
            if stop.signal is None:
                raise
            # Ctrl-C on a terminal also reaches a set-up child (same process group), which then fails.
            print(f"parbench: sweep interrupted by {signal.Signals(stop.signal).name} before its first family",
                  file=sys.stderr)
        finally:
            stop.restore()
        if stop.signal is not None:
            return 128 + stop.signal  # the shell's convention: 130 for Ctrl-C, 143 for SIGTERM
        if not any((directory / "raw").glob("*.json")):
            print(f"parbench: no family of the sweep finished: nothing to analyse (why: "
                  f"{directory / 'sweep.json'}, {directory / 'logs'})", file=sys.stderr)
            return 1
        try:
            report_path = _derive(directory, baseline)
        except KeyboardInterrupt as stopped:
            print(f"parbench: interrupted during the analysis; every family is kept in {directory}: "
                  f"./parbench report {directory} finishes it", file=sys.stderr)
            return 128 + getattr(stopped, "signum", signal.SIGINT)
        _record_history(directory)  # the folder still locked: what is added is what the report shows
    print(f"report: {report_path}")
    return 1 if failed else 0
