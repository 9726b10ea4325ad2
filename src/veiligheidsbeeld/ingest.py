"""The ingest job: pull the police tables (live or from a snapshot) and load them into the warehouse.

A plain function, called by the CLI (``veiligheidsbeeld ingest``) and the Prefect flow alike.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from veiligheidsbeeld.config import Settings, police_table
from veiligheidsbeeld.errors import SourceError, VeiligheidsbeeldError
from veiligheidsbeeld.sources.odata import CbsApiSource, ODataSource, SnapshotSource
from veiligheidsbeeld.sources.politie import (
    ProgressCallback,
    PullResult,
    fetch_meta,
    partition_workers,
    plan_pull,
    run_pull,
)
from veiligheidsbeeld.sources.raw_archive import RawArchive
from veiligheidsbeeld.warehouse import db, queries, validation
from veiligheidsbeeld.warehouse.load import LoadSummary, load_police_table

log = logging.getLogger(__name__)


@dataclass
class IngestReport:
    source: str
    pulls: list[PullResult] = field(default_factory=list)
    loads: list[LoadSummary] = field(default_factory=list)
    imported: dict[str, list[str]] = field(default_factory=dict)
    loaded: list[str] = field(default_factory=list)  # Dutch lines: whose police figures were loaded
    geography: list[str] = field(default_factory=list)  # Dutch lines: what was loaded besides
    warnings: list[str] = field(default_factory=list)  # Dutch lines: what is missing, and why
    findings: list[validation.Finding] = field(default_factory=list)  # validation after each load


def area_gemeenten(settings: Settings) -> list[str]:
    """The gemeente codes of the configured eenheid (its district table)."""
    from veiligheidsbeeld.regions import load_district_table

    return sorted(load_district_table(settings.area)["gemeente_code"])


def api_source(catalog_url: str, settings: Settings) -> CbsApiSource:
    """The live CBS API of ``catalog_url`` with the ingest's connection settings (the one way a
    live source is built: police tables and denominators alike)."""
    ing = settings.ingest
    return CbsApiSource(
        catalog_url,
        use_https=ing.use_https,
        retries=ing.retries,
        backoff_seconds=ing.backoff_seconds,
        backoff_max_seconds=ing.backoff_max_seconds,
        timeout_seconds=ing.timeout_seconds,
    )


def open_source(spec: str | Path | None, settings: Settings) -> ODataSource | RawArchive:
    """``'api'`` (or None): the live CBS API; a directory: a cbsodata snapshot or a ``data/raw`` copy."""
    ing = settings.ingest
    if spec is None or str(spec) == "api":
        return api_source(ing.catalog_url, settings)
    path = Path(spec)
    if not path.is_dir():
        raise SourceError(f"Bron '{spec}' is geen map en niet 'api'.")
    other = RawArchive(path)
    if any(other.has_raw_layout(t) for t in ing.tables):
        return other
    return SnapshotSource(path)


def run_ingest(
    settings: Settings,
    source: str | Path | ODataSource | None = None,
    *,
    tables: Sequence[str] | None = None,
    gemeenten: Sequence[str] | None = None,
    progress: ProgressCallback | None = None,
    cbs_source: ODataSource | None = None,
) -> IngestReport:
    """Pull and load the police tables, then districts, lineage, denominators and boundaries.

    ``source``: ``'api'``/None (live), a directory (snapshot or another ``data/raw``), or an
    ``ODataSource``. ``cbs_source`` overrides where the CBS denominators come from (default: the
    live CBS API, or the snapshot directory when ``source`` is one).
    """
    paths = settings.paths.resolved()
    archive = RawArchive(paths.raw)
    table_ids = [police_table(t).table_id for t in (tables or settings.ingest.tables)]
    opened = source if (source is not None and not isinstance(source, (str, Path))) else open_source(source, settings)
    report = IngestReport(source=getattr(opened, "description", str(getattr(opened, "root", opened))))

    area = list(gemeenten) if gemeenten is not None else area_gemeenten(settings)
    if isinstance(opened, RawArchive):
        # Another machine's data/raw: take over its complete vintages (checksums verified).
        for table_id in table_ids:
            report.imported[table_id] = archive.import_vintages(opened.root, table_id)
    else:
        report.pulls.extend(pull_tables(opened, archive, settings, table_ids, area, progress))

    run_id = validation.new_run_id()
    with db.writer(paths.warehouse, memory_limit=settings.ingest.warehouse_memory_limit) as con:
        for table_id in table_ids:
            report.loads.append(
                load_police_table(con, archive, police_table(table_id), provisional_months=settings.ingest.provisional_months)
            )
            # Validate every load; BLOCKER findings stop publication of the reports, WARN shows a banner.
            findings = validation.validate_table(con, table_id, area_gemeenten=area, raw_archive=archive,
                                                 thresholds=settings.validation)
            validation.store_findings(con, run_id, findings, tables=[table_id])
            report.findings.extend(findings)
        loaded, outside = loaded_lines(con, area, settings)
        report.loaded += loaded
        report.warnings += outside
        if not isinstance(opened, RawArchive):
            snapshot_dir = Path(source) if isinstance(source, (str, Path)) and str(source) != "api" else None
            load_geography(con, settings, report, cbs_source=cbs_source, snapshot_dir=snapshot_dir)
    return report


def pull_tables(
    source: ODataSource,
    archive: RawArchive,
    settings: Settings,
    table_ids: Sequence[str],
    area: Sequence[str],
    progress: ProgressCallback | None = None,
) -> list[PullResult]:
    """Pull the tables at the same time: one table's metadata and last partitions overlap the
    other's pull instead of leaving the connection idle. The source keeps at most ``concurrency``
    requests in flight for all tables together; the tables share the partition workers.
    Errors are raised in table order once every table has stopped (finished partitions are kept)."""
    limit = getattr(source, "limit_requests_in_flight", None)
    if limit is not None:
        limit(settings.ingest.concurrency)
    slots = threading.BoundedSemaphore(partition_workers(settings.ingest))

    def pull(table_id: str) -> PullResult:
        spec = police_table(table_id)
        meta = fetch_meta(source, spec)
        plan = plan_pull(meta, archive, settings.ingest, area)
        log.info("%s: %s (%s), %d partities", table_id, plan.kind, plan.reason, len(plan.partitions))
        return run_pull(source, plan, archive, settings.ingest, progress, slots=slots)

    with ThreadPoolExecutor(max_workers=max(1, len(table_ids)), thread_name_prefix="table") as pool:
        futures = [pool.submit(pull, table_id) for table_id in table_ids]
        wait(futures)
    for future in futures:
        if future.exception() is not None:
            raise future.exception()  # type: ignore[misc]
    return [future.result() for future in futures]


def _years_of_police_data(report: IngestReport, start_year: int) -> list[int]:
    last = max((load.last_month for load in report.loads if load.last_month), default=None)
    return list(range(start_year, (last.year if last else start_year) + 1))


def load_geography(con, settings: Settings, report: IngestReport, *, cbs_source: ODataSource | None = None,
                   snapshot_dir: Path | None = None) -> None:
    """Districts, lineage, denominators and boundaries. A missing denominator or boundary source is
    a warning, not a failure: the police figures are still loaded, and every rate that lacks its
    denominator is flagged in the reports."""
    from veiligheidsbeeld.sources import boundaries as bnd
    from veiligheidsbeeld.sources.denominators import KERNCIJFERS_WIJKEN_BUURTEN, pull_denominators
    from veiligheidsbeeld.warehouse import geography

    geo = settings.geography
    paths = settings.paths.resolved()
    n = geography.load_area_districts(con, settings.area)
    geography.load_lineage(con)
    report.geography.append(f"districtsindeling van eenheid {settings.area.eenheid_naam} ({n} gemeenten)")
    gemeenten = area_gemeenten(settings)
    years = _years_of_police_data(report, settings.ingest.start_year)
    offline = snapshot_dir is not None

    if geo.fetch_denominators:
        # Kerncijfers wijken en buurten appear a year or more after the fact: take the last two
        # years that have a table (rates then use the latest available year, flagged as such).
        known = sorted(y for y in KERNCIJFERS_WIJKEN_BUURTEN if y <= years[-1])
        wijk_years = geo.wijk_buurt_years or tuple(known[-2:])
        den_settings = dataclasses.replace(geo, wijk_buurt_years=wijk_years)
        url_chars = settings.ingest.max_url_chars
        try:
            cbs = cbs_source or (SnapshotSource(snapshot_dir) if offline
                                 else api_source(geo.denominator_catalog_url, settings))
            # CBS publishes year Y on the layout of that year: pull the predecessors too, so the
            # denominators can be put on the police layout (geography.police_layout_denominators).
            frame = pull_denominators(cbs, geography.police_layout_codes(gemeenten, years), years, paths.raw, den_settings,
                                      max_url_chars=url_chars)
            national = _national_gemeenten(con, gemeenten) if settings.ingest.national_gemeente_codes else []
            if national and "bevolking" in den_settings.denominator_tables:
                # Inhabitants of every gemeente, for national rankings (rates per 1,000 inhabitants).
                try:
                    everyone = pull_denominators(
                        cbs, geography.police_layout_codes(sorted(set(gemeenten) | set(national)), years), years, paths.raw,
                        dataclasses.replace(den_settings, denominator_tables=("bevolking",), monthly_population=False,
                                            wijk_buurt_years=()),
                        max_url_chars=url_chars,
                    )
                    frame = pd.concat([frame[frame["source_table"] != everyone["source_table"].iloc[0]], everyone])
                except VeiligheidsbeeldError as exc:
                    report.warnings.append(f"Inwoners van de gemeenten buiten de eenheid niet opgehaald: {exc}")
            rows = geography.load_denominators(con, frame)
            report.geography.append(f"{rows} noemers (inwoners, huishoudens, woningen) voor {years[0]}–{years[-1]}")
        except VeiligheidsbeeldError as exc:
            report.warnings.append(f"Noemers niet bijgewerkt: {exc}")

    if geo.fetch_boundaries:
        for level in geo.boundary_levels:
            local = geo.boundary_files.get(level) or (_snapshot_boundary_file(snapshot_dir, level, settings.area.layout_year) if snapshot_dir else None)
            if offline and local is None:
                report.warnings.append(
                    f"Geen {level}grenzen in de snapshot (verwacht boundaries/{level}_{settings.area.layout_year}.topojson, "
                    f".geojson of .gpkg); kaarten van dat niveau ontbreken."
                )
                continue
            try:
                gdf = bnd.get_boundaries(level, settings.area.layout_year, paths.raw, local_path=local, gemeente_codes=gemeenten)
                rows = geography.load_boundaries(con, gdf, str(local or "PDOK"))
                report.geography.append(f"{rows} {level}grenzen ({settings.area.layout_year})")
            except VeiligheidsbeeldError as exc:
                report.warnings.append(f"{level.capitalize()}grenzen niet bijgewerkt: {exc}")


def loaded_lines(con, gemeenten: Sequence[str], settings: Settings, examples: int = 5) -> tuple[list[str], list[str]]:
    """What the police figures were loaded for (Dutch), and a warning when some of those gemeenten
    lie outside the configured eenheid: its reports do not cover them."""
    from veiligheidsbeeld.regions import load_district_table

    table = load_district_table(settings.area)
    in_area = set(table["gemeente_code"])
    names = queries.region_names(con, gemeenten)

    def listed(codes: Sequence[str]) -> str:
        shown = ", ".join(f"{names.get(c, c)} ({c})" for c in codes[:examples])
        return shown + (f" en {len(codes) - examples} andere" if len(codes) > examples else "")

    inside = [g for g in gemeenten if g in in_area]
    outside = [g for g in gemeenten if g not in in_area]
    eenheid = settings.area.eenheid_naam
    lines = []
    if inside:
        if set(inside) == in_area:
            districts = table["district_code"].nunique()
            lines.append(f"politiecijfers van alle {len(inside)} gemeenten van eenheid {eenheid} ({districts} districten)")
        else:
            lines.append(f"politiecijfers van {len(inside)} van de {len(in_area)} gemeenten van eenheid {eenheid}: "
                         f"{listed(inside)}")
    if outside:
        lines.append(f"politiecijfers van {len(outside)} gemeente(n) buiten eenheid {eenheid}: {listed(outside)}")
    warnings = []
    if outside:
        warnings.append(
            f"{listed(outside)} {'ligt' if len(outside) == 1 else 'liggen'} buiten eenheid {eenheid}: de rapporten "
            "(tweewekelijks en jaaranalyse) behandelen alleen de gemeenten van de eenheid en laten "
            f"{'deze gemeente' if len(outside) == 1 else 'deze gemeenten'} weg. De cijfers staan wel in het warehouse."
        )
    return lines, warnings


def _national_gemeenten(con, area: list[str]) -> list[str]:
    """Gemeenten in the police data outside the area (their gemeente rows are pulled for rankings)."""
    return sorted(set(queries.gemeenten_in_facts(con)) - set(area))


def _snapshot_boundary_file(root: Path, level: str, year: int) -> Path | None:
    for suffix in (".topojson", ".geojson", ".json", ".gpkg"):
        candidate = root / "boundaries" / f"{level}_{year}{suffix}"
        if candidate.is_file():
            return candidate
    return None
