"""I/O throughput against concurrency, and threads against processes."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from ..catalogue import current
from ..modelnames import is_baseline
from .style import (model_marker, collect, grid, group_title, legend_below, log_ticks, model_color, model_groups, save,
                    sorted_models, strong_series)


def plot_io(analysis: dict, out: Path) -> list[Path]:
    """Throughput vs concurrency (log-log) per I/O workload, a line per model; one figure per
    model group (at most six lines a panel), the serial model as a reference level in both."""
    points = [p for p in analysis["points"] if p["category"] == "io" and p.get("throughput")]
    if not points:
        return []
    paths = []
    for group, members in model_groups({p["model"] for p in points}):
        workloads = sorted({p["workload"] for p in points if p["model"] in members})
        if not workloads:
            continue
        fig, axes = grid(len(workloads), width=4.2, height=3.2, columns=3)
        handles: dict = {}
        for ax, workload in zip(axes, workloads):
            mine = [p for p in points if p["workload"] == workload and p["model"] in members]
            models = sorted_models({p["model"] for p in mine})
            for index, model in enumerate(models):
                series = sorted((p for p in mine if p["model"] == model), key=lambda p: p["p"])
                if len(series) == 1:  # serial: one request at a time, a reference level
                    ax.axhline(series[0]["throughput"], color=model_color(model), linestyle="--", linewidth=1,
                               label=f"{model} (p = 1)")
                    continue
                dodge = 1 + 0.12 * (index - (len(models) - 1) / 2)  # equal values stay visible
                ax.plot([p["p"] * dodge for p in series], [p["throughput"] for p in series], marker=model_marker(model),
                        markersize=5,
                        color=model_color(model), label=model)
            ax.set_xscale("log")
            log_ticks(ax.xaxis, lambda v, _: f"{v:,.0f}")
            values = [p["throughput"] for p in mine]
            logarithmic = max(values) / min(values) > 10  # a log axis only over more than a decade
            if logarithmic:
                ax.set_yscale("log")
                log_ticks(ax.yaxis)
                ax.set_ylim(min(values) / 1.3, max(values) * 1.3)  # room for a labelled tick past the data
            else:
                ax.set_ylim(0, max(values) * 1.1)
            ax.set_xlabel("concurrency p (requests in flight, log)")
            ax.set_ylabel("requests/s" + (" (log)" if logarithmic else ""))
            missing = [m for m in sorted_models(members) if m not in models and not is_baseline(m)]
            ax.set_title(workload + (f"\n(not run: {', '.join(missing)})" if missing else ""), fontsize=9)
            collect(ax, handles)
        legend_below(fig, handles, columns=5)
        drawn = {label.split(" ")[0] for label in handles}
        fig.suptitle("Which model serves the most requests at each concurrency? Throughput vs concurrency\n"
                     f"{group_title(group, drawn)} (a line ends where the model's concurrency is capped)")
        fig.tight_layout()
        paths += save(fig, out, f"io_throughput_{group}")
    return paths


def plot_processes(analysis: dict, out: Path) -> list[Path]:
    """Speedup at p = cores: the C++ thread models against the process models, per workload."""
    cores = analysis["cores"]["physical"]
    processes = current().in_group("processes")
    models = [m for m in current().in_group("threads") + processes if any(p["model"] == m for p in analysis["points"])]
    if not set(processes) & set(models):
        return []
    series = strong_series(analysis)
    workloads = sorted(w for w in series if any(m in series[w] for m in processes))
    fig, ax = plt.subplots(figsize=(max(7.0, 0.9 * len(workloads) + 2), 4))
    width = 0.8 / len(models)
    for k, model in enumerate(models):
        values, limited, errors = [], [], [[], []]
        for index, workload in enumerate(workloads):
            point = next((p for p in series[workload].get(model, []) if p["p"] == cores), None)
            value = point.get("speedup", np.nan) if point and not point.get("limit") else np.nan
            if point and point.get("limit"):
                limited.append(index)
            values.append(value)
            ci = (point or {}).get("speedup_ci") or [value, value]
            errors[0].append(max(0.0, value - ci[0]) if np.isfinite(value) else 0.0)
            errors[1].append(max(0.0, ci[1] - value) if np.isfinite(value) else 0.0)
        x = np.arange(len(workloads)) + (k - (len(models) - 1) / 2) * width
        ax.bar(x, values, width, label=model, color=model_color(model), yerr=errors, capsize=1.5,
               error_kw={"elinewidth": 0.8})
        for index in limited:  # a light hatched column, not a bar: the model's built-in limit leaves no figure
            ax.axvspan(x[index] - width / 2, x[index] + width / 2, facecolor="none", edgecolor="#bbbbbb",
                       hatch="////", linewidth=0)
    ax.axhline(cores, color="black", linewidth=0.8, linestyle="--")
    ax.set_xticks(range(len(workloads)), workloads, rotation=30, ha="right")
    ax.set_ylabel(f"speedup vs serial at p = {cores}")
    ax.set_title(f"What do processes cost against threads? Speedup at p = {cores}, 95% intervals\n"
                 "(dashed: ideal; a hatched column: n/a, a built-in limit of the model, see Scaling)")
    handles: dict = {}
    collect(ax, handles)
    legend_below(fig, handles)
    fig.tight_layout()
    return save(fig, out, "processes")
