"""The verdict of a ci run: compare's statistics on the two pooled folders, the families that
failed on one side, the exit status, and ci_report.md (with ci.json for other tools)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from .. import UserError, compare
from ..gbench import load_results
from ..state import result_files
from ..util import atomic_write_text, one_line
from .sides import BASE, HEAD

# Exit statuses, as compare --fail-on-regression's.
PASS, FAIL, UNDECIDED = 0, 1, 3


@dataclass
class Verdict:
    code: int
    line: str                          # the verdict in one line
    table: compare.Table | None        # compare's rows (None: no benchmark measured on both sides)
    failed: dict[str, dict[str, str]] = field(default_factory=dict)  # family key -> {side: why}

    def head_only(self) -> dict[str, str]:
        """The families that failed on head and not on base: regressions whatever their times."""
        return {key: sides[HEAD] for key, sides in self.failed.items() if HEAD in sides and BASE not in sides}


def _results(folder: Path):
    try:
        return load_results(result_files(folder))
    except UserError:  # every family failed on this side: nothing to compare, the failures say why
        return None


def decide(base: Path, head: Path, failed: dict[str, dict[str, str]], threshold: float, alpha: float) -> Verdict:
    """compare base -> head at `threshold` percent (its table and gate printed as compare prints
    them), then the families' failures: one that failed on head only fails the run."""
    before, after = _results(base), _results(head)
    table = compare.compare_results(before, after, alpha) if before and after else None
    verdict = Verdict(PASS, "", table, failed)
    print(f"== compare {base} -> {head} (./parbench compare's statistics, --fail-on-regression {threshold:g})")
    code = compare.judge(table, alpha, threshold, allow_undecided=False) if table else PASS
    rows = table.rows if table else []
    regressions, undecided = compare.gated(rows, threshold)
    head_only = verdict.head_only()
    if code == FAIL or head_only:
        verdict.code = FAIL
        parts = []
        if regressions:
            worst = max(regressions, key=lambda r: r["ratio"])
            parts.append(f"{len(regressions)} significant slowdown(s) above {threshold:g}% (worst: "
                         f"{_change(worst)})")
        if head_only:
            parts.append(f"{len(head_only)} family(ies) failed on head but not on base: {', '.join(sorted(head_only))}")
        if not parts:  # compare's own gate: a benchmark of base that reports errors on head
            parts.append("benchmarks of base report errors on head")
        verdict.line = "FAIL: " + "; ".join(parts)
    elif code == UNDECIDED:
        verdict.code = UNDECIDED
        worst = max(undecided, key=lambda r: r["ratio"]) if undecided else None
        verdict.line = ("UNDECIDED: " + (f"{len(undecided)} slowdown(s) above {threshold:g}% that are not "
                                         f"significant (worst: {_change(worst)}); more --rounds decide them"
                                         if worst else "benchmarks of base are missing on head"))
    elif not rows:
        verdict.line = "PASS: no benchmark was measured on both sides (see the failures below)"
    else:
        slower = sum(1 for r in rows if r["significant"] and r["ratio"] > 1)
        faster = sum(1 for r in rows if r["significant"] and r["ratio"] < 1)
        open_ties = [r for r in rows if _reaches_above(r, threshold)]
        verdict.line = (f"PASS: no significant slowdown above {threshold:g}% ({len(rows)} benchmarks: {slower} "
                        f"significantly slower, {faster} faster, {len(rows) - slower - faster} ties)")
        if open_ties:
            verdict.line += (f"; {len(open_ties)} tie(s) whose interval reaches above +{threshold:g}%: these "
                             "rounds cannot rule out a slowdown there (more --rounds narrow them)")
    return verdict


def _reaches_above(row: dict, threshold: float) -> bool:
    """A tie whose interval reaches past the threshold: not a slowdown, but not ruled out either."""
    return not row["significant"] and 100 * (row["ci"][1] - 1) > threshold


def _percent(ratio: float) -> str:
    """A ratio as a signed change; a change that rounds to zero is +0.0%, never -0.0%."""
    change = 100 * (ratio - 1)
    return f"{0.0 if abs(change) < 0.05 else change:+.1f}%"


def duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def _p(value: float) -> str:
    """A corrected p-value; below 0.001 as such (the bootstrap's resolution, not a zero)."""
    return f"{value:.3g}" if value >= 0.001 else "<0.001"


def _change(row: dict) -> str:
    low, high = row["ci"]
    return (f"{row['name']} {_percent(row['ratio'])} [{_percent(low)}, {_percent(high)}] "
            f"({100 * row['confidence']:.1f}% interval), p (Holm) {_p(row['p_adjusted'])}")


def _row_verdict(row: dict, threshold: float) -> str:
    if row["significant"]:
        return f"{'slower' if row['ratio'] > 1 else 'faster'}"
    if 100 * (row["ratio"] - 1) > threshold:
        return f"tie (undecided: above {threshold:g}%, not significant)"
    if _reaches_above(row, threshold):
        return f"tie (a slowdown up to {_percent(row['ci'][1])} not ruled out)"
    return "tie"


def _table_lines(rows: list[dict], threshold: float) -> list[str]:
    lines = ["| benchmark | base (ms) | head (ms) | head/base | interval (confidence) | p (Holm) | verdict |",
             "|---|---:|---:|---:|---|---:|---|"]
    for r in sorted(rows, key=lambda r: (-r["ratio"], r["name"])):
        low, high = r["ci"]
        name = r["name"].replace("|", "\\|")
        lines.append(f"| {name} | {1000 * r['a']:.4g} | {1000 * r['b']:.4g} | {_percent(r['ratio'])} | "
                     f"[{_percent(low)}, {_percent(high)}] ({100 * r['confidence']:.1f}%) | "
                     f"{_p(r['p_adjusted'])} | {_row_verdict(r, threshold)} |")
    return lines


def write_report(out: Path, verdict: Verdict, ci: dict, skipped: dict[str, list[str]], families: int) -> Path:
    """<out>/ci_report.md and <out>/ci.json."""
    rows = verdict.table.rows if verdict.table else []
    same = ci["base"] == ci["head"]
    lines = [f"# parbench ci: base {ci['base'][:12]} -> head {ci['head'][:12]}", "",
             f"**{verdict.line}** (exit {verdict.code})", "",
             f"- base: `{ci['base']}` ({one_line(ci['base_revision'])}); head: `{ci['head']}` "
             f"({one_line(ci['head_revision'])})" + (" - the same commit: an A/A run, where any significant "
                                                     "change is a false alarm" if same else ""),
             f"- config: {ci['config']}; {families} families in common, {ci['rounds']} interleaved rounds x "
             f"{ci['repetitions_per_round']} repetition(s) per side: {ci['rounds'] * ci['repetitions_per_round']} "
             "repetitions of each benchmark per side",
             *(["- undecided slowdowns got more rounds of their families: " + ", ".join(
                 f"{key.replace('|', ' ')}: {count} more rounds" for key, count in sorted(ci["extra_rounds"].items()))]
               if ci.get("extra_rounds") else []),
             f"- builds: {duration(ci['build_seconds'])}; rounds: {duration(ci['round_seconds'])}",
             f"- gate: a significant slowdown above {ci['threshold']:g}% fails (exit 1), as does a family that "
             f"fails on head only; a slowdown above it that is not significant is undecided (exit 3)",
             "- statistics: `./parbench compare`'s: per benchmark the ratio of median wall times head/base, its "
             "bootstrap interval at the level of its test, the test whether the ratio lies beyond the run-to-run "
             "noise band (the larger CV of the two sides), Holm-corrected over all benchmarks "
             f"(alpha {ci['alpha']:g}); not significant is a tie", ""]
    for title, names in (("Only on base (not run)", skipped.get(BASE)), ("Only on head (not run)", skipped.get(HEAD))):
        if names:
            lines += [f"## {title}", "", *[f"- {name}" for name in names], ""]
    if verdict.failed:
        lines += ["## Failed families", ""]
        lines += [f"- {key}: " + "; ".join(f"{side} {one_line(why)[:300]}" for side, why in sorted(sides.items()))
                  for key, sides in sorted(verdict.failed.items())] + [""]
    if rows:
        lines += ["## Benchmarks (slowest change first)", "", *_table_lines(rows, ci["threshold"]), ""]
    path = out / "ci_report.md"
    atomic_write_text(path, "\n".join(lines))
    summary = {**ci, "exit": verdict.code, "verdict": verdict.line, "failed": verdict.failed, "skipped": skipped,
               "benchmarks": [{key: r[key] for key in ("name", "a", "b", "ratio", "ci", "confidence", "p_adjusted",
                                                       "significant", "noise")} for r in rows]}
    atomic_write_text(out / "ci.json", json.dumps(summary, indent=1) + "\n")
    return path
