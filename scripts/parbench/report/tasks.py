"""Task granularity (METG), overheads and what an idle model costs."""
from __future__ import annotations

import math

from .. import units
from ..modelnames import is_baseline, track_label
from .document import Report
from .common import Context, _vs_previous


def metg_section(r: Report, c: Context) -> None:
    analysis = c.analysis
    cores = c.cores
    plots = c.plots
    previous = c.previous
    if analysis.get("metg"):
        r.heading("Task granularity (METG)")
        r.text(analysis.get("metg_method", "") + ". 'below_range': already efficient at the shortest length "
               "measured (an upper bound). Above the core count efficiency cannot pass cores / p.")
        spawn = analysis.get("task_spawn", {})
        spawned = [f"{model}: {how}" for model, how in sorted(spawn.items())
                   if not how.startswith("none") and model in {m["model"] for m in analysis["metg"]}]
        left_out = sorted((model, how[len("none: "):]) for model, how in spawn.items()
                          if how.startswith("none") and not is_baseline(model))
        with r.detail():
            if spawned:
                r.text("How each model spawns a task: " + "; ".join(spawned) + ".")
            if left_out:
                r.text("Left out (no spawn per task): " + "; ".join(f"{m}: {why}" for m, why in left_out) + ".")
        r.image(plots / "metg.png",
                "How short can a task be before a model wastes half the cores? Efficiency vs task length",
                "plots/metg.png")
        before = {(m["model"], m["p"]): m.get("before") for m in (previous or {}).get("metg", [])}
        levels = sorted({m["p"] for m in analysis["metg"]})
        by_model: dict[str, dict[int, dict]] = {}
        for m in analysis["metg"]:
            by_model.setdefault(m["model"], {})[m["p"]] = m

        def metg_cell(entry: dict | None) -> str:
            if entry is None:
                return "–"
            if entry["metg_us"] is None:
                if entry.get("limit"):
                    return "n/a (built-in limit)"
                return ("not reachable (efficiency at most cores / p = 0.5 or less)"
                        if entry["p"] >= 2 * cores["physical"] else "not reached")
            was = before.get((entry["model"], entry["p"]))
            return (("≤ " if entry["how"] == "below_range" else "") + units.microseconds(entry["metg_us"])
                    + (f" (was {units.microseconds(was)})" if was else ""))

        r.table(["model"] + [f"p = {p}" for p in levels],
                [[model] + [metg_cell(by_model[model].get(p)) for p in levels]
                 for model in sorted(by_model, key=lambda m: by_model[m].get(cores["physical"], {}).get("metg_us")
                                     or math.inf)], csv="metg.csv", md_rows=None)
        if analysis.get("task_lengths"):
            r.text("Task length, nominal vs measured (each task body run back to back on one thread; median over "
                   "the families that ran the size, and their range):")
            r.table(["track", "nominal", "measured", "range", "measured / nominal"],
                    [[track_label(t.get("track", "")).removesuffix(" track") or "C++",
                      units.microseconds(t["nominal_us"]), units.microseconds(t["actual_us"]),
                      units.interval(t["actual_min_us"], t["actual_max_us"], units.microseconds),
                      f"{t['ratio']:.3f}"] for t in analysis["task_lengths"]], csv="task_lengths.csv", md_rows=0)


def overhead_section(r: Report, c: Context) -> None:
    analysis = c.analysis
    cores = c.cores
    plots = c.plots
    previous = c.previous
    if analysis.get("overhead"):
        r.heading("Overheads")
        r.text("overhead/tasks: 10,000 empty tasks spawned one by one and waited for (time per task), on the "
               "models that spawn each task; overhead/parallel_for: one parallel_for of p empty chunks (time per "
               "region). Medians over batches, 95% intervals. OpenMP's figures depend on its wait policy: "
               "'openmp wait:<policy>' rows.")
        r.image(plots / "overhead.png",
                "What does a region or a task cost on each model? Overheads per model (95% intervals)",
                "plots/overhead.png")
        vs_over = {row["subject"]: row for row in (previous or {}).get("rows", []) if row["kind"] == "overhead"}
        rows = sorted((o for o in analysis["overhead"] if o["p"] == cores["physical"] or is_baseline(o["model"])),
                      key=lambda o: (o["kind"], o["ns"]))
        r.text(f"At p = {cores['physical']} (every p in overhead.csv):")
        r.table(["kind", "model", "median", "95% interval", "vs previous"],
                [[o["kind"], o["model"], units.nanoseconds(o["ns"]), units.interval(*o["ci"], units.nanoseconds),
                  _vs_previous(vs_over.get(f"overhead/{o['kind']}/{o['model']} p = {o['p']}"))] for o in rows],
                csv="overhead.csv", md_rows=4)
    idle = analysis.get("idle") or []
    if idle:
        with r.detail():
            r.text("What an idle model costs (overhead/idle): CPU time of the process and its worker processes over "
                   "100 ms of idleness right after a burst of 10,000 tasks (or one region), as a share of one core "
                   "(100% = one core busy). Workers that spin before they sleep show here; a pool whose workers "
                   f"park shows ~0. At p = {cores['physical']} (every p in idle.csv):")
            at_cores = sorted((i for i in idle if i["p"] == cores["physical"]), key=lambda i: i["cpu_share"])
            r.table(["model", "idle CPU (share of a core)", "95% interval"],
                    [[i["model"], units.percent(i["cpu_share"]), units.interval(*i["ci"], units.percent)]
                     for i in at_cores], csv="idle.csv", md_rows=0)
