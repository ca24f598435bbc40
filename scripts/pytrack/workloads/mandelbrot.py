"""mandelbrot: escape-time iteration counts on an n x n grid over
[-2, 0.5] x [-1.25, 1.25], at most 256 iterations per pixel (the C++ mandelbrot:
the same grid points and the same floating-point operations in the same order,
so every count, and the total, is the C++ one at the same n).
Pattern: map_chunks over rows, about 16 chunks of rows per worker (C++ takes
one row per chunk; a Python row costs ~1 ms and a process pool's round trip
~0.1 ms, so Python batches rows, as Pool.map's chunksize does); each chunk
returns its rows' counts, which the instance keeps in row order.
Cost: very uneven rows (the set's interior costs the maximum), so static splits
lose; pure Python, so the GIL serialises it on threads.
Verified: every pixel against a serial recomputation written with Python's
complex numbers (the kernel uses separate real and imaginary floats).
Sizes: default n = 200 (~200 ms at py_serial); quick 64; small 32.
"""
from array import array

from ..executor import grain_for
from ..registry import Instance, Workload, register_workload

MAX_ITERATIONS = 256


def escape_rows(lo, hi, n):
    """The counts of rows [lo, hi), row after row."""
    counts = array("H")
    for row in range(lo, hi):
        ci = -1.25 + 2.5 * row / n
        for column in range(n):
            cr = -2.0 + 2.5 * column / n
            zr = zi = 0.0
            i = 0
            while i < MAX_ITERATIONS and zr * zr + zi * zi <= 4.0:
                zr, zi = zr * zr - zi * zi + cr, 2.0 * zr * zi + ci
                i += 1
            counts.append(i)
    return counts


def escape_time_complex(row, column, n):
    """One pixel with complex arithmetic: z*z has the kernel's real part exactly, and
    its imaginary part zr*zi + zi*zr equals 2*zr*zi exactly (doubling is exact)."""
    c = complex(-2.0 + 2.5 * column / n, -1.25 + 2.5 * row / n)
    z = 0j
    for i in range(MAX_ITERATIONS):
        if z.real * z.real + z.imag * z.imag > 4.0:
            return i
        z = z * z + c
    return MAX_ITERATIONS


class Mandelbrot(Instance):
    def __init__(self, n, executor):
        self.n = n
        self.counts = None  # n*n counts, row-major
        self.expected = None

    def run(self, executor):
        rows = executor.map_chunks(escape_rows, self.n, grain_for(self.n, executor.workers, 16), args=(self.n,))
        counts = array("H")
        for row in rows:
            counts.extend(row)
        self.counts = counts

    def verify(self):
        n = self.n
        if self.counts is None or len(self.counts) != n * n:
            return "no complete grid of counts (did run() finish?)"
        if self.expected is None:
            self.expected = array("H", (escape_time_complex(row, column, n)
                                        for row in range(n) for column in range(n)))
        if self.counts != self.expected:
            index = next(k for k in range(n * n) if self.counts[k] != self.expected[k])
            return (f"pixel ({index // n}, {index % n}) has {self.counts[index]} iterations, "
                    f"expected {self.expected[index]}")
        return None

    def corrupt(self):
        self.counts[(self.n // 2) * self.n + self.n // 3] ^= 1

    def work(self):
        return {"items": self.n * self.n}

    def counters(self):
        # The total of all escape counts identifies the grid (and is C++'s answer).
        return {} if self.counts is None else {"answer": sum(self.counts)}


register_workload(Workload(
    name="mandelbrot", category="cpu", summary="escape-time counts on an n x n grid (very uneven rows)",
    size_meaning="grid side n (n*n pixels)", default_sizes=[200], quick_sizes=[64], small_size=32,
    min_size=1, max_size=40_000, work_exponent=2, prepare=Mandelbrot))
