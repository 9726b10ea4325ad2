"""Grid aggregation and hotspots (Getis-Ord Gi*, PySAL) with a Benjamini–Hochberg correction.

Incidents are counted per grid cell (100–250 m, RD New) or per buurt; only these aggregates leave
this module: the maps never show a point. Gi* compares each cell and its neighbours (queen
contiguity, the cell itself included) with the whole area. Its p-values are corrected for the
many cells tested with Benjamini–Hochberg. For counts (incidents per cell) the p-value is exact:
under the null hypothesis the N incidents fall in the n areas alike, so the neighbourhood sum
behind Gi* (w_i areas) is Binomial(N, w_i / n). The normal p-value of Gi*'s z-score is far too
small on sparse grids (a lone incident among zeros gives z ≈ 8: a 60 × 60 km grid of 200 m cells
with 1,500 uniform incidents gave 906 false "hotspots"), and permutation p-values cannot go below
1/(permutations+1), which no cell of a grid of thousands survives after the correction. PySAL's
permutation p-value can be reported next to it (``hotspot_permutaties``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from veiligheidsbeeld.analysis.stats import fdr_adjust

from veiligheidsbeeld.constants import ALPHA
from veiligheidsbeeld.errors import DataError

RD_NEW = "EPSG:28992"
HOT = "hotspot"
COLD = "coldspot"
NOT_SIGNIFICANT = "niet significant"


def cell_ids(x: np.ndarray, y: np.ndarray, cell: float) -> tuple[np.ndarray, np.ndarray]:
    """Column and row index of the cell each point falls in (cells aligned on multiples of ``cell``)."""
    return np.floor(np.asarray(x) / cell).astype(np.int64), np.floor(np.asarray(y) / cell).astype(np.int64)


def cell_label(col: int, row: int, cell: float) -> str:
    """A stable cell name from its lower-left corner in RD metres (e.g. 'C200_257000_471400')."""
    return f"C{int(cell)}_{int(col * cell)}_{int(row * cell)}"


def grid_counts(incidents: pd.DataFrame, cell: float, area: gpd.GeoDataFrame | None = None) -> gpd.GeoDataFrame:
    """Incidents counted per grid cell, with zero cells filled in.

    The grid covers ``area`` (polygons in RD New: the district's gemeenten) when given, else the
    incidents' bounding box. Zero cells matter: Gi* compares a neighbourhood with the whole area.
    Columns: ``cell_id``, ``col``, ``row``, ``count``, geometry.
    """
    if area is not None and not area.empty:
        minx, miny, maxx, maxy = area.to_crs(RD_NEW).total_bounds
    elif len(incidents):
        minx, miny, maxx, maxy = incidents["x"].min(), incidents["y"].min(), incidents["x"].max(), incidents["y"].max()
    else:
        raise DataError("Geen incidenten en geen gebied: er is geen raster te maken.")
    c0, r0 = int(np.floor(minx / cell)), int(np.floor(miny / cell))
    c1, r1 = int(np.floor(maxx / cell)), int(np.floor(maxy / cell))
    cols, rows = np.meshgrid(np.arange(c0, c1 + 1), np.arange(r0, r1 + 1))
    cols, rows = cols.ravel(), rows.ravel()
    counts = np.zeros(len(cols), dtype=np.int64)
    if len(incidents):
        ic, ir = cell_ids(incidents["x"].to_numpy(), incidents["y"].to_numpy(), cell)
        inside = (ic >= c0) & (ic <= c1) & (ir >= r0) & (ir <= r1)
        flat = (ir[inside] - r0) * (c1 - c0 + 1) + (ic[inside] - c0)
        counts = np.bincount(flat, minlength=len(cols)).astype(np.int64)
    # All cells at once (a district's bounding box holds ~100,000 cells of 200 m: one shapely
    # object at a time took seconds).
    geoms = shapely.box(cols * cell, rows * cell, (cols + 1) * cell, (rows + 1) * cell)
    if area is not None and not area.empty:
        # Keep the cells that touch the area (cells entirely outside it are not "zero incidents").
        shape = area.to_crs(RD_NEW).union_all()
        shapely.prepare(shape)
        keep = shapely.intersects(geoms, shape) | (counts > 0)
        cols, rows, counts, geoms = cols[keep], rows[keep], counts[keep], geoms[keep]
    return gpd.GeoDataFrame(
        {"cell_id": [cell_label(c, r, cell) for c, r in zip(cols.tolist(), rows.tolist())], "col": cols, "row": rows,
         "count": counts},
        geometry=geoms,
        crs=RD_NEW,
    )


def lattice_weights(grid: pd.DataFrame):
    """Queen contiguity between grid cells by their col/row index, each cell also its own
    neighbour (the neighbourhood Gi* sums), as a libpysal ``Graph``: built from arrays, so a
    district's ~50,000 cells take a fraction of a second (a ``W`` from a dict of lists, and esda
    adding its diagonal, took seconds). Same Gi* values as queen ``W`` with the diagonal filled."""
    from libpysal.graph import Graph

    cols = np.asarray(grid["col"], dtype=np.int64)
    rows = np.asarray(grid["row"], dtype=np.int64)
    n = len(cols)
    if n == 0:
        return Graph.from_arrays(np.array([], dtype=np.int64), np.array([], dtype=np.int64), np.array([]))
    # Position of every cell in a dense (row, col) table, -1 where the grid has no cell.
    c0, r0 = cols.min(), rows.min()
    table = np.full((rows.max() - r0 + 3, cols.max() - c0 + 3), -1, dtype=np.int64)
    table[rows - r0 + 1, cols - c0 + 1] = np.arange(n)
    around = np.stack([table[rows - r0 + 1 + dr, cols - c0 + 1 + dc] for dr in (-1, 0, 1) for dc in (-1, 0, 1)],
                      axis=1)
    around.sort(axis=1)
    focal = np.repeat(np.arange(n), around.shape[1]).reshape(around.shape)
    present = around >= 0
    return Graph.from_arrays(focal[present], around[present], np.ones(int(present.sum())))


def neighbourhood_sums(values: np.ndarray, w) -> tuple[np.ndarray, np.ndarray]:
    """Per area the sum of ``values`` over its neighbourhood, itself included, and the number of
    areas in it; ``w``: a libpysal ``W`` or ``Graph``, with or without self-weights (binary: any
    non-zero weight is a neighbour)."""
    adjacency = w.sparse.tocsr().astype(bool).astype(np.int64)
    adjacency.eliminate_zeros()  # a stored zero weight is no neighbour
    missing_self = 1 - adjacency.diagonal()
    return adjacency @ values + missing_self * values, np.diff(adjacency.indptr) + missing_self


def _binomial_p(values: np.ndarray, w) -> np.ndarray:
    """Two-sided exact p-value of each area's neighbourhood sum (itself included) under a
    uniform allocation of the counts over the areas: Binomial(N, w_i / n)."""
    from scipy.stats import binom

    counts = np.rint(values).astype(np.int64)
    n, total = len(counts), int(counts.sum())
    sums, sizes = neighbourhood_sums(counts, w)
    share = np.minimum(sizes / n, 1.0)
    upper = binom.sf(sums - 1, total, share)  # P(X >= s)
    lower = binom.cdf(sums, total, share)  # P(X <= s)
    return np.minimum(1.0, 2 * np.minimum(upper, lower))


def gi_star(values: np.ndarray, w, *, permutations: int = 999, seed: int = 1, alpha: float = ALPHA,
            counts: bool | None = None) -> pd.DataFrame:
    """Getis-Ord Gi* per area (esda.G_Local, star=True, binary weights) with BH-corrected p-values.

    Columns: ``gi_z`` (standardised Gi*), ``p_norm`` (two-sided normal p-value of ``gi_z``),
    ``p_sim`` (PySAL's one-sided permutation pseudo p-value; NaN without permutations),
    ``p_value`` (the one the classes use: exact binomial for counts, else ``p_norm``),
    ``p_fdr`` (``p_value`` Benjamini–Hochberg adjusted), ``klasse`` (hotspot / coldspot / niet
    significant at ``alpha`` after the correction). ``counts``: whether ``values`` are counts
    (default: whole non-negative numbers).
    """
    from esda.getisord import G_Local
    from scipy.stats import norm

    values = np.asarray(values, dtype="float64")
    if len(values) < 3:
        raise DataError("Voor hotspots zijn minstens drie gebieden nodig.")
    if np.all(values == values[0]):
        z = np.zeros(len(values))
        p_sim = np.full(len(values), np.nan)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Gi* on binary weights warns about the star transform
            g = G_Local(values, w, transform="B", star=True, permutations=permutations, seed=seed)
        z = np.asarray(g.Zs, dtype="float64")
        p_sim = np.asarray(g.p_sim, dtype="float64") if permutations else np.full(len(values), np.nan)
    p_norm = 2 * norm.sf(np.abs(z))
    if counts is None:
        counts = bool(np.all(values >= 0) and np.all(values == np.rint(values)))
    p_value = _binomial_p(values, w) if counts and values.sum() > 0 else p_norm
    p_fdr = fdr_adjust(p_value)
    klasse = np.where((p_fdr <= alpha) & (z > 0), HOT, np.where((p_fdr <= alpha) & (z < 0), COLD, NOT_SIGNIFICANT))
    return pd.DataFrame({"gi_z": z, "p_norm": p_norm, "p_sim": p_sim, "p_value": p_value, "p_fdr": p_fdr,
                         "klasse": klasse})


@dataclass(frozen=True)
class Hotspots:
    """Cells (or buurten) with counts and their Gi* class; only aggregates."""

    areas: gpd.GeoDataFrame  # cell_id/region_code, count, gi_z, p_sim, p_fdr, klasse, geometry
    level: str
    cell: float
    n_incidents: int
    permutations: int
    alpha: float

    @property
    def n_hot(self) -> int:
        return int((self.areas["klasse"] == HOT).sum())


def grid_hotspots(incidents: pd.DataFrame, cell: float, *, area: gpd.GeoDataFrame | None = None,
                  permutations: int = 999, seed: int = 1, alpha: float = ALPHA) -> Hotspots:
    grid = grid_counts(incidents, cell, area)
    stats = gi_star(grid["count"].to_numpy(), lattice_weights(grid), permutations=permutations, seed=seed, alpha=alpha)
    areas = pd.concat([grid.reset_index(drop=True), stats], axis=1)
    return Hotspots(gpd.GeoDataFrame(areas, geometry="geometry", crs=RD_NEW), "grid", cell, len(incidents), permutations, alpha)


def buurt_hotspots(incidents: pd.DataFrame, buurten: gpd.GeoDataFrame, *, permutations: int = 999, seed: int = 1,
                   alpha: float = ALPHA) -> Hotspots:
    """Gi* on buurt polygons (queen contiguity); ``incidents`` need ``buurt_code``."""
    from libpysal.weights import Queen

    if buurten is None or buurten.empty:
        raise DataError("Er staan geen buurtgrenzen in het warehouse: kies hotspot_niveau = 'grid'.")
    areas = buurten.to_crs(RD_NEW).reset_index(drop=True)
    counts = incidents.groupby("buurt_code").size()
    areas["count"] = counts.reindex(areas["region_code"]).fillna(0).astype(int).to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = Queen.from_dataframe(areas, use_index=False)
    stats = gi_star(areas["count"].to_numpy(), w, permutations=permutations, seed=seed, alpha=alpha)
    out = pd.concat([areas, stats], axis=1)
    return Hotspots(gpd.GeoDataFrame(out, geometry="geometry", crs=RD_NEW), "buurt", 0.0, len(incidents), permutations, alpha)
