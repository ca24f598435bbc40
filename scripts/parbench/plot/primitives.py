"""The building blocks' charts: IPC latency and bandwidth, and one chart per primitive family."""
from __future__ import annotations

import math
import textwrap
from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter

from .. import units
from .style import PALETTE, collect, legend_below, log_ticks, save, time_ticks


def plot_ipc(analysis: dict, out: Path) -> list[Path]:
    """parbench's own IPC mechanisms by message size, and MPI between two ranks beside them (its
    ping-pong round trip and windowed bandwidth, from the mpi/ family) where the sweep ran it."""
    rows = analysis.get("ipc", [])
    if not rows:
        return []
    mpi = {"pingpong": [r for r in analysis.get("mpi") or [] if r["benchmark"] == "latency"],
           "stream": [r for r in analysis.get("mpi") or [] if r["benchmark"] == "bandwidth"]}
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    panels = (("pingpong", "us_per_message", 1.0, "round trip (log)", "Ping-pong latency", time_ticks(1e-6)),
              ("stream", "bytes_per_second", 1e-9, "bandwidth, GB/s (log)", "Streaming bandwidth",
               lambda v, _: units.number(v, 2)))
    handles: dict = {}
    for ax, (mode, key, scale, ylabel, title, formatter) in zip(axes, panels):
        mechanisms = sorted({r["mechanism"] for r in rows if r["mode"] == mode})
        for index, mechanism in enumerate(mechanisms):
            points = [r for r in rows if r["mode"] == mode and r["mechanism"] == mechanism and r.get(key)]
            dodge = 2 ** (0.12 * (index - (len(mechanisms) - 1) / 2))  # equal values stay visible
            ax.plot([r["size"] * dodge for r in points], [r[key] * scale for r in points], marker="o", markersize=4,
                    label=mechanism, color=PALETTE[index % len(PALETTE)])
        mpi_key = "us_per_iteration" if mode == "pingpong" else key
        points = sorted((r for r in mpi[mode] if r.get(mpi_key)), key=lambda r: r["size"])
        if points:
            ax.plot([r["size"] for r in points], [r[mpi_key] * scale for r in points],
                    marker="s", markersize=3,
                    linestyle="--", color="black",
                    label="MPI, 2 ranks (Open MPI)")
        ax.set_xscale("log", base=2)
        sizes = [r["size"] for r in rows if r["mode"] == mode] + [r["size"] for r in points]
        low, high = int(math.log2(min(sizes))), math.ceil(math.log2(max(sizes)))
        ax.set_xticks([2 ** k for k in range(low - low % 2, high + 1, 2)])  # every 4x, from below the smallest
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: units.byte_size(v).replace(".00", "")
                                                   .replace(".0 ", " ")))
        ax.xaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
        ax.tick_params(axis="x", labelsize=8)
        ax.set_yscale("log")
        log_ticks(ax.yaxis, formatter)
        ax.set_xlabel("message size (log)")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        collect(ax, handles)
    legend_below(fig, handles)
    fig.suptitle("Which mechanism passes a message fastest, and which streams the most? IPC by message size")
    fig.tight_layout()
    return save(fig, out, "ipc")


PRIMITIVE_TITLES = {
    "sync": "What does each way of synchronising threads cost?",
    "queue": "What does a queue cost per item (throughput) and per hand-off (latency)?",
    "spawn": "What does it cost to start one unit of work and see it finish?",
    "timer": "How late does each timer fire? (p99 per wake-up; periodic timers' drift: primitives.csv)",
}
PRIMITIVE_UNITS = {
    "sync": "time per operation (lock + unlock, post + wait, one barrier; event/*/pingpong: a round trip; "
            "condvar/producer_consumer: an item)",
    "queue": "time per item (throughput rows) or per hand-off (handoff rows)",
    "spawn": "time per spawn + join",
    "timer": "p99 lateness over the samples",
}


def _subfamily(row: dict) -> str:
    parts = row["family"].split("/")
    return "/".join(parts[:2]) if parts[0] != "spawn" else "spawn"


def _numeric_args(row: dict) -> tuple:
    return tuple(v if isinstance(v, (int, float)) else float("inf") for v in row["args"].values())


def _label(row: dict, prefix: str, threads: int) -> str:
    """A row's name as the chart shows it: the benchmark without its family prefix, a count of
    threads beyond the machine's marked as oversubscribed."""
    label = row["benchmark"].split("/", 1)[1] if prefix != "spawn" else row["benchmark"]
    keys = ("nthreads", "producers", "consumers", "threads", "readers", "writers")
    counts = [int(v) for k, v in row["args"].items() if k in keys and isinstance(v, (int, float))]
    together = "producers" in row["args"] or "readers" in row["args"]  # each side has threads of its own
    if counts and (sum(counts) if together else max(counts)) > threads:
        label += " (oversubscribed)"
    return label + (" [raw baseline]" if row["baseline"] else "")


def plot_primitives(analysis: dict, out: Path) -> list[Path]:
    """A dot chart per primitive family: one row per benchmark, grouped by sub-family (one colour
    each), sorted numerically by their arguments (the spawn ladder: by measured median), 95%
    intervals, raw baselines hollow; a log axis only over more than a decade."""
    paths = []
    threads = analysis["cores"]["hardware_threads"]
    for prefix, rows in sorted(analysis.get("primitive_tables", {}).items()):
        key = "p99_late_us" if prefix == "timer" else "value"
        rows = [r for r in rows if r.get(key) is not None and r[key] > 0]
        if not rows:
            continue
        if prefix == "spawn":
            rows = sorted(rows, key=lambda r: r[key])
        else:
            rows = sorted(rows, key=lambda r: (_subfamily(r), r["family"], _numeric_args(r)))
        groups = list(dict.fromkeys(_subfamily(r) for r in rows))
        fig, ax = plt.subplots(figsize=(9.5, max(2.5, 0.24 * len(rows) + 1.4)))
        values = [r[key] for r in rows]
        for index, row in enumerate(rows):
            color = PALETTE[groups.index(_subfamily(row)) % len(PALETTE)]
            error = None
            if key == "value":
                error = [[max(0.0, row["value"] - row["ci"][0])], [max(0.0, row["ci"][1] - row["value"])]]
            ax.errorbar([row[key]], [index], xerr=error, marker="o", markersize=5, color=color, capsize=2,
                        elinewidth=0.9, linestyle="none", markerfacecolor="white" if row["baseline"] else color)
        ax.set_yticks(range(len(rows)), [_label(r, prefix, threads) for r in rows], fontsize=8)
        ax.invert_yaxis()
        logarithmic = max(values) / min(values) > 10  # a log axis only over more than a decade
        ticks = time_ticks(1e-6) if prefix == "timer" else time_ticks(1e-9)
        if logarithmic:
            ax.set_xscale("log")
            ax.set_xlim(10 ** math.floor(math.log10(min(values) * 0.9)), 10 ** math.ceil(math.log10(max(values) * 1.1)))
            log_ticks(ax.xaxis, ticks)  # whole decades at both ends: a labelled tick past every value
        else:
            ax.xaxis.set_major_formatter(FuncFormatter(ticks))
        unit = textwrap.fill(PRIMITIVE_UNITS.get(prefix, "time"), 80)
        ax.set_xlabel(unit + "\n(" + ("log scale; " if logarithmic else "")
                      + ("" if prefix == "timer" else "medians, 95% intervals; ") + "hollow: raw baseline)")
        ax.set_title(PRIMITIVE_TITLES.get(prefix, prefix))
        fig.tight_layout()
        paths += save(fig, out, f"primitives_{prefix}")
    return paths
