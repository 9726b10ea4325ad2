"""Loading raw police vintages into the warehouse, in one transaction per table.

The facts are rebuilt from the raw archive every time (newest vintage wins per cell), so a
reload of the same vintages gives the same warehouse (idempotent) and an interrupted load
leaves the previous state untouched (the transaction is rolled back).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb
import pandas as pd

from veiligheidsbeeld.config import PoliceTable
from veiligheidsbeeld.errors import DataError, SchemaDriftError, WarehouseError
from veiligheidsbeeld.analysis.periods import add_months
from veiligheidsbeeld.regions import gemeente_of
from veiligheidsbeeld.sources.politie import month_of_key, year_of_key
from veiligheidsbeeld.sources.raw_archive import RawArchive, VintageManifest
from veiligheidsbeeld.warehouse.sql import query

log = logging.getLogger(__name__)

PROVISIONAL_STATUSES = {"voorlopig", "nader voorlopig"}


@dataclass(frozen=True)
class LoadSummary:
    table_id: str
    vintages: tuple[str, ...]
    rows: int
    first_month: date | None
    last_month: date | None
    suppressed_cells: int
    provisional_months: int


def is_synthetic(infos: dict[str, Any]) -> bool:
    """Synthetic snapshots (demo, tests, benchmarks) carry 'SYNTHETISCH' in their TableInfos title."""
    return "SYNTHETISCH" in str(infos.get("Title") or "").upper() or bool(infos.get("Synthetic"))


def vintages_in_use(archive: RawArchive, table_id: str) -> list[VintageManifest]:
    """The newest complete full pull and the complete incremental pulls after it."""
    complete = [m for m in archive.manifests(table_id) if m.complete]
    fulls = [i for i, m in enumerate(complete) if m.kind == "full"]
    if not fulls:
        raise DataError(
            f"Er is nog geen volledige pull van tabel {table_id} in {archive.root}. Draai 'veiligheidsbeeld ingest'."
        )
    return complete[fulls[-1]:]


def _level(code: str) -> str:
    return code[:2] if code[:2] in ("GM", "WK", "BU") else "NL"


def regions_frame(rows: list[dict[str, Any]], table_id: str, vintage: str) -> pd.DataFrame:
    out = []
    for r in rows:
        code = str(r["Key"]).strip()
        level = _level(code)
        gemeente = gemeente_of(code, r.get("Municipality"))
        wijk = "WK" + code[2:8] if level == "BU" else None
        out.append(
            {
                "code": code,
                "name": str(r.get("Title") or code).strip(),
                "level": level,
                "gemeente_code": gemeente,
                "wijk_code": wijk,
                "raw_key": str(r["Key"]),
                "table_id": table_id,
                "vintage": vintage,
            }
        )
    return pd.DataFrame(out)


def types_frame(rows: list[dict[str, Any]], spec: PoliceTable, vintage: str) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "table_id": spec.table_id,
                "code": str(r["Key"]).strip(),
                "title": str(r.get("Title") or "").strip(),
                "description": (str(r["Description"]).strip() if r.get("Description") else None),
                "is_rollup": str(r["Key"]).strip() in spec.rollup_codes,
                "vintage": vintage,
            }
            for r in rows
        ]
    )


def periods_frame(rows: list[dict[str, Any]], table_id: str, vintage: str, provisional_months: int) -> pd.DataFrame:
    out = []
    for r in rows:
        key = str(r["Key"]).strip()
        month, year = month_of_key(key), year_of_key(key)
        if month is None and year is None:
            continue  # quarters and other period kinds are not loaded
        status = (str(r.get("Status")).strip() if r.get("Status") else None)
        out.append({"table_id": table_id, "period_key": key, "title": r.get("Title"), "status": status,
                    "month": month, "year": month.year if month else year})
    frame = pd.DataFrame(out)
    if frame.empty:
        raise SchemaDriftError(f"Tabel {table_id}: geen maand- of jaarperioden gevonden.")
    has_status = frame["status"].notna().any()
    if has_status:
        frame["provisional"] = frame["status"].fillna("").str.lower().isin(PROVISIONAL_STATUSES)
    else:
        # Without a published status, the last months are treated as provisional (they get revised).
        last = max(m for m in frame["month"] if m is not None)
        cutoff = add_months(last, -(provisional_months - 1))
        frame["provisional"] = [
            (m is not None and m >= cutoff) or (m is None and y >= cutoff.year)
            for m, y in zip(frame["month"], frame["year"])
        ]
    frame["month"] = pd.to_datetime(frame["month"])
    frame["vintage"] = vintage
    return frame[["table_id", "period_key", "title", "status", "month", "year", "provisional", "vintage"]]


def load_police_table(
    con: duckdb.DuckDBPyConnection,
    archive: RawArchive,
    spec: PoliceTable,
    *,
    provisional_months: int = 12,
) -> LoadSummary:
    used = vintages_in_use(archive, spec.table_id)
    newest = used[-1]
    for manifest in used:
        expected = {"region_key": spec.region_dimension, "type_key": spec.type_dimension,
                    "period_key": spec.period_dimension, "value": spec.measure}
        if manifest.columns != expected:
            raise SchemaDriftError(
                f"Vintage {manifest.vintage} van {spec.table_id} heeft kolommen {manifest.columns}, verwacht {expected}."
            )
    files: list[str] = []
    vintage_of: list[str] = []
    for manifest in used:
        for path in archive.partition_files(manifest):
            if not path.is_file():
                raise DataError(f"Partitiebestand {path} ontbreekt; draai 'veiligheidsbeeld ingest' opnieuw.")
            files.append(str(path))
            vintage_of.append(manifest.vintage)

    regions = regions_frame(archive.load_entity(spec.table_id, newest.vintage, spec.region_dimension), spec.table_id, newest.vintage)
    types = types_frame(archive.load_entity(spec.table_id, newest.vintage, spec.type_dimension), spec, newest.vintage)
    periods = periods_frame(
        archive.load_entity(spec.table_id, newest.vintage, spec.period_dimension), spec.table_id, newest.vintage,
        provisional_months,
    )
    file_vintages = pd.DataFrame({"filename": files, "vintage": vintage_of})
    params = {"table_id": spec.table_id}

    con.execute("BEGIN TRANSACTION")
    try:
        con.register("file_vintages", file_vintages)
        con.register("regions_new", regions)
        con.register("types_new", types)
        con.register("periods_new", periods)
        if files:
            con.execute(query("load_police.sql", "staging_latest"), {"files": files})
        else:
            con.execute(query("load_police.sql", "staging_empty"))
        conflicts = con.execute(query("load_police.sql", "conflicting_cells")).fetchone()[0]
        if conflicts:
            raise SchemaDriftError(
                f"Tabel {spec.table_id}: {conflicts} cellen komen meermaals voor met verschillende waarden "
                "binnen één vintage; niets geladen."
            )
        con.execute("DELETE FROM periods WHERE table_id = $table_id", params)
        con.execute("INSERT INTO periods SELECT * FROM periods_new")
        con.execute("DELETE FROM offence_types WHERE table_id = $table_id", params)
        con.execute("INSERT INTO offence_types SELECT * FROM types_new")
        con.execute("INSERT OR REPLACE INTO regions SELECT * FROM regions_new")
        unknown = [r[0] for r in con.execute(query("load_police.sql", "unknown_periods"), params).fetchall()]
        unknown = [k for k in unknown if month_of_key(k) or year_of_key(k)]
        if unknown:
            raise SchemaDriftError(
                f"Tabel {spec.table_id}: perioden {', '.join(sorted(unknown)[:5])} staan in de gegevens maar niet "
                "in de periodelijst; niets geladen."
            )
        for name in ("delete_facts", "insert_facts", "delete_year_rows", "insert_year_rows"):
            con.execute(query("load_police.sql", name), params)
        infos = archive.load_entity(spec.table_id, newest.vintage, "TableInfos")[0]
        title = str(infos.get("Title") or "")
        con.execute(
            "INSERT OR REPLACE INTO table_infos VALUES ($table_id, $title, $modified, $vintage, $synthetic)",
            {"table_id": spec.table_id, "title": title, "modified": newest.modified, "vintage": newest.vintage,
             "synthetic": is_synthetic(infos)},
        )
        con.execute("DELETE FROM pulls WHERE table_id = $table_id", params)
        for manifest in used:
            con.execute(
                "INSERT INTO pulls VALUES ($table_id, $vintage, $modified, $kind, $source, $started, $completed, "
                "$partitions, $rows, $checksum, $filters)",
                {
                    "table_id": spec.table_id, "vintage": manifest.vintage, "modified": manifest.modified,
                    "kind": manifest.kind, "source": manifest.source, "started": manifest.started_at,
                    "completed": manifest.completed_at, "partitions": len(manifest.partitions),
                    "rows": manifest.rows, "checksum": manifest.checksum(), "filters": json.dumps(manifest.filters),
                },
            )
        rows, first, last, suppressed, provisional = con.execute(query("load_police.sql", "load_summary"), params).fetchone()
        con.execute(
            "INSERT INTO loads VALUES ($table_id, now()::TIMESTAMP, $vintages, $rows, $first, $last, $suppressed, $provisional)",
            {"table_id": spec.table_id, "vintages": ",".join(m.vintage for m in used), "rows": rows,
             "first": first, "last": last, "suppressed": suppressed, "provisional": provisional},
        )
        con.execute("COMMIT")
    except BaseException as exc:
        con.execute("ROLLBACK")
        if isinstance(exc, duckdb.IOException):
            raise WarehouseError(f"Schrijven naar het warehouse mislukt ({exc}); er is niets gewijzigd.") from exc
        raise
    finally:
        for name in ("file_vintages", "regions_new", "types_new", "periods_new"):
            try:
                con.unregister(name)
            except duckdb.Error:
                pass
    return LoadSummary(spec.table_id, tuple(m.vintage for m in used), rows, first, last, suppressed, provisional)
