"""Opening the DuckDB warehouse: one writer at a time, readers read-only.

DuckDB lets one process write a database file. A second writer (two flows at once) must wait or
stop with a clear message, never corrupt the file: writers take an advisory lock file beside
the warehouse and wait for it up to a timeout. Readers (reports, notebooks) open read-only.

The schema has versions (warehouse/schema.py): the writer brings an older warehouse to the
current version first, a reader accepts only the current version and otherwise says which
command upgrades it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb

from veiligheidsbeeld import locks
from veiligheidsbeeld.errors import DataError, WarehouseError, WarehouseLockedError
from veiligheidsbeeld.warehouse import schema

DEFAULT_WAIT_SECONDS = 600.0


def _lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


def _corrupt(path: Path, detail: str) -> WarehouseError:
    return WarehouseError(
        f"Het warehousebestand {path} is beschadigd of geen DuckDB-bestand ({detail}). "
        f"De ruwe gegevens in data/raw zijn intact: verwijder of hernoem {path} en draai "
        "'veiligheidsbeeld ingest' opnieuw om het warehouse opnieuw op te bouwen."
    )


#: What DuckDB says when the file or its folder cannot be written: not a corrupt file.
_UNWRITABLE = {
    "Read-only file system": "de opslag is alleen-lezen",
    "Permission denied": "geen schrijfrechten",
    "Operation not permitted": "schrijven is niet toegestaan (bijvoorbeeld een onveranderbaar bestand)",
    "No space left on device": "de schijf is vol",
}


def _unwritable(path: Path, text: str) -> str | None:
    """Why the warehouse (or its folder, where DuckDB writes the .wal) cannot be written, or None."""
    import errno
    import os

    for marker, reason in _UNWRITABLE.items():
        if marker in text:
            return reason
    probes = [path] if path.exists() else []
    for probe in probes:
        try:
            os.close(os.open(probe, os.O_RDWR))
        except OSError as exc:
            if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
                from veiligheidsbeeld.files import why

                return why(exc)
    if path.parent.exists() and not os.access(path.parent, os.W_OK):
        return f"geen schrijfrechten op de map {path.parent}"
    return None


def _open(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        text = str(exc).splitlines()[0]
        if "Could not set lock" in text or "Conflicting lock" in text:
            raise WarehouseLockedError(
                f"Het warehouse {path} is in gebruik door een ander proces ({text}). "
                "Wacht tot dat klaar is en probeer opnieuw."
            ) from exc
        reason = None if read_only else _unwritable(path, text)
        if reason:
            raise WarehouseError(
                f"Het warehouse {path} kan niet worden geschreven: {reason}. Het bestand zelf is niet "
                "beschadigd; kies een schrijfbare plek (--warehouse of [paths] warehouse) of herstel de rechten."
            ) from exc
        if path.is_file():
            # DuckDB reports a truncated or foreign file as an IO error on open.
            raise _corrupt(path, text) from exc
        raise WarehouseError(f"Het warehouse {path} kan niet worden geopend: {text}") from exc
    except duckdb.Error as exc:
        raise _corrupt(path, str(exc).splitlines()[0]) from exc


@contextlib.contextmanager
def _migrated(path: Path, wait_seconds: float, memory_limit: str) -> Iterator[tuple[duckdb.DuckDBPyConnection, schema.Upgrade]]:
    """The writer's lock and connection, with the schema brought to the current version."""
    path = Path(path)
    deadline = time.monotonic() + wait_seconds
    with locks.exclusive(_lock_path(path), wait_seconds=wait_seconds, what=f"schrijft al in het warehouse {path}",
                         error=WarehouseLockedError):
        con = _open_with_retry(path, read_only=False, deadline=deadline)
        try:
            if memory_limit:
                # SET takes no bound parameters; the value is validated by _checked_size first.
                con.execute(f"SET memory_limit = '{_checked_size(memory_limit)}'")
            try:
                done = schema.migrate(con, path)
            except duckdb.Error as exc:
                # migrate() turns a failing migration into a sentence; this is its catalog query.
                raise _corrupt(path, str(exc).splitlines()[0]) from exc
            yield con, done
        finally:
            con.close()


@contextlib.contextmanager
def writer(path: Path, wait_seconds: float = DEFAULT_WAIT_SECONDS,
           memory_limit: str = "") -> Iterator[duckdb.DuckDBPyConnection]:
    """The single writer connection, with the schema at the current version (an older warehouse
    is migrated first, in one transaction) and DuckDB's memory limit, if given."""
    with _migrated(path, wait_seconds, memory_limit) as (con, _):
        yield con


def upgrade(path: Path, wait_seconds: float = DEFAULT_WAIT_SECONDS) -> schema.Upgrade:
    """Bring an existing warehouse to the current schema version (``veiligheidsbeeld warehouse
    upgrade``); a missing file is not created."""
    path = Path(path)
    _require_file(path)
    with _migrated(path, wait_seconds, "") as (_, done):
        return done


def _checked_size(text: str) -> str:
    """'4GB', '512 MB': a size DuckDB's SET accepts (SET takes no parameters, so validate first)."""
    import re

    if not re.fullmatch(r"\s*\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*", text, flags=re.IGNORECASE):
        raise WarehouseError(f"Ongeldige warehouse_memory_limit {text!r}; gebruik bijvoorbeeld '4GB'.")
    return text.strip()


def _open_with_retry(path: Path, read_only: bool, deadline: float) -> duckdb.DuckDBPyConnection:
    # A reader without our lock file (a notebook) may hold DuckDB's own lock briefly.
    while True:
        try:
            return _open(path, read_only)
        except WarehouseLockedError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.2)


def _require_file(path: Path) -> None:
    if not path.is_file():
        raise DataError(
            f"Er is nog geen warehouse op {path}. Draai eerst 'veiligheidsbeeld ingest' "
            "(of 'veiligheidsbeeld demo' voor een voorbeeld met synthetische cijfers)."
        )


@contextlib.contextmanager
def reader(path: Path, wait_seconds: float = 60.0) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection for reports and notebooks, on a warehouse at the current schema
    version (otherwise one sentence naming the command that upgrades it)."""
    path = Path(path)
    _require_file(path)
    con = _open_with_retry(path, read_only=True, deadline=time.monotonic() + wait_seconds)
    try:
        try:
            schema.check_readable(con, path)
        except duckdb.Error as exc:
            raise _corrupt(path, str(exc).splitlines()[0]) from exc
        yield con
    finally:
        con.close()
