"""Schema versions without the previous release: new, empty, foreign, older and partial warehouses.

(The warehouse made by the previous release itself: tests/integration/test_migrations.py.)
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import duckdb
import pytest

from veiligheidsbeeld.errors import DataError, WarehouseError, WarehouseVersionError
from veiligheidsbeeld.warehouse import db, schema


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def objects(path: Path) -> set[str]:
    with duckdb.connect(str(path), read_only=True) as con:
        return set(schema.inspect(con).objects)


def test_migrations_are_numbered_without_gaps_and_described():
    found = schema.migrations()
    assert [m.version for m in found] == list(range(1, len(found) + 1))
    assert found[0].name == "0001_baseline.sql" and schema.latest_version() == len(found) >= 2
    assert all(m.description and not m.description.startswith("--") for m in found)
    # The baseline is also applied over warehouses made before schema versions: idempotent only.
    creates = re.findall(r"^CREATE\s+(?!TABLE IF NOT EXISTS|OR REPLACE VIEW|SEQUENCE IF NOT EXISTS)\S+",
                         found[0].sql, flags=re.MULTILINE)
    assert creates == []
    assert {"facts_monthly", "boundaries", "validation_results", "incident_records"} <= schema.baseline_tables()


def test_a_new_warehouse_gets_every_version_and_opens_for_readers(tmp_path):
    path = tmp_path / "w.duckdb"
    with db.writer(path) as con:
        history = schema.history(con)
    assert [v for v, _, _ in history] == [m.version for m in schema.migrations()]
    assert [d for _, _, d in history] == [m.description for m in schema.migrations()]
    with db.reader(path) as con:
        assert schema.inspect(con).current
        # Every table exists, so an empty one answers with no rows rather than an error.
        assert con.execute("SELECT count(*) FROM boundaries").fetchone() == (0,)
    assert db.upgrade(path).applied == ()
    assert "actueel" in db.upgrade(path).summary()


def test_upgrade_does_not_create_a_missing_warehouse(tmp_path):
    with pytest.raises(DataError, match="nog geen warehouse"):
        db.upgrade(tmp_path / "nergens.duckdb")
    assert not (tmp_path / "nergens.duckdb").exists()


@pytest.mark.parametrize("kind", ["empty", "foreign"])
def test_an_empty_or_foreign_file_is_not_a_warehouse_for_a_reader(tmp_path, kind):
    path = tmp_path / "ander.duckdb"
    with duckdb.connect(str(path)) as con:
        if kind == "foreign":
            con.execute("CREATE TABLE metingen (x INTEGER)")
    before = digest(path)
    with pytest.raises(WarehouseError, match=r"geen \(volledig\) warehouse van veiligheidsbeeld") as err, db.reader(path):
        pass
    assert ("metingen" in str(err.value)) == (kind == "foreign")
    assert digest(path) == before


def test_a_writer_refuses_a_foreign_file_and_writes_nothing(tmp_path):
    path = tmp_path / "ander.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE metingen (x INTEGER)")
    before = digest(path)
    with pytest.raises(WarehouseError, match="metingen"), db.writer(path):
        pytest.fail("opened a foreign file as warehouse")
    assert digest(path) == before and objects(path) == {"metingen"}


def test_an_older_version_is_named_by_a_reader_and_migrated_by_a_writer(tmp_path, monkeypatch):
    path = tmp_path / "w.duckdb"
    everything = schema.migrations()
    monkeypatch.setattr(schema, "migrations", lambda: everything[:1])
    with db.writer(path):
        pass
    monkeypatch.setattr(schema, "migrations", lambda: everything)
    with pytest.raises(WarehouseVersionError, match=f"heeft schemaversie 1; .* schemaversie {len(everything)}") as err, db.reader(path):
        pass
    assert f"'veiligheidsbeeld warehouse upgrade --warehouse {path}'" in str(err.value)
    done = db.upgrade(path)
    assert [m.version for m in done.applied] == [m.version for m in everything[1:]]
    assert (done.before.kind, done.before.version) == ("versioned", 1)
    with db.reader(path) as con:
        assert [v for v, _, _ in schema.history(con)] == [m.version for m in everything]


def test_a_warehouse_from_before_the_baseline_gets_the_tables_it_lacked(tmp_path):
    # The first releases had only the core tables (no validation, geography or incident tables).
    path = tmp_path / "oud.duckdb"
    core = schema.migrations()[0].sql.split("-- Geography:")[0]
    with duckdb.connect(str(path)) as con:
        con.execute(core)
        con.execute("INSERT INTO pulls VALUES ('47022NED', 'v1', 'm', 'full', 's', NULL, NULL, 1, 5, 'c', NULL)")
    with duckdb.connect(str(path), read_only=True) as con:
        state = schema.inspect(con)
    assert (state.kind, state.version) == ("unversioned", 0)
    assert "vóór versie 1" in state.describe()
    with pytest.raises(WarehouseVersionError, match="geen schemaversie"), db.reader(path):
        pass
    with db.writer(path) as con:
        assert con.execute("SELECT count(*) FROM pulls").fetchone() == (1,)
    assert objects(path) >= schema.baseline_tables() | {"schema_version"}


def test_a_run_that_may_ingest_upgrades_an_older_warehouse_first(tmp_path, monkeypatch):
    """`run` and the scheduled flows read the warehouse (is the source newer?) before they ingest;
    as writers they upgrade an older warehouse first instead of stopping at the reader's sentence."""
    from veiligheidsbeeld import pipeline
    from veiligheidsbeeld.config import load_settings

    settings = load_settings(warehouse=tmp_path / "w.duckdb")
    assert pipeline.upgrade_warehouse(settings) == "nog geen warehouse"
    assert not (tmp_path / "w.duckdb").exists()  # the ingest creates it, not the upgrade
    everything = schema.migrations()
    monkeypatch.setattr(schema, "migrations", lambda: everything[:1])
    with db.writer(tmp_path / "w.duckdb"):
        pass
    monkeypatch.setattr(schema, "migrations", lambda: everything)
    done = pipeline.upgrade_warehouse(settings)
    assert f"bijgewerkt naar schemaversie {len(everything)}" in done and "0002" in done
    with db.reader(tmp_path / "w.duckdb") as con:
        assert [v for v, _, _ in schema.history(con)] == [m.version for m in everything]
    assert "is actueel" in pipeline.upgrade_warehouse(settings)
