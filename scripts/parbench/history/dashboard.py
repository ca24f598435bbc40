"""./parbench history report: a static HTML dashboard of the history, OUT/index.html and
OUT/charts/*.png.

It opens on a table of the changes found, newest first, each row linked to its benchmark's
section; then one section per benchmark with a chart over commits: one line per machine (the
median of each commit's repetitions, a band from their fastest to their slowest), each change
marked in its machine's colour where it begins, with its size and interval. The page is
self-contained (no script, style or font from elsewhere; charts by relative links) and every
name in it is escaped: benchmark and machine names come from files anyone may have written.
Opened with #selftest, it checks itself (images loaded, in-page links landing, no errors) and
writes the result into <pre id="selftest">: tests/python/test_history_dashboard.py opens it in
headless Chromium.
"""
from __future__ import annotations

import hashlib
import html
import io
import re
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter
from matplotlib.transforms import blended_transform_factory

from .. import UserError, stats
from ..plot import style
from ..util import atomic_write_bytes, atomic_write_text, make_folder
from .records import Change, Series

CHARTS = "charts"
SHORT_SHA = 8
# A chart's labels: at most this many commits named under its axis (every k-th beyond).
MAX_COMMIT_LABELS = 40
_CHART_NAME = re.compile(r"[A-Za-z0-9_.-]{0,60}-[0-9a-f]{10}\.png")


def write_dashboard(series: list[Series], changes: list[Change], out: Path) -> Path:
    """Writes OUT/index.html and a chart per benchmark of `series` in OUT/charts; returns the
    page's path. `series` holds what the page shows (the caller's filter applied); a change of a
    benchmark without series is listed in the table but has no chart to lead to."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UserError(f"history report --out: {out} is not a folder")
    make_folder(out / CHARTS)
    by_benchmark: dict[str, list[Series]] = defaultdict(list)
    for one in series:
        if one.points:
            by_benchmark[one.benchmark].append(one)
    colours = _machine_colours(series)
    sections, written = [], set()
    for benchmark in sorted(by_benchmark):
        own = [c for c in changes if c.benchmark == benchmark]
        chart = _chart_name(benchmark)
        commits = _commit_order(by_benchmark[benchmark])
        _draw_chart(benchmark, by_benchmark[benchmark], own, commits, colours, out / CHARTS / chart)
        written.add(chart)
        sections.append(_section(benchmark, by_benchmark[benchmark], own, commits, chart))
    _remove_stale_charts(out / CHARTS, written)
    dates = {(s.benchmark, s.machine, p.commit): p.date for s in series for p in s.points}
    page = _page(_changes_table(changes, dates, set(by_benchmark)), sections, series)
    index = out / "index.html"
    atomic_write_text(index, page)
    return index


def section_id(benchmark: str) -> str:
    return "b-" + _digest(benchmark)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode(errors="backslashreplace")).hexdigest()[:10]


def _chart_name(benchmark: str) -> str:
    """A file name of the benchmark's own (its name's safe characters and a digest of the whole
    name: two names that differ only in unsafe characters get two files)."""
    readable = re.sub(r"[^A-Za-z0-9_.-]+", "_", benchmark).strip("._")[:60]
    return f"{readable}-{_digest(benchmark)}.png"


def _remove_stale_charts(folder: Path, written: set[str]) -> None:
    """Charts an earlier report drew of benchmarks this one no longer shows: only files named as
    this module names them."""
    for path in folder.iterdir():
        if path.name not in written and _CHART_NAME.fullmatch(path.name) and path.is_file():
            path.unlink()


def _machine_colours(series: list[Series]) -> dict[tuple, str]:
    """One colour per machine and config, the same in every chart."""
    palette = [f"#{int(r * 255):02x}{int(g * 255):02x}{int(b * 255):02x}" for r, g, b in style.PALETTE]
    keys = sorted({(s.machine, s.config_hash) for s in series})
    return {key: palette[index % len(palette)] for index, key in enumerate(keys)}


def _when(date: str) -> datetime:
    try:
        moment = datetime.fromisoformat(date)
    except (TypeError, ValueError):
        return datetime.max.replace(tzinfo=timezone.utc)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _commit_order(series: list[Series]) -> list[str]:
    """The commits of the benchmark's series, every machine's, in date order (a commit at its
    earliest date; commits of one date in the order the series give them)."""
    earliest: dict[str, datetime] = {}
    seen: dict[str, int] = {}
    for one in series:
        for point in one.points:
            seen.setdefault(point.commit, len(seen))
            when = _when(point.date)
            earliest[point.commit] = min(earliest.get(point.commit, when), when)
    return sorted(earliest, key=lambda commit: (earliest[commit], seen[commit]))


def _plain(text: str) -> str:
    """text as matplotlib draws it literally (a '$' in a name would start its math mode)."""
    return str(text).replace("$", r"\$")


def _label(one: Series, series: list[Series]) -> str:
    """The line's name: its machine, and its config's digest where the machine has two."""
    same = [s for s in series if s.machine == one.machine]
    return one.machine + (f" [config {one.config_hash[:8]}]" if len(same) > 1 else "")


def percent_change(ratio: float, ci: tuple[float, float]) -> str:
    """'+12.1% [+9.8%, +14.5%]' for a ratio 1.121 with interval (1.098, 1.145)."""
    return f"{100 * (ratio - 1):+.1f}% [{100 * (ci[0] - 1):+.1f}%, {100 * (ci[1] - 1):+.1f}%]"


def _series_of(change: Change, series: list[Series]) -> Series | None:
    """The series a change was found in: its machine's, the one whose index holds its commit."""
    mine = [s for s in series if s.machine == change.machine]
    exact = [s for s in mine if 0 <= change.index < len(s.points) and s.points[change.index].commit == change.commit]
    return (exact or [s for s in mine if any(p.commit == change.commit for p in s.points)] or [None])[0]


def _draw_chart(benchmark: str, series: list[Series], changes: list[Change], commits: list[str],
                colours: dict, path: Path) -> None:
    position = {commit: index for index, commit in enumerate(commits)}
    fig = Figure(figsize=(min(16.0, max(8.0, 0.22 * len(commits) + 4)), 4.2))
    ax = fig.add_subplot()
    for one in sorted(series, key=lambda s: (s.machine, s.config_hash)):
        colour = colours[(one.machine, one.config_hash)]
        points = [p for p in one.points if p.real_times]
        xs = [position[p.commit] for p in points]
        ax.fill_between(xs, [min(p.real_times) for p in points], [max(p.real_times) for p in points],
                        color=colour, alpha=0.18, linewidth=0)
        ax.plot(xs, [stats.median(p.real_times) for p in points], color=colour, marker="o", markersize=3.5,
                linewidth=1.4, label=_plain(_label(one, series)))
    if _mark_changes(ax, series, changes, position, colours):
        low, high = ax.get_ylim()
        ax.set_ylim(low, high + 0.2 * (high - low))  # room for the labels above the lines
    step = max(1, -(-len(commits) // MAX_COMMIT_LABELS))
    ax.set_xticks(range(0, len(commits), step))
    ax.set_xticklabels([_plain(commits[i][:SHORT_SHA]) for i in range(0, len(commits), step)], rotation=60,
                       ha="right", fontsize=7, family="monospace")
    ax.set_xlim(-0.6, len(commits) - 0.4)
    ax.yaxis.set_major_formatter(FuncFormatter(style.time_ticks(1.0)))
    ax.set_ylabel("time per run (median; band: fastest to slowest)")
    ax.set_xlabel("commit (date order)")
    ax.set_title(_plain(benchmark), loc="left", fontsize=9)
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0),
                   ncol=min(4, len(labels)), frameon=False)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight", metadata={"Software": None})
    atomic_write_bytes(path, buffer.getvalue())


def _mark_changes(ax, series: list[Series], changes: list[Change], position: dict, colours: dict) -> int:
    """A dashed line between the last commit before and the first after each change, in its
    machine's colour, labelled with its size and interval (labels stacked down from the top so
    that two changes close together stay readable). Returns how many it marked."""
    top = blended_transform_factory(ax.transData, ax.transAxes)
    marks = sorted((c for c in changes if c.commit in position), key=lambda c: position[c.commit])
    for row, change in enumerate(marks):
        one = _series_of(change, series)
        colour = colours.get((one.machine, one.config_hash), "#444444") if one else "#444444"
        x = position[change.commit] - 0.5
        ax.axvline(x, color=colour, linestyle="--", linewidth=1.2)
        right = x > len(position) / 2  # its label on the side with room
        ax.text(x - 0.08 if right else x + 0.08, 0.97 - 0.09 * (row % 6), percent_change(change.ratio, change.ci),
                transform=top, color=colour, fontsize=7.5, va="top", ha="right" if right else "left",
                bbox={"facecolor": "white", "edgecolor": colour, "alpha": 0.85, "pad": 1.5, "linewidth": 0.6})
    return len(marks)


def _changes_table(changes: list[Change], dates: dict, charted: set[str]) -> str:
    """The table the page opens on: every change, newest first (by the date of its first commit
    after), its benchmark linked to its section."""
    if not changes:
        return '<p class="none">No change found: no series holds a confirmed step between commits.</p>'

    def newest(change: Change) -> tuple:
        return (_when(dates.get((change.benchmark, change.machine, change.commit), "")), abs(change.ratio - 1))

    rows = []
    for change in sorted(changes, key=newest, reverse=True):
        name = html.escape(change.benchmark)
        link = f'<a href="#{section_id(change.benchmark)}">{name}</a>' if change.benchmark in charted else name
        kind = "slower" if change.ratio > 1 else "faster"
        rows.append(
            f'<tr class="{kind}"><td>{link}</td><td>{html.escape(change.machine)}</td>'
            f'<td><code title="{html.escape(change.commit)}">{html.escape(change.commit[:SHORT_SHA])}</code>'
            f'{" (newest commit only: provisional)" if change.provisional else ""}</td>'
            f'<td>{html.escape(dates.get((change.benchmark, change.machine, change.commit), "")[:10])}</td>'
            f'<td class="num change">{html.escape(percent_change(change.ratio, change.ci))}</td>'
            f'<td class="num">{change.p_adjusted:.2g}</td></tr>')
    return ('<table id="changes"><thead><tr><th>benchmark</th><th>machine</th><th>first commit after</th>'
            '<th>its date</th><th>change of the median time [interval]</th><th>p (Holm)</th></tr></thead>'
            '<tbody>\n' + "\n".join(rows) + '\n</tbody></table>')


def _section(benchmark: str, series: list[Series], changes: list[Change], commits: list[str], chart: str) -> str:
    machines = sorted({_label(s, series) for s in series})
    alt = (f"{benchmark}: median time per run over {len(commits)} commits, one line per machine "
           f"({', '.join(machines)}); {len(changes)} change(s) marked")
    found = "".join(f"<li>{html.escape(c.machine)}: {html.escape(percent_change(c.ratio, c.ci))} from "
                    f"<code>{html.escape(c.commit[:SHORT_SHA])}</code></li>" for c in changes)
    return (f'<section id="{section_id(benchmark)}"><h2>{html.escape(benchmark)}</h2>'
            f'<img src="{CHARTS}/{html.escape(chart)}" alt="{html.escape(alt)}">'
            f'<p>{len(commits)} commit(s) on {len(machines)} machine(s): {html.escape(", ".join(machines))}.</p>'
            + (f"<ul>{found}</ul>" if found else "<p>No change found.</p>") + "</section>")


_STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 1.5em auto; max-width: 1200px; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border-bottom: 1px solid #ddd; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.slower td.change { color: #b00020; }
tr.faster td.change { color: #1b5e20; }
td a, nav a { overflow-wrap: anywhere; }
img { max-width: 100%; height: auto; border: 1px solid #eee; }
section { margin-top: 2em; }
h2 { font-size: 1.05em; overflow-wrap: anywhere; }
p.none { font-style: italic; }
nav ul { columns: 2; font-size: 0.9em; }
"""

# Registered first, so that an image failing to load is an error it counts.
_SCRIPT = """
(function () {
  var errors = [];
  window.addEventListener('error', function (e) {
    errors.push(e.message || ('failed to load ' + (e.target && (e.target.src || e.target.href))));
  }, true);
  var consoleError = console.error;
  console.error = function () {
    errors.push(Array.prototype.join.call(arguments, ' '));
    consoleError.apply(console, arguments);
  };
  if (location.hash !== '#selftest') return;
  window.addEventListener('load', function () {
    var result = {images: 0, broken: [], links: 0, dangling: [], errors: errors};
    document.querySelectorAll('img').forEach(function (img) {
      result.images++;
      if (!img.complete || img.naturalWidth === 0) result.broken.push(img.getAttribute('src'));
    });
    document.querySelectorAll('a[href^="#"]').forEach(function (a) {
      result.links++;
      if (!document.getElementById(a.getAttribute('href').slice(1))) result.dangling.push(a.getAttribute('href'));
    });
    var pre = document.createElement('pre');
    pre.id = 'selftest';
    pre.textContent = JSON.stringify(result);
    document.body.appendChild(pre);
  });
})();
"""


def _page(table: str, sections: list[str], series: list[Series]) -> str:
    benchmarks = sorted({s.benchmark for s in series if s.points})
    machines = sorted({s.machine for s in series})
    commits = {p.commit for s in series for p in s.points}
    contents = "".join(f'<li><a href="#{section_id(b)}">{html.escape(b)}</a></li>' for b in benchmarks)
    summary = (f"{len(benchmarks)} benchmark(s) on {len(machines)} machine(s) over {len(commits)} commit(s)."
               if benchmarks else "The history holds no measurement of these benchmarks yet.")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>parbench history</title><style>{_STYLE}</style><script>{_SCRIPT}</script></head><body>"
            f"<h1>parbench history</h1><p>{html.escape(summary)} Times are the median of each commit's "
            "repetitions; a change is a step between two segments of a machine's series, confirmed by a test "
            "between them and corrected over every benchmark searched.</p>"
            f"<h2 id=\"latest\">Latest changes</h2>{table}"
            + (f"<nav id=\"contents\"><h2>Benchmarks</h2><ul>{contents}</ul></nav>" if benchmarks else "")
            + "\n" + "\n".join(sections) + "\n</body></html>\n")
