"""./parbench report DIR: DIR/report.md and a self-contained DIR/report.html.

The report answers "which model should I use here, by how much, and how sure is
that?" on its first screen: the machine, the sweep, check's verdicts, one
verdict per workload with its interval (a tie when the data cannot decide),
the previous run beside this one, and a few findings in plain sentences. The
sections after it hold the charts and short tables; the full tables are the
CSV files beside the report, linked from it.

The report is built once as a list of blocks (headings, text, lists, tables,
images) and rendered twice, so the two formats always say the same thing.
report.md stays short (tables are cut to their first rows there, with a link
to the CSV); report.html has a table of contents, collapsible sections,
sortable tables and its charts inline, and checks itself when opened with
#selftest (images loaded, contents links resolve, sorting works, no errors):
tests/python/test_report_browser.py opens it in headless Chromium.
"""
from __future__ import annotations

from pathlib import Path

from ..state import load_analysis, read_env, read_state
from ..util import atomic_write_text
from .document import Report
from .common import Context, _when
from .summary import summary_section, verdicts_section
from .scaling import fits_section, gustafson_section, scaling_section
from .tasks import metg_section, overhead_section
from .memory_io import io_section, memory_section, processes_section
from .primitives import ipc_section, mpi_part, primitives_section, psync_section
from .python import python_part
from .run_record import (data_files_section, environment_section, failures_section, how_to_read_section,
                         warnings_section)


SECTIONS = (summary_section, verdicts_section, scaling_section, fits_section, gustafson_section, metg_section,
            overhead_section, memory_section, processes_section, io_section, primitives_section, ipc_section,
            mpi_part, python_part, psync_section, warnings_section, environment_section, failures_section,
            how_to_read_section, data_files_section)


def build(directory: Path, checks: tuple[list[dict], str]) -> Report:
    """The report of DIR; `checks` are check's rows and how they were made (check.json)."""
    analysis = load_analysis(directory)
    sweep = read_state(directory)
    context = Context(directory=directory, analysis=analysis, env=read_env(directory), sweep=sweep,
                      cores=analysis["cores"], plots=directory / "plots", config=sweep.get("config", {}),
                      previous=analysis.get("previous"), checks=checks[0], checked_how=checks[1])
    r = Report()
    r.heading(title_of(directory, sweep), 1)
    for section in SECTIONS:
        section(r, context)
    return r


def title_of(directory: Path, sweep: dict) -> str:
    config = (sweep.get("config") or {}).get("name")
    started = _when(sweep.get("started"))
    if config and started:
        return f"parbench: '{config}' sweep of {started.strftime('%Y-%m-%d %H:%M')} UTC"
    return f"parbench report: {directory.name}"


def write_report(directory: Path, checks: tuple[list[dict], str]) -> Path:
    """DIR/report.md and DIR/report.html from the current analysis and charts (the pipeline
    makes them first) and check's rows."""
    directory = Path(directory)
    report = build(directory, checks)
    sweep = read_state(directory)
    atomic_write_text(directory / "report.md", report.markdown())
    atomic_write_text(directory / "report.html", report.html(title_of(directory, sweep)))
    return directory / "report.html"
