"""The analysis engine: one place for the report period, the region hierarchy, the comparisons
and their flags. Every product — the biweekly reports, the annual analysis, the overlast
monitor and the flows' run summaries — takes its verdicts from here.

* :class:`ReportPeriod`: from a report date (one clock, Europe/Amsterdam) to the latest complete
  month, the comparisons (each shown once), the series, control-chart and history windows.
* :class:`RegionHierarchy`: gemeente → district → eenheid, built once from the district table;
  counts per level come from :meth:`RegionHierarchy.level_counts`.
* :func:`dispersion_table`: quasi-Poisson phi per region and group from the series' own history
  (a month against the same month a year earlier, before the compared months), pooled where
  counts are small.
* :func:`judge`: every comparison of a report through the one test
  (:func:`~veiligheidsbeeld.analysis.stats.compare_frame`, allowing for phi), then
  Benjamini–Hochberg over the report's family: a district report's gemeenten and the district
  itself × comparisons × groups; the eenheid on its own; the wijken and buurten per gemeente.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from veiligheidsbeeld.analysis.periods import (
    Comparison,
    Period,
    add_months,
    latest_complete_month,
    standard_comparisons,
)
from veiligheidsbeeld.analysis.stats import (
    compare_frame,
    fdr_adjust,
    seasonal_index,
    shrink_dispersion,
)
from veiligheidsbeeld.config import StatistiekSettings, TweewekelijksSettings

EENHEID, DISTRICT, GEMEENTE, WIJK, BUURT = "eenheid", "district", "gemeente", "wijk", "buurt"

#: When two comparisons cover the same months (year to date in December is the last 12 months;
#: the Donkere Dagen season in October is the month), the one earlier in this list is kept.
COMPARISON_PRIORITY = ("maand", "kwartaal", "12_maanden", "jaar_tot_nu", "donkere_dagen")


def unique_comparisons(comparisons: Sequence[Comparison]) -> tuple[Comparison, ...]:
    """The comparisons with every (current, previous) pair of months once, in their own order."""
    rank = {key: i for i, key in enumerate(COMPARISON_PRIORITY)}
    kept: dict[tuple[date, date, date, date], Comparison] = {}
    for comp in sorted(comparisons, key=lambda c: rank.get(c.key, len(rank))):
        span = (comp.current.start, comp.current.end, comp.previous.start, comp.previous.end)
        kept.setdefault(span, comp)
    chosen = set(id(c) for c in kept.values())
    return tuple(c for c in comparisons if id(c) in chosen)


# --------------------------------------------------------------------------------------------
# The report period
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportPeriod:
    """Everything a report's dates decide, resolved once.

    ``latest_month`` is the last complete month in the data before the report date; the
    comparisons end there. ``series_first`` starts the monthly series charts; ``chart_window``
    (its first ``chart_baseline`` months fit the level) is the control chart; ``judged`` are the
    months whose chart signals the report talks about; ``history_first`` the first month read
    for phi and the seasonal index.
    """

    report_date: date
    latest_month: date
    comparisons: tuple[Comparison, ...]
    series_first: date
    chart_window: Period
    chart_baseline: Period
    judged: Period
    history_first: date

    @classmethod
    def for_latest(
        cls, latest_month: date, options: TweewekelijksSettings, stats: StatistiekSettings,
        report_date: date | None = None,
    ) -> ReportPeriod:
        latest = date(latest_month.year, latest_month.month, 1)
        comparisons = unique_comparisons(standard_comparisons(
            latest, season_start_month=options.season_start_month, season_end_month=options.season_end_month))
        window = Period.month_range(add_months(latest, -(options.control_chart_months - 1)), latest)
        baseline = Period.month_range(window.start, add_months(window.start, options.control_chart_baseline_months - 1))
        judged = Period.month_range(add_months(latest, -(stats.judged_months - 1)), latest)
        return cls(
            report_date=report_date or add_months(latest, 1),
            latest_month=latest,
            comparisons=comparisons,
            series_first=date(latest.year - options.series_years, 1, 1),
            chart_window=window,
            chart_baseline=baseline,
            judged=judged,
            history_first=add_months(latest, -(12 * stats.history_years + 11)),
        )

    @classmethod
    def resolve(
        cls, report_date: date, available_months: Sequence[date], options: TweewekelijksSettings,
        stats: StatistiekSettings, *, today: date | None = None,
    ) -> ReportPeriod:
        """From a report date and the months in the warehouse (ConfigError for a date in the
        future, DataError when no month before it is complete)."""
        latest = latest_complete_month(report_date, available_months, today=today)
        return cls.for_latest(latest, options, stats, report_date)

    @property
    def shown_first(self) -> date:
        """The first month a report shows (series, control chart, comparisons)."""
        return min([self.series_first, self.chart_window.start, *(c.previous.start for c in self.comparisons)])

    @property
    def shown_months(self) -> set[date]:
        """Every month a figure of the report uses (comparisons, series, control chart): a
        finding about another month does not belong on the first screen."""
        return set(Period.month_range(self.shown_first, self.latest_month).months())

    @property
    def first_month(self) -> date:
        """The first month any part of the analysis reads (the history included)."""
        return min(self.history_first, self.shown_first)

    def comparison(self, key: str) -> Comparison:
        return next(c for c in self.comparisons if c.key == key)

    @property
    def dispersion_pairs(self) -> Period:
        """The months paired with the month a year earlier to estimate phi: the history before
        the last 12 months, so a change now does not hide itself by inflating phi."""
        return Period.month_range(add_months(self.history_first, 12), add_months(self.latest_month, -12))

    @property
    def season_history(self) -> Period:
        """The months the seasonal index is estimated from: before the judged months."""
        return Period.month_range(self.history_first, add_months(self.judged.start, -1))


# --------------------------------------------------------------------------------------------
# The region hierarchy
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RegionHierarchy:
    """Gemeente → district → eenheid, from the district table (built once per analysis)."""

    eenheid_code: str
    eenheid_naam: str
    district_of: Mapping[str, str]
    district_names: Mapping[str, str]
    gemeente_names: Mapping[str, str]

    @classmethod
    def from_table(cls, district_table: pd.DataFrame) -> RegionHierarchy:
        return cls(
            eenheid_code=str(district_table["eenheid_code"].iloc[0]),
            eenheid_naam=str(district_table["eenheid_naam"].iloc[0]),
            district_of=dict(zip(district_table["gemeente_code"], district_table["district_code"], strict=True)),
            district_names=dict(zip(district_table["district_code"], district_table["district_naam"], strict=False)),
            gemeente_names=dict(zip(district_table["gemeente_code"], district_table["gemeente_naam"], strict=True)),
        )

    @property
    def gemeenten(self) -> list[str]:
        return list(self.district_of)

    def level_counts(self, gemeente_monthly: pd.DataFrame) -> pd.DataFrame:
        """Monthly counts of the eenheid, every district and every gemeente, with ``level`` and
        ``district_code``. A parent's month is NaN when a child's is incomplete."""
        gm = gemeente_monthly[gemeente_monthly["region_code"].isin(self.gemeenten)]
        parts = [
            aggregate(gm, {g: self.eenheid_code for g in self.gemeenten}).assign(level=EENHEID, district_code=None),
            aggregate(gm, dict(self.district_of)).pipe(lambda f: f.assign(level=DISTRICT,
                                                                          district_code=f["region_code"])),
            gm.assign(level=GEMEENTE, district_code=gm["region_code"].map(self.district_of)),
        ]
        return pd.concat(parts, ignore_index=True)

    def with_district_codes(self, counts: pd.DataFrame) -> pd.DataFrame:
        """``counts`` of every level (``level`` column; as :meth:`level_counts` returns them, summed
        elsewhere) with the ``district_code`` column of :meth:`level_counts`."""
        codes = counts["region_code"].map(self.district_of).astype(object)
        codes = codes.where(counts["level"] != DISTRICT, counts["region_code"].astype(object))
        return counts.assign(district_code=codes.where(counts["level"] != EENHEID, None).astype(object))

    def family(self, region_code: str, level: str, gemeente_code: str | None = None) -> str:
        """The family whose false discovery rate a flag is controlled in: a district report's
        gemeenten with the district; the eenheid alone; the wijken and buurten of a gemeente."""
        if level == EENHEID:
            return self.eenheid_code
        if level == DISTRICT:
            return region_code
        if level == GEMEENTE:
            return self.district_of.get(region_code, region_code)
        return f"{gemeente_code}:gebieden"


# --------------------------------------------------------------------------------------------
# Overdispersion and seasonality
# --------------------------------------------------------------------------------------------


def dispersion_table(
    monthly: pd.DataFrame, pairs: Period, stats: StatistiekSettings, pool_key: pd.Series | None = None
) -> pd.DataFrame:
    """phi per region and group from (month, same month a year earlier) pairs whose later month
    lies in ``pairs``: each region's own mean Pearson statistic (c1 - c2)^2 / (c1 + c2), pulled
    towards its pool's (``pool_key``, aligned with ``monthly``; default one pool) by
    ``dispersion_prior_pairs``; never below 1. All 1 when overdispersion is switched off.

    The pool's value is not one number: extra variation of crime counts grows with their size
    (negative binomial: phi = 1 + mean / k), so the pool estimates 1 / k by moments,
    sum((c1 - c2)^2 - (c1 + c2)) / sum((c1 + c2)^2 / 2), and a region's pooled phi is
    1 + (its monthly mean) / k. A large gemeente is then not pulled down to a small one's phi.

    Columns: ``region_code``, ``group``, ``phi``, ``phi_own``, ``phi_pool``, ``n_pairs``.
    """
    keys = monthly.loc[:, ["region_code", "group"]].drop_duplicates()
    if not stats.overdispersion or monthly.empty:
        return keys.assign(phi=1.0, phi_own=np.nan, phi_pool=np.nan, n_pairs=0).reset_index(drop=True)
    frame = monthly.loc[:, ["region_code", "group", "month", "count"]].copy()
    frame["pool"] = pool_key.to_numpy() if pool_key is not None else "alle"
    later = frame[frame["month"].isin(pairs.months())]
    earlier = frame.assign(month=[add_months(m, 12) for m in frame["month"]])
    both = later.merge(earlier, on=["region_code", "group", "month", "pool"], suffixes=("", "_prev"))
    both["n"] = both["count"] + both["count_prev"]
    both = both[both["n"].notna() & (both["n"] > 0)]
    both = both.assign(x2=(both["count"] - both["count_prev"]) ** 2 / both["n"],
                       excess=(both["count"] - both["count_prev"]) ** 2 - both["n"], n2=both["n"] ** 2 / 2)
    own = both.groupby(["region_code", "group"], sort=False).agg(
        phi_own=("x2", "mean"), n_pairs=("x2", "size"), mean=("n", "mean"), pool=("pool", "first"))
    moments = both.groupby(["pool", "group"], sort=False)[["excess", "n2"]].sum()
    inv_k = (moments["excess"] / moments["n2"]).clip(lower=0.0).rename("inv_k")
    out = keys.merge(own.reset_index(), on=["region_code", "group"], how="left")
    out = out.merge(inv_k.reset_index(), on=["pool", "group"], how="left")
    out["n_pairs"] = out["n_pairs"].fillna(0).astype(int)
    out["phi_pool"] = 1.0 + out["inv_k"].fillna(0.0) * (out["mean"].fillna(0.0) / 2)
    out["phi"] = [
        shrink_dispersion(o, k, p, stats.dispersion_prior_pairs)
        for o, k, p in zip(out["phi_own"], out["n_pairs"], out["phi_pool"], strict=True)
    ]
    return out.loc[:, ["region_code", "group", "phi", "phi_own", "phi_pool", "n_pairs"]]


def seasonal_indices(monthly: pd.DataFrame, history: Period, stats: StatistiekSettings,
                     phi: Mapping[tuple[str, str], float] | None = None) -> dict[tuple[str, str], np.ndarray]:
    """Seasonal index (12 factors) per region and group of ``monthly`` from the months in
    ``history`` (see :func:`~veiligheidsbeeld.analysis.stats.seasonal_index`)."""
    rows = monthly[monthly["month"].isin(history.months())]
    out: dict[tuple[str, str], np.ndarray] = {}
    for (code, group), part in rows.groupby(["region_code", "group"], sort=False):
        series = part.set_index("month")["count"].sort_index()
        index, _ = seasonal_index(series, min_years=stats.seasonal_min_years,
                                  phi=(phi or {}).get((str(code), str(group)), 1.0))
        out[(str(code), str(group))] = index
    return out


# --------------------------------------------------------------------------------------------
# Comparisons and flags
# --------------------------------------------------------------------------------------------


def period_exposure(period: Period) -> float:
    # Same calendar months on both sides: compare counts as they are (exposure = months).
    # Finer periods (14 days) use days, so the same code serves incident-level sources.
    return float(period.n_months) if period.is_month_aligned else float(period.days)


#: Columns of the monthly frame.
MONTHLY_COLUMNS = ("region_code", "group", "month", "count", "count_known", "n_suppressed", "n_missing")


def with_count(frame: pd.DataFrame, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """The one count rule: ``count`` = ``count_known`` where no cell is suppressed
    (``n_suppressed``) or missing (``n_missing``), else NaN -- an incomplete sum is never a
    lower number. ``columns``: keep only these (in this order)."""
    frame = frame.astype({"count_known": "float64", "n_suppressed": "int64", "n_missing": "int64"})
    complete = (frame["n_suppressed"] == 0) & (frame["n_missing"] == 0)
    frame["count"] = frame["count_known"].where(complete)
    return frame if columns is None else frame.loc[:, list(columns)]


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
    return with_count(out, MONTHLY_COLUMNS)


def period_totals(monthly: pd.DataFrame, period: Period) -> pd.DataFrame:
    """Total per region and group over ``period``: ``count`` (NaN when incomplete),
    ``count_known``, ``n_suppressed``, ``n_missing`` (incl. months outside the monthly grid)."""
    months = period.months()
    rows = monthly[monthly["month"].isin(months)]
    out = (
        rows.groupby(["region_code", "group"], sort=False)
        .agg(count_known=("count_known", "sum"), n_suppressed=("n_suppressed", "sum"),
             n_missing=("n_missing", "sum"), n_months=("month", "nunique"))
        .reset_index()
    )
    out["n_missing"] = out["n_missing"] + (len(months) - out["n_months"])
    return with_count(out).drop(columns="n_months")


def compare(
    monthly: pd.DataFrame, comparisons: Sequence[Comparison], stats: StatistiekSettings,
    phi: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Every region × group × comparison of ``monthly``: totals and the one test, allowing for
    phi (``phi``: :func:`dispersion_table`; missing: 1). ``significant`` here is the single
    test at alpha; :func:`judge` replaces it by the flag after FDR control.

    Columns: ``region_code``, ``group``, ``comparison``, ``comparison_label``,
    ``current_period``, ``previous_period``, ``current``, ``previous`` (NaN when incomplete),
    ``current_known``, ``previous_known``, ``incomplete``, and those of
    :func:`~veiligheidsbeeld.analysis.stats.compare_frame`.
    """
    frames = []
    for comp in comparisons:
        cur = period_totals(monthly, comp.current)
        prev = period_totals(monthly, comp.previous)
        both = cur.merge(prev, on=["region_code", "group"], suffixes=("_cur", "_prev"), how="outer")
        frame = pd.DataFrame({
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
        })
        if phi is not None and len(phi):
            frame = frame.merge(phi.loc[:, ["region_code", "group", "phi"]], on=["region_code", "group"], how="left")
        else:
            frame["phi"] = 1.0
        frame["phi"] = frame["phi"].fillna(1.0)
        frames.append(compare_frame(
            frame, "current", "previous",
            exposure_current=period_exposure(comp.current), exposure_previous=period_exposure(comp.previous),
            phi="phi", alpha=stats.alpha,
        ))
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True)


def flag(changes: pd.DataFrame, family: pd.Series, stats: StatistiekSettings) -> pd.DataFrame:
    """Benjamini–Hochberg within each family: ``q_value`` (adjusted p), ``significant`` = q
    below ``fdr_q`` (the flag every report shows), ``family`` and ``family_tests`` (how many
    tests the family holds)."""
    out = changes.copy()
    out["family"] = family.to_numpy()
    out["q_value"] = np.nan
    for _, idx in out.groupby("family", sort=False).groups.items():
        out.loc[idx, "q_value"] = fdr_adjust(out.loc[idx, "p_value"].to_numpy(dtype="float64"))
    out["family_tests"] = out.groupby("family")["p_value"].transform("count").astype(int)
    out["significant"] = out["testable"].astype(bool) & (out["q_value"] < stats.fdr_q)
    return out


def judge(
    monthly: pd.DataFrame, comparisons: Sequence[Comparison], hierarchy: RegionHierarchy,
    stats: StatistiekSettings, *, dispersion_pairs: Period,
    groups_for: Mapping[str, Sequence[str]] | None = None,
) -> pd.DataFrame:
    """Compare and flag: ``monthly`` holds ``level``, ``district_code`` and (for wijken and
    buurten) ``gemeente_code`` next to the monthly columns. phi is estimated per region from
    ``dispersion_pairs``, pooled per family for gemeenten, wijken and buurten and per level for
    districts and the eenheid. ``groups_for``: per comparison key the groups it covers
    (default: every group)."""
    levels = monthly.drop_duplicates("region_code").set_index("region_code")
    gemeente_col = levels["gemeente_code"] if "gemeente_code" in levels else pd.Series(dtype="object")
    # Pool and family are properties of a region: decided once per region, then mapped onto the
    # rows (a Python call per monthly row cost seconds for the eenheid).
    pool_of = {
        code: (lvl if lvl in (EENHEID, DISTRICT) else hierarchy.family(code, lvl, gemeente_col.get(code)))
        for code, lvl in zip(levels.index, levels["level"], strict=True)
    }
    phi = dispersion_table(monthly, dispersion_pairs, stats, monthly["region_code"].map(pool_of))
    if groups_for is None:
        changes = compare(monthly, comparisons, stats, phi)
    else:
        changes = pd.concat(
            [compare(monthly[monthly["group"].isin(list(groups_for.get(c.key, ())))], [c], stats, phi)
             for c in comparisons], ignore_index=True)
    family_of = {
        code: hierarchy.family(code, lvl, gemeente_col.get(code) if len(gemeente_col) else None)
        for code, lvl in zip(levels.index, levels["level"], strict=True)
    }
    family = changes["region_code"].map(family_of)
    return flag(changes, family, stats)


def chance_flags_text(changes: pd.DataFrame, stats: StatistiekSettings) -> str:
    """What chance alone would give in a report with these tests (Dutch)."""
    from veiligheidsbeeld.formatting import fmt_int, fmt_num

    n = int(changes["p_value"].notna().sum()) if len(changes) else 0
    q = fmt_num(100 * stats.fdr_q, 0)
    raw = n * stats.alpha
    return (
        f"Dit rapport toetst {fmt_int(n)} vergelijkingen. Zonder correctie zou toeval alleen al ongeveer "
        f"{fmt_num(raw, 0)} daarvan als 'significant' aanwijzen (1 op {fmt_int(round(1 / stats.alpha))} per toets). "
        f"Daarom wordt de false discovery rate beheerst (Benjamini–Hochberg, q = {q}%) binnen elke groep "
        f"vergelijkingen: een district met zijn gemeenten, de eenheid, de wijken en buurten van één gemeente. Van de "
        f"gemarkeerde veranderingen is naar verwachting hooguit {q}% toeval, en als er in zo'n groep niets verandert, "
        f"is de kans op zelfs maar één markering daarin hooguit {q}%."
    )


@dataclass(frozen=True)
class MethodsText:
    """The Dutch methods paragraphs every report prints, computed from the settings and the tests
    the report actually made (templates only print them)."""

    test: str
    chance: str
    control_chart: str
    funnel: str


def methods_text(changes: pd.DataFrame, stats: StatistiekSettings, *, funnel_phi: float = 1.0,
                 chart_months: int = 36, baseline_months: int = 24) -> MethodsText:
    from veiligheidsbeeld.formatting import fmt_num

    test = (
        "Elke verandering is getoetst met één en dezelfde toets: de conditionele toets op de verdeling van het "
        "totaal over de twee perioden (tweezijdig, mid-p). Misdaadcijfers schommelen meer dan Poisson: per reeks "
        "is die extra schommeling (overdispersie φ) geschat uit de eigen geschiedenis — elke maand tegen dezelfde "
        "maand een jaar eerder, vóór de vergeleken periode — en bij kleine aantallen aangevuld met die van de andere "
        "gemeenten in het district; de toets en het betrouwbaarheidsinterval houden er rekening mee."
        if stats.overdispersion else
        "Elke verandering is getoetst met de conditionele toets op de verdeling van het totaal over de twee "
        "perioden (tweezijdig, mid-p), onder de aanname dat de aantallen Poisson-verdeeld zijn (overdispersie "
        "uitgeschakeld in de instellingen)."
    )
    chart = (
        f"De regelkaart vergelijkt elke maand met haar verwachte waarde: het niveau van de gemeente (geschat uit de "
        f"eerste {baseline_months} van de {chart_months} maanden) maal het seizoenspatroon van de eenheid (geschat "
        f"uit ten minste {stats.seasonal_min_years} volledige jaren vóór de beoordeelde maanden, naar een vlak patroon "
        f"getrokken waar de aantallen klein zijn). Grenzen: verwacht ± {fmt_num(stats.control_sigma, 0)}·√(φ·verwacht), "
        f"waarschuwingslijnen op 2·√(φ·verwacht). Signalen (een punt buiten de grens, 2 van 3 punten buiten dezelfde "
        f"waarschuwingslijn, 8 punten op rij boven of onder de verwachting, 6 punten op rij steeds verder erboven of "
        f"eronder) tellen alleen in de laatste {stats.judged_months} maanden, waarover dit rapport gaat. Wat de kaart "
        f"niet kan: bij een kleine verwachte waarde is de ondergrens 0, zodat een daling dan geen signaal kan geven; "
        f"een geleidelijke verschuiving die al in de basisperiode begon, ziet de kaart niet."
    )
    funnel = (
        "De grenzen zijn exacte Poisson-kwantielen rond het districtsgemiddelde (Spiegelhalter). "
        + (f"De gemeenten spreiden samen meer dan Poisson (overdispersie φ = {fmt_num(funnel_phi, 2)}, geschat uit "
           "de gewinsoriseerde z-scores van alle gemeenten): de grenzen zijn daarom √φ keer zo ver van het gemiddelde "
           "gelegd (Spiegelhalter 2005)." if funnel_phi > 1 else
           "De gemeenten spreiden samen niet aantoonbaar meer dan Poisson, dus de grenzen zijn niet verbreed.")
    )
    return MethodsText(test=test, chance=chance_flags_text(changes, stats), control_chart=chart, funnel=funnel)
