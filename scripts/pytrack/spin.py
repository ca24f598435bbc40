"""Calibrated spin work, as core/spin.cpp: a chain of dependent 64-bit LCG steps whose
result has a closed form (so the work is verified and cannot be optimised away), in
pure Python (the GIL serialises it on threads). Its iterations per microsecond are
measured once per process, or taken from PARBENCH_PY_SPIN_ITERS_PER_US so that all of a
sweep's processes share one value (the sweep sets it from `python3 -m pytrack info`);
it cannot be PARBENCH_SPIN_ITERS_PER_US, C++'s rate, ~100x ours."""
import math
import os
import statistics
import time

MASK64 = 0xFFFF_FFFF_FFFF_FFFF
LCG_MULTIPLIER = 6364136223846793005  # Knuth's MMIX LCG, as core/spin.cpp
LCG_INCREMENT = 1442695040888963407
SPIN_RATE_VARIABLE = "PARBENCH_PY_SPIN_ITERS_PER_US"


def spin(iterations, seed):
    """`iterations` dependent LCG steps from `seed`; the final state (core/spin.cpp)."""
    x = seed
    multiplier, increment = LCG_MULTIPLIER, LCG_INCREMENT  # locals: the loop is the cost
    for _ in range(iterations):
        x = (x * multiplier + increment) & MASK64
    return x


def spin_closed_form(iterations, seed):
    """spin(iterations, seed) in O(log iterations): x -> a x + c composed with itself
    is (a, c) o (a, c) = (a a, a c + c)."""
    result_a, result_c = 1, 0
    step_a, step_c = LCG_MULTIPLIER, LCG_INCREMENT
    k = iterations
    while k:
        if k & 1:
            result_a = result_a * step_a & MASK64
            result_c = (result_c * step_a + step_c) & MASK64
        step_c = (step_c * step_a + step_c) & MASK64
        step_a = step_a * step_a & MASK64
        k >>= 1
    return (result_a * seed + result_c) & MASK64


def llround(x):
    """C's llround for x >= 0 (halves away from zero; Python's round() goes to even)."""
    whole = math.trunc(x)
    return whole + (1 if x - whole >= 0.5 else 0)


def calibrate_spin():
    """Spin iterations per microsecond: the median of 9 trials of ~2.5 ms, as C++
    (the median, not the best: a shared VM's best trial is not its usual speed)."""
    trial_iterations = 150_000  # ~10 ms a trial: a 2 ms trial was 1.5x off on a busy VM
    trials = []
    for trial in range(9):
        start = time.perf_counter()
        spin(trial_iterations, trial)
        trials.append(time.perf_counter() - start)
    return trial_iterations / (statistics.median(trials) * 1e6)


_spin_rate = None  # this process's calibration: a constant once measured


def spin_iterations_per_us():
    global _spin_rate
    if _spin_rate is None:
        text = os.environ.get(SPIN_RATE_VARIABLE, "")
        if text:
            try:
                rate = float(text)
            except ValueError:
                rate = -1.0
            if not 0 < rate < 1e6:
                raise ValueError(f"{SPIN_RATE_VARIABLE} is not a positive number: {text}")
            _spin_rate = rate
        else:
            _spin_rate = calibrate_spin()
    return _spin_rate
