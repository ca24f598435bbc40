"""Pure functions for the scaling math. No I/O; tested on synthetic data.

Conventions: times are seconds, p is the worker count, speedup S = T_ref / T(p).
"""
from __future__ import annotations

import math
import warnings
from typing import Sequence

import numpy as np
from scipy import stats


def median(samples: Sequence[float]) -> float:
    return float(np.median(np.asarray(samples, dtype=float)))


def coefficient_of_variation(samples: Sequence[float]) -> float:
    """Sample standard deviation over mean (0 for fewer than two samples)."""
    x = np.asarray(samples, dtype=float)
    if len(x) < 2 or x.mean() == 0:
        return 0.0
    return float(x.std(ddof=1) / x.mean())


def bootstrap_median_ci(samples: Sequence[float], confidence: float = 0.95,
                        resamples: int = 2000, seed: int = 12345) -> tuple[float, float]:
    """Percentile bootstrap interval for the median (seeded: deterministic)."""
    x = np.asarray(samples, dtype=float)
    if len(x) == 0:
        raise ValueError("no samples")
    if len(x) == 1:
        return float(x[0]), float(x[0])
    rng = np.random.default_rng(seed)
    medians = np.median(rng.choice(x, size=(resamples, len(x)), replace=True), axis=1)
    alpha = (1 - confidence) / 2
    return float(np.quantile(medians, alpha)), float(np.quantile(medians, 1 - alpha))


def speedup(reference_time: float, time: float) -> float:
    return reference_time / time


def efficiency(speedup_value: float, p: int) -> float:
    return speedup_value / p


def karp_flatt(speedup_value: float, p: int) -> float | None:
    """Experimentally determined serial fraction e = (1/S - 1/p) / (1 - 1/p); None at p = 1."""
    if p <= 1:
        return None
    return (1 / speedup_value - 1 / p) / (1 - 1 / p)


def amdahl_speedup(p, serial_fraction: float):
    """Amdahl's law: S(p) = 1 / (s + (1 - s) / p)."""
    p = np.asarray(p, dtype=float)
    return 1.0 / (serial_fraction + (1.0 - serial_fraction) / p)


def amdahl_time(p, t1: float, serial_fraction: float):
    """T(p) = T(1) * (s + (1 - s) / p)."""
    p = np.asarray(p, dtype=float)
    return t1 * (serial_fraction + (1.0 - serial_fraction) / p)


def _amdahl_linear(inverse_p: np.ndarray, medians: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least squares of T = A + B / p for many rows of medians at once.

    T1 (s + (1 - s) / p) = A + B / p with A = T1 s and B = T1 (1 - s): linear in
    (A, B), so the fit is closed-form (and vectorised for the bootstrap).
    Returns (s, T1) per row, s clipped to [0, 1].
    """
    design = np.column_stack([np.ones_like(inverse_p), inverse_p])
    coefficients, *_ = np.linalg.lstsq(design, medians.T, rcond=None)
    a, b = coefficients
    t1 = a + b
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.clip(np.where(t1 > 0, a / t1, np.nan), 0.0, 1.0)
    return s, t1


def fit_amdahl(ps: Sequence[float], times: Sequence[float], confidence: float = 0.95,
               resamples: int = 2000, seed: int = 2024) -> dict | None:
    """Fits Amdahl's law T(p) = T1 (s + (1 - s)/p) to timings at several p.

    The fit is least squares on the median time at each distinct p (medians:
    one slow repetition must not move s). The interval is a percentile
    bootstrap: repetitions are resampled within each p and the fit repeated.
    Returns {"serial_fraction", "serial_fraction_ci", "t1", "points"}, or None
    when fewer than two distinct p are given.
    """
    p = np.asarray(ps, dtype=float)
    t = np.asarray(times, dtype=float)
    levels = np.unique(p)
    if len(levels) < 2:
        return None
    groups = [t[p == level] for level in levels]
    inverse_p = 1.0 / levels
    medians = np.array([[np.median(g) for g in groups]])
    s, t1 = _amdahl_linear(inverse_p, medians)
    rng = np.random.default_rng(seed)
    boot = np.column_stack([np.median(rng.choice(g, size=(resamples, len(g)), replace=True), axis=1)
                            for g in groups])
    boot_s, _ = _amdahl_linear(inverse_p, boot)
    boot_s = boot_s[np.isfinite(boot_s)]
    alpha = (1 - confidence) / 2
    low, high = (float(np.quantile(boot_s, alpha)), float(np.quantile(boot_s, 1 - alpha))) \
        if len(boot_s) else (0.0, 1.0)
    return {"serial_fraction": float(s[0]), "serial_fraction_ci": [low, high], "t1": float(t1[0]),
            "points": int(len(t))}


def gustafson_scaled_speedup(t1: float, tp: float, p: int) -> float:
    """Scaled speedup when the work grows with p: S = p * T(1, n) / T(p, p*n)."""
    return p * t1 / tp


def gustafson_serial_fraction(scaled_speedup: float, p: int) -> float | None:
    """s from Gustafson's law S = p - s (p - 1); None at p = 1."""
    if p <= 1:
        return None
    return (p - scaled_speedup) / (p - 1)


def metg(durations_us: Sequence[float], efficiencies: Sequence[float],
         threshold: float = 0.5) -> tuple[float | None, str]:
    """Minimum effective task granularity: the smallest task duration at which
    efficiency reaches `threshold`, interpolated linearly in log(duration)
    between the two sweep points that bracket the crossing (the largest
    duration below the threshold and the next one above it).

    Returns (value_us, how): how is "interpolated", "below_range" (already
    efficient at the smallest duration: the value is that duration, an upper
    bound) or "not_reached" (value None).
    """
    pairs = sorted(zip((float(d) for d in durations_us), (float(e) for e in efficiencies)))
    if not pairs:
        return None, "not_reached"
    below = [i for i, (_, e) in enumerate(pairs) if e < threshold]
    if not below:
        return pairs[0][0], "below_range"
    last_below = below[-1]
    if last_below == len(pairs) - 1:
        return None, "not_reached"
    (d0, e0), (d1, e1) = pairs[last_below], pairs[last_below + 1]
    fraction = (threshold - e0) / (e1 - e0)
    log_value = math.log(d0) + fraction * (math.log(d1) - math.log(d0))
    return math.exp(log_value), "interpolated"


def geometric_mean(values: Sequence[float]) -> float:
    x = np.asarray(values, dtype=float)
    return float(np.exp(np.mean(np.log(x)))) if len(x) else math.nan


def ratio_of_medians(a: Sequence[float], b: Sequence[float], confidence: float = 0.95,
                     resamples: int = 4000, seed: int = 4242) -> tuple[float, float, float]:
    """median(a) / median(b) with a percentile bootstrap interval (each side resampled on its
    own; seeded: deterministic). Returns (ratio, low, high)."""
    x = np.asarray(a, dtype=float)
    y = np.asarray(b, dtype=float)
    if len(x) == 0 or len(y) == 0:
        raise ValueError("no samples")
    ratio = float(np.median(x) / np.median(y))
    if len(x) == 1 and len(y) == 1:
        return ratio, ratio, ratio
    rng = np.random.default_rng(seed)
    boot = (np.median(rng.choice(x, size=(resamples, len(x))), axis=1)
            / np.median(rng.choice(y, size=(resamples, len(y))), axis=1))
    alpha = (1 - confidence) / 2
    return ratio, float(np.quantile(boot, alpha)), float(np.quantile(boot, 1 - alpha))


def welch_log_p(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided Welch t-test on log times (a ratio test, as timings are multiplicative);
    1.0 when either side has < 2 samples or neither varies."""
    x = np.log(np.asarray(a, dtype=float))
    y = np.log(np.asarray(b, dtype=float))
    if len(x) < 2 or len(y) < 2:
        return 1.0
    if x.std() < 1e-12 and y.std() < 1e-12:  # no spread at all (synthetic or quantised timings)
        return 1.0 if abs(x.mean() - y.mean()) < 1e-12 else 0.0
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # near-identical samples: the p-value is still right
        p_value = float(stats.ttest_ind(x, y, equal_var=False).pvalue)
    return 1.0 if math.isnan(p_value) else p_value


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (same order as given): controls the family-wise
    error rate over all the comparisons at once."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


RESAMPLES = 4000
# A median of fewer repetitions has too few distinct resamples for its interval to mean anything.
MIN_TEST_REPETITIONS = 3


def bootstrap_ratios(a: Sequence[float], b: Sequence[float], resamples: int = RESAMPLES,
                     seed: int = 4242) -> tuple[float, np.ndarray]:
    """median(b) / median(a) and its percentile-bootstrap distribution (each side resampled on
    its own; seeded: deterministic)."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(x) == 0 or len(y) == 0:
        raise ValueError("no samples")
    ratio = float(np.median(y) / np.median(x))
    if len(x) == 1 and len(y) == 1:
        return ratio, np.full(resamples, ratio)
    rng = np.random.default_rng(seed)
    boot = (np.median(rng.choice(y, size=(resamples, len(y))), axis=1)
            / np.median(rng.choice(x, size=(resamples, len(x))), axis=1))
    return ratio, np.sort(boot)


def _beyond_band_count(boot: np.ndarray, noise: float) -> int:
    """How many resampled ratios fall on the near side of the noise band [1/(1+noise), 1+noise]:
    the fewer, the surer the ratio is beyond it."""
    upper, lower = 1.0 + noise, 1.0 / (1.0 + noise)
    return int(min(np.count_nonzero(boot <= upper), np.count_nonzero(boot >= lower)))


def _interval(boot: np.ndarray, level_alpha: float) -> list[float]:
    """The two-sided percentile interval at confidence 1 - level_alpha, as order statistics
    (inverted CDF), so that it excludes the noise band exactly when the band test rejects."""
    return [float(np.quantile(boot, level_alpha / 2, method="inverted_cdf")),
            float(np.quantile(boot, 1 - level_alpha / 2, method="inverted_cdf"))]


def holm_band_tests(pairs: Sequence[tuple[Sequence[float], Sequence[float]]], noises: Sequence[float],
                    alpha: float = 0.05) -> list[dict]:
    """One family of comparisons, each b against a (ratio = median(b) / median(a)), decided by
    one test: is the ratio beyond the run-to-run noise band [1/(1+noise), 1+noise]? The test is
    the bootstrap interval itself, with Holm's step-down over the family: the k-th smallest
    p-value (p = 2 x the share of resampled ratios on the near side of the band) is judged at
    alpha / (m - k), and every comparison shows its interval at the level it was judged at
    (the ones after the first that is not significant: at that one's level). So a significant
    comparison's interval lies beyond the band, and a tie's interval reaches into it: the
    interval, the corrected p-value and the verdict never disagree."""
    boots = [bootstrap_ratios(a, b) for a, b in pairs]
    counts = [_beyond_band_count(boot, noise) for (_, boot), noise in zip(boots, noises)]
    # fewer than MIN_TEST_REPETITIONS on a side: too little to resample, no test (p = 1)
    p_values = [min(1.0, 2.0 * count / len(boot)) if min(len(a), len(b)) >= MIN_TEST_REPETITIONS else 1.0
                for count, (_, boot), (a, b) in zip(counts, boots, pairs)]
    adjusted = holm(p_values)
    m = len(pairs)
    order = sorted(range(m), key=lambda i: p_values[i])
    levels = [alpha] * m
    stopped = None
    for rank, index in enumerate(order):
        if stopped is None and adjusted[index] >= alpha:
            stopped = alpha / (m - rank)
        levels[index] = stopped if stopped is not None else alpha / (m - rank)
    out = []
    for index, ((ratio, boot), noise) in enumerate(zip(boots, noises)):
        interval = _interval(boot, levels[index])
        if min(len(pairs[index][0]), len(pairs[index][1])) < MIN_TEST_REPETITIONS:
            # no test: the interval spans the noise band too (it cannot tell the two apart)
            interval = [min(interval[0], 1.0 / (1.0 + noise)), max(interval[1], 1.0 + noise)]
        out.append({"ratio": ratio, "ci": interval, "confidence": 1.0 - levels[index],
                    "p_value": p_values[index], "p_adjusted": adjusted[index], "noise": noise,
                    "significant": adjusted[index] < alpha})
    return out


def interval_at(a: Sequence[float], b: Sequence[float], confidence: float) -> list[float]:
    """median(b) / median(a)'s bootstrap interval at a given confidence (the same resamples as
    holm_band_tests)."""
    _, boot = bootstrap_ratios(a, b)
    return _interval(boot, 1.0 - confidence)


def significant_digits(value: float, low: float | None = None, high: float | None = None) -> int:
    """How many significant digits a figure supports: 2, or more (up to 4) while its interval is
    narrower than the rounding step."""
    if value is None or not math.isfinite(value) or value == 0:
        return 2
    digits = 2
    width = (high - low) if low is not None and high is not None else None
    while width is not None and digits < 4:
        step = 10 ** (math.floor(math.log10(abs(value))) - digits + 1)
        if step <= width:
            break
        digits += 1
    return digits
