"""Settings as frozen, typed objects, validated once at the edge.

Everything a user may want to change (area, tables, codes, windows, targets, paths) lives here,
so that another regionale eenheid or a new strategy period is a configuration change only.
Settings can be read from a TOML file (``veiligheidsbeeld.toml`` in the working directory, or the
path in ``VEILIGHEIDSBEELD_CONFIG``); anything not given keeps its default.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from veiligheidsbeeld.errors import ConfigError
from veiligheidsbeeld.incidents.settings import IncidentSettings

#: The CBS catalog that hosts the police tables ("Politie" catalog, third-party data).
POLITIE_CATALOG = "dataderden.cbs.nl"
#: The CBS catalog for CBS's own tables (population, dwellings, regional classifications).
CBS_CATALOG = "opendata.cbs.nl"


@dataclass(frozen=True)
class PoliceTable:
    """One monthly police table: which dimension holds the type code and which column the count."""

    table_id: str
    type_dimension: str
    measure: str
    region_dimension: str = "WijkenEnBuurten"
    period_dimension: str = "Perioden"
    rollup_codes: tuple[str, ...] = ("0.0.0",)
    label: str = ""


MISDRIJVEN = PoliceTable(
    table_id="47022NED",
    type_dimension="SoortMisdrijf",
    measure="GeregistreerdeMisdrijven_1",
    label="Geregistreerde misdrijven",
)
OVERLAST = PoliceTable(
    table_id="47024NED",
    type_dimension="Overlast",
    measure="GeregistreerdeOverlast_1",
    label="Geregistreerde overlast",
)
KNOWN_POLICE_TABLES: dict[str, PoliceTable] = {t.table_id: t for t in (MISDRIJVEN, OVERLAST)}


@dataclass(frozen=True)
class IngestSettings:
    """How the police tables are pulled."""

    tables: tuple[str, ...] = ("47022NED", "47024NED")
    catalog_url: str = POLITIE_CATALOG
    use_https: bool = True
    start_year: int = 2012
    #: Recent months are provisional and get revised; an incremental pull refetches this many.
    revision_window_months: int = 24
    #: Months counted as provisional when the period dimension carries no status.
    provisional_months: int = 12
    #: Type codes to pull per table; empty means all codes.
    codes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    include_wijken_buurten: bool = True
    include_nl: bool = True
    #: Codes pulled for the gemeente rows of ALL Dutch gemeenten (no wijken/buurten), for national
    #: rankings such as the jeugdoverlast top ten. Empty: only the configured area.
    national_gemeente_codes: dict[str, tuple[str, ...]] = field(
        default_factory=lambda: {"47024NED": ("0.0.0", "E35")}
    )
    #: Requests in flight at once. Six is what a web browser opens per host; the CBS API answers
    #: overload with 429/503 and Retry-After, which every request honours (backoff), so a
    #: busy server slows us down rather than failing the pull. The benchmark (issue 6) shows the
    #: pull is latency-bound: the wall time falls with this number.
    concurrency: int = 6
    retries: int = 5
    backoff_seconds: float = 1.0
    backoff_max_seconds: float = 60.0
    timeout_seconds: float = 120.0
    #: Consecutive years of a small region group share one partition up to this many cells
    #: (regions × codes × periods): every query ends in a partly filled 10,000-row page, so
    #: NL00 or a small gemeente's overlast fetched per year costs a nearly empty request a year.
    #: 0: one partition per year.
    partition_rows: int = 100_000
    #: Upper bound for one request's URL; region lists are chunked to stay below it.
    max_url_chars: int = 6000
    #: DuckDB's memory limit while loading (e.g. "4GB"); above it DuckDB spills to disk.
    #: Empty: DuckDB's default (80% of the machine's memory).
    warehouse_memory_limit: str = ""


@dataclass(frozen=True)
class AreaSettings:
    """The area the reports cover: a regionale eenheid and its districts."""

    eenheid_code: str = "RE02"
    eenheid_naam: str = "Oost-Nederland"
    layout_year: int = 2023
    #: A district table (CSV with gemeente_code, gemeente_naam, district_code, district_naam,
    #: eenheid_code, eenheid_naam). Empty: the checked-in reference table of the eenheid.
    district_table: str = ""


@dataclass(frozen=True)
class GeographySettings:
    """Denominators (CBS) and boundaries (PDOK) fetched with the ingest."""

    fetch_denominators: bool = True
    #: Which denominator tables: any of "bevolking", "huishoudens", "woningvoorraad".
    denominator_tables: tuple[str, ...] = ("bevolking", "huishoudens", "woningvoorraad")
    #: Years of the "Kerncijfers wijken en buurten" tables; empty: the last two years of police data.
    wijk_buurt_years: tuple[int, ...] = ()
    fetch_boundaries: bool = True
    boundary_levels: tuple[str, ...] = ("gemeente", "wijk")
    #: Local boundary files per level ("gemeente" = "path/to/file.topojson"), used instead of PDOK.
    boundary_files: dict[str, str] = field(default_factory=dict)


def _default_hic() -> dict[str, tuple[str, ...]]:
    return {"Straatroof": ("1.4.6",), "Overval": ("1.4.7",), "Geweld": ("1.4.3", "1.4.4", "1.4.5")}


@dataclass(frozen=True)
class TweewekelijksSettings:
    """Settings of the biweekly woninginbraak analysis (TOML section ``[tweewekelijks]``)."""

    table_id: str = "47022NED"
    crime_code: str = "1.1.1"
    crime_label: str = "Woninginbraak"
    #: High Impact Crime groups next to woninginbraak: label -> leaf codes summed per group.
    hic: dict[str, tuple[str, ...]] = field(default_factory=_default_hic)
    #: Donkere Dagen season (first and last month, inclusive; may wrap around the year end).
    season_start_month: int = 10
    season_end_month: int = 3
    #: Rates per 1,000 dwellings for wijken and buurten only from this many dwellings on: with
    #: fewer, one or two break-ins swing the rate wildly.
    buurt_min_dwellings: int = 200
    #: Control chart window and the months of it that set the centre line (the rest is judged).
    control_chart_months: int = 36
    control_chart_baseline_months: int = 24
    #: Earlier years drawn next to the current one in the monthly series.
    series_years: int = 3
    alpha: float = 0.05
    test_method: str = "etest"
    per: int = 1000
    top_n: int = 10
    #: Denominator measure for rates (dwelling stock on 1 January).
    dwellings_measure: str = "woningen"

    def groups(self) -> dict[str, tuple[str, ...]]:
        """Woninginbraak first, then the HIC groups: label -> leaf codes."""
        return {self.crime_label: (self.crime_code,), **{k: tuple(v) for k, v in self.hic.items()}}

    def validate(self) -> TweewekelijksSettings:
        for m in (self.season_start_month, self.season_end_month):
            if not 1 <= m <= 12:
                raise ConfigError(f"[tweewekelijks] seizoensmaand {m} bestaat niet; kies 1 t/m 12.")
        if not 24 <= self.control_chart_months <= 60:
            raise ConfigError("[tweewekelijks].control_chart_months moet tussen 24 en 60 liggen.")
        if not 12 <= self.control_chart_baseline_months <= self.control_chart_months:
            raise ConfigError(
                "[tweewekelijks].control_chart_baseline_months moet minstens 12 zijn en niet groter dan "
                "control_chart_months."
            )
        if not 0 < self.alpha < 0.5:
            raise ConfigError("[tweewekelijks].alpha moet tussen 0 en 0,5 liggen (bijv. 0.05).")
        if self.test_method not in ("etest", "exact-cond"):
            raise ConfigError("[tweewekelijks].test_method moet 'etest' of 'exact-cond' zijn.")
        if self.buurt_min_dwellings < 1 or self.top_n < 1 or self.series_years < 0:
            raise ConfigError("[tweewekelijks]: buurt_min_dwellings en top_n moeten positief zijn.")
        groups = self.groups()
        if len(groups) != 1 + len(self.hic):
            raise ConfigError(f"[tweewekelijks].hic mag geen groep '{self.crime_label}' bevatten.")
        for label, codes in groups.items():
            if not codes:
                raise ConfigError(f"[tweewekelijks]: groep '{label}' heeft geen codes.")
            if len(set(codes)) != len(codes):
                raise ConfigError(f"[tweewekelijks]: groep '{label}' noemt een code dubbel.")
        return self


@dataclass(frozen=True)
class Paths:
    root: Path = Path(".")
    raw: Path = Path("data/raw")
    warehouse: Path = Path("data/warehouse/veiligheidsbeeld.duckdb")
    reports: Path = Path("reports")

    def resolved(self) -> "Paths":
        root = self.root.resolve()

        def fix(p: Path) -> Path:
            return p if p.is_absolute() else root / p

        return Paths(root=root, raw=fix(self.raw), warehouse=fix(self.warehouse), reports=fix(self.reports))


@dataclass(frozen=True)
class Settings:
    ingest: IngestSettings = field(default_factory=IngestSettings)
    area: AreaSettings = field(default_factory=AreaSettings)
    geography: GeographySettings = field(default_factory=GeographySettings)
    tweewekelijks: TweewekelijksSettings = field(default_factory=TweewekelijksSettings)
    paths: Paths = field(default_factory=Paths)
    #: The overlast target ([doel_overlast]: base_year, target_year, reduction, milestones);
    #: validated by analysis.overlast_doel.OverlastTargetSettings. Empty: the strategy's targets.
    doel_overlast: dict[str, Any] = field(default_factory=dict)
    #: Incident extracts (issue 18): import mapping, grid, Knox and alert settings.
    incidenten: IncidentSettings = field(default_factory=IncidentSettings)

    def with_paths(self, **kwargs: Any) -> "Settings":
        return dataclasses.replace(self, paths=dataclasses.replace(self.paths, **kwargs))

    def with_ingest(self, **kwargs: Any) -> "Settings":
        return dataclasses.replace(self, ingest=dataclasses.replace(self.ingest, **kwargs))


def police_table(table_id: str) -> PoliceTable:
    try:
        return KNOWN_POLICE_TABLES[table_id.strip().upper()]
    except KeyError:
        valid = ", ".join(sorted(KNOWN_POLICE_TABLES))
        raise ConfigError(f"Onbekende tabel '{table_id}'. Geldige tabellen: {valid}.") from None


def _build(cls: type, values: dict[str, Any], section: str) -> Any:
    names = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(values) - set(names)
    if unknown:
        raise ConfigError(
            f"Onbekende instelling(en) in [{section}]: {', '.join(sorted(unknown))}. "
            f"Geldig: {', '.join(sorted(names))}."
        )
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        default = getattr(cls(), key)
        if isinstance(default, tuple):
            value = tuple(value)
        elif isinstance(default, Path):
            value = Path(value)
        elif isinstance(default, dict):
            value = {k: (tuple(v) if isinstance(v, list) else v) for k, v in value.items()}
        elif default is not None and not isinstance(value, type(default)) and not (
            isinstance(default, float) and isinstance(value, int)
        ):
            raise ConfigError(
                f"Instelling [{section}].{key} moet van type {type(default).__name__} zijn, niet {value!r}."
            )
        kwargs[key] = value
    return cls(**kwargs)


def validate(settings: Settings) -> Settings:
    ing = settings.ingest
    for t in ing.tables:
        police_table(t)
    if not 2000 <= ing.start_year <= 2100:
        raise ConfigError(f"start_year {ing.start_year} is geen plausibel jaar.")
    if ing.partition_rows < 0:
        raise ConfigError("partition_rows mag niet negatief zijn (0: één partitie per jaar).")
    if ing.revision_window_months < 0:
        raise ConfigError("revision_window_months mag niet negatief zijn.")
    if ing.concurrency < 1:
        raise ConfigError("concurrency moet minstens 1 zijn.")
    settings.tweewekelijks.validate()
    settings.incidenten.validate()
    if settings.doel_overlast:
        # Imported here: the analysis package imports this module.
        from veiligheidsbeeld.analysis.overlast_doel import OverlastTargetSettings

        OverlastTargetSettings.from_mapping(settings.doel_overlast)
    return settings


def load_settings(path: Path | None = None, **path_overrides: Any) -> Settings:
    """Read settings from TOML (if any) and validate them."""
    if path is None:
        env = os.environ.get("VEILIGHEIDSBEELD_CONFIG")
        candidate = Path(env) if env else Path("veiligheidsbeeld.toml")
        path = candidate if candidate.exists() else None
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"Configuratiebestand '{path}' bestaat niet.") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"Configuratiebestand '{path}' is geen geldige TOML: {exc}") from None
    sections = {
        "ingest": IngestSettings,
        "area": AreaSettings,
        "geography": GeographySettings,
        "tweewekelijks": TweewekelijksSettings,
        "paths": Paths,
        "incidenten": IncidentSettings,
    }
    unknown = set(data) - set(sections) - {"doel_overlast"}
    if unknown:
        raise ConfigError(f"Onbekende sectie(s) in configuratie: {', '.join(sorted(unknown))}.")
    kwargs = {name: _build(cls, data.get(name, {}), name) for name, cls in sections.items()}
    settings = Settings(**kwargs, doel_overlast=dict(data.get("doel_overlast", {})))
    overrides = {k: Path(v) for k, v in path_overrides.items() if v is not None}
    if overrides:
        settings = settings.with_paths(**overrides)
    return validate(settings)
