"""Settings as frozen, typed objects, validated once at the edge: the one place of every setting.

Everything a user may want to change (area, tables, codes, windows, targets, thresholds, paths)
lives here, so that another regionale eenheid or a new strategy period is a configuration change
only. Each section of ``veiligheidsbeeld.toml`` (in the working directory, or the path in
``VEILIGHEIDSBEELD_CONFIG``) is one frozen dataclass below, a field of :class:`Settings`; anything
not given keeps its default. :func:`load_settings` reads the TOML through one machinery
(:func:`checked` for the types, each section's ``validate`` for the values): an unknown section or
key, a wrong type or an impossible value is one Dutch sentence (``ConfigError``), never a traceback.
Fixed names of the sources (table ids, codes, the default level) are in :mod:`veiligheidsbeeld.constants`.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
import typing
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from veiligheidsbeeld.constants import (
    ALPHA,
    BOUNDARY_LEVELS,
    CBS_CATALOG,
    DENOMINATOR_TABLES,
    JEUGDOVERLAST_CODE,
    MISDRIJVEN_JAAR_TABLE,
    MISDRIJVEN_TABLE,
    NATIONAL_CODE,
    NATIONAL_CODE_REGIOS,
    OVERLAST_TABLE,
    POLITIE_CATALOG,
    REGION_LEVELS,
    REPORT_LEVELS,
    TOTAL_CODE,
    UNPUBLISHED_CODES,
    WONINGINBRAAK_CODE,
)
from veiligheidsbeeld.errors import ConfigError
from veiligheidsbeeld.formatting import fmt_pct
from veiligheidsbeeld.incidents.settings import IncidentSettings

#: Plausible years of any year setting.
YEARS = range(2000, 2101)


def _require(ok: bool, message: str) -> None:
    """One Dutch sentence when a value is impossible (the load stops before anything is used)."""
    if not ok:
        raise ConfigError(message)


def _year(value: int, where: str) -> None:
    _require(value in YEARS, f"{where} {value} is geen plausibel jaar (verwacht {YEARS[0]} t/m {YEARS[-1]}).")


# --------------------------------------------------------------------------------------------
# The police tables and the ingest ([ingest])
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PoliceTable:
    """One police table: which dimension holds the type code and which column the count."""

    table_id: str
    type_dimension: str
    measure: str
    region_dimension: str = "WijkenEnBuurten"
    period_dimension: str = "Perioden"
    rollup_codes: tuple[str, ...] = (TOTAL_CODE,)
    label: str = ""
    #: "monthly" (months plus JJ00 year rows) or "yearly" (JJ00 year rows only, loaded into
    #: facts_yearly_reported).
    frequency: str = "monthly"
    #: The national region code of the table's region list.
    national_code: str = NATIONAL_CODE
    #: Codes pulled when ``[ingest] codes`` names none for this table (empty: all codes).
    default_codes: tuple[str, ...] = ()

    @property
    def yearly(self) -> bool:
        return self.frequency == "yearly"


MISDRIJVEN = PoliceTable(
    table_id=MISDRIJVEN_TABLE,
    type_dimension="SoortMisdrijf",
    measure="GeregistreerdeMisdrijven_1",
    label="Geregistreerde misdrijven",
)
OVERLAST = PoliceTable(
    table_id=OVERLAST_TABLE,
    type_dimension="Overlast",
    measure="GeregistreerdeOverlast_1",
    label="Geregistreerde overlast",
)
#: The yearly misdrijven table: it publishes what the monthly table does not (zedenmisdrijven,
#: kinderporno, kinderprostitutie), per gemeente (RegioS), year rows only. Only those codes are
#: pulled by default: the monthly table has the rest.
MISDRIJVEN_JAAR = PoliceTable(
    table_id=MISDRIJVEN_JAAR_TABLE,
    type_dimension="SoortMisdrijf",
    measure="GeregistreerdeMisdrijven_1",
    region_dimension="RegioS",
    label="Geregistreerde misdrijven per jaar",
    frequency="yearly",
    national_code=NATIONAL_CODE_REGIOS,
    default_codes=("1.4.1", "3.2.1", "3.2.2"),
)
KNOWN_POLICE_TABLES: dict[str, PoliceTable] = {t.table_id: t for t in (MISDRIJVEN, OVERLAST, MISDRIJVEN_JAAR)}


@dataclass(frozen=True)
class IngestSettings:
    """How the police tables are pulled."""

    tables: tuple[str, ...] = (MISDRIJVEN_TABLE, OVERLAST_TABLE, MISDRIJVEN_JAAR_TABLE)
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
        default_factory=lambda: {OVERLAST_TABLE: (TOTAL_CODE, JEUGDOVERLAST_CODE)}
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

    def validate(self) -> IngestSettings:
        _require(bool(self.tables), "[ingest].tables is leeg; noem minstens één tabel, bijv. [\"47022NED\"].")
        for t in self.tables:
            police_table(t)
        _check_keys(self.codes, KNOWN_POLICE_TABLES, "[ingest].codes")
        _check_keys(self.national_gemeente_codes, KNOWN_POLICE_TABLES, "[ingest].national_gemeente_codes")
        for name in ("retries", "provisional_months", "backoff_seconds", "backoff_max_seconds"):
            _require(getattr(self, name) >= 0, f"[ingest].{name} mag niet negatief zijn, niet {getattr(self, name)}.")
        for name in ("timeout_seconds", "max_url_chars"):
            _require(getattr(self, name) > 0, f"[ingest].{name} moet groter dan 0 zijn, niet {getattr(self, name)}.")
        _require(self.start_year in YEARS, f"start_year {self.start_year} is geen plausibel jaar.")
        _require(self.partition_rows >= 0, "partition_rows mag niet negatief zijn (0: één partitie per jaar).")
        _require(self.revision_window_months >= 0, "revision_window_months mag niet negatief zijn.")
        _require(self.concurrency >= 1, "concurrency moet minstens 1 zijn.")
        return self


# --------------------------------------------------------------------------------------------
# The area, denominators and boundaries ([area], [geography])
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AreaSettings:
    """The area the reports cover: a regionale eenheid and its districts."""

    eenheid_code: str = "RE02"
    eenheid_naam: str = "Oost-Nederland"
    layout_year: int = 2023
    #: A district table (CSV with gemeente_code, gemeente_naam, district_code, district_naam,
    #: eenheid_code, eenheid_naam). Empty: the checked-in reference table of the eenheid.
    district_table: str = ""

    def validate(self) -> AreaSettings:
        _require(bool(self.eenheid_code.strip()), "[area].eenheid_code is leeg; noem de code van de eenheid, bijv. \"RE02\".")
        _year(self.layout_year, "[area].layout_year")
        return self


@dataclass(frozen=True)
class GeographySettings:
    """Denominators (CBS) and boundaries (PDOK) fetched with the ingest (TOML ``[geography]``)."""

    fetch_denominators: bool = True
    #: Which denominator tables: any of "bevolking", "huishoudens", "woningvoorraad", "bevolking_maand".
    denominator_tables: tuple[str, ...] = ("bevolking", "huishoudens", "woningvoorraad")
    #: Also the monthly population table ("bevolking_maand"), for monthly rates.
    monthly_population: bool = False
    #: Years of the "Kerncijfers wijken en buurten" tables; empty: the last two years of police data.
    wijk_buurt_years: tuple[int, ...] = ()
    #: Override of a CBS table id per table key ("bevolking", ..., or "kwb_<year>"), e.g. the
    #: successor of a discontinued table.
    denominator_table_ids: dict[str, str] = field(default_factory=dict)
    #: The catalog the denominator tables are read from.
    denominator_catalog_url: str = CBS_CATALOG
    fetch_boundaries: bool = True
    boundary_levels: tuple[str, ...] = ("gemeente", "wijk")
    #: Local boundary files per level ("gemeente" = "path/to/file.topojson"), used instead of PDOK.
    boundary_files: dict[str, str] = field(default_factory=dict)

    def validate(self) -> GeographySettings:
        for key in self.denominator_tables:
            _check_keys({key: None}, DENOMINATOR_TABLES, "[geography].denominator_tables")
        for year in self.wijk_buurt_years:
            _year(year, "[geography].wijk_buurt_years:")
        kwb = [f"kwb_{y}" for y in self.wijk_buurt_years]
        _check_keys(self.denominator_table_ids, [*DENOMINATOR_TABLES, *kwb], "[geography].denominator_table_ids")
        _check_keys(self.boundary_files, BOUNDARY_LEVELS, "[geography].boundary_files")
        for level in self.boundary_levels:
            _check_keys({level: None}, BOUNDARY_LEVELS, "[geography].boundary_levels")
        return self


# --------------------------------------------------------------------------------------------
# Statistics and the biweekly analysis ([statistiek], [tweewekelijks])
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatistiekSettings:
    """The one statistics setting every report, summary and monitor uses (TOML ``[statistiek]``)."""

    #: Level of a single test and of the intervals (1 - alpha).
    alpha: float = ALPHA
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
        _require(0 < self.alpha < 0.5, "[statistiek].alpha moet tussen 0 en 0,5 liggen (bijv. 0.05).")
        _require(0 < self.fdr_q < 0.5, "[statistiek].fdr_q moet tussen 0 en 0,5 liggen (bijv. 0.10).")
        _require(2 <= self.history_years <= 12, "[statistiek].history_years moet tussen 2 en 12 liggen.")
        _require(1 <= self.seasonal_min_years <= self.history_years,
                 "[statistiek].seasonal_min_years moet tussen 1 en history_years liggen.")
        _require(1 <= self.judged_months <= 12, "[statistiek].judged_months moet tussen 1 en 12 liggen.")
        _require(self.control_sigma > 0 and self.dispersion_prior_pairs >= 0,
                 "[statistiek]: control_sigma moet positief zijn en dispersion_prior_pairs niet negatief.")
        return self


def _default_hic() -> dict[str, tuple[str, ...]]:
    return {"Straatroof": ("1.4.6",), "Overval": ("1.4.7",), "Geweld": ("1.4.3", "1.4.4", "1.4.5")}


@dataclass(frozen=True)
class TweewekelijksSettings:
    """Settings of the biweekly woninginbraak analysis (TOML section ``[tweewekelijks]``)."""

    table_id: str = MISDRIJVEN_TABLE
    crime_code: str = WONINGINBRAAK_CODE
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
        police_table(self.table_id)
        for m in (self.season_start_month, self.season_end_month):
            _require(1 <= m <= 12, f"[tweewekelijks] seizoensmaand {m} bestaat niet; kies 1 t/m 12.")
        _require(24 <= self.control_chart_months <= 60, "[tweewekelijks].control_chart_months moet tussen 24 en 60 liggen.")
        _require(12 <= self.control_chart_baseline_months <= self.control_chart_months,
                 "[tweewekelijks].control_chart_baseline_months moet minstens 12 zijn en niet groter dan "
                 "control_chart_months.")
        _require(self.buurt_min_dwellings >= 1 and self.top_n >= 1 and self.per > 0,
                 "[tweewekelijks]: buurt_min_dwellings, top_n en per moeten positief zijn.")
        _require(self.series_years >= 0, "[tweewekelijks].series_years mag niet negatief zijn.")
        _require(bool(self.crime_code.strip() and self.dwellings_measure.strip()),
                 "[tweewekelijks]: crime_code en dwellings_measure mogen niet leeg zijn.")
        groups = self.groups()
        _require(len(groups) == 1 + len(self.hic), f"[tweewekelijks].hic mag geen groep '{self.crime_label}' bevatten.")
        for label, codes in groups.items():
            _require(bool(codes), f"[tweewekelijks]: groep '{label}' heeft geen codes.")
            _require(len(set(codes)) == len(codes), f"[tweewekelijks]: groep '{label}' noemt een code dubbel.")
        return self


# --------------------------------------------------------------------------------------------
# The annual analysis ([jaaranalyse]): crime groups and the BBV indicators
# --------------------------------------------------------------------------------------------

Denominator = Literal["inwoners", "woningen"]
GroupKind = Literal["woninginbraak", "hic", "hic_totaal", "bbv"]


@dataclass(frozen=True)
class CrimeGroup:
    """A group of police crime codes (``SoortMisdrijf``) counted together.

    ``codes`` are counted per month from 47022NED; ``yearly_codes`` from the year rows of the
    yearly table 47025NED (codes the police do not publish per month, such as zedenmisdrijven).
    A year total of the group is the sum of both; the group has no monthly series of its own then.
    """

    key: str
    label: str
    codes: tuple[str, ...]
    kind: GroupKind
    denominator: Denominator = "inwoners"
    definition: str = ""
    yearly_codes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _require(bool(str(self.key).strip()), f"Groep '{self.label}' heeft geen sleutel (key).")
        object.__setattr__(self, "codes", tuple(str(c).strip() for c in self.codes))
        object.__setattr__(self, "yearly_codes", tuple(str(c).strip() for c in self.yearly_codes))
        _require(bool(self.codes), f"Groep '{self.label}' heeft geen misdrijfcodes.")
        twice = sorted(set(self.codes) & set(self.yearly_codes))
        _require(not twice, f"Groep '{self.label}': code(s) {', '.join(twice)} staan zowel bij de maand- als bij "
                            "de jaarcijfers; dan tellen ze dubbel.")

    def check_published(self) -> CrimeGroup:
        """Monthly codes must be published monthly (yearly codes come from 47025NED, which does)."""
        unpublished = [c for c in self.codes if c in UNPUBLISHED_CODES]
        _require(not unpublished,
                 f"Groep '{self.label}' bevat code(s) {', '.join(unpublished)}, die de politie niet per maand publiceert; "
                 "het totaal van de groep zou altijd onbekend zijn. Laat die code(s) weg of tel ze uit de jaarcijfers "
                 f"van tabel {MISDRIJVEN_JAAR_TABLE} (yearly_codes).")
        return self


#: The BBV indicators of the programme Veiligheid as *Waar staat je gemeente* (WSJG) publishes
#: them, each per 1,000 inhabitants, expressed in the crime codes of the police tables 47022NED
#: (monthly) and 47025NED (yearly, the same code list). WSJG takes them from CBS (registered crime
#: by Wetboek-van-Strafrecht title); the police open data classify by "maatschappelijke klasse", so
#: the code lists below are the closest match:
#:
#: * Diefstallen uit woning: 1.1.1 Diefstal/inbraak woning.
#: * Winkeldiefstallen: 2.5.2 Winkeldiefstal (BVH A50 winkeldiefstal, B50 winkeldiefstal met
#:   geweld), the police's own category for it. Not 2.5.1 Diefstal/inbraak bedrijven (break-ins and
#:   gekwalificeerde diefstal at businesses, shops included), which is a different offence.
#: * Gewelds- en seksuele misdrijven (WSJG: "geweldsmisdrijven … seksuele misdrijven,
#:   levensdelicten zoals moord en doodslag … bedreiging, mishandeling"; mensenhandel and
#:   mensensmokkel are counted here because they share a feitcode): per month from 47022NED
#:   1.4.2 Moord/doodslag, 1.4.4 Bedreiging, 1.4.5 Mishandeling, 1.6.3 Mensenhandel,
#:   3.1.2 Mensensmokkel; the sexual offences 1.4.1 Zedenmisdrijf, 3.2.1 Kinderporno and
#:   3.2.2 Kinderprostitutie are not published per month (the real national monthly series is
#:   empty for every month 2012–2023), so they come from the year rows of 47025NED and are added
#:   per year. Not included: 1.4.6 Straatroof and 1.4.7 Overval (diefstal met geweld: CBS counts
#:   them as vermogensmisdrijven) and 1.4.3 Openlijk geweld (WSJG counts openlijke geweldpleging
#:   under openbare orde, below).
#: * Vernielingen en beschadigingen (in de openbare ruimte) (WSJG: "brandstichting, alle vormen
#:   van vernieling en misdrijven tegen de openbare orde en het openbaar gezag", e.g. huis- en
#:   lokaalvredebreuk, openlijke geweldpleging, discriminatie): 1.6.1 Brand/ontploffing,
#:   2.2.1 Vernieling cq. zaakbeschadiging, 1.4.3 Openlijk geweld (persoon), 2.4.2 Huisvredebreuk,
#:   2.7.3 Leefbaarheid (overig) (lokaalvredebreuk), 3.6.4 Aantasting openbare orde,
#:   3.7.1 Discriminatie. Computervredebreuk is part of 3.7.4 Cybercrime with much else and is not
#:   included.
#: * Not here: "Verwijzingen Halt per 10.000 jongeren" (jeugdcriminaliteit afgedaan via Halt) is
#:   not in the police data (see :data:`veiligheidsbeeld.analysis.jaaranalyse.HALT_NOTE`).
BBV_INDICATORS: tuple[CrimeGroup, ...] = (
    CrimeGroup(
        "bbv_diefstal_woning", "Diefstallen uit woning", (WONINGINBRAAK_CODE,), "bbv",
        definition="Het aantal diefstallen uit woningen per 1.000 inwoners (politiecode 1.1.1 Diefstal/inbraak woning, "
                   "maandcijfers van tabel 47022NED opgeteld per jaar).",
    ),
    CrimeGroup(
        "bbv_winkeldiefstal", "Winkeldiefstallen", ("2.5.2",), "bbv",
        definition="Het aantal winkeldiefstallen per 1.000 inwoners, met en zonder geweld (politiecode 2.5.2 "
                   "Winkeldiefstal, maandcijfers van tabel 47022NED opgeteld per jaar).",
    ),
    CrimeGroup(
        "bbv_geweld", "Gewelds- en seksuele misdrijven",
        ("1.4.2", "1.4.4", "1.4.5", "1.6.3", "3.1.2"), "bbv",
        yearly_codes=("1.4.1", "3.2.1", "3.2.2"),
        definition=(
            "Het aantal gewelds- en seksuele misdrijven per 1.000 inwoners. Uit de maandcijfers (tabel 47022NED), "
            "opgeteld per jaar: moord en doodslag, bedreiging, mishandeling, mensenhandel en mensensmokkel "
            "(politiecodes 1.4.2, 1.4.4, 1.4.5, 1.6.3, 3.1.2). Uit de jaarcijfers (tabel 47025NED), omdat de politie "
            "ze niet per maand publiceert: zedenmisdrijven, kinderporno en kinderprostitutie (politiecodes 1.4.1, "
            "3.2.1, 3.2.2). Straatroof en overval (diefstal met geweld) en openlijk geweld tellen niet mee."
        ),
    ),
    CrimeGroup(
        "bbv_vernieling", "Vernielingen en beschadigingen (in de openbare ruimte)",
        ("1.6.1", "2.2.1", "1.4.3", "2.4.2", "2.7.3", "3.6.4", "3.7.1"), "bbv",
        definition=(
            "Het aantal vernielingen en misdrijven tegen de openbare orde en het openbaar gezag per 1.000 inwoners: "
            "brandstichting, vernieling, openlijk geweld, huis- en lokaalvredebreuk, aantasting van de openbare orde "
            "en discriminatie (politiecodes 1.6.1, 2.2.1, 1.4.3, 2.4.2, 2.7.3, 3.6.4, 3.7.1; maandcijfers van tabel "
            "47022NED opgeteld per jaar)."
        ),
    ),
)


@dataclass(frozen=True)
class JaaranalyseSettings:
    """Settings of the annual analysis (TOML ``[jaaranalyse]``; the BBV groups as ``[[jaaranalyse.bbv]]``)."""

    #: The fixed year every year is also compared with (the start of the strategy period).
    compare_year: int = 2013
    per: float = 1000
    inhabitants_measure: str = "inwoners"
    dwellings_measure: str = "woningen"
    bbv: tuple[CrimeGroup, ...] = BBV_INDICATORS
    #: Gemeenten get their own row in the overlast monitor for these categories (the eenheid and
    #: districts get all categories).
    gemeente_overlast_categories: tuple[str, ...] = (TOTAL_CODE, JEUGDOVERLAST_CODE)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> JaaranalyseSettings:
        _year(self.compare_year, "[jaaranalyse].compare_year")
        _require(self.per > 0, f"[jaaranalyse].per moet positief zijn, niet {self.per}.")
        for name in ("inhabitants_measure", "dwellings_measure"):
            _require(bool(getattr(self, name).strip()), f"[jaaranalyse].{name} is leeg; noem een noemer, bijv. inwoners.")
        for name, values in (("key", [g.key for g in self.bbv]), ("label", [g.label for g in self.bbv])):
            twice = sorted({v for v in values if values.count(v) > 1})
            _require(not twice, f"[jaaranalyse].bbv: {name} {', '.join(twice)} komt dubbel voor.")
        _require(all(g.kind == "bbv" for g in self.bbv), "[jaaranalyse].bbv: elke groep heeft kind = \"bbv\".")
        for group in self.bbv:
            group.check_published()
        _require(all(c.strip() for c in self.gemeente_overlast_categories),
                 "[jaaranalyse].gemeente_overlast_categories bevat een lege code.")
        return self


# --------------------------------------------------------------------------------------------
# The national jeugdoverlast ranking ([ranking])
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RankingSettings:
    """How the jeugdoverlast ranking is made (TOML ``[ranking]``). The level of its intervals is
    ``[statistiek] alpha`` (the one level)."""

    type_code: str = JEUGDOVERLAST_CODE
    table_id: str = OVERLAST_TABLE
    per: float = 1000
    denominator: str = "inwoners"
    #: Gemeenten with fewer inhabitants (1 January of the year) get no rank.
    min_inhabitants: int = 10_000
    top_n: int = 10
    #: The jeugd target: no gemeente of the eenheid in the national top ``top_n`` in this year.
    target_year: int = 2018

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> RankingSettings:
        _require(self.per > 0, f"[ranking].per moet positief zijn, niet {self.per}.")
        _require(self.min_inhabitants >= 0,
                 f"[ranking].min_inhabitants (minimum aantal inwoners) mag niet negatief zijn ({self.min_inhabitants}).")
        _require(self.top_n >= 1, f"[ranking].top_n: de top moet minstens 1 gemeente tellen, niet {self.top_n}.")
        _year(self.target_year, "[ranking].target_year")
        police_table(self.table_id)
        _require(bool(self.type_code.strip()), "[ranking].type_code is leeg; noem een overlastcode, bijv. \"E35\".")
        _require(bool(self.denominator.strip()), "[ranking].denominator is leeg; noem een noemer, bijv. inwoners.")
        return self


# --------------------------------------------------------------------------------------------
# The overlast target ([doel_overlast])
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Milestone:
    """An intermediate target: ``reduction`` fewer registrations in ``year`` than in the base year."""

    year: int
    reduction: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "year", int(self.year))
        object.__setattr__(self, "reduction", float(self.reduction))


def _as_milestone(value: Any) -> Milestone:
    if isinstance(value, Milestone):
        return value
    if isinstance(value, Mapping):
        try:
            return Milestone(checked(value["year"], int, "tussendoel.year"),
                             checked(value["reduction"], float, "tussendoel.reduction"))
        except (KeyError, TypeError, ValueError, ConfigError):
            raise ConfigError(
                f"Tussendoel {dict(value)!r} is ongeldig; verwacht bijvoorbeeld {{year = 2016, reduction = 0.10}}."
            ) from None
    if isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2:
        return Milestone(checked(value[0], int, "tussendoel (jaar)"), checked(value[1], float, "tussendoel (reductie)"))
    raise ConfigError(f"Tussendoel {value!r} is ongeldig; verwacht bijvoorbeeld {{year = 2016, reduction = 0.10}}.")


@dataclass(frozen=True)
class OverlastTargetSettings:
    """The overlast targets of a strategy period (TOML ``[doel_overlast]``).

    ``reduction`` and milestone reductions are fractions: 0.20 means "20% fewer registrations than
    in the base year". A milestone year is judged on its calendar-year total. ``categories``:
    the overlast codes the monitor reports (empty: all codes of the table, total first).
    The test against the norm uses ``[statistiek]`` (alpha, overdispersion), like every report.
    """

    base_year: int = 2013
    target_year: int = 2018
    reduction: float = 0.20
    milestones: tuple[Milestone, ...] = (Milestone(2016, 0.10),)
    table_id: str = OVERLAST_TABLE
    categories: tuple[str, ...] = ()
    name: str = ""

    def __post_init__(self) -> None:
        milestones = tuple(sorted((_as_milestone(m) for m in self.milestones), key=lambda m: m.year))
        object.__setattr__(self, "milestones", milestones)
        object.__setattr__(self, "categories", tuple(str(c).strip() for c in self.categories))
        object.__setattr__(self, "base_year", int(self.base_year))
        object.__setattr__(self, "target_year", int(self.target_year))
        object.__setattr__(self, "reduction", float(self.reduction))
        self.validate()

    def validate(self) -> OverlastTargetSettings:
        _year(self.base_year, "[doel_overlast].base_year")
        _require(self.target_year > self.base_year,
                 f"Het doeljaar ({self.target_year}) moet na het basisjaar ({self.base_year}) liggen.")
        _require(0 < self.reduction < 1,
                 f"De doelreductie moet een fractie tussen 0 en 1 zijn (0,20 = 20% minder), niet {self.reduction}.")
        for m in self.milestones:
            _require(self.base_year < m.year < self.target_year,
                     f"Tussendoel {m.year} ligt niet tussen basisjaar {self.base_year} en doeljaar {self.target_year}.")
            _require(0 < m.reduction < 1,
                     f"De reductie van tussendoel {m.year} moet tussen 0 en 1 liggen, niet {m.reduction}.")
        years = [m.year for m in self.milestones]
        _require(len(set(years)) == len(years), f"Tussendoelen: jaar {', '.join(map(str, years))} komt dubbel voor.")
        police_table(self.table_id)
        return self

    @classmethod
    def _normalise_toml(cls, values: dict[str, Any]) -> dict[str, Any]:
        """Milestones may be written as a list ``[{year = 2016, reduction = 0.10}]`` or a table
        ``{"2016" = 0.10}``."""
        if "milestones" not in values:
            return values
        raw = values["milestones"]
        if isinstance(raw, Mapping):  # {"2016" = 0.10}
            _require(all(str(k).strip().isdigit() for k in raw),
                     f"[doel_overlast].milestones: {dict(raw)!r} noemt geen jaren als sleutel.")
            raw = [{"year": int(k), "reduction": v} for k, v in raw.items()]
        elif not isinstance(raw, (list, tuple)):
            raise ConfigError(f"[doel_overlast].milestones moet een lijst zijn, niet {raw!r}.")
        return {**values, "milestones": tuple(_as_milestone(m) for m in raw)}

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> OverlastTargetSettings:
        """From a TOML section such as::

            [doel_overlast]
            base_year = 2013
            target_year = 2018
            reduction = 0.20
            milestones = [{year = 2016, reduction = 0.10}]
        """
        return _build(cls, dict(data), "[doel_overlast]")

    @property
    def target_index(self) -> float:
        return 100.0 * (1.0 - self.reduction)

    @property
    def title(self) -> str:
        """Dutch one-liner, e.g. '20% minder overlast in 2018 dan in 2013 (tussendoel: 10% minder in 2016)'."""
        if self.name:
            return self.name
        text = f"{fmt_pct(self.reduction, signed=False)} minder overlast in {self.target_year} dan in {self.base_year}"
        if self.milestones:
            parts = ", ".join(f"{fmt_pct(m.reduction, signed=False)} minder in {m.year}" for m in self.milestones)
            text += f" (tussendoel: {parts})"
        return text

    def path_points(self) -> tuple[tuple[int, float], ...]:
        """The corner points of the glide path: (year, index)."""
        pts = [(self.base_year, 100.0)]
        pts += [(m.year, 100.0 * (1.0 - m.reduction)) for m in self.milestones]
        pts.append((self.target_year, self.target_index))
        return tuple(pts)

    def glide_index(self, position: float) -> float:
        """The glide-path index at ``position`` (a year; 2016.5 = end of June 2016 for a 12-month window).

        Linear between the corner points (base year 100, milestones, target); 100 before the base
        year and the target index after the target year (the target stays the norm).
        """
        xs, ys = zip(*self.path_points(), strict=True)
        return float(np.interp(position, xs, ys))

    def milestone_for(self, year: int) -> Milestone | None:
        return next((m for m in self.milestones if m.year == year), None)


# --------------------------------------------------------------------------------------------
# Checks of a loaded police table ([validation])
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ValidationThresholds:
    """Every threshold of every rule of warehouse.validation, in one place (TOML ``[validation]``)."""

    # partition_rows: relative deviation |rows - expected| / expected of one raw partition, where
    # expected = regions x codes x periods (the police tables are full cubes: every combination
    # has a row, a suppressed cell included). Too few rows means missing cells (blocker beyond
    # `partition_rows_blocker`); too many can only be repeated rows, which the pull collapses or
    # refuses (conflicting values), so an excess is always a warning.
    partition_rows_warn: float = 0.02
    partition_rows_blocker: float = 0.20

    # rollup_mismatch: per table (table_id, upper share, slack). The gap total - sum(parts) must lie
    # in [-slack, upper_share * total + slack]; tables not listed need exact equality. See the
    # docstring of warehouse.validation for how the misdrijven tolerance was measured.
    rollup_tolerance: tuple[tuple[str, float, int], ...] = ((MISDRIJVEN_TABLE, 0.05, 3), (OVERLAST_TABLE, 0.0, 0))

    # structural_break: the median of the `break_window_months` months before a month against the
    # median of that month and the months after it (at least `break_min_months_after`, so the new
    # level has to stay); a factor of at least `break_factor` either way, where the higher of the
    # two medians is at least `break_min_level` (small counts jump by chance).
    break_factor: float = 3.0
    break_window_months: int = 12
    break_min_months_after: int = 3
    break_min_level: float = 20.0
    break_levels: tuple[str, ...] = REPORT_LEVELS

    # suppressed_share: share of suppressed cells (NULL, not published).
    suppressed_warn_share: float = 0.05
    suppressed_blocker_share: float = 0.50  # table-wide only; per gemeente it stays a warning

    # provisional_months: more provisional months than this is unusual (normally the last 12).
    provisional_warn_months: int = 24

    # yearly_reconciliation: |year row - sum of 12 months| may be max(abs, rel x year row);
    # beyond `reconcile_blocker_rel` at NL or gemeente level the table is blocked.
    reconcile_abs_tolerance: int = 2
    reconcile_rel_tolerance: float = 0.01
    reconcile_blocker_rel: float = 0.10

    # How many examples a summary finding names.
    max_examples: int = 5

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> ValidationThresholds:
        for warn, blocker in (("partition_rows_warn", "partition_rows_blocker"),
                              ("suppressed_warn_share", "suppressed_blocker_share"),
                              ("reconcile_rel_tolerance", "reconcile_blocker_rel")):
            low, high = getattr(self, warn), getattr(self, blocker)
            _require(0 <= low <= high <= 1,
                     f"[validation]: {warn} en {blocker} zijn aandelen (0 t/m 1) en {warn} is niet groter dan "
                     f"{blocker}, niet {low} en {high}.")
        for table_id, share, slack in self.rollup_tolerance:
            police_table(table_id)
            _require(0 <= share <= 1 and slack >= 0,
                     f"[validation].rollup_tolerance voor {table_id}: het aandeel ligt tussen 0 en 1 en de marge is "
                     f"niet negatief, niet {share} en {slack}.")
        _require(self.break_factor > 1, f"[validation].break_factor moet groter dan 1 zijn, niet {self.break_factor}.")
        for name in ("break_window_months", "break_min_months_after", "max_examples"):
            _require(getattr(self, name) >= 1, f"[validation].{name} moet minstens 1 zijn, niet {getattr(self, name)}.")
        for name in ("break_min_level", "provisional_warn_months", "reconcile_abs_tolerance"):
            _require(getattr(self, name) >= 0, f"[validation].{name} mag niet negatief zijn, niet {getattr(self, name)}.")
        for level in self.break_levels:
            _check_keys({level: None}, REGION_LEVELS, "[validation].break_levels")
        return self

    def rollup_bounds(self, table_id: str) -> tuple[float, int]:
        """(upper share, slack) of the roll-up check for a table; exact equality if not listed."""
        for tid, share, slack in self.rollup_tolerance:
            if tid == table_id:
                return share, slack
        return 0.0, 0


# --------------------------------------------------------------------------------------------
# Paths ([paths]) and all settings
# --------------------------------------------------------------------------------------------


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
    """All settings: one field per section of veiligheidsbeeld.toml (the field name is the section name)."""

    ingest: IngestSettings = field(default_factory=IngestSettings)
    area: AreaSettings = field(default_factory=AreaSettings)
    geography: GeographySettings = field(default_factory=GeographySettings)
    tweewekelijks: TweewekelijksSettings = field(default_factory=TweewekelijksSettings)
    statistiek: StatistiekSettings = field(default_factory=StatistiekSettings)
    jaaranalyse: JaaranalyseSettings = field(default_factory=JaaranalyseSettings)
    ranking: RankingSettings = field(default_factory=RankingSettings)
    #: The overlast target (base_year, target_year, reduction, milestones); default: the strategy's.
    doel_overlast: OverlastTargetSettings = field(default_factory=OverlastTargetSettings)
    validation: ValidationThresholds = field(default_factory=ValidationThresholds)
    paths: Paths = field(default_factory=Paths)
    #: Incident extracts (issue 18): import mapping, grid, Knox and alert settings.
    incidenten: IncidentSettings = field(default_factory=IncidentSettings)

    def with_paths(self, **kwargs: Any) -> "Settings":
        return dataclasses.replace(self, paths=dataclasses.replace(self.paths, **kwargs))

    def with_ingest(self, **kwargs: Any) -> "Settings":
        return dataclasses.replace(self, ingest=dataclasses.replace(self.ingest, **kwargs))


# --------------------------------------------------------------------------------------------
# Reading and checking
# --------------------------------------------------------------------------------------------


def police_table(table_id: str) -> PoliceTable:
    try:
        return KNOWN_POLICE_TABLES[table_id.strip().upper()]
    except KeyError:
        valid = ", ".join(sorted(KNOWN_POLICE_TABLES))
        raise ConfigError(f"Onbekende tabel '{table_id}'. Geldige tabellen: {valid}.") from None


_TYPE_NAMES = {bool: "true of false", int: "een geheel getal", float: "een getal", str: "tekst", Path: "een pad (tekst)"}


def checked(value: Any, hint: Any, where: str) -> Any:
    """``value`` from TOML checked against a type hint (int, float, bool, str, Path, Any, Literal,
    tuple[X, ...], fixed tuples, dict[K, V], a settings dataclass) and converted; anything else is
    one sentence naming the setting.

    Strict on purpose: 2013.7 is not a year, "47022NED" is not a list of tables, true is not a
    count (bool is an int subclass in Python)."""
    origin = typing.get_origin(hint)
    if hint is Any:
        return value
    if origin is Literal:
        choices = typing.get_args(hint)
        if value not in choices:
            raise ConfigError(f"Instelling {where} moet een van {', '.join(map(repr, choices))} zijn, niet {value!r}.")
        return value
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"Instelling {where} moet een lijst zijn (bijv. [\"a\", \"b\"]), niet {value!r}.")
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(checked(v, args[0], f"{where}[{i}]") for i, v in enumerate(value))
        if len(value) != len(args):
            raise ConfigError(f"Instelling {where} moet een lijst van {len(args)} waarden zijn, niet {value!r}.")
        return tuple(checked(v, h, f"{where}[{i}]") for i, (v, h) in enumerate(zip(value, args, strict=True)))
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"Instelling {where} moet een tabel zijn (bijv. {{ sleutel = ... }}), niet {value!r}.")
        _key, inner = typing.get_args(hint)
        return {str(k): checked(v, inner, f"{where}.{k}") for k, v in value.items()}
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return value if isinstance(value, hint) else _build(hint, value, where)
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


def _build(cls: type, values: Any, where: str) -> Any:
    """A settings dataclass from a TOML table (``where``: "[section]" or "[section].key[i]" for
    messages). Every key is checked against the field's type; the class's ``validate`` (run by its
    ``__post_init__`` or by :func:`validate`) then checks the values."""
    if not isinstance(values, dict):
        raise ConfigError(f"{where} moet een sectie met instellingen zijn, niet {values!r}.")
    normalise = getattr(cls, "_normalise_toml", None)
    if normalise is not None:
        values = normalise(values)
    hints = typing.get_type_hints(cls)
    fields = dataclasses.fields(cls)
    names = {f.name for f in fields}
    unknown = set(values) - names
    if unknown:
        raise ConfigError(
            f"Onbekende instelling(en) in {where}: {', '.join(sorted(unknown))}. "
            f"Geldig: {', '.join(sorted(names))}."
        )
    required = [f.name for f in fields if f.default is dataclasses.MISSING
                and f.default_factory is dataclasses.MISSING and f.name not in values]
    if required:
        raise ConfigError(f"In {where} ontbreekt: {', '.join(required)}.")
    kwargs = {key: checked(value, hints[key], f"{where}.{key}") for key, value in values.items()}
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:  # a check of the class itself; ConfigError passes through
        raise ConfigError(f"{where} is ongeldig: {exc}.") from None


def _check_keys(mapping: Mapping[str, Any], valid: Iterable[str], where: str) -> None:
    """A misspelt key inside a mapping setting is refused, never silently ignored."""
    valid = list(valid)
    unknown = [k for k in mapping if k not in valid]
    if unknown:
        raise ConfigError(
            f"Onbekende sleutel(s) in {where}: {', '.join(repr(k) for k in unknown)}. Geldig: {', '.join(valid)}."
        )


def sections() -> dict[str, type]:
    """TOML section name -> its settings class (the fields of :class:`Settings`)."""
    hints = typing.get_type_hints(Settings)
    return {f.name: hints[f.name] for f in dataclasses.fields(Settings)}


def validate(settings: Settings) -> Settings:
    """Check every section's values (types are checked while reading the TOML)."""
    for name in sections():
        section = getattr(settings, name)
        if hasattr(section, "validate"):
            section.validate()
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
    known = sections()
    unknown = set(data) - set(known)
    if unknown:
        raise ConfigError(
            f"Onbekende sectie(s) in configuratie: {', '.join(sorted(unknown))}. Geldig: {', '.join(known)}."
        )
    settings = Settings(**{name: _build(cls, data.get(name, {}), f"[{name}]") for name, cls in known.items()})
    overrides = {k: Path(v) for k, v in path_overrides.items() if v is not None}
    if overrides:
        settings = settings.with_paths(**overrides)
    return validate(settings)
