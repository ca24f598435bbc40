"""primes: count the primes <= n by trial division (the C++ primes workload).
Pattern: map_chunks over [0, n] + the sum of per-chunk counts.
Cost: uneven, O(sqrt(k)) per prime k, so later chunks cost more (dynamic load
balancing); pure Python, so the GIL serialises it on threads.
Verified: against a sieve of Eratosthenes (an independent algorithm) that
checks itself against known values of pi(x) as it passes them.
Sizes: default n = 250,000 (~170 ms at py_serial here); quick 50,000 (~15 ms); small 2,000.
"""
from ..executor import grain_for
from ..registry import Instance, Workload, register_workload

KNOWN_COUNTS = {10: 4, 100: 25, 1000: 168, 10_000: 1229, 100_000: 9592, 1_000_000: 78498,
                10_000_000: 664579}


def count_by_trial_division(lo, hi):
    count = 0
    for k in range(max(lo, 2), hi):
        if k % 2 == 0:
            count += k == 2
            continue
        d = 3
        while d * d <= k:
            if k % d == 0:
                break
            d += 2
        else:
            count += 1
    return count


def count_by_sieve(n):
    """pi(n) by a sieve; raises if it disagrees with a known value on the way."""
    if n < 2:
        return 0
    composite = bytearray(n + 1)
    count = 0
    for i in range(2, n + 1):
        if not composite[i]:
            count += 1
            composite[i * i::i] = b"\x01" * len(range(i * i, n + 1, i))
        if i in KNOWN_COUNTS and KNOWN_COUNTS[i] != count:
            raise AssertionError(f"sieve gives pi({i}) = {count}, known value {KNOWN_COUNTS[i]}")
    return count


class Primes(Instance):
    def __init__(self, n, executor):
        self.n = n
        self.count = None
        self.expected = None

    def run(self, executor):
        n = self.n + 1
        self.count = sum(executor.map_chunks(count_by_trial_division, n, grain_for(n, executor.workers)))

    def verify(self):
        if self.expected is None:
            try:
                self.expected = count_by_sieve(self.n)
            except AssertionError as error:
                return str(error)
        if self.count != self.expected:
            return f"counted {self.count} primes <= {self.n}, the sieve finds {self.expected}"
        return None

    def corrupt(self):
        self.count += 1

    def work(self):
        return {"items": self.n}

    def counters(self):
        return {} if self.count is None else {"answer": self.count}


register_workload(Workload(
    name="primes", category="cpu", summary="count primes <= n by trial division (uneven cost per chunk)",
    size_meaning="upper bound n", default_sizes=[250_000], quick_sizes=[50_000], small_size=2_000,
    min_size=0, max_size=10**9, work_exponent=1.5, prepare=Primes))
