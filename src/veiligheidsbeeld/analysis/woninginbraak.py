"""The biweekly woninginbraak analysis (tweewekelijkse woninginbraakanalyse).

Every two weeks each district gets: woninginbraak (47022NED, code ``1.1.1``) per gemeente,
district and eenheid over five standard comparisons (Poisson tests, only significant changes
flagged), a funnel plot of the gemeenten (per 1,000 dwellings), a control chart per gemeente,
top lists of wijken and buurten (rolling 12 months) and a High Impact Crime overview.

The functions here are pure: tidy DataFrames in, DataFrames plus metadata out; the warehouse is
read by :func:`veiligheidsbeeld.warehouse.queries.biweekly_inputs`. Conventions that keep the
figures honest:

* only leaf crime codes are summed (never ``0.0.0`` with its parts);
* a suppressed cell (not published) or a month absent from the warehouse stays missing: a sum
  over a period containing one is *incomplete* — its total is NaN (the known part is kept in
  ``*_known`` columns) and it is not tested;
* every missing month, gemeente or district without data becomes a :class:`ReportWarning`.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from veiligheidsbeeld.analysis import engine
from veiligheidsbeeld.analysis.engine import MONTHLY_COLUMNS, ReportPeriod, RegionHierarchy, with_count
from veiligheidsbeeld.analysis.periods import Comparison, Period, add_months
from veiligheidsbeeld.analysis.rates import rate_ci, rate_per
from veiligheidsbeeld.analysis.stats import (
    ControlChart,
    control_charts,
    funnel_classify,
    funnel_dispersion,
    funnel_limits,
)
from veiligheidsbeeld.config import StatistiekSettings, TweewekelijksSettings
from veiligheidsbeeld.errors import ConfigError
from veiligheidsbeeld.formatting import fmt_date, fmt_month
from veiligheidsbeeld.warehouse.queries import BiweeklyInputs, DataInfo

if TYPE_CHECKING:
    from veiligheidsbeeld.config import Settings
    from veiligheidsbeeld.regions import District

log = logging.getLogger(__name__)

Level = Literal["eenheid", "district", "gemeente", "wijk", "buurt"]
EENHEID: Level = "eenheid"
DISTRICT: Level = "district"
GEMEENTE: Level = "gemeente"
WIJK: Level = "wijk"
BUURT: Level = "buurt"
#: Region level in the warehouse (regions.level) -> level name used in the analysis.
WAREHOUSE_LEVELS: dict[str, Level] = {"GM": GEMEENTE, "WK": WIJK, "BU": BUURT}

#: Comparison used for the funnel plot, the maps and the wijk/buurt top lists.
ROLLING_12 = "12_maanden"
LIST_MOST = "meeste"
LIST_INCREASE = "stijging"

#: More months than this between the latest month and the report date: the report says its data
#: are old (a banner). Deliberately one month more lenient than status.STALE_AFTER_MONTHS, which
#: decides when a flow refreshes the warehouse: the police publish with a lag of about a month.
STALE_AFTER_MONTHS = 3


# --------------------------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------------------------


def options_from(settings: Settings | None) -> TweewekelijksSettings:
    """The biweekly settings inside ``Settings`` (once hooked in), else the defaults."""
    found = getattr(settings, "tweewekelijks", None)
    return (found if isinstance(found, TweewekelijksSettings) else TweewekelijksSettings()).validate()


def check_leaf_codes(groups: Mapping[str, Sequence[str]], offence_types: pd.DataFrame) -> None:
    """Every code of every group must exist and be a leaf (``is_rollup`` False).

    ``offence_types`` has columns ``code`` and ``is_rollup``. Summing a total such as ``0.0.0``
    with its parts would count crimes twice, so a rollup code is a configuration error.
    """
    known = dict(zip(offence_types["code"], offence_types["is_rollup"].astype(bool), strict=True))
    for label, codes in groups.items():
        unknown = [c for c in codes if c not in known]
        if unknown:
            valid = ", ".join(sorted(c for c, r in known.items() if not r))
            raise ConfigError(f"Groep '{label}': onbekende misdrijfcode(s) {', '.join(unknown)}. Geldig: {valid}.")
        rollups = [c for c in codes if known[c]]
        if rollups:
            raise ConfigError(
                f"Groep '{label}': {', '.join(rollups)} is een totaalcode; tel alleen de onderliggende codes op."
            )


# --------------------------------------------------------------------------------------------
# Monthly counts per group, complete grid, aggregation
# --------------------------------------------------------------------------------------------


def month_grid(first: date, last: date) -> list[date]:
    return Period.month_range(first, last).months()


def group_counts(
    facts: pd.DataFrame,
    groups: Mapping[str, Sequence[str]],
    region_codes: Sequence[str],
    months: Sequence[date],
) -> pd.DataFrame:
    """Monthly counts per region and group on a complete region × group × month grid.

    ``facts``: tidy frame as from :func:`~veiligheidsbeeld.warehouse.queries.monthly_counts`
    (``region_code``, ``type_code``, ``month``, ``count``; NaN = suppressed). A group's count is
    the sum of its codes; it is NaN when any code is suppressed (``n_suppressed``) or has no row
    (``n_missing``, e.g. a month absent from the warehouse). ``count_known`` is the sum of what
    is known. Columns: :data:`MONTHLY_COLUMNS`.
    """
    parts = []
    facts = facts.loc[:, ["region_code", "type_code", "month", "count"]]
    for label, codes in groups.items():
        grid = pd.MultiIndex.from_product(
            [list(region_codes), list(codes), list(months)], names=["region_code", "type_code", "month"]
        ).to_frame(index=False)
        cells = grid.merge(
            facts[facts["type_code"].isin(codes)], how="left", on=["region_code", "type_code", "month"], indicator=True
        )
        cells["missing"] = cells["_merge"] == "left_only"
        cells["suppressed"] = ~cells["missing"] & cells["count"].isna()
        cells["group"] = label
        parts.append(cells.drop(columns="_merge"))
    cells = pd.concat(parts, ignore_index=True)
    out = (
        cells.groupby(["region_code", "group", "month"], sort=False)
        .agg(count_known=("count", "sum"), n_suppressed=("suppressed", "sum"), n_missing=("missing", "sum"))
        .reset_index()
    )
    return with_count(out, MONTHLY_COLUMNS)


# --------------------------------------------------------------------------------------------
# Periods and comparisons
# --------------------------------------------------------------------------------------------


def compare_periods(
    monthly: pd.DataFrame, comparisons: Sequence[Comparison], stats: StatistiekSettings | None = None
) -> pd.DataFrame:
    """Every region × group × comparison, Poisson (phi = 1) and unflagged: see
    :func:`veiligheidsbeeld.analysis.engine.compare`. Reports use :func:`engine.judge`."""
    return engine.compare(monthly, comparisons, stats or StatistiekSettings())


# --------------------------------------------------------------------------------------------
# Funnel, control charts, top lists
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Funnel:
    """Funnel data of one district: units (gemeenten) and the target rate they are judged by."""

    district_code: str
    target_rate: float
    per: float
    units: pd.DataFrame  # region_code, count, dwellings, rate, rate_lower, rate_upper, funnel
    n_excluded: int  # units without a known count or dwelling stock
    phi: float = 1.0  # overdispersion the limits allow for (Spiegelhalter)

    def curve(self, points: int = 300) -> pd.DataFrame:
        """The funnel's limits over the range of the units' dwelling stocks, for drawing:
        ``denominator`` and the columns of :func:`~veiligheidsbeeld.analysis.stats.funnel_limits`
        (the same limits, overdispersion included, that placed the units)."""
        known = self.units["dwellings"][self.units["dwellings"] > 0]
        if known.empty or np.isnan(self.target_rate):
            return pd.DataFrame()
        xmax = float(known.max()) * 1.12
        grid = np.linspace(max(xmax / 400, 50), xmax, points)
        return funnel_limits(self.target_rate, grid, per=self.per, levels=(0.95, 0.998), phi=self.phi)


def funnel_table(counts: pd.Series, dwellings: pd.Series, *, district_code: str = "", per: float = 1000,
                 phi: float = 1.0) -> Funnel:
    """Gemeenten in a funnel around the district rate.

    ``counts`` and ``dwellings`` are indexed by region code. The target is the pooled district
    rate over the gemeenten whose count and dwelling stock are both known; each gemeente gets
    its rate, exact 95% interval and place (:func:`funnel_classify`, 95% and 99.8% limits,
    widened for overdispersion ``phi``).
    """
    frame = pd.DataFrame({"count": counts.astype("float64")})
    frame["dwellings"] = dwellings.reindex(frame.index).astype("float64")
    usable = frame["count"].notna() & (frame["dwellings"] > 0)
    total_dwellings = frame.loc[usable, "dwellings"].sum()
    target = float(rate_per(frame.loc[usable, "count"].sum(), total_dwellings, per)) if usable.any() else float("nan")
    frame["rate"] = rate_per(frame["count"], frame["dwellings"], per)
    lower, upper = rate_ci(frame["count"], frame["dwellings"], per)
    frame["rate_lower"], frame["rate_upper"] = lower, upper
    if np.isnan(target):
        frame["funnel"] = "onbekend"
    else:
        frame["funnel"] = funnel_classify(frame["count"], frame["dwellings"], target, per, phi=phi)
    frame.index.name = "region_code"
    return Funnel(district_code, target, per, frame.reset_index(), int((~usable).sum()), phi)


def gemeente_control_charts(
    monthly: pd.DataFrame,
    period: ReportPeriod,
    *,
    seasonal: Mapping[str, np.ndarray] | None = None,
    phi: Mapping[str, float] | None = None,
    sigma: float = 3.0,
) -> tuple[dict[str, ControlChart], dict[str, str]]:
    """A control chart per region of ``monthly`` (one group) over ``period.chart_window``.

    The level is fitted on ``period.chart_baseline`` (so the recent months are judged against
    the period before them); the expected count of a month is that level times the region's
    seasonal index (``seasonal``, per region code; flat when absent), the limits allow for the
    region's ``phi``. Returns the charts and, per region without a chart, the Dutch reason.
    """
    window = period.chart_window.months()
    baseline = slice(period.chart_baseline.start, period.chart_baseline.end)
    n_baseline = period.chart_baseline.n_months
    reasons: dict[str, str] = {}
    wanted: dict[str, pd.Series] = {}
    # One month x region table (one reindex for all regions, not one per region).
    table = (monthly[monthly["month"].isin(window)]
             .pivot(index="month", columns="region_code", values="count")
             .reindex(window))
    table.index.name = "month"
    known = table.loc[baseline].notna().sum()
    for code in sorted(table.columns):
        series = table[code].rename("count")
        known_baseline = int(known[code])
        if known_baseline < 12:
            reasons[str(code)] = (
                f"te weinig maanden met gegevens voor een regelkaart ({known_baseline} van {n_baseline})"
            )
            continue
        wanted[str(code)] = series
    # All charts in one pass (the Poisson limits vectorised over every gemeente).
    charts: dict[str, ControlChart] = control_charts(
        wanted, baseline=baseline, sigma=sigma, seasonal={c: (seasonal or {}).get(c) for c in wanted},
        phi={c: (phi or {}).get(c, 1.0) for c in wanted})
    return charts, reasons


def top_areas(
    changes: pd.DataFrame,
    dwellings: pd.Series,
    *,
    min_dwellings: int,
    top_n: int = 10,
    per: float = 1000,
) -> pd.DataFrame:
    """Top lists of wijken or buurten: most break-ins, and largest significant increases.

    ``changes``: rows of one comparison (rolling 12 months) with ``region_code``, ``name``,
    ``level``, ``gemeente_code``, ``current``, ``previous``, ``difference``, ``pct_change``,
    ``p_value``, ``significant``, ``direction``. ``dwellings`` is indexed by region code.
    The rate per ``per`` dwellings is given only where the area has at least ``min_dwellings``
    dwellings (``rate_note`` says why not). Lists per gemeente and level: ``list`` is
    :data:`LIST_MOST` (by current count, areas with 0 left out) or :data:`LIST_INCREASE`
    (significant increases, by difference); ``rank`` starts at 1.
    """
    frame = changes.copy()
    frame["dwellings"] = dwellings.reindex(frame["region_code"]).to_numpy(dtype="float64")
    enough = frame["dwellings"] >= min_dwellings
    frame["rate"] = rate_per(frame["current"], frame["dwellings"].where(enough), per)
    frame["rate_note"] = np.select(
        [frame["dwellings"].isna(), ~enough], ["woningen onbekend", f"< {min_dwellings} woningen"], default=""
    )
    lists = []
    for _, rows in frame.groupby(["gemeente_code", "level"], sort=True):
        most = rows[rows["current"] > 0].sort_values(["current", "name"], ascending=[False, True]).head(top_n)
        rising = rows[rows["significant"] & (rows["direction"] == "stijging")]
        rising = rising.sort_values(["difference", "p_value", "name"], ascending=[False, True, True]).head(top_n)
        for label, part in ((LIST_MOST, most), (LIST_INCREASE, rising)):
            lists.append(part.assign(list=label, rank=np.arange(1, len(part) + 1)))
    if not lists:
        return frame.head(0).assign(list=pd.Series(dtype="object"), rank=pd.Series(dtype="int64"))
    return pd.concat(lists, ignore_index=True)


# --------------------------------------------------------------------------------------------
# The analysis as one object
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportWarning:
    """Something incomplete that a report must show as a banner (Dutch text).

    ``district_code`` None: applies to every report (e.g. a month missing from the warehouse).
    ``kind``, ``months``, ``regions``, ``importance`` (1 most important; see
    :mod:`veiligheidsbeeld.analysis.findings`): what it means, so that the report can group
    warnings and show them next to the figures they touch (:mod:`veiligheidsbeeld.reports.banners`).
    """

    message: str
    district_code: str | None = None
    kind: str = ""
    months: tuple[date, ...] = ()
    regions: tuple[str, ...] = ()
    importance: int = 3


@dataclass(frozen=True)
class BiweeklyAnalysis:
    """Everything the biweekly reports show, for one report date.

    Frames (region codes throughout; names in ``regions``):

    * ``regions``: ``region_code``, ``name``, ``level``, ``gemeente_code``, ``wijk_code``,
      ``district_code``, ``district_naam`` for the eenheid, its districts, gemeenten, wijken, buurten;
    * ``monthly``: :data:`MONTHLY_COLUMNS` for eenheid, districts and gemeenten (all groups) and
      wijken/buurten (woninginbraak only);
    * ``changes``: :func:`compare_periods` output for all of those (wijken/buurten: rolling 12
      months of woninginbraak only), with ``level`` and ``district_code``;
    * ``top_areas``: :func:`top_areas` for wijken and buurten;
    * ``dwellings``: ``region_code``, ``dwellings``, ``year``.
    """

    period: ReportPeriod
    options: TweewekelijksSettings
    stats: StatistiekSettings
    eenheid_code: str
    eenheid_naam: str
    districts: tuple[District, ...]
    regions: pd.DataFrame
    monthly: pd.DataFrame
    changes: pd.DataFrame
    funnels: Mapping[str, Funnel]
    control_charts: Mapping[str, ControlChart]
    control_chart_notes: Mapping[str, str]
    top_areas: pd.DataFrame
    dwellings: pd.DataFrame
    dwellings_label: str
    info: DataInfo
    district_infos: Mapping[str, DataInfo]
    warnings: tuple[ReportWarning, ...] = ()
    methods: engine.MethodsText | None = None
    #: woninginbraak per ``per`` dwellings over the last 12 months per gemeente, wijk and buurt
    #: (region_code, level, count, dwellings, rate; wijken/buurten only from buurt_min_dwellings).
    rates: pd.DataFrame | None = None

    # -- lookups -----------------------------------------------------------------------------

    @property
    def report_date(self) -> date:
        return self.period.report_date

    @property
    def latest_month(self) -> date:
        return self.period.latest_month

    @property
    def comparisons(self) -> tuple[Comparison, ...]:
        return self.period.comparisons

    @property
    def groups(self) -> dict[str, tuple[str, ...]]:
        return self.options.groups()

    @property
    def crime(self) -> str:
        return self.options.crime_label

    @property
    def synthetic(self) -> bool:
        return self.info.synthetic

    def comparison(self, key: str) -> Comparison:
        return next(c for c in self.comparisons if c.key == key)

    @property
    def rolling_12(self) -> Period:
        return self.comparison(ROLLING_12).current

    def district(self, code: str) -> District:
        for d in self.districts:
            if d.code == code:
                return d
        raise ConfigError(f"District {code} hoort niet bij deze analyse.")

    def chance_text(self, district_code: str | None) -> str:
        """What chance alone would give in one report (Dutch): a district report's tests (the
        district, its gemeenten, their wijken and buurten), or the eenheid index's (None)."""
        ch = self.changes
        if district_code is None:
            rows = ch[ch["level"].isin([EENHEID, DISTRICT, GEMEENTE])]
        else:
            rows = ch[ch["district_code"] == district_code]
        return engine.chance_flags_text(rows, self.stats)

    def judged_signals(self, gemeente_code: str) -> list[tuple[date, str]]:
        """The control-chart signals of a gemeente in the judged months (the only ones a report
        talks about), as (month, Dutch description); empty without a chart."""
        chart = self.control_charts.get(gemeente_code)
        return chart.signals_since(self.period.judged.start) if chart is not None else []

    def rate_12m(self, region_codes: Iterable[str]) -> pd.Series:
        """The rolling-12-month rate per region (NaN where there is none), indexed by code."""
        codes = list(region_codes)
        if self.rates is None or self.rates.empty:
            return pd.Series(np.nan, index=pd.Index(codes, name="region_code"), dtype="float64")
        return self.rates.set_index("region_code")["rate"].reindex(codes)

    def warnings_for(self, district_code: str | None) -> list[str]:
        """Banners for a district report: the general ones and the district's own. None (the
        eenheid index): all of them."""
        return [w.message for w in self.warnings if district_code is None or w.district_code in (None, district_code)]

    def info_for(self, district_code: str | None) -> DataInfo:
        return self.district_infos.get(district_code, self.info) if district_code else self.info

    def series(self, region_code: str, group: str | None = None) -> pd.Series:
        """Monthly counts of one region and group (default woninginbraak), indexed by month."""
        group = group or self.crime
        rows = self.monthly[(self.monthly["region_code"] == region_code) & (self.monthly["group"] == group)]
        return rows.set_index("month")["count"].sort_index()

    def changes_for(
        self,
        *,
        level: Level | None = None,
        district_code: str | None = None,
        group: str | None = None,
        comparison: str | None = None,
    ) -> pd.DataFrame:
        """Rows of ``changes`` with names, filtered."""
        frame = self.changes
        for col, value in (
            ("level", level),
            ("district_code", district_code),
            ("group", group),
            ("comparison", comparison),
        ):
            if value is not None:
                frame = frame[frame[col] == value]
        return frame


# --------------------------------------------------------------------------------------------
# Putting it together
# --------------------------------------------------------------------------------------------


def _funnel_phi(counts: pd.Series, dwellings: pd.Series, districts: Sequence[District]) -> float:
    """Spiegelhalter's overdispersion of the funnel, pooled over the gemeenten of all districts
    (each against its own district's rate): one district's dozen gemeenten are too few."""
    observed, expected = [], []
    for d in districts:
        c = counts.reindex(list(d.gemeente_codes)).astype("float64")
        n = dwellings.reindex(list(d.gemeente_codes)).astype("float64")
        ok = c.notna() & (n > 0)
        if ok.sum() < 2:
            continue
        rate = c[ok].sum() / n[ok].sum()
        observed += list(c[ok])
        expected += list(rate * n[ok])
    return funnel_dispersion(observed, expected)


def analyse(
    facts: pd.DataFrame,
    regions: pd.DataFrame,
    district_table: pd.DataFrame,
    dwellings: pd.DataFrame,
    *,
    period: ReportPeriod,
    options: TweewekelijksSettings,
    stats: StatistiekSettings | None = None,
    info: DataInfo,
    district_infos: Mapping[str, DataInfo] | None = None,
    district_codes: Sequence[str] | None = None,
    dwellings_label: str = "",
    level_counts: pd.DataFrame | None = None,
    area_counts: pd.DataFrame | None = None,
) -> BiweeklyAnalysis:
    """The whole analysis from frames (no warehouse access).

    ``facts``: tidy monthly facts of all codes of ``options.groups()`` for the gemeenten of the
    eenheid and the wijken/buurten of the districts analysed. ``regions``: warehouse regions
    (``code``, ``name``, ``level``, ``gemeente_code``, ``wijk_code``). ``district_table``: as
    :func:`~veiligheidsbeeld.regions.load_district_table`. ``dwellings``: ``region_code``,
    ``dwellings``, ``year`` (one row per region). ``district_codes``: the districts that get a
    report (default all); the eenheid totals always cover every gemeente of the eenheid.
    ``level_counts`` / ``area_counts``: the monthly group counts of the eenheid, its districts
    and gemeenten (every group; :func:`~veiligheidsbeeld.warehouse.queries.level_month_counts`)
    and of the wijken/buurten (the crime only; ``group_month_counts``) as the warehouse sums
    them; default: :func:`group_counts` on ``facts``, summed up the hierarchy in pandas (the
    same figures).
    """
    from veiligheidsbeeld.regions import districts_of

    options = options.validate()
    stats = (stats or StatistiekSettings()).validate()
    latest_month, report_date, comparisons = period.latest_month, period.report_date, period.comparisons
    months = month_grid(period.first_month, latest_month)
    groups = options.groups()
    hierarchy = RegionHierarchy.from_table(district_table)
    all_districts = districts_of(district_table)
    wanted = set(district_codes) if district_codes is not None else {d.code for d in all_districts}
    districts = tuple(d for d in all_districts if d.code in wanted)
    eenheid_code = str(district_table["eenheid_code"].iloc[0])
    eenheid_naam = str(district_table["eenheid_naam"].iloc[0])
    warnings: list[ReportWarning] = []

    # --- regions with their district -------------------------------------------------------
    district_of = dict(zip(district_table["gemeente_code"], district_table["district_code"], strict=True))
    district_name = dict(zip(district_table["district_code"], district_table["district_naam"], strict=True))
    gemeente_names = dict(zip(district_table["gemeente_code"], district_table["gemeente_naam"], strict=True))
    reg = regions.rename(columns={"code": "region_code"})
    reg = reg[reg["level"].isin(["WK", "BU"]) & reg["gemeente_code"].map(district_of).isin(wanted)]
    sub = pd.DataFrame(
        {
            "region_code": reg["region_code"],
            "name": reg["name"],
            "level": reg["level"].map(WAREHOUSE_LEVELS),
            "gemeente_code": reg["gemeente_code"],
            "wijk_code": reg["wijk_code"],
        }
    )
    top = pd.DataFrame(
        [
            {
                "region_code": eenheid_code,
                "name": eenheid_naam,
                "level": EENHEID,
                "gemeente_code": None,
                "wijk_code": None,
            }
        ]
        + [
            {"region_code": d.code, "name": d.naam, "level": DISTRICT, "gemeente_code": None, "wijk_code": None}
            for d in all_districts
        ]
        + [
            {"region_code": g, "name": n, "level": GEMEENTE, "gemeente_code": g, "wijk_code": None}
            for g, n in gemeente_names.items()
        ]
    )
    region_frame = pd.concat([top, sub], ignore_index=True)
    region_frame["district_code"] = region_frame["gemeente_code"].map(district_of)
    region_frame.loc[region_frame["level"] == DISTRICT, "district_code"] = region_frame["region_code"]
    region_frame["district_naam"] = region_frame["district_code"].map(district_name)

    # --- monthly counts ----------------------------------------------------------------------
    gemeenten = hierarchy.gemeenten
    areas = list(sub["region_code"])
    if level_counts is None:
        gm_monthly = group_counts(facts, groups, gemeenten, months)
        top_monthly = hierarchy.level_counts(gm_monthly)
    else:
        top_monthly = hierarchy.with_district_codes(with_count(level_counts, [*MONTHLY_COLUMNS, "level"]))
        gm_monthly = top_monthly.loc[top_monthly["level"] == GEMEENTE, list(MONTHLY_COLUMNS)].reset_index(drop=True)
    if area_counts is None:
        area_monthly = group_counts(facts, {options.crime_label: groups[options.crime_label]}, areas, months)
    else:
        area_monthly = with_count(area_counts, MONTHLY_COLUMNS)
    area_levels = sub.set_index("region_code")
    area_monthly = area_monthly.assign(
        level=area_monthly["region_code"].map(area_levels["level"]),
        gemeente_code=area_monthly["region_code"].map(area_levels["gemeente_code"]),
    )
    area_monthly["district_code"] = area_monthly["gemeente_code"].map(district_of)
    monthly = pd.concat([top_monthly, area_monthly], ignore_index=True)

    # --- completeness warnings (never a silent zero) ----------------------------------------
    present_gm = set(facts.loc[facts["region_code"].isin(gemeenten), "region_code"])
    incomplete_districts = []
    for d in all_districts:
        absent = [g for g in d.gemeenten if g.code not in present_gm]
        if len(absent) == len(d.gemeenten):
            incomplete_districts.append(d.naam)
            warnings.append(
                ReportWarning(
                    f"Voor district {d.naam} staan geen gegevens in het warehouse: er zijn geen cijfers voor "
                    "dit district (ook niet als 0 geteld).",
                    d.code, kind="no_data", regions=tuple(g.code for g in d.gemeenten), importance=1,
                )
            )
        elif absent:
            incomplete_districts.append(d.naam)
            names = ", ".join(f"{g.naam} ({g.code})" for g in absent)
            warnings.append(
                ReportWarning(
                    f"Geen gegevens voor {names} in district {d.naam}: de totalen van het district zijn "
                    "onvolledig en worden niet als getal getoond of getoetst.",
                    d.code, kind="no_data", regions=tuple(g.code for g in absent), importance=1,
                )
            )
    if incomplete_districts:
        warnings.append(
            ReportWarning(
                f"De totalen van de eenheid {eenheid_naam} zijn onvolledig (geen of onvolledige gegevens voor "
                f"{', '.join(incomplete_districts)}) en worden niet als getal getoond of getoetst.",
                kind="no_data", importance=1,
            )
        )
    present_months = set(facts["month"])
    shown = [m for m in months if m >= period.shown_first]
    if present_months:
        absent_months = [m for m in shown if m not in present_months and m >= min(present_months)]
        before = [m for m in shown if m < min(present_months)]
        if absent_months:
            warnings.append(
                ReportWarning(
                    "Ontbrekende maand(en) in de gegevens: "
                    + ", ".join(fmt_month(m) for m in absent_months)
                    + ". Perioden met deze maand(en) zijn onvolledig: hun totaal wordt niet getoond als getal "
                    "en niet getoetst, en in de grafieken is de maand gemarkeerd.",
                    kind="missing_month", months=tuple(absent_months), importance=2,
                )
            )
        if before:
            warnings.append(
                ReportWarning(
                    f"De gegevens beginnen pas in {fmt_month(min(present_months))}; eerdere maanden "
                    f"(vanaf {fmt_month(before[0])}) ontbreken, dus vergelijkingen die daarop steunen zijn onvolledig.",
                    kind="data_start", months=tuple(before), importance=2,
                )
            )
    # Police data lag about a month; much more means the warehouse was not refreshed.
    if add_months(latest_month, STALE_AFTER_MONTHS) < date(report_date.year, report_date.month, 1):
        warnings.append(
            ReportWarning(
                f"De gegevens lopen maar tot en met {fmt_month(latest_month)}, terwijl de rapportdatum "
                f"{fmt_date(report_date)} is: het warehouse is waarschijnlijk niet bijgewerkt (draai "
                "'veiligheidsbeeld ingest').",
                kind="stale", importance=1,
            )
        )
    suppressed = monthly.loc[(monthly["n_suppressed"] > 0) & monthly["region_code"].isin(gemeenten)
                             & (monthly["month"] >= period.shown_first)]
    if len(suppressed):
        warnings.append(
            ReportWarning(
                f"{len(suppressed)} gemeentelijke maandcijfers bevatten onderdrukte cellen (niet gepubliceerd). "
                "Die tellen niet als 0: totalen met zo'n maand zijn onvolledig en worden niet getoetst.",
                kind="suppressed", importance=3,
            )
        )

    # --- comparisons ------------------------------------------------------------------------
    # One test, phi from each series' own history, FDR per report family (see engine.judge).
    levels = dict(zip(region_frame["region_code"], region_frame["level"], strict=True))
    changes_top = engine.judge(top_monthly, comparisons, hierarchy, stats, dispersion_pairs=period.dispersion_pairs)
    rolling = period.comparison(ROLLING_12)
    changes_area = engine.judge(area_monthly, [rolling], hierarchy, stats, dispersion_pairs=period.dispersion_pairs)
    changes = pd.concat([changes_top, changes_area], ignore_index=True)
    changes.insert(1, "level", changes["region_code"].map(levels))
    meta = region_frame.set_index("region_code")
    changes.insert(2, "name", changes["region_code"].map(meta["name"]))
    changes.insert(3, "district_code", changes["region_code"].map(meta["district_code"]))
    changes.insert(4, "gemeente_code", changes["region_code"].map(meta["gemeente_code"]))

    # --- dwellings, funnel, control charts, top lists ----------------------------------------
    dwell = (
        dwellings.set_index("region_code")["dwellings"].astype("float64")
        if len(dwellings)
        else pd.Series(dtype="float64")
    )
    missing_dwellings = [g for g in gemeenten if pd.isna(dwell.get(g, np.nan))]
    if missing_dwellings and len(missing_dwellings) < len(gemeenten):
        warnings.append(
            ReportWarning(
                f"Woningvoorraad onbekend voor {len(missing_dwellings)} gemeente(n) "
                f"({', '.join(gemeente_names.get(g, g) for g in missing_dwellings[:8])}): "
                "geen cijfer per 1.000 woningen voor die gemeente(n).",
                kind="dwellings", regions=tuple(missing_dwellings), importance=3,
            )
        )
    elif missing_dwellings:
        warnings.append(
            ReportWarning(
                "Er is geen woningvoorraad in het warehouse: cijfers per 1.000 woningen, de trechtergrafiek en "
                "de kaart ontbreken. Laad eerst de noemers (CBS woningvoorraad).",
                kind="dwellings", importance=3,
            )
        )
    rolling_gm = changes_top[(changes_top["comparison"] == ROLLING_12) & (changes_top["group"] == options.crime_label)]
    rolling_gm = rolling_gm.set_index("region_code")["current"]
    funnel_phi = _funnel_phi(rolling_gm, dwell, all_districts) if stats.overdispersion else 1.0
    funnels = {
        d.code: funnel_table(rolling_gm.reindex(list(d.gemeente_codes)), dwell, district_code=d.code, per=options.per,
                             phi=funnel_phi)
        for d in districts
    }
    crime_gm = gm_monthly[
        (gm_monthly["group"] == options.crime_label) & gm_monthly["region_code"].map(district_of).isin(wanted)
    ]
    # Expected counts: the eenheid's seasonal pattern (a district's own has too few counts: its
    # monthly factors are off by 5-10%, which the simulated worlds show as false signals), the
    # gemeente's own level and phi.
    crime_top = top_monthly[top_monthly["group"] == options.crime_label]
    season = engine.seasonal_indices(crime_top[crime_top["level"] == EENHEID], period.season_history, stats)
    crime_rows = changes_top[changes_top["group"] == options.crime_label]
    phi_of = dict(zip(crime_rows["region_code"], crime_rows["phi"], strict=False))
    eenheid_season = season.get((eenheid_code, options.crime_label), np.ones(12))
    seasonal = {g: eenheid_season for g in crime_gm["region_code"].unique()}
    charts, chart_notes = gemeente_control_charts(crime_gm, period, seasonal=seasonal, phi=phi_of,
                                                  sigma=stats.control_sigma)
    area_changes = changes_area.merge(sub[["region_code", "name", "level", "gemeente_code"]], on="region_code")
    tops = top_areas(
        area_changes, dwell, min_dwellings=options.buurt_min_dwellings, top_n=options.top_n, per=options.per
    )

    rolling_rows = changes[(changes["comparison"] == ROLLING_12) & (changes["group"] == options.crime_label)
                           & changes["level"].isin([GEMEENTE, WIJK, BUURT])]
    rate_frame = pd.DataFrame({"region_code": rolling_rows["region_code"].to_numpy(),
                               "level": rolling_rows["level"].to_numpy(),
                               "count": rolling_rows["current"].to_numpy(dtype="float64")})
    rate_frame["dwellings"] = dwell.reindex(rate_frame["region_code"]).to_numpy(dtype="float64")
    small_area = rate_frame["level"].isin([WIJK, BUURT]) & ~(rate_frame["dwellings"] >= options.buurt_min_dwellings)
    rate_frame["rate"] = rate_per(rate_frame["count"], rate_frame["dwellings"].where(~small_area), options.per)
    methods = engine.methods_text(changes, stats, funnel_phi=funnel_phi, chart_months=options.control_chart_months,
                                  baseline_months=options.control_chart_baseline_months)
    return BiweeklyAnalysis(
        methods=methods,
        rates=rate_frame,
        period=period,
        options=options,
        stats=stats,
        eenheid_code=eenheid_code,
        eenheid_naam=eenheid_naam,
        districts=districts,
        regions=region_frame,
        monthly=monthly,
        changes=changes,
        funnels=funnels,
        control_charts=charts,
        control_chart_notes=chart_notes,
        top_areas=tops,
        dwellings=dwellings,
        dwellings_label=dwellings_label,
        info=info,
        district_infos=dict(district_infos or {}),
        warnings=tuple(_dedupe(warnings)),
    )


def _dedupe(items: Iterable[ReportWarning]) -> list[ReportWarning]:
    seen: set[ReportWarning] = set()
    return [w for w in items if not (w in seen or seen.add(w))]  # type: ignore[func-returns-value]


# --------------------------------------------------------------------------------------------
# Reading the warehouse
# --------------------------------------------------------------------------------------------


def select_districts(district_table: pd.DataFrame, districts: Sequence[str] | None) -> list[str] | None:
    """District codes for names or codes given by the user (None: all); unknown -> ConfigError."""
    from veiligheidsbeeld.regions import resolve_district

    if districts is None:
        return None
    codes: list[str] = []
    for name in districts:
        code = resolve_district(name, district_table).code
        if code not in codes:
            codes.append(code)
    return codes


def dwellings_frame(found: pd.DataFrame, year: int) -> tuple[pd.DataFrame, str]:
    """Dwelling stock per region for ``year`` (``found``: the denominators read by
    :func:`veiligheidsbeeld.warehouse.queries.denominators`, possibly of the last published year
    before it) and a Dutch label saying which year and table. Empty when there are none."""
    from veiligheidsbeeld.warehouse.geography import STATUS_LATEST

    found = found[found["value"].notna()]
    frame = pd.DataFrame(
        {
            "region_code": found["region_code"].astype(str),
            "dwellings": found["value"].astype("float64"),
            "year": found["year_used"].astype("Int64"),
        }
    )
    if frame.empty:
        return frame, ""
    years = sorted({int(y) for y in frame["year"].dropna()})
    tables = sorted({str(t) for t in found["source_table"].dropna()})
    label = f"woningvoorraad op 1 januari {', '.join(map(str, years))} (CBS {', '.join(tables)})"
    if (found["status"] == STATUS_LATEST).any():
        label += f"; voor {year} nog niet gepubliceerd, dus het laatst beschikbare jaar"
    return frame.reset_index(drop=True), label


def build_biweekly(inputs: BiweeklyInputs) -> BiweeklyAnalysis:
    """The biweekly analysis over what :func:`veiligheidsbeeld.warehouse.queries.biweekly_inputs`
    read (the report date, districts and period are resolved there)."""
    from veiligheidsbeeld.analysis.findings import validation_warnings

    table = inputs.district_table
    district_of = dict(zip(table["gemeente_code"], table["district_code"], strict=True))
    dwellings, label = dwellings_frame(inputs.dwellings, inputs.period.latest_month.year)
    checked = validation_warnings(inputs.checked, district_of)
    analysis = analyse(
        inputs.facts,
        inputs.regions,
        table,
        dwellings,
        period=inputs.period,
        options=inputs.options,
        stats=inputs.settings.statistiek,
        info=inputs.info,
        district_infos=inputs.district_infos,
        district_codes=inputs.district_codes,
        dwellings_label=label,
        level_counts=inputs.level_counts,
        area_counts=inputs.area_counts,
    )
    return dataclasses.replace(analysis, warnings=tuple(_dedupe([*analysis.warnings, *checked])))
