"""Knox test: known answers (brute force), behaviour without and with space-time interaction, and a
published reference (the Near Repeat Calculator's table for Chicago burglaries in 2016).

Synthetic incidents are generated here deterministically and are labelled SYNTHETIC.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from veiligheidsbeeld.errors import ConfigError, DataError
from veiligheidsbeeld.incidents.knox import KNOX_COLUMNS, band_label, knox_test, raised_risk_zone, write_knox_csv
from veiligheidsbeeld.testing.synthetic_incidents import uniform_incidents



def brute_force(x, y, t, d_edges, t_edges, metric):
    """Every pair, counted the slow obvious way ([a, b) bands, the last one open)."""
    table = np.zeros((len(d_edges), len(t_edges)), dtype=int)
    for a, b in itertools.combinations(range(len(x)), 2):
        dx, dy = abs(x[a] - x[b]), abs(y[a] - y[b])
        d = dx + dy if metric == "manhattan" else (dx * dx + dy * dy) ** 0.5
        dt = abs(t[a] - t[b])
        i = max(k for k in range(len(d_edges)) if d_edges[k] <= d) if d >= d_edges[0] else None
        j = max(k for k in range(len(t_edges)) if t_edges[k] <= dt) if dt >= t_edges[0] else None
        if i is not None and j is not None:
            table[i, j] += 1
    return table


@pytest.mark.parametrize("metric", ["manhattan", "euclidean"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_observed_counts_equal_brute_force(metric, seed):
    rng = np.random.default_rng(seed)
    n = 80
    # Integer coordinates and days put many pairs exactly on band edges (the half-open rule matters).
    x = rng.integers(0, 400, n).astype(float)
    y = rng.integers(0, 400, n).astype(float)
    t = rng.integers(0, 40, n).astype(float)
    x[:5], y[:5] = 100.0, 100.0  # same location
    d_edges, t_edges = [0, 1, 100, 200, 300], [0, 7, 14, 21]
    result = knox_test(x, y, t, d_edges, t_edges, metric=metric, permutations=5, seed=1)
    expected = brute_force(x, y, t, d_edges, t_edges, metric)
    assert (result.matrix("waargenomen").to_numpy() == expected).all()
    assert result.table["waargenomen"].sum() == n * (n - 1) // 2
    assert list(result.table.columns) == list(KNOX_COLUMNS)


def test_first_edge_above_zero_leaves_close_pairs_out():
    rng = np.random.default_rng(7)
    x, y = rng.integers(0, 300, 60).astype(float), rng.integers(0, 300, 60).astype(float)
    t = rng.integers(0, 30, 60).astype(float)
    d_edges, t_edges = [50, 100, 200], [2, 7, 14]
    result = knox_test(x, y, t, d_edges, t_edges, metric="euclidean", permutations=3)
    assert (result.matrix("waargenomen").to_numpy() == brute_force(x, y, t, d_edges, t_edges, "euclidean")).all()


def test_band_edges_and_labels():
    assert band_label(0, 1) == "[0, 1)"
    assert band_label(300, None) == "[300, ∞)"
    # Two incidents exactly 100 m and 7 days apart fall in [100, ...) and [7, ...), never below.
    r = knox_test([0, 0], [0, 100], [0, 7], [0, 100, 200], [0, 7, 14], permutations=1)
    cell = r.table[r.table["waargenomen"] == 1].iloc[0]
    assert (cell["afstand_van"], cell["afstand_tot"], cell["dagen_van"], cell["dagen_tot"]) == (100, 200, 7, 14)


def test_knox_csv_has_the_contract_columns_and_open_last_bands(tmp_path):
    data = uniform_incidents(200, seed=4)
    r = knox_test(data["x"], data["y"], data["t"], [0, 1, 100, 200, 300], [0, 7, 14, 21], permutations=9)
    write_knox_csv(r, tmp_path / "knox.csv")
    text = (tmp_path / "knox.csv").read_text().splitlines()
    assert text[0] == "afstand_van,afstand_tot,dagen_van,dagen_tot,waargenomen,verwacht,knox_ratio,p_waarde"
    back = pd.read_csv(tmp_path / "knox.csv", keep_default_na=False)
    assert len(back) == 5 * 4
    assert (back.loc[back["afstand_van"] == 300, "afstand_tot"] == "").all()
    assert (back.loc[back["dagen_van"] == 21, "dagen_tot"] == "").all()
    assert (back.loc[back["afstand_van"] < 300, "afstand_tot"] != "").all()


def test_p_values_are_uniform_without_space_time_interaction():
    """SYNTHETIC: places and days drawn independently. Across seeds the p-values of the close
    cells are roughly uniform: about 5% below 0.05, and no systematic excess."""
    p_values = []
    for seed in range(12):
        data = uniform_incidents(400, seed=100 + seed, size=3000)
        r = knox_test(data["x"], data["y"], data["t"], [0, 100, 200, 300, 400], [0, 7, 14, 21, 28],
                      metric="manhattan", permutations=99, seed=seed)
        finite = r.table[r.table["afstand_tot"].notna() & r.table["dagen_tot"].notna()]
        p_values.extend(finite["p_waarde"])
    p = np.asarray(p_values)  # 12 seeds x 16 cells
    assert 0.0 <= np.mean(p < 0.05) <= 0.12
    # Discrete permutation p-values: a KS test against U(0,1) with a lenient threshold.
    assert stats.kstest(p, "uniform").pvalue > 0.001
    assert 0.4 < p.mean() < 0.6


def test_planted_near_repeat_chains_are_found():
    """SYNTHETIC: background without interaction plus chains (follow-ups within 100 m and 7 days)."""
    rng = np.random.default_rng(11)
    bg = uniform_incidents(600, seed=11, size=4000)
    seeds = bg.sample(120, random_state=1)
    follow = pd.DataFrame({
        "x": seeds["x"].to_numpy() + rng.uniform(-50, 50, 120),
        "y": seeds["y"].to_numpy() + rng.uniform(-50, 50, 120),
        "t": seeds["t"].to_numpy() + rng.integers(1, 7, 120),
    })
    data = pd.concat([bg, follow], ignore_index=True)
    r = knox_test(data["x"], data["y"], data["t"], [0, 100, 200, 300, 400], [0, 7, 14, 21, 28],
                  metric="manhattan", permutations=99, seed=2)
    near = r.table[(r.table["afstand_van"] == 0) & (r.table["dagen_van"] == 0)].iloc[0]
    assert near["p_waarde"] == pytest.approx(0.01)
    assert near["knox_ratio"] > 2
    # Far away in space and time nothing is raised.
    far = r.table[(r.table["afstand_van"] == 300) & (r.table["dagen_van"] == 21)].iloc[0]
    assert far["p_waarde"] > 0.05
    assert raised_risk_zone(r, min_ratio=1.2, alpha=0.05) == (100.0, 7.0)


def test_same_seed_same_result_and_bad_input():
    data = uniform_incidents(100, seed=5)
    a = knox_test(data["x"], data["y"], data["t"], [0, 100, 200], [0, 7, 14], permutations=19, seed=3)
    b = knox_test(data["x"], data["y"], data["t"], [0, 100, 200], [0, 7, 14], permutations=19, seed=3)
    pd.testing.assert_frame_equal(a.table, b.table)
    with pytest.raises(ConfigError, match="oplopend"):
        knox_test(data["x"], data["y"], data["t"], [0, 200, 100], [0, 7], permutations=9)
    with pytest.raises(DataError, match="minstens twee"):
        knox_test([1.0], [1.0], [1.0], [0, 100], [0, 7], permutations=9)
    with pytest.raises(DataError, match="afstandsmaat"):
        knox_test(data["x"], data["y"], data["t"], [0, 100], [0, 7], metric="chebyshev")


# --- Published reference: Near Repeat Calculator 1.3 on Chicago residential burglary 2016 -----
#
# Data: ../shared/data/incidenten/chicago_burglary_2016.csv.gz (see tests/data/README.md for its source). The NRC
# was run by T. Davies (2019) with spatial bandwidth 100 m × 3 bands, temporal bandwidth 2 days ×
# 2 bands, Euclidean, 19 iterations. Its "Observed frequencies distribution" (rows: Same location,
# 1 to 100, 101 to 200, 201 to 300, More than 300; columns: 0 to 2, 3 to 4, More than 4 days):
NRC_OBSERVED = np.array([
    [202, 51, 1025],
    [189, 143, 7762],
    [290, 343, 23366],
    [456, 526, 41305],
    [577857, 760260, 67037075],
])
#: Its "Observed over mean expected frequencies" (Knox ratios).
NRC_RATIO = np.array([
    [15.602, 3.341, 0.82],
    [2.678, 1.576, 0.978],
    [1.366, 1.301, 0.993],
    [1.295, 1.14, 0.996],
    [0.999, 1.0, 1.0],
])
#: Its significance table (with 19 iterations, 0.05 is its smallest p-value).
NRC_P = np.array([
    [0.05, 0.05, 1], [0.05, 0.05, 1], [0.05, 0.05, 1], [0.05, 0.05, 1], [1, 1, 0.05],
])
#: The NRC's 19 simulated counts of the first cell (Same location, 0 to 2 days), from its verbose file.
NRC_RUNS_FIRST_CELL = [44, 15, 13, 8, 11, 12, 4, 8, 15, 8, 4, 8, 8, 15, 15, 16, 12, 14, 16]


@pytest.fixture(scope="module")
def chicago_2016(chicago_reference):
    frame = pd.read_csv(chicago_reference)
    day = pd.to_datetime(frame["date_single"], format="%d/%m/%Y")
    assert len(frame) == 11701  # the NRC: "Number of records successfully recorded: 11701"
    return frame["x"].to_numpy(), frame["y"].to_numpy(), (day - day.min()).dt.days.to_numpy(dtype=float)


@pytest.fixture(scope="module")
def chicago_knox(chicago_2016):
    x, y, t = chicago_2016
    # The NRC labels "a to b" what it computes as [a-1, b): these edges reproduce its table.
    return knox_test(x, y, t, [0, 1, 100, 200, 300], [0, 2, 4], metric="euclidean", permutations=99, seed=1)


def test_reproduces_the_near_repeat_calculators_observed_counts(chicago_knox):
    observed = chicago_knox.matrix("waargenomen").to_numpy()
    # The two finite time bands and the open distance band: exactly the NRC's counts.
    assert (observed[:, :2] == NRC_OBSERVED[:, :2]).all()
    assert (observed[4] == NRC_OBSERVED[4]).all()
    # The open time band [4, ∞) within 300 m: the same total, but 8 pairs are 0 < d < 1 m apart
    # (the NRC's "Same location" is exactly 0 m) and a handful sit on 100/200 m in single
    # precision; the next test reproduces every cell with the NRC's conventions.
    assert observed[:4, 2].sum() == NRC_OBSERVED[:4, 2].sum()
    assert np.abs(observed[:4, 2] - NRC_OBSERVED[:4, 2]).max() <= 8


def test_nrc_table_reproduced_exactly_with_its_conventions(chicago_2016):
    """All 15 observed counts, exactly: the NRC's "Same location" is a distance of exactly 0 (so its
    "1 to 100" is 0 < d < 100, here the band [1e-6, 100)), and it computes in single precision
    (coordinates as float32: about 3 cm at Chicago's 360,000 m)."""
    x, y, t = chicago_2016
    r = knox_test(x.astype(np.float32).astype(float), y.astype(np.float32).astype(float), t,
                  [0, 1e-6, 100, 200, 300], [0, 2, 4], metric="euclidean", permutations=1)
    assert (r.matrix("waargenomen").to_numpy() == NRC_OBSERVED).all()


def test_expected_and_p_values_agree_with_the_nrc_within_monte_carlo_error(chicago_knox):
    ratio = chicago_knox.matrix("knox_ratio").to_numpy()
    expected = chicago_knox.matrix("verwacht").to_numpy()
    p = chicago_knox.matrix("p_waarde").to_numpy()
    nrc_expected = NRC_OBSERVED / NRC_RATIO
    # Monte Carlo error of the NRC's mean of 19 runs: its first cell's runs give the spread; a
    # Poisson-like spread (sqrt of the expected count) for the other cells.
    sd_first = np.std(NRC_RUNS_FIRST_CELL, ddof=1)
    assert abs(expected[0, 0] - np.mean(NRC_RUNS_FIRST_CELL)) < 4 * sd_first * np.sqrt(1 / 19 + 1 / 99)
    close = expected[:4, :2]
    se = np.sqrt(nrc_expected[:4, :2]) * np.sqrt(1 / 19 + 1 / 99) * 1.5  # allow some overdispersion
    assert (np.abs(close - nrc_expected[:4, :2]) < 4 * se + 1).all()
    # Significance agrees in every cell: the NRC's 0.05 (its floor with 19 runs) is our 0.01.
    assert ((p <= 0.05) == (NRC_P <= 0.05)).all()
    # Knox ratios of the finite cells agree within 15% (the first cell's expected count is ~12:
    # its ratio carries the NRC's large Monte Carlo error, checked above).
    assert np.allclose(ratio[1:4], NRC_RATIO[1:4], rtol=0.15)


@pytest.mark.parametrize("scale", [0.5, 0.37])
def test_fractional_times_half_days_and_arbitrary(scale):
    """Midpoints of windows are half days (lookup-table path); other fractions take the search path."""
    rng = np.random.default_rng(9)
    x, y = rng.integers(0, 300, 70).astype(float), rng.integers(0, 300, 70).astype(float)
    t = rng.integers(0, 80, 70) * scale
    d_edges, t_edges = [0, 50, 150, 250], [0, 3.5, 7, 10.5]
    r = knox_test(x, y, t, d_edges, t_edges, metric="manhattan", permutations=3)
    assert (r.matrix("waargenomen").to_numpy() == brute_force(x, y, t, d_edges, t_edges, "manhattan")).all()
