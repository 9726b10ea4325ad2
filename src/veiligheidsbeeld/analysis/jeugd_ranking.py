"""The national jeugdoverlast ranking: every Dutch gemeente by youth-nuisance registrations per
1,000 inhabitants, per year, with the gemeenten of the eenheid flagged in the top ten.

Counts are the registrations of overlast category ``E35`` (Melding overlast jeugd, table 47024NED)
summed over the twelve months of the year from the gemeente rows; inhabitants are the CBS
denominator ``inwoners`` (1 January of the same year) via
:func:`veiligheidsbeeld.warehouse.geography.attach_denominators`; the rate and its exact 95%
interval come from :mod:`veiligheidsbeeld.analysis.rates`.

Small gemeenten swing wildly: with 2,000 inhabitants one registration more or less moves the rate
by 0.5 per 1,000. The ranking therefore only ranks gemeenten with at least
``min_inhabitants`` inhabitants (default 10,000). Smaller gemeenten stay in the table with their
count, rate and interval but without a rank; a small gemeente whose interval lies entirely above
the rate of the last place of the top ten is reported separately ("klein, maar aantoonbaar boven
de top-tiengrens"), so the rule can never hide a real outlier. The rule is stated in every output
(:attr:`RankingResult.rule_text`).

The ranking is only national when the warehouse holds the gemeente rows of all gemeenten; with
fewer (for example only those of the eenheid) the result says so prominently (``complete`` is
False and ``coverage_text`` explains), or, with ``require_complete=True``, raises ``DataError``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from veiligheidsbeeld.analysis.overlast_doel import period_counts, year_period
from veiligheidsbeeld.analysis.rates import rate_ci, rate_per
from veiligheidsbeeld.config import RankingSettings
from veiligheidsbeeld.constants import ALPHA
from veiligheidsbeeld.errors import DataError
from veiligheidsbeeld.formatting import fmt_int
from veiligheidsbeeld.regions import load_district_table
from veiligheidsbeeld.warehouse.geography import STATUS_LATEST, STATUS_MISSING
from veiligheidsbeeld.warehouse.queries import DataInfo, RankingInputs


#: Dutch column names of the export (CSV/Excel), in order.
EXPORT_COLUMNS: dict[str, str] = {
    "year": "jaar",
    "rank": "rang",
    "gemeente_code": "gemeentecode",
    "gemeente_naam": "gemeente",
    "count": "aantal_meldingen",
    "inhabitants": "inwoners",
    "rate": "per_1000_inwoners",
    "ci_lower": "interval_95_ondergrens",
    "ci_upper": "interval_95_bovengrens",
    "ranked": "gerangschikt",
    "in_top": "in_top",
    "small": "kleine_gemeente",
    "above_top_certain": "klein_maar_aantoonbaar_boven_topgrens",
    "in_area": "in_eenheid",
    "district_naam": "district",
    "note": "opmerking",
}


@dataclass(frozen=True)
class RankingResult:
    """The ranking of every gemeente for each year: one row per gemeente and year."""

    settings: RankingSettings
    years: tuple[int, ...]
    frame: pd.DataFrame
    info: DataInfo
    eenheid_naam: str
    n_gemeenten_data: int
    n_gemeenten_known: int
    complete: bool
    coverage_text: str
    notes: tuple[str, ...] = field(default_factory=tuple)
    #: Level of the rate intervals: 1 - ``[statistiek] alpha``.
    level: float = 1 - ALPHA

    @property
    def level_pct(self) -> str:
        return f"{100 * self.level:g}"

    @property
    def rule_text(self) -> str:
        """The ranking rule in plain Dutch (printed with every ranking)."""
        s = self.settings
        return (
            f"Rangorde naar meldingen van jeugdoverlast ({s.type_code}) per {fmt_int(s.per)} inwoners (inwoners op "
            f"1 januari van het jaar). Alleen gemeenten met minstens {fmt_int(s.min_inhabitants)} inwoners krijgen "
            "een rangnummer: in kleinere gemeenten verschuift een handvol meldingen de score sterk. Kleinere "
            f"gemeenten staan wel in de tabel, met aantal, score en {self.level_pct}%-interval; een kleine gemeente "
            f"waarvan zelfs de ondergrens van het interval boven de score van plaats {s.top_n} ligt, wordt apart gemeld."
        )

    def for_year(self, year: int) -> pd.DataFrame:
        out = self.frame[self.frame["year"] == year]
        if out.empty:
            raise DataError(
                f"Geen jeugdoverlastranglijst voor {year}; beschikbare jaren: {', '.join(map(str, self.years))}."
            )
        return out.sort_values(["rank", "rate"], ascending=[True, False], na_position="last").reset_index(drop=True)

    def top(self, year: int) -> pd.DataFrame:
        """The top ``top_n`` of ``year`` (ranked gemeenten only)."""
        frame = self.for_year(year)
        return frame[frame["in_top"]].reset_index(drop=True)

    def cutoff_rate(self, year: int) -> float:
        """The rate of the last place of the top (NaN when fewer gemeenten are ranked)."""
        top = self.top(year)
        return float(top["rate"].min()) if len(top) >= self.settings.top_n else float("nan")

    def area_in_top(self, year: int) -> pd.DataFrame:
        """Gemeenten of the eenheid in the national top of ``year``."""
        top = self.top(year)
        return top[top["in_area"]].reset_index(drop=True)

    def small_above_cutoff(self, year: int) -> pd.DataFrame:
        frame = self.for_year(year)
        return frame[frame["above_top_certain"]].reset_index(drop=True)

    def target_status(self, year: int | None = None) -> str:
        """Plain Dutch status of the jeugd target ('gehaald' / 'niet gehaald', with the gemeenten)."""
        year = self.settings.target_year if year is None else year
        if year not in self.years:
            return f"onbekend: geen ranglijst voor {year}"
        in_top = self.area_in_top(year)
        small = self.small_above_cutoff(year)
        small_area = small[small["in_area"]]
        prefix = "" if self.complete else "voorlopig (ranglijst niet landelijk volledig): "
        frame = self.for_year(year)
        n_ranked = int(frame["ranked"].sum())
        if n_ranked < self.settings.top_n:
            return (f"onbekend: in {year} zijn maar {n_ranked} gemeenten gerangschikt, minder dan de top "
                    f"{self.settings.top_n} (aantallen of inwonertallen ontbreken)")
        unknown = frame[frame["in_area"] & frame["rate"].isna()]
        if in_top.empty and small_area.empty:
            if len(unknown):
                names = ", ".join(unknown["gemeente_naam"].head(8))
                more = f" en {len(unknown) - 8} andere" if len(unknown) > 8 else ""
                return (f"{prefix}onbekend: geen gerangschikte gemeente van {self.eenheid_naam} in de landelijke top "
                        f"{self.settings.top_n} van {year}, maar zonder score (aantal of inwonertal ontbreekt): "
                        f"{names}{more}")
            return f"{prefix}gehaald: geen gemeente van {self.eenheid_naam} in de landelijke top {self.settings.top_n} van {year}"
        names = [f"{r.gemeente_naam} (plaats {int(r.rank)})" for r in in_top.itertuples()]
        names += [f"{r.gemeente_naam} (klein, aantoonbaar boven de topgrens)" for r in small_area.itertuples()]
        return f"{prefix}niet gehaald: {', '.join(names)} in de landelijke top {self.settings.top_n} van {year}"

    def export_frame(self) -> pd.DataFrame:
        frame = self.frame.sort_values(["year", "rank", "rate"], ascending=[True, True, False], na_position="last")
        # The interval columns name the level used (95 by default).
        names = {**EXPORT_COLUMNS, "ci_lower": f"interval_{self.level_pct}_ondergrens",
                 "ci_upper": f"interval_{self.level_pct}_bovengrens"}
        return frame.loc[:, list(names)].rename(columns=names).reset_index(drop=True)

    def source_line(self) -> str:
        return self.info.source_line()


def rank_frame(frame: pd.DataFrame, settings: RankingSettings, level: float = 1 - ALPHA) -> pd.DataFrame:
    """Add rate, interval (at ``level``), rank and the small-gemeente flags to ``frame`` (one year).

    Needs the columns ``count`` (NaN = unknown) and ``inhabitants`` (NaN = unknown).
    """
    out = frame.copy()
    out["rate"] = rate_per(out["count"], out["inhabitants"], settings.per)
    low, high = rate_ci(out["count"], out["inhabitants"], settings.per, level)
    out["ci_lower"], out["ci_upper"] = low, high
    out["small"] = out["inhabitants"] < settings.min_inhabitants
    out["ranked"] = out["rate"].notna() & ~out["small"]
    ranks = out.loc[out["ranked"], "rate"].rank(method="min", ascending=False)
    out["rank"] = pd.Series(ranks, index=out.index).reindex(out.index).astype("Int64")
    out["in_top"] = (out["rank"] <= settings.top_n).fillna(False).astype(bool)
    top_rates = out.loc[out["in_top"], "rate"]
    cutoff = float(top_rates.min()) if len(top_rates) >= settings.top_n else np.nan
    out["above_top_certain"] = (out["small"] & (out["ci_lower"] > cutoff)).fillna(False).astype(bool)
    return out


def jeugd_ranking(inputs: RankingInputs, *, require_complete: bool = False) -> RankingResult:
    """Rank every gemeente in the warehouse by jeugdoverlast per 1,000 inhabitants, per complete
    year, over what :func:`veiligheidsbeeld.warehouse.queries.ranking_inputs` read (the years are
    checked there).

    Raises ``DataError`` when there are no gemeente rows at all, no inhabitants, or
    (``require_complete``) when the warehouse does not hold every gemeente.
    """
    settings, ranking, wanted, names = inputs.settings, inputs.ranking, list(inputs.years), dict(inputs.names)
    facts = inputs.facts
    level = 1 - settings.statistiek.alpha
    if facts.empty:
        raise DataError(
            f"Het warehouse bevat geen gemeenterijen van {ranking.type_code} in tabel {ranking.table_id}; "
            "een ranglijst van gemeenten is niet mogelijk."
        )
    with_data = sorted(set(facts["region_code"]))
    known = sorted(set(names) | set(with_data))
    table = load_district_table(settings.area)
    area = dict(zip(table["gemeente_code"], table["district_naam"]))
    eenheid_naam = str(table["eenheid_naam"].iloc[0]) if not table.empty else settings.area.eenheid_naam

    only_area = set(with_data) <= set(area)
    complete = len(with_data) == len(known) and not only_area
    if complete:
        coverage = f"Landelijke ranglijst over alle {fmt_int(len(with_data))} gemeenten in de politiegegevens."
    else:
        coverage = (
            f"LET OP: geen volledige landelijke ranglijst. Deze ranglijst omvat alleen de {fmt_int(len(with_data))} "
            f"gemeenten met jeugdoverlast in het warehouse, van de {fmt_int(len(known))} bekende gemeenten"
            + (f", alleen uit {eenheid_naam}" if only_area else "")
            + ". Een plaats in deze lijst is dus geen landelijke plaats. Haal tabel "
            f"{ranking.table_id} op voor alle gemeenten (gemeenterijen) voor een landelijke ranglijst."
        )
        if require_complete:
            raise DataError(coverage)

    counts = period_counts(facts, [year_period(y) for y in wanted])
    rows = []
    for year in wanted:
        for code in with_data:
            pc = counts.get((code, ranking.type_code, str(year)))
            rows.append({
                "year": year,
                "gemeente_code": code,
                "gemeente_naam": names.get(code, code),
                "count": float(pc.count) if pc is not None and pc.count is not None else np.nan,
                "count_note": (pc.reason if pc is not None else "geen gegevens") or "",
                "provisional": bool(pc.provisional) if pc is not None else False,
            })
    frame = pd.DataFrame(rows)
    if isinstance(inputs.inhabitants, DataError):
        raise inputs.inhabitants
    frame = frame.merge(inputs.inhabitants, on=["year", "gemeente_code"], how="left", validate="one_to_one")
    # No denominators loaded (or none for these years): every status is 'ontbreekt'.
    if (frame["inhabitants_status"] == STATUS_MISSING).all():
        raise DataError(
            f"Het warehouse heeft geen '{ranking.denominator}' voor de gemeenten in {', '.join(map(str, wanted))}; "
            "zonder inwonertal is er geen ranglijst per 1.000 inwoners. Laad eerst de CBS-noemers."
        )
    ranked = [rank_frame(part, ranking, level) for _, part in frame.groupby("year", sort=True)]
    frame = pd.concat(ranked, ignore_index=True)
    frame["in_area"] = frame["gemeente_code"].isin(area)
    frame["district_naam"] = frame["gemeente_code"].map(area).fillna("")
    frame["note"] = [_note(r, ranking) for r in frame.itertuples()]

    notes = []
    no_denominator = frame[frame["inhabitants_status"] == STATUS_MISSING]
    if len(no_denominator):
        years = ", ".join(str(int(y)) for y in sorted(set(no_denominator["year"])))
        notes.append(
            f"Voor {len(no_denominator)} gemeente/jaar-combinaties ontbreekt het inwonertal ({years}); die zijn niet "
            "gerangschikt (de reden staat per gemeente)."
        )
    info = inputs.info
    assert info is not None  # read whenever there are facts
    return RankingResult(
        settings=ranking, years=tuple(wanted), frame=frame.reset_index(drop=True), info=info,
        eenheid_naam=eenheid_naam, n_gemeenten_data=len(with_data), n_gemeenten_known=len(known),
        complete=complete, coverage_text=coverage, notes=tuple(notes), level=level,
    )


def _note(r: Any, s: RankingSettings) -> str:
    """Dutch note for one row of the ranking frame (an ``itertuples`` row)."""
    parts = []
    if r.count_note:
        parts.append(f"aantal onbekend ({r.count_note})")
    if r.inhabitants_status == STATUS_MISSING:
        # Why (police layout: a predecessor not published, or a split gemeente), when known.
        reason = getattr(r, "inhabitants_reason", "") or ""
        parts.append(f"inwonertal ontbreekt ({reason})" if reason else "inwonertal ontbreekt")
    elif r.inhabitants_status == STATUS_LATEST:
        parts.append(f"inwonertal van {int(r.inhabitants_year)} (laatst beschikbaar)")
    if r.small and not pd.isna(r.inhabitants):
        parts.append(f"minder dan {fmt_int(s.min_inhabitants)} inwoners: geen rangnummer")
    if r.above_top_certain:
        parts.append(f"klein, maar aantoonbaar boven de grens van de top {s.top_n}")
    if r.provisional:
        parts.append("voorlopige cijfers")
    return "; ".join(parts)
