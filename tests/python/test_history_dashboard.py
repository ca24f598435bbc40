"""history report's dashboard: OUT/index.html opens on the table of changes, a chart per benchmark
over commits, every name escaped; in headless Chromium every chart loads, every in-page link
lands and nothing reaches the console (the page checks itself when opened with #selftest)."""
import hashlib
import json
import re
from datetime import datetime, timedelta, timezone

import numpy as np
import PIL.Image
import pytest

from parbench import UserError
from parbench.history.dashboard import section_id, write_dashboard
from parbench.history.records import Change, Point, Series
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
