"""The Python track's selection options, parsed as parbench_bench parses its own (the same names,
limits and errors), and the benchmarks they select."""
from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field

from . import registry
from .executor import AFFINITY_POLICIES, placement_cpus


class UsageError(Exception):
    """A problem with the command line: one line, exit 2."""


def hardware_threads() -> int:
    """The CPUs this process may use, or PARBENCH_CPUS (the planner lists a recorded machine's
    benchmarks), as parbench_bench counts them."""
    planned = os.environ.get("PARBENCH_CPUS", "")
    if planned:
        if not planned.isdigit() or not 1 <= int(planned) <= MAX_WORKERS:
            raise UsageError(f"PARBENCH_CPUS='{planned}' is not a CPU count (1..{MAX_WORKERS})")
        return int(planned)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def default_worker_counts(oversubscribe: bool = True) -> list[int]:
    """1, 2, 4, ... up to the hardware threads, that count, and (oversubscribe) twice it."""
    cores = hardware_threads()
    counts = {cores, 2 * cores} if oversubscribe else {cores}
    p = 1
    while p <= cores:
        counts.add(p)
        p *= 2
    return sorted(counts)


MAX_REPETITIONS = registry.LIMITS["max_repetitions"]
MAX_WORKERS = registry.LIMITS["max_workers"]
MAX_CONCURRENCY = registry.LIMITS["max_concurrency"]
MAX_MIN_TIME = registry.LIMITS["max_min_time_seconds"]
MAX_SIZE = 10**12


def _positive_list(flag: str, text: str, largest: int = MAX_SIZE) -> list[int]:
    values = []
    for part in text.split(","):
        part = part.strip()
        if not re.fullmatch(r"[0-9]{1,13}", part) or not 1 <= int(part) <= largest:
            raise UsageError(f"{flag}: '{part}' is not a whole number in [1, {largest}]")
        values.append(int(part))
    if len(set(values)) != len(values):
        raise UsageError(f"{flag}: '{text}' names a value twice")
    return sorted(values)


@dataclass
class Options:
    size: str = "default"
    sizes: list[int] = field(default_factory=list)
    workloads: list | None = None   # None: all
    models: list | None = None
    named: bool = False             # --workloads or --models given (even as "all")
    workers: list[int] = field(default_factory=list)
    concurrency: list[int] = field(default_factory=list)
    automatic_workers: list[int] = field(default_factory=list)  # --auto-p: in place of the default counts
    size_scale: float = 1.0         # --size-scale: default and quick sizes times this (the size rule)
    affinity: str = "none"          # --affinity: how the parallel models' workers are bound
    oversubscribe: bool = True      # the automatic worker counts include 2 x the hardware threads
    primitives: list[str] | None = None  # None: unset (all when nothing is selected)
    weak: bool = False
    list_tests: bool = False
    filter: str = ""
    repetitions: int = 1
    min_time: float = 0.5
    interleave: bool = False
    out: str = ""
    out_format: str = "json"
    command: str = "run"
    # The interpreter's tag in the run names (py_threads@3.13): the sweep gives every
    # interpreter after its first one a tag, so that two interpreters' runs never share a
    # name and each py_ model is measured against its own interpreter's py_serial. "": none.
    tag: str = ""
    json: bool = False              # list --json: the catalogue as one JSON object


# A tag names an interpreter (and its GIL setting): 3.13, 3.13t, 3.13t-gil1.
TAG_PATTERN = re.compile(r"[0-9A-Za-z][0-9A-Za-z.+_-]{0,31}")


def tagged(model: str, tag: str) -> str:
    return f"{model}@{tag}" if tag else model


def _names(flag: str, text: str, known: list[str]) -> list[str] | None:
    if text == "all":
        return None
    if text == "none":
        return []
    names = [name for name in text.split(",") if name]
    if not names:
        raise UsageError(f"{flag}: empty list (name some, or all, or none)")
    for name in names:
        if name not in known:
            raise UsageError(f"{flag}: unknown name '{name}' (known: {', '.join(known)})")
    return names


def parse(argv: list[str]) -> Options:
    options = Options()
    rest = list(argv)
    if rest and rest[0] in ("list", "info"):
        options.command = rest.pop(0)
    workload_names = [w.name for w in registry.workloads()]
    model_names = [m.name for m in registry.models()]
    for arg in rest:
        key, sep, value = arg.partition("=")
        if not arg.startswith("--") or (not sep and key not in ("--help", "--json")):
            raise UsageError(f"unknown argument '{arg}' (see python3 -m pytrack --help)")
        if key == "--help":
            options.command = "help"
        elif key == "--json":
            if options.command != "list":
                raise UsageError("--json: only with list (python3 -m pytrack list --json)")
            options.json = True
        elif not (_selection_option(options, key, value, workload_names, model_names)
                  or _benchmark_flag(options, key, value)):
            raise UsageError(f"unknown option '{key}'")
    if options.tag and options.affinity != "none":
        raise UsageError("--affinity: the sweep binds workers on its first interpreter only (no --tag with it)")
    if options.tag and options.primitives:
        raise UsageError("--tag: the primitives run on the sweep's first interpreter only "
                         "(give --primitives=none with a tag)")
    return options


def _selection_option(options: Options, key: str, value: str, workload_names: list, model_names: list) -> bool:
    """One of the selection options (as parbench_bench's); False: not one of them."""
    if key == "--affinity":
        if value not in AFFINITY_POLICIES:
            raise UsageError(f"--affinity must be {', '.join(AFFINITY_POLICIES[:-1])} or {AFFINITY_POLICIES[-1]}, "
                             f"got '{value}'")
        options.affinity = value
        return True
    if key == "--size-scale":
        try:
            scale = float(value)
        except ValueError:
            scale = math.nan
        if not 1 <= scale <= 1000:
            raise UsageError(f"--size-scale must be a number from 1 to 1000, got '{value}'")
        options.size_scale = scale
        return True
    if key == "--size":
        if value in ("default", "quick", "small"):
            options.size = value
        else:
            options.size, options.sizes = "given", _positive_list("--size", value)
        return True
    elif key == "--workloads":
        options.workloads, options.named = _names("--workloads", value, workload_names), True
        return True
    elif key == "--models":
        options.models, options.named = _names("--models", value, model_names), True
        return True
    elif key == "--p":
        options.workers = _positive_list("--p", value, MAX_WORKERS)
        return True
    elif key == "--auto-p":  # the sweep's automatic counts: the I/O workloads keep their levels
        options.automatic_workers = _positive_list("--auto-p", value, MAX_WORKERS)
        return True
    elif key == "--oversubscribe":
        if value not in ("true", "false"):
            raise UsageError(f"--oversubscribe: '{value}' is not true or false")
        options.oversubscribe = value == "true"
        return True
    elif key == "--concurrency":
        options.concurrency = _positive_list("--concurrency", value, MAX_CONCURRENCY)
        return True
    elif key == "--primitives":
        options.primitives = [] if value == "none" else ["py"] if value == "all" else [
            v for v in value.split(",") if v]
        for prefix in options.primitives:
            if not (prefix == "py" or prefix.startswith("py/")):
                raise UsageError(f"--primitives: '{prefix}' is not a Python primitive family (py, py/sync, ...)")
            if not any(p.name == prefix or p.name.startswith(prefix + "/") for p in registry.primitives()):
                families = sorted({"/".join(p.name.split("/")[:2]) for p in registry.primitives()})
                raise UsageError(f"--primitives: '{prefix}' names no Python primitive "
                                 f"(families: {', '.join(families)})")
        return True
    elif key == "--tag":
        if value and not TAG_PATTERN.fullmatch(value):
            raise UsageError(f"--tag: '{value}' is not a tag (letters, digits and . + _ -, "
                             "at most 32, e.g. 3.13t)")
        options.tag = value
        return True
    elif key == "--scaling":
        if value not in ("strong", "weak"):
            raise UsageError(f"--scaling: '{value}' is not strong or weak")
        options.weak = value == "weak"
        return True
    return False


def _benchmark_flag(options: Options, key: str, value: str) -> bool:
    """One of Google Benchmark's flags that the track honours; False: not one of them."""
    if key == "--benchmark_filter":
        try:
            re.compile(value)
        except re.error as error:
            raise UsageError(f"--benchmark_filter: bad regular expression ({error})") from None
        options.filter = value
        return True
    elif key == "--benchmark_repetitions":
        if not re.fullmatch(r"[0-9]{1,4}", value) or not 1 <= int(value) <= MAX_REPETITIONS:
            raise UsageError(f"{key}: '{value}' is not a whole number in [1, {MAX_REPETITIONS}]")
        options.repetitions = int(value)
        return True
    elif key == "--benchmark_min_time":
        try:
            options.min_time = float(value.rstrip("s"))
        except ValueError:
            options.min_time = -1
        if not (math.isfinite(options.min_time) and 0 < options.min_time <= MAX_MIN_TIME):
            raise UsageError(f"--benchmark_min_time: '{value}' is not a number of seconds in (0, {MAX_MIN_TIME}]")
        return True
    elif key in ("--benchmark_enable_random_interleaving", "--benchmark_list_tests"):
        if value not in ("true", "false", "1", "0", "yes", "no"):
            raise UsageError(f"{key}: '{value}' is not true or false")
        if key == "--benchmark_list_tests":
            options.list_tests = value in ("true", "1", "yes")
        else:
            options.interleave = value in ("true", "1", "yes")
        return True
    elif key == "--benchmark_out":
        folder = os.path.dirname(os.path.abspath(value)) if value else ""
        if not value or os.path.isdir(value) or not os.path.isdir(folder) or not os.access(folder, os.W_OK):
            raise UsageError(f"--benchmark_out: cannot write '{value}' (no such writable folder, or a folder)")
        options.out = value
        return True
    elif key in ("--benchmark_out_format", "--benchmark_format"):
        if value not in ("json", "console"):
            raise UsageError(f"{key}: only json and console are supported")
        if key == "--benchmark_out_format":
            options.out_format = value
        return True
    return False


# --- the benchmarks a selection registers -------------------------------------------------

@dataclass
class Benchmark:
    name: str                 # run name
    family: str
    kind: str                 # workload | primitive
    workload: object = None
    model: object = None
    n: int = 0
    p: int = 1
    base_n: int = 0
    weak: bool = False
    cpus: tuple = ()          # the CPU order its workers are bound by (empty: the OS places them)
    primitive: object = None
    time_unit: str = "ms"
    # state while running
    subject: object = None
    executor: object = None
    iterations: int = 0
    entries: list = field(default_factory=list)
    failed: str = ""


def _sizes(options: Options, workload) -> list[int]:
    sizes = {"default": workload.default_sizes, "quick": workload.quick_sizes,
             "small": [workload.small_size], "given": options.sizes}[options.size]
    if options.size_scale == 1 or options.size not in ("default", "quick"):
        return sizes
    scaled = [min(max(round(n * options.size_scale), workload.min_size), workload.max_size) for n in sizes]
    return list(dict.fromkeys(scaled))


def _workers_for(options: Options, workload, model) -> list[int]:
    if not model.parallel:
        return [1]
    workers = options.workers or options.automatic_workers or default_worker_counts(options.oversubscribe)
    if not workload.concurrency_levels:
        return workers
    wanted = options.concurrency or options.workers or workload.concurrency_levels
    return [p for p in wanted if model.max_concurrency == 0 or p <= model.max_concurrency]


def select(options: Options) -> list[Benchmark]:
    benchmarks: list[Benchmark] = []
    # As the binary: with --primitives given, workloads run only when named (--workloads=all names
    # them all); with nothing given, everything runs.
    named = options.named
    want_workloads = options.workloads is None and (options.primitives is None or named) or bool(options.workloads)
    if options.workloads == [] or options.models == []:
        want_workloads = False
    if want_workloads:
        for workload in registry.workloads():
            if options.workloads is not None and workload.name not in options.workloads:
                continue
            if workload.unavailable or (options.weak and workload.work_exponent <= 0):
                continue
            for model in registry.models():
                if options.models is not None and model.name not in options.models:
                    continue
                if workload.uses_spawn_tasks and model.parallel and not model.task_spawn:
                    continue
                for base_n in _sizes(options, workload):
                    for p in _workers_for(options, workload, model):
                        if options.weak and p > hardware_threads():
                            continue
                        if options.weak:
                            n = round(base_n * p ** (1.0 / workload.work_exponent))
                        else:
                            n = base_n * p if workload.concurrency_levels else base_n
                        if not (workload.min_size <= base_n and n <= workload.max_size):
                            continue
                        family = f"{workload.name}/{tagged(model.name, options.tag)}"
                        bound = options.affinity != "none" and model.parallel
                        placed = f"affinity:{options.affinity}/" if bound else ""
                        benchmarks.append(Benchmark(f"{family}/{placed}n:{n}/p:{p}", family, "workload", workload,
                                                    model, n, p, base_n, options.weak,
                                                    placement_cpus(options.affinity) if bound else ()))
    wants_primitives = options.primitives if options.primitives is not None else ([] if named else ["py"])
    if not options.weak and not options.tag:
        for primitive in registry.primitives():
            if any(primitive.name == prefix or primitive.name.startswith(prefix + "/")
                   for prefix in wants_primitives):
                family = "/".join(part for part in primitive.name.split("/") if ":" not in part)
                benchmarks.append(Benchmark(primitive.name, family, "primitive", primitive=primitive,
                                            time_unit="ns"))
    if options.filter:
        pattern = re.compile(options.filter)
        benchmarks = [b for b in benchmarks if pattern.search(b.name)]
    return benchmarks
