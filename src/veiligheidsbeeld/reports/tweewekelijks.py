"""The tweewekelijkse woninginbraakanalyse: HTML (jinja2), PDF (weasyprint), CSV and Excel.

Output goes to ``reports/<report date>/tweewekelijks/``:

* ``index.html`` / ``index.pdf`` — the eenheid overview with links to every district;
* ``<district>.html`` / ``<district>.pdf`` — one self-contained report per district (all images
  embedded as ``data:`` URIs, no external files, no scripts);
* ``<district>.xlsx`` and ``tabellen/<district>_<tabel>.csv`` — the tables behind the report
  (also ``<eenheid>.xlsx`` for the index).

Each district renders independently (:func:`render_district` takes the analysis and plain
data, so it can run in a worker process). File names are slugs of the names, and every path is
checked to stay inside the output folder. Templates, writers and table-cell helpers are the
report kit's (:mod:`veiligheidsbeeld.reports.kit`); every figure comes from the analysis
(:class:`~veiligheidsbeeld.analysis.woninginbraak.BiweeklyAnalysis`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from veiligheidsbeeld.analysis.stats import BOVEN_95, BOVEN_998, ONDER_95, ONDER_998
from veiligheidsbeeld.analysis.woninginbraak import (
    BUURT,
    DISTRICT,
    EENHEID,
    GEMEENTE,
    LIST_INCREASE,
    LIST_MOST,
    ROLLING_12,
    WIJK,
    BiweeklyAnalysis,
    build_biweekly,
)
from veiligheidsbeeld.analysis.whats_new import WhatIsNew, current_stamp, previous_stamp, what_is_new, write_stamps
from veiligheidsbeeld.errors import ConfigError
from veiligheidsbeeld.files import check_writable_dir, ensure_dir
from veiligheidsbeeld.formatting import fmt_date, fmt_int, fmt_month, fmt_num, fmt_signed_int
from veiligheidsbeeld.reports import charts, maps
from veiligheidsbeeld.reports.banners import BannerView, arrange
from veiligheidsbeeld.reports.kit import (
    MIN_BASE_FOR_PCT,
    TABLES_DIR,
    Geography,
    Image,
    change_view,
    data_uri,
    environment,
    long_lived_heap,
    month_name,
    package_version,
    publish,
    read_geography,
    records,
    render_template,
    safe_path,
    slugify,
    view_at,
    write_pdf,
    write_tables,
)
from veiligheidsbeeld.sources.raw_archive import RawArchive
from veiligheidsbeeld.warehouse import queries

log = logging.getLogger(__name__)

REPORT_DIR = "tweewekelijks"
INDEX = "index"

FUNNEL_TEXT = {
    BOVEN_998: "boven 99,8%-grens",
    BOVEN_95: "boven 95%-grens",
    ONDER_998: "onder 99,8%-grens",
    ONDER_95: "onder 95%-grens",
    "binnen": "binnen de grenzen",
    "onbekend": "onbekend",
}


# --------------------------------------------------------------------------------------------
# Content of a district report
# --------------------------------------------------------------------------------------------


def _source(analysis: BiweeklyAnalysis, district_code: str | None, period: str) -> str:
    return f"{analysis.info_for(district_code).source_line()} Periode: {period}."


def _comparison_rows(analysis: BiweeklyAnalysis, codes: Sequence[str], group: str) -> list[dict[str, Any]]:
    """Per standard comparison the change views of ``codes`` (e.g. district and eenheid)."""
    frame = analysis.changes[(analysis.changes["group"] == group) & analysis.changes["region_code"].isin(codes)]
    rows = []
    for comp in analysis.comparisons:
        sub = frame[frame["comparison"] == comp.key].set_index("region_code")
        rows.append(
            {
                "label": comp.label_nl,
                "current_period": comp.current.label,
                "previous_period": comp.previous.label,
                "cells": [view_at(sub, c) for c in codes],
            }
        )
    return rows


def key_points(analysis: BiweeklyAnalysis, district_code: str) -> list[str]:
    """The first-page summary in plain Dutch sentences."""
    crime = analysis.crime.lower()
    district = analysis.district(district_code)
    points: list[str] = []
    changes = analysis.changes_for(group=analysis.crime)
    own = changes[changes["region_code"] == district_code].set_index("comparison")
    for key in ("maand", ROLLING_12):
        if key not in own.index:
            continue
        row = records(own.loc[[key]].reset_index())[0]
        view = change_view(row)
        comp = analysis.comparison(key)
        if view.current_incomplete:
            points.append(
                f"{comp.current.label}: het aantal {crime}en in district {district.naam} is onvolledig "
                f"(minstens {fmt_int(row.get('current_known') or 0)}); er is niet getoetst."
            )
            continue
        if view.incomplete:
            points.append(
                f"{comp.current.label}: {view.current} {crime}en in district {district.naam}. "
                f"De vergelijking met {comp.previous.label} is niet te maken: die periode is onvolledig "
                "(ontbrekende maand of onderdrukte cel)."
            )
            continue
        judgement = f"een significante {view.flag}" if view.flag else "geen significante verandering"
        pct = f", {view.pct}" if view.pct else ""
        points.append(
            f"{comp.current.label}: {view.current} {crime}en in district {district.naam} "
            f"({comp.previous.label}: {view.previous}; verschil {view.difference}{pct}) — {judgement}."
        )
    gm = changes[(changes["level"] == GEMEENTE) & (changes["district_code"] == district_code) & changes["significant"]]
    for direction, word in (("stijging", "stijgingen"), ("daling", "dalingen")):
        hits = gm[gm["direction"] == direction]
        if len(hits):
            parts = [
                f"{r.name} ({r.comparison_label.lower()}, {fmt_signed_int(r.difference)})"
                for r in hits.sort_values(["name", "comparison"]).itertuples()
            ]
            points.append(f"Significante {word} bij gemeenten: " + "; ".join(parts) + ".")
    if gm.empty:
        points.append(
            "Geen gemeente in dit district heeft een significante verandering in een van de vijf vergelijkingen."
        )
    hic = analysis.changes[
        (analysis.changes["region_code"] == district_code)
        & (analysis.changes["group"] != analysis.crime)
        & analysis.changes["comparison"].isin(["maand", ROLLING_12])
        & analysis.changes["significant"]
    ]
    for r in hic.itertuples():
        word = "gestegen" if r.direction == "stijging" else "gedaald"
        points.append(
            f"High Impact Crime: {r.group.lower()} in district {district.naam} is significant {word} "
            f"({r.current_period}: {fmt_int(r.current)} t.o.v. {fmt_int(r.previous)})."
        )
    funnel = analysis.funnels.get(district_code)
    if funnel is not None and len(funnel.units):
        names = dict(zip(analysis.regions["region_code"], analysis.regions["name"], strict=True))
        for cls, text in ((BOVEN_998, "boven de 99,8%-grens"), (BOVEN_95, "boven de 95%-grens")):
            hits = [names.get(c, c) for c in funnel.units.loc[funnel.units["funnel"] == cls, "region_code"]]
            if hits:
                points.append(f"Trechtergrafiek (laatste 12 maanden, per 1.000 woningen): {', '.join(hits)} {text}.")
    for g in district.gemeenten:
        recent = analysis.judged_signals(g.code)
        if recent:
            months = ", ".join(sorted({fmt_month(m) for m, _ in recent}))
            points.append(f"Regelkaart {g.naam}: signaal in {months} ({recent[-1][1]}).")
    return points


def gemeente_anchor(naam: str, code: str) -> str:
    return "gm-" + slugify(naam, code.lower())


def _gemeente_rows(analysis: BiweeklyAnalysis, district_code: str) -> list[dict[str, Any]]:
    district = analysis.district(district_code)
    changes = analysis.changes_for(group=analysis.crime, level=GEMEENTE, district_code=district_code)
    funnel = analysis.funnels.get(district_code)
    units = funnel.units.set_index("region_code") if funnel is not None else pd.DataFrame()
    rows = []
    for g in district.gemeenten:
        own = changes[changes["region_code"] == g.code].set_index("comparison")
        unit = records(units.loc[[g.code]].reset_index())[0] if g.code in units.index else {}
        rows.append(
            {
                "code": g.code,
                "name": g.naam,
                "anchor": gemeente_anchor(g.naam, g.code),
                "month": view_at(own, "maand"),
                "rolling": view_at(own, ROLLING_12),
                "dwellings": fmt_int(unit.get("dwellings")),
                "rate": fmt_num(unit.get("rate"), 1),
                "rate_ci": (
                    f"{fmt_num(unit['rate_lower'], 1)} – {fmt_num(unit['rate_upper'], 1)}"
                    if unit.get("rate_lower") is not None and unit.get("rate_upper") is not None
                    else ""
                ),
                "funnel": FUNNEL_TEXT.get(str(unit.get("funnel", "onbekend")), str(unit.get("funnel"))),
                "funnel_class": str(unit.get("funnel", "onbekend"))
                .replace(" ", "-")
                .replace(",", "-")
                .replace("%", ""),
            }
        )
    return rows


def _area_lists(analysis: BiweeklyAnalysis, gemeente_code: str) -> list[dict[str, Any]]:
    tops = analysis.top_areas
    tops = tops[tops["gemeente_code"] == gemeente_code] if len(tops) else tops
    names = dict(zip(analysis.regions["region_code"], analysis.regions["name"], strict=True))
    # A buurt's wijk as the warehouse's regions table records it (not read from the code here).
    wijk_of = dict(zip(analysis.regions["region_code"], analysis.regions["wijk_code"], strict=True))
    lists = []
    for level, level_label in ((WIJK, "Wijken"), (BUURT, "Buurten")):
        for kind, title in ((LIST_MOST, "meeste woninginbraken"), (LIST_INCREASE, "grootste significante stijgingen")):
            part = tops[(tops["level"] == level) & (tops["list"] == kind)] if len(tops) else tops
            rows = []
            for r in records(part.sort_values("rank")) if len(part) else []:
                wijk = ""
                if level == BUURT:
                    wijk = names.get(wijk_of.get(r["region_code"]), "")
                rows.append(
                    {
                        "rank": r["rank"],
                        "name": r["name"],
                        "wijk": wijk,
                        "change": change_view(r),
                        "rate": fmt_num(r["rate"], 1) if r.get("rate") is not None else "",
                        "rate_note": r.get("rate_note") or "",
                    }
                )
            note = ""
            if kind == LIST_INCREASE:
                note = _untested_note(analysis, gemeente_code, level)
            lists.append({"level": level, "title": f"{level_label}: {title}", "kind": kind, "rows": rows, "note": note})
    return lists


def _untested_note(analysis: BiweeklyAnalysis, gemeente_code: str, level: str) -> str:
    """How many areas could not be tested (incomplete 12-month totals): an empty list of increases
    must not read as "no increases" when nothing could be tested."""
    rows = analysis.changes_for(level=level, comparison=ROLLING_12, group=analysis.crime)  # type: ignore[arg-type]
    rows = rows[rows["gemeente_code"] == gemeente_code]
    untested = int((~rows["testable"]).sum())
    if not len(rows) or not untested:
        return ""
    word = "wijken" if level == WIJK else "buurten"
    if untested == len(rows):
        return (
            f"Niet te bepalen: voor geen van de {word} is de vergelijking volledig (ontbrekende maand of "
            "onderdrukte cel), dus er is niet getoetst."
        )
    return f"{untested} van de {len(rows)} {word} zijn niet getoetst: hun cijfers zijn onvolledig."


def _hic_rows(analysis: BiweeklyAnalysis, district_code: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """HIC overview: per group the district's month and 12-month changes, and per gemeente the
    12-month change per group."""
    district = analysis.district(district_code)
    overview = []
    for group, codes in analysis.groups.items():
        sub = analysis.changes_for(group=group).set_index(["region_code", "comparison"])
        overview.append(
            {
                "group": group,
                "codes": ", ".join(codes),
                "district_month": view_at(sub, (district_code, "maand")),
                "district_rolling": view_at(sub, (district_code, ROLLING_12)),
                "eenheid_rolling": view_at(sub, (analysis.eenheid_code, ROLLING_12)),
            }
        )
    per_gemeente = []
    rolling = analysis.changes_for(comparison=ROLLING_12, level=GEMEENTE, district_code=district_code)
    rolling = rolling.set_index(["region_code", "group"])
    for g in district.gemeenten:
        per_gemeente.append(
            {"name": g.naam, "cells": [view_at(rolling, (g.code, group)) for group in analysis.groups]}
        )
    return overview, per_gemeente


def _chart_notes(analysis: BiweeklyAnalysis, code: str) -> str:
    return analysis.control_chart_notes.get(code, "")


def district_images(
    analysis: BiweeklyAnalysis, district_code: str, geography: Geography
) -> tuple[dict[str, Image], dict[str, dict[str, Image | str]]]:
    """All charts of a district report, as embedded images; per gemeente its control chart and
    wijk map (or the Dutch note why there is no map)."""
    district = analysis.district(district_code)
    crime = analysis.crime
    rolling = analysis.rolling_12
    opts = analysis.options
    latest = analysis.latest_month
    info = analysis.info_for(district_code)
    images: dict[str, Image] = {}

    series_first = analysis.period.series_first
    series_period = f"{fmt_month(series_first)} – {fmt_month(latest)}"
    fig = charts.plot_monthly_series(
        analysis.series(district_code),
        latest=latest,
        years=opts.series_years,
        title=f"{crime} per maand — district {district.naam}",
        subtitle=f"{latest.year} (donkerblauw) naast dezelfde maanden van "
        f"{series_first.year}–{latest.year - 1}",
        provisional=info.provisional_months,
        source=_source(analysis, district_code, series_period),
    )
    images["series"] = Image(
        data_uri(fig),
        f"Lijngrafiek: {crime.lower()} per maand in district {district.naam}, {latest.year} naast eerdere jaren",
        "Elke lijn is een kalenderjaar; zo valt het seizoenspatroon weg uit de vergelijking. "
        "Open rondjes: voorlopige cijfers.",
    )

    gm = analysis.changes_for(group=crime, level=GEMEENTE, district_code=district_code, comparison=ROLLING_12)
    fig = charts.plot_gemeente_bars(
        gm,
        current_label=rolling.label,
        previous_label=analysis.comparison(ROLLING_12).previous.label,
        title=f"{crime} per gemeente — laatste 12 maanden",
        subtitle="Aantallen; een markering alleen bij een significante verandering",
        source=_source(
            analysis, district_code, f"{rolling.label} t.o.v. {analysis.comparison(ROLLING_12).previous.label}"
        ),
    )
    images["bars"] = Image(
        data_uri(fig), f"Staafdiagram: {crime.lower()} per gemeente, laatste 12 maanden en de 12 maanden daarvoor"
    )

    funnel = analysis.funnels.get(district_code)
    names = dict(zip(analysis.regions["region_code"], analysis.regions["name"], strict=True))
    dwell_source = f" Noemer: {analysis.dwellings_label}." if analysis.dwellings_label else ""
    if funnel is not None:
        units = funnel.units.assign(name=funnel.units["region_code"].map(names))
        fig = charts.plot_funnel(
            units,
            funnel.target_rate,
            funnel.curve(),
            title=f"Trechtergrafiek {crime.lower()} per 1.000 woningen — district {district.naam}",
            subtitle=f"{rolling.label}; grenzen rond het districtsgemiddelde",
            source=_source(analysis, district_code, rolling.label) + dwell_source,
        )
        images["funnel"] = Image(
            data_uri(fig),
            f"Trechtergrafiek: {crime.lower()} per 1.000 woningen tegen het aantal woningen per gemeente",
            "Een gemeente buiten de trechter wijkt meer af van het districtsgemiddelde dan "
            "toeval bij haar omvang verklaart (95%: gestreept, 99,8%: gestippeld). Kleine "
            "gemeenten hebben van nature een wijdere trechter.",
        )
        values = units.set_index("region_code")["rate"]
        if geography.gemeenten is not None and not geography.gemeenten.empty:
            areas = geography.gemeenten[geography.gemeenten["region_code"].isin(district.gemeente_codes)]
            missing = set(district.gemeente_codes) - set(areas["region_code"])
            fig = maps.plot_choropleth(
                areas,
                values,
                title=f"{crime} per 1.000 woningen — district {district.naam}",
                subtitle=rolling.label,
                legend_title="per 1.000 woningen",
                context=geography.gemeenten,
                source=_source(analysis, district_code, rolling.label) + dwell_source,
            )
            caption = "Gearceerd: geen cijfer (aantal onvolledig of woningvoorraad onbekend)."
            if missing:
                caption += f" Zonder grens in het warehouse: {', '.join(names.get(c, c) for c in sorted(missing))}."
            images["map"] = Image(
                data_uri(fig),
                f"Kaart: {crime.lower()} per 1.000 woningen per gemeente in district {district.naam}",
                caption,
            )

    per_gemeente: dict[str, dict[str, Image | str]] = {}
    wijk_rolling = analysis.changes_for(level=WIJK, comparison=ROLLING_12, group=crime)
    window_start = analysis.period.chart_window.start
    baseline_end = analysis.period.chart_baseline.end
    for g in district.gemeenten:
        entry: dict[str, Image | str] = {}
        chart = analysis.control_charts.get(g.code)
        if chart is not None:
            fig = charts.plot_control_chart(
                chart,
                title=f"Regelkaart {crime.lower()} — {g.naam}",
                subtitle=f"{fmt_month(window_start)} – {fmt_month(latest)}; verwachte waarde (niveau uit de "
                f"eerste {analysis.period.chart_baseline.n_months} maanden × seizoenspatroon) met grenzen",
                baseline_end=baseline_end,
                source=_source(analysis, district_code, f"{fmt_month(window_start)} – {fmt_month(latest)}"),
            )
            entry["control"] = Image(data_uri(fig), f"Regelkaart van {crime.lower()} per maand in {g.naam}")
        else:
            entry["control_note"] = _chart_notes(analysis, g.code) or "Geen regelkaart: geen gegevens."
        wijken = geography.wijken
        own = wijken[wijken["gemeente_code"] == g.code] if wijken is not None and not wijken.empty else None
        tops = wijk_rolling[wijk_rolling["gemeente_code"] == g.code].set_index("region_code")
        if own is not None and len(own) and tops.empty:
            # Boundaries but no wijk figures (a warehouse of gemeenten only): a map in which every
            # wijk is hatched says nothing and costs a drawing; say so instead.
            entry["wijk_map_note"] = (
                f"Geen wijkkaart: er staan geen cijfers per wijk van {g.naam} in het warehouse "
                "(alleen gemeentecijfers opgehaald)."
            )
        elif own is not None and len(own):
            rate = analysis.rate_12m(tops.index)
            fig = maps.plot_choropleth(
                own,
                rate,
                title=f"{crime} per 1.000 woningen per wijk — {g.naam}",
                subtitle=rolling.label,
                legend_title="per 1.000 woningen",
                label=len(own) <= 12,
                source=_source(analysis, district_code, rolling.label) + dwell_source,
            )
            entry["wijk_map"] = Image(
                data_uri(fig),
                f"Kaart: {crime.lower()} per 1.000 woningen per wijk in {g.naam}",
                f"Gearceerd: geen cijfer (aantal onvolledig, woningvoorraad onbekend of minder "
                f"dan {fmt_int(opts.buurt_min_dwellings)} woningen).",
            )
        else:
            entry["wijk_map_note"] = maps.no_map_note("wijk")
        per_gemeente[g.code] = entry
    return images, per_gemeente


def district_context(analysis: BiweeklyAnalysis, district_code: str, geography: Geography) -> dict[str, Any]:
    """Everything the district template needs."""
    district = analysis.district(district_code)
    images, per_gemeente = district_images(analysis, district_code, geography)
    info = analysis.info_for(district_code)
    overview, hic_gemeenten = _hic_rows(analysis, district_code)
    gemeenten = []
    for g in district.gemeenten:
        own = analysis.changes_for(group=analysis.crime, level=GEMEENTE)
        own = own[own["region_code"] == g.code]
        gemeenten.append(
            {
                "code": g.code,
                "name": g.naam,
                "anchor": gemeente_anchor(g.naam, g.code),
                "comparisons": [
                    {
                        "label": r["comparison_label"],
                        "current_period": r["current_period"],
                        "previous_period": r["previous_period"],
                        "view": change_view(r),
                    }
                    for r in records(own)
                ],
                "signals": [(fmt_month(m), d) for m, d in analysis.judged_signals(g.code)],
                "lists": _area_lists(analysis, g.code),
                **per_gemeente[g.code],
            }
        )
    return {
        **common_context(analysis, district_code),
        "page_title": f"Tweewekelijkse woninginbraakanalyse — district {district.naam}",
        "district": district,
        "key_points": key_points(analysis, district_code),
        "summary_rows": _comparison_rows(analysis, [district_code, analysis.eenheid_code], analysis.crime),
        "gemeente_rows": _gemeente_rows(analysis, district_code),
        "images": images,
        "gemeenten": gemeenten,
        "hic_overview": overview,
        "hic_gemeenten": hic_gemeenten,
        "geography_note": geography.note,
        "n_suppressed": info.suppressed_cells,
        # Issue 18: None without incident data; built here, in the district's own job.
        "incidenten": geography.incidents.context(district) if geography.incidents is not None else None,
    }


def banner_view(analysis: BiweeklyAnalysis, district_code: str | None) -> BannerView:
    """The page's warnings grouped by meaning, most important first (see reports.banners)."""
    scope = (analysis.district(district_code).gemeente_codes if district_code
             else [c for d in analysis.districts for c in d.gemeente_codes])
    names = dict(zip(analysis.regions["region_code"], analysis.regions["name"]))
    return arrange(analysis.warnings, district_code=district_code, scope=scope, names=names,
                   used_months=analysis.period.shown_months)


def _district_own_banners(analysis: BiweeklyAnalysis, district_code: str) -> list[str]:
    """The district's own warnings (not those of every report), grouped, for its row on the index."""
    own = [w for w in analysis.warnings if w.district_code == district_code]
    names = dict(zip(analysis.regions["region_code"], analysis.regions["name"]))
    view = arrange(own, district_code=district_code, scope=analysis.district(district_code).gemeente_codes,
                   names=names, used_months=analysis.period.shown_months)
    return [b.text for b in view.first] + ([f"en nog {view.more} melding(en) in het districtsrapport"] if view.more else [])


def common_context(analysis: BiweeklyAnalysis, district_code: str | None) -> dict[str, Any]:
    opts = analysis.options
    info = analysis.info_for(district_code)
    banners = banner_view(analysis, district_code)
    return {
        "banners": banners,
        "figure_notes": banners.notes_for(analysis.period.shown_months),
        "a": analysis,
        "opts": opts,
        "info": info,
        "source_line": info.source_line(),
        "synthetic": info.synthetic,
        "warnings": analysis.warnings_for(district_code),
        "report_date": fmt_date(analysis.report_date),
        "latest_month": fmt_month(analysis.latest_month),
        "provisional_from": fmt_month(min(info.provisional_months)) if info.provisional_months else "",
        "rolling_label": analysis.rolling_12.label,
        "comparisons": analysis.comparisons,
        "rolling_comparison": analysis.comparison(ROLLING_12),
        "groups": analysis.groups,
        "min_base_pct": MIN_BASE_FOR_PCT,
        "methods": analysis.methods,
        "chance_text": analysis.chance_text(district_code),
        "dwellings_label": analysis.dwellings_label,
        "season_text": f"{month_name(opts.season_start_month)} t/m {month_name(opts.season_end_month)}",
        "generated": datetime.now().strftime("%d-%m-%Y %H:%M"),
        "version": package_version(),
        "tables_dir": TABLES_DIR,
    }


# --------------------------------------------------------------------------------------------
# Tables for CSV and Excel (Dutch column names)
# --------------------------------------------------------------------------------------------

CHANGE_COLUMNS = {
    "level": "niveau",
    "region_code": "code",
    "name": "naam",
    "district_code": "district",
    "group": "delict",
    "comparison_label": "vergelijking",
    "current_period": "periode",
    "previous_period": "vorige_periode",
    "current": "aantal",
    "previous": "aantal_vorige_periode",
    "current_known": "aantal_bekend",
    "previous_known": "aantal_bekend_vorige_periode",
    "incomplete": "onvolledig",
    "difference": "verschil",
    "pct_change": "verandering_procent",
    "rate_ratio": "verhouding",
    "ci_lower": "verhouding_ondergrens",
    "ci_upper": "verhouding_bovengrens",
    "p_value": "p_waarde",
    "q_value": "q_waarde_fdr",
    "phi": "overdispersie_phi",
    "test_method": "toets",
    "significant": "significant",
    "direction": "richting",
    "reason": "toelichting",
}


def district_tables(analysis: BiweeklyAnalysis, district_code: str | None) -> dict[str, pd.DataFrame]:
    """The report's tables with Dutch column names (None: the eenheid index)."""
    tables: dict[str, pd.DataFrame] = {}
    ch = analysis.changes
    if district_code is None:
        mask = ch["level"].isin([EENHEID, DISTRICT, GEMEENTE])
    else:
        mask = ch["region_code"].isin([analysis.eenheid_code, district_code]) | (
            ch["level"].isin([GEMEENTE]) & (ch["district_code"] == district_code)
        )
    tables["vergelijkingen"] = ch.loc[
        mask & ch["level"].isin([EENHEID, DISTRICT, GEMEENTE]), list(CHANGE_COLUMNS)
    ].rename(columns=CHANGE_COLUMNS)
    names = dict(zip(analysis.regions["region_code"], analysis.regions["name"], strict=True))
    funnels = [f for code, f in analysis.funnels.items() if district_code in (None, code)]
    if funnels:
        fr = pd.concat([f.units.assign(district=f.district_code, districtscijfer=f.target_rate) for f in funnels])
        fr.insert(1, "naam", fr["region_code"].map(names))
        tables["gemeenten_per_1000_woningen"] = fr.rename(
            columns={
                "region_code": "code",
                "count": "aantal_12_maanden",
                "dwellings": "woningen",
                "rate": "per_1000_woningen",
                "rate_lower": "ondergrens_95",
                "rate_upper": "bovengrens_95",
                "funnel": "trechter",
            }
        )
    regions_in = analysis.regions
    if district_code is not None:
        keep = regions_in["level"].isin([EENHEID]) | (regions_in["district_code"] == district_code)
    else:
        keep = regions_in["level"].isin([EENHEID, DISTRICT, GEMEENTE])
    codes = set(regions_in.loc[keep & regions_in["level"].isin([EENHEID, DISTRICT, GEMEENTE]), "region_code"])
    mo = analysis.monthly[analysis.monthly["region_code"].isin(codes)].copy()
    mo.insert(1, "naam", mo["region_code"].map(names))
    tables["maandcijfers"] = mo.rename(
        columns={
            "region_code": "code",
            "group": "delict",
            "month": "maand",
            "count": "aantal",
            "count_known": "aantal_bekend",
            "n_suppressed": "onderdrukte_cellen",
            "n_missing": "ontbrekende_cellen",
        }
    )
    cc = []
    for code, chart in analysis.control_charts.items():
        if district_code is not None and code not in analysis.district(district_code).gemeente_codes:
            continue
        pts = chart.points.reset_index().rename(columns={"index": "maand", "month": "maand"})
        pts.insert(0, "code", code)
        pts.insert(1, "naam", names.get(code, code))
        pts["phi"] = chart.phi
        cc.append(pts.rename(columns={"count": "aantal", "expected": "verwacht", "ucl": "bovengrens",
                                      "lcl": "ondergrens", "upper_2sigma": "waarschuwing_boven",
                                      "lower_2sigma": "waarschuwing_onder", "signal": "signaal",
                                      "description": "omschrijving"}))
    if cc:
        tables["regelkaarten"] = pd.concat(cc, ignore_index=True)
    if district_code is not None:
        area = ch[ch["level"].isin([WIJK, BUURT]) & (ch["district_code"] == district_code)]
        dwell = (
            analysis.dwellings.set_index("region_code")["dwellings"]
            if len(analysis.dwellings)
            else pd.Series(dtype=float)
        )
        area = area.assign(woningen=dwell.reindex(area["region_code"]).to_numpy())
        tables["wijken_buurten_12_maanden"] = area[list(CHANGE_COLUMNS) + ["gemeente_code", "woningen"]].rename(
            columns={**CHANGE_COLUMNS, "gemeente_code": "gemeente"}
        )
        tops = analysis.top_areas
        if len(tops):
            tops = tops[tops["gemeente_code"].isin(analysis.district(district_code).gemeente_codes)]
            tables["wijken_buurten_toplijsten"] = tops[
                [
                    "gemeente_code",
                    "level",
                    "list",
                    "rank",
                    "region_code",
                    "name",
                    "current",
                    "previous",
                    "difference",
                    "pct_change",
                    "p_value",
                    "significant",
                    "dwellings",
                    "rate",
                    "rate_note",
                ]
            ].rename(
                columns={
                    "gemeente_code": "gemeente",
                    "level": "niveau",
                    "list": "lijst",
                    "rank": "rang",
                    "region_code": "code",
                    "name": "naam",
                    "current": "aantal",
                    "previous": "aantal_vorige_periode",
                    "difference": "verschil",
                    "pct_change": "verandering_procent",
                    "p_value": "p_waarde",
                    "dwellings": "woningen",
                    "rate": "per_1000_woningen",
                    "rate_note": "toelichting",
                }
            )
    return tables


def explanation_frame(analysis: BiweeklyAnalysis, district_code: str | None) -> pd.DataFrame:
    info = analysis.info_for(district_code)
    rows = [
        ("rapport", "Tweewekelijkse woninginbraakanalyse"),
        ("gebied", analysis.district(district_code).naam if district_code else analysis.eenheid_naam),
        ("rapportdatum", analysis.report_date.isoformat()),
        ("laatste volledige maand", fmt_month(analysis.latest_month)),
        ("bron", info.source_line()),
        ("tabel", f"{info.table_id} — {info.title}"),
        ("versie (vintage)", info.vintage),
        ("voorlopige maanden", ", ".join(fmt_month(m) for m in info.provisional_months) or "geen"),
        ("ontbrekende maanden", ", ".join(fmt_month(m) for m in info.missing_months) or "geen"),
        ("onderdrukte cellen", str(info.suppressed_cells)),
        ("synthetisch", "JA — demo/testcijfers, geen werkelijke criminaliteit" if info.synthetic else "nee"),
        ("noemer", analysis.dwellings_label or "geen woningvoorraad beschikbaar"),
        ("toets", f"conditioneel mid-p met overdispersie φ per reeks, alfa = {analysis.stats.alpha}; markering na "
                  f"FDR-correctie (Benjamini–Hochberg, q = {analysis.stats.fdr_q}) per rapport"),
        (
            "drempel wijken/buurten",
            f"per 1.000 woningen alleen bij ten minste {analysis.options.buurt_min_dwellings} woningen",
        ),
        ("ontbrekend", "lege cel = onbekend (onderdrukt of ontbrekend), nooit 0"),
    ]
    rows += [("waarschuwing", w) for w in analysis.warnings_for(district_code)]
    return pd.DataFrame(rows, columns=["onderwerp", "toelichting"])


# --------------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RenderedDistrict:
    code: str
    naam: str
    slug: str
    files: tuple[Path, ...] = field(default_factory=tuple)


def district_slug(analysis: BiweeklyAnalysis, district_code: str) -> str:
    return slugify(analysis.district(district_code).naam, district_code.lower())


def render_district(
    analysis: BiweeklyAnalysis,
    district_code: str,
    out_dir: Path,
    *,
    geography: Geography | None = None,
    pdf: bool = True,
    news: WhatIsNew | None = None,
    parts: Sequence[str] = ("pages", "tables"),
) -> list[Path]:
    """HTML, PDF, CSV and Excel of one district. Independent of the other districts (can run in
    a worker process). ``news``: what is new since the previous report (its opening line).
    ``parts``: ``"pages"`` (HTML and PDF) and/or ``"tables"`` (CSV and Excel), so that a pool can
    spread one district over two processes."""
    geography = geography or Geography()
    out_dir = Path(out_dir)
    ensure_dir(out_dir, "rapportmap")
    slug = district_slug(analysis, district_code)
    files: list[Path] = []
    if "pages" in parts:
        context = district_context(analysis, district_code, geography)
        context["slug"] = slug
        district = analysis.district(district_code)
        context["news"] = news.headline(district.gemeente_codes, f"in district {district.naam}") if news else ""
        context["downloads"] = {"pdf": f"{slug}.pdf" if pdf else "", "xlsx": f"{slug}.xlsx", "index": f"{INDEX}.html"}
        # The charts are drawn once, into the HTML; the PDF is made from that same HTML.
        html = render_template("district.html.j2", **context)
        files.append(publish(safe_path(out_dir, f"{slug}.html"), html.encode("utf-8")))
        if pdf:
            files.append(write_pdf(html, safe_path(out_dir, f"{slug}.pdf")))
    if "tables" in parts:
        info = analysis.info_for(district_code)
        files += write_tables(
            district_tables(analysis, district_code),
            explanation_frame(analysis, district_code),
            out_dir,
            slug,
            synthetic=info.synthetic,
            vintage=info.vintage,
        )
    return files


def index_context(
    analysis: BiweeklyAnalysis, geography: Geography, districts: Sequence[RenderedDistrict], pdf: bool
) -> dict[str, Any]:
    crime = analysis.crime
    latest = analysis.latest_month
    opts = analysis.options
    images: dict[str, Image] = {}
    series_first = analysis.period.series_first
    fig = charts.plot_monthly_series(
        analysis.series(analysis.eenheid_code),
        latest=latest,
        years=opts.series_years,
        title=f"{crime} per maand — eenheid {analysis.eenheid_naam}",
        subtitle=f"{latest.year} (donkerblauw) naast dezelfde maanden van eerdere jaren",
        provisional=analysis.info.provisional_months,
        source=_source(analysis, None, f"{fmt_month(series_first)} – {fmt_month(latest)}"),
    )
    images["series"] = Image(data_uri(fig), f"Lijngrafiek: {crime.lower()} per maand in de eenheid")
    rolling = analysis.rolling_12
    gm = analysis.changes_for(group=crime, level=GEMEENTE, comparison=ROLLING_12).set_index("region_code")
    if geography.gemeenten is not None and not geography.gemeenten.empty and len(analysis.dwellings):
        rate = analysis.rate_12m(gm.index)
        areas = geography.gemeenten[geography.gemeenten["region_code"].isin(gm.index)]
        fig = maps.plot_choropleth(
            areas,
            rate,
            title=f"{crime} per 1.000 woningen — eenheid {analysis.eenheid_naam}",
            subtitle=rolling.label,
            legend_title="per 1.000 woningen",
            context=geography.gemeenten,
            label=len(areas) <= 20,
            source=_source(analysis, None, rolling.label) + f" Noemer: {analysis.dwellings_label}.",
        )
        images["map"] = Image(
            data_uri(fig),
            f"Kaart: {crime.lower()} per 1.000 woningen per gemeente in de eenheid",
            "Gearceerd: geen cijfer (aantal onvolledig of woningvoorraad onbekend).",
        )
    rows = []
    changes = analysis.changes_for(group=crime)
    for d in districts:
        own = changes[changes["region_code"] == d.code].set_index("comparison")
        view = {k: view_at(own, k) for k in ("maand", ROLLING_12)}
        sig = analysis.changes_for(group=crime, level=GEMEENTE, district_code=d.code)
        sig = sig[sig["significant"]]
        rows.append(
            {
                "code": d.code,
                "name": d.naam,
                "slug": d.slug,
                "month": view["maand"],
                "rolling": view[ROLLING_12],
                "n_significant": len(sig),
                "warnings": _district_own_banners(analysis, d.code),
            }
        )
    return {
        **common_context(analysis, None),
        "page_title": f"Tweewekelijkse woninginbraakanalyse — eenheid {analysis.eenheid_naam}",
        "images": images,
        "district_rows": rows,
        "summary_rows": _comparison_rows(analysis, [analysis.eenheid_code], crime),
        "pdf": pdf,
        "eenheid_slug": slugify(analysis.eenheid_naam, analysis.eenheid_code.lower()),
        "geography_note": geography.note,
    }


def render_index(
    analysis: BiweeklyAnalysis,
    out_dir: Path,
    districts: Sequence[RenderedDistrict],
    *,
    geography: Geography | None = None,
    pdf: bool = True,
    news: WhatIsNew | None = None,
    parts: Sequence[str] = ("pages", "tables"),
) -> list[Path]:
    """The eenheid index page (HTML, PDF) and the eenheid tables (``parts`` as for
    :func:`render_district`)."""
    geography = geography or Geography()
    files: list[Path] = []
    if "pages" in parts:
        context = index_context(analysis, geography, districts, pdf)
        gemeenten = [c for d in analysis.districts for c in d.gemeente_codes]
        context["news"] = news.headline(gemeenten, f"in eenheid {analysis.eenheid_naam}") if news else ""
        html = render_template("index.html.j2", **context)
        files.append(publish(safe_path(out_dir, f"{INDEX}.html"), html.encode("utf-8")))
        if pdf:
            files.append(write_pdf(html, safe_path(out_dir, f"{INDEX}.pdf")))
    if "tables" in parts:
        files += write_tables(
            district_tables(analysis, None),
            explanation_frame(analysis, None),
            out_dir,
            slugify(analysis.eenheid_naam, analysis.eenheid_code.lower()),
            synthetic=analysis.info.synthetic,
            vintage=analysis.info.vintage,
        )
    return files


#: One unit of work: (kind, district code or "", part); kind "district" or INDEX, part "pages"
#: (HTML + PDF) or "tables" (CSV + Excel).
Job = tuple[str, str, str]

#: In a worker: the inputs of the last run it served, keyed by the run's token.
_WORKER_INPUTS: dict[str, tuple[BiweeklyAnalysis, Geography, WhatIsNew | None]] = {}
#: In a worker: the run's heap, settled once its inputs are read (see `long_lived_heap`).
_WORKER_HEAP = contextlib.ExitStack()


def _warm_worker() -> int:
    """Run in each worker while the parent builds the analysis: the imports and the font and
    template caches every job needs, so the first job does not pay for them."""
    import mapclassify  # noqa: F401  (the maps' classes; not imported by the parent)
    import weasyprint  # noqa: F401  (seconds on a cold start)

    environment().get_template("district.html.j2")
    environment().get_template("index.html.j2")
    fig = charts.new_figure(1.0, 2.0)
    fig.add_subplot().set_title("0123456789 Regelkaart")
    charts.figure_png(fig, dpi=72)
    return os.getpid()


def _render_worker_job(token: str, payload: bytes, job: Job, out_dir: Path, pdf: bool,
                       districts: tuple[RenderedDistrict, ...]) -> list[Path]:
    # The inputs travel pickled with every job, but each worker unpickles them once per run.
    if token not in _WORKER_INPUTS:
        import pickle

        _WORKER_HEAP.close()
        _WORKER_INPUTS.clear()
        _WORKER_INPUTS[token] = pickle.loads(payload)
        _WORKER_HEAP.enter_context(long_lived_heap())
    analysis, geography, news = _WORKER_INPUTS[token]
    return _render_job(job, analysis, geography, out_dir, pdf, districts, news)


def _render_job(job: Job, analysis: BiweeklyAnalysis, geography: Geography, out_dir: Path, pdf: bool,
                districts: tuple[RenderedDistrict, ...], news: WhatIsNew | None = None) -> list[Path]:
    kind, code, part = job
    if kind == INDEX:
        return render_index(analysis, out_dir, districts, geography=geography, pdf=pdf, news=news, parts=(part,))
    return render_district(analysis, code, out_dir, geography=geography, pdf=pdf, news=news, parts=(part,))


def render_jobs(analysis: BiweeklyAnalysis, asked: Sequence[str] | None = None) -> list[Job]:
    """Every unit of work of a run, the longest first (so that two processes finish together):
    the eenheid's tables (the largest workbook), the pages of the districts with the most
    gemeenten, the index page, then the districts' tables. ``asked``: only these districts'
    reports (the index still lists every district with a report)."""
    by_size = sorted((d for d in analysis.districts if asked is None or d.code in asked),
                     key=lambda d: -len(d.gemeente_codes))
    return ([(INDEX, "", "tables")] + [("district", d.code, "pages") for d in by_size] + [(INDEX, "", "pages")]
            + [("district", d.code, "tables") for d in by_size])


@dataclass(frozen=True)
class JobDone:
    """One finished unit of work, for progress lines: ``what`` in Dutch ("district Twente",
    "eenheid Oost-Nederland"), ``part`` "pages" (HTML + PDF) or "tables" (CSV + Excel)."""

    what: str
    part: str
    files: tuple[Path, ...]

    @property
    def html(self) -> Path | None:
        return next((f for f in self.files if f.suffix == ".html"), None)


def _job_done(job: Job, analysis: BiweeklyAnalysis, files: Sequence[Path]) -> JobDone:
    kind, code, part = job
    what = f"eenheid {analysis.eenheid_naam}" if kind == INDEX else f"district {analysis.district(code).naam}"
    return JobDone(what, part, tuple(files))


def default_workers() -> int:
    """Processes for rendering: every core (the work is CPU-bound: charts, PDF, Excel)."""
    return max(1, os.cpu_count() or 1)


def render_tweewekelijks(
    settings: Any,
    report_date: date | None = None,
    districts: Sequence[str] | None = None,
    out_dir: Path | None = None,
    *,
    workers: int | None = None,
    pdf: bool = True,
    today: date | None = None,
    analysis: BiweeklyAnalysis | Callable[[], BiweeklyAnalysis] | None = None,
    on_done: Callable[[JobDone], None] | None = None,
) -> list[Path]:
    """Build the analysis and write every district report plus the eenheid index.

    ``settings``: :class:`~veiligheidsbeeld.config.Settings`. ``districts``: names or codes
    (default all). ``out_dir`` default ``<reports>/<report date>/tweewekelijks``. ``workers``:
    processes (default every core; 1 renders in this process). The worker processes start
    before the analysis is built and warm up (imports, fonts, templates) while it is; then the
    pages and the tables of every district and of the index are rendered as separate jobs.
    ``analysis``: one already built for the same arguments, or a function that returns it
    (called once the worker processes are starting, so that they warm up meanwhile; the flow's
    summary shares it), else it is built here. ``on_done``: called in this process with each
    finished unit of work as it finishes (progress lines: the first district's HTML exists long
    before the last PDF). Returns the files written, in the order of the units of work.
    """
    from veiligheidsbeeld.analysis.periods import check_report_date
    from veiligheidsbeeld.analysis.woninginbraak import select_districts
    from veiligheidsbeeld.regions import load_district_table
    from veiligheidsbeeld.warehouse.db import reader

    # Checked before anything is written: a refused date or district leaves no empty folder.
    report_date = check_report_date(report_date, today=today)
    workers = default_workers() if workers is None else max(1, int(workers))
    paths = settings.paths.resolved()
    out = Path(out_dir) if out_dir is not None else paths.reports / report_date.isoformat() / REPORT_DIR
    check_writable_dir(out, "rapportmap")
    table = load_district_table(settings.area)
    asked = select_districts(table, districts)
    # A subset (--district Twente) writes only those reports, but the index and the eenheid tables
    # list every district with a report for this date (so an earlier full run stays linked).
    index_codes = asked
    if asked is not None:
        names = dict(zip(table["district_code"], table["district_naam"], strict=False))
        existing = [c for c, n in names.items() if (out / f"{slugify(n, c.lower())}.html").is_file()]
        index_codes = [c for c in names if c in set(asked) | set(existing)]
    pool = None
    if workers > 1:
        import multiprocessing

        # Started before the warehouse is opened (no DuckDB threads to fork), warming up while
        # the analysis is built below.
        context = multiprocessing.get_context("fork") if "fork" in multiprocessing.get_all_start_methods() else None
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
        for _ in range(workers):
            pool.submit(_warm_worker)
    try:
        if callable(analysis):
            analysis = analysis()
        if analysis is not None and asked is not None and {d.code for d in analysis.districts} != set(index_codes):
            analysis = None  # built for other districts than the index lists
        with reader(paths.warehouse) as con:
            if analysis is None:
                analysis = build_biweekly(queries.biweekly_inputs(con, settings, report_date, index_codes, today=today))
            gemeenten = [c for d in analysis.districts for c in d.gemeente_codes]
            geography = read_geography(con, settings.area.layout_year, gemeenten)
            # What is new since the previous report of this kind: its opening line.
            stamp = current_stamp(queries.table_version(con, analysis.options.table_id), report_date,
                                  analysis.latest_month)
            news = what_is_new(queries.whats_new_inputs(con, RawArchive(paths.raw), stamp,
                                                        previous_stamp(paths.reports, REPORT_DIR, report_date,
                                                                       stamp.table_id)))
            from veiligheidsbeeld.incidents.report import incident_sections  # issue 18

            sections = incident_sections(queries.incident_inputs(con, settings, analysis.report_date),
                                         settings, analysis, geography)
            geography = dataclasses.replace(geography, incidents=sections)
        rendered = tuple(RenderedDistrict(d.code, d.naam, district_slug(analysis, d.code)) for d in analysis.districts)
        slugs = [r.slug for r in rendered]
        if len(set(slugs)) != len(slugs) or INDEX in slugs:
            raise ConfigError(f"Districtnamen geven dubbele bestandsnamen: {', '.join(slugs)}.")
        ensure_dir(out, "rapportmap")
        # The index needs only the districts' names and file names, so it renders alongside them.
        jobs = render_jobs(analysis, asked)
        results: list[list[Path]] = [[] for _ in jobs]
        if pool is None:
            with long_lived_heap():
                for i, job in enumerate(jobs):
                    results[i] = _render_job(job, analysis, geography, out, pdf, rendered, news)
                    if on_done is not None:
                        on_done(_job_done(job, analysis, results[i]))
        else:
            import pickle
            import uuid

            payload = pickle.dumps((analysis, geography, news), protocol=pickle.HIGHEST_PROTOCOL)
            token = uuid.uuid4().hex
            futures = {pool.submit(_render_worker_job, token, payload, job, out, pdf, rendered): i
                       for i, job in enumerate(jobs)}
            for future in as_completed(futures):
                i = futures[future]
                results[i] = future.result()
                if on_done is not None:
                    on_done(_job_done(jobs[i], analysis, results[i]))
        files = [path for written in results for path in written]
        # Last: the next report compares itself with the data this one was built on.
        write_stamps(out, [stamp])
        return files
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
