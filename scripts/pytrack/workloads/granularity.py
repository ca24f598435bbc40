"""granularity: independent tasks of n nanoseconds of calibrated spin work each,
min(100 ms / n, 1,000) of them: C++'s rule with a cap of 1,000 tasks instead of
10,000 (a pickled future per task on the process pool costs ~0.15 ms here, so
10,000 tasks made one of its runs ~2 s and its family ~45 s a run of the sweep).
From 100 us up (1,000 tasks or fewer) the count is the C++ one, so at the same n
and spin rate the tasks, their seeds and the answer are the C++ ones.
Pattern: map_chunks with grain 1, one task per chunk, each spawned through the
model's own mechanism (Model.task_spawn); runs only on models that spawn per
task and on py_serial. Sweeping n shows where per-task overhead stops mattering:
the analysis derives each model's METG (50% efficiency) from it.
Cost: the spin of amdahl.py (pure Python); a task's real length is measured
when the instance is prepared (the task function called back to back on one
thread, median of 5 rounds of ~2 ms) and exported as task_us_actual beside the
nominal task_us; METG uses the measured one.
Verified: each task's spin result against its closed form.
Sizes: default n = 1, 10, 100, 300 us and 1 ms. Not C++'s 100 ns: a Python
call alone costs ~0.1 us and one spin step ~0.065 us, so a 100 ns task would be
one step plus overhead, its length mostly not its spin; from 1 us (~15 steps)
the measured length is within ~10% of the nominal on a quiet machine. Measured
here (2 cores, p = 1), the per-task cost is ~1 us on py_threads, ~8 us on
py_asyncio, ~12 us on py_thread_pool and on py_processes' shared counter and
0.15-0.2 ms on py_process_pool, so 50% efficiency is crossed from ~1 us
(threads, p = 1) to ~0.2-0.3 ms (process models, p = 2): decades, and 300 us
where the process models cross (METG interpolates on a log scale). py_processes also pays
~40 ms per worker start per region, which at p = 2 is most of a 100 ms run: it
stayed below 50% at every n here (a region cost, not a task cost).
With the cap, the 1 and 10 us points are 1 and 10 ms of work, the others
~100 ms. Quick 1, 10, 100 us and 1 ms (1, 10, 100 and 100 ms of work: the
count rule leaves no 10-30 ms point above 30 us); small 1 ms (100 tasks, ~100 ms: few
futures for the process pool, still more tasks than workers).
"""
import statistics
import time

from ..registry import Instance, Workload, register_workload
from ..spin import llround, spin, spin_closed_form, spin_iterations_per_us
from .amdahl import ANSWER_MODULUS

TOTAL_WORK_NS = 100e6
MAX_TASKS = 1_000  # C++: 10,000 (see the header)
MEASURE_NS = 2e6  # task work per round of the length measurement


def run_task(lo, hi, iterations):
    """Task lo (grain 1: hi == lo + 1), seeded by its index as in C++."""
    return spin(iterations, lo)


class Granularity(Instance):
    def __init__(self, task_ns, executor):
        self.task_ns = task_ns
        self.tasks = min(max(int(TOTAL_WORK_NS / task_ns), 1), MAX_TASKS)
        self.rate = spin_iterations_per_us()
        self.iterations = llround(task_ns * self.rate / 1000.0)
        self.results = None
        self.actual_ns = self.measure_task_ns()

    def measure_task_ns(self):
        """One task's real length: the task function called back to back on this thread
        (no spawning), the median of five rounds of about 2 ms of work."""
        count = min(max(int(MEASURE_NS / self.task_ns), 1), self.tasks)
        rounds = []
        for _ in range(5):
            start = time.perf_counter()
            for i in range(count):
                run_task(i, i + 1, self.iterations)
            rounds.append((time.perf_counter() - start) * 1e9 / count)
        return statistics.median(rounds)

    def run(self, executor):
        self.results = executor.map_chunks(run_task, self.tasks, 1, args=(self.iterations,))

    def verify(self):
        if self.results is None or len(self.results) != self.tasks:
            return f"not every one of the {self.tasks} tasks has a result (did run() finish?)"
        for i, value in enumerate(self.results):
            if value != spin_closed_form(self.iterations, i):
                return f"task {i} of {self.tasks} has a wrong result (did it run?)"
        return None

    def corrupt(self):
        self.results[self.tasks // 2] ^= 1

    def work(self):
        return {"items": self.tasks}

    def counters(self):
        counters = {"task_us": self.task_ns / 1000.0, "task_us_actual": self.actual_ns / 1000.0,
                    "tasks": self.tasks, "spin_iters_per_us": self.rate}
        if self.results is not None:
            counters["answer"] = sum(self.results) % ANSWER_MODULUS
        return counters


register_workload(Workload(
    name="granularity", category="cpu",
    summary="independent tasks of n ns each, min(100 ms / n, 1,000) of them (for METG)",
    size_meaning="task duration in ns",
    default_sizes=[1_000, 10_000, 100_000, 300_000, 1_000_000],
    quick_sizes=[1_000, 10_000, 100_000, 1_000_000], small_size=1_000_000,
    min_size=1_000, max_size=100_000_000, uses_spawn_tasks=True, work_exponent=0, cross_language=False,
    prepare=Granularity))
