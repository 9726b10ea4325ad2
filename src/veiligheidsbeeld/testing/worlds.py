"""Simulated worlds where the truth is known, to measure what the report's flags mean.

A world is monthly woninginbraak and High Impact Crime counts for every gemeente of the eenheid
(the real district table), 2017–2023, **synthetic**: each gemeente gets a level, the months the
real national seasonal pattern of each crime code (from ``../shared``), and optionally
multiplicative gamma noise per month (counts more variable than Poisson). Planted changes
multiply chosen gemeenten's woninginbraak in the last 12 months. :func:`measure` runs the real
analysis (:func:`veiligheidsbeeld.analysis.woninginbraak.analyse`) on a world and counts:

* chance flags: flagged comparisons (gemeente or district rows of a district report) where
  nothing was planted;
* control-chart signals in the judged months of gemeenten where nothing was planted;
* planted changes found (their last-12-months comparison flagged).

``python -m veiligheidsbeeld.testing.worlds`` prints the rates over several seeds (the README's
methods section quotes them).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from veiligheidsbeeld.analysis.engine import ReportPeriod
from veiligheidsbeeld.analysis.woninginbraak import analyse, month_grid
from veiligheidsbeeld.config import StatistiekSettings, TweewekelijksSettings
from veiligheidsbeeld.regions import load_district_table
from veiligheidsbeeld.testing.synthetic import find_shared_dir, politie_dir
from veiligheidsbeeld.warehouse.queries import DataInfo

FIRST, LATEST, REPORT_DATE = date(2017, 1, 1), date(2023, 12, 1), date(2024, 1, 15)
#: Median monthly count per gemeente of each code (the spread between gemeenten is lognormal).
CODE_LEVELS = {"1.1.1": 6.0, "1.4.6": 0.6, "1.4.7": 0.15, "1.4.3": 1.0, "1.4.4": 5.0, "1.4.5": 9.0}
TITLES = {"1.1.1": "1.1.1 Diefstal/inbraak woning", "1.4.6": "1.4.6 Straatroof", "1.4.7": "1.4.7 Overval",
          "1.4.3": "1.4.3 Openlijk geweld (persoon)", "1.4.4": "1.4.4 Bedreiging", "1.4.5": "1.4.5 Mishandeling"}


@dataclass(frozen=True)
class World:
    kind: str  # "poisson", "seizoen", "seizoen+overdispersie"
    seed: int
    facts: pd.DataFrame
    dwellings: pd.DataFrame
    planted: tuple[str, ...]  # gemeenten whose woninginbraak rose in the last 12 months
    factor: float


def national_season() -> dict[str, np.ndarray]:
    """Monthly seasonal index (January first, mean 1) of each code, from the real national
    series 2012–2023."""
    path = politie_dir(find_shared_dir()) / "NL_misdrijven_per_maand_2012_2023.csv"
    sums: dict[str, np.ndarray] = {code: np.zeros(12) for code in TITLES}
    by_title = {t: c for c, t in TITLES.items()}
    with path.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            code = by_title.get(row["crime_type_code"])
            if code and row["frequency"]:
                sums[code][int(row["date"][5:7]) - 1] += float(row["frequency"])
    return {code: s / s.mean() for code, s in sums.items()}


def make_world(kind: str, seed: int, *, n_planted: int = 3, factor: float = 1.8, noise_cv: float = 0.2) -> World:
    """A synthetic world; ``n_planted`` of the gemeenten with at least 15 woninginbraken a month
    get ``factor`` times their woninginbraak in the last 12 months (0: no change anywhere)."""
    rng = np.random.default_rng(seed)
    table = load_district_table()
    gemeenten = list(table["gemeente_code"])
    months = month_grid(FIRST, LATEST)
    month_of_year = np.array([m.month - 1 for m in months])
    season = national_season() if kind != "poisson" else {c: np.ones(12) for c in TITLES}
    size = rng.lognormal(0.0, 0.8, len(gemeenten))  # gemeente size, shared by the codes
    levels = {code: median * size for code, median in CODE_LEVELS.items()}
    big = [g for g, lvl in zip(gemeenten, levels["1.1.1"], strict=True) if lvl >= 15]
    planted = tuple(rng.choice(big, size=min(n_planted, len(big)), replace=False)) if n_planted else ()
    last_year = np.array([m > date(2022, 12, 1) for m in months])
    rows = []
    for code in TITLES:
        mean = levels[code][:, None] * season[code][month_of_year][None, :]
        if code == "1.1.1":
            for g in planted:
                mean[gemeenten.index(g), last_year] *= factor
        if kind == "seizoen+overdispersie":
            mean = mean * rng.gamma(1 / noise_cv**2, noise_cv**2, mean.shape)
        counts = rng.poisson(mean)
        frame = pd.DataFrame(counts, index=gemeenten, columns=months).stack().rename("count").reset_index()
        frame.columns = ["region_code", "month", "count"]
        rows.append(frame.assign(type_code=code))
    facts = pd.concat(rows, ignore_index=True).astype({"count": "float64"})
    dwellings = pd.DataFrame({"region_code": gemeenten, "dwellings": np.round(size * 12_000), "year": 2023})
    return World(kind, seed, facts, dwellings, planted, factor)


@dataclass(frozen=True)
class Measured:
    district_reports: int
    chance_flags: int
    unchanged_gemeenten: int
    chart_signals: int
    planted: int
    found: int
    tests: int


def measure(world: World, stats: StatistiekSettings | None = None) -> Measured:
    """Run the real analysis on ``world`` and count what its flags claim."""
    stats = stats or StatistiekSettings()
    table = load_district_table()
    options = TweewekelijksSettings()
    regions = pd.DataFrame({"code": table["gemeente_code"], "name": table["gemeente_naam"], "level": "GM",
                            "gemeente_code": table["gemeente_code"], "wijk_code": None})
    period = ReportPeriod.for_latest(LATEST, options, stats, REPORT_DATE)
    info = DataInfo("47022NED", "synthetische wereld", "sim", "2024-01-01", True, FIRST, LATEST)
    a = analyse(world.facts, regions, table, world.dwellings, period=period, options=options, stats=stats, info=info)
    ch = a.changes
    district_of = dict(zip(table["gemeente_code"], table["district_code"], strict=True))
    planted_districts = {district_of[g] for g in world.planted}
    crime = ch["group"] == options.crime_label
    truly_changed = crime & (ch["region_code"].isin(world.planted)
                             | (ch["level"].eq("district") & ch["region_code"].isin(planted_districts)))
    reported = ch["level"].isin(["gemeente", "district"])
    chance = int((reported & ch["significant"] & ~truly_changed).sum())
    rolling = ch[crime & (ch["comparison"] == "12_maanden")].set_index("region_code")
    found = sum(bool(rolling.loc[g, "significant"]) for g in world.planted)
    unchanged = [g for g in a.control_charts if g not in world.planted]
    signals = sum(bool(a.judged_signals(g)) for g in unchanged)
    return Measured(len(a.districts), chance, len(unchanged), signals, len(world.planted), found,
                    int(ch.loc[reported, "p_value"].notna().sum()))


def rates(kind: str, seeds: range, **world_kwargs: float) -> dict[str, float]:
    """Averages over ``seeds``: chance flags per district report, share of unchanged gemeenten
    with a control-chart signal in the judged months, share of planted changes found."""
    results = [measure(make_world(kind, seed, **world_kwargs)) for seed in seeds]  # type: ignore[arg-type]
    return {
        "chance_flags_per_district_report": sum(r.chance_flags for r in results)
        / sum(r.district_reports for r in results),
        "chart_signal_share": sum(r.chart_signals for r in results) / sum(r.unchanged_gemeenten for r in results),
        "found_share": (sum(r.found for r in results) / sum(r.planted for r in results))
        if any(r.planted for r in results) else float("nan"),
        "tests_per_world": sum(r.tests for r in results) / len(results),
    }


if __name__ == "__main__":  # pragma: no cover - prints the README's table
    for world_kind in ("poisson", "seizoen", "seizoen+overdispersie"):
        for planted_n in (0, 3):
            print(world_kind, planted_n, rates(world_kind, range(10), n_planted=planted_n))
