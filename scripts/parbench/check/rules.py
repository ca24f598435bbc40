"""The rows of every check: the folder intact, every family ran and verified, the serial fractions,
the efficiencies and the speedups against a reference."""
from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

from .. import UserError, config as config_module, provenance
from ..analysis import analyze
from ..state import STATE_FILE, missing_raw_files, read_settings, read_state


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
    rows += _ran_rows(state, analysis)
    rows += _amdahl_rows(analysis, applies, thresholds)
    rows += _efficiency_rows(analysis, applies, thresholds, cores)
    rows += _suspicion_rows(analysis)
    rows += _placement_rows(analysis)
    if reference is not None:
        rows += _reference_rows(analysis, reference, thresholds)
    return rows


def _ran_rows(state: dict, analysis: dict) -> list[Row]:
    rows = []
    # 1. Every workload x model ran and verified.
    from ..runner.family import Family
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
    return rows


def _placement_rows(analysis: dict) -> list[Row]:
    """A bound run's workers stayed on the CPUs its affinity policy gave them: never seen on
    more CPUs than it bound (the counters cpus_used and cpus_bound)."""
    return [Row("affinity honoured", f"{point['workload']}/{point['model']} p={point['p']}",
                f"workers seen on {point['cpus_used']:g} CPUs", f"<= {point['cpus_bound']:g} bound",
                point["cpus_used"] <= point["cpus_bound"])
            for point in analysis["points"] if point.get("cpus_bound") and point.get("cpus_used")]


def _suspicion_rows(analysis: dict) -> list[Row]:
    """A high-severity suspicious value is a WARN (inconclusive): the measurement may be sound,
    but its figure misleads where it is used."""
    return [Row("high-severity suspicious value", f"{flag['workload']}/{flag['model']} p={flag['p']}",
                f"{flag['kind']}: {flag['detail']}", "none", None, note=flag["cause"][:160])
            for flag in analysis.get("suspicious", []) if flag.get("high")]


def _amdahl_rows(analysis: dict, applies: _Applies, thresholds) -> list[Row]:
    rows = []
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
    return rows


def _efficiency_rows(analysis: dict, applies: _Applies, thresholds, cores: int) -> list[Row]:
    rows = []
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
    return rows


def _reference_rows(analysis: dict, reference: Path, thresholds) -> list[Row]:
    rows = []
    # 4. Speedups close to a reference run.
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
    from ..runner.family import Family
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
    from ..gbench import load_results
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


def efficiency_verdict(efficiency: float, ceiling: float | None, minimum: float) -> tuple[bool | None, str]:
    """An efficiency that stays below `minimum` on re-measurement, judged against what this
    machine allows at that moment: `efficiency` and `ceiling` are measured in the same rounds,
    `ceiling` being the speed of p independent serial copies run at once, relative to one copy
    alone (1.0: the machine runs p copies at full speed). An efficiency that reaches `minimum`
    there was not reproduced (WARN); a model that reaches `minimum` of that ceiling is not what
    is slow (WARN); one that does not fails."""
    if ceiling is None:
        return False, "reproduced on re-measurement"
    if efficiency >= minimum:
        return None, f"not reproduced when measured beside the machine's ceiling ({efficiency:.2f})"
    if efficiency / ceiling < minimum:
        return False, "reproduced on re-measurement; not explained by the machine"
    return None, (f"limited by this machine: serial copies on every CPU at once reach {ceiling:.2f} of the "
                  "fastest alone, "
                  f"the model reaches {efficiency / ceiling:.2f} of that")
