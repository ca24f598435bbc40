"""./parbench plot DIR: charts from DIR/analysis.json into DIR/plots/ (PNG and SVG).

Headless (Agg) and deterministic: the same analysis gives byte-identical files
(fixed SVG hash salt, no dates in the metadata, sorted inputs).
"""
from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from . import UserError  # noqa: E402
from .stats import amdahl_speedup  # noqa: E402

plt.rcParams.update({
    "svg.hashsalt": "parbench", "figure.dpi": 100, "savefig.dpi": 110, "font.size": 9,
    "axes.grid": True, "grid.alpha": 0.3, "axes.titlesize": 10, "legend.fontsize": 8,
})
MODEL_ORDER = ["serial", "threads", "pool", "tbb", "openmp", "processes", "process_pool",
               "coroutines", "coroutines_mt"]
PALETTE = plt.get_cmap("tab10").colors


def model_color(model: str):
    index = MODEL_ORDER.index(model) if model in MODEL_ORDER else len(MODEL_ORDER) + hash(model) % 5
    return PALETTE[index % len(PALETTE)]


def sorted_models(models) -> list[str]:
    return sorted(set(models), key=lambda m: (MODEL_ORDER.index(m) if m in MODEL_ORDER else 99, m))


def save(fig, directory: Path, name: str) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for extension, metadata in (("png", {"Software": None}), ("svg", {"Date": None, "Creator": None})):
        path = directory / f"{name}.{extension}"
        fig.savefig(path, format=extension, metadata=metadata, bbox_inches="tight")
        paths.append(path)
    plt.close(fig)
    return paths


def grid(count: int, width: float = 3.4, height: float = 2.7):
    columns = min(4, max(1, count))
    rows = math.ceil(count / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(width * columns, height * rows), squeeze=False)
    for ax in axes.flat[count:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:count])


def strong_series(analysis: dict) -> dict[str, dict[str, list[dict]]]:
    """workload -> model -> points (largest n of the workload, strong scaling, sorted by p)."""
    points = [p for p in analysis["points"] if p["scaling"] == "strong" and p["workload"] != "granularity"
              and p["category"] in ("cpu", "memory", "unknown")]
    largest_n = {}
    for point in points:
        largest_n[point["workload"]] = max(largest_n.get(point["workload"], 0), point["n"])
    series: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for point in sorted(points, key=lambda p: p["p"]):
        if point["n"] == largest_n[point["workload"]]:
            series[point["workload"]][point["model"]].append(point)
    return series


def mark_cores(ax, analysis: dict) -> None:
    cores = analysis["cores"]["physical"]
    ax.axvline(cores, color="grey", linestyle=":", linewidth=1)


def plot_scaling(analysis: dict, out: Path, key: str, ylabel: str, title: str, name: str) -> list[Path]:
    series = strong_series(analysis)
    if not series:
        return []
    fits = {(f["workload"], f["model"], f["n"]): f for f in analysis["fits"]}
    fig, axes = grid(len(series))
    for ax, workload in zip(axes, sorted(series)):
        ps_all = sorted({p["p"] for pts in series[workload].values() for p in pts})
        for model in sorted_models(series[workload]):
            points = [p for p in series[workload][model] if p.get(key) is not None]
            if not points or (model == "serial" and key != "speedup"):
                continue
            xs = [p["p"] for p in points]
            ys = [p[key] for p in points]
            color = model_color(model)
            if key == "speedup":
                lower = [max(0.0, p[key] - p["speedup_ci"][0]) for p in points]
                upper = [max(0.0, p["speedup_ci"][1] - p[key]) for p in points]
                ax.errorbar(xs, ys, yerr=[lower, upper], marker="o", markersize=3, capsize=2,
                            color=color, label=model, linewidth=1.2)
                fit = fits.get((workload, model, points[0]["n"]))
                serial = series[workload].get("serial")
                if fit and serial and fit["t1_s"]:
                    grid_p = np.linspace(1, max(ps_all), 50)
                    # The fit is of the model's own T(p); scale it to speedup vs
                    # serial, and cap it at the physical cores (no gain beyond).
                    scale = serial[0]["median_s"] / fit["t1_s"]
                    capped = np.minimum(grid_p, analysis["cores"]["physical"])
                    ax.plot(grid_p, scale * amdahl_speedup(capped, fit["serial_fraction"]),
                            linestyle="--", color=color, linewidth=0.8, alpha=0.7)
            else:
                ax.plot(xs, ys, marker="o", markersize=3, color=color, label=model, linewidth=1.2)
        if key == "speedup":
            ax.plot(ps_all, ps_all, color="black", linewidth=0.8, label="ideal")
        elif key == "efficiency":
            ax.axhline(1.0, color="black", linewidth=0.8)
            ax.set_ylim(0, 1.15)
        mark_cores(ax, analysis)
        ax.set_xticks(ps_all)
        ax.set_title(f"{workload} (n={series[workload][next(iter(series[workload]))][0]['n']:,})")
        ax.set_xlabel("workers p")
        ax.set_ylabel(ylabel)
    axes[0].legend(loc="best")
    fig.suptitle(title + f"  (dotted line: {analysis['cores']['physical']} physical cores"
                 + ("; dashed: Amdahl fit, flat beyond the cores" if key == "speedup" else "") + ")")
    fig.tight_layout()
    return save(fig, out, name)


def plot_metg(analysis: dict, out: Path) -> list[Path]:
    curves = analysis.get("granularity_curves", [])
    if not curves:
        return []
    ps = sorted({c["p"] for c in curves})
    fig, axes = grid(len(ps), 4.6, 3.4)
    metg = {(m["model"], m["p"]): m for m in analysis["metg"]}
    for ax, p in zip(axes, ps):
        for curve in sorted(curves, key=lambda c: MODEL_ORDER.index(c["model"]) if c["model"] in MODEL_ORDER else 99):
            if curve["p"] != p:
                continue
            color = model_color(curve["model"])
            entry = metg.get((curve["model"], p), {})
            value = entry.get("metg_us")
            bound = "<= " if entry.get("how") == "below_range" else ""
            label = curve["model"] + (f" (METG {bound}{value:.3g} us)" if value else " (50% not reached)")
            ax.plot(curve["task_us"], curve["efficiency"], marker="o", markersize=3, color=color, label=label)
            if value:
                ax.axvline(value, color=color, linestyle=":", linewidth=0.8)
        ax.axhline(0.5, color="black", linewidth=0.8, linestyle="--")
        ax.set_xscale("log")
        ax.set_ylim(0, 1.15)
        ax.set_xlabel("task duration (us, log scale)")
        ax.set_ylabel("efficiency (serial time / (p x time))")
        ax.set_title(f"granularity at p = {p}")
        ax.legend(loc="lower right")
    fig.suptitle("Minimum effective task granularity: where each model reaches 50% efficiency")
    fig.tight_layout()
    return save(fig, out, "metg")


def plot_heatmap(analysis: dict, out: Path) -> list[Path]:
    cores = analysis["cores"]["physical"]
    series = strong_series(analysis)
    cells = {}
    for workload, models in series.items():
        for model, points in models.items():
            for point in points:
                if point["p"] == cores and point.get("efficiency") is not None and model != "serial":
                    cells[(workload, model)] = point["efficiency"]
    if not cells:
        return []
    workloads = sorted({w for w, _ in cells})
    models = sorted_models(m for _, m in cells)
    matrix = np.full((len(workloads), len(models)), np.nan)
    for (workload, model), value in cells.items():
        matrix[workloads.index(workload), models.index(model)] = value
    fig, ax = plt.subplots(figsize=(1.3 * len(models) + 2.5, 0.42 * len(workloads) + 1.6))
    image = ax.imshow(matrix, cmap="RdYlGn", vmin=0, vmax=1, aspect="auto")
    ax.grid(False)
    ax.set_xticks(range(len(models)), models)
    ax.set_yticks(range(len(workloads)), workloads)
    for i in range(len(workloads)):
        for j in range(len(models)):
            if not np.isnan(matrix[i, j]):
                ax.text(j, i, f"{matrix[i, j]:.2f}", ha="center", va="center", fontsize=8)
    fig.colorbar(image, ax=ax, label="efficiency")
    ax.set_title(f"Efficiency at p = {cores} (serial time / (p x time))")
    fig.tight_layout()
    return save(fig, out, "efficiency_heatmap")


def plot_overhead(analysis: dict, out: Path) -> list[Path]:
    rows = analysis.get("overhead", [])
    if not rows:
        return []
    kinds = sorted({r["kind"] for r in rows})
    fig, axes = plt.subplots(1, len(kinds), figsize=(5.2 * len(kinds), 3.6), squeeze=False)
    for ax, kind in zip(axes.flat, kinds):
        subset = [r for r in rows if r["kind"] == kind]
        models = sorted_models(r["model"] for r in subset)
        ps = sorted({r["p"] for r in subset})
        width = 0.8 / len(ps)
        for k, p in enumerate(ps):
            values = [next((r["ns"] for r in subset if r["model"] == m and r["p"] == p), np.nan) for m in models]
            errors = [next(([r["ns"] - r["ci"][0], r["ci"][1] - r["ns"]] for r in subset
                            if r["model"] == m and r["p"] == p), [0, 0]) for m in models]
            ax.bar(np.arange(len(models)) + (k - (len(ps) - 1) / 2) * width, values, width,
                   yerr=np.array(errors).T, capsize=2, label=f"p = {p}")
        ax.set_yscale("log")
        ax.set_xticks(range(len(models)), models)
        metric = subset[0]["metric"]
        ax.set_ylabel(f"{metric.replace('_', ' ')} (log scale)")
        ax.set_title(f"overhead/{kind}: " + ("cost per empty task" if kind == "tasks" else "cost of an empty region"))
        ax.legend()
    fig.tight_layout()
    return save(fig, out, "overhead")


def plot_gustafson(analysis: dict, out: Path) -> list[Path]:
    rows = analysis.get("gustafson", [])
    if not rows:
        return []
    by_workload: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for row in sorted(rows, key=lambda r: r["p"]):
        by_workload[row["workload"]][row["model"]].append(row)
    fig, axes = grid(len(by_workload))
    for ax, workload in zip(axes, sorted(by_workload)):
        ps = [1]
        for model in sorted_models(by_workload[workload]):
            points = by_workload[workload][model]
            ax.plot([1] + [r["p"] for r in points], [1] + [r["scaled_speedup"] for r in points],
                    marker="o", markersize=3, color=model_color(model), label=model)
            ps += [r["p"] for r in points]
        ax.plot(sorted(set(ps)), sorted(set(ps)), color="black", linewidth=0.8, label="ideal")
        mark_cores(ax, analysis)
        ax.set_xticks(sorted(set(ps)))
        ax.set_title(workload)
        ax.set_xlabel("workers p (work grows with p)")
        ax.set_ylabel("scaled speedup")
    axes[0].legend()
    fig.suptitle("Weak scaling: Gustafson's scaled speedup")
    fig.tight_layout()
    return save(fig, out, "gustafson")


def plot_ipc(analysis: dict, out: Path) -> list[Path]:
    rows = analysis.get("ipc", [])
    if not rows:
        return []
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    panels = (("pingpong", "us_per_message", "round-trip latency (us, log)", "Ping-pong latency"),
              ("stream", "bytes_per_second", "bandwidth (bytes/s, log)", "Streaming bandwidth"))
    for ax, (mode, key, ylabel, title) in zip(axes, panels):
        mechanisms = sorted({r["mechanism"] for r in rows if r["mode"] == mode})
        for index, mechanism in enumerate(mechanisms):
            points = [r for r in rows if r["mode"] == mode and r["mechanism"] == mechanism and r.get(key)]
            ax.plot([r["size"] for r in points], [r[key] for r in points], marker="o", markersize=3,
                    label=mechanism, color=PALETTE[index % len(PALETTE)])
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("message size (bytes, log)")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.legend()
    fig.suptitle("Inter-process communication by mechanism and message size")
    fig.tight_layout()
    return save(fig, out, "ipc")


def plot_io(analysis: dict, out: Path) -> list[Path]:
    """Throughput vs concurrency (log-log) per I/O workload, a line per model."""
    points = [p for p in analysis["points"] if p["category"] == "io" and p.get("throughput")]
    if not points:
        return []
    workloads = sorted({p["workload"] for p in points})
    fig, axes = grid(len(workloads), width=4.2, height=3.2)
    for ax, workload in zip(axes, workloads):
        mine = [p for p in points if p["workload"] == workload]
        for model in sorted_models({p["model"] for p in mine}):
            series = sorted((p for p in mine if p["model"] == model), key=lambda p: p["p"])
            style = dict(marker="o", markersize=3, color=model_color(model), label=model)
            if len(series) == 1:  # serial: one request at a time, a reference level
                ax.axhline(series[0]["throughput"], color=model_color(model), linestyle="--",
                           linewidth=1, label=f"{model} (p = 1)")
                continue
            ax.plot([p["p"] for p in series], [p["throughput"] for p in series], **style)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("concurrency p (requests in flight, log)")
        ax.set_ylabel("throughput (requests/s, log)")
        ax.set_title(workload)
    axes[0].legend(fontsize=7)
    fig.suptitle("I/O workloads: throughput vs concurrency")
    fig.tight_layout()
    return save(fig, out, "io_throughput")


PRIMITIVE_TITLES = {
    "sync": ("Synchronisation between threads", "time per operation (ns, log)"),
    "queue": ("Queues: throughput and hand-off", "time per item or hand-off (ns, log)"),
    "spawn": ("The spawn ladder: start one unit of work and see it finish", "time per unit (ns, log)"),
    "timer": ("Timer lateness (p99 over the samples)", "p99 lateness (us, log)"),
}


def plot_primitives(analysis: dict, out: Path) -> list[Path]:
    """A log-scale bar chart per primitive family; baselines hatched."""
    paths = []
    for prefix, rows in sorted(analysis.get("primitive_tables", {}).items()):
        key = "p99_late_us" if prefix == "timer" else "value"
        rows = [r for r in rows if r.get(key) is not None and r[key] > 0]
        if not rows:
            continue
        if prefix == "spawn":
            rows = sorted(rows, key=lambda r: r[key])  # the ladder, cheapest first
        fig, ax = plt.subplots(figsize=(8, max(2.5, 0.22 * len(rows) + 1)))
        labels = [r["benchmark"] + ("  [baseline]" if r["baseline"] else "") for r in rows]
        colors = ["#999999" if r["baseline"] else PALETTE[0] for r in rows]
        bars = ax.barh(range(len(rows)), [r[key] for r in rows], color=colors)
        for bar, row in zip(bars, rows):
            if row["baseline"]:
                bar.set_hatch("//")
        ax.set_yticks(range(len(rows)))
        ax.set_yticklabels(labels, fontsize=7)
        ax.invert_yaxis()
        ax.set_xscale("log")
        title, xlabel = PRIMITIVE_TITLES.get(prefix, (prefix, "value (log)"))
        ax.set_xlabel(xlabel)
        ax.set_title(title)
        fig.tight_layout()
        paths += save(fig, out, f"primitives_{prefix}")
    return paths


def plot_processes(analysis: dict, out: Path) -> list[Path]:
    """Speedup at p = cores: threads vs processes vs pools, per workload."""
    cores = analysis["cores"]["physical"]
    models = [m for m in ("threads", "pool", "processes", "process_pool")
              if any(p["model"] == m for p in analysis["points"])]
    if not {"processes", "process_pool"} & set(models):
        return []
    series = strong_series(analysis)
    workloads = sorted(w for w in series if any(m in series[w] for m in ("processes", "process_pool")))
    fig, ax = plt.subplots(figsize=(max(7.0, 0.9 * len(workloads) + 2), 4))
    width = 0.8 / len(models)
    for k, model in enumerate(models):
        values = []
        for workload in workloads:
            point = next((p for p in series[workload].get(model, []) if p["p"] == cores), None)
            values.append(point.get("speedup", np.nan) if point else np.nan)
        ax.bar(np.arange(len(workloads)) + (k - (len(models) - 1) / 2) * width, values, width,
               label=model, color=model_color(model))
    ax.axhline(cores, color="black", linewidth=0.8, linestyle="--")
    ax.set_xticks(range(len(workloads)), workloads, rotation=30, ha="right")
    ax.set_ylabel(f"speedup vs serial at p = {cores}")
    ax.set_title(f"Threads vs processes vs pools at p = {cores} (dashed: ideal)")
    ax.legend()
    fig.tight_layout()
    return save(fig, out, "processes")


def load_analysis(directory: Path) -> dict:
    path = directory / "analysis.json"
    if not directory.is_dir():
        raise UserError(f"{directory}: no such directory")
    if not path.exists():
        raise UserError(f"{path}: missing (run ./parbench analyze {directory} first)")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise UserError(f"{path}: malformed JSON ({error.msg} at line {error.lineno})") from None
    if not isinstance(data, dict) or data.get("parbench_analysis") != 1:
        raise UserError(f"{path}: not a parbench analysis")
    return data


def plot_all(directory: Path) -> list[Path]:
    analysis = load_analysis(directory)
    out = directory / "plots"
    paths = []
    paths += plot_scaling(analysis, out, "speedup", "speedup vs serial", "Speedup vs workers", "speedup")
    paths += plot_scaling(analysis, out, "efficiency", "efficiency", "Parallel efficiency vs workers", "efficiency")
    paths += plot_scaling(analysis, out, "karp_flatt", "Karp-Flatt serial fraction e",
                          "Karp-Flatt metric vs workers", "karp_flatt")
    paths += plot_metg(analysis, out)
    paths += plot_heatmap(analysis, out)
    paths += plot_overhead(analysis, out)
    paths += plot_gustafson(analysis, out)
    paths += plot_processes(analysis, out)
    paths += plot_ipc(analysis, out)
    paths += plot_io(analysis, out)
    paths += plot_primitives(analysis, out)
    return paths


def main(directory: str) -> int:
    paths = plot_all(Path(directory))
    print(f"plot: {len(paths)} files in {Path(directory) / 'plots'}")
    return 0
