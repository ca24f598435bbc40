"""amdahl_sNN: synthetic Amdahl's-law workload with a known serial fraction
(the C++ amdahl_s05, amdahl_s20, amdahl_s50).
Pattern: n microseconds of calibrated spin work per run, of which a fraction s
runs on the calling thread and the rest as 240 equal chunks through map_chunks
(grain 1), exactly as in C++. The configured s is exported as the counter
true_serial_fraction (ground truth for the analysis's Amdahl fit).
Cost: the spin is the C++ spin (core/spin.cpp) in pure Python: the same chain of
64-bit LCG steps, so its result has the same closed form; the GIL serialises it
on threads. Its iterations per microsecond are measured once per process (or
taken from PARBENCH_PY_SPIN_ITERS_PER_US, so that a sweep's processes share one
value; it cannot be PARBENCH_SPIN_ITERS_PER_US, which is C++'s rate, ~100x ours)
and exported as spin_iters_per_us. At the same rate, Python and C++ run the same
iterations from the same seeds and export the same answer.
Verified: every spin result against its closed form (LCG jump-ahead).
Sizes: as in C++, since n is time: default n = 200,000 us (~200 ms at
py_serial); quick 30,000; small 2,000.

The spin (shared with granularity) is pytrack/spin.py.
"""
from ..registry import Instance, Workload, register_workload
from ..spin import llround, spin, spin_closed_form, spin_iterations_per_us  # noqa: F401 - granularity's too

PARALLEL_CHUNKS = 240  # divides evenly among 1-6, 8, 10, 12 ... workers
ANSWER_MODULUS = 2**52  # answers are exact in a double below 2**53


def spin_chunk(lo, hi, iterations):
    """One parallel chunk per index c in [lo, hi), seeded by c as in C++."""
    return [spin(iterations, c) for c in range(lo, hi)]


class Amdahl(Instance):
    def __init__(self, work_us, serial_fraction):
        self.serial_fraction = serial_fraction
        self.rate = spin_iterations_per_us()
        total = work_us * self.rate
        self.serial_iterations = llround(total * serial_fraction)
        self.chunk_iterations = llround(total * (1 - serial_fraction) / PARALLEL_CHUNKS)
        self.results = None  # [0, 240): parallel chunks; [240]: the serial part

    def run(self, executor):
        # The serial part first, on the calling thread, seeded 240 as in C++.
        serial = spin(self.serial_iterations, PARALLEL_CHUNKS)
        chunks = executor.map_chunks(spin_chunk, PARALLEL_CHUNKS, 1, args=(self.chunk_iterations,))
        self.results = [value for chunk in chunks for value in chunk] + [serial]

    def verify(self):
        if self.results is None or len(self.results) != PARALLEL_CHUNKS + 1:
            return "no complete result (did run() finish?)"
        for c, value in enumerate(self.results):
            iterations = self.serial_iterations if c == PARALLEL_CHUNKS else self.chunk_iterations
            if value != spin_closed_form(iterations, c):
                return "serial part has a wrong result" if c == PARALLEL_CHUNKS else \
                    f"parallel chunk {c} has a wrong result"
        return None

    def corrupt(self):
        self.results[3] ^= 1

    def work(self):
        return {"items": self.serial_iterations + PARALLEL_CHUNKS * self.chunk_iterations}

    def counters(self):
        counters = {"true_serial_fraction": self.serial_fraction, "spin_iters_per_us": self.rate}
        if self.results is not None:
            counters["answer"] = sum(self.results) % ANSWER_MODULUS
        return counters


def register_amdahl(name, serial_fraction):
    register_workload(Workload(
        name=name, category="cpu",
        summary=f"synthetic spin work, serial fraction {round(serial_fraction * 100)}% "
                "(ground truth for the Amdahl fit)",
        size_meaning="microseconds of work n", default_sizes=[200_000], quick_sizes=[30_000],
        small_size=2_000, min_size=1, max_size=100_000_000,
        cross_language=False, prepare=lambda n, executor: Amdahl(n, serial_fraction)))


register_amdahl("amdahl_s05", 0.05)
register_amdahl("amdahl_s20", 0.20)
register_amdahl("amdahl_s50", 0.50)
