"""Prefect flow ``tweewekelijks``: ingest when the source has a new table version, then the biweekly
woninginbraak report for every district, with a summary as Prefect artifacts.

Thin: every task calls a plain function of :mod:`veiligheidsbeeld.pipeline`. The flow shares
nothing with an earlier run but the warehouse, raw and reports paths it is given.
"""

from __future__ import annotations

from datetime import date

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from veiligheidsbeeld import pipeline
from veiligheidsbeeld.flow_tasks import fetch_if_changed, publish


render_reports = task(pipeline.render_tweewekelijks_reports, name="rapporten-maken", cache_policy=NO_CACHE)
summarise = task(pipeline.tweewekelijks_summary, name="kerncijfers", cache_policy=NO_CACHE)


@flow(name="tweewekelijks", log_prints=True)
def tweewekelijks(
    report_date: date | None = None,
    districts: list[str] | None = None,
    source: str = "api",
    warehouse: str | None = None,
    raw: str | None = None,
    reports: str | None = None,
    config: str | None = None,
    ingest_if_stale: bool = True,
    pdf: bool = True,
) -> list[str]:
    """Tweewekelijkse woninginbraakanalyse voor elk district (eerst ophalen als de bron nieuwe cijfers heeft).

    Args:
        report_date: rapportdatum (standaard vandaag, Europe/Amsterdam).
        districts: districten (namen of codes); leeg = alle districten van de eenheid.
        source: 'api' (live CBS) of een snapshotmap, voor het ophalen.
        warehouse: pad naar het DuckDB-warehouse.
        raw: pad naar de landingszone.
        reports: map voor de rapporten.
        config: configuratiebestand (TOML) van deze machine.
        ingest_if_stale: eerst ophalen als de bron een nieuwe versie van een tabel heeft (Modified gewijzigd).
        pdf: ook pdf-versies maken (trager dan alleen html).
    """
    # Refused before anything is fetched or written: a future or non-existent date.
    report_date = pipeline.check_report_date(report_date)
    settings = pipeline.run_settings(config=config, warehouse=warehouse, raw=raw, reports=reports)
    codes = pipeline.check_districts(districts, settings)
    src = pipeline.check_source(source)
    fresh, fetched = fetch_if_changed(settings, src, ingest_if_stale)
    rendered = render_reports(settings, report_date, codes, pdf=pdf, return_state=True)
    summary = summarise(settings, report_date, codes, strict=False)
    summary.freshness, summary.ingest = fresh, fetched
    if rendered.is_completed():
        summary.reports = rendered.result()
    else:  # still publish what is known, and say why there are no reports
        summary.warnings.insert(0, f"Geen rapporten gemaakt: {rendered.result(raise_on_failure=False)}")
    publish(summary, "tweewekelijks")
    return [str(p) for p in rendered.result()]  # a failed render fails the run here


if __name__ == "__main__":  # pragma: no cover
    tweewekelijks()
