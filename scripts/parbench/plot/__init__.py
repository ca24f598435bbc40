"""./parbench plot DIR: charts from DIR/analysis.json into DIR/plots/ (PNG and SVG).

Headless (Agg) and deterministic: the same analysis gives byte-identical files
(fixed SVG hash salt, no dates in the metadata, sorted inputs).

Readable in ten seconds: legends sit outside the data (below the panels), a
panel holds at most six lines (models are drawn in two groups), oversubscribed
points (more workers than hardware threads) sit in a shaded region with hollow
markers and are not joined to the trend, error bars appear where the CV
exceeds 5%, log axes carry labelled ticks, and a point a model cannot run in
parallel by design is not drawn as if it were slow (grey "n/a" in the heatmap).

One module per chart family: scaling, tasks, primitives, workloads; style holds what they
share (models' order, groups, colours).
"""
from __future__ import annotations

import json
from pathlib import Path

from .. import UserError
from ..catalogue import current
from ..state import load_analysis
from ..util import atomic_write_text, load_json, refuse_linked_subfolders
from .scaling import plot_amdahl_efficiency, plot_gustafson, plot_heatmap, plot_karp_flatt, plot_scaling
from .tasks import plot_metg, plot_overhead
from .primitives import plot_ipc, plot_primitives
from .workloads import plot_io, plot_processes


def plot_all(directory: Path) -> list[Path]:
    refuse_linked_subfolders(directory)
    analysis = load_analysis(directory)
    out = directory / "plots"
    paths = []
    paths += plot_scaling(analysis, out, "speedup", f"speedup vs {current().baseline('cpp')}",
                          "Which models scale, and how far? Speedup vs workers", "speedup")
    paths += plot_scaling(analysis, out, "efficiency", "efficiency",
                          "How much of each added worker does a model use? Efficiency vs workers", "efficiency")
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
