"""Running the selected benchmarks as Google Benchmark does: calibration, repetitions, aggregates
and the JSON context."""
from __future__ import annotations

import json
import math
import os
import platform
import random
import signal
import statistics
import sys
import time
from datetime import datetime, timezone

from . import registry
from .executor import start_method
from .options import Benchmark, Options, hardware_threads, tagged


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
        benchmark.executor = (benchmark.model.create(benchmark.p, benchmark.cpus) if benchmark.cpus
                              else benchmark.model.create(benchmark.p))
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
        benchmark.executor.seen.clear()
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
        if benchmark.executor.cpus:  # where the bound workers were seen, as the binary's counters
            entry.update(cpus_used=float(len(benchmark.executor.seen)),
                         cpus_bound=float(benchmark.executor.bound_cpus()))
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


def free_threaded() -> bool:
    """A free-threaded build (3.13t and later), where the GIL is off unless PYTHON_GIL=1."""
    import sysconfig
    return bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
