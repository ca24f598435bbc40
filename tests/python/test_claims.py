"""Claims: one test decides each, the interval shown is the one the test used, and the words
follow the test ("faster", "slower", "holds" only when it passed). Each kind has a case that
must come out as a tie (or inconclusive)."""
import re

import numpy as np
import pytest

from parbench import stats
from parbench.analysis.claims import figure_claim, order_claim, ratio_claims
from parbench.analysis.quality import run_quality
from parbench.analysis.verdicts import build_verdicts
from parbench.report.claims import rounded, say

RNG = np.random.default_rng(7)


def samples(center, spread=0.01, count=5):
    return list(center * (1 + spread * RNG.standard_normal(count)))


def test_a_ratio_claim_inside_the_noise_is_a_tie_and_says_so():
    claim = ratio_claims("t", "findings", [{"subjects": ("a", "b"), "samples": (samples(1.0), samples(1.01))}],
                         noise=0.03)[0]
    assert claim["outcome"] == "tie"
    text = say(claim)
    assert "tie" in text and "faster" not in text and "slower" not in text and "[" in text


def test_a_clear_ratio_claim_is_faster_or_slower_with_its_interval():
    faster, slower = ratio_claims("t", "findings", [
        {"subjects": ("a", "b"), "samples": (samples(1.0), samples(1.5))},
        {"subjects": ("c", "d"), "samples": (samples(2.0), samples(1.0))}], noise=0.02)
    assert faster["outcome"] == "faster" and faster["interval"][0] > 1.02
    assert slower["outcome"] == "slower" and slower["interval"][1] < 1 / 1.02
    assert re.match(r"a 1\.\d+x faster than b \[", say(faster)) and "slower than d" in say(slower)


def test_an_order_with_a_tied_step_is_inconclusive_never_holds():
    steps = ratio_claims("o", "primitives", [
        {"subjects": ("x", "y"), "samples": (samples(1.0), samples(3.0))},
        {"subjects": ("y", "z"), "samples": (samples(3.0), samples(3.02))}], noise=0.02)
    claim = order_claim("o", "primitives", ["x", "y", "z"], steps)
    assert claim["outcome"] == "inconclusive" and "holds" not in say(claim)
    inverted = ratio_claims("o", "primitives", [{"subjects": ("x", "y"), "samples": (samples(3.0), samples(1.0))}],
                            noise=0.02)
    assert order_claim("o", "primitives", ["x", "y"], inverted)["outcome"] == "does not hold"
    clean = ratio_claims("o", "primitives", [{"subjects": ("x", "y"), "samples": (samples(1.0), samples(3.0))}],
                         noise=0.02)
    assert order_claim("o", "primitives", ["x", "y"], clean)["outcome"] == "holds"


def test_a_figure_claim_compares_nothing():
    claim = figure_claim("efficiency", "findings", "pool", 0.987, [0.97, 1.02], "efficiency")
    text = say(claim)
    assert claim["outcome"] == "figure" and not any(w in text for w in ("faster", "slower", "holds", "tie"))
    assert text == "pool 0.99 [0.970, 1.020]"


@pytest.mark.parametrize("seed", range(30))
def test_holm_band_tests_never_disagree_with_their_intervals(seed):
    rng = np.random.default_rng(seed)
    m = int(rng.integers(1, 12))
    pairs, noises = [], []
    for _ in range(m):
        effect = float(rng.choice([1.0, 1.02, 1.05, 1.1, 1.3, 0.8]))
        spread = float(rng.choice([0.005, 0.02, 0.08]))
        count = int(rng.integers(2, 10))
        pairs.append((list(1 + spread * rng.standard_normal(count)),
                      list(effect * (1 + spread * rng.standard_normal(count)))))
        noises.append(float(rng.choice([0.0, 0.02, 0.05])))
    for test in stats.holm_band_tests(pairs, noises):
        low, high = test["ci"]
        beyond = low > 1 + test["noise"] or high < 1 / (1 + test["noise"])
        assert beyond == test["significant"], test  # a win's interval is beyond the noise; a tie's is not


def _point(workload, model, p, times, n=100):
    median = float(np.median(times))
    return {"workload": workload, "model": model, "n": n, "p": p, "category": "cpu", "scaling": "strong",
            "times_s": times, "median_s": median, "cv": stats.coefficient_of_variation(times),
            "repetitions": len(times)}


def test_verdicts_tie_inside_the_noise_and_carry_the_speedup_over_serial():
    points = [_point("w1", "serial", 1, samples(2.0)), _point("w1", "pool", 2, samples(1.0)),
              _point("w1", "tbb", 2, samples(1.005)),
              _point("w2", "serial", 1, samples(2.0)), _point("w2", "pool", 2, samples(1.0)),
              _point("w2", "tbb", 2, samples(1.6))]
    verdicts = {v["workload"]: v for v in build_verdicts(points, cores=2, noise=0.02)}
    assert verdicts["w1"]["verdict"] == "tie" and set(verdicts["w1"]["tied"]) == {"pool", "tbb"}
    assert verdicts["w2"]["verdict"] == "win" and verdicts["w2"]["best"] == "pool"
    for verdict in verdicts.values():
        low, high = verdict["ci"]
        assert (low > 1 + verdict["noise"]) == (verdict["verdict"] == "win")
        assert verdict["confidence"] >= 0.95
        assert verdict["speedup"]["baseline"] == "serial" and verdict["speedup"]["significant"]
        assert 1.8 < verdict["speedup"]["ratio"] < 2.2


@pytest.mark.parametrize("value, low, high, text", [
    (1.12, 1.03, 1.20, "1.1"), (18.13, 15.2, 20.3, "18"), (1.0047, 1.0031, 1.0062, "1.005"),
    (456424, 4e5, 5e5, "460,000")])
def test_figures_are_rounded_to_what_their_interval_supports(value, low, high, text):
    assert rounded(value, low, high) == text


def _family(other, seconds=1.0, status="ok"):
    return {"family": "f", "status": status,
            "disturbance": {"steal": 0.0, "other": other, "total": other, "cpu_seconds": seconds}}


def test_run_quality_judges_disturbance_load_and_failures():
    points = [{"cv": 0.01}] * 10
    env = {"load_average": {"before": [0.1, 0.1, 0.1]}}
    quiet = {"config": {"disturbance_max": 0.1}, "families": [_family(0.0)] * 20}
    assert run_quality(points, env, quiet, 2, [])["verdict"] == "good"
    hogged = {"config": {"disturbance_max": 0.1}, "families": [_family(0.6)] * 20}
    quality = run_quality(points, {"load_average": {"before": [2.1, 2.0, 1.0]}}, hogged, 2, [])
    assert quality["verdict"] == "not trustworthy" and "100.0% of the families ran disturbed" in quality["reasons"][0]
    counting_noise = {"config": {"disturbance_max": 0.1}, "families": [_family(0.6, seconds=0.01)] * 20}
    assert run_quality(points, env, counting_noise, 2, [])["verdict"] == "good"
    failed = {"config": {"disturbance_max": 0.1}, "families": [_family(0.0)] * 19 + [_family(0.0, status="crashed")]}
    assert run_quality(points, env, failed, 2, [])["verdict"] == "use with care"
