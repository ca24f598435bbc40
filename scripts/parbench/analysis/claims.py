"""Claims: every sentence of the summary, the findings and the primitives' headlines that compares
or quotes a figure, as a record the report words in one place (report/claims.py).

A claim has a kind, its subjects, a figure, an interval, the test that decides it and the
outcome of that test:
- "ratio": subject A against subject B on the same thing (same n, concurrency, mechanism);
  figure = B's time / A's time (> 1: A is faster), interval and test from
  stats.holm_band_tests over the claims of one topic; outcome "faster", "slower" or "tie".
- "order": an expected order of subjects, cheapest first, each step a ratio claim; outcome
  "holds" (every step faster), "does not hold" (a step slower) or "inconclusive" (a tie).
- "figure": a value quoted with its interval and no comparison; outcome "figure".
"""
from __future__ import annotations

import numpy as np

from .. import stats
from ..catalogue import current
from ..modelnames import is_baseline, placed, placement_of, track_of
from .common import IO_CATEGORY, _per_unit

BAND_TEST = "bootstrap interval of the ratio of medians beyond the noise, Holm over {count}"


def ratio_claims(topic: str, section: str, comparisons: list[dict], noise: float) -> list[dict]:
    """One topic's ratio claims, tested together. Each comparison: subjects (A, B), samples
    (A's, B's; times, lower is better), context (where they were compared), optional noise."""
    tests = stats.holm_band_tests([c["samples"] for c in comparisons],
                                  [c.get("noise", noise) for c in comparisons])
    claims = []
    for comparison, test in zip(comparisons, tests):
        outcome = "tie" if not test["significant"] else "faster" if test["ratio"] > 1 else "slower"
        claims.append({"kind": "ratio", "topic": topic, "section": section, "subjects": list(comparison["subjects"]),
                       "context": comparison.get("context", ""), "figure": test["ratio"], "interval": test["ci"],
                       "confidence": test["confidence"], "noise": test["noise"],
                       "test": BAND_TEST.format(count=len(comparisons)), "outcome": outcome,
                       "flags": comparison.get("flags", [])})
    return claims


def order_claim(topic: str, section: str, subjects: list[str], steps: list[dict]) -> dict:
    """The expected order of `subjects` (cheapest first) from the ratio claims of its steps."""
    outcomes = {step["outcome"] for step in steps}
    outcome = ("does not hold" if "slower" in outcomes else "inconclusive" if "tie" in outcomes or not steps
               else "holds")
    return {"kind": "order", "topic": topic, "section": section, "subjects": subjects, "context": "",
            "figure": None, "interval": None, "confidence": None, "test": "every step's own ratio test",
            "outcome": outcome, "steps": steps, "flags": []}


def figure_claim(topic: str, section: str, subject: str, figure: float, interval, unit: str, how: str = "",
                 flags: list | None = None) -> dict:
    return {"kind": "figure", "topic": topic, "section": section, "subjects": [subject], "context": how,
            "figure": figure, "interval": interval, "confidence": 0.95 if interval else None, "unit": unit,
            "test": "", "outcome": "figure", "flags": flags or []}


def efficiency_claims(points: list[dict], cores: int, track: str, flagged: set) -> list[dict]:
    """Each model's median efficiency at p = cores over the same CPU workloads (the ones every
    such model runs in parallel), with a bootstrap interval of that median; a model measured on
    fewer of them is left out rather than ranked on other work."""
    by_model: dict[str, dict[str, dict]] = {}
    serial = {}
    for point in points:
        if (point["scaling"] != "strong" or point["category"] != "cpu" or track_of(point["model"]) != track
                or point["workload"] == "granularity" or point["workload"].startswith("amdahl")):
            continue
        if is_baseline(point["model"]) and point["p"] == 1:
            serial[(point["workload"], point["n"])] = point
        elif point["p"] == cores and not point.get("limit") and point.get("efficiency") is not None:
            by_model.setdefault(point["model"], {})[point["workload"]] = point
    largest = {}
    for (workload, n) in serial:
        largest[workload] = max(largest.get(workload, 0), n)
    counts = sorted((len(v) for v in by_model.values()), reverse=True)
    if not counts or counts[0] < 2:
        return []
    common = set.intersection(*(set(v) for v in by_model.values() if len(v) >= 2))
    models = sorted((m for m, v in by_model.items() if common <= set(v)), key=current().order_key)
    if len(common) < 2:
        return []
    claims = []
    for model in models:
        boots = []
        for workload in sorted(common):
            point = by_model[model][workload]
            base = serial.get((workload, point["n"]))
            if base is None:
                break
            _, boot = stats.bootstrap_ratios(point["times_s"], base["times_s"])
            boots.append(boot / cores)
        if len(boots) != len(common):
            continue
        medians = np.median(np.vstack(boots), axis=0)
        figure = stats.median([by_model[model][w]["efficiency"] for w in common])
        marks = [w for w in sorted(common) if (w, model) in flagged]
        claims.append(figure_claim("efficiency", "findings", model, figure,
                                   [float(np.quantile(medians, 0.025)), float(np.quantile(medians, 0.975))],
                                   "efficiency", f"over {len(common)} workloads: {', '.join(sorted(common))}",
                                   marks))
    return claims


def io_claims(points: list[dict], io_rows: list[dict], noise: float) -> list[dict]:
    """Per I/O workload of the C++ track: the model of the best throughput against the simplest
    thread model at the same concurrency (the best's, or the largest both ran)."""
    yardstick = (current().in_group("threads") or [""])[0]
    by_key = {(p["workload"], p["model"], p["p"]): p for p in points
              if p["category"] == IO_CATEGORY and p["scaling"] == "strong" and p.get("times_s")}
    comparisons = []
    for workload in sorted({r["workload"] for r in io_rows if track_of(r["model"]) == "cpp"}):
        rows = sorted((r for r in io_rows if r["workload"] == workload and track_of(r["model"]) == "cpp"),
                      key=lambda r: -r["throughput"])
        best = rows[0]
        if best["model"] == yardstick:
            continue
        common = sorted(p for (w, m, p) in by_key if w == workload and m == yardstick
                        and (w, best["model"], p) in by_key)
        if not common:
            continue
        p = best["best_p"] if best["best_p"] in common else common[-1]
        mine, theirs = by_key[(workload, best["model"], p)], by_key[(workload, yardstick, p)]
        comparisons.append({"subjects": (best["model"], yardstick), "context": f"{workload} at concurrency {p:,}",
                            "samples": (_per_unit(mine), _per_unit(theirs)),
                            "noise": max(noise, mine["cv"], theirs["cv"])})
    return ratio_claims("io", "findings", comparisons, noise) if comparisons else []


def _primitive(tables: dict, family: str, **args) -> dict | None:
    for row in tables.get(family.split("/")[0], []):
        if row["family"] == family and all(row["args"].get(k) == v for k, v in args.items()) and row.get("values"):
            return row
    return None


def primitive_claims(tables: dict, threads: int, noise: float, ladder: tuple) -> list[dict]:
    """The figures the primitive families exist to answer: the SPSC ring against a locked queue,
    the own spinlock against std::mutex per thread count, and the spawn ladder's order."""
    claims = []
    spsc = _primitive(tables, "queue/spsc/throughput", producers=1, consumers=1)
    fifo = _primitive(tables, "queue/fifo/throughput", producers=1, consumers=1)
    if spsc and fifo:
        claims += ratio_claims("queue", "primitives", [{
            "subjects": ("SPSC ring", "mutex + deque"), "context": "per item, 1 producer x 1 consumer",
            "samples": (spsc["values"], fifo["values"]), "noise": max(noise, spsc["cv"], fifo["cv"])}], noise)
    comparisons = []
    for row in tables.get("sync", []):
        if row["family"] != "sync/mutex/spinlock" or "nthreads" not in row["args"]:
            continue
        count = int(row["args"]["nthreads"])
        std = _primitive(tables, "sync/mutex/std", nthreads=row["args"]["nthreads"])
        if std and row.get("values"):
            comparisons.append({"subjects": ("own spinlock", "std::mutex"),
                                "context": f"per lock, {count} thread{'s' if count != 1 else ''}"
                                           + (" (oversubscribed)" if count > threads else ""),
                                "samples": (row["values"], std["values"]), "noise": max(noise, row["cv"], std["cv"])})
    if comparisons:
        claims += ratio_claims("spinlock", "primitives", comparisons, noise)
    rungs = [(label, _primitive(tables, family)) for label, family in ladder]
    rungs = [(label, row) for label, row in rungs if row]
    if len(rungs) >= 2:
        steps = ratio_claims("spawn_order", "primitives", [
            {"subjects": (a, b), "context": "time to start and finish one", "samples": (ra["values"], rb["values"]),
             "noise": max(noise, ra["cv"], rb["cv"])} for (a, ra), (b, rb) in zip(rungs, rungs[1:])], noise)
        claims.append(order_claim("spawn_order", "primitives", [label for label, _ in rungs], steps))
    return claims


def verdict_claims(verdicts: list[dict]) -> list[dict]:
    """The verdict table's two claims per workload: the fastest against the runner-up, and its
    speedup over the serial baseline (both tested in analysis/verdicts.py)."""
    claims = []
    for row in verdicts:
        where = row["workload"] + (f" ({row['track']})" if row.get("track") not in ("", "cpp", None) else "")
        if row.get("runner_up"):
            claims.append({"kind": "ratio", "topic": "verdict", "section": "verdicts",
                           "subjects": [row["best"], row["runner_up"]], "context": where, "figure": row["ratio"],
                           "interval": row["ci"], "confidence": row["confidence"], "noise": row["noise"],
                           "test": BAND_TEST.format(count=sum(1 for v in verdicts if v.get("runner_up"))),
                           "outcome": "faster" if row["verdict"] == "win" else "tie", "flags": row.get("flags", [])})
        speedup = row.get("speedup")
        if speedup:
            outcome = ("tie" if not speedup["significant"] else "faster" if speedup["ratio"] > 1 else "slower")
            claims.append({"kind": "ratio", "topic": "speedup", "section": "verdicts",
                           "subjects": [row["best"], speedup["baseline"]], "context": where,
                           "figure": speedup["ratio"], "interval": speedup["ci"], "confidence": speedup["confidence"],
                           "noise": speedup.get("noise"),
                           "test": BAND_TEST.format(count=sum(1 for v in verdicts if v.get("speedup"))),
                           "outcome": outcome, "flags": row.get("flags", [])})
    return claims


def metg_claims(metg: list[dict], cores: int) -> list[dict]:
    """METG at p = cores per model, quoted with the two sweep lengths it lies between."""
    rows = sorted((m for m in metg if m["p"] == cores and m.get("metg_us")), key=lambda m: m["metg_us"])
    return [figure_claim("metg", "findings", m["model"], m["metg_us"], m.get("bracket_us"), "us",
                         "below the shortest task measured" if m["how"] == "below_range" else "interpolated")
            for m in rows]


def numa_claims(points: list[dict], topology: dict, placements: dict, noise: float) -> list[dict]:
    """Interleaved pages against first touch: each memory-bound run of a model@...interleave
    variant against the same model (and binding) with first-touch pages, at the same n and p,
    tested together. Each claim also says how many NUMA nodes the workers spanned (bound runs:
    from the policy's CPU order; None where the OS placed them) and the pages were dealt over."""
    node_of = {cpu: node["id"] for node in topology.get("nodes", []) for cpu in node.get("cpus", [])}
    allowed = set(topology.get("allowed", []))
    nodes = sum(1 for node in topology.get("nodes", []) if allowed & set(node.get("cpus", [])))
    runs = {(q["workload"], q["model"], q["n"], q["p"]): q for q in points
            if q["category"] == "memory" and q["scaling"] == "strong" and q.get("times_s")}
    comparisons, spans = [], []
    for (workload, model, n, p), point in sorted(runs.items()):
        base, affinity, memory = placement_of(model)
        if memory != "interleave":
            continue
        first_touch = placed(base, affinity)
        other = runs.get((workload, first_touch, n, p))
        if other is None:
            continue
        order = placements.get(affinity, []) if affinity else []
        spans.append({"workload": workload, "n": n, "p": p, "interleaved_over": nodes,
                      "workers_span": len({node_of.get(cpu) for cpu in order[:p]}) if order else None})
        comparisons.append({"subjects": (first_touch, model), "samples": (other["times_s"], point["times_s"]),
                            "context": f"{workload} p = {p}", "flags": point.get("flags", []) + other.get("flags", [])})
    claims = ratio_claims("numa", "Memory bandwidth", comparisons, noise) if comparisons else []
    for claim, span in zip(claims, spans):
        claim["numa"] = span
    return claims


def build_claims(analysis: dict, noise: float, ladder: tuple) -> list[dict]:
    cores = analysis["cores"]["physical"]
    flagged = {(s["workload"], s["model"]) for s in analysis.get("suspicious", []) if s.get("high")}
    claims = verdict_claims(analysis["verdicts"])
    for track in ("cpp", "python"):
        claims += efficiency_claims(analysis["points"], cores, track, flagged)
    claims += metg_claims(analysis.get("metg", []), cores)
    claims += io_claims(analysis["points"], analysis.get("io", []), noise)
    claims += primitive_claims(analysis.get("primitive_tables", {}), analysis["cores"]["hardware_threads"],
                               noise, ladder)
    return claims
