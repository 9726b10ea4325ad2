"""The Prefect tasks the three flows in ``flows/`` share: thin wrappers over :mod:`pipeline`.

Kept in the package (not in ``flows/``) so that each flow file, loaded by its entrypoint on any
worker, imports one definition instead of repeating it.
"""

from __future__ import annotations

from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from veiligheidsbeeld import pipeline


def _retry_if_worth_it(task, task_run, state) -> bool:  # noqa: ANN001 - Prefect's hook signature
    return pipeline.is_retryable(state.result(raise_on_failure=False))


check_source_changed = task(pipeline.source_changed, name="bron-gewijzigd", cache_policy=NO_CACHE)
upgrade_warehouse = task(pipeline.upgrade_warehouse, name="warehouse-bijwerken", cache_policy=NO_CACHE,
                         tags=["warehouse-schrijver"])
fetch = task(
    pipeline.ingest,
    name="ophalen",
    retries=2,
    retry_delay_seconds=[30, 120],
    retry_condition_fn=_retry_if_worth_it,
    cache_policy=NO_CACHE,
    # A tag for a server-wide concurrency limit: `prefect concurrency-limit create warehouse-schrijver 1`.
    tags=["warehouse-schrijver"],
)
publish = task(pipeline.publish_artifacts, name="artefacten-publiceren", cache_policy=NO_CACHE)


def fetch_if_changed(settings: Any, source: str, ingest_if_stale: bool) -> tuple[Any, Any]:
    """In a flow: ask the source whether the tables changed (one small request each) and fetch
    when they did, so a month published mid-month is in the next report and an unchanged source
    costs nothing more. Returns the freshness and the ingest result (None when nothing was fetched)."""
    logger = get_run_logger()
    if ingest_if_stale:  # this run may write: an older warehouse is upgraded first, as any writer does
        logger.info("Warehouse: %s", upgrade_warehouse(settings))
    fresh = check_source_changed(settings, source)
    if fresh.stale and ingest_if_stale:
        logger.info("Nieuwe gegevens (%s): eerst ophalen uit %s.", fresh.text, source)
        return fresh, fetch(settings, source)
    logger.info("Geen ophaalronde: %s.", fresh.text)
    return fresh, None
