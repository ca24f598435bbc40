"""The first screen: the run's quality, then the machine, sweep, check and previous run, and the
findings (each from a claim); the verdict table after it."""
from __future__ import annotations

from collections import Counter

from .. import stats, units
from .document import Report
from .common import Context, _duration, _verdict_label, _vs_previous, machine_line
from .claims import FLAG_MARK, say, speedup_cell, verdict_cell
from ..modelnames import placement_of

# Fewer repetitions than this: bootstrap intervals of a median are coarse and their tests weak.
FEW_REPETITIONS = 9


def quality_line(c: Context) -> str:
    """Line 3 of the report: the verdict on the run, its reasons and how to do better."""
    quality = c.analysis.get("quality") or {}
    verdict = quality.get("verdict", "unknown")
    reasons = quality.get("reasons") or []
    text = f"**Run quality: {verdict}.**"
    if reasons:
        text += " " + "; ".join(reasons) + "."
    if verdict != "good":
        text += (f" Rerun on a quiet machine (no other programs, no build or test beside it): "
                 f"`./parbench sweep --config {c.config.get('name', 'default')}`, with more repetitions if noise is "
                 "the reason (`repetitions` in a config file); Warnings and Disturbance say more.")
    else:
        text += " Disturbance, load, noise, failures and suspicious values are within their limits (Warnings)."
    return text


def findings(analysis: dict) -> list[str]:
    """Sentences the data supports, each rendered from its claims."""
    out = []
    claims = analysis.get("claims") or []
    verdicts = [v for v in analysis["verdicts"] if v["verdict"] != "only"]
    wins = [v for v in verdicts if v["verdict"] == "win"]
    if verdicts:
        out.append(f"{len(wins)} of {len(verdicts)} verdicts (a workload in one track) have a fastest model beyond "
                   "the noise"
                   + (" (" + "; ".join(f"{_verdict_label(v)}: {v['best']}" for v in wins) + ")" if wins else "")
                   + f"; {len(verdicts) - len(wins)} {'is a tie' if len(verdicts) - len(wins) == 1 else 'are ties'} "
                   "(Verdicts below).")
    cores = analysis["cores"]["physical"]
    for track, label in (("cpp", "C++"), ("python", "Python")):
        rows = [c for c in claims
                if c["topic"] == "efficiency" and c["subjects"][0].startswith("py_") == (track == "python")]
        if rows:
            out.append(f"Efficiency at p = {cores}, {label} models, median {rows[0]['context']} "
                       "(brackets: 95% bootstrap intervals): " + ", ".join(say(c) for c in rows) + ".")
    for track, label in (("cpp", "C++"), ("python", "Python")):
        metg = [c for c in claims if c["topic"] == "metg" and c["subjects"][0].startswith("py_") == (track == "python")]
        if metg:
            out.append(f"Shortest useful task at p = {cores}, {label} models (METG, 50% efficiency; between the "
                       "sweep's task lengths, no finer): " + ", ".join(say(c) for c in metg) + ".")
    io = [c for c in claims if c["topic"] == "io"]
    if io:
        out.append("I/O at equal concurrency, fastest model against threads (time per request): "
                   + "; ".join(say(c) for c in io) + ".")
    limited = sorted({p["model"] for p in analysis["points"] if p.get("limit")})
    if limited:
        out.append("Models with a built-in limit on some workloads (those points are n/a, left out of verdicts and "
                   "fits; each limit: Scaling): " + ", ".join(limited) + ".")
    previous = analysis.get("previous")
    if previous:
        out.append(previous_sentence(previous))
    if any(c.get("flags") for c in claims) or any(v.get("flags") for v in analysis["verdicts"]):
        out.append(f"{FLAG_MARK}: a value with a high-severity suspicion (Suspicious values): read it with that.")
    return out


def previous_sentence(previous: dict) -> str:
    name = previous.get("directory", "?")
    if previous.get("same_data"):
        return f"Previous run {name}: same data as this run (identical raw files): not a comparison."
    rows = previous.get("rows") or []
    slower = [r for r in rows if r.get("direction") == "slower"]
    faster = [r for r in rows if r.get("direction") == "faster"]
    text = (f"Against {name} (started {previous.get('started', '?')}): {len(slower)} of {len(rows)} figures "
            f"slower now and {len(faster)} faster, beyond their intervals and the noise (Holm over {len(rows)})")
    changed = slower + faster
    if changed:
        worst = max(changed, key=lambda r: abs(r["ratio"] - 1))
        low, high = worst["ci"]
        word = "slower" if worst["ratio"] > 1 else "faster"
        size = worst["ratio"] if worst["ratio"] > 1 else 1 / worst["ratio"]
        bounds = (low, high) if worst["ratio"] > 1 else (1 / high, 1 / low)
        text += f"; largest: {worst['subject']}, {size:.2g}x {word} now [{bounds[0]:.3g}, {bounds[1]:.3g}]"
    if not previous.get("same_machine", True):
        text += "; the machines differ"
    return text + "."


def summary_section(r: Report, c: Context) -> None:
    sweep, config, previous = c.sweep, c.config, c.previous
    r.text(quality_line(c))
    r.heading("Summary")
    counts = Counter(check["result"] for check in c.checks)
    non_pass = [check for check in c.checks if check["result"] != "PASS"]
    repetitions = c.analysis.get("repetitions") or config.get("repetitions") or 0
    r.bullets([
        f"Machine: {machine_line(c.env, c.cores)}.",
        f"Sweep: config '{config.get('name', '?')}'"
        + (f" ({config['description']})" if config.get("description") else "") + ", "
        f"{len(sweep.get('families', []))} "
        f"famil{'y' if len(sweep.get('families', [])) == 1 else 'ies'}, "
        f"{repetitions} repetitions of at least {config.get('min_time', '?')} s"
        + (f" (fewer than {FEW_REPETITIONS}: intervals are coarse and tests weak; more repetitions sharpen them)"
           if repetitions and repetitions < FEW_REPETITIONS else "")
        + f"; took {_duration(sweep)}, status {sweep.get('status', 'unknown')}.",
        f"Check ({c.checked_how}): {counts.get('PASS', 0)} PASS, {counts.get('WARN', 0)} WARN, "
        f"{counts.get('FAIL', 0)} FAIL"
        + (": " + "; ".join(f"{result} {check} x {count}" for (result, check), count
                            in Counter((x["result"], x["check"]) for x in non_pass).most_common())
           + " (./parbench check DIR lists them)" if non_pass else "") + ".",
        ("Previous run: " + (f"{previous['directory']}" + (" (same data)" if previous.get("same_data") else "")
                             if previous else "none of this machine and config (--baseline DIR names one)")
         + "."),
        *_placement_key(c.analysis),
    ])
    r.heading("Findings", 3)
    r.bullets(findings(c.analysis))


def _placement_key(analysis: dict) -> list[str]:
    """What the model@policy and +interleave names mean, where a sweep has them."""
    variants = [(placement_of(p["model"]), p["p"]) for p in analysis.get("points", [])]
    variants = [((affinity, memory), p) for (_, affinity, memory), p in variants if affinity or memory]
    if not variants:
        return []
    counts = sorted({p for _, p in variants})
    policies = sorted({affinity for (affinity, _), _ in variants if affinity})
    return ["Placement variants: " + "; ".join(
        ([f"model@{'/'.join(policies)}: the model with each worker bound to a CPU by that policy"] if policies else [])
        + (["+interleave (or model@interleave): its pages interleaved over the NUMA nodes (memory-bound "
            "workloads)"] if any(memory for (_, memory), _ in variants) else []))
        + f"; run at p = {', '.join(map(str, counts))} only, beside the model as the OS placed it in the tables "
        "and the efficiency heatmap (the line charts show the OS-placed models; Environment: Placement; Memory "
        "bandwidth)."]


def verdicts_section(r: Report, c: Context) -> None:
    analysis, previous = c.analysis, c.previous
    r.heading("Verdicts")
    r.text("Which model to use on this machine, per workload: the fastest against the runner-up, and its speedup "
           "over the serial baseline, each with its interval at the confidence of its test (How to read this "
           f"report). {FLAG_MARK}: a high-severity suspicious value.")
    claims = {(cl["topic"], cl["context"]): cl for cl in analysis.get("claims") or []
              if cl["topic"] in ("verdict", "speedup")}
    vs = {row["workload"]: row for row in (previous or {}).get("rows", []) if row["kind"] == "verdict"}
    rows = []
    for v in analysis["verdicts"]:
        where = v["workload"] + (f" ({v['track']})" if v.get("track") not in ("", "cpp", None) else "")
        verdict = claims.get(("verdict", where))
        rows.append([_verdict_label(v), v["p"] if v["category"] != "io" else f"best ({v['best_p']:,})",
                     verdict_cell(verdict, v.get("tied")) if verdict else f"{v['best']} (the only model)",
                     speedup_cell(claims.get(("speedup", where))), units.seconds(v["best_median_s"]),
                     _p_value(v.get("p_adjusted")), _vs_previous(vs.get(_verdict_label(v)))])
    r.table(["workload", "p", "verdict [interval of the time ratio]", "speedup over serial", "fastest's median",
             "corrected p", "vs previous"], rows, csv="verdicts.csv", md_rows=None)
    flagged = [v for v in analysis["verdicts"] if v.get("flags")]
    if flagged:
        r.text(f"{FLAG_MARK} " + "; ".join(f"{_verdict_label(v)}: {', '.join(v['flags'])}" for v in flagged) + ".")


def _p_value(value: float | None) -> str:
    """A corrected p-value; 0 from the bootstrap means fewer than 1 in its resamples."""
    if value is None:
        return "–"
    return f"≤ {1 / stats.RESAMPLES:.2g}" if value == 0 else units.number(value)
