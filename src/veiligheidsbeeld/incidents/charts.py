"""Charts of incident analyses: they only draw what the analysis returned (aggregates only)."""

from __future__ import annotations

import numpy as np
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from veiligheidsbeeld.constants import ALPHA
from veiligheidsbeeld.formatting import fmt_num
from veiligheidsbeeld.incidents.hotspots import COLD, HOT, Hotspots
from veiligheidsbeeld.incidents.knox import KnoxResult
from veiligheidsbeeld.reports.charts import add_source, add_title, new_figure

MARKING = "POLITIE-INTERN / VERTROUWELIJK"


def plot_knox(result: KnoxResult, *, title: str = "", subtitle: str = "", source: str | None = None,
              alpha: float = ALPHA) -> Figure:
    """Heat table of Knox ratios: distance bands (rows) × time bands (columns); significant
    cells (p <= alpha) bold with an asterisk."""
    ratio = result.matrix("knox_ratio")
    pv = result.matrix("p_waarde").to_numpy()
    values = ratio.to_numpy(dtype="float64")
    fig = new_figure(4.2 + 0.25 * len(ratio))
    ax = fig.add_subplot()
    # Diverging around 1 (no interaction): blue below, red above, capped at 0.5 and 2.
    bounds = [0, 0.8, 0.95, 1.05, 1.2, 1.5, 2, np.inf]
    cmap = ListedColormap(["#3b73b0", "#a9c6e3", "#f3f4f6", "#fcd9b6", "#f59e0b", "#dc2626", "#991b1b"])
    shown = np.where(np.isnan(values), 1.0, np.minimum(values, 1e6))
    ax.imshow(shown, cmap=cmap, norm=BoundaryNorm(bounds, cmap.N), aspect="auto")
    for a in range(values.shape[0]):
        for b in range(values.shape[1]):
            v = values[a, b]
            text = "–" if np.isnan(v) else fmt_num(v, 2) + ("*" if pv[a, b] <= alpha else "")
            ax.text(b, a, text, ha="center", va="center", fontsize=8.5,
                    fontweight="bold" if pv[a, b] <= alpha else "normal",
                    color="white" if not np.isnan(v) and v >= 1.5 else "#111827")
    ax.set_xticks(range(values.shape[1]), [f"{c} dagen" for c in ratio.columns], fontsize=8)
    ax.set_yticks(range(values.shape[0]), [f"{r} m" for r in ratio.index], fontsize=8)
    ax.set_xlabel("tijd tussen twee incidenten (banden [van, tot))", fontsize=8.5)
    ax.set_ylabel("afstand", fontsize=8.5)
    add_title(fig, title or "Knox-ratio's (waargenomen / verwacht)", subtitle or (
        f"{result.n_incidents} incidenten, {result.metric}, {result.permutations} permutaties (seed {result.seed}); "
        f"* = p ≤ {fmt_num(alpha, 2)}"))
    add_source(fig, source)
    return fig


def plot_grid_map(areas, column: str, *, title: str, subtitle: str = "", context=None, source: str | None = None,
                  hotspots: Hotspots | None = None) -> Figure:
    """Grid cells coloured by ``column`` (a count), or by Gi* class when ``hotspots`` is given.
    Cells without incidents are not drawn (only the gemeente outlines)."""
    fig = new_figure(5.6)
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.set_aspect("equal")
    if context is not None and not context.empty:
        context.plot(ax=ax, color="#fafafa", edgecolor="#9ca3af", linewidth=0.6)
    handles = []
    if hotspots is not None:
        colours = {HOT: "#dc2626", COLD: "#3b73b0"}
        for klasse, colour in colours.items():
            part = areas[areas["klasse"] == klasse]
            if len(part):
                part.plot(ax=ax, color=colour, edgecolor="none")
            handles.append(Patch(facecolor=colour, label=f"{klasse} ({len(part)} cellen)"))
        rest = areas[(areas["klasse"] != HOT) & (areas["klasse"] != COLD) & (areas[column] > 0)]
        if len(rest):
            rest.plot(ax=ax, color="#d1d5db", edgecolor="none")
        handles.append(Patch(facecolor="#d1d5db", label="incidenten, niet significant"))
    else:
        shown = areas[areas[column] > 0]
        if len(shown):
            top = max(int(shown[column].max()), 1)
            bins = [1, 2, 3, 5, 10, top + 1] if top >= 10 else list(range(1, top + 2))
            bins = sorted(set(bins))
            palette = ["#dbe7f3", "#a9c6e3", "#6f9fcf", "#3b73b0", "#154273"][-(len(bins) - 1):]
            cls = np.clip(np.searchsorted(bins, shown[column].to_numpy(), side="right") - 1, 0, len(palette) - 1)
            for k, colour in enumerate(palette):
                part = shown[cls == k]
                if len(part):
                    part.plot(ax=ax, color=colour, edgecolor="none")
                lo, hi = bins[k], bins[k + 1] - 1
                handles.append(Patch(facecolor=colour, label=str(lo) if lo == hi else f"{lo}–{hi}"))
    if context is not None and not context.empty:
        minx, miny, maxx, maxy = context.total_bounds
    else:
        minx, miny, maxx, maxy = areas.total_bounds
    ax.set_xlim(minx, maxx)
    ax.set_ylim(miny, maxy)
    if handles:
        ax.legend(handles=handles, fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    add_title(fig, title, subtitle)
    add_source(fig, (source + " " if source else "") + MARKING)
    return fig
