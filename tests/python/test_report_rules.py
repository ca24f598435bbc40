"""The report's rules on synthetic sweeps with known answers: a tie, a significant win, a model
limit, a 2-point fit refused, an efficiency above 1 flagged, a previous run found."""
import json

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
    slower = runs_with()
    slower[("primes", "pool", 1000, 2)] = noisy(0.60, 0.005, seed=30)  # pool 20% slower than before
    newer = write_sweep(tmp_path / "d", slower, started="2026-11-29T10:00:00+00:00")
    analysis = analyze(newer)
    previous = analysis["previous"]
    assert previous is not None and previous["directory"] == str(older)
    rows = {r["subject"]: r for r in previous["rows"]}
    # stream_triad's fastest did not change; primes' fastest is now tbb or pool at ~0.6
    assert any(r["kind"] == "verdict" for r in rows.values())
    changed = [r for r in previous["rows"] if r["significant"]]
    assert all(r["ratio"] > 1 for r in changed)
    # Nothing earlier of this machine and config: no comparison.
    assert analyze(older)["previous"] is None


def test_the_report_shows_the_rules(tmp_path):
    older = write_sweep(tmp_path / "a", runs_with(), started="2026-11-28T10:00:00+00:00")
    newer = write_sweep(tmp_path / "b", runs_with(), started="2026-11-29T10:00:00+00:00")
    write_outputs(newer, analyze(newer))
    write_report(newer)
    markdown = (newer / "report.md").read_text()
    assert "parbench: 'tiny' sweep of 2026-11-29 10:00 UTC" in markdown.splitlines()[0]
    assert "| primes | 2 | pool 1.20x faster than tbb [" in markdown
    assert "| stream_triad | 2 | tie: pool, tbb (tbb 1.00x [" in markdown
    assert f"Previous run: {older}" in markdown and "(not significant)" in markdown
    assert "Not comparable by design" in markdown and "not fitted: 2 distinct p" in markdown
    assert len(markdown.splitlines()) <= 350
    html = (newer / "report.html").read_text()
    assert '<nav id="contents">' in html and "<details open" in html and 'class="sortable"' in html


def test_the_median_efficiency_of_an_even_count_is_the_mean_of_the_middle_two():
    from parbench.report import summary as report
    point = {"scaling": "strong", "p": 2, "category": "cpu", "limit": None}
    points = [dict(point, model="mpi", workload=w, efficiency=e)
              for w, e in (("primes", 1.01), ("mandelbrot", 0.96), ("matmul", 0.80), ("monte_carlo_pi", 0.86))]
    points += [dict(point, model="pool", workload="primes", efficiency=0.99),
               dict(point, model="pool", workload="histogram", efficiency=0.5, category="memory")]
    lines = report.findings({"verdicts": [], "points": points, "cores": {"physical": 2}, "noise": 0.02,
                             "metg": [], "io": []})
    line = next(text for text in lines if text.startswith("Median efficiency"))
    assert "pool 0.99 (1), mpi 0.91 (4)." in line, line
