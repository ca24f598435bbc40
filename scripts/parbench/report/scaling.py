"""Scaling, suspicious values, Amdahl fits and weak scaling."""
from __future__ import annotations

from collections import Counter

from .. import units
from .claims import FLAG_MARK
from .document import Report
from .common import Context
from ..plot.style import cpp_panels


def scaling_section(r: Report, c: Context) -> None:
    analysis = c.analysis
    cores = c.cores
    plots = c.plots
    r.heading("Scaling")
    r.text(f"Baseline: {analysis['baseline']}. Error bars: 95% bootstrap intervals where the CV exceeds 5%. "
           f"Shaded: more workers than the {cores['hardware_threads']} hardware threads (oversubscribed, hollow "
           "markers, not joined to the trend). Models are drawn in groups of at most five, each shifted sideways a "
           "little so that equal values stay visible; ‡ marks a high-severity suspicious value.")
    notes = sorted(analysis.get("model_notes", {}).items())
    if notes:
        r.text("What each model's numbers mean (its limits, as the model states them):")
        r.bullets(f"{model}: {note}" for model, note in notes)
    questions = {"speedup": "Which models scale, and how far? Speedup vs workers",
                 "efficiency": "How much of each added worker does a model use? Efficiency vs workers"}
    panels = [(f"{kind}_{key}", f"{questions[kind]}: the '{key}' models (named in the chart's title)")
              for kind in ("speedup", "efficiency") for key, _, _ in cpp_panels()]
    for name, alt in (*panels, ("karp_flatt", "Which workloads keep a serial part? Karp-Flatt e at p = the cores, "
                                              "from the self-speedup (as in the serial-fraction table)"),
                      ("efficiency_heatmap", "Which model uses the cores on which workload? Efficiency at p = cores "
                                             "(n/a: a built-in limit of the model)")):
        if name.startswith("efficiency_") and name != "efficiency_heatmap":
            with r.detail():  # the heatmap shows efficiency at p = cores in report.md too
                r.image(plots / f"{name}.png", alt, f"plots/{name}.png")
        elif (plots / f"{name}.png").exists() or not name.startswith("speedup_"):
            r.image(plots / f"{name}.png", alt, f"plots/{name}.png")
    suspicious = analysis.get("suspicious", [])
    r.heading("Suspicious values", 3)
    if suspicious:
        kinds = Counter(s["kind"] for s in suspicious)
        high = sum(1 for s in suspicious if s.get("high"))
        r.text("Values that should not occur if a measurement is sound: "
               + "; ".join(f"{count} x {kind}" for kind, count in kinds.most_common())
               + f". {high} are of high severity (marked {FLAG_MARK} where their values are used: verdicts, "
               "findings, the efficiency heatmap, the memory and I/O tables). Likely causes:")
        causes: dict[str, Counter] = {}
        for flag in suspicious:
            causes.setdefault(flag["cause"], Counter())[flag["kind"]] += 1
        r.bullets(f"{', '.join(f'{n} x {kind}' for kind, n in counted.most_common())}: {cause}"
                  for cause, counted in sorted(causes.items(), key=lambda item: -sum(item[1].values())))
        worst = sorted(suspicious, key=lambda s: -(s.get("severity") or 0.0))
        r.table(["kind", "workload / model", "p", "detail"],
                [[s["kind"] + (f" {FLAG_MARK}" if s.get("high") else ""), f"{s['workload']} / {s['model']}", s["p"],
                  s["detail"]] for s in worst],
                csv="suspicious.csv", md_rows=0)
    else:
        r.text("None: no efficiency above 1 beyond its interval, no negative Karp-Flatt, no serial baseline "
               "slower than a model at p = 1, no self-speedup that disagrees with the speedup.")


def fits_section(r: Report, c: Context) -> None:
    analysis = c.analysis
    plots = c.plots
    fits = analysis.get("fits", [])
    if not fits:
        return
    fitted = [f for f in fits if f.get("fitted")]
    r.heading("Amdahl fits" if fitted else "Serial fraction (Karp-Flatt estimates)")
    unfitted = [f for f in fits if not f.get("fitted")]
    if not fitted:
        r.text(f"On {c.cores['physical']} cores the p up to the cores give "
               f"{max(f['distinct_p'] for f in fits)} distinct values: too few to fit Amdahl's law (2 parameters "
               "need 3 points), so each serial fraction here is the Karp-Flatt estimate from the model's self-speedup "
               "at the largest p up to the cores, the same e as the Karp-Flatt chart. The amdahl_* workloads have a "
               "configured serial fraction ('true'); the interval is a 95% bootstrap over the repetitions.")
    else:
        r.text(f"Method: {analysis['amdahl_fit_method']}. The amdahl_* workloads have a configured serial "
               "fraction (shown as 'true'). Models limited by design are not fitted. "
               f"{len(unfitted)} of {len(fits)} (workload, model) pairs have too few distinct p and carry the "
               "Karp-Flatt estimate instead (fits.csv).")
    shown = [f for f in fits if f["workload"].startswith("amdahl") or f.get("fitted")]
    r.table(["workload", "model", "method", "true s", "s", "95% interval", "distinct p"],
            [[f["workload"], f["model"], f["method"], units.number(f.get("true_serial_fraction")),
              f"{f['serial_fraction']:.3f}", units.interval(*f["serial_fraction_ci"], lambda v: f"{v:.3f}"),
              f["distinct_p"]] for f in shown], csv="fits.csv")
    r.image(plots / "amdahl_efficiency.png",
            "Do the models reach what the configured serial fraction allows? amdahl_* efficiency against its "
            "Amdahl bound",
            "plots/amdahl_efficiency.png")


def gustafson_section(r: Report, c: Context) -> None:
    analysis = c.analysis
    plots = c.plots
    if analysis.get("gustafson"):
        r.heading("Weak scaling (Gustafson)")
        rows = analysis["gustafson"]
        few = all(g.get("distinct_p", 0) < 3 for g in rows)
        r.text("n grows with p so that each worker keeps the same work; scaled speedup = p T(1, n) / T(p, n_p), "
               "serial fraction s_G from S = p - s_G (p - 1)"
               + (f": with p = 1 and {rows[0]['p']} only, an exact solve from one point, not a trend" if few else "")
               + ". Where the workload has a configured serial fraction s whose serial part grows with n, the "
               "expected values are S = p / (s p + 1 - s) and s_G = p s / (s p + 1 - s) (for s = 0.2 at p = 2: "
               "S = 1.67, s_G = 1/3, not 0.2).")
        r.image(plots / "gustafson.png",
                "How close to ideal when the work grows with p? Scaled speedup at the largest p, against ideal and "
                "expected",
                "plots/gustafson.png")
        r.table(["workload", "model", "n", "p", "scaled speedup", "serial fraction s_G", "expected S / s_G"],
                [[g["workload"], g["model"], f"{g['n']:,}", g["p"], units.number(g["scaled_speedup"]),
                  "n/a: built-in limit" if g.get("limit") else units.number(g["serial_fraction"]),
                  f"{g['expected_scaled_speedup']:.3g} / {g['expected_serial_fraction']:.3g}"
                  if g.get("expected_scaled_speedup") else "–"]
                 for g in rows], csv="gustafson.csv", md_rows=0)
