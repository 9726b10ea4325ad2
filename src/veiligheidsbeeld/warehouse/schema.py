"""Schema versions of the warehouse: numbered migrations and the ``schema_version`` table.

The schema is the numbered files in ``warehouse/migrations/`` (``0001_baseline.sql``,
``0002_….sql``, …), applied in order; ``schema_version`` records each one a warehouse has
(version, applied_at in UTC, description). A change to the schema is a new file, never an edit
of an applied one.

* The writer (:func:`veiligheidsbeeld.warehouse.db.writer`) applies the pending migrations in one
  transaction: all of them or, on a failure, none (the file is left as it was).
* A reader accepts only the version this code knows (:func:`latest_version`); an older warehouse
  gets one sentence naming the command that upgrades it, a newer one is refused.
* A warehouse made before schema versions existed (commit 5feb071 and earlier) has no
  ``schema_version`` table. It is recognised by its tables (``facts_monthly`` and ``pulls`` have
  been there since the first release): with every table of the baseline it is at the baseline
  (version 1), with fewer it is older still. Either way the writer applies the baseline again
  (its statements are idempotent, so it only adds what an older release lacked) and then the rest.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cache
from importlib import resources
from pathlib import Path

import duckdb

from veiligheidsbeeld.errors import WarehouseError, WarehouseVersionError
from veiligheidsbeeld.warehouse.sql import query

SQL_FILE = "schema_version.sql"
VERSION_TABLE = "schema_version"
#: The command that brings an older warehouse to the current schema (cli.py, ``warehouse upgrade``).
UPGRADE_COMMAND = "veiligheidsbeeld warehouse upgrade"
#: Tables every warehouse of veiligheidsbeeld has had since its first release.
CORE_TABLES = frozenset({"facts_monthly", "pulls"})

_FILE = re.compile(r"(\d{4})_(\w+)\.sql")
_DESCRIPTION = re.compile(r"^--\s*description:\s*(.+?)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Migration:
    version: int
    name: str  # the file name, '0001_baseline.sql'
    description: str  # Dutch: stored in schema_version and printed by the upgrade command
    sql: str


@cache
def migrations() -> tuple[Migration, ...]:
    """Every migration file, in order; numbered 1, 2, 3, … without gaps (checked)."""
    folder = resources.files("veiligheidsbeeld.warehouse").joinpath("migrations")
    found = []
    for entry in folder.iterdir():
        match = _FILE.fullmatch(entry.name)
        if match is None:
            continue
        text = entry.read_text(encoding="utf-8")
        description = _DESCRIPTION.search(text)
        if description is None:
            raise RuntimeError(f"migration {entry.name} has no '-- description:' line")
        found.append(Migration(int(match.group(1)), entry.name, description.group(1), text))
    found.sort(key=lambda m: m.version)
    if [m.version for m in found] != list(range(1, len(found) + 1)):
        raise RuntimeError(f"migrations must be numbered 1, 2, 3, … without gaps: {[m.name for m in found]}")
    return tuple(found)


def latest_version() -> int:
    """The schema version this code reads and writes."""
    return migrations()[-1].version


@cache
def baseline_tables() -> frozenset[str]:
    """The tables the baseline (version 1) creates: a warehouse without schema_version that has
    all of them was made by the baseline release."""
    return frozenset(re.findall(r"CREATE TABLE IF NOT EXISTS (\w+)", migrations()[0].sql))


@dataclass(frozen=True)
class SchemaState:
    """What a warehouse file holds, as far as the schema goes.

    ``kind``: ``new`` (no tables: a new or empty file), ``versioned`` (has schema_version),
    ``unversioned`` (ours, from before schema versions) or ``foreign`` (tables, none of ours).
    ``version``: the recorded version; for ``unversioned`` the one its tables show (1: every
    baseline table, 0: older than the baseline); 0 otherwise."""

    kind: str
    version: int
    objects: frozenset[str]

    @property
    def current(self) -> bool:
        return self.kind == "versioned" and self.version == latest_version()

    def describe(self) -> str:
        """Dutch, after 'het warehouse heeft': 'schemaversie 2', 'geen schemaversie (…)'."""
        if self.kind == "versioned":
            return f"schemaversie {self.version}"
        if self.kind == "unversioned":
            schema = "met het schema van versie 1" if self.version == 1 else "nog van vóór versie 1"
            return f"geen schemaversie (gemaakt door een oudere versie van veiligheidsbeeld, {schema})"
        return "nog geen tabellen" if self.kind == "new" else "geen tabellen van veiligheidsbeeld"


def inspect(con: duckdb.DuckDBPyConnection) -> SchemaState:
    """The schema state of an open warehouse (reads only)."""
    objects = frozenset(r[0] for r in con.execute(query(SQL_FILE, "objects")).fetchall())
    if VERSION_TABLE in objects:
        return SchemaState("versioned", int(con.execute(query(SQL_FILE, "recorded_version")).fetchone()[0]), objects)
    if not objects:
        return SchemaState("new", 0, objects)
    if CORE_TABLES <= objects:
        return SchemaState("unversioned", 1 if baseline_tables() <= objects else 0, objects)
    return SchemaState("foreign", 0, objects)


def pending(state: SchemaState) -> tuple[Migration, ...]:
    """The migrations a warehouse in ``state`` still needs (all of them unless it is versioned:
    the baseline is idempotent and fills in what an unversioned warehouse lacks)."""
    start = state.version if state.kind == "versioned" else 0
    return tuple(m for m in migrations() if m.version > start)


def _upgrade_hint(path: Path) -> str:
    return f"'{UPGRADE_COMMAND} --warehouse {shlex.quote(str(path))}'"


def not_a_warehouse(path: Path, state: SchemaState) -> WarehouseError:
    if state.kind == "new":
        what = "het bevat nog geen tabellen"
    else:
        shown = ", ".join(sorted(state.objects)[:5]) + (", …" if len(state.objects) > 5 else "")
        what = f"de tabellen van veiligheidsbeeld ontbreken (het bevat {shown})"
    return WarehouseError(
        f"Het bestand {path} is geen (volledig) warehouse van veiligheidsbeeld: {what}. Geef het juiste pad met "
        "--warehouse, of draai 'veiligheidsbeeld ingest' om een warehouse te maken; er is niets aan veranderd."
    )


def version_error(path: Path, state: SchemaState) -> WarehouseError:
    """The sentence for a reader on a warehouse that is not at the current version."""
    latest = latest_version()
    if state.kind in ("new", "foreign"):
        return not_a_warehouse(path, state)
    if state.version > latest:
        return WarehouseVersionError(
            f"Het warehouse {path} heeft schemaversie {state.version}, nieuwer dan deze versie van veiligheidsbeeld "
            f"kent (tot en met {latest}): het is bijgewerkt door een nieuwere versie. Werk veiligheidsbeeld bij "
            "(git pull en pip install -e .) of gebruik een ander warehouse; er is niets aan veranderd."
        )
    return WarehouseVersionError(
        f"Het warehouse {path} heeft {state.describe()}; deze versie van veiligheidsbeeld gebruikt schemaversie "
        f"{latest}: werk het bij met {_upgrade_hint(path)} (een ingest doet dat ook vanzelf; de gegevens blijven "
        "behouden)."
    )


def check_readable(con: duckdb.DuckDBPyConnection, path: Path) -> SchemaState:
    """Raise the Dutch sentence unless the warehouse is at the current schema version."""
    state = inspect(con)
    if not state.current:
        raise version_error(path, state)
    return state


@dataclass(frozen=True)
class Upgrade:
    """What :func:`migrate` did: the state before and the migrations applied (maybe none)."""

    path: Path
    before: SchemaState
    applied: tuple[Migration, ...]

    def summary(self) -> str:
        """Dutch, for ``veiligheidsbeeld warehouse upgrade``."""
        if not self.applied:
            return f"Het warehouse {self.path} is actueel: schemaversie {latest_version()}."
        lines = [
            f"Het warehouse {self.path} is bijgewerkt naar schemaversie {latest_version()}; het had "
            f"{self.before.describe()}. Toegepast:"
        ]
        lines += [f"  {m.version:04d}  {m.description}" for m in self.applied]
        return "\n".join(lines)


def migrate(con: duckdb.DuckDBPyConnection, path: Path) -> Upgrade:
    """Bring the warehouse on ``con`` (a writer) to the latest version, in one transaction.

    A foreign file or a newer version is refused before anything is written. A failing migration
    rolls everything back: the warehouse keeps its previous version and data."""
    path = Path(path)
    state = inspect(con)
    if state.kind == "foreign":
        raise not_a_warehouse(path, state)
    if state.version > latest_version():
        raise version_error(path, state)
    todo = pending(state)
    if not todo:
        return Upgrade(path, state, ())
    current = todo[0]
    con.begin()
    try:
        con.execute(query(SQL_FILE, "create_table"))
        for current in todo:
            con.execute(current.sql)
            con.execute(query(SQL_FILE, "record"), {
                "version": current.version,
                "applied_at": datetime.now(timezone.utc).replace(tzinfo=None),
                "description": current.description,
            })
        con.commit()
    except duckdb.Error as exc:
        con.rollback()
        raise WarehouseError(
            f"Het bijwerken van het warehouse {path} naar schemaversie {current.version} ({current.name}) is "
            f"mislukt: {str(exc).splitlines()[0]}. Er is niets veranderd: het warehouse heeft nog {state.describe()}."
        ) from exc
    except BaseException:
        con.rollback()
        raise
    return Upgrade(path, state, todo)


def history(con: duckdb.DuckDBPyConnection) -> list[tuple[int, datetime, str]]:
    """The applied versions (version, applied_at UTC, description), oldest first."""
    return [tuple(r) for r in con.execute(query(SQL_FILE, "history")).fetchall()]
