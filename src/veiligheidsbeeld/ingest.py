"""The ingest job: pull the police tables (live or from a snapshot) and load them into the warehouse.

A plain function, called by the CLI (``veiligheidsbeeld ingest``) and the Prefect flow alike.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from veiligheidsbeeld.config import Settings, police_table
from veiligheidsbeeld.errors import SourceError
from veiligheidsbeeld.sources.odata import CbsApiSource, ODataSource, SnapshotSource
from veiligheidsbeeld.sources.politie import ProgressCallback, PullResult, fetch_meta, plan_pull, run_pull
from veiligheidsbeeld.sources.raw_archive import RawArchive
from veiligheidsbeeld.warehouse import db
from veiligheidsbeeld.warehouse.load import LoadSummary, load_police_table

log = logging.getLogger(__name__)


@dataclass
class IngestReport:
    source: str
    pulls: list[PullResult] = field(default_factory=list)
    loads: list[LoadSummary] = field(default_factory=list)
    imported: dict[str, list[str]] = field(default_factory=dict)


def area_gemeenten(settings: Settings) -> list[str]:
    """The gemeente codes of the configured eenheid (its district table)."""
    from veiligheidsbeeld.regions import load_district_table

    return sorted(load_district_table(settings.area)["gemeente_code"])


def open_source(spec: str | Path | None, settings: Settings) -> ODataSource | RawArchive:
    """``'api'`` (or None): the live CBS API; a directory: a cbsodata snapshot or a ``data/raw`` copy."""
    ing = settings.ingest
    if spec is None or str(spec) == "api":
        return CbsApiSource(
            ing.catalog_url,
            use_https=ing.use_https,
            retries=ing.retries,
            backoff_seconds=ing.backoff_seconds,
            backoff_max_seconds=ing.backoff_max_seconds,
            timeout_seconds=ing.timeout_seconds,
        )
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
) -> IngestReport:
    paths = settings.paths.resolved()
    archive = RawArchive(paths.raw)
    table_ids = [police_table(t).table_id for t in (tables or settings.ingest.tables)]
    opened = source if (source is not None and not isinstance(source, (str, Path))) else open_source(source, settings)
    report = IngestReport(source=getattr(opened, "description", str(getattr(opened, "root", opened))))

    if isinstance(opened, RawArchive):
        # Another machine's data/raw: take over its complete vintages (checksums verified).
        for table_id in table_ids:
            report.imported[table_id] = archive.import_vintages(opened.root, table_id)
    else:
        area = list(gemeenten) if gemeenten is not None else area_gemeenten(settings)
        for table_id in table_ids:
            spec = police_table(table_id)
            meta = fetch_meta(opened, spec)
            plan = plan_pull(meta, archive, settings.ingest, area)
            log.info("%s: %s (%s), %d partities", table_id, plan.kind, plan.reason, len(plan.partitions))
            report.pulls.append(run_pull(opened, plan, archive, settings.ingest, progress))

    with db.writer(paths.warehouse) as con:
        for table_id in table_ids:
            report.loads.append(
                load_police_table(con, archive, police_table(table_id), provisional_months=settings.ingest.provisional_months)
            )
    return report
