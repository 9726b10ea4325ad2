"""Known answers for the analysis engine: report period, comparisons once, hierarchy, phi, flags."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from veiligheidsbeeld.analysis import engine
from veiligheidsbeeld.analysis.engine import RegionHierarchy, ReportPeriod, unique_comparisons
from veiligheidsbeeld.analysis.periods import Period, standard_comparisons, today_local
from veiligheidsbeeld.config import StatistiekSettings, TweewekelijksSettings
from veiligheidsbeeld.errors import ConfigError

OPTS, STATS = TweewekelijksSettings(), StatistiekSettings()


def test_comparisons_covering_the_same_months_are_shown_once() -> None:
    december = [c.key for c in unique_comparisons(standard_comparisons(date(2023, 12, 1)))]
    # Year to date = last 12 months; Donkere Dagen so far (October-December) = last 3 months.
    assert december == ["maand", "kwartaal", "12_maanden"]
    october = [c.key for c in unique_comparisons(standard_comparisons(date(2023, 10, 1)))]
    assert october == ["maand", "kwartaal", "jaar_tot_nu", "12_maanden"]  # Donkere Dagen (October) = the month
    june = [c.key for c in unique_comparisons(standard_comparisons(date(2023, 6, 1)))]
    assert len(june) == 5


def test_report_period_windows() -> None:
    p = ReportPeriod.resolve(date(2024, 1, 15), [date(2023, m, 1) for m in range(1, 13)], OPTS, STATS,
                             today=date(2024, 1, 20))
    assert p.latest_month == date(2023, 12, 1)
    assert p.chart_window == Period.month_range(date(2021, 1, 1), date(2023, 12, 1))
    assert p.chart_baseline.months()[-1] == date(2022, 12, 1) and p.judged.start == date(2023, 10, 1)
    assert p.series_first == date(2020, 1, 1)
    assert p.history_first == date(2018, 1, 1) and p.first_month == date(2018, 1, 1)
    assert p.shown_first == date(2020, 1, 1)
    assert p.dispersion_pairs == Period.month_range(date(2019, 1, 1), date(2022, 12, 1))
    assert p.season_history.months()[-1] == date(2023, 9, 1)
    with pytest.raises(ConfigError):
        ReportPeriod.resolve(date(2024, 2, 1), [date(2023, 12, 1)], OPTS, STATS, today=date(2024, 1, 20))


def test_the_clock_is_amsterdam() -> None:
    assert today_local() == datetime.now(ZoneInfo("Europe/Amsterdam")).date()


def _table() -> pd.DataFrame:
    return pd.DataFrame({
        "gemeente_code": ["GM0001", "GM0002", "GM0003"], "gemeente_naam": ["A", "B", "C"],
        "district_code": ["D1", "D1", "D2"], "district_naam": ["Noord", "Noord", "Zuid"],
        "eenheid_code": "RE99", "eenheid_naam": "Test",
    })


def _monthly(values: dict[str, list[float]], first: date) -> pd.DataFrame:
    rows = []
    for code, counts in values.items():
        for i, c in enumerate(counts):
            m = date(first.year + (first.month - 1 + i) // 12, (first.month - 1 + i) % 12 + 1, 1)
            rows.append({"region_code": code, "group": "W", "month": m, "count": c, "count_known": c,
                         "n_suppressed": 0, "n_missing": 0})
    return pd.DataFrame(rows)


def test_hierarchy_level_counts_and_families() -> None:
    h = RegionHierarchy.from_table(_table())
    gm = _monthly({"GM0001": [1, 2], "GM0002": [3, 4], "GM0003": [5, np.nan]}, date(2023, 1, 1))
    gm.loc[gm["count"].isna(), "n_missing"] = 1
    levels = h.level_counts(gm).set_index(["region_code", "month"])
    assert levels.loc[("D1", date(2023, 2, 1)), "count"] == 6
    assert np.isnan(levels.loc[("RE99", date(2023, 2, 1)), "count"])  # incomplete child: never a sum
    assert levels.loc[("RE99", date(2023, 1, 1)), "count"] == 9
    assert h.family("GM0002", "gemeente") == "D1" == h.family("D1", "district")
    assert h.family("RE99", "eenheid") == "RE99"
    assert h.family("WK000101", "wijk", "GM0001") == "GM0001:gebieden"


def test_dispersion_table_known_answer_with_pooling() -> None:
    # Two years of a month against the same month a year earlier: GM0001 has pairs (10, 6) and
    # (8, 4), Pearson statistics 16/16 = 1 and 16/12 = 4/3; GM0002 has the pair (5, 5): 0.
    first = date(2022, 1, 1)
    a = [6, 4] + [np.nan] * 10 + [10, 8]
    b = [5] + [np.nan] * 11 + [5]
    monthly = _monthly({"GM0001": a, "GM0002": b}, first)
    pairs = Period.month_range(date(2023, 1, 1), date(2023, 2, 1))
    pool = pd.Series("D1", index=monthly.index)
    out = engine.dispersion_table(monthly, pairs, StatistiekSettings(dispersion_prior_pairs=2), pool).set_index(
        "region_code")
    own_a = (1 + 4 / 3) / 2
    # The pool's 1/k by moments: sum((c1 - c2)^2 - n) / sum(n^2 / 2) over the three pairs.
    inv_k = ((16 - 16) + (16 - 12) + (0 - 10)) / (16**2 / 2 + 12**2 / 2 + 10**2 / 2)
    assert inv_k < 0  # no extra variation in the pool: 1/k is clipped at 0, so phi_pool = 1
    assert out.loc["GM0001", "phi_pool"] == pytest.approx(1.0)
    assert out.loc["GM0001", "phi_own"] == pytest.approx(own_a)
    assert out.loc["GM0001", "phi"] == pytest.approx((2 * own_a + 2 * 1.0) / 4)
    assert out.loc["GM0002", "phi"] == 1.0  # never below Poisson
    off = engine.dispersion_table(monthly, pairs, StatistiekSettings(overdispersion=False), pool)
    assert (off["phi"] == 1.0).all()


def test_pooled_dispersion_grows_with_the_mean() -> None:
    # Negative binomial counts (k = 10): a region's pooled phi is 1 + mean / k, so the large
    # gemeente's pooled value is far above the small one's.
    rng = np.random.default_rng(7)
    months = 48
    small = rng.negative_binomial(10, 10 / (10 + 3), months).astype(float)    # mean 3: phi 1.3
    large = rng.negative_binomial(10, 10 / (10 + 40), months).astype(float)   # mean 40: phi 5
    monthly = _monthly({"GM0001": list(small), "GM0002": list(large)}, date(2019, 1, 1))
    pairs = Period.month_range(date(2020, 1, 1), date(2022, 12, 1))
    out = engine.dispersion_table(monthly, pairs, STATS, pd.Series("D1", index=monthly.index)).set_index(
        "region_code")
    assert out.loc["GM0001", "phi_pool"] < 2.0 < 3.0 < out.loc["GM0002", "phi_pool"]
    assert 3.0 < out.loc["GM0002", "phi"] < 8.0


def test_flags_are_controlled_per_family() -> None:
    changes = pd.DataFrame({
        "p_value": [0.001, 0.02, 0.03, 0.04, 0.001, 0.5],
        "testable": True,
    })
    family = pd.Series(["D1", "D1", "D1", "D1", "D2", "D2"])
    out = engine.flag(changes, family, StatistiekSettings(fdr_q=0.10))
    # D1: BH q-values 0.004, 0.04, 0.04, 0.04 -> all flagged at 10%; D2: 0.002 and 0.5.
    assert list(out["q_value"].round(6)) == [0.004, 0.04, 0.04, 0.04, 0.002, 0.5]
    assert list(out["significant"]) == [True, True, True, True, True, False]
    assert list(out["family_tests"]) == [4, 4, 4, 4, 2, 2]
    strict = engine.flag(changes, family, StatistiekSettings(fdr_q=0.03))
    assert list(strict["significant"]) == [True, False, False, False, True, False]


def test_chance_text_counts_the_tests() -> None:
    changes = pd.DataFrame({"p_value": [0.1] * 200 + [np.nan] * 5})
    text = engine.chance_flags_text(changes, STATS)
    assert "200 vergelijkingen" in text and "ongeveer 10" in text and "q = 10%" in text


def test_statistiek_settings_from_toml(tmp_path) -> None:
    from veiligheidsbeeld.config import load_settings

    path = tmp_path / "veiligheidsbeeld.toml"
    path.write_text("[statistiek]\nfdr_q = 0.05\noverdispersion = false\njudged_months = 2\n", encoding="utf-8")
    s = load_settings(path).statistiek
    assert (s.fdr_q, s.overdispersion, s.judged_months, s.alpha) == (0.05, False, 2, 0.05)
    path.write_text("[statistiek]\nfdr_q = 0.7\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="fdr_q"):
        load_settings(path)
    path.write_text("[statistiek]\nfdr = 0.1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="fdr_q"):  # a misspelt key names the valid ones
        load_settings(path)


def test_incident_fourteen_days_use_the_engine_family() -> None:
    # Both 14-day comparisons of a district form one family; each region keeps its monthly phi.
    from veiligheidsbeeld.analysis.stats import compare_counts, fdr_adjust
    from veiligheidsbeeld.incidents.biweekly import judge_fourteen_days

    table = pd.DataFrame({"region_code": ["VR05", "GM0153", "GM0168"], "name": ["Twente", "Enschede", "Losser"],
                          "level": ["district", "gemeente", "gemeente"], "current": [60, 40, 3],
                          "previous": [30, 18, 4]})
    year_table = table.assign(previous=[58, 30, 2])
    phi = {"VR05": 1.5, "GM0153": 1.2}
    vs_prev, vs_year = judge_fourteen_days(table, year_table, "VR05", STATS, phi)
    p = [compare_counts(c, q, phi=phi.get(r, 1.0)).p_value
         for frame in (table, year_table) for r, c, q in zip(frame["region_code"], frame["current"], frame["previous"])]
    q = fdr_adjust(p)
    assert list(vs_prev["p_value"]) + list(vs_year["p_value"]) == pytest.approx(p)
    assert list(vs_prev["q_value"]) + list(vs_year["q_value"]) == pytest.approx(list(q))
    assert list(vs_prev["significant"]) == [bool(x < 0.10) for x in q[:3]]
    assert vs_prev.loc[2, "phi"] == 1.0 and vs_prev.loc[0, "phi"] == 1.5
    assert (vs_prev["family_tests"] == 6).all()
