"""Loading districts, gemeente lineage, denominators and boundaries into the warehouse, and
looking denominators up for figures.

Every load runs in one transaction and replaces what it loads (the districts of one eenheid and
layout year, the whole lineage, all rows of the denominator tables given, the boundaries of one
level and layout year): loading the same input twice gives the same warehouse, and a failed load
leaves the previous state untouched.

A denominator is looked up for the figure's own year. For a year after the last published one
the last published figure is used and flagged (``laatst_beschikbaar``); anything else without a
figure is reported as missing (NaN, ``ontbreekt``) — never 0 and never silently another year.
"""

from __future__ import annotations

import logging
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
from veiligheidsbeeld.regions import DISTRICT_COLUMNS, LINEAGE_COLUMNS, RegionsOverview
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


def ensure_geography_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the geography tables (the warehouse writer does this too, via extensions.py)."""
    con.execute(query(SQL_FILE, "schema"))


@contextmanager
def _staged(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame) -> Iterator[None]:
    con.register(STAGED, frame)
    try:
        yield
    finally:
        con.unregister(STAGED)


def _transaction(con: duckdb.DuckDBPyConnection, what: str, work: Callable[[], T]) -> T:
    ensure_geography_schema(con)
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


def _lookup(con: duckdb.DuckDBPyConnection, wanted: pd.DataFrame, measure: str, monthly: bool) -> pd.DataFrame:
    known = con.execute("SELECT count(*) FROM denominators WHERE measure = $measure", {"measure": measure}).fetchall()[0]
    if not known or known[0] == 0:
        measures = [r[0] for r in con.execute("SELECT DISTINCT measure FROM denominators ORDER BY 1").fetchall()]
        log.warning("Noemer '%s' staat niet in het warehouse (wel: %s)", measure, ", ".join(measures) or "geen")
    with _staged(con, wanted):
        return con.execute(query(SQL_FILE, "denominator_lookup"), {"measure": measure, "monthly": monthly}).df()


def denominator_for(
    con: duckdb.DuckDBPyConnection,
    region_codes: Iterable[str],
    year: int,
    measure: str,
    *,
    month: int | None = None,
) -> pd.DataFrame:
    """One row per region: value, year_used, status (eigen_jaar / laatst_beschikbaar / ontbreekt),
    flag (True when the value is not the figure's own period or is missing), source_table, vintage."""
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
    ``<prefix>_vintage``. Missing denominators are NaN with status 'ontbreekt'."""
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


# --------------------------------------------------------------------------------------------
# Region check for the CLI
# --------------------------------------------------------------------------------------------


def police_region_codes(con: duckdb.DuckDBPyConnection) -> list[str] | None:
    """The region codes of the loaded police facts, or None when there are none yet."""
    try:
        codes = [r[0] for r in con.execute(query(SQL_FILE, "police_region_codes")).fetchall()]
    except duckdb.CatalogException:
        return None
    return codes or None


def regions_overview_for_warehouse(con: duckdb.DuckDBPyConnection | None, area: AreaSettings | None = None) -> RegionsOverview:
    """The overview ``veiligheidsbeeld regions`` prints, checked against the loaded police data."""
    codes = police_region_codes(con) if con is not None else None
    return regions.regions_overview(area, codes)
