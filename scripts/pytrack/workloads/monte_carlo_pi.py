"""monte_carlo_pi: estimate pi from n points in the unit square (the C++
monte_carlo_pi). Point i is (random_unit(seed, 2i), random_unit(seed, 2i + 1))
from the counter-based SplitMix64 generator of core/random.hpp, reproduced here
bit for bit, so the hit count is the C++ one at the same n, on every model and p.
Pattern: map_chunks over [0, n) + the sum of per-chunk hit counts.
Cost: even (two SplitMix64 values per point, ~0.7 us in pure Python); the GIL
serialises it on threads.
Verified: the hit count equals a serial recount written with the plain
generator functions (the kernel inlines them), and the estimate is within 6
standard errors of pi.
Sizes: default n = 300,000 (~200 ms at py_serial); quick 40,000; small 5,000.

The generator functions live here; matmul_numpy imports them.
"""
import math

from ..executor import grain_for
from ..registry import Instance, Workload, register_workload
from ..rng import GOLDEN_GAMMA, MASK64, STREAM_MULTIPLIER, TWO_TO_MINUS_53, mix64, random_unit

SEED = 0x5EED_0001


def count_hits(lo, hi, seed):
    """Points [lo, hi) inside the quarter circle: random_unit inlined, with mix64(seed)
    taken once per chunk, since the plain calls would triple the cost."""
    mixed_seed = mix64(seed)
    mask, gamma, stream = MASK64, GOLDEN_GAMMA, STREAM_MULTIPLIER
    hits = 0
    for i in range(2 * lo, 2 * hi, 2):
        x = ((mixed_seed ^ ((i * stream) & mask)) + gamma) & mask
        x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & mask
        x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & mask
        u = ((x ^ (x >> 31)) >> 11) * TWO_TO_MINUS_53
        y = ((mixed_seed ^ (((i + 1) * stream) & mask)) + gamma) & mask
        y = ((y ^ (y >> 30)) * 0xBF58476D1CE4E5B9) & mask
        y = ((y ^ (y >> 27)) * 0x94D049BB133111EB) & mask
        v = ((y ^ (y >> 31)) >> 11) * TWO_TO_MINUS_53
        if u * u + v * v < 1.0:
            hits += 1
    return hits


def recount_hits(n, seed):
    """The verifier's count: the plain generator, one point at a time."""
    hits = 0
    for i in range(n):
        x, y = random_unit(seed, 2 * i), random_unit(seed, 2 * i + 1)
        hits += x * x + y * y < 1.0
    return hits


class MonteCarloPi(Instance):
    def __init__(self, n, executor):
        self.n = n
        self.hits = None
        self.expected = None  # the recount: inputs never change, so once is enough

    def run(self, executor):
        self.hits = sum(executor.map_chunks(count_hits, self.n, grain_for(self.n, executor.workers),
                                            args=(SEED,)))

    def verify(self):
        if self.expected is None:
            self.expected = recount_hits(self.n, SEED)
        if self.hits != self.expected:
            return f"{self.hits} hits, a serial recount gives {self.expected}"
        quarter = math.pi / 4
        estimate = 4.0 * self.hits / self.n
        standard_error = 4.0 * math.sqrt(quarter * (1 - quarter) / self.n)
        if abs(estimate - math.pi) > 6 * standard_error:
            return f"estimate {estimate} is more than 6 standard errors from pi"
        return None

    def corrupt(self):
        self.hits += 1

    def work(self):
        return {"items": self.n}

    def counters(self):
        return {} if self.hits is None else {"answer": self.hits}


register_workload(Workload(
    name="monte_carlo_pi", category="cpu",
    summary="pi from n counter-based random points (identical on every model)",
    size_meaning="number of points n", default_sizes=[300_000], quick_sizes=[40_000], small_size=5_000,
    min_size=1000, max_size=1 << 40, prepare=MonteCarloPi))
