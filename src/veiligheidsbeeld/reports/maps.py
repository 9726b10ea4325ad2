"""Choropleth maps with geopandas (boundaries in RD New, EPSG:28992).

Like the charts, the functions return a matplotlib ``Figure``. Areas without a value are drawn
hatched and labelled "geen gegevens" in the legend: a missing figure is never coloured as 0.
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from veiligheidsbeeld.formatting import fmt_num
from veiligheidsbeeld.reports.charts import DARK_GREY, add_source, add_title, empty_figure, new_figure

#: Sequential blues (light to dark), one colour per class.
PALETTE = ("#dbe7f3", "#a9c6e3", "#6f9fcf", "#3b73b0", "#154273")
NO_DATA = "#f3f4f6"
CONTEXT = "#fafafa"
RD_NEW = "EPSG:28992"


def classify(values: pd.Series, k: int = 5) -> tuple[np.ndarray, list[str]]:
    """Class index per value (-1 for missing) and the Dutch legend labels.

    Fisher-Jenks (deterministic, unlike k-means based natural breaks) with at most ``k`` classes
    and never more classes than distinct values.
    """
    known = values.dropna().astype("float64")
    classes = np.full(len(values), -1)
    distinct = known.nunique()
    if distinct == 0:
        return classes, []
    if distinct == 1:
        classes[values.notna().to_numpy()] = 0
        return classes, [fmt_num(float(known.iloc[0]), 1)]
    # Imported here: with scikit-learn it takes a third of a second, which the process that only
    # builds the analysis (and forks the report workers) need not pay.
    import mapclassify

    with warnings.catch_warnings():
        # Without numba mapclassify warns that it is slow; with a few dozen areas it is not.
        warnings.filterwarnings("ignore", message="Numba not installed")
        scheme = mapclassify.FisherJenks(known.to_numpy(), k=min(k, distinct))
    bins = list(scheme.bins)
    classes[values.notna().to_numpy()] = scheme.yb
    lower = [float(known.min())] + bins[:-1]
    labels = [f"{fmt_num(lo, 1)} – {fmt_num(hi, 1)}" for lo, hi in zip(lower, bins, strict=True)]
    return classes, labels


def plot_choropleth(
    areas: gpd.GeoDataFrame,
    values: pd.Series,
    *,
    title: str = "",
    subtitle: str = "",
    legend_title: str = "",
    context: gpd.GeoDataFrame | None = None,
    label: bool = True,
    source: str | None = None,
    height: float = 5.6,
) -> Figure:
    """Areas coloured by ``values`` (indexed by ``region_code``) in at most five classes.

    ``areas``: ``region_code``, ``region_name``, geometry. ``context``: surrounding areas drawn
    in light grey for orientation. ``label`` writes name and value at each area's centre.
    """
    if areas is None or areas.empty:
        return empty_figure(
            "Geen kaart: er zijn geen grenzen van deze gebieden beschikbaar.", title=title, source=source
        )
    gdf = areas.to_crs(RD_NEW) if areas.crs is not None and areas.crs.to_epsg() != 28992 else areas
    gdf = gdf.copy()
    gdf["value"] = values.reindex(gdf["region_code"]).to_numpy(dtype="float64")
    classes, labels = classify(gdf["value"])
    gdf["cls"] = classes
    palette = PALETTE if len(labels) >= len(PALETTE) else PALETTE[len(PALETTE) - len(labels) :]
    fig = new_figure(height)
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.set_aspect("equal")
    minx, miny, maxx, maxy = gdf.total_bounds
    pad = max(maxx - minx, maxy - miny) * 0.04
    if context is not None and not context.empty:
        ctx = context.to_crs(RD_NEW).cx[minx - pad : maxx + pad, miny - pad : maxy + pad]
        ctx.plot(ax=ax, color=CONTEXT, edgecolor="#d1d5db", linewidth=0.5)
    missing = gdf[gdf["cls"] < 0]
    if len(missing):
        missing.plot(ax=ax, color=NO_DATA, edgecolor="#9ca3af", hatch="///", linewidth=0.6)
    known = gdf[gdf["cls"] >= 0]
    if len(known):
        cmap = ListedColormap(list(palette))
        known.plot(
            ax=ax,
            column="cls",
            cmap=cmap,
            vmin=0,
            vmax=max(len(labels) - 1, 1) if len(labels) > 1 else 1,
            edgecolor="white",
            linewidth=0.8,
        )
    ax.set_xlim(minx - pad, maxx + pad)
    ax.set_ylim(miny - pad, maxy + pad)
    if label:
        for row in gdf.itertuples():
            point = row.geometry.representative_point()
            text = str(row.region_name)
            text += "\n" + ("–" if np.isnan(row.value) else fmt_num(row.value, 1))
            dark = row.cls >= 0 and row.cls >= len(labels) - 2 and len(labels) > 2
            ax.annotate(
                text, (point.x, point.y), ha="center", va="center", fontsize=7.5, color="white" if dark else "#111827"
            )
    handles = [Patch(facecolor=c, edgecolor="white", label=lab) for c, lab in zip(palette, labels, strict=True)]
    if len(missing):
        handles.append(Patch(facecolor=NO_DATA, edgecolor="#9ca3af", hatch="///", label="geen gegevens"))
    if handles:
        ax.legend(
            handles=handles,
            title=legend_title or None,
            title_fontsize=8,
            fontsize=8,
            frameon=False,
            loc="upper left",
            bbox_to_anchor=(1.0, 1.0),
        )
    add_title(fig, title, subtitle)
    add_source(fig, source)
    return fig


def no_map_note(level_label: str) -> str:
    """The Dutch note shown instead of a map when boundaries are missing."""
    return (
        f"Geen {level_label}kaart: de grenzen van de {level_label}en staan niet in het warehouse "
        "(laad ze met de grenzen van CBS/PDOK). De cijfers per wijk en buurt staan in de tabellen en in het "
        "Excel-bestand."
    )


__all__ = ["classify", "plot_choropleth", "no_map_note", "DARK_GREY"]
