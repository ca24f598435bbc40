"""report.html as a reader meets it, in headless Chromium (Debian's chromium, installed by
scripts/install-deps): every chart loads, every contents link lands on its section, a table
sorts both ways, and nothing reaches the console as an error. The page checks itself when
opened with #selftest and writes the result into <pre id="selftest">."""
import html
import json
import os
import re
import shutil
import subprocess

import pytest

from support import run_cli

FLAGS = ["--headless", "--window-size=1280,900",
         "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-quic", "--virtual-time-budget=15000"]


def chromium():
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("PARBENCH_BROWSER_TEST") == "required":
            pytest.fail("chromium is not installed (scripts/install-deps installs it)")
        pytest.skip("chromium is not installed (scripts/install-deps installs it)")
    return path


def selftest(report, profile):
    result = subprocess.run([chromium(), *FLAGS, f"--user-data-dir={profile}", "--dump-dom",
                             f"file://{report}#selftest"], capture_output=True, text=True, timeout=180)
    match = re.search(r'<pre id="selftest">(.*?)</pre>', result.stdout, re.S)
    assert match, f"the page wrote no self-test result (chromium exit {result.returncode}): {result.stderr[-2000:]}"
    return json.loads(html.unescape(match.group(1)))


def test_report_html_in_a_browser(result_dir, tmp_path):
    for command in ("analyze", "plot", "report"):
        result = run_cli(command, result_dir)
        assert result.returncode == 0, result.stderr
    outcome = selftest(result_dir / "report.html", tmp_path / "profile")
    assert outcome["images"] >= 5 and outcome["broken"] == [], outcome
    assert outcome["links"] >= 10 and outcome["dangling"] == [], outcome
    assert outcome["sorted"] is True, outcome
    assert outcome["width"] >= 1000 and outcome["overflow"] <= 0, outcome  # no horizontal overflow at 1280 px
    assert outcome["errors"] == [], outcome
