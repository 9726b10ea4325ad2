"""Hotspots: Gi* against PySAL's own example results, grid aggregation, a planted hotspot found
after the Benjamini–Hochberg correction and none on data without one. SYNTHETIC incidents."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from libpysal.weights.distance import DistanceBand

from veiligheidsbeeld.incidents.hotspots import (
    COLD,
    HOT,
    NOT_SIGNIFICANT,
    cell_label,
    fdr_adjust,
    gi_star,
    grid_counts,
    grid_hotspots,
    lattice_weights,
)

# PySAL's own example for G_Local (esda's docstring and esda/tests/test_getisord.py): six points,
# a distance band of 15, binary weights with the star (the area itself included). Its published
# answers: Zs = [-1.39727626, -0.28917762, 0.65064964, -0.28917762, 1.23452088, 2.02424331] and,
# with seed 10, p_sim[0] = 0.102.
POINTS = np.array([(10, 10), (20, 10), (40, 10), (15, 20), (30, 20), (30, 30)])
VALUES = np.array([2, 3, 3.2, 5, 8, 7])


def test_gi_star_matches_pysals_published_example():
    result = gi_star(VALUES, DistanceBand(POINTS, threshold=15), permutations=999, seed=10)
    published = [-1.39727626, -0.28917762, 0.65064964, -0.28917762, 1.23452088, 2.02424331]
    assert result["gi_z"].to_numpy() == pytest.approx(published, rel=1e-6)
    assert result["p_sim"].iloc[0] == pytest.approx(0.102)
    assert (result["klasse"] == NOT_SIGNIFICANT).all()  # six areas: nothing survives the correction


def test_gi_star_by_hand_on_a_small_lattice():
    """Gi* = (sum_j w_ij x_j - xbar W_i) / (s sqrt((n W_i - W_i^2)/(n-1))), self included."""
    grid = pd.DataFrame({"col": [0, 1, 2, 0, 1, 2, 0, 1, 2], "row": [0, 0, 0, 1, 1, 1, 2, 2, 2]})
    values = np.array([0, 1, 0, 2, 9, 3, 0, 1, 0], dtype=float)
    w = lattice_weights(grid)
    z = gi_star(values, w, permutations=0)["gi_z"].to_numpy()
    n, xbar = len(values), values.mean()
    s = np.sqrt((values ** 2).mean() - xbar ** 2)
    for i in range(n):
        nb = set(w.neighbors[i]) | {i}
        wi = len(nb)
        if wi == n:  # the centre sees every cell: Gi* is undefined there
            continue
        num = values[list(nb)].sum() - xbar * wi
        den = s * np.sqrt((n * wi - wi ** 2) / (n - 1))
        assert z[i] == pytest.approx(num / den, rel=1e-9)


def test_grid_counts_fill_zero_cells_and_sum_to_the_incidents():
    inc = pd.DataFrame({"x": [200_010.0, 200_190.0, 200_210.0, 200_999.0], "y": [450_010.0, 450_010.0, 450_010.0, 450_999.0]})
    grid = grid_counts(inc, 200)
    assert grid["count"].sum() == 4
    assert len(grid) == 5 * 5  # 200,000..201,000 in 200 m cells
    assert grid.set_index("cell_id").loc[cell_label(1000, 2250, 200), "count"] == 2
    assert (grid["count"] == 0).sum() == 22


def test_planted_hotspot_found_after_fdr_and_none_in_uniform_data():
    """SYNTHETIC: 2,000 incidents uniform over 10 × 10 km, plus 150 within ~150 m of one spot."""
    rng = np.random.default_rng(1)
    uniform = pd.DataFrame({"x": rng.uniform(200_000, 210_000, 2000), "y": rng.uniform(460_000, 470_000, 2000)})
    result = grid_hotspots(uniform, 200, alpha=0.05)
    assert (result.areas["klasse"] == HOT).sum() == 0  # BH keeps the false discoveries away
    spot = pd.DataFrame({"x": rng.normal(205_100, 100, 150), "y": rng.normal(465_100, 100, 150)})
    result = grid_hotspots(pd.concat([uniform, spot]), 200, alpha=0.05)
    hot = result.areas[result.areas["klasse"] == HOT]
    assert len(hot) >= 3
    centre = hot.geometry.union_all().centroid
    assert abs(centre.x - 205_100) < 300 and abs(centre.y - 465_100) < 300
    assert (result.areas.loc[result.areas["klasse"] == COLD, "count"] == 0).all()


def test_bh_adjustment():
    p = np.array([0.01, 0.04, 0.03, 0.2, np.nan])
    adj = fdr_adjust(p)
    assert np.allclose(adj[:4], [0.04, 0.16 / 3, 0.16 / 3, 0.2])  # 0.03*4/2 > 0.04*4/3: monotone
    assert np.isnan(adj[4])


def test_buurt_level_hotspots_on_polygons():
    """SYNTHETIC: a 10 x 10 lattice of square 'buurten'; one corner block holds most incidents."""
    import geopandas as gpd
    from shapely.geometry import box

    from veiligheidsbeeld.incidents.hotspots import buurt_hotspots

    codes, geoms = [], []
    for c in range(10):
        for r in range(10):
            codes.append(f"BU0153{c:02d}{r:02d}")
            geoms.append(box(200_000 + c * 500, 450_000 + r * 500, 200_000 + (c + 1) * 500, 450_000 + (r + 1) * 500))
    buurten = gpd.GeoDataFrame({"region_code": codes}, geometry=geoms, crs="EPSG:28992")
    rng = np.random.default_rng(3)
    counts = {code: int(rng.poisson(2)) for code in codes}
    for c in range(2):
        for r in range(2):
            counts[f"BU0153{c:02d}{r:02d}"] = 40
    incidents = pd.DataFrame({"buurt_code": [code for code, k in counts.items() for _ in range(k)]})
    result = buurt_hotspots(incidents, buurten)
    hot = set(result.areas.loc[result.areas["klasse"] == HOT, "region_code"])
    assert {"BU01530000", "BU01530101"} <= hot
    assert all(code[6:8] in ("00", "01", "02") and code[8:10] in ("00", "01", "02") for code in hot)
    assert result.areas["count"].sum() == sum(counts.values())


def test_sparse_grid_gives_no_false_hotspots_and_exact_p_values():
    """SYNTHETIC: 300 uniform incidents on 10,000 cells of 200 m. The normal approximation of Gi*
    calls many lone incidents 'hotspots' here; the exact binomial p-value does not."""
    from scipy.stats import binom, norm

    rng = np.random.default_rng(5)
    inc = pd.DataFrame({"x": rng.uniform(200_000, 219_999, 300), "y": rng.uniform(460_000, 479_999, 300)})
    result = grid_hotspots(inc, 200)
    areas = result.areas
    assert len(areas) == 100 * 100
    assert (areas["klasse"] == HOT).sum() == 0
    # What the normal approximation would have flagged (the reason for the exact p-value).
    assert (fdr_adjust(2 * norm.sf(np.abs(areas["gi_z"].to_numpy()))) <= 0.05).sum() > 0
    # The exact p-value of one interior cell by hand: its 3 x 3 neighbourhood sum ~ Binomial(300, 9 / 10,000).
    i = areas.index[(areas["col"] == 1050) & (areas["row"] == 2350)][0]
    block = areas[(areas["col"].between(1049, 1051)) & (areas["row"].between(2349, 2351))]
    s = int(block["count"].sum())
    expected = min(1.0, 2 * min(binom.sf(s - 1, 300, 9 / 10_000), binom.cdf(s, 300, 9 / 10_000)))
    assert areas.loc[i, "p_value"] == pytest.approx(expected)
