"""The building blocks: primitives, inter-process communication, MPI and process synchronisation."""
from __future__ import annotations

from .. import units
from .claims import say
from .document import Report
from .common import Context


def mpi_section(r, analysis: dict) -> None:
    """Message passing through Open MPI beside parbench's own IPC (mpi/ family)."""
    rows_in = analysis["mpi"]
    ipc = analysis.get("ipc") or []
    r.heading("Message passing (MPI)")
    launched = all(row["launched"] for row in rows_in)
    r.text("OSU-style benchmarks of this binary's own ranks: latency is a blocking MPI_Send/MPI_Recv ping-pong "
           "(one way = half a round trip; median and 99th percentile of per-round-trip times), latency_raw the same "
           "loop timed once with MPI_Wtime (the baseline), tcp_latency the same ping-pong over a plain TCP socket "
           "between the same two ranks' hosts (loopback on one host), bandwidth a window of 64 non-blocking sends "
           "then an ack, "
           "and collectives over R ranks. Every payload is verified. "
           + ("The ranks of each run were one mpirun job (shared memory between ranks on a host)."
              if launched else "Some runs used ranks spawned from the benchmark process, which Open MPI joins "
              "over TCP even on one host: their latencies are TCP's, not shared memory's."))

    def pick(benchmark, size, ranks=None):
        return next((x for x in rows_in if x["benchmark"] == benchmark and x["size"] == size
                     and (ranks is None or x["ranks"] == ranks)), None)

    def ipc_one_way(mechanism, size):
        hit = next((i for i in ipc if i["mechanism"] == mechanism and i["mode"] == "pingpong" and i["size"] == size),
                   None)
        return units.microseconds(hit["us_per_message"] / 2) if hit else "–"

    sizes = sorted({x["size"] for x in rows_in if x["benchmark"] == "latency"})
    table = []
    for size in sizes:
        lat, raw, tcp = pick("latency", size), pick("latency_raw", size), pick("tcp_latency", size)
        bw = pick("bandwidth", size)
        table.append([units.byte_size(size),
                      units.microseconds(lat["us_per_iteration"] / 2) if lat else "–",
                      units.microseconds(lat["one_way_us"]) if lat and lat["one_way_us"] is not None else "–",
                      units.microseconds(lat["one_way_p99_us"]) if lat and lat["one_way_p99_us"] is not None else "–",
                      units.microseconds(raw["us_per_iteration"] / 2) if raw else "–",
                      units.microseconds(tcp["one_way_us"]) if tcp and tcp["one_way_us"] is not None else "–",
                      ipc_one_way("pipe", size), ipc_one_way("shm_ring", size),
                      units.bytes_per_second(bw["bytes_per_second"]) if bw else "–"])
    if table:
        r.table(["size", "MPI one way (mean)", "median", "p99", "raw MPI loop, one way (mean)",
                 "TCP between the ranks' hosts, one way (median)", "ipc/pipe, one way",
                 "ipc/shm_ring, one way", "MPI bandwidth"], table, csv="mpi.csv", md_rows=None)
    collectives = [x for x in rows_in if x["benchmark"] in ("allreduce", "bcast", "alltoall", "barrier")]
    if collectives:
        r.text("Collectives (time per call, median):")
        r.table(["collective", "size", "ranks", "time"],
                [[x["benchmark"], units.byte_size(x["size"]) if x["size"] else "–", x["ranks"],
                  units.microseconds(x["us_per_iteration"])] for x in collectives], csv="mpi.csv", md_rows=0)


def primitives_section(r: Report, c: Context) -> None:
    analysis = c.analysis
    plots = c.plots
    tables = analysis.get("primitive_tables", {})
    if tables:
        r.heading("Primitives")
        r.text("The price of the building blocks, each beside a raw baseline in the same run where there is one "
               "(hollow): sync/ locks, semaphores, wake-ups, barriers and latches between threads; queue/ throughput "
               "and hand-off; spawn/ the cost to start one unit of work and see it finish; timer/ how late timers "
               "fire. Every benchmark checks that it did the work it claims. Every figure: "
               "[primitives.csv](primitives.csv).")
        claims = [claim for claim in analysis.get("claims") or [] if claim["section"] == "primitives"]
        r.bullets([say(claim) for claim in claims] or ["no headline figures (families missing)"])
        for prefix, title in (("sync", "Synchronisation"), ("queue", "Queues"), ("spawn", "Spawn ladder"),
                              ("timer", "Timers")):
            if tables.get(prefix):
                r.image(plots / f"primitives_{prefix}.png",
                        f"{title}: " + ("how late does each timer fire (p99 of the samples, no interval)"
                                        if prefix == "timer" else "what does each cost (medians, 95% intervals; a "
                                                                  "raw baseline hollow, where there is one)"),
                        f"plots/primitives_{prefix}.png")


def ipc_section(r: Report, c: Context) -> None:
    analysis = c.analysis
    plots = c.plots
    if analysis.get("ipc"):
        r.heading("Inter-process communication")
        r.text("ipc/<mechanism>/pingpong: one message to a child and back (latency per round trip); "
               "ipc/<mechanism>/stream: one-way messages to a child that checksums them (bandwidth). Every payload "
               "is verified. Latency at the smallest message and bandwidth at the largest (all sizes in ipc.csv):")
        r.image(plots / "ipc.png",
                "Which mechanism passes a message fastest, and which streams the most? IPC by message size",
                "plots/ipc.png")
        ipc = analysis["ipc"]
        mechanisms = sorted({i["mechanism"] for i in ipc})
        smallest, largest = min(i["size"] for i in ipc), max(i["size"] for i in ipc)

        def pick(mechanism, mode, size):
            return next((i for i in ipc if i["mechanism"] == mechanism and i["mode"] == mode and i["size"] == size),
                        None)

        rows = []
        for m in mechanisms:
            ping, stream = pick(m, "pingpong", smallest), pick(m, "stream", largest)
            rows.append([m, units.microseconds(ping["us_per_message"]) if ping else "–",
                         units.bytes_per_second(stream.get("bytes_per_second")) if stream else "–"])
        r.table(["mechanism", f"round trip, {units.byte_size(smallest)}", f"bandwidth, {units.byte_size(largest)}"],
                sorted(rows, key=lambda row: row[0]), csv="ipc.csv", md_rows=None)


def mpi_part(r: Report, c: Context) -> None:
    analysis = c.analysis
    if analysis.get("mpi"):
        mpi_section(r, analysis)


def psync_section(r: Report, c: Context) -> None:
    analysis = c.analysis
    if analysis.get("psync"):
        r.heading("Process synchronisation")
        r.text("Shared counters (atomic vs process-shared mutex, robust mutex, semaphore), ping-pong hand-offs, a "
               "process-shared barrier, and a manager process reached over a socket against a table in shared "
               "memory.")
        r.table(["benchmark", "time per iteration", "per operation", "CV"],
                [[q["benchmark"], units.microseconds(q["us_per_iteration"]), units.nanoseconds(q.get("ns_per_op")),
                  units.percent(q["cv"])] for q in analysis["psync"]], csv="psync.csv", md_rows=0)
