"""The Python track's command line: the same selection options and Google
Benchmark flags as parbench_bench, and the same JSON (context + benchmarks,
repetitions, real and process CPU time, counters), so the sweep runs a Python
family exactly as it runs a C++ one.

  python3 -m pytrack list [selection]        what the track has
  python3 -m pytrack info                    interpreter facts, JSON
  python3 -m pytrack [selection] [--benchmark_*=...]   run benchmarks

  --tag=T names the models py_threads@T (the sweep tags every interpreter after
  its first one, e.g. 3.13 or 3.13t-gil1); workloads only.
  --affinity=none|compact|spread binds the parallel models' workers (a thread,
  a pool's initializer, a process's target calls os.sched_setaffinity) by the
  CPU order of `parbench_bench info` (its placements, in PARBENCH_PLACEMENTS);
  names then carry /affinity:<policy>, and the runs cpus_used and cpus_bound.
"""
from __future__ import annotations

import json
import os
import platform
import signal
import sys

from . import registry
from .executor import start_method
from .options import Options, UsageError, hardware_threads, parse, select
from .measure import free_threaded, Interrupted, _inert, _on_signal, run


MIN_PYTHON = (3, 9)


def check_environment() -> None:
    """The environment settings the track reads, checked before anything runs (one line,
    exit 2) instead of failing every benchmark: the start method and the spin rate."""
    from .spin import SPIN_RATE_VARIABLE, spin_iterations_per_us
    start_method()
    if os.environ.get(SPIN_RATE_VARIABLE):
        spin_iterations_per_us()


def info() -> dict:
    from .spin import spin_iterations_per_us
    method, chosen_by = start_method()
    gil = getattr(sys, "_is_gil_enabled", None)
    return {"spin_iters_per_us": spin_iterations_per_us(), "python_version": platform.python_version(),
            "python_executable": sys.executable,
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


def catalogue() -> dict:
    """The track's registry as parbench_bench's `list --json` gives the C++ one (the same
    keys; ./parbench list --json merges the two)."""
    models = [{"name": m.name, "label": m.label, "group": m.group, "launch": "in-process" if m.group != "processes"
               else "fork", "summary": m.summary, "order": m.order, "parallel": m.parallel,
               "task_spawn": m.task_spawn, "limit_cpu": m.limit_cpu, "gil_bound": m.gil_bound, "note": m.note,
               "max_concurrency": m.max_concurrency, "roles": list(m.roles), "track": "python"}
              for m in registry.models()]
    workloads = [{"name": w.name, "category": w.category, "summary": w.summary, "size_meaning": w.size_meaning,
                  "sizes": {"default": w.default_sizes, "quick": w.quick_sizes, "small": w.small_size,
                            "min": w.min_size, "max": w.max_size},
                  "uses_spawn_tasks": w.uses_spawn_tasks, "work_exponent": w.work_exponent,
                  "concurrency_levels": w.concurrency_levels, "unavailable": w.unavailable,
                  "python_only": w.python_only, "releases_gil": w.releases_gil, "cross_language": w.cross_language,
                  "track": "python"} for w in registry.workloads()]
    families = sorted({"/".join(p.name.split("/")[:2]) for p in registry.primitives()})
    return {"parbench_catalogue": 1, "limits": dict(registry.LIMITS), "models": models, "workloads": workloads,
            "primitives": [{"family": family, "track": "python"} for family in families]}


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
            print(json.dumps(catalogue()) if options.json else list_text(options))
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
