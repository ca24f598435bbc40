"""Scaling, suspicious values, Amdahl fits and weak scaling."""
from __future__ import annotations

from collections import Counter

from .. import units
from .document import MD_TABLE_ROWS, Report
from .common import Context
from ..plot.style import cpp_panels


def scaling_section(r: Report, c: Context) -> None:
    analysis = c.analysis
    cores = c.cores
    plots = c.plots
    r.heading("Scaling")
    r.text(f"Baseline: {analysis['baseline']}. Error bars: 95% bootstrap intervals where the CV exceeds 5%. "
           f"Shaded: more workers than the {cores['hardware_threads']} hardware threads (oversubscribed, hollow "
           "markers, not joined to the trend). Models are drawn in two groups so that no panel holds more than "
           "six lines.")
    notes = sorted(analysis.get("model_notes", {}).items())
    if notes:
        r.text("What each model's numbers mean (its limits, as the model states them):")
        r.bullets(f"{model}: {note}" for model, note in notes)
    panels = [(f"{kind}_{key}", f"{kind.capitalize()} vs workers: {title}") for kind in ("speedup", "efficiency")
              for key, title, _ in cpp_panels()]
    for name, alt in (*panels, ("karp_flatt", "Karp-Flatt serial fraction at p up to the cores"),
                      ("efficiency_heatmap", "Efficiency at p = cores (n/a: serial by design)")):
        if (plots / f"{name}.png").exists() or not name.startswith(("speedup_", "efficiency_")):
            r.image(plots / f"{name}.png", alt, f"plots/{name}.png")
    suspicious = analysis.get("suspicious", [])
    r.heading("Suspicious values", 3)
    if suspicious:
        kinds = Counter(s["kind"] for s in suspicious)
        causes = Counter((s["kind"], s["cause"]) for s in suspicious)
        r.text("Values that should not occur if a measurement is sound: "
               + "; ".join(f"{count} x {kind}" for kind, count in kinds.most_common())
               + ". Likely causes (how many flags each):")
        r.bullets(f"{kind} ({count}): {cause}" for (kind, cause), count in causes.most_common())
        worst = sorted(suspicious, key=lambda s: -(s.get("severity") or 0.0))
        r.table(["kind", "workload / model", "p", "detail"],
                [[s["kind"], f"{s['workload']} / {s['model']}", s["p"], s["detail"]] for s in worst],
                csv="suspicious.csv", md_rows=MD_TABLE_ROWS)
    else:
        r.text("None: no efficiency above 1 beyond its interval, no negative Karp-Flatt, no serial baseline "
               "slower than a model at p = 1, no self-speedup that disagrees with the speedup.")


def fits_section(r: Report, c: Context) -> None:
    analysis = c.analysis
    plots = c.plots
    fits = analysis.get("fits", [])
    if fits:
        r.heading("Amdahl fits")
        r.text(f"Method: {analysis['amdahl_fit_method']}. The amdahl_* workloads have a configured serial "
               "fraction (shown as 'true'). Models limited by design are not fitted.")
        shown = [f for f in fits if f["workload"].startswith("amdahl") or f.get("fitted")]
        r.table(["workload", "model", "method", "true s", "s", "95% interval", "distinct p"],
                [[f["workload"], f["model"], f["method"], units.number(f.get("true_serial_fraction")),
                  f"{f['serial_fraction']:.3f}", units.interval(*f["serial_fraction_ci"], lambda v: f"{v:.3f}"),
                  f["distinct_p"]] for f in shown], csv="fits.csv")
        unfitted = [f for f in fits if not f.get("fitted")]
        if unfitted:
            r.text(f"{len(unfitted)} of {len(fits)} (workload, model) pairs are not fitted: {unfitted[0]['reason']}. "
                   "Their serial fraction is the Karp-Flatt estimate (in fits.csv).")
        r.image(plots / "amdahl_efficiency.png", "amdahl_* efficiency against the Amdahl bound of the configured s",
                "plots/amdahl_efficiency.png")


def gustafson_section(r: Report, c: Context) -> None:
    analysis = c.analysis
    plots = c.plots
    if analysis.get("gustafson"):
        r.heading("Weak scaling (Gustafson)")
        rows = analysis["gustafson"]
        few = all(g.get("distinct_p", 0) < 3 for g in rows)
        r.text("n grows with p so that each worker keeps the same work; scaled speedup = p T(1, n) / T(p, n_p), "
               "serial fraction from S = p - s (p - 1)"
               + (f": with p = 1 and {rows[0]['p']} only, that is an exact solve from one point, not a trend"
                  if few else "") + ".")
        r.image(plots / "gustafson.png", "Scaled speedup vs workers", "plots/gustafson.png")
        r.table(["workload", "model", "n", "p", "scaled speedup", "serial fraction"],
                [[g["workload"], g["model"], f"{g['n']:,}", g["p"], units.number(g["scaled_speedup"]),
                  "n/a: serial by design" if g.get("limit") else units.number(g["serial_fraction"])]
                 for g in rows], csv="gustafson.csv")
