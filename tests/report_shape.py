"""What a report must be, checked on any results folder (the reference in the tests, CI's quick
sweep in .ci/run):
    /usr/bin/python3 tests/report_shape.py DIR
prints one line per problem and exits 1 if there is any."""
from __future__ import annotations

import json
import re
import sys
import textwrap
from pathlib import Path

MAX_LINES = 350
MAX_SUMMARY_ROWS = 60
MAX_HTML_BYTES = 1_500_000
QUALITY = re.compile(r"^\*\*Run quality: (good|use with care|not trustworthy)\.\*\*")
# A path of this machine's files (a results folder, a home, an interpreter), not a ratio like 1/3
# and not the kernel's interfaces every Linux has (/proc/stat, /sys/...).
ABSOLUTE_PATH = re.compile(r"(?<![\w.)\]/])/(?:tmp|home|root|work|usr|var|opt|srv|mnt|media|run)/[\w.-]")


def summary_rows(markdown: str) -> int:
    """Rows the summary takes at 120 columns: from the top to the first section after Summary."""
    lines = markdown.splitlines()
    end = next((i for i, line in enumerate(lines) if line.startswith("## ") and not line.startswith("## Summary")),
               len(lines))
    return sum(max(1, len(textwrap.wrap(line, 120))) for line in lines[:end])


def problems(folder: Path) -> list[str]:
    found = []
    markdown = (folder / "report.md").read_text()
    lines = markdown.splitlines()
    if len(lines) > MAX_LINES:
        found.append(f"report.md has {len(lines)} lines (at most {MAX_LINES})")
    if len(lines) < 3 or not QUALITY.match(lines[2]):
        found.append(f"line 3 of report.md is not the run's quality: {lines[2][:80] if len(lines) > 2 else ''!r}")
    rows = summary_rows(markdown)
    if rows > MAX_SUMMARY_ROWS:
        found.append(f"the summary takes {rows} rows at 120 columns (at most {MAX_SUMMARY_ROWS})")
    page = (folder / "report.html").read_bytes()
    if len(page) > MAX_HTML_BYTES:
        found.append(f"report.html has {len(page):,} bytes (at most {MAX_HTML_BYTES:,})")
    for name, text in (("report.md", markdown), ("report.html", re.sub(r"base64,[A-Za-z0-9+/=]+", "", page.decode()))):
        for match in ABSOLUTE_PATH.finditer(text):
            found.append(f"{name} holds an absolute path: {text[match.start():match.start() + 40]!r}")
            break
        if str(folder.resolve()) in text:
            found.append(f"{name} holds the folder's own path")
    found += _claim_problems(json.loads((folder / "analysis.json").read_text()), markdown)
    return found


def _claim_problems(analysis: dict, markdown: str) -> list[str]:
    found = []
    for verdict in analysis.get("verdicts", []):
        if verdict.get("verdict") not in ("win", "tie"):
            continue
        low, high = verdict["ci"]
        noise = verdict["noise"]
        if verdict["verdict"] == "tie" and low > 1 + noise:
            found.append(f"{verdict['workload']}: a tie whose interval [{low:.3g}, {high:.3g}] excludes 1 beyond "
                         f"the noise ({noise:.3g})")
        if verdict["verdict"] == "win" and low <= 1:
            found.append(f"{verdict['workload']}: a win whose interval [{low:.3g}, {high:.3g}] holds 1")
    for claim in analysis.get("claims", []):
        if claim["kind"] == "ratio" and not claim.get("interval"):
            found.append(f"a ratio claim without an interval: {claim['subjects']}")
    findings = markdown.split("### Findings", 1)[-1].split("\n## ", 1)[0]
    for line in findings.splitlines():
        for ratio in re.finditer(r"\d(?:\.\d+)?x\b(?! \[)", line):
            tail = line[ratio.end():ratio.end() + 60]
            if "[" not in tail:
                where = line[max(0, ratio.start() - 40):ratio.end() + 20]
                found.append(f"a finding's ratio without an interval: {where!r}")
    return found


if __name__ == "__main__":
    issues = problems(Path(sys.argv[1]))
    for issue in issues:
        print(issue)
    sys.exit(1 if issues else 0)
