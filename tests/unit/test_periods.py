"""Known answers for periods, the latest complete month and the standard comparisons."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import pytest

from veiligheidsbeeld.analysis.periods import (
    Comparison,
    Period,
    add_months,
    latest_complete_month,
    missing_months,
    season_for,
    standard_comparisons,
)
from veiligheidsbeeld.errors import ConfigError, DataError


def span(p: Period) -> tuple[date, date]:
    return p.start, p.end


def by_key(comparisons: list[Comparison]) -> dict[str, Comparison]:
    return {c.key: c for c in comparisons}


# -- Period ------------------------------------------------------------------------------------


def test_month_leap_february() -> None:
    feb_2024 = Period.month(2024, 2)
    assert span(feb_2024) == (date(2024, 2, 1), date(2024, 2, 29))
    assert feb_2024.days == 29
    assert feb_2024.label == "februari 2024"
    assert Period.month(2023, 2).days == 28
    # 1900 is not a leap year (century rule), 2000 is.
    assert Period.month(1900, 2).days == 28
    assert Period.month(2000, 2).days == 29


def test_month_range_normalises_to_whole_months() -> None:
    p = Period.month_range(date(2023, 10, 17), date(2024, 3, 2))
    assert span(p) == (date(2023, 10, 1), date(2024, 3, 31))
    assert p.label == "oktober 2023 – maart 2024"
    assert p.months() == [date(2023, m, 1) for m in (10, 11, 12)] + [
        date(2024, m, 1) for m in (1, 2, 3)
    ]
    assert p.n_months == 6
    assert p.days == 31 + 30 + 31 + 31 + 29 + 31


def test_month_range_same_year_label() -> None:
    assert Period.month_range(date(2024, 1, 1), date(2024, 3, 1)).label == "januari – maart 2024"


def test_days14_and_labels() -> None:
    p = Period.days14(date(2024, 1, 29))
    assert span(p) == (date(2024, 1, 29), date(2024, 2, 11))
    assert p.days == 14
    assert p.label == "29 januari – 11 februari 2024"
    assert Period.days14(date(2024, 1, 1)).label == "1 – 14 januari 2024"
    assert Period.days14(date(2023, 12, 25)).label == "25 december 2023 – 7 januari 2024"
    assert not p.is_month_aligned
    with pytest.raises(ValueError):
        p.months()


def test_contains_is_inclusive() -> None:
    p = Period.month(2024, 2)
    assert p.contains(date(2024, 2, 1))
    assert p.contains(date(2024, 2, 29))
    assert p.contains(datetime(2024, 2, 29, 23, 59))
    assert not p.contains(date(2024, 3, 1))
    assert not p.contains(date(2024, 1, 31))


def test_shift_years_month_aligned_follows_leap_years() -> None:
    assert span(Period.month(2023, 2).shift_years(1)) == (date(2024, 2, 1), date(2024, 2, 29))
    assert span(Period.month(2024, 2).shift_years(-1)) == (date(2023, 2, 1), date(2023, 2, 28))
    assert Period.month(2024, 2).shift_years(-1).label == "februari 2023"


def test_shift_years_days_maps_29_february_to_28() -> None:
    p = Period(date(2024, 2, 29), date(2024, 3, 13))
    shifted = p.shift_years(-1)
    assert span(shifted) == (date(2023, 2, 28), date(2023, 3, 13))


def test_period_rejects_reversed_dates_and_keeps_explicit_label() -> None:
    with pytest.raises(ValueError):
        Period(date(2024, 2, 2), date(2024, 2, 1))
    assert Period(date(2024, 1, 1), date(2024, 1, 31), "eigen label").label == "eigen label"


def test_add_months_across_year_boundary() -> None:
    assert add_months(date(2024, 1, 15), -1) == date(2023, 12, 1)
    assert add_months(date(2023, 11, 1), 14) == date(2025, 1, 1)


# -- latest_complete_month ---------------------------------------------------------------------

MONTHS_2023 = [date(2023, m, 1) for m in range(1, 13)]


def test_latest_complete_month_excludes_current_month() -> None:
    available = MONTHS_2023 + [date(2024, 1, 1), date(2024, 2, 1), date(2024, 3, 1)]
    today = date(2024, 6, 1)
    # On 29 February, February is not complete yet.
    assert latest_complete_month(date(2024, 2, 29), available, today=today) == date(2024, 1, 1)
    # On 1 March, February is complete.
    assert latest_complete_month(date(2024, 3, 1), available, today=today) == date(2024, 2, 1)


def test_latest_complete_month_follows_data_lag_and_gaps() -> None:
    # Data up to November 2023, October missing.
    available = [date(2023, m, 1) for m in range(1, 10)] + [date(2023, 11, 1)]
    today = date(2024, 6, 1)
    # Lag: in January 2024 December is not in the data yet.
    assert latest_complete_month(date(2024, 1, 15), available, today=today) == date(2023, 11, 1)
    # Gap: in November, November is incomplete and October is missing.
    assert latest_complete_month(date(2023, 11, 20), available, today=today) == date(2023, 9, 1)


def test_latest_complete_month_accepts_timestamps() -> None:
    available = pd.date_range("2023-01-01", "2023-06-01", freq="MS")
    got = latest_complete_month(date(2023, 12, 1), available, today=date(2024, 1, 1))
    assert got == date(2023, 6, 1)


def test_report_date_before_data_is_data_error() -> None:
    with pytest.raises(DataError, match="eerste maand"):
        latest_complete_month(date(2023, 1, 20), MONTHS_2023, today=date(2024, 1, 1))
    with pytest.raises(DataError):
        latest_complete_month(date(2023, 1, 20), [], today=date(2024, 1, 1))


def test_report_date_in_future_is_config_error() -> None:
    with pytest.raises(ConfigError, match="toekomst"):
        latest_complete_month(date(2024, 1, 2), MONTHS_2023, today=date(2024, 1, 1))
    # The report date itself may be today.
    assert latest_complete_month(date(2024, 1, 1), MONTHS_2023, today=date(2024, 1, 1)) == date(
        2023, 12, 1
    )


# -- missing_months ----------------------------------------------------------------------------


def test_missing_months() -> None:
    available = [date(2023, 1, 1), date(2023, 2, 14), date(2023, 4, 1)]
    assert missing_months(available, date(2022, 12, 1), date(2023, 5, 31)) == [
        date(2022, 12, 1),
        date(2023, 3, 1),
        date(2023, 5, 1),
    ]
    assert missing_months(available, date(2023, 1, 1), date(2023, 2, 1)) == []


# -- standard comparisons ----------------------------------------------------------------------


def test_comparisons_latest_february_2024() -> None:
    c = by_key(standard_comparisons(date(2024, 2, 1)))
    assert list(c) == ["maand", "kwartaal", "jaar_tot_nu", "12_maanden", "donkere_dagen"]

    assert span(c["maand"].current) == (date(2024, 2, 1), date(2024, 2, 29))
    assert span(c["maand"].previous) == (date(2023, 2, 1), date(2023, 2, 28))
    assert c["maand"].description == "februari 2024 t.o.v. februari 2023"

    assert span(c["kwartaal"].current) == (date(2023, 12, 1), date(2024, 2, 29))
    assert span(c["kwartaal"].previous) == (date(2022, 12, 1), date(2023, 2, 28))
    assert c["kwartaal"].label_nl == "Laatste 3 maanden"

    assert span(c["jaar_tot_nu"].current) == (date(2024, 1, 1), date(2024, 2, 29))
    assert span(c["jaar_tot_nu"].previous) == (date(2023, 1, 1), date(2023, 2, 28))
    # Leap year: the same months are one day longer (exposure in days differs).
    assert c["jaar_tot_nu"].current.days == 60
    assert c["jaar_tot_nu"].previous.days == 59

    assert span(c["12_maanden"].current) == (date(2023, 3, 1), date(2024, 2, 29))
    assert span(c["12_maanden"].previous) == (date(2022, 3, 1), date(2023, 2, 28))

    # In the season: October 2023 up to and including February 2024, truncated.
    assert span(c["donkere_dagen"].current) == (date(2023, 10, 1), date(2024, 2, 29))
    assert span(c["donkere_dagen"].previous) == (date(2022, 10, 1), date(2023, 2, 28))
    assert c["donkere_dagen"].current.label == "oktober 2023 – februari 2024"
    assert "februari" in c["donkere_dagen"].label_nl


def test_comparisons_latest_august_2023() -> None:
    c = by_key(standard_comparisons(date(2023, 8, 1)))
    assert span(c["maand"].current) == (date(2023, 8, 1), date(2023, 8, 31))
    assert span(c["maand"].previous) == (date(2022, 8, 1), date(2022, 8, 31))
    assert span(c["kwartaal"].current) == (date(2023, 6, 1), date(2023, 8, 31))
    assert span(c["kwartaal"].previous) == (date(2022, 6, 1), date(2022, 8, 31))
    assert span(c["jaar_tot_nu"].current) == (date(2023, 1, 1), date(2023, 8, 31))
    assert span(c["jaar_tot_nu"].previous) == (date(2022, 1, 1), date(2022, 8, 31))
    assert span(c["12_maanden"].current) == (date(2022, 9, 1), date(2023, 8, 31))
    assert span(c["12_maanden"].previous) == (date(2021, 9, 1), date(2022, 8, 31))
    # Outside the season: the most recent complete season, against the one before.
    assert span(c["donkere_dagen"].current) == (date(2022, 10, 1), date(2023, 3, 31))
    assert span(c["donkere_dagen"].previous) == (date(2021, 10, 1), date(2022, 3, 31))
    assert c["donkere_dagen"].label_nl == "Donkere Dagen"
    assert c["donkere_dagen"].current.label == "oktober 2022 – maart 2023"


def test_comparisons_january_spans_year_boundary() -> None:
    c = by_key(standard_comparisons(date(2024, 1, 1)))
    assert span(c["kwartaal"].current) == (date(2023, 11, 1), date(2024, 1, 31))
    assert c["kwartaal"].current.label == "november 2023 – januari 2024"
    assert span(c["jaar_tot_nu"].current) == span(c["maand"].current)


def test_season_edges() -> None:
    # First month of the season: only October so far.
    c = by_key(standard_comparisons(date(2023, 10, 1)))
    assert span(c["donkere_dagen"].current) == (date(2023, 10, 1), date(2023, 10, 31))
    assert span(c["donkere_dagen"].previous) == (date(2022, 10, 1), date(2022, 10, 31))
    # Last month of the season: the full season.
    c = by_key(standard_comparisons(date(2024, 3, 1)))
    assert span(c["donkere_dagen"].current) == (date(2023, 10, 1), date(2024, 3, 31))
    assert c["donkere_dagen"].label_nl == "Donkere Dagen"
    # Just after the season.
    assert span(season_for(date(2024, 4, 1))) == (date(2023, 10, 1), date(2024, 3, 31))
    # Just before the next season.
    assert span(season_for(date(2024, 9, 1))) == (date(2023, 10, 1), date(2024, 3, 31))


def test_season_configurable() -> None:
    # November–February season; December 2023 lies inside it.
    c = by_key(
        standard_comparisons(date(2023, 12, 1), season_start_month=11, season_end_month=2)
    )
    assert span(c["donkere_dagen"].current) == (date(2023, 11, 1), date(2023, 12, 31))
    assert span(c["donkere_dagen"].previous) == (date(2022, 11, 1), date(2022, 12, 31))
    # A season within one calendar year (June–August), seen from October.
    assert span(season_for(date(2023, 10, 1), season_start_month=6, season_end_month=8)) == (
        date(2023, 6, 1),
        date(2023, 8, 31),
    )
    with pytest.raises(ConfigError):
        standard_comparisons(date(2023, 12, 1), season_start_month=13)
