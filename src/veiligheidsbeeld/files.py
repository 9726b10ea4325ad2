"""One writer for every file the project leaves on disk (raw archive, reports, monitor outputs).

* **Atomic**: written to a temporary name beside the target and renamed into place
  (``os.replace`` is atomic on POSIX), so a reader or a killed run never sees half a file.
* **Shared**: the file gets the mode a plain ``open()`` would give it (``0o666 & ~umask``), not
  ``mkstemp``'s owner-only 0600: ``data/raw`` and the reports live on shared storage in the team
  setup.
* **Clear errors**: a target that cannot be written (a reports path that is a file, a read-only
  folder, a full disk) is one Dutch sentence naming the path and why.
* **Spreadsheets**: text from a source is data, never a formula: :func:`spreadsheet_safe` is the one
  place where text cells are neutralised for every CSV and Excel writer (OWASP "CSV injection").
"""

from __future__ import annotations

import errno
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from datetime import datetime
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from veiligheidsbeeld.errors import VeiligheidsbeeldError


class OutputError(VeiligheidsbeeldError):
    """A file or folder for output cannot be written (not a folder, no permission, disk full)."""


def umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode ``open(path, 'w')`` would give a new file under the current umask."""
    return 0o666 & ~umask()


def why(exc: OSError) -> str:
    """An OSError as a short Dutch reason."""
    reasons = {
        errno.ENOSPC: "de schijf is vol",
        errno.EDQUOT: "de schijfruimte (quota) is op",
        errno.EACCES: "geen schrijfrechten",
        errno.EPERM: "schrijven is niet toegestaan (beveiligd of onveranderbaar bestand)",
        errno.EROFS: "de opslag is alleen-lezen",
        errno.ENOTDIR: "een deel van het pad is een bestand, geen map",
        errno.EEXIST: "er staat al een bestand met die naam",
        errno.EISDIR: "het is een map, geen bestand",
        errno.ENAMETOOLONG: "de naam is te lang",
    }
    return reasons.get(exc.errno, exc.strerror or type(exc).__name__)


def ensure_dir(path: Path, what: str = "uitvoermap") -> Path:
    """``mkdir -p`` with a clear sentence when the folder cannot be made (e.g. the path is a file)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputError(f"De {what} {path} is een bestand, geen map; kies een andere map.")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputError(f"De {what} {path} kan niet worden gemaakt: een deel van het pad is een bestand.") from None
    except OSError as exc:
        raise OutputError(f"De {what} {path} kan niet worden gemaakt: {why(exc)}.") from None
    return path


def check_writable_dir(path: Path, what: str = "uitvoermap") -> Path:
    """Fail early (before anything is created) when ``path`` or its nearest existing parent cannot
    be written: a report run must not leave an empty dated folder behind."""
    path = Path(path)
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise OutputError(f"De {what} {path} kan niet worden gemaakt: {probe} is een bestand, geen map.")
    if probe.exists() and not os.access(probe, os.W_OK | os.X_OK):
        raise OutputError(f"De {what} {path} kan niet worden geschreven: geen schrijfrechten op {probe}.")
    return path


@contextmanager
def atomic_path(path: Path, suffix: str = ".tmp") -> Iterator[Path]:
    """A temporary path beside ``path`` for a writer that wants a file name (Parquet, openpyxl);
    on success it is fsynced, given the shared mode and renamed to ``path``; on failure removed."""
    path = Path(path)
    ensure_dir(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, file_mode())
        os.replace(tmp, path)
    except BaseException:
        # An OSError (disk full, no permission) goes up as it is: the ingest turns it into its own
        # sentence (what was kept, how to resume), the CLI into one about the file (see cli/core.py).
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
    return Path(path)


def atomic_write_text(path: Path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path, data: Any) -> Path:
    return atomic_write_bytes(path, json.dumps(data, ensure_ascii=False, indent=1, sort_keys=False).encode("utf-8"))


# --------------------------------------------------------------------------------------------
# Spreadsheets: text is data, never a formula
# --------------------------------------------------------------------------------------------

#: A cell starting with one of these is run as a formula by Excel/LibreOffice (OWASP CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n")


def spreadsheet_safe(value: Any) -> Any:
    """A text cell that a spreadsheet would run as a formula, prefixed with a single quote (the
    OWASP advice, shown by Excel as plain text); numbers, dates and missing values unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def spreadsheet_frame(frame: Any) -> Any:
    """A copy of a DataFrame with every text cell (and column name) made spreadsheet-safe."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or str(out[col].dtype) in ("string", "str"):
            out[col] = out[col].map(spreadsheet_safe)
    out.columns = [spreadsheet_safe(str(c)) for c in out.columns]
    return out


def csv_text(frame: Any) -> str:
    """A DataFrame as CSV (comma, decimal point, UTF-8), with text cells spreadsheet-safe."""
    return spreadsheet_frame(frame).to_csv(index=False)


def write_csv(frame: Any, path: Path) -> Path:
    return atomic_write_text(path, csv_text(frame))


def write_xlsx(sheets: Mapping[str, Any], path: Path) -> Path:
    """Every cell of every workbook is written here (xlsxwriter, several times faster than
    openpyxl), atomically.

    Text from the sources is always text (``write_string``; a text that a spreadsheet would run
    as a formula also gets the leading quote of :func:`spreadsheet_safe`, so a copy stays inert);
    numbers stay numbers, booleans booleans, dates dates; a missing value is an empty cell, never
    0. The kind of each column is decided once, and each column is written in one loop."""
    import xlsxwriter

    with atomic_path(path, suffix=".tmp.xlsx") as tmp:
        book = xlsxwriter.Workbook(str(tmp), {"strings_to_formulas": False, "strings_to_urls": False,
                                              "strings_to_numbers": False, "nan_inf_to_errors": True})
        date_format = book.add_format({"num_format": "yyyy-mm-dd"})
        try:
            for name, frame in sheets.items():
                sheet = book.add_worksheet(name[:31])
                sheet.freeze_panes(1, 0)
                sheet.write_row(0, 0, [spreadsheet_safe(str(c)) for c in frame.columns])
                for c, column in enumerate(frame.columns):
                    series = frame[column]
                    sample = series.head(200).astype(str)
                    width = max([len(str(column)), *sample.str.len().tolist()])
                    sheet.set_column(c, c, min(max(10, width + 2), 80))
                    known = series.notna().to_numpy()
                    rows = (known.nonzero()[0] + 1).tolist()
                    values = series.to_numpy(dtype=object)[known].tolist()
                    kind = _cell_kind(series)
                    if kind == "number":
                        write = sheet.write_number
                    elif kind == "boolean":
                        write = sheet.write_boolean
                    elif kind == "date":
                        for r, v in zip(rows, values, strict=True):
                            when = v if isinstance(v, datetime) else datetime(v.year, v.month, v.day)
                            sheet.write_datetime(r, c, when, date_format)
                        continue
                    else:
                        write = sheet.write_string
                        values = [spreadsheet_safe(str(v)) for v in values]
                    for r, v in zip(rows, values, strict=True):
                        write(r, c, v)
        finally:
            book.close()
    return Path(path)


def _cell_kind(series: Any) -> str:
    """How a column's cells are written: "number", "boolean", "date" or "string" (any other
    object is written as its text)."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(series.dtype):
        return "boolean"
    if pd.api.types.is_numeric_dtype(series.dtype):
        return "number"
    inferred = pd.api.types.infer_dtype(series, skipna=True)
    if inferred == "boolean":
        return "boolean"
    if inferred in ("integer", "floating", "mixed-integer-float", "decimal"):
        return "number"
    if inferred in ("date", "datetime", "datetime64"):
        return "date"
    return "string"