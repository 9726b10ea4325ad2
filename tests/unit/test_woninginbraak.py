"""Known answers for the biweekly woninginbraak analysis on small hand-built frames."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from veiligheidsbeeld.analysis.engine import ReportPeriod
from veiligheidsbeeld.analysis.engine import aggregate, period_totals
from veiligheidsbeeld.analysis.periods import Period, standard_comparisons
from veiligheidsbeeld.config import StatistiekSettings
from veiligheidsbeeld.analysis.woninginbraak import (
    LIST_INCREASE,
    LIST_MOST,
    TweewekelijksSettings,
    analyse,
    check_leaf_codes,
    compare_periods,
    funnel_table,
    gemeente_control_charts,
    group_counts,
    month_grid,
    top_areas,
)
from veiligheidsbeeld.errors import ConfigError
from veiligheidsbeeld.warehouse.queries import DataInfo

GROUPS = {"Woninginbraak": ("1.1.1",), "Geweld": ("1.4.3", "1.4.4", "1.4.5")}
OFFENCE_TYPES = pd.DataFrame(
    {"code": ["0.0.0", "1.1.1", "1.4.3", "1.4.4", "1.4.5"], "is_rollup": [True, False, False, False, False]}
)


def facts_frame(rows: list[tuple[str, str, date, float | None]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"region_code": r, "type_code": t, "month": m, "count": np.nan if c is None else float(c)}
            for r, t, m, c in rows
        ]
    )


def constant_facts(regions: list[str], codes: list[str], months: list[date], value: float) -> pd.DataFrame:
    return facts_frame([(r, c, m, value) for r in regions for c in codes for m in months])


def info(synthetic: bool = True) -> DataInfo:
    return DataInfo("47022NED", "test", "v1", "2024-03-28", synthetic, None, None)


# --------------------------------------------------------------------------------------------
# Leaf codes, sums, suppression
# --------------------------------------------------------------------------------------------


def test_group_sums_only_its_leaf_codes_never_the_total():
    m = date(2023, 1, 1)
    facts = facts_frame(
        [
            ("GM0001", "0.0.0", m, 1000),  # the total must never be added to its parts
            ("GM0001", "1.1.1", m, 7),
            ("GM0001", "1.4.3", m, 1),
            ("GM0001", "1.4.4", m, 2),
            ("GM0001", "1.4.5", m, 3),
        ]
    )
    out = group_counts(facts, GROUPS, ["GM0001"], [m]).set_index("group")
    assert out.loc["Woninginbraak", "count"] == 7
    assert out.loc["Geweld", "count"] == 6


def test_suppressed_or_missing_cell_makes_the_sum_missing_not_lower():
    m1, m2 = date(2023, 1, 1), date(2023, 2, 1)
    facts = facts_frame(
        [
            ("GM0001", "1.4.3", m1, 1),
            ("GM0001", "1.4.4", m1, None),
            ("GM0001", "1.4.5", m1, 3),  # suppressed
            ("GM0001", "1.4.3", m2, 1),
            ("GM0001", "1.4.4", m2, 2),  # 1.4.5 absent in February
        ]
    )
    out = group_counts(facts, {"Geweld": GROUPS["Geweld"]}, ["GM0001"], [m1, m2]).set_index("month")
    assert math.isnan(out.loc[m1, "count"]) and out.loc[m1, "count_known"] == 4 and out.loc[m1, "n_suppressed"] == 1
    assert math.isnan(out.loc[m2, "count"]) and out.loc[m2, "count_known"] == 3 and out.loc[m2, "n_missing"] == 1


def test_a_region_without_any_rows_is_missing_for_every_month():
    months = [date(2023, 1, 1), date(2023, 2, 1)]
    out = group_counts(
        facts_frame([("GM0001", "1.1.1", months[0], 4)]), {"W": ("1.1.1",)}, ["GM0001", "GM0002"], months
    )
    absent = out[out["region_code"] == "GM0002"]
    assert absent["count"].isna().all() and (absent["n_missing"] == 1).all()


def test_rollup_and_unknown_codes_are_configuration_errors():
    check_leaf_codes(GROUPS, OFFENCE_TYPES)
    with pytest.raises(ConfigError, match="totaalcode"):
        check_leaf_codes({"Alles": ("0.0.0",)}, OFFENCE_TYPES)
    with pytest.raises(ConfigError, match="9.9.9"):
        check_leaf_codes({"X": ("9.9.9",)}, OFFENCE_TYPES)


def test_aggregate_into_district_propagates_incompleteness():
    m = date(2023, 1, 1)
    facts = facts_frame([("GM0001", "1.1.1", m, 5), ("GM0002", "1.1.1", m, None), ("GM0003", "1.1.1", m, 2)])
    monthly = group_counts(facts, {"W": ("1.1.1",)}, ["GM0001", "GM0002", "GM0003"], [m])
    out = aggregate(monthly, {"GM0001": "D1", "GM0002": "D1", "GM0003": "D2"}).set_index("region_code")
    assert math.isnan(out.loc["D1", "count"]) and out.loc["D1", "count_known"] == 5
    assert out.loc["D2", "count"] == 2


# --------------------------------------------------------------------------------------------
# Periods and comparisons
# --------------------------------------------------------------------------------------------


def test_period_totals_and_months_outside_the_grid():
    months = month_grid(date(2023, 1, 1), date(2023, 12, 1))
    monthly = group_counts(constant_facts(["GM0001"], ["1.1.1"], months, 2), {"W": ("1.1.1",)}, ["GM0001"], months)
    inside = period_totals(monthly, Period.month_range(date(2023, 1, 1), date(2023, 12, 1))).iloc[0]
    assert inside["count"] == 24 and inside["n_missing"] == 0
    # December 2022 is not in the grid at all: the total is incomplete, not 22.
    straddling = period_totals(monthly, Period.month_range(date(2022, 12, 1), date(2023, 11, 1))).iloc[0]
    assert math.isnan(straddling["count"]) and straddling["count_known"] == 22 and straddling["n_missing"] == 1


def test_known_answer_25_against_16_is_not_significant():
    # The known answer: sqrt-z 2.0 (a naive "significant"), E-test p about 0.165.
    months = [date(2022, 12, 1), date(2023, 12, 1)]
    facts = facts_frame([("GM0001", "1.1.1", months[0], 16), ("GM0001", "1.1.1", months[1], 25)])
    monthly = group_counts(facts, {"W": ("1.1.1",)}, ["GM0001"], months)
    month_comparison = standard_comparisons(date(2023, 12, 1))[:1]
    row = compare_periods(monthly, month_comparison).iloc[0]
    assert (row["current"], row["previous"], row["difference"]) == (25, 16, 9)
    assert row["sqrt_z"] == pytest.approx(2.0)
    assert row["p_value"] == pytest.approx(0.165, abs=0.002)
    assert not row["significant"] and row["direction"] == "stijging"
    assert row["pct_change"] == pytest.approx(56.25)


def test_large_change_is_flagged_and_incomplete_period_is_not_tested():
    months = month_grid(date(2022, 1, 1), date(2023, 12, 1))
    rows = [("GM0001", "1.1.1", m, 10 if m.year == 2023 else 4) for m in months]
    rows += [("GM0002", "1.1.1", m, 10) for m in months if m != date(2022, 11, 1)]  # a missing month
    monthly = group_counts(facts_frame(rows), {"W": ("1.1.1",)}, ["GM0001", "GM0002"], months)
    comps = standard_comparisons(date(2023, 12, 1))
    out = compare_periods(monthly, comps).set_index(["region_code", "comparison"])
    r = out.loc[("GM0001", "12_maanden")]
    assert (r["current"], r["previous"], r["difference"]) == (120, 48, 72)
    assert r["significant"] and r["direction"] == "stijging" and r["p_value"] < 1e-6
    gone = out.loc[("GM0002", "12_maanden")]
    assert gone["incomplete"] and not gone["testable"] and not gone["significant"]
    assert math.isnan(gone["previous"]) and gone["previous_known"] == 110
    # The month comparison does not touch November 2022, so it is complete and tested.
    assert out.loc[("GM0002", "maand"), "testable"]
    assert set(out.index.get_level_values("comparison")) == {
        "maand",
        "kwartaal",
        "jaar_tot_nu",
        "12_maanden",
        "donkere_dagen",
    }


def test_five_comparisons_use_the_right_periods():
    comps = {c.key: c for c in standard_comparisons(date(2024, 2, 1))}
    assert comps["kwartaal"].current == Period.month_range(date(2023, 12, 1), date(2024, 2, 1))
    assert comps["jaar_tot_nu"].previous == Period.month_range(date(2023, 1, 1), date(2023, 2, 1))
    assert comps["12_maanden"].previous == Period.month_range(date(2022, 3, 1), date(2023, 2, 1))
    assert comps["donkere_dagen"].current == Period.month_range(date(2023, 10, 1), date(2024, 2, 1))


# --------------------------------------------------------------------------------------------
# Funnel, control chart, top lists
# --------------------------------------------------------------------------------------------


def test_funnel_targets_the_pooled_district_rate_and_classifies():
    counts = pd.Series({"GM0001": 100.0, "GM0002": 10.0, "GM0003": 300.0, "GM0004": np.nan})
    dwellings = pd.Series({"GM0001": 20_000.0, "GM0002": 2_000.0, "GM0003": 30_000.0, "GM0004": 5_000.0})
    funnel = funnel_table(counts, dwellings, district_code="D1")
    assert funnel.target_rate == pytest.approx(410 / 52_000 * 1000)
    units = funnel.units.set_index("region_code")
    assert units.loc["GM0001", "rate"] == pytest.approx(5.0)
    assert units.loc["GM0003", "funnel"] == "boven 99,8%"  # 10 per 1,000 against 7.9 on 30,000 dwellings
    assert units.loc["GM0001", "funnel"] == "onder 99,8%"
    assert units.loc["GM0004", "funnel"] == "onbekend" and funnel.n_excluded == 1


def test_control_chart_baseline_and_too_few_months():
    months = month_grid(date(2021, 1, 1), date(2023, 12, 1))
    rows = [{"region_code": "GM0001", "month": m, "count": 10.0} for m in months]
    rows[-1]["count"] = 40.0  # a spike in the last month
    rows += [{"region_code": "GM0002", "month": m, "count": np.nan if m.year < 2023 else 5.0} for m in months]
    period = ReportPeriod.for_latest(date(2023, 12, 1), TweewekelijksSettings(), StatistiekSettings())
    charts, reasons = gemeente_control_charts(pd.DataFrame(rows), period)
    chart = charts["GM0001"]
    assert chart.center == pytest.approx(10.0) and chart.n_baseline == 24
    # Probability limit: the Poisson(10) quantile at the tail of the normal 3-sigma line.
    assert chart.ucl == 21 and stats.poisson.sf(21, 10) <= stats.norm.sf(3)
    assert bool(chart.points["rule_1"].iloc[-1])
    assert "GM0002" not in charts and "te weinig maanden" in reasons["GM0002"]


def _area_changes() -> pd.DataFrame:
    rows = [
        # code, level, current, previous, significant, direction, difference, p
        ("BU00010001", "buurt", 30, 10, True, "stijging", 20, 0.0004),
        ("BU00010002", "buurt", 12, 11, False, "stijging", 1, 0.9),
        ("BU00010003", "buurt", 9, 2, True, "stijging", 7, 0.03),
        ("BU00010004", "buurt", 0, 4, False, "daling", -4, 0.1),
        ("BU00010005", "buurt", 5, 20, True, "daling", -15, 0.001),
    ]
    return pd.DataFrame(
        [
            {
                "region_code": c,
                "name": f"Buurt {c[-1]}",
                "level": lv,
                "gemeente_code": "GM0001",
                "current": cur,
                "previous": prev,
                "significant": sig,
                "direction": d,
                "difference": diff,
                "pct_change": 0.0,
                "p_value": p,
            }
            for c, lv, cur, prev, sig, d, diff, p in rows
        ]
    )


def test_top_lists_rates_only_above_the_dwelling_threshold():
    dwellings = pd.Series({"BU00010001": 1000.0, "BU00010002": 150.0, "BU00010003": 200.0})
    tops = top_areas(_area_changes(), dwellings, min_dwellings=200, top_n=3)
    most = tops[tops["list"] == LIST_MOST].set_index("region_code")
    assert list(most.index) == ["BU00010001", "BU00010002", "BU00010003"]  # by count, top 3
    assert list(most["rank"]) == [1, 2, 3]
    assert most.loc["BU00010001", "rate"] == pytest.approx(30.0)
    assert math.isnan(most.loc["BU00010002", "rate"]) and most.loc["BU00010002", "rate_note"] == "< 200 woningen"
    assert most.loc["BU00010003", "rate"] == pytest.approx(45.0)  # exactly at the threshold counts
    rising = tops[tops["list"] == LIST_INCREASE]
    assert list(rising["region_code"]) == ["BU00010001", "BU00010003"]  # significant increases, largest first


def test_top_lists_leave_out_areas_without_break_ins_and_unknown_dwellings():
    tops = top_areas(_area_changes(), pd.Series(dtype="float64"), min_dwellings=200, top_n=10)
    most = tops[tops["list"] == LIST_MOST]
    assert "BU00010004" not in set(most["region_code"])
    assert (most["rate_note"] == "woningen onbekend").all() and most["rate"].isna().all()


# --------------------------------------------------------------------------------------------
# The whole analysis from frames
# --------------------------------------------------------------------------------------------


def _district_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "gemeente_code": ["GM0001", "GM0002", "GM0003"],
            "gemeente_naam": ["Aadorp", "Beekdorp", "Cedam"],
            "district_code": ["D1", "D1", "D2"],
            "district_naam": ["Noord", "Noord", "Zuid"],
            "eenheid_code": ["RE99", "RE99", "RE99"],
            "eenheid_naam": ["Testeenheid", "Testeenheid", "Testeenheid"],
        }
    )


def _regions() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "code": ["GM0001", "WK000101", "BU00010101", "GM0002", "GM0003"],
            "name": ["Aadorp", "Wijk 1", "Buurt 1", "Beekdorp", "Cedam"],
            "level": ["GM", "WK", "BU", "GM", "GM"],
            "gemeente_code": ["GM0001", "GM0001", "GM0001", "GM0002", "GM0003"],
            "wijk_code": [None, None, "WK000101", None, None],
        }
    )


def test_analyse_end_to_end_on_frames_with_a_missing_month_and_a_district_without_data():
    latest = date(2023, 12, 1)
    months = month_grid(date(2019, 1, 1), latest)
    present = [m for m in months if m != date(2023, 3, 1)]
    codes = ["1.1.1", "1.4.3", "1.4.4", "1.4.5"]
    facts = pd.concat(
        [
            constant_facts(["GM0001", "GM0002"], codes, present, 3),
            constant_facts(["WK000101", "BU00010101"], ["1.1.1"], present, 1),
        ]
    )
    dwellings = pd.DataFrame(
        {"region_code": ["GM0001", "GM0002", "BU00010101"], "dwellings": [1000.0, 2000.0, 500.0], "year": [2023] * 3}
    )
    a = analyse(
        facts,
        _regions(),
        _district_table(),
        dwellings,
        period=ReportPeriod.for_latest(latest, TweewekelijksSettings(), StatistiekSettings(), date(2024, 1, 20)),
        options=TweewekelijksSettings(hic={"Geweld": GROUPS["Geweld"]}),
        info=info(),
    )
    assert [d.code for d in a.districts] == ["D1", "D2"]
    texts = " ".join(a.warnings_for(None))
    assert "maart 2023" in texts
    assert "Voor district Zuid staan geen gegevens" in " ".join(a.warnings_for("D2"))
    assert not any("Zuid" in w for w in a.warnings_for("D1") if "eenheid" not in w)
    d1 = a.changes_for(level="district", group="Woninginbraak").set_index(["region_code", "comparison"])
    # The month comparison (December) is complete: 2 gemeenten x 3.
    assert d1.loc[("D1", "maand"), "current"] == 6
    # The rolling 12 months contain March 2023: incomplete, shown as at least the known part.
    assert math.isnan(d1.loc[("D1", "12_maanden"), "current"]) and d1.loc[("D1", "12_maanden"), "current_known"] == 66
    # A district without data is never 0.
    assert math.isnan(d1.loc[("D2", "maand"), "current"])
    geweld = a.changes_for(level="gemeente", group="Geweld", comparison="maand").set_index("region_code")
    assert geweld.loc["GM0001", "current"] == 9  # three leaf codes summed
    assert set(a.control_charts) == {"GM0001", "GM0002"} and "GM0003" in a.control_chart_notes
    assert a.series("D1").loc[date(2023, 3, 1)] != a.series("D1").loc[date(2023, 3, 1)]  # NaN, not 0
    assert not any("niet bijgewerkt" in w for w in a.warnings_for(None))
    stale = analyse(
        facts,
        _regions(),
        _district_table(),
        dwellings,
        period=ReportPeriod.for_latest(latest, TweewekelijksSettings(), StatistiekSettings(), date(2024, 6, 3)),
        options=TweewekelijksSettings(),
        info=info(),
    )
    assert any("tot en met december 2023" in w and "niet bijgewerkt" in w for w in stale.warnings_for("D1"))


def test_settings_validation():
    TweewekelijksSettings().validate()
    with pytest.raises(ConfigError):
        TweewekelijksSettings(season_start_month=13).validate()
    with pytest.raises(ConfigError):
        TweewekelijksSettings(control_chart_months=12).validate()
    with pytest.raises(ConfigError):
        TweewekelijksSettings(hic={"Woninginbraak": ("1.1.2",)}).validate()
    with pytest.raises(ConfigError):
        StatistiekSettings(fdr_q=0.7).validate()
    assert list(TweewekelijksSettings().groups()) == ["Woninginbraak", "Straatroof", "Overval", "Geweld"]


def test_funnel_curve_is_the_analysis_limits_with_overdispersion():
    counts = pd.Series({"GM0001": 40.0, "GM0002": 10.0, "GM0003": 120.0})
    dwellings = pd.Series({"GM0001": 5000.0, "GM0002": 2000.0, "GM0003": 10000.0})
    plain = funnel_table(counts, dwellings)
    wide = funnel_table(counts, dwellings, phi=4.0)
    a, b = plain.curve(), wide.curve()
    assert list(a["denominator"]) == list(b["denominator"]) and a["denominator"].max() == pytest.approx(11200)
    mid = len(a) // 2
    # The drawn limits are exactly the ones that classify: twice as far from the target with phi = 4.
    target = plain.target_rate
    assert b["upper_95"].iloc[mid] - target == pytest.approx(2 * (a["upper_95"].iloc[mid] - target))
    assert wide.phi == 4.0
