"""Reading the warehouse for analysis: one place that selects facts and their metadata.

Analysis functions take the DataFrames these return; they never open the warehouse themselves.
Every series comes with a :class:`DataInfo`: source table, vintage, months covered, provisional
months, suppressed cells and whether the figures are synthetic — a figure never travels
without it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

import duckdb
import pandas as pd

from veiligheidsbeeld.errors import ConfigError, DataError


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
    info = con.execute(
        "SELECT title, modified, vintage, synthetic FROM table_infos WHERE table_id = $t", {"t": table_id}
    ).fetchone()
    if info is None:
        raise DataError(f"Tabel {table_id} staat niet in het warehouse. Draai eerst 'veiligheidsbeeld ingest'.")
    title, modified, vintage, synthetic = info
    where, params = _where(table_id, region_codes, type_codes, first, last)
    first_m, last_m, suppressed = con.execute(
        f"SELECT min(month), max(month), count(*) FILTER (WHERE suppressed) FROM facts_monthly f WHERE {where}", params
    ).fetchone()
    provisional = tuple(
        r[0] for r in con.execute(
            f"SELECT DISTINCT month FROM facts_monthly f WHERE {where} AND provisional ORDER BY 1", params
        ).fetchall()
    )
    present = {r[0] for r in con.execute(f"SELECT DISTINCT month FROM facts_monthly f WHERE {where}", params).fetchall()}
    missing: tuple[date, ...] = ()
    if first_m is not None:
        expected = pd.date_range(first or first_m, last or last_m, freq="MS").date
        missing = tuple(m for m in expected if m not in present)
    return DataInfo(table_id, title or table_id, vintage, modified or "", bool(synthetic), first_m, last_m,
                    provisional, missing, int(suppressed or 0))


def _where(table_id: str, region_codes: Sequence[str] | None, type_codes: Sequence[str] | None,
           first: date | None, last: date | None) -> tuple[str, dict]:
    # Only fixed column names are written into the text; all values are bound parameters.
    clauses = ["f.table_id = $table_id"]
    params: dict = {"table_id": table_id}
    if region_codes is not None:
        clauses.append("list_contains($regions, f.region_code)")
        params["regions"] = list(region_codes)
    if type_codes is not None:
        clauses.append("list_contains($types, f.type_code)")
        params["types"] = list(type_codes)
    if first is not None:
        clauses.append("f.month >= $first")
        params["first"] = first
    if last is not None:
        clauses.append("f.month <= $last")
        params["last"] = last
    return " AND ".join(clauses), params


def monthly_counts(con: duckdb.DuckDBPyConnection, table_id: str, *, region_codes: Sequence[str] | None = None,
                   type_codes: Sequence[str] | None = None, first: date | None = None,
                   last: date | None = None) -> pd.DataFrame:
    """Facts as a tidy frame: region_code, type_code, month, count (NaN = suppressed), suppressed, provisional."""
    where, params = _where(table_id, region_codes, type_codes, first, last)
    frame = con.execute(
        "SELECT f.region_code, f.type_code, f.month, f.count, f.suppressed, f.provisional "
        f"FROM facts_monthly f WHERE {where} ORDER BY f.region_code, f.type_code, f.month",
        params,
    ).df()
    frame["month"] = pd.to_datetime(frame["month"]).dt.date
    frame["count"] = frame["count"].astype("float64")  # NaN for suppressed cells, never 0
    return frame


def yearly_counts(con: duckdb.DuckDBPyConnection, table_id: str, *, region_codes: Sequence[str],
                  type_codes: Sequence[str], years: Sequence[int]) -> pd.DataFrame:
    """Published year rows (JJ00) of a table as a tidy frame: region_code, type_code, year, count
    (NaN = suppressed), suppressed. For the yearly table 47025NED; never add these to monthly sums."""
    frame = con.execute(
        "SELECT region_code, type_code, year, count, suppressed FROM facts_yearly_reported "
        "WHERE table_id = $t AND list_contains($regions, region_code) AND list_contains($types, type_code) "
        "AND list_contains($years, year) ORDER BY region_code, type_code, year",
        {"t": table_id, "regions": list(region_codes), "types": list(type_codes), "years": [int(y) for y in years]},
    ).df()
    frame["count"] = frame["count"].astype("float64")
    return frame


def available_months(con: duckdb.DuckDBPyConnection, table_id: str) -> list[date]:
    rows = con.execute(
        "SELECT DISTINCT month FROM facts_monthly WHERE table_id = $t ORDER BY 1", {"t": table_id}
    ).fetchall()
    return [r[0] for r in rows]


def regions(con: duckdb.DuckDBPyConnection, level: str | None = None) -> pd.DataFrame:
    if level is None:
        return con.execute("SELECT * FROM regions ORDER BY code").df()
    return con.execute("SELECT * FROM regions WHERE level = $l ORDER BY code", {"l": level}).df()


def check_type_codes(con: duckdb.DuckDBPyConnection, table_id: str, codes: Sequence[str]) -> None:
    """Unknown crime/overlast codes give an error listing the valid ones."""
    valid = [r[0] for r in con.execute(
        "SELECT code FROM offence_types WHERE table_id = $t ORDER BY code", {"t": table_id}
    ).fetchall()]
    unknown = [c for c in codes if c not in valid]
    if unknown:
        raise ConfigError(f"Onbekende code(s) {', '.join(unknown)} voor tabel {table_id}. Geldig: {', '.join(valid)}.")


def group_month_counts(con: duckdb.DuckDBPyConnection, table_id: str, groups: Mapping[str, Sequence[str]],
                       regions_per_group: Mapping[str, Sequence[str]], first: date, last: date) -> pd.DataFrame:
    """Monthly counts per region and group, summed in DuckDB on the complete grid (SQL:
    ``analysis.sql``, ``group_month_counts``).

    ``groups``: label -> its (leaf) codes; ``regions_per_group``: label -> the regions to count it
    for. Rows in the order of ``regions_per_group`` (group, then region), then month. Columns:
    ``region_code``, ``group``, ``month`` (date), ``count_known``, ``n_suppressed``, ``n_missing``;
    the same figures as :func:`veiligheidsbeeld.analysis.woninginbraak.group_counts` on the facts.
    """
    from veiligheidsbeeld.warehouse.sql import query

    cell_regions, cell_groups = [], []
    for label, codes in regions_per_group.items():
        cell_regions += [str(c) for c in codes]
        cell_groups += [label] * len(codes)
    code_groups = [label for label, codes in groups.items() for _ in codes]
    code_types = [str(c) for codes in groups.values() for c in codes]
    frame = con.execute(query("analysis.sql", "group_month_counts"), {
        "table_id": table_id, "cell_regions": cell_regions, "cell_groups": cell_groups,
        "cell_order": list(range(len(cell_regions))), "code_groups": code_groups, "code_types": code_types,
        "first": first, "last": last,
    }).df()
    frame["month"] = pd.to_datetime(frame["month"]).dt.date
    return frame
