"""./parbench plot DIR: charts from DIR/analysis.json into DIR/plots/ (PNG and SVG).

Headless (Agg) and deterministic: the same analysis gives byte-identical files
(fixed SVG hash salt, no dates in the metadata, sorted inputs).

Readable in ten seconds: legends sit outside the data (below the panels), a
panel holds at most six lines (models are drawn in two groups), oversubscribed
points (more workers than hardware threads) sit in a shaded region with hollow
markers and are not joined to the trend, error bars appear where the CV
exceeds 5%, log axes carry labelled ticks, and a point a model cannot run in
parallel by design is not drawn as if it were slow (grey "n/a" in the heatmap).
"""
from __future__ import annotations

import io
import sys
import json
import textwrap
import math
from collections import defaultdict
from pathlib import Path

import matplotlib

# Matplotlib's own defaults, not a matplotlibrc of the folder the user stands in (which it reads
# first: a downloaded results folder could restyle or hide the data): the charts are the same
# wherever they are drawn.
matplotlib.rcdefaults()
matplotlib.use("Agg")
import matplotlib.patches  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter  # noqa: E402

from . import UserError, units  # noqa: E402
from .modelnames import is_baseline, split_tag, track_of  # noqa: E402
from .util import atomic_write_bytes, atomic_write_text, load_json, make_folder, refuse_linked_subfolders  # noqa: E402

plt.rcParams.update({
    "svg.hashsalt": "parbench", "figure.dpi": 100, "savefig.dpi": 110, "font.size": 9,
    "axes.grid": True, "grid.alpha": 0.3, "axes.titlesize": 10, "legend.fontsize": 8,
})
PYTHON_MODELS = ("py_serial", "py_threads", "py_thread_pool", "py_processes", "py_process_pool", "py_asyncio")
MODEL_ORDER = ["serial", "threads", "pool", "tbb", "openmp", "processes", "process_pool",
               "coroutines", "coroutines_mt", "mpi", *PYTHON_MODELS]
# Groups of at most six lines: the thread-based models, the rest of the C++ ones, and the
# Python track (whose sizes are its own, so its panels are apart).
MODEL_GROUPS = (("threads", ("serial", "threads", "pool", "tbb", "openmp")),
                ("others", ("serial", "processes", "process_pool", "coroutines", "coroutines_mt", "mpi")),
                ("python", PYTHON_MODELS))
GROUP_TITLES = {"threads": "threads, pool, oneTBB, OpenMP",
                "others": "processes, process pool, coroutines, MPI",
                "python": "Python track (against py_serial): threads, thread pool, processes, process pool, asyncio"}


def model_groups(models) -> list[tuple[str, tuple]]:
    """MODEL_GROUPS, the Python group holding every py_ model of the first interpreter (a new
    Python model is drawn without being named here), then a group per other interpreter
    ("python-3.13": its py_<model>@3.13 models, against its own py_serial)."""
    python = tuple(sorted_models(m for m in models if track_of(m) == "python"))
    groups = [(group, python if group == "python" else members) for group, members in MODEL_GROUPS]
    for tag in sorted({split_tag(m)[1] for m in models if track_of(m).startswith("python@")}):
        groups.append((f"python-{tag}", tuple(sorted_models(m for m in models if track_of(m) == f"python@{tag}"))))
    return groups


def group_title(group: str) -> str:
    if group.startswith("python-"):
        tag = group.removeprefix("python-")
        return f"Python {tag} track (against py_serial@{tag}): " + ", ".join(
            m.removeprefix("py_") for m in PYTHON_MODELS[1:])
    return GROUP_TITLES[group]
PALETTE = plt.get_cmap("tab10").colors
CV_ERROR_BARS = 0.05


def model_color(model: str):
    base = split_tag(model.split(" ")[0])[0]
    index = MODEL_ORDER.index(base) if base in MODEL_ORDER else len(MODEL_ORDER) + sum(map(ord, base)) % 5
    return PALETTE[index % len(PALETTE)]


def model_linestyle(model: str) -> str:
    """Where both tracks share an axis, the Python models are dashed (another interpreter's
    dotted): their colours repeat the C++ models' (py_threads is threads' colour)."""
    track = track_of(model.split(" ")[0])
    return "-" if track == "cpp" else "--" if track == "python" else ":"


def sorted_models(models) -> list[str]:
    def order(model):
        base = split_tag(model.split(" ")[0])[0]
        return MODEL_ORDER.index(base) if base in MODEL_ORDER else 99
    return sorted(set(models), key=lambda m: (order(m), m))


def save(fig, directory: Path, name: str) -> list[Path]:
    make_folder(directory)
    paths = []
    for extension, metadata in (("png", {"Software": None}), ("svg", {"Date": None, "Creator": None})):
        path = directory / f"{name}.{extension}"
        # drawn in memory, then put in place whole (a full disk leaves the old figure or
        # none, never half of one; a link planted in its place is replaced, not followed)
        buffer = io.BytesIO()
        fig.savefig(buffer, format=extension, metadata=metadata, bbox_inches="tight")
        atomic_write_bytes(path, buffer.getvalue())
        paths.append(path)
    plt.close(fig)
    return paths


def grid(count: int, width: float = 3.4, height: float = 2.7, columns: int = 4):
    columns = min(columns, max(1, count))
    rows = math.ceil(count / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(width * columns, height * rows), squeeze=False)
    for ax in axes.flat[count:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:count])


def legend_below(fig, handles_labels: dict, columns: int = 6) -> None:
    """One legend for the figure, below the panels: never over data; models in their usual
    order, then the reference lines."""
    if handles_labels:
        labels = sorted(handles_labels, key=lambda label: (MODEL_ORDER.index(label.split(" ")[0])
                                                           if label.split(" ")[0] in MODEL_ORDER else 99))
        fig.legend([handles_labels[label] for label in labels], labels, loc="upper center",
                   bbox_to_anchor=(0.5, 0.0), ncol=min(columns, len(labels)), frameon=False)


def collect(ax, store: dict) -> None:
    for handle, label in zip(*ax.get_legend_handles_labels()):
        store.setdefault(label, handle)


def log_ticks(axis, formatter=None) -> None:
    """Labelled ticks on a log axis (a bare one can show a single label): at 1, 2 and 5 x 10^k
    over up to two decades, at every decade beyond, so that labels never collide."""
    axis.axes.autoscale_view()
    low, high = axis.get_view_interval()
    decades = math.log10(high / low) if low > 0 and high > low else 1
    subs = (1.0, 2.0, 5.0) if decades <= 2.2 else (1.0,) if decades <= 6 else (1.0,)
    axis.set_major_locator(LogLocator(base=10, subs=subs, numticks=12 if decades <= 6 else 7))
    axis.set_minor_formatter(NullFormatter())
    axis.set_major_formatter(FuncFormatter(formatter or (lambda v, _: units.number(v, 2))))


def time_ticks(scale: float):
    """Tick labels for an axis in units of `scale` seconds: '10 ns', '1 us'."""
    return lambda v, _: units.compact_seconds(v * scale)


def strong_series(analysis: dict) -> dict[str, dict[str, list[dict]]]:
    """workload -> model -> points (largest n of the workload, strong scaling, sorted by p)."""
    points = [p for p in analysis["points"] if p["scaling"] == "strong" and p["workload"] != "granularity"
              and p["category"] in ("cpu", "memory", "unknown")]
    largest_n = {}  # per workload and track: the Python track's sizes are its own
    for point in points:
        key = (point["workload"], track_of(point["model"]))
        largest_n[key] = max(largest_n.get(key, 0), point["n"])
    series: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for point in sorted(points, key=lambda p: p["p"]):
        if point["n"] == largest_n[(point["workload"], track_of(point["model"]))]:
            series[point["workload"]][point["model"]].append(point)
    return series


def shade_oversubscribed(ax, analysis: dict, ps: list[int]) -> None:
    """Shades the p beyond the hardware threads, from halfway between the last p within them
    and the first beyond."""
    threads = analysis["cores"]["hardware_threads"]
    inside = [p for p in ps if p <= threads]
    beyond = [p for p in ps if p > threads]
    if beyond:
        start = (max(inside) + min(beyond)) / 2 if inside else min(beyond) * 0.9
        ax.axvspan(start, max(beyond) * 1.1, color="#999999", alpha=0.12, linewidth=0)


def draw_series(ax, points: list[dict], key: str, color, label: str, threads: int, ci_key: str | None = None):
    """The trend up to the hardware threads as a line; oversubscribed points as hollow markers."""
    inside = [p for p in points if p["p"] <= threads and p.get(key) is not None]
    outside = [p for p in points if p["p"] > threads and p.get(key) is not None]
    for group, filled in ((inside, True), (outside, False)):
        if not group:
            continue
        xs, ys = [p["p"] for p in group], [p[key] for p in group]
        noisy = ci_key and any(p["cv"] > CV_ERROR_BARS and p.get(ci_key) for p in group)
        style = dict(marker="o", markersize=4, color=color, linewidth=1.3 if filled else 0,
                     markerfacecolor=color if filled else "white", label=label if filled or not inside else None)
        if noisy:
            lower = [max(0.0, p[key] - p[ci_key][0]) if p["cv"] > CV_ERROR_BARS else 0 for p in group]
            upper = [max(0.0, p[ci_key][1] - p[key]) if p["cv"] > CV_ERROR_BARS else 0 for p in group]
            ax.errorbar(xs, ys, yerr=[lower, upper], capsize=2, **style)
        else:
            ax.plot(xs, ys, **style)


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
        fig.suptitle(f"{title}: {group_title(group)}")
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
                   color=model_color(model), s=18, label=model)
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
        for model in sorted_models(m for m in series[workload] if m in MODEL_GROUPS[0][1] and m != "serial"):
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


def plot_metg(analysis: dict, out: Path) -> list[Path]:
    curves = analysis.get("granularity_curves", [])
    if not curves:
        return []
    ps = sorted({c["p"] for c in curves})
    fig, axes = grid(len(ps), 4.6, 3.4)
    metg = {(m["model"], m["p"]): m for m in analysis["metg"]}
    handles: dict = {}
    for ax, p in zip(axes, ps):
        for curve in sorted(curves, key=lambda c: MODEL_ORDER.index(c["model"]) if c["model"] in MODEL_ORDER else 99):
            if curve["p"] != p:
                continue
            color = model_color(curve["model"])
            ax.plot(curve["task_us"], curve["efficiency"], marker="o", markersize=3, color=color,
                    linestyle=model_linestyle(curve["model"]), label=curve["model"])
            value = metg.get((curve["model"], p), {}).get("metg_us")
            if value:
                ax.plot([value], [0.5], marker="v", color=color, markersize=6, linestyle="none")
        ax.axhline(0.5, color="black", linewidth=0.8, linestyle="--")
        ax.set_xscale("log")
        log_ticks(ax.xaxis, time_ticks(1e-6))
        ax.set_ylim(0, 1.2)
        ax.set_xlabel("task length (log scale; triangles: METG)")
        ax.set_ylabel("efficiency")
        ax.set_title(f"granularity at p = {p}" + (" (oversubscribed)" if p > analysis["cores"]["hardware_threads"]
                                                  else ""))
        collect(ax, handles)
    legend_below(fig, handles, columns=8)
    fig.suptitle("Minimum effective task granularity: where each model reaches 50% efficiency")
    fig.tight_layout()
    return save(fig, out, "metg")


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
            ax.barh(np.arange(len(models)) + (k - (len(ps) - 1) / 2) * height, values, height,
                    xerr=np.clip(errors, 0, None), capsize=1.5, color=PALETTE[k % len(PALETTE)],
                    label=f"p = {p}" + (" (oversubscribed)" if p > analysis["cores"]["hardware_threads"] else ""))
        ax.set_xscale("log")
        log_ticks(ax.xaxis, time_ticks(1e-9))
        ax.set_yticks(range(len(models)), models)
        ax.invert_yaxis()
        ax.set_xlabel(("time per empty task" if kind == "tasks" else "time per empty region") + " (log scale)")
        ax.set_title(f"overhead/{kind}")
        collect(ax, handles)
    legend_below(fig, handles)
    fig.tight_layout()
    return save(fig, out, "overhead")


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
                    marker="o", markersize=4, color=model_color(model), label=model,
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
            for model in sorted_models({p["model"] for p in mine}):
                series = sorted((p for p in mine if p["model"] == model), key=lambda p: p["p"])
                if len(series) == 1:  # serial: one request at a time, a reference level
                    ax.axhline(series[0]["throughput"], color=model_color(model), linestyle="--", linewidth=1,
                               label=f"{model} (p = 1)")
                    continue
                ax.plot([p["p"] for p in series], [p["throughput"] for p in series], marker="o", markersize=3,
                        color=model_color(model), label=model)
            ax.set_xscale("log")
            ax.set_yscale("log")
            log_ticks(ax.xaxis, lambda v, _: f"{v:,.0f}")
            log_ticks(ax.yaxis)
            ax.set_xlabel("concurrency p (requests in flight, log)")
            ax.set_ylabel("requests/s (log)")
            ax.set_title(workload)
            collect(ax, handles)
        legend_below(fig, handles, columns=5)
        fig.suptitle(f"I/O workloads: throughput vs concurrency: {group_title(group)}")
        fig.tight_layout()
        paths += save(fig, out, f"io_throughput_{group}")
    return paths


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
        values, limited = [], []
        for index, workload in enumerate(workloads):
            point = next((p for p in series[workload].get(model, []) if p["p"] == cores), None)
            if point and point.get("limit"):
                limited.append(index)
                values.append(np.nan)
            else:
                values.append(point.get("speedup", np.nan) if point else np.nan)
        x = np.arange(len(workloads)) + (k - (len(models) - 1) / 2) * width
        ax.bar(x, values, width, label=model, color=model_color(model))
        for index in limited:
            ax.text(x[index], 0.05, "n/a", rotation=90, ha="center", va="bottom", fontsize=7, color="#555555")
    ax.axhline(cores, color="black", linewidth=0.8, linestyle="--")
    ax.set_xticks(range(len(workloads)), workloads, rotation=30, ha="right")
    ax.set_ylabel(f"speedup vs serial at p = {cores}")
    ax.set_title(f"Threads vs processes vs pools at p = {cores} (dashed: ideal; n/a: serial by design)")
    handles: dict = {}
    collect(ax, handles)
    legend_below(fig, handles)
    fig.tight_layout()
    return save(fig, out, "processes")


STALE = "made from an earlier state of the folder"


def load_analysis(directory: Path) -> dict:
    """DIR/analysis.json when analyze wrote it on this machine from the folder as it is now
    (its HMAC and the digest of sweep.json it was made from); else one line saying why."""
    path = directory / "analysis.json"
    if not directory.is_dir():
        raise UserError(f"{directory}: no such directory")
    if not path.exists():
        raise UserError(f"{path}: missing (run ./parbench analyze {directory} first)")
    data = load_json(path)
    if not isinstance(data, dict) or data.get("parbench_analysis") != 1:
        raise UserError(f"{path}: not a parbench analysis")
    if "verdicts" not in data or "digest" not in data:
        raise UserError(f"{path}: made by an older parbench (run ./parbench analyze {directory} again)")
    from .analyze import analysis_digest
    from .state import state_digest
    if data["digest"] != analysis_digest(data):
        raise UserError(f"{path}: changed since analyze wrote it, or written on another machine (run "
                        f"./parbench analyze {directory} again)")
    if data.get("sweep_sha256") != state_digest(directory):
        raise UserError(f"{path}: {STALE} (sweep.json changed since; run ./parbench analyze {directory} again)")
    return data


def analysis_problem(directory: Path) -> str | None:
    """Why DIR/analysis.json cannot be drawn from as it is (missing, damaged, older), or None."""
    try:
        load_analysis(directory)
    except UserError as error:
        return str(error)
    return None


def current_analysis(directory: Path, baseline: Path | None = None) -> dict:
    """DIR's analysis: analysis.json when it is current (load_analysis), else made again from
    raw/ and written (with its CSV tables) with a note saying why; with `baseline`, always made
    again against it."""
    from .analyze import analyze, write_outputs
    problem = analysis_problem(directory)
    if problem is None and baseline is None:
        return load_analysis(directory)
    try:
        analysis = analyze(directory, baseline=baseline)
    except UserError:
        if problem and (directory / "analysis.json").exists() and STALE not in problem:
            raise UserError(problem) from None  # nothing to make it again from: its own fault first
        raise
    if problem and (directory / "analysis.json").exists():
        print(f"parbench: note: {problem.split(' (run ')[0]}: analysed again", file=sys.stderr)
    write_outputs(directory, analysis)
    return load_analysis(directory)


def plot_all(directory: Path) -> list[Path]:
    refuse_linked_subfolders(directory)
    analysis = load_analysis(directory)
    out = directory / "plots"
    paths = []
    paths += plot_scaling(analysis, out, "speedup", "speedup vs serial", "Speedup vs workers", "speedup")
    paths += plot_scaling(analysis, out, "efficiency", "efficiency", "Parallel efficiency vs workers", "efficiency")
    paths += plot_karp_flatt(analysis, out)
    paths += plot_amdahl_efficiency(analysis, out)
    paths += plot_metg(analysis, out)
    paths += plot_heatmap(analysis, out)
    paths += plot_overhead(analysis, out)
    paths += plot_gustafson(analysis, out)
    paths += plot_processes(analysis, out)
    paths += plot_ipc(analysis, out)
    paths += plot_io(analysis, out)
    paths += plot_primitives(analysis, out)
    # The figures of this analysis: report redraws them when one is missing or the analysis changed.
    atomic_write_text(out / FIGURE_LIST, json.dumps({"analysis": analysis["digest"],
                                                     "figures": sorted(p.name for p in paths)}, indent=0) + "\n")
    return paths


FIGURE_LIST = "figures.json"


def missing_figures(directory: Path, analysis: dict) -> list[str] | None:
    """The figures plot drew for this analysis that are not there now; None: plot never
    finished here for this analysis (no list, or one of another analysis)."""
    listing = directory / "plots" / FIGURE_LIST
    try:
        drawn = load_json(listing)
    except UserError:
        return None
    if not isinstance(drawn, dict) or drawn.get("analysis") != analysis.get("digest") or \
            not isinstance(drawn.get("figures"), list):
        return None
    return [name for name in drawn["figures"]
            if not isinstance(name, str) or not (directory / "plots" / name).is_file()]


def main(directory: str) -> int:
    paths = plot_all(Path(directory))
    print(f"plot: {len(paths)} files in {Path(directory) / 'plots'}")
    return 0
