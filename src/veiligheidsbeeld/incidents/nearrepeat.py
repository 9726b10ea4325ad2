"""``veiligheidsbeeld near-repeat``: the Knox test on a CSV file or on the warehouse's incidents,
written as ``knox.csv`` (the command-line contract) and a chart ``knox.png``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from veiligheidsbeeld.errors import ConfigError, DataError
from veiligheidsbeeld.incidents.importer import _parse_dates, _rows_text, read_extract
from veiligheidsbeeld.incidents.knox import KnoxResult, days_since, knox_test, write_knox_csv
from veiligheidsbeeld.incidents.settings import IncidentSettings, check_bands


@dataclass(frozen=True)
class NearRepeatRun:
    result: KnoxResult
    files: tuple[Path, ...]
    skipped: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)
    synthetic: bool = False


def parse_edges(text: str, what: str) -> tuple[float, ...]:
    """'0,1,100,200' -> (0.0, 1.0, 100.0, 200.0), checked."""
    try:
        values = [float(v) for v in text.replace(" ", "").split(",") if v != ""]
    except ValueError:
        raise ConfigError(f"{what}: '{text}' is geen lijst getallen (bijv. 0,100,200,300).") from None
    return check_bands(values, what)


def incidents_from_csv(path: Path, x: str, y: str, date_col: str, date_to: str | None = None,
                       date_format: str = "") -> tuple[pd.DataFrame, int]:
    """x, y (metres) and the time (midpoint of [date, date_to]) of the rows of a file; rows without
    a value are skipped and counted, a value that cannot be read is an error naming column and rows."""
    frame = read_extract(Path(path), IncidentSettings())
    missing = [c for c in (x, y, date_col, date_to) if c and c not in frame.columns]
    if missing:
        raise DataError(
            f"In {Path(path).name} ontbreekt de kolom {', '.join(repr(c) for c in missing)}; "
            f"het bestand heeft: {', '.join(frame.columns)}."
        )
    rows = pd.Series(np.arange(len(frame)) + 2, index=frame.index)

    def blank(s: pd.Series) -> pd.Series:
        return s.isna() | s.astype(str).str.strip().isin(("", "nan", "NaT"))

    empty = blank(frame[x]) | blank(frame[y]) | blank(frame[date_col])
    use = frame[~empty]
    xs = pd.to_numeric(use[x].astype(str).str.replace(",", ".", regex=False), errors="coerce")
    ys = pd.to_numeric(use[y].astype(str).str.replace(",", ".", regex=False), errors="coerce")
    bad = xs.isna() | ys.isna()
    if bad.any():
        raise DataError(f"Kolom '{x}' of '{y}' in {Path(path).name}: geen getal ({_rows_text(rows[use.index[bad]])}).")
    if (xs.abs() <= 180).all() and (ys.abs() <= 90).all():
        raise DataError(
            f"Kolommen '{x}' en '{y}' in {Path(path).name} lijken lengte- en breedtegraden: de Knox-toets rekent in meters. "
            "Gebruik geprojecteerde coördinaten (RD New, EPSG:28992), of importeer het bestand met "
            "'veiligheidsbeeld incidenten import' (dat rekent lon/lat om) en gebruik --from-warehouse."
        )
    start = _parse_dates(use[date_col], date_format)
    bad = start.isna()
    if bad.any():
        raise DataError(
            f"Kolom '{date_col}' in {Path(path).name}: datum '{use[date_col][bad].iloc[0]}' niet te lezen "
            f"({_rows_text(rows[use.index[bad]])})."
        )
    midpoint = start
    if date_to:
        end = _parse_dates(use[date_to].where(~blank(use[date_to]), use[date_col]), date_format)
        bad = end.isna() | (end < start)
        if bad.any():
            raise DataError(
                f"Kolom '{date_to}' in {Path(path).name}: datum niet te lezen of vóór '{date_col}' "
                f"({_rows_text(rows[use.index[bad]])})."
            )
        midpoint = start + (end - start) / 2
    out = pd.DataFrame({"x": xs.to_numpy(), "y": ys.to_numpy(), "moment": midpoint.to_numpy()})
    return out, int(empty.sum())


def run_near_repeat(incidents: pd.DataFrame, out_dir: Path, distance_edges, time_edges, *, metric: str,
                    permutations: int, seed: int, title: str = "", source: str = "", synthetic: bool = False,
                    skipped: int = 0, notes: tuple[str, ...] = ()) -> NearRepeatRun:
    """Knox test on ``incidents`` (x, y, moment) written to ``out_dir``: knox.csv and knox.png."""
    from veiligheidsbeeld.incidents.charts import plot_knox
    from veiligheidsbeeld.reports.charts import figure_png
    from veiligheidsbeeld.reports.kit import publish

    if permutations < 1:
        raise ConfigError("--permutations moet minstens 1 zijn (gebruikelijk: 99 of 999).")
    t = days_since(incidents["moment"])
    result = knox_test(incidents["x"].to_numpy(), incidents["y"].to_numpy(), t, distance_edges, time_edges,
                       metric=metric, permutations=permutations, seed=seed)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = out_dir / "knox.csv"
    write_knox_csv(result, csv_path)
    png = publish(out_dir / "knox.png", figure_png(plot_knox(result, title=title, source=source)))
    return NearRepeatRun(result, (csv_path, png), skipped, notes, synthetic)


def warehouse_incidents(settings: Any, code: str, since: date | None, until: date | None = None) -> tuple[pd.DataFrame, int, bool]:
    """The warehouse's current incidents of ``code`` (midpoint since..until), without those whose
    pleegdatum window is wider than ``[incidenten].max_venster_dagen``; the number left out; synthetic."""
    from veiligheidsbeeld.warehouse import queries
    from veiligheidsbeeld.warehouse.db import reader

    inc = settings.incidenten
    with reader(settings.paths.resolved().warehouse) as con:
        if not queries.has_incidents(con):
            raise DataError("Er staan geen incidenten in het warehouse: importeer eerst met 'veiligheidsbeeld incidenten import'.")
        frame = queries.incidents(
            con, [code],
            datetime.combine(since, datetime.min.time()) if since else None,
            datetime.combine(until, datetime.min.time()) if until else None,
        )
    if frame.empty:
        raise DataError(f"Geen incidenten met soort {code}" + (f" sinds {since:%d-%m-%Y}" if since else "") + " in het warehouse.")
    wide = frame["venster_dagen"] > inc.max_venster_dagen if inc.max_venster_dagen > 0 else pd.Series(False, index=frame.index)
    used = frame[~wide]
    out = pd.DataFrame({"x": used["x"], "y": used["y"], "moment": used["pleeg_midden"]}).reset_index(drop=True)
    return out, int(wide.sum()), bool(frame["synthetic"].any())


def default_since(today: date | None = None, days: int = 365) -> date:
    return (today or date.today()) - timedelta(days=days)
