"""Memory bandwidth, processes against threads, and the I/O workloads."""
from __future__ import annotations

from .. import units
from .document import Report
from .common import Context, _io_backend
from ..catalogue import current
from ..plot.style import group_title, model_groups


def memory_section(r: Report, c: Context) -> None:
    analysis = c.analysis
    cores = c.cores
    memory = analysis.get("memory", [])
    if memory:
        r.heading("Memory bandwidth")
        llc = next((m["llc_bytes"] for m in memory if m.get("llc_bytes")), None)
        r.text("Memory-bound workloads in GB/s (decimal, STREAM's convention), with the working set against the "
               f"last-level cache ({units.byte_size(llc)}): a working set that fits measures the cache, not "
               "memory.")
        fits_llc = sorted({m["workload"] for m in memory if m["fits_llc"]})
        if fits_llc:
            r.text("Warning: the working set of " + ", ".join(fits_llc) + " fits in the last-level cache.")
        at_cores = [m for m in memory if m["p"] == cores["physical"]]
        workloads = sorted({m["workload"] for m in at_cores})
        models = sorted({m["model"] for m in at_cores})
        cell = {(m["workload"], m["model"]): m for m in at_cores}
        r.text(f"At p = {cores['physical']}:")
        working_set = {m["workload"]: m["working_set_bytes"] for m in reversed(at_cores)}
        r.table(["model"] + [f"{w} ({units.byte_size(working_set[w])})" for w in workloads],
                [[model] + [("n/a" if cell[(w, model)].get("limit") else
                             units.bytes_per_second(cell[(w, model)]["bytes_per_second"])) if (w, model) in cell
                            else "–" for w in workloads]
                 for model in sorted(models, key=lambda m: -(cell.get((workloads[0], m), {}).get("bytes_per_second")
                                                             or 0))],
                csv="memory.csv", md_rows=None)


def processes_section(r: Report, c: Context) -> None:
    analysis = c.analysis
    plots = c.plots
    processes = current().in_group("processes")
    processes_points = [p for p in analysis["points"] if p["model"] in processes]
    if processes_points:
        r.heading("Processes")
        r.text("The same workloads on threads, on processes (fork p children per region, as with "
               "multiprocessing.Process) and on a pool of worker processes (as with multiprocessing.Pool). "
               "Processes pay for fork and wait in every region; the pool pays a shared-memory hand-off.")
        r.image(plots / "processes.png", "Speedup at p = cores: the thread models vs the process models",
                "plots/processes.png")


def io_section(r: Report, c: Context) -> None:
    analysis = c.analysis
    env = c.env
    plots = c.plots
    if analysis.get("io"):
        r.heading("I/O workloads")
        r.text(f"{analysis.get('io_method', '')}. Blocking models wait in their workers, so their concurrency is "
               "their worker count (capped per model); the coroutine models keep p requests in flight on event "
               f"loops ({_io_backend(env)}).")
        for group, _ in model_groups({i["model"] for i in analysis["io"]}):
            title = group_title(group)
            if (plots / f"io_throughput_{group}.png").exists():
                r.image(plots / f"io_throughput_{group}.png", f"Throughput vs concurrency (log-log): {title}",
                        f"plots/io_throughput_{group}.png")
        r.table(["workload", "model", "best p", "requests/s", "concurrency reached", "efficiency there"],
                [[i["workload"], i["model"], f"{i['best_p']:,}", units.number(i["throughput"]),
                  units.number(i.get("concurrency_reached")), units.number(i.get("efficiency_at_best"))]
                 for i in analysis["io"]], csv="io.csv", md_rows=8)
