"""Prefect flow ``ingest``: refresh the police tables in the warehouse.

Thin: every task calls a plain function of :mod:`veiligheidsbeeld.pipeline`. The partitions of
each table are pulled concurrently and each is retried with backoff inside the pull (an
interrupted pull resumes where it stopped); a source that keeps failing is retried as a whole by
Prefect. The load into DuckDB takes the warehouse's writer lock, so concurrent runs wait for
each other.
"""

from __future__ import annotations

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from veiligheidsbeeld import pipeline
from veiligheidsbeeld.flow_tasks import fetch, publish


summarise = task(pipeline.ingest_summary, name="kerncijfers", cache_policy=NO_CACHE)


@flow(name="ingest", log_prints=True)
def ingest(
    source: str = "api",
    tables: list[str] | None = None,
    warehouse: str | None = None,
    raw: str | None = None,
    config: str | None = None,
) -> list[str]:
    """Haal de politietabellen op (live CBS of een snapshotmap) en laad ze in het warehouse.

    Args:
        source: 'api' (live CBS) of een snapshotmap.
        tables: tabellen (standaard 47022NED en 47024NED).
        warehouse: pad naar het DuckDB-warehouse (standaard uit de instellingen).
        raw: pad naar de landingszone (standaard uit de instellingen).
        config: configuratiebestand (TOML) van deze machine.
    """
    settings = pipeline.run_settings(config=config, warehouse=warehouse, raw=raw)
    src = pipeline.check_source(source)
    result = fetch(settings, src, tables)
    publish(summarise(settings, result), "ingest")
    return [o.table_id for o in result.tables]


if __name__ == "__main__":  # pragma: no cover - `python flows/ingest.py` runs it once, locally
    ingest()
