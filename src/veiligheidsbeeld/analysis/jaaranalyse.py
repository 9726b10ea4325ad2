"""The annual strategic analysis (jaaranalyse) for the Bestuurlijke Begeleidingsgroep.

For year Y and the whole eenheid, with a chapter per district:

* woninginbraak and the High Impact Crimes (the groups of the biweekly analysis,
  :class:`~veiligheidsbeeld.config.TweewekelijksSettings`) — totals, rates, change
  against the previous year and against the comparison year (2013) with the Poisson test of
  :func:`~veiligheidsbeeld.analysis.woninginbraak.compare_periods`, and the yearly series;
* the municipal BBV indicators as *Waar staat je gemeente* defines them (:data:`~veiligheidsbeeld.config.BBV_INDICATORS`,
  each per 1,000 inhabitants; the exact police crime codes are listed there);
* the overlast target monitor (:mod:`~veiligheidsbeeld.analysis.overlast_doel`) up to December Y;
* the national jeugdoverlast ranking (:mod:`~veiligheidsbeeld.analysis.jeugd_ranking`);
* a short Dutch summary computed from those figures (:func:`summary_sentences`).

Everything is computed here from the warehouse; the report module only draws and renders.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from veiligheidsbeeld.analysis.jeugd_ranking import RankingResult, jeugd_ranking
from veiligheidsbeeld.analysis.overlast_doel import (
    MonitorResult,
    complete_years,
    overlast_monitor,
)
from veiligheidsbeeld.analysis.periods import Comparison, Period
from veiligheidsbeeld.analysis.rates import rate_per
from veiligheidsbeeld.analysis import engine
from veiligheidsbeeld.analysis.engine import MONTHLY_COLUMNS, ReportPeriod, RegionHierarchy, period_totals
from veiligheidsbeeld.analysis.woninginbraak import ROLLING_12, TweewekelijksSettings, group_counts
from veiligheidsbeeld.config import (
    BBV_INDICATORS,
    CrimeGroup,
    GroupKind,
    JaaranalyseSettings,
    OverlastTargetSettings,
    StatistiekSettings,
)
from veiligheidsbeeld.constants import MISDRIJVEN_JAAR_TABLE, MISDRIJVEN_TABLE, TOTAL_CODE
from veiligheidsbeeld.errors import ConfigError, VeiligheidsbeeldError
from veiligheidsbeeld.formatting import fmt_int, fmt_num, fmt_pct
from veiligheidsbeeld.regions import District, districts_of
from veiligheidsbeeld.warehouse.queries import AnnualInputs, DataInfo


# --------------------------------------------------------------------------------------------
# Crime groups: woninginbraak, HIC and the BBV indicators
# --------------------------------------------------------------------------------------------


#: The BBV indicator that is not in the police data, said in the report.
HALT_NOTE = (
    "De BBV-indicator 'Verwijzingen Halt per 10.000 jongeren' (jeugdcriminaliteit die via Halt is afgedaan) staat "
    "niet in de open data van de politie en ontbreekt daarom hier; Halt publiceert die cijfers zelf (zie Waar staat "
    "je gemeente)."
)


def crime_groups(options: TweewekelijksSettings, bbv: Sequence[CrimeGroup] = BBV_INDICATORS) -> tuple[CrimeGroup, ...]:
    """Woninginbraak, the HIC groups of the biweekly analysis, HIC in total, and the BBV indicators."""
    groups = [CrimeGroup("woninginbraak", options.crime_label, (options.crime_code,), "woninginbraak",
                         denominator="woningen",
                         definition=f"Politiecode {options.crime_code}, per 1.000 woningen.")]
    for label, codes in options.hic.items():
        groups.append(CrimeGroup(f"hic_{label.lower()}", label, tuple(codes), "hic",
                                 definition=f"Politiecode(s) {', '.join(codes)}, per 1.000 inwoners."))
    hic_codes = tuple(dict.fromkeys([options.crime_code, *(c for codes in options.hic.values() for c in codes)]))
    groups.append(CrimeGroup(
        "hic_totaal", "High Impact Crimes (totaal)", hic_codes, "hic_totaal",
        definition=f"Woninginbraak, {', '.join(k.lower() for k in options.hic)}: politiecodes {', '.join(hic_codes)}, "
                   "per 1.000 inwoners.",
    ))
    groups.extend(bbv)
    for g in groups:
        g.check_published()
    labels = [g.label for g in groups]
    if len(set(labels)) != len(labels):
        raise ConfigError(f"Groepsnamen moeten uniek zijn: {', '.join(labels)}.")
    return tuple(groups)


# --------------------------------------------------------------------------------------------
# Settings and result
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class JaarAnalyse:
    """Everything the annual report shows for one year.

    Frames (region codes throughout; ``level`` is eenheid/district/gemeente, ``district_code``
    the district of a gemeente or the district itself):

    * ``changes``: per region × group: ``current`` (year Y), ``previous`` (Y-1), ``base``
      (comparison year), both comparisons' ``pct_change``/``p_value``/``significant``/
      ``direction`` (suffixes ``_vj`` and ``_basis``), ``denominator``, ``rate`` (Y),
      ``rate_previous``, ``rate_base``;
    * ``trend``: per region × group × year: ``count`` (NaN when incomplete), ``denominator``, ``rate``.
    """

    year: int
    settings: JaaranalyseSettings
    eenheid_code: str
    eenheid_naam: str
    districts: tuple[District, ...]
    groups: tuple[CrimeGroup, ...]
    changes: pd.DataFrame
    trend: pd.DataFrame
    monitor: MonitorResult | None
    monitor_error: str | None
    ranking: RankingResult | None
    ranking_error: str | None
    target: OverlastTargetSettings
    info: DataInfo
    summary: tuple[str, ...]
    warnings: tuple[str, ...] = field(default_factory=tuple)
    stats: StatistiekSettings = field(default_factory=StatistiekSettings)
    methods: engine.MethodsText | None = None

    @property
    def synthetic(self) -> bool:
        return self.info.synthetic or bool(self.monitor and self.monitor.info.synthetic)

    def group(self, key: str) -> CrimeGroup:
        for g in self.groups:
            if g.key == key:
                return g
        raise KeyError(key)

    def change(self, region_code: str, group_key: str) -> pd.Series:
        label = self.group(group_key).label
        rows = self.changes[(self.changes["region_code"] == region_code) & (self.changes["group"] == label)]
        if rows.empty:
            raise KeyError((region_code, group_key))
        return rows.iloc[0]

    def changes_for(self, *, level: str | None = None, district_code: str | None = None,
                    kinds: Sequence[GroupKind] | None = None) -> pd.DataFrame:
        frame = self.changes
        if level is not None:
            frame = frame[frame["level"] == level]
        if district_code is not None:
            frame = frame[frame["district_code"] == district_code]
        if kinds is not None:
            keep = {g.label for g in self.groups if g.kind in kinds}
            frame = frame[frame["group"].isin(keep)]
        return frame.reset_index(drop=True)

    def trend_for(self, region_codes: Sequence[str], group_key: str) -> pd.DataFrame:
        label = self.group(group_key).label
        frame = self.trend[self.trend["region_code"].isin(list(region_codes)) & (self.trend["group"] == label)]
        return frame.sort_values(["region_code", "year"]).reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Building blocks (pure)
# --------------------------------------------------------------------------------------------


def year_comparisons(year: int, compare_year: int) -> list[Comparison]:
    """Year Y against Y-1 ('vj') and against the comparison year ('basis')."""
    current = Period.month_range(date(year, 1, 1), date(year, 12, 1))
    comps = [Comparison("vj", "t.o.v. vorig jaar", current, current.shift_years(-1))]
    if compare_year < year:
        comps.append(Comparison("basis", f"t.o.v. {compare_year}", current,
                                Period.month_range(date(compare_year, 1, 1), date(compare_year, 12, 1))))
    return comps


def region_table(district_table: pd.DataFrame, eenheid_code: str, eenheid_naam: str) -> pd.DataFrame:
    """region_code, name, level, district_code for eenheid, districts and gemeenten."""
    rows = [{"region_code": eenheid_code, "name": eenheid_naam, "level": "eenheid", "district_code": ""}]
    for (code, naam), _ in district_table.groupby(["district_code", "district_naam"], sort=True):
        rows.append({"region_code": code, "name": naam, "level": "district", "district_code": code})
    for r in district_table.itertuples():
        rows.append({"region_code": r.gemeente_code, "name": r.gemeente_naam, "level": "gemeente",
                     "district_code": r.district_code})
    return pd.DataFrame(rows)


def denominators_by_year(
    gemeente_values: pd.DataFrame, district_table: pd.DataFrame, eenheid_code: str
) -> pd.DataFrame:
    """Denominators for gemeenten, districts and the eenheid: region_code, year, measure, value.

    ``gemeente_values``: gemeente_code, year, measure, value (NaN = missing). A district or
    eenheid value is the sum over its gemeenten, and missing when any gemeente's is missing.
    """
    out = [gemeente_values.rename(columns={"gemeente_code": "region_code"})]
    parents = {
        "district_code": dict(zip(district_table["gemeente_code"], district_table["district_code"])),
        "eenheid": {g: eenheid_code for g in district_table["gemeente_code"]},
    }
    for mapping in parents.values():
        frame = gemeente_values.assign(region_code=gemeente_values["gemeente_code"].map(mapping))
        frame = frame[frame["region_code"].notna()]
        summed = frame.groupby(["region_code", "year", "measure"], as_index=False).agg(
            value=("value", lambda s: s.sum() if s.notna().all() else np.nan)
        )
        out.append(summed)
    return pd.concat(out, ignore_index=True).loc[:, ["region_code", "year", "measure", "value"]]


def change_phrase(pct: float | None, significant: bool | None, what: str) -> str:
    """'12% meer dan vorig jaar (significant)' / '3% minder … (binnen de toevalsmarge)'."""
    if pct is None or pd.isna(pct):
        return f"niet te vergelijken met {what}"
    if abs(pct) < 0.5:
        word = f"vrijwel gelijk aan {what}"
    else:
        word = f"{fmt_pct(abs(pct) / 100, 0, signed=False)} {'meer' if pct > 0 else 'minder'} dan {what}"
    return word + (" (statistisch significant)" if significant else " (binnen de toevalsmarge)")


def summary_sentences(analysis_year: int, eenheid_naam: str, changes: pd.DataFrame, eenheid_code: str,
                      groups: Sequence[CrimeGroup], compare_year: int, monitor: MonitorResult | None,
                      monitor_error: str | None, ranking: RankingResult | None, ranking_error: str | None,
                      target: OverlastTargetSettings, district_names: Mapping[str, str]) -> list[str]:
    """The Dutch summary, every sentence computed from the figures."""
    out: list[str] = []
    by_key = {g.key: g for g in groups}

    def row(region: str, key: str) -> pd.Series | None:
        rows = changes[(changes["region_code"] == region) & (changes["group"] == by_key[key].label)]
        return rows.iloc[0] if len(rows) else None

    for key, noun in (("woninginbraak", "woninginbraken"), ("hic_totaal", "High Impact Crimes")):
        if key not in by_key:
            continue
        r = row(eenheid_code, key)
        if r is None or pd.isna(r["current"]):
            out.append(f"Het aantal {noun} in {eenheid_naam} in {analysis_year} is niet volledig bekend.")
            continue
        text = (f"In {analysis_year} registreerde de politie in {eenheid_naam} {fmt_int(r['current'])} {noun}: "
                f"{change_phrase(r['pct_change_vj'], r['significant_vj'], str(analysis_year - 1))}")
        if "pct_change_basis" in r and not pd.isna(r.get("pct_change_basis")):
            text += f" en {change_phrase(r['pct_change_basis'], r['significant_basis'], str(compare_year))}"
        out.append(text + ".")
    # Districts with a significant change in woninginbraak against last year.
    if "woninginbraak" in by_key:
        label = by_key["woninginbraak"].label
        d = changes[(changes["level"] == "district") & (changes["group"] == label) & changes["significant_vj"].fillna(False)]
        if len(d):
            parts = [f"{district_names.get(r.region_code, r.region_code)} ({fmt_pct(r.pct_change_vj / 100, 0)})"
                     for r in d.sort_values("pct_change_vj").itertuples()]
            out.append(f"Een significante verandering in woninginbraak ten opzichte van {analysis_year - 1} "
                       f"zien we in: {', '.join(parts)}.")
        else:
            out.append(f"Geen enkel district laat een significante verandering in woninginbraak zien ten opzichte "
                       f"van {analysis_year - 1}.")
    bbv = [g for g in groups if g.kind == "bbv"]
    parts = []
    for g in bbv:
        r = row(eenheid_code, g.key)
        if r is not None and not pd.isna(r["rate"]):
            previous = "" if pd.isna(r["rate_previous"]) else f" ({analysis_year - 1}: {fmt_num(r['rate_previous'], 1)})"
            parts.append(f"{g.label.lower()} {fmt_num(r['rate'], 1)}{previous}")
    if parts:
        out.append(f"BBV-indicatoren van {eenheid_naam} per 1.000 inwoners in {analysis_year}: {'; '.join(parts)}.")
    elif bbv:
        out.append(f"De BBV-indicatoren van {eenheid_naam} zijn voor {analysis_year} niet te berekenen "
                   "(aantal onvolledig of inwonertal onbekend).")
    if monitor is not None:
        rows = [r for r in monitor.rows if r.region_code == eenheid_code and r.category == TOTAL_CODE
                and r.period == str(analysis_year)]
        if rows and rows[0].index is not None:
            r = rows[0]
            out.append(
                f"De geregistreerde overlast in {eenheid_naam} staat in {analysis_year} op index "
                f"{fmt_num(r.index, 1)} ({target.base_year} = 100; {fmt_int(r.count)} registraties). "
                f"De norm voor dit jaar is {fmt_num(r.norm_index, 1)} ({r.norm}): {r.status}."
            )
        elif rows:
            out.append(f"De overlastindex van {eenheid_naam} voor {analysis_year} is niet te berekenen "
                       f"({'; '.join(rows[0].flags) or 'geen gegevens'}).")
    elif monitor_error:
        out.append(f"De overlastmonitor ontbreekt: {monitor_error}")
    if ranking is not None and analysis_year in ranking.years:
        out.append(f"Jeugdoverlast: {ranking.target_status(analysis_year)}.")
        if not ranking.complete:
            out.append("De jeugdoverlastranglijst is niet landelijk volledig (zie hoofdstuk Jeugdoverlast).")
    elif ranking_error:
        out.append(f"De jeugdoverlastranglijst ontbreekt: {ranking_error}")
    return out


# --------------------------------------------------------------------------------------------
# From the warehouse
# --------------------------------------------------------------------------------------------


def yearly_group_counts(facts: pd.DataFrame, loaded: bool, groups: Sequence[CrimeGroup], gemeenten: Sequence[str],
                        years: Sequence[int] | range) -> tuple[pd.DataFrame, list[str]]:
    """Per gemeente × group with ``yearly_codes`` × year: the sum of those codes' year rows in
    47025NED (``facts``: as from :func:`veiligheidsbeeld.warehouse.queries.yearly_counts`;
    ``count_known``, ``n_suppressed``, ``n_missing`` per code), and Dutch notes on what is
    missing (``loaded``: whether the yearly table is in the warehouse at all). Empty when no
    group has yearly codes."""
    wanted = [g for g in groups if g.yearly_codes]
    columns = ["region_code", "group", "year", "count_known", "n_suppressed", "n_missing"]
    if not wanted:
        return pd.DataFrame(columns=columns), []
    years = [int(y) for y in years]
    facts = facts[facts["year"].astype(int).isin(years)]
    notes: list[str] = []
    labels = ", ".join(f"'{g.label}'" for g in wanted)
    if not loaded:
        notes.append(
            f"Tabel {MISDRIJVEN_JAAR_TABLE} (misdrijven per jaar) staat niet in het warehouse: de zedenmisdrijven "
            f"ontbreken, dus {labels} is niet volledig (alleen het bekende deel wordt als 'minstens' getoond). "
            f"Voeg {MISDRIJVEN_JAAR_TABLE} toe aan [ingest] tables en draai 'veiligheidsbeeld ingest'."
        )
    else:
        absent = sorted(set(years) - {int(y) for y in facts["year"]})
        if absent:
            notes.append(
                f"Tabel {MISDRIJVEN_JAAR_TABLE} heeft (nog) geen jaarcijfers voor {', '.join(map(str, absent))}: "
                f"{labels} is voor die jaren niet volledig (de politie publiceert een jaar pas na afloop)."
            )
    cell = {(r.region_code, r.type_code, int(r.year)): r.count for r in facts.itertuples()}
    rows = []
    for g in wanted:
        for region in gemeenten:
            for y in years:
                values = [cell.get((region, c, y), "absent") for c in g.yearly_codes]
                rows.append({
                    "region_code": region, "group": g.label, "year": y,
                    "count_known": float(sum(v for v in values if not isinstance(v, str) and not pd.isna(v))),
                    "n_suppressed": sum(1 for v in values if not isinstance(v, str) and pd.isna(v)),
                    "n_missing": sum(1 for v in values if isinstance(v, str)),
                })
    return pd.DataFrame(rows, columns=columns), notes


def with_year_figures(monthly: pd.DataFrame, yearly: pd.DataFrame) -> pd.DataFrame:
    """The monthly group counts plus each year figure (from :func:`yearly_group_counts`) as one
    extra row dated 1 January of its year.

    Only for totals over whole calendar years (the annual analysis compares calendar years):
    such a total then includes the year figure once, and is incomplete (NaN, 'minstens' the known
    part) when the year figure is missing or suppressed. Never draw this frame as a monthly series.
    """
    if yearly.empty:
        return monthly
    extra = yearly.assign(month=[date(int(y), 1, 1) for y in yearly["year"]]).drop(columns="year")
    # Folded into January (one row per region, group and month: the engine pairs months).
    both = pd.concat([monthly, extra.loc[:, ["region_code", "group", "month", "count_known", "n_suppressed",
                                             "n_missing"]]], ignore_index=True)
    out = both.groupby(["region_code", "group", "month"], sort=False, as_index=False).agg(
        count_known=("count_known", "sum"), n_suppressed=("n_suppressed", "sum"), n_missing=("n_missing", "sum"))
    return engine.with_count(out, MONTHLY_COLUMNS)


def denominator_frame(found_by_measure: Mapping[str, pd.DataFrame],
                      names: Mapping[str, str] | None = None) -> tuple[pd.DataFrame, list[str]]:
    """gemeente_code, year, measure, value (NaN = missing), and Dutch notes on what is missing (every
    year, with the reason) or taken from another year. ``found_by_measure``: per measure the
    denominators on the police layout
    (:func:`~veiligheidsbeeld.warehouse.geography.police_layout_denominators`): Zevenaar 2015
    includes Rijnwaarden, Berg en Dal has inhabitants from 2013."""
    from veiligheidsbeeld.warehouse.geography import STATUS_LATEST, missing_denominator_notes

    frames, notes = [], []
    for measure, found in found_by_measure.items():
        frames.append(pd.DataFrame({"gemeente_code": found["region_code"], "year": found["year"], "measure": measure,
                                    "value": found["value"].astype("float64")}))
        latest = found[found["status"] == STATUS_LATEST]
        for y, part in latest.groupby("year"):
            used = sorted({int(v) for v in part["year_used"].dropna()})
            notes.append(f"Noemer '{measure}' voor {y} is nog niet gepubliceerd; het laatst beschikbare jaar "
                         f"({', '.join(map(str, used))}) is gebruikt.")
        notes.extend(missing_denominator_notes(found, measure, dict(names or {})))
    if not frames:
        return pd.DataFrame(columns=["gemeente_code", "year", "measure", "value"]), notes
    return pd.concat(frames, ignore_index=True), notes


def year_verdicts(
    monthly: pd.DataFrame, hierarchy: RegionHierarchy, period: ReportPeriod, groups: Sequence[CrimeGroup],
    biweekly: TweewekelijksSettings, options: JaaranalyseSettings, stats: StatistiekSettings,
) -> pd.DataFrame:
    """Year Y against Y-1 ('vj') and against the comparison year ('basis') for every group.

    The biweekly groups' 'vj' rows come from the biweekly family of December Y (its
    ``12_maanden`` comparison is the calendar year), so the annual report, the biweekly report
    and the run summaries give one verdict. The other tests (BBV indicators and HIC in total
    against Y-1, every group against the comparison year) form the annual report's own family.
    """
    year = period.latest_month.year
    standard = set(biweekly.groups())
    vj, *basis = year_comparisons(year, options.compare_year)
    pairs = period.dispersion_pairs
    own = engine.judge(monthly[monthly["group"].isin(standard)], period.comparisons, hierarchy, stats,
                       dispersion_pairs=pairs)
    own = own[own["comparison"] == ROLLING_12].assign(comparison=vj.key, comparison_label=vj.label_nl)
    others = engine.judge(
        monthly, [vj, *basis], hierarchy, stats, dispersion_pairs=pairs,
        groups_for={vj.key: [g.label for g in groups if g.label not in standard],
                    **{b.key: [g.label for g in groups] for b in basis}},
    )
    return pd.concat([own, others], ignore_index=True)


def build_jaaranalyse(inputs: AnnualInputs) -> JaarAnalyse:
    """The annual analysis over what :func:`veiligheidsbeeld.warehouse.queries.annual_inputs` read
    (which refuses a year that is not complete in the misdrijven table).

    A missing comparison year, a monitor that cannot be computed (no overlast base year) or a
    ranking that cannot be made become explicit warnings in the result, not silent gaps.
    """
    settings, year, options, target = inputs.settings, inputs.year, inputs.options, inputs.target
    biweekly, groups, district_table = inputs.biweekly, inputs.groups, inputs.district_table
    eenheid_code = settings.area.eenheid_code
    eenheid_naam = str(district_table["eenheid_naam"].iloc[0]) if not district_table.empty else settings.area.eenheid_naam
    gemeenten = list(district_table["gemeente_code"])
    from veiligheidsbeeld.analysis.findings import validation_warnings

    district_of = dict(zip(district_table["gemeente_code"], district_table["district_code"], strict=True))
    warnings: list[str] = [w.message for w in validation_warnings(inputs.checked, district_of)]
    full = complete_years(inputs.months)
    first_year = inputs.first_year
    if options.compare_year not in full:
        warnings.append(f"Het vergelijkingsjaar {options.compare_year} is niet (volledig) beschikbaar in tabel "
                        f"{MISDRIJVEN_TABLE}; de vergelijking met {options.compare_year} ontbreekt.")
    if year - 1 not in full:
        warnings.append(f"Het jaar {year - 1} is niet (volledig) beschikbaar; de vergelijking met vorig jaar ontbreekt.")

    stats = settings.statistiek
    period, read_from, facts = inputs.period, inputs.read_from, inputs.facts
    missing_gm = sorted(set(gemeenten) - set(facts["region_code"]))
    if missing_gm:
        names = dict(zip(district_table["gemeente_code"], district_table["gemeente_naam"]))
        warnings.append(
            f"Geen misdrijfcijfers voor {len(missing_gm)} gemeente(n) van {eenheid_naam}: "
            f"{', '.join(names.get(g, g) for g in missing_gm[:10])}{' …' if len(missing_gm) > 10 else ''}. "
            "Hun districten en de eenheid hebben daardoor geen volledig totaal."
        )
    month_list = Period.month_range(read_from, date(year, 12, 1)).months()
    hierarchy = RegionHierarchy.from_table(district_table)
    gm_monthly = group_counts(facts, {g.label: g.codes for g in groups}, gemeenten, month_list)
    # --- BBV: codes counted from the yearly table 47025NED (zedenmisdrijven) [issue 13, item 6] ---
    # Read for the history years too (phi of the group), reported for the years the report shows.
    _, yearly_notes = yearly_group_counts(inputs.yearly_facts, inputs.yearly_loaded, groups, gemeenten,
                                          range(first_year, year + 1))
    yearly, _ = yearly_group_counts(inputs.yearly_facts, inputs.yearly_loaded, groups, gemeenten,
                                    range(read_from.year, year + 1))
    warnings.extend(yearly_notes)
    monthly = hierarchy.level_counts(with_year_figures(gm_monthly, yearly))
    changes = year_verdicts(monthly, hierarchy, period, groups, biweekly, options, stats)
    methods = engine.methods_text(changes, stats)
    comparisons = year_comparisons(year, options.compare_year)
    keep = ["current", "previous", "current_known", "previous_known", "incomplete", "pct_change", "p_value",
            "q_value", "phi", "significant", "direction", "difference"]
    wide = None
    for comp in comparisons:
        part = changes[changes["comparison"] == comp.key].loc[:, ["region_code", "group", *keep]]
        suffix = comp.key
        part = part.rename(columns={c: f"{c}_{suffix}" for c in keep})
        wide = part if wide is None else wide.merge(part, on=["region_code", "group"], how="outer")
    assert wide is not None
    wide = wide.rename(columns={"current_vj": "current", "previous_vj": "previous",
                                "current_known_vj": "current_known", "previous_known_vj": "previous_known"})
    if "current_basis" in wide:
        wide = wide.drop(columns=["current_basis", "current_known_basis"]).rename(
            columns={"previous_basis": "base", "previous_known_basis": "base_known"})
    else:
        wide = wide.assign(base=np.nan, base_known=np.nan)

    # Yearly series and rates.
    years = list(range(first_year, year + 1))
    trend = pd.concat(
        [period_totals(monthly, Period.month_range(date(y, 1, 1), date(y, 12, 1))).assign(year=y) for y in years],
        ignore_index=True,
    )
    gm_denoms, denom_notes = denominator_frame(inputs.denominators,
                                               dict(zip(district_table["gemeente_code"], district_table["gemeente_naam"])))
    warnings.extend(denom_notes)
    denoms = denominators_by_year(gm_denoms, district_table, eenheid_code)
    measure_of = {g.label: (options.inhabitants_measure if g.denominator == "inwoners" else options.dwellings_measure)
                  for g in groups}
    trend["measure"] = trend["group"].map(measure_of)
    trend = trend.merge(denoms.rename(columns={"value": "denominator"}), on=["region_code", "year", "measure"],
                        how="left")
    trend["rate"] = rate_per(trend["count"], trend["denominator"], options.per)
    for col, y in (("rate", year), ("rate_previous", year - 1), ("rate_base", options.compare_year),
                   ("denominator", year)):
        src = "denominator" if col == "denominator" else "rate"
        part = trend[trend["year"] == y].loc[:, ["region_code", "group", src]].rename(columns={src: col})
        wide = wide.merge(part, on=["region_code", "group"], how="left")
    if (wide["denominator"].isna() & wide["region_code"].isin(gemeenten)).all() and len(wide):
        warnings.append("Er staan geen noemers (inwoners, woningen) in het warehouse: cijfers per 1.000 ontbreken. "
                        "Laad de CBS-noemers om ze te berekenen.")

    regions = region_table(district_table, eenheid_code, eenheid_naam)
    wide = regions.merge(wide, on="region_code", how="right")
    order = {g.label: i for i, g in enumerate(groups)}
    level_order = {"eenheid": 0, "district": 1, "gemeente": 2}
    wide["group_order"] = wide["group"].map(order)
    wide["level_order"] = wide["level"].map(level_order)
    wide = wide.sort_values(["group_order", "level_order", "district_code", "name"]).drop(
        columns=["group_order", "level_order"]).reset_index(drop=True)
    trend = regions.merge(trend, on="region_code", how="right")

    # The overlast monitor up to December of the year.
    monitor: MonitorResult | None = None
    monitor_error: str | None = None
    try:
        top = overlast_monitor(_read(inputs.monitor_top))
        per_gemeente = overlast_monitor(_read(inputs.monitor_gemeenten))
        monitor = MonitorResult(
            target=top.target, rows=top.rows + per_gemeente.rows, periods=top.periods, info=top.info,
            last_month=top.last_month, units=top.units + per_gemeente.units,
            missing_baseline=per_gemeente.missing_baseline, notes=top.notes + per_gemeente.notes,
        )
    except VeiligheidsbeeldError as exc:
        monitor_error = str(exc)
        warnings.append(f"Overlastmonitor niet beschikbaar: {exc}")

    ranking_result: RankingResult | None = None
    ranking_error: str | None = None
    try:
        ranking_result = jeugd_ranking(_read(inputs.ranking))
        if not ranking_result.complete:
            warnings.append(ranking_result.coverage_text)
    except VeiligheidsbeeldError as exc:
        ranking_error = str(exc)
        warnings.append(f"Jeugdoverlastranglijst niet beschikbaar: {exc}")

    info = inputs.info
    district_names = dict(zip(district_table["district_code"], district_table["district_naam"]))
    summary = summary_sentences(year, eenheid_naam, wide, eenheid_code, groups, options.compare_year, monitor,
                                monitor_error, ranking_result, ranking_error, target, district_names)
    return JaarAnalyse(
        year=year, settings=options, eenheid_code=eenheid_code, eenheid_naam=eenheid_naam,
        districts=districts_of(district_table), groups=groups, changes=wide, trend=trend.reset_index(drop=True),
        monitor=monitor, monitor_error=monitor_error, ranking=ranking_result, ranking_error=ranking_error,
        target=target, info=info, summary=tuple(summary), warnings=tuple(dict.fromkeys(warnings)), stats=stats,
        methods=methods,
    )


def _read(part: object) -> object:
    """A part of :class:`AnnualInputs`, or raise the error that kept it from being read."""
    if isinstance(part, Exception):
        raise part
    return part
