"""matmul_numpy: C = A B for dense n x n float64 matrices with numpy, whose BLAS
releases the GIL, so threads can run it in parallel (the one CPU workload where
they may). Inputs as the C++ matmul: A[i] = 2 random_unit(11, i) - 1 and
B[i] = 2 random_unit(12, i) - 1 over the row-major index i (core/random.hpp,
vectorised in numpy's wrapping uint64 arithmetic).
Pattern: map_chunks over row blocks of C; a chunk returns A[lo:hi] @ B. Arguments
are only (lo, hi, n): each process builds A and B from the seeds once and keeps
them (a fork inherits the caller's copy), as C++ bodies capture by value;
process models pay for pickling the row blocks back.
Cost: even, 2 n^3 flops. BLAS threads are pinned to 1 (OPENBLAS/MKL/OMP_NUM_THREADS,
unless already set, and before numpy is imported), or py_serial would itself
run on every core.
Verified: Freivalds' check with two random vectors r, as in C++ (C r must equal
A (B r) within 1e-9 n), plus three entries recomputed in pure Python with
math.fsum.
Answer: the sum of all entries of C (a float; BLAS rounding makes it agree with
another implementation to ~1e-12 relative, not bit for bit).
Sizes: default n = 800 (~170 ms at py_serial with this machine's reference
BLAS, ~6 Gflop/s; an optimised BLAS is several times faster); quick 400
(~20 ms); small 192 (~2 ms).
"""
import importlib.util
import math
import os

from ..executor import grain_for
from ..registry import Instance, Workload, register_workload
from ..rng import GOLDEN_GAMMA, STREAM_MULTIPLIER, mix64, random_unit

# numpy is imported when this workload is first prepared, not when the registry loads: a
# process that has numpy (and its BLAS) mapped takes ~60% longer to fork, which would slow
# every process model of every other workload.
UNAVAILABLE = "" if importlib.util.find_spec("numpy") else "numpy is not installed"
numpy = None


def load_numpy():
    global numpy
    if numpy is None:
        # The variables are read when the BLAS loads: one BLAS thread, or py_serial would
        # itself run on every core.
        for variable in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
            os.environ.setdefault(variable, "1")
        import numpy as module
        numpy = module
    return numpy


SEED_A, SEED_B = 11, 12
ROW_BLOCK = 16  # the C++ row block; the smallest grain


def random_units(seed, count):
    """random_unit(seed, i) for i in [0, count), in numpy (uint64 wraps like C++)."""
    load_numpy()
    x = numpy.arange(count, dtype=numpy.uint64) * numpy.uint64(STREAM_MULTIPLIER)
    x ^= numpy.uint64(mix64(seed))
    x += numpy.uint64(GOLDEN_GAMMA)
    x = (x ^ (x >> numpy.uint64(30))) * numpy.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> numpy.uint64(27))) * numpy.uint64(0x94D049BB133111EB)
    x ^= x >> numpy.uint64(31)
    return (x >> numpy.uint64(11)).astype(numpy.float64) * 2.0**-53


def make_matrix(seed, n):
    return (2 * random_units(seed, n * n) - 1).reshape(n, n)


_inputs = {}  # n -> (A, B) of this process; only the latest n is kept


def inputs(n):
    pair = _inputs.get(n)
    if pair is None:
        pair = (make_matrix(SEED_A, n), make_matrix(SEED_B, n))
        _inputs.clear()
        _inputs[n] = pair
    return pair


def multiply_rows(lo, hi, n):
    load_numpy()  # a spawned worker imports this module afresh
    a, b = inputs(n)
    return a[lo:hi] @ b


class MatmulNumpy(Instance):
    def __init__(self, n, executor):
        load_numpy()
        self.n = n
        self.a, self.b = inputs(n)  # made here, so that a fork inherits them
        self.c = None

    def run(self, executor):
        # Even cost: a few blocks per worker balance it; no smaller than C++'s 16 rows,
        # below which BLAS and per-chunk overhead dominate.
        grain = max(ROW_BLOCK, grain_for(self.n, executor.workers, 4))
        blocks = executor.map_chunks(multiply_rows, self.n, grain, args=(self.n,))
        self.c = numpy.concatenate(blocks) if blocks else numpy.zeros((0, self.n))

    def verify(self):
        n = self.n
        if self.c is None or self.c.shape != (n, n):
            return "no complete product (did run() finish?)"
        # Each entry sums n products of magnitude <= 1: rounding grows like n eps, so
        # 1e-9 n is a wide margin that still catches any wrong element.
        tolerance = 1e-9 * n
        for trial in range(2):
            r = numpy.array([2 * random_unit(100 + trial, j) - 1 for j in range(n)])
            cr, abr = self.c @ r, self.a @ (self.b @ r)
            bad = numpy.flatnonzero(~(numpy.abs(cr - abr) <= tolerance))
            if bad.size:
                i = int(bad[0])
                return f"Freivalds check fails in row {i}: (C r) = {cr[i]}, A (B r) = {abr[i]}"
        for i, j in ((0, 0), (n // 2, n // 3), (n - 1, n - 1)):
            if n == 0:
                break
            expected = math.fsum(float(self.a[i, k]) * float(self.b[k, j]) for k in range(n))
            if not abs(float(self.c[i, j]) - expected) <= tolerance:
                return f"C[{i}, {j}] = {self.c[i, j]}, recomputed in pure Python {expected}"
        return None

    def corrupt(self):
        self.c.flat[self.n * self.n // 2] += 0.5  # the element C++ corrupts

    def work(self):
        return {"items": 2 * self.n**3}

    def counters(self):
        return {} if self.c is None else {"answer": float(self.c.sum())}


register_workload(Workload(
    name="matmul_numpy", category="cpu",
    summary="numpy dense n x n float64 matrix product, row blocks (BLAS releases the GIL; items = flops)",
    size_meaning="matrix side n", default_sizes=[800], quick_sizes=[400], small_size=192,
    min_size=1, max_size=16_384, work_exponent=3, unavailable=UNAVAILABLE, python_only=True, releases_gil=True,
    prepare=MatmulNumpy))
