"""A deterministic snapshot of the yearly police table 47025NED (misdrijven per jaar), SYNTHETIC
per gemeente.

47025NED "Geregistreerde misdrijven; soort misdrijf, regio" publishes year rows (``JJ00``) per
region (dimension ``RegioS``: NL01, landsdelen, provinces, the police units and every gemeente)
for the same ``SoortMisdrijf`` codes as the monthly table 47022NED — including the ones the monthly
table never publishes (1.4.1 Zedenmisdrijf, 3.2.1 Kinderporno, 3.2.2 Kinderprostitutie).
:func:`build_yearly_snapshot` writes it in the layout of ``cbsodata.download_data``, so the stub
server and :class:`~veiligheidsbeeld.sources.odata.SnapshotSource` serve it like the real table.

What is real and what is not:

* real: the code list (``47022NED_SoortMisdrijf.csv``, the same in 47025NED), the region list
  (``47025NED_RegioS.csv``), the column keys (``SoortMisdrijf``, ``RegioS``, ``Perioden``,
  ``GeregistreerdeMisdrijven_1``, as read by public clients of the API) and the national rows
  (``NL01``: the published yearly series 2012–2023, ``NL_misdrijven_per_jaar_2012_2023.csv``);
* SYNTHETIC: every gemeente figure. Per gemeente a fixed share of the national count (about 19%
  of NL over the 76 gemeenten of Oost-Nederland, times a lognormal factor per gemeente), drawn as
  Poisson per code and year. Years outside 2012–2023 use the nearest published national year.

Every draw comes from a generator seeded by (seed, gemeente[, code, year]), so a gemeente's figures
do not depend on which other gemeenten, codes or years are built. The TableInfos title and
summary and a ``SYNTHETISCH.txt`` say that the gemeente figures are invented.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

TABLE_ID = "47025NED"
REGION_DIMENSION = "RegioS"
TYPE_DIMENSION = "SoortMisdrijf"
MEASURE = "GeregistreerdeMisdrijven_1"
NATIONAL_CODE = "NL01"
TITLE = "Geregistreerde misdrijven; soort misdrijf, regio"
SYNTHETIC_PREFIX = "SYNTHETISCH — "
#: Share of all Dutch registrations in Eenheid Oost-Nederland, spread over its 76 gemeenten.
SHARE_PER_GEMEENTE = 0.19 / 76
_REAL_FIRST_YEAR, _REAL_LAST_YEAR = 2012, 2023
_TAG_SHARE, _TAG_COUNTS = 101, 102


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _national_years(politie: Path, codes: list[dict[str, str]]) -> dict[str, dict[int, int]]:
    """Padded code key -> year -> the real national count (the file names codes by title)."""
    by_title = {row["Title"]: row["Key"] for row in codes}
    by_title["Totaal misdrijven"] = next(row["Key"] for row in codes if row["Key"].strip() == "0.0.0")
    out: dict[str, dict[int, int]] = {row["Key"]: {} for row in codes}
    for row in _read_csv(politie / "NL_misdrijven_per_jaar_2012_2023.csv"):
        key = by_title.get(row["incident_type_code"])
        if key is None:
            raise ValueError(f"NL_misdrijven_per_jaar_2012_2023.csv: title {row['incident_type_code']!r} is not in the code list")
        out[key][int(row["year"])] = int(row["incident_count"])
    return out


def _gemeente_share(seed: int, code: str) -> float:
    rng = np.random.default_rng([seed, _TAG_SHARE, int(code[2:])])
    return SHARE_PER_GEMEENTE * float(rng.lognormal(0.0, 0.5))


def yearly_count(seed: int, gemeente: str, code_index: int, year: int, national: int) -> int:
    """The SYNTHETIC count of one gemeente, code (index in the code list) and year."""
    rng = np.random.default_rng([seed, _TAG_COUNTS, int(gemeente[2:]), code_index, year])
    return int(rng.poisson(national * _gemeente_share(seed, gemeente)))


def build_yearly_snapshot(
    out_root: Path,
    *,
    politie: Path,
    gemeenten: Sequence[str],
    years: Sequence[int],
    codes: Sequence[str] | None = None,
    modified: str = "2024-03-28T02:00:00",
    seed: int = 20151007,
) -> Path:
    """Write ``<out_root>/47025NED/<Entity>.json``; returns the table folder.

    ``politie``: the folder with the real police CSVs. ``gemeenten``: GM codes with data (they must
    be in the real region list); ``years``: the published years (the last one is provisional);
    ``codes``: code keys with data (default all), like a download with a filter — the entity
    lists are always complete.
    """
    all_codes = _read_csv(politie / "47022NED_SoortMisdrijf.csv")
    regions = _read_csv(politie / "47025NED_RegioS.csv")
    region_keys = {r["Key"].strip(): r["Key"] for r in regions}
    selected = [g.strip().upper() for g in gemeenten]
    unknown = [g for g in selected if not g.startswith("GM") or g not in region_keys]
    if unknown:
        raise ValueError(f"unknown gemeente code(s) for {TABLE_ID}: {', '.join(unknown)}")
    year_list = sorted({int(y) for y in years})
    if not year_list:
        raise ValueError("no years given")
    index = {row["Key"].strip(): i for i, row in enumerate(all_codes)}
    wanted = list(range(len(all_codes))) if codes is None else sorted({index[c.strip()] for c in codes if c.strip() in index})
    missing = [c for c in (codes or []) if c.strip() not in index]
    if missing:
        raise ValueError(f"{TABLE_ID}: unknown {TYPE_DIMENSION} code(s): {', '.join(map(repr, missing))}")
    national = _national_years(politie, all_codes)

    def national_count(key: str, year: int) -> int:
        series = national[key]
        return series.get(min(max(year, _REAL_FIRST_YEAR), _REAL_LAST_YEAR), 0)

    rows: list[dict[str, Any]] = []
    for ci in wanted:
        key = all_codes[ci]["Key"]
        for region in [NATIONAL_CODE, *selected]:
            for year in year_list:
                if region == NATIONAL_CODE:
                    value = national_count(key, year)
                else:
                    value = yearly_count(seed, region, ci, year, national_count(key, year))
                rows.append({"ID": len(rows), TYPE_DIMENSION: key, REGION_DIMENSION: region_keys[region],
                             "Perioden": f"{year}JJ00", MEASURE: value})

    directory = Path(out_root) / TABLE_ID
    directory.mkdir(parents=True, exist_ok=True)
    summary = (
        "SYNTHETISCHE TESTDATA. Alleen de landelijke cijfers (NL01, 2012-2023) zijn echt (politie open data via "
        f"CBS). De cijfers per gemeente zijn synthetisch: deterministisch gegenereerd (seed {seed}) en geven geen "
        "werkelijke criminaliteit weer."
    )
    entities: Mapping[str, Any] = {
        "TableInfos": [{
            "ID": 1, "Title": SYNTHETIC_PREFIX + TITLE, "ShortTitle": SYNTHETIC_PREFIX + "Misdrijven; soort, regio",
            "Identifier": TABLE_ID, "Summary": summary, "Modified": modified, "MetaDataModified": modified,
            "Catalog": "Politie", "Frequency": "Perjaar", "Period": f"{year_list[0]} - {year_list[-1]}",
            "Language": "nl", "RecordCount": len(rows), "ColumnCount": 4,
        }],
        "DataProperties": [
            {"ID": 0, "Position": 0, "ParentID": None, "Type": "Dimension", "Key": TYPE_DIMENSION, "Title": "Soort misdrijf"},
            {"ID": 1, "Position": 1, "ParentID": None, "Type": "GeoDimension", "Key": REGION_DIMENSION, "Title": "Regio's"},
            {"ID": 2, "Position": 2, "ParentID": None, "Type": "TimeDimension", "Key": "Perioden", "Title": "Perioden"},
            {"ID": 3, "Position": 3, "ParentID": None, "Type": "Topic", "Key": MEASURE,
             "Title": "Geregistreerde misdrijven", "Datatype": "Long", "Unit": "aantal", "Decimals": 0},
        ],
        TYPE_DIMENSION: [{"Key": r["Key"], "Title": r["Title"], "Description": r.get("Description") or None,
                          "CategoryGroupID": None} for r in all_codes],
        REGION_DIMENSION: [{"Key": r["Key"], "Title": r["Title"], "Description": r.get("Description") or None,
                            "CategoryGroupID": None} for r in regions],
        "Perioden": [{"Key": f"{y}JJ00", "Title": str(y), "Description": None,
                      "Status": "Voorlopig" if y == year_list[-1] else "Definitief"} for y in year_list],
        "CategoryGroups": [],
        "TypedDataSet": rows,
    }
    for name, data in entities.items():
        (directory / f"{name}.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    (directory / "SYNTHETISCH.txt").write_text(
        f"SYNTHETISCH — {TABLE_ID} ({TITLE})\n\n{summary}\n\nSYNTHETIC TEST DATA: only the national rows (NL01) are "
        "real; every gemeente figure is generated (veiligheidsbeeld.testing.synthetic_jaar) and must never be "
        f"published.\n\njaren: {year_list[0]} … {year_list[-1]}\nseed: {seed}\ngemeenten: {', '.join(selected)}\n",
        encoding="utf-8",
    )
    return directory
