"""Loading districts, gemeente lineage, denominators and boundaries into the warehouse, and
looking denominators up for figures.

Every load runs in one transaction and replaces what it loads (the districts of one eenheid and
layout year, the whole lineage, all rows of the denominator tables given, the boundaries of one
level and layout year): loading the same input twice gives the same warehouse, and a failed load
leaves the previous state untouched.

A denominator is looked up for the figure's own year. For a year after the last published one
the last published figure is used and flagged (``laatst_beschikbaar``); anything else without a
figure is reported as missing (NaN, ``ontbreekt``) — never 0 and never silently another year.

Yearly gemeente denominators are always put on the police layout (:func:`police_layout_denominators`,
the one place): the police republish their whole series on today's gemeente layout, while CBS
publishes inhabitants and dwellings of year Y on the layout of 1 January Y. Today's gemeente in
year Y gets the sum of the gemeenten of that year that it was made of (Zevenaar 2015 = Zevenaar +
Rijnwaarden; Berg en Dal 2013 = Groesbeek + Millingen aan de Rijn + Ubbergen), per the merger
lineage. ``denominator_for`` and ``attach_denominators`` go through it, so every consumer does.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import duckdb
import geopandas as gpd
import pandas as pd
import shapely

from veiligheidsbeeld.config import AreaSettings
from veiligheidsbeeld.errors import DataError, WarehouseError
from veiligheidsbeeld import regions
from veiligheidsbeeld.regions import DISTRICT_COLUMNS, LINEAGE_COLUMNS
from veiligheidsbeeld.sources.boundaries import BOUNDARY_COLUMNS, RD_NEW
from veiligheidsbeeld.sources.denominators import tidy_frame
from veiligheidsbeeld.warehouse.sql import query

log = logging.getLogger(__name__)

SQL_FILE = "geography.sql"
STAGED = "staged"
STATUS_OWN = "eigen_jaar"
STATUS_LATEST = "laatst_beschikbaar"
STATUS_MISSING = "ontbreekt"

T = TypeVar("T")


@contextmanager
def _staged(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame) -> Iterator[None]:
    con.register(STAGED, frame)
    try:
        yield
    finally:
        con.unregister(STAGED)


def _transaction(con: duckdb.DuckDBPyConnection, what: str, work: Callable[[], T]) -> T:
    con.begin()
    try:
        result = work()
        con.commit()
        return result
    except BaseException as exc:
        con.rollback()
        if isinstance(exc, (DataError, WarehouseError)):
            raise
        if isinstance(exc, duckdb.Error):
            raise WarehouseError(f"Laden van {what} in het warehouse mislukt; er is niets gewijzigd: {exc}") from exc
        raise


# --------------------------------------------------------------------------------------------
# Loads
# --------------------------------------------------------------------------------------------


def load_districts(
    con: duckdb.DuckDBPyConnection, table: pd.DataFrame, layout_year: int, source: str
) -> int:
    """Replace the districts of the eenheid(en) in ``table`` for ``layout_year``."""
    frame = table.loc[:, list(DISTRICT_COLUMNS)].astype(str).reset_index(drop=True)
    eenheden = sorted(set(frame["eenheid_code"]))

    def work() -> int:
        for eenheid in eenheden:
            con.execute(query(SQL_FILE, "delete_districts"), {"eenheid_code": eenheid, "layout_year": int(layout_year)})
        with _staged(con, frame):
            con.execute(query(SQL_FILE, "insert_districts"), {"layout_year": int(layout_year), "source": source})
        return len(frame)

    return _transaction(con, "de districten", work)


def load_area_districts(con: duckdb.DuckDBPyConnection, area: AreaSettings | None = None) -> int:
    """Load the district table of ``area`` (reference CSV or ``area.district_table``)."""
    area = area or AreaSettings()
    table = regions.load_district_table(area)
    source = area.district_table or f"reference/districts_{area.eenheid_code}_{area.layout_year}.csv"
    return load_districts(con, table, area.layout_year, source)


def load_lineage(con: duckdb.DuckDBPyConnection, lineage: pd.DataFrame | None = None) -> int:
    """Replace the gemeente lineage (default: the checked-in reference table)."""
    frame = (regions.load_lineage() if lineage is None else lineage).loc[:, list(LINEAGE_COLUMNS)].reset_index(drop=True)

    def work() -> int:
        con.execute(query(SQL_FILE, "delete_lineage"))
        with _staged(con, frame):
            con.execute(query(SQL_FILE, "insert_lineage"))
        return len(frame)

    return _transaction(con, "de gemeentelijke herindelingen", work)


def load_denominators(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame) -> int:
    """Replace all rows of the denominator tables in ``frame`` (as from load_raw_denominators)."""
    frame = tidy_frame(frame)
    if frame.empty:
        return 0
    keys = ["source_table", "region_code", "year", "month", "measure"]
    if frame.duplicated(subset=keys).any():
        dup = frame.loc[frame.duplicated(subset=keys, keep=False), keys].head(5).to_dict("records")
        raise DataError(f"Noemers bevatten dubbele rijen (zelfde tabel, regio, periode en maat): {dup}.")

    def work() -> int:
        with _staged(con, frame):
            con.execute(query(SQL_FILE, "delete_denominators_of_tables"))
            con.execute(query(SQL_FILE, "insert_denominators"))
        dups = con.execute(query(SQL_FILE, "duplicate_denominators")).fetchall()
        if dups:
            listing = "; ".join(f"{r[0]} {r[1]}{'-' + str(r[2]) if r[2] is not None else ''} {r[3]} uit {r[5]}" for r in dups)
            raise DataError(
                "Dezelfde noemer komt uit meer dan één CBS-tabel; welke gebruikt moet worden is dan niet "
                f"eenduidig: {listing}. Er is niets gewijzigd."
            )
        return len(frame)

    return _transaction(con, "de noemers", work)


def load_boundaries(con: duckdb.DuckDBPyConnection, gdf: gpd.GeoDataFrame, source: str) -> int:
    """Replace the boundaries of the level(s) and layout year(s) in ``gdf`` (stored as WKB, EPSG:28992)."""
    missing = [c for c in BOUNDARY_COLUMNS if c not in gdf.columns]
    if missing:
        raise DataError(f"Grenzen missen de kolom(men) {', '.join(missing)}.")
    if gdf.crs is None:
        raise DataError("Grenzen zonder coördinatenstelsel kunnen niet worden geladen.")
    if gdf.crs.to_epsg() != 28992:
        gdf = gdf.to_crs(RD_NEW)
    frame = pd.DataFrame(
        {
            "region_code": gdf["region_code"].astype(str).to_numpy(),
            "region_name": gdf["region_name"].astype(str).to_numpy(),
            "level": gdf["level"].astype(str).to_numpy(),
            "gemeente_code": gdf["gemeente_code"].astype("string").to_numpy(),
            "layout_year": gdf["layout_year"].astype("int64").to_numpy(),
            "geometry": shapely.to_wkb(gdf.geometry.to_numpy()),
        }
    )
    groups = sorted({(str(lv), int(yr)) for lv, yr in zip(frame["level"], frame["layout_year"])})

    def work() -> int:
        for level, year in groups:
            con.execute(query(SQL_FILE, "delete_boundaries"), {"level": level, "layout_year": year})
        with _staged(con, frame):
            con.execute(query(SQL_FILE, "insert_boundaries"), {"crs": RD_NEW, "source": source})
        return len(frame)

    return _transaction(con, "de grenzen", work)


def read_boundaries(con: duckdb.DuckDBPyConnection, level: str, layout_year: int) -> gpd.GeoDataFrame:
    """Boundaries from the warehouse as a GeoDataFrame in EPSG:28992."""
    frame = con.execute(query(SQL_FILE, "select_boundaries"), {"level": level, "layout_year": int(layout_year)}).df()
    geometry = shapely.from_wkb([bytes(b) for b in frame.pop("geometry")]) if len(frame) else []
    crs = frame.pop("crs").iloc[0] if len(frame) else RD_NEW
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=crs)


# --------------------------------------------------------------------------------------------
# Denominator lookups
# --------------------------------------------------------------------------------------------


LOOKUP_COLUMNS = ("region_code", "requested_year", "requested_month", "value", "year_used", "month_used", "status",
                  "source_table", "vintage", "parts", "reason")


def _lookup(con: duckdb.DuckDBPyConnection, wanted: pd.DataFrame, measure: str, monthly: bool) -> pd.DataFrame:
    known = con.execute(query(SQL_FILE, "denominator_rows_of_measure"), {"measure": measure}).fetchall()[0]
    if not known or known[0] == 0:
        measures = [r[0] for r in con.execute(query(SQL_FILE, "denominator_measures")).fetchall()]
        log.warning("Noemer '%s' staat niet in het warehouse (wel: %s)", measure, ", ".join(measures) or "geen")
    if not monthly:
        codes = sorted({str(c) for c in wanted["region_code"]})
        years = sorted({int(y) for y in wanted["year"]})
        table = police_layout_denominators(con, codes, years, measure)
        keys = wanted.loc[:, ["region_code", "year"]].astype({"region_code": "string", "year": "int64"}).drop_duplicates()
        out = keys.merge(table.astype({"region_code": "string"}), on=["region_code", "year"], how="left")
        out = out.rename(columns={"year": "requested_year"})
        out["requested_month"] = pd.Series(pd.NA, index=out.index, dtype="Int64")
        out["month_used"] = pd.Series(pd.NA, index=out.index, dtype="Int64")
        return out.loc[:, list(LOOKUP_COLUMNS)].sort_values(["region_code", "requested_year"]).reset_index(drop=True)
    # Monthly figures (inhabitants per month) are looked up as published, on their own layout.
    with _staged(con, wanted):
        out = con.execute(query(SQL_FILE, "denominator_lookup"), {"measure": measure, "monthly": monthly}).df()
    return out.assign(parts=out["region_code"], reason="")


def police_layout_denominators(
    con: duckdb.DuckDBPyConnection,
    region_codes: Iterable[str],
    years: Iterable[int],
    measure: str,
    *,
    lineage: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Yearly denominators of ``measure`` on the police layout (today's gemeenten), every year.

    One row per region × year: ``value`` (NaN = missing, never 0), ``year_used``, ``status``
    (eigen_jaar / laatst_beschikbaar / ontbreekt), ``flag``, ``source_table``, ``vintage``, ``parts``
    (the codes of that year's layout that were added, comma-separated) and ``reason`` (Dutch, why a
    value is missing; empty otherwise).

    * Year Y uses the gemeenten of the 1 January Y layout that today's gemeente was made of
      (:func:`veiligheidsbeeld.regions.layout_parts`): a predecessor's figure is added to its
      successor. The sum is only given when every part has a figure of that year.
    * A gemeente that was later split (opsplitsing): how its inhabitants and dwellings were divided
      over the successors is not known (CBS gives no wijk figures per part of a split), so each of
      today's gemeenten that got a part of it has no denominator for the years before the split,
      with the reason saying so, rather than one that is too high or too low.
    * For a year after the last published one, the last published figure on today's layout is used
      (``laatst_beschikbaar``, flagged). A year before the first published one, or a gap, stays missing.
    * Wijk, buurt and other codes are looked up as published (no lineage for wijken).
    """
    given = lineage
    lineage = regions.load_lineage() if lineage is None else lineage
    codes = sorted({str(c).strip().upper() for c in region_codes})
    wanted_years = sorted({int(y) for y in years})
    columns = ["region_code", "year", "value", "year_used", "status", "flag", "source_table", "vintage", "parts", "reason"]
    if not codes or not wanted_years:
        return pd.DataFrame(columns=columns)
    published = con.execute(query(SQL_FILE, "yearly_denominators"), {"measure": measure}).df()
    values = {(r.region_code, int(r.year)): (float(r.value), r.source_table, r.vintage) for r in published.itertuples()}
    published_years = sorted({int(y) for y in published["year"]}, reverse=True)
    names = dict(zip(lineage["old_code"], lineage["old_name"]))
    split_years = dict(zip(lineage["old_code"], lineage["layout_year"]))

    def composed(code: str, year: int) -> tuple[float, str, str, str, str]:
        """(value, source table, vintage, parts, reason) of ``code`` on the layout of ``year``."""
        layout = regions.layout_parts(code, year, given)
        parts = ",".join(layout.parts)
        if layout.splits:
            split = ", ".join(f"{names.get(s, s)} ({s}, opgesplitst per {split_years[s]})" for s in layout.splits)
            return math.nan, "", "", parts, (
                f"deels ontstaan uit {split}; hoe inwoners en woningen over de opvolgers zijn verdeeld is niet bekend "
                "(geen wijkcijfers van de opsplitsing)"
            )
        found = [values.get((p, year)) for p in layout.parts]
        if not layout.parts or any(f is None for f in found):
            absent = [p for p, f in zip(layout.parts, found) if f is None]
            what = ", ".join(f"{names.get(p, p)} ({p})" if p != code else p for p in absent)
            return math.nan, "", "", parts, f"niet gepubliceerd voor {what} in {year}"
        tables = ",".join(sorted({f[1] for f in found}))
        vintages = ",".join(sorted({f[2] for f in found}))
        return float(sum(f[0] for f in found)), tables, vintages, parts, ""

    def last_year(code: str) -> int | None:
        """The last year with a figure on the police layout (of today's code or its predecessors)."""
        return next((y for y in published_years if not math.isnan(composed(code, y)[0])), None)

    rows = []
    for code in codes:
        last: int | None = None
        for year in wanted_years:
            value, table, vintage, parts, reason = composed(code, year)
            status, used = (STATUS_OWN, year) if not math.isnan(value) else (STATUS_MISSING, None)
            if status == STATUS_MISSING and last is None:
                last = last_year(code)
            if status == STATUS_MISSING and last is not None and year > last:
                value, table, vintage, parts, reason = composed(code, int(last))
                if not math.isnan(value):
                    status, used = STATUS_LATEST, int(last)
            rows.append({"region_code": code, "year": year, "value": value, "year_used": used, "status": status,
                         "flag": status != STATUS_OWN, "source_table": table or None, "vintage": vintage or None,
                         "parts": parts, "reason": reason if status == STATUS_MISSING else ""})
    out = pd.DataFrame(rows, columns=columns)
    out["year_used"] = out["year_used"].astype("Int64")
    out["value"] = out["value"].astype("float64")
    return out


def police_layout_codes(gemeente_codes: Iterable[str], years: Iterable[int], lineage: pd.DataFrame | None = None) -> list[str]:
    """Every gemeente code whose denominators are needed to put ``gemeente_codes`` on the police
    layout in ``years``: the gemeenten themselves and their predecessors of those years."""
    out: set[str] = set()
    for code in gemeente_codes:
        for year in years:
            layout = regions.layout_parts(code, int(year), lineage)
            out.update(layout.parts)
            out.update(layout.splits)
        out.add(str(code).strip().upper())
    return sorted(out)


def missing_denominator_notes(frame: pd.DataFrame, measure: str, names: dict[str, str] | None = None) -> list[str]:
    """Dutch warnings for every year without a denominator (not only the last): per year how many
    regions, which ones (up to eight), and why. ``frame`` as from :func:`police_layout_denominators`."""
    names = names or {}
    notes = []
    missing = frame[frame["status"] == STATUS_MISSING]
    total = frame.groupby("year")["region_code"].nunique()
    if len(frame) and len(missing) == len(frame):
        years = sorted({int(y) for y in frame["year"]})
        span = f"{years[0]}–{years[-1]}" if len(years) > 1 else str(years[0])
        return [f"Noemer '{measure}' ontbreekt voor elk jaar ({span}) en elke gemeente: geen cijfers per 1.000."]
    for year, part in missing.groupby("year", sort=True):
        listed = [f"{names.get(r.region_code, r.region_code)}"
                  + (f" ({r.reason})" if r.reason else "") for r in part.head(8).itertuples()]
        more = " …" if len(part) > 8 else ""
        if len(part) == total.get(year, 0) and len(part) > 1:
            notes.append(f"Noemer '{measure}' ontbreekt voor {int(year)} voor alle {len(part)} gemeenten: geen cijfers "
                         f"per 1.000 over {int(year)}.")
        else:
            notes.append(f"Noemer '{measure}' ontbreekt voor {int(year)} bij {len(part)} gemeente(n): {'; '.join(listed)}{more}. "
                         "Hun cijfers per 1.000 (en die van hun district en de eenheid) zijn voor dat jaar niet berekend.")
    return notes


def denominator_for(
    con: duckdb.DuckDBPyConnection,
    region_codes: Iterable[str],
    year: int,
    measure: str,
    *,
    month: int | None = None,
) -> pd.DataFrame:
    """One row per region: value, year_used, status (eigen_jaar / laatst_beschikbaar / ontbreekt),
    flag (True when the value is not the figure's own period or is missing), source_table, vintage,
    parts, reason. Gemeenten are on the police layout (:func:`police_layout_denominators`)."""
    codes = sorted({str(c).strip() for c in region_codes})
    wanted = pd.DataFrame(
        {
            "region_code": pd.Series(codes, dtype="string"),
            "year": pd.Series([int(year)] * len(codes), dtype="int64"),
            "month": pd.Series([month] * len(codes), dtype="Int64"),
        }
    )
    result = _lookup(con, wanted, measure, monthly=month is not None)
    out = result.rename(columns={"requested_year": "year"}).drop(columns=["requested_month"])
    out["flag"] = out["status"] != STATUS_OWN
    out["measure"] = measure
    if month is None:
        out = out.drop(columns=["month_used"])
    _report(out, measure)
    return out.reset_index(drop=True)


def attach_denominators(
    df: pd.DataFrame,
    con: duckdb.DuckDBPyConnection,
    measure: str,
    year_col: str = "year",
    *,
    region_col: str = "region_code",
    month_col: str | None = None,
    prefix: str = "denominator",
) -> pd.DataFrame:
    """``df`` with ``<prefix>`` (value), ``<prefix>_year`` (year actually used), ``<prefix>_status``,
    ``<prefix>_flag`` (True unless it is the figure's own year), ``<prefix>_source_table`` and
    ``<prefix>_vintage``, ``<prefix>_parts`` (the codes of the year's layout that were added) and
    ``<prefix>_reason``. Missing denominators are NaN with status 'ontbreekt'. Gemeenten are on the
    police layout (:func:`police_layout_denominators`)."""
    for col in (region_col, year_col, *([month_col] if month_col else [])):
        if col not in df.columns:
            raise DataError(f"Kolom '{col}' ontbreekt; kolommen: {', '.join(map(str, df.columns))}.")
    keys = pd.DataFrame(
        {
            "region_code": df[region_col].astype(str).str.strip().astype("string"),
            "year": pd.to_numeric(df[year_col]).astype("int64"),
            "month": (pd.to_numeric(df[month_col]).astype("Int64") if month_col else pd.Series(pd.NA, index=df.index, dtype="Int64")),
        }
    )
    wanted = keys.drop_duplicates().reset_index(drop=True)
    result = _lookup(con, wanted, measure, monthly=month_col is not None)
    result["requested_month"] = result["requested_month"].astype("Int64")
    result["requested_year"] = result["requested_year"].astype("int64")
    result["region_code"] = result["region_code"].astype("string")
    merged = keys.merge(
        result,
        left_on=["region_code", "year", "month"],
        right_on=["region_code", "requested_year", "requested_month"],
        how="left",
        validate="many_to_one",
    )
    out = df.copy()

    def column(values: pd.Series, dtype: str | None = None) -> pd.Series:
        values = values.astype(dtype) if dtype else values
        return pd.Series(values.array, index=out.index)

    out[prefix] = column(merged["value"], "float64")
    out[f"{prefix}_year"] = column(merged["year_used"], "Int64")
    if month_col:
        out[f"{prefix}_month"] = column(merged["month_used"], "Int64")
    out[f"{prefix}_status"] = column(merged["status"].fillna(STATUS_MISSING), "string")
    out[f"{prefix}_flag"] = out[f"{prefix}_status"] != STATUS_OWN
    out[f"{prefix}_source_table"] = column(merged["source_table"], "string")
    out[f"{prefix}_vintage"] = column(merged["vintage"], "string")
    # Which codes of the year's layout were added (police layout) and, when missing, why.
    out[f"{prefix}_parts"] = column(merged["parts"], "string")
    out[f"{prefix}_reason"] = column(merged["reason"].fillna(""), "string")
    _report(result.rename(columns={"requested_year": "year"}), measure)
    return out


def _report(result: pd.DataFrame, measure: str) -> None:
    missing = result[result["status"] == STATUS_MISSING]
    if len(missing):
        sample = ", ".join(f"{r.region_code} {r.year}" for r in missing.head(8).itertuples())
        log.warning("Noemer '%s' ontbreekt voor %d regio/jaar-combinatie(s): %s", measure, len(missing), sample)
    latest = result[result["status"] == STATUS_LATEST]
    if len(latest):
        years = sorted(set(int(y) for y in latest["year_used"].dropna()))
        log.info("Noemer '%s': voor %d combinatie(s) is het laatst gepubliceerde jaar gebruikt (%s)", measure, len(latest), years)
