"""Deterministic snapshots of the CBS denominator tables, with SYNTHETIC numbers.

:func:`build_cbs_snapshot` writes ``<out_root>/<table_id>/<Entity>.json`` in the layout of
``cbsodata.download_data(table_id, dir=...)`` for exactly the tables that
:func:`veiligheidsbeeld.sources.denominators.table_specs` asks for by default, plus one
"Kerncijfers wijken en buurten <year>" table per requested wijk/buurt year (and, on request, the
monthly population table). :class:`~veiligheidsbeeld.sources.odata.SnapshotSource` (and the stub
server of :mod:`veiligheidsbeeld.testing.odata_stub`) serve the result like the real tables, so
:func:`~veiligheidsbeeld.sources.denominators.pull_denominators` reads it unchanged.

What is real and what is not:

* real: the table ids, the dimension and column keys that the denominator specs rely on (the
  totals ``T001038``, ``10000``, ``T001019``, ``A045364`` and the measure titles), and the
  gemeente, wijk and buurt codes and names (from the police region list
  ``47022NED_WijkenEnBuurten.csv``, 2023 layout); the gemeente tables publish year Y on the layout
  of 1 January Y, like CBS: before a merger the predecessors (real codes and names from
  ``reference/gemeente_lineage.csv``) appear instead of today's gemeente, each a fixed share of it
  (Zevenaar and Rijnwaarden until 2017, Berg en Dal as Groesbeek, Millingen aan de Rijn and Ubbergen
  until 2014);
* illustrative: the keys of the non-total categories (age groups, marital status, …) and of the
  extra columns; they give the tables their real shape (several categories per dimension, more
  columns than the pipeline reads) but are not checked against CBS;
* SYNTHETIC: every number. Per gemeente a population of about 6,000 … 180,000 that follows from
  its number of buurten (with noise), growing 0.3–0.8% a year; households = population / 2.15–2.3;
  dwellings = population / 2.1–2.25, with a stock at the end of year ``y`` equal to the stock at the
  start of ``y + 1`` and mutations (new construction, demolition, …) that add up. Per wijk/buurt
  lognormal buurt sizes summing (up to rounding) to the gemeente, a share of very small buurten
  (fewer than 50 dwellings) and a few suppressed (null) buurt cells.

The numbers are labelled wherever they appear: the TableInfos title ("SYNTHETISCH — …") and
summary, and a ``SYNTHETISCH.txt`` beside the entity files of each table. National and
provincial rows are left out: a synthetic "Nederland" would look like a real figure.

Every draw comes from a generator seeded by (seed, kind of draw, gemeente[, year]), so a
gemeente's figures do not depend on which other gemeenten or years are built.

Boundaries: :func:`copy_boundaries` puts the real gemeente TopoJSON where the ingest looks in a
snapshot directory (``boundaries/gemeente_<year>.topojson``); :func:`synthetic_wijk_boundaries`
invents wijk boundaries (real wijk boundaries are not available offline) by splitting each
gemeente polygon into as many Voronoi cells as it has wijken.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from veiligheidsbeeld.config import GeographySettings
from veiligheidsbeeld.sources import denominators as D

log = logging.getLogger(__name__)

SYNTHETIC_PREFIX = "SYNTHETISCH — "
DEFAULT_SEED = 20151007
DEFAULT_MODIFIED = "2024-07-01T02:00:00"
#: Width to which the "Kerncijfers wijken en buurten" tables pad WijkenEnBuurten keys.
KWB_KEY_WIDTH = 10
#: Every series is drawn over this fixed span, so a value never depends on the years asked for.
SERIES_FIRST, SERIES_LAST = 1990, 2060
BASE_YEAR = 2012
#: Share of buurten that are very small (industrial estates, rural remainders).
TINY_BUURT_SHARE = 0.07
#: Share of buurt cells published as null (suppressed), per measure.
SUPPRESS_SHARE = 0.02

# Stream tags keep the seed sequences of different kinds of draws apart.
(
    _TAG_SIZE,
    _TAG_GROWTH,
    _TAG_HOUSEHOLDS,
    _TAG_DWELLINGS,
    _TAG_SPLITS,
    _TAG_MUTATIONS,
    _TAG_MONTHS,
    _TAG_BUURT_WEIGHTS,
    _TAG_BUURT_YEAR,
    _TAG_SUPPRESS,
    _TAG_VORONOI,
    _TAG_LAYOUT,
) = range(12)


def _rng(seed: int, tag: int, *parts: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), tag, *(int(p) for p in parts)])


# ============================================================================================
# Regions
# ============================================================================================


@dataclass(frozen=True)
class _Area:
    """One gemeente with its wijken and buurten (real codes and names)."""

    code: str  # "GM0153"
    name: str
    wijken: tuple[tuple[str, str], ...]  # (code, name), sorted by code
    buurten: tuple[tuple[str, str], ...]  # (code, name), sorted by code

    @property
    def number(self) -> int:
        return int(self.code[2:])

    def leaves(self) -> list[str]:
        """Buurten, plus every wijk without buurten (its own leaf)."""
        with_buurten = {"WK" + b[2:8] for b, _ in self.buurten}
        return [b for b, _ in self.buurten] + [w for w, _ in self.wijken if w not in with_buurten]


def read_region_list(region_list: pd.DataFrame | str | Path) -> pd.DataFrame:
    """The police region list (``Key``, ``Title``, ``Municipality``, …) with a stripped ``code``."""
    if isinstance(region_list, (str, Path)):
        frame = pd.read_csv(region_list, dtype=str, keep_default_na=False)
    else:
        frame = region_list.copy()
    missing = [c for c in ("Key", "Title", "Municipality") if c not in frame.columns]
    if missing:
        raise ValueError(f"region list lacks column(s) {', '.join(missing)} (expected the 47022NED WijkenEnBuurten list)")
    frame["code"] = frame["Key"].astype(str).str.strip().str.upper()
    frame["Municipality"] = frame["Municipality"].fillna("").astype(str).str.strip().str.upper()
    frame["Title"] = frame["Title"].fillna("").astype(str).str.strip()
    return frame


def _areas(regions: pd.DataFrame, gemeenten: Iterable[str]) -> list[_Area]:
    selected = list(dict.fromkeys(str(g).strip().upper() for g in gemeenten))
    if not selected:
        raise ValueError("no gemeenten given")
    codes = regions["code"].tolist()
    titles = regions["Title"].tolist()
    municipalities = regions["Municipality"].tolist()
    names = dict(zip(codes, titles))
    unknown = [g for g in selected if not g.startswith("GM") or g not in names]
    if unknown:
        raise ValueError(f"unknown gemeente code(s): {', '.join(unknown)} (not in the region list; expected e.g. GM0153)")
    members: dict[str, dict[str, list[tuple[str, str]]]] = {g: {"WK": [], "BU": []} for g in selected}
    for code, title, municipality in zip(codes, titles, municipalities):
        kind = code[:2]
        if municipality in members and kind in ("WK", "BU"):
            members[municipality][kind].append((code, title))
    return [
        _Area(code, names[code], tuple(sorted(members[code]["WK"])), tuple(sorted(members[code]["BU"])))
        for code in sorted(selected)
    ]


# ============================================================================================
# The synthetic model of one gemeente
# ============================================================================================


@dataclass
class _Model:
    """Yearly series of one gemeente over SERIES_FIRST … SERIES_LAST (index = year - SERIES_FIRST)."""

    area: _Area
    population: np.ndarray  # inhabitants on 1 January (int)
    households: np.ndarray  # private households on 1 January (int)
    dwellings: np.ndarray  # dwelling stock on 1 January (int); end of year y = start of y + 1

    def at(self, series: np.ndarray, year: int) -> int:
        return int(series[year - SERIES_FIRST])


def _model(seed: int, area: _Area) -> _Model:
    n_years = SERIES_LAST - SERIES_FIRST + 1
    years = np.arange(SERIES_FIRST, SERIES_LAST + 1)
    size = _rng(seed, _TAG_SIZE, area.number)
    # Bigger gemeenten have more buurten: about 1,800 inhabitants per buurt, with noise.
    raw = 1_800.0 * max(1, len(area.buurten)) * size.lognormal(0.0, 0.25)
    low = 6_000.0 * size.uniform(1.0, 1.3)
    high = 168_000.0 * size.uniform(0.94, 1.0)  # ~180,000 after a decade of growth
    base = float(np.clip(raw, low, high))

    growth = _rng(seed, _TAG_GROWTH, area.number)
    rate = growth.uniform(0.003, 0.008)
    yearly = np.clip(rate + growth.normal(0.0, 0.0012, n_years), 0.002, 0.010)
    log_level = np.concatenate([[0.0], np.cumsum(np.log1p(yearly[:-1]))])
    log_level -= log_level[BASE_YEAR - SERIES_FIRST]
    population = np.rint(base * np.exp(log_level)).astype(np.int64)

    hh = _rng(seed, _TAG_HOUSEHOLDS, area.number)
    size_per_household = np.clip(
        hh.uniform(2.19, 2.30) - 0.004 * (years - BASE_YEAR) + hh.normal(0.0, 0.004, n_years), 2.15, 2.30
    )
    households = np.rint(population / size_per_household).astype(np.int64)

    dw = _rng(seed, _TAG_DWELLINGS, area.number)
    persons_per_dwelling = np.clip(dw.uniform(2.14, 2.25) - 0.003 * (years - BASE_YEAR), 2.10, 2.25)
    dwellings = np.maximum.accumulate(np.rint(population / persons_per_dwelling).astype(np.int64))
    return _Model(area, population, households, dwellings)


def _scaled(m: _Model, code: str, name: str, share: float) -> _Model:
    """A part of ``m`` (a predecessor gemeente): every series times ``share``."""
    return _Model(
        _Area(code, name, (), ()),
        np.rint(m.population * share).astype(np.int64),
        np.rint(m.households * share).astype(np.int64),
        np.maximum.accumulate(np.rint(m.dwellings * share).astype(np.int64)),
    )


def _layout_models(models: Sequence[_Model], years: Sequence[int], seed: int) -> list[tuple[_Model, list[int]]]:
    """Per model to publish, the years it is published in: CBS publishes year Y on the gemeente
    layout of 1 January Y, so before a merger today's gemeente appears as its predecessors (real
    codes and names from the lineage), each a fixed share of today's series (the parts add up to
    today's gemeente, up to rounding). A gemeente later split (opsplitsing) is not modelled: today's
    gemeente is published itself then."""
    from veiligheidsbeeld import regions as R

    lineage = R.load_lineage()
    names = dict(zip(lineage["old_code"], lineage["old_name"]))
    out: list[tuple[_Model, list[int]]] = []
    for m in models:
        atoms = R.layout_parts(m.area.code, SERIES_FIRST).parts
        if len(atoms) < 2 or any(R.layout_parts(m.area.code, y).splits for y in years):
            out.append((m, list(years)))
            continue
        # The gemeente that kept its code is usually the largest part.
        alpha = np.array([12.0 if a == m.area.code else 4.0 for a in atoms])
        weights = dict(zip(atoms, _rng(seed, _TAG_LAYOUT, m.area.number).dirichlet(alpha)))
        published: dict[tuple[str, tuple[str, ...]], tuple[_Model, list[int]]] = {}
        for year in years:
            for part in R.layout_parts(m.area.code, year).parts:
                covered = tuple(a for a in atoms if R.successor(a, year, lineage) == part)
                if (part, covered) not in published:
                    model = m if part == m.area.code and len(covered) == len(atoms) else _scaled(
                        m, part, m.area.name if part == m.area.code else names.get(part, part),
                        float(sum(weights[a] for a in covered)))
                    published[(part, covered)] = (model, [])
                published[(part, covered)][1].append(year)
        out.extend(published.values())
    return out


def _layout_areas(models: Sequence[_Model], years: Sequence[int], seed: int, areas: Sequence[_Area]) -> list[_Area]:
    """The areas of every gemeente published in some year (today's and predecessors), by code."""
    by_code = {a.code: a for a in areas}
    for m, _ in _layout_models(models, years, seed):
        by_code.setdefault(m.area.code, m.area)
    return [by_code[c] for c in sorted(by_code)]


def _check_years(years: Iterable[int], what: str) -> list[int]:
    out = sorted({int(y) for y in years})
    bad = [y for y in out if not SERIES_FIRST <= y < SERIES_LAST]
    if bad:
        raise ValueError(f"{what}: year(s) {bad} outside {SERIES_FIRST} … {SERIES_LAST - 1}")
    return out


# ============================================================================================
# Entity helpers
# ============================================================================================


def _write_json(directory: Path, name: str, data: Any) -> None:
    # json.dumps (one shot) uses the C encoder; json.dump to a file does not.
    (directory / f"{name}.json").write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")


def _dimension(i: int, key: str, title: str, kind: str = "Dimension") -> dict[str, Any]:
    return {"ID": i, "Position": str(i), "ParentID": None, "Type": kind, "Key": key, "Title": title, "Description": None}


def _topic(i: int, key: str, title: str, unit: str = "aantal", parent: int | None = None, decimals: int = 0) -> dict[str, Any]:
    return {
        "ID": i,
        "Position": str(i),
        "ParentID": parent,
        "Type": "Topic",
        "Key": key,
        "Title": title,
        "Description": None,
        "Datatype": "Double" if decimals else "Long",
        "Unit": unit,
        "Decimals": decimals,
        "Default": "Missing",
        "PresentationType": "Absolute",
    }


def _topic_group(i: int, title: str) -> dict[str, Any]:
    return {"ID": i, "Position": str(i), "ParentID": None, "Type": "TopicGroup", "Key": "", "Title": title, "Description": None}


def _categories(rows: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
    return [{"Key": k, "Title": t, "Description": None, "CategoryGroupID": None} for k, t in rows]


def _year_periods(years: Sequence[int], provisional_last: bool = False) -> list[dict[str, Any]]:
    last = max(years)
    return [
        {
            "Key": f"{y}JJ00",
            "Title": str(y),
            "Description": None,
            "Status": "Voorlopig" if provisional_last and y == last else "Definitief",
        }
        for y in years
    ]


def _summary(seed: int) -> str:
    return (
        "SYNTHETISCHE TESTDATA: alle cijfers in deze tabel zijn verzonnen "
        f"(deterministisch gegenereerd, seed {seed}) en geven geen werkelijke bevolking, huishoudens "
        "of woningen weer. Alleen de tabelvorm en de regiocodes zijn echt."
    )


def _notice(table_id: str, label: str, seed: int, areas: Sequence[_Area], years: Sequence[int]) -> str:
    return "\n".join(
        [
            f"{SYNTHETIC_PREFIX}{table_id} ({label})",
            "",
            _summary(seed),
            "",
            "SYNTHETIC TEST DATA: every number in this table is invented",
            "(veiligheidsbeeld.testing.synthetic_cbs); only the table shape and the region codes are real.",
            "Never publish these figures or use them as denominators of real rates.",
            "",
            f"jaren: {', '.join(map(str, years))}",
            f"seed: {seed}",
            f"gemeenten: {', '.join(a.code for a in areas)}",
            "",
        ]
    )


def _finish_table(
    directory: Path,
    *,
    table_id: str,
    label: str,
    short_title: str,
    props: list[dict[str, Any]],
    dimensions: dict[str, list[dict[str, Any]]],
    rows: list[dict[str, Any]],
    seed: int,
    modified: str,
    areas: Sequence[_Area],
    years: Sequence[int],
    frequency: str = "Perjaar",
) -> None:
    summary = _summary(seed)
    notice = _notice(table_id, label, seed, areas, years)
    infos = {
        "ID": 0,
        "Title": SYNTHETIC_PREFIX + label,
        "ShortTitle": SYNTHETIC_PREFIX + short_title,
        "Identifier": table_id,
        "Summary": summary,
        "Modified": modified,
        "MetaDataModified": modified,
        "ReasonDelivery": "Actualisering",
        "ExplanatoryText": "",
        "OutputStatus": "Regulier",
        "Source": "SYNTHETISCH (veiligheidsbeeld.testing.synthetic_cbs); geen CBS-cijfers",
        "Language": "nl",
        "Catalog": "CBS",
        "Frequency": frequency,
        "Period": f"{min(years)}" if len(years) == 1 else f"{min(years)}-{max(years)}",
        "ShortDescription": summary,
        "Description": notice,
        "DefaultPresentation": "",
        "DefaultSelection": "",
        "GraphTypes": "Table,Bar,Line",
        "RecordCount": len(rows),
        "ColumnCount": len([p for p in props if p["Type"] != "TopicGroup"]),
        "SearchPriority": "2",
    }
    _write_json(directory, "TableInfos", [infos])
    _write_json(directory, "DataProperties", props)
    for name, entity in dimensions.items():
        _write_json(directory, name, entity)
    _write_json(directory, "CategoryGroups", [])
    _write_json(directory, "TypedDataSet", rows)
    (directory / "SYNTHETISCH.txt").write_text(notice, encoding="utf-8")


def _split(total: float, shares: np.ndarray) -> list[int]:
    """Integer parts of ``total`` in proportion to ``shares`` that add up exactly (largest remainder)."""
    total = int(round(total))
    exact = shares / shares.sum() * total
    parts = np.floor(exact).astype(np.int64)
    rest = total - int(parts.sum())
    if rest > 0:
        parts[np.argsort(-(exact - parts), kind="stable")[:rest]] += 1
    return parts.tolist()


# ============================================================================================
# Gemeente tables
# ============================================================================================


GESLACHT = (("T001038", "Totaal mannen en vrouwen"), ("3000   ", "Mannen"), ("4000   ", "Vrouwen"))
LEEFTIJD = (
    ("10000", "Totaal"),
    ("10010", "Jonger dan 20 jaar"),
    ("53925", "20 tot 65 jaar"),
    ("21700", "65 jaar of ouder"),
)
BURGERLIJKE_STAAT = (
    ("T001019", "Totaal burgerlijke staat"),
    ("1010   ", "Ongehuwd"),
    ("1020   ", "Gehuwd"),
    ("1050   ", "Verweduwd"),
    ("1080   ", "Gescheiden"),
)
LEEFTIJD_REFERENTIEPERSOON = (
    ("10000", "Totaal"),
    ("52052", "Jonger dan 30 jaar"),
    ("53105", "30 tot 45 jaar"),
    ("53715", "45 tot 65 jaar"),
    ("21700", "65 jaar of ouder"),
)
GEBRUIKSFUNCTIE = (
    ("T001419", "Woning en niet-woning totaal"),
    ("A045364", "Woningen"),
    ("A045365", "Niet-woningen"),
)


def _regions_entity(areas: Sequence[_Area]) -> list[dict[str, Any]]:
    return [{"Key": a.code, "Title": a.name, "Description": None} for a in areas]


def _population_table(
    directory: Path, models: Sequence[_Model], years: Sequence[int], seed: int, modified: str, areas: Sequence[_Area]
) -> None:
    spec = D.POPULATION
    props = [
        _dimension(0, "Geslacht", "Geslacht"),
        _dimension(1, "Leeftijd", "Leeftijd"),
        _dimension(2, "BurgerlijkeStaat", "Burgerlijke staat"),
        _dimension(3, "RegioS", "Regio's", "GeoDimension"),
        _dimension(4, "Perioden", "Perioden", "TimeDimension"),
        _topic(5, "BevolkingOp1Januari_1", "Bevolking op 1 januari"),
        _topic(6, "GemiddeldeBevolking_2", "Gemiddelde bevolking"),
    ]
    rows: list[dict[str, Any]] = []
    for m, years_of_m in _layout_models(models, years, seed):
        rng = _rng(seed, _TAG_SPLITS, m.area.number, 1)
        men = rng.uniform(0.488, 0.505)
        young, old = rng.uniform(0.19, 0.25), rng.uniform(0.17, 0.27)
        sex = np.array([1.0, men, 1.0 - men])
        age = np.array([1.0, young, 1.0 - young - old, old])
        state = np.concatenate([[1.0], rng.dirichlet([47.0, 37.0, 5.0, 8.0])])
        for year in years_of_m:
            p1 = m.at(m.population, year)
            avg = (p1 + m.at(m.population, year + 1)) / 2.0
            for gi, (gk, _) in enumerate(GESLACHT):
                for li, (lk, _) in enumerate(LEEFTIJD):
                    for si, (sk, _) in enumerate(BURGERLIJKE_STAAT):
                        f = sex[gi] * age[li] * state[si]
                        rows.append(
                            {
                                "ID": len(rows),
                                "Geslacht": gk,
                                "Leeftijd": lk,
                                "BurgerlijkeStaat": sk,
                                "RegioS": m.area.code,
                                "Perioden": f"{year}JJ00",
                                "BevolkingOp1Januari_1": int(round(p1 * f)),
                                "GemiddeldeBevolking_2": int(round(avg * f)),
                            }
                        )
    _finish_table(
        directory,
        table_id=spec.table_id,
        label=spec.label,
        short_title="Bevolking op 1 januari en gemiddeld",
        props=props,
        dimensions={
            "Geslacht": _categories(GESLACHT),
            "Leeftijd": _categories(LEEFTIJD),
            "BurgerlijkeStaat": _categories(BURGERLIJKE_STAAT),
            "RegioS": _regions_entity(areas),
            "Perioden": _year_periods(years),
        },
        rows=rows,
        seed=seed,
        modified=modified,
        areas=areas,
        years=years,
    )


def _households_table(
    directory: Path, models: Sequence[_Model], years: Sequence[int], seed: int, modified: str, areas: Sequence[_Area]
) -> None:
    spec = D.HOUSEHOLDS
    props = [
        _dimension(0, "LeeftijdReferentiepersoon", "Leeftijd referentiepersoon"),
        _dimension(1, "RegioS", "Regio's", "GeoDimension"),
        _dimension(2, "Perioden", "Perioden", "TimeDimension"),
        _topic(3, "TotaalParticuliereHuishoudens_1", "Totaal particuliere huishoudens"),
        _topic(4, "Eenpersoonshuishouden_2", "Eenpersoonshuishouden"),
        _topic(5, "TotaalMeerpersoonshuishoudens_3", "Totaal meerpersoonshuishoudens"),
        _topic(6, "MeerpersoonshuishoudensZonderKinderen_4", "Meerpersoonshuishoudens zonder kinderen"),
        _topic(7, "MeerpersoonshuishoudensMetKinderen_5", "Meerpersoonshuishoudens met kinderen"),
    ]
    rows: list[dict[str, Any]] = []
    for m, years_of_m in _layout_models(models, years, seed):
        rng = _rng(seed, _TAG_SPLITS, m.area.number, 2)
        ages = rng.dirichlet([12.0, 22.0, 35.0, 31.0])
        single = rng.uniform(0.33, 0.42)
        without_children = rng.uniform(0.45, 0.55)
        for year in years_of_m:
            total = m.at(m.households, year)
            by_age = _split(total, ages)
            for (ak, _), value in zip(LEEFTIJD_REFERENTIEPERSOON, [total, *by_age]):
                singles = int(round(value * single))
                multi = value - singles
                no_kids = int(round(multi * without_children))
                rows.append(
                    {
                        "ID": len(rows),
                        "LeeftijdReferentiepersoon": ak,
                        "RegioS": m.area.code,
                        "Perioden": f"{year}JJ00",
                        "TotaalParticuliereHuishoudens_1": value,
                        "Eenpersoonshuishouden_2": singles,
                        "TotaalMeerpersoonshuishoudens_3": multi,
                        "MeerpersoonshuishoudensZonderKinderen_4": no_kids,
                        "MeerpersoonshuishoudensMetKinderen_5": multi - no_kids,
                    }
                )
    _finish_table(
        directory,
        table_id=spec.table_id,
        label=spec.label,
        short_title="Huishoudens; samenstelling, grootte, regio",
        props=props,
        dimensions={
            "LeeftijdReferentiepersoon": _categories(LEEFTIJD_REFERENTIEPERSOON),
            "RegioS": _regions_entity(areas),
            "Perioden": _year_periods(years),
        },
        rows=rows,
        seed=seed,
        modified=modified,
        areas=areas,
        years=years,
    )


_STOCK_COLUMNS = (
    ("BeginstandVoorraad_1", "Beginstand voorraad"),
    ("Nieuwbouw_2", "Nieuwbouw"),
    ("OverigeToevoeging_3", "Overige toevoeging"),
    ("Sloop_4", "Sloop"),
    ("OverigeOnttrekking_5", "Overige onttrekking"),
    ("Correctie_6", "Correctie"),
    ("SaldoVoorraad_7", "Saldo voorraad"),
    ("EindstandVoorraad_8", "Eindstand voorraad"),
)


def _mutations(begin: int, end: int, rng: np.random.Generator) -> dict[str, int]:
    """Mutations that take the stock from ``begin`` to ``end`` exactly."""
    extra = int(rng.poisson(0.0008 * begin))
    demolished = int(rng.poisson(0.0012 * begin))
    withdrawn = int(rng.poisson(0.0003 * begin))
    correction = int(rng.integers(-2, 3))
    new = end - begin - extra + demolished + withdrawn - correction
    if new < 0:  # never negative construction: the correction takes the rest
        correction += new
        new = 0
    return {
        "BeginstandVoorraad_1": begin,
        "Nieuwbouw_2": new,
        "OverigeToevoeging_3": extra,
        "Sloop_4": demolished,
        "OverigeOnttrekking_5": withdrawn,
        "Correctie_6": correction,
        "SaldoVoorraad_7": end - begin,
        "EindstandVoorraad_8": end,
    }


def _dwellings_table(
    directory: Path, models: Sequence[_Model], years: Sequence[int], seed: int, modified: str, areas: Sequence[_Area]
) -> None:
    spec = D.DWELLINGS
    props = [
        _dimension(0, "Gebruiksfunctie", "Gebruiksfunctie"),
        _dimension(1, "RegioS", "Regio's", "GeoDimension"),
        _dimension(2, "Perioden", "Perioden", "TimeDimension"),
        *(_topic(3 + i, key, title) for i, (key, title) in enumerate(_STOCK_COLUMNS)),
    ]
    rows: list[dict[str, Any]] = []
    for m, years_of_m in _layout_models(models, years, seed):
        share = _rng(seed, _TAG_SPLITS, m.area.number, 3).uniform(0.07, 0.12)
        for year in years_of_m:
            rng = _rng(seed, _TAG_MUTATIONS, m.area.number, year)
            woningen = _mutations(m.at(m.dwellings, year), m.at(m.dwellings, year + 1), rng)
            nw_begin = int(round(woningen["BeginstandVoorraad_1"] * share))
            nw_end = max(0, int(round(woningen["EindstandVoorraad_8"] * share)) + int(rng.integers(-3, 4)))
            niet = _mutations(nw_begin, nw_end, rng)
            total = {k: woningen[k] + niet[k] for k, _ in _STOCK_COLUMNS}
            for (fk, _), values in zip(GEBRUIKSFUNCTIE, (total, woningen, niet)):
                rows.append({"ID": len(rows), "Gebruiksfunctie": fk, "RegioS": m.area.code, "Perioden": f"{year}JJ00", **values})
    _finish_table(
        directory,
        table_id=spec.table_id,
        label=spec.label,
        short_title="Voorraad woningen en niet-woningen; mutaties",
        props=props,
        dimensions={
            "Gebruiksfunctie": _categories(GEBRUIKSFUNCTIE),
            "RegioS": _regions_entity(areas),
            "Perioden": _year_periods(years, provisional_last=True),
        },
        rows=rows,
        seed=seed,
        modified=modified,
        areas=areas,
        years=years,
    )


def _monthly_population_table(
    directory: Path, models: Sequence[_Model], years: Sequence[int], seed: int, modified: str, areas: Sequence[_Area]
) -> None:
    spec = D.POPULATION_MONTHLY
    columns = (
        ("BevolkingAanHetBeginVanDePeriode_1", "Bevolking aan het begin van de periode"),
        ("LevendGeborenKinderen_2", "Levend geboren kinderen"),
        ("Overledenen_3", "Overledenen"),
        ("MigratieEnOverigeCorrecties_4", "Migratie en overige correcties"),
        ("BevolkingAanHetEindeVanDePeriode_5", "Bevolking aan het einde van de periode"),
    )
    props = [
        _dimension(0, "RegioS", "Regio's", "GeoDimension"),
        _dimension(1, "Perioden", "Perioden", "TimeDimension"),
        *(_topic(2 + i, key, title) for i, (key, title) in enumerate(columns)),
    ]
    periods: list[dict[str, Any]] = []
    for y in years:
        periods.append({"Key": f"{y}JJ00", "Title": str(y), "Description": None, "Status": "Definitief"})
        periods += [{"Key": f"{y}MM{mo:02d}", "Title": f"{y} maand {mo}", "Description": None, "Status": "Definitief"} for mo in range(1, 13)]
    rows: list[dict[str, Any]] = []
    for m, years_of_m in _layout_models(models, years, seed):
        for year in years_of_m:
            rng = _rng(seed, _TAG_MONTHS, m.area.number, year)
            start, end = m.at(m.population, year), m.at(m.population, year + 1)
            steps = np.arange(13) / 12.0
            level = start * (end / start) ** steps + np.r_[0.0, rng.normal(0.0, 0.0004 * start, 11), 0.0]
            level = np.rint(level).astype(np.int64)
            level[0], level[12] = start, end
            births = rng.poisson(0.0085 * start / 12.0, 12)
            deaths = rng.poisson(0.0095 * start / 12.0, 12)
            year_row = {"ID": len(rows), "RegioS": m.area.code, "Perioden": f"{year}JJ00"}
            year_row.update(
                {
                    "BevolkingAanHetBeginVanDePeriode_1": start,
                    "LevendGeborenKinderen_2": int(births.sum()),
                    "Overledenen_3": int(deaths.sum()),
                    "MigratieEnOverigeCorrecties_4": int(end - start - births.sum() + deaths.sum()),
                    "BevolkingAanHetEindeVanDePeriode_5": end,
                }
            )
            rows.append(year_row)
            for mo in range(12):
                rows.append(
                    {
                        "ID": len(rows),
                        "RegioS": m.area.code,
                        "Perioden": f"{year}MM{mo + 1:02d}",
                        "BevolkingAanHetBeginVanDePeriode_1": int(level[mo]),
                        "LevendGeborenKinderen_2": int(births[mo]),
                        "Overledenen_3": int(deaths[mo]),
                        "MigratieEnOverigeCorrecties_4": int(level[mo + 1] - level[mo] - births[mo] + deaths[mo]),
                        "BevolkingAanHetEindeVanDePeriode_5": int(level[mo + 1]),
                    }
                )
    _finish_table(
        directory,
        table_id=spec.table_id,
        label=spec.label,
        short_title="Bevolkingsontwikkeling; regio per maand",
        props=props,
        dimensions={"RegioS": _regions_entity(areas), "Perioden": periods},
        rows=rows,
        seed=seed,
        modified=modified,
        areas=areas,
        years=years,
        frequency="Permaand",
    )


# ============================================================================================
# Kerncijfers wijken en buurten
# ============================================================================================


@dataclass(frozen=True)
class _LeafShape:
    """Fixed (year-independent) shape of a gemeente's buurten."""

    leaves: list[str]
    weights: np.ndarray
    persons_per_dwelling: np.ndarray
    persons_per_household: np.ndarray


def _leaf_shape(seed: int, area: _Area) -> _LeafShape:
    leaves = area.leaves() or [area.code]
    rng = _rng(seed, _TAG_BUURT_WEIGHTS, area.number)
    n = len(leaves)
    weights = rng.lognormal(0.0, 0.8, n)
    tiny = rng.random(n) < TINY_BUURT_SHARE
    if n >= 8 and not tiny.any():
        tiny[rng.integers(n)] = True  # every sizeable gemeente has at least one very small buurt
    weights = np.where(tiny, weights * rng.uniform(0.003, 0.03, n), weights)
    ppd = np.clip(rng.lognormal(np.log(2.15), 0.15, n), 1.4, 3.2)
    pph = np.clip(ppd * rng.uniform(0.97, 1.06, n), 1.3, 3.3)
    return _LeafShape(leaves, weights, ppd, pph)


def _kwb_key(code: str) -> str:
    return code.ljust(KWB_KEY_WIDTH)


def _kwb_measure_key(year: int) -> str:
    # The column key of "Woningvoorraad" moves between years (illustrative numbers); the
    # pipeline finds it by title.
    return "Woningvoorraad_34" if year < 2022 else "Woningvoorraad_35"


def _kwb_table(
    directory: Path, table_id: str, year: int, models: Sequence[_Model], regions: pd.DataFrame, seed: int, modified: str, areas: Sequence[_Area]
) -> None:
    dwellings_key = _kwb_measure_key(year)
    props = [
        _dimension(0, "WijkenEnBuurten", "Wijken en buurten", "GeoDetail"),
        _topic(1, "Gemeentenaam_1", "Gemeentenaam", unit=""),
        _topic(2, "SoortRegio_2", "Soort regio", unit=""),
        _topic(3, "Codering_3", "Codering", unit=""),
        _topic(4, "IndelingswijzigingWijkenEnBuurten_4", "Indelingswijziging wijken en buurten", unit=""),
        _topic_group(5, "Bevolking"),
        _topic(6, "AantalInwoners_5", "Aantal inwoners", parent=5),
        _topic(7, "Mannen_6", "Mannen", parent=5),
        _topic(8, "Vrouwen_7", "Vrouwen", parent=5),
        _topic(9, "HuishoudensTotaal_28", "Huishoudens totaal", parent=5),
        _topic(10, "GemiddeldeHuishoudensgrootte_32", "Gemiddelde huishoudensgrootte", unit="aantal", parent=5, decimals=1),
        _topic_group(11, "Wonen"),
        _topic(12, dwellings_key, "Woningvoorraad", parent=11),
    ]
    for p in props[1:5]:
        p["Datatype"] = "String"
    descriptions = dict(zip(regions["code"].tolist(), regions["Description"].tolist())) if "Description" in regions else {}
    entity: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []

    def add(code: str, kind: str, name: str, gemeente: _Area, values: dict[str, Any]) -> None:
        entity.append(
            {
                "Key": _kwb_key(code),
                "Title": name,
                "Description": descriptions.get(code) or None,
                "Municipality": gemeente.code,
                "DetailRegionCode": code,
            }
        )
        rows.append(
            {
                "ID": len(rows),
                "WijkenEnBuurten": _kwb_key(code),
                "Gemeentenaam_1": gemeente.name,
                "SoortRegio_2": kind.ljust(KWB_KEY_WIDTH),
                "Codering_3": _kwb_key(code),
                "IndelingswijzigingWijkenEnBuurten_4": "1",
                **values,
            }
        )

    for m in models:
        area = m.area
        shape = _leaf_shape(seed, area)
        yearly = _rng(seed, _TAG_BUURT_YEAR, area.number, year)
        n = len(shape.leaves)
        weights = shape.weights * yearly.lognormal(0.0, 0.02, n)
        population = m.at(m.population, year)
        inhabitants = np.rint(population * weights / weights.sum() / 5.0).astype(np.int64) * 5  # CBS rounds to 5
        raw_dwellings = inhabitants / shape.persons_per_dwelling
        dwellings = np.rint(raw_dwellings * m.at(m.dwellings, year) / max(raw_dwellings.sum(), 1.0)).astype(np.int64)
        households = np.rint(inhabitants / shape.persons_per_household).astype(np.int64)
        men = np.rint(inhabitants * yearly.uniform(0.48, 0.52, n)).astype(np.int64)
        # Suppressed (null) cells: only small buurten (smallest third, and under 1.5% of the
        # gemeente), as with CBS; so the buurten still add up to about the gemeente.
        suppress = _rng(seed, _TAG_SUPPRESS, area.number, year)
        small = inhabitants <= min(float(np.quantile(inhabitants, 1 / 3)), 0.015 * population)
        hide_inh = small & (suppress.random(n) < 3 * SUPPRESS_SHARE)
        hide_dw = small & (suppress.random(n) < 3 * SUPPRESS_SHARE)

        def values(idx: np.ndarray | list[int], hide_i: bool = False, hide_d: bool = False) -> dict[str, Any]:
            inh, dw = int(inhabitants[idx].sum()), int(dwellings[idx].sum())
            hh, mn = int(households[idx].sum()), int(men[idx].sum())
            return {
                "AantalInwoners_5": None if hide_i else inh,
                "Mannen_6": None if hide_i else mn,
                "Vrouwen_7": None if hide_i else inh - mn,
                "HuishoudensTotaal_28": None if hide_i else hh,
                "GemiddeldeHuishoudensgrootte_32": None if hide_i or hh == 0 else round(inh / hh, 1),
                dwellings_key: None if hide_d else dw,
            }

        everything = np.arange(n)
        gm_values = values(everything)
        gm_values["AantalInwoners_5"] = population  # the gemeente row is the official total
        gm_values["Vrouwen_7"] = population - gm_values["Mannen_6"]
        gm_values[dwellings_key] = m.at(m.dwellings, year)
        add(area.code, "Gemeente", area.name, area, gm_values)
        index = {code: i for i, code in enumerate(shape.leaves)}
        buurt_names = dict(area.buurten)
        per_wijk: dict[str, list[str]] = {}
        for code in shape.leaves:
            per_wijk.setdefault("WK" + code[2:8], []).append(code)
        for wijk, wijk_name in area.wijken:
            mine = per_wijk.get(wijk, [])
            add(wijk, "Wijk", wijk_name, area, values(np.array([index[c] for c in mine], dtype=np.int64)))
            for code in mine:
                if code.startswith("BU"):
                    i = index[code]
                    add(code, "Buurt", buurt_names[code], area, values(np.array([i]), bool(hide_inh[i]), bool(hide_dw[i])))
    label = f"Kerncijfers wijken en buurten {year}"
    _finish_table(
        directory,
        table_id=table_id,
        label=label,
        short_title=label,
        props=props,
        dimensions={"WijkenEnBuurten": entity},
        rows=rows,
        seed=seed,
        modified=modified,
        areas=areas,
        years=[year],
        frequency="Eenmalig",
    )


# ============================================================================================
# Building
# ============================================================================================


def build_cbs_snapshot(
    out_root: Path,
    *,
    region_list: pd.DataFrame | Path,
    gemeenten: Sequence[str],
    years: Sequence[int],
    wijk_buurt_years: Sequence[int] = (),
    seed: int = DEFAULT_SEED,
    modified: str = DEFAULT_MODIFIED,
    monthly_population: bool = False,
) -> dict[str, Path]:
    """Write synthetic snapshots of the CBS denominator tables; returns table id -> folder.

    Tables: those of ``GeographySettings()``'s default :func:`~veiligheidsbeeld.sources.denominators.table_specs`
    (03759ned, 71486ned, 81955NED) for ``years``, one "Kerncijfers wijken en buurten <year>" per
    ``wijk_buurt_years`` (real table ids, :data:`~veiligheidsbeeld.sources.denominators.KERNCIJFERS_WIJKEN_BUURTEN`),
    and with ``monthly_population`` also 37230ned. ``region_list``: the police region list
    (``47022NED_WijkenEnBuurten.csv`` or that CSV read as a frame) that gives the real codes.
    Pull it with ``pull_denominators(SnapshotSource(out_root), gemeenten, years, raw_root,
    GeographySettings(wijk_buurt_years=..., monthly_population=...))``.
    """
    year_list = _check_years(years, "years")
    kwb_years = _check_years(wijk_buurt_years, "wijk_buurt_years")
    if not year_list:
        raise ValueError("no years given")
    if seed < 0:
        raise ValueError("seed must not be negative")
    regions = read_region_list(region_list)
    areas = _areas(regions, gemeenten)
    models = [_model(seed, a) for a in areas]

    settings = GeographySettings(wijk_buurt_years=tuple(kwb_years), monthly_population=monthly_population)
    writers = {
        D.POPULATION.key: _population_table,
        D.HOUSEHOLDS.key: _households_table,
        D.DWELLINGS.key: _dwellings_table,
        D.POPULATION_MONTHLY.key: _monthly_population_table,
    }
    out_root = Path(out_root)
    written: dict[str, Path] = {}
    for spec in D.table_specs(settings):
        directory = out_root / spec.table_id
        if directory.exists():
            shutil.rmtree(directory)  # never mix entity files of two builds
        directory.mkdir(parents=True)
        if spec.fixed_year is not None:
            _kwb_table(directory, spec.table_id, spec.fixed_year, models, regions, seed, modified, areas)
        else:
            # Gemeente tables list every code of every year's layout (predecessors too).
            writers[spec.key](directory, models, year_list, seed, modified, _layout_areas(models, year_list, seed, areas))
        written[spec.table_id] = directory
    log.info("Synthetische CBS-noemers: %d tabellen voor %d gemeenten naar %s", len(written), len(areas), out_root)
    return written


# ============================================================================================
# Boundaries
# ============================================================================================

BOUNDARIES_SUBDIR = "boundaries"


def copy_boundaries(out_root: Path, shared_dir: Path, year: int = 2023) -> Path | None:
    """Copy the real ``<shared>/data/geo/gemeente_<year>.topojson`` to ``<out_root>/boundaries/``.

    That is where the ingest looks in a snapshot directory. Returns the copy, or None when the
    shared folder has no such file."""
    source = Path(shared_dir) / "data" / "geo" / f"gemeente_{int(year)}.topojson"
    if not source.is_file():
        log.warning("Geen gemeentegrenzen %s; snapshot zonder grenzen", source)
        return None
    target = Path(out_root) / BOUNDARIES_SUBDIR / source.name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return target


def _points_inside(polygon, k: int, rng: np.random.Generator) -> np.ndarray:
    import shapely

    minx, miny, maxx, maxy = polygon.bounds
    found = np.empty((0, 2))
    shapely.prepare(polygon)
    for _ in range(100):
        candidates = np.column_stack([rng.uniform(minx, maxx, 4 * k + 16), rng.uniform(miny, maxy, 4 * k + 16)])
        inside = candidates[shapely.contains_xy(polygon, candidates[:, 0], candidates[:, 1])]
        found = np.vstack([found, inside])
        if len(found) >= k:
            return found[:k]
    raise ValueError("could not place points inside a polygon")


def _split_polygon(polygon, k: int, rng: np.random.Generator, iterations: int = 3) -> list:
    """Split ``polygon`` into ``k`` polygonal pieces: Voronoi cells of seeded points, relaxed a little."""
    import shapely
    from shapely.geometry import MultiPoint, MultiPolygon, Polygon

    if k <= 1:
        return [polygon]
    points = _points_inside(polygon, k, rng)
    envelope = polygon.envelope.buffer(max(polygon.length, 1.0))
    pieces: list = []
    for step in range(iterations + 1):
        cells = list(shapely.get_parts(shapely.voronoi_polygons(MultiPoint(points), extend_to=envelope)))
        # Match cells to their points (cells do not come in input order on every GEOS version).
        ordered: list = [None] * k
        for cell in cells:
            hit = np.flatnonzero(shapely.contains_xy(cell, points[:, 0], points[:, 1]))
            if len(hit):
                ordered[int(hit[0])] = cell
        pieces = []
        for cell in ordered:
            piece = shapely.intersection(cell, polygon) if cell is not None else Polygon()
            parts = [p for p in shapely.get_parts(piece) if isinstance(p, (Polygon, MultiPolygon)) and not p.is_empty]
            pieces.append(shapely.union_all(parts) if parts else Polygon())
        if step == iterations or any(p.is_empty for p in pieces):
            break
        # Lloyd step: move each point to (a point on) its piece, for more even sizes.
        moved = []
        for piece in pieces:
            c = piece.centroid
            moved.append((c.x, c.y) if polygon.contains(c) else piece.representative_point().coords[0])
        points = np.asarray(moved, dtype=float)
    if any(p.is_empty for p in pieces):
        raise ValueError("a Voronoi piece came out empty")
    return pieces


def synthetic_wijk_boundaries(
    out_root: Path,
    gemeente_topojson: Path,
    region_list: pd.DataFrame | Path,
    gemeenten: Sequence[str],
    year: int = 2023,
    *,
    seed: int = DEFAULT_SEED,
) -> Path:
    """Invent wijk boundaries: each gemeente polygon split into as many pieces as it has wijken.

    Writes ``<out_root>/boundaries/wijk_<year>.geojson`` (WGS84, properties ``wijkcode``,
    ``wijknaam``, ``gemeentecode``, ``gemeentenaam``, ``synthetisch``) and a ``SYNTHETISCH.txt``
    beside it. The pieces are Voronoi cells of seeded random points inside the (real) gemeente
    polygon: they tile the gemeente exactly but bear no relation to the real wijk boundaries.
    """
    import geopandas as gpd

    from veiligheidsbeeld.sources.boundaries import RD_NEW, WGS84, read_boundaries_file

    regions = read_region_list(region_list)
    areas = _areas(regions, gemeenten)
    gm = read_boundaries_file(gemeente_topojson, "gemeente", year).set_index("region_code")
    absent = [a.code for a in areas if a.code not in gm.index]
    if absent:
        raise ValueError(f"{gemeente_topojson} has no polygon for {', '.join(absent)}")
    records: list[dict[str, Any]] = []
    geometries: list = []
    for area in areas:
        wijken = list(area.wijken) or [("WK" + area.code[2:] + "00", area.name)]
        rng = _rng(seed, _TAG_VORONOI, area.number, year)
        pieces = _split_polygon(gm.loc[area.code, "geometry"], len(wijken), rng)
        for (code, name), piece in zip(wijken, pieces):
            records.append(
                {
                    "wijkcode": code,
                    "wijknaam": name,
                    "gemeentecode": area.code,
                    "gemeentenaam": area.name,
                    "jaar": int(year),
                    "synthetisch": True,
                    "bron": "SYNTHETISCH: verzonnen wijkgrenzen (Voronoi-deling van de echte gemeentegrens)",
                }
            )
            geometries.append(piece)
    frame = gpd.GeoDataFrame(records, geometry=geometries, crs=RD_NEW).to_crs(WGS84)
    collection = json.loads(frame.to_json(drop_id=True))
    collection["name"] = f"{SYNTHETIC_PREFIX}wijk_{int(year)}"
    collection["description"] = (
        "SYNTHETISCHE wijkgrenzen: elke gemeente is in zoveel stukken verdeeld als ze wijken heeft "
        f"(Voronoi, seed {seed}). Echte wijkcodes, verzonnen grenzen."
    )
    directory = Path(out_root) / BOUNDARIES_SUBDIR
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"wijk_{int(year)}.geojson"
    path.write_text(json.dumps(collection, ensure_ascii=False), encoding="utf-8")
    (directory / "SYNTHETISCH.txt").write_text(
        "\n".join(
            [
                f"{SYNTHETIC_PREFIX}{path.name}",
                "",
                "De wijkgrenzen in dit bestand zijn VERZONNEN: elke (echte) gemeentegrens is met een",
                f"Voronoi-deling (seed {seed}) in zoveel stukken verdeeld als de gemeente wijken heeft.",
                "De wijkcodes en -namen zijn echt, de grenzen niet. Niet publiceren.",
                "",
                "SYNTHETIC wijk boundaries (veiligheidsbeeld.testing.synthetic_cbs): real codes, invented shapes.",
                f"Other files in this folder (gemeente_{int(year)}.topojson) are real public boundaries.",
                f"gemeenten: {', '.join(a.code for a in areas)}",
                "",
            ]
        ),
        encoding="utf-8",
    )
    return path


# ============================================================================================
# Command line
# ============================================================================================


def _year_span(text: str) -> list[int]:
    out: list[int] = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        if "-" in part:
            first, last = (int(x) for x in part.split("-", 1))
            out += list(range(first, last + 1))
        else:
            out.append(int(part))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    from veiligheidsbeeld.testing.synthetic import district_gemeenten, find_shared_dir, politie_dir

    parser = argparse.ArgumentParser(
        prog="python -m veiligheidsbeeld.testing.synthetic_cbs",
        description="Write SYNTHETIC snapshots of the CBS denominator tables (every number invented).",
    )
    parser.add_argument("out", type=Path, help="snapshot root: <OUT>/<TABLE_ID>/<Entity>.json")
    parser.add_argument("--shared", type=Path, default=None, help="shared folder (default: $VEILIGHEIDSBEELD_SHARED or ../shared)")
    parser.add_argument("--gemeenten", default=None, help="comma list, e.g. GM0153,GM0164 (default: all of RE02)")
    parser.add_argument("--district", default=None, help="all gemeenten of a district, e.g. VR04")
    parser.add_argument("--years", default="2012-2023", help="e.g. 2012-2023 or 2021,2022")
    parser.add_argument("--wijk-buurt-years", default="", help="years of 'Kerncijfers wijken en buurten', e.g. 2023")
    parser.add_argument("--monthly", action="store_true", help="also 37230ned (population per month)")
    parser.add_argument("--boundaries", action="store_true", help="also real gemeente and synthetic wijk boundaries (2023)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--modified", default=DEFAULT_MODIFIED)
    args = parser.parse_args(argv)

    shared = args.shared or find_shared_dir()
    region_list = politie_dir(shared) / "47022NED_WijkenEnBuurten.csv"
    gemeenten = district_gemeenten(args.district) if args.district else []
    if args.gemeenten:
        gemeenten += [g.strip() for g in args.gemeenten.split(",") if g.strip()]
    gemeenten = gemeenten or district_gemeenten()
    written = build_cbs_snapshot(
        args.out,
        region_list=region_list,
        gemeenten=gemeenten,
        years=_year_span(args.years),
        wijk_buurt_years=_year_span(args.wijk_buurt_years),
        seed=args.seed,
        modified=args.modified,
        monthly_population=args.monthly,
    )
    for table_id, directory in written.items():
        print(f"{table_id}: {directory}")
    if args.boundaries:
        gm = copy_boundaries(args.out, shared, 2023)
        if gm is not None:
            print(f"gemeentegrenzen: {gm}")
            print(f"wijkgrenzen (synthetisch): {synthetic_wijk_boundaries(args.out, gm, region_list, gemeenten, 2023, seed=args.seed)}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())


__all__ = [
    "SYNTHETIC_PREFIX",
    "build_cbs_snapshot",
    "copy_boundaries",
    "read_region_list",
    "synthetic_wijk_boundaries",
]
