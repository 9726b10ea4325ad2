"""What the Prefect flows do, as plain functions: testable without Prefect, callable from the CLI.

The flows in ``flows/`` are thin: each task calls one function here (or of the layers below).
This module decides *which* steps run (is the warehouse stale? then ingest first), runs them,
and turns their outcome into the run summary that every flow publishes as Prefect artifacts:
the latest month, key figures per district, the gemeenten with a significant change, warnings
about missing or provisional data, and the paths of the written reports.

Nothing here assumes it runs where a previous step ran: every step gets its settings (the
warehouse, raw and reports paths) and reads or writes only there, so flow runs may land on any
worker of a team setup.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from veiligheidsbeeld.config import Settings, load_settings, police_table
from veiligheidsbeeld.constants import MISDRIJVEN_TABLE, OVERLAST_TABLE, TOTAL_CODE
from veiligheidsbeeld.errors import ConfigError, DataError, VeiligheidsbeeldError
from veiligheidsbeeld.formatting import fmt_date, fmt_int, fmt_month, fmt_num, fmt_pct

# One clock and one date guard for every entry point (report, run, the flows; schedules follow
# the same TIMEZONE): see analysis.periods.
from veiligheidsbeeld.analysis.periods import TIMEZONE, check_report_date, today_local  # noqa: F401

log = logging.getLogger(__name__)

MISDRIJVEN = MISDRIJVEN_TABLE
OVERLAST = OVERLAST_TABLE
#: The rollup code of every police table (all types together).
TOTAAL = TOTAL_CODE


# --------------------------------------------------------------------------------------------
# Parameters
# --------------------------------------------------------------------------------------------


def run_settings(
    *,
    config: str | Path | None = None,
    warehouse: str | Path | None = None,
    raw: str | Path | None = None,
    reports: str | Path | None = None,
) -> Settings:
    """Settings for one flow run: the TOML config (if any) with the given paths on top, resolved.

    Paths are made absolute here, at the start of the run, so every step of the run reads and
    writes the same places whatever the working directory of the task.
    """
    settings = load_settings(Path(config) if config else None, warehouse=warehouse, raw=raw, reports=reports)
    return dataclasses.replace(settings, paths=settings.paths.resolved())


def check_source(source: str | Path | None) -> str:
    """``'api'`` or an existing snapshot directory (made absolute); anything else: a clear error."""
    if source is None or str(source).strip().lower() in ("", "api"):
        return "api"
    path = Path(source).expanduser()
    if not path.is_dir():
        raise ConfigError(
            f"Bron '{source}' is geen map en niet 'api'. Geef 'api' (live CBS) of een snapshotmap "
            "(zoals cbsodata.download_data die schrijft, of een kopie van data/raw)."
        )
    return str(path.resolve())


def check_districts(districts: Iterable[str] | None, settings: Settings) -> list[str]:
    """District codes for names or codes ('Twente', 'VR05'); empty or None: every district."""
    from veiligheidsbeeld.regions import districts_of, load_district_table, resolve_district

    table = load_district_table(settings.area)
    wanted = [d for d in (districts or []) if str(d).strip()]
    if not wanted:
        return [d.code for d in districts_of(table)]
    return [resolve_district(str(d), table).code for d in wanted]


# --------------------------------------------------------------------------------------------
# Freshness: which steps run
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Freshness:
    stale: bool
    reasons: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        return "; ".join(self.reasons) if self.reasons else "actueel"


def freshness(settings: Settings, *, today: date | None = None, tables: Sequence[str] | None = None) -> Freshness:
    """Whether the warehouse needs an ingest before a report: missing, incomplete or stale."""
    from veiligheidsbeeld.status import warehouse_status

    path = settings.paths.resolved().warehouse
    if not path.is_file():
        return Freshness(True, (f"er is nog geen warehouse op {path}",))
    wanted = [police_table(t).table_id for t in (tables or settings.ingest.tables)]
    status = warehouse_status(settings, today=today)
    by_id = {t.table_id: t for t in status.tables}
    reasons = []
    for table_id in wanted:
        table = by_id.get(table_id)
        if table is None:
            reasons.append(f"tabel {table_id} staat nog niet in het warehouse")
        elif table.stale:
            reasons.append(f"{table_id} is niet actueel ({table.stale_reason})")
    return Freshness(bool(reasons), tuple(reasons))


def upgrade_warehouse(settings: Settings) -> str:
    """Bring an existing warehouse to this code's schema version before a run that may ingest
    (a writer would do it anyway; the freshness check reads the warehouse first). Returns what was
    done, in Dutch; a missing warehouse is left to the ingest to create."""
    from veiligheidsbeeld.warehouse import db

    path = settings.paths.resolved().warehouse
    if not path.is_file():
        return "nog geen warehouse"
    return db.upgrade(path).summary()


def source_changed(settings: Settings, source: str | Path | None, *, tables: Sequence[str] | None = None) -> Freshness:
    """Whether a scheduled run must ingest: per table, ask the source for its ``Modified`` stamp
    (one small request each) and compare it with the version in the warehouse. Unchanged: skip
    (``stale`` False); a new version, a table not yet loaded or no warehouse: ingest.

    The police publish a month around the middle of the next month, not on a fixed day: asking
    every run costs one request per table and never leaves a published month waiting two weeks.
    A source that cannot be asked is no reason to stop a report on the data already loaded: the
    run goes on with the warehouse as it is, and the reason says so."""
    from veiligheidsbeeld.errors import SourceError
    from veiligheidsbeeld.ingest import open_source
    from veiligheidsbeeld.sources.politie import fetch_modified
    from veiligheidsbeeld.sources.raw_archive import RawArchive, vintage_from_modified
    from veiligheidsbeeld.warehouse import db, queries

    path = settings.paths.resolved().warehouse
    if not path.is_file():
        return Freshness(True, (f"er is nog geen warehouse op {path}",))
    wanted = [police_table(t) for t in (tables or settings.ingest.tables)]
    with db.reader(path) as con:
        loaded = queries.table_vintages(con)
    opened = None
    reasons: list[str] = []
    unchanged: list[str] = []
    for spec in wanted:
        if spec.table_id not in loaded:
            reasons.append(f"tabel {spec.table_id} staat nog niet in het warehouse")
            continue
        try:
            opened = opened or (source if not isinstance(source, (str, Path, type(None))) else open_source(source, settings))
            if isinstance(opened, RawArchive):  # another machine's data/raw: its newest complete version
                complete = [m for m in opened.manifests(spec.table_id) if m.complete]
                if not complete:
                    unchanged.append(f"{spec.table_id}: geen volledige versie in {opened.root}")
                    continue
                modified = complete[-1].modified
            else:
                modified = fetch_modified(opened, spec)
        except SourceError as exc:
            unchanged.append(f"{spec.table_id}: bron niet te bevragen ({exc}); rapport op de gegevens in het warehouse")
            continue
        if vintage_from_modified(modified) != loaded[spec.table_id]:
            reasons.append(f"{spec.table_id}: nieuwe versie bij de bron (Modified {modified}, "
                           f"warehouse {loaded[spec.table_id]})")
        else:
            unchanged.append(f"{spec.table_id}: ongewijzigd bij de bron (Modified {modified})")
    return Freshness(bool(reasons), tuple(reasons) if reasons else tuple(unchanged))


# --------------------------------------------------------------------------------------------
# Steps
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IngestOutcome:
    """What one table's ingest did, in plain values (fit for artifacts and task results)."""

    table_id: str
    how: str
    rows: int
    first_month: date | None
    last_month: date | None
    vintages: tuple[str, ...]
    suppressed_cells: int
    provisional_months: int


@dataclass(frozen=True)
class IngestResult:
    """An ingest run: one outcome per police table, and what it loaded besides (districts,
    lineage, denominators, boundaries; Dutch lines)."""

    tables: tuple[IngestOutcome, ...]
    geography: tuple[str, ...] = ()
    #: The data checks after the load, per table (Dutch): counts and the first blocking findings.
    validation: tuple[str, ...] = ()
    blocking_findings: int = 0
    #: What is missing or not covered (Dutch): e.g. gemeenten outside the eenheid, which no report covers.
    warnings: tuple[str, ...] = ()


def ingest(settings: Settings, source: str, tables: Sequence[str] | None = None) -> IngestResult:
    """Pull the police tables from ``source`` into raw (their partitions concurrently, each
    retried with backoff) and load them, with districts, denominators and boundaries, into the
    warehouse.

    The load takes the warehouse's writer lock: a second writer (another flow) waits for it or
    stops with a clear message, and the warehouse is never written by two at once.
    """
    from veiligheidsbeeld.ingest import run_ingest

    table_ids = [police_table(t).table_id for t in (tables or settings.ingest.tables)]
    report = run_ingest(settings, source, tables=table_ids)
    outcomes = []
    for load in report.loads:
        pull = next((p for p in report.pulls if p.table_id == load.table_id), None)
        if pull is not None:
            how = (f"{pull.kind}: {pull.reason} ({pull.partitions_fetched} partities opgehaald, "
                   f"{pull.partitions_reused} hervat)")
        else:
            imported = report.imported.get(load.table_id, [])
            how = f"geïmporteerd uit {report.source}: {', '.join(imported) or 'niets nieuws'}"
        outcomes.append(IngestOutcome(load.table_id, how, load.rows, load.first_month, load.last_month,
                                      tuple(load.vintages), load.suppressed_cells, load.provisional_months))
    findings = list(getattr(report, "findings", ()) or ())
    return IngestResult(tuple(outcomes), (*report.loaded, *report.geography), validation_lines(findings),
                        sum(_is_blocker(f) for f in findings), tuple(report.warnings))


def _is_blocker(finding: Any) -> bool:
    return str(getattr(finding.severity, "value", finding.severity)).upper() == "BLOCKER"


def validation_lines(findings: Sequence[Any], examples: int = 3) -> tuple[str, ...]:
    """Per table: how many blocking findings and warnings the data checks gave, with examples."""
    lines: list[str] = []
    for table_id in sorted({f.table_id for f in findings}):
        own = [f for f in findings if f.table_id == table_id]
        blocking = [f for f in own if _is_blocker(f)]
        warnings = [f for f in own if str(getattr(f.severity, "value", f.severity)).upper() == "WARN"]
        lines.append(f"Gegevenscontrole {table_id}: {len(blocking)} blokkerend, {len(warnings)} waarschuwing(en).")
        lines += [f"  blokkerend: {f.detail}" for f in blocking[:examples]]
        if len(blocking) > examples:
            lines.append(f"  … en nog {len(blocking) - examples} blokkerende bevinding(en).")
    return tuple(lines)


_BIWEEKLY_CACHE: dict[tuple[Any, ...], Any] = {}
_BIWEEKLY_LOCK = threading.Lock()


def _file_state(path: Path) -> tuple[tuple[int, int] | None, ...]:
    def state(p: Path) -> tuple[int, int] | None:
        try:
            st = p.stat()
        except FileNotFoundError:
            return None
        return (st.st_mtime_ns, st.st_size)

    return state(path), state(path.with_name(path.name + ".wal"))


def biweekly_analysis(
    settings: Settings, report_date: date, districts: Sequence[str] | None, *, today: date | None = None
) -> Any:
    """The biweekly woninginbraak analysis (``build_biweekly``), built once per warehouse state.

    The flow's render step and its summary both need it, and building it takes about as long as
    rendering a district (~15 s for the eenheid), so the last one is kept in memory, keyed by the
    arguments and the warehouse file's size and time: any write to the warehouse builds anew."""
    from veiligheidsbeeld.analysis.woninginbraak import build_biweekly
    from veiligheidsbeeld.warehouse import db, queries

    today = today or today_local()
    chosen = list(districts) if districts else None
    warehouse = settings.paths.resolved().warehouse
    key = (repr(settings), report_date, tuple(chosen or ()), today, _file_state(warehouse))
    with _BIWEEKLY_LOCK:
        if key in _BIWEEKLY_CACHE:
            return _BIWEEKLY_CACHE[key]
    with db.reader(warehouse) as con:
        inputs = queries.biweekly_inputs(con, settings, report_date, chosen, today=today)
    analysis = build_biweekly(inputs)
    if _file_state(warehouse) == key[-1]:  # not written to while it was read
        with _BIWEEKLY_LOCK:
            _BIWEEKLY_CACHE.clear()
            _BIWEEKLY_CACHE[key] = analysis
    return analysis


def render_tweewekelijks_reports(
    settings: Settings, report_date: date, districts: Sequence[str], *, pdf: bool = True,
    on_done: Callable[[Any], None] | None = None,
) -> list[Path]:
    """The biweekly woninginbraak report for each district and the eenheid index (HTML, PDF when
    ``pdf``, Excel and CSV tables), in ``<reports>/<report date>/tweewekelijks/``. ``on_done``:
    called with each finished part (``reports.tweewekelijks.JobDone``) as it finishes."""
    render = _report_function("veiligheidsbeeld.reports.tweewekelijks", "render_tweewekelijks", "tweewekelijkse rapport")
    # One process per district (at most the cores of the machine): the PDFs dominate the time.
    workers = max(1, min(len(districts) or 1, os.cpu_count() or 1))
    today = today_local()
    # Built (or taken from the cache the summary shares) once the worker processes are starting.
    analysis = functools.partial(biweekly_analysis, settings, report_date, districts, today=today)
    return _paths(render(settings, report_date, districts=list(districts) or None, workers=workers, pdf=pdf,
                         today=today, analysis=analysis, on_done=on_done))


def render_jaaranalyse_reports(settings: Settings, year: int, *, pdf: bool = True) -> list[Path]:
    """The annual strategic analysis of ``year`` (with the overlast target monitor in its chapters),
    in ``<reports>/<year>/jaaranalyse/``."""
    render = _report_function("veiligheidsbeeld.reports.jaaranalyse", "render_jaaranalyse", "jaaranalyse")
    return _paths(render(settings, year, pdf=pdf))


def render_overlast_monitor(settings: Settings, year: int) -> list[Path]:
    """The overlast target monitor (the strategy's reduction against its base year) for the eenheid,
    its districts and gemeenten, as of ``year``: written as text table, CSV and JSON to
    ``<reports>/<year>/overlastdoel/``. (The annual report shows the same monitor in its chapters.)"""
    render = _report_function("veiligheidsbeeld.reports.overlast", "render_overlast_monitor", "overlastmonitor")
    return _paths(render(settings, year))


def _report_function(module: str, name: str, what: str) -> Callable[..., Any]:
    import importlib

    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise VeiligheidsbeeldError(
            f"De {what} is in deze versie van veiligheidsbeeld niet beschikbaar ({module}.{name} ontbreekt)."
        ) from exc


def _paths(result: Any) -> list[Path]:
    """Report functions return a path, a list of paths, or an object with ``.paths``/``.files``."""
    if result is None:
        return []
    if isinstance(result, (str, Path)):
        return [Path(result)]
    for attr in ("paths", "files", "outputs"):
        if hasattr(result, attr):
            return _paths(getattr(result, attr))
    if isinstance(result, dict):
        return [p for v in result.values() for p in _paths(v)]
    if isinstance(result, Iterable):
        return [p for item in result for p in _paths(item)]
    return []


# --------------------------------------------------------------------------------------------
# The run summary: key figures, significant changes, warnings
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    """One compared count of an area (district or gemeente) for one indicator and comparison."""

    area_code: str
    area_naam: str
    district_naam: str
    indicator: str
    comparison: str
    current_label: str
    previous_label: str
    current: int | None
    previous: int | None
    pct_change: float | None
    p_value: float | None
    significant: bool
    direction: str | None
    note: str = ""


@dataclass
class RunSummary:
    title: str
    latest_month: date | None = None
    synthetic: bool = False
    districts: list[Figure] = field(default_factory=list)
    significant_gemeenten: list[Figure] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    ingest: IngestResult | None = None
    reports: list[Path] = field(default_factory=list)
    freshness: Freshness | None = None


#: The comparisons of the biweekly analysis shown as key figures (all five are in the report).
KEY_COMPARISONS = ("maand", "12_maanden")


def tweewekelijks_summary(
    settings: Settings, report_date: date, districts: Sequence[str] | None = None, *, today: date | None = None,
    strict: bool = True,
) -> RunSummary:
    """Key figures of the biweekly woninginbraak analysis, from the analysis itself
    (:func:`veiligheidsbeeld.analysis.woninginbraak.build_biweekly`): per district the latest
    month and the latest 12 months against a year earlier; every gemeente with a significant
    change in any of the standard comparisons; the analysis's warnings.

    ``strict=False``: when the data give no analysis (missing, or blocked by the data checks),
    a summary that says why instead of an error, so a failed run still publishes its artifacts."""
    title = f"Tweewekelijkse woninginbraakanalyse — rapportdatum {fmt_date(report_date)}"
    if not strict:
        return summary_or_warning(lambda: tweewekelijks_summary(settings, report_date, districts, today=today), title)
    summary = RunSummary(title=title)
    analysis = biweekly_analysis(settings, report_date, districts, today=today)
    summary.latest_month = analysis.latest_month
    summary.synthetic = analysis.synthetic
    district_names = {d.code: d.naam for d in analysis.districts}
    names = dict(zip(analysis.regions["region_code"], analysis.regions["name"]))
    crime = analysis.changes_for(group=analysis.crime)
    per_district = crime[(crime["level"] == "district") & crime["comparison"].isin(KEY_COMPARISONS)]
    per_district = per_district.assign(_order=per_district["comparison"].map(KEY_COMPARISONS.index))
    summary.districts = _figures(per_district.sort_values(["_order", "region_code"]), names, district_names,
                                 analysis.crime.lower())
    gemeenten = crime[(crime["level"] == "gemeente") & crime["significant"].astype(bool)]
    summary.significant_gemeenten = _figures(gemeenten.sort_values(["district_code", "region_code"]), names,
                                             district_names, analysis.crime.lower())
    from veiligheidsbeeld.reports.tweewekelijks import banner_view

    # Grouped by meaning and most important first, like the report's banners (one line for a
    # month missing in every gemeente, not one per gemeente).
    summary.warnings = [b.text for b in banner_view(analysis, None).all]
    _add_data_warnings(summary, analysis.options.table_id, analysis.info)
    return summary


def jaaranalyse_summary(
    settings: Settings, year: int, districts: Sequence[str] | None = None, *, strict: bool = True
) -> RunSummary:
    """Key figures of the annual analysis: woninginbraak in ``year`` against the year before,
    per district, and the gemeenten with a significant change — the verdicts of the annual
    analysis itself (which are the biweekly analysis's for December), so the summary, the
    annual report and the biweekly report agree; and all overlast against the year before,
    through the same engine. ``strict=False``: see :func:`tweewekelijks_summary`."""
    if not strict:
        return summary_or_warning(lambda: jaaranalyse_summary(settings, year, districts), f"Jaaranalyse {year}")
    import pandas as pd

    from veiligheidsbeeld.analysis import engine
    from veiligheidsbeeld.analysis.jaaranalyse import build_jaaranalyse
    from veiligheidsbeeld.analysis.periods import Comparison, Period
    from veiligheidsbeeld.analysis.woninginbraak import group_counts, month_grid
    from veiligheidsbeeld.regions import districts_of, load_district_table
    from veiligheidsbeeld.warehouse import db, queries

    summary = RunSummary(title=f"Jaaranalyse {year}")
    current = Period.month_range(date(year, 1, 1), date(year, 12, 1))
    comparison = Comparison("vj", "t.o.v. vorig jaar", current, current.shift_years(-1))
    table = load_district_table(settings.area)
    codes = set(check_districts(districts, settings))
    chosen = [d for d in districts_of(table) if d.code in codes]
    district_of = {g.code: d.code for d in chosen for g in d.gemeenten}
    district_names = {d.code: d.naam for d in chosen}
    names = {**district_names, **{g.code: g.naam for d in chosen for g in d.gemeenten}}
    stats = settings.statistiek
    with db.reader(settings.paths.resolved().warehouse) as con:
        if queries.has_table(con, MISDRIJVEN):
            analysis = build_jaaranalyse(queries.annual_inputs(con, settings, year))
            summary.latest_month = date(year, 12, 1)
            summary.synthetic = analysis.synthetic
            _add_data_warnings(summary, MISDRIJVEN, analysis.info, "woninginbraak")
            rows = analysis.changes_for(kinds=["woninginbraak"])
            rows = rows[rows["region_code"].isin([*district_of, *codes])]
            vj = pd.DataFrame({
                "region_code": rows["region_code"], "district_code": rows["district_code"],
                "comparison_label": comparison.label_nl, "current_period": current.label,
                "previous_period": comparison.previous.label, "current": rows["current"],
                "previous": rows["previous"], "pct_change": rows["pct_change_vj"], "p_value": rows["p_value_vj"],
                "significant": rows["significant_vj"], "direction": rows["direction_vj"],
                "testable": ~rows["incomplete_vj"].astype(bool),
            })
            summary.districts += _figures(vj[rows["level"] == "district"].sort_values("region_code"), names,
                                          district_names, "woninginbraak")
            significant = vj[(rows["level"] == "gemeente") & vj["significant"].astype(bool)]
            summary.significant_gemeenten += _figures(significant.sort_values(["district_code", "region_code"]),
                                                      names, district_names, "woninginbraak")
        else:
            summary.warnings.append(f"Tabel {MISDRIJVEN} (woninginbraak) staat niet in het warehouse.")
        label = "overlast (totaal)"
        if not queries.has_table(con, OVERLAST):
            summary.warnings.append(f"Tabel {OVERLAST} ({label}) staat niet in het warehouse.")
            return summary
        period = engine.ReportPeriod.for_latest(date(year, 12, 1), settings.tweewekelijks, stats)
        available = queries.available_months(con, OVERLAST)
        if available and max(available) < current.end.replace(day=1):
            summary.warnings.append(
                f"{OVERLAST} ({label}): het jaar {year} is nog niet compleet in het warehouse (laatste maand "
                f"{fmt_month(max(available))}); de jaarcijfers zijn onvolledig en niet getoetst."
            )
        summary.latest_month = max(filter(None, [summary.latest_month, *available[-1:]]), default=None)
        months = month_grid(period.history_first, current.end)
        facts = queries.monthly_counts(con, OVERLAST, region_codes=list(district_of), type_codes=[TOTAAL],
                                       first=months[0], last=months[-1])
        info = queries.data_info(con, OVERLAST, region_codes=list(district_of), type_codes=[TOTAAL],
                                 first=comparison.previous.start, last=months[-1])
        summary.synthetic = summary.synthetic or info.synthetic
        _add_data_warnings(summary, OVERLAST, info, label)
        hierarchy = engine.RegionHierarchy.from_table(table[table["district_code"].isin(codes)])
        monthly = hierarchy.level_counts(group_counts(facts, {label: (TOTAAL,)}, list(district_of), months))
        monthly = monthly[monthly["level"] != engine.EENHEID]
        changes = engine.judge(monthly, [comparison], hierarchy, stats, dispersion_pairs=period.dispersion_pairs)
        changes["district_code"] = changes["region_code"].map(lambda c: district_of.get(c, c))
        district_rows = changes[changes["region_code"].isin(codes)]
        summary.districts += _figures(district_rows.sort_values("region_code"), names, district_names, label)
        significant = changes[changes["region_code"].isin(district_of) & changes["significant"].astype(bool)]
        summary.significant_gemeenten += _figures(significant.sort_values(["district_code", "region_code"]),
                                                  names, district_names, label)
    return summary


def _none(value: Any) -> Any:
    return None if value is None or value != value else value  # NaN -> None


def _figures(changes: Any, names: dict[str, str], district_names: dict[str, str], indicator: str) -> list[Figure]:
    """Figures from rows of a :func:`~veiligheidsbeeld.analysis.woninginbraak.compare_periods` frame."""
    out = []
    for r in changes.to_dict("records"):
        current, previous = _none(r.get("current")), _none(r.get("previous"))
        note = ""
        if not r.get("testable", True):
            note = str(_none(r.get("reason")) or "onvolledig")
        out.append(Figure(
            area_code=str(r["region_code"]), area_naam=names.get(str(r["region_code"]), str(r["region_code"])),
            district_naam=district_names.get(str(r.get("district_code")), ""), indicator=indicator,
            comparison=str(r["comparison_label"]), current_label=str(r["current_period"]),
            previous_label=str(r["previous_period"]),
            current=None if current is None else int(current), previous=None if previous is None else int(previous),
            pct_change=_none(r.get("pct_change")), p_value=_none(r.get("p_value")),
            significant=bool(r.get("significant")), direction=_none(r.get("direction")), note=note,
        ))
    return out


def _add_data_warnings(summary: RunSummary, table_id: str, info: Any, label: str = "") -> None:
    what = f"{table_id} ({label})" if label else table_id

    def add(text: str) -> None:
        if text not in summary.warnings:
            summary.warnings.append(text)

    if info.synthetic:
        add("SYNTHETISCHE CIJFERS: deze gegevens zijn kunstmatig (demo/test) en zeggen niets over de werkelijkheid.")
    if info.missing_months and not any("ontbre" in w.lower() or "geen gegevens" in w.lower() for w in summary.warnings):
        add(f"{what}: geen gegevens voor {', '.join(fmt_month(m) for m in info.missing_months)}; "
            "totalen over een periode met die maand zijn onbekend.")
    if info.provisional_months:
        add(f"{what}: cijfers vanaf {fmt_month(min(info.provisional_months))} zijn voorlopig en kunnen nog wijzigen.")
    if info.suppressed_cells and not any("onderdrukt" in w.lower() for w in summary.warnings):
        add(f"{what}: {fmt_int(info.suppressed_cells)} onderdrukte cellen (niet gepubliceerd, niet als 0 geteld); "
            "totalen met zo'n cel zijn onbekend.")


# --------------------------------------------------------------------------------------------
# Rendering the summary (Dutch) for Prefect artifacts
# --------------------------------------------------------------------------------------------


def _fmt_change(f: Figure) -> str:
    return fmt_pct(None if f.pct_change is None else f.pct_change / 100.0)


def _fmt_p(p: float | None) -> str:
    if p is None:
        return "–"
    return "< 0,001" if p < 0.001 else fmt_num(p, 3)


def _md(text: object) -> str:
    """Text from a source as literal Markdown: a title like '[klik](http://…)' or '<img …>' is shown
    as written, never rendered as a link, image or HTML in the Prefect UI."""
    import re

    return re.sub(r"([\\`*_\[\]<>|#!])", r"\\\1", str(text)).replace("\n", " ")


def _cell(text: object) -> str:
    return _md(text)


def summary_markdown(summary: RunSummary) -> str:
    """The run summary as Markdown (the Prefect markdown artifact)."""

    lines = [f"# {summary.title}", ""]
    if summary.synthetic:
        lines += ["> **SYNTHETISCHE CIJFERS — demo/test. Deze aantallen zijn kunstmatig en zeggen niets over de "
                  "werkelijke criminaliteit.**", ""]
    if summary.latest_month is not None:
        lines += [f"**Laatste maand met gegevens:** {fmt_month(summary.latest_month)}", ""]
    if summary.freshness is not None:
        lines += [f"**Nieuwe gegevens bij de bron vóór deze run:** {summary.freshness.text}", ""]

    lines += ["## Kerncijfers per district", ""]
    if summary.districts:
        lines += ["| District | Indicator | Vergelijking | Nu | Aantal | Toen | Aantal | Verandering | p | Significant |",
                  "|---|---|---|---|---:|---|---:|---:|---:|---|"]
        for f in summary.districts:
            lines.append("| " + " | ".join(_cell(x) for x in (
                f.area_naam, f.indicator, f.comparison, f.current_label, fmt_int(f.current), f.previous_label,
                fmt_int(f.previous), _fmt_change(f), _fmt_p(f.p_value),
                ("ja, " + (f.direction or "")) if f.significant else ("onbekend: " + f.note if f.note else "nee"),
            )) + " |")
    else:
        lines.append("Geen kerncijfers berekend.")
    lines += ["", "## Gemeenten met een significante verandering", ""]
    if summary.significant_gemeenten:
        for f in summary.significant_gemeenten:
            lines.append(
                f"- **{_md(f.area_naam)}** ({_md(f.district_naam)}), {_md(f.indicator)}, {f.comparison.lower()}: "
                f"{fmt_int(f.current)} in {f.current_label} tegen {fmt_int(f.previous)} in {f.previous_label} "
                f"({_fmt_change(f)}, p = {_fmt_p(f.p_value)}; {f.direction})"
            )
    else:
        lines.append("Geen gemeente met een significante verandering (na correctie voor de vele vergelijkingen, "
                     "zoals in het rapport).")
    lines += ["", "## Waarschuwingen", ""]
    lines += [f"- {_md(w)}" for w in summary.warnings] or ["Geen."]
    if summary.ingest is not None:
        lines += ["", "## Ophalen", ""]
        for o in summary.ingest.tables:
            span = f"{fmt_month(o.first_month)} t/m {fmt_month(o.last_month)}" if o.first_month and o.last_month else "—"
            lines.append(f"- {o.table_id}: {o.how}; {fmt_int(o.rows)} rijen, {span}, versie {', '.join(o.vintages)}")
        lines += [f"- {line}" for line in summary.ingest.geography]
        lines += [f"- **Let op:** {line}" for line in summary.ingest.warnings]
        lines += [f"- {line.strip()}" if not line.startswith("  ") else f"  - {line.strip()}"
                  for line in summary.ingest.validation]
    lines += ["", "## Rapporten", ""]
    lines += [f"- `{p}`" for p in summary.reports] or ["Geen rapporten geschreven."]
    return "\n".join(lines) + "\n"


def key_figures_table(summary: RunSummary) -> list[dict[str, Any]]:
    """The key figures per district as rows (a Prefect table artifact)."""
    return [
        {
            "district": f.area_naam,
            "indicator": f.indicator,
            "vergelijking": f.comparison,
            "periode": f.current_label,
            "aantal": f.current,
            "vergelijkingsperiode": f.previous_label,
            "aantal_toen": f.previous,
            "verandering_pct": None if f.pct_change is None else round(f.pct_change, 1),
            "p_waarde": None if f.p_value is None else round(f.p_value, 4),
            "significant": f.significant,
            "richting": f.direction,
        }
        for f in summary.districts
    ]


def reports_table(summary: RunSummary) -> list[dict[str, Any]]:
    """The written reports as rows (a Prefect table artifact)."""
    return [{"rapport": p.name, "soort": p.suffix.lstrip(".").upper(), "pad": str(p)} for p in summary.reports]


def artifact_key(text: str) -> str:
    """Prefect artifact keys: lowercase letters, digits and dashes only."""
    import re

    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]", "-", text.lower())).strip("-") or "veiligheidsbeeld"


def publish_artifacts(summary: RunSummary, key: str) -> list[Any]:
    """Publish the summary as Prefect artifacts (inside a flow or task run): one markdown summary,
    a table of key figures per district and a table of the written reports. Returns their ids."""
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    key = artifact_key(key)
    ids = [
        create_markdown_artifact(summary_markdown(summary), key=f"{key}-samenvatting", description=summary.title),
        create_table_artifact(key_figures_table(summary) or [{"district": "—"}], key=f"{key}-kerncijfers",
                              description=f"Kerncijfers per district — {summary.title}"),
        create_table_artifact(reports_table(summary) or [{"rapport": "—", "soort": "", "pad": ""}],
                              key=f"{key}-rapporten", description=f"Geschreven rapporten — {summary.title}"),
    ]
    return ids


def summary_or_warning(build: Callable[[], RunSummary], title: str) -> RunSummary:
    """The summary, or (when the warehouse cannot give one) a summary that says why in a warning:
    a run's artifacts are published even when its key figures cannot be computed."""
    try:
        return build()
    except (DataError, ConfigError) as exc:
        return RunSummary(title=title, warnings=[f"Kerncijfers niet berekend: {exc}"])


def is_retryable(exc: BaseException | None) -> bool:
    """Whether a failed step is worth a retry: a source that failed after its own retries, or a
    warehouse held by another writer. Bad input, schema drift and missing data are not."""
    from veiligheidsbeeld.errors import SchemaDriftError, SourceError, WarehouseLockedError

    if isinstance(exc, SchemaDriftError):
        return False
    return isinstance(exc, (SourceError, WarehouseLockedError))


def ingest_summary(settings: Settings, result: IngestResult, *, today: date | None = None) -> RunSummary:
    """The summary of an ingest run: what was loaded, the key figures it makes available (those
    of a biweekly report dated today) and whether the warehouse is now up to date."""

    today = today or today_local()
    title = f"Ingest {fmt_date(today)}"
    summary = tweewekelijks_summary(settings, today, today=today, strict=False)
    summary.title = title
    summary.ingest = result
    after = freshness(settings, today=today, tables=[o.table_id for o in result.tables])
    if after.stale:
        summary.warnings.insert(0, f"Het warehouse is na deze ingest nog niet actueel: {after.text}.")
    return summary


#: The environment variable a worker machine sets to its checkout of the project.
PROJECT_DIR_VARIABLE = "VEILIGHEIDSBEELD_PROJECT_DIR"


def set_project_directory(variable: str = PROJECT_DIR_VARIABLE) -> dict[str, str]:
    """Pull step of ``prefect.yaml``: change to this machine's checkout of the project.

    Runs on the worker, at run time, so every machine may keep its checkout elsewhere: the path is
    read from the worker's environment variable ``variable``, else the checkout this package is
    installed from (an editable install). (An ``{{ $VAR }}`` placeholder in prefect.yaml would be
    filled in once, on the machine that runs ``prefect deploy``.) Returns ``{"directory": path}``
    like Prefect's own ``set_working_directory``.
    """
    value = os.environ.get(variable, "").strip()
    candidates = [Path(value).expanduser()] if value else [Path(__file__).resolve().parents[2]]
    for folder in candidates:
        if (folder / "flows").is_dir():
            os.chdir(folder)
            return {"directory": str(folder.resolve())}
    where = f"{variable}={value}" if value else f"{variable} is niet gezet en {candidates[0]} is geen projectmap"
    raise ConfigError(
        f"Deze worker vindt de projectmap met flows/ niet ({where}). Zet {variable} op de map van de "
        "checkout van veiligheidsbeeld op deze machine en start de worker opnieuw."
    )
