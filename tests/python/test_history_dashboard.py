"""history report's dashboard: OUT/index.html opens on the table of changes, a chart per benchmark
over commits, every name escaped; in headless Chromium every chart loads, every in-page link
lands and nothing reaches the console (the page checks itself when opened with #selftest)."""
import hashlib
import json
import re
import signal
import warnings
from datetime import datetime, timedelta, timezone

import numpy as np
import PIL.Image
import pytest

from parbench import Stopped, UserError
from parbench.history import dashboard
from parbench.history.dashboard import (TimeTicks, _commit_order, _machine_colours, chart_figure, section_id,
                                        write_dashboard)
from parbench.history.records import Change, EntryInfo, Point, Series
from support import DATA, run_cli
from test_report_browser import selftest

STEPPED = "primes/pool/n:3000000/p:2/process_time/real_time"
HOSTILE = "<script>x</script>"  # a name from a foreign file: text, never markup
COMMITS = [hashlib.sha1(f"commit {i}".encode()).hexdigest() for i in range(14)]
START = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)


def _series(benchmark: str, machine: str, level: float, rng, step_at: int | None = None, skip=()) -> Series:
    points = []
    for index, commit in enumerate(COMMITS):
        if index in skip:
            continue
        factor = 1.12 if step_at is not None and index >= step_at else 1.0
        times = list(level * factor * rng.lognormal(0.0, 0.02, 5))
        points.append(Point(commit, (START + timedelta(hours=index)).isoformat(), times))
    return Series(benchmark, machine, f"fingerprint-{machine}", "config-1", points)


def history() -> tuple[list[Series], list[Change]]:
    """Two machines, 14 commits (each machine misses some: the chart's axis is their union), a
    +12% step on alpha from commit 9, a stable benchmark with a hostile name."""
    rng = np.random.default_rng(11)
    series = [_series(STEPPED, "alpha", 0.012, rng, step_at=9, skip=(2,)),
              _series(STEPPED, "beta", 0.020, rng, skip=(5, 6)),
              _series(HOSTILE, "alpha", 3e-6, rng), _series(HOSTILE, "beta", 2.5e-6, rng)]
    series[1].points[3].real_times = []  # a commit whose run failed: no times, no point drawn
    changes = [Change(STEPPED, "alpha", COMMITS[9], 8, 1.121, (1.098, 1.145), 1e-4, 3e-4, 8, 5)]
    return series, changes


def test_page_opens_on_the_changes_and_has_a_chart_per_benchmark(tmp_path):
    series, changes = history()
    index = write_dashboard(series, changes, tmp_path / "out")
    assert index == tmp_path / "out" / "index.html"
    charts = sorted((tmp_path / "out" / "charts").glob("*.png"))
    assert len(charts) == 2
    for chart in charts:
        with PIL.Image.open(chart) as image:
            assert image.format == "PNG" and image.width > 400 and image.height > 200
    page = index.read_text()
    table = re.search(r'<table id="changes">.*?</table>', page, re.S).group(0)
    rows = re.findall(r"<tr class=.*?</tr>", table, re.S)
    assert len(rows) == 1
    assert f'title="{COMMITS[9]}"' in rows[0] and COMMITS[9][:8] in rows[0]
    assert "alpha" in rows[0] and "+12.1% [+9.8%, +14.5%]" in rows[0]
    assert f'href="#{section_id(STEPPED)}"' in rows[0]
    assert page.index('id="changes"') < page.index(f'<section id="{section_id(STEPPED)}"')  # opens on the table
    stepped = re.search(rf'<section id="{section_id(STEPPED)}">.*?</section>', page, re.S).group(0)
    assert "14 commit(s) on 2 machine(s)" in stepped  # the union of both machines' commits
    assert re.search(r'<img src="charts/[^"]+\.png" alt="[^"]+14 commits', stepped)


def test_names_are_escaped(tmp_path):
    series, changes = history()
    changes.append(Change(HOSTILE, "<b>beta</b>", COMMITS[4], 4, 0.9, (0.85, 0.95), 1e-3, 2e-3, 4, 10))
    page = write_dashboard(series, changes, tmp_path / "out").read_text()
    assert HOSTILE not in page and "<b>beta</b>" not in page
    assert "&lt;script&gt;x&lt;/script&gt;" in page and "&lt;b&gt;beta&lt;/b&gt;" in page
    assert page.count("<script>") == 1  # the page's own self-test, in its head


def test_without_changes_the_table_says_so(tmp_path):
    series, _ = history()
    page = write_dashboard(series, [], tmp_path / "out").read_text()
    assert 'id="changes"' not in page
    assert "No change found" in page


def test_a_chart_of_a_benchmark_no_longer_shown_is_removed(tmp_path):
    series, changes = history()
    write_dashboard(series, changes, tmp_path / "out")
    (tmp_path / "out" / "charts" / "notes.png").write_bytes(b"not ours")  # not named as the dashboard names
    write_dashboard([s for s in series if s.benchmark == STEPPED], changes, tmp_path / "out")
    names = sorted(p.name for p in (tmp_path / "out" / "charts").iterdir())
    assert len(names) == 2 and "notes.png" in names and any(n.startswith("primes_pool") for n in names)


def test_in_a_browser_every_chart_loads_and_every_link_lands(tmp_path):
    series, changes = history()
    index = write_dashboard(series, changes, tmp_path / "out")
    outcome = selftest(index, tmp_path / "profile")
    assert outcome["images"] == 2 and outcome["broken"] == [], outcome
    assert outcome["links"] == 3 and outcome["dangling"] == [], outcome  # the table's row, the contents
    assert outcome["errors"] == [], outcome
    # the self-test can fail: a chart gone is a broken image and an error
    missing = sorted((tmp_path / "out" / "charts").glob("*.png"))[0]
    missing.unlink()
    outcome = selftest(index, tmp_path / "profile2")
    assert outcome["broken"] == [f"charts/{missing.name}"] and outcome["errors"], outcome


def test_history_report_from_a_database(tmp_path):
    """history add FILE.json --commit --machine --date --db, then history report --db --out."""
    db = tmp_path / "history.sqlite"
    original = json.loads((DATA / "gbench_small.json").read_text())
    for machine, scale in (("alpha", 1.0), ("beta", 1.5)):
        for index in range(2):
            data = json.loads(json.dumps(original))
            for item in data["benchmarks"]:
                if "real_time" in item and item.get("run_type") == "iteration":
                    item["real_time"] *= scale * (1 + 0.01 * index)
            path = tmp_path / f"{machine}-{index}.json"
            path.write_text(json.dumps(data))
            result = run_cli("history", "add", path, "--commit", COMMITS[index], "--machine", machine,
                             "--date", (START + timedelta(days=index)).isoformat(), "--db", db)
            assert result.returncode == 0, result.stderr
    result = run_cli("history", "report", "--db", db, "--out", tmp_path / "site")
    assert result.returncode == 0, result.stderr
    page = (tmp_path / "site" / "index.html").read_text()
    sections = re.findall(r'<section id="b-[0-9a-f]+">', page)
    assert len(sections) >= 8 and len(list((tmp_path / "site" / "charts").glob("*.png"))) == len(sections)
    assert "2 commit(s) on 2 machine(s)" in page


def test_an_output_path_that_is_a_file_is_refused(tmp_path):
    file = tmp_path / "file"
    file.write_text("x")
    series, changes = history()
    with pytest.raises(UserError, match="not a folder"):
        write_dashboard(series, changes, file)
    assert file.read_text() == "x"


def _chart(series: list[Series], changes: list[Change]):
    """The benchmark's chart as the dashboard draws it, drawn (its texts placed)."""
    commits = _commit_order(series)
    figure = chart_figure(series[0].benchmark, series, changes, commits, _machine_colours(series))
    figure.canvas.draw()
    return figure, figure.axes[0]


def _flat(benchmark: str, machine: str, medians: list[float], spread: float = 0.003) -> Series:
    """A series of the given per-commit medians, each commit five repetitions around it."""
    points = [Point(COMMITS[i], (START + timedelta(hours=i)).isoformat(),
                    [m * (1 + spread * k) for k in (-2, -1, 0, 1, 2)]) for i, m in enumerate(medians)]
    return Series(benchmark, machine, f"fingerprint-{machine}", "config-1", points)


def test_tick_labels_of_a_narrow_range_are_distinct_and_in_micro_seconds():
    formatter = TimeTicks()
    narrow = [0.01095, 0.01100, 0.01105, 0.01110]
    assert formatter.format_ticks(narrow) == ["10.95 ms", "11.00 ms", "11.05 ms", "11.10 ms"]
    assert formatter.format_ticks([2.0e-6, 2.25e-6, 2.5e-6]) == ["2.00 µs", "2.25 µs", "2.50 µs"]
    # a chart of one commit at 11 ms: every tick named once
    one = Series(STEPPED, "ci", "fp", "config-1", [Point(COMMITS[0], START.isoformat(), [0.01100, 0.01104, 0.01109])])
    _, ax = _chart([one], [])
    labels = [label.get_text() for label in ax.get_yticklabels() if label.get_text()]
    assert len(labels) >= 3 and len(set(labels)) == len(labels), labels
    assert all(label.endswith(" ms") for label in labels), labels


def test_one_commit_is_a_bar_and_the_section_says_it_cannot_show_a_change(tmp_path):
    one = Series(STEPPED, "ci", "fp", "config-1", [Point(COMMITS[0], START.isoformat(), [0.0100, 0.0110, 0.0125])])
    _, ax = _chart([one], [])
    [bar] = ax.containers  # an error bar from the fastest to the slowest repetition
    segment = bar.lines[2][0].get_segments()[0]
    assert sorted(y for _, y in segment) == pytest.approx([0.0100, 0.0125])
    assert "bar" in ax.get_ylabel()
    page = write_dashboard([one], [], tmp_path / "out").read_text()
    assert "ci: one commit, which cannot show a change" in page


def test_changes_at_one_commit_are_drawn_side_by_side_with_their_labels_above_the_data():
    series = [_flat(STEPPED, machine, [level] * 7 + [level * 1.2] * 7) for machine, level in
              (("alpha", 0.010), ("beta", 0.011), ("gamma", 0.012))]
    changes = [Change(STEPPED, s.machine, COMMITS[7], 7, 1.2, (1.18, 1.22), 0.0, 0.0, 7, 7, 0.995, 6)
               for s in series]
    figure, ax = _chart(series, changes)
    dashed = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert len(dashed) == 3
    xs = [line.get_transform().transform((line.get_xdata()[0], 0))[0] for line in dashed]
    assert min(abs(a - b) for i, a in enumerate(xs) for b in xs[i + 1:]) >= 2, xs  # pixels apart: each shows
    assert len({line.get_color() for line in dashed}) == 3
    renderer = figure.canvas.get_renderer()
    boxes = [text.get_window_extent(renderer) for text in ax.texts]
    assert len(boxes) == 3 and all("at 99.5%" in text.get_text() for text in ax.texts)
    data_top = max(ax.transData.transform((0, max(max(p.real_times) for s in series for p in s.points)))[1], 0)
    assert all(box.y0 > data_top for box in boxes), (boxes, data_top)  # never over the lines
    assert all(box.y1 <= ax.get_window_extent(renderer).y1 + 1 for box in boxes)  # inside the axes
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])


def test_noise_keeps_a_minimum_span_and_the_section_gives_the_spread(tmp_path):
    medians = [0.010 * (1.02 if i % 2 else 0.98) for i in range(10)]  # +-2% around 10 ms
    series = [_flat(STEPPED, "alpha", medians)]
    _, ax = _chart(series, [])
    low, high = ax.get_ylim()
    assert high - low >= 0.2 * 0.010 * 0.999 and low < 0.0098 * 0.997 and high > 0.0102 * 1.003
    page = write_dashboard(series, [], tmp_path / "out").read_text()
    spread = np.std(np.log(medians), ddof=1)
    assert f"alpha: 10 commits, commit-to-commit spread {100 * spread:.1f}%" in page
    # a step is no spread: the segments its change leaves are measured apart
    stepped = _flat(STEPPED, "alpha", [0.010] * 5 + [0.012] * 5, spread=0.001)
    change = Change(STEPPED, "alpha", COMMITS[5], 5, 1.2, (1.19, 1.21), 0.0, 0.0, 5, 5)
    page = write_dashboard([stepped], [change], tmp_path / "out2").read_text()
    assert "alpha: 10 commits, commit-to-commit spread 0.0%" in page


def test_p_values_confidence_and_the_test_named_once(tmp_path):
    series, changes = history()
    changes[0].p_adjusted, changes[0].confidence, changes[0].candidates = 0.0, 0.9975, 12
    changes.append(Change(HOSTILE, "beta", COMMITS[4], 4, 0.9, (0.85, 0.95), 0.01, 0.0312, 4, 10, 0.96, 12))
    page = write_dashboard(series, changes, tmp_path / "out").read_text()
    cells = re.findall(r'<td class="num">([^<]*)</td>', page)
    assert sorted(cells) == ["&lt;0.001", "0.031"]
    assert "+12.1% [+9.8%, +14.5%] at 99.8%" in page and "-10.0% [-15.0%, -5.0%] at 96%" in page
    intro = re.search(r'<p id="intro">(.*?)</p>', page, re.S).group(1)
    assert "bootstrap interval" in intro and "Holm" in intro and "12 candidate(s)" in intro
    assert "2 commits on each side" in intro and "provisional" in intro


def test_entries_left_out_are_named(tmp_path):
    series, changes = history()
    dirty = EntryInfo(id=3, commit=COMMITS[2], dirty=True, branch="main", date="2026-01-05T11:00:00+00:00",
                      machine="<i>alpha</i>", config="quick", config_hash="h", source="/r", benchmarks=4, verdicts={})
    page = write_dashboard(series, changes, tmp_path / "out", left_out=[dirty, "abc1234 beta (uncommitted changes)"]
                           ).read_text()
    block = re.search(r'<div id="left-out">.*?</div>', page, re.S).group(0)
    assert "2 entries left out: built from trees with uncommitted changes" in block
    assert f"{COMMITS[2][:12]} &lt;i&gt;alpha&lt;/i&gt; 2026-01-05T11:00:00" in block
    assert "abc1234 beta (uncommitted changes)" in block
    assert 'id="left-out"' not in write_dashboard(series, changes, tmp_path / "out2").read_text()


def test_a_very_long_name_is_cut_in_the_chart_and_whole_in_the_page(tmp_path):
    """A 100,000-character name made an image too large to draw, and no page."""
    long_name, long_machine = "primes/" + "x" * 100_000, "m" * 5_000
    series = [_flat(long_name, long_machine, [0.010, 0.011]), _flat(long_name, "beta", [0.010, 0.012])]
    changes = [Change(long_name, long_machine, COMMITS[1], 1, 1.1, (1.05, 1.15), 0.0, 0.0, 1, 1)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        page = write_dashboard(series, changes, tmp_path / "out").read_text()
    assert [str(w.message) for w in caught] == []  # tight_layout had room: the name fits the figure
    [chart] = (tmp_path / "out" / "charts").iterdir()
    assert len(chart.name) < 100
    with PIL.Image.open(chart) as image:
        assert image.width < 3000 and image.height < 1500, image.size
    assert f'<span title="{long_name}">{long_name[:299]}…</span>' in page  # the whole name, once cut
    assert f'title="{long_machine}"' in page
    figure, ax = _chart(series, changes)
    title = ax.get_title(loc="left")
    assert 20 < len(title) <= 160 and title.endswith("…") and long_name.startswith(title[:-1])
    assert ax.title.get_window_extent(figure.canvas.get_renderer()).x1 <= figure.bbox.width
    assert [text.get_text()[:19] for text in ax.texts] == ["m" * 15 + "…: +"]  # the legend names it in full
    wide = _chart([_flat("W" * 1000, "ci", [0.010, 0.011])], [])  # wide glyphs: cut shorter
    assert len(wide[1].get_title(loc="left")) < len(title)
    assert wide[1].title.get_window_extent(wide[0].canvas.get_renderer()).x1 <= wide[0].bbox.width


def test_control_characters_in_names_are_drawn_as_escapes_without_warnings(tmp_path):
    """A control character has no glyph: matplotlib warned, several lines each, on stderr."""
    name, machine = "primes/\x01pool\x1b[31m/n:1\n0/$x$", "ci\x07\x9b"
    series = [_flat(name, machine, [0.010, 0.011])]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        figure, ax = _chart(series, [])
        write_dashboard(series, [], tmp_path / "out")
    assert [str(w.message) for w in caught] == []
    assert ax.get_title(loc="left") == r"primes/\x01pool\x1b[31m/n:1\x0a0/\$x\$"
    assert ax.get_legend_handles_labels()[1] == [r"ci\x07\x9b"]


class _StopAt:
    """chart_figure that raises `error` when asked for its `at`-th chart."""

    def __init__(self, error: BaseException, at: int):
        self.error, self.at, self.calls = error, at, 0
        self.draw = dashboard.chart_figure

    def __call__(self, *args, **kwargs):
        self.calls += 1
        if self.calls == self.at:
            raise self.error
        return self.draw(*args, **kwargs)


def _contents(folder) -> dict:
    return {path.relative_to(folder): path.read_bytes() if path.is_file() else None for path in folder.rglob("*")}


@pytest.mark.parametrize("error", [KeyboardInterrupt(), Stopped(signal.SIGTERM), ValueError("a bug")],
                         ids=["ctrl-c", "sigterm", "error"])
def test_a_report_stopped_half_way_leaves_the_earlier_report_as_it_was(tmp_path, monkeypatch, error):
    series, changes = history()
    out = tmp_path / "out"
    write_dashboard(series, changes, out)
    before = _contents(out)
    more = series + [_flat(f"other/{index}", "alpha", [0.01, 0.011]) for index in range(3)]
    monkeypatch.setattr(dashboard, "chart_figure", _StopAt(error, at=3))
    with pytest.raises(type(error)):
        write_dashboard(more, changes, out)
    assert _contents(out) == before  # no chart of the new report, no temporary folder


def test_a_first_report_stopped_half_way_leaves_nothing(tmp_path, monkeypatch):
    series, changes = history()
    monkeypatch.setattr(dashboard, "chart_figure", _StopAt(KeyboardInterrupt(), at=2))
    with pytest.raises(KeyboardInterrupt):
        write_dashboard(series, changes, tmp_path / "site" / "out")
    assert list(tmp_path.iterdir()) == []


def test_command_line_mistakes_name_the_verb_once(tmp_path):
    result = run_cli("history", "list", "x")
    assert result.returncode == 2 and result.stderr == "parbench: history list: unrecognized arguments: x\n"
    result = run_cli("history", "report", "--db", "", "--out", tmp_path / "out")
    assert result.returncode == 2
    assert result.stderr == "parbench: history report --db: empty (an unset variable?); give a file\n"
    assert not (tmp_path / "out").exists()
