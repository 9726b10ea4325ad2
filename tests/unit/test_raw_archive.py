"""The raw landing zone: vintage names, atomic writes, manifests, chunked filters."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from veiligheidsbeeld.errors import SchemaDriftError, SourceError
from veiligheidsbeeld.sources.odata import RowFilter, SnapshotSource, _type_untyped
from veiligheidsbeeld.sources.raw_archive import (
    RAW_SCHEMA,
    PartitionRecord,
    RawArchive,
    VintageManifest,
    iter_chunks,
    vintage_from_modified,
)


def _batch(n: int, start: int = 0, values: list[int | None] | None = None) -> pa.RecordBatch:
    """n cells of one region and code, months start+1 … start+n (each cell once)."""
    months = [f"2023MM{start + i + 1:02d}" for i in range(n)]
    return pa.RecordBatch.from_arrays(
        [pa.array(["GM0153    "] * n), pa.array(["1.1.1 "] * n), pa.array(months),
         pa.array(values if values is not None else [start + i for i in range(n)], pa.int64())],
        schema=RAW_SCHEMA,
    )


def test_partition_names_say_their_group_and_years():
    from veiligheidsbeeld.sources.raw_archive import partition_group, partition_name, spans_years

    assert partition_name("GM0193", 2023, 2023) == "GM0193_2023" and not spans_years("GM0193_2023")
    assert partition_name("NL00", 2012, 2023) == "NL00_2012-2023" and spans_years("NL00_2012-2023")
    assert partition_group("NL00_2012-2023") == "NL00" and partition_group("GM0193_2023") == "GM0193"


def test_vintage_from_modified_is_sortable_and_safe():
    assert vintage_from_modified("2024-03-28T02:00:00") == "20240328T020000"
    assert vintage_from_modified("2024-03-28T02:00:00.123+01:00") == "20240328T020000"
    assert vintage_from_modified("2023-12-01T00:00:00") < vintage_from_modified("2024-01-05T00:00:00")
    with pytest.raises(SourceError, match="Modified"):
        vintage_from_modified("gisteren")


def test_partition_write_is_atomic_and_checksummed(tmp_path: Path):
    archive = RawArchive(tmp_path)
    rows, checksum, duplicates = archive.write_partition(
        "47022NED", "20240328T020000", "GM0153_2023", iter([_batch(3), _batch(2, start=3)])
    )
    path = archive.partition_path("47022NED", "20240328T020000", "GM0153_2023")
    assert rows == 5 and duplicates == 0 and pq.read_table(path).num_rows == 5
    assert len(checksum) == 64

    def broken():
        yield _batch(3)
        raise ConnectionError("verbinding verbroken midden in een pagina")

    with pytest.raises(ConnectionError):
        archive.write_partition("47022NED", "20240328T020000", "GM0164_2023", broken())
    # Nothing half-written: neither the target nor a temporary file is left behind.
    assert not archive.partition_path("47022NED", "20240328T020000", "GM0164_2023").exists()
    assert list(path.parent.glob(".*.tmp")) == []
    # The earlier partition is untouched.
    assert pq.read_table(path).num_rows == 5


def test_failed_overwrite_keeps_previous_file(tmp_path: Path):
    archive = RawArchive(tmp_path)
    archive.write_partition("47022NED", "v1", "p", iter([_batch(4)]))
    path = archive.partition_path("47022NED", "v1", "p")

    def broken():
        yield _batch(1)
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        archive.write_partition("47022NED", "v1", "p", broken())
    assert pq.read_table(path).num_rows == 4


def test_a_page_served_twice_is_collapsed_and_counted(tmp_path: Path):
    # A feed that repeats a page (overlapping nextLinks) must not double the counts.
    archive = RawArchive(tmp_path)
    rows, _, duplicates = archive.write_partition(
        "47022NED", "v1", "GM0153_2023", iter([_batch(3), _batch(3), _batch(2, start=3, values=[None, 7])])
    )
    table = pq.read_table(archive.partition_path("47022NED", "v1", "GM0153_2023")).sort_by("period_key")
    assert (rows, duplicates) == (5, 3)
    assert table["period_key"].to_pylist() == [f"2023MM{m:02d}" for m in range(1, 6)]
    assert table["value"].to_pylist() == [0, 1, 2, None, 7]


@pytest.mark.parametrize("twin", [[0, 99, 2], [0, None, 2]], ids=["other value", "value and null"])
def test_a_cell_served_with_two_values_is_refused_and_nothing_written(tmp_path: Path, twin):
    archive = RawArchive(tmp_path)
    with pytest.raises(SchemaDriftError, match=r"GM0153_2023: 1 cellen komen meermaals voor met verschillende waarden"):
        archive.write_partition("47022NED", "v1", "GM0153_2023", iter([_batch(3), _batch(3, values=twin)]))
    path = archive.partition_path("47022NED", "v1", "GM0153_2023")
    assert not path.exists() and list(path.parent.glob(".*.tmp")) == []


def _grouped_distinct(table: pa.Table) -> bool:
    return table.group_by(["region_key", "type_key", "period_key"]).aggregate([([], "count_all")]).num_rows == table.num_rows


@pytest.mark.parametrize("bitmap_cells", [1 << 24, 1])  # the bitmap, and sorting for big key spaces
def test_distinct_cells_check_agrees_with_grouping(monkeypatch, bitmap_cells):
    import numpy as np

    from veiligheidsbeeld.sources import raw_archive

    monkeypatch.setattr(raw_archive, "_BITMAP_CELLS", bitmap_cells)
    rng = np.random.default_rng(7)
    regions = [f"BU0153{i:04d}" for i in range(40)]
    types = ["0.0.0 ", "1.1.1 ", "1.2.1 "]
    months = [f"2023MM{m:02d}" for m in range(1, 13)]
    full = pa.table(
        [pa.array([r for r in regions for _ in types for _ in months]),
         pa.array([t for _ in regions for t in types for _ in months]),
         pa.array([m for _ in regions for _ in types for m in months]),
         pa.array(rng.integers(0, 9, len(regions) * len(types) * len(months)), pa.int64())],
        schema=RAW_SCHEMA,
    )
    sample = full.take(rng.permutation(full.num_rows)[:1000])  # distinct, in any order
    assert raw_archive._cells_are_distinct(sample) and _grouped_distinct(sample)
    # One cell twice, far apart: caught.
    twice = pa.concat_tables([sample, sample.slice(500, 1)])
    assert not raw_archive._cells_are_distinct(twice) and not _grouped_distinct(twice)
    # Cells that share two of three keys are different cells.
    three = full.filter(pa.compute.equal(full["region_key"], regions[0]))
    assert raw_archive._cells_are_distinct(three)
    # A NULL key is left to the grouping, which decides.
    with_null = pa.concat_tables([sample.slice(0, 5), pa.table(
        [pa.array([None], pa.string()), pa.array(["1.1.1 "]), pa.array(["2023MM01"]), pa.array([1])], schema=RAW_SCHEMA)])
    assert not raw_archive._cells_are_distinct(with_null)
    assert raw_archive.unique_cells(with_null, "x") is None
    assert raw_archive._cells_are_distinct(sample.slice(0, 0))


def test_manifest_roundtrip_and_partition_verification(tmp_path: Path):
    archive = RawArchive(tmp_path)
    rows, checksum, _ = archive.write_partition("47024NED", "v1", "NL00_2013", iter([_batch(2)]))
    manifest = VintageManifest(
        table_id="47024NED", vintage="v1", modified="2024-03-28T02:00:00", source="test", kind="full",
        started_at="2024-01-01T00:00:00+00:00", columns={"region_key": "WijkenEnBuurten"},
    )
    manifest.partitions["NL00_2013"] = PartitionRecord("partitions/NL00_2013.parquet", rows, checksum, "t", ["2013MM01"], 1)
    archive.save_manifest(manifest)
    again = archive.manifests("47024NED")[0]
    assert again.partitions["NL00_2013"].rows == 2
    assert again.checksum() == manifest.checksum()
    assert archive.partition_ok(again, "NL00_2013")
    # A file changed behind our back no longer counts as done.
    archive.partition_path("47024NED", "v1", "NL00_2013").write_bytes(b"not parquet")
    assert not archive.partition_ok(again, "NL00_2013")


def test_corrupt_manifest_is_reported_with_its_path(tmp_path: Path):
    directory = tmp_path / "47024NED" / "v1"
    directory.mkdir(parents=True)
    (directory / "provenance.json").write_text("{not json")
    with pytest.raises(SourceError, match="provenance.json"):
        RawArchive(tmp_path).manifests("47024NED")


def test_iter_chunks_bounds_url_length():
    keys = [f"BU0153{i:04d}" for i in range(500)]
    chunks = list(iter_chunks(keys, max_chars=2000, overhead=30))
    assert [k for c in chunks for k in c] == keys
    assert all(sum(len(k) * 3 + 30 for k in c) <= 2000 for c in chunks)
    assert len(chunks) > 1


def test_row_filter_renders_enumerated_odata_and_matches_locally():
    f = RowFilter({"WijkenEnBuurten": ("GM0153    ", "WK015300  "), "Perioden": ("2023MM01",)})
    assert f.to_odata() == (
        "(WijkenEnBuurten eq 'GM0153    ' or WijkenEnBuurten eq 'WK015300  ') and (Perioden eq '2023MM01')"
    )
    assert f.matches({"WijkenEnBuurten": "WK015300  ", "Perioden": "2023MM01"})
    assert not f.matches({"WijkenEnBuurten": "WK015300", "Perioden": "2023MM01"})  # padding matters
    assert RowFilter({"Naam": ("'s-Hertogenbosch",)}).to_odata() == "(Naam eq '''s-Hertogenbosch')"


def test_untyped_values_become_numbers_and_suppressed_none():
    row = {"ID": 1, "Perioden": "2023MM01", "GeregistreerdeMisdrijven_1": "      12", "X": "       ."}
    assert _type_untyped(row) == {"ID": 1, "Perioden": "2023MM01", "GeregistreerdeMisdrijven_1": 12, "X": None}


def test_snapshot_source_errors_name_the_missing_file(tmp_path: Path):
    (tmp_path / "47022NED").mkdir()
    (tmp_path / "47022NED" / "TableInfos.json").write_text(json.dumps([{"Identifier": "47022NED", "Modified": "2024-01-01T00:00:00"}]))
    source = SnapshotSource(tmp_path)
    with pytest.raises(SourceError, match="DataProperties.json"):
        source.entity("47022NED", "DataProperties")
    with pytest.raises(SourceError, match="TypedDataSet.json"):
        list(source.iter_pages("47022NED"))
    (tmp_path / "47022NED" / "TypedDataSet.json").write_text('[{"ID": 0, "Perioden": "2023')
    with pytest.raises(SourceError, match="geen geldige JSON"):
        list(source.iter_pages("47022NED"))


def test_snapshot_of_another_table_is_refused(tmp_path: Path):
    (tmp_path / "47022NED").mkdir()
    (tmp_path / "47022NED" / "TableInfos.json").write_text(json.dumps([{"Identifier": "47024NED"}]))
    with pytest.raises(SourceError, match="47024NED"):
        SnapshotSource(tmp_path).entity("47022NED", "TableInfos")


def test_warehouse_memory_limit_is_applied_and_validated(tmp_path: Path):
    from veiligheidsbeeld.errors import WarehouseError
    from veiligheidsbeeld.warehouse import db

    with db.writer(tmp_path / "wh.duckdb", memory_limit="512MB") as con:
        limit = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    assert limit.replace(" ", "") in ("512.0MB", "488.2MiB", "512MB")
    with pytest.raises(WarehouseError, match="warehouse_memory_limit"):
        with db.writer(tmp_path / "wh.duckdb", memory_limit="veel'; DROP TABLE x; --"):
            pass
