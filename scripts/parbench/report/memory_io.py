"""Memory bandwidth, processes against threads, and the I/O workloads."""
from __future__ import annotations

import math

from .. import units
from .claims import FLAG_MARK, marked, say
from .document import MD_TABLE_ROWS, Report
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
        r.text(f"At p = {cores['physical']}. A model's GB/s is memory's only where its p = 1 runs within 10% of "
               f"the serial model's time; elsewhere the cell names what set the time. {FLAG_MARK}: a high-severity "
               "suspicious value.")
        working_set = {m["workload"]: m["working_set_bytes"] for m in reversed(at_cores)}
        r.table(["model"] + [f"{w} ({units.byte_size(working_set[w])})" for w in workloads],
                [[model] + [_bandwidth(cell.get((w, model))) for w in workloads]
                 for model in sorted(models, key=lambda m: -(_shown(cell.get((workloads[0], m))) or 0))],
                csv="memory.csv", md_rows=None)
        dominated = [m for m in at_cores if m.get("dominated") and not m.get("limit")]
        if dominated:
            r.text("n/a cells: " + "; ".join(f"{m['workload']} / {m['model']} {m['dominated']['cause'].split(':')[0]}"
                                             for m in dominated)
                   + ": page faults of fresh shared memory (or messages), not memory, set their time.")
    _numa_part(r, c)


def _numa_part(r: Report, c: Context) -> None:
    """Interleaved pages beside first touch, per node count (analysis/claims.py numa_claims), the
    largest differences first."""
    claims = [claim for claim in c.analysis.get("claims", []) if claim["topic"] == "numa"]
    if not claims:
        r.text("Pages by first touch: each on the NUMA node of the worker that first wrote it (the workloads "
               "initialise through their model). Interleaved pages are set beside them where the sweep ran them "
               "(numa = \"auto\": on 2 or more NUMA nodes).")
        return
    rate = {(m["workload"], m["model"], m["n"], m["p"]): m.get("bytes_per_second")
            for m in c.analysis.get("memory", [])}
    nodes = max(claim["numa"]["interleaved_over"] for claim in claims)
    test = claims[0]["test"]
    r.text("Page placement: model+interleave is the same run with its pages interleaved over every NUMA node the "
           "process may use (libnuma), against first touch (each page on the node of the worker that first wrote "
           "it: the workloads initialise through their model), same model, binding, n and p. "
           + ("**This machine has 1 NUMA node: interleaving puts every page where first touch does, so each row "
              "compares two runs of the same placement (a check of the noise, not a NUMA effect).** "
              if nodes <= 1 else "")
           + f"{test[:1].upper() + test[1:]}; GB/s are medians. Workers' nodes: the nodes the binding policy's "
           f"CPUs for p workers are on, of the {nodes} the pages are dealt over"
           + ("; OS: placed by the OS, not known." if any(claim["numa"]["workers_span"] is None for claim in claims)
              else "."))
    rows = []
    for claim in sorted(claims, key=lambda claim: -abs(math.log(claim["figure"]))):
        first, interleaved = claim["subjects"]
        where = claim["numa"]
        spans = where["workers_span"]
        rows.append([where["workload"], first, where["p"], f"{spans} of {nodes}" if spans else "OS",
                     units.bytes_per_second(rate.get((where["workload"], first, where["n"], where["p"]))),
                     units.bytes_per_second(rate.get((where["workload"], interleaved, where["n"], where["p"]))),
                     say(claim)])
    r.table(["workload", "model", "p", "workers' nodes", "first touch", "interleaved", "time: test"], rows,
            csv="claims.csv", md_rows=MD_TABLE_ROWS)


def _shown(row: dict | None) -> float | None:
    """The bandwidth a row may show: none where the model's limit or another cost sets its time."""
    if row is None or row.get("limit") or row.get("dominated"):
        return None
    return row.get("bytes_per_second")


def _bandwidth(row: dict | None) -> str:
    if row is None:
        return "–"
    if row.get("limit"):
        return "n/a: built-in limit"
    if row.get("dominated"):
        return f"n/a: {row['dominated']['label']} (p = 1 at {row['dominated']['p1_over_serial']:.2g}x serial)"
    return marked(units.bytes_per_second(row["bytes_per_second"]), row.get("flags"))


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
        r.image(plots / "processes.png",
                "What do processes cost against threads? Speedup at p = cores, the threads group vs the processes "
                "group",
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
                r.image(plots / f"io_throughput_{group}.png",
                        f"Which model serves the most requests at each concurrency? Throughput vs concurrency: {title}",
                        f"plots/io_throughput_{group}.png")
        flagged = {(p["workload"], p["model"]) for p in analysis["points"] if p.get("flags")}
        r.table(["workload", "model", "best p", "requests/s", "concurrency reached", "efficiency there"],
                [[i["workload"], i["model"], f"{i['best_p']:,}",
                  marked(units.number(i["throughput"]), (i["workload"], i["model"]) in flagged),
                  units.number(i.get("concurrency_reached")), units.number(i.get("efficiency_at_best"))]
                 for i in analysis["io"]], csv="io.csv", md_rows=MD_TABLE_ROWS)
