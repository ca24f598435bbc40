"""./parbench analyze DIR: scaling figures from a sweep's raw Google Benchmark JSON.

Writes DIR/analysis.json and CSV tables (points, fits, gustafson, metg,
overhead, verdicts, ...). One module per topic
(scaling, metg, overheads, ipc, mpi, verdicts, quality, io, previous, python); pure math
lives in stats.py.

What the data can decide, and nothing more: every comparison carries a
bootstrap interval of its ratio of medians; a verdict is a win only if Welch's
test on log times, corrected over all workloads (Holm), says so, the interval
excludes 1 and the difference exceeds the run-to-run noise; otherwise it is a
tie. A point a model cannot run in parallel by design is marked with the
reason and left out of fits and verdicts. An Amdahl fit needs three distinct
p up to the physical cores (two parameters); with fewer, the serial fraction
is the Karp-Flatt estimate at the largest such p, labelled as such.
"""
from __future__ import annotations

from pathlib import Path

from .. import UserError, catalogue
from . import python as python_track
from ..gbench import load_results
from ..state import read_env, read_state, result_files
from .common import (AMDAHL_METHOD, METG_STATEMENT, VERDICT_METHOD, baseline_statement, io_statement, machine_cores,
                     model_limits, sweep_noise)
from .scaling import build_fits, build_gustafson, build_points
from .metg import build_metg, build_task_lengths, build_task_spawn, spawn_workloads
from .overheads import (build_idle, build_overhead, build_primitive_tables, build_primitives)
from .ipc import build_ipc, build_psync
from .mpi import build_mpi
from .verdicts import build_verdicts
from .quality import build_disturbance, build_suspicious, build_warnings, mark_flags, run_quality
from .claims import build_claims, numa_claims
from .overheads import SPAWN_LADDER
from .io import build_io, build_memory
from .previous import build_vs_previous, find_previous
from .outputs import write_outputs


def analyze(directory: Path, replacements: dict[str, Path] | None = None,
            baseline: Path | None = None, with_previous: bool = True, changed: list | None = None) -> dict:
    """The analysis of DIR's raw files; replacements maps a raw file's name to another file to
    read in its place (check's re-measurements); baseline names the run to compare with (default:
    find_previous); with_previous=False skips that comparison. A raw file changed since the
    sweep wrote it is refused, or with `changed` (a list) left out and named there."""
    with catalogue.using(catalogue.of_folder(directory)):
        files = [(replacements or {}).get(f.name, f) for f in result_files(directory, changed)]
        results = _parbench_results(directory, load_results(files))
        env = read_env(directory)
        sweep = read_state(directory)
        physical, threads = machine_cores(env, results)
        limits = model_limits(results)
        points = build_points(results, physical, threads, limits)
        noise = sweep_noise(points)
        primitives = build_primitives(results)
        metg_rows, curves = build_metg(points)
        primitive_tables = build_primitive_tables(primitives)
        errors = [{"benchmark": r.run_name, "errors": sorted(set(r.errors))}
                  for r in results.runs.values() if r.errors]
        analysis = {
            "parbench_analysis": 1,
            "directory": str(directory),
            "started": sweep.get("started"),
            "cores": {"physical": physical, "hardware_threads": threads},
            "baseline": baseline_statement(),
            "amdahl_fit_method": AMDAHL_METHOD,
            "verdict_method": VERDICT_METHOD,
            "noise": noise,
            "limits": {"cpu": limits["cpu"], "fork_join": limits["fork_join"],
                       "fork_join_workloads": sorted(limits["fork_join_workloads"])},
            "points": points,
            "fits": build_fits(results, physical, limits),
            "gustafson": build_gustafson(points),
            "metg": metg_rows,
            "metg_method": METG_STATEMENT,
            "granularity_curves": curves,
            "task_lengths": build_task_lengths(points),
            "task_spawn": build_task_spawn(results),
            "disturbance": build_disturbance(sweep),
            "disturbance_max": (sweep.get("config") or {}).get("disturbance_max"),
            "overhead": build_overhead(primitives),
            "idle": build_idle(primitives),
            "ipc": build_ipc(primitives),
            "mpi": build_mpi(primitives),
            "psync": build_psync(primitives),
            "model_notes": {k.split(":", 1)[1]: v for context in results.contexts.values()
                            for k, v in context.items() if k.startswith("model_note:")},
            "primitives": primitives,
            "verdicts": build_verdicts(points, physical, noise, spawn_workloads(results)),
            "suspicious": build_suspicious(points, noise, spawn_workloads(results)),
            "primitive_tables": primitive_tables,
            "io_method": io_statement(),
            "io": build_io(points),
            "errors": errors,
            "failures": [f for f in sweep.get("families", []) if f.get("status") != "ok"],
            "warnings": build_warnings(points, env, sweep, physical, threads, primitives, directory),
            "previous": None,
        }
        mark_flags(points, analysis["verdicts"], analysis["suspicious"])
        analysis["memory"] = build_memory(points, env)
        analysis["quality"] = run_quality(points, env, sweep, threads, analysis["suspicious"])
        analysis["repetitions"] = min((p["repetitions"] for p in points), default=0)
        analysis["claims"] = build_claims(analysis, noise, SPAWN_LADDER) + numa_claims(
            points, env.get("topology") or {}, (sweep.get("binary_info") or {}).get("placements") or {}, noise)
        # The Python track's cross-language table, rules of thumb and primitive pairs (None without it).
        analysis["python"] = python_track.build(points, primitives, results.contexts, physical, noise)
        if with_previous:
            analysis["previous"] = _vs_previous(analysis, directory, env, sweep, baseline)
        return analysis


def _parbench_results(directory: Path, results):
    """The results, or one line saying why they are not a parbench sweep's."""
    if not results.runs:
        raise UserError(f"{directory}: no benchmarks in the JSON files")
    if not any(r.real_times for r in results.runs.values()) and not any(
            r.errors for r in results.runs.values()):
        raise UserError(f"{directory}: no parbench benchmarks with timings")
    parbench_like = results.workload_runs() or any(
        r.family.startswith(("overhead/", "sync/", "queue/", "spawn/", "timer/", "ipc/", "psync/", "mpi/", "py/"))
        for r in results.runs.values())
    if not parbench_like:
        raise UserError(f"{directory}: no parbench benchmarks (names like <workload>/<model>/n:<N>/p:<P>)")
    return results


def _vs_previous(analysis: dict, directory: Path, env: dict, sweep: dict, baseline: Path | None) -> dict | None:
    """The comparison with --baseline, else with the latest earlier sweep that can be analysed
    (one whose files are damaged or changed is passed over, and said so)."""
    if baseline is not None:
        try:
            return build_vs_previous(analysis, analyze(baseline, with_previous=False), baseline, sweep, env)
        except UserError as error:
            raise UserError(f"baseline {baseline}: {error}") from None
    passed_over = []
    for candidate in find_previous(directory, env, sweep):
        try:
            previous = analyze(candidate, with_previous=False)
        except UserError as error:
            passed_over.append(f"{candidate.name} ({str(error).split(': ', 1)[-1][:120]})")
            continue
        comparison = build_vs_previous(analysis, previous, candidate, sweep, env)
        if passed_over:
            comparison["passed_over"] = passed_over
        return comparison
    if passed_over:
        analysis["warnings"].append("no earlier sweep to compare with: " + "; ".join(passed_over[:3])
                                    + " could not be analysed")
    return None


def main(directory: str, baseline: str | None = None) -> int:
    path = Path(directory)
    analysis = analyze(path, baseline=Path(baseline) if baseline else None)
    write_outputs(path, analysis)
    fitted = sum(1 for f in analysis["fits"] if f.get("fitted"))
    previous = analysis.get("previous")
    print(f"analysis: {len(analysis['points'])} points, {len(analysis['verdicts'])} verdicts, "
          f"{fitted} Amdahl fits ({len(analysis['fits']) - fitted} Karp-Flatt estimates), "
          f"{len(analysis['metg'])} METG values"
          + (f", compared with {previous['directory']}" if previous else "")
          + f" -> {path / 'analysis.json'}")
    return 0
