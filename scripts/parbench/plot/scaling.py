"""Scaling charts: speedup and efficiency per model group, Karp-Flatt, the Amdahl bound, the
efficiency heatmap and weak scaling."""
from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib
import matplotlib.colors
import matplotlib.patches
import matplotlib.pyplot as plt
import numpy as np

from .. import stats
from ..catalogue import current
from ..modelnames import is_baseline, track_of, without_placement
from .style import (collect, cpp_panels, draw_series, grid, group_title, legend_below, model_color, model_groups,
                    model_marker, save, shade_oversubscribed, sorted_models, strong_series, upper_reach,
                    flag_legend)


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
        drawn: set[str] = set()
        drawn_models = sorted_models(m for w in workloads for m in series[w] if m in members)
        drawn_points = [p for w in workloads for m in members for p in series[w].get(m, []) if not p.get("limit")]
        top = max(1.2, min(3.0, 1.08 * upper_reach(drawn_points, key, ci_key)))
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
                dodge = 0.035 * (drawn_models.index(model) - (len(drawn_models) - 1) / 2)
                draw_series(ax, points, key, model_color(model), model, threads, ci_key, dodge)
                drawn.add(model)
            if key == "speedup":
                ideal = [p for p in ps_all]
                ax.plot(ideal, [min(p, analysis["cores"]["physical"]) for p in ideal], color="black",
                        linewidth=0.8, linestyle="--", label="ideal (up to the cores)")
            else:
                cores = analysis["cores"]["physical"]
                ax.plot(ps_all, [min(1.0, cores / p) for p in ps_all], color="black", linewidth=0.8, linestyle="--",
                        label="ideal (1, then cores / p)")
                ax.set_ylim(-0.04, top)  # one scale for every panel, no interval clipped
            ax.margins(x=0.12)
            ax.set_xticks(ps_all)
            # The models whose scaling is n/a go under the title, outside the data.
            shown = next(m for m in members if m in series[workload])
            ax.set_title(f"{workload} (n={series[workload][shown][0]['n']:,})"
                         + ("\n" + textwrap.fill("n/a (a built-in limit, see Scaling): " + ", ".join(limited), 46)
                            if limited else ""),
                         fontsize=9)
            ax.set_xlabel("workers p")
            python = group.startswith("python")
            baselines = (current().baseline("cpp"), current().baseline("python"))
            ax.set_ylabel(ylabel.replace(baselines[0], baselines[1]) if python else ylabel)
            collect(ax, handles)
        if any(p["p"] > threads for w in workloads for m in members for p in series[w].get(m, [])):
            handles["oversubscribed (hollow, shaded)"] = matplotlib.patches.Patch(color="#999999", alpha=0.25)
        flag_legend(handles, [p for w in workloads for m in members for p in series[w].get(m, [])
                              if not p.get("limit") and (key == "speedup" or not is_baseline(m))])
        legend_below(fig, handles)
        never = [m for m in sorted_models(m for m in members if not is_baseline(m)) if m not in drawn
                 and any(m in series[w] for w in workloads)]
        fig.suptitle(f"{title}\n{group_title(group, drawn)}"
                     + (f"; n/a on every workload (a built-in limit): {', '.join(never)}" if never else ""))
        fig.tight_layout()
        paths += save(fig, out, f"{name}_{group}")
    return paths


def plot_karp_flatt(analysis: dict, out: Path) -> list[Path]:
    """Karp-Flatt e at p up to the physical cores only (beyond them it is arithmetic, not a
    measurement of the code): one dot per model and workload, the C++ and the Python track
    side by side."""
    cores = analysis["cores"]["physical"]
    rows = [p for p in analysis["points"] if p["scaling"] == "strong" and 1 < p["p"] <= cores
            and p.get("self_karp_flatt") is not None and not p.get("limit") and p["category"] in ("cpu", "memory")
            and p["workload"] != "granularity"]
    if not rows:
        return []
    largest = {}  # per workload and track: the Python track's sizes are its own
    for row in rows:
        key = (row["workload"], track_of(row["model"]))
        largest[key] = max(largest.get(key, 0), row["n"])
    rows = [r for r in rows if r["n"] == largest[(r["workload"], track_of(r["model"]))]
            and r["p"] == max(q["p"] for q in rows)]
    tracks = [t for t in ("cpp", "python") if any(track_of(r["model"]) == t for r in rows)]
    workloads = sorted({r["workload"] for r in rows})
    fig, axes = plt.subplots(1, len(tracks), figsize=(6.2 * len(tracks), 0.62 * len(workloads) + 2.4),
                             squeeze=False, sharey=True)
    handles: dict = {}
    limited = {t: sorted({p["model"] for p in analysis["points"] if p.get("limit") and 1 < p["p"] <= cores
                          and track_of(p["model"]) == t}) for t in tracks}
    for ax, track in zip(axes.flat, tracks):
        _karp_flatt_panel(ax, [r for r in rows if track_of(r["model"]) == track], workloads, handles)
        note = textwrap.fill("not drawn where a built-in limit applies: " + ", ".join(limited[track]), 70)
        ax.set_title(("C++ models" if track == "cpp" else "Python track (its own sizes; empty rows: not run)")
                     + ("\n" + note if limited[track] else ""), fontsize=9)
    axes.flat[0].set_yticks(range(len(workloads)), workloads)
    axes.flat[0].invert_yaxis()
    fig.suptitle(f"Which workloads keep a serial part? Karp-Flatt e at p = {rows[0]['p']} (the physical cores)")
    legend_below(fig, handles, columns=6)
    fig.tight_layout()
    return save(fig, out, "karp_flatt")


def _karp_flatt_panel(ax, rows: list[dict], workloads: list[str], handles: dict) -> None:
    models = sorted_models(r["model"] for r in rows)
    offsets = np.linspace(-0.4, 0.4, len(models)) if len(models) > 1 else [0.0]
    low, high = -0.6, 1.3  # e beyond: such points sit at the edge, labelled with their value
    for index, workload in enumerate(workloads):  # the configured serial fraction, behind the dots
        true_s = next((r.get("true_serial_fraction") for r in rows if r["workload"] == workload
                       and r.get("true_serial_fraction") is not None), None)
        if true_s is not None:  # above the dots: they often sit right on it
            ax.plot([true_s], [index], marker="|", markersize=26, markeredgewidth=2.2, color="black", alpha=0.55,
                    linestyle="none", zorder=6, label="configured s (amdahl_*)")
    for offset, model in zip(offsets, models):
        mine = [r for r in rows if r["model"] == model]
        inside = [r for r in mine if low <= r["self_karp_flatt"] <= high]
        errors = np.array([_karp_flatt_error(r, low, high) for r in inside]).T if inside else None
        ax.errorbar([r["self_karp_flatt"] for r in inside], [workloads.index(r["workload"]) + offset for r in inside],
                    xerr=errors, color=model_color(model), markersize=4.5, label=model, marker=model_marker(model),
                    linestyle="none", elinewidth=0.7, capsize=1.5)
        for r in mine:
            if not low <= r["self_karp_flatt"] <= high:
                edge = high if r["self_karp_flatt"] > high else low
                y = workloads.index(r["workload"]) + offset
                ax.annotate(f"{model} {r['self_karp_flatt']:.1f} {'>' if edge == high else '<'}", (edge, y),
                            textcoords="offset points", xytext=(-4 if edge == high else 4, 0),
                            ha="right" if edge == high else "left", va="center", fontsize=7,
                            color=model_color(model))
    ax.set_xlim(low - 0.05, high + 0.05)
    ax.axvline(0, color="black", linewidth=0.8)
    for index in range(len(workloads) - 1):  # a rule between workloads: a dot belongs to the row it is in
        ax.axhline(index + 0.5, color="#999999", linewidth=0.6)
    ax.set_xlabel("e from the self-speedup, 95% intervals (as in fits.csv)\n0: perfect; negative: superlinear")
    collect(ax, handles)


def _karp_flatt_error(row: dict, low: float, high: float) -> list[float]:
    """The distance from e to the ends of its interval (from the self-speedup's interval),
    within the axis [low, high]."""
    low_s, high_s = row.get("self_speedup_ci") or (row["self_speedup"], row["self_speedup"])
    ends = sorted([stats.karp_flatt(high_s, row["p"]), stats.karp_flatt(low_s, row["p"])])
    e = row["self_karp_flatt"]
    return [max(0.0, min(e - ends[0], e - low)), max(0.0, min(ends[1] - e, high - e))]


def plot_amdahl_efficiency(analysis: dict, out: Path) -> list[Path]:
    """amdahl_* efficiency vs p against the bound of the configured serial fraction."""
    series = strong_series(analysis)
    workloads = [w for w in sorted(series) if w.startswith("amdahl")]
    if not workloads:
        return []
    threads = analysis["cores"]["hardware_threads"]
    cores = analysis["cores"]["physical"]
    groups = [members for _, _, members in cpp_panels()]  # one row per panel group: at most five models a panel
    fig, axes = plt.subplots(len(groups), len(workloads), figsize=(3.6 * len(workloads), 2.8 * len(groups)),
                             squeeze=False)
    handles: dict = {}
    for ax, (members, workload) in zip(axes.flat, [(g, w) for g in groups for w in workloads]):
        ps_all = sorted({p["p"] for pts in series[workload].values() for p in pts})
        shade_oversubscribed(ax, analysis, ps_all)
        true_s = next((p.get("true_serial_fraction") for pts in series[workload].values() for p in pts
                       if p.get("true_serial_fraction") is not None), None)
        models = sorted_models(m for m in series[workload] if m in members and not is_baseline(m)
                               and not any(p.get("limit") for p in series[workload][m]))
        for index, model in enumerate(models):
            draw_series(ax, series[workload][model], "efficiency", model_color(model), model, threads,
                        "efficiency_ci", 0.05 * (index - (len(models) - 1) / 2))
        if true_s is not None:
            grid_p = np.linspace(1, max(ps_all), 60)
            bound = 1.0 / (np.minimum(grid_p, cores) * true_s + 1 - true_s) * np.minimum(grid_p, cores) / grid_p
            ax.plot(grid_p, bound, color="black", linestyle="--", linewidth=0.9,
                    label="Amdahl bound of the configured s (past the cores: cores / p of it)")
        ax.set_ylim(0, 1.2)
        ax.set_xticks(ps_all)
        ax.set_title(f"{workload} (s = {true_s})\n{', '.join(models)}", fontsize=8.5)
        ax.set_xlabel("workers p")
        ax.set_ylabel("efficiency")
        collect(ax, handles)
    if any(p > threads for w in workloads for pts in series[w].values() for p in (q["p"] for q in pts)):
        handles["oversubscribed (hollow, shaded)"] = matplotlib.patches.Patch(color="#999999", alpha=0.25)
    legend_below(fig, handles, columns=5)
    left_out = sorted({m for w in workloads for m, pts in series[w].items() if track_of(m) == "cpp"
                       and not is_baseline(m) and any(p.get("limit") for p in pts)})
    fig.suptitle("Do the models reach what the configured serial fraction allows? amdahl_* efficiency, C++ models"
                 + (f"\n(not drawn, a built-in limit: {', '.join(left_out)}; the Python track: Karp-Flatt chart)"
                    if left_out else ""))
    fig.tight_layout()
    return save(fig, out, "amdahl_efficiency")


def plot_heatmap(analysis: dict, out: Path) -> list[Path]:
    """Which model scales on which workload? Efficiency at p = cores, one cell per pair."""
    cores = analysis["cores"]["physical"]
    series = strong_series(analysis)
    cells, limited, flagged = {}, {}, set()
    for workload, models in series.items():
        for model, points in models.items():
            for point in points:
                if point["p"] == cores and not is_baseline(model):
                    if point.get("limit"):
                        limited[(workload, model)] = point.get("efficiency")
                        if point.get("flags"):
                            flagged.add((workload, model))
                    elif point.get("efficiency") is not None:
                        cells[(workload, model)] = point["efficiency"]
                        if point.get("flags"):
                            flagged.add((workload, model))
    if not cells:
        return []
    workloads = sorted({w for w, _ in cells} | {w for w, _ in limited})
    models = sorted_models({m for _, m in cells} | {m for _, m in limited})
    # a model with no parallel point anywhere (one loop, one thread) says nothing here
    dropped = [m for m in models if not any((w, m) in cells for w in workloads)]
    models = [m for m in models if m not in dropped]
    matrix = np.full((len(workloads), len(models)), np.nan)
    for (workload, model), value in cells.items():
        matrix[workloads.index(workload), models.index(model)] = value
    fig, ax = plt.subplots(figsize=(0.95 * len(models) + 3.0, 0.42 * len(workloads) + 2.0))
    top = max(1.2, min(2.0, float(np.nanmax(matrix)) if np.isfinite(matrix).any() else 1.2))
    # red to green up to linear (1.0), then blues: superlinear reads as its own thing, not as "better"
    colors = np.vstack([plt.get_cmap("RdYlGn")(np.linspace(0, 1, 200)),
                        plt.get_cmap("Blues")(np.linspace(0.35, 0.9, 60))])
    image = ax.imshow(np.clip(matrix, 0, top), cmap=matplotlib.colors.ListedColormap(colors),
                      norm=matplotlib.colors.TwoSlopeNorm(vmin=0, vcenter=1.0, vmax=top), aspect="auto")
    ax.grid(False)
    ax.set_xticks(range(len(models)), models, rotation=35, ha="right")
    ax.set_yticks(range(len(workloads)), workloads)
    for i, workload in enumerate(workloads):
        for j, model in enumerate(models):
            _heatmap_cell(ax, i, j, matrix[i, j], limited.get((workload, model), False), (workload, model) in flagged)
    python_from = next((j for j, m in enumerate(models) if track_of(m) != "cpp"), None)
    if python_from:
        ax.axvline(python_from - 0.5, color="black", linewidth=2)
    fig.colorbar(image, ax=ax, label="efficiency (1 = linear; above 1: superlinear)")
    legend = ("(C++ models left of the bold line, the Python track right, each at its own largest n; hatched: a "
              "built-in limit of the model, its measured value in grey; –: not run"
              + (" (a bound model@policy runs only where placements differ, +interleave only on memory-bound "
                 "workloads)" if any(without_placement(m) != m for m in models) else "")
              + "; ‡: high-severity suspicious "
              "value" + (f"; not shown, limited on every workload: {', '.join(dropped)}" if dropped else "") + ")")
    # wrapped to the axes' width (the colour bar's label stands right of it)
    ax.set_title(f"Which model uses the {cores} cores on which workload? Efficiency at p = {cores}\n"
                 + "\n".join(textwrap.wrap(legend, max(60, int(12 * (0.95 * len(models) + 1.0))))), fontsize=9)
    fig.tight_layout()
    return save(fig, out, "efficiency_heatmap")


def _heatmap_cell(ax, i: int, j: int, value: float, limited, flagged: bool) -> None:
    """limited: False, or the measured efficiency (None if not measured) of a model's built-in limit."""
    if limited is not False:
        ax.add_patch(matplotlib.patches.Rectangle((j - 0.5, i - 0.5), 1, 1, facecolor="#dddddd",
                                                  hatch="///", edgecolor="#aaaaaa", linewidth=0))
        ax.text(j, i, ("n/a" if limited is None else f"({limited:.2f})") + (" ‡" if flagged else ""), ha="center",
                va="center", fontsize=8,
                color="#444444", bbox={"boxstyle": "round,pad=0.1", "facecolor": "#dddddd", "edgecolor": "none"})
    elif np.isnan(value):
        ax.add_patch(matplotlib.patches.Rectangle((j - 0.5, i - 0.5), 1, 1, facecolor="#f4f4f4", linewidth=0))
        ax.text(j, i, "–", ha="center", va="center", fontsize=8, color="#777777")
    else:  # white on the darkest cells of the scale
        ax.text(j, i, f"{value:.2f}" + (" ‡" if flagged else ""), ha="center", va="center", fontsize=9,
                fontweight="bold" if flagged else "normal", color="white" if value > 1.25 or value < 0.2 else "black")


def plot_gustafson(analysis: dict, out: Path) -> list[Path]:
    """How close does each model come to Gustafson's ideal when the work grows with p? One
    dot per model at the largest p, beside the ideal and, for a configured serial fraction,
    the expected value."""
    rows = [r for r in analysis.get("gustafson", []) if not r.get("limit")]
    if not rows:
        return []
    largest = {}
    for row in rows:
        largest[row["workload"]] = max(largest.get(row["workload"], 0), row["p"])
    rows = [r for r in rows if r["p"] == largest[r["workload"]]]
    workloads = sorted({r["workload"] for r in rows})
    fig, axes = grid(len(workloads), 4.2, 0.32 * max(len({r["model"] for r in rows}), 3) + 1.2, columns=2)
    for ax, workload in zip(axes, workloads):
        order = sorted_models(r["model"] for r in rows if r["workload"] == workload)
        mine = sorted((r for r in rows if r["workload"] == workload), key=lambda r: order.index(r["model"]))
        ys = range(len(mine))
        for y, row in zip(ys, mine):
            ax.scatter([row["scaled_speedup"]], [y], color=model_color(row["model"]), marker=model_marker(row["model"]),
                       s=28, zorder=3)
        p = mine[0]["p"]
        ax.axvline(p, color="black", linestyle="--", linewidth=0.9, label=f"ideal ({p})")
        expected = mine[0].get("expected_scaled_speedup")
        if expected:
            ax.axvline(expected, color="#b03030", linestyle=":", linewidth=1.0, alpha=0.6, zorder=0,
                       label=f"expected for s = {mine[0]['true_serial_fraction']:g} ({expected:.2f})")
        ax.set_yticks(list(ys), [r["model"] for r in mine])
        ax.invert_yaxis()
        values = [r["scaled_speedup"] for r in mine]
        ax.set_xlim(min(values) * 0.95, max(p, max(values)) * 1.05)
        ax.set_title(f"{workload} at p = {p}")
        ax.set_xlabel("scaled speedup p T(1, n) / T(p, n_p)")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.28), fontsize=8.5, frameon=False, ncol=2)
    limited = sorted({r["model"] for r in analysis.get("gustafson", []) if r.get("limit")})
    fig.suptitle("Weak scaling: how close to ideal when each worker keeps the same work?"
                 + (f"\n(not drawn, a built-in limit: {', '.join(limited)}; markers: medians, in gustafson.csv)"
                    if limited else ""))
    fig.tight_layout()
    return save(fig, out, "gustafson")
