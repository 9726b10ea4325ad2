"""The load of raw police vintages: which vintage wins which cell, streamed without de-duplication.

Small hand-built raw archives (two gemeente groups, a full pull and an incremental pull that
revises the last months), loaded into an in-memory DuckDB warehouse.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from veiligheidsbeeld.config import OVERLAST
from veiligheidsbeeld.errors import DataError, SchemaDriftError
from veiligheidsbeeld.sources.raw_archive import RAW_SCHEMA, PartitionRecord, RawArchive, VintageManifest, sha256_file
from veiligheidsbeeld.warehouse import db
from veiligheidsbeeld.warehouse.load import load_police_table, owned_partitions

TABLE = OVERLAST.table_id
REGIONS = {"GM0150": ["GM0150    ", "WK015001  "], "GM0153": ["GM0153    "]}
CODES = ["0.0.0   ", "E35     "]
MONTHS_2023 = [f"2023MM{m:02d}" for m in range(1, 13)]


def _cells(regions: list[str], periods: list[str], value) -> pa.Table:
    rows = [(r, c, p, value(r, c, p)) for r in regions for c in CODES for p in periods]
    return pa.Table.from_pylist(
        [dict(zip(["region_key", "type_key", "period_key", "value"], row)) for row in rows], schema=RAW_SCHEMA
    )


def _vintage(archive: RawArchive, vintage: str, kind: str, periods: list[str], value, *, duplicates: int | None = 0,
             extra_rows: pa.Table | None = None) -> VintageManifest:
    manifest = VintageManifest(
        table_id=TABLE, vintage=vintage, modified=f"{vintage[:4]}-{vintage[4:6]}-{vintage[6:8]}T00:00:00",
        source="test", kind=kind, started_at="2024-01-01T00:00:00+00:00",
        columns={"region_key": OVERLAST.region_dimension, "type_key": OVERLAST.type_dimension,
                 "period_key": OVERLAST.period_dimension, "value": OVERLAST.measure},
    )
    for group, regions in REGIONS.items():
        table = _cells(regions, periods, value)
        if extra_rows is not None and group == "GM0153":
            table = pa.concat_tables([table, extra_rows])
        name = f"{group}_2023"
        path = archive.partition_path(TABLE, vintage, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, path)
        manifest.partitions[name] = PartitionRecord(
            f"partitions/{name}.parquet", table.num_rows, sha256_file(path), "t", [p.strip() for p in periods],
            len(regions), duplicates=duplicates,
        )
    manifest.complete = True
    archive.save_manifest(manifest)
    all_periods = [{"Key": "2023JJ00", "Title": "2023", "Status": "Voorlopig"}] + [
        {"Key": p, "Title": p, "Status": "Voorlopig"} for p in MONTHS_2023
    ]
    archive.save_entity(TABLE, vintage, OVERLAST.period_dimension, all_periods)
    archive.save_entity(TABLE, vintage, OVERLAST.type_dimension, [{"Key": c, "Title": c.strip()} for c in CODES])
    archive.save_entity(TABLE, vintage, OVERLAST.region_dimension, [
        {"Key": r, "Title": r.strip(), "Municipality": g} for g, rs in REGIONS.items() for r in rs
    ])
    archive.save_entity(TABLE, vintage, "TableInfos", [{"Title": "SYNTHETISCH test", "Modified": manifest.modified}])
    return manifest


def _facts(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str, date], tuple[int | None, str]]:
    rows = con.execute("SELECT region_code, type_code, month, count, vintage FROM facts_monthly").fetchall()
    return {(r, t, m): (v, vin) for r, t, m, v, vin in rows}


@pytest.fixture()
def con(tmp_path: Path):
    with db.writer(tmp_path / "wh.duckdb") as connection:
        yield connection


def test_newest_vintage_wins_per_group_and_period_and_old_months_stay(tmp_path, con):
    archive = RawArchive(tmp_path / "raw")
    _vintage(archive, "20240101", "full", ["2023JJ00", *MONTHS_2023], lambda r, c, p: 10)
    # The incremental pull revised Nov and Dec only; its partitions hold just those two months.
    _vintage(archive, "20240201", "incremental", ["2023MM11", "2023MM12"], lambda r, c, p: 20)
    summary = load_police_table(con, archive, OVERLAST)
    facts = _facts(con)
    assert summary.rows == len(facts) == 3 * 2 * 12  # three regions, two codes, twelve months: each once
    assert facts[("WK015001", "E35", date(2023, 10, 1))] == (10, "20240101")
    assert facts[("WK015001", "E35", date(2023, 11, 1))] == (20, "20240201")
    assert facts[("GM0153", "0.0.0", date(2023, 12, 1))] == (20, "20240201")
    years = con.execute("SELECT count(*), min(count), max(vintage) FROM facts_yearly_reported").fetchone()
    assert years == (6, 10, "20240101")  # year rows kept apart, from the vintage that had them


def test_files_that_win_nothing_are_not_read(tmp_path):
    archive = RawArchive(tmp_path / "raw")
    full = _vintage(archive, "20240101", "full", MONTHS_2023, lambda r, c, p: 1)
    _vintage(archive, "20240201", "full", MONTHS_2023, lambda r, c, p: 2)
    owned = owned_partitions(archive, [full, archive.manifest(TABLE, "20240201")])
    assert {p.vintage for p in owned} == {"20240201"}
    assert all(p.periods == frozenset(MONTHS_2023) for p in owned)


def test_a_reload_gives_the_same_warehouse(tmp_path, con):
    archive = RawArchive(tmp_path / "raw")
    _vintage(archive, "20240101", "full", MONTHS_2023, lambda r, c, p: len(r) + int(p[-2:]))
    load_police_table(con, archive, OVERLAST)
    first = _facts(con)
    load_police_table(con, archive, OVERLAST)
    assert _facts(con) == first


def test_null_is_kept_as_suppressed_not_zero(tmp_path, con):
    archive = RawArchive(tmp_path / "raw")
    _vintage(archive, "20240101", "full", MONTHS_2023, lambda r, c, p: None if r.startswith("WK") else 3)
    load_police_table(con, archive, OVERLAST)
    got = con.execute("SELECT count(*) FILTER (WHERE count IS NULL AND suppressed), "
                      "count(*) FILTER (WHERE count = 0) FROM facts_monthly").fetchone()
    assert got == (2 * 12, 0)


def test_rows_of_a_period_the_table_does_not_list_load_nothing(tmp_path, con):
    archive = RawArchive(tmp_path / "raw")
    stray = _cells(["GM0153    "], ["2024MM01"], lambda r, c, p: 5)
    _vintage(archive, "20240101", "full", MONTHS_2023, lambda r, c, p: 1, extra_rows=stray)
    with pytest.raises(SchemaDriftError, match="2024MM01 staan in de gegevens maar niet in de periodelijst"):
        load_police_table(con, archive, OVERLAST)
    assert con.execute("SELECT count(*) FROM facts_monthly").fetchone()[0] == 0


def test_an_older_file_with_repeated_cells_is_refused_with_what_to_do(tmp_path, con):
    # Written before the pull checked for repeats (duplicates=None): the load checks it itself.
    archive = RawArchive(tmp_path / "raw")
    twice = _cells(["GM0153    "], ["2023MM01"], lambda r, c, p: 1)
    _vintage(archive, "20240101", "full", MONTHS_2023, lambda r, c, p: 1, duplicates=None, extra_rows=twice)
    with pytest.raises(DataError, match=r"GM0153_2023\.parquet bevat rijen die dubbel voorkomen.*Verwijder de map"):
        load_police_table(con, archive, OVERLAST)


def test_an_older_file_without_repeats_loads(tmp_path, con):
    archive = RawArchive(tmp_path / "raw")
    _vintage(archive, "20240101", "full", MONTHS_2023, lambda r, c, p: 4, duplicates=None)
    assert load_police_table(con, archive, OVERLAST).rows == 3 * 2 * 12
