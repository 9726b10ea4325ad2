"""The overlast target: settings, glide path, base-year checks and period counts (no warehouse).

The known answers on the real national series are in tests/integration/test_doel_overlast_real.py.
"""

from __future__ import annotations

import dataclasses
from datetime import date

import numpy as np
import pandas as pd
import pytest

from veiligheidsbeeld.analysis.overlast_doel import (
    check_base_year,
    complete_years,
    monitor_periods,
    period_counts,
    rolling_period,
    target_settings_for,
    year_period,
)
from veiligheidsbeeld.config import Milestone, OverlastTargetSettings, Settings
from veiligheidsbeeld.errors import ConfigError, DataError


def months(first: date, last: date) -> list[date]:
    return [d.date() for d in pd.date_range(first, last, freq="MS")]


# --------------------------------------------------------------------------------------------
# Settings and glide path
# --------------------------------------------------------------------------------------------


def test_default_target_is_the_strategy_of_2013_to_2018():
    t = OverlastTargetSettings()
    assert (t.base_year, t.target_year, t.reduction) == (2013, 2018, 0.20)
    assert t.milestones == (Milestone(2016, 0.10),)
    assert t.target_index == pytest.approx(80.0)
    assert "20% minder overlast in 2018 dan in 2013" in t.title
    assert "10% minder in 2016" in t.title


@pytest.mark.parametrize(
    ("position", "expected"),
    [
        (2012, 100.0),  # before the base year: the baseline itself
        (2013, 100.0),
        (2014, 100 - 10 / 3),  # linear from 100 (2013) to 90 (2016)
        (2015, 100 - 20 / 3),
        (2016, 90.0),  # the milestone
        (2017, 85.0),  # linear from 90 (2016) to 80 (2018)
        (2017.5, 82.5),  # a 12-month window ending in June 2018
        (2018, 80.0),
        (2021, 80.0),  # after the target year the target stays the norm
    ],
)
def test_glide_path_runs_through_the_milestones(position, expected):
    assert OverlastTargetSettings().glide_index(position) == pytest.approx(expected)


def test_glide_path_without_milestones_is_a_straight_line():
    t = OverlastTargetSettings(base_year=2020, target_year=2024, reduction=0.40, milestones=())
    assert [round(t.glide_index(y), 6) for y in range(2020, 2025)] == [100, 90, 80, 70, 60]


def test_a_new_strategy_period_is_configuration_only():
    t = OverlastTargetSettings.from_mapping(
        {"base_year": 2019, "target_year": 2025, "reduction": 0.15, "milestones": {"2022": 0.05}}
    )
    assert t.milestones == (Milestone(2022, 0.05),)
    assert t.glide_index(2022) == pytest.approx(95.0)
    same = OverlastTargetSettings.from_mapping(
        {"base_year": 2019, "target_year": 2025, "reduction": 0.15, "milestones": [{"year": 2022, "reduction": 0.05}]}
    )
    assert same == t


def test_settings_section_is_picked_up_when_configured():
    configured = OverlastTargetSettings.from_mapping({"base_year": 2015, "target_year": 2020, "reduction": 0.1,
                                                      "milestones": []})
    settings = dataclasses.replace(Settings(), doel_overlast=configured)
    assert target_settings_for(settings).base_year == 2015
    assert target_settings_for(Settings()).base_year == 2013
    explicit = OverlastTargetSettings(base_year=2014, target_year=2016, milestones=())
    assert target_settings_for(settings, explicit) is explicit


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"base_year": 2018, "target_year": 2013}, "na het basisjaar"),
        ({"reduction": 20}, "fractie"),
        ({"reduction": 0}, "fractie"),
        ({"milestones": (Milestone(2019, 0.1),)}, "tussen basisjaar"),
        ({"milestones": (Milestone(2016, 1.5),)}, "tussendoel 2016"),
        ({"milestones": (Milestone(2016, 0.1), Milestone(2016, 0.12))}, "dubbel"),
        ({"base_year": 1850, "target_year": 1860}, "plausibel jaar"),
        ({"table_id": "47022XXX"}, "Onbekende tabel"),
    ],
)
def test_invalid_targets_are_refused_in_dutch(kwargs, fragment):
    with pytest.raises(ConfigError, match=fragment):
        OverlastTargetSettings(**kwargs)


def test_unknown_setting_names_the_valid_ones():
    with pytest.raises(ConfigError, match="base_year"):
        OverlastTargetSettings.from_mapping({"basisjaar": 2013})


# --------------------------------------------------------------------------------------------
# Base year and periods
# --------------------------------------------------------------------------------------------


def test_base_year_without_data_is_an_error_naming_the_year():
    available = months(date(2014, 1, 1), date(2019, 12, 1))
    with pytest.raises(DataError, match="basisjaar 2013 heeft geen gegevens") as err:
        check_base_year(available, OverlastTargetSettings())
    assert "2014-01 t/m 2019-12" in str(err.value)


def test_incomplete_base_year_is_an_error_listing_the_months():
    available = months(date(2013, 3, 1), date(2019, 12, 1))
    with pytest.raises(DataError, match="onvolledig") as err:
        check_base_year(available, OverlastTargetSettings())
    assert "2013-01, 2013-02" in str(err.value)


def test_complete_base_year_passes():
    check_base_year(months(date(2012, 1, 1), date(2013, 12, 1)), OverlastTargetSettings())


def test_periods_are_complete_years_from_the_base_year_and_the_latest_12_months():
    available = months(date(2012, 1, 1), date(2019, 6, 1))
    assert complete_years(available) == list(range(2012, 2019))
    periods = monitor_periods(available, OverlastTargetSettings())
    assert [p.label for p in periods][:2] == ["2013", "2014"]
    assert periods[-2].label == "2018"
    rolling = periods[-1]
    assert rolling.kind == "12 maanden"
    assert (rolling.first_month, rolling.last_month) == (date(2018, 7, 1), date(2019, 6, 1))
    assert rolling.position == pytest.approx(2018.5)  # halfway between the ends of 2018 and 2019
    assert rolling.label == "12 maanden t/m juni 2019"


def test_latest_12_months_equal_to_a_calendar_year_are_not_repeated():
    periods = monitor_periods(months(date(2013, 1, 1), date(2015, 12, 1)), OverlastTargetSettings())
    assert [p.label for p in periods] == ["2013", "2014", "2015"]
    assert rolling_period(date(2015, 12, 1)).months == year_period(2015).months


def _facts(rows):
    frame = pd.DataFrame(rows, columns=["region_code", "type_code", "month", "count", "suppressed", "provisional"])
    frame["count"] = frame["count"].astype("float64")
    return frame


def test_period_counts_never_turn_missing_into_zero():
    year = year_period(2013)
    full = [("GM0001", "0.0.0", m, 10, False, False) for m in year.months]
    suppressed = [("GM0002", "0.0.0", m, (np.nan if m.month == 5 else 10), m.month == 5, False) for m in year.months]
    gap = [("GM0003", "0.0.0", m, 10, False, m.month == 12) for m in year.months if m.month != 7]
    counts = period_counts(_facts(full + suppressed + gap), [year])
    assert counts[("GM0001", "0.0.0", "2013")].count == 120
    assert counts[("GM0002", "0.0.0", "2013")].count is None
    assert counts[("GM0002", "0.0.0", "2013")].reason == "1 maand(en) onderdrukt"
    assert counts[("GM0003", "0.0.0", "2013")].count is None
    assert counts[("GM0003", "0.0.0", "2013")].reason == "1 maand(en) ontbreken"
    assert counts[("GM0003", "0.0.0", "2013")].provisional


@pytest.mark.parametrize(
    ("region", "codes"),
    [
        (None, ["RE02", "VR04", "VR05", "VR06", "VR07", "VR08"]),
        ("oost-nederland", ["RE02", "VR04", "VR05", "VR06", "VR07", "VR08"]),
        ("NL00", ["NL00"]),
        ("Nederland", ["NL00"]),
        ("153", ["GM0153"]),
        ("Enschede", ["GM0153"]),
    ],
)
def test_regions_resolve_by_code_or_name(region, codes):
    from veiligheidsbeeld.analysis.overlast_doel import resolve_units

    assert [u.code for u in resolve_units(Settings(), region)] == codes


def test_a_district_comes_with_its_gemeenten():
    from veiligheidsbeeld.analysis.overlast_doel import resolve_units

    units = resolve_units(Settings(), "vr4")
    assert units[0].code == "VR04" and units[0].level == "district" and len(units[0].members) == 11
    assert [u.level for u in units[1:]] == ["gemeente"] * 11
    assert resolve_units(Settings(), "Twente")[0].code == "VR05"


def test_unknown_region_is_a_dutch_error():
    from veiligheidsbeeld.analysis.overlast_doel import resolve_units

    with pytest.raises(ConfigError, match="Onbekende regio 'Atlantis'.*VR05 Twente"):
        resolve_units(Settings(), "Atlantis")
    with pytest.raises(ConfigError, match="GM0363|Onbekende gemeente"):
        resolve_units(Settings(), "GM0363")  # Amsterdam: not in the eenheid


# --------------------------------------------------------------------------------------------
# The monitor over the reader's frames (no warehouse)
# --------------------------------------------------------------------------------------------


def _monitor_inputs(per_month: dict[int, float], *, suppressed: date | None = None,
                    published: dict | None = None):
    """OverlastInputs for one gemeente (Enschede's real code, SYNTHETIC counts): ``per_month``
    year -> registrations each month of that year; ``suppressed``: that month unpublished."""
    from veiligheidsbeeld.analysis.overlast_doel import RegionUnit
    from veiligheidsbeeld.warehouse.queries import DataInfo, OverlastInputs

    facts = pd.DataFrame(
        [{"region_code": "GM0153", "type_code": "0.0.0", "month": date(y, m, 1),
          "count": np.nan if date(y, m, 1) == suppressed else float(n), "suppressed": date(y, m, 1) == suppressed,
          "provisional": False} for y, n in per_month.items() for m in range(1, 13)])
    info = DataInfo("47024NED", "SYNTHETISCH", "v1", "", True, date(2013, 1, 1), date(2018, 12, 1))
    unit = RegionUnit("GM0153", "Enschede", "gemeente", ("GM0153",), "VR05")
    return OverlastInputs(Settings(), OverlastTargetSettings(), tuple(sorted(facts["month"].unique())),
                          {"0.0.0": "Totaal overlast"}, (unit,), frozenset(), facts, published or {}, info)


def test_monitor_index_against_the_base_year_on_frames():
    from veiligheidsbeeld.analysis.overlast_doel import overlast_monitor

    result = overlast_monitor(_monitor_inputs({y: 10.0 if y == 2013 else 8.0 for y in range(2013, 2019)}))
    rows = {r.period: r for r in result.select("GM0153", "0.0.0")}
    assert (rows["2013"].count, rows["2013"].index) == (120, 100.0)
    assert (rows["2018"].count, rows["2018"].baseline, rows["2018"].index) == (96, 120, pytest.approx(80.0))
    assert rows["2018"].reduction == pytest.approx(0.2)
    assert "12 maanden t/m december 2018" not in rows  # the latest 12 months are the calendar year
    assert result.missing_baseline == ()


def test_monitor_never_counts_a_suppressed_month_as_zero_and_checks_published_year_rows():
    from veiligheidsbeeld.analysis.overlast_doel import overlast_monitor

    counts = {y: 10.0 for y in range(2013, 2019)}
    result = overlast_monitor(_monitor_inputs(counts, suppressed=date(2016, 6, 1),
                                              published={("GM0153", "0.0.0", 2017): 121}))
    rows = {r.period: r for r in result.select("GM0153", "0.0.0")}
    assert rows["2016"].count is None and rows["2016"].index is None  # unknown, not 110
    assert any("jaarcijfer (121)" in f for f in rows["2017"].flags)
    with pytest.raises(DataError, match="basiswaarde"):
        overlast_monitor(_monitor_inputs(counts, suppressed=date(2013, 3, 1)))
