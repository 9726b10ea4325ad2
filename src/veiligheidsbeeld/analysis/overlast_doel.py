"""The overlast target monitor: registered overlast against a base year, with a glide path.

The strategy sets targets as a reduction of registered overlast (police table 47024NED) against a
base year: 20% fewer registrations in 2018 than in 2013, with a milestone of 10% fewer in 2016.
The targets are configuration (``[doel_overlast]``, :class:`~veiligheidsbeeld.config.OverlastTargetSettings`),
so a new strategy period is a settings change only; the test uses ``[statistiek]`` (alpha, overdispersion).

For every region (land, eenheid, district, gemeente), category (the total ``0.0.0`` and each
overlast category) and period (each complete calendar year from the base year on, and the latest
12 months) the monitor gives the count, the index (base year = 100), the realised reduction, the
share of the target achieved, the glide path ("koerslijn") from the baseline to the target, the
rate ratio against the baseline with its interval (level 1 - [statistiek] alpha), the one-sided
Poisson test against the norm of the period, and a plain status (gehaald / niet gehaald, op koers / niet op koers).

Counts are summed from the monthly facts. A year counts only when all its months are present and
published; a suppressed or missing month makes the count unknown (never 0). A gemeente without a
usable baseline is flagged explicitly and left out of the district and eenheid totals (with a
note naming it); a base year without data is an error.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import date
from typing import Literal

import numpy as np
import pandas as pd

from veiligheidsbeeld.analysis.periods import add_months, month_label
from veiligheidsbeeld.analysis.stats import compare_arrays, conditional_tails, pearson_dispersion, shrink_dispersion
from veiligheidsbeeld.config import OverlastTargetSettings, Settings
from veiligheidsbeeld.constants import ALPHA, NATIONAL_CODE, NATIONAL_CODE_REGIOS, TOTAL_CODE
from veiligheidsbeeld.errors import ConfigError, DataError
from veiligheidsbeeld.formatting import fmt_int, fmt_num, fmt_pct
from veiligheidsbeeld.regions import (
    load_district_table,
    load_lineage,
    normalise_gemeente_code,
    resolve_district,
    resolve_gemeente,
    successor,
)
from veiligheidsbeeld.warehouse.queries import DataInfo, OverlastInputs


Level = Literal["land", "eenheid", "district", "gemeente"]
PeriodKind = Literal["jaar", "12 maanden"]
OutputFormat = Literal["table", "csv", "json"]
#: An aggregate names at most this many left-out gemeenten on a row (all are in the result's notes).
MAX_NAMED = 6

# Plain statuses (what a reader sees).
DOEL_GEHAALD = "doel gehaald"
DOEL_NIET_GEHAALD = "doel niet gehaald"
TUSSENDOEL_GEHAALD = "tussendoel gehaald"
TUSSENDOEL_NIET_GEHAALD = "tussendoel niet gehaald"
OP_KOERS = "op koers"
NIET_OP_KOERS = "niet op koers"
ONBEKEND = "onbekend"
BASISJAAR = "basisjaar"

AANTOONBAAR_ONDER = "aantoonbaar onder de norm"
AANTOONBAAR_BOVEN = "aantoonbaar boven de norm"
BINNEN_MARGE = "verschil met de norm valt binnen de toevalsmarge"


def target_settings_for(settings: Settings | None, target: OverlastTargetSettings | None = None) -> OverlastTargetSettings:
    """The explicit target, else the settings' ``[doel_overlast]`` section (default: the strategy's targets)."""
    if target is not None:
        return target
    return settings.doel_overlast if settings is not None else OverlastTargetSettings()


# --------------------------------------------------------------------------------------------
# Periods and regions
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MonitorPeriod:
    """A calendar year or the latest 12 months; months as first days."""

    kind: PeriodKind
    first_month: date
    last_month: date
    label: str

    @property
    def months(self) -> tuple[date, ...]:
        n = (self.last_month.year - self.first_month.year) * 12 + self.last_month.month - self.first_month.month + 1
        return tuple(add_months(self.first_month, i) for i in range(n))

    @property
    def position(self) -> float:
        """Where the period ends on the glide path: a calendar year Y ends at Y."""
        return self.last_month.year - 1 + self.last_month.month / 12

    @property
    def year(self) -> int | None:
        return self.first_month.year if self.kind == "jaar" else None


def year_period(year: int) -> MonitorPeriod:
    return MonitorPeriod("jaar", date(year, 1, 1), date(year, 12, 1), str(year))


def rolling_period(last_month: date) -> MonitorPeriod:
    first = add_months(last_month, -11)
    return MonitorPeriod("12 maanden", first, last_month, f"12 maanden t/m {month_label(last_month, last_month)}")


@dataclass(frozen=True)
class RegionUnit:
    """A region the monitor reports on, with the gemeenten (or NL00) it sums."""

    code: str
    name: str
    level: Level
    members: tuple[str, ...]
    parent: str = ""


def area_units(settings: Settings, district_table: pd.DataFrame | None = None) -> list[RegionUnit]:
    """Eenheid, its districts and its gemeenten (district table order)."""
    table = load_district_table(settings.area) if district_table is None else district_table
    units = [
        RegionUnit(
            settings.area.eenheid_code,
            str(table["eenheid_naam"].iloc[0]) if not table.empty else settings.area.eenheid_naam,
            "eenheid",
            tuple(table["gemeente_code"]),
        )
    ]
    for (code, naam), rows in table.groupby(["district_code", "district_naam"], sort=True):
        units.append(RegionUnit(str(code), str(naam), "district", tuple(rows["gemeente_code"]), settings.area.eenheid_code))
    for r in table.itertuples():
        units.append(RegionUnit(r.gemeente_code, r.gemeente_naam, "gemeente", (r.gemeente_code,), r.district_code))
    return units


def national_unit() -> RegionUnit:
    return RegionUnit(NATIONAL_CODE, "Nederland", "land", (NATIONAL_CODE,))


def resolve_units(settings: Settings, region: str | None, *, with_gemeenten: bool = False,
                  district_table: pd.DataFrame | None = None) -> list[RegionUnit]:
    """The units for ``region``: None or the eenheid -> eenheid and districts (and gemeenten when
    asked); a district (code, number or name) -> the district and its gemeenten; a gemeente (code or
    name) -> itself; NL00/NL/Nederland -> the land."""
    table = load_district_table(settings.area) if district_table is None else district_table
    units = area_units(settings, table)
    eenheid = units[0]
    wanted = (region or "").strip()
    if not wanted or wanted.upper() == eenheid.code.upper() or wanted.lower() == eenheid.name.lower():
        return [u for u in units if u.level in ("eenheid", "district") or (with_gemeenten and u.level == "gemeente")]
    if wanted.upper() in ("NL", NATIONAL_CODE, NATIONAL_CODE_REGIOS, "NEDERLAND"):
        return [national_unit()]
    try:
        district = resolve_district(wanted, table)
    except ConfigError:
        pass
    else:
        return [u for u in units if (u.level == "district" and u.code == district.code)
                or (u.level == "gemeente" and u.parent == district.code)]
    try:
        gemeente = resolve_gemeente(wanted, table)
    except ConfigError:
        if normalise_gemeente_code(wanted) is not None:
            raise  # its message names the gemeenten (and where an old code went)
        districts = "; ".join(f"{u.code} {u.name}" for u in units if u.level == "district")
        raise ConfigError(
            f"Onbekende regio '{region}'. Kies NL00 (Nederland), {eenheid.code} ({eenheid.name}), een district "
            f"({districts}) of een gemeente van de eenheid (code of naam)."
        ) from None
    return [u for u in units if u.level == "gemeente" and u.code == gemeente.code]


# --------------------------------------------------------------------------------------------
# Counts per region, category and period
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodCount:
    """A count over a period, or None with the reason it is unknown."""

    count: int | None
    provisional: bool
    reason: str | None = None


def period_counts(facts: pd.DataFrame, periods: Sequence[MonitorPeriod]) -> dict[tuple[str, str, str], PeriodCount]:
    """(region_code, type_code, period label) -> count summed over the period's months.

    A count is known only when every month of the period is present and published: a suppressed
    or absent month makes it unknown (never 0).
    """
    out: dict[tuple[str, str, str], PeriodCount] = {}
    if facts.empty:
        return out
    for period in periods:
        months = set(period.months)
        sel = facts[facts["month"].isin(months)]
        if sel.empty:
            continue
        g = sel.groupby(["region_code", "type_code"], sort=False).agg(
            total=("count", lambda s: s.sum(min_count=1)),
            n_months=("month", "nunique"),
            n_suppressed=("suppressed", "sum"),
            provisional=("provisional", "any"),
        )
        for (region, code), r in g.iterrows():
            reason = None
            if r.n_suppressed:
                reason = f"{int(r.n_suppressed)} maand(en) onderdrukt"
            elif r.n_months < len(months):
                reason = f"{len(months) - int(r.n_months)} maand(en) ontbreken"
            value = None if reason or pd.isna(r.total) else int(r.total)
            out[(str(region), str(code), period.label)] = PeriodCount(value, bool(r.provisional), reason)
    return out


# --------------------------------------------------------------------------------------------
# Result
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MonitorRow:
    """One region, category and period of the monitor."""

    region_code: str
    region_name: str
    level: Level
    parent: str
    category: str
    category_name: str
    period: str
    period_kind: PeriodKind
    first_month: date
    last_month: date
    count: int | None
    baseline: int | None
    index: float | None
    reduction: float | None
    target_share: float | None
    norm: str
    norm_index: float
    norm_count: float | None
    rate_ratio: float | None
    ci_lower: float | None
    ci_upper: float | None
    p_change: float | None
    p_below_norm: float | None
    p_above_norm: float | None
    met: bool | None
    status: str
    certainty: str
    provisional: bool
    flags: tuple[str, ...] = ()


#: Dutch column names of the export (CSV, JSON, Excel), in order.
EXPORT_COLUMNS: dict[str, str] = {
    "region_code": "regiocode",
    "region_name": "regio",
    "level": "niveau",
    "parent": "hoort_bij",
    "category": "categorie",
    "category_name": "categorie_naam",
    "period": "periode",
    "period_kind": "soort_periode",
    "first_month": "eerste_maand",
    "last_month": "laatste_maand",
    "count": "aantal",
    "baseline": "basisjaar_aantal",
    "index": "index_basisjaar_100",
    "reduction": "gerealiseerde_reductie",
    "target_share": "deel_van_doel_bereikt",
    "norm": "norm",
    "norm_index": "norm_index",
    "norm_count": "norm_aantal",
    "rate_ratio": "ratio_tov_basisjaar",
    "ci_lower": "ratio_95_ondergrens",
    "ci_upper": "ratio_95_bovengrens",
    "p_change": "p_verschil_basisjaar",
    "p_below_norm": "p_onder_norm",
    "p_above_norm": "p_boven_norm",
    "met": "norm_gehaald",
    "status": "status",
    "certainty": "zekerheid",
    "provisional": "voorlopig",
    "flags": "opmerkingen",
}


@dataclass(frozen=True)
class MonitorResult:
    """The monitor for a set of regions: rows, the target, the periods and the data's metadata."""

    target: OverlastTargetSettings
    rows: tuple[MonitorRow, ...]
    periods: tuple[MonitorPeriod, ...]
    info: DataInfo
    last_month: date
    units: tuple[RegionUnit, ...]
    #: Gemeenten (or NL00) of the reported regions without a usable baseline in at least one
    #: reported category (which ones: see ``notes`` and the rows' flags).
    missing_baseline: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)
    #: The level of the tests (``[statistiek] alpha``).
    alpha: float = ALPHA

    def to_frame(self) -> pd.DataFrame:
        """One row per region, category and period; English column names (see :data:`EXPORT_COLUMNS`)."""
        names = [f.name for f in fields(MonitorRow)]
        frame = pd.DataFrame([asdict(r) for r in self.rows], columns=names)
        for col in ("count", "baseline"):
            frame[col] = frame[col].astype("Int64")
        for col in ("index", "reduction", "target_share", "norm_count", "rate_ratio", "ci_lower", "ci_upper",
                    "p_change", "p_below_norm", "p_above_norm"):
            frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("float64")
        frame["met"] = frame["met"].astype("boolean")
        return frame

    def export_frame(self) -> pd.DataFrame:
        """:meth:`to_frame` with Dutch column names and the notes joined by '; ' (for CSV/Excel/JSON)."""
        frame = self.to_frame()
        frame["flags"] = frame["flags"].map(lambda f: "; ".join(f))
        # The interval columns name their level, 1 - alpha (95 by default).
        level = f"{100 * (1 - self.alpha):g}"
        return frame.rename(columns={**EXPORT_COLUMNS, "ci_lower": f"ratio_{level}_ondergrens",
                                     "ci_upper": f"ratio_{level}_bovengrens"})

    def select(self, region: str | None = None, category: str | None = None,
               period_kind: PeriodKind | None = None) -> list[MonitorRow]:
        return [
            r for r in self.rows
            if (region is None or r.region_code == region)
            and (category is None or r.category == category)
            and (period_kind is None or r.period_kind == period_kind)
        ]

    def row(self, region: str, category: str, period: str) -> MonitorRow:
        for r in self.rows:
            if r.region_code == region and r.category == category and r.period == period:
                return r
        raise KeyError((region, category, period))

    def source_line(self) -> str:
        return self.info.source_line()


# --------------------------------------------------------------------------------------------
# The monitor
# --------------------------------------------------------------------------------------------


def complete_years(months: Iterable[date]) -> list[int]:
    """Years with all twelve months present."""
    by_year: dict[int, set[int]] = {}
    for m in months:
        by_year.setdefault(m.year, set()).add(m.month)
    return sorted(y for y, ms in by_year.items() if len(ms) == 12)


def check_base_year(months: Sequence[date], target: OverlastTargetSettings) -> None:
    """A base year without (complete) data is an error naming the year."""
    base = target.base_year
    present = sorted(m for m in months if m.year == base)
    span = f"{months[0]:%Y-%m} t/m {months[-1]:%Y-%m}" if months else "geen enkele maand"
    if not present:
        raise DataError(
            f"Het basisjaar {base} heeft geen gegevens in tabel {target.table_id} (beschikbaar: {span}). "
            f"Zonder basisjaar is er geen nulmeting: kies een ander basisjaar ([doel_overlast].base_year) "
            "of haal de ontbrekende jaren op met 'veiligheidsbeeld ingest'."
        )
    if len(present) < 12:
        absent = [f"{base}-{m:02d}" for m in range(1, 13) if date(base, m, 1) not in set(present)]
        raise DataError(
            f"Het basisjaar {base} is onvolledig in tabel {target.table_id}: maand(en) {', '.join(absent)} ontbreken. "
            "Een onvolledig basisjaar geeft een te lage nulmeting; vul de gegevens aan of kies een ander basisjaar."
        )


def _row_tests(rows: Sequence[tuple[int, int, float, float]], alpha: float
               ) -> list[tuple[float | None, float | None, float | None, float | None, float, float]]:
    """For (count, baseline, norm ratio, phi) of every tested row at once: the engine's change
    test (rate ratio, its interval, p) and the one-sided p-values of count / baseline against
    the norm ratio (smaller, larger), with overdispersion phi. The same numbers as a test per
    row, in one vectorised pass (the monitor has thousands of rows)."""
    if not rows:
        return []
    count, baseline, norm_ratio, phi = (np.array(column, dtype="float64") for column in zip(*rows))
    change = compare_arrays(count, baseline, phi=phi, alpha=alpha)
    below, above = conditional_tails(count, norm_ratio, baseline, np.ones(len(count)), phi)

    def value(v: float) -> float | None:
        return None if pd.isna(v) else float(v)

    return [
        (value(r), value(lo), value(hi), value(p), float(b), float(a))
        for r, lo, hi, p, b, a in zip(change["rate_ratio"], change["ci_lower"], change["ci_upper"],
                                      change["p_value"], below, above, strict=True)
    ]


def unit_dispersion(facts: pd.DataFrame, units: Sequence[RegionUnit], categories: Sequence[str],
                    prior_pairs: float = 24.0) -> dict[tuple[str, str], float]:
    """phi per unit and category from the unit's monthly totals (each month against the same
    month a year earlier), pulled towards the pooled phi of units of the same level."""
    own: dict[tuple[str, str], tuple[float, int]] = {}
    pooled: dict[tuple[str, str], list[float]] = {}
    for unit in units:
        rows = facts[facts["region_code"].isin(list(unit.members))]
        for code in categories:
            series = rows[rows["type_code"] == code].groupby("month")["count"].sum(min_count=1)
            shifted = series.copy()
            shifted.index = [date(m.year + 1, m.month, 1) for m in shifted.index]
            both = pd.concat([series.rename("cur"), shifted.rename("prev")], axis=1, join="inner")
            phi, n = pearson_dispersion(both["cur"].to_numpy(), both["prev"].to_numpy())
            own[(unit.code, code)] = (phi, n)
            if n:
                pooled.setdefault((unit.level, code), []).append(phi)
    level_of = {u.code: u.level for u in units}
    return {
        key: shrink_dispersion(phi, n, float(np.median(pooled.get((level_of[key[0]], key[1]), [1.0]))), prior_pairs)
        for key, (phi, n) in own.items()
    }


NormKind = Literal["basis", "doel", "tussendoel", "koers"]


def _norm_for(period: MonitorPeriod, target: OverlastTargetSettings) -> tuple[str, float, NormKind]:
    """(Dutch name of the norm, norm index, kind) for a period."""
    index = target.glide_index(period.position)
    if period.kind == "jaar" and period.year == target.base_year:
        return "basisjaar", 100.0, "basis"
    if period.position >= target.target_year:
        suffix = "" if period.kind == "jaar" and period.year == target.target_year else ", na doeljaar"
        return f"doel {target.target_year}{suffix}", index, "doel"
    milestone = target.milestone_for(period.year) if period.kind == "jaar" and period.year else None
    if milestone is not None:
        return f"tussendoel {milestone.year}", index, "tussendoel"
    return "koerslijn", index, "koers"


def _status(kind: NormKind, met: bool | None) -> str:
    if kind == "basis":
        return BASISJAAR
    if met is None:
        return ONBEKEND
    if kind == "doel":
        return DOEL_GEHAALD if met else DOEL_NIET_GEHAALD
    if kind == "tussendoel":
        return TUSSENDOEL_GEHAALD if met else TUSSENDOEL_NIET_GEHAALD
    return OP_KOERS if met else NIET_OP_KOERS


def _combine(unit: RegionUnit, category: str, period: MonitorPeriod, base_label: str,
             counts: Mapping[tuple[str, str, str], PeriodCount], names: Mapping[str, str]
             ) -> tuple[int | None, int | None, bool, list[str]]:
    """(count, baseline, provisional, notes) for a unit: the sum over members with both values known."""
    current_total = baseline_total = 0
    used = 0
    provisional = False
    notes: list[str] = []
    left_out: list[str] = []
    for member in unit.members:
        cur = counts.get((member, category, period.label))
        base = counts.get((member, category, base_label))
        name = names.get(member, member)
        if base is None or base.count is None:
            why = base.reason if base is not None else "geen gegevens"
            left_out.append(f"{name} (geen basiswaarde {base_label}: {why})")
            continue
        if cur is None or cur.count is None:
            why = cur.reason if cur is not None else "geen gegevens"
            left_out.append(f"{name} ({period.label}: {why})")
            continue
        current_total += cur.count
        baseline_total += base.count
        provisional = provisional or cur.provisional or base.provisional
        used += 1
    if unit.level in ("gemeente", "land"):
        notes.extend(left_out)
    elif left_out:
        shown = ", ".join(left_out[:MAX_NAMED])
        more = f" en {len(left_out) - MAX_NAMED} andere gemeenten" if len(left_out) > MAX_NAMED else ""
        notes.append(f"totaal zonder {shown}{more}")
    if used == 0:
        return None, None, provisional, notes
    return current_total, baseline_total, provisional, notes


def _is_tested(count: int | None, baseline: int | None, period: MonitorPeriod, target: OverlastTargetSettings) -> bool:
    # The base year against itself carries no information: no ratio, no test.
    return count is not None and bool(baseline) and _norm_for(period, target)[2] != "basis"


def _make_row(unit: RegionUnit, category: str, category_name: str, period: MonitorPeriod,
              count: int | None, baseline: int | None, provisional: bool, notes: list[str],
              target: OverlastTargetSettings, test: tuple | None = None, alpha: float = ALPHA) -> MonitorRow:
    """One row of the monitor; ``test``: what :func:`_row_tests` gave for it (when tested)."""
    norm, norm_index, kind = _norm_for(period, target)
    flags = list(notes)
    index = reduction = share = norm_count = None
    rate_ratio = ci_lower = ci_upper = p_change = p_below = p_above = None
    met: bool | None = None
    certainty = ""
    if baseline is not None and baseline == 0:
        flags.append(f"basisjaar {target.base_year}: 0 registraties, geen index mogelijk")
    if count is not None and baseline:
        ratio = count / baseline
        index = 100.0 * ratio
        reduction = 1.0 - ratio
        share = reduction / target.reduction
        norm_count = baseline * norm_index / 100.0
    if _is_tested(count, baseline, period, target):
        assert test is not None and norm_count is not None and count is not None
        rate_ratio, ci_lower, ci_upper, p_change, p_below, p_above = test
        met = count <= norm_count
        if p_below < alpha:
            certainty = AANTOONBAAR_ONDER
        elif p_above < alpha:
            certainty = AANTOONBAAR_BOVEN
        else:
            certainty = BINNEN_MARGE
    if provisional:
        flags.append("bevat voorlopige cijfers")
    return MonitorRow(
        region_code=unit.code, region_name=unit.name, level=unit.level, parent=unit.parent,
        category=category, category_name=category_name, period=period.label, period_kind=period.kind,
        first_month=period.first_month, last_month=period.last_month, count=count, baseline=baseline,
        index=index, reduction=reduction, target_share=share, norm=norm, norm_index=norm_index,
        norm_count=norm_count, rate_ratio=rate_ratio, ci_lower=ci_lower, ci_upper=ci_upper, p_change=p_change,
        p_below_norm=p_below, p_above_norm=p_above, met=met, status=_status(kind, met), certainty=certainty,
        provisional=provisional, flags=tuple(flags),
    )


def monitor_periods(months: Sequence[date], target: OverlastTargetSettings) -> list[MonitorPeriod]:
    """Each complete year from the base year on, and the latest 12 months (left out when they
    are exactly the last calendar year)."""
    periods = [year_period(y) for y in complete_years(months) if y >= target.base_year]
    if months:
        rolling = rolling_period(max(months))
        if not any(p.first_month == rolling.first_month and p.last_month == rolling.last_month for p in periods):
            periods.append(rolling)
    return periods


def overlast_monitor(inputs: OverlastInputs) -> MonitorResult:
    """The overlast target monitor over what :func:`veiligheidsbeeld.warehouse.queries.overlast_inputs`
    read: for the region asked there (default the eenheid and its districts, with
    ``with_gemeenten`` also every gemeente), up to its ``until`` month (an annual report for year Y
    looks at data up to December Y only; the latest 12 months then end there).

    Raises ``DataError`` when the region has no data at all or no region has a base-year count; a
    gemeente without a usable baseline is flagged on its rows and named in the totals it is left
    out of, and listed in ``MonitorResult.missing_baseline``.
    """
    settings, target, cats = inputs.settings, inputs.target, dict(inputs.categories)
    months = list(inputs.months)
    selected = list(inputs.units)
    periods = monitor_periods(months, target)
    base_label = str(target.base_year)

    members = sorted({m for u in selected for m in u.members})
    lineage = load_lineage()
    layout = settings.area.layout_year
    predecessors = set(inputs.predecessors)
    facts = inputs.facts
    if facts.empty:
        raise DataError(
            f"Tabel {target.table_id} heeft geen gegevens voor {', '.join(u.name for u in selected[:3])}"
            f"{' …' if len(selected) > 3 else ''} vanaf {target.base_year}."
        )
    if (facts["region_code"].isin(predecessors)).any():
        mapping = {c: successor(c, layout, lineage) for c in facts["region_code"].unique()}
        facts = facts.assign(region_code=facts["region_code"].map(mapping))
        facts = facts.groupby(["region_code", "type_code", "month"], as_index=False).agg(
            count=("count", lambda s: s.sum(min_count=len(s))), suppressed=("suppressed", "any"),
            provisional=("provisional", "any"),
        )
    counts = period_counts(facts, periods)
    names = {m: u.name for u in area_units(settings) if u.level == "gemeente" for m in u.members}
    names[NATIONAL_CODE] = "Nederland"

    # Gemeenten (or NL00) without a usable base-year count, per category: flagged, never 0.
    lacking: dict[str, list[str]] = {}
    for m in members:
        for code in cats:
            base = counts.get((m, code, base_label))
            if base is None or base.count is None:
                lacking.setdefault(m, []).append(code)
    if all(len(lacking.get(m, [])) == len(cats) for m in members):
        raise DataError(
            f"Geen enkele regio heeft een basiswaarde voor {base_label} in tabel {target.table_id} "
            f"({', '.join(names.get(m, m) for m in members[:5])}{' …' if len(members) > 5 else ''})."
        )
    notes: list[str] = []
    if lacking:
        listed = [
            f"{names.get(m, m)} ({m}{'' if len(codes) == len(cats) else ': ' + ', '.join(codes)})"
            for m, codes in sorted(lacking.items())
        ]
        notes.append(
            f"Geen (volledige) basiswaarde {base_label} voor: {'; '.join(listed)}. Zonder basiswaarde is er geen "
            "index, en zo'n gemeente telt voor die categorie niet mee in de totalen van district en eenheid."
        )

    published = inputs.published

    stats = settings.statistiek
    phis = unit_dispersion(facts, selected, list(cats)) if stats.overdispersion else {}
    combined = []
    for unit in selected:
        for code, title in cats.items():
            for period in periods:
                count, baseline, provisional, flags = _combine(unit, code, period, base_label, counts, names)
                if len(unit.members) == 1 and period.year is not None and count is not None:
                    reported = published.get((unit.members[0], code, period.year))
                    if reported is not None and reported != count:
                        flags.append(
                            f"het gepubliceerde jaarcijfer ({fmt_int(reported)}) wijkt af van de som van de maanden"
                        )
                combined.append((unit, code, title, period, count, baseline, provisional, flags))
    # Every test of the monitor in one pass, then the rows.
    tested = [i for i, (_, _, _, period, count, baseline, _, _) in enumerate(combined)
              if _is_tested(count, baseline, period, target)]
    tests = dict(zip(tested, _row_tests(
        [(combined[i][4], combined[i][5], _norm_for(combined[i][3], target)[1] / 100.0,
          phis.get((combined[i][0].code, combined[i][1]), 1.0)) for i in tested], stats.alpha), strict=True))
    rows = [_make_row(unit, code, title, period, count, baseline, provisional, flags, target, tests.get(i),
                      stats.alpha)
            for i, (unit, code, title, period, count, baseline, provisional, flags) in enumerate(combined)]

    info = inputs.info
    assert info is not None  # read whenever there are facts
    return MonitorResult(
        target=target, rows=tuple(rows), periods=tuple(periods), info=info, last_month=max(months),
        units=tuple(selected), missing_baseline=tuple(sorted(lacking)), notes=tuple(notes), alpha=stats.alpha,
    )


# --------------------------------------------------------------------------------------------
# Output for the command line
# --------------------------------------------------------------------------------------------


def _fmt_ratio(r: MonitorRow) -> str:
    if r.rate_ratio is None:
        return "–"
    upper = fmt_num(r.ci_upper, 3) if r.ci_upper is not None else "∞"
    return f"{fmt_num(r.rate_ratio, 3)} ({fmt_num(r.ci_lower, 3)}–{upper})"


def _fmt_index(value: float | None) -> str:
    return fmt_num(value, 1)


def _text_table(header: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) if right[i] else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    return [line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def _period_table(rows: Sequence[MonitorRow], level_pct: str = "95") -> list[str]:
    header = ["periode", "aantal", "index", "reductie", "deel van doel", "norm", f"ratio ({level_pct}%-BI)", "status",
              "zekerheid"]
    body = [
        [r.period, fmt_int(r.count), _fmt_index(r.index), fmt_pct(r.reduction, 1), fmt_pct(r.target_share, 0),
         f"{_fmt_index(r.norm_index)} ({r.norm})", _fmt_ratio(r), r.status, r.certainty or "–"]
        for r in rows
    ]
    return _text_table(header, body, [False, True, True, True, True, False, False, False, False])


def _category_table(rows: Sequence[MonitorRow], base_year: int) -> list[str]:
    header = ["categorie", f"basis {base_year}", "aantal", "index", "reductie", "status"]
    body = [[f"{r.category} {r.category_name}", fmt_int(r.baseline), fmt_int(r.count), _fmt_index(r.index),
             fmt_pct(r.reduction, 1), r.status] for r in rows]
    return _text_table(header, body, [False, True, True, True, True, False])


def format_table(result: MonitorResult) -> str:
    """The monitor as Dutch text: per region the total per period, then the categories over the latest 12 months."""
    t = result.target
    lines = [
        f"Overlastmonitor — doel: {t.title}",
        "Index: basisjaar = 100. Norm: de koerslijn loopt recht van 100 in het basisjaar via de tussendoelen naar het doel.",
        "Toets: eenzijdige conditionele toets (mid-p) van het aantal tegen de norm, met ruimte voor overdispersie φ "
        "uit de eigen maandreeks (α = "
        f"{fmt_num(result.alpha, 2)}).",
        "",
    ]
    latest = result.periods[-1] if result.periods else None
    for unit in result.units:
        lines.append(f"== {unit.name} ({unit.code}, {unit.level})")
        total = result.select(unit.code, TOTAL_CODE)
        if total:
            lines.append(f"{TOTAL_CODE} {total[0].category_name}")
            lines.extend(_period_table(total, f"{100 * (1 - result.alpha):g}".replace(".", ",")))
            for note in sorted({f for r in total for f in r.flags if f != 'bevat voorlopige cijfers'}):
                lines.append(f"  let op: {note}")
        if latest is not None:
            cats = [r for r in result.rows
                    if r.region_code == unit.code and r.period == latest.label and r.category != TOTAL_CODE]
            if cats:
                lines.append("")
                lines.append(f"Per categorie, {latest.label}:")
                lines.extend(_category_table(cats, t.base_year))
        lines.append("")
    lines.extend(result.notes)
    lines.append(result.source_line())
    return "\n".join(lines).rstrip() + "\n"


def format_monitor(result: MonitorResult, fmt: OutputFormat | str = "table") -> str:
    """The monitor as ``table`` (Dutch text), ``csv`` (all rows, Dutch column names, decimal point)
    or ``json`` (target, source line, notes and all rows)."""
    fmt = str(fmt).strip().lower()
    if fmt == "table":
        return format_table(result)
    frame = result.export_frame()
    if fmt == "csv":
        from veiligheidsbeeld.files import csv_text

        return csv_text(frame)
    if fmt == "json":
        t = result.target
        payload = {
            "doel": {
                "omschrijving": t.title,
                "basisjaar": t.base_year,
                "doeljaar": t.target_year,
                "reductie": t.reduction,
                "tussendoelen": [{"jaar": m.year, "reductie": m.reduction} for m in t.milestones],
                "tabel": t.table_id,
                "alpha": result.alpha,
            },
            "laatste_maand": result.last_month.isoformat(),
            "bron": result.source_line(),
            "synthetisch": result.info.synthetic,
            "opmerkingen": list(result.notes),
            "rijen": json.loads(frame.to_json(orient="records", date_format="iso", force_ascii=False)),
        }
        return json.dumps(payload, ensure_ascii=False, indent=2) + "\n"
    raise ConfigError(f"Onbekend formaat '{fmt}'. Kies table, csv of json.")


def glide_path_frame(target: OverlastTargetSettings, last_year: int | None = None) -> pd.DataFrame:
    """The glide path per year from the base year to ``last_year`` (default the target year)."""
    last = max(last_year or target.target_year, target.target_year)
    years = list(range(target.base_year, last + 1))
    return pd.DataFrame({"year": years, "norm_index": [target.glide_index(y) for y in years]})


__all__ = [
    "MonitorPeriod",
    "MonitorResult",
    "MonitorRow",
    "RegionUnit",
    "area_units",
    "check_base_year",
    "format_monitor",
    "glide_path_frame",
    "overlast_monitor",
    "resolve_units",
    "target_settings_for",
]
