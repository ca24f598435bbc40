"""./parbench check DIR [--reference DIR]: the invariants a sweep must meet.

Prints a table of every check with its measured value and threshold, then
'check: N passed, M failed'; exits 1 on any failure. Thresholds come from the
[check] table of the sweep's config (stored in DIR/sweep.json).

Two kinds of rows. A correctness row (every family ran; every point verified)
fails at once: a crash or a wrong answer is never re-measured away. A
performance row (Amdahl fits, efficiency, speedups against a reference) that
fails is re-measured before it counts: its family (and, for an efficiency,
the serial baseline's family too) runs once more, here and
now, into DIR/rechecks/ (the sweep's own raw/ stays as it was, and both
attempts are listed in sweep.json under "rechecks"), and the row is computed
again with the new measurement. A failure that does not reproduce is WARN
("not reproduced", both figures shown); one that does is FAIL. On this shared
machine a neighbour can slow one vCPU for seconds, and a single slow family
must not turn CI red. An efficiency row that fails again is measured a third
time against the machine's own ceiling (machine_ceiling: serial copies on every
CPU at once against the fastest alone): a model that reaches the threshold of
that ceiling is WARN ("limited by this machine"), since no model could do
better here; one that does not is FAIL. An Amdahl row outside its tolerance whose 95% interval
(widened by the tolerance) still contains the configured fraction is
inconclusive (WARN, too noisy to decide) and is not re-measured.

Re-measuring needs the benchmark binary (PARBENCH_BENCH, or the release
build) and the machine and commit the sweep ran on (env.json); otherwise, or
with --no-remeasure, a failing row fails.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import NamedTuple

from . import Stopped, UserError, config as config_module, provenance
from .analyze import analyze
from .scratch import CEILING_PREFIX, private_folder, remove_all_stale
from .util import one_line
from .modelnames import baseline_of
from .state import (STATE_FILE, missing_raw_files, read_env, read_settings, read_state, spin_calibration,
                    state_digest)


class Row(NamedTuple):
    check: str
    subject: str
    measured: str
    threshold: str
    passed: bool | None         # None: inconclusive
    family: str | None = None  # performance rows: the family to re-measure
    note: str = ""             # how the verdict came about, when not plain


def _checked_config(directory: Path, state: dict) -> tuple[config_module.SweepConfig | None, list]:
    """The config to check the folder against, and a FAIL row when its records were edited: for
    a sweep this checkout started here, this machine's record (sweep.json's config differing
    from it is a FAIL); for another folder, sweep.json's (differing from its settings.json,
    written once at the start, is a FAIL). None for a folder without sweep.json."""
    if not state:
        return None, []
    record, why_not = provenance.owned(directory, state.get(provenance.ID_FIELD))
    reference, source = ((record["config"], "this machine's record of the sweep") if record
                         else (read_settings(directory).get("config"), "settings.json (written at the start)"))
    rows = []
    if record is None:  # what check can say of another machine's folder is what its records say
        rows.append(Row("made here", str(directory), why_not, "a sweep this checkout started here", None,
                        note="its records are checked against each other only"))
    if reference is None and provenance.ID_FIELD in state:  # this parbench writes settings.json: gone
        rows.append(Row("config as started", str(directory / "settings.json"), "missing or unreadable",
                        "written at the start", False))
    if isinstance(reference, dict):
        differ = provenance.differences(state["config"], reference)
        if differ:
            rows.append(Row("config as started", str(directory / STATE_FILE),
                            f"differs in {', '.join(differ[:6])}{' ...' if len(differ) > 6 else ''}",
                            f"as in {source}", False, note="edited after the sweep started"))
    config = record["config"] if record else state["config"]
    return config_module.from_saved(config, str(directory / STATE_FILE)), rows


def _thresholds(directory: Path) -> config_module.CheckThresholds:
    config = _checked_config(directory, read_state(directory))[0]
    return config.check if config else config_module.CheckThresholds()


def run_checks(directory: Path, reference: Path | None, analysis: dict | None = None,
               changed: list | None = None) -> list[Row]:
    """The rows of every check. `changed`: the raw files left out of `analysis` because they are
    not the files the sweep wrote (each a FAIL); None: analysed here, such files refused."""
    if analysis is None:
        changed = []
        analysis = analyze(directory, with_previous=False, changed=changed)
    state = read_state(directory)
    config, rows = _checked_config(directory, state)
    thresholds = config.check if config else config_module.CheckThresholds()
    applies = _applies(directory, state, config, analysis)
    cores = analysis["cores"]["physical"]

    rows += _folder_rows(directory, state, changed or [])

    # 1. Every workload x model ran and verified.
    from .sweep import Family
    for family in state.get("families", []):
        rows.append(Row("ran and verified", Family.from_record(family).label,
                        family["status"] + (f": {family['message']}" if family.get("message") else ""),
                        "ok", family["status"] == "ok"))
    groups: dict[tuple, list[dict]] = {}
    for point in analysis["points"]:
        groups.setdefault((point["workload"], point["model"], point["scaling"]), []).append(point)
    errors = {e["benchmark"].split("/n:")[0] for e in analysis.get("errors", [])}
    for (workload, model, scaling), points in sorted(groups.items()):
        verified = sum(p["verified"] for p in points)
        ok = verified == len(points) and f"{workload}/{model}" not in errors
        rows.append(Row("verified counter", f"{workload}/{model} ({scaling})", f"{verified}/{len(points)} points",
                        "all", ok))

    # 2. The measured serial fraction of the amdahl_* workloads is the configured one (an Amdahl
    #    fit with 3 or more p up to the cores, else the Karp-Flatt estimate: the analysis says which).
    fits = {(f["workload"], f["model"]): f for f in analysis["fits"] if f["workload"].startswith("amdahl")}
    amdahl_workloads = sorted({p["workload"] for p in analysis["points"] if p["workload"].startswith("amdahl")}
                              | {family.split("/")[0] for family in applies.planned if family.startswith("amdahl")})
    for workload in amdahl_workloads:
        for model in thresholds.amdahl_models:
            if not applies(workload, model):
                continue
            fit = fits.get((workload, model))
            family = f"{workload}/{model}"
            if fit is None or fit.get("true_serial_fraction") is None:
                rows.append(Row("serial fraction", family, "not measured", f"±{thresholds.amdahl_tolerance}",
                                False))
                continue
            error = abs(fit["serial_fraction"] - fit["true_serial_fraction"])
            low, high = fit["serial_fraction_ci"]
            measured = (f"s={fit['serial_fraction']:.4f} (true {fit['true_serial_fraction']:.2f}, "
                        f"{fit.get('method', 'Amdahl fit')}), 95% CI [{low:.3f}, {high:.3f}]")
            tolerance = thresholds.amdahl_tolerance
            if error <= tolerance:
                verdict = True
            elif low - tolerance <= fit["true_serial_fraction"] <= high + tolerance:
                # The timings are too noisy to decide a +-tolerance question: the
                # interval still admits the configured value. Inconclusive (WARN),
                # not a broken model; a miss whose interval excludes it fails.
                verdict = None
            else:
                verdict = False
            rows.append(Row("serial fraction", family, measured, f"±{tolerance}", verdict, family))

    # 3. Efficiency at p = cores on embarrassingly parallel workloads: those this folder holds
    #    (a threshold naming a workload or model it never ran is not a failure; one that was
    #    meant to run and did not fails above, as "ran and verified").
    for workload in thresholds.efficiency_workloads:
        for model in thresholds.efficiency_models:
            if not applies(workload, model):
                continue
            candidates = [p for p in analysis["points"] if p["workload"] == workload and p["model"] == model
                          and p["scaling"] == "strong" and p["p"] == cores and p.get("efficiency") is not None]
            if not candidates:
                rows.append(Row("efficiency at p=cores", f"{workload}/{model}", "not measured",
                                f">= {thresholds.efficiency_min}", False))
                continue
            point = max(candidates, key=lambda p: p["n"])
            rows.append(Row("efficiency at p=cores", f"{workload}/{model} p={cores}", f"{point['efficiency']:.3f}",
                            f">= {thresholds.efficiency_min}", point["efficiency"] >= thresholds.efficiency_min,
                            f"{workload}/{model}"))

    # 4. Speedups close to a reference run.
    if reference is not None:
        ref = {(p["workload"], p["model"], p["n"], p["p"]): p for p in analyze(reference, with_previous=False)["points"]
               if p["scaling"] == "strong" and p.get("speedup") is not None}
        compared = 0
        for point in analysis["points"]:
            key = (point["workload"], point["model"], point["n"], point["p"])
            if point["scaling"] != "strong" or point.get("speedup") is None or key not in ref or point["p"] == 1:
                continue
            compared += 1
            expected = ref[key]["speedup"]
            difference = abs(point["speedup"] - expected) / expected
            rows.append(Row("speedup vs reference",
                            f"{point['workload']}/{point['model']} n={point['n']} p={point['p']}",
                            f"{point['speedup']:.3f} (ref {expected:.3f})",
                            f"±{100 * thresholds.reference_tolerance:.0f}%",
                            difference <= thresholds.reference_tolerance,
                            f"{point['workload']}/{point['model']}"))
        comparable = sum(1 for key in ref if key[3] != 1)
        rows.append(Row("reference coverage", str(reference), f"{compared} of its {comparable} points (p > 1)",
                        ">= 1", compared > 0, note="" if compared else "no point in common: nothing compared"))
    return rows


class _Applies:
    """Whether a threshold's (workload, model) is to be checked: one the sweep planned (a
    planned pair without points fails as "not measured"); without a plan (an older sweep), one
    its config selects and the folder holds points of."""

    def __init__(self, planned: set | None, config, analysis: dict):
        self.planned = planned or set()
        self.has_plan = planned is not None
        self.workloads = set(config.workloads) if config and config.workloads is not None else None
        self.models = set(config.models) if config and config.models is not None else None
        self.present = {(p["workload"], p["model"]) for p in analysis["points"]}

    def __call__(self, workload: str, model: str) -> bool:
        if self.has_plan:
            return f"{workload}/{model}" in self.planned
        return ((self.workloads is None or workload in self.workloads) and
                (self.models is None or model in self.models) and
                any(w == workload for w, _ in self.present) and any(m == model for _, m in self.present))


def _applies(directory: Path, state: dict, config, analysis: dict) -> _Applies:
    plan = planned_families(directory, state) if state else None
    return _Applies({key.split("|")[0] for key in plan} if plan is not None else None, config, analysis)


def _folder_rows(directory: Path, state: dict, changed: list) -> list[Row]:
    """The folder is a whole sweep, every raw file it records is there as written, and each
    holds valid measurements: without its record, families that never ran cannot be told from
    families that were never meant to (a check that cannot see them must not pass)."""
    rows = []
    if not state:
        rows.append(Row("complete sweep", str(directory), f"no {STATE_FILE}", "a parbench sweep", False,
                        note="cannot tell which families should have run"))
    elif state.get("status") != "complete":
        rows.append(Row("complete sweep", str(directory), f"status {state.get('status', '?')}", "complete",
                        False, note=f"finish it first: ./parbench sweep --resume {directory}"))
    for file in missing_raw_files(directory, state):
        rows.append(Row("raw file present", file, "missing", f"recorded in {STATE_FILE}", False))
    for file, why in changed:
        rows.append(Row("raw file intact", file, why, f"as written (size and SHA-256 in {STATE_FILE})", False))
    return rows + _valid_rows(directory, state, {file for file, _ in changed})


def planned_families(directory: Path, state: dict) -> dict | None:
    """The families the sweep set out to run and the benchmarks of each ({Family.key:
    instances}): from this machine's record of a sweep it started, else the folder's
    settings.json (written once, at the start), else sweep.json; None for a sweep of an older
    parbench, which recorded no plan."""
    record, _ = provenance.owned(directory, state.get(provenance.ID_FIELD))
    for source in (record or {}, read_settings(directory), state):
        if isinstance(source.get("plan"), dict):
            return source["plan"]
    return None


def _valid_rows(directory: Path, state: dict, changed: set[str]) -> list[Row]:
    """A FAIL for each planned family sweep.json does not record, and for each finished family
    whose raw file is not all the family's planned benchmarks, each of them with every
    repetition valid (no NaN or absurd time, no error row, no verified = 0): a family or a
    point would otherwise just be missing from the analysis, and from every row below."""
    from .sweep import Family
    plan = planned_families(directory, state)
    records = [r for r in state.get("families", []) if isinstance(r, dict)]
    recorded = {Family.from_record(r).key for r in records}
    rows = [Row("planned family", key.replace("|", " "), f"not in {STATE_FILE}", "every planned family", False)
            for key in sorted(set(plan or {}) - recorded)]
    if plan is None and provenance.ID_FIELD in state:  # this parbench records its plan: removed
        rows.append(Row("planned family", str(directory), "no plan recorded", "the sweep's plan", False))
    repetitions = (state.get("config") or {}).get("repetitions")
    for record in records:
        path = directory / str(record.get("file"))
        if record["status"] != "ok" or record.get("file") in changed or not path.is_file():
            continue
        family = Family.from_record(record)
        why = _measurement_problem(path, family, (plan or {}).get(family.key), repetitions)
        if why:
            rows.append(Row("valid measurements", family.label, why, "all planned, all valid", False))
    return rows


def _measurement_problem(path: Path, family, planned: int | None, repetitions: int | None) -> str:
    """Why a family's raw file is not a whole, valid measurement of it ("" when it is)."""
    from .gbench import load_results
    try:
        runs = list(load_results([path]).runs.values())
    except UserError as error:
        return str(error)
    matches = re.compile(family.benchmark_filter)
    strangers = [r.run_name for r in runs if not matches.search(r.run_name)]
    if strangers:
        return f"{len(strangers)} benchmark(s) of another family (first: {strangers[0]})"
    if planned is not None and len(runs) != planned:
        return f"{len(runs)} of {planned} planned benchmarks"
    broken = [r for r in runs if r.errors or not r.real_times]
    if broken or not runs:
        first = broken[0].errors[0] if broken and broken[0].errors else "no timings"
        return f"{len(runs) - len(broken)} of {len(runs)} benchmarks (first: {first})"
    short = [r for r in runs if repetitions and len(r.real_times) < repetitions]
    if short:
        return f"{short[0].run_name}: {len(short[0].real_times)} of {repetitions} repetitions"
    return ""


def _git_sha(root: Path) -> str | None:
    try:
        result = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def _why_not_remeasure(directory: Path) -> str | None:
    """Why this sweep's families cannot be re-measured here and now (None: they can): only a
    sweep this checkout started on this machine (provenance's record, kept outside the
    folder), at the commit that made it, with this checkout's binary."""
    from .sweep import ROOT, binary_path
    try:
        binary_path()
    except UserError as error:
        return str(error)
    state = read_state(directory)
    if not state:
        return "no sweep.json: not a sweep directory"
    record, why_not = provenance.owned(directory, state.get(provenance.ID_FIELD))
    if record is None:
        return f"not a sweep this checkout started on this machine: {why_not}"
    sha = (read_env(directory).get("git") or {}).get("sha")
    current = _git_sha(ROOT)
    if sha and current and sha != current:
        return f"the sweep was made by commit {sha[:10]}, this checkout is {current[:10]}"
    return None


def remeasure(directory: Path, families: list[str]) -> dict[str, dict]:
    """Runs each family once more into DIR/rechecks/ (strong scaling, the sweep's own
    selection and spin calibration, this machine's record of its config) and records it in
    sweep.json's "rechecks". The caller holds the folder's lock."""
    from .sweep import StopRequest
    stop = StopRequest()  # a stop signal ends the family cleanly (no half-written file), then the check
    try:
        records = _remeasure(directory, families, stop)
    finally:
        stop.restore()
    if stop.signal is not None:
        raise Stopped(stop.signal) if stop.signal != signal.SIGINT else KeyboardInterrupt
    return records


def _remeasure(directory: Path, families: list[str], stop) -> dict[str, dict]:
    from .sweep import Family, Tracks, binary_path, own_config, write_state
    state_path = directory / STATE_FILE
    state = read_state(directory)
    config = own_config(directory, state, "check: re-measuring")
    env = dict(os.environ, PARBENCH_SPIN_ITERS_PER_US=f"{spin_calibration(state, state_path):.6f}")
    # the strong-scaling run of each family (not the C++ serial at the Python sizes, whose name it shares)
    known = {f["family"]: f for f in state.get("families", [])
             if not f.get("weak") and not f.get("omp_wait") and not f.get("sizes")}
    tracks = Tracks.make(binary_path(), config, env, state)
    stop.install()  # set up: from here a stop signal is polled for, between and during families
    records = {}
    for name in families:
        family = Family(name, False, int(known.get(name, {}).get("instances", 1)),
                        track=known.get(name, {}).get("track", ""))
        if stop.signal is not None:
            break
        record = tracks.run(family, config, directory, stop,
                            out_path=directory / "rechecks" / f"{family.stem}.json", reruns=False)
        if record is None:
            continue
        record["when"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        record["reason"] = "a performance check failed on the sweep's measurement"
        state.setdefault("rechecks", []).append(record)
        write_state(directory, state)
        records[name] = record
    return records


def check(directory: Path, reference: Path | None, allow_remeasure: bool = True) -> int:
    """Checks DIR, holding its lock throughout (a sweep or resume writing it meanwhile would make
    the verdict, and the check.json it leaves, describe a state that no longer is)."""
    import contextlib
    from .util import FolderLock, remove_partials
    remove_all_stale(dict(os.environ))  # scratch folders of a check or sweep killed outright (SIGKILL)
    with contextlib.ExitStack() as held:
        if (Path(directory) / STATE_FILE).exists():
            held.enter_context(FolderLock(directory))
            remove_partials(directory)  # its own half-written files
        return _check(Path(directory), reference, allow_remeasure)


def _check(directory: Path, reference: Path | None, allow_remeasure: bool) -> int:
    changed: list = []
    analysis = analyze(directory, with_previous=False, changed=changed)
    rows = run_checks(directory, reference, analysis, changed)
    if not rows:
        rows = [Row("anything checked", str(directory), "no check applies to these results", ">= 1", False)]
    failing = sorted({r.family for r in rows if r.passed is False and r.family})
    # An efficiency is the serial family's time over the model's: both are measured again, one
    # after the other, so that a slow spell of the machine during either does not decide it.
    failing = sorted(set(failing) | {r.family.split("/")[0] + "/" + baseline_of(r.family.split("/")[1]) for r in rows
                                     if r.passed is False and r.family and r.check == "efficiency at p=cores"})
    if failing:
        why_not = "re-measuring is off (--no-remeasure)" if not allow_remeasure else _why_not_remeasure(directory)
        if why_not is None:
            print(f"check: {len(failing)} famil{'y' if len(failing) == 1 else 'ies'} failed a performance "
                  f"check; measuring {'it' if len(failing) == 1 else 'them'} once more: {', '.join(failing)}",
                  flush=True)
            rows = _with_remeasurements(directory, reference, rows, remeasure(directory, failing))
        else:
            rows = [r._replace(note=f"not re-measured: {why_not}") if r.passed is False and r.family else r
                    for r in rows]
    _print_rows(rows)
    _record(directory, rows)
    return 1 if any(r.passed is False for r in rows) else 0


def _print_rows(rows: list[Row]) -> None:
    rows = [Row(*(one_line(value) if isinstance(value, str) else value for value in row)) for row in rows]
    widths = [max(len(str(r[i])) for r in rows + [("check", "subject", "measured", "threshold")]) for i in range(4)]
    header = ("check", "subject", "measured", "threshold")
    print("  ".join(f"{h:<{w}}" for h, w in zip(header, widths)) + "  result")
    for row in rows:
        label = {True: "PASS", False: "FAIL", None: "WARN"}[row.passed]
        note = row.note or ("too noisy to decide" if row.passed is None else "")
        print("  ".join(f"{str(c):<{w}}" for c, w in zip(row[:4], widths)) + f"  {label}"
              + (f" ({note})" if note else ""))
    failed = sum(1 for r in rows if r.passed is False)
    noisy = sum(1 for r in rows if r.passed is None and not r.note)
    unreproduced = sum(1 for r in rows if r.passed is None and r.note.startswith("not reproduced"))
    warned = sum(1 for r in rows if r.passed is None) - noisy - unreproduced
    summary = f"\ncheck: {len(rows) - failed - noisy - unreproduced - warned} passed, {failed} failed"
    if noisy:
        summary += f", {noisy} inconclusive (noisy timings)"
    if unreproduced:
        summary += f", {unreproduced} not reproduced on re-measurement"
    if warned:
        summary += f", {warned} warning(s)"
    print(summary)


def _record(directory: Path, rows: list[Row]) -> None:
    """check.json beside the sweep, and the report again so that its summary shows this check."""
    from .report import write_report
    from .util import atomic_write_text
    results = [{"check": r.check, "subject": r.subject, "measured": r.measured, "threshold": r.threshold,
                "result": {True: "PASS", False: "FAIL", None: "WARN"}[r.passed], "note": r.note} for r in rows]
    if not (directory / STATE_FILE).exists():
        return  # not a sweep's folder: nothing of parbench's to add the result to
    try:
        # The state checked, by its digest, and the whole signed on this machine: the report shows
        # these rows only while that state is the folder's, and only if check wrote them here.
        record = {"when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                  "sweep_sha256": state_digest(directory), "rows": results}
        record["digest"] = provenance.signature(record)
        atomic_write_text(directory / "check.json", json.dumps(record, indent=1) + "\n")
        if (directory / "analysis.json").exists() and (directory / "report.md").exists():
            write_report(directory)
    except (OSError, UserError) as error:
        print(f"check: could not record the result in {directory} ({error})")


def _with_remeasurements(directory: Path, reference: Path | None, rows: list[Row],
                         records: dict[str, dict]) -> list[Row]:
    """The rows again, each failed performance row replaced by its verdict after re-measuring."""
    replacements = {}
    for name, record in records.items():
        if record["status"] == "ok":
            replacements[Path(record["file"]).name] = directory / record["file"]
    again = {}
    if replacements:
        changed: list = []
        analysis = analyze(directory, replacements=replacements, with_previous=False, changed=changed)
        again = {(r.check, r.subject): r for r in run_checks(directory, reference, analysis, changed)}
    result = []
    for row in rows:
        if row.passed is not False or not row.family:
            result.append(row)
            continue
        record = records.get(row.family)
        if record is None or record["status"] != "ok":
            why = "the re-measurement did not run" if record is None else \
                f"the re-measurement {record['status']}: {record.get('message', '')}"
            result.append(row._replace(note=why))
            continue
        second = again.get((row.check, row.subject))
        if second is None:
            result.append(row._replace(note="re-measured, but the row could not be computed again"))
        elif second.passed is False and row.check == "efficiency at p=cores":
            result.append(_against_machine_ceiling(directory, row, second))
        elif second.passed is False:
            result.append(row._replace(measured=f"{row.measured}; re-measured: {second.measured}",
                                       note="reproduced on re-measurement"))
        else:
            result.append(row._replace(measured=f"{row.measured}; re-measured: {second.measured}",
                                       passed=None, note="not reproduced on re-measurement"))
    return result


def efficiency_verdict(efficiency: float, ceiling: float | None, minimum: float) -> tuple[bool | None, str]:
    """An efficiency that stays below `minimum` on re-measurement, judged against what this
    machine allows: `ceiling` is the speed of p independent serial copies run at once, relative
    to one copy alone (1.0: the machine runs p copies at full speed). A model that reaches
    `minimum` of that ceiling is not what is slow (WARN); one that does not fails."""
    if ceiling is None:
        return False, "reproduced on re-measurement"
    if ceiling >= minimum or efficiency / ceiling < minimum:
        return False, "reproduced on re-measurement; not explained by the machine"
    return None, (f"limited by this machine: serial copies on every CPU at once reach {ceiling:.2f} of the fastest alone, "
                  f"the model reaches {efficiency / ceiling:.2f} of that")


def machine_ceiling(workload: str, n: int, p: int, min_time: float = 0.2, rounds: int = 3) -> float | None:
    """The efficiency at p that no execution model can pass on this machine at this moment:
    the throughput of p independent serial copies run at once, each pinned to its own CPU,
    relative to p times the fastest single copy (each CPU measured alone, in turn). Median
    over `rounds`.

    Below 1 when the vCPUs are not equal (on this VM one vCPU ran monte_carlo_pi 1.6x slower
    than the other, steadily, while primes differed by 5%: a host-side SMT sibling busy with
    the same execution units), when the p copies contend (shared caches, memory bandwidth),
    or when a neighbour holds a vCPU."""
    import statistics
    import tempfile
    from .sweep import binary_path
    binary = binary_path()
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < p:
        return None
    cpus = cpus[:p]
    command = [str(binary), f"--workloads={workload}", "--models=serial", "--p=1", f"--size={n}",
               "--primitives=none", f"--benchmark_filter=^{workload}/serial/n:{n}/p:1/",
               "--benchmark_repetitions=3", f"--benchmark_min_time={min_time:g}",
               "--benchmark_out_format=json"]

    def run_pinned(on: list[int]) -> list[float] | None:
        """Median real time of one copy on each CPU of `on`, all at once."""
        with private_folder(Path(tempfile.gettempdir()), CEILING_PREFIX) as scratch:
            outputs = [scratch / f"cpu{cpu}.json" for cpu in on]
            processes = [subprocess.Popen([*command, f"--benchmark_out={out}"], stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                                          preexec_fn=lambda cpu=cpu: os.sched_setaffinity(0, {cpu}))
                         for cpu, out in zip(on, outputs)]
            try:
                codes = [process.wait(timeout=120) for process in processes]
            except subprocess.TimeoutExpired:
                codes = [1]
            finally:
                for process in processes:
                    if process.poll() is None:
                        process.kill()
                        process.wait()
            if any(codes):
                return None
            medians = []
            for out in outputs:
                entries = json.loads(out.read_text())["benchmarks"]
                times = [e["real_time"] for e in entries if e.get("run_type") == "iteration"]
                if not times:
                    return None
                medians.append(statistics.median(times))
            return medians

    ceilings = []
    for _ in range(rounds):
        alone = [run_pinned([cpu]) for cpu in cpus]
        together = run_pinned(cpus)
        if together is None or any(a is None for a in alone):
            return None
        fastest = min(a[0] for a in alone)
        ceilings.append(sum(1 / t for t in together) / (p / fastest))
    return statistics.median(ceilings)


def _against_machine_ceiling(directory: Path, row: Row, second: Row) -> Row:
    """A reproduced efficiency failure, measured once more against the machine's ceiling."""
    measured = f"{row.measured}; re-measured: {second.measured}"
    workload = row.family.split("/")[0]
    p = int(row.subject.rsplit("p=", 1)[1])
    points = [pt for pt in analyze(directory, with_previous=False, changed=[])["points"]
              if pt["workload"] == workload and pt["model"] == "serial" and pt["scaling"] == "strong"]
    ceiling = None
    if points:
        n = max(pt["n"] for pt in points)
        print(f"check: {row.subject} stays below its threshold; measuring this machine's ceiling "
              f"({p} serial copies at once, one per CPU, against the fastest alone)", flush=True)
        try:
            ceiling = machine_ceiling(workload, n, p)
        except (OSError, UserError, ValueError, KeyError, json.JSONDecodeError):
            ceiling = None
    passed, note = efficiency_verdict(float(second.measured), ceiling, _thresholds(directory).efficiency_min)
    if ceiling is not None:
        measured += f"; machine ceiling {ceiling:.3f}"
    return row._replace(measured=measured, passed=passed, note=note)
