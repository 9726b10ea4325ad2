"""Schema versions from a warehouse made by the previous release (commit 5feb071).

Two warehouses of that release, each with the report tables that release rendered from it:

* ``git``: the release's own code (``git archive 5feb071 src``) builds a small warehouse (district
  Twente, two gemeenten, 47022NED 2020–2023 with a missing month, synthetic dwellings, the real
  2023 gemeente boundaries) and renders the biweekly report, in a subprocess with PYTHONPATH on
  that code (tests/integration/previous_release.py). National (NL00) rows are the REAL police
  series from ../shared; every gemeente, wijk and buurt figure is SYNTHETIC.
* ``stored``: tests/data/previous_release, the same made by that code once and stored (synthetic
  only, see its README), loaded with IMPORT DATABASE. It needs no git history, so the check also
  runs in a shallow clone, where the ``git`` case is skipped saying why.

Then this code: a reader names the upgrade command, ``veiligheidsbeeld warehouse upgrade``
migrates it to the schema of a new warehouse, and the report's CSV tables are the same, byte for
byte.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest

from testkit import cli
from veiligheidsbeeld.config import load_settings
from veiligheidsbeeld.errors import WarehouseError, WarehouseVersionError
from veiligheidsbeeld.warehouse import db, schema

pytestmark = pytest.mark.integration

BASE_COMMIT = "5feb071"
REPO_ROOT = Path(__file__).resolve().parents[2]
HELPER = Path(__file__).with_name("previous_release.py")
STORED = REPO_ROOT / "tests" / "data" / "previous_release"
WAREHOUSE = Path("data") / "warehouse" / "veiligheidsbeeld.duckdb"
REPORT_DATE = date(2024, 1, 20)  # as in previous_release.py


def _git(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, **kwargs)


def _previous_release_code(target: Path) -> Path:
    """The src/ tree of BASE_COMMIT, unpacked into ``target``."""
    if _git("cat-file", "-e", f"{BASE_COMMIT}^{{commit}}").returncode != 0:
        pytest.skip(f"commit {BASE_COMMIT} is not in this clone's history (a shallow clone: 'git fetch --unshallow'); "
                    "checked on the stored copy in tests/data/previous_release only")
    archive = _git("archive", BASE_COMMIT, "src", check=True).stdout
    target.mkdir(parents=True)
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target / "src"


def _run_previous(code: Path, *args: str, cwd: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "VEILIGHEIDSBEELD_CONFIG"}
    env["PYTHONPATH"] = str(code)
    done = subprocess.run([sys.executable, str(HELPER), *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-4000:]
    # The previous release ran, not this one.
    assert done.stdout.splitlines()[0].startswith(str(code)), done.stdout


@pytest.fixture(scope="module")
def made_from_git(tmp_path_factory, shared_dir) -> Path:
    """A folder with ``project/`` (warehouse, raw archive, districts.csv) and ``out_old/tabellen``,
    both made by the previous release's code."""
    work = tmp_path_factory.mktemp("previous_release")
    code = _previous_release_code(work / "code")
    root = work / "project"
    root.mkdir()
    _run_previous(code, "build", str(root), str(shared_dir), cwd=work)
    _run_previous(code, "render", str(root), str(work / "out_old"), cwd=work)
    return work


@pytest.fixture(scope="module")
def made_from_store(tmp_path_factory) -> Path:
    """The same layout from the stored copy (tests/data/previous_release)."""
    work = tmp_path_factory.mktemp("previous_release_stored")
    (work / "project" / WAREHOUSE).parent.mkdir(parents=True)
    with duckdb.connect(str(work / "project" / WAREHOUSE)) as con:
        con.execute(f"IMPORT DATABASE '{STORED / 'warehouse'}'")
    shutil.copy(STORED / "districts.csv", work / "project" / "districts.csv")
    shutil.copytree(STORED / "tabellen", work / "out_old" / "tabellen")
    return work


@pytest.fixture(params=["git", "stored"])
def previous(request) -> Path:
    return request.getfixturevalue({"git": "made_from_git", "stored": "made_from_store"}[request.param])


@pytest.fixture
def project(previous, tmp_path) -> Path:
    """A fresh copy of the previous release's project folder (warehouse, raw archive, districts)."""
    root = tmp_path / "project"
    shutil.copytree(previous / "project", root, ignore=shutil.ignore_patterns("snapshot", "*.lock"))
    return root


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def catalog(path: Path) -> dict[str, list[tuple]]:
    """Tables with their columns (name, type, nullable, default, comment), views with their SQL,
    sequences and table comments: the schema as DuckDB holds it."""
    with duckdb.connect(str(path), read_only=True) as con:
        def rows(sql: str) -> list[tuple]:
            return sorted(con.execute(sql).fetchall())

        return {
            "columns": rows("SELECT table_name, column_name, data_type, is_nullable, column_default, comment "
                            "FROM duckdb_columns() WHERE database_name = current_database() AND schema_name = 'main'"),
            "tables": rows("SELECT table_name, comment, has_primary_key FROM duckdb_tables() "
                           "WHERE database_name = current_database() AND schema_name = 'main'"),
            "views": rows("SELECT view_name, sql, comment FROM duckdb_views() "
                          "WHERE database_name = current_database() AND schema_name = 'main' AND NOT internal"),
            "sequences": rows("SELECT sequence_name FROM duckdb_sequences() WHERE database_name = current_database()"),
        }


def facts(path: Path) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute("SELECT count(*), sum(count), count(count) FROM facts_monthly").fetchall() + \
            con.execute("SELECT count(*) FROM boundaries UNION ALL SELECT count(*) FROM denominators").fetchall()


def test_the_previous_release_made_an_unversioned_warehouse_at_the_baseline(project):
    path = project / WAREHOUSE
    with duckdb.connect(str(path), read_only=True) as con:
        state = schema.inspect(con)
    assert (state.kind, state.version) == ("unversioned", 1)
    assert state.objects >= schema.baseline_tables()
    assert "schema_version" not in state.objects


def test_a_reader_on_the_previous_release_names_the_upgrade_command(project):
    path = project / WAREHOUSE
    before = digest(path)
    with pytest.raises(WarehouseVersionError) as err, db.reader(path):
        pass
    assert f"veiligheidsbeeld warehouse upgrade --warehouse {path}" in str(err.value)
    for command in (("status",), ("report", "tweewekelijks", "--date", REPORT_DATE.isoformat())):
        result = cli(project, *command)
        assert result.exit_code == 1, result.output
        errors = [line for line in result.output.splitlines() if line.startswith("Fout:")]
        assert len(errors) == 1 and "veiligheidsbeeld warehouse upgrade" in errors[0], result.output
        assert "Traceback" not in result.output
    assert digest(path) == before
    assert not (project / "reports").exists()


def test_the_upgrade_keeps_the_report_tables_and_gives_the_schema_of_a_new_warehouse(previous, project, tmp_path):
    from veiligheidsbeeld.reports.tweewekelijks import render_tweewekelijks

    path = project / WAREHOUSE
    data = facts(path)
    result = cli(project, "warehouse", "upgrade")
    assert result.exit_code == 0, result.output
    assert f"schemaversie {schema.latest_version()}" in result.output
    assert all(f"{m.version:04d}" in result.output for m in schema.migrations())
    with db.reader(path) as con:
        assert [v for v, _, _ in schema.history(con)] == [m.version for m in schema.migrations()]
    assert facts(path) == data
    # Upgraded, the previous release's warehouse has exactly the schema a new one gets.
    new = tmp_path / "nieuw.duckdb"
    with db.writer(new):
        pass
    old_catalog, new_catalog = catalog(path), catalog(new)
    for part in old_catalog:
        assert old_catalog[part] == new_catalog[part], part
    # A second upgrade has nothing to do.
    again = cli(project, "warehouse", "upgrade")
    assert again.exit_code == 0 and "actueel" in again.output, again.output

    settings = load_settings().with_paths(root=project)
    settings = dataclasses.replace(settings, area=dataclasses.replace(settings.area,
                                                                      district_table=str(project / "districts.csv")))
    out_new = tmp_path / "out_new"
    render_tweewekelijks(settings, REPORT_DATE, out_dir=out_new, workers=1, pdf=False, today=REPORT_DATE)
    old_tables = sorted(p.name for p in (previous / "out_old" / "tabellen").glob("*.csv"))
    new_tables = sorted(p.name for p in (out_new / "tabellen").glob("*.csv"))
    assert len(old_tables) >= 8 and new_tables == old_tables
    for name in old_tables:
        old_text = (previous / "out_old" / "tabellen" / name).read_text(encoding="utf-8")
        new_text = (out_new / "tabellen" / name).read_text(encoding="utf-8")
        assert new_text == old_text, name


def test_a_writer_migrates_the_previous_release_by_itself(project):
    path = project / WAREHOUSE
    data = facts(path)
    with db.writer(path) as con:
        assert schema.inspect(con).current
    assert facts(path) == data


def _with_broken(monkeypatch, version: int) -> None:
    """Migrations up to ``version`` - 1 as they are, then one that writes, then fails."""
    broken = schema.Migration(version, f"{version:04d}_kapot.sql", "kapot (test)", (
        "CREATE TABLE half_geschreven (x INTEGER);\n"
        "INSERT INTO half_geschreven VALUES (1);\n"
        "DELETE FROM facts_monthly;\n"
        "INSERT INTO half_geschreven SELECT * FROM bestaat_niet;\n"
    ))
    kept = tuple(m for m in schema.migrations() if m.version < version)
    monkeypatch.setattr(schema, "migrations", lambda: (*kept, broken))


@pytest.mark.parametrize("version", [2, 3])
def test_a_failed_migration_leaves_the_file_unchanged(project, monkeypatch, version):
    path = project / WAREHOUSE
    before, data = digest(path), facts(path)
    _with_broken(monkeypatch, version)
    with pytest.raises(WarehouseError, match=f"schemaversie {version} .{version:04d}_kapot.sql. is mislukt") as err:
        with db.writer(path):
            pytest.fail("the writer must not open a half-migrated warehouse")
    assert "Er is niets veranderd" in str(err.value) and "geen schemaversie" in str(err.value)
    result = cli(project, "warehouse", "upgrade")
    assert result.exit_code == 1 and "mislukt" in result.output and "Traceback" not in result.output
    assert digest(path) == before
    assert facts(path) == data
    with duckdb.connect(str(path), read_only=True) as con:
        state = schema.inspect(con)
    assert (state.kind, state.version) == ("unversioned", 1)
    assert "half_geschreven" not in state.objects


def test_a_newer_version_is_refused_by_readers_and_writers(project):
    path = project / WAREHOUSE
    with db.writer(path):
        pass
    with duckdb.connect(str(path)) as con:
        con.execute("INSERT INTO schema_version VALUES (99, TIMESTAMP '2030-01-01', 'uit de toekomst')")
    before = digest(path)
    for opener in (db.reader, db.writer):
        with pytest.raises(WarehouseVersionError, match="schemaversie 99, nieuwer") as err, opener(path):
            pytest.fail("opened a warehouse of a newer version")
        assert "upgrade" not in str(err.value)
    result = cli(project, "warehouse", "upgrade")
    assert result.exit_code == 1 and "nieuwer" in result.output
    assert digest(path) == before
