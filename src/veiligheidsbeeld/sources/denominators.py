"""CBS denominators: inhabitants, households and dwellings per gemeente (and per wijk/buurt).

Per gemeente and year:

* inhabitants on 1 January and the average population — 03759ned "Bevolking op 1 januari en
  gemiddeld; geslacht, leeftijd en regio" (totals of Geslacht, Leeftijd, BurgerlijkeStaat);
* inhabitants at the start of each month — 37230ned "Bevolkingsontwikkeling; regio per maand";
* private households on 1 January — 71486ned "Huishoudens; samenstelling, grootte, regio,
  1 januari" (total of LeeftijdReferentiepersoon);
* dwelling stock at the start and end of the year — 81955NED "Voorraad woningen en
  niet-woningen; mutaties, gebruiksfunctie, regio" (Gebruiksfunctie: woningen).

Per wijk and buurt: inhabitants and dwelling stock from that year's "Kerncijfers wijken en
buurten <year>" (one table per year, see :data:`KERNCIJFERS_WIJKEN_BUURTEN`).

Everything is read through an :class:`~veiligheidsbeeld.sources.odata.ODataSource` (the live
``CbsApiSource(CBS_CATALOG)`` or a snapshot directory), filtered to the regions and years asked
for. Measure columns are found by their title in DataProperties (keys such as
``Woningvoorraad_34``/``_35`` move between years); the category keys of the "total" rows are
taken from the dimension lists (key first, title as fallback). A missing column or an
unexpected dimension stops the pull with a :class:`SchemaDriftError` naming table and column.

Each pull lands as Parquet plus a provenance file under
``data/raw/denominators/<table>/<vintage>/`` (vintage = the table's ``Modified`` stamp), written
to a temporary name and renamed into place.

Confirmed in public clients of the API: the table ids above, the dimension keys and total keys
(T001038, 10000, T001019, A045364) and the column keys BevolkingOp1Januari_1,
GemiddeldeBevolking_2, BevolkingAanHetBeginVanDePeriode_1, TotaalParticuliereHuishoudens_1,
BeginstandVoorraad_1, EindstandVoorraad_8, AantalInwoners_5 and Woningvoorraad_NN. The column
*titles* used here are derived from those keys (CBS builds keys from titles) and could not be
confirmed against a live DataProperties response; each spec lists alternatives, and a mismatch
fails loudly rather than silently.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
import dataclasses
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from veiligheidsbeeld.config import GeographySettings, IngestSettings
from veiligheidsbeeld.errors import ConfigError, SchemaDriftError, SourceError
from veiligheidsbeeld.regions import gemeente_of
from veiligheidsbeeld.sources.odata import ODataSource, RowFilter
from veiligheidsbeeld.sources.raw_archive import atomic_write_bytes, atomic_write_json, iter_chunks, vintage_from_modified

log = logging.getLogger(__name__)

RAW_SUBDIR = "denominators"
DIMENSION_TYPES = frozenset({"Dimension", "GeoDimension", "GeoDetail", "TimeDimension"})
PERIOD_KEY = re.compile(r"^(\d{4})(JJ|MM|KW|X\d)(\d{2})$")

#: "Kerncijfers wijken en buurten <year>" (opendata.cbs.nl), one table per year. Confirmed by
#: several independent public clients (2013–2025).
KERNCIJFERS_WIJKEN_BUURTEN: dict[int, str] = {
    2013: "82339NED",
    2014: "82931NED",
    2015: "83220NED",
    2016: "83487NED",
    2017: "83765NED",
    2018: "84286NED",
    2019: "84583NED",
    2020: "84799NED",
    2021: "85039NED",
    2022: "85318NED",
    2023: "85618NED",
    2024: "85984NED",
    2025: "86165NED",
}

#: Columns of the tidy denominator frame (and of the Parquet files).
FRAME_COLUMNS: tuple[str, ...] = (
    "region_code",
    "region_level",
    "year",
    "month",
    "measure",
    "value",
    "source_table",
    "table_title",
    "vintage",
    "modified",
    "fetched_at",
    "period_status",
    "source",
)

Level = Literal["gemeente", "wijk_buurt"]


@dataclass(frozen=True)
class DimensionSelection:
    """The one category of a dimension we keep (a total): by key, else by title."""

    dimension: str
    keys: tuple[str, ...] = ()
    titles: tuple[str, ...] = ()


@dataclass(frozen=True)
class MeasureSpec:
    """One measure: our name and the column titles (DataProperties ``Title``) it may carry."""

    name: str
    titles: tuple[str, ...]
    description: str = ""


@dataclass(frozen=True)
class DenominatorTable:
    """How to read one CBS table into denominators."""

    key: str
    table_id: str
    label: str
    measures: tuple[MeasureSpec, ...]
    level: Level = "gemeente"
    selections: tuple[DimensionSelection, ...] = ()
    region_dimension: str = "RegioS"
    period_dimension: str | None = "Perioden"
    #: 'JJ' (year rows), 'MM' (month rows) or None (a table of one year, see ``fixed_year``).
    period_kind: str | None = "JJ"
    fixed_year: int | None = None


POPULATION = DenominatorTable(
    key="bevolking",
    table_id="03759ned",
    label="Bevolking op 1 januari en gemiddeld; geslacht, leeftijd en regio",
    measures=(
        MeasureSpec("inwoners", ("Bevolking op 1 januari",), "inwoners op 1 januari"),
        MeasureSpec("inwoners_gemiddeld", ("Gemiddelde bevolking",), "gemiddeld aantal inwoners in het jaar"),
    ),
    selections=(
        DimensionSelection("Geslacht", ("T001038",), ("Totaal mannen en vrouwen",)),
        DimensionSelection("Leeftijd", ("10000",), ("Totaal",)),
        DimensionSelection("BurgerlijkeStaat", ("T001019",), ("Totaal burgerlijke staat",)),
    ),
)
POPULATION_MONTHLY = DenominatorTable(
    key="bevolking_maand",
    table_id="37230ned",
    label="Bevolkingsontwikkeling; regio per maand",
    measures=(
        MeasureSpec(
            "inwoners_maand",
            ("Bevolking aan het begin van de periode", "Bevolking aan begin van periode"),
            "inwoners aan het begin van de maand",
        ),
    ),
    period_kind="MM",
)
HOUSEHOLDS = DenominatorTable(
    key="huishoudens",
    table_id="71486ned",
    label="Huishoudens; samenstelling, grootte, regio, 1 januari",
    measures=(MeasureSpec("huishoudens", ("Totaal particuliere huishoudens",), "particuliere huishoudens op 1 januari"),),
    selections=(DimensionSelection("LeeftijdReferentiepersoon", ("10000",), ("Totaal",)),),
)
DWELLINGS = DenominatorTable(
    key="woningvoorraad",
    table_id="81955NED",
    label="Voorraad woningen en niet-woningen; mutaties, gebruiksfunctie, regio",
    measures=(
        MeasureSpec("woningen", ("Beginstand voorraad",), "woningvoorraad op 1 januari"),
        MeasureSpec("woningen_eindstand", ("Eindstand voorraad",), "woningvoorraad op 31 december"),
    ),
    selections=(DimensionSelection("Gebruiksfunctie", ("A045364",), ("Woningen",)),),
)
GEMEENTE_TABLES: dict[str, DenominatorTable] = {t.key: t for t in (POPULATION, POPULATION_MONTHLY, HOUSEHOLDS, DWELLINGS)}

#: Measures per gemeente, and the table each comes from.
MEASURES: dict[str, str] = {m.name: t.key for t in GEMEENTE_TABLES.values() for m in t.measures}


def kerncijfers_table(year: int, table_id: str | None = None) -> DenominatorTable:
    """The spec for "Kerncijfers wijken en buurten <year>" (wijk and buurt rows only)."""
    if table_id is None:
        try:
            table_id = KERNCIJFERS_WIJKEN_BUURTEN[int(year)]
        except KeyError:
            known = ", ".join(str(y) for y in sorted(KERNCIJFERS_WIJKEN_BUURTEN))
            raise ConfigError(f"Geen tabel 'Kerncijfers wijken en buurten' bekend voor {year}. Bekend: {known}.") from None
    return DenominatorTable(
        key=f"kwb_{year}",
        table_id=table_id,
        label=f"Kerncijfers wijken en buurten {year}",
        measures=(
            MeasureSpec("inwoners", ("Aantal inwoners",), "inwoners op 1 januari"),
            MeasureSpec("woningen", ("Woningvoorraad",), "woningvoorraad op 1 januari"),
        ),
        level="wijk_buurt",
        region_dimension="WijkenEnBuurten",
        period_dimension=None,
        period_kind=None,
        fixed_year=int(year),
    )


@dataclass(frozen=True)
class DenominatorPull:
    """What one table pull gave: the tidy frame and its provenance."""

    spec: DenominatorTable
    frame: pd.DataFrame
    provenance: dict[str, Any]
    path: Path | None = None


# --------------------------------------------------------------------------------------------
# Metadata resolution
# --------------------------------------------------------------------------------------------


def _fold(text: Any) -> str:
    return " ".join(re.sub(r"[^0-9a-z]+", " ", str(text or "").lower()).split())


def resolve_measure_columns(spec: DenominatorTable, data_properties: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Measure name -> column key, found by title among the Topics of DataProperties."""
    topics = [p for p in data_properties if p.get("Type") == "Topic" and p.get("Key")]
    out: dict[str, str] = {}
    for measure in spec.measures:
        wanted = {_fold(t) for t in measure.titles}
        hits = [str(p["Key"]) for p in topics if _fold(p.get("Title")) in wanted]
        if len(hits) != 1:
            what = "ontbreekt" if not hits else f"is niet eenduidig ({', '.join(hits)})"
            titles = " / ".join(f"'{t}'" for t in measure.titles)
            known = ", ".join(f"{p['Key']} ('{p.get('Title')}')" for p in topics[:40])
            raise SchemaDriftError(
                f"Tabel {spec.table_id} ({spec.label}): de kolom {titles} voor '{measure.name}' {what}. "
                f"Gevonden kolommen: {known or 'geen'}."
            )
        out[measure.name] = hits[0]
    return out


def dimensions_of(data_properties: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    return {str(p["Key"]): str(p.get("Type")) for p in data_properties if p.get("Type") in DIMENSION_TYPES and p.get("Key")}


def check_dimensions(spec: DenominatorTable, data_properties: Sequence[Mapping[str, Any]]) -> None:
    """Every dimension must be the region, the period or one we select a total of."""
    dims = dimensions_of(data_properties)
    expected = {spec.region_dimension, *(s.dimension for s in spec.selections)}
    if spec.period_dimension:
        expected.add(spec.period_dimension)
    missing = sorted(expected - set(dims))
    unknown = sorted(set(dims) - expected)
    if missing or unknown:
        parts = []
        if missing:
            parts.append(f"dimensie(s) {', '.join(missing)} ontbreken")
        if unknown:
            parts.append(f"onverwachte dimensie(s) {', '.join(unknown)} (zonder keuze van een totaal zou er dubbel geteld worden)")
        raise SchemaDriftError(f"Tabel {spec.table_id} ({spec.label}) is van vorm veranderd: {'; '.join(parts)}.")


def resolve_selection(spec: DenominatorTable, selection: DimensionSelection, rows: Sequence[Mapping[str, Any]]) -> str:
    """The raw key (padding kept) of the selected category."""
    for key in selection.keys:
        for r in rows:
            if str(r.get("Key", "")).strip() == key:
                return str(r["Key"])
    titles = {_fold(t) for t in selection.titles}
    hits = [str(r["Key"]) for r in rows if _fold(r.get("Title")) in titles]
    if len(hits) == 1:
        return hits[0]
    raise SchemaDriftError(
        f"Tabel {spec.table_id}: in dimensie {selection.dimension} ontbreekt de categorie "
        f"{' / '.join(selection.keys + selection.titles)}."
    )


def parse_period(key: str) -> tuple[int, str, int] | None:
    """'2023JJ00' -> (2023, 'JJ', 0); '2023MM04' -> (2023, 'MM', 4)."""
    m = PERIOD_KEY.match(str(key).strip())
    return (int(m.group(1)), m.group(2), int(m.group(3))) if m else None


def _region_level(code: str) -> str:
    return {"GM": "gemeente", "WK": "wijk", "BU": "buurt"}.get(code[:2], "overig")


# --------------------------------------------------------------------------------------------
# Pulling
# --------------------------------------------------------------------------------------------


def fetch_denominator_table(
    source: ODataSource,
    spec: DenominatorTable,
    gemeente_codes: Iterable[str],
    years: Iterable[int] | None = None,
    *,
    max_url_chars: int = IngestSettings.max_url_chars,
    fetched_at: str | None = None,
) -> DenominatorPull:
    """Read one table for the given gemeenten (and their wijken/buurten) and years."""
    gemeenten = sorted({str(c).strip().upper() for c in gemeente_codes})
    if not gemeenten:
        raise ConfigError("Geen gemeenten opgegeven om noemers voor op te halen.")
    wanted_years = sorted({int(y) for y in years}) if years is not None else None
    fetched_at = fetched_at or datetime.now(timezone.utc).replace(microsecond=0).isoformat()

    infos = source.entity(spec.table_id, "TableInfos")
    if not infos:
        raise SourceError(f"Tabel {spec.table_id}: TableInfos is leeg.")
    info = infos[0]
    identifier = str(info.get("Identifier", spec.table_id)).strip()
    if identifier.upper() != spec.table_id.upper():
        raise SchemaDriftError(f"Bron levert tabel {identifier} waar {spec.table_id} gevraagd werd.")
    modified = str(info.get("Modified") or "").strip()
    if not modified:
        raise SchemaDriftError(f"Tabel {spec.table_id}: TableInfos heeft geen 'Modified'-datum.")
    vintage = vintage_from_modified(modified)
    title = str(info.get("Title") or spec.label).strip()

    props = source.entity(spec.table_id, "DataProperties")
    check_dimensions(spec, props)
    measure_keys = resolve_measure_columns(spec, props)

    base_filter: dict[str, tuple[str, ...]] = {}
    for selection in spec.selections:
        base_filter[selection.dimension] = (
            resolve_selection(spec, selection, source.entity(spec.table_id, selection.dimension)),
        )

    periods: dict[str, tuple[int, int | None, str | None]] = {}
    if spec.period_dimension:
        for r in source.entity(spec.table_id, spec.period_dimension):
            parsed = parse_period(str(r.get("Key", "")))
            if parsed is None or parsed[1] != spec.period_kind:
                continue
            year, _, sub = parsed
            if wanted_years is not None and year not in wanted_years:
                continue
            periods[str(r["Key"])] = (year, sub if spec.period_kind == "MM" else None, (r.get("Status") or None))
        if not periods:
            log.warning("Tabel %s heeft geen perioden voor %s", spec.table_id, wanted_years)
    elif wanted_years is not None and spec.fixed_year not in wanted_years:
        raise ConfigError(f"Tabel {spec.table_id} gaat over {spec.fixed_year}, niet over {wanted_years}.")

    wanted = set(gemeenten)
    region_rows = source.entity(spec.table_id, spec.region_dimension)
    region_keys: dict[str, str] = {}
    for r in region_rows:
        code = str(r.get("Key", "")).strip()
        if spec.level == "gemeente":
            if code in wanted:
                region_keys[str(r["Key"])] = code
        elif code[:2] in ("WK", "BU") and gemeente_of(str(r.get("Key", "")), r.get("Municipality")) in wanted:
            region_keys[str(r["Key"])] = code
    absent = sorted(wanted - {gemeente_of(c) for c in region_keys.values()})
    if absent:
        log.warning("Tabel %s kent geen regio's voor %s", spec.table_id, ", ".join(absent))

    select = [spec.region_dimension, *([spec.period_dimension] if spec.period_dimension else []), *measure_keys.values()]
    rows: list[dict[str, Any]] = []
    if region_keys and (periods or not spec.period_dimension):
        for row_filter in _filters(spec, base_filter, list(region_keys), list(periods), max_url_chars):
            for page in source.iter_pages(spec.table_id, row_filter, select):
                rows.extend(page)

    records = []
    for r in rows:
        missing = [k for k in select if k not in r]
        if missing:
            raise SchemaDriftError(
                f"Tabel {spec.table_id} ({spec.label}): kolom(men) {', '.join(missing)} ontbreken in de gegevens."
            )
        code = region_keys.get(str(r[spec.region_dimension]))
        if code is None:
            continue
        if spec.period_dimension:
            period = periods.get(str(r[spec.period_dimension]))
            if period is None:
                continue
            year, month, status = period
        else:
            year, month, status = int(spec.fixed_year or 0), None, None
        for name, key in measure_keys.items():
            value = r[key]
            records.append(
                {
                    "region_code": code,
                    "region_level": _region_level(code),
                    "year": year,
                    "month": month,
                    "measure": name,
                    "value": float(value) if value is not None else float("nan"),
                    "source_table": spec.table_id,
                    "table_title": title,
                    "vintage": vintage,
                    "modified": modified,
                    "fetched_at": fetched_at,
                    "period_status": status,
                    "source": source.description,
                }
            )
    frame = tidy_frame(pd.DataFrame.from_records(records, columns=list(FRAME_COLUMNS)))
    for name in measure_keys:
        values = frame.loc[frame["measure"] == name, "value"]
        if len(values) and values.isna().all():
            log.warning("Tabel %s: '%s' is voor alle gevraagde regio's en perioden leeg (niet gepubliceerd)", spec.table_id, name)
    provenance = {
        "table_id": spec.table_id,
        "table_title": title,
        "spec": spec.key,
        "modified": modified,
        "vintage": vintage,
        "fetched_at": fetched_at,
        "source": source.description,
        "measures": {name: {"column": key} for name, key in measure_keys.items()},
        "selections": {dim: keys[0] for dim, keys in base_filter.items()},
        "gemeenten": gemeenten,
        "years": wanted_years if wanted_years is not None else "alle",
        "periods": sorted(periods),
        "regions_requested": len(region_keys),
        "rows": int(len(frame)),
        "missing_values": int(frame["value"].isna().sum()),
    }
    return DenominatorPull(spec=spec, frame=frame, provenance=provenance)


def _filters(
    spec: DenominatorTable,
    base: dict[str, tuple[str, ...]],
    region_keys: list[str],
    period_keys: list[str],
    max_url_chars: int,
) -> Iterable[RowFilter]:
    if spec.level == "wijk_buurt":
        # Thousands of wijk/buurt keys do not fit in URLs; the table has a few columns we select,
        # so it is read whole (two or three pages) and filtered here.
        yield RowFilter(dict(base))
        return
    values = dict(base)
    if spec.period_dimension:
        values[spec.period_dimension] = tuple(period_keys)
    used = len(RowFilter(values).to_odata()) * 3 if values else 0
    overhead = len(spec.region_dimension) + 12
    for chunk in iter_chunks(region_keys, max(500, max_url_chars - used), overhead):
        yield RowFilter({**values, spec.region_dimension: tuple(chunk)})


def tidy_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Fix column order and types of a denominator frame."""
    out = frame.reindex(columns=list(FRAME_COLUMNS)).copy()
    out["year"] = out["year"].astype("int64")
    out["month"] = out["month"].astype("Int64")
    out["value"] = out["value"].astype("float64")
    for c in FRAME_COLUMNS:
        if c not in ("year", "month", "value"):
            out[c] = out[c].astype("string")
    return out.sort_values(["source_table", "measure", "region_code", "year", "month"]).reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Raw landing zone
# --------------------------------------------------------------------------------------------


def raw_dir(raw_root: Path, table_id: str, vintage: str) -> Path:
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", table_id) or not re.fullmatch(r"[A-Za-z0-9T]+", vintage):
        raise SourceError(f"Ongeldige tabel of vintage: {table_id!r}/{vintage!r}.")
    return Path(raw_root) / RAW_SUBDIR / table_id / vintage


def write_raw(pull: DenominatorPull, raw_root: Path) -> DenominatorPull:
    """Write a pull as ``<selection>.parquet`` + ``<selection>.provenance.json``, atomically.

    The selection name is a hash of what was asked (table, measures, gemeenten, years), so a
    repeated identical pull rewrites the same file and a different selection gets its own.
    """
    p = pull.provenance
    selection = json.dumps([p["spec"], sorted(p["measures"]), p["gemeenten"], p["years"]], sort_keys=True)
    name = "selectie-" + hashlib.sha256(selection.encode()).hexdigest()[:12]
    directory = raw_dir(raw_root, p["table_id"], p["vintage"])
    path = directory / f"{name}.parquet"
    table = pa.Table.from_pandas(pull.frame, preserve_index=False)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    atomic_write_bytes(path, sink.getvalue().to_pybytes())
    atomic_write_json(directory / f"{name}.provenance.json", {**p, "file": path.name})
    return DenominatorPull(spec=pull.spec, frame=pull.frame, provenance=p, path=path)


def load_raw_denominators(raw_root: Path) -> pd.DataFrame:
    """All stored denominators; per region, period, measure and table the newest vintage wins."""
    base = Path(raw_root) / RAW_SUBDIR
    files = sorted(base.glob("*/*/*.parquet")) if base.is_dir() else []
    if not files:
        return tidy_frame(pd.DataFrame(columns=list(FRAME_COLUMNS)))
    frames = []
    for f in files:
        try:
            frames.append(pq.read_table(f).to_pandas())
        except (OSError, pa.ArrowInvalid) as exc:
            raise SourceError(f"Noemerbestand {f} is beschadigd: {exc}") from exc
    frame = tidy_frame(pd.concat(frames, ignore_index=True))
    frame = frame.sort_values(["vintage", "fetched_at"])
    keys = ["source_table", "region_code", "year", "month", "measure"]
    return tidy_frame(frame.drop_duplicates(subset=keys, keep="last"))


# --------------------------------------------------------------------------------------------
# The pull as a whole
# --------------------------------------------------------------------------------------------


def table_specs(settings: GeographySettings) -> list[DenominatorTable]:
    """The table specs ``settings`` (``[geography]``) asks for, with table-id overrides applied."""
    keys = list(settings.denominator_tables)
    if settings.monthly_population and "bevolking_maand" not in keys:
        keys.append("bevolking_maand")
    specs: list[DenominatorTable] = []
    for key in keys:
        if key not in GEMEENTE_TABLES:
            raise ConfigError(f"Onbekende noemertabel '{key}'. Geldig: {', '.join(sorted(GEMEENTE_TABLES))}.")
        spec = GEMEENTE_TABLES[key]
        if key in settings.denominator_table_ids:
            spec = dataclasses.replace(spec, table_id=settings.denominator_table_ids[key])
        specs.append(spec)
    for year in settings.wijk_buurt_years:
        specs.append(kerncijfers_table(year, settings.denominator_table_ids.get(f"kwb_{year}")))
    return specs


def pull_denominators(
    source: ODataSource,
    gemeente_codes: Iterable[str],
    years: Iterable[int],
    raw_root: Path,
    settings: GeographySettings | None = None,
    *,
    max_url_chars: int = IngestSettings.max_url_chars,
) -> pd.DataFrame:
    """Pull every denominator table ``settings`` (``[geography]``) names for the gemeenten and
    years, store each raw. ``max_url_chars``: ``[ingest] max_url_chars``."""
    settings = settings or GeographySettings()
    gemeenten = list(gemeente_codes)
    years = list(years)
    frames = []
    for spec in table_specs(settings):
        span = years if spec.fixed_year is None else None
        pull = write_raw(fetch_denominator_table(source, spec, gemeenten, span, max_url_chars=max_url_chars), raw_root)
        log.info("Noemers %s (%s): %d rijen naar %s", spec.table_id, spec.key, len(pull.frame), pull.path)
        frames.append(pull.frame)
    return tidy_frame(pd.concat(frames, ignore_index=True)) if frames else tidy_frame(pd.DataFrame(columns=list(FRAME_COLUMNS)))


__all__ = [
    "DWELLINGS",
    "FRAME_COLUMNS",
    "GEMEENTE_TABLES",
    "HOUSEHOLDS",
    "KERNCIJFERS_WIJKEN_BUURTEN",
    "MEASURES",
    "POPULATION",
    "POPULATION_MONTHLY",
    "DenominatorPull",
    "DenominatorTable",
    "DimensionSelection",
    "MeasureSpec",
    "fetch_denominator_table",
    "kerncijfers_table",
    "load_raw_denominators",
    "pull_denominators",
    "write_raw",
]
