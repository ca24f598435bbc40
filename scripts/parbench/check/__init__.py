"""./parbench check DIR [--reference DIR]: the invariants a sweep must meet.

Prints a table of every check with its measured value and threshold, then
'check: N passed, M failed'; exits 1 on any failure. Thresholds come from the
[check] table of the sweep's config (stored in DIR/sweep.json).

Two kinds of rows. A correctness row (every family ran; every point verified)
fails at once: a crash or a wrong answer is never re-measured away. A
performance row (Amdahl fits, efficiency, speedups against a reference) that
fails is re-measured before it counts: its family (and, for an efficiency,
the serial baseline's family too) runs once more, here and
now, into DIR/rechecks/ (the sweep's own raw/ stays as it was, and both
attempts are listed in sweep.json under "rechecks"), and the row is computed
again with the new measurement. A failure that does not reproduce is WARN
("not reproduced", both figures shown); one that does is FAIL. On this shared
machine a neighbour can slow one vCPU for seconds, and a single slow family
must not turn CI red. An efficiency row that fails again is measured a third
time against the machine's own ceiling (machine_ceiling: serial copies on every
CPU at once against the fastest alone): a model that reaches the threshold of
that ceiling is WARN ("limited by this machine"), since no model could do
better here; one that does not is FAIL. An Amdahl row outside its tolerance whose 95% interval
(widened by the tolerance) still contains the configured fraction is
inconclusive (WARN, too noisy to decide) and is not re-measured.

Re-measuring needs the benchmark binary (PARBENCH_BENCH, or the release
build) and the machine and commit the sweep ran on (env.json); otherwise, or
with --no-remeasure, a failing row fails.
"""
from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

from .. import UserError, provenance
from ..provenance import signature
from ..analysis import analyze
from ..scratch import remove_all_stale
from ..util import atomic_write_text, load_json, one_line
from ..modelnames import baseline_of
from ..state import STATE_FILE, state_digest
from .rules import Row, run_checks
from .remeasure import _why_not_remeasure, _with_remeasurements, remeasure


def check(directory: Path, reference: Path | None, allow_remeasure: bool = True) -> int:
    """Checks DIR (the caller holds its lock: a sweep or resume writing it meanwhile would make
    the verdict, and the check.json it leaves, describe a state that no longer is); prints the
    rows and records them in DIR/check.json."""
    remove_all_stale(dict(os.environ))  # scratch folders of a check or sweep killed outright (SIGKILL)
    return _check(Path(directory), reference, allow_remeasure)


def _check(directory: Path, reference: Path | None, allow_remeasure: bool) -> int:
    changed: list = []
    analysis = analyze(directory, with_previous=False, changed=changed)
    rows = run_checks(directory, reference, analysis, changed)
    if not rows:
        rows = [Row("anything checked", str(directory), "no check applies to these results", ">= 1", False)]
    failing = sorted({r.family for r in rows if r.passed is False and r.family})
    # An efficiency is the serial family's time over the model's: both are measured again, one
    # after the other, so that a slow spell of the machine during either does not decide it.
    failing = sorted(set(failing) | {r.family.split("/")[0] + "/" + baseline_of(r.family.split("/")[1]) for r in rows
                                     if r.passed is False and r.family and r.check == "efficiency at p=cores"})
    if failing:
        why_not = "re-measuring is off (--no-remeasure)" if not allow_remeasure else _why_not_remeasure(directory)
        if why_not is None:
            print(f"check: {len(failing)} famil{'y' if len(failing) == 1 else 'ies'} failed a performance "
                  f"check; measuring {'it' if len(failing) == 1 else 'them'} once more: {', '.join(failing)}",
                  flush=True)
            rows = _with_remeasurements(directory, reference, rows, remeasure(directory, failing))
        else:
            rows = [r._replace(note=f"not re-measured: {why_not}") if r.passed is False and r.family else r
                    for r in rows]
    _print_rows(rows)
    _record(directory, rows)
    return 1 if any(r.passed is False for r in rows) else 0


def _print_rows(rows: list[Row]) -> None:
    rows = [Row(*(one_line(value) if isinstance(value, str) else value for value in row)) for row in rows]
    widths = [max(len(str(r[i])) for r in rows + [("check", "subject", "measured", "threshold")]) for i in range(4)]
    header = ("check", "subject", "measured", "threshold")
    print("  ".join(f"{h:<{w}}" for h, w in zip(header, widths)) + "  result")
    for row in rows:
        label = {True: "PASS", False: "FAIL", None: "WARN"}[row.passed]
        note = row.note or ("too noisy to decide" if row.passed is None else "")
        print("  ".join(f"{str(c):<{w}}" for c, w in zip(row[:4], widths)) + f"  {label}"
              + (f" ({note})" if note else ""))
    failed = sum(1 for r in rows if r.passed is False)
    noisy = sum(1 for r in rows if r.passed is None and not r.note)
    unreproduced = sum(1 for r in rows if r.passed is None and r.note.startswith("not reproduced"))
    warned = sum(1 for r in rows if r.passed is None) - noisy - unreproduced
    summary = f"\ncheck: {len(rows) - failed - noisy - unreproduced - warned} passed, {failed} failed"
    if noisy:
        summary += f", {noisy} inconclusive (noisy timings)"
    if unreproduced:
        summary += f", {unreproduced} not reproduced on re-measurement"
    if warned:
        summary += f", {warned} warning(s)"
    print(summary)


def _record(directory: Path, rows: list[Row]) -> None:
    """check.json beside the sweep (the report shows its rows)."""
    results = [{"check": r.check, "subject": r.subject, "measured": r.measured, "threshold": r.threshold,
                "result": {True: "PASS", False: "FAIL", None: "WARN"}[r.passed], "note": r.note} for r in rows]
    if not (directory / STATE_FILE).exists():
        return  # not a sweep's folder: nothing of parbench's to add the result to
    try:
        # The state checked, by its digest, and the whole signed on this machine: the report shows
        # these rows only while that state is the folder's, and only if check wrote them here.
        record = {"when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                  "sweep_sha256": state_digest(directory), "rows": results}
        record["digest"] = provenance.signature(record)
        atomic_write_text(directory / "check.json", json.dumps(record, indent=1) + "\n")
    except (OSError, UserError) as error:
        print(f"check: could not record the result in {directory} ({error})")


def report_rows(directory: Path, analysis: dict) -> tuple[list[dict], str]:
    """check's rows: from DIR/check.json when ./parbench check wrote it for the folder as it is
    now (sweep.json unchanged since), else computed here."""
    try:
        saved = load_json(directory / "check.json")
    except UserError:
        saved = {}
    saved = saved if isinstance(saved, dict) else {}
    stale = ""
    if isinstance(saved.get("rows"), list) and all(isinstance(r, dict) for r in saved["rows"]):
        if saved.get("digest") != signature(saved):
            stale = "; check.json was not written by ./parbench check on this machine: not shown"
        elif saved.get("sweep_sha256") == state_digest(directory):
            return ([{key: str(row.get(key, "")) for key in ("check", "subject", "measured", "result", "note")}
                     for row in saved["rows"]],
                    "by ./parbench check" + (f" at {saved['when']}" if isinstance(saved.get("when"), str) else ""))
        else:
            stale = "; check.json is of an earlier state of this folder (run ./parbench check again)"
    try:
        rows = run_checks(directory, None, analysis, [])
    except Exception as error:  # the report must not fail because a check cannot be computed
        return [], f"not available ({error}){stale}"
    return ([{"check": r.check, "subject": r.subject, "measured": r.measured, "result":
              {True: "PASS", False: "FAIL", None: "WARN"}[r.passed], "note": r.note} for r in rows],
            "computed by the report; ./parbench check also re-measures a failed performance check" + stale)
