"""Rendering the annual strategic analysis (jaaranalyse) for the Bestuurlijke Begeleidingsgroep.

Output goes to ``reports/<year>/jaaranalyse/``:

* ``jaaranalyse-<year>-<eenheid>.html`` / ``.pdf`` — one self-contained report for the eenheid
  with a chapter per district (images embedded as ``data:`` URIs, no scripts);
* ``jaaranalyse-<year>-<eenheid>.xlsx`` and ``tabellen/…_<tabel>.csv`` — the tables behind it.

The look (stylesheet, page template, macros, filters, PDF and table writers) is the report kit's
(:mod:`veiligheidsbeeld.reports.kit`), shared with the biweekly report; the charts specific to this report
(yearly series, the overlast index against the glide path) are here, in the same house style
(:mod:`veiligheidsbeeld.reports.charts`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from veiligheidsbeeld.analysis.jaaranalyse import HALT_NOTE, JaarAnalyse, build_jaaranalyse
from veiligheidsbeeld.config import OverlastTargetSettings, Settings
from veiligheidsbeeld.constants import MISDRIJVEN_JAAR_TABLE, MISDRIJVEN_TABLE, OVERLAST_TABLE, TOTAL_CODE
from veiligheidsbeeld.formatting import fmt_int, fmt_month, fmt_num
from veiligheidsbeeld.regions import District
from veiligheidsbeeld.analysis.findings import validation_warnings
from veiligheidsbeeld.reports import charts, maps
from veiligheidsbeeld.reports.banners import BannerView, arrange
from veiligheidsbeeld.reports.kit import (
    TABLES_DIR,
    Geography,
    Image,
    change_view,
    data_uri,
    is_missing,
    long_lived_heap,
    package_version,
    publish,
    read_geography,
    render_template,
    safe_path,
    slugify,
    write_pdf,
    write_tables,
)
from veiligheidsbeeld.reports.overlast import index_lines, monitor_row_view
from veiligheidsbeeld.files import ensure_dir

REPORT_DIR = "jaaranalyse"
TEMPLATE = "jaaranalyse.html.j2"
#: Line colours of the gemeenten (the house palette of :mod:`veiligheidsbeeld.reports.charts`).
LINE_COLOURS = charts.LINE_COLOURS
#: A chart shows at most this many gemeente lines; more gemeenten go to the small multiples only.
MAX_LINES = 12
#: Resolution of the embedded charts: sharp on screen and on A4, and keeps the PDF light.
DPI = 110


# --------------------------------------------------------------------------------------------
# Charts
# --------------------------------------------------------------------------------------------


def _axes(fig: Figure, *args: int):
    # The house style (charts.style_axes), with the smaller tick labels of this report's charts.
    return charts.style_axes(fig.add_subplot(*args) if args else fig.add_subplot(), labelsize=8)


def plot_year_lines(
    series: Mapping[str, pd.Series],
    *,
    title: str,
    subtitle: str = "",
    ylabel: str = "aantal per jaar",
    highlight: str | None = None,
    decimals: int = 0,
    source: str | None = None,
) -> Figure:
    """One line per series (indexed by year); a missing year breaks the line (never drawn as 0).

    ``highlight``: the series drawn thick in politieblauw (e.g. the district), the rest thinner.
    """
    if not any(pd.to_numeric(s, errors="coerce").notna().any() for s in series.values()):
        return charts.empty_figure(
            "Geen volledige jaartotalen om te tekenen: voor elk jaar ontbreekt een maand of een gemeente, "
            "of een cel is onderdrukt. Zie de tabellen.", title=title, source=source)
    fig = charts.new_figure(3.9)
    ax = _axes(fig)
    others = [k for k in series if k != highlight]
    for i, name in enumerate([*others, *([highlight] if highlight in series else [])]):
        s = pd.to_numeric(series[name], errors="coerce").sort_index()
        main = name == highlight
        colour = charts.BLUE if main else LINE_COLOURS[i % len(LINE_COLOURS)]
        ax.plot(s.index.astype(int), s.to_numpy(dtype="float64"), marker="o", markersize=4 if main else 3,
                linewidth=2.6 if main else 1.4, color=colour, label=name, zorder=3 if main else 2)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(bottom=0)
    fmt = fmt_int if decimals == 0 else (lambda v: fmt_num(v, decimals))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: fmt(v)))
    ax.set_ylabel(ylabel, fontsize=9, color=charts.DARK_GREY)
    ax.legend(frameon=False, fontsize=8, ncols=min(4, max(1, len(series))), loc="upper center",
              bbox_to_anchor=(0.5, -0.08))
    charts.add_title(fig, title, subtitle)
    charts.add_source(fig, source)
    return fig


def _glide(ax, target: OverlastTargetSettings, last_year: int, *, labels: bool = True) -> None:
    """The glide path (dashed), the target and milestone markers, and the 100-line."""
    years = np.arange(target.base_year, max(last_year, target.target_year) + 1)
    ax.plot(years, [target.glide_index(y) for y in years], linestyle="--", color=charts.DARK_GREY, linewidth=1.3,
            label="koerslijn naar het doel" if labels else None, zorder=1)
    ax.axhline(100, color=charts.GREY, linewidth=0.8, zorder=0)
    ax.scatter([target.target_year], [target.target_index], marker="*", s=110 if labels else 40, color=charts.RISE,
               zorder=4, label=f"doel {target.target_year}: {fmt_num(target.target_index, 0)}" if labels else None)
    for m in target.milestones:
        ax.scatter([m.year], [100 * (1 - m.reduction)], marker="D", s=40 if labels else 16, color=charts.WARN,
                   zorder=4, label=f"tussendoel {m.year}: {fmt_num(100 * (1 - m.reduction), 0)}" if labels else None)


def plot_overlast_index(
    lines: Mapping[str, pd.Series],
    target: OverlastTargetSettings,
    *,
    title: str,
    subtitle: str = "",
    highlight: str | None = None,
    source: str | None = None,
) -> Figure:
    """Index lines (base year = 100, indexed by year) against the glide path, target and milestones."""
    fig = charts.new_figure(4.2)
    ax = _axes(fig)
    last = max([target.target_year, *(int(s.index.max()) for s in lines.values() if len(s))])
    _glide(ax, target, last)
    others = [k for k in lines if k != highlight]
    for i, name in enumerate([*others, *([highlight] if highlight in lines else [])]):
        s = pd.to_numeric(lines[name], errors="coerce").sort_index()
        main = name == highlight
        ax.plot(s.index.astype(int), s.to_numpy(dtype="float64"), marker="o", markersize=4 if main else 2.5,
                linewidth=2.8 if main else 1.2, color=charts.BLUE if main else LINE_COLOURS[i % len(LINE_COLOURS)],
                alpha=1 if main else 0.85, label=name, zorder=3 if main else 2)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(f"index ({target.base_year} = 100)", fontsize=9, color=charts.DARK_GREY)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: fmt_num(v, 0)))
    ax.legend(frameon=False, fontsize=7.5, ncols=4, loc="upper center", bbox_to_anchor=(0.5, -0.08))
    charts.add_title(fig, title, subtitle)
    charts.add_source(fig, source)
    return fig


def plot_overlast_small_multiples(
    lines: Mapping[str, pd.Series],
    target: OverlastTargetSettings,
    *,
    title: str,
    ncols: int = 4,
    source: str | None = None,
) -> Figure:
    """One small panel per gemeente: its index against the glide path, on a shared scale
    (explain the symbols in the caption: the panels leave no room for a subtitle)."""
    names = list(lines)
    if not names:
        return charts.empty_figure("Geen gemeenten met een overlastindex.", title=title, source=source)
    nrows = math.ceil(len(names) / ncols)
    fig = charts.new_figure(1.75 * nrows + 1.2)
    values = [v for s in lines.values() for v in pd.to_numeric(s, errors="coerce").dropna()]
    top = max([110.0, *values]) * 1.08
    bottom = min([target.target_index, *values]) * 0.9
    last = max([target.target_year, *(int(s.index.max()) for s in lines.values() if len(s))])
    grid = fig.add_gridspec(nrows, ncols)
    for i, name in enumerate(names):
        ax = charts.style_axes(fig.add_subplot(grid[i // ncols, i % ncols]), labelsize=6.5, grid=None)
        _glide(ax, target, last, labels=False)
        s = pd.to_numeric(lines[name], errors="coerce").sort_index()
        ax.plot(s.index.astype(int), s.to_numpy(dtype="float64"), color=charts.BLUE, linewidth=1.6, marker="o",
                markersize=2)
        ax.set_ylim(bottom, top)
        ax.set_title(name, fontsize=8, loc="left", color="#111827")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=3))
        if s.notna().sum() == 0:
            ax.text(0.5, 0.5, "geen index", transform=ax.transAxes, ha="center", fontsize=7, color=charts.WARN)
    charts.add_title(fig, title)
    charts.add_source(fig, source)
    return fig


# --------------------------------------------------------------------------------------------
# View helpers
# --------------------------------------------------------------------------------------------


def _view(row: pd.Series, suffix: str, previous: str, previous_known: str) -> Any:
    """A :class:`~veiligheidsbeeld.reports.kit.ChangeView` of one comparison of a changes row."""
    if f"pct_change_{suffix}" not in row.index:
        return None
    return change_view({
        "current": None if is_missing(row["current"]) else row["current"],
        "previous": None if is_missing(row[previous]) else row[previous],
        "current_known": row.get("current_known"),
        "previous_known": row.get(previous_known),
        "incomplete": bool(row.get(f"incomplete_{suffix}")) if not is_missing(row.get(f"incomplete_{suffix}")) else True,
        "pct_change": None if is_missing(row[f"pct_change_{suffix}"]) else row[f"pct_change_{suffix}"],
        "difference": None if is_missing(row[f"difference_{suffix}"]) else row[f"difference_{suffix}"],
        "direction": row[f"direction_{suffix}"],
        "significant": bool(row[f"significant_{suffix}"]) if not is_missing(row[f"significant_{suffix}"]) else False,
        "p_value": None if is_missing(row[f"p_value_{suffix}"]) else row[f"p_value_{suffix}"],
    })


def change_rows(frame: pd.DataFrame, decimals: int = 2) -> list[dict[str, Any]]:
    """Rows of ``JaarAnalyse.changes`` as table views: counts and changes against last year and
    the comparison year, and the rates."""
    out = []
    for _, r in frame.iterrows():
        out.append({
            "name": r["name"], "level": r["level"], "group": r["group"],
            "vj": _view(r, "vj", "previous", "previous_known"),
            "basis": _view(r, "basis", "base", "base_known"),
            "rate": fmt_num(r["rate"], decimals), "rate_previous": fmt_num(r["rate_previous"], decimals),
            "rate_base": fmt_num(r["rate_base"], decimals),
        })
    return out


def _trend_series(analysis: JaarAnalyse, codes: Sequence[str], group_key: str, value: str = "count") -> dict[str, pd.Series]:
    frame = analysis.trend_for(codes, group_key)
    return {name: part.set_index("year")[value] for name, part in frame.groupby("name", sort=False)}


def _source(analysis: JaarAnalyse, years: str) -> str:
    return f"{analysis.info.source_line()} Periode: {years}."


def _years_label(analysis: JaarAnalyse) -> str:
    first = int(analysis.trend["year"].min()) if len(analysis.trend) else analysis.year
    return f"{first}–{analysis.year}"


# --------------------------------------------------------------------------------------------
# Sections
# --------------------------------------------------------------------------------------------


def _map(analysis: JaarAnalyse, geography: Geography, codes: Sequence[str], group_key: str, title: str,
         legend: str) -> Image | None:
    if geography.gemeenten is None or geography.gemeenten.empty:
        return None
    group = analysis.group(group_key)
    rows = analysis.changes[(analysis.changes["group"] == group.label) & analysis.changes["region_code"].isin(codes)]
    if rows["rate"].notna().sum() == 0:
        return None
    values = rows.set_index("region_code")["rate"]
    areas = geography.gemeenten[geography.gemeenten["region_code"].isin(list(codes))]
    if areas.empty:
        return None
    fig = maps.plot_choropleth(areas, values, title=title, subtitle=str(analysis.year), legend_title=legend,
                               context=geography.gemeenten, label=len(areas) <= 25,
                               source=_source(analysis, str(analysis.year)))
    return Image(data_uri(fig, DPI), f"Kaart: {title.lower()}", "Gearceerd: geen cijfer (aantal onvolledig of noemer onbekend).")


def district_chapter(analysis: JaarAnalyse, district: District, geography: Geography) -> dict[str, Any]:
    """Everything one district chapter shows."""
    gm_codes = list(district.gemeente_codes)
    images: dict[str, Image] = {}
    years = _years_label(analysis)
    core = analysis.changes_for(district_code=district.code, kinds=("woninginbraak", "hic", "hic_totaal"))
    bbv = analysis.changes_for(district_code=district.code, kinds=("bbv",))
    trend = {g.label: analysis.trend_for([district.code], g.key).set_index("year")["count"]
             for g in analysis.groups if g.kind in ("woninginbraak", "hic")}
    fig = plot_year_lines(trend, title=f"Woninginbraak en High Impact Crimes — district {district.naam}",
                          subtitle="geregistreerde misdrijven per jaar", source=_source(analysis, years))
    images["trend"] = Image(data_uri(fig, DPI), f"Lijngrafiek: woninginbraak en HIC per jaar in district {district.naam}")
    rates = _trend_series(analysis, gm_codes, "woninginbraak", "rate")
    if rates and any(s.notna().any() for s in rates.values()) and len(rates) <= MAX_LINES:
        fig = plot_year_lines(rates, title=f"Woninginbraak per 1.000 woningen per gemeente — {district.naam}",
                              ylabel="per 1.000 woningen", decimals=1, source=_source(analysis, years))
        images["trend_gemeenten"] = Image(data_uri(fig, DPI), "Lijngrafiek: woninginbraak per 1.000 woningen per gemeente")
    for key, title, legend in (("woninginbraak", "Woninginbraak per 1.000 woningen", "per 1.000 woningen"),
                               ("hic_totaal", "High Impact Crimes per 1.000 inwoners", "per 1.000 inwoners")):
        img = _map(analysis, geography, gm_codes, key, f"{title} — {district.naam}", legend)
        if img is not None:
            images[f"map_{key}"] = img
    overlast: dict[str, Any] = {"rows": [], "gemeente_rows": []}
    if analysis.monitor is not None:
        m = analysis.monitor
        overlast["rows"] = [monitor_row_view(r) for r in m.rows
                            if r.region_code == district.code and r.category == TOTAL_CODE]
        overlast["categories"] = [monitor_row_view(r) for r in m.rows
                                  if r.region_code == district.code and r.period == str(analysis.year)
                                  and r.category != TOTAL_CODE]
        overlast["gemeente_rows"] = [monitor_row_view(r) for r in m.rows
                                     if r.region_code in gm_codes and r.category == TOTAL_CODE
                                     and r.period == str(analysis.year)]
        lines = index_lines(m, [district.code, *gm_codes])
        source = f"{m.source_line()} Periode: {m.target.base_year}–{analysis.year}."
        all_lines = len(lines) <= MAX_LINES + 1
        shown = {k: v for k, v in lines.items() if k == district.naam or all_lines}
        subtitle = f"index {m.target.base_year} = 100; dik: het district" + (
            "" if all_lines else f"; de {len(lines) - 1} gemeenten staan in de kleine grafieken hieronder")
        fig = plot_overlast_index(shown, m.target, title=f"Overlast tegen de koerslijn — district {district.naam}",
                                  subtitle=subtitle, highlight=district.naam, source=source)
        images["overlast"] = Image(data_uri(fig, DPI), f"Lijngrafiek: overlastindex van district {district.naam} en gemeenten")
        gm_lines = {k: v for k, v in lines.items() if k != district.naam}
        fig = plot_overlast_small_multiples(gm_lines, m.target, title=f"Overlastindex per gemeente — {district.naam}",
                                            source=source)
        images["overlast_gemeenten"] = Image(
            data_uri(fig, DPI), "Kleine grafieken: overlastindex per gemeente",
            f"Blauw: de index van de gemeente ({m.target.base_year} = 100); stippellijn: de koerslijn; ruit: tussendoel; "
            "ster: doel. 'geen index': geen (volledige) basiswaarde.")
    jeugd: list[dict[str, Any]] = []
    if analysis.ranking is not None and analysis.year in analysis.ranking.years:
        frame = analysis.ranking.for_year(analysis.year)
        frame = frame[frame["gemeente_code"].isin(gm_codes)]
        jeugd = _ranking_rows(frame)
    return {
        "code": district.code, "naam": district.naam, "anchor": slugify(district.naam, district.code.lower()),
        "n_gemeenten": len(district.gemeenten), "core": change_rows(core), "bbv": change_rows(bbv),
        "images": images, "overlast": overlast, "jeugd": jeugd,
    }


def _ranking_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{
        "rank": "–" if is_missing(r.rank) else str(int(r.rank)), "name": r.gemeente_naam, "count": fmt_int(r.count),
        "inhabitants": fmt_int(r.inhabitants), "rate": fmt_num(r.rate, 2),
        "ci": "–" if is_missing(r.ci_lower) else f"{fmt_num(r.ci_lower, 2)}–{fmt_num(r.ci_upper, 2)}",
        "in_area": bool(r.in_area), "in_top": bool(r.in_top), "district": r.district_naam, "note": r.note,
    } for r in frame.itertuples()]


def report_context(analysis: JaarAnalyse, geography: Geography, *, slug: str, pdf: bool) -> dict[str, Any]:
    """The template context of the whole report."""
    a = analysis
    years = _years_label(a)
    district_codes = [d.code for d in a.districts]
    images: dict[str, Image] = {}
    for key, noun in (("woninginbraak", "Woninginbraak"), ("hic_totaal", "High Impact Crimes")):
        series = _trend_series(a, [a.eenheid_code, *district_codes], key)
        fig = plot_year_lines(series, title=f"{noun} per jaar — eenheid {a.eenheid_naam} en districten",
                              subtitle="dik: de eenheid", highlight=a.eenheid_naam, source=_source(a, years))
        images[f"trend_{key}"] = Image(data_uri(fig, DPI), f"Lijngrafiek: {noun.lower()} per jaar per district")
    gm_all = [c for d in a.districts for c in d.gemeente_codes]
    img = _map(a, geography, gm_all, "woninginbraak", f"Woninginbraak per 1.000 woningen — {a.eenheid_naam}",
               "per 1.000 woningen")
    if img is not None:
        images["map"] = img
    monitor: dict[str, Any] = {"error": a.monitor_error}
    if a.monitor is not None:
        m = a.monitor
        monitor["rows"] = [monitor_row_view(r) for r in m.rows if r.region_code == a.eenheid_code and r.category == TOTAL_CODE]
        monitor["districts"] = [monitor_row_view(r) for r in m.rows if r.region_code in district_codes
                                and r.category == TOTAL_CODE and r.period == str(a.year)]
        monitor["categories"] = [monitor_row_view(r) for r in m.rows if r.region_code == a.eenheid_code
                                 and r.category != TOTAL_CODE and r.period == str(a.year)]
        monitor["notes"] = list(m.notes)
        lines = index_lines(m, [a.eenheid_code, *district_codes])
        fig = plot_overlast_index(lines, m.target, title=f"Overlast tegen de koerslijn — eenheid {a.eenheid_naam}",
                                  subtitle=f"index {m.target.base_year} = 100; dik: de eenheid", highlight=a.eenheid_naam,
                                  source=f"{m.source_line()} Periode: {m.target.base_year}–{a.year}.")
        images["overlast"] = Image(data_uri(fig, DPI), "Lijngrafiek: overlastindex van de eenheid en de districten")
        monitor["source"] = m.source_line()
    ranking: dict[str, Any] = {"error": a.ranking_error}
    if a.ranking is not None and a.year not in a.ranking.years:
        ranking["error"] = f"geen ranglijst voor {a.year}"
    elif a.ranking is None and not a.ranking_error:
        ranking["error"] = "geen ranglijst"
    if a.ranking is not None and a.year in a.ranking.years:
        r = a.ranking
        ranking.update({
            "top": _ranking_rows(r.top(a.year)), "area": _ranking_rows(r.for_year(a.year).query("in_area")),
            "small": _ranking_rows(r.small_above_cutoff(a.year)), "rule": r.rule_text, "coverage": r.coverage_text,
            "complete": r.complete, "status": r.target_status(a.year), "source": r.source_line(),
            "top_n": r.settings.top_n, "target_year": r.settings.target_year,
            "target_status": r.target_status() if r.settings.target_year in r.years else "",
            "cutoff": fmt_num(r.cutoff_rate(a.year), 2),
        })
    eenheid_core = a.changes[(a.changes["level"].isin(["eenheid", "district"]))]
    core_kinds = {g.label for g in a.groups if g.kind in ("woninginbraak", "hic", "hic_totaal")}
    bbv_kinds = {g.label for g in a.groups if g.kind == "bbv"}
    generated = datetime.now()
    return {
        "version": package_version(),
        "synthetic": a.synthetic,
        "page_title": f"Jaaranalyse {a.year} — eenheid {a.eenheid_naam}",
        "warnings": list(a.warnings),
        "source_line": a.info.source_line(),
        "generated": f"{generated:%d-%m-%Y %H:%M}",
        "report_date": f"{generated:%d-%m-%Y}",
        "latest_month": fmt_month(date(a.year, 12, 1)),
        "a": a,
        "year": a.year,
        "compare_year": a.settings.compare_year,
        "summary": list(a.summary),
        "images": images,
        "eenheid_core": change_rows(eenheid_core[eenheid_core["group"].isin(core_kinds)]),
        "eenheid_bbv": change_rows(eenheid_core[eenheid_core["group"].isin(bbv_kinds)]),
        # issue 13 (BBV): codes read from the yearly table are listed apart; Halt is not in the police data.
        "groups": [{"label": g.label, "codes": ", ".join(g.codes)
                    + (f"; per jaar uit {MISDRIJVEN_JAAR_TABLE}: {', '.join(g.yearly_codes)}" if g.yearly_codes else ""),
                    "definition": g.definition, "kind": g.kind}
                   for g in a.groups],
        "halt_note": HALT_NOTE,
        "bbv_groups": [g for g in a.groups if g.kind == "bbv"],
        "monitor": monitor,
        "target": a.target,
        "ranking": ranking,
        "chapters": [district_chapter(a, d, geography) for d in a.districts],
        "geography_note": geography.note,
        "slug": slug,
        "pdf": pdf,
        "tables_dir": TABLES_DIR,
        "alpha_text": fmt_num(a.stats.alpha, 2),
        # The level of the monitor's and the ranking's intervals follows [statistiek] alpha.
        "interval_pct": f"{100 * (1 - a.stats.alpha):g}".replace(".", ","),
        "methods": a.methods,
    }


# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------

CHANGE_COLUMNS: dict[str, str] = {
    "region_code": "regiocode", "name": "regio", "level": "niveau", "district_code": "district", "group": "delict",
    "current": "aantal", "previous": "aantal_vorig_jaar", "base": "aantal_vergelijkingsjaar",
    "difference_vj": "verschil_vorig_jaar", "pct_change_vj": "procent_vorig_jaar", "p_value_vj": "p_vorig_jaar",
    "significant_vj": "significant_vorig_jaar", "difference_basis": "verschil_vergelijkingsjaar",
    "pct_change_basis": "procent_vergelijkingsjaar", "p_value_basis": "p_vergelijkingsjaar",
    "significant_basis": "significant_vergelijkingsjaar", "denominator": "noemer", "rate": "per_1000",
    "rate_previous": "per_1000_vorig_jaar", "rate_base": "per_1000_vergelijkingsjaar",
}
TREND_COLUMNS: dict[str, str] = {
    "region_code": "regiocode", "name": "regio", "level": "niveau", "district_code": "district", "group": "delict",
    "year": "jaar", "count": "aantal", "count_known": "aantal_bekend_deel", "n_suppressed": "onderdrukte_cellen",
    "n_missing": "ontbrekende_cellen", "measure": "noemer_soort", "denominator": "noemer", "rate": "per_1000",
}


def report_tables(analysis: JaarAnalyse) -> dict[str, pd.DataFrame]:
    """The tables behind the report, with Dutch column names."""
    changes = analysis.changes.loc[:, [c for c in CHANGE_COLUMNS if c in analysis.changes]].rename(columns=CHANGE_COLUMNS)
    bbv_labels = {g.label for g in analysis.groups if g.kind == "bbv"}
    tables = {
        "misdrijven": changes[~changes["delict"].isin(bbv_labels)].reset_index(drop=True),
        "bbv_indicatoren": changes[changes["delict"].isin(bbv_labels)].reset_index(drop=True),
        "reeks_per_jaar": analysis.trend.loc[:, [c for c in TREND_COLUMNS if c in analysis.trend]].rename(columns=TREND_COLUMNS),
        "delictgroepen": pd.DataFrame([{"delict": g.label, "soort": g.kind, "politiecodes": ", ".join(g.codes),
                                        "noemer": g.denominator, "definitie": g.definition} for g in analysis.groups]),
    }
    if analysis.monitor is not None:
        tables["overlastmonitor"] = analysis.monitor.export_frame()
    if analysis.ranking is not None:
        tables["jeugdoverlast_ranglijst"] = analysis.ranking.export_frame()
    return tables


def explanation(analysis: JaarAnalyse) -> pd.DataFrame:
    t = analysis.target
    rows = [
        ("rapport", f"Jaaranalyse {analysis.year}, eenheid {analysis.eenheid_naam}"),
    ]
    if analysis.synthetic:
        # The same convention as the biweekly workbook: a 'synthetisch' row that starts with JA.
        rows.append(("synthetisch", "JA — SYNTHETISCHE CIJFERS (demo/test): behalve Nederland zeggen deze cijfers niets over de werkelijkheid."))
    rows += [
        ("bron misdrijven", analysis.info.source_line()),
        ("vergelijkingen", f"{analysis.year} t.o.v. {analysis.year - 1} en t.o.v. {analysis.settings.compare_year}; "
                           "Poisson-toets, alleen significante veranderingen gemarkeerd"),
        ("overlastdoel", t.title),
        ("ontbrekend", "lege cel = onbekend (onderdrukt of ontbrekend), nooit 0"),
    ]
    rows += [(f"delictgroep {g.label}", g.definition) for g in analysis.groups]
    if analysis.ranking is not None:
        rows += [("jeugdoverlast ranglijst", analysis.ranking.rule_text), ("dekking ranglijst", analysis.ranking.coverage_text)]
    rows += [("waarschuwing", w) for w in analysis.warnings]
    return pd.DataFrame(rows, columns=["onderwerp", "toelichting"])


# --------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------


def report_slug(analysis: JaarAnalyse) -> str:
    return f"jaaranalyse-{analysis.year}-{slugify(analysis.eenheid_naam, analysis.eenheid_code.lower())}"


def annual_banners(analysis: JaarAnalyse, checked: Sequence[Any] = ()) -> BannerView:
    """The annual report's warnings grouped by meaning; only those touching the years it compares
    (the year, the year before and the comparison year) are on the first screen.
    ``checked``: the data checks' warnings with their months and regions
    (:func:`veiligheidsbeeld.analysis.findings.validation_warnings`); the analysis keeps only their text."""
    from veiligheidsbeeld.analysis.woninginbraak import ReportWarning

    structured = list(checked)
    texts = {w.message for w in structured}
    structured += [ReportWarning(w, kind="jaaranalyse") for w in analysis.warnings if w not in texts]
    years = {analysis.year, analysis.year - 1, analysis.settings.compare_year}
    months = [date(y, m, 1) for y in years for m in range(1, 13)]
    names = {g.code: g.naam for d in analysis.districts for g in d.gemeenten}
    return arrange(structured, district_code=None, scope=list(names), names=names, used_months=months)


def write_report(analysis: JaarAnalyse, out_dir: Path, *, geography: Geography | None = None,
                 pdf: bool = True, banners: BannerView | None = None) -> list[Path]:
    """HTML, PDF, CSV and Excel of an analysis into ``out_dir``."""
    geography = geography or Geography()
    out_dir = Path(out_dir)
    ensure_dir(out_dir, "rapportmap")
    slug = report_slug(analysis)
    with long_lived_heap():
        context = report_context(analysis, geography, slug=slug, pdf=pdf)
        context["banners"] = banners or annual_banners(analysis)
        html = render_template(TEMPLATE, **context)
        files = [publish(safe_path(out_dir, f"{slug}.html"), html)]
        if pdf:
            files.append(write_pdf(html, safe_path(out_dir, f"{slug}.pdf")))
        files += write_tables(report_tables(analysis), explanation(analysis), out_dir, slug,
                              synthetic=analysis.synthetic, vintage=analysis.info.vintage)
    return files


def render_jaaranalyse(settings: Settings, year: int, out_dir: Path | None = None, *, pdf: bool = True) -> list[Path]:
    """Build the annual analysis of ``year`` from the warehouse and write the report.

    ``out_dir`` default ``<reports>/<year>/jaaranalyse``. Returns the files written (HTML, PDF,
    Excel, CSVs). Raises ``DataError`` when the year is not complete in the data.
    """
    from veiligheidsbeeld.warehouse import queries
    from veiligheidsbeeld.warehouse.db import reader

    paths = settings.paths.resolved()
    out = Path(out_dir) if out_dir is not None else paths.reports / str(int(year)) / REPORT_DIR
    with reader(paths.warehouse) as con:
        analysis = build_jaaranalyse(queries.annual_inputs(con, settings, int(year)))
        gemeenten = [c for d in analysis.districts for c in d.gemeente_codes]
        geography = read_geography(con, settings.area.layout_year, gemeenten)
        district_of = {g.code: d.code for d in analysis.districts for g in d.gemeenten}
        checked = validation_warnings(queries.checked_data(con, [MISDRIJVEN_TABLE, OVERLAST_TABLE]), district_of)
    return write_report(analysis, out, geography=geography, pdf=pdf, banners=annual_banners(analysis, checked))
