"""analysis.json and the CSV tables beside it."""
from __future__ import annotations

import csv
import json
from pathlib import Path

from ..state import state_digest
from .python import interpreter_models
from ..util import atomic_write_text
from .common import _round


def _clean(value):
    if isinstance(value, float):
        return _round(value, 9)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


# The Python track's tables: CSV name -> (key under analysis["python"], columns).
PYTHON_CSV_TABLES = {
    "python_rules": ("rules", ["rule", "workload", "figure", "n", "value", "ci", "threshold", "verdict"]),
    "cross_language": ("cross_language", ["workload", "n", "category", "cpp_s", "python_s", "ratio", "ratio_ci",
                                          "same_answer"]),
    "python_primitives": ("primitive_pairs", ["python", "summary", "metric", "python_value", "cpp", "cpp_value",
                                              "ratio", "ratio_ci"]),
    "python_interpreters": ("interpreters", ["track", "python_version", "python_executable", "python_free_threaded",
                                             "python_gil_setting", "python_gil_enabled", "workload", "n", "p",
                                             "serial_s", "serial_ratio", "serial_ratio_ci",
                                             "<models>", "gil_rule"]),
}
CSV_TABLES = {
    "points": ["workload", "model", "category", "scaling", "n", "p", "repetitions", "median_s",
               "ci_low_s", "ci_high_s", "cv", "speedup", "speedup_ci", "efficiency", "self_speedup",
               "self_efficiency", "karp_flatt", "self_karp_flatt", "throughput", "bytes_per_second", "oversubscribed",
               "limit", "verified", "cpus_used", "cpus_bound"],
    "fits": ["workload", "model", "n", "method", "fitted", "distinct_p", "true_serial_fraction",
             "serial_fraction", "serial_fraction_ci", "t1_s", "points", "max_p", "reason"],
    "gustafson": ["workload", "model", "base_n", "n", "p", "distinct_p", "scaled_speedup", "serial_fraction",
                  "true_serial_fraction", "expected_scaled_speedup", "expected_serial_fraction", "limit"],
    "metg": ["model", "p", "metg_us", "how"],
    "overhead": ["kind", "model", "wait", "p", "metric", "ns", "ci"],
    "idle": ["model", "wait", "p", "cpu_share", "ci"],
    "verdicts": ["workload", "track", "n", "category", "p", "verdict", "best", "best_p", "best_median_s", "runner_up",
                 "ratio", "ci", "confidence", "p_value", "p_adjusted", "noise", "tied", "speedup_over_serial",
                 "speedup_ci", "flags"],
    "suspicious": ["kind", "workload", "model", "n", "p", "value", "ci", "high", "detail", "cause"],
    "memory": ["workload", "model", "n", "p", "bytes_per_second", "working_set_bytes", "llc_bytes", "fits_llc",
               "limit", "flags", "dominated_by"],
    "primitives": ["benchmark", "family", "metric", "value", "ci", "median_s", "cv"],
    "claims": ["section", "topic", "kind", "subjects", "context", "figure", "interval", "confidence", "test",
               "outcome", "flags"],
    "ipc": ["mechanism", "mode", "size", "us_per_message", "bytes_per_second", "messages_per_second"],
    "psync": ["benchmark", "us_per_iteration", "ns_per_op", "cv"],
    "mpi": ["benchmark", "size", "ranks", "us_per_iteration", "one_way_us", "one_way_p99_us", "bytes_per_second",
            "launched"],
    "io": ["workload", "model", "best_p", "throughput", "concurrency_reached", "efficiency_at_best", "max_p"],
    "task_lengths": ["track", "nominal_us", "actual_us", "actual_min_us", "actual_max_us", "ratio", "measurements"],
    "disturbance": ["family", "weak", "omp_wait", "status", "steal", "other", "total", "attempts"],
}


VS_PREVIOUS_COLUMNS = ["kind", "subject", "before", "now", "unit", "ratio", "ci", "confidence", "p_value",
                       "p_adjusted", "significant", "direction"]


def analysis_digest(analysis: dict) -> str:
    """The analysis's signature under this machine's key (provenance.signature): plot and report
    trust an analysis.json only when analyze wrote it here (a hand-edited or foreign one, even
    with its checksum recomputed, is analysed again from raw/)."""
    from ..provenance import signature
    return signature(analysis)


def write_outputs(directory: Path, analysis: dict) -> None:
    analysis = _clean(analysis)
    analysis["sweep_sha256"] = state_digest(directory)  # the state it was made from: stale once that changes
    analysis["digest"] = analysis_digest(analysis)
    atomic_write_text(directory / "analysis.json", json.dumps(analysis, indent=1, sort_keys=False) + "\n")
    tables = dict(CSV_TABLES)
    python = analysis.get("python") or {}
    for table, (key, columns) in PYTHON_CSV_TABLES.items():
        if "<models>" in columns:  # a column and its interval per model of the interpreters' table
            at = columns.index("<models>")
            columns = columns[:at] + [c for m in interpreter_models() for c in (m, m + "_ci")] + columns[at + 1:]
        analysis = dict(analysis, **{table: python.get(key) or []})
        tables[table] = columns
    previous_rows = (analysis.get("previous") or {}).get("rows")
    if previous_rows is not None:
        analysis = dict(analysis, vs_previous=previous_rows)
        tables["vs_previous"] = VS_PREVIOUS_COLUMNS
    elif (directory / "vs_previous.csv").exists():  # of an earlier analysis: no longer this one's
        (directory / "vs_previous.csv").unlink()
    for table, columns in tables.items():
        path = directory / f"{table}.csv"
        lines = []

        class _Sink:
            def write(self, text):
                lines.append(text)

        writer = csv.writer(_Sink(), lineterminator="\n")
        writer.writerow(columns)
        for row in analysis[table]:
            writer.writerow(["" if row.get(c) is None else
                             (json.dumps(row[c]) if isinstance(row.get(c), list) else csv_cell(row[c]))
                             for c in columns])
        atomic_write_text(path, "".join(lines))


def csv_cell(value):
    """A CSV cell a spreadsheet shows as text: a string starting with = + - @ (or a tab or
    carriage return) would be run as a formula, so it gets a leading apostrophe. Numbers stay
    numbers."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
