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
from collections.abc import Iterable
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
    """One police table: which dimension holds the type code and which column the count."""

    table_id: str
    type_dimension: str
    measure: str
    region_dimension: str = "WijkenEnBuurten"
    period_dimension: str = "Perioden"
    rollup_codes: tuple[str, ...] = ("0.0.0",)
    label: str = ""
    #: "monthly" (months plus JJ00 year rows) or "yearly" (JJ00 year rows only, loaded into
    #: facts_yearly_reported).
    frequency: str = "monthly"
    #: The national region code of the table's region list.
    national_code: str = "NL00"
    #: Codes pulled when ``[ingest] codes`` names none for this table (empty: all codes).
    default_codes: tuple[str, ...] = ()

    @property
    def yearly(self) -> bool:
        return self.frequency == "yearly"


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
#: The yearly misdrijven table: it publishes what the monthly table does not (zedenmisdrijven,
#: kinderporno, kinderprostitutie), per gemeente (RegioS), year rows only. Only those codes are
#: pulled by default: the monthly table has the rest.
MISDRIJVEN_JAAR = PoliceTable(
    table_id="47025NED",
    type_dimension="SoortMisdrijf",
    measure="GeregistreerdeMisdrijven_1",
    region_dimension="RegioS",
    label="Geregistreerde misdrijven per jaar",
    frequency="yearly",
    national_code="NL01",
    default_codes=("1.4.1", "3.2.1", "3.2.2"),
)
KNOWN_POLICE_TABLES: dict[str, PoliceTable] = {t.table_id: t for t in (MISDRIJVEN, OVERLAST, MISDRIJVEN_JAAR)}


@dataclass(frozen=True)
class IngestSettings:
    """How the police tables are pulled."""

    tables: tuple[str, ...] = ("47022NED", "47024NED", "47025NED")
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


@dataclass(frozen=True)
class StatistiekSettings:
    """The one statistics setting every report, summary and monitor uses (TOML ``[statistiek]``)."""

    #: Level of a single test and of the intervals (1 - alpha).
    alpha: float = 0.05
    #: False discovery rate controlled over all comparisons of one report (Benjamini-Hochberg):
    #: on average at most this share of the flags is chance.
    fdr_q: float = 0.10
    #: Allow for counts more variable than Poisson (quasi-Poisson phi from each series' history).
    overdispersion: bool = True
    #: Years of history read for phi and the seasonal index (before the months compared).
    history_years: int = 5
    #: Pairs of months a gemeente's own phi counts as; fewer pull it towards its district's.
    dispersion_prior_pairs: int = 24
    #: Complete years needed before a seasonal index is estimated (else: flat).
    seasonal_min_years: int = 3
    #: Control limits at expected ± sigma·sqrt(phi·expected).
    control_sigma: float = 3.0
    #: The latest months whose control-chart signals a report talks about.
    judged_months: int = 3

    def validate(self) -> StatistiekSettings:
        if not 0 < self.alpha < 0.5:
            raise ConfigError("[statistiek].alpha moet tussen 0 en 0,5 liggen (bijv. 0.05).")
        if not 0 < self.fdr_q < 0.5:
            raise ConfigError("[statistiek].fdr_q moet tussen 0 en 0,5 liggen (bijv. 0.10).")
        if not 2 <= self.history_years <= 12:
            raise ConfigError("[statistiek].history_years moet tussen 2 en 12 liggen.")
        if not 1 <= self.seasonal_min_years <= self.history_years:
            raise ConfigError("[statistiek].seasonal_min_years moet tussen 1 en history_years liggen.")
        if not 1 <= self.judged_months <= 12:
            raise ConfigError("[statistiek].judged_months moet tussen 1 en 12 liggen.")
        if self.control_sigma <= 0 or self.dispersion_prior_pairs < 0:
            raise ConfigError("[statistiek]: control_sigma moet positief zijn en dispersion_prior_pairs niet negatief.")
        return self


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
    statistiek: StatistiekSettings = field(default_factory=StatistiekSettings)
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


_TYPE_NAMES = {bool: "true of false", int: "een geheel getal", float: "een getal", str: "tekst", Path: "een pad (tekst)"}


def checked(value: Any, hint: Any, where: str) -> Any:
    """``value`` from TOML checked against a type hint (int, float, bool, str, Path, Any,
    tuple[X, ...], dict[K, V]) and converted; anything else is one sentence naming the setting.

    Strict on purpose: 2013.7 is not a year, "47022NED" is not a list of tables, true is not a
    count (bool is an int subclass in Python)."""
    import math
    import typing

    origin = typing.get_origin(hint)
    if hint is Any:
        return value
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"Instelling {where} moet een lijst zijn (bijv. [\"a\", \"b\"]), niet {value!r}.")
        inner = typing.get_args(hint)[0]
        return tuple(checked(v, inner, f"{where}[{i}]") for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"Instelling {where} moet een tabel zijn (bijv. {{ sleutel = ... }}), niet {value!r}.")
        _key, inner = typing.get_args(hint)
        return {str(k): checked(v, inner, f"{where}.{k}") for k, v in value.items()}
    ok = {
        bool: isinstance(value, bool),
        int: isinstance(value, int) and not isinstance(value, bool),
        float: isinstance(value, (int, float)) and not isinstance(value, bool)
        and math.isfinite(float(value)),
        str: isinstance(value, str),
        Path: isinstance(value, (str, Path)),
    }.get(hint)
    if ok is None:  # a type this checker does not know: leave it to the dataclass
        return value
    if not ok:
        raise ConfigError(f"Instelling {where} moet {_TYPE_NAMES[hint]} zijn, niet {value!r}.")
    if hint is float:
        return float(value)
    if hint is Path:
        return Path(value)
    return value


def _build(cls: type, values: Any, section: str) -> Any:
    import typing

    if not isinstance(values, dict):
        raise ConfigError(f"[{section}] moet een sectie met instellingen zijn, niet {values!r}.")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(values) - names
    if unknown:
        raise ConfigError(
            f"Onbekende instelling(en) in [{section}]: {', '.join(sorted(unknown))}. "
            f"Geldig: {', '.join(sorted(names))}."
        )
    kwargs = {key: checked(value, hints[key], f"[{section}].{key}") for key, value in values.items()}
    return cls(**kwargs)


def _check_keys(mapping: dict[str, Any], valid: Iterable[str], where: str) -> None:
    """A misspelt key inside a mapping setting is refused, never silently ignored."""
    valid = list(valid)
    unknown = [k for k in mapping if k not in valid]
    if unknown:
        raise ConfigError(
            f"Onbekende sleutel(s) in {where}: {', '.join(repr(k) for k in unknown)}. Geldig: {', '.join(valid)}."
        )


def validate(settings: Settings) -> Settings:
    ing = settings.ingest
    if not ing.tables:
        raise ConfigError("[ingest].tables is leeg; noem minstens één tabel, bijv. [\"47022NED\"].")
    for t in ing.tables:
        police_table(t)
    _check_keys(ing.codes, KNOWN_POLICE_TABLES, "[ingest].codes")
    _check_keys(ing.national_gemeente_codes, KNOWN_POLICE_TABLES, "[ingest].national_gemeente_codes")
    geo = settings.geography
    levels = ("gemeente", "veiligheidsregio", "wijk", "buurt")  # the levels of sources.boundaries
    _check_keys(geo.boundary_files, levels, "[geography].boundary_files")
    for level in geo.boundary_levels:
        _check_keys({level: None}, levels, "[geography].boundary_levels")
    for name in ("retries", "provisional_months", "backoff_seconds", "backoff_max_seconds"):
        if getattr(ing, name) < 0:
            raise ConfigError(f"[ingest].{name} mag niet negatief zijn, niet {getattr(ing, name)}.")
    for name in ("timeout_seconds", "max_url_chars"):
        if getattr(ing, name) <= 0:
            raise ConfigError(f"[ingest].{name} moet groter dan 0 zijn, niet {getattr(ing, name)}.")
    if not 2000 <= ing.start_year <= 2100:
        raise ConfigError(f"start_year {ing.start_year} is geen plausibel jaar.")
    if ing.partition_rows < 0:
        raise ConfigError("partition_rows mag niet negatief zijn (0: één partitie per jaar).")
    if ing.revision_window_months < 0:
        raise ConfigError("revision_window_months mag niet negatief zijn.")
    if ing.concurrency < 1:
        raise ConfigError("concurrency moet minstens 1 zijn.")
    settings.tweewekelijks.validate()
    settings.statistiek.validate()
    settings.incidenten.validate()
    if settings.doel_overlast:
        # Imported here: the analysis package imports this module.
        from veiligheidsbeeld.analysis.overlast_doel import OverlastTargetSettings

        OverlastTargetSettings.from_mapping(settings.doel_overlast)
    return settings


def load_settings(path: Path | None = None, **path_overrides: Any) -> Settings:
    """Read settings from TOML (if any) and validate them."""
    if path is None:
        # A path the user names (VEILIGHEIDSBEELD_CONFIG, like --config) must exist; only the
        # implicit ./veiligheidsbeeld.toml is optional.
        env = os.environ.get("VEILIGHEIDSBEELD_CONFIG", "")
        if env.strip():
            path = Path(env)
        elif Path("veiligheidsbeeld.toml").exists():
            path = Path("veiligheidsbeeld.toml")
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"Configuratiebestand '{path}' bestaat niet.") from None
        except IsADirectoryError:
            raise ConfigError(f"Configuratiebestand '{path}' is een map, geen bestand.") from None
        except UnicodeDecodeError:
            raise ConfigError(f"Configuratiebestand '{path}' is geen UTF-8-tekst (TOML moet UTF-8 zijn).") from None
        except PermissionError:
            raise ConfigError(f"Configuratiebestand '{path}' kan niet worden gelezen: geen leesrechten.") from None
        except OSError as exc:
            raise ConfigError(f"Configuratiebestand '{path}' kan niet worden gelezen: {exc.strerror or exc}.") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"Configuratiebestand '{path}' is geen geldige TOML: {exc}.") from None
    sections = {
        "ingest": IngestSettings,
        "area": AreaSettings,
        "geography": GeographySettings,
        "tweewekelijks": TweewekelijksSettings,
        "statistiek": StatistiekSettings,
        "paths": Paths,
        "incidenten": IncidentSettings,
    }
    unknown = set(data) - set(sections) - {"doel_overlast"}
    if unknown:
        raise ConfigError(f"Onbekende sectie(s) in configuratie: {', '.join(sorted(unknown))}.")
    kwargs = {name: _build(cls, data.get(name, {}), name) for name, cls in sections.items()}
    doel = data.get("doel_overlast", {})
    if not isinstance(doel, dict):
        raise ConfigError(f"[doel_overlast] moet een sectie met instellingen zijn, niet {doel!r}.")
    settings = Settings(**kwargs, doel_overlast=dict(doel))
    overrides = {k: Path(v) for k, v in path_overrides.items() if v is not None}
    if overrides:
        settings = settings.with_paths(**overrides)
    return validate(settings)
