"""The true biweekly analysis on incident data: the last 14 days against the 14 before and the same
14 days a year earlier (52 weeks: the same weekdays), per gemeente and district; the grid of the
period's incidents; hotspots of the last year; and the near-repeat alert per buurt.

Returns results (aggregates only: counts per gemeente, buurt or grid cell); templates draw them.
The comparisons go through the project's one statistics engine
(:func:`veiligheidsbeeld.analysis.stats.compare_frame`); the multiple-comparison control is the
engine's (:func:`judge_fourteen_days`, :func:`veiligheidsbeeld.analysis.engine.flag`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd

from veiligheidsbeeld.analysis import engine
from veiligheidsbeeld.analysis.stats import compare_frame
from veiligheidsbeeld.config import StatistiekSettings
from veiligheidsbeeld.incidents.hotspots import Hotspots, buurt_hotspots, grid_counts, grid_hotspots
from veiligheidsbeeld.incidents.knox import KnoxResult, days_since, knox_test, raised_risk_zone
from veiligheidsbeeld.incidents.settings import IncidentSettings
from veiligheidsbeeld.warehouse.queries import IncidentInputs

PERIOD_DAYS = 14
#: A year earlier as 52 weeks, so both periods have the same weekdays (burglaries differ by weekday).
YEAR_DAYS = 364


@dataclass(frozen=True)
class Period:
    start: date  # inclusive
    end: date  # exclusive

    @property
    def label(self) -> str:
        last = self.end - timedelta(days=1)
        return f"{self.start:%d-%m-%Y} t/m {last:%d-%m-%Y}"

    def mask(self, moments: pd.Series) -> pd.Series:
        return (moments >= pd.Timestamp(self.start)) & (moments < pd.Timestamp(self.end))


def fourteen_day_periods(report_date: date) -> tuple[Period, Period, Period]:
    """The last 14 full days before the report date, the 14 before, and the same 14 days 52 weeks earlier."""
    current = Period(report_date - timedelta(days=PERIOD_DAYS), report_date)
    previous = Period(current.start - timedelta(days=PERIOD_DAYS), current.start)
    year = Period(current.start - timedelta(days=YEAR_DAYS), current.end - timedelta(days=YEAR_DAYS))
    return current, previous, year


def judge_fourteen_days(table: pd.DataFrame, year_table: pd.DataFrame, family: str, stats: StatistiekSettings,
                        phi: Mapping[str, float] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Both 14-day comparisons of one district through the engine's one test and its false
    discovery rate control (one family: the district and its gemeenten × both comparisons), so
    the incident section and the monthly analysis flag alike. ``phi``: each region's
    overdispersion from the monthly analysis (a 14-day count is at least as variable)."""
    phis = {k: v for k, v in (phi or {}).items() if v == v}
    parts = []
    for key, frame in (("vorige", table), ("jaar", year_table)):
        frame = frame.assign(phi=frame["region_code"].map(phis).fillna(1.0).astype("float64"))
        parts.append(compare_frame(frame, "current", "previous", phi="phi", alpha=stats.alpha).assign(vergelijking=key))
    both = pd.concat(parts, ignore_index=True)
    flagged = engine.flag(both, pd.Series(family, index=both.index), stats)
    split = [flagged[flagged["vergelijking"] == key].drop(columns="vergelijking").reset_index(drop=True)
             for key in ("vorige", "jaar")]
    return split[0], split[1]


@dataclass(frozen=True)
class AlertRow:
    gemeente: str
    buurt: str
    buurt_code: str
    incidents: int
    last_date: date
    alert_until: date


@dataclass(frozen=True)
class IncidentSection:
    """What the district report shows from incident data (aggregates only)."""

    district_code: str
    periods: tuple[Period, Period, Period]
    crime_code: str
    vs_previous: pd.DataFrame  # compare_frame output per region + name, level
    vs_year: pd.DataFrame
    grid: gpd.GeoDataFrame  # cells with their count in the current period
    hotspots: Hotspots | None
    hotspot_period: Period
    knox: KnoxResult | None
    knox_period: Period
    zone: tuple[float, float] | None
    alert: tuple[AlertRow, ...]
    synthetic: bool
    notes: tuple[str, ...] = field(default_factory=tuple)


def _region_table(counts: dict[str, pd.Series], gemeenten: Sequence[tuple[str, str]], district: tuple[str, str]) -> pd.DataFrame:
    rows = []
    for code, name in [district, *gemeenten]:
        level = "district" if code == district[0] else "gemeente"
        rows.append({"region_code": code, "name": name, "level": level,
                     **{k: int(v.get(code, 0)) for k, v in counts.items()}})
    return pd.DataFrame(rows)


def _alert(burglaries: pd.DataFrame, current: Period, zone: tuple[float, float] | None,
           names: dict[str, str]) -> tuple[AlertRow, ...]:
    """Per buurt with a woninginbraak in the current period: until when the raised risk lasts
    (its last incident's midpoint + the zone's days). Never an address: the buurt only."""
    if zone is None:
        return ()
    recent = burglaries[current.mask(burglaries["pleeg_midden"])]
    if recent.empty:
        return ()
    days = zone[1]
    rows = []
    recent = recent.assign(buurt_code=recent["buurt_code"].fillna("onbekend"),
                           gemeente_code=recent["gemeente_code"].fillna("onbekend"))
    for (gm, code), group in recent.groupby(["gemeente_code", "buurt_code"]):
        last = group["pleeg_midden"].max().date()
        rows.append(
            AlertRow(
                gemeente=names.get(gm, gm),
                buurt=names.get(code, "buurt onbekend (geen buurtcode of -grens)" if code == "onbekend" else code),
                buurt_code="" if code == "onbekend" else code,
                incidents=len(group),
                last_date=last,
                alert_until=last + timedelta(days=int(np.ceil(days)) - 1),
            )
        )
    return tuple(sorted(rows, key=lambda r: (r.alert_until, r.incidents), reverse=True))


def build_section(
    incidents: pd.DataFrame,
    report_date: date,
    settings: IncidentSettings,
    *,
    district: tuple[str, str],
    gemeenten: Sequence[tuple[str, str]],
    area: gpd.GeoDataFrame | None = None,
    buurten: gpd.GeoDataFrame | None = None,
    names: dict[str, str] | None = None,
    stats: StatistiekSettings | None = None,
    phi: Mapping[str, float] | None = None,
) -> IncidentSection:
    """The section of one district from the warehouse's incidents of ``settings.woninginbraak_code``
    (``incidents``: :func:`veiligheidsbeeld.warehouse.queries.incidents` output for the district's gemeenten, covering the last year and
    the periods)."""
    code = settings.woninginbraak_code
    current, previous, year = fourteen_day_periods(report_date)
    own = incidents[incidents["gemeente_code"].isin([g for g, _ in gemeenten])]
    moments = own["pleeg_midden"]
    notes: list[str] = []

    def per_gemeente(period: Period) -> pd.Series:
        sel = own[period.mask(moments)]
        counts = sel.groupby("gemeente_code").size()
        counts[district[0]] = len(sel)
        return counts

    counts = {"current": per_gemeente(current), "previous": per_gemeente(previous), "year_before": per_gemeente(year)}
    table = _region_table(counts, gemeenten, district)
    # Each comparison table names its base "previous" (what the report's change cells show).
    year_table = table.drop(columns=["previous"]).rename(columns={"year_before": "previous"})
    vs_previous, vs_year = judge_fourteen_days(table.drop(columns=["year_before"]), year_table, district[0],
                                               stats or StatistiekSettings(), phi)

    grid = grid_counts(own[current.mask(moments)], settings.cel_grootte_m, area)
    # Hotspots and the Knox test need a year of incidents: 14 days are too few.
    history = Period(report_date - timedelta(days=settings.alert_historie_dagen), report_date)
    last_year = own[history.mask(moments)]
    hotspots = None
    by_buurt = settings.hotspot_niveau == "buurt"
    if by_buurt and (buurten is None or len(buurten) < 3):
        by_buurt = False
        notes.append("Hotspots op het raster: er staan geen buurtgrenzen van deze gemeenten in het warehouse "
                     "(hotspot_niveau = 'buurt' vraagt ze).")
    if len(last_year) >= 20 and by_buurt:
        hotspots = buurt_hotspots(last_year, buurten, permutations=settings.hotspot_permutaties, seed=settings.seed,
                                  alpha=settings.hotspot_alpha)
    elif len(last_year) >= 20:
        hotspots = grid_hotspots(last_year, settings.cel_grootte_m, area=area, permutations=settings.hotspot_permutaties,
                                 seed=settings.seed, alpha=settings.hotspot_alpha)
    else:
        notes.append(f"Te weinig incidenten in {history.label} ({len(last_year)}) voor een hotspotanalyse (minstens 20).")
    knox = None
    zone = None
    usable = last_year[last_year["venster_dagen"] <= settings.max_venster_dagen] if settings.max_venster_dagen > 0 else last_year
    if len(last_year) - len(usable):
        notes.append(
            f"{len(last_year) - len(usable)} woninginbraken met een pleegvenster van meer dan "
            f"{settings.max_venster_dagen:g} dagen tellen niet mee in de near-repeat-analyse."
        )
    if len(usable) >= 30:
        knox = knox_test(usable["x"].to_numpy(), usable["y"].to_numpy(), days_since(usable["pleeg_midden"]),
                         settings.afstandsbanden, settings.tijdsbanden, metric=settings.metriek,
                         permutations=settings.permutaties, seed=settings.seed)
        zone = raised_risk_zone(knox, min_ratio=settings.alert_min_ratio, alpha=settings.alert_alpha)
    else:
        notes.append(f"Te weinig woninginbraken in {history.label} ({len(usable)}) voor een near-repeat-analyse (minstens 30).")
    unknown = int(incidents["gemeente_code"].isna().sum())
    if unknown:
        notes.append(
            f"{unknown} incidenten in het warehouse hebben geen gemeente (geen buurtcode en geen grenzen om ze in te delen); "
            "ze tellen in geen enkel district mee."
        )
    return IncidentSection(
        district_code=district[0],
        periods=(current, previous, year),
        crime_code=code,
        vs_previous=vs_previous,
        vs_year=vs_year,
        grid=grid,
        hotspots=hotspots,
        hotspot_period=history,
        knox=knox,
        knox_period=history,
        zone=zone,
        alert=_alert(own, current, zone, names or {}),
        synthetic=bool(incidents["synthetic"].any()) if "synthetic" in incidents else False,
        notes=tuple(notes),
    )


def history_start(report_date: date, inc: IncidentSettings) -> date:
    """The first day of incidents the sections of ``report_date`` need (alert history, and a year
    plus a period for the comparison)."""
    return min(report_date - timedelta(days=inc.alert_historie_dagen), report_date - timedelta(days=YEAR_DAYS + PERIOD_DAYS))


def build_sections(inputs: IncidentInputs | None, settings: Any, report_date: date, districts: Sequence[Any],
                   gemeente_areas: gpd.GeoDataFrame | None = None, names: dict[str, str] | None = None,
                   stats: StatistiekSettings | None = None,
                   phi: Mapping[str, float] | None = None) -> dict[str, IncidentSection]:
    """Sections per district code over what :func:`veiligheidsbeeld.warehouse.queries.incident_inputs`
    read; empty when the warehouse holds no incident data (``inputs`` None)."""
    if inputs is None or inputs.incidents.empty:
        return {}
    inc: IncidentSettings = settings.incidenten
    frame = inputs.incidents
    names = dict(names or {})
    buurt_areas = inputs.buurt_areas if inc.hotspot_niveau == "buurt" else None
    sections = {}
    for d in districts:
        area = None
        if gemeente_areas is not None and not gemeente_areas.empty:
            area = gemeente_areas[gemeente_areas["region_code"].isin(list(d.gemeente_codes))]
        gemeenten = [(g.code, g.naam) for g in d.gemeenten]
        names.update(dict(gemeenten))
        own_buurten = None
        if buurt_areas is not None and not buurt_areas.empty:
            own_buurten = buurt_areas[buurt_areas["region_code"].str[2:6].isin([c[2:6] for c in d.gemeente_codes])]
        sections[d.code] = build_section(frame, report_date, inc, district=(d.code, d.naam), gemeenten=gemeenten,
                                         area=area, buurten=own_buurten, names=names, stats=stats, phi=phi)
    return sections
