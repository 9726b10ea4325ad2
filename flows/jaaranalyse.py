"""Prefect flow ``jaaranalyse``: the annual strategic analysis and the overlast target monitor
for one year, with a summary as Prefect artifacts.

Thin: every task calls a plain function of :mod:`veiligheidsbeeld.pipeline`.
"""

from __future__ import annotations

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from veiligheidsbeeld import pipeline
from veiligheidsbeeld.flow_tasks import fetch_if_changed, publish


render_annual = task(pipeline.render_jaaranalyse_reports, name="jaaranalyse-maken", cache_policy=NO_CACHE)
render_monitor = task(pipeline.render_overlast_monitor, name="overlastmonitor-maken", cache_policy=NO_CACHE)
summarise = task(pipeline.jaaranalyse_summary, name="kerncijfers", cache_policy=NO_CACHE)


@flow(name="jaaranalyse", log_prints=True)
def jaaranalyse(
    year: int | None = None,
    source: str = "api",
    warehouse: str | None = None,
    raw: str | None = None,
    reports: str | None = None,
    config: str | None = None,
    ingest_if_stale: bool = True,
    pdf: bool = True,
) -> list[str]:
    """Jaarlijkse strategische analyse en overlastdoelmonitor.

    Args:
        year: het jaar (standaard het vorige kalenderjaar).
        source: 'api' (live CBS) of een snapshotmap, voor het ophalen.
        warehouse: pad naar het DuckDB-warehouse.
        raw: pad naar de landingszone.
        reports: map voor de rapporten.
        config: configuratiebestand (TOML) van deze machine.
        ingest_if_stale: eerst ophalen als de bron een nieuwe versie van een tabel heeft (Modified gewijzigd).
        pdf: ook een pdf-versie maken (trager dan alleen html).
    """
    settings = pipeline.run_settings(config=config, warehouse=warehouse, raw=raw, reports=reports)
    year = year or pipeline.today_local().year - 1
    src = pipeline.check_source(source)
    fresh, fetched = fetch_if_changed(settings, src, ingest_if_stale)
    # One after the other: chart drawing (matplotlib) is not thread-safe.
    rendered = [render_annual(settings, year, pdf=pdf, return_state=True),
                render_monitor(settings, year, return_state=True)]
    summary = summarise(settings, year, strict=False)
    summary.freshness, summary.ingest = fresh, fetched
    for state in rendered:
        if state.is_completed():
            summary.reports += state.result()
        else:  # still publish what is known, and say what is missing
            summary.warnings.insert(0, f"Niet gemaakt: {state.result(raise_on_failure=False)}")
    publish(summary, "jaaranalyse")
    return [str(p) for state in rendered for p in state.result()]  # a failed render fails the run here


if __name__ == "__main__":  # pragma: no cover
    jaaranalyse()
