"""The warehouse reader: every query the analysis, reports, status, pipeline and flows make.

One named function per question, its SQL a named statement in ``warehouse/sql/reader.sql`` (or
beside the tables it reads: ``whats_new.sql``, ``incidents.sql``, ``validation.sql``,
``geography.sql``), values always bound as parameters. The writer side (loading, validation,
incident import) stays with the loaders.

The analysis functions (``analysis/*.py``) never see a connection: per product one call here
returns a frozen bundle of frames (:func:`biweekly_inputs`, :func:`annual_inputs`,
:func:`overlast_inputs`, :func:`ranking_inputs`, :func:`whats_new_inputs`,
:func:`incident_inputs`, :func:`checked_data`) and a pure function analyses it::

    with db.reader(path) as con:
        inputs = queries.biweekly_inputs(con, settings, report_date)
    analysis = woninginbraak.build_biweekly(inputs)

Every series comes with a :class:`DataInfo`: source table, vintage, months covered, provisional
months, suppressed cells and whether the figures are synthetic -- a figure never travels
without it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from datetime import date, datetime

import duckdb
import pandas as pd

from veiligheidsbeeld.constants import MISDRIJVEN_JAAR_TABLE, MISDRIJVEN_TABLE, OVERLAST_TABLE, TOTAL_CODE
from veiligheidsbeeld.errors import ConfigError, DataError
from veiligheidsbeeld.warehouse.sql import query

if TYPE_CHECKING:  # the analysis types the bundles carry (the analysis imports this module)
    from veiligheidsbeeld.analysis.engine import ReportPeriod
    from veiligheidsbeeld.analysis.overlast_doel import RegionUnit
    from veiligheidsbeeld.analysis.whats_new import ReportStamp
    from veiligheidsbeeld.sources.raw_archive import RawArchive
    from veiligheidsbeeld.config import (
        CrimeGroup,
        JaaranalyseSettings,
        OverlastTargetSettings,
        RankingSettings,
        Settings,
        TweewekelijksSettings,
    )
    from veiligheidsbeeld.errors import VeiligheidsbeeldError

#: The named statements of this reader (``warehouse/sql/reader.sql``).
SQL_FILE = "reader.sql"


@dataclass(frozen=True)
class DataInfo:
    """Metadata that travels with every figure."""

    table_id: str
    title: str
    vintage: str
    modified: str
    synthetic: bool
    first_month: date | None
    last_month: date | None
    provisional_months: tuple[date, ...] = ()
    missing_months: tuple[date, ...] = ()
    suppressed_cells: int = 0
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def source_line(self) -> str:
        """One Dutch line for under a chart or table."""
        from veiligheidsbeeld.formatting import fmt_int, fmt_month

        parts = [f"Bron: politie open data, CBS-tabel {self.table_id} (versie {self.modified[:10] or self.vintage})"]
        if self.provisional_months:
            first = min(self.provisional_months)
            parts.append(f"cijfers vanaf {fmt_month(first)} zijn voorlopig")
        if self.suppressed_cells:
            parts.append(f"{fmt_int(self.suppressed_cells)} onderdrukte cellen (niet gepubliceerd, niet als 0 geteld)")
        if self.synthetic:
            parts.append("SYNTHETISCHE CIJFERS (demo/test), behalve Nederland")
        return "; ".join(parts) + "."


def data_info(con: duckdb.DuckDBPyConnection, table_id: str, *, region_codes: Sequence[str] | None = None,
              type_codes: Sequence[str] | None = None, first: date | None = None, last: date | None = None) -> DataInfo:
    """Metadata of the facts selected by the same filters as :func:`monthly_counts`."""
    info = con.execute(query(SQL_FILE, "table_info"), {"table_id": table_id}).fetchone()
    if info is None:
        raise DataError(f"Tabel {table_id} staat niet in het warehouse. Draai eerst 'veiligheidsbeeld ingest'.")
    title, modified, vintage, synthetic = info
    rows = con.execute(query(SQL_FILE, "month_coverage"),
                       _filters(table_id, region_codes, type_codes, first, last)).fetchall()
    present = [r[0] for r in rows]
    first_m, last_m = (present[0], present[-1]) if present else (None, None)
    provisional = tuple(m for m, prov, _ in rows if prov)
    suppressed = sum(int(n) for _, _, n in rows)
    missing: tuple[date, ...] = ()
    if first_m is not None:
        expected = pd.date_range(first or first_m, last or last_m, freq="MS").date
        have = set(present)
        missing = tuple(m for m in expected if m not in have)
    return DataInfo(table_id, title or table_id, vintage, modified or "", bool(synthetic), first_m, last_m,
                    provisional, missing, suppressed)


def _filters(table_id: str, region_codes: Sequence[str] | None, type_codes: Sequence[str] | None,
             first: date | None, last: date | None) -> dict:
    """The bound parameters of the facts filters (None: no filter on that column)."""
    return {
        "table_id": table_id,
        "regions": None if region_codes is None else [str(c) for c in region_codes],
        "types": None if type_codes is None else [str(c) for c in type_codes],
        "first": first,
        "last": last,
    }


def monthly_counts(con: duckdb.DuckDBPyConnection, table_id: str, *, region_codes: Sequence[str] | None = None,
                   type_codes: Sequence[str] | None = None, first: date | None = None,
                   last: date | None = None) -> pd.DataFrame:
    """Facts as a tidy frame: region_code, type_code, month, count (NaN = suppressed), suppressed, provisional."""
    frame = con.execute(query(SQL_FILE, "monthly_counts"),
                        _filters(table_id, region_codes, type_codes, first, last)).df()
    frame["month"] = pd.to_datetime(frame["month"]).dt.date
    frame["count"] = frame["count"].astype("float64")  # NaN for suppressed cells, never 0
    return frame


def yearly_counts(con: duckdb.DuckDBPyConnection, table_id: str, *, region_codes: Sequence[str],
                  type_codes: Sequence[str], years: Sequence[int] | None) -> pd.DataFrame:
    """Published year rows (JJ00) of a table as a tidy frame: region_code, type_code, year, count
    (NaN = suppressed), suppressed (``years`` None: every year). For the yearly table 47025NED and
    the overlast reconciliation; never add these to monthly sums."""
    frame = con.execute(query(SQL_FILE, "yearly_counts"), {
        "table_id": table_id, "regions": [str(c) for c in region_codes], "types": [str(c) for c in type_codes],
        "years": None if years is None else [int(y) for y in years],
    }).df()
    frame["count"] = frame["count"].astype("float64")
    return frame


def available_months(con: duckdb.DuckDBPyConnection, table_id: str) -> list[date]:
    """The months of ``table_id`` in the warehouse, oldest first."""
    return [r[0] for r in con.execute(query(SQL_FILE, "available_months"), {"table_id": table_id}).fetchall()]


def regions(con: duckdb.DuckDBPyConnection, level: str | None = None) -> pd.DataFrame:
    """The regions table (of one level: 'NL', 'GM', 'WK', 'BU'; None: all), by code."""
    return con.execute(query(SQL_FILE, "regions"), {"level": level}).df()


def check_type_codes(con: duckdb.DuckDBPyConnection, table_id: str, codes: Sequence[str]) -> None:
    """Unknown crime/overlast codes give an error listing the valid ones."""
    valid = list(offence_types(con, table_id)["code"])
    unknown = [c for c in codes if c not in valid]
    if unknown:
        raise ConfigError(f"Onbekende code(s) {', '.join(unknown)} voor tabel {table_id}. Geldig: {', '.join(valid)}.")


def _month_counts(con: duckdb.DuckDBPyConnection, table_id: str, groups: Mapping[str, Sequence[str]],
                  regions_per_group: Mapping[str, Sequence[str]], first: date, last: date, *,
                  parents: Mapping[str, Sequence[tuple[str, str]]] | None = None,
                  level_order: Sequence[str] = ("",), region_level: str = "") -> pd.DataFrame:
    """The statement ``group_month_counts`` of ``reader.sql`` (see :func:`group_month_counts` and
    :func:`level_month_counts`), with a ``level`` column."""
    cell_regions, cell_groups = [], []
    for label, codes in regions_per_group.items():
        cell_regions += [str(c) for c in codes]
        cell_groups += [label] * len(codes)
    links = [(str(region), str(parent), str(level)) for region, pairs in (parents or {}).items()
             for parent, level in pairs]
    frame = con.execute(query(SQL_FILE, "group_month_counts"), {
        "table_id": table_id, "cell_regions": cell_regions, "cell_groups": cell_groups,
        "cell_order": list(range(len(cell_regions))),
        "code_groups": [label for label, codes in groups.items() for _ in codes],
        "code_types": [str(c) for codes in groups.values() for c in codes],
        "first": first, "last": last,
        "members": [m for m, _, _ in links], "parents": [p for _, p, _ in links],
        "parent_levels": [lvl for _, _, lvl in links],
        "level_names": list(level_order), "level_order": list(range(len(level_order))), "region_level": region_level,
    }).df()
    frame["month"] = pd.to_datetime(frame["month"]).dt.date
    return frame


def group_month_counts(con: duckdb.DuckDBPyConnection, table_id: str, groups: Mapping[str, Sequence[str]],
                       regions_per_group: Mapping[str, Sequence[str]], first: date, last: date) -> pd.DataFrame:
    """Monthly counts per region and group, summed in DuckDB on the complete grid (SQL:
    ``reader.sql``, ``group_month_counts``).

    ``groups``: label -> its (leaf) codes; ``regions_per_group``: label -> the regions to count it
    for. Rows in the order of ``regions_per_group`` (group, then region), then month. Columns:
    ``region_code``, ``group``, ``month`` (date), ``count_known``, ``n_suppressed``, ``n_missing``;
    the same figures as :func:`veiligheidsbeeld.analysis.woninginbraak.group_counts` on the facts.
    """
    return _month_counts(con, table_id, groups, regions_per_group, first, last).drop(columns="level")


def level_month_counts(con: duckdb.DuckDBPyConnection, table_id: str, groups: Mapping[str, Sequence[str]],
                       gemeenten: Sequence[str], parents: Mapping[str, Sequence[tuple[str, str]]],
                       level_order: Sequence[str], gemeente_level: str, first: date, last: date) -> pd.DataFrame:
    """Monthly counts per group of every level, summed in DuckDB (the same statement as
    :func:`group_month_counts`): the ``gemeenten`` on the complete grid and every parent they
    belong to (``parents``: gemeente -> its (parent code, level) pairs, e.g. its district and
    eenheid).

    Columns: ``region_code``, ``group``, ``month`` (date), ``count_known``, ``n_suppressed``,
    ``n_missing``, ``level``; rows by ``level_order``, then as the gemeenten and groups are listed,
    then month: the figures and order of summing :func:`group_month_counts` in pandas
    (:meth:`veiligheidsbeeld.analysis.engine.RegionHierarchy.level_counts`).
    """
    return _month_counts(con, table_id, groups, {label: gemeenten for label in groups}, first, last,
                         parents={g: parents.get(g, ()) for g in gemeenten}, level_order=level_order,
                         region_level=gemeente_level)


# --------------------------------------------------------------------------------------------
# Code lists, region names, what is loaded
# --------------------------------------------------------------------------------------------


def offence_types(con: duckdb.DuckDBPyConnection, table_id: str) -> pd.DataFrame:
    """The code list of a police table: ``code``, ``title``, ``is_rollup`` (by code)."""
    return con.execute(query(SQL_FILE, "offence_types"), {"table_id": table_id}).df()


def gemeente_names(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Code -> name of every gemeente in the police data (not the 'unknown gemeente' code)."""
    from veiligheidsbeeld.regions import UNKNOWN_GEMEENTE

    rows = con.execute(query(SQL_FILE, "gemeente_names"), {"unknown": UNKNOWN_GEMEENTE}).fetchall()
    return {str(c): str(n) for c, n in rows}


def region_names(con: duckdb.DuckDBPyConnection, codes: Sequence[str]) -> dict[str, str]:
    """Code -> name of the given region codes (codes not in the warehouse are left out)."""
    return dict(con.execute(query(SQL_FILE, "region_names"), {"codes": [str(c) for c in codes]}).fetchall())


def gemeenten_in_facts(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Gemeente codes that have police facts (any table), sorted."""
    return [r[0] for r in con.execute(query(SQL_FILE, "gemeenten_in_facts")).fetchall()]


def table_vintages(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Table id -> the vintage in use, for every police table in the warehouse."""
    return dict(con.execute(query(SQL_FILE, "table_vintages")).fetchall())


def has_table(con: duckdb.DuckDBPyConnection, table_id: str) -> bool:
    """Whether a police table (e.g. '47024NED') is in the warehouse."""
    return table_id in table_vintages(con)


def latest_loads(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """Per table its newest load: table_id, last_month, vintages, provisional_months,
    suppressed_cells, rows, fetched_at (the newest completed pull)."""
    return con.execute(query(SQL_FILE, "latest_loads")).fetchall()


def yearly_rows_loaded(con: duckdb.DuckDBPyConnection, table_id: str) -> int:
    """How many year rows (JJ00) of ``table_id`` are stored (0: the table is not loaded)."""
    return int(con.execute(query(SQL_FILE, "yearly_rows"), {"table_id": table_id}).fetchone()[0])


def published_year_counts(con: duckdb.DuckDBPyConnection, table_id: str, region_codes: Sequence[str],
                          type_codes: Sequence[str]) -> dict[tuple[str, str, int], int]:
    """The published (not suppressed) year rows (JJ00) for reconciliation: (region, code, year) -> count."""
    frame = yearly_counts(con, table_id, region_codes=region_codes, type_codes=type_codes, years=None)
    frame = frame[frame["count"].notna()]
    return {(str(r), str(c), int(y)): int(n) for r, c, y, n in
            zip(frame["region_code"], frame["type_code"], frame["year"], frame["count"], strict=True)}


def district_gemeenten(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The gemeente codes of the districts table."""
    return [r[0] for r in con.execute(query(SQL_FILE, "district_gemeenten")).fetchall()]


# --------------------------------------------------------------------------------------------
# Boundaries and denominators (their SQL lives with the loading, in geography.sql)
# --------------------------------------------------------------------------------------------


def boundary_layout_years(con: duckdb.DuckDBPyConnection) -> dict[str, list[int]]:
    """Level ('gemeente', 'wijk', 'buurt') -> the layout years with boundaries, oldest first
    (empty when none were loaded)."""
    return {str(level): [int(y) for y in years]
            for level, years in con.execute(query(SQL_FILE, "boundary_layout_years")).fetchall()}


def boundaries(con: duckdb.DuckDBPyConnection, level: str, layout_year: int):  # -> gpd.GeoDataFrame
    """The boundaries of one level and layout year (RD New)."""
    from veiligheidsbeeld.warehouse.geography import read_boundaries

    return read_boundaries(con, level, layout_year)


def latest_boundaries(con: duckdb.DuckDBPyConnection, levels: Sequence[str] = ("buurt", "wijk", "gemeente")) -> dict:
    """Level -> the boundaries of its latest layout year, for the levels stored ({} without boundaries)."""
    years = boundary_layout_years(con)
    return {level: boundaries(con, level, max(found)) for level, found in years.items() if level in levels and found}


def denominators(con: duckdb.DuckDBPyConnection, region_codes: Sequence[str], year: int, measure: str) -> pd.DataFrame:
    """One row per region: the denominator of ``year`` (or the last published year), see
    :func:`veiligheidsbeeld.warehouse.geography.denominator_for`; empty without a denominators table."""
    from veiligheidsbeeld.warehouse.geography import denominator_for

    return denominator_for(con, region_codes, year, measure)


def police_layout_denominators(con: duckdb.DuckDBPyConnection, gemeenten: Sequence[str], years: Sequence[int],
                               measure: str) -> pd.DataFrame:
    """Yearly denominators on the police layout: see
    :func:`veiligheidsbeeld.warehouse.geography.police_layout_denominators`."""
    from veiligheidsbeeld.warehouse import geography

    return geography.police_layout_denominators(con, gemeenten, years, measure)


def attach_denominators(frame: pd.DataFrame, con: duckdb.DuckDBPyConnection, measure: str, year_col: str = "year",
                        **kwargs) -> pd.DataFrame:
    """``frame`` with its denominators: see :func:`veiligheidsbeeld.warehouse.geography.attach_denominators`."""
    from veiligheidsbeeld.warehouse import geography

    return geography.attach_denominators(frame, con, measure, year_col, **kwargs)


# --------------------------------------------------------------------------------------------
# The data checks of the last ingest (for the report banners)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckedData:
    """The WARN findings of the last data checks of some tables, and per (table, region) with a
    'region_missing_month' finding the months that region lacks."""

    findings: tuple = ()
    month_gaps: Mapping[tuple[str, str], tuple[date, ...]] = field(default_factory=dict)


def checked_data(con: duckdb.DuckDBPyConnection, table_ids: Sequence[str]) -> CheckedData:
    """The stored findings of ``table_ids``: a BLOCKER raises ``DataError`` (the report is not
    published, :func:`veiligheidsbeeld.warehouse.validation.assert_publishable`); the WARN
    findings are returned with the months each region lacks."""
    from veiligheidsbeeld.warehouse import validation

    findings = validation.assert_publishable(con, table_ids)
    wanted: dict[str, list[str]] = {}
    for f in findings:
        if f.rule == "region_missing_month" and f.region_code:
            wanted.setdefault(f.table_id, []).append(f.region_code)
    gaps: dict[tuple[str, str], list[date]] = {}
    for table_id, codes in wanted.items():
        rows = con.execute(query("validation.sql", "region_month_gaps"),
                           {"table_id": table_id, "regions": codes}).fetchall()
        for region, month in rows:
            gaps.setdefault((table_id, region), []).append(month)
    return CheckedData(tuple(findings), {k: tuple(v) for k, v in gaps.items()})


# --------------------------------------------------------------------------------------------
# What each analysis reads: one call, a frozen bundle of frames. The analysis functions
# (analysis/*.py) take these bundles and never see a connection. A request that cannot be
# answered (unknown code, district or region, a year without data) is refused here, in the same
# order as before the split, so the error a user sees does not depend on this boundary.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BiweeklyInputs:
    """Everything the biweekly woninginbraak analysis reads from the warehouse."""

    settings: Settings
    options: TweewekelijksSettings
    period: ReportPeriod
    district_table: pd.DataFrame
    district_codes: list[str] | None
    facts: pd.DataFrame
    regions: pd.DataFrame
    dwellings: pd.DataFrame
    info: DataInfo
    district_infos: Mapping[str, DataInfo]
    level_counts: pd.DataFrame  # eenheid, districts and gemeenten, summed in DuckDB
    area_counts: pd.DataFrame
    checked: CheckedData


def biweekly_inputs(con: duckdb.DuckDBPyConnection, settings: Settings, report_date: date | None = None,
                    districts: Sequence[str] | None = None, *, options: TweewekelijksSettings | None = None,
                    today: date | None = None) -> BiweeklyInputs:
    """What :func:`veiligheidsbeeld.analysis.woninginbraak.build_biweekly` needs for ``report_date``
    (default today) and ``districts`` (names or codes; default all of the eenheid).

    The latest complete month before ``report_date`` in the data is the end of every comparison.
    """
    from veiligheidsbeeld.analysis.engine import ReportPeriod
    from veiligheidsbeeld.analysis.periods import today_local
    from veiligheidsbeeld.analysis.woninginbraak import check_leaf_codes, month_grid, options_from, select_districts
    from veiligheidsbeeld.regions import load_district_table

    options = (options or options_from(settings)).validate()
    report_date = report_date or today_local()
    district_table = load_district_table(settings.area)
    wanted = select_districts(district_table, districts)
    gemeenten = list(district_table["gemeente_code"])
    table_id = options.table_id

    coverage = data_info(con, table_id, region_codes=gemeenten)
    if coverage.first_month is None or coverage.last_month is None:
        raise DataError(
            f"Er staan geen gegevens van tabel {table_id} voor de gemeenten van eenheid "
            f"{settings.area.eenheid_naam} in het warehouse. Draai eerst 'veiligheidsbeeld ingest'."
        )
    absent = set(coverage.missing_months)
    present = [m for m in month_grid(coverage.first_month, coverage.last_month) if m not in absent]
    period = ReportPeriod.resolve(report_date, present, options, settings.statistiek, today=today)
    latest = period.latest_month

    groups = options.groups()
    check_leaf_codes(groups, offence_types(con, table_id))
    codes = [c for group in groups.values() for c in group]

    first = period.shown_first
    all_regions = regions(con)
    district_of = dict(zip(district_table["gemeente_code"], district_table["district_code"], strict=True))
    wanted_set = set(wanted) if wanted is not None else set(district_table["district_code"])
    areas = all_regions[
        all_regions["level"].isin(["WK", "BU"]) & all_regions["gemeente_code"].map(district_of).isin(wanted_set)
    ]
    area_codes = list(areas["code"])
    facts = monthly_counts(
        con, table_id, region_codes=gemeenten + area_codes, type_codes=codes, first=period.first_month, last=latest
    )
    # Only the crime itself is analysed per wijk and buurt; HIC rows stay at gemeente level.
    facts = facts[facts["region_code"].str.startswith("GM") | facts["type_code"].isin(groups[options.crime_label])]

    def info_for(region_codes: Sequence[str]) -> DataInfo:
        return data_info(con, table_id, region_codes=region_codes, type_codes=codes, first=first, last=latest)

    info = info_for(gemeenten)
    district_infos = {}
    for code in sorted(wanted_set):
        members = [g for g, d in district_of.items() if d == code]
        member_areas = list(areas.loc[areas["gemeente_code"].isin(members), "code"])
        district_infos[code] = info_for(members + member_areas)
    # The sums per region, group and month come from DuckDB (the facts above only say which
    # regions and months are present, for the warnings).
    from veiligheidsbeeld.analysis.engine import DISTRICT, EENHEID, GEMEENTE

    eenheid = str(district_table["eenheid_code"].iloc[0])
    level_counts = level_month_counts(
        con, table_id, groups, gemeenten, {g: [(eenheid, EENHEID), (d, DISTRICT)] for g, d in district_of.items()},
        (EENHEID, DISTRICT, GEMEENTE), GEMEENTE, period.first_month, latest)
    crime_only = {options.crime_label: groups[options.crime_label]}
    area_counts = group_month_counts(con, table_id, crime_only, {options.crime_label: area_codes},
                                     period.first_month, latest)
    dwellings = denominators(con, gemeenten + area_codes, latest.year, options.dwellings_measure)
    return BiweeklyInputs(
        settings=settings, options=options, period=period, district_table=district_table, district_codes=wanted,
        facts=facts, regions=all_regions, dwellings=dwellings, info=info, district_infos=district_infos,
        level_counts=level_counts, area_counts=area_counts, checked=checked_data(con, [table_id]),
    )


@dataclass(frozen=True)
class OverlastInputs:
    """Everything the overlast target monitor reads from the warehouse."""

    settings: Settings
    target: OverlastTargetSettings
    months: tuple[date, ...]  # the table's months up to ``until``
    categories: Mapping[str, str]  # code -> Dutch title, the total first
    units: tuple[RegionUnit, ...]  # the units asked for
    predecessors: frozenset[str]  # older gemeente codes whose rows count for a member
    facts: pd.DataFrame  # members and predecessors, from January of the base year
    published: Mapping[tuple[str, str, int], int]  # published year rows (JJ00) of the members
    info: DataInfo | None  # None when ``facts`` is empty


def overlast_inputs(con: duckdb.DuckDBPyConnection, settings: Settings, region: str | None = None, *,
                    target: OverlastTargetSettings | None = None, categories: Sequence[str] | None = None, with_gemeenten: bool = False,
                    units: Sequence[RegionUnit] | None = None, until: date | None = None) -> OverlastInputs:
    """What :func:`veiligheidsbeeld.analysis.overlast_doel.overlast_monitor` needs (arguments as there).

    Raises ``DataError`` when the table is absent or the base year has no (complete) data, and
    ``ConfigError`` for an unknown category or region.
    """
    from veiligheidsbeeld.analysis.overlast_doel import (
        check_base_year,
        resolve_units,
        target_settings_for,
    )
    from veiligheidsbeeld.regions import load_lineage

    target = target_settings_for(settings, target)
    months = available_months(con, target.table_id)
    if not months:
        raise DataError(f"Tabel {target.table_id} (overlast) staat niet in het warehouse. Draai eerst 'veiligheidsbeeld ingest'.")
    if until is not None:
        months = [m for m in months if m <= until]
    check_base_year(months, target)
    types = offence_types(con, target.table_id)
    titles = {str(c): str(t) for c, t in zip(types["code"], types["title"], strict=True)}
    wanted = list(categories) if categories is not None else list(target.categories)
    if wanted:
        check_type_codes(con, target.table_id, wanted)
    else:
        wanted = sorted(titles, key=lambda c: (c != TOTAL_CODE, c))
    cats = {c: titles.get(c, c) for c in wanted}
    selected = list(units) if units is not None else resolve_units(settings, region, with_gemeenten=with_gemeenten)
    members = sorted({m for u in selected for m in u.members})
    lineage = load_lineage()
    # Data on an older layout: fetch the old codes too and count them for their successor.
    predecessors = frozenset(lineage.loc[lineage["new_code"].isin(members), "old_code"])
    first = date(target.base_year, 1, 1)
    facts = monthly_counts(con, target.table_id, region_codes=sorted(set(members) | predecessors),
                           type_codes=list(cats), first=first, last=max(months))
    published = published_year_counts(con, target.table_id, members, list(cats)) if not facts.empty else {}
    info = (data_info(con, target.table_id, region_codes=members, type_codes=list(cats), first=first,
                      last=max(months)) if not facts.empty else None)
    return OverlastInputs(settings, target, tuple(months), cats, tuple(selected), predecessors, facts, published, info)


@dataclass(frozen=True)
class RankingInputs:
    """Everything the youth-nuisance ranking reads from the warehouse."""

    settings: Settings
    ranking: RankingSettings
    years: tuple[int, ...]
    names: Mapping[str, str]  # every gemeente in the police data
    facts: pd.DataFrame  # the gemeente rows (not the unknown gemeente) of the type, over ``years``
    #: Per year and gemeente with data: ``inhabitants`` and its ``inhabitants_*`` columns
    #: (:func:`attach_denominators`), or the error to raise when there are no denominators.
    inhabitants: pd.DataFrame | DataError | None
    info: DataInfo | None  # None when ``facts`` is empty


def ranking_inputs(con: duckdb.DuckDBPyConnection, settings: Settings, years: Sequence[int] | None = None, *,
                   ranking: RankingSettings | None = None) -> RankingInputs:
    """What :func:`veiligheidsbeeld.analysis.jeugd_ranking.jeugd_ranking` needs for ``years``
    (default every complete year). Raises ``DataError`` when the table is absent or a year asked
    for is not complete, ``ConfigError`` for an unknown code."""
    from veiligheidsbeeld.analysis.overlast_doel import complete_years
    from veiligheidsbeeld.regions import UNKNOWN_GEMEENTE

    ranking = ranking or settings.ranking
    months = available_months(con, ranking.table_id)
    if not months:
        raise DataError(f"Tabel {ranking.table_id} (overlast) staat niet in het warehouse. Draai eerst 'veiligheidsbeeld ingest'.")
    check_type_codes(con, ranking.table_id, [ranking.type_code])
    full_years = complete_years(months)
    wanted = list(years) if years is not None else full_years
    missing_years = [y for y in wanted if y not in full_years]
    if missing_years:
        raise DataError(
            f"Jaar {', '.join(map(str, missing_years))} is niet volledig in tabel {ranking.table_id} "
            f"(volledige jaren: {', '.join(map(str, full_years)) or 'geen'}); een ranglijst over een deel van het jaar "
            "is niet vergelijkbaar."
        )
    names = gemeente_names(con)
    first, last = date(min(wanted), 1, 1), date(max(wanted), 12, 1)
    facts = monthly_counts(con, ranking.table_id, type_codes=[ranking.type_code], first=first, last=last)
    facts = facts[facts["region_code"].str.fullmatch(r"GM\d{4}") & (facts["region_code"] != UNKNOWN_GEMEENTE)]
    inhabitants: pd.DataFrame | DataError | None = None
    info = None
    if not facts.empty:
        with_data = sorted(set(facts["region_code"]))
        keys = pd.DataFrame([(y, code) for y in wanted for code in with_data], columns=["year", "gemeente_code"])
        # No denominators loaded (or none for these years): every status is 'ontbreekt', which the
        # analysis reports in one sentence.
        inhabitants = attach_denominators(keys, con, ranking.denominator, "year", region_col="gemeente_code",
                                          prefix="inhabitants")
        info = data_info(con, ranking.table_id, region_codes=with_data, type_codes=[ranking.type_code],
                         first=first, last=last)
    return RankingInputs(settings, ranking, tuple(wanted), names, facts, inhabitants, info)


def _attempt(read: Any) -> Any:
    """``read()``, or the package error it raised (kept, for the analysis to report in its place)."""
    from veiligheidsbeeld.errors import VeiligheidsbeeldError

    try:
        return read()
    except VeiligheidsbeeldError as exc:
        return exc


@dataclass(frozen=True)
class AnnualInputs:
    """Everything the annual analysis reads from the warehouse. A part that could not be read
    (the overlast monitor, the ranking) holds the error that says why."""

    settings: Settings
    year: int
    options: JaaranalyseSettings
    target: OverlastTargetSettings
    biweekly: TweewekelijksSettings
    groups: tuple[CrimeGroup, ...]
    district_table: pd.DataFrame
    checked: CheckedData
    months: tuple[date, ...]  # the months of the misdrijven table
    period: ReportPeriod  # of December of the year
    first_year: int
    read_from: date
    facts: pd.DataFrame  # monthly misdrijven of the groups' codes, from ``read_from`` to December
    yearly_loaded: bool  # whether the yearly table (47025NED) is in the warehouse
    yearly_facts: pd.DataFrame  # its year rows of the groups' yearly codes
    denominators: Mapping[str, pd.DataFrame]  # measure -> police-layout denominators per gemeente and year
    monitor_top: OverlastInputs | VeiligheidsbeeldError  # eenheid and districts
    monitor_gemeenten: OverlastInputs | VeiligheidsbeeldError | None  # gemeenten (None: the first failed)
    ranking: RankingInputs | VeiligheidsbeeldError
    info: DataInfo


def annual_inputs(con: duckdb.DuckDBPyConnection, settings: Settings, year: int, *,
                  options: JaaranalyseSettings | None = None, target: OverlastTargetSettings | None = None,
                  ranking: RankingSettings | None = None) -> AnnualInputs:
    """What :func:`veiligheidsbeeld.analysis.jaaranalyse.build_jaaranalyse` needs for ``year``.

    Raises ``DataError`` when a data check blocks, or ``year`` is not complete in the misdrijven
    table; ``ConfigError`` for a group code that is unknown or a total.
    """
    from veiligheidsbeeld.analysis.engine import ReportPeriod
    from veiligheidsbeeld.analysis.jaaranalyse import crime_groups
    from veiligheidsbeeld.analysis.overlast_doel import area_units, complete_years, target_settings_for
    from veiligheidsbeeld.analysis.woninginbraak import check_leaf_codes, options_from
    from veiligheidsbeeld.regions import load_district_table

    options = options or settings.jaaranalyse
    ranking = ranking or settings.ranking
    target = target_settings_for(settings, target)
    biweekly = options_from(settings)
    groups = crime_groups(biweekly, options.bbv)
    district_table = load_district_table(settings.area)
    gemeenten = list(district_table["gemeente_code"])
    # The data checks of the last ingest: a BLOCKER stops the report, WARN findings are shown.
    checked = checked_data(con, [MISDRIJVEN_TABLE, OVERLAST_TABLE, MISDRIJVEN_JAAR_TABLE])

    months = available_months(con, MISDRIJVEN_TABLE)
    if year not in complete_years(months):
        span = f"{months[0]:%Y-%m} t/m {months[-1]:%Y-%m}" if months else "geen gegevens"
        raise DataError(
            f"Het jaar {year} is niet volledig in tabel {MISDRIJVEN_TABLE} (misdrijven; beschikbaar: {span}). "
            "Een jaaranalyse over een onvolledig jaar is niet vergelijkbaar met eerdere jaren."
        )
    check_leaf_codes({g.label: g.codes for g in groups}, offence_types(con, MISDRIJVEN_TABLE))
    yearly_types = offence_types(con, MISDRIJVEN_JAAR_TABLE)
    if len(yearly_types):  # the yearly codes against the yearly table's code list, once it is loaded
        check_leaf_codes({g.label: g.yearly_codes for g in groups if g.yearly_codes}, yearly_types)
    first_year = min(options.compare_year, year - 1)
    codes = sorted({c for g in groups for c in g.codes})
    # The verdicts on year Y against Y-1 of the biweekly groups are the biweekly analysis's own
    # for December Y (its last 12 months): the same family, so the same flag in every product.
    period = ReportPeriod.for_latest(date(year, 12, 1), biweekly, settings.statistiek)
    read_from = min(date(first_year, 1, 1), period.first_month)
    facts = monthly_counts(con, MISDRIJVEN_TABLE, region_codes=gemeenten, type_codes=codes,
                           first=read_from, last=date(year, 12, 1))
    # BBV: codes counted from the yearly table 47025NED (zedenmisdrijven) [issue 13, item 6].
    yearly_codes = sorted({c for g in groups for c in g.yearly_codes})
    yearly_loaded, yearly_facts = False, pd.DataFrame(columns=["region_code", "type_code", "year", "count", "suppressed"])
    if yearly_codes:
        yearly_loaded = yearly_rows_loaded(con, MISDRIJVEN_JAAR_TABLE) > 0
        yearly_facts = yearly_counts(con, MISDRIJVEN_JAAR_TABLE, region_codes=gemeenten, type_codes=yearly_codes,
                                     years=range(min(first_year, read_from.year), year + 1))
    years = list(range(first_year, year + 1))
    measures = sorted({options.inhabitants_measure if g.denominator == "inwoners" else options.dwellings_measure
                       for g in groups})
    found = {m: police_layout_denominators(con, gemeenten, years, m) for m in measures}

    # The overlast monitor up to December of the year.
    def monitor(gemeente_level: bool) -> OverlastInputs:
        units = area_units(settings, district_table)
        return overlast_inputs(con, settings, target=target,
                               units=[u for u in units if (u.level == "gemeente") == gemeente_level],
                               categories=options.gemeente_overlast_categories if gemeente_level else None,
                               until=date(year, 12, 1))

    monitor_top = _attempt(lambda: monitor(False))
    monitor_gemeenten = _attempt(lambda: monitor(True)) if not isinstance(monitor_top, Exception) else None

    def ranked() -> RankingInputs:
        overlast_years = complete_years(available_months(con, ranking.table_id))
        if year not in overlast_years:
            raise DataError(f"Het jaar {year} is niet volledig in de overlasttabel.")
        return ranking_inputs(con, settings, [y for y in (year - 1, year) if y in overlast_years], ranking=ranking)

    info = data_info(con, MISDRIJVEN_TABLE, region_codes=gemeenten, type_codes=codes,
                     first=date(first_year, 1, 1), last=date(year, 12, 1))
    return AnnualInputs(
        settings=settings, year=year, options=options, target=target, biweekly=biweekly, groups=tuple(groups),
        district_table=district_table, checked=checked, months=tuple(months), period=period, first_year=first_year,
        read_from=read_from, facts=facts, yearly_loaded=yearly_loaded, yearly_facts=yearly_facts, denominators=found,
        monitor_top=monitor_top, monitor_gemeenten=monitor_gemeenten, ranking=_attempt(ranked), info=info,
    )


# --------------------------------------------------------------------------------------------
# What is new since the previous report (analysis/whats_new.py; SQL in whats_new.sql)
# --------------------------------------------------------------------------------------------

WHATS_NEW_SQL = "whats_new.sql"


@dataclass(frozen=True)
class TableVersion:
    """The version of a police table in the warehouse and its latest month."""

    table_id: str
    modified: str
    vintage: str
    last_month: date | None


def table_version(con: duckdb.DuckDBPyConnection, table_id: str) -> TableVersion:
    """The version of ``table_id`` now in the warehouse; an error when it is not there."""
    from veiligheidsbeeld.errors import VeiligheidsbeeldError

    row = con.execute(query(WHATS_NEW_SQL, "table_version"), {"table_id": table_id}).fetchone()
    if row is None:
        raise VeiligheidsbeeldError(f"Tabel {table_id} staat niet in het warehouse.")
    modified, vintage, latest = row
    return TableVersion(table_id, str(modified or ""), str(vintage), latest)


def months_after(con: duckdb.DuckDBPyConnection, table_id: str, after: date, last: date) -> list[date]:
    """The months of ``table_id`` after ``after`` up to and including ``last``."""
    rows = con.execute(query(WHATS_NEW_SQL, "months_after"), {"table_id": table_id, "after": after, "last": last})
    return [r[0] for r in rows.fetchall()]


def changed_cells(con: duckdb.DuckDBPyConnection, owned: pd.DataFrame, new_files: Sequence[str],
                  old_files: Sequence[str]) -> pd.DataFrame:
    """Per gemeente and month: how many cells differ between the raw files of two versions
    (``owned``: side, filename, period -- per file the periods it holds the newest values of).
    ``attrs['window']``: the first and last month compared."""
    con.register("whats_new_owned", owned)
    try:
        params = {"new_files": list(new_files), "old_files": list(old_files)}
        frame = con.execute(query(WHATS_NEW_SQL, "changed_cells"), params).df()
        rows = con.execute(query(WHATS_NEW_SQL, "compared_window")).fetchall()  # one row; fetch it all
        window = rows[0] if rows else None
    finally:
        con.unregister("whats_new_owned")
    frame["month"] = pd.to_datetime(frame["month"]).dt.date
    frame.attrs["window"] = tuple(window) if window else (None, None)
    return frame


@dataclass(frozen=True)
class WhatsNewInputs:
    """What :func:`veiligheidsbeeld.analysis.whats_new.what_is_new` compares."""

    current: ReportStamp
    previous: ReportStamp | None
    new_months: tuple[date, ...] = ()
    #: Changed cells per gemeente and month (:func:`changed_cells`); None: not compared (same or no
    #: previous version) or unknown (a version is no longer in the raw archive, see ``compared``).
    changes: pd.DataFrame | None = None
    compared: bool = False


def whats_new_inputs(con: duckdb.DuckDBPyConnection, archive: RawArchive, current: ReportStamp,
                     previous: ReportStamp | None) -> WhatsNewInputs:
    """The new months and the revised cells between the previous report's data and this report's."""
    from veiligheidsbeeld.analysis.whats_new import changed_files

    if previous is None or previous.vintage == current.vintage:
        return WhatsNewInputs(current, previous)
    new_months: tuple[date, ...] = ()
    if current.last_month is not None:
        new_months = tuple(months_after(con, current.table_id, previous.last_month or date(1900, 1, 1),
                                        current.last_month))
    files = changed_files(archive, current.table_id, previous.vintage, current.vintage)
    if files is None:
        return WhatsNewInputs(current, previous, new_months, None, True)
    owned, new_files, old_files = files
    if not new_files or not old_files:
        empty = pd.DataFrame(columns=["gemeente_code", "month", "n"])
        empty.attrs["window"] = (None, None)
        return WhatsNewInputs(current, previous, new_months, empty, True)
    return WhatsNewInputs(current, previous, new_months, changed_cells(con, owned, new_files, old_files), True)


# --------------------------------------------------------------------------------------------
# Incidents (politie-intern: never leave the local warehouse; SQL in incidents.sql)
# --------------------------------------------------------------------------------------------

INCIDENTS_SQL = "incidents.sql"


def has_incidents(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the warehouse holds incident data."""
    return bool(con.execute(query(INCIDENTS_SQL, "has_incidents")).fetchone()[0])


def import_history(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every incident import: file, time, checksum (first 12 hex digits), row counts, and how many
    of its rows are still current (not replaced by a newer import); empty before the first."""
    if not con.execute(query(INCIDENTS_SQL, "count_imports")).fetchone()[0] and not has_incidents(con):
        return pd.DataFrame()
    return con.execute(query(INCIDENTS_SQL, "import_history")).df()


def incidents(con: duckdb.DuckDBPyConnection, codes: Sequence[str], since: datetime | None = None,
              until: datetime | None = None) -> pd.DataFrame:
    """Current incidents (newest import per id) of ``codes`` with their midpoint in [since, until)."""
    return con.execute(
        query(INCIDENTS_SQL, "select_incidents"),
        {"codes": list(codes), "since": since or datetime(1900, 1, 1), "until": until or datetime(2200, 1, 1)},
    ).df()


@dataclass(frozen=True)
class IncidentInputs:
    """What the incident sections of the biweekly report read: the woninginbraak incidents of the
    alert history up to the report date, and the buurt boundaries (when hotspots are per buurt)."""

    incidents: pd.DataFrame
    buurt_areas: Any = None  # gpd.GeoDataFrame | None


def incident_inputs(con: duckdb.DuckDBPyConnection, settings: Settings, report_date: date) -> IncidentInputs | None:
    """The incidents for :func:`veiligheidsbeeld.incidents.biweekly.build_sections`; None when
    the warehouse holds none (the report then looks exactly as without incidents)."""
    from veiligheidsbeeld.incidents.biweekly import history_start

    if not has_incidents(con):
        return None
    inc = settings.incidenten
    frame = incidents(con, [inc.woninginbraak_code], datetime.combine(history_start(report_date, inc), datetime.min.time()),
                      datetime.combine(report_date, datetime.min.time()))
    if frame.empty:
        return None
    buurt_areas = latest_boundaries(con, ("buurt",)).get("buurt") if inc.hotspot_niveau == "buurt" else None
    return IncidentInputs(frame, buurt_areas)


# --------------------------------------------------------------------------------------------
# Status and region check (veiligheidsbeeld status, veiligheidsbeeld regions)
# --------------------------------------------------------------------------------------------


def validation_runs(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """The last data-check run per table: (table_id, run_id, checked_at, vintage, blockers, warnings, infos)."""
    return con.execute(query(SQL_FILE, "validation_runs")).fetchall()


def validation_findings_for_status(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """The BLOCKER and WARN findings of the last runs: (table_id, rule, severity, region_code, detail)."""
    return con.execute(query(SQL_FILE, "validation_findings_for_status")).fetchall()


def police_region_codes(con: duckdb.DuckDBPyConnection) -> list[str] | None:
    """The region codes of the loaded police facts, or None when there are none yet."""
    codes = [str(r[0]) for r in con.execute(query(SQL_FILE, "police_region_codes")).fetchall()]
    return codes or None
