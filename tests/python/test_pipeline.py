"""analyze -> plot -> report -> compare -> check on real benchmark JSON."""
import json

from support import run_cli


def test_analyze_writes_json_and_csv(result_dir):
    result = run_cli("analyze", result_dir)
    assert result.returncode == 0, result.stderr
    analysis = json.loads((result_dir / "analysis.json").read_text())
    points = {(p["workload"], p["model"], p["p"]): p for p in analysis["points"]}
    serial = points[("fib", "serial", 1)]
    assert serial["speedup"] == 1.0 and serial["efficiency"] == 1.0
    pooled = points[("amdahl_s20", "pool", 2)]
    assert pooled["speedup"] > 1.0
    assert pooled["ci_low_s"] <= pooled["median_s"] <= pooled["ci_high_s"]
    fits = [f for f in analysis["fits"] if f["workload"] == "amdahl_s20"]
    assert fits and fits[0]["true_serial_fraction"] == 0.2
    assert set(fits[0]) >= {"workload", "model", "n", "true_serial_fraction", "serial_fraction",
                            "serial_fraction_ci"}
    assert analysis["overhead"] and analysis["overhead"][0]["metric"] == "ns_per_task"
    assert any("verification failed" in e for err in analysis["errors"] for e in err["errors"])
    for table in ("points", "fits", "metg", "overhead", "verdicts", "gustafson", "suspicious"):
        assert (result_dir / f"{table}.csv").read_text().splitlines()[0]


def test_plots_are_deterministic(result_dir):
    assert run_cli("analyze", result_dir).returncode == 0
    assert run_cli("plot", result_dir).returncode == 0
    first = {p.name: p.read_bytes() for p in (result_dir / "plots").iterdir()}
    assert {"speedup_threads.png", "speedup_threads.svg", "efficiency_threads.png", "overhead.png"} <= set(first)
    assert run_cli("plot", result_dir).returncode == 0
    second = {p.name: p.read_bytes() for p in (result_dir / "plots").iterdir()}
    assert first == second


def test_report_is_self_contained(result_dir):
    result = run_cli("report", result_dir)
    assert result.returncode == 0, result.stderr
    html = (result_dir / "report.html").read_text()
    assert "data:image/png;base64," in html
    assert 'src="http' not in html and 'src="plots' not in html
    markdown = (result_dir / "report.md").read_text()
    for section in ("## Summary", "## Verdicts", "### Findings", "Environment", "Warnings", "How to read this report",
                    "Data files"):
        assert section in markdown
    assert len(markdown.splitlines()) <= 350


def test_compare_identical_runs_has_no_significant_change(result_dir):
    result = run_cli("compare", result_dir, result_dir, "--fail-on-regression", "5")
    assert result.returncode == 0, result.stderr
    assert "geometric mean of B/A: 1.0000" in result.stdout


def test_compare_flags_a_regression(result_dir, tmp_path):
    slower = tmp_path / "slower"
    (slower / "raw").mkdir(parents=True)
    data = json.loads((result_dir / "raw" / "gbench_small.json").read_text())
    for entry in data["benchmarks"]:
        if entry["name"].startswith("fib/serial") and not entry.get("error_occurred"):
            entry["real_time"] *= 1.5 + 0.01 * entry.get("repetition_index", 0)
    (slower / "raw" / "gbench_small.json").write_text(json.dumps(data))
    # Three repetitions each cannot reach p < 0.1 in a two-sided U test (its minimum).
    result = run_cli("compare", result_dir, slower, "--alpha", "0.15", "--fail-on-regression", "20")
    assert result.returncode == 1, result.stdout
    assert "fib/serial/n:22/p:1" in result.stdout and "significant slowdown" in result.stdout


def test_check_reports_a_failed_verification(result_dir):
    result = run_cli("check", result_dir)
    assert result.returncode == 1
    assert "check:" in result.stdout.splitlines()[-1]
    assert "FAIL" in result.stdout


def _set_amdahl_times(result_dir, factors):
    """Rewrites amdahl_s20/pool's p = 2 repetitions as factors x its p = 1 time."""
    path = result_dir / "raw" / "gbench_small.json"
    data = json.loads(path.read_text())
    rows = [e for e in data["benchmarks"] if e.get("run_type") == "iteration"]
    t1 = next(e["real_time"] for e in rows if e["run_name"].startswith("amdahl_s20/pool/") and "/p:1/" in e["run_name"])
    for entry in data["benchmarks"]:
        if entry["run_name"].startswith("amdahl_s20/pool/") and "/p:1/" in entry["run_name"]:
            entry["real_time"] = t1
    p2 = [e for e in rows if e["run_name"].startswith("amdahl_s20/pool/") and "/p:2/" in e["run_name"]]
    for entry, factor in zip(p2, factors):
        entry["real_time"] = t1 * factor
    path.write_text(json.dumps(data))


def _amdahl_row(result_dir):
    from parbench.check import run_checks
    return next(r for r in run_checks(result_dir, None) if r[0] == "serial fraction" and r[1] == "amdahl_s20/pool")


def test_check_amdahl_fit_passes_fails_or_is_inconclusive(result_dir):
    _set_amdahl_times(result_dir, [0.6, 0.6, 0.6])  # s = 2 * 0.6 - 1 = 0.2: exact
    assert _amdahl_row(result_dir)[4] is True
    _set_amdahl_times(result_dir, [0.9, 0.9, 0.9])  # s = 0.8, its interval excludes 0.2: fails
    assert _amdahl_row(result_dir)[4] is False
    _set_amdahl_times(result_dir, [0.6, 0.9, 1.4])  # wrong, but too noisy to tell: inconclusive
    row = _amdahl_row(result_dir)
    assert row[4] is None and "95% CI" in row[2]
    result = run_cli("check", result_dir)
    assert "inconclusive (noisy timings)" in result.stdout.splitlines()[-1]
