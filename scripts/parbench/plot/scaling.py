"""Scaling charts: speedup and efficiency per model group, Karp-Flatt, the Amdahl bound, the
efficiency heatmap and weak scaling."""
from __future__ import annotations

import textwrap
from collections import defaultdict
from pathlib import Path

import matplotlib
import matplotlib.patches
import matplotlib.pyplot as plt
import numpy as np

from ..modelnames import is_baseline
from .style import (collect, cpp_panels, draw_series, grid, group_title, legend_below, model_color, model_groups,
                    model_marker, save, shade_oversubscribed, sorted_models, strong_series)


def plot_scaling(analysis: dict, out: Path, key: str, ylabel: str, title: str, name: str) -> list[Path]:
    """speedup or efficiency vs p, one panel per workload, one figure per model group."""
    series = strong_series(analysis)
    if not series:
        return []
    threads = analysis["cores"]["hardware_threads"]
    ci_key = "speedup_ci" if key == "speedup" else "efficiency_ci"
    paths = []
    for group, members in model_groups({m for w in series for m in series[w]}):
        workloads = [w for w in sorted(series) if any(m in series[w] for m in members if not is_baseline(m))]
        if not workloads:
            continue
        fig, axes = grid(len(workloads))
        handles: dict = {}
        for ax, workload in zip(axes, workloads):
            ps_all = sorted({p["p"] for model, pts in series[workload].items() if model in members for p in pts})
            shade_oversubscribed(ax, analysis, ps_all)
            limited = []
            for model in sorted_models(m for m in series[workload] if m in members):
                points = series[workload][model]
                if is_baseline(model) and key != "speedup":
                    continue
                if any(p.get("limit") for p in points):
                    limited.append(model)  # named under the title, not drawn: its scaling is n/a
                    continue
                draw_series(ax, points, key, model_color(model), model, threads, ci_key)
            if key == "speedup":
                ideal = [p for p in ps_all]
                ax.plot(ideal, [min(p, analysis["cores"]["physical"]) for p in ideal], color="black",
                        linewidth=0.8, linestyle="--", label="ideal (up to the cores)")
            else:
                ax.axhline(1.0, color="black", linewidth=0.8, linestyle="--")
                highest = max((p.get("efficiency") or 0 for m in members for p in series[workload].get(m, [])
                               if not p.get("limit")), default=1.0)
                ax.set_ylim(0, max(1.2, min(3.0, 1.1 * highest)))
            ax.set_xticks(ps_all)
            # The models whose scaling is n/a go under the title, outside the data.
            shown = next(m for m in members if m in series[workload])
            ax.set_title(f"{workload} (n={series[workload][shown][0]['n']:,})"
                         + ("\n" + textwrap.fill("n/a (serial by design): " + ", ".join(limited), 46)
                            if limited else ""),
                         fontsize=9)
            ax.set_xlabel("workers p")
            ax.set_ylabel(ylabel)
            collect(ax, handles)
        handles["oversubscribed (hollow, shaded)"] = matplotlib.patches.Patch(color="#999999", alpha=0.25)
        legend_below(fig, handles)
        drawn = {label.split(" ")[0] for label in handles}
        fig.suptitle(f"{title}: {group_title(group, drawn)}")
        fig.tight_layout()
        paths += save(fig, out, f"{name}_{group}")
    return paths


def plot_karp_flatt(analysis: dict, out: Path) -> list[Path]:
    """Karp-Flatt e at p up to the physical cores only (beyond them it is arithmetic, not a
    measurement of the code): one dot per model and workload."""
    cores = analysis["cores"]["physical"]
    rows = [p for p in analysis["points"] if p["scaling"] == "strong" and 1 < p["p"] <= cores
            and p.get("karp_flatt") is not None and not p.get("limit") and p["category"] in ("cpu", "memory")
            and p["workload"] != "granularity"]
    if not rows:
        return []
    largest = {}
    for row in rows:
        largest[row["workload"]] = max(largest.get(row["workload"], 0), row["n"])
    rows = [r for r in rows if r["n"] == largest[r["workload"]] and r["p"] == max(q["p"] for q in rows)]
    workloads = sorted({r["workload"] for r in rows})
    models = sorted_models(r["model"] for r in rows)
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(workloads) + 1.6))
    offsets = np.linspace(-0.3, 0.3, len(models)) if len(models) > 1 else [0.0]
    handles: dict = {}
    low, high = -0.3, 1.3  # e beyond 1: slower than serial; such points sit at the edge, labelled
    off_scale: dict[tuple, list] = {}
    for offset, model in zip(offsets, models):
        mine = [r for r in rows if r["model"] == model]
        inside = [r for r in mine if low <= r["karp_flatt"] <= high]
        ax.scatter([r["karp_flatt"] for r in inside], [workloads.index(r["workload"]) + offset for r in inside],
                   color=model_color(model), s=18, label=model, marker=model_marker(model))
        for r in mine:
            if not low <= r["karp_flatt"] <= high:
                edge = high if r["karp_flatt"] > high else low
                y = workloads.index(r["workload"]) + offset
                ax.scatter([edge], [y], color=model_color(model), s=30, marker=">" if edge == high else "<")
                off_scale.setdefault((r["workload"], edge), []).append((model, r["karp_flatt"]))
    # One label per workload and edge (the values of every model off the scale there): one label a
    # model would overlap its neighbours, a fraction of a row apart.
    for (workload, edge), values in off_scale.items():
        ax.annotate(", ".join(f"{model} {value:.1f}" for model, value in values),
                    (edge, workloads.index(workload)), textcoords="offset points",
                    xytext=(-10 if edge == high else 10, 0), ha="right" if edge == high else "left",
                    va="center", fontsize=7, color="#333333",
                    bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.8})
    ax.set_xlim(low - 0.05, high + 0.05)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(range(len(workloads)), workloads)
    ax.invert_yaxis()
    ax.set_xlabel(f"Karp-Flatt serial fraction e at p = {rows[0]['p']} (0: perfect; negative: superlinear)")
    ax.set_title(f"Karp-Flatt at p = {rows[0]['p']} (the physical cores; past them e is arithmetic)")
    collect(ax, handles)
    legend_below(fig, handles, columns=5)
    fig.tight_layout()
    return save(fig, out, "karp_flatt")


def plot_amdahl_efficiency(analysis: dict, out: Path) -> list[Path]:
    """amdahl_* efficiency vs p against the bound of the configured serial fraction."""
    series = strong_series(analysis)
    workloads = [w for w in sorted(series) if w.startswith("amdahl")]
    if not workloads:
        return []
    threads = analysis["cores"]["hardware_threads"]
    cores = analysis["cores"]["physical"]
    fig, axes = grid(len(workloads), 3.6, 2.8)
    handles: dict = {}
    for ax, workload in zip(axes, workloads):
        ps_all = sorted({p["p"] for pts in series[workload].values() for p in pts})
        shade_oversubscribed(ax, analysis, ps_all)
        true_s = next((p.get("true_serial_fraction") for pts in series[workload].values() for p in pts
                       if p.get("true_serial_fraction") is not None), None)
        first_panel = cpp_panels()[0][2]
        for model in sorted_models(m for m in series[workload] if m in first_panel and not is_baseline(m)):
            draw_series(ax, series[workload][model], "efficiency", model_color(model), model, threads, "efficiency_ci")
        if true_s is not None:
            grid_p = np.linspace(1, max(ps_all), 60)
            bound = 1.0 / (np.minimum(grid_p, cores) * true_s + 1 - true_s) * np.minimum(grid_p, cores) / grid_p
            ax.plot(grid_p, bound, color="black", linestyle="--", linewidth=0.9, label="Amdahl bound of the true s")
        ax.set_ylim(0, 1.2)
        ax.set_xticks(ps_all)
        ax.set_title(f"{workload} (s = {true_s})")
        ax.set_xlabel("workers p")
        ax.set_ylabel("efficiency")
        collect(ax, handles)
    legend_below(fig, handles)
    fig.suptitle("amdahl_*: efficiency against the bound its serial fraction allows")
    fig.tight_layout()
    return save(fig, out, "amdahl_efficiency")


def plot_heatmap(analysis: dict, out: Path) -> list[Path]:
    cores = analysis["cores"]["physical"]
    series = strong_series(analysis)
    cells, limited = {}, set()
    for workload, models in series.items():
        for model, points in models.items():
            for point in points:
                if point["p"] == cores and not is_baseline(model):
                    if point.get("limit"):
                        limited.add((workload, model))
                    elif point.get("efficiency") is not None:
                        cells[(workload, model)] = point["efficiency"]
    if not cells:
        return []
    workloads = sorted({w for w, _ in cells} | {w for w, _ in limited})
    models = sorted_models({m for _, m in cells} | {m for _, m in limited})
    matrix = np.full((len(workloads), len(models)), np.nan)
    for (workload, model), value in cells.items():
        matrix[workloads.index(workload), models.index(model)] = value
    fig, ax = plt.subplots(figsize=(1.15 * len(models) + 2.5, 0.42 * len(workloads) + 1.8))
    image = ax.imshow(np.clip(matrix, 0, 1.2), cmap="RdYlGn", vmin=0, vmax=1, aspect="auto")
    ax.grid(False)
    ax.set_xticks(range(len(models)), models, rotation=30, ha="right")
    ax.set_yticks(range(len(workloads)), workloads)
    for i, workload in enumerate(workloads):
        for j, model in enumerate(models):
            if (workload, model) in limited:
                ax.add_patch(matplotlib.patches.Rectangle((j - 0.5, i - 0.5), 1, 1, facecolor="#dddddd",
                                                          hatch="///", edgecolor="#aaaaaa", linewidth=0))
                ax.text(j, i, "n/a", ha="center", va="center", fontsize=7, color="#555555")
            elif not np.isnan(matrix[i, j]):
                ax.text(j, i, f"{matrix[i, j]:.2f}", ha="center", va="center", fontsize=8)
    fig.colorbar(image, ax=ax, label="efficiency")
    ax.set_title(f"Efficiency at p = {cores} (n/a, hatched: serial by design)")
    fig.tight_layout()
    return save(fig, out, "efficiency_heatmap")


def plot_gustafson(analysis: dict, out: Path) -> list[Path]:
    rows = [r for r in analysis.get("gustafson", []) if not r.get("limit")]
    if not rows:
        return []
    by_workload: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for row in sorted(rows, key=lambda r: r["p"]):
        by_workload[row["workload"]][row["model"]].append(row)
    fig, axes = grid(len(by_workload))
    handles: dict = {}
    for ax, workload in zip(axes, sorted(by_workload)):
        ps = [1]
        for model in sorted_models(by_workload[workload]):
            points = by_workload[workload][model]
            trend = len(points) + 1 >= 3  # a line only through 3 or more p
            ax.plot([1] + [r["p"] for r in points], [1] + [r["scaled_speedup"] for r in points],
                    marker=model_marker(model), markersize=4, color=model_color(model), label=model,
                    linestyle="-" if trend else "none")
            ps += [r["p"] for r in points]
        ax.plot(sorted(set(ps)), sorted(set(ps)), color="black", linewidth=0.8, linestyle="--", label="ideal")
        ax.set_xticks(sorted(set(ps)))
        ax.set_title(workload)
        ax.set_xlabel("workers p (work grows with p)")
        ax.set_ylabel("scaled speedup")
        collect(ax, handles)
    legend_below(fig, handles, columns=9)
    fig.suptitle("Weak scaling: Gustafson's scaled speedup (points, no trend line, when only two p exist)")
    fig.tight_layout()
    return save(fig, out, "gustafson")
