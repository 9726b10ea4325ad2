"""The Excel writer of the reports: text stays text, numbers numbers, missing stays empty."""

from __future__ import annotations

from datetime import date

import numpy as np
import openpyxl
import pandas as pd

from veiligheidsbeeld.files import write_xlsx


def test_cells_keep_their_type_and_text_is_never_a_formula(tmp_path):
    frame = pd.DataFrame({
        "naam": ["=SUM(A1:A9)", "https://example.org", "+31", "Zwolle"],
        "aantal": [1.0, np.nan, 3.5, 0.0],
        "n": np.array([1, 2, 3, 4], dtype="int64"),
        "significant": [True, False, True, False],
        "maand": [date(2023, 1, 1), date(2023, 2, 1), None, date(2023, 4, 1)],
        "toelichting": [None, "@cmd", "-2+3", "x"],
    })
    path = tmp_path / "t.xlsx"
    write_xlsx({"toelichting": pd.DataFrame({"onderwerp": ["a"]}), "tabel": frame}, path)
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["toelichting", "tabel"]
    sheet = book["tabel"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == tuple(frame.columns)
    # Text stays text; what a spreadsheet would run as a formula also gets the leading quote.
    assert [r[0] for r in rows[1:]] == ["'=SUM(A1:A9)", "https://example.org", "'+31", "Zwolle"]
    assert all(sheet.cell(row=i, column=1).data_type == "s" for i in range(2, 6))
    assert all(sheet.cell(row=i, column=6).data_type in ("s", "n") for i in range(2, 6))
    assert [r[5] for r in rows[1:]] == [None, "'@cmd", "'-2+3", "x"]
    assert [r[1] for r in rows[1:]] == [1, None, 3.5, 0]  # NaN is an empty cell, never 0
    assert [r[2] for r in rows[1:]] == [1, 2, 3, 4]
    assert [r[3] for r in rows[1:]] == [True, False, True, False]
    assert rows[1][4].date() == date(2023, 1, 1) and rows[3][4] is None
    assert sheet.freeze_panes == "A2"
