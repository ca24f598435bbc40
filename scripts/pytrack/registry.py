"""The registries of the Python track: workloads, models and primitive benchmarks.

Each module of workloads/, models/ and primitives/ registers itself when
imported; load_all() imports them all. The registries are the only module-level
mutable state of the track.
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Callable


class Instance:
    """One prepared problem of size n (see the C++ Instance in core/workload.hpp).

    run(executor) is the timed kernel and leaves its complete result in the
    instance; verify() checks it independently of the kernel and returns None
    or the first problem found; corrupt() damages the result so that verify()
    must fail (the tests prove every verifier can fail); work() is the work one
    run does, {"items": ..., "bytes": ...}; counters() are extra values for the
    benchmark entry (e.g. a configured serial fraction); close() releases what
    prepare made (files, servers).
    """

    def run(self, executor) -> None:
        raise NotImplementedError

    def verify(self) -> str | None:
        raise NotImplementedError

    def corrupt(self) -> None:
        raise NotImplementedError

    def work(self) -> dict:
        return {"items": 0}

    def counters(self) -> dict:
        return {}

    def close(self) -> None:
        pass


@dataclass
class Workload:
    name: str                    # as in C++: the benchmark names' first part
    category: str                # cpu | memory | io | mixed
    summary: str                 # one line for list: what is computed
    size_meaning: str            # what n means
    default_sizes: list[int]     # each 100-300 ms at py_serial on the reference machine
    quick_sizes: list[int]       # each 10-30 ms at py_serial
    small_size: int              # tests: milliseconds
    prepare: Callable[[int, object], Instance]  # (n, executor) -> Instance
    min_size: int = 1
    max_size: int = 10**12
    # work grows like n^work_exponent (weak scaling gives p workers p times the
    # work); 0: no weak-scaling form
    work_exponent: float = 1.0
    # I/O workloads: p is concurrency (requests in flight) and sizes are
    # requests per slot, so a point at p runs n = size x p requests
    concurrency_levels: list[int] = field(default_factory=list)
    # granularity: one task per unit of work, run only where a model spawns tasks
    uses_spawn_tasks: bool = False
    # why it cannot run in this interpreter (e.g. numpy missing), or ""
    unavailable: str = ""
    # True for a workload the C++ binary does not have (matmul_numpy)
    python_only: bool = False
    # its kernel runs in C that releases the GIL (numpy's BLAS): threads do run it in parallel
    releases_gil: bool = False
    # False when both languages take about the same time by construction, so the
    # cross-language table would say nothing: n is a duration (amdahl_*: microseconds of
    # work, granularity: a task's nanoseconds) or the time is mostly waiting (sleep_io,
    # tcp_echo's service delay)
    cross_language: bool = True


@dataclass
class Model:
    name: str                    # py_<something>
    summary: str
    create: Callable[[int], object]  # p -> Executor (a context manager)
    parallel: bool = True        # False: py_serial (runs at p = 1 only)
    # I/O workloads: the largest concurrency it is run at (0: no cap)
    max_concurrency: int = 0
    # why CPU work cannot run in parallel on it (one event loop), or ""
    limit_cpu: str = ""
    # threads running Python bytecode: with the GIL on (sys._is_gil_enabled(), or any
    # interpreter before 3.13) CPU work on it is serial by design, and the runner says so
    gil_bound: bool = False
    # how it spawns one task per unit of work, or "" (then granularity skips it)
    task_spawn: str = ""
    note: str = ""
    # the catalogue's fields (as the C++ models'): its name in charts and the report, its kind
    # (baseline, threads, processes, coroutines), its place in lists and colours, and the roles
    # the Python track's rules of thumb take it for (gil_threads, process_workers, event_loop)
    label: str = ""
    group: str = ""
    order: int = 100
    roles: tuple = ()


@dataclass
class Primitive:
    """A primitive benchmark: make() returns an object whose run(iterations)
    performs `iterations` operations (timed by the runner; per-iteration time
    is the cost of one operation), checks them and raises on a failed check,
    and may return extra counters; close() releases what make() created."""
    name: str                    # py/<family>/<case>[/<arg>:<value>]
    make: Callable[[], object]
    summary: str = ""
    counterpart: str = ""        # the C++ benchmark it is set beside in the report


_workloads: dict[str, Workload] = {}
_models: dict[str, Model] = {}
_primitives: dict[str, Primitive] = {}


def register_workload(workload: Workload) -> Workload:
    if workload.name in _workloads:
        raise ValueError(f"workload {workload.name} registered twice")
    _workloads[workload.name] = workload
    return workload


MODEL_GROUPS = ("baseline", "threads", "processes", "coroutines")
# The selection's limits, the C++ binary's own (its `list --json` "limits"; a test holds them
# equal): the Python side (pytrack's options, parbench's config) takes them from here.
LIMITS = {"max_workers": 1024, "max_concurrency": 65536, "max_repetitions": 1000, "max_min_time_seconds": 3600}


def register_model(model: Model) -> Model:
    if not model.name.startswith("py_") or model.name in _models:
        raise ValueError(f"model {model.name}: needs the py_ prefix and a unique name")
    if model.group not in MODEL_GROUPS or not model.label:
        raise ValueError(f"model {model.name}: needs a label and a group among {', '.join(MODEL_GROUPS)}")
    _models[model.name] = model
    return model


def register_primitive(primitive: Primitive) -> Primitive:
    if not primitive.name.startswith("py/") or primitive.name in _primitives:
        raise ValueError(f"primitive {primitive.name}: needs the py/ prefix and a unique name")
    _primitives[primitive.name] = primitive
    return primitive


_CATEGORY_ORDER = {"cpu": 0, "memory": 1, "io": 2, "mixed": 3}


def load_all() -> None:
    for package in ("models", "workloads", "primitives"):
        module = importlib.import_module(f"{__package__}.{package}")
        for info in sorted(pkgutil.iter_modules(module.__path__), key=lambda i: i.name):
            importlib.import_module(f"{module.__name__}.{info.name}")


def workloads() -> list[Workload]:
    load_all()
    return sorted(_workloads.values(), key=lambda w: (_CATEGORY_ORDER.get(w.category, 9), w.name))


def models() -> list[Model]:
    load_all()
    return sorted(_models.values(), key=lambda m: (m.order, m.name))


def primitives() -> list[Primitive]:
    load_all()
    return sorted(_primitives.values(), key=lambda p: p.name)


def find_workload(name: str) -> Workload | None:
    load_all()
    return _workloads.get(name)


def find_model(name: str) -> Model | None:
    load_all()
    return _models.get(name)
