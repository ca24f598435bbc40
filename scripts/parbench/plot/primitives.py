"""The building blocks' charts: IPC latency and bandwidth, and one chart per primitive family."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
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
            ax.plot([r["size"] for r in points], [r[key] * scale for r in points], marker="o", markersize=3,
                    label=mechanism, color=PALETTE[index % len(PALETTE)])
        mpi_key = "us_per_iteration" if mode == "pingpong" else key
        points = sorted((r for r in mpi[mode] if r.get(mpi_key)), key=lambda r: r["size"])
        if points:
            ax.plot([r["size"] for r in points], [r[mpi_key] * scale for r in points], marker="s", markersize=3,
                    linestyle="--", color="black", label="MPI, 2 ranks (Open MPI)")
        ax.set_xscale("log", base=2)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: units.byte_size(v).replace(".00", "")))
        ax.set_yscale("log")
        log_ticks(ax.yaxis, formatter)
        ax.set_xlabel("message size (log)")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        collect(ax, handles)
    legend_below(fig, handles)
    fig.suptitle("Inter-process communication by mechanism and message size")
    fig.tight_layout()
    return save(fig, out, "ipc")


PRIMITIVE_TITLES = {
    "sync": "Synchronisation between threads",
    "queue": "Queues: throughput and hand-off",
    "spawn": "The spawn ladder: start one unit of work and see it finish",
    "timer": "Timer lateness (p99 over the samples)",
}


def _subfamily(row: dict) -> str:
    parts = row["family"].split("/")
    return "/".join(parts[:2]) if parts[0] != "spawn" else "spawn"


def _numeric_args(row: dict) -> tuple:
    return tuple(v if isinstance(v, (int, float)) else float("inf") for v in row["args"].values())


def plot_primitives(analysis: dict, out: Path) -> list[Path]:
    """A log-scale bar chart per primitive family: bars grouped by sub-family (one colour each),
    sorted numerically by their arguments (the spawn ladder: by measured median), 95% intervals,
    raw baselines hatched."""
    paths = []
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
        fig, ax = plt.subplots(figsize=(8.5, max(2.5, 0.2 * len(rows) + 1.2)))
        colors = [PALETTE[groups.index(_subfamily(r)) % len(PALETTE)] for r in rows]
        values = [r[key] for r in rows]
        errors = None
        if key == "value":
            errors = np.clip(np.array([[r["value"] - r["ci"][0], r["ci"][1] - r["value"]] for r in rows]).T, 0, None)
        bars = ax.barh(range(len(rows)), values, color=colors, xerr=errors, capsize=1.5,
                       error_kw={"elinewidth": 0.8})
        for bar, row in zip(bars, rows):
            if row["baseline"]:
                bar.set_hatch("//")
                bar.set_alpha(0.6)
        ax.set_yticks(range(len(rows)), [r["benchmark"].split("/", 1)[1] if prefix != "spawn" else
                                         r["benchmark"] for r in rows], fontsize=7)
        ax.invert_yaxis()
        ax.set_xscale("log")
        log_ticks(ax.xaxis, time_ticks(1e-6) if prefix == "timer" else time_ticks(1e-9))
        ax.set_xlabel(("p99 lateness" if prefix == "timer" else "time per operation, item or unit")
                      + " (log scale; hatched: raw baseline)")
        ax.set_title(PRIMITIVE_TITLES.get(prefix, prefix))
        fig.tight_layout()
        paths += save(fig, out, f"primitives_{prefix}")
    return paths
