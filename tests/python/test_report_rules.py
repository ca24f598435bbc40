"""The report's rules on synthetic sweeps with known answers: a tie, a significant win, a model
limit, a 2-point fit refused, an efficiency above 1 flagged, a previous run found."""
import json
import re

import numpy as np

from parbench.analysis import analyze, write_outputs
from parbench.pipeline import make_report as write_report
from synthetic import write_sweep


def noisy(value, cv, count=5, seed=0):
    """count timings around value with relative spread cv (deterministic)."""
    rng = np.random.default_rng(seed)
    return list(value * (1 + cv * rng.standard_normal(count)))


def runs_with(**extra):
    runs = {
        # primes: pool is clearly faster than tbb at p = 2 (a win)
        ("primes", "serial", 1000, 1): noisy(1.0, 0.005, seed=1),
        ("primes", "pool", 1000, 1): noisy(1.0, 0.005, seed=2),
        ("primes", "pool", 1000, 2): noisy(0.50, 0.005, seed=3),
        ("primes", "tbb", 1000, 1): noisy(1.0, 0.005, seed=4),
        ("primes", "tbb", 1000, 2): noisy(0.60, 0.005, seed=5),
        ("primes", "coroutines", 1000, 2): noisy(1.0, 0.005, seed=6),
        # stream_triad: pool and tbb 0.3% apart with 2% noise (a tie)
        ("stream_triad", "serial", 1000, 1): noisy(1.0, 0.02, seed=7),
        ("stream_triad", "pool", 1000, 2): [0.600, 0.588, 0.612, 0.606, 0.594],
        ("stream_triad", "tbb", 1000, 2): [0.602, 0.614, 0.590, 0.598, 0.609],
        # fib: processes runs fork_join serially by design; pool scales
        ("fib", "serial", 30, 1): noisy(1.0, 0.005, seed=10),
        ("fib", "pool", 30, 1): noisy(1.0, 0.005, seed=11),
        ("fib", "pool", 30, 2): noisy(0.52, 0.005, seed=12),
        ("fib", "processes", 30, 1): noisy(1.0, 0.005, seed=13),
        ("fib", "processes", 30, 2): noisy(1.0, 0.005, seed=14),
        # amdahl_s20: p = 1 and 2 only (2 distinct p: not fitted); s = 0.2 exactly
        ("amdahl_s20", "serial", 100, 1): noisy(1.0, 0.003, seed=15),
        ("amdahl_s20", "pool", 100, 1): noisy(1.0, 0.003, seed=16),
        ("amdahl_s20", "pool", 100, 2): noisy(0.6, 0.003, seed=17),
    }
    runs.update(extra)
    return runs


def test_a_significant_win_and_a_tie(tmp_path):
    analysis = analyze(write_sweep(tmp_path / "run", runs_with()), with_previous=False)
    verdicts = {v["workload"]: v for v in analysis["verdicts"]}
    win = verdicts["primes"]
    assert win["verdict"] == "win" and win["best"] == "pool" and win["runner_up"] == "tbb"
    assert 1.15 < win["ratio"] < 1.25 and win["ci"][0] > 1.0 and win["p_adjusted"] < 0.05
    tie = verdicts["stream_triad"]
    assert tie["verdict"] == "tie" and set(tie["tied"]) == {"pool", "tbb"}
    assert tie["ci"][0] <= 1.0 <= tie["ci"][1] or tie["ratio"] - 1 <= tie["noise"]


def test_a_model_limit_is_n_a_not_slowness(tmp_path):
    analysis = analyze(write_sweep(tmp_path / "run", runs_with()), with_previous=False)
    points = {(p["workload"], p["model"], p["p"]): p for p in analysis["points"]}
    assert "one after the other" in points[("fib", "processes", 2)]["limit"]
    assert "limit" not in points[("fib", "processes", 1)]  # at p = 1 there is nothing to limit
    assert "event-loop" in points[("primes", "coroutines", 2)]["limit"]
    fib = next(v for v in analysis["verdicts"] if v["workload"] == "fib")
    assert fib["best"] == "pool" and {e["model"] for e in fib["excluded"]} == {"processes"}
    assert not any(f["model"] == "processes" and f["workload"] == "fib" for f in analysis["fits"])


def test_a_two_point_fit_is_refused(tmp_path):
    analysis = analyze(write_sweep(tmp_path / "run", runs_with()), with_previous=False)
    fit = next(f for f in analysis["fits"] if f["workload"] == "amdahl_s20" and f["model"] == "pool")
    assert fit["fitted"] is False and fit["method"] == "Karp-Flatt at p = 2"
    assert "not fitted: 2 distinct p" in fit["reason"]
    assert abs(fit["serial_fraction"] - 0.2) < 0.01  # Karp-Flatt recovers s under Amdahl's law
    assert fit["serial_fraction_ci"][0] <= 0.2 <= fit["serial_fraction_ci"][1]


def test_three_distinct_p_are_fitted(tmp_path):
    runs = runs_with(**{})
    runs[("amdahl_s20", "pool", 100, 4)] = noisy(0.4, 0.003, seed=18)  # s = 0.2: 0.2 + 0.8 / 4
    directory = write_sweep(tmp_path / "run", runs)
    env = json.loads((directory / "env.json").read_text())
    env["cpu"].update(physical_cores=4, hardware_threads=4)
    (directory / "env.json").write_text(json.dumps(env))
    analysis = analyze(directory, with_previous=False)
    fit = next(f for f in analysis["fits"] if f["workload"] == "amdahl_s20" and f["model"] == "pool")
    assert fit["fitted"] is True and fit["method"] == "Amdahl fit" and abs(fit["serial_fraction"] - 0.2) < 0.01


def test_an_efficiency_above_one_is_flagged_with_its_cause(tmp_path):
    runs = runs_with()
    runs[("primes", "pool", 1000, 1)] = noisy(0.80, 0.005, seed=20)  # the model at p = 1 beats serial
    runs[("primes", "pool", 1000, 2)] = noisy(0.42, 0.005, seed=21)  # speedup 2.4 at p = 2
    analysis = analyze(write_sweep(tmp_path / "run", runs), with_previous=False)
    kinds = {(s["kind"], s["workload"], s["model"]) for s in analysis["suspicious"]}
    assert ("efficiency above 1", "primes", "pool") in kinds
    assert ("negative Karp-Flatt", "primes", "pool") in kinds
    assert ("baseline slower than p = 1", "primes", "pool") in kinds
    flag = next(s for s in analysis["suspicious"] if s["kind"] == "efficiency above 1")
    assert "serial baseline is slower" in flag["cause"]


def test_the_previous_run_of_the_same_machine_and_config_is_found(tmp_path):
    older = write_sweep(tmp_path / "a", runs_with(), started="2026-11-28T10:00:00+00:00")
    write_sweep(tmp_path / "b", runs_with(), started="2026-11-28T11:00:00+00:00", config="other")
    write_sweep(tmp_path / "c", runs_with(), started="2026-11-28T12:00:00+00:00", hostname="elsewhere")
    # the same host name on another machine (a fresh VM of the same image): not this machine
    write_sweep(tmp_path / "e", runs_with(), started="2026-11-28T13:00:00+00:00", machine_id="another-vm")
    slower = runs_with()
    slower[("primes", "pool", 1000, 2)] = noisy(0.60, 0.005, seed=30)  # pool 20% slower than before
    newer = write_sweep(tmp_path / "d", slower, started="2026-11-29T10:00:00+00:00")
    analysis = analyze(newer)
    previous = analysis["previous"]
    assert previous is not None and previous["directory"] == older.name  # its name, never a path
    assert previous["same_machine"] and not previous["same_data"]
    rows = {r["subject"]: r for r in previous["rows"]}
    # stream_triad's fastest did not change; primes' fastest is now tbb or pool at ~0.6
    assert any(r["kind"] == "verdict" for r in rows.values())
    changed = [r for r in previous["rows"] if r["significant"]]
    assert all(r["ratio"] > 1 and r["direction"] == "slower" for r in changed)
    # Nothing earlier of this machine and config: no comparison.
    assert analyze(older)["previous"] is None


def test_the_report_shows_the_rules(tmp_path):
    older = write_sweep(tmp_path / "a", runs_with(), started="2026-11-28T10:00:00+00:00")
    newer = write_sweep(tmp_path / "b", runs_with(), started="2026-11-29T10:00:00+00:00")
    write_outputs(newer, analyze(newer))
    write_report(newer)
    markdown = (newer / "report.md").read_text()
    assert "parbench: 'tiny' sweep of 2026-11-29 10:00 UTC" in markdown.splitlines()[0]
    assert re.search(r"\| primes \| 2 \| pool 1\.2\d*x faster than tbb \[", markdown)
    assert re.search(r"\| stream_triad \| 2 \| tie: pool, tbb \(runner-up tbb's time / pool's 1\.0+x \[", markdown)
    assert f"Previous run: {older.name}." in markdown and str(older) not in markdown and " tie |" in markdown
    assert "Models with a built-in limit" in markdown and "## Serial fraction (Karp-Flatt estimates)" in markdown
    assert re.match(r"\*\*Run quality: (good|use with care|not trustworthy)\.\*\*", markdown.splitlines()[2])
    assert len(markdown.splitlines()) <= 350
    html = (newer / "report.html").read_text()
    assert '<nav id="contents">' in html and "<details open" in html and 'class="sortable"' in html


def test_efficiency_is_compared_over_the_same_workloads_only():
    """A model measured on one workload is not ranked beside models measured on four."""
    from parbench.analysis.claims import efficiency_claims
    point = {"scaling": "strong", "category": "cpu", "limit": None, "n": 10, "cv": 0.01, "repetitions": 5}
    points = []
    for workload in ("primes", "mandelbrot", "matmul", "monte_carlo_pi"):
        points.append(dict(point, model="serial", workload=workload, p=1, times_s=[2.0, 2.01, 1.99, 2.0, 2.02]))
        points.append(dict(point, model="mpi", workload=workload, p=2, efficiency=0.9,
                           times_s=[1.1, 1.11, 1.12, 1.1, 1.09]))
    points.append(dict(point, model="py_threads", workload="primes", p=2, efficiency=1.04, times_s=[0.96] * 5))
    claims = efficiency_claims(points, 2, "cpp", set())
    assert [c["subjects"][0] for c in claims] == ["mpi"]
    assert claims[0]["context"].startswith("over 4 workloads")
    assert claims[0]["interval"][0] < 0.91 < claims[0]["interval"][1]
