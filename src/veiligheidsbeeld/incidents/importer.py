"""Import of incident extracts (CSV, Excel, Parquet; one row per incident) into the warehouse.

Columns are mapped by configuration (``[incidenten].kolommen``). Everything is checked before
anything is written, and an import is written in one transaction: a file with a wrong value is
refused as a whole with one Dutch sentence naming the column and rows; rows without any date or
place are reported (count and examples) and kept out. Imports are versioned (file name, checksum,
time) and idempotent: the same file twice changes nothing. The view ``incidenten`` holds, per
registration id, the row of the newest import.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from veiligheidsbeeld.constants import TOTAL_CODE
from veiligheidsbeeld.errors import DataError, SourceError
from veiligheidsbeeld.incidents.settings import IncidentSettings
from veiligheidsbeeld.sources.raw_archive import sha256_file
from veiligheidsbeeld.warehouse import queries

SQL_FILE = "incidents.sql"
#: The Netherlands in RD New (EPSG:28992), with a margin for the coast and the islands.
NL_RD_BOUNDS = (0.0, 300_000.0, 300_000.0, 630_000.0)  # xmin, xmax, ymin, ymax
#: The same area in WGS84 degrees, to recognise lon/lat put in the x/y columns.
NL_LONLAT_BOUNDS = (2.5, 7.6, 50.5, 53.8)
_CBS_CODE = re.compile(r"^\d{1,2}(\.\d{1,2}){1,2}$")
_BUURT = re.compile(r"^(BU)?(\d{8})$", re.IGNORECASE)
EXAMPLES = 5


@dataclass(frozen=True)
class PreparedIncidents:
    """A file's incidents after mapping and checks (nothing written yet)."""

    records: pd.DataFrame
    unusable: pd.DataFrame  # file_row, registratie_id, reason
    rows_in_file: int
    duplicates: int
    coordinates: str


@dataclass(frozen=True)
class ImportResult:
    file_name: str
    checksum: str
    import_id: int
    already_imported: bool
    rows_in_file: int = 0
    rows_imported: int = 0
    unusable: pd.DataFrame = field(default_factory=pd.DataFrame)
    duplicates: int = 0
    replaced: int = 0
    coordinates: str = ""
    synthetic: bool = False
    imported_at: datetime | None = None

    def summary(self) -> str:
        """Dutch lines for the CLI and the flow."""
        if self.already_imported:
            return (
                f"{self.file_name} is al geïmporteerd (import {self.import_id} op {self.imported_at:%d-%m-%Y %H:%M}, "
                "zelfde controlegetal): niets gewijzigd."
            )
        lines = [
            f"{self.file_name}: {self.rows_imported} incidenten geïmporteerd (import {self.import_id}, "
            f"{self.rows_in_file} rijen in het bestand; coördinaten {self.coordinates})"
            + (" — SYNTHETISCHE gegevens" if self.synthetic else "") + "."
        ]
        if self.replaced:
            lines.append(f"{self.replaced} registratienummers stonden al in een eerdere import: deze import geldt nu.")
        if self.duplicates:
            lines.append(f"{self.duplicates} rijen herhalen een registratienummer in het bestand: de laatste rij telt.")
        if len(self.unusable):
            lines.append(
                f"{len(self.unusable)} rijen zonder bruikbare datum of plaats niet geïmporteerd, bijvoorbeeld: "
                + "; ".join(f"rij {r.file_row} ({r.reason})" for r in self.unusable.head(EXAMPLES).itertuples())
                + "."
            )
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Reading the file
# --------------------------------------------------------------------------------------------


def _sniff_separator(text: str) -> str:
    first = text.splitlines()[0] if text else ""
    counts = {sep: first.count(sep) for sep in (";", ",", "\t", "|")}
    return max(counts, key=lambda s: counts[s]) if any(counts.values()) else ","


def read_extract(path: Path, settings: IncidentSettings) -> pd.DataFrame:
    """The file as a frame of strings (Parquet keeps its types), one row per incident."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"Het bestand {path} bestaat niet.")
    if path.stat().st_size == 0:
        raise DataError(f"Het bestand {path.name} is leeg: er staan geen incidenten in.")
    suffix = "".join(path.suffixes[-2:]).lower() if path.suffix.lower() == ".gz" else path.suffix.lower()
    try:
        if suffix in (".csv", ".txt", ".csv.gz"):
            raw = path.read_bytes()
            if suffix.endswith(".gz"):
                import gzip

                raw = gzip.decompress(raw)
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                text = raw.decode("cp1252")  # Excel's "CSV (gescheiden door lijstscheidingsteken)"
            sep = settings.csv_scheidingsteken or _sniff_separator(text)
            import io

            frame = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False)
        elif suffix in (".xlsx", ".xlsm"):
            frame = pd.read_excel(path, dtype=object)
        elif suffix == ".parquet":
            frame = pd.read_parquet(path)
        else:
            raise DataError(
                f"Het bestand {path.name} heeft een onbekend formaat ('{path.suffix}'); gebruik CSV, Excel (.xlsx) of Parquet."
            )
    except DataError:
        raise
    except pd.errors.EmptyDataError:
        raise DataError(f"Het bestand {path.name} is leeg: er staan geen incidenten in.") from None
    except Exception as exc:  # the readers raise many kinds; the user needs one sentence
        raise SourceError(f"Het bestand {path.name} kan niet worden gelezen ({type(exc).__name__}: {exc}).") from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    if frame.empty:
        raise DataError(f"Het bestand {path.name} bevat alleen een kopregel: er staan geen incidenten in.")
    return frame.reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Mapping and checks
# --------------------------------------------------------------------------------------------


def _rows_text(rows: pd.Series | np.ndarray | list[int]) -> str:
    rows = [int(r) for r in rows]
    shown = ", ".join(str(r) for r in rows[:EXAMPLES])
    more = f" en nog {len(rows) - EXAMPLES}" if len(rows) > EXAMPLES else ""
    return f"rij {shown}" if len(rows) == 1 else f"rijen {shown}{more}"


def _blank(series: pd.Series) -> pd.Series:
    if series.dtype == object or pd.api.types.is_string_dtype(series):
        return series.isna() | series.astype(str).str.strip().isin(("", "nan", "NaT", "None"))
    return series.isna()


def _parse_dates(series: pd.Series, fmt: str) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(series):
        return series.dt.tz_localize(None) if series.dt.tz is not None else series
    text = series.astype(str).str.strip()
    if fmt:
        return pd.to_datetime(text, format=fmt, errors="coerce")
    iso = pd.to_datetime(text, format="ISO8601", errors="coerce")
    rest = iso.isna()
    if rest.any():
        # Dutch exports write day first: 31-12-2024 or 31/12/2024 (with or without a time).
        iso[rest] = pd.to_datetime(text[rest], format="mixed", dayfirst=True, errors="coerce")
    return iso


def _numbers(series: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(series):
        return series.astype("float64")
    # Dutch decimal comma ("52,2215") next to a decimal point.
    return pd.to_numeric(series.astype(str).str.strip().str.replace(",", ".", regex=False), errors="coerce")


def _missing_columns_error(file_name: str, missing: dict[str, str], columns: list[str]) -> DataError:
    names = ", ".join(f"'{col}' (rol {role})" for role, col in missing.items())
    return DataError(
        f"In {file_name} ontbreekt de kolom {names}; het bestand heeft: {', '.join(columns)}. "
        "Koppel de kolommen in [incidenten].kolommen van veiligheidsbeeld.toml."
    )


def prepare_incidents(frame: pd.DataFrame, settings: IncidentSettings, file_name: str = "het bestand",
                      *, row_offset: int = 2) -> PreparedIncidents:
    """Map the columns, check every value, convert coordinates to RD New and compute midpoints.

    ``row_offset``: added to the 0-based row index to give the row number the user sees (2 for a
    CSV or Excel file: the header is row 1). Raises :class:`DataError` naming column and rows
    for a value that is present but wrong; rows without a date or place come back in ``unusable``.
    """
    columns = list(frame.columns)
    col = settings.column
    missing = {role: col(role) for role in ("registratie_id", "soort", "pleegdatum_van") if col(role) not in columns}
    has_xy = bool(col("x")) and col("x") in columns and col("y") in columns
    has_ll = bool(col("lon")) and col("lon") in columns and col("lat") in columns
    if not (has_xy or has_ll):
        for role in ("x", "y") if col("x") else ("lon", "lat"):
            if col(role) not in columns:
                missing[role] = col(role)
    if missing:
        raise _missing_columns_error(file_name, missing, columns)

    rows = pd.Series(np.arange(len(frame)) + row_offset, index=frame.index)
    reasons = pd.Series("", index=frame.index, dtype=object)

    def unusable(mask: pd.Series, reason: str) -> None:
        reasons[mask & (reasons == "")] = reason

    ids = frame[col("registratie_id")].astype(str).str.strip()
    unusable(_blank(frame[col("registratie_id")]), "geen registratienummer")

    # Crime type: the export's classification through the mapping, else a CBS code as given.
    source_type = frame[col("soort")].astype(str).str.strip()
    unusable(_blank(frame[col("soort")]), "geen soort misdrijf")
    mapping = {k.strip().casefold(): v.strip() for k, v in settings.soort_mapping.items()}
    code = source_type.map(lambda s: mapping.get(s.casefold(), s))
    bad_type = (reasons == "") & ~code.str.match(_CBS_CODE.pattern) | (code == TOTAL_CODE)
    if bad_type.any():
        values = ", ".join(f"'{v}'" for v in source_type[bad_type].unique()[:EXAMPLES])
        raise DataError(
            f"Kolom '{col('soort')}' in {file_name}: onbekende soort misdrijf {values} ({_rows_text(rows[bad_type])}). "
            "Gebruik een CBS-code (zoals 1.1.1) of neem de omschrijving op in [incidenten].soort_mapping."
        )

    # Dates: a window [van, tot]; an empty tot means a moment.
    van_raw = frame[col("pleegdatum_van")]
    unusable(_blank(van_raw), "geen pleegdatum")
    van = _parse_dates(van_raw, settings.datum_formaat)
    bad = (reasons == "") & van.isna()
    if bad.any():
        example = str(van_raw[bad].iloc[0])
        raise DataError(
            f"Kolom '{col('pleegdatum_van')}' in {file_name}: datum '{example}' niet te lezen ({_rows_text(rows[bad])}). "
            "Gebruik JJJJ-MM-DD of DD-MM-JJJJ, of zet [incidenten].datum_formaat."
        )
    tot_col = col("pleegdatum_tot")
    if tot_col and tot_col in columns:
        tot_raw = frame[tot_col]
        tot = _parse_dates(tot_raw, settings.datum_formaat)
        bad = (reasons == "") & ~_blank(tot_raw) & tot.isna()
        if bad.any():
            raise DataError(
                f"Kolom '{tot_col}' in {file_name}: datum '{tot_raw[bad].iloc[0]}' niet te lezen ({_rows_text(rows[bad])})."
            )
        tot = tot.where(~_blank(tot_raw), van)
        bad = (reasons == "") & (tot < van)
        if bad.any():
            raise DataError(
                f"Kolom '{tot_col}' in {file_name}: de pleegdatum tot ligt vóór de pleegdatum van ({_rows_text(rows[bad])})."
            )
    else:
        tot = van

    # Place: RD New x/y, or lon/lat converted to RD New.
    if has_xy:
        cx, cy, system = col("x"), col("y"), "RD"
    else:
        cx, cy, system = col("lon"), col("lat"), "WGS84 (omgerekend)"
    unusable(_blank(frame[cx]) | _blank(frame[cy]), "geen locatie")
    a, b = _numbers(frame[cx]), _numbers(frame[cy])
    bad = (reasons == "") & (a.isna() | b.isna())
    if bad.any():
        raise DataError(
            f"Kolom '{cx}' of '{cy}' in {file_name}: geen getal ({_rows_text(rows[bad])}, bijv. "
            f"'{frame[cx][bad].iloc[0]}' / '{frame[cy][bad].iloc[0]}')."
        )
    ok = reasons == ""
    lo_x, hi_x, lo_y, hi_y = NL_LONLAT_BOUNDS
    looks_lonlat = ok & a.between(-180, 180) & b.between(-90, 90)
    if system == "RD":
        if looks_lonlat.any():
            r = looks_lonlat.idxmax()
            raise DataError(
                f"Kolommen '{cx}' en '{cy}' in {file_name} bevatten lengte- en breedtegraden (bijv. {a[r]} / {b[r]}), "
                f"geen RD-coördinaten in meters ({_rows_text(rows[looks_lonlat])}). Koppel ze in [incidenten].kolommen "
                "als lon en lat (en maak x en y leeg)."
            )
        x, y = a, b
    else:
        not_degrees = ok & ~looks_lonlat
        if not_degrees.any():
            r = not_degrees.idxmax()
            raise DataError(
                f"Kolommen '{cx}' en '{cy}' in {file_name} zijn gekoppeld als lon/lat maar bevatten geen graden "
                f"(bijv. {a[r]} / {b[r]}: RD-coördinaten?) ({_rows_text(rows[not_degrees])}). "
                "Koppel RD-coördinaten als x en y in [incidenten].kolommen."
            )
        from pyproj import Transformer

        to_rd = Transformer.from_crs("EPSG:4326", "EPSG:28992", always_xy=True)
        xs, ys = to_rd.transform(a.fillna(0).to_numpy(), b.fillna(0).to_numpy())
        x, y = pd.Series(xs, index=frame.index), pd.Series(ys, index=frame.index)
    xmin, xmax, ymin, ymax = NL_RD_BOUNDS
    outside = ok & ~(x.between(xmin, xmax) & y.between(ymin, ymax) & np.isfinite(x) & np.isfinite(y))
    if outside.any():
        r = outside.idxmax()
        raise DataError(
            f"Kolommen '{cx}' en '{cy}' in {file_name}: coördinaten buiten Nederland (bijv. {a[r]} / {b[r]}; "
            f"{_rows_text(rows[outside])}). Controleer het coördinatenstelsel (RD New, EPSG:28992, of lon/lat) "
            "en of x en y niet verwisseld zijn."
        )

    buurt = pd.Series(pd.NA, index=frame.index, dtype=object)
    buurt_col = col("buurt_code")
    if buurt_col and buurt_col in columns:
        text = frame[buurt_col].astype(str).str.strip().str.upper()
        parsed = text.str.extract(_BUURT)[1]
        bad = ok & ~_blank(frame[buurt_col]) & parsed.isna()
        if bad.any():
            raise DataError(
                f"Kolom '{buurt_col}' in {file_name}: '{frame[buurt_col][bad].iloc[0]}' is geen CBS-buurtcode "
                f"(BU + 8 cijfers) ({_rows_text(rows[bad])})."
            )
        buurt = ("BU" + parsed).where(parsed.notna(), pd.NA)

    records = pd.DataFrame(
        {
            "file_row": rows,
            "registratie_id": ids,
            "soort_code": code,
            "soort_bron": source_type,
            "pleeg_van": van,
            "pleeg_tot": tot,
            "x": x.astype("float64"),
            "y": y.astype("float64"),
            "buurt_code": buurt,
        }
    )
    bad_rows = reasons != ""
    unusable_frame = pd.DataFrame(
        {"file_row": rows[bad_rows], "registratie_id": ids[bad_rows].where(ids[bad_rows] != "", None),
         "reason": reasons[bad_rows]}
    ).reset_index(drop=True)
    records = records[~bad_rows]
    if records.empty:
        raise DataError(
            f"{file_name} bevat geen enkel bruikbaar incident: alle {len(frame)} rijen missen een datum, plaats, "
            f"soort of registratienummer (bijv. {_rows_text(unusable_frame['file_row'])}: {unusable_frame['reason'].iloc[0]})."
        )
    duplicated = records.duplicated("registratie_id", keep="last")
    records = records[~duplicated]
    window = (records["pleeg_tot"] - records["pleeg_van"])
    records = records.assign(
        pleeg_midden=records["pleeg_van"] + window / 2,
        venster_dagen=window.dt.total_seconds() / 86400.0,
        wijk_code=records["buurt_code"].map(lambda b: "WK" + b[2:8] if isinstance(b, str) else pd.NA),
        gemeente_code=records["buurt_code"].map(lambda b: "GM" + b[2:6] if isinstance(b, str) else pd.NA),
    )
    return PreparedIncidents(records.reset_index(drop=True), unusable_frame, len(frame), int(duplicated.sum()), system)


def assign_areas(records: pd.DataFrame, boundaries: dict[str, Any]) -> pd.DataFrame:
    """Fill missing buurt/wijk/gemeente codes by the polygon each point falls in.

    ``boundaries``: level ("buurt", "wijk", "gemeente") -> GeoDataFrame in EPSG:28992 with
    ``region_code``. A code given in the file is kept.
    """
    import geopandas as gpd

    out = records.copy()
    if not boundaries or out.empty:
        return out
    points = gpd.GeoDataFrame(out[["x"]], geometry=gpd.points_from_xy(out["x"], out["y"]), crs="EPSG:28992")
    for level, column in (("buurt", "buurt_code"), ("wijk", "wijk_code"), ("gemeente", "gemeente_code")):
        areas = boundaries.get(level)
        need = out[column].isna()
        if areas is None or areas.empty or not need.any():
            continue
        joined = gpd.sjoin(points[need.to_numpy()], areas[["region_code", "geometry"]], how="left", predicate="within")
        joined = joined[~joined.index.duplicated(keep="first")]
        out.loc[joined.index, column] = joined["region_code"].astype(object).where(joined["region_code"].notna(), pd.NA)
    # A buurt found by its polygon also names its wijk and gemeente.
    has_buurt = out["buurt_code"].notna()
    out.loc[has_buurt & out["wijk_code"].isna(), "wijk_code"] = "WK" + out["buurt_code"].str[2:8]
    out.loc[has_buurt & out["gemeente_code"].isna(), "gemeente_code"] = "GM" + out["buurt_code"].str[2:6]
    return out


# --------------------------------------------------------------------------------------------
# Writing: one transaction
# --------------------------------------------------------------------------------------------


def import_incidents(settings: Any, path: Path, *, synthetic: bool = False, now: datetime | None = None) -> ImportResult:
    """Import one extract into the warehouse (``settings``: :class:`~veiligheidsbeeld.config.Settings`)."""
    from veiligheidsbeeld.warehouse import db
    from veiligheidsbeeld.warehouse.sql import query

    path = Path(path)
    inc: IncidentSettings = settings.incidenten
    frame = read_extract(path, inc)
    checksum = sha256_file(path)
    row_offset = 1 if path.suffix.lower() == ".parquet" else 2
    prepared = prepare_incidents(frame, inc, path.name, row_offset=row_offset)
    warehouse = settings.paths.resolved().warehouse
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    with db.writer(warehouse) as con:
        known = con.execute(query(SQL_FILE, "import_by_checksum"), {"checksum": checksum}).fetchall()
        if known:
            import_id, imported_at, _ = known[0]
            return ImportResult(path.name, checksum, int(import_id), True, imported_at=imported_at)
        records = assign_areas(prepared.records, queries.latest_boundaries(con))
        staged = records.drop(columns=["file_row"])
        staged_unusable = prepared.unusable
        imported_at = now or datetime.now()
        con.register("staged", staged)
        con.register("staged_unusable", staged_unusable)
        try:
            con.execute("BEGIN TRANSACTION")
            replaced = con.execute(
                "SELECT count(*) FROM incidenten WHERE registratie_id IN (SELECT registratie_id FROM staged)"
            ).fetchone()[0]
            import_id = int(con.execute(query(SQL_FILE, "next_import_id")).fetchone()[0])
            con.execute(
                query(SQL_FILE, "insert_import"),
                {
                    "import_id": import_id,
                    "file_name": path.name,
                    "checksum": checksum,
                    "imported_at": imported_at,
                    "rows_in_file": prepared.rows_in_file,
                    "rows_imported": len(staged),
                    "rows_unusable": len(staged_unusable),
                    "duplicates": prepared.duplicates,
                    "coordinates": prepared.coordinates,
                    "synthetic": synthetic,
                    "mapping": json.dumps({"kolommen": inc.kolommen, "soort_mapping": inc.soort_mapping}, sort_keys=True),
                },
            )
            con.execute(query(SQL_FILE, "insert_records"), {"import_id": import_id})
            con.execute(query(SQL_FILE, "insert_unusable"), {"import_id": import_id})
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        finally:
            con.unregister("staged")
            con.unregister("staged_unusable")
    return ImportResult(
        path.name, checksum, import_id, False, prepared.rows_in_file, len(staged), staged_unusable,
        prepared.duplicates, int(replaced), prepared.coordinates, synthetic, imported_at,
    )
