"""Task charts: efficiency against task length (METG) and the overheads per model."""
from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from ..catalogue import current
from .style import (model_marker, collect, grid, legend_below, log_ticks, model_color, model_linestyle, save,
                    sorted_models, time_ticks)


def plot_metg(analysis: dict, out: Path) -> list[Path]:
    curves = analysis.get("granularity_curves", [])
    if not curves:
        return []
    threads = analysis["cores"]["hardware_threads"]
    # oversubscribed p: efficiency cannot pass cores / p there, so 50% may be out of reach by design
    ps = sorted({c["p"] for c in curves if c["p"] <= threads}) or sorted({c["p"] for c in curves})
    left_out = sorted({c["p"] for c in curves} - set(ps))
    fig, axes = grid(len(ps), 4.6, 3.4)
    metg = {(m["model"], m["p"]): m for m in analysis["metg"]}
    handles: dict = {}
    for ax, p in zip(axes, ps):
        mine = sorted((c for c in curves if c["p"] == p), key=lambda c: current().order_key(c["model"]))
        at_most = []  # efficient at the shortest task measured: named, not stacked on one spot
        for index, curve in enumerate(mine):
            color = model_color(curve["model"])
            dodge = 1 + 0.09 * (index - (len(mine) - 1) / 2)  # equal curves stay visible
            ax.plot([t * dodge for t in curve["task_us"]], curve["efficiency"], marker=model_marker(curve["model"]),
                    markersize=4, color=color, linestyle=model_linestyle(curve["model"]), label=curve["model"])
            entry = metg.get((curve["model"], p), {})
            if entry.get("how") == "below_range":
                at_most.append(curve["model"])
            elif entry.get("metg_us"):  # the model's own marker, large, on the 50% line
                ax.plot([entry["metg_us"]], [0.5], marker=model_marker(curve["model"]), color=color, markersize=9,
                        linestyle="none", markeredgecolor="black", markeredgewidth=0.6, zorder=5)

        ax.axhline(0.5, color="black", linewidth=0.8, linestyle="--")
        ax.set_xscale("log")
        log_ticks(ax.xaxis, time_ticks(1e-6))
        ax.set_ylim(0, 1.2)
        ax.set_xlabel("task length (log scale)")
        ax.set_ylabel("efficiency")
        limited = sorted({m["model"] for m in analysis["metg"] if m["p"] == p and m.get("limit")})
        ax.set_title(f"granularity at p = {p}" + (" (oversubscribed)" if p > analysis["cores"]["hardware_threads"]
                                                  else "")
                     + ("\n" + textwrap.fill("METG below the shortest task: " + ", ".join(at_most), 60)
                        if at_most else "")
                     + ("\n" + textwrap.fill("n/a (built-in limit): " + ", ".join(limited), 60) if limited else ""),
                     fontsize=9)
        collect(ax, handles)
    legend_below(fig, handles, columns=8)
    fig.suptitle("How short can a task be before a model wastes half the cores? Efficiency vs task length\n"
                 "(large marker on the dashed 50% line: the model's METG"
                 + (f"; p = {', '.join(map(str, left_out))} not drawn: oversubscribed, efficiency at most cores / p, "
                    "in metg.csv" if left_out else "") + ")")
    fig.tight_layout()
    return save(fig, out, "metg")


# The worker counts of a bar group: greys from light to dark, never a model's colour.
P_SHADES = ("#d9d9d9", "#969696", "#525252", "#252525")
P_MARKERS = ("o", "s", "D", "^")


def plot_overhead(analysis: dict, out: Path) -> list[Path]:
    rows = analysis.get("overhead", [])
    if not rows:
        return []
    kinds = sorted({r["kind"] for r in rows})
    heights = [len({r["model"] for r in rows if r["kind"] == k}) for k in kinds]
    fig, axes = plt.subplots(1, len(kinds), figsize=(6.2 * len(kinds), 0.42 * max(heights) + 1.8), squeeze=False)
    handles: dict = {}
    for ax, kind in zip(axes.flat, kinds):
        subset = [r for r in rows if r["kind"] == kind]
        models = sorted_models(r["model"] for r in subset)
        ps = sorted({r["p"] for r in subset})
        height = 0.8 / len(ps)
        for k, p in enumerate(ps):
            found = [next((r for r in subset if r["model"] == m and r["p"] == p), None) for m in models]
            values = [r["ns"] if r else np.nan for r in found]
            errors = np.array([[r["ns"] - r["ci"][0], r["ci"][1] - r["ns"]] if r else [0, 0] for r in found]).T
            # dots, not bars: on a log axis a bar's length would depend on where the axis starts
            ax.errorbar(values, np.arange(len(models)) + (k - (len(ps) - 1) / 2) * height,
                        xerr=np.clip(errors, 0, None), capsize=2, linestyle="none",
                        marker=P_MARKERS[k % len(P_MARKERS)],
                        markersize=5, color=P_SHADES[k % len(P_SHADES)], markeredgecolor="black", markeredgewidth=0.6,
                        elinewidth=0.9, ecolor="black",
                        markerfacecolor="white" if p > analysis["cores"]["hardware_threads"] else P_SHADES[k],
                        label=f"p = {p}" + (" (oversubscribed)" if p > analysis["cores"]["hardware_threads"] else ""))
        ax.set_xscale("log")
        log_ticks(ax.xaxis, time_ticks(1e-9))
        ax.set_yticks(range(len(models)), models)
        ax.invert_yaxis()
        ax.set_xlabel(("time per empty task" if kind == "tasks" else "time per empty region")
                      + " (log scale; medians, 95% intervals)")
        ax.set_title(f"overhead/{kind}: " + ("spawn 10,000 empty tasks one by one" if kind == "tasks"
                                             else "one parallel_for of p empty chunks"))
        ax.grid(True, axis="y", alpha=0.15)
        collect(ax, handles)
    legend_below(fig, handles)
    fig.suptitle("What does a region or a task cost on each model?")
    fig.tight_layout()
    return save(fig, out, "overhead")
