"""The warehouse reader (warehouse/queries.py) on a small warehouse with known answers, including
the data traps: a roll-up code (0.0.0) next to its parts, a suppressed cell (NULL, never 0), a
month absent for one gemeente, provisional months and year rows (JJ00) kept apart from the
months. Region codes are real; every count is SYNTHETIC."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pytest

from veiligheidsbeeld.errors import ConfigError, DataError
from veiligheidsbeeld.incidents.settings import IncidentSettings
from veiligheidsbeeld.warehouse import db, queries

T = "47022NED"
ENSCHEDE, HENGELO, UNKNOWN = "GM0153", "GM0164", "GM0000"
WIJK = "WK015300"
MONTHS = [date(2023, m, 1) for m in range(1, 7)]


def _facts() -> list[tuple]:
    """(region, code, month, count): 1.1.1 and 1.2.1 every month; 0.0.0 is their roll-up."""
    rows = []
    for i, month in enumerate(MONTHS):
        for region, base in ((ENSCHEDE, 10), (HENGELO, 4), (WIJK, 2), (UNKNOWN, 1)):
            if region == HENGELO and month == date(2023, 3, 1):
                continue  # March absent for Hengelo (not suppressed: no row at all)
            burglary = None if (region == ENSCHEDE and month == date(2023, 2, 1)) else base + i  # suppressed
            theft = 3 * base
            rows += [(region, "1.1.1", month, burglary), (region, "1.2.1", month, theft),
                     (region, "0.0.0", month, None if burglary is None else burglary + theft)]
    return rows


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("reader") / "w.duckdb"
    with db.writer(path) as con:
        con.execute("INSERT INTO table_infos VALUES ($t, 'SYNTHETISCH misdrijven', '2023-07-14T02:00:00', "
                    "'20230714T020000', true)", {"t": T})
        for code, title, rollup in (("0.0.0", "Totaal misdrijven", True), ("1.1.1", "Diefstal/inbraak woning", False),
                                    ("1.2.1", "Diefstal uit/vanaf motorvoertuigen", False)):
            con.execute("INSERT INTO offence_types VALUES ($t, $c, $n, NULL, $r, 'v1')",
                        {"t": T, "c": code, "n": title, "r": rollup})
        for code, name, level, gm, wk in ((ENSCHEDE, "Enschede", "GM", ENSCHEDE, None),
                                          (HENGELO, "Hengelo", "GM", HENGELO, None),
                                          (UNKNOWN, "Niet in te delen", "GM", UNKNOWN, None),
                                          (WIJK, "Wijk 00 Binnenstad", "WK", ENSCHEDE, WIJK)):
            con.execute("INSERT INTO regions VALUES ($c, $n, $l, $g, $w, $c, $t, 'v1')",
                        {"c": code, "n": name, "l": level, "g": gm, "w": wk, "t": T})
        for region, code, month, count in _facts():
            con.execute("INSERT INTO facts_monthly VALUES ($t, $r, $c, $m, $n, $s, $p, 'v1')",
                        {"t": T, "r": region, "c": code, "m": month, "n": count, "s": count is None,
                         "p": month >= date(2023, 5, 1)})
        # Year rows (JJ00) of the yearly table; one suppressed. They never enter facts_monthly.
        for region, code, year, count in ((ENSCHEDE, "1.4.1", 2022, 120), (ENSCHEDE, "1.4.1", 2021, 110),
                                          (HENGELO, "1.4.1", 2022, None)):
            con.execute("INSERT INTO facts_yearly_reported VALUES ('47025NED', $r, $c, $y, $n, $s, 'v1')",
                        {"r": region, "c": code, "y": year, "n": count, "s": count is None})
    return path


@pytest.fixture
def con(warehouse):
    with db.reader(warehouse) as connection:
        yield connection


def test_monthly_counts_filter_and_keep_suppressed_cells_missing(con):
    facts = queries.monthly_counts(con, T, region_codes=[ENSCHEDE], type_codes=["1.1.1"],
                                   first=date(2023, 2, 1), last=date(2023, 4, 1))
    assert list(facts["month"]) == [date(2023, 2, 1), date(2023, 3, 1), date(2023, 4, 1)]
    assert math.isnan(facts["count"].iloc[0]) and bool(facts["suppressed"].iloc[0])  # never 0
    assert list(facts["count"].iloc[1:]) == [12.0, 13.0]


def test_monthly_counts_without_filters_return_every_row(con):
    facts = queries.monthly_counts(con, T)
    assert len(facts) == len(_facts())
    assert queries.monthly_counts(con, T, region_codes=[]).empty  # an empty list selects nothing
    assert queries.monthly_counts(con, "47024NED").empty


def test_data_info_reports_window_provisional_missing_and_suppressed(con):
    info = queries.data_info(con, T, region_codes=[ENSCHEDE, HENGELO], type_codes=["1.1.1"])
    assert (info.first_month, info.last_month) == (date(2023, 1, 1), date(2023, 6, 1))
    assert info.provisional_months == (date(2023, 5, 1), date(2023, 6, 1))
    assert info.suppressed_cells == 1 and info.missing_months == ()  # March is there for Enschede
    hengelo = queries.data_info(con, T, region_codes=[HENGELO], first=date(2022, 12, 1))
    assert hengelo.missing_months == (date(2022, 12, 1), date(2023, 3, 1))
    assert hengelo.synthetic and hengelo.vintage == "20230714T020000"
    with pytest.raises(DataError, match="47024NED staat niet in het warehouse"):
        queries.data_info(con, "47024NED")


def test_group_month_counts_sum_the_leaf_codes_and_count_what_is_missing(con):
    groups = {"inbraak+auto": ("1.1.1", "1.2.1")}
    out = queries.group_month_counts(con, T, groups, {"inbraak+auto": [ENSCHEDE, HENGELO]},
                                     date(2023, 1, 1), date(2023, 3, 1)).set_index(["region_code", "month"])
    assert out.loc[(ENSCHEDE, date(2023, 1, 1)), "count_known"] == 10 + 30
    feb = out.loc[(ENSCHEDE, date(2023, 2, 1))]
    assert (feb["count_known"], feb["n_suppressed"], feb["n_missing"]) == (30, 1, 0)
    march = out.loc[(HENGELO, date(2023, 3, 1))]
    assert (march["count_known"], march["n_suppressed"], march["n_missing"]) == (0, 0, 2)


def test_level_month_counts_sum_the_gemeenten_into_their_parents(con):
    """District and eenheid months are summed in DuckDB from the gemeenten: the known part adds
    up, and a suppressed cell or an absent month of one gemeente makes the parent's month
    incomplete too (its n_suppressed / n_missing), never a lower total. Rows: the eenheid, the
    district, then the gemeenten; each group in turn, then month."""
    groups = {"inbraak": ("1.1.1",), "auto": ("1.2.1",)}
    parents = {g: [("EH", "eenheid"), ("DT", "district")] for g in (ENSCHEDE, HENGELO)}
    out = queries.level_month_counts(con, T, groups, [ENSCHEDE, HENGELO], parents, ("eenheid", "district", "gemeente"),
                                     "gemeente", date(2023, 1, 1), date(2023, 3, 1))
    assert list(out.columns) == ["region_code", "group", "month", "count_known", "n_suppressed", "n_missing", "level"]
    assert list(out["level"].unique()) == ["eenheid", "district", "gemeente"]
    assert list(out["region_code"].iloc[:6]) == ["EH"] * 6 and list(out["group"].iloc[:6]) == ["inbraak"] * 3 + ["auto"] * 3
    assert list(out["month"].iloc[:3]) == MONTHS[:3]
    rows = out.set_index(["region_code", "group", "month"])
    jan, feb, march = (rows.loc[("DT", "inbraak", m)] for m in MONTHS[:3])
    assert (jan["count_known"], jan["n_suppressed"], jan["n_missing"]) == (10 + 4, 0, 0)
    assert (feb["count_known"], feb["n_suppressed"], feb["n_missing"]) == (5, 1, 0)  # Enschede suppressed
    assert (march["count_known"], march["n_suppressed"], march["n_missing"]) == (12, 0, 1)  # Hengelo absent
    assert rows.loc[("EH", "auto", MONTHS[0]), "count_known"] == 30 + 12
    # The gemeente rows are those of group_month_counts.
    single = queries.group_month_counts(con, T, groups, {g: [ENSCHEDE, HENGELO] for g in groups},
                                        date(2023, 1, 1), date(2023, 3, 1))
    gm = out[out["level"] == "gemeente"].drop(columns="level").reset_index(drop=True)
    assert gm.to_dict("list") == single.to_dict("list")


def test_yearly_counts_are_the_year_rows_only(con):
    frame = queries.yearly_counts(con, "47025NED", region_codes=[ENSCHEDE, HENGELO], type_codes=["1.4.1"],
                                  years=[2022])
    assert list(zip(frame["region_code"], frame["year"])) == [(ENSCHEDE, 2022), (HENGELO, 2022)]
    assert frame["count"].iloc[0] == 120 and math.isnan(frame["count"].iloc[1])
    assert len(queries.yearly_counts(con, "47025NED", region_codes=[ENSCHEDE], type_codes=["1.4.1"], years=None)) == 2
    assert queries.published_year_counts(con, "47025NED", [ENSCHEDE, HENGELO], ["1.4.1"]) == {
        (ENSCHEDE, "1.4.1", 2022): 120, (ENSCHEDE, "1.4.1", 2021): 110}  # suppressed: absent, not 0
    assert queries.yearly_rows_loaded(con, "47025NED") == 3 and queries.yearly_rows_loaded(con, T) == 0
    assert date(2022, 1, 1) not in queries.available_months(con, T)  # year rows are not months


def test_code_lists_regions_and_names(con):
    types = queries.offence_types(con, T)
    assert list(types["code"]) == ["0.0.0", "1.1.1", "1.2.1"] and list(types["is_rollup"]) == [True, False, False]
    with pytest.raises(ConfigError, match="Onbekende code.*9.9.9.*Geldig: 0.0.0, 1.1.1, 1.2.1"):
        queries.check_type_codes(con, T, ["1.1.1", "9.9.9"])
    assert queries.gemeente_names(con) == {ENSCHEDE: "Enschede", HENGELO: "Hengelo"}  # not GM0000
    assert queries.region_names(con, [HENGELO, "GM9999"]) == {HENGELO: "Hengelo"}
    assert list(queries.regions(con, "WK")["code"]) == [WIJK] and len(queries.regions(con)) == 4
    assert queries.gemeenten_in_facts(con) == [ENSCHEDE, HENGELO]
    assert queries.available_months(con, T) == MONTHS
    assert queries.table_vintages(con) == {T: "20230714T020000"}
    assert queries.has_table(con, T) and not queries.has_table(con, "47024NED")


def test_table_version_of_a_missing_table_is_an_error(con):
    version = queries.table_version(con, T)
    assert (version.vintage, version.last_month) == ("20230714T020000", date(2023, 6, 1))
    assert queries.months_after(con, T, date(2023, 4, 1), date(2023, 6, 1)) == [date(2023, 5, 1), date(2023, 6, 1)]
    with pytest.raises(Exception, match="47024NED staat niet in het warehouse"):
        queries.table_version(con, "47024NED")


def test_no_boundaries_denominators_or_incidents_yet(con):
    assert queries.boundary_layout_years(con) == {}
    assert queries.latest_boundaries(con) == {}
    assert queries.denominators(con, [ENSCHEDE], 2023, "woningen")["value"].isna().all()
    assert not queries.has_incidents(con)
    settings = SimpleNamespace(incidenten=IncidentSettings())  # only what incident_inputs reads
    assert queries.incident_inputs(con, settings, date(2023, 7, 1)) is None


def test_the_data_checks_block_a_report_or_become_findings_with_months(tmp_path):
    path = tmp_path / "w.duckdb"
    with db.writer(path) as con:
        assert queries.checked_data(con, [T]).findings == ()
        for region, month in ((ENSCHEDE, date(2023, 1, 1)), (ENSCHEDE, date(2023, 2, 1)), (HENGELO, date(2023, 1, 1))):
            con.execute("INSERT INTO facts_monthly VALUES ($t, $r, '1.1.1', $m, 1, false, false, 'v1')",
                        {"t": T, "r": region, "m": month})
        con.execute("INSERT INTO validation_results VALUES ('r1', now(), $t, 'v1', 'region_missing_month', 'WARN', "
                    "$r, 'Hengelo mist 1 maand', 1, 0)", {"t": T, "r": HENGELO})
        checked = queries.checked_data(con, [T])
        assert [f.region_code for f in checked.findings] == [HENGELO]
        assert checked.month_gaps == {(T, HENGELO): (date(2023, 2, 1),)}
        con.execute("INSERT INTO validation_results VALUES ('r1', now(), $t, 'v1', 'rollup_mismatch', 'BLOCKER', "
                    "NULL, 'Totaal klopt niet', 1, 0)", {"t": T})
        with pytest.raises(DataError, match="(?s)niet gepubliceerd.*Totaal klopt niet"):
            queries.checked_data(con, [T])

