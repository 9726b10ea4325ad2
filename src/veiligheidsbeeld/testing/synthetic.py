"""Deterministic snapshots of the monthly police tables (47022NED misdrijven, 47024NED overlast).

:func:`build_police_snapshot` writes ``<out_root>/<TABLE_ID>/<Entity>.json`` in the layout of
``cbsodata.download_data(table_id, dir=...)``, so the stub server
(:mod:`veiligheidsbeeld.testing.odata_stub`) and :class:`~veiligheidsbeeld.sources.odata.SnapshotSource`
can serve it like the real tables.

What is real and what is not:

* real: the code lists (``47022NED_SoortMisdrijf.csv``, ``47024NED_Overlast.csv``), the regions
  (``47022NED_WijkenEnBuurten.csv``, 2023 layout) and the national rows (``NL00``): the published
  monthly series 2012-01 … 2023-12, unchanged (months outside that range are synthetic);
* SYNTHETIC: every gemeente, wijk and buurt figure. Per buurt a lognormal size weight; monthly
  Poisson counts whose expectation follows the real national series of that code (so seasonality
  and trend are real) scaled by the buurt's share (Oost-Nederland is about 19% of NL); wijk = sum of
  its buurten, gemeente = sum of its wijken, ``0.0.0`` = sum of all other codes. A share of buurt
  cells is suppressed (null, not 0).

The synthetic data is labelled wherever it appears: the TableInfos title and summary, and a
``SYNTHETISCH.txt`` next to the entity files.

Every random draw comes from a generator seeded by (seed, table, gemeente, month), so a gemeente's
figures do not depend on which other gemeenten, codes or months are built, and a later version of
the table (:func:`build_revised_snapshot`: one more month, some recent values revised) keeps every
other value identical -- what incremental-ingest tests need.
"""

from __future__ import annotations

import argparse
import csv
import importlib.resources
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

SHARED_ENV = "VEILIGHEIDSBEELD_SHARED"
NATIONAL_KEY = "NL00      "
TOTAL_CODE = "0.0.0"
#: Share of all Dutch police registrations that falls in Eenheid Oost-Nederland (about 19%).
OOST_NEDERLAND_SHARE = 0.19
DEFAULT_EENHEID = "RE02"
SYNTHETIC_PREFIX = "SYNTHETISCH — "
MONTH_NAMES = (
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
)
_REAL_FIRST_MONTH = "2012-01"
_REAL_LAST_MONTH = "2023-12"

# Stream tags keep the seed sequences of different kinds of draws apart.
_TAG_WEIGHTS, _TAG_CODE_FACTORS, _TAG_COUNTS, _TAG_REVISIONS, _TAG_NATIONAL = range(5)


@dataclass(frozen=True)
class _TableSpec:
    table_id: str
    dimension: str
    dimension_title: str
    measure: str
    measure_title: str
    codes_file: str
    monthly_file: str
    title: str
    short_title: str


TABLE_SPECS: dict[str, _TableSpec] = {
    "47022NED": _TableSpec(
        table_id="47022NED",
        dimension="SoortMisdrijf",
        dimension_title="Soort misdrijf",
        measure="GeregistreerdeMisdrijven_1",
        measure_title="Geregistreerde misdrijven",
        codes_file="47022NED_SoortMisdrijf.csv",
        monthly_file="NL_misdrijven_per_maand_2012_2023.csv",
        title="Geregistreerde misdrijven; soort misdrijf, wijk en buurt, per maand",
        short_title="Misdrijven; soort, wijk en buurt, per maand",
    ),
    "47024NED": _TableSpec(
        table_id="47024NED",
        dimension="Overlast",
        dimension_title="Soort overlast",
        measure="GeregistreerdeOverlast_1",
        measure_title="Geregistreerde overlast",
        codes_file="47024NED_Overlast.csv",
        monthly_file="NL_overlast_per_maand_2012_2023.csv",
        title="Registraties overlast; soort overlast, wijk en buurt, per maand",
        short_title="Overlast; soort, wijk en buurt, per maand",
    ),
}


#: The yearly misdrijven table (year rows per gemeente), built by :mod:`veiligheidsbeeld.testing.synthetic_jaar`.
YEARLY_TABLE = "47025NED"


# ============================================================================================
# Locating and reading the real reference data
# ============================================================================================


def find_shared_dir() -> Path:
    """The shared folder: ``$VEILIGHEIDSBEELD_SHARED``, else ``<repo root>/../shared``."""
    env = os.environ.get(SHARED_ENV)
    repo_root = Path(__file__).resolve().parents[3]
    candidate = Path(env) if env else repo_root.parent / "shared"
    if not candidate.is_dir():
        raise FileNotFoundError(
            f"Shared data folder not found at {candidate}; set {SHARED_ENV} to the folder that holds data/politie/."
        )
    return candidate


def politie_dir(shared_dir: Path) -> Path:
    """The folder with the real police CSVs: ``<shared>/data/politie`` (or ``shared_dir`` itself)."""
    for candidate in (Path(shared_dir) / "data" / "politie", Path(shared_dir)):
        if (candidate / "47022NED_WijkenEnBuurten.csv").is_file():
            return candidate
    raise FileNotFoundError(f"No police reference data (47022NED_WijkenEnBuurten.csv) under {shared_dir}")


def _read_csv(path: Path) -> list[dict[str, str]]:
    # csv keeps the keys' padding and the quoted multi-line descriptions intact.
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _reference_rows() -> list[dict[str, str]]:
    ref = importlib.resources.files("veiligheidsbeeld") / "reference" / "districts_RE02_2023.csv"
    with ref.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def district_gemeenten(code: str = DEFAULT_EENHEID) -> list[str]:
    """Gemeente codes of a district (``VR04``…) or of the whole eenheid (``RE02``)."""
    code = code.strip().upper()
    rows = _reference_rows()
    found = [r["gemeente_code"] for r in rows if code in (r["district_code"].upper(), r["eenheid_code"].upper())]
    if not found:
        known = sorted({r["district_code"] for r in rows} | {r["eenheid_code"] for r in rows})
        raise ValueError(f"unknown district or eenheid {code!r}; known: {', '.join(known)}")
    return found


@dataclass(frozen=True)
class _Month:
    year: int
    month: int

    @property
    def ordinal(self) -> int:
        return self.year * 12 + self.month - 1

    @staticmethod
    def parse(text: str) -> "_Month":
        match = re.fullmatch(r"(\d{4})-?(\d{2})", text.strip())
        if match is None or not 1 <= int(match.group(2)) <= 12:
            raise ValueError(f"expected a month as YYYY-MM, got {text!r}")
        return _Month(int(match.group(1)), int(match.group(2)))

    @staticmethod
    def from_ordinal(ordinal: int) -> "_Month":
        return _Month(ordinal // 12, ordinal % 12 + 1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


@dataclass
class _National:
    """The real NL00 series of one table, by padded code key."""

    months: dict[str, dict[int, int]]  # code -> month ordinal -> count
    years: dict[str, dict[int, int]]  # code -> year -> published JJ00 count (overlast only)

    @property
    def suppressed_codes(self) -> set[str]:
        """Codes whose whole national series is 0: not published monthly (see the builder)."""
        return {key for key, series in self.months.items() if series and not any(series.values())}


def _read_national(spec: _TableSpec, politie: Path, codes: list[dict[str, str]]) -> _National:
    by_title = {row["Title"]: row["Key"] for row in codes}
    months: dict[str, dict[int, int]] = {row["Key"]: {} for row in codes}
    years: dict[str, dict[int, int]] = {row["Key"]: {} for row in codes}
    with (politie / spec.monthly_file).open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            key = by_title.get(row["crime_type_code"])
            if key is None:
                raise ValueError(f"{spec.monthly_file}: title {row['crime_type_code']!r} is not in {spec.codes_file}")
            month = _Month.parse(row["date"][:7])
            value = int(row["frequency"])
            if month.ordinal in months[key]:
                # The overlast file also holds the yearly (JJ00) row, dated 1 January and listed
                # after December: a second January of the same code is that year row.
                if month.month != 1 or month.year in years[key]:
                    raise ValueError(f"{spec.monthly_file}: duplicate row for {key.strip()} {month}")
                years[key][month.year] = value
            else:
                months[key][month.ordinal] = value
    return _National(months, years)


# ============================================================================================
# Regions
# ============================================================================================


@dataclass
class _Gemeente:
    code: str  # "GM0153"
    rows: list[dict[str, str]]  # CSV rows in CSV order: the GM row, its wijken and buurten
    leaf_of_row: list[list[int]]  # per row: the leaf indices it sums
    n_leaves: int
    leaf_is_row: list[int | None]  # per row: the leaf it *is* (buurten), else None

    @property
    def number(self) -> int:
        return int(self.code[2:])


def _gemeenten_structure(regions: list[dict[str, str]], selected: Sequence[str]) -> list[_Gemeente]:
    by_gm: dict[str, list[dict[str, str]]] = {}
    for row in regions:
        municipality = row["Municipality"].strip()
        if municipality in selected:
            by_gm.setdefault(municipality, []).append(row)
    out: list[_Gemeente] = []
    for code, rows in by_gm.items():  # CSV order (alphabetical by name), not the caller's order
        keys = [r["Key"].strip() for r in rows]
        buurten = [k for k in keys if k.startswith("BU")]
        wijken = [k for k in keys if k.startswith("WK")]
        # Leaves are buurten; a wijk without buurten (or a gemeente without wijken) is its own leaf.
        leaves: list[str] = list(buurten)
        leaves += [w for w in wijken if not any(b[2:8] == w[2:] for b in buurten)]
        if not leaves:
            leaves = [code]
        leaf_index = {k: i for i, k in enumerate(leaves)}
        leaf_of_row: list[list[int]] = []
        leaf_is_row: list[int | None] = []
        for key in keys:
            if key.startswith("GM"):
                leaf_of_row.append(list(range(len(leaves))))
            elif key.startswith("WK"):
                leaf_of_row.append([i for k, i in leaf_index.items() if k[2:8] == key[2:] or k == key])
            else:
                leaf_of_row.append([leaf_index[key]])
            leaf_is_row.append(leaf_index.get(key) if key.startswith("BU") else None)
        out.append(_Gemeente(code, rows, leaf_of_row, len(leaves), leaf_is_row))
    return out


def _count_leaves(regions: list[dict[str, str]], gemeenten: Iterable[str]) -> int:
    wanted = set(gemeenten)
    structure = _gemeenten_structure(regions, sorted(wanted))
    return sum(g.n_leaves for g in structure)


# ============================================================================================
# Building
# ============================================================================================


def build_police_snapshot(
    out_root: Path,
    *,
    shared_dir: Path,
    gemeenten: Sequence[str] | None = None,
    tables: Sequence[str] = ("47022NED", "47024NED", "47025NED"),
    start: str = "2012-01",
    end: str = "2023-12",
    codes: Mapping[str, Sequence[str]] | None = None,
    include_wijken_buurten: bool = True,
    missing_months: Sequence[str] = (),
    suppress_share: float = 0.01,
    modified: str = "2024-03-28T02:00:00",
    seed: int = 20151007,
    revised_months: Sequence[str] = (),
    revise_share: float = 0.05,
    revision: int = 1,
    gemeente_level_only: Sequence[str] = (),
    wijken_buurten_for: Sequence[str] | None = None,
    full_region_list: bool = False,
) -> dict[str, Path]:
    """Write a synthetic-but-realistic snapshot of the police tables; returns table id -> folder.

    ``gemeenten``: GM codes (default: the 76 gemeenten of Eenheid Oost-Nederland; see
    :func:`district_gemeenten` for one district). ``codes``: per table the code keys to include
    (padding optional; default all). ``missing_months``: months (``YYYY-MM``) left out for every
    region except NL00. ``revised_months``/``revise_share``/``revision``: raise a share of the buurt
    counts of those months (a later, revised delivery; see :func:`build_revised_snapshot`).
    ``gemeente_level_only``: further gemeenten with their gemeente row only, no wijken or buurten
    (e.g. every other Dutch gemeente, for national rankings); ``"*"`` means all of them.
    ``wijken_buurten_for``: only these gemeenten get wijk and buurt rows (default: every selected one).
    ``full_region_list``: the region dimension lists every Dutch region, whatever the data rows hold
    -- what ``cbsodata.download_data(..., filters=...)`` writes for a region-filtered download.
    """
    politie = politie_dir(shared_dir)
    first, last = _Month.parse(start), _Month.parse(end)
    if last.ordinal < first.ordinal:
        raise ValueError(f"end {end} is before start {start}")
    if not 0.0 <= suppress_share < 1.0 or not 0.0 <= revise_share <= 1.0:
        raise ValueError("suppress_share must be in [0, 1) and revise_share in [0, 1]")
    if seed < 0 or revision < 0:
        raise ValueError("seed and revision must not be negative")
    ordinals = list(range(first.ordinal, last.ordinal + 1))
    missing = {_Month.parse(m).ordinal for m in missing_months}
    revised = {_Month.parse(m).ordinal for m in revised_months}
    outside = sorted(str(_Month.from_ordinal(o)) for o in (missing | revised) if not first.ordinal <= o <= last.ordinal)
    if outside:  # a typo here would silently build a snapshot without the intended gap/revision
        raise ValueError(f"month(s) {', '.join(outside)} are outside {start} … {end}")

    regions = _read_csv(politie / "47022NED_WijkenEnBuurten.csv")
    region_keys = {r["Key"].strip() for r in regions}
    eenheid = district_gemeenten(DEFAULT_EENHEID)
    selected = [g.strip().upper() for g in (gemeenten if gemeenten is not None else eenheid)]
    if list(gemeente_level_only) == ["*"]:
        gemeente_level_only = sorted(k for k in region_keys if k.startswith("GM") and k != "GM0000")
    gm_only = {g.strip().upper() for g in gemeente_level_only} - set(selected)
    selected = selected + sorted(gm_only)
    unknown = [g for g in selected if not g.startswith("GM") or g not in region_keys]
    if unknown:
        raise ValueError(f"unknown gemeente code(s): {', '.join(unknown)} (expected e.g. GM0153)")
    structure = _gemeenten_structure(regions, selected)
    # One fixed scale (per buurt of Oost-Nederland), so a buurt's figures do not depend on the selection.
    share_per_leaf = OOST_NEDERLAND_SHARE / _count_leaves(regions, eenheid)

    out_root = Path(out_root)
    written: dict[str, Path] = {}
    for table_id in tables:
        if table_id == YEARLY_TABLE:
            # The yearly table (year rows per gemeente): its own builder, the complete years only.
            from veiligheidsbeeld.testing.synthetic_jaar import build_yearly_snapshot

            years = [y for y in range(first.year, last.year + 1)
                     if _Month(y, 1).ordinal >= first.ordinal and _Month(y, 12).ordinal <= last.ordinal]
            written[table_id] = build_yearly_snapshot(
                out_root, politie=politie, gemeenten=[g for g in selected if g not in gm_only], years=years,
                codes=(codes or {}).get(table_id), modified=modified, seed=seed,
            )
            continue
        spec = TABLE_SPECS.get(table_id)
        if spec is None:
            raise ValueError(f"unknown table {table_id!r}; supported: {', '.join([*TABLE_SPECS, YEARLY_TABLE])}")
        all_codes = _read_csv(politie / spec.codes_file)
        wanted = _select_codes(spec, all_codes, (codes or {}).get(table_id))
        national = _read_national(spec, politie, all_codes)
        directory = out_root / table_id
        directory.mkdir(parents=True, exist_ok=True)
        builder = _TableBuilder(
            spec=spec,
            all_codes=all_codes,
            wanted=wanted,
            national=national,
            structure=structure,
            include_wijken_buurten=include_wijken_buurten,
            gm_only=gm_only,
            ordinals=ordinals,
            missing=missing,
            revised=revised,
            revise_share=revise_share,
            revision=revision,
            suppress_share=suppress_share,
            share_per_leaf=share_per_leaf,
            seed=seed,
            wijken_buurten_for=None if wijken_buurten_for is None else {g.strip().upper() for g in wijken_buurten_for},
            full_region_rows=regions if full_region_list else None,
        )
        n_rows = builder.write_typed_dataset(directory / "TypedDataSet.json")
        # The full code list, as cbsodata.download_data writes it even when the data are filtered.
        _write_json(directory / spec.dimension, [_code_entity_row(row) for row in all_codes])
        _write_json(directory / "WijkenEnBuurten", builder.region_entity_rows())
        _write_json(directory / "Perioden", builder.period_entity_rows())
        _write_json(directory / "CategoryGroups", [])
        _write_json(directory / "DataProperties", _data_properties(spec))
        _write_json(
            directory / "TableInfos",
            [_table_infos(spec, first, last, modified, n_rows, seed, structure, missing, revised, revision)],
        )
        (directory / "SYNTHETISCH.txt").write_text(
            _synthetic_notice(spec, first, last, seed, structure, missing, revised, revision), encoding="utf-8"
        )
        written[table_id] = directory
    return written


def build_revised_snapshot(
    out_root: Path,
    *,
    shared_dir: Path,
    end: str = "2023-12",
    extra_months: int = 1,
    last_months_revised: int = 3,
    revise_share: float = 0.05,
    modified: str = "2024-04-28T02:00:00",
    revision: int = 1,
    **kwargs: Any,
) -> dict[str, Path]:
    """A later version of the snapshot that ``build_police_snapshot(..., end=end, **kwargs)`` writes:
    ``extra_months`` more months, a later ``Modified``, and the buurt counts (hence wijk and
    gemeente counts and year rows) of the last ``last_months_revised`` months up to ``end`` raised
    for a share ``revise_share`` of the cells. Every other value is identical."""
    last = _Month.parse(end)
    new_end = _Month.from_ordinal(last.ordinal + extra_months)
    revised = [str(_Month.from_ordinal(o)) for o in range(last.ordinal - last_months_revised + 1, last.ordinal + 1)]
    return build_police_snapshot(
        out_root,
        shared_dir=shared_dir,
        end=str(new_end),
        modified=modified,
        revised_months=revised,
        revise_share=revise_share,
        revision=revision,
        **kwargs,
    )


def _select_codes(spec: _TableSpec, all_codes: list[dict[str, str]], wanted: Sequence[str] | None) -> list[int]:
    if wanted is None:
        return list(range(len(all_codes)))
    index = {row["Key"].strip(): i for i, row in enumerate(all_codes)}
    unknown = [c for c in wanted if c.strip() not in index]
    if unknown:
        raise ValueError(f"{spec.table_id}: unknown {spec.dimension} code(s): {', '.join(map(repr, unknown))}")
    chosen = {index[c.strip()] for c in wanted}
    return sorted(chosen)  # dimension order, like the real table


class _TableBuilder:
    def __init__(
        self,
        *,
        spec: _TableSpec,
        all_codes: list[dict[str, str]],
        wanted: list[int],
        national: _National,
        structure: list[_Gemeente],
        include_wijken_buurten: bool,
        gm_only: set[str],
        ordinals: list[int],
        missing: set[int],
        revised: set[int],
        revise_share: float,
        revision: int,
        suppress_share: float,
        share_per_leaf: float,
        seed: int,
        wijken_buurten_for: set[str] | None = None,
        full_region_rows: list[dict[str, str]] | None = None,
    ) -> None:
        self.spec = spec
        self.wijken_buurten_for = wijken_buurten_for
        self.full_region_rows = full_region_rows
        self.all_codes = all_codes
        self.wanted = wanted
        self.national = national
        self.structure = structure
        self.include_wijken_buurten = include_wijken_buurten
        self.gm_only = gm_only
        self.ordinals = ordinals
        self.missing = missing
        self.revised = revised
        self.revise_share = revise_share
        self.revision = revision
        self.suppress_share = suppress_share
        self.share_per_leaf = share_per_leaf
        self.seed = seed
        self.table_number = int(re.sub(r"\D", "", spec.table_id))
        keys = [row["Key"] for row in all_codes]
        self.total_index = next(i for i, k in enumerate(keys) if k.strip() == TOTAL_CODE)
        self.part_indices = [i for i in range(len(keys)) if i != self.total_index]
        self.expectation = self._national_expectation()
        self.periods = self._periods()

    # -- national series ----------------------------------------------------------------------
    def _national_expectation(self) -> np.ndarray:
        """(parts, months) expected national counts: real where published, else the same calendar
        month of the nearest published year (keeps the seasonality)."""
        first_real, last_real = _Month.parse(_REAL_FIRST_MONTH), _Month.parse(_REAL_LAST_MONTH)
        out = np.zeros((len(self.part_indices), len(self.ordinals)), dtype=np.float64)
        for pi, ci in enumerate(self.part_indices):
            series = self.national.months[self.all_codes[ci]["Key"]]
            for mi, ordinal in enumerate(self.ordinals):
                if ordinal in series:
                    out[pi, mi] = series[ordinal]
                    continue
                month = _Month.from_ordinal(ordinal)
                year = min(max(month.year, first_real.year), last_real.year)
                out[pi, mi] = series.get(_Month(year, month.month).ordinal, 0)
        return out

    def _national_months(self) -> tuple[np.ndarray, np.ndarray]:
        """(all codes, months) NL00 counts and whether each is real."""
        values = np.zeros((len(self.all_codes), len(self.ordinals)), dtype=np.int64)
        real = np.zeros(len(self.ordinals), dtype=bool)
        for mi, ordinal in enumerate(self.ordinals):
            series = [self.national.months[row["Key"]] for row in self.all_codes]
            if all(ordinal in s for s in series):
                values[:, mi] = [s[ordinal] for s in series]
                real[mi] = True
                continue
            # Outside the published range: a synthetic national month around the expectation.
            rng = np.random.default_rng([self.seed, _TAG_NATIONAL, self.table_number, ordinal])
            parts = rng.poisson(self.expectation[:, mi])
            values[self.part_indices, mi] = parts
            values[self.total_index, mi] = parts.sum()
        return values, real

    # -- periods --------------------------------------------------------------------------------
    def _periods(self) -> list[tuple[str, str, int | None, int]]:
        """(key, title, month index or None for a year row, year), in key order."""
        out: list[tuple[str, str, int | None, int]] = []
        years = sorted({_Month.from_ordinal(o).year for o in self.ordinals})
        for year in years:
            out.append((f"{year}JJ00", str(year), None, year))
            for mi, ordinal in enumerate(self.ordinals):
                month = _Month.from_ordinal(ordinal)
                if month.year == year:
                    out.append((f"{year}MM{month.month:02d}", f"{year} {MONTH_NAMES[month.month - 1]}", mi, year))
        return out

    def period_entity_rows(self) -> list[dict[str, Any]]:
        provisional_from = self.ordinals[-1] - 11  # the last 12 months of the range are provisional
        rows = []
        for key, title, mi, year in self.periods:
            if mi is None:
                provisional = any(
                    o >= provisional_from for o in self.ordinals if _Month.from_ordinal(o).year == year
                )
            else:
                provisional = self.ordinals[mi] >= provisional_from
            rows.append(
                {
                    "Key": key,
                    "Title": title,
                    "Description": None,
                    "Status": "Voorlopig" if provisional else "Definitief",
                }
            )
        return rows

    # -- regions --------------------------------------------------------------------------------
    def keeps(self, gm: _Gemeente, row: dict[str, str]) -> bool:
        """Whether a region row is written: gemeente rows always, wijken/buurten unless excluded."""
        if row["Key"].strip().startswith("GM"):
            return True
        if self.wijken_buurten_for is not None and gm.code not in self.wijken_buurten_for:
            return False
        return self.include_wijken_buurten and gm.code not in self.gm_only

    def _region_rows(self) -> list[tuple[dict[str, str], _Gemeente | None, int]]:
        """(CSV row, its gemeente, row index within the gemeente) for every output region."""
        out: list[tuple[dict[str, str], _Gemeente | None, int]] = []
        for gm in self.structure:
            for ri, row in enumerate(gm.rows):
                if self.keeps(gm, row):
                    out.append((row, gm, ri))
        return out

    def region_entity_rows(self) -> list[dict[str, Any]]:
        national = {
            "Key": NATIONAL_KEY,
            "Title": "Nederland",
            "Description": None,
            "Municipality": "",
            "DetailRegionCode": "",
            "CategoryGroupID": None,
        }
        rows = [national]
        listed = (
            [r for r in self.full_region_rows if r["Key"].strip() != NATIONAL_KEY.strip()]
            if self.full_region_rows is not None else [row for row, _, _ in self._region_rows()]
        )
        for row in listed:
            rows.append(
                {
                    "Key": row["Key"],
                    "Title": row["Title"],
                    "Description": row["Description"] or None,
                    "Municipality": row["Municipality"],
                    "DetailRegionCode": row["DetailRegionCode"],
                    "CategoryGroupID": None,
                }
            )
        return rows

    # -- synthetic counts ---------------------------------------------------------------------
    def _gemeente_months(self, gm: _Gemeente) -> tuple[np.ndarray, np.ndarray]:
        """(rows, all codes, months) counts and null mask for one gemeente's regions."""
        n_rows, n_codes, n_months = len(gm.rows), len(self.all_codes), len(self.ordinals)
        weights = np.random.default_rng([self.seed, _TAG_WEIGHTS, gm.number]).lognormal(0.0, 1.0, gm.n_leaves)
        share = self.share_per_leaf * gm.n_leaves * weights / weights.sum()
        factors = np.random.default_rng([self.seed, _TAG_CODE_FACTORS, self.table_number, gm.number]).lognormal(
            0.0, 0.35, len(self.part_indices)
        )
        # Aggregation matrix: every output row is the sum of its leaves (buurten).
        agg = np.zeros((n_rows, gm.n_leaves), dtype=np.int64)
        for ri, leaves in enumerate(gm.leaf_of_row):
            agg[ri, leaves] = 1
        leaf_rows = [ri for ri, leaf in enumerate(gm.leaf_is_row) if leaf is not None]
        leaf_ids = [gm.leaf_is_row[ri] for ri in leaf_rows]

        values = np.zeros((n_rows, n_codes, n_months), dtype=np.int64)
        nulls = np.zeros((n_rows, n_codes, n_months), dtype=bool)
        for mi, ordinal in enumerate(self.ordinals):
            rng = np.random.default_rng([self.seed, _TAG_COUNTS, self.table_number, gm.number, ordinal])
            lam = share[:, None] * factors[None, :] * self.expectation[None, :, mi]
            parts = rng.poisson(lam)
            suppressed = rng.random((gm.n_leaves, n_codes)) < self.suppress_share
            if ordinal in self.revised:
                rev = np.random.default_rng(
                    [self.seed, _TAG_REVISIONS, self.table_number, gm.number, ordinal, self.revision]
                )
                hit = rev.random(parts.shape) < self.revise_share
                parts = parts + hit * (1 + rev.poisson(0.5, parts.shape))
            leaf = np.zeros((gm.n_leaves, n_codes), dtype=np.int64)
            leaf[:, self.part_indices] = parts
            leaf[:, self.total_index] = parts.sum(axis=1)
            values[:, :, mi] = agg @ leaf  # suppressed buurt cells still count in wijk and gemeente
            if leaf_rows:
                nulls[leaf_rows, :, mi] = suppressed[leaf_ids, :]
        return values, nulls

    # -- TypedDataSet ---------------------------------------------------------------------------
    def write_typed_dataset(self, path: Path) -> int:
        """Stream the rows code by code (as the real table orders them); returns the row count."""
        region_rows = self._region_rows()
        n_regions = 1 + len(region_rows)
        n_months = len(self.ordinals)
        n_codes = len(self.wanted)
        # (codes, regions, months) for the wanted codes: the only full-size arrays we hold.
        values = np.zeros((n_codes, n_regions, n_months), dtype=np.int64)
        nulls = np.zeros((n_codes, n_regions, n_months), dtype=bool)
        national, national_real = self._national_months()
        values[:, 0, :] = national[self.wanted]
        position = 1
        for gm in self.structure:
            gm_values, gm_nulls = self._gemeente_months(gm)
            keep = [ri for ri, row in enumerate(gm.rows) if self.keeps(gm, row)]
            values[:, position : position + len(keep), :] = gm_values[keep][:, self.wanted, :].transpose(1, 0, 2)
            nulls[:, position : position + len(keep), :] = gm_nulls[keep][:, self.wanted, :].transpose(1, 0, 2)
            position += len(keep)
            del gm_values, gm_nulls
        # Codes the police do not publish monthly (zedenmisdrijven, kinderporno) come as 0 for every
        # month in the downloaded national file: the download turned the suppressed cells into 0.
        # They are suppressed (null) here, at every level, as in the live table.
        for ci, code_index in enumerate(self.wanted):
            if self.all_codes[code_index]["Key"] in self.national.suppressed_codes:
                nulls[ci, :, :] = True

        # Which (region, month) rows exist: a missing month is absent for every region but NL00.
        month_present = np.ones((n_regions, n_months), dtype=bool)
        for mi, ordinal in enumerate(self.ordinals):
            if ordinal in self.missing:
                month_present[1:, mi] = False

        region_keys = pa.array([NATIONAL_KEY] + [row["Key"] for row, _, _ in region_rows])
        period_keys = pa.array([p[0] for p in self.periods])
        for text in region_keys.to_pylist() + period_keys.to_pylist() + [self.all_codes[i]["Key"] for i in self.wanted]:
            _check_json_safe(text)

        n_periods = len(self.periods)
        exists = np.ones((n_regions, n_periods), dtype=bool)
        year_months: dict[int, list[int]] = {}
        for pi, (_, _, mi, year) in enumerate(self.periods):
            if mi is not None:
                exists[:, pi] = month_present[:, mi]
                year_months.setdefault(year, []).append(mi)
        region_index = np.repeat(np.arange(n_regions), n_periods)[exists.ravel()]
        period_index = np.tile(np.arange(n_periods), n_regions)[exists.ravel()]
        region_col = region_keys.take(pa.array(region_index))
        period_col = period_keys.take(pa.array(period_index))

        n_written = 0
        with path.open("wb") as fh:
            fh.write(b"[\n")
            for ci, code_index in enumerate(self.wanted):
                code_key = self.all_codes[code_index]["Key"]
                full = np.zeros((n_regions, n_periods), dtype=np.int64)
                full_null = np.zeros((n_regions, n_periods), dtype=bool)
                for pi, (_, _, mi, year) in enumerate(self.periods):
                    if mi is not None:
                        full[:, pi] = values[ci, :, mi]
                        full_null[:, pi] = nulls[ci, :, mi]
                        continue
                    months = year_months.get(year, [])
                    present = month_present[:, months]
                    # Year row = sum of the months present; null when any of them is null.
                    full[:, pi] = (values[ci][:, months] * present).sum(axis=1)
                    full_null[:, pi] = (nulls[ci][:, months] & present).any(axis=1)
                    published = self.national.years[code_key].get(year)
                    if published is not None and len(months) == 12 and national_real[months].all():
                        full[0, pi] = published  # the real published NL00 year row
                flat_values = full.ravel()[exists.ravel()]
                flat_nulls = full_null.ravel()[exists.ravel()]
                n = len(flat_values)
                if n == 0:
                    continue
                ids = pa.array(np.arange(n_written, n_written + n, dtype=np.int64)).cast(pa.string())
                measure = pa.array(flat_values, mask=flat_nulls).cast(pa.string()).fill_null("null")
                lines = pc.binary_join_element_wise(
                    '{"ID":',
                    ids,
                    f',"{self.spec.dimension}":"{code_key}","WijkenEnBuurten":"',
                    region_col,
                    '","Perioden":"',
                    period_col,
                    f'","{self.spec.measure}":',
                    measure,
                    "},\n",
                    "",
                )
                chunk = _string_array_bytes(lines)
                if n_written:
                    fh.write(b",\n")
                fh.write(chunk[:-2])  # the last row's ",\n" becomes the next chunk's separator
                n_written += n
            fh.write(b"\n]\n")
        return n_written


def _string_array_bytes(array: pa.Array) -> memoryview:
    """The concatenated characters of a string array, without copying element by element."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if array.type != pa.large_string():
        array = array.cast(pa.large_string())  # 64-bit offsets: chunks above 2 GB stay valid
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int64)[array.offset : array.offset + len(array) + 1]
    data = array.buffers()[2]
    return memoryview(data)[int(offsets[0]) : int(offsets[-1])]


def _check_json_safe(text: str) -> None:
    if '"' in text or "\\" in text or any(ord(ch) < 0x20 for ch in text):
        raise ValueError(f"key {text!r} would need JSON escaping")


# ============================================================================================
# Metadata entities
# ============================================================================================


def _write_json(path_without_suffix: Path, data: Any) -> None:
    path = path_without_suffix.with_name(path_without_suffix.name + ".json")
    with path.open("w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False, indent=2)
        fh.write("\n")


def _code_entity_row(row: Mapping[str, str]) -> dict[str, Any]:
    return {
        "Key": row["Key"],
        "Title": row["Title"],
        "Description": row.get("Description") or None,
        "CategoryGroupID": int(row["CategoryGroupID"]) if row.get("CategoryGroupID") else None,
    }


def _data_properties(spec: _TableSpec) -> list[dict[str, Any]]:
    return [
        {
            "odata.type": "Cbs.OData.Dimension",
            "ID": 0,
            "Position": 0,
            "ParentID": None,
            "Type": "Dimension",
            "Key": spec.dimension,
            "Title": spec.dimension_title,
            "Description": None,
        },
        {
            "odata.type": "Cbs.OData.GeoDimension",
            "ID": 1,
            "Position": 1,
            "ParentID": None,
            "Type": "GeoDimension",
            "Key": "WijkenEnBuurten",
            "Title": "Wijken en buurten",
            "Description": "Indeling van Nederland in gemeenten, wijken en buurten (indeling 2023).",
            "MapYear": "2023",
            "ReleasePolicy": False,
        },
        {
            "odata.type": "Cbs.OData.TimeDimension",
            "ID": 2,
            "Position": 2,
            "ParentID": None,
            "Type": "TimeDimension",
            "Key": "Perioden",
            "Title": "Perioden",
            "Description": None,
            "ReleasePolicy": True,
        },
        {
            "odata.type": "Cbs.OData.Topic",
            "ID": 3,
            "Position": 3,
            "ParentID": None,
            "Type": "Topic",
            "Key": spec.measure,
            "Title": spec.measure_title,
            "Description": None,
            "ReleasePolicy": False,
            "Datatype": "Long",
            "Unit": "aantal",
            "Decimals": 0,
            "Default": "Missing",
            "PresentationType": "Absolute",
        },
    ]


def _synthetic_summary(seed: int) -> str:
    return (
        "SYNTHETISCHE TESTDATA. Alleen de landelijke cijfers (NL00, 2012-2023) zijn echt "
        "(politie open data via CBS). De cijfers per gemeente, wijk en buurt zijn synthetisch: "
        f"deterministisch gegenereerd (seed {seed}) en geven geen werkelijke criminaliteit weer."
    )


def _table_infos(
    spec: _TableSpec,
    first: _Month,
    last: _Month,
    modified: str,
    n_rows: int,
    seed: int,
    structure: list[_Gemeente],
    missing: set[int],
    revised: set[int],
    revision: int,
) -> dict[str, Any]:
    summary = _synthetic_summary(seed)
    return {
        "ID": 1,
        "Title": SYNTHETIC_PREFIX + spec.title,
        "ShortTitle": SYNTHETIC_PREFIX + spec.short_title,
        "Identifier": spec.table_id,
        "Summary": summary,
        "Modified": modified,
        "MetaDataModified": modified,
        "ReasonDelivery": "Actualisering",
        "ExplanatoryText": "",
        "OutputStatus": "Regulier",
        "Source": "Politie (landelijk); synthetisch (gemeenten, wijken, buurten)",
        "Language": "nl",
        "Catalog": "Politie",
        "Frequency": "Perjaar",
        "Period": f"{first.year} {MONTH_NAMES[first.month - 1]} - {last.year} {MONTH_NAMES[last.month - 1]}",
        "Status": "Regulier",
        "ShortDescription": summary,
        "Description": _synthetic_notice(spec, first, last, seed, structure, missing, revised, revision),
        "DefaultPresentation": "",
        "DefaultSelection": "",
        "GraphTypes": "Table,Bar,Line",
        "RecordCount": n_rows,
        "ColumnCount": 5,
        "SearchPriority": "2",
    }


def _synthetic_notice(
    spec: _TableSpec,
    first: _Month,
    last: _Month,
    seed: int,
    structure: list[_Gemeente],
    missing: set[int],
    revised: set[int],
    revision: int,
) -> str:
    lines = [
        f"SYNTHETISCH — {spec.table_id} ({spec.title})",
        "",
        _synthetic_summary(seed),
        "Landelijke maanden buiten 2012-01 … 2023-12 zijn eveneens synthetisch.",
        "",
        "SYNTHETIC TEST DATA: only the national rows (NL00) are real; all gemeente, wijk and buurt",
        "figures are generated (veiligheidsbeeld.testing.synthetic) and must never be published.",
        "",
        f"periode: {first} … {last}",
        f"seed: {seed}",
        f"gemeenten: {', '.join(g.code for g in structure)}",
    ]
    if missing:
        lines.append("ontbrekende maanden (behalve NL00): " + ", ".join(str(_Month.from_ordinal(o)) for o in sorted(missing)))
    if revised:
        lines.append(
            f"herziene maanden (revisie {revision}): " + ", ".join(str(_Month.from_ordinal(o)) for o in sorted(revised))
        )
    return "\n".join(lines) + "\n"


# ============================================================================================
# Command line
# ============================================================================================


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m veiligheidsbeeld.testing.synthetic",
        description="Write a synthetic snapshot of the police tables (only NL00 is real data).",
    )
    parser.add_argument("out", type=Path, help="snapshot root: <OUT>/<TABLE_ID>/<Entity>.json")
    parser.add_argument("--shared", type=Path, default=None, help=f"shared folder (default: ${SHARED_ENV} or ../shared)")
    parser.add_argument("--gemeenten", default=None, help="comma list, e.g. GM0153,GM0164 (default: all of RE02)")
    parser.add_argument("--district", default=None, help="all gemeenten of a district, e.g. VR04")
    parser.add_argument("--tables", default="47022NED,47024NED,47025NED")
    parser.add_argument("--start", default="2012-01")
    parser.add_argument("--end", default="2023-12")
    parser.add_argument("--missing-months", default="", help="comma list of YYYY-MM left out (except NL00)")
    parser.add_argument("--suppress-share", type=float, default=0.01)
    parser.add_argument("--no-wijken-buurten", action="store_true", help="gemeente rows only")
    parser.add_argument("--modified", default=None, help="TableInfos Modified (default depends on --revised)")
    parser.add_argument("--seed", type=int, default=20151007)
    parser.add_argument(
        "--revised",
        action="store_true",
        help="write the later version: one month after --end, the last 3 months revised",
    )
    args = parser.parse_args(argv)

    shared = args.shared or find_shared_dir()
    gemeenten: list[str] | None = None
    if args.district:
        gemeenten = district_gemeenten(args.district)
    if args.gemeenten:
        gemeenten = (gemeenten or []) + [g.strip() for g in args.gemeenten.split(",") if g.strip()]
    kwargs: dict[str, Any] = {
        "shared_dir": shared,
        "gemeenten": gemeenten,
        "tables": tuple(t.strip() for t in args.tables.split(",") if t.strip()),
        "start": args.start,
        "include_wijken_buurten": not args.no_wijken_buurten,
        "missing_months": [m.strip() for m in args.missing_months.split(",") if m.strip()],
        "suppress_share": args.suppress_share,
        "seed": args.seed,
    }
    if args.modified:
        kwargs["modified"] = args.modified
    if args.revised:
        written = build_revised_snapshot(args.out, end=args.end, **kwargs)
    else:
        written = build_police_snapshot(args.out, end=args.end, **kwargs)
    for table_id, directory in written.items():
        print(f"{table_id}: {directory}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
