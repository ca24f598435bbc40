"""The Python track: rules of thumb, cross-language table, primitive pairs and interpreters."""
from __future__ import annotations

import contextlib

from pathlib import Path

from .. import units
from .document import Report
from .common import Context, _program_name
from ..analysis.python import interpreter_models
from ..catalogue import current


def _primitive_value(metric: str, value: float | None) -> str:
    """A primitive's headline figure in its unit: lateness counters are in microseconds, the
    per-operation times in nanoseconds."""
    if metric.endswith("_us"):
        return units.microseconds(value) + (" late" if "late" in metric else "")
    return units.nanoseconds(value)


def python_section(r, analysis: dict, plots: Path) -> None:
    """The Python track: its rules of thumb with their measured figures, the cross-language
    table, its scaling charts and its primitives beside their C++ counterparts."""
    python = analysis["python"]
    interpreter = python.get("interpreter") or {}
    r.heading("Python track")
    gil = {"yes": "with the GIL", "no": "free-threaded (no GIL)"}.get(interpreter.get("python_gil_enabled"), "")
    models = current().of_track("python")
    baseline = current().baseline("python")
    r.text(f"The same workloads, inputs and verified answers under CPython "
           f"{interpreter.get('python_version') or '?'} "
           f"({_program_name(interpreter.get('python_executable'))}, {gil}): "
           + "; ".join(f"{m.name} ({m.summary})" for m in models)
           + f" ({baseline} is the baseline of every py_ model's speedup, at the same n). Process models start "
           f"their workers with the start method '{interpreter.get('py_start_method') or '?'}' "
           f"({interpreter.get('py_start_method_set_by') or '?'}). Kernels are pure Python. The Python sizes are "
           f"the track's own: the CPU workloads' points take 100-300 ms at {baseline}; the I/O workloads keep "
           "C++'s requests per slot (a few ms a point), so there a model that starts its processes inside every "
           "timed region mostly measures process start.")
    rules = python.get("rules") or []
    if rules:
        r.heading("Rules of thumb, measured here", 3)
        r.text("Each rule with its figure and 95% interval: it holds only when the whole interval is on the rule's "
               "side of the threshold (a ratio against 1 also beyond the sweep's noise), does not hold when the "
               "whole interval is on the other side, and is inconclusive otherwise. The primitive rows are "
               "figures (Python's time over C++'s for the same operation), not rules.")
        r.table(["rule", "workload", "figure", "value", "95% interval", "threshold", "verdict"],
                [[x["rule"], x["workload"] or "–", x["figure"], units.number(x["value"]),
                  units.interval(*x["ci"], units.number) if x.get("ci") else "–", x["threshold"], x["verdict"]]
                 for x in rules], csv="python_rules.csv", md_rows=0)
    interpreters = python.get("interpreters") or []
    if interpreters:
        _interpreters_section(r, interpreters, plots)
    cross = python.get("cross_language") or []
    if cross:
        r.heading("C++ and Python, the same work", 3)
        r.text(f"The C++ {current().baseline('cpp')} model and {current().baseline('python')} on the same input "
               "(the Python track's size: identical work, each verified, and their answers compared); the ratio "
               "is Python's time over C++'s, medians, with a "
               "95% bootstrap interval. Workloads whose time is set by construction (amdahl_*, granularity: n is a "
               "duration) or is mostly waiting (sleep_io, tcp_echo) are left out: they would show about 1.")
        r.table(["workload", "n", f"C++ {current().baseline('cpp')}", current().baseline("python"), "Python / C++",
                 "95% interval", "same answer"],
                [[x["workload"], f"{x['n']:,}", units.seconds(x["cpp_s"]), units.seconds(x["python_s"]),
                  f"{x['ratio']:.3g}x", units.interval(*x["ratio_ci"], lambda v: f"{v:.3g}x"),
                  {True: "yes", False: "NO", None: "–"}[x.get("same_answer")]] for x in cross],
                csv="cross_language.csv", md_rows=None)
    against = current().baseline("python")
    for name, alt in (("speedup_python", f"Which Python models scale past the GIL? Speedup vs workers "
                                         f"(against {against})"),
                      ("efficiency_python", "How much of each added worker does a Python model use? Efficiency vs "
                                            f"workers (against {against})")):
        if (plots / f"{name}.png").exists():
            with r.detail() if name.startswith("efficiency") else contextlib.nullcontext():
                r.image(plots / f"{name}.png", alt, f"plots/{name}.png")
    if any(m["model"].startswith("py_") for m in analysis.get("metg", [])):
        r.text("The Python models' minimum useful task length (METG) is in the METG table, beside the C++ models'.")
    pairs = python.get("primitive_pairs") or []
    if pairs:
        r.heading("Python primitives beside C++", 3)
        with r.detail():
            r.text("Each primitive of the Python menu (time per operation, or for timers the median lateness, median "
                   "of the repetitions) beside the C++ benchmark that does the same operation; the ratio is Python "
                   "over C++ with its 95% interval.")
        r.table(["Python", "what one operation is", "time", "C++ counterpart", "time", "Python / C++"],
                [[x["python"], x["summary"] or "–", _primitive_value(x["metric"], x["python_value"]), x["cpp"] or "–",
                  _primitive_value(x["metric"], x["cpp_value"]) if x["cpp_value"] else "–",
                  f"{x['ratio']:.3g}x ({units.interval(*x['ratio_ci'], lambda v: f'{v:.3g}')})"
                  if x["ratio"] is not None else "–"] for x in pairs], csv="python_primitives.csv", md_rows=0)


def _interpreter_name(row: dict) -> str:
    gil = {"yes": "GIL on", "no": "GIL off"}.get(row.get("python_gil_enabled"), "GIL ?")
    forced = " (PYTHON_GIL=1 set by the sweep)" if row.get("python_gil_setting") else ""
    build = "free-threaded build, " if row.get("python_free_threaded") == "yes" else ""
    names = f"models @{row['tag']}" if row["tag"] else "plain model names"
    return f"{row.get('python_version') or '?'} ({build}{gil}{forced}; {names})"


def _interpreters_section(r, rows: list[dict], plots: Path) -> None:
    """The interpreters side by side: each one's serial speed against the first, and whether
    threads speed up CPU work on it (the GIL rule, per interpreter)."""
    r.heading("Interpreters and the GIL", 3)
    first = rows[0]
    r.text(f"The sweep ran the workloads on {len({x['track'] for x in rows})} interpreters (or GIL settings); "
           f"the first, {_program_name(first.get('python_executable'))}, runs everything under the plain py_ names, "
           "each "
           "other one under names tagged with its version, and its speedups are against its own "
           f"{current().baseline('python')}. 'serial vs first' is its {current().baseline('python')} time over "
           "the first interpreter's on the same input (below 1: faster); the speedups are at p = "
           f"{first['p']}; the GIL rule (threads give no speedup on "
           "CPU-bound Python: a speedup below 1.25) is decided per interpreter on the 95% interval.")

    def speed(value, ci):
        return (f"{value:.3g} ({units.interval(*ci, lambda v: f'{v:.3g}')})" if value is not None else "–")

    threads, pool = interpreter_models()
    r.table(["interpreter", "workload", "n", current().baseline("python"), "serial vs first", f"{threads} speedup",
             f"{pool} speedup", "GIL rule"],
            [[_interpreter_name(x), x["workload"], f"{x['n']:,}", units.seconds(x["serial_s"]),
              speed(x["serial_ratio"], x["serial_ratio_ci"]) if x["serial_ratio"] is not None else "(the first)",
              speed(x[threads], x[threads + "_ci"]), speed(x[pool], x[pool + "_ci"]),
              x["gil_rule"] or "–"] for x in rows], csv="python_interpreters.csv", md_rows=None)
    for path in sorted(plots.glob("speedup_python-*.png")):
        tag = path.stem.removeprefix("speedup_python-")
        r.image(path, f"Python {tag}: speedup vs workers (against {current().baseline('python')}@{tag})",
                f"plots/{path.name}")


def python_part(r: Report, c: Context) -> None:
    analysis = c.analysis
    plots = c.plots
    if analysis.get("python"):
        python_section(r, analysis, plots)
