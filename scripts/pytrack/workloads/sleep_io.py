"""sleep_io: n requests, each waiting a fixed latency (PARBENCH_SLEEP_US,
default 10 ms, as in C++) and then doing a little CPU work: 1 us of spin (the
C++ LCG chain of pytrack/spin.py, started at the request's index; its length
from the Python spin calibration, so it is 1 us of Python, not the C++
iteration count).
Pattern: independent requests, one per chunk (grain 1), p in flight: blocking
models time.sleep in their workers (which releases the GIL), py_asyncio awaits
asyncio.sleep on p coroutines of one loop.
Cost: about n / p x latency, plus each model's overhead per request.
Verified: every request's spin result against the LCG's closed form (a request
that did not run fails). answer: the time the completed requests slept, in
microseconds (n x latency when all ran), equal to the C++ counter.
Sizes: requests per concurrency slot (n = size x p), concurrency levels 1, 10,
100 and 1,000 (C++: 1, 4, ..., 1024, 10000; capped per model: the rule of thumb
"threads for I/O, asyncio for many connections" is stated at 100 and 1,000 in
flight, and a 10,000-thread point would cost more than it tells): default 10 (C++: 1): the 100 ms of a
default point at p = 1 (a point's time is size x 10 ms at any p a model keeps
up with); quick 1 as in C++ (10 ms); small 1.
"""
import asyncio
import time

from ..registry import Instance, Workload, register_workload
from ..spin import spin, spin_closed_form, spin_iterations_per_us
from ._io_support import knob

CPU_MICROSECONDS = 1.0


def sleep_requests(lo, hi, latency, iterations):
    """Requests lo .. hi-1 one after another: sleep, then spin."""
    results = []
    for index in range(lo, hi):
        time.sleep(latency)
        results.append(spin(iterations, index))
    return results


async def sleep_requests_async(lo, hi, latency, iterations):
    results = []
    for index in range(lo, hi):
        await asyncio.sleep(latency)
        results.append(spin(iterations, index))
    return results


class SleepIo(Instance):
    def __init__(self, n, executor):
        self.n = n
        self.latency_us = knob("PARBENCH_SLEEP_US", 10_000, 0, 10_000_000)
        self.iterations = max(1, round(CPU_MICROSECONDS * spin_iterations_per_us()))
        self.results = None

    def run(self, executor):
        self.results = None
        chunks = executor.map_chunks(sleep_requests, self.n, 1, (self.latency_us * 1e-6, self.iterations),
                                     afn=sleep_requests_async)
        self.results = [value for chunk in chunks for value in chunk]

    def verify(self):
        if self.results is None or len(self.results) != self.n:
            return f"the run returned {0 if self.results is None else len(self.results)} of {self.n} requests"
        for index, value in enumerate(self.results):
            if value != spin_closed_form(self.iterations, index):
                return f"request {index} did not complete its work"
        return None

    def corrupt(self):
        self.results[self.n // 2] ^= 1

    def work(self):
        return {"items": self.n}

    def counters(self):
        completed = sum(value is not None for value in self.results or ())
        return {"latency_us": float(self.latency_us), "answer": float(completed * self.latency_us)}


register_workload(Workload(
    name="sleep_io", category="io",
    summary="requests that wait 10 ms (PARBENCH_SLEEP_US) then spin 1 us",
    size_meaning="requests per concurrency slot (n = size x p)",
    default_sizes=[10], quick_sizes=[1], small_size=1, min_size=1, max_size=1_000_000,
    work_exponent=0, concurrency_levels=[1, 10, 100, 1000], cross_language=False, prepare=SleepIo))
