"""./parbench history report: a static HTML dashboard of the history, OUT/index.html and
OUT/charts/*.png.

It opens on the test it applies and a table of the changes found, newest first, each row linked
to its benchmark's section; then one section per benchmark with a chart over commits: one line
per machine (the median of each commit's repetitions, a band from their fastest to their
slowest; a machine of one commit: a bar), each change marked in its machine's colour where it
begins, its size and interval in a band above the data. The y axis spans at least
MIN_SPAN of the data's middle, so that a series moving within its noise looks flat. The page is
self-contained (no script, style or font from elsewhere; charts by relative links) and every
name in it is escaped: benchmark and machine names come from files anyone may have written (a
very long one is cut, whole in a title attribute; a chart draws control characters as \\xNN).
The charts are drawn into a temporary folder and moved into place with the page at the end: a
report stopped half-way leaves the earlier one as it was (a first one: nothing).
Opened with #selftest, it checks itself (images loaded, in-page links landing, no errors) and
writes the result into <pre id="selftest">: tests/python/test_history_dashboard.py opens it in
headless Chromium.
"""
from __future__ import annotations

import hashlib
import html
import io
import math
import os
import re
import shutil
import tempfile
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import Formatter
from matplotlib.transforms import blended_transform_factory, offset_copy

from .. import UserError, stats
from ..plot import style
from ..util import atomic_write_text, file_mode, make_folder, one_line
from .changepoints import MIN_COMMITS, MIN_SEGMENT
from .records import Change, Series, confidence_text, p_text

CHARTS = "charts"
SHORT_SHA = 8
# A chart's labels: at most this many commits named under its axis (every k-th beyond).
MAX_COMMIT_LABELS = 40
# The y axis spans at least this share of the middle of the data (its median +- 10%): 2% noise
# stays a ripple instead of filling the chart.
MIN_SPAN = 0.20
# Change lines at one commit (several machines): this many points apart, so that each shows.
LINE_OFFSET = 3.0
LABEL_GAP = 6  # pixels between two labels of one row
_CHART_NAME = re.compile(r"[A-Za-z0-9_.-]{0,60}-[0-9a-f]{10}\.png")
_UNITS = (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9))
# Names come from files anyone may have written: a chart shows at most this many characters of
# one (a 100,000-character name made an image too large to draw), the page this many before an
# ellipsis, the whole name in its title attribute.
MAX_CHART_NAME = 160
MAX_PAGE_NAME = 300
MAX_LEGEND_NAME = 40  # a machine's, in the legend
MAX_MARK_NAME = 16  # a machine's, in a change's label (the legend names it in full): the label fits its half
TITLE_WIDTH = 0.8  # at most this share of the figure's width: the axes begin right of the y labels


def write_dashboard(series: list[Series], changes: list[Change], out: Path, left_out: list | None = None) -> Path:
    """Writes OUT/index.html and a chart per benchmark of `series` in OUT/charts; returns the
    page's path. `series` holds what the page shows (the caller's filter applied); a change of a
    benchmark without series is listed in the table but has no chart to lead to. `left_out`:
    the entries built from trees with uncommitted changes, which the series leave out (EntryInfo,
    or a line of text each), named on the page."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UserError(f"history report --out: {out} is not a folder")
    made = _first_missing(out)
    make_folder(out)
    # The charts are drawn into a folder of their own and moved into place with the page at the
    # end: a report stopped half-way (Ctrl-C, an error) leaves the earlier report as it was.
    staging = Path(tempfile.mkdtemp(prefix=f".{CHARTS}.", suffix=".tmp", dir=out))
    try:
        by_benchmark: dict[str, list[Series]] = defaultdict(list)
        for one in series:
            if one.points:
                by_benchmark[one.benchmark].append(one)
        sections = _draw_charts(by_benchmark, changes, _machine_colours(series), staging)
        dates = {(s.benchmark, s.machine, p.commit): p.order for s in series for p in s.points}
        candidates = max((c.candidates for c in changes), default=0)
        page = _page(_changes_table(changes, dates, set(by_benchmark)), sections, series, left_out or [], candidates)
        _publish(out, staging, page)
    except BaseException:
        if made is not None:  # a first report: nothing of it stays
            shutil.rmtree(made, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out / "index.html"


def _first_missing(path: Path) -> Path | None:
    """The outermost folder of `path` that does not exist yet (None: it exists)."""
    missing = None
    while not path.exists() and not path.is_symlink() and path != path.parent:
        missing, path = path, path.parent
    return missing


def _draw_charts(by_benchmark: dict[str, list[Series]], changes: list[Change], colours: dict,
                 folder: Path) -> list[str]:
    """A chart per benchmark in `folder`; returns the page's section of each."""
    sections = []
    for benchmark in sorted(by_benchmark):
        own = [c for c in changes if c.benchmark == benchmark]
        chart = _chart_name(benchmark)
        commits = _commit_order(by_benchmark[benchmark])
        figure = chart_figure(benchmark, by_benchmark[benchmark], own, commits, colours)
        # a new file in a folder of this run's own: no atomic write (nor its fsync) needed here
        fd = os.open(folder / chart, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, file_mode())
        with os.fdopen(fd, "wb") as file:
            file.write(_png(figure))
        sections.append(_section(benchmark, by_benchmark[benchmark], own, commits, chart))
    return sections


def _png(figure: Figure) -> bytes:
    """The figure as PNG, cropped to what it draws. The same image as savefig's
    bbox_inches="tight", whose own layout pass before measuring took an eighth of a report's time."""
    box = figure.get_tightbbox(figure.canvas.get_renderer()).padded(0.1)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches=box, metadata={"Software": None})
    return buffer.getvalue()


def _publish(out: Path, staging: Path, page: str) -> None:
    """The new charts moved into OUT/charts, then the page written, then the charts no longer
    shown removed: stopped at any point, the page in place finds every chart it shows."""
    make_folder(out / CHARTS)
    written = set()
    for chart in sorted(path.name for path in staging.iterdir()):
        os.replace(staging / chart, out / CHARTS / chart)
        written.add(chart)
    atomic_write_text(out / "index.html", page)
    _remove_stale_charts(out / CHARTS, written)


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
    """The commits of the benchmark's series, every machine's, in the series' order: by the
    commit's date where known (Point.order), else its earliest measurement's; commits of one date
    in the order the series give them."""
    earliest: dict[str, tuple] = {}
    seen: dict[str, int] = {}
    for one in series:
        for point in one.points:
            seen.setdefault(point.commit, len(seen))
            when = (_when(point.order), _when(point.date))
            earliest[point.commit] = min(earliest.get(point.commit, when), when)
    return sorted(earliest, key=lambda commit: (earliest[commit], seen[commit]))


def _order_name(series: list[Series]) -> str:
    """What orders the commits of a chart: their own dates (Point.commit_date) or, where those
    are unknown, when they were measured."""
    known = {bool(p.commit_date) for one in series for p in one.points}
    return ("commit (by commit date)" if known == {True} else "commit (by date measured)" if known == {False}
            else "commit (by commit date; where unknown, by date measured)")


def _plain(text: str, limit: int = MAX_CHART_NAME) -> str:
    """text as matplotlib draws it literally, on one line: a '$' would start its math mode, a
    control character has no glyph (a warning of several lines each), a newline would add a line;
    cut to `limit` characters."""
    shown = one_line(text)
    if len(shown) > limit:
        shown = shown[:limit - 1] + "…"
    return shown.replace("$", r"\$")


def _name_html(name: str) -> str:
    """A name for the page, escaped: a very long one cut, whole in its title attribute."""
    if len(name) <= MAX_PAGE_NAME:
        return html.escape(name)
    return f'<span title="{html.escape(name)}">{html.escape(name[:MAX_PAGE_NAME - 1])}…</span>'


def _short(name: str, limit: int = MAX_PAGE_NAME) -> str:
    """A name cut to `limit` characters (an image's alt text, a machine's name in a label)."""
    return name if len(name) <= limit else name[:limit - 1] + "…"


def _label(one: Series, series: list[Series]) -> str:
    """The line's name: its machine, and its config's digest where the machine has two."""
    same = [s for s in series if s.machine == one.machine]
    return one.machine + (f" [config {one.config_hash[:8]}]" if len(same) > 1 else "")


def percent_change(ratio: float, ci: tuple[float, float], confidence: float | None = None) -> str:
    """'+12.1% [+9.8%, +14.5%]' for a ratio 1.121 with interval (1.098, 1.145); with its
    confidence, '+12.1% [+9.8%, +14.5%] at 99.7%'."""
    text = f"{100 * (ratio - 1):+.1f}% [{100 * (ci[0] - 1):+.1f}%, {100 * (ci[1] - 1):+.1f}%]"
    return text + (f" at {confidence_text(confidence)}" if confidence is not None else "")


def _change_text(change: Change) -> str:
    return percent_change(change.ratio, change.ci, change.confidence)


def _series_of(change: Change, series: list[Series]) -> Series | None:
    """The series a change was found in: its machine's, the one whose index holds its commit."""
    mine = [s for s in series if s.machine == change.machine]
    exact = [s for s in mine if 0 <= change.index < len(s.points) and s.points[change.index].commit == change.commit]
    return (exact or [s for s in mine if any(p.commit == change.commit for p in s.points)] or [None])[0]


def _times(point) -> list[float]:
    return [t for t in point.real_times if t > 0 and math.isfinite(t)]


class TimeTicks(Formatter):
    """Tick labels of a time axis (seconds) in one unit, with as many decimals as the step
    between ticks needs: 10.95 ms, 11.00 ms, 11.05 ms, never two ticks named alike."""

    def set_locs(self, locs):
        super().set_locs(locs)
        values = [abs(v) for v in locs if math.isfinite(v)]
        top = max(values, default=1.0)
        self.unit, self.scale = next(((u, s) for u, s in _UNITS if top >= 0.9995 * s), _UNITS[-1])
        steps = [b - a for a, b in zip(sorted(locs), sorted(locs)[1:]) if b > a]
        step = min(steps, default=top or 1.0) / self.scale
        self.decimals = next((d for d in range(10) if abs(round(step, d) - step) <= 1e-3 * step), 9)

    def __call__(self, value, pos=None):
        if not hasattr(self, "scale"):
            self.set_locs([value])
        return f"{value / self.scale:.{self.decimals}f} {self.unit}"


def chart_figure(benchmark: str, series: list[Series], changes: list[Change], commits: list[str],
                 colours: dict) -> Figure:
    """The benchmark's chart: a line per machine over `commits`, its changes marked."""
    position = {commit: index for index, commit in enumerate(commits)}
    fig = Figure(figsize=(min(16.0, max(8.0, 0.22 * len(commits) + 4)), 4.2))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    limits = _draw_series(ax, series, position, colours)
    step = max(1, -(-len(commits) // MAX_COMMIT_LABELS))
    ax.set_xticks(range(0, len(commits), step))
    ax.set_xticklabels([_plain(commits[i][:SHORT_SHA]) for i in range(0, len(commits), step)], rotation=60,
                       ha="right", fontsize=7, family="monospace")
    ax.set_xlim(-0.6, len(commits) - 0.4)
    ax.yaxis.set_major_formatter(TimeTicks())
    shapes = {"bar" if sum(1 for p in one.points if _times(p)) == 1 else "band" for one in series}
    ax.set_ylabel(f"time per run (median; {' or '.join(sorted(shapes, reverse=True)) or 'band'}: fastest to slowest)")
    ax.set_xlabel(_order_name(series))
    _title(fig, ax, benchmark)
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0),
                   ncol=min(4, len(labels)), frameon=False)
    marks = _mark_changes(fig, ax, series, changes, position, colours)
    _fit(fig, ax, marks, limits)
    return fig


def _title(fig, ax, benchmark: str) -> None:
    """The benchmark's name over the chart, cut short enough to fit the figure's width (a name
    wider than the figure leaves tight_layout no room: a warning, and a squeezed chart)."""
    room = TITLE_WIDTH * fig.bbox.width
    limit = MAX_CHART_NAME
    title = ax.set_title(_plain(benchmark, limit), loc="left", fontsize=9)
    for _ in range(4):  # each cut in proportion to the overflow; names of wide glyphs take two
        width = title.get_window_extent(fig.canvas.get_renderer()).width
        if width <= room or limit <= 10:
            break
        limit = max(10, min(limit - 1, int(len(title.get_text()) * room / width)))
        title.set_text(_plain(benchmark, limit))


def _draw_series(ax, series: list[Series], position: dict, colours: dict) -> tuple[float, float] | None:
    """Draws each machine's line and band (a machine of one commit: a bar over its repetitions,
    a band needs two commits); returns the lowest and highest time drawn."""
    drawn: list[float] = []
    for one in sorted(series, key=lambda s: (s.machine, s.config_hash)):
        colour = colours[(one.machine, one.config_hash)]
        points = [p for p in one.points if _times(p)]
        if not points:
            continue
        xs = [position[p.commit] for p in points]
        lows, highs = [min(_times(p)) for p in points], [max(_times(p)) for p in points]
        medians = [stats.median(_times(p)) for p in points]
        drawn += lows + highs
        if len(points) == 1:
            ax.errorbar(xs, medians, yerr=[[medians[0] - lows[0]], [highs[0] - medians[0]]], color=colour,
                        capsize=5, linewidth=1.2)
        else:
            ax.fill_between(xs, lows, highs, color=colour, alpha=0.18, linewidth=0)
        ax.plot(xs, medians, color=colour, marker="o", markersize=3.5, linewidth=1.4,
                label=_plain(_label(one, series), MAX_LEGEND_NAME))
    return (min(drawn), max(drawn)) if drawn else None


def _mark_changes(fig, ax, series: list[Series], changes: list[Change], position: dict, colours: dict) -> list:
    """A dashed line between the last commit before and the first after each change, in its
    machine's colour (several at one commit side by side), and its label: its size, interval
    and confidence (its machine's name too, cut short, where the chart has several). Returns the labels,
    which _fit stacks above the data."""
    marks = sorted((c for c in changes if c.commit in position), key=lambda c: (position[c.commit], c.machine))
    at_commit: dict[str, list[Change]] = defaultdict(list)
    for change in marks:
        at_commit[change.commit].append(change)
    several = len({s.machine for s in series}) > 1
    base = blended_transform_factory(ax.transData, ax.transAxes)
    labels = []
    for change in marks:
        one = _series_of(change, series)
        colour = colours.get((one.machine, one.config_hash), "#444444") if one else "#444444"
        x = position[change.commit] - 0.5
        group = at_commit[change.commit]
        shift = LINE_OFFSET * (group.index(change) - (len(group) - 1) / 2)
        ax.plot([x, x], [0, 1], transform=offset_copy(base, fig=fig, x=shift, units="points"), color=colour,
                linestyle="--", linewidth=1.2, zorder=3)
        right = x > len(position) / 2  # its label on the side with room
        text = (f"{_short(change.machine, MAX_MARK_NAME)}: " if several else "") + _change_text(change)
        labels.append(ax.text(x, 1.0, _plain(text), color=colour, fontsize=7.5, va="top",
                              ha="right" if right else "left", zorder=5,
                              transform=offset_copy(base, fig=fig, x=shift + (-2 if right else 2), units="points"),
                              bbox={"facecolor": "white", "edgecolor": colour, "alpha": 0.9, "pad": 1.5,
                                    "linewidth": 0.6}))
    return labels


def _rows(labels: list, renderer) -> tuple[list[int], float]:
    """Each label's row (from the top: a label shares a row only with labels it does not touch)
    and a row's height in pixels."""
    extents = [label.get_window_extent(renderer) for label in labels]
    rows, ends = [0] * len(labels), []
    for index in sorted(range(len(labels)), key=lambda i: extents[i].x0):
        row = next((r for r, end in enumerate(ends) if end + LABEL_GAP < extents[index].x0), len(ends))
        if row == len(ends):
            ends.append(0.0)
        ends[row] = extents[index].x1
        rows[index] = row
    return rows, max((e.height for e in extents), default=0.0) + 6


def _fit(fig, ax, labels: list, limits: tuple[float, float] | None) -> None:
    """The y axis: the data's span (at least MIN_SPAN of its middle), with a band reserved above
    it for the change labels, one row each where they would touch; a figure of many rows grows
    to hold them."""
    if limits is not None:
        low, high = limits
        middle = (low + high) / 2
        half = max(0.55 * (high - low), MIN_SPAN / 2 * middle)
        ax.set_ylim(middle - half, middle + half)
    if not labels:
        fig.tight_layout()
        return
    bottom, top = ax.get_ylim()
    fig.tight_layout()
    rows, row_height = _rows(labels, fig.canvas.get_renderer())
    count = max(rows) + 1
    if count > 3:
        width, height = fig.get_size_inches()
        fig.set_size_inches(width, height + (count - 3) * row_height / fig.dpi)
    for _ in range(2):  # the tick labels the new limits bring can move the axes: once more
        fig.tight_layout()
        axes_height = ax.get_window_extent(fig.canvas.get_renderer()).height
        row = row_height / axes_height
        for label, number in zip(labels, rows):
            label.set_y(0.99 - number * row)
        headroom = min(0.9, 0.02 + count * row)
        ax.set_ylim(bottom, bottom + (top - bottom) / (1 - headroom))


def _spread(one: Series, changes: list[Change], series: list[Series]) -> float | None:
    """The commit-to-commit spread of the series: the standard deviation of its per-commit
    medians' logs within the segments its changes leave (~ their CV); None under two commits a
    segment."""
    points = [p for p in one.points if _times(p)]
    logs = np.log([stats.median(_times(p)) for p in points])
    cuts = {c.commit for c in changes if _series_of(c, series) is one}
    bounds = [0, *(i for i, p in enumerate(points) if i and p.commit in cuts), len(points)]
    residuals = np.concatenate([logs[a:b] - logs[a:b].mean() for a, b in zip(bounds, bounds[1:]) if b > a])
    freedom = len(logs) - (len(bounds) - 1)
    return float(np.sqrt((residuals ** 2).sum() / freedom)) if freedom > 0 else None


def _line_details(one: Series, series: list[Series], changes: list[Change]) -> str:
    """What one machine's line shows: its commits, their spread, or why it cannot show a change."""
    count = sum(1 for p in one.points if _times(p))
    name = _name_html(_label(one, series))
    if count == 0:
        return f"{name}: no commit with a time (every run failed)"
    if count == 1:
        return f"{name}: one commit, which cannot show a change (the bar: its repetitions, fastest to slowest)"
    spread = _spread(one, changes, series)
    text = f"{name}: {count} commits" + (f", commit-to-commit spread {100 * spread:.1f}%" if spread is not None else "")
    if count < MIN_COMMITS:
        text += f"; too few to show a change (it needs {MIN_SEGMENT} commits on each side)"
    return text


def _changes_table(changes: list[Change], dates: dict, charted: set[str]) -> str:
    """The table the page opens on: every change, newest first (by the date of its first commit
    after), its benchmark linked to its section."""
    if not changes:
        return '<p class="none">No change found: no series holds a confirmed step between commits.</p>'

    def newest(change: Change) -> tuple:
        return (_when(dates.get((change.benchmark, change.machine, change.commit), "")), abs(change.ratio - 1))

    rows = []
    for change in sorted(changes, key=newest, reverse=True):
        name = _name_html(change.benchmark)
        link = f'<a href="#{section_id(change.benchmark)}">{name}</a>' if change.benchmark in charted else name
        kind = "slower" if change.ratio > 1 else "faster"
        rows.append(
            f'<tr class="{kind}"><td>{link}</td><td>{_name_html(change.machine)}</td>'
            f'<td><code title="{html.escape(change.commit)}">{html.escape(change.commit[:SHORT_SHA])}</code>'
            f'{" (newest commit only: provisional)" if change.provisional else ""}</td>'
            f'<td>{html.escape(dates.get((change.benchmark, change.machine, change.commit), "")[:10])}</td>'
            f'<td class="num change">{html.escape(_change_text(change))}</td>'
            f'<td class="num">{html.escape(p_text(change.p_adjusted))}</td></tr>')
    return ('<table id="changes"><thead><tr><th>benchmark</th><th>machine</th><th>first commit after</th>'
            '<th>its date</th><th>change of the median time [interval] at its confidence</th><th>p (Holm)</th>'
            '</tr></thead><tbody>\n' + "\n".join(rows) + '\n</tbody></table>')


def _section(benchmark: str, series: list[Series], changes: list[Change], commits: list[str], chart: str) -> str:
    machines = sorted({_label(s, series) for s in series})
    alt = (f"{_short(benchmark)}: median time per run over {len(commits)} commits, one line per machine "
           f"({', '.join(map(_short, machines))}); {len(changes)} change(s) marked")
    lines = "".join(f"<li>{_line_details(one, series, changes)}</li>"
                    for one in sorted(series, key=lambda s: (s.machine, s.config_hash)))
    found = "".join(f"<li>{_name_html(c.machine)}: {html.escape(_change_text(c))} from "
                    f"<code>{html.escape(c.commit[:SHORT_SHA])}</code>"
                    f"{' (newest commit only: provisional)' if c.provisional else ''}</li>" for c in changes)
    return (f'<section id="{section_id(benchmark)}"><h2>{_name_html(benchmark)}</h2>'
            f'<img src="{CHARTS}/{html.escape(chart)}" alt="{html.escape(alt)}">'
            f'<p>{len(commits)} commit(s) on {len(machines)} machine(s): {", ".join(map(_name_html, machines))}.</p>'
            f'<ul class="lines">{lines}</ul>'
            + (f'<p>Changes:</p><ul class="found">{found}</ul>' if found else "<p>No change found.</p>")
            + "</section>")


def _left_out_text(item) -> str:
    """An entry left out, as one line: EntryInfo's commit, machine and date, or the caller's text."""
    if isinstance(item, str):
        return item
    return f"{item.commit[:12]} {item.machine} {str(item.date)[:19]} (uncommitted changes)"


def _left_out(items: list) -> str:
    if not items:
        return ""
    listed = "".join(f"<li>{_name_html(_left_out_text(item))}</li>" for item in items)
    return (f'<div id="left-out"><p>{len(items)} entr{"y" if len(items) == 1 else "ies"} left out: built from '
            f'trees with uncommitted changes, their code is no commit\'s.</p><ul>{listed}</ul></div>')


_INTRO = (
    "Times are the median of each commit's repetitions. A change is a step between two segments of one "
    "machine's series over commit order (found by E-divisive means), kept when the bootstrap interval of the "
    "ratio of the two segments' median times lies beyond their noise band (the commit-to-commit spread), with "
    "Holm's correction over every candidate of the search; each interval is shown at the confidence level its "
    f"corrected test used. A change needs {MIN_SEGMENT} commits on each side, except a provisional one at the "
    "newest commit, which rests on that commit alone.")


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


def _page(table: str, sections: list[str], series: list[Series], left_out: list, candidates: int) -> str:
    benchmarks = sorted({s.benchmark for s in series if s.points})
    machines = sorted({s.machine for s in series})
    commits = {p.commit for s in series for p in s.points}
    contents = "".join(f'<li><a href="#{section_id(b)}">{_name_html(b)}</a></li>' for b in benchmarks)
    summary = (f"{len(benchmarks)} benchmark(s) on {len(machines)} machine(s) over {len(commits)} commit(s)."
               if benchmarks else "The history holds no measurement of these benchmarks yet.")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>parbench history</title><style>{_STYLE}</style><script>{_SCRIPT}</script></head><body>"
            f"<h1>parbench history</h1><p id=\"intro\">{html.escape(summary)} {html.escape(_INTRO)}"
            + (f" This report's search had {candidates} candidate(s)." if candidates else "") + "</p>"
            + f"<h2 id=\"latest\">Latest changes</h2>{table}" + _left_out(left_out)
            + (f"<nav id=\"contents\"><h2>Benchmarks</h2><ul>{contents}</ul></nav>" if benchmarks else "")
            + "\n" + "\n".join(sections) + "\n</body></html>\n")
