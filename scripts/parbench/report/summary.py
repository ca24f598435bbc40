"""The summary: machine, sweep, check, previous run, verdicts and findings."""
from __future__ import annotations

from collections import Counter

from .. import stats, units
from .document import Report
from .common import Context, _duration, _verdict_label, _verdict_text, _vs_previous, machine_line
from ..catalogue import current


def findings(analysis: dict) -> list[str]:
    """Three to five sentences the data supports, each from the analysis only."""
    out = []
    verdicts = [v for v in analysis["verdicts"] if v["verdict"] != "only"]
    wins = [v for v in verdicts if v["verdict"] == "win"]
    if verdicts:
        by_model = Counter(v["best"] for v in wins)
        out.append(f"{len(wins)} of {len(verdicts)} workloads have a clear fastest model"
                   + (f" ({', '.join(f'{m} {c}' for m, c in by_model.most_common())})" if wins else "")
                   + f"; {len(verdicts) - len(wins)} are ties: the difference is within the interval or the "
                   f"run-to-run noise ({units.percent(analysis['noise'])} median CV), after Holm's correction.")
    cores = analysis["cores"]["physical"]
    efficiencies: dict[str, list[float]] = {}
    for point in analysis["points"]:
        if (point["scaling"] == "strong" and point["p"] == cores and point["category"] == "cpu"
                and point.get("efficiency") is not None and not point.get("limit")
                and point["workload"] != "granularity" and not point["workload"].startswith("amdahl")):
            efficiencies.setdefault(point["model"], []).append(point["efficiency"])
    if efficiencies and cores > 1:
        # The median of an even count is the mean of the middle two (mpi has 4 such workloads here).
        ranked = sorted(((stats.median(v), len(v), m) for m, v in efficiencies.items()), reverse=True)
        out.append(f"Median efficiency at p = {cores} over the CPU workloads each model can run in parallel "
                   "(how many in brackets; memory- and I/O-bound workloads and the Amdahl ones left out): "
                   + ", ".join(f"{m} {e:.2f} ({n})" for e, n, m in ranked) + ".")
    metg = [m for m in analysis.get("metg", []) if m["p"] == cores and m.get("metg_us")]
    if metg:
        metg.sort(key=lambda m: m["metg_us"])
        out.append(f"Shortest useful task at p = {cores} (METG, 50% efficiency): "
                   + ", ".join(f"{m['model']} {'<= ' if m['how'] == 'below_range' else ''}"
                               f"{units.microseconds(m['metg_us'])}" for m in metg) + ".")
    io = {}
    for row in analysis.get("io", []):
        io.setdefault(row["workload"], []).append(row)
    if "sleep_io" in io:
        rows = sorted(io["sleep_io"], key=lambda r: -r["throughput"])
        first_threads = (current().in_group("threads") or [""])[0]  # the simplest thread model: the yardstick
        best, threads = rows[0], next((r for r in rows if r["model"] == first_threads), None)
        out.append(f"Waiting on I/O (sleep_io): {best['model']} reaches {units.number(best['throughput'])} "
                   f"requests/s at concurrency {best['best_p']:,}"
                   + (f", {best['throughput'] / threads['throughput']:.1f}x {first_threads}' best "
                      f"({units.number(threads['throughput'])} at {threads['best_p']:,})"
                      if threads and threads is not best else "") + ".")
    limits = analysis.get("limits") or {}
    limited = sorted({p["model"] for p in analysis["points"] if p.get("limit")})
    if limited:
        out.append("Not comparable by design (shown as n/a, left out of verdicts and fits): "
                   + "; ".join(f"{m}: {(limits.get('cpu') or {}).get(m) or (limits.get('fork_join') or {}).get(m)}"
                               + ("" if m in (limits.get('cpu') or {}) else
                                  f" ({', '.join(limits.get('fork_join_workloads', []))})")
                               for m in limited) + ".")
    previous = analysis.get("previous")
    if previous and previous.get("rows"):
        changed = [r for r in previous["rows"] if r["significant"]]
        text = (f"Against the previous run ({previous.get('started', '?')}): {len(changed)} of "
                f"{len(previous['rows'])} compared figures changed beyond their intervals and the noise")
        if changed:
            worst = max(changed, key=lambda r: abs(r["ratio"] - 1))
            text += f" (largest: {worst['subject']}, {worst['ratio']:.2f}x)"
        out.append(text + ".")
    return out[:6]


def summary_section(r: Report, c: Context) -> None:
    analysis = c.analysis
    env = c.env
    sweep = c.sweep
    cores = c.cores
    config = c.config
    previous = c.previous
    r.heading("Summary")
    checks, checked_how = c.checks, c.checked_how
    counts = Counter(c["result"] for c in checks)
    non_pass = [c for c in checks if c["result"] != "PASS"]
    r.bullets([
        f"Machine: {machine_line(env, cores)}.",
        f"Sweep: config '{config.get('name', '?')}'"
        + (f" ({config['description']})" if config.get("description") else "") + ", "
        f"{len(sweep.get('families', []))} families, {config.get('repetitions', '?')} repetitions of at least "
        f"{config.get('min_time', '?')} s; started {sweep.get('started', 'unknown')}, took {_duration(sweep)}, "
        f"status {sweep.get('status', 'unknown')}.",
        f"Check ({checked_how}): {counts.get('PASS', 0)} PASS, {counts.get('WARN', 0)} WARN, "
        f"{counts.get('FAIL', 0)} FAIL"
        + (": " + "; ".join(f"{c['result']} {c['check']} {c['subject']}"
                            + (f" ({c['note']})" if c.get("note") else "") for c in non_pass[:8])
           + (f"; and {len(non_pass) - 8} more" if len(non_pass) > 8 else "") if non_pass else "") + ".",
        ("Previous run: " + (f"{previous['directory']} (started {previous.get('started', '?')}); "
                             "every verdict and headline figure below shows 'vs previous'"
                             + (f" (later ones passed over, not analysable: {'; '.join(previous['passed_over'][:3])})"
                                if previous.get("passed_over") else "")
                             if previous else "none found (same machine and config, under results/ or beside "
                                              "this directory); ./parbench report DIR --baseline OTHER names one")),
    ])
    r.heading("Verdicts", 3)
    r.text(f"Which model to use on this machine, per workload. {analysis['verdict_method']}.")
    vs = {row["workload"]: row for row in (previous or {}).get("rows", []) if row["kind"] == "verdict"}
    r.table(["workload", "p", "verdict [95% CI of the ratio]", "fastest's median", "corrected p", "vs previous"],
            [[_verdict_label(v), v["p"] if v["category"] != "io" else f"best ({v['best_p']:,})", _verdict_text(v),
              units.seconds(v["best_median_s"]), units.number(v.get("p_adjusted")),
              _vs_previous(vs.get(_verdict_label(v)))]
             for v in analysis["verdicts"]],
            csv="verdicts.csv", md_rows=None)
    r.heading("Findings", 3)
    r.bullets(findings(analysis))
