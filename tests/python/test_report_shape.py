"""The reference's report as a reader meets it (tests/report_shape.py): the run's quality on
line 3, a summary of at most 60 rows at 120 columns, report.md of at most 350 lines, report.html
of at most 1.5 MB, no absolute path, verdicts whose intervals agree with their tests, every
ratio of the findings with its interval; and a report against a copy of its own folder says
the data are the same."""
import shutil

import pytest

from report_shape import problems
from support import ROOT, plain_build_only, run_cli
from test_report_browser import selftest


@pytest.fixture(scope="module")
def reference_report(tmp_path_factory):
    plain_build_only()
    scratch = tmp_path_factory.mktemp("shape")
    ignore = shutil.ignore_patterns("plots", "*.csv", "analysis.json", "report.*", "check.json")
    copy, twin = scratch / "reference", scratch / "twin"
    shutil.copytree(ROOT / "results" / "reference", copy, ignore=ignore)
    shutil.copytree(ROOT / "results" / "reference", twin, ignore=ignore)
    for command in (("analyze", copy), ("plot", copy), ("report", copy)):
        result = run_cli(*command)
        assert result.returncode == 0, result.stderr
    return copy, twin


def test_the_reference_report_has_its_shape(reference_report):
    folder, _ = reference_report
    assert problems(folder) == []


def test_a_report_against_a_copy_of_its_own_folder_says_the_data_are_the_same(reference_report):
    folder, twin = reference_report
    result = run_cli("report", folder, "--baseline", twin)
    assert result.returncode == 0, result.stderr
    summary = (folder / "report.md").read_text().split("## Verdicts", 1)[0]
    assert "same data as this run (identical raw files): not a comparison" in summary
    assert "twin" in summary and str(twin) not in summary


def test_the_reference_report_sorts_by_value_and_fits_1280_pixels(reference_report, tmp_path):
    folder, _ = reference_report
    outcome = selftest(folder / "report.html", tmp_path / "profile")
    # sorted both ways by value, on a column of times in mixed units (13.8 ns before 3.86 ms)
    assert outcome["sorted"] is True and outcome["sorted_by_value"] is True, outcome
    assert outcome["width"] >= 1000 and outcome["overflow"] <= 0, outcome  # no horizontal overflow at 1280 px
    assert outcome["broken"] == [] and outcome["errors"] == [], outcome
