"""./parbench check DIR [--reference DIR]: the invariants a sweep must meet.

Prints a table of every check with its measured value and threshold, then
'check: N passed, M failed'; exits 1 on any failure. An Amdahl row outside its
tolerance whose 95% interval (widened by the tolerance) still contains the
configured fraction is inconclusive: the timings are too noisy to decide, so
it is printed as WARN and counted apart, not failed. Thresholds come from the
[check] table of the sweep's config (stored in DIR/sweep.json).
"""
from __future__ import annotations

import json
from pathlib import Path

from . import UserError, config as config_module
from .analyze import analyze


def _thresholds(directory: Path) -> config_module.CheckThresholds:
    path = directory / "sweep.json"
    if path.exists():
        try:
            return config_module.from_saved(json.loads(path.read_text())["config"]).check
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise UserError(f"{path}: unreadable sweep state ({error})") from None
    return config_module.CheckThresholds()


def run_checks(directory: Path, reference: Path | None) -> list[tuple]:
    analysis = analyze(directory)
    thresholds = _thresholds(directory)
    cores = analysis["cores"]["physical"]
    rows: list[tuple] = []  # (check, subject, measured, threshold, passed)

    # 1. Every workload x model ran and verified.
    sweep_path = directory / "sweep.json"
    families = json.loads(sweep_path.read_text()).get("families", []) if sweep_path.exists() else []
    for family in families:
        rows.append(("ran and verified", family["family"] + (" (weak)" if family.get("weak") else ""),
                     family["status"] + (f": {family['message']}" if family.get("message") else ""),
                     "ok", family["status"] == "ok"))
    groups: dict[tuple, list[dict]] = {}
    for point in analysis["points"]:
        groups.setdefault((point["workload"], point["model"], point["scaling"]), []).append(point)
    errors = {e["benchmark"].split("/n:")[0] for e in analysis.get("errors", [])}
    for (workload, model, scaling), points in sorted(groups.items()):
        verified = sum(p["verified"] for p in points)
        ok = verified == len(points) and f"{workload}/{model}" not in errors
        rows.append(("verified counter", f"{workload}/{model} ({scaling})", f"{verified}/{len(points)} points",
                     "all", ok))

    # 2. Amdahl fits recover the configured serial fraction.
    fits = {(f["workload"], f["model"]): f for f in analysis["fits"] if f["workload"].startswith("amdahl")}
    amdahl_workloads = sorted({p["workload"] for p in analysis["points"] if p["workload"].startswith("amdahl")})
    for workload in amdahl_workloads:
        for model in thresholds.amdahl_models:
            fit = fits.get((workload, model))
            if fit is None or fit.get("true_serial_fraction") is None:
                rows.append(("Amdahl fit", f"{workload}/{model}", "no fit", f"±{thresholds.amdahl_tolerance}", False))
                continue
            error = abs(fit["serial_fraction"] - fit["true_serial_fraction"])
            low, high = fit["serial_fraction_ci"]
            measured = (f"s={fit['serial_fraction']:.4f} (true {fit['true_serial_fraction']:.2f}), "
                        f"95% CI [{low:.3f}, {high:.3f}]")
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
            rows.append(("Amdahl fit", f"{workload}/{model}", measured,
                         f"±{thresholds.amdahl_tolerance}",
                         verdict))

    # 3. Efficiency at p = cores on embarrassingly parallel workloads.
    for workload in thresholds.efficiency_workloads:
        for model in thresholds.efficiency_models:
            candidates = [p for p in analysis["points"] if p["workload"] == workload and p["model"] == model
                          and p["scaling"] == "strong" and p["p"] == cores and p.get("efficiency") is not None]
            if not candidates:
                rows.append(("efficiency at p=cores", f"{workload}/{model}", "not measured",
                             f">= {thresholds.efficiency_min}", False))
                continue
            point = max(candidates, key=lambda p: p["n"])
            rows.append(("efficiency at p=cores", f"{workload}/{model} p={cores}", f"{point['efficiency']:.3f}",
                         f">= {thresholds.efficiency_min}", point["efficiency"] >= thresholds.efficiency_min))

    # 4. Speedups close to a reference run.
    if reference is not None:
        ref = {(p["workload"], p["model"], p["n"], p["p"]): p for p in analyze(reference)["points"]
               if p["scaling"] == "strong" and p.get("speedup") is not None}
        compared = 0
        for point in analysis["points"]:
            key = (point["workload"], point["model"], point["n"], point["p"])
            if point["scaling"] != "strong" or point.get("speedup") is None or key not in ref or point["p"] == 1:
                continue
            compared += 1
            expected = ref[key]["speedup"]
            difference = abs(point["speedup"] - expected) / expected
            rows.append(("speedup vs reference", f"{point['workload']}/{point['model']} n={point['n']} p={point['p']}",
                         f"{point['speedup']:.3f} (ref {expected:.3f})",
                         f"±{100 * thresholds.reference_tolerance:.0f}%", difference <= thresholds.reference_tolerance))
        if compared == 0:
            rows.append(("speedup vs reference", str(reference), "no common points", "some", False))
    return rows


def check(directory: Path, reference: Path | None) -> int:
    rows = run_checks(directory, reference)
    widths = [max(len(str(r[i])) for r in rows + [("check", "subject", "measured", "threshold")]) for i in range(4)]
    header = ("check", "subject", "measured", "threshold")
    print("  ".join(f"{h:<{w}}" for h, w in zip(header, widths)) + "  result")
    labels = {True: "  PASS", False: "  FAIL", None: "  WARN (too noisy to decide)"}
    for row in rows:
        print("  ".join(f"{str(c):<{w}}" for c, w in zip(row[:4], widths)) + labels[row[4]])
    failed = sum(1 for r in rows if r[4] is False)
    warned = sum(1 for r in rows if r[4] is None)
    passed = len(rows) - failed - warned
    print(f"\ncheck: {passed} passed, {failed} failed" + (f", {warned} inconclusive (noisy timings)" if warned else ""))
    return 1 if failed else 0
