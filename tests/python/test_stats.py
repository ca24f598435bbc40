"""The scaling math on synthetic data with known answers."""
import math

import numpy as np
import pytest

from parbench import stats


@pytest.mark.parametrize("true_s", [0.0, 0.05, 0.2, 0.5, 0.9])
def test_amdahl_fit_recovers_the_serial_fraction_from_noisy_timings(true_s):
    rng = np.random.default_rng(7)
    ps, times = [], []
    for p in (1, 2, 4, 8):
        for _ in range(7):
            ps.append(p)
            times.append(float(stats.amdahl_time(p, 2.0, true_s)) * (1 + rng.normal(0, 0.01)))
    fit = stats.fit_amdahl(ps, times)
    assert abs(fit["serial_fraction"] - true_s) < 0.01
    low, high = fit["serial_fraction_ci"]
    assert low <= fit["serial_fraction"] <= high
    assert abs(fit["t1"] - 2.0) < 0.05


def test_amdahl_fit_interval_covers_the_truth_in_most_trials():
    covered = 0
    for seed in range(60):
        rng = np.random.default_rng(seed)
        ps = [p for p in (1, 2) for _ in range(7)]
        times = [float(stats.amdahl_time(p, 1.0, 0.2)) * (1 + rng.normal(0, 0.02)) for p in ps]
        low, high = stats.fit_amdahl(ps, times, resamples=500, seed=seed)["serial_fraction_ci"]
        covered += low <= 0.2 <= high
    assert covered >= 45  # nominal 95%; the percentile bootstrap undercovers a little at n = 7


def test_amdahl_fit_ignores_one_slow_outlier():
    ps = [1] * 5 + [2] * 5
    times = [1.0] * 5 + [0.6, 0.6, 0.6, 0.6, 0.9]  # s = 0.2 from the medians
    assert stats.fit_amdahl(ps, times)["serial_fraction"] == pytest.approx(0.2, abs=1e-9)


def test_amdahl_fit_needs_two_worker_counts():
    assert stats.fit_amdahl([2, 2, 2], [1.0, 1.1, 0.9]) is None


def test_karp_flatt_by_hand():
    # S = 1.5 at p = 2: e = (1/1.5 - 1/2) / (1 - 1/2) = 1/3
    assert stats.karp_flatt(1.5, 2) == pytest.approx(1 / 3)
    # Perfect speedup: e = 0; no speedup at all: e = 1.
    assert stats.karp_flatt(4.0, 4) == pytest.approx(0.0)
    assert stats.karp_flatt(1.0, 4) == pytest.approx(1.0)
    assert stats.karp_flatt(1.0, 1) is None
    # For Amdahl-law timings Karp-Flatt returns the serial fraction exactly.
    assert stats.karp_flatt(float(stats.amdahl_speedup(8, 0.1)), 8) == pytest.approx(0.1)


def test_gustafson_by_hand():
    # T(1, n) = 1 s, T(2, 2n) = 1.25 s: scaled speedup 2 * 1 / 1.25 = 1.6, s = (2 - 1.6) / 1 = 0.4
    scaled = stats.gustafson_scaled_speedup(1.0, 1.25, 2)
    assert scaled == pytest.approx(1.6)
    assert stats.gustafson_serial_fraction(scaled, 2) == pytest.approx(0.4)
    assert stats.gustafson_serial_fraction(4.0, 4) == pytest.approx(0.0)
    assert stats.gustafson_serial_fraction(1.0, 1) is None


def test_efficiency_and_speedup():
    assert stats.speedup(10.0, 4.0) == pytest.approx(2.5)
    assert stats.efficiency(2.5, 4) == pytest.approx(0.625)


def test_metg_interpolates_in_log_duration():
    # Crossing 0.5 between 10 us (0.4) and 100 us (0.8): a quarter of the way in log10.
    value, how = stats.metg([1, 10, 100], [0.2, 0.4, 0.8])
    assert how == "interpolated"
    assert value == pytest.approx(10 ** 1.25)
    # Order of the input does not matter.
    assert stats.metg([100, 1, 10], [0.8, 0.2, 0.4])[0] == pytest.approx(10 ** 1.25)


def test_metg_edges():
    assert stats.metg([1, 10], [0.6, 0.9]) == (1.0, "below_range")
    assert stats.metg([1, 10], [0.1, 0.3]) == (None, "not_reached")
    # A dip after the crossing: the last point below 50% decides.
    value, how = stats.metg([1, 10, 100, 1000], [0.2, 0.6, 0.45, 0.9])
    assert how == "interpolated" and 100 < value < 1000


def test_bootstrap_interval_covers_the_true_median_in_most_trials():
    true_median = math.exp(0.0)  # lognormal(0, 0.1): median 1
    covered = 0
    trials = 200
    for seed in range(trials):
        samples = np.random.default_rng(seed).lognormal(0.0, 0.1, size=15)
        low, high = stats.bootstrap_median_ci(samples, seed=seed, resamples=1000)
        covered += low <= true_median <= high
    assert covered / trials >= 0.88


def test_bootstrap_is_deterministic_and_degenerate_cases():
    samples = [1.0, 2.0, 3.0, 4.0, 10.0]
    assert stats.bootstrap_median_ci(samples) == stats.bootstrap_median_ci(samples)
    assert stats.bootstrap_median_ci([5.0]) == (5.0, 5.0)
    with pytest.raises(ValueError):
        stats.bootstrap_median_ci([])


def test_geometric_mean():
    assert stats.geometric_mean([1.0, 4.0]) == pytest.approx(2.0)


def test_coefficient_of_variation():
    assert stats.coefficient_of_variation([1.0, 1.0, 1.0]) == 0.0
    assert stats.coefficient_of_variation([9.0, 11.0]) == pytest.approx(math.sqrt(2) / 10)


def test_ratio_of_medians_interval_covers_the_true_ratio():
    rng = np.random.default_rng(3)
    a = 1.10 * (1 + rng.normal(0, 0.02, 9))
    b = 1.00 * (1 + rng.normal(0, 0.02, 9))
    ratio, low, high = stats.ratio_of_medians(a, b)
    assert low < 1.10 < high and low > 1.0  # a clear 10% difference: the interval excludes 1
    same = stats.ratio_of_medians(b, 1.0 * (1 + rng.normal(0, 0.02, 9)))
    assert same[1] < 1.0 < same[2]  # no difference: the interval contains 1


def test_holm_adjusts_the_smallest_p_by_the_number_of_tests():
    assert stats.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert stats.holm([0.5]) == [0.5]
    assert stats.holm([0.2, 0.9]) == pytest.approx([0.4, 0.9])  # monotone, capped at 1


def test_welch_on_log_times_separates_a_clear_difference_only():
    rng = np.random.default_rng(5)
    a = 1.0 + rng.normal(0, 0.01, 5)
    assert stats.welch_log_p(a, 1.2 + rng.normal(0, 0.01, 5)) < 1e-4
    assert stats.welch_log_p(a, 1.0 + rng.normal(0, 0.01, 5)) > 0.05
    assert stats.welch_log_p([1.0], [2.0]) == 1.0
