"""The one file writer: atomic, with the umask's modes, spreadsheet-safe text, clear errors."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from veiligheidsbeeld import files


@pytest.fixture
def umask_002():
    old = os.umask(0o002)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("text", ["=1+1", "+31", "-2+3", "@SUM(A1)", "\tx", "\rx", '=HYPERLINK("http://x","y")'])
def test_text_a_spreadsheet_would_run_is_quoted(text):
    assert files.spreadsheet_safe(text) == "'" + text


@pytest.mark.parametrize("value", ["Olst-Wijhe", "'s-Hertogenbosch", "", -3, 2.5, None, True])
def test_other_values_are_unchanged(value):
    assert files.spreadsheet_safe(value) == value or (value is None and files.spreadsheet_safe(value) is None)


def test_csv_and_excel_keep_numbers_and_neutralise_formulas(tmp_path, umask_002):
    frame = pd.DataFrame({"naam": ["=cmd|' /C calc'!A0", "Raalte"], "aantal": [-3, 18], "rate": [1.5, None]})
    csv = files.write_csv(frame, tmp_path / "t.csv")
    text = csv.read_text(encoding="utf-8")
    assert text.splitlines()[1].startswith("'=cmd|") and ",-3," in text
    xlsx = files.write_xlsx({"blad": frame}, tmp_path / "t.xlsx")
    sheet = load_workbook(xlsx).active
    assert sheet["A2"].data_type == "s" and sheet["A2"].value == "'=cmd|' /C calc'!A0"
    assert sheet["B2"].value == -3 and sheet["B2"].data_type == "n"
    assert sheet["C3"].value is None  # missing stays empty, never 0
    assert mode(csv) == mode(xlsx) == 0o664
    assert not list(tmp_path.glob(".*tmp*"))


def test_atomic_write_uses_the_umask_not_0600(tmp_path, umask_002):
    path = files.atomic_write_json(tmp_path / "a" / "b.json", {"x": 1})
    assert mode(path) == 0o664


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = files.atomic_write_text(tmp_path / "r.html", "oud")
    with pytest.raises(OSError):
        with files.atomic_path(path) as tmp:
            tmp.write_text("half")
            raise OSError(errno.ENOSPC, "No space left on device")
    assert path.read_text() == "oud" and [p.name for p in tmp_path.iterdir()] == ["r.html"]


def test_a_folder_that_is_a_file_is_one_sentence(tmp_path):
    (tmp_path / "rapporten").write_text("x")
    with pytest.raises(files.OutputError, match="is een bestand, geen map"):
        files.ensure_dir(tmp_path / "rapporten" / "2024-01-20")
    with pytest.raises(files.OutputError, match="is een bestand, geen map"):
        files.check_writable_dir(tmp_path / "rapporten" / "2024-01-20")
