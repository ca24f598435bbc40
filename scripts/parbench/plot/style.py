"""The charts' common style: models' order, groups, colours and line styles, and the helpers every
chart uses (saving, grids, legends, ticks, series)."""
from __future__ import annotations

import io
import math
from collections import defaultdict
from pathlib import Path

import PIL.Image
import matplotlib
import matplotlib.lines
import matplotlib.patches
import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from .. import units
from ..catalogue import current
from ..modelnames import is_baseline, is_placement, split_tag, track_of
from ..util import atomic_write_bytes, make_folder


# Matplotlib's own defaults, not a matplotlibrc of the folder the user stands in (which it reads
# first: a downloaded results folder could restyle or hide the data): the charts are the same
# wherever they are drawn.
matplotlib.rcdefaults()
matplotlib.use("Agg")

plt.rcParams.update({
    "svg.hashsalt": "parbench", "figure.dpi": 100, "savefig.dpi": 110, "font.size": 9,
    "axes.grid": True, "grid.alpha": 0.3, "axes.titlesize": 10, "legend.fontsize": 8,
})
# At most this many models (the baseline aside) share a panel: the C++ track's kinds of model
# (the catalogue's groups, in its order) are packed into panels of whole groups; the Python
# track (whose sizes are its own) has its panels apart, one per interpreter.
PANEL_MODELS = 5


def cpp_panels() -> list[tuple[str, str, tuple]]:
    """(key, title, models) of the C++ track's panels: the first named for its group
    ("threads"), the rest "others", "others2", ...; each holds the baseline too."""
    catalogue = current()
    baseline = catalogue.baseline("cpp")
    packed: list[list[str]] = []
    for index, group in enumerate(catalogue.groups("cpp")):  # the first group alone, then packed
        members = catalogue.in_group(group)
        if index > 1 and len(packed[-1]) + len(members) <= PANEL_MODELS:
            packed[-1] += members
        else:
            packed.append(list(members))
    panels = []
    for index, members in enumerate(packed):
        members = sorted(members, key=catalogue.order_key)
        key = catalogue.model(members[0]).group if index == 0 else "others" + (str(index) if index > 1 else "")
        title = ", ".join(members)
        panels.append((key, title, tuple([baseline, *members] if baseline else members)))
    return panels


def model_groups(models) -> list[tuple[str, tuple]]:
    """The C++ panels, the Python group holding every model of the first interpreter, then a
    group per other interpreter ("python-3.13": its <model>@3.13 models, against its own
    baseline)."""
    groups = [(key, members) for key, _, members in cpp_panels()]
    # the line charts show each model as the OS placed it (bound variants: the heatmap and the tables)
    groups.append(("python", tuple(sorted_models(m for m in models if track_of(m) == "python"
                                                 and not is_placement(m.partition("@")[2])))))
    for tag in sorted({split_tag(m)[1] for m in models if track_of(m).startswith("python@")}):
        groups.append((f"python-{tag}", tuple(sorted_models(m for m in models if track_of(m) == f"python@{tag}"))))
    return groups


def group_title(group: str, drawn=None) -> str:
    """A figure's title: its models by the names its legend and the tables use; with `drawn`,
    only those (a model n/a in every panel is named under the panels' titles, not here)."""
    catalogue = current()
    tag = group.removeprefix("python").removeprefix("-") if group.startswith("python") else ""
    if group.startswith("python"):
        members = [m.name + (f"@{tag}" if tag else "") for m in catalogue.of_track("python")]
    else:
        members = next((m for key, _, m in cpp_panels() if key == group), ())
    names = [m for m in sorted_models(members) if not is_baseline(m) and (drawn is None or m in drawn)]
    if group.startswith("python"):
        baseline = catalogue.baseline("python") + (f"@{tag}" if tag else "")
        return f"Python {tag + ' ' if tag else ''}track (against {baseline}): {', '.join(names)}"
    return ", ".join(names) or group


# One colour per model of the catalogue (the C++ models first, then the Python track's), from
# three qualitative palettes; a model the catalogue does not know gets a grey.
PALETTE = (*plt.get_cmap("tab10").colors, *plt.get_cmap("Dark2").colors, *plt.get_cmap("Set1").colors)
# The Python track's models: dark shades, far in lightness from tab10's mid-tone C++ colours,
# with markers of their own and dashed lines, so that no Python model is read as a C++ one.
PYTHON_PALETTE = ("#555555", "#0d1b6e", "#8e24aa", "#00695c", "#7f0000", "#b8860b", "#3e2723", "#455a64")
CV_ERROR_BARS = 0.05


def model_color(model: str):
    base = split_tag(model.split(" ")[0])[0]
    ordered = sorted(current().models, key=lambda m: current().order_key(m.name))
    python = [m.name for m in ordered if track_of(m.name) != "cpp"]
    cpp = [m.name for m in ordered if track_of(m.name) == "cpp"]
    if is_baseline(base) and track_of(base) == "cpp":
        return "#000000"  # the serial baseline: black reference lines and markers in every chart
    if base in python:
        return PYTHON_PALETTE[python.index(base) % len(PYTHON_PALETTE)]
    if base not in cpp:
        return (0.35 + 0.1 * (sum(map(ord, base)) % 4),) * 3
    return PALETTE[cpp.index(base) % len(PALETTE)]


def model_linestyle(model: str) -> str:
    """Where both tracks share an axis, the Python models are dashed (another interpreter's
    dotted)."""
    track = track_of(model.split(" ")[0])
    return "-" if track == "cpp" else "--" if track == "python" else ":"


def sorted_models(models) -> list[str]:
    return sorted(set(models), key=lambda m: current().order_key(split_tag(m.split(" ")[0])[0]) + (m,))


def save(fig, directory: Path, name: str) -> list[Path]:
    make_folder(directory)
    paths = []
    for extension, metadata in (("png", {"Software": None}), ("svg", {"Date": None, "Creator": None})):
        path = directory / f"{name}.{extension}"
        # drawn in memory, then put in place whole (a full disk leaves the old figure or
        # none, never half of one; a link planted in its place is replaced, not followed)
        buffer = io.BytesIO()
        fig.savefig(buffer, format=extension, metadata=metadata, bbox_inches="tight")
        atomic_write_bytes(path, _palette_png(buffer.getvalue()) if extension == "png" else buffer.getvalue())
        paths.append(path)
    plt.close(fig)
    return paths


def _palette_png(data: bytes) -> bytes:
    """The PNG in 8-bit colour (a chart has few colours): a quarter of the bytes, so report.html
    can carry every chart inline and stay small."""
    image = PIL.Image.open(io.BytesIO(data)).convert("RGB")
    quantized = image.quantize(colors=256, method=PIL.Image.Quantize.MEDIANCUT, dither=PIL.Image.Dither.NONE)
    out = io.BytesIO()
    quantized.save(out, format="PNG", optimize=True)
    return out.getvalue()


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
        def order(label: str) -> tuple:
            base = split_tag(label.split(" ")[0])[0]
            known = any(m.name == base for m in current().models)
            return (0, current().order_key(base)) if known else (1, ())
        labels = sorted(handles_labels, key=order)
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
        ax.axvspan(start, max(beyond) * 1.2, color="#999999", alpha=0.12, linewidth=0)


# One marker per model: the C++ track's from the first list, the Python track's from the
# second (never one of the C++ ones), another interpreter's models as the Python ones.
CPP_MARKERS = ("o", "^", "v", "D", "P", "X", "<", ">", "h", "H")
PYTHON_MARKERS = ("s", "p", "d", "8", "*", "$\\spadesuit$", "$\\clubsuit$", "$\\heartsuit$")


def model_marker(model: str) -> str:
    base = split_tag(model.split(" ")[0])[0]
    ordered = [m.name for m in sorted(current().models, key=lambda m: current().order_key(m.name))]
    if track_of(base) != "cpp":
        python = [m for m in ordered if track_of(m) != "cpp"]
        return PYTHON_MARKERS[python.index(base) % len(PYTHON_MARKERS)] if base in python else "s"
    cpp = [m for m in ordered if track_of(m) == "cpp"]
    return CPP_MARKERS[cpp.index(base) % len(CPP_MARKERS)] if base in cpp else "o"


def draw_series(ax, points: list[dict], key: str, color, label: str, threads: int, ci_key: str | None = None,
                dodge: float = 0.0):
    """The trend up to the hardware threads as a line; oversubscribed points as hollow markers;
    error bars (stems and caps) where the CV exceeds CV_ERROR_BARS; a flagged value marked ‡.
    dodge: a shift of x by this share of p, so that models with equal values stay visible."""
    inside = [p for p in points if p["p"] <= threads and p.get(key) is not None]
    outside = [p for p in points if p["p"] > threads and p.get(key) is not None]
    for group, filled in ((inside, True), (outside, False)):
        if not group:
            continue
        xs, ys = [p["p"] * (1 + dodge) for p in group], [p[key] for p in group]
        noisy = ci_key and any(p["cv"] > CV_ERROR_BARS and p.get(ci_key) for p in group)
        style = dict(marker=model_marker(label), markersize=4, color=color, linewidth=1.3 if filled else 0,
                     markerfacecolor=color if filled else "white", label=label if filled or not inside else None)
        if noisy:
            lower = [max(0.0, p[key] - p[ci_key][0]) if p["cv"] > CV_ERROR_BARS else 0 for p in group]
            upper = [max(0.0, p[ci_key][1] - p[key]) if p["cv"] > CV_ERROR_BARS else 0 for p in group]
            ax.errorbar(xs, ys, yerr=[lower, upper], capsize=2, elinewidth=0.9, ecolor=color, **style)
        else:
            ax.plot(xs, ys, **style)
        flagged = [(x, point[key]) for x, point in zip(xs, group) if point.get("flags")]
        if flagged:  # a red ring around the marker (a glyph would read like an error bar's cap)
            ax.plot([x for x, _ in flagged], [y for _, y in flagged], linestyle="none", marker="o", markersize=11,
                    markerfacecolor="none", markeredgecolor="#d00000", markeredgewidth=1.3, zorder=5)


def flag_legend(handles: dict, points) -> None:
    """A legend entry for the ‡ mark, where a drawn point carries one."""
    if any(p.get("flags") for p in points):
        handles["red ring: high-severity suspicious value (‡ in the tables)"] = matplotlib.lines.Line2D(
            [], [], linestyle="none", marker="o", markersize=11, markerfacecolor="none", markeredgecolor="#d00000",
            markeredgewidth=1.3)


def upper_reach(points, key: str, ci_key: str | None) -> float:
    """The highest value or interval bound of `points`: an axis limit that clips no error bar."""
    highest = 0.0
    for point in points:
        if point.get(key) is not None:
            highest = max(highest, point[key])
            if ci_key and point.get(ci_key) and point["cv"] > CV_ERROR_BARS:
                highest = max(highest, point[ci_key][1])
    return highest
