"""``veiligheidsbeeld demo``: the whole chain on synthetic data, for a newcomer without API access.

It builds a synthetic snapshot of both police tables for the eenheid (realistic seasonality and
trend from the real national series, small counts per buurt, some suppressed cells, one missing
month), ingests it into a warehouse of its own, and writes every report: the biweekly
woninginbraak report for every district, the annual analysis and the overlast target monitor.
Everything lives under one demo folder (default ``demo/``); the real warehouse is never touched.
The snapshot's TableInfos say SYNTHETISCH, so every report made from it says so prominently.

What the default snapshot holds (small enough for a few minutes on two cores):

* 47022NED (misdrijven), from ``start`` (default 2013-01, the strategy's base year) to two
  months before today, with the codes the reports need (woninginbraak ``1.1.1``, the High Impact
  Crime and BBV groups, the total ``0.0.0``): every gemeente of the eenheid, and for one small
  gemeente per district also its wijken and buurten (buurt cells are where the police suppress
  small counts, so those hold the suppressed cells);
* 47024NED (overlast), every category, the same regions and months;
* one month missing for every region but NL (default: 40 months before the last one: the
  monthly charts and the yearly series show the gap; the key comparisons and the years the
  annual analysis compares stay complete);
* SYNTHETIC CBS denominators (inhabitants, households, dwellings) and boundaries (the real
  gemeente polygons, invented wijk polygons), so rates and maps are drawn too.

Every region has the full cube of codes and months, like the real tables.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from typing import Any
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from veiligheidsbeeld.analysis.periods import add_months, today_local
from veiligheidsbeeld.config import MISDRIJVEN_JAAR, Settings
from veiligheidsbeeld.constants import MISDRIJVEN_TABLE, NATIONAL_CODE, OVERLAST_TABLE, TOTAL_CODE
from veiligheidsbeeld.errors import ConfigError

log = logging.getLogger(__name__)

MISDRIJVEN = MISDRIJVEN_TABLE
OVERLAST = OVERLAST_TABLE
NL_KEY = f"{NATIONAL_CODE:<10}"  # the padded key of the police region list
#: One small gemeente per district gets its wijken and buurten: Olst-Wijhe, Losser, Hattem,
#: Scherpenzeel, Druten.
DEFAULT_BUURT_GEMEENTEN = ("GM1773", "GM0168", "GM0244", "GM0279", "GM0225")


def _month_key(d: date) -> str:
    return f"{d.year:04d}-{d.month:02d}"


def _default_codes() -> tuple[str, ...]:
    """The 47022NED codes the reports need: woninginbraak, the High Impact Crime and BBV groups of
    the biweekly and annual reports, and the total."""
    from veiligheidsbeeld.analysis.jaaranalyse import crime_groups
    from veiligheidsbeeld.config import JaaranalyseSettings, TweewekelijksSettings

    groups = crime_groups(TweewekelijksSettings(), JaaranalyseSettings().bbv)
    return (TOTAL_CODE, *sorted({c for g in groups for c in g.codes}, key=_code_order))


def _code_order(code: str) -> list:
    return [int(p) if p.isdigit() else p for p in code.strip().split(".")]


@dataclass(frozen=True)
class DemoOptions:
    """What the demo builds. Months as ``YYYY-MM``; ``None`` means the default described above."""

    root: Path = Path("demo")
    start: str = "2013-01"
    end: str | None = None
    missing_month: str | None = None
    #: 47022NED codes; default those the reports need (woninginbraak, HIC, BBV groups, total).
    codes: tuple[str, ...] | None = None
    #: Gemeenten that also get their wijken and buurten (where the police suppress small cells);
    #: default one small gemeente per district. The others have gemeente rows only.
    buurt_gemeenten: tuple[str, ...] | None = None
    #: 47024NED codes; empty: every category.
    overlast_codes: tuple[str, ...] = ()
    #: Gemeente codes; empty: the whole eenheid (76 gemeenten of Oost-Nederland).
    gemeenten: tuple[str, ...] = ()
    seed: int = 20151007
    shared_dir: Path | None = None
    #: The report date of the biweekly report; default today (or just after ``end``).
    report_date: date | None = None

    def resolved_end(self, today: date | None = None) -> date:
        if self.end:
            return _parse_month(self.end, "einde")
        today = today or today_local()
        # The police publish a month in the course of the next: two months back is up to date.
        return add_months(date(today.year, today.month, 1), -2)

    def resolved_missing(self, today: date | None = None) -> date:
        if self.missing_month:
            return _parse_month(self.missing_month, "ontbrekende maand")
        return add_months(self.resolved_end(today), -40)


def _parse_month(text: str, what: str) -> date:
    try:
        year, month = (int(p) for p in str(text).strip().split("-"))
        return date(year, month, 1)
    except ValueError:
        raise ConfigError(f"De {what} '{text}' is geen maand in de vorm JJJJ-MM (bijvoorbeeld 2024-06).") from None


@dataclass
class DemoResult:
    root: Path
    snapshot: Path
    settings: Settings
    report_date: date
    year: int
    reports: list[Path] = field(default_factory=list)
    summaries: list = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    #: Seconds from the start of the demo until the first district's HTML report existed.
    first_report_seconds: float | None = None


def _shared_dir(options: DemoOptions) -> Path:
    from veiligheidsbeeld.testing.synthetic import find_shared_dir

    if options.shared_dir is not None:
        return Path(options.shared_dir)
    try:
        return find_shared_dir()
    except FileNotFoundError as exc:
        raise ConfigError(
            "De demo heeft de echte landelijke reeksen en codelijsten uit de map shared/data/politie nodig "
            f"(naast de projectmap, of aangewezen met VEILIGHEIDSBEELD_SHARED): {exc}"
        ) from None


def build_demo_snapshot(options: DemoOptions, out: Path, *, today: date | None = None) -> Path:
    """Write the demo snapshot (``<out>/<TABLE_ID>/<Entity>.json``, cbsodata layout); returns ``out``."""
    from veiligheidsbeeld.testing.synthetic import build_police_snapshot

    shared = _shared_dir(options)
    end, missing = options.resolved_end(today), options.resolved_missing(today)
    start = _parse_month(options.start, "beginmaand")
    if end < start:
        raise ConfigError(f"De demo-einde {_month_key(end)} ligt vóór het begin {options.start}.")
    codes = list(options.codes) if options.codes is not None else list(_default_codes())
    gemeenten = [g.strip().upper() for g in options.gemeenten] or None
    buurt_gemeenten = [g.strip().upper() for g in (options.buurt_gemeenten if options.buurt_gemeenten is not None
                                                   else DEFAULT_BUURT_GEMEENTEN)]
    if gemeenten is not None:
        buurt_gemeenten = [g for g in buurt_gemeenten if g in gemeenten]
    common = dict(
        shared_dir=shared,
        start=_month_key(start),
        end=_month_key(end),
        missing_months=[_month_key(missing)] if start <= missing <= end else [],
        seed=options.seed,
        modified=f"{_month_key(add_months(end, 1))}-15T02:00:00",
    )
    tables = {MISDRIJVEN: codes or None, OVERLAST: list(options.overlast_codes) or None}
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    try:
        build_police_snapshot(out, tables=tuple(tables), include_wijken_buurten=False, gemeenten=gemeenten,
                              codes={t: c for t, c in tables.items() if c}, **common)
        if buurt_gemeenten:
            with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
                build_police_snapshot(Path(tmp), tables=tuple(tables), include_wijken_buurten=True,
                                      gemeenten=buurt_gemeenten, codes={t: c for t, c in tables.items() if c},
                                      **common)
                for table_id in tables:
                    _merge_detail(out / table_id, Path(tmp) / table_id, buurt_gemeenten)
        # The yearly table (zedenmisdrijven per gemeente for the BBV indicator), SYNTHETIC per gemeente.
        build_police_snapshot(out, tables=(MISDRIJVEN_JAAR.table_id,), gemeenten=gemeenten,
                              codes={MISDRIJVEN_JAAR.table_id: list(MISDRIJVEN_JAAR.default_codes)}, **common)
        _add_geography(out, shared, list(options.gemeenten) or None, start.year, end.year, options.seed)
    except ValueError as exc:  # the builder's messages for bad codes, gemeenten or months
        raise ConfigError(f"Demo-snapshot kan niet worden gemaakt: {exc}") from None
    return out


def _add_geography(out: Path, shared: Path, gemeenten: list[str] | None, first_year: int, last_year: int,
                   seed: int) -> None:
    """SYNTHETIC CBS denominators (population, households, dwellings; wijk/buurt key figures for the
    last two years) and boundaries (the real gemeente polygons, invented wijk polygons), where
    the ingest looks for them in a snapshot directory."""
    from veiligheidsbeeld.testing.synthetic import district_gemeenten, politie_dir
    from veiligheidsbeeld.testing.synthetic_cbs import build_cbs_snapshot, copy_boundaries, synthetic_wijk_boundaries

    region_list = politie_dir(shared) / "47022NED_WijkenEnBuurten.csv"
    codes = gemeenten or district_gemeenten()
    build_cbs_snapshot(out, region_list=region_list, gemeenten=codes, years=range(first_year, last_year + 1),
                       wijk_buurt_years=wijk_buurt_years(last_year), seed=seed)
    gemeente_file = copy_boundaries(out, shared, 2023)
    if gemeente_file is not None:
        synthetic_wijk_boundaries(out, gemeente_file, region_list, codes, 2023, seed=seed)


def _read(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))


def _merge_detail(target: Path, detail: Path, gemeenten: Sequence[str]) -> None:
    """Give ``gemeenten`` of snapshot table ``target`` (gemeente rows only) their wijken and buurten
    from ``detail`` (the same table for those gemeenten, down to the buurt): their gemeente rows
    are replaced by the detail's, whose gemeente is the sum of its buurten. Every region keeps the
    full cube of codes and periods, like the real table."""
    from veiligheidsbeeld.regions import gemeente_of_region

    wanted = set(gemeenten)
    detail_regions = [r for r in _read(detail / "WijkenEnBuurten.json")
                      if gemeente_of_region(str(r["Key"]).strip()) in wanted]
    detail_keys = {r["Key"] for r in detail_regions}
    rows = [r for r in _read(target / "TypedDataSet.json") if r["WijkenEnBuurten"] not in detail_keys]
    rows += [r for r in _read(detail / "TypedDataSet.json") if r["WijkenEnBuurten"] in detail_keys]
    rows.sort(key=lambda r: (r["WijkenEnBuurten"] != NL_KEY, r["WijkenEnBuurten"]))
    for i, r in enumerate(rows):
        r["ID"] = i
    regions = [r for r in _read(target / "WijkenEnBuurten.json") if r["Key"] not in detail_keys] + detail_regions
    regions.sort(key=lambda r: (r["Key"] != NL_KEY, r["Key"]))
    _write_json_list(target / "TypedDataSet.json", rows)
    (target / "WijkenEnBuurten.json").write_text(json.dumps(regions, ensure_ascii=False, indent=2), encoding="utf-8")


def _write_json_list(path: Path, rows: list[dict]) -> None:
    # One row per line, as the builder writes it (streams well, diff-friendly).
    with path.open("w", encoding="utf-8") as fh:
        fh.write("[\n")
        for i, row in enumerate(rows):
            fh.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")))
            fh.write(",\n" if i < len(rows) - 1 else "\n")
        fh.write("]\n")


def wijk_buurt_years(last_year: int) -> tuple[int, ...]:
    """The last two years up to ``last_year`` that have a CBS "Kerncijfers wijken en buurten" table."""
    from veiligheidsbeeld.sources.denominators import KERNCIJFERS_WIJKEN_BUURTEN

    return tuple(sorted(y for y in KERNCIJFERS_WIJKEN_BUURTEN if y <= last_year)[-2:])


def demo_settings(root: Path, config: Path | None = None, *, last_year: int | None = None,
                  gemeenten: Sequence[str] = ()) -> Settings:
    """Settings whose paths all lie in the demo folder (never the real warehouse), reading the
    wijk/buurt denominators of the years the demo snapshot has. With ``gemeenten`` (a part of the
    eenheid) the districts are those of a district table of just those gemeenten."""
    import dataclasses

    from veiligheidsbeeld.pipeline import run_settings
    from veiligheidsbeeld.regions import load_district_table

    root = Path(root).resolve()
    settings = run_settings(config=config, warehouse=root / "warehouse" / "demo.duckdb", raw=root / "raw",
                            reports=root / "rapporten")
    if gemeenten:
        table = load_district_table(settings.area)
        wanted = {g.strip().upper() for g in gemeenten}
        unknown = sorted(wanted - set(table["gemeente_code"]))
        if unknown:
            raise ConfigError(f"Gemeente(n) {', '.join(unknown)} horen niet bij eenheid {settings.area.eenheid_naam}.")
        path = root / "districten.csv"
        root.mkdir(parents=True, exist_ok=True)
        table[table["gemeente_code"].isin(wanted)].to_csv(path, index=False)
        settings = dataclasses.replace(settings, area=dataclasses.replace(settings.area, district_table=str(path)))
    if last_year is not None and hasattr(settings, "geography"):
        geography = dataclasses.replace(settings.geography, wijk_buurt_years=wijk_buurt_years(last_year))
        settings = dataclasses.replace(settings, geography=geography)
    return settings


def run_demo(
    options: DemoOptions = DemoOptions(),
    *,
    config: Path | None = None,
    say: Callable[[str], None] = print,
    today: date | None = None,
) -> DemoResult:
    """Build the snapshot, ingest it and write every report into ``options.root``."""
    import time

    from veiligheidsbeeld import pipeline

    demo_started = time.monotonic()
    root = Path(options.root).resolve()
    root.mkdir(parents=True, exist_ok=True)
    today = today or today_local()
    end = options.resolved_end(today)
    settings = demo_settings(root, config, last_year=end.year, gemeenten=options.gemeenten)
    # The snapshot lists every code (like cbsodata) but holds data for these only: pull just them.
    codes = {MISDRIJVEN: tuple(options.codes if options.codes is not None else _default_codes())}
    if options.overlast_codes:
        codes[OVERLAST] = tuple(options.overlast_codes)
    settings = settings.with_ingest(codes=codes)
    for stale in (settings.paths.warehouse, settings.paths.raw, settings.paths.reports):
        # A fresh start every time: the demo never mixes two snapshots.
        if stale.is_dir():
            shutil.rmtree(stale)
        elif stale.exists():
            stale.unlink()
    # Today when the data reach up to two months back (the default), else just after the data.
    recent = add_months(end, 2) >= date(today.year, today.month, 1)
    report_date = options.report_date or (today if recent else add_months(end, 1).replace(day=15))
    year = end.year - 1 if end.month < 12 else end.year
    result = DemoResult(root=root, snapshot=root / "snapshot", settings=settings, report_date=report_date, year=year)

    def step(label: str, fn: Callable[[], object]) -> object:
        say(label)
        started = time.monotonic()
        value = fn()
        result.seconds[label] = round(time.monotonic() - started, 1)
        return value

    step(f"1/4 Synthetische snapshot maken ({options.start} t/m {_month_key(end)}, ontbrekende maand "
         f"{_month_key(options.resolved_missing(today))}) in {result.snapshot}",
         lambda: build_demo_snapshot(options, result.snapshot, today=today))
    # The data checks log every finding; the demo's one missing month gives one per gemeente.
    # Say it once instead (the reports show the same findings as banners).
    checks = logging.getLogger("veiligheidsbeeld.warehouse.validation")
    level = checks.level
    checks.setLevel(logging.CRITICAL)
    try:
        fetched = step("2/4 Snapshot ophalen in het demo-warehouse",
                       lambda: pipeline.ingest(settings, str(result.snapshot)))
    finally:
        checks.setLevel(level)
    for line in fetched.validation:
        if not line.startswith("  "):
            say("    " + line)
    incidents = step("    + synthetische incidenten (woninginbraken met near-repeat-ketens) importeren",
                     lambda: import_demo_incidents(settings, report_date, root / "incidenten", seed=options.seed))
    say("    " + incidents.summary().splitlines()[0])
    districts = pipeline.check_districts(None, settings)

    def first_report(done: Any) -> None:
        # A newcomer can open the first report while the other districts, PDFs and tables follow.
        if done.part == "pages" and done.html is not None and result.first_report_seconds is None:
            result.first_report_seconds = round(time.monotonic() - demo_started, 1)
            say(f"    eerste rapport klaar na {result.first_report_seconds:.0f} s ({done.what}): {done.html}")

    written = step(f"3/4 Tweewekelijkse rapporten voor {len(districts)} districten (rapportdatum {report_date:%d-%m-%Y})",
                   lambda: pipeline.render_tweewekelijks_reports(settings, report_date, districts, on_done=first_report))
    result.reports += written
    summary = pipeline.summary_or_warning(
        lambda: pipeline.tweewekelijks_summary(settings, report_date, districts, today=report_date),
        "Tweewekelijkse woninginbraakanalyse")
    summary.ingest, summary.reports = fetched, list(written)
    result.summaries.append(summary)
    annual = step(f"4/4 Jaaranalyse en overlastdoelmonitor {year}",
                  lambda: pipeline.render_jaaranalyse_reports(settings, year)
                  + pipeline.render_overlast_monitor(settings, year))
    result.reports += annual
    summary = pipeline.summary_or_warning(lambda: pipeline.jaaranalyse_summary(settings, year), f"Jaaranalyse {year}")
    summary.reports = list(annual)
    result.summaries.append(summary)
    return result


def import_demo_incidents(settings: Settings, report_date: date, folder: Path, *, seed: int = 18,
                          burglaries_per_year: float = 3000.0):
    """SYNTHETIC incidents for the demo (issue 18): two years up to the report date, inside the
    real gemeente boundaries in the demo warehouse (weighted by area), with the demo's buurt codes
    as synthetic Voronoi buurten, a seasonal pattern and planted near-repeat chains; written as
    ``synthetisch_incidenten.csv`` and imported marked synthetic."""
    from veiligheidsbeeld.incidents.importer import import_incidents
    from veiligheidsbeeld.testing.synthetic_incidents import Area, generate_incidents
    from veiligheidsbeeld.warehouse import queries
    from veiligheidsbeeld.warehouse.db import reader

    with reader(settings.paths.resolved().warehouse) as con:
        year = max((queries.boundary_layout_years(con) or {}).get("gemeente") or [None])
        if year is None:
            raise ConfigError("Het demo-warehouse heeft geen gemeentegrenzen: de synthetische incidenten hebben er een nodig.")
        gemeenten = queries.boundaries(con, "gemeente", year).to_crs("EPSG:28992")
        wanted = queries.district_gemeenten(con)
        buurten = queries.regions(con, "BU")["code"]
    gemeenten = gemeenten[gemeenten["region_code"].isin(set(wanted))]
    areas = [
        Area(row.region_code, tuple(row.geometry.bounds), row.geometry, weight=float(row.geometry.area),
             buurten=tuple(b for b in buurten if b[2:6] == row.region_code[2:6]))
        for row in gemeenten.itertuples()
    ]
    start = date(report_date.year - 2, report_date.month, 1)
    frame = generate_incidents(areas, start, report_date, burglaries_per_year=burglaries_per_year, seed=seed)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "synthetisch_incidenten.csv"
    frame.to_csv(path, index=False)
    return import_incidents(settings, path, synthetic=True)


def demo_overview(result: DemoResult, limit: Sequence[str] = (".html", ".pdf")) -> str:
    """A short Dutch text for the terminal: where everything is."""
    lines = [
        "SYNTHETISCHE CIJFERS — alles hieronder is gemaakt uit kunstmatige gegevens (demo).",
        f"Demo-map: {result.root}",
        f"Snapshot: {result.snapshot}",
        f"Warehouse: {result.settings.paths.warehouse}",
        "Rapporten:",
    ]
    shown = [p for p in result.reports if p.suffix.lower() in limit] or result.reports
    lines += [f"  {p}" for p in shown]
    lines.append("Probeer ook: veiligheidsbeeld status --warehouse " + str(result.settings.paths.warehouse))
    return "\n".join(lines)
