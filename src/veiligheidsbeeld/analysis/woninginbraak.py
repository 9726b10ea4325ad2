"""The biweekly woninginbraak analysis (tweewekelijkse woninginbraakanalyse).

Every two weeks each district gets: woninginbraak (47022NED, code ``1.1.1``) per gemeente,
district and eenheid over five standard comparisons (Poisson tests, only significant changes
flagged), a funnel plot of the gemeenten (per 1,000 dwellings), a control chart per gemeente,
top lists of wijken and buurten (rolling 12 months) and a High Impact Crime overview.

The functions here are pure: tidy DataFrames in, DataFrames plus metadata out. Only
:func:`build_biweekly` reads the warehouse. Conventions that keep the figures honest:

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
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Literal

import duckdb
import numpy as np
import pandas as pd

from veiligheidsbeeld.analysis.periods import (
    Comparison,
    Period,
    add_months,
    latest_complete_month,
    standard_comparisons,
)
from veiligheidsbeeld.analysis.rates import rate_ci, rate_per
from veiligheidsbeeld.analysis.stats import ControlChart, compare_frame, control_chart, funnel_classify
from veiligheidsbeeld.config import TweewekelijksSettings
from veiligheidsbeeld.errors import ConfigError, DataError
from veiligheidsbeeld.formatting import fmt_date, fmt_month
from veiligheidsbeeld.warehouse.queries import DataInfo

if TYPE_CHECKING:
    import duckdb

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
#: Columns of the monthly frame.
MONTHLY_COLUMNS = ("region_code", "group", "month", "count", "count_known", "n_suppressed", "n_missing")


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
    return _with_count(out)


def _with_count(frame: pd.DataFrame) -> pd.DataFrame:
    """``count`` = ``count_known`` where nothing is missing or suppressed, else NaN."""
    frame = frame.astype({"count_known": "float64", "n_suppressed": "int64", "n_missing": "int64"})
    complete = (frame["n_suppressed"] == 0) & (frame["n_missing"] == 0)
    frame["count"] = frame["count_known"].where(complete)
    return frame.loc[:, list(MONTHLY_COLUMNS)]


def aggregate(monthly: pd.DataFrame, parent_of: Mapping[str, str]) -> pd.DataFrame:
    """Sum the regions of ``monthly`` into their parents (gemeenten into a district, ...).

    A parent's month is NaN when any child month is incomplete; ``count_known`` keeps the part
    that is known. Regions not in ``parent_of`` are left out.
    """
    frame = monthly[monthly["region_code"].isin(list(parent_of))].copy()
    frame["region_code"] = frame["region_code"].map(parent_of)
    out = (
        frame.groupby(["region_code", "group", "month"], sort=False)
        .agg(count_known=("count_known", "sum"), n_suppressed=("n_suppressed", "sum"), n_missing=("n_missing", "sum"))
        .reset_index()
    )
    return _with_count(out)


# --------------------------------------------------------------------------------------------
# Periods and comparisons
# --------------------------------------------------------------------------------------------


def period_totals(monthly: pd.DataFrame, period: Period) -> pd.DataFrame:
    """Total per region and group over ``period``: ``count`` (NaN when incomplete),
    ``count_known``, ``n_suppressed``, ``n_missing`` (incl. months outside the monthly grid)."""
    months = period.months()
    rows = monthly[monthly["month"].isin(months)]
    out = (
        rows.groupby(["region_code", "group"], sort=False)
        .agg(
            count_known=("count_known", "sum"),
            n_suppressed=("n_suppressed", "sum"),
            n_missing=("n_missing", "sum"),
            n_months=("month", "nunique"),
        )
        .reset_index()
    )
    # Months the grid does not cover at all count as missing.
    out["n_missing"] = out["n_missing"] + (len(months) - out["n_months"])
    return _with_count(out.drop(columns="n_months").assign(month=period.start)).drop(columns="month")


def _exposure(period: Period) -> float:
    # Same calendar months on both sides: compare counts as they are (exposure = months).
    # Finer periods (14 days) use days, so the same code serves incident-level sources later.
    return float(period.n_months) if period.is_month_aligned else float(period.days)


def compare_periods(
    monthly: pd.DataFrame,
    comparisons: Sequence[Comparison],
    *,
    alpha: float = 0.05,
    method: str = "etest",
) -> pd.DataFrame:
    """Every region × group × comparison: current and previous totals with the Poisson test.

    Columns: ``region_code``, ``group``, ``comparison``, ``comparison_label``, ``current_period``,
    ``previous_period``, ``current``, ``previous`` (NaN when incomplete), ``current_known``,
    ``previous_known``, ``incomplete``, and the columns of
    :func:`~veiligheidsbeeld.analysis.stats.compare_frame` (``difference``, ``pct_change`` in
    percent, ``p_value``, ``significant``, ``direction``, ...). Incomplete periods are not tested.
    """
    frames = []
    for comp in comparisons:
        cur = period_totals(monthly, comp.current)
        prev = period_totals(monthly, comp.previous)
        both = cur.merge(prev, on=["region_code", "group"], suffixes=("_cur", "_prev"), how="outer")
        frame = pd.DataFrame(
            {
                "region_code": both["region_code"],
                "group": both["group"],
                "comparison": comp.key,
                "comparison_label": comp.label_nl,
                "current_period": comp.current.label,
                "previous_period": comp.previous.label,
                "current": both["count_cur"],
                "previous": both["count_prev"],
                "current_known": both["count_known_cur"],
                "previous_known": both["count_known_prev"],
                "incomplete": both["count_cur"].isna() | both["count_prev"].isna(),
            }
        )
        frames.append(
            compare_frame(
                frame,
                "current",
                "previous",
                exposure_current=_exposure(comp.current),
                exposure_previous=_exposure(comp.previous),
                alpha=alpha,
                method=method,  # type: ignore[arg-type]
            )
        )
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True)


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


def funnel_table(counts: pd.Series, dwellings: pd.Series, *, district_code: str = "", per: float = 1000) -> Funnel:
    """Gemeenten in a funnel around the district rate.

    ``counts`` and ``dwellings`` are indexed by region code. The target is the pooled district
    rate over the gemeenten whose count and dwelling stock are both known; each gemeente gets
    its rate, exact 95% interval and place (:func:`funnel_classify`, 95% and 99.8% limits).
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
        frame["funnel"] = funnel_classify(frame["count"], frame["dwellings"], target, per)
    frame.index.name = "region_code"
    return Funnel(district_code, target, per, frame.reset_index(), int((~usable).sum()))


def gemeente_control_charts(
    monthly: pd.DataFrame,
    latest: date,
    *,
    months: int = 36,
    baseline_months: int = 24,
) -> tuple[dict[str, ControlChart], dict[str, str]]:
    """A Poisson c-chart per region of ``monthly`` (one group) over the last ``months`` months.

    The centre line is the mean of the first ``baseline_months`` months of the window, so the
    most recent months are judged against the period before them. Returns the charts and, per
    region without a chart, the Dutch reason.
    """
    window = month_grid(add_months(latest, -(months - 1)), latest)
    baseline = slice(window[0], window[min(baseline_months, len(window)) - 1])
    charts: dict[str, ControlChart] = {}
    reasons: dict[str, str] = {}
    for code, rows in monthly[monthly["month"].isin(window)].groupby("region_code", sort=True):
        series = rows.set_index("month")["count"].reindex(window)
        known_baseline = series.loc[baseline].notna().sum()
        if known_baseline < 12:
            reasons[str(code)] = (
                f"te weinig maanden met gegevens voor een regelkaart ({known_baseline} van {baseline_months})"
            )
            continue
        charts[str(code)] = control_chart(series, baseline=baseline)
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

    report_date: date
    latest_month: date
    options: TweewekelijksSettings
    comparisons: tuple[Comparison, ...]
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

    # -- lookups -----------------------------------------------------------------------------

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

    def name_of(self, code: str) -> str:
        hit = self.regions.loc[self.regions["region_code"] == code, "name"]
        return str(hit.iloc[0]) if len(hit) else code

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


def needed_first_month(latest: date, options: TweewekelijksSettings, comparisons: Sequence[Comparison]) -> date:
    """The first month any part of the analysis looks at."""
    candidates = [
        date(latest.year - options.series_years, 1, 1),
        add_months(latest, -(options.control_chart_months - 1)),
        *(c.previous.start for c in comparisons),
    ]
    return min(candidates)


def analyse(
    facts: pd.DataFrame,
    regions: pd.DataFrame,
    district_table: pd.DataFrame,
    dwellings: pd.DataFrame,
    *,
    report_date: date,
    latest_month: date,
    options: TweewekelijksSettings,
    info: DataInfo,
    district_infos: Mapping[str, DataInfo] | None = None,
    district_codes: Sequence[str] | None = None,
    dwellings_label: str = "",
) -> BiweeklyAnalysis:
    """The whole analysis from frames (no warehouse access).

    ``facts``: tidy monthly facts of all codes of ``options.groups()`` for the gemeenten of the
    eenheid and the wijken/buurten of the districts analysed. ``regions``: warehouse regions
    (``code``, ``name``, ``level``, ``gemeente_code``, ``wijk_code``). ``district_table``: as
    :func:`~veiligheidsbeeld.regions.load_district_table`. ``dwellings``: ``region_code``,
    ``dwellings``, ``year`` (one row per region). ``district_codes``: the districts that get a
    report (default all); the eenheid totals always cover every gemeente of the eenheid.
    """
    from veiligheidsbeeld.regions import districts_of

    options = options.validate()
    comparisons = tuple(
        standard_comparisons(
            latest_month, season_start_month=options.season_start_month, season_end_month=options.season_end_month
        )
    )
    first = needed_first_month(latest_month, options, comparisons)
    months = month_grid(first, latest_month)
    groups = options.groups()
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
    gemeenten = list(district_table["gemeente_code"])
    gm_monthly = group_counts(facts, groups, gemeenten, months)
    district_monthly = aggregate(gm_monthly, district_of)
    eenheid_monthly = aggregate(gm_monthly, {g: eenheid_code for g in gemeenten})
    areas = list(sub["region_code"])
    area_monthly = group_counts(facts, {options.crime_label: groups[options.crime_label]}, areas, months)
    monthly = pd.concat([eenheid_monthly, district_monthly, gm_monthly, area_monthly], ignore_index=True)

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
    if present_months:
        absent_months = [m for m in months if m not in present_months and m >= min(present_months)]
        before = [m for m in months if m < min(present_months)]
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
    suppressed = monthly.loc[(monthly["n_suppressed"] > 0) & monthly["region_code"].isin(gemeenten)]
    if len(suppressed):
        warnings.append(
            ReportWarning(
                f"{len(suppressed)} gemeentelijke maandcijfers bevatten onderdrukte cellen (niet gepubliceerd). "
                "Die tellen niet als 0: totalen met zo'n maand zijn onvolledig en worden niet getoetst.",
                kind="suppressed", importance=3,
            )
        )

    # --- comparisons ------------------------------------------------------------------------
    levels = dict(zip(region_frame["region_code"], region_frame["level"], strict=True))
    top_rows = monthly[monthly["region_code"].isin(set(top["region_code"]))]
    changes_top = compare_periods(top_rows, comparisons, alpha=options.alpha, method=options.test_method)
    rolling = next(c for c in comparisons if c.key == ROLLING_12)
    changes_area = compare_periods(area_monthly, [rolling], alpha=options.alpha, method=options.test_method)
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
    funnels = {
        d.code: funnel_table(rolling_gm.reindex(list(d.gemeente_codes)), dwell, district_code=d.code, per=options.per)
        for d in districts
    }
    crime_gm = gm_monthly[
        (gm_monthly["group"] == options.crime_label) & gm_monthly["region_code"].map(district_of).isin(wanted)
    ]
    charts, chart_notes = gemeente_control_charts(
        crime_gm,
        latest_month,
        months=options.control_chart_months,
        baseline_months=options.control_chart_baseline_months,
    )
    area_changes = changes_area.merge(sub[["region_code", "name", "level", "gemeente_code"]], on="region_code")
    tops = top_areas(
        area_changes, dwell, min_dwellings=options.buurt_min_dwellings, top_n=options.top_n, per=options.per
    )

    return BiweeklyAnalysis(
        report_date=report_date,
        latest_month=latest_month,
        options=options,
        comparisons=comparisons,
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


def read_dwellings(
    con: duckdb.DuckDBPyConnection, region_codes: Sequence[str], year: int, measure: str = "woningen"
) -> tuple[pd.DataFrame, str]:
    """Dwelling stock per region for ``year`` (or the last published year before it) and a Dutch
    label saying which year and table. Empty when the warehouse has no denominators."""
    import duckdb

    from veiligheidsbeeld.warehouse.geography import STATUS_LATEST, denominator_for

    try:
        found = denominator_for(con, region_codes, year, measure)
    except duckdb.CatalogException:
        return pd.DataFrame(columns=["region_code", "dwellings", "year"]), ""
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


def build_biweekly(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    report_date: date | None = None,
    districts: Sequence[str] | None = None,
    *,
    options: TweewekelijksSettings | None = None,
    today: date | None = None,
) -> BiweeklyAnalysis:
    """The biweekly analysis from the warehouse for ``report_date`` (default today).

    ``districts``: names or codes of the districts that get a report (default all of the
    eenheid). The latest complete month before ``report_date`` in the data is the end of every
    comparison.
    """
    from veiligheidsbeeld.regions import load_district_table
    from veiligheidsbeeld.warehouse.queries import data_info, monthly_counts, regions

    options = (options or options_from(settings)).validate()
    report_date = report_date or date.today()
    district_table = load_district_table(settings.area)
    wanted = select_districts(district_table, districts)
    gemeenten = list(district_table["gemeente_code"])
    table_id = options.table_id

    coverage = data_info(con, table_id, region_codes=gemeenten)
    if coverage.first_month is None or coverage.last_month is None:
        raise DataError(
            f"Er staan geen gegevens van tabel {table_id} voor de gemeenten van eenheid "
            f"{settings.area.eenheid_naam} in het warehouse. Draai eerst 'veiligheidsbeeld ingest'."
        )
    present = [
        m for m in month_grid(coverage.first_month, coverage.last_month) if m not in set(coverage.missing_months)
    ]
    latest = latest_complete_month(report_date, present, today=today)

    groups = options.groups()
    offence_types = con.execute("SELECT code, is_rollup FROM offence_types WHERE table_id = $t", {"t": table_id}).df()
    check_leaf_codes(groups, offence_types)
    codes = [c for group in groups.values() for c in group]

    comparisons = standard_comparisons(
        latest, season_start_month=options.season_start_month, season_end_month=options.season_end_month
    )
    first = needed_first_month(latest, options, comparisons)
    all_regions = regions(con)
    district_of = dict(zip(district_table["gemeente_code"], district_table["district_code"], strict=True))
    wanted_set = set(wanted) if wanted is not None else set(district_table["district_code"])
    areas = all_regions[
        all_regions["level"].isin(["WK", "BU"]) & all_regions["gemeente_code"].map(district_of).isin(wanted_set)
    ]
    area_codes = list(areas["code"])
    facts = monthly_counts(
        con, table_id, region_codes=gemeenten + area_codes, type_codes=codes, first=first, last=latest
    )
    # Only the crime itself is analysed per wijk and buurt; HIC rows stay at gemeente level.
    facts = facts[facts["region_code"].str.startswith("GM") | facts["type_code"].isin(groups[options.crime_label])]

    def info_for(region_codes: Sequence[str]) -> DataInfo:
        return data_info(con, table_id, region_codes=region_codes, type_codes=codes, first=first, last=latest)

    info = info_for(gemeenten)
    district_infos = {}
    for code in sorted(wanted_set):
        members = [g for g, d in district_of.items() if d == code]
        member_areas = list(areas.loc[areas["gemeente_code"].isin(members), "code"])
        district_infos[code] = info_for(members + member_areas)
    dwellings, label = read_dwellings(con, gemeenten + area_codes, latest.year, options.dwellings_measure)
    checked = validation_banner(con, [table_id], district_of)
    analysis = analyse(
        facts,
        all_regions,
        district_table,
        dwellings,
        report_date=report_date,
        latest_month=latest,
        options=options,
        info=info,
        district_infos=district_infos,
        district_codes=wanted,
        dwellings_label=label,
    )
    return dataclasses.replace(analysis, warnings=tuple(_dedupe([*analysis.warnings, *checked])))


def validation_banner(con: duckdb.DuckDBPyConnection, table_ids: Sequence[str],
                      district_of: Mapping[str, str]) -> list[ReportWarning]:
    """The data checks of the last ingest: a BLOCKER stops the report (DataError); WARN findings
    become warnings with their kind, regions and months (see :mod:`veiligheidsbeeld.analysis.findings`);
    the report groups them (:mod:`veiligheidsbeeld.reports.banners`)."""
    from veiligheidsbeeld.analysis.findings import validation_warnings

    return validation_warnings(con, table_ids, district_of)
