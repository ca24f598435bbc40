"""The Python track's command line: the same selection options and Google
Benchmark flags as parbench_bench, and the same JSON (context + benchmarks,
repetitions, real and process CPU time, counters), so the sweep runs a Python
family exactly as it runs a C++ one.

  python3 -m pytrack list [selection]        what the track has
  python3 -m pytrack info                    interpreter facts, JSON
  python3 -m pytrack [selection] [--benchmark_*=...]   run benchmarks

  --tag=T names the models py_threads@T (the sweep tags every interpreter after
  its first one, e.g. 3.13 or 3.13t-gil1); workloads only.
"""
from __future__ import annotations

import json
import math
import os
import platform
import random
import re
import signal
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

from . import registry
from .executor import start_method

MIN_PYTHON = (3, 9)


class UsageError(Exception):
    """A problem with the command line: one line, exit 2."""


def hardware_threads() -> int:
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


MAX_REPETITIONS = 1000
# Worker counts and concurrency above this are refused: a process model would start that
# many processes (the C++ binary's largest, for threads, is 1024).
MAX_WORKERS = 4096
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
        if not arg.startswith("--") or (not sep and key not in ("--help",)):
            raise UsageError(f"unknown argument '{arg}' (see python3 -m pytrack --help)")
        if key == "--help":
            options.command = "help"
        elif key == "--size":
            if value in ("default", "quick", "small"):
                options.size = value
            else:
                options.size, options.sizes = "given", _positive_list("--size", value)
        elif key == "--workloads":
            options.workloads, options.named = _names("--workloads", value, workload_names), True
        elif key == "--models":
            options.models, options.named = _names("--models", value, model_names), True
        elif key == "--p":
            options.workers = _positive_list("--p", value, MAX_WORKERS)
        elif key == "--oversubscribe":
            if value not in ("true", "false"):
                raise UsageError(f"--oversubscribe: '{value}' is not true or false")
            options.oversubscribe = value == "true"
        elif key == "--concurrency":
            options.concurrency = _positive_list("--concurrency", value, MAX_WORKERS)
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
        elif key == "--tag":
            if value and not TAG_PATTERN.fullmatch(value):
                raise UsageError(f"--tag: '{value}' is not a tag (letters, digits and . + _ -, "
                                 "at most 32, e.g. 3.13t)")
            options.tag = value
        elif key == "--scaling":
            if value not in ("strong", "weak"):
                raise UsageError(f"--scaling: '{value}' is not strong or weak")
            options.weak = value == "weak"
        elif key == "--benchmark_filter":
            try:
                re.compile(value)
            except re.error as error:
                raise UsageError(f"--benchmark_filter: bad regular expression ({error})") from None
            options.filter = value
        elif key == "--benchmark_repetitions":
            if not re.fullmatch(r"[0-9]{1,4}", value) or not 1 <= int(value) <= MAX_REPETITIONS:
                raise UsageError(f"{key}: '{value}' is not a whole number in [1, {MAX_REPETITIONS}]")
            options.repetitions = int(value)
        elif key == "--benchmark_min_time":
            try:
                options.min_time = float(value.rstrip("s"))
            except ValueError:
                options.min_time = -1
            if not (math.isfinite(options.min_time) and 0 < options.min_time <= 3600):
                raise UsageError(f"--benchmark_min_time: '{value}' is not a number of seconds in (0, 3600]")
        elif key in ("--benchmark_enable_random_interleaving", "--benchmark_list_tests"):
            if value not in ("true", "false", "1", "0", "yes", "no"):
                raise UsageError(f"{key}: '{value}' is not true or false")
            if key == "--benchmark_list_tests":
                options.list_tests = value in ("true", "1", "yes")
            else:
                options.interleave = value in ("true", "1", "yes")
        elif key == "--benchmark_out":
            folder = os.path.dirname(os.path.abspath(value)) if value else ""
            if not value or os.path.isdir(value) or not os.path.isdir(folder) or not os.access(folder, os.W_OK):
                raise UsageError(f"--benchmark_out: cannot write '{value}' (no such writable folder, or a folder)")
            options.out = value
        elif key in ("--benchmark_out_format", "--benchmark_format"):
            if value not in ("json", "console"):
                raise UsageError(f"{key}: only json and console are supported")
            if key == "--benchmark_out_format":
                options.out_format = value
        else:
            raise UsageError(f"unknown option '{key}'")
    if options.tag and options.primitives:
        raise UsageError("--tag: the primitives run on the sweep's first interpreter only "
                         "(give --primitives=none with a tag)")
    return options


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
    primitive: object = None
    time_unit: str = "ms"
    # state while running
    subject: object = None
    executor: object = None
    iterations: int = 0
    entries: list = field(default_factory=list)
    failed: str = ""


def _sizes(options: Options, workload) -> list[int]:
    return {"default": workload.default_sizes, "quick": workload.quick_sizes,
            "small": [workload.small_size], "given": options.sizes}[options.size]


def _workers_for(options: Options, workload, model) -> list[int]:
    if not model.parallel:
        return [1]
    workers = options.workers or default_worker_counts(options.oversubscribe)
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
                        benchmarks.append(Benchmark(f"{family}/n:{n}/p:{p}", family, "workload", workload, model,
                                                    n, p, base_n, options.weak))
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


# --- running -----------------------------------------------------------------------------

# A thread model's CPU work with the GIL on: labelled, as any model's built-in limit, so that
# its flat speedup and 1/p efficiency (50% at p = 2: a METG "reached" at the ceiling) are not
# read as scaling. Still measured: the report's rules of thumb quote it.
GIL_LIMIT = "the GIL: one thread runs Python bytecode at a time, so CPU work is serial by design"


def _context(options: Options) -> dict:
    method, chosen_by = start_method()
    gil = getattr(sys, "_is_gil_enabled", None)
    context = {
        "date": datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds"),
        "host_name": platform.node(),
        "executable": sys.executable,
        "num_cpus": hardware_threads(),
        "hardware_threads": str(hardware_threads()),
        "library_build_type": "release",
        "parbench_track": "python" + (f"@{options.tag}" if options.tag else ""),
        "python_version": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "python_executable": sys.executable,
        "python_gil_enabled": "yes" if gil is None or gil() else "no",
        "python_free_threaded": "yes" if free_threaded() else "no",
        "python_gil_setting": os.environ.get("PYTHON_GIL", ""),
        "python_tag": options.tag,
        "py_start_method": method,
        "py_start_method_set_by": chosen_by,
        "caches": [],
    }
    for workload in registry.workloads():
        context[f"category:{workload.name}"] = workload.category
        if workload.uses_spawn_tasks:
            context[f"spawn_tasks:{workload.name}"] = "yes"
        if not workload.cross_language:  # the same time in both languages by construction
            context[f"cross_language:{workload.name}"] = "no"
    for model in registry.models():
        if model.note:
            context[f"model_note:{tagged(model.name, options.tag)}"] = model.note
        limit = model.limit_cpu or (GIL_LIMIT if model.gil_bound and (gil is None or gil()) else "")
        if limit:
            context[f"limit_cpu:{tagged(model.name, options.tag)}"] = limit
            if limit == GIL_LIMIT:  # not where the kernel releases the GIL
                context[f"limit_cpu_except:{tagged(model.name, options.tag)}"] = ",".join(
                    w.name for w in registry.workloads() if w.releases_gil)
        context[f"task_spawn:{tagged(model.name, options.tag)}"] = model.task_spawn or "none"
    for primitive in registry.primitives():
        if primitive.counterpart:
            context[f"counterpart:{primitive.name}"] = primitive.counterpart
        if primitive.summary:
            context[f"summary:{primitive.name}"] = primitive.summary
    return context


def _calibrate(run_batch, min_time: float) -> int:
    """Iterations per repetition, as Google Benchmark finds them: batches grow until one
    actually lasts min_time (a prediction from a short batch that noise slowed would leave
    too few iterations, and the per-run set-up would dominate)."""
    iterations = 1
    while True:
        elapsed = run_batch(iterations)
        if elapsed >= 3 * min_time and iterations > 1:
            # a x10 step overshot (an operation whose cost grows with the batch, e.g. a queue a
            # producer runs ahead on): scale back, or every repetition lasts this long
            return max(1, math.ceil(iterations * min_time * 1.4 / elapsed))
        if elapsed >= min_time or iterations >= 10**9:
            return iterations
        if elapsed >= min_time / 10:
            iterations = max(iterations + 1, math.ceil(iterations * min_time * 1.4 / max(elapsed, 1e-9)))
        else:
            iterations *= 10


def _set_up(benchmark: Benchmark) -> None:
    if benchmark.kind == "workload":
        benchmark.executor = benchmark.model.create(benchmark.p)
        benchmark.subject = benchmark.workload.prepare(benchmark.n, benchmark.executor)

        def batch(iterations):
            start = time.perf_counter()
            for _ in range(iterations):
                benchmark.subject.run(benchmark.executor)
            return time.perf_counter() - start
    else:
        benchmark.subject = benchmark.primitive.make()

        def batch(iterations):
            start = time.perf_counter()
            benchmark.subject.run(iterations)
            return time.perf_counter() - start
    benchmark.iterations = benchmark.iterations or 0
    return batch


def _tear_down(benchmark: Benchmark) -> None:
    for thing in (benchmark.subject, benchmark.executor):
        if thing is not None:
            try:
                thing.close()
            except Exception as error:  # noqa: BLE001 - reported, the others still closed
                benchmark.failed = benchmark.failed or f"cleanup failed: {error}"
    benchmark.subject = benchmark.executor = None


_SCALE = {"ms": 1e3, "ns": 1e9}


def _measure(benchmark: Benchmark, batch, repetition: int, repetitions: int) -> dict:
    cpu_start, wall_start = time.process_time(), time.perf_counter()
    counters = None
    if benchmark.kind == "workload":
        for _ in range(benchmark.iterations):
            benchmark.subject.run(benchmark.executor)
    else:
        counters = benchmark.subject.run(benchmark.iterations)
    wall = time.perf_counter() - wall_start
    cpu = time.process_time() - cpu_start
    scale = _SCALE[benchmark.time_unit] / benchmark.iterations
    entry = {"name": benchmark.name, "run_name": benchmark.name, "run_type": "iteration",
             "repetitions": repetitions, "repetition_index": repetition, "threads": 1,
             "iterations": benchmark.iterations, "real_time": wall * scale, "cpu_time": cpu * scale,
             "time_unit": benchmark.time_unit}
    if benchmark.kind == "workload":
        work = benchmark.subject.work()
        entry["items_per_second"] = work.get("items", 0) * benchmark.iterations / wall
        if work.get("bytes"):
            entry["bytes_per_second"] = work["bytes"] * benchmark.iterations / wall
        entry.update(p=float(benchmark.p), n=float(benchmark.n))
        if benchmark.weak:
            entry["weak_base_n"] = float(benchmark.base_n)
        if benchmark.workload.concurrency_levels:
            entry["requests_per_slot"] = float(benchmark.base_n)
        entry.update({k: float(v) for k, v in benchmark.subject.counters().items()})
    else:
        entry["items_per_second"] = benchmark.iterations / wall
        counters = counters or {}
        if "median_late_us" not in counters:  # a timer's headline is its lateness, as in C++
            entry["ns_per_op"] = wall * 1e9 / benchmark.iterations  # the C++ families' headline metric
        entry.update({k: float(v) for k, v in counters.items()})
    return entry


def _error_entry(benchmark: Benchmark, message: str, repetitions: int) -> dict:
    return {"name": benchmark.name, "run_name": benchmark.name, "run_type": "iteration",
            "repetitions": repetitions, "repetition_index": 0, "threads": 1, "iterations": 0,
            "real_time": 0, "cpu_time": 0, "time_unit": benchmark.time_unit,
            "error_occurred": True, "error_message": message}


def _aggregates(benchmark: Benchmark) -> list[dict]:
    entries = [e for e in benchmark.entries if not e.get("error_occurred")]
    if len(entries) < 2:
        return []
    rows = []
    for name, fn in (("mean", statistics.fmean), ("median", statistics.median), ("stddev", statistics.stdev)):
        row = {"name": f"{benchmark.name}_{name}", "run_name": benchmark.name, "run_type": "aggregate",
               "repetitions": len(entries), "threads": 1, "aggregate_name": name, "aggregate_unit": "time",
               "iterations": len(entries), "time_unit": benchmark.time_unit}
        for key in ("real_time", "cpu_time"):
            row[key] = fn([e[key] for e in entries])
        rows.append(row)
    return rows


class Interrupted(BaseException):
    pass


def _inert(error) -> str:
    """A message that may quote an argument or an environment value, on one line, its control
    characters shown as \\xNN (none of them reaches the terminal as one)."""
    import re
    return re.sub(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]", lambda m: f"\\x{ord(m.group()):02x}", str(error))


def _on_signal(signum, frame):
    """The first SIGINT/SIGTERM unwinds the run through every clean-up; further ones are
    ignored, so a second Ctrl-C cannot cut a clean-up short and leave workers or files."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Interrupted(signum)


def run(options: Options, benchmarks: list[Benchmark]) -> int:
    from .executor import WorkerDied
    order = [(b, r) for b in benchmarks for r in range(options.repetitions)]
    if options.interleave:
        random.shuffle(order)
    batches = {}
    exit_code = 0
    print(f"Python track: {len(benchmarks)} benchmarks x {options.repetitions} repetitions "
          f"(python {platform.python_version()}, start method {start_method()[0]})", flush=True)
    try:
        for benchmark, repetition in order:
            if benchmark.failed:
                continue
            try:
                if id(benchmark) not in batches:
                    batch = batches[id(benchmark)] = _set_up(benchmark)
                    benchmark.iterations = _calibrate(batch, options.min_time)
                entry = _measure(benchmark, batches[id(benchmark)], repetition, options.repetitions)
                if benchmark.kind == "workload":
                    # every repetition's result, outside the clock (an intermittent wrong answer
                    # must not hide behind a right last one)
                    problem = benchmark.subject.verify()
                    if problem:
                        raise AssertionError(f"verification failed: {problem}")
                    entry["verified"] = 1.0
                benchmark.entries.append(entry)
                if len(benchmark.entries) == options.repetitions:
                    _tear_down(benchmark)
                    print(f"{benchmark.name:<60} {entry['real_time']:12.4g} {benchmark.time_unit}", flush=True)
            except WorkerDied as error:
                print(f"{benchmark.name}: {error}", file=sys.stderr, flush=True)
                benchmark.failed = str(error)
                exit_code = exit_code or (error.exitcode if error.exitcode and error.exitcode > 0 else 1)
                _tear_down(benchmark)
            except Exception as error:  # noqa: BLE001 - the benchmark's error row
                benchmark.failed = f"exception: {type(error).__name__}: {error}"
                print(f"{benchmark.name}: ERROR {benchmark.failed}", file=sys.stderr, flush=True)
                _tear_down(benchmark)
    finally:
        for benchmark in benchmarks:
            if benchmark.subject is not None or benchmark.executor is not None:
                _tear_down(benchmark)
    rows = []
    for benchmark in benchmarks:
        if benchmark.failed:
            rows.append(_error_entry(benchmark, benchmark.failed, options.repetitions))
        else:
            rows += sorted(benchmark.entries, key=lambda e: e["repetition_index"]) + _aggregates(benchmark)
    document = {"context": _context(options), "benchmarks": rows}
    if options.out:
        with open(options.out, "w") as out:
            json.dump(document, out, indent=1)
            out.write("\n")
    return exit_code


def check_environment() -> None:
    """The environment settings the track reads, checked before anything runs (one line,
    exit 2) instead of failing every benchmark: the start method and the spin rate."""
    from .spin import SPIN_RATE_VARIABLE, spin_iterations_per_us
    start_method()
    if os.environ.get(SPIN_RATE_VARIABLE):
        spin_iterations_per_us()


def free_threaded() -> bool:
    """A free-threaded build (3.13t and later), where the GIL is off unless PYTHON_GIL=1."""
    import sysconfig
    return bool(sysconfig.get_config_var("Py_GIL_DISABLED"))


def info() -> dict:
    from .spin import spin_iterations_per_us
    method, chosen_by = start_method()
    gil = getattr(sys, "_is_gil_enabled", None)
    return {"spin_iters_per_us": spin_iterations_per_us(), "python_version": platform.python_version(), "python_executable": sys.executable,
            "python_implementation": platform.python_implementation(),
            "gil_enabled": gil is None or gil(), "free_threaded": free_threaded(),
            "gil_setting": os.environ.get("PYTHON_GIL", ""), "start_method": method, "start_method_set_by": chosen_by,
            "hardware_threads": hardware_threads()}


def list_text(options: Options) -> str:
    lines = ["Python workloads (name, category, default sizes, quick sizes, small size, what n is):"]
    for w in registry.workloads():
        lines.append(f"  {w.name:<16} {w.category:<7} default={','.join(map(str, w.default_sizes)):<22} "
                     f"quick={','.join(map(str, w.quick_sizes)):<16} small={w.small_size:<8} n: {w.size_meaning}")
        lines.append(f"      {w.summary}" + (f" [not available: {w.unavailable}]" if w.unavailable else ""))
    lines.append("")
    lines.append("Python models:")
    for m in registry.models():
        lines.append(f"  {m.name:<16} {m.summary}")
    lines.append("")
    lines.append("Python primitive families (--primitives=py or a narrower py/sync ...): " + ", ".join(
        sorted({"/".join(p.name.split("/")[:2]) for p in registry.primitives()})))
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if sys.version_info < MIN_PYTHON:
        print(f"pytrack: Python {platform.python_version()} is too old (needs "
              f"{'.'.join(map(str, MIN_PYTHON))} or newer)", file=sys.stderr)
        return 2
    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        options = parse(argv)
        if options.command == "help":
            print(__doc__)
            return 0
        if options.command == "info":
            print(json.dumps(info()))
            return 0
        if options.command == "list":
            print(list_text(options))
            return 0
        benchmarks = select(options)
        check_environment()
        if options.list_tests:
            print("\n".join(b.name for b in benchmarks))
            return 0
        if not benchmarks:
            raise UsageError("the selection has no benchmarks")
        return run(options, benchmarks)
    except UsageError as error:
        print(f"pytrack: {_inert(error)}", file=sys.stderr)
        return 2
    except ValueError as error:  # a bad environment setting (e.g. PARBENCH_PY_START_METHOD)
        print(f"pytrack: {_inert(error)}", file=sys.stderr)
        return 2
    except OSError as error:  # e.g. the output file's disk filled up
        print(f"pytrack: {error.filename or 'output'}: {error.strerror}", file=sys.stderr)
        return 1
    except Interrupted as stop:
        signum = stop.args[0]
        print(f"pytrack: interrupted by {signal.Signals(signum).name}", file=sys.stderr)
        return 128 + signum
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
