"""Prefect flow ``incidenten``: import police incident exports (police-internal) into the warehouse.

Thin: each task calls a plain function of :mod:`veiligheidsbeeld.incidents.dropfolder`. Run by hand
with files, or on a schedule over the drop folder (``[incidenten].drop_map``, default
``data/incidenten/inbox``): imported files move to ``verwerkt/``, refused ones to ``geweigerd/``
with the reason beside them. The run summary holds counts only, never incident data.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from veiligheidsbeeld import pipeline
from veiligheidsbeeld.incidents import dropfolder

import_folder = task(dropfolder.import_drop_folder, name="importmap-verwerken", cache_policy=NO_CACHE,
                     tags=["warehouse-schrijver"])
import_file = task(dropfolder.import_file, name="bestand-importeren", cache_policy=NO_CACHE, tags=["warehouse-schrijver"])


@flow(name="incidenten", log_prints=True)
def incidenten(
    files: list[str] | None = None,
    drop_folder: str | None = None,
    warehouse: str | None = None,
    config: str | None = None,
) -> list[str]:
    """Importeer incidentbestanden van de politie (politie-intern) in het lokale warehouse.

    Args:
        files: bestanden om te importeren; leeg = alles wat in de importmap staat.
        drop_folder: de importmap (standaard [incidenten].drop_map of data/incidenten/inbox).
        warehouse: pad naar het DuckDB-warehouse.
        config: configuratiebestand (TOML) van deze machine.
    """
    logger = get_run_logger()
    settings = pipeline.run_settings(config=config, warehouse=warehouse)
    if files:
        lines = [import_file(settings, Path(f)).summary() for f in files]
    else:
        lines = import_folder(settings, Path(drop_folder) if drop_folder else None).lines()
    for line in lines:
        logger.info(line)
    return lines


if __name__ == "__main__":  # pragma: no cover - `python flows/incidenten.py` runs it once, locally
    incidenten()
