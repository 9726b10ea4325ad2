"""The incident section of the biweekly district report: template context (strings and images).

Only aggregates reach the page: counts per gemeente, buurt and grid cell. A page that includes
this section carries the marking "politie-intern / vertrouwelijk" on every page (see
``_incidenten.html.j2``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from veiligheidsbeeld.formatting import fmt_date, fmt_int, fmt_num
from veiligheidsbeeld.incidents.biweekly import IncidentSection
from veiligheidsbeeld.incidents.charts import MARKING, plot_grid_map, plot_knox
from veiligheidsbeeld.incidents.hotspots import HOT


def section_context(section: IncidentSection, *, district_naam: str, gemeente_areas=None) -> dict[str, Any]:
    """Everything ``_incidenten.html.j2`` needs for one district."""
    from veiligheidsbeeld.reports.kit import Image, change_view, data_uri, records

    current, previous, year = section.periods
    synthetic = " SYNTHETISCHE incidenten (demo/test)." if section.synthetic else ""
    source = f"Bron: incidentregistraties politie (warehouse), woninginbraak {section.crime_code}.{synthetic}"
    prev = {r["region_code"]: r for r in records(section.vs_previous)}
    yr = {r["region_code"]: r for r in records(section.vs_year)}
    rows = [
        {"name": r["name"], "level": r["level"], "previous": change_view(prev[r["region_code"]]),
         "year": change_view(yr[r["region_code"]])}
        for r in records(section.vs_previous)
    ]
    images: dict[str, Image] = {}
    context = None
    if gemeente_areas is not None and not gemeente_areas.empty:
        context = gemeente_areas.to_crs("EPSG:28992")
    cell = int(section.grid.geometry.iloc[0].bounds[2] - section.grid.geometry.iloc[0].bounds[0]) if len(section.grid) else 0
    fig = plot_grid_map(
        section.grid, "count",
        title=f"Woninginbraken {current.label} — district {district_naam}",
        subtitle=f"aantal per rastercel van {cell} × {cell} m (geen adressen)",
        context=context, source=source,
    )
    images["grid"] = Image(data_uri(fig), f"Kaart: woninginbraken per rastercel in district {district_naam}",
                           "Alleen cellen met ten minste één woninginbraak zijn gekleurd.")
    if section.hotspots is not None:
        hs = section.hotspots
        fig = plot_grid_map(
            hs.areas, "count",
            title=f"Hotspots woninginbraak — district {district_naam}",
            subtitle=(f"Getis-Ord Gi* op {cell} m-cellen" if hs.level == "grid" else "Getis-Ord Gi* op buurten")
            + f", {section.hotspot_period.label}; Benjamini–Hochberg, α = {fmt_num(hs.alpha, 2)}",
            context=context, source=source, hotspots=hs,
        )
        images["hotspots"] = Image(
            data_uri(fig), f"Kaart: hotspots van woninginbraak in district {district_naam}",
            f"{hs.n_hot} {'cellen' if hs.level == 'grid' else 'buurten'} zijn een hotspot: samen met hun buren tellen ze "
            "significant meer woninginbraken dan gemiddeld in het district, na correctie voor het aantal getoetste gebieden.",
        )
    if section.knox is not None:
        fig = plot_knox(section.knox, title=f"Near-repeat woninginbraak — district {district_naam}",
                        source=source + f" Periode: {section.knox_period.label}.")
        images["knox"] = Image(data_uri(fig), "Tabel van Knox-ratio's per afstand en tijd")
    zone = section.zone
    return {
        "marking": MARKING,
        "synthetic": section.synthetic,
        "periods": {"current": current.label, "previous": previous.label, "year": year.label},
        "rows": rows,
        "images": images,
        "n_hot": section.hotspots.n_hot if section.hotspots is not None else None,
        "hotspot_level": section.hotspots.level if section.hotspots is not None else "grid",
        "hot_cells": int((section.hotspots.areas["klasse"] == HOT).sum()) if section.hotspots is not None else 0,
        "knox_period": section.knox_period.label,
        "knox_n": section.knox.n_incidents if section.knox is not None else 0,
        "zone": {"distance": fmt_int(zone[0]), "days": fmt_int(zone[1])} if zone else None,
        "alert": [
            {"gemeente": a.gemeente, "buurt": a.buurt, "code": a.buurt_code, "n": fmt_int(a.incidents),
             "last": fmt_date(a.last_date), "until": fmt_date(a.alert_until)}
            for a in section.alert
        ],
        "notes": list(section.notes),
        "source": source,
        "cell": cell,
    }


@dataclass(frozen=True)
class IncidentSections:
    """What every district's incident section is built from. Each district's section is built
    (statistics and maps) in the job that renders that district, so that the sections are made
    in parallel, not one after the other before the pages start."""

    inputs: Any  # warehouse.queries.IncidentInputs
    settings: Any
    report_date: Any
    names: Mapping[str, str]
    phi: Mapping[str, float]
    stats: Any
    gemeente_areas: Any  # GeoDataFrame of the eenheid's gemeenten, or None

    def context(self, district: Any) -> dict[str, Any]:
        """The template context of ``district``'s section (a ``District`` of the analysis)."""
        from veiligheidsbeeld.incidents.biweekly import build_sections

        section = build_sections(self.inputs, self.settings, self.report_date, [district], self.gemeente_areas,
                                 dict(self.names), stats=self.stats, phi=self.phi)[district.code]
        areas = None
        if self.gemeente_areas is not None and not self.gemeente_areas.empty:
            areas = self.gemeente_areas[self.gemeente_areas["region_code"].isin(list(district.gemeente_codes))]
        return section_context(section, district_naam=district.naam, gemeente_areas=areas)


def incident_sections(inputs: Any, settings: Any, analysis: Any, geography: Any) -> IncidentSections | None:
    """The incident sections of the districts of ``analysis`` (``inputs``: from
    :func:`veiligheidsbeeld.warehouse.queries.incident_inputs`); None when the warehouse holds no
    incident data: the report then looks exactly as before."""
    if inputs is None or inputs.incidents.empty:
        return None
    names = dict(zip(analysis.regions["region_code"], analysis.regions["name"]))
    crime = analysis.changes[(analysis.changes["group"] == analysis.crime) & (analysis.changes["comparison"] == "maand")]
    phi = dict(zip(crime["region_code"], crime["phi"], strict=False))
    return IncidentSections(inputs, settings, analysis.report_date, names, phi, analysis.stats, geography.gemeenten)
