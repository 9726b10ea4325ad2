"""Opening the DuckDB warehouse: one writer at a time, readers read-only.

DuckDB lets one process write a database file. A second writer (two flows at once) must wait or
stop with a clear message, never corrupt the file: writers take an advisory lock file beside
the warehouse and wait for it up to a timeout. Readers (reports, notebooks) open read-only.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb

from veiligheidsbeeld.errors import DataError, WarehouseError, WarehouseLockedError
from veiligheidsbeeld.warehouse.sql import query

DEFAULT_WAIT_SECONDS = 600.0


def _lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(query("schema.sql", "schema"))
    # Other modules add their own tables (geography, validation) through their own .sql files.
    from veiligheidsbeeld.warehouse import extensions

    for statement in extensions.schema_statements():
        con.execute(statement)


def _open(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        text = str(exc)
        if "lock" in text.lower():
            raise WarehouseLockedError(
                f"Het warehouse {path} is in gebruik door een ander proces ({text.splitlines()[0]}). "
                "Wacht tot dat klaar is en probeer opnieuw."
            ) from exc
        raise WarehouseError(f"Het warehouse {path} kan niet worden geopend: {text.splitlines()[0]}") from exc
    except (duckdb.SerializationException, duckdb.InternalException, duckdb.Error) as exc:
        raise WarehouseError(
            f"Het warehousebestand {path} is beschadigd of geen DuckDB-bestand ({str(exc).splitlines()[0]}). "
            f"De ruwe gegevens in data/raw zijn intact: verwijder of hernoem {path} en draai "
            "'veiligheidsbeeld ingest' opnieuw om het warehouse opnieuw op te bouwen."
        ) from exc


@contextlib.contextmanager
def writer(path: Path, wait_seconds: float = DEFAULT_WAIT_SECONDS) -> Iterator[duckdb.DuckDBPyConnection]:
    """The single writer connection, with the schema in place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock_file = open(_lock_path(path), "a+")
    try:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() >= deadline:
                    lock_file.seek(0)
                    holder = lock_file.read().strip() or "onbekend proces"
                    raise WarehouseLockedError(
                        f"Een ander proces ({holder}) schrijft al in het warehouse {path}; "
                        f"na {wait_seconds:.0f} s wachten gestopt. Er is niets gewijzigd."
                    ) from None
                time.sleep(0.2)
        lock_file.seek(0)
        lock_file.truncate()
        lock_file.write(f"pid {os.getpid()} sinds {time.strftime('%Y-%m-%d %H:%M:%S')}")
        lock_file.flush()
        con = _open_with_retry(path, read_only=False, deadline=deadline)
        try:
            ensure_schema(con)
            yield con
        finally:
            con.close()
    finally:
        with contextlib.suppress(OSError):
            lock_file.seek(0)
            lock_file.truncate()
        fcntl.flock(lock_file.fileno(), fcntl.LOCK_UN)
        lock_file.close()


def _open_with_retry(path: Path, read_only: bool, deadline: float) -> duckdb.DuckDBPyConnection:
    # A reader without our lock file (a notebook) may hold DuckDB's own lock briefly.
    while True:
        try:
            return _open(path, read_only)
        except WarehouseLockedError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.2)


@contextlib.contextmanager
def reader(path: Path, wait_seconds: float = 60.0) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection for reports and notebooks."""
    path = Path(path)
    if not path.is_file():
        raise DataError(
            f"Er is nog geen warehouse op {path}. Draai eerst 'veiligheidsbeeld ingest' "
            "(of 'veiligheidsbeeld demo' voor een voorbeeld met synthetische cijfers)."
        )
    con = _open_with_retry(path, read_only=True, deadline=time.monotonic() + wait_seconds)
    try:
        yield con
    finally:
        con.close()
