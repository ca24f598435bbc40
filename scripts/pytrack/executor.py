"""The Executor interface of the Python track.

A workload's kernel is written only against map_chunks: the range [0, n) is cut
into chunks of `grain` items (the last one shorter), fn(lo, hi, *args) runs once
per chunk on some worker, and the results come back as a list in chunk order,
which the workload reduces. fn must be a module-level function and args
picklable (small: seeds and sizes, not arrays), so that process models can run
every workload unchanged, as C++ bodies capture by value. An I/O workload may
also give afn, a coroutine function with the same signature, which the asyncio
model awaits instead of calling fn (everything else ignores it).

An executor made with `cpus` (an affinity policy's CPU order) binds worker i to
cpus[i % len(cpus)] as its users would, with os.sched_setaffinity in the worker
(a thread, a pool's initializer, a process's target), and notes the CPU each chunk
ran on (the run's cpus_used).

The first exception a chunk raises reaches the caller of map_chunks (the other
workers stop claiming chunks); a worker process that dies raises WorkerDied
with its exit code. Executors are context managers: leaving one releases every
thread, process, pool and event loop it made, however the block ends.
"""
from __future__ import annotations

import math


class WorkerDied(RuntimeError):
    """A worker process ended without returning its results."""

    def __init__(self, model: str, pid: int | None, exitcode: int | None):
        self.exitcode = exitcode
        how = ("exit code unknown" if exitcode is None
               else f"killed by signal {-exitcode}" if exitcode < 0 else f"exit code {exitcode}")
        super().__init__(f"{model}: worker process {pid if pid else '?'} died ({how})")


def chunk_count(n: int, grain: int) -> int:
    return -(-n // grain)


def chunk_bounds(n: int, grain: int, index: int) -> tuple[int, int]:
    lo = index * grain
    return lo, min(n, lo + grain)


def grain_for(n: int, workers: int, chunks_per_worker: int = 8) -> int:
    """A grain giving about chunks_per_worker chunks to each worker (for
    dynamic load balancing of uneven work), at least 1."""
    return max(1, math.ceil(n / (max(1, workers) * chunks_per_worker)))


PLACEMENTS_VARIABLE = "PARBENCH_PLACEMENTS"
AFFINITY_POLICIES = ("none", "compact", "spread")


def placement_cpus(policy: str) -> tuple[int, ...]:
    """A binding policy's CPU order as the benchmark binary computes it from the topology
    (`parbench_bench info`'s placements, which the sweep passes in PARBENCH_PLACEMENTS); ()
    for none. ValueError when it is not given."""
    import json
    import os
    if policy == "none":
        return ()
    try:
        cpus = json.loads(os.environ.get(PLACEMENTS_VARIABLE, "{}")).get(policy)
    except (ValueError, AttributeError):
        cpus = None
    if not isinstance(cpus, list) or not cpus or not all(isinstance(c, int) and c >= 0 for c in cpus):
        raise ValueError(f"--affinity={policy}: no CPU order for it in {PLACEMENTS_VARIABLE} (the binary's "
                         "`parbench_bench info` placements; ./parbench sweep and bench pass them)")
    return tuple(cpus)


def bind_worker(cpus: tuple, worker: int) -> None:
    """Binds the calling thread (in a worker process: the process) to worker's CPU; nothing
    when unbound. A refusal leaves it where it was: its cpus_used then shows it."""
    import os
    if cpus:
        try:
            os.sched_setaffinity(0, {cpus[worker % len(cpus)]})
        except OSError:
            pass


def current_cpu() -> int:
    """The CPU the calling thread runs on (field 39 of /proc/thread-self/stat: Python has no
    sched_getcpu)."""
    with open("/proc/thread-self/stat", "rb") as stat:
        return int(stat.read().rsplit(b")", 1)[1].split()[36])


def _noting_cpu(lo, hi, fn, afn, *args):
    return current_cpu(), fn(lo, hi, *args)


async def _anoting_cpu(lo, hi, fn, afn, *args):
    return current_cpu(), await afn(lo, hi, *args)


class Executor:
    name = "?"

    def __init__(self, workers: int, cpus: tuple = ()):
        if workers < 1:
            raise ValueError(f"{self.name}: workers must be >= 1, got {workers}")
        self.workers = workers
        self.cpus = tuple(cpus)
        self.seen: set[int] = set()  # the CPUs chunks ran on (bound executors only)

    def bound_cpus(self) -> int:
        """How many CPUs the workers are bound to (0: unbound)."""
        return min(self.workers, len(set(self.cpus))) if self.cpus else 0

    def map_chunks(self, fn, n: int, grain: int, args: tuple = (), afn=None) -> list:
        if not self.cpus:
            return self._map(fn, n, grain, args, afn)
        pairs = self._map(_noting_cpu, n, grain, (fn, afn, *args), _anoting_cpu if afn is not None else None)
        self.seen.update(cpu for cpu, _ in pairs)
        return [result for _, result in pairs]

    def _map(self, fn, n: int, grain: int, args: tuple, afn) -> list:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def check_range(n: int, grain: int) -> None:
    if n < 0 or grain < 1:
        raise ValueError(f"map_chunks: need n >= 0 and grain >= 1, got n={n}, grain={grain}")


def collect(futures) -> list:
    """Results of futures in order; the first failure (in order) is raised after
    the rest are cancelled, so no chunk keeps running behind the caller."""
    try:
        return [future.result() for future in futures]
    except BaseException:
        for future in futures:
            future.cancel()
        raise


START_METHOD_VARIABLE = "PARBENCH_PY_START_METHOD"


def start_method() -> tuple[str, str]:
    """The multiprocessing start method of the process models and who chose it:
    Python's default for this platform unless PARBENCH_PY_START_METHOD names one."""
    import multiprocessing
    import os
    chosen = os.environ.get(START_METHOD_VARIABLE, "")
    if chosen:
        if chosen not in multiprocessing.get_all_start_methods():
            raise ValueError(f"{START_METHOD_VARIABLE}={chosen}: not one of "
                             f"{', '.join(multiprocessing.get_all_start_methods())}")
        return chosen, START_METHOD_VARIABLE
    return multiprocessing.get_start_method(allow_none=False), "Python's default"
