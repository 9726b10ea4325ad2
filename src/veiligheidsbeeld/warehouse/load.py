"""Loading raw police vintages into the warehouse, in one transaction per table.

The facts are rebuilt from the raw archive every time (per region group and period the newest
vintage that fetched it wins), so a reload of the same vintages gives the same warehouse
(idempotent) and an interrupted load leaves the previous state untouched (the transaction is
rolled back). Which file wins which period is decided from the manifests before any row is read
(`owned_periods`); the rows are then streamed from Parquet into the facts (load_police.sql).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow.parquet as pq

from veiligheidsbeeld.config import PoliceTable
from veiligheidsbeeld.errors import DataError, SchemaDriftError, WarehouseError
from veiligheidsbeeld.analysis.periods import add_months
from veiligheidsbeeld.regions import gemeente_of
from veiligheidsbeeld.sources.politie import month_of_key, year_of_key
from veiligheidsbeeld.sources.raw_archive import RawArchive, VintageManifest, partition_group, unique_cells
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
        # A yearly table (no months) has its last year provisional.
        months = [m for m in frame["month"] if m is not None]
        last = max(months) if months else date(int(frame["year"].max()), 12, 1)
        cutoff = add_months(last, -(provisional_months - 1))
        frame["provisional"] = [
            (m is not None and m >= cutoff) or (m is None and y >= cutoff.year)
            for m, y in zip(frame["month"], frame["year"])
        ]
    frame["month"] = pd.to_datetime(frame["month"])
    frame["vintage"] = vintage
    return frame[["table_id", "period_key", "title", "status", "month", "year", "provisional", "vintage"]]


@dataclass(frozen=True)
class OwnedPartition:
    """A partition file and the periods for which it holds the newest vintage of its region group."""

    path: str
    vintage: str
    periods: frozenset[str]
    checked_unique: bool  # its cells were checked to occur once when it was written


def owned_partitions(archive: RawArchive, used: list[VintageManifest]) -> list[OwnedPartition]:
    """Per (region group, period) the newest vintage that fetched it; files that win nothing are left out.

    A partition is a region group × one or more years (``GM0193_2023``, ``NL00_2012-2023``); an
    incremental pull fetches the same groups for the new months and the revision window, so its
    partition of a year may hold only some of that year's periods. Groups of one vintage never overlap.
    """
    owner: dict[tuple[str, str], tuple[int, str]] = {}
    for index, manifest in enumerate(used):  # oldest first: later vintages overwrite
        for name, record in manifest.partitions.items():
            for period in record.periods:
                owner[(partition_group(name), period)] = (index, name)
    won: dict[tuple[int, str], set[str]] = {}
    for (_, period), key in owner.items():
        won.setdefault(key, set()).add(period)
    out = []
    for index, manifest in enumerate(used):
        base = archive.vintage_dir(manifest.table_id, manifest.vintage)
        for name in sorted(manifest.partitions):
            periods = won.get((index, name))
            if not periods:
                continue
            record = manifest.partitions[name]
            path = base / record.file
            if not path.is_file():
                raise DataError(f"Partitiebestand {path} ontbreekt; draai 'veiligheidsbeeld ingest' opnieuw.")
            out.append(OwnedPartition(str(path), manifest.vintage, frozenset(periods), record.duplicates is not None))
    return out


def check_unique_cells(partition: OwnedPartition) -> None:
    """Files written before the pull checked for repeated cells are checked here, one at a time."""
    if partition.checked_unique:
        return
    if unique_cells(pq.read_table(partition.path), f"partitie {partition.path}") is not None:
        raise DataError(
            f"Partitie {partition.path} bevat rijen die dubbel voorkomen (geschreven door een oudere versie "
            f"van veiligheidsbeeld). Verwijder de map {Path(partition.path).parent.parent} en draai "
            "'veiligheidsbeeld ingest' opnieuw."
        )


def owned_periods_frame(
    con: duckdb.DuckDBPyConnection, partitions: list[OwnedPartition], table_id: str, known_periods: set[str]
) -> pd.DataFrame:
    """(filename, raw_period_key, period_key, vintage) for the periods each file wins.

    Refuses, before anything is written, rows of a period that the partition did not ask for or
    that the table's period list does not know (a source that ignored the filter, a schema change).
    """
    files = [p.path for p in partitions]
    served = con.execute(query("load_police.sql", "periods_in_files"), {"files": files}).df()
    asked: dict[str, OwnedPartition] = {p.path: p for p in partitions}
    rows = []
    unknown: set[str] = set()
    for filename, raw_key, key in served.itertuples(index=False):
        if not (month_of_key(key) or year_of_key(key)):
            continue  # quarters and other period kinds are not loaded
        if key not in known_periods:
            unknown.add(key)
            continue
        partition = asked[filename]
        if key in partition.periods:
            rows.append((filename, raw_key, key, partition.vintage))
    if unknown:
        raise SchemaDriftError(
            f"Tabel {table_id}: perioden {', '.join(sorted(unknown)[:5])} staan in de gegevens maar niet "
            "in de periodelijst; niets geladen."
        )
    return pd.DataFrame(rows, columns=["filename", "raw_period_key", "period_key", "vintage"])


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
    partitions = owned_partitions(archive, used)
    for partition in partitions:
        check_unique_cells(partition)
    files = [p.path for p in partitions]

    regions = regions_frame(archive.load_entity(spec.table_id, newest.vintage, spec.region_dimension), spec.table_id, newest.vintage)
    types = types_frame(archive.load_entity(spec.table_id, newest.vintage, spec.type_dimension), spec, newest.vintage)
    periods = periods_frame(
        archive.load_entity(spec.table_id, newest.vintage, spec.period_dimension), spec.table_id, newest.vintage,
        provisional_months,
    )
    params = {"table_id": spec.table_id}
    if files:
        owned = owned_periods_frame(con, partitions, spec.table_id, set(periods["period_key"]))
    else:
        owned = pd.DataFrame(columns=["filename", "raw_period_key", "period_key", "vintage"])

    con.execute("BEGIN TRANSACTION")
    try:
        con.register("owned_periods", owned)
        con.register("regions_new", regions)
        con.register("types_new", types)
        con.register("periods_new", periods)
        con.execute("DELETE FROM periods WHERE table_id = $table_id", params)
        con.execute("INSERT INTO periods SELECT * FROM periods_new")
        con.execute("DELETE FROM offence_types WHERE table_id = $table_id", params)
        con.execute("INSERT INTO offence_types SELECT * FROM types_new")
        if spec.yearly:
            # The yearly table's region list (RegioS: NL01, landsdelen, provinces, eenheden, every
            # gemeente) is not the regions of the reports: only its national code is added (the
            # monthly tables' lists, with wijken and buurten, stay the one region list).
            con.execute("INSERT OR IGNORE INTO regions SELECT * FROM regions_new WHERE code = $national",
                        {"national": spec.national_code})
        else:
            con.execute("INSERT OR REPLACE INTO regions SELECT * FROM regions_new")
        for name in ("delete_facts", "delete_year_rows"):
            con.execute(query("load_police.sql", name), params)
        if files:
            for name in ("insert_facts", "insert_year_rows"):
                con.execute(query("load_police.sql", name), {**params, "files": files})
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
        summary = "load_summary_yearly" if spec.yearly else "load_summary"
        rows, first, last, suppressed, provisional = con.execute(query("load_police.sql", summary), params).fetchone()
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
        for name in ("owned_periods", "regions_new", "types_new", "periods_new"):
            try:
                con.unregister(name)
            except duckdb.Error:
                pass
    return LoadSummary(spec.table_id, tuple(m.vintage for m in used), rows, first, last, suppressed, provisional)
