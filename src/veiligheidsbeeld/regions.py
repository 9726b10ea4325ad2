"""Districts and gemeenten of a regionale eenheid, gemeente lineage and region checks.

One place decides district membership: the district table of the eenheid and layout year (a
checked-in reference CSV, or the CSV named in ``AreaSettings.district_table``). It can be
derived (and checked) from CBS "Gebieden in Nederland <year>", which gives every gemeente its
veiligheidsregio and its politie regionale eenheid. The districts of Oost-Nederland are its five
veiligheidsregio's (VR04 IJsselland … VR08 Gelderland-Zuid).

Gemeente lineage (``reference/gemeente_lineage.csv``) records every gemeente code that
disappeared from the 1 January layout since 2014 (so: since the 2013 layout) and the code it went
into, so figures on an older layout can be mapped to the current one and back.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from veiligheidsbeeld.config import AreaSettings
from veiligheidsbeeld.errors import ConfigError, SchemaDriftError, SourceError
from veiligheidsbeeld.sources.odata import ODataSource

log = logging.getLogger(__name__)


def gemeente_of(code: str, municipality: str | None = None) -> str | None:
    """The gemeente of a region code: itself for a gemeente, the given or encoded one for a wijk
    ('WK' + gemeente digits + wijk) or buurt; None for NL and other levels."""
    code = str(code).strip()
    municipality = str(municipality or "").strip()
    if municipality.startswith("GM"):
        return municipality
    if re.fullmatch(r"GM\d{4}", code):
        return code
    if re.fullmatch(r"(WK\d{6}|BU\d{8})", code):
        return "GM" + code[2:6]
    return None

DISTRICT_COLUMNS: tuple[str, ...] = (
    "gemeente_code",
    "gemeente_naam",
    "district_code",
    "district_naam",
    "eenheid_code",
    "eenheid_naam",
)
LINEAGE_COLUMNS: tuple[str, ...] = (
    "old_code",
    "old_name",
    "new_code",
    "new_name",
    "layout_year",
    "kind",
    "new_code_created",
    "note",
)
#: The police registers incidents it cannot place as "Gemeente onbekend".
UNKNOWN_GEMEENTE = "GM0000"

#: CBS table "Gebieden in Nederland <year>" per year (catalog opendata.cbs.nl).
#: 2016–2026 are confirmed by two independent public clients of the API; 2010–2015 by one.
#: Column keys (Code_32, Naam_33, …) differ from year to year: columns are resolved by their
#: titles in DataProperties ("Politie Regionale eenheden" > "Code"), never by key.
GEBIEDEN_IN_NEDERLAND: dict[int, str] = {
    2010: "80397ned",
    2011: "81008ned",
    2012: "81498ned",
    2013: "82000NED",
    2014: "82496NED",
    2015: "82949NED",
    2016: "83287NED",
    2017: "83553NED",
    2018: "83859NED",
    2019: "84378NED",
    2020: "84721NED",
    2021: "84929NED",
    2022: "85067NED",
    2023: "85385NED",
    2024: "85755NED",
    2025: "86059NED",
    2026: "86247NED",
}

Severity = Literal["fout", "waarschuwing", "info"]


# --------------------------------------------------------------------------------------------
# Small value objects
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Gemeente:
    code: str
    naam: str
    district_code: str
    district_naam: str


@dataclass(frozen=True)
class District:
    code: str
    naam: str
    gemeenten: tuple[Gemeente, ...]

    @property
    def gemeente_codes(self) -> tuple[str, ...]:
        return tuple(g.code for g in self.gemeenten)


@dataclass(frozen=True)
class Finding:
    """One outcome of a check, phrased for the user (Dutch)."""

    severity: Severity
    kind: str
    code: str
    message: str


@dataclass(frozen=True)
class RegionsOverview:
    """What ``veiligheidsbeeld regions`` prints: the districts with their gemeenten, and findings."""

    eenheid_code: str
    eenheid_naam: str
    layout_year: int
    source: str
    districts: tuple[District, ...]
    findings: tuple[Finding, ...] = field(default_factory=tuple)
    data_checked: bool = False

    @property
    def n_gemeenten(self) -> int:
        return sum(len(d.gemeenten) for d in self.districts)

    def to_text(self) -> str:
        lines = [
            f"Regionale eenheid {self.eenheid_code} {self.eenheid_naam} — gemeentelijke indeling {self.layout_year}",
            f"Bron: {self.source}",
            f"{len(self.districts)} districten, {self.n_gemeenten} gemeenten",
            "",
        ]
        for d in self.districts:
            lines.append(f"{d.code} {d.naam} ({len(d.gemeenten)} gemeenten)")
            for g in d.gemeenten:
                lines.append(f"  {g.code}  {g.naam}")
            lines.append("")
        if not self.data_checked:
            lines.append("Niet vergeleken met de politiegegevens (er zijn nog geen gegevens geladen).")
        elif not self.findings:
            lines.append("Controle tegen de politiegegevens: alle gemeenten gevonden, niets bijzonders.")
        else:
            lines.append("Controle tegen de politiegegevens:")
            for f in self.findings:
                lines.append(f"  [{f.severity}] {f.message}")
        return "\n".join(lines).rstrip() + "\n"


# --------------------------------------------------------------------------------------------
# Text and code normalisation
# --------------------------------------------------------------------------------------------


def _fold(text: str) -> str:
    """Key for matching names: lowercase, no accents, punctuation as spaces."""
    decomposed = unicodedata.normalize("NFKD", str(text).strip().lower())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^0-9a-z]+", " ", plain).split())


def normalise_gemeente_code(value: str) -> str | None:
    """'GM0153', 'gm153', '0153', '153' -> 'GM0153'; None when it is not a gemeente code."""
    m = re.fullmatch(r"(?:gm)?\s*(\d{1,4})", str(value).strip().lower())
    return f"GM{int(m.group(1)):04d}" if m else None


def gemeente_of_region(code: str) -> str | None:
    """The gemeente of a trimmed region code (GM0153, WK015300, BU01530000), else None."""
    code = str(code).strip().upper()
    if re.fullmatch(r"GM\d{4}", code):
        return code
    if re.fullmatch(r"(WK\d{6}|BU\d{8})", code):
        return "GM" + code[2:6]
    return None


# --------------------------------------------------------------------------------------------
# District table
# --------------------------------------------------------------------------------------------


def reference_district_file(eenheid_code: str, layout_year: int) -> Path:
    """The checked-in district table of an eenheid and layout year (may not exist)."""
    name = f"districts_{eenheid_code.strip().upper()}_{int(layout_year)}.csv"
    return Path(str(resources.files("veiligheidsbeeld").joinpath("reference", name)))


def load_district_table(area: AreaSettings | None = None) -> pd.DataFrame:
    """The district table of ``area``: one row per gemeente, columns :data:`DISTRICT_COLUMNS`.

    ``area.district_table`` (a CSV path) wins; otherwise the checked-in reference table
    ``reference/districts_<eenheid>_<layout year>.csv``. Another eenheid needs only a CSV and
    settings, no code.
    """
    area = area or AreaSettings()
    if area.district_table:
        path = Path(area.district_table).expanduser()
        if not path.is_file():
            raise ConfigError(
                f"Districtentabel '{path}' (instelling [area].district_table) bestaat niet. "
                f"Verwacht een CSV met de kolommen {', '.join(DISTRICT_COLUMNS)}."
            )
    else:
        path = reference_district_file(area.eenheid_code, area.layout_year)
        if not path.is_file():
            raise ConfigError(
                f"Er is geen districtentabel meegeleverd voor eenheid {area.eenheid_code} "
                f"({area.eenheid_naam}), indeling {area.layout_year}. Geef in de instellingen "
                "[area].district_table op: een CSV met de kolommen "
                f"{', '.join(DISTRICT_COLUMNS)} (af te leiden uit CBS 'Gebieden in Nederland')."
            )
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise ConfigError(f"Districtentabel '{path}' kan niet worden gelezen: {exc}") from exc
    return validate_district_table(frame, source=str(path), eenheid_code=area.eenheid_code)


def validate_district_table(frame: pd.DataFrame, *, source: str, eenheid_code: str | None = None) -> pd.DataFrame:
    """Check and normalise a district table (trimmed strings, sorted by district and name)."""
    missing = [c for c in DISTRICT_COLUMNS if c not in frame.columns]
    if missing:
        raise ConfigError(
            f"Districtentabel {source} mist de kolom(men) {', '.join(missing)}; "
            f"verwacht: {', '.join(DISTRICT_COLUMNS)}."
        )
    out = frame.loc[:, list(DISTRICT_COLUMNS)].astype(str).apply(lambda s: s.str.strip())
    if out.empty:
        raise ConfigError(f"Districtentabel {source} is leeg.")
    empty = out[(out == "").any(axis=1)]
    if not empty.empty:
        raise ConfigError(f"Districtentabel {source} heeft lege velden in rij(en) {', '.join(map(str, empty.index[:5] + 2))}.")
    out["gemeente_code"] = out["gemeente_code"].str.upper()
    out["district_code"] = out["district_code"].str.upper()
    out["eenheid_code"] = out["eenheid_code"].str.upper()
    bad = out.loc[~out["gemeente_code"].str.fullmatch(r"GM\d{4}"), "gemeente_code"]
    if not bad.empty:
        raise ConfigError(f"Districtentabel {source}: ongeldige gemeentecode(s) {', '.join(bad[:5])} (verwacht GM + 4 cijfers).")
    dup = out.loc[out["gemeente_code"].duplicated(), "gemeente_code"]
    if not dup.empty:
        raise ConfigError(f"Districtentabel {source}: gemeente(n) {', '.join(dup[:5])} staan in meer dan één rij.")
    for column, label in (("district_code", "district"), ("eenheid_code", "eenheid")):
        names = out.groupby(column)[column.replace("_code", "_naam")].nunique()
        if (names > 1).any():
            raise ConfigError(f"Districtentabel {source}: {label} {', '.join(names[names > 1].index)} heeft meer dan één naam.")
    if eenheid_code is not None:
        other = sorted(set(out["eenheid_code"]) - {eenheid_code.strip().upper()})
        if other:
            raise ConfigError(
                f"Districtentabel {source} hoort bij eenheid {', '.join(other)}, niet bij de ingestelde "
                f"eenheid {eenheid_code}. Pas [area].eenheid_code of [area].district_table aan."
            )
    return out.sort_values(["district_code", "gemeente_naam"], key=lambda s: s.map(_fold)).reset_index(drop=True)


def districts_of(table: pd.DataFrame) -> tuple[District, ...]:
    """The districts of a district table, in code order, gemeenten by name."""
    out = []
    for (code, naam), rows in table.groupby(["district_code", "district_naam"], sort=True):
        gemeenten = tuple(
            Gemeente(r.gemeente_code, r.gemeente_naam, r.district_code, r.district_naam)
            for r in rows.sort_values("gemeente_naam", key=lambda s: s.map(_fold)).itertuples()
        )
        out.append(District(str(code), str(naam), gemeenten))
    return tuple(out)


def resolve_district(name_or_code: str, table: pd.DataFrame | None = None) -> District:
    """A district by code ('VR05', 'vr5') or name ('Twente'); unknown -> ConfigError listing all."""
    table = load_district_table() if table is None else table
    wanted = _fold(name_or_code)
    districts = districts_of(table)
    for d in districts:
        if wanted in (_fold(d.code), _fold(d.naam)) or _same_numbered_code(name_or_code, d.code):
            return d
    valid = "; ".join(f"{d.code} {d.naam}" for d in districts)
    raise ConfigError(f"Onbekend district '{name_or_code}'. Geldige districten: {valid}.")


def resolve_gemeente(name_or_code: str, table: pd.DataFrame | None = None) -> Gemeente:
    """A gemeente of the eenheid by code ('GM0153', '153') or name ('Enschede')."""
    table = load_district_table() if table is None else table
    code = normalise_gemeente_code(name_or_code)
    wanted = _fold(name_or_code)
    for r in table.itertuples():
        if r.gemeente_code == code or _fold(r.gemeente_naam) == wanted:
            return Gemeente(r.gemeente_code, r.gemeente_naam, r.district_code, r.district_naam)
    hint = ""
    lineage = load_lineage()
    if code is not None and code in set(lineage["old_code"]):
        current = successor(code, 9999, lineage)
        names = dict(zip(table["gemeente_code"], table["gemeente_naam"]))
        old_name = lineage.set_index("old_code").at[code, "old_name"]
        into = f"{names[current]} ({current})" if current in names else current
        hint = f" {old_name} ({code}) bestaat niet meer: die gemeente is opgegaan in {into}."
    valid = ", ".join(f"{r.gemeente_naam} ({r.gemeente_code})" for r in table.sort_values("gemeente_naam").itertuples())
    eenheid = ", ".join(sorted(set(table["eenheid_code"])))
    raise ConfigError(f"Onbekende gemeente '{name_or_code}' in eenheid {eenheid}.{hint} Geldige gemeenten: {valid}.")


def _same_numbered_code(given: str, code: str) -> bool:
    """'vr5' and '5' match 'VR05'."""
    m_given = re.fullmatch(r"([a-z]*)\s*0*(\d+)", given.strip().lower())
    m_code = re.fullmatch(r"([a-z]*)0*(\d+)", code.strip().lower())
    if not m_given or not m_code:
        return False
    prefix_ok = m_given.group(1) in ("", m_code.group(1))
    return prefix_ok and m_given.group(2) == m_code.group(2)


# --------------------------------------------------------------------------------------------
# Derivation from CBS "Gebieden in Nederland"
# --------------------------------------------------------------------------------------------


def gebieden_table_id(year: int) -> str:
    try:
        return GEBIEDEN_IN_NEDERLAND[int(year)]
    except KeyError:
        years = ", ".join(str(y) for y in sorted(GEBIEDEN_IN_NEDERLAND))
        raise ConfigError(f"Geen tabel 'Gebieden in Nederland' bekend voor {year}. Bekende jaren: {years}.") from None


def topic_paths(data_properties: Sequence[Mapping[str, Any]]) -> dict[str, tuple[str, ...]]:
    """Column key -> titles from the outermost group down to the column ('Lokaliseringen van
    gemeenten', "Veiligheidsregio's", 'Code'), for every Topic and dimension in DataProperties."""
    by_id = {p.get("ID"): p for p in data_properties}
    out: dict[str, tuple[str, ...]] = {}
    for p in data_properties:
        if p.get("Type") == "TopicGroup" or not p.get("Key"):
            continue
        titles = [str(p.get("Title") or "").strip()]
        parent = p.get("ParentID")
        seen = set()
        while parent is not None and parent in by_id and parent not in seen:
            seen.add(parent)
            titles.append(str(by_id[parent].get("Title") or "").strip())
            parent = by_id[parent].get("ParentID")
        out[str(p["Key"])] = tuple(reversed(titles))
    return out


def find_column(
    paths: Mapping[str, tuple[str, ...]], *, group: str, title: str, table_id: str
) -> str:
    """The key of the column titled ``title`` inside a group whose title matches regex ``group``."""
    pattern = re.compile(group, re.IGNORECASE)
    hits = [
        key
        for key, titles in paths.items()
        if titles and _fold(titles[-1]) == _fold(title) and any(pattern.search(t) for t in titles[:-1])
    ]
    if len(hits) != 1:
        what = "geen" if not hits else f"{len(hits)} ({', '.join(hits)})"
        raise SchemaDriftError(
            f"Tabel {table_id}: {what} kolom '{title}' gevonden onder een groep die past bij /{group}/ "
            "in DataProperties; de tabel is van vorm veranderd."
        )
    return hits[0]


def derive_districts_from_gebieden(source: ODataSource, year: int, eenheid_code: str) -> pd.DataFrame:
    """The district table of ``eenheid_code`` in layout ``year`` from CBS "Gebieden in Nederland".

    Districts are the veiligheidsregio's: the police units follow veiligheidsregio boundaries
    (every regionale eenheid covers whole veiligheidsregio's). Columns are resolved by title.
    """
    table_id = gebieden_table_id(year)
    props = source.entity(table_id, "DataProperties")
    paths = topic_paths(props)
    gm_code = find_column(paths, group=r"codes en namen van gemeenten", title="Code", table_id=table_id)
    gm_name = find_column(paths, group=r"codes en namen van gemeenten", title="Naam", table_id=table_id)
    vr_code = find_column(paths, group=r"veiligheidsregio", title="Code", table_id=table_id)
    vr_name = find_column(paths, group=r"veiligheidsregio", title="Naam", table_id=table_id)
    re_code = find_column(paths, group=r"politie.*eenhe|regionale eenhe", title="Code", table_id=table_id)
    re_name = find_column(paths, group=r"politie.*eenhe|regionale eenhe", title="Naam", table_id=table_id)
    select = [gm_code, gm_name, vr_code, vr_name, re_code, re_name]
    wanted = eenheid_code.strip().upper()
    rows: list[dict[str, str]] = []
    for page in source.iter_pages(table_id, None, select):
        for r in page:
            missing = [k for k in select if k not in r]
            if missing:
                raise SchemaDriftError(f"Tabel {table_id}: kolom(men) {', '.join(missing)} ontbreken in de gegevens.")
            if str(r[re_code] or "").strip().upper() != wanted:
                continue
            rows.append(
                {
                    "gemeente_code": str(r[gm_code] or "").strip(),
                    "gemeente_naam": str(r[gm_name] or "").strip(),
                    "district_code": str(r[vr_code] or "").strip(),
                    "district_naam": str(r[vr_name] or "").strip(),
                    "eenheid_code": wanted,
                    "eenheid_naam": str(r[re_name] or "").strip(),
                }
            )
    if not rows:
        raise SourceError(f"Tabel {table_id} ({source.description}) kent geen gemeenten in eenheid {wanted}.")
    return validate_district_table(pd.DataFrame(rows), source=f"CBS {table_id}", eenheid_code=wanted)


def compare_district_tables(expected: pd.DataFrame, actual: pd.DataFrame) -> list[Finding]:
    """Differences in membership, district or name between two district tables."""
    findings: list[Finding] = []
    e = expected.set_index("gemeente_code")
    a = actual.set_index("gemeente_code")
    for code in sorted(set(e.index) - set(a.index)):
        findings.append(Finding("fout", "ontbreekt", code, f"{e.at[code, 'gemeente_naam']} ({code}) ontbreekt in de vergeleken tabel."))
    for code in sorted(set(a.index) - set(e.index)):
        findings.append(Finding("fout", "extra", code, f"{a.at[code, 'gemeente_naam']} ({code}) staat alleen in de vergeleken tabel."))
    for code in sorted(set(e.index) & set(a.index)):
        if e.at[code, "district_code"] != a.at[code, "district_code"]:
            findings.append(
                Finding(
                    "fout",
                    "ander_district",
                    code,
                    f"{e.at[code, 'gemeente_naam']} ({code}) hoort bij {e.at[code, 'district_code']}, "
                    f"maar volgens de vergeleken tabel bij {a.at[code, 'district_code']}.",
                )
            )
        if _fold(e.at[code, "gemeente_naam"]) != _fold(a.at[code, "gemeente_naam"]):
            findings.append(
                Finding("info", "andere_naam", code, f"{code} heet '{e.at[code, 'gemeente_naam']}' en '{a.at[code, 'gemeente_naam']}'.")
            )
    return findings


# --------------------------------------------------------------------------------------------
# Gemeente lineage
# --------------------------------------------------------------------------------------------


def lineage_file() -> Path:
    return Path(str(resources.files("veiligheidsbeeld").joinpath("reference", "gemeente_lineage.csv")))


@cache
def _load_lineage_cached(path: str) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    missing = [c for c in LINEAGE_COLUMNS if c not in frame.columns]
    if missing:
        raise ConfigError(f"Lineagetabel {path} mist de kolom(men) {', '.join(missing)}.")
    frame = frame.loc[:, list(LINEAGE_COLUMNS)].copy()
    frame["layout_year"] = frame["layout_year"].astype(int)
    frame["new_code_created"] = frame["new_code_created"].str.strip().str.lower().isin(["ja", "true", "1"])
    dup = frame.loc[frame["old_code"].duplicated(), "old_code"]
    if not dup.empty:
        raise ConfigError(f"Lineagetabel {path}: code(s) {', '.join(dup)} verdwijnen meer dan eens.")
    return frame.sort_values(["layout_year", "old_code"]).reset_index(drop=True)


def load_lineage(path: str | Path | None = None) -> pd.DataFrame:
    """Gemeente codes that disappeared from the 1 January layout, and where they went.

    ``layout_year`` is the first layout without ``old_code``; ``new_code`` is the (main)
    successor; ``kind`` is samenvoeging, opsplitsing (split over several gemeenten; the note
    names them, counts are assigned wholly to ``new_code``) or hernoeming (new code, same area).
    """
    return _load_lineage_cached(str(path or lineage_file())).copy()


def successor(code: str, layout_year: int, lineage: pd.DataFrame | None = None) -> str:
    """The code that ``code`` has become in the layout of ``layout_year`` (itself if unchanged)."""
    lineage = load_lineage() if lineage is None else lineage
    steps = dict(zip(lineage["old_code"], zip(lineage["new_code"], lineage["layout_year"])))
    current = str(code).strip().upper()
    for _ in range(len(steps) + 1):
        step = steps.get(current)
        if step is None or step[1] > layout_year:
            return current
        current = step[0]
    raise ConfigError(f"Lineagetabel bevat een kringverwijzing bij {code}.")


def codes_in_layout(lineage: pd.DataFrame, layout_year: int) -> tuple[set[str], set[str]]:
    """(codes retired by ``layout_year``, codes created after ``layout_year``) per the lineage."""
    retired = set(lineage.loc[lineage["layout_year"] <= layout_year, "old_code"])
    created_after = set(lineage.loc[lineage["new_code_created"] & (lineage["layout_year"] > layout_year), "new_code"])
    return retired, created_after


def predecessors(code: str, layout_year: int, lineage: pd.DataFrame | None = None) -> list[str]:
    """The codes of the ``layout_year`` layout that (mainly) make up today's ``code``.

    ``predecessors('GM1945', 2015) == ['GM0241']``; ``predecessors('GM1945', 2014)`` gives
    Groesbeek, Millingen aan de Rijn and Ubbergen. A split gemeente counts towards its main
    successor only (see :func:`load_lineage`).
    """
    lineage = load_lineage() if lineage is None else lineage
    code = str(code).strip().upper()
    later = lineage[lineage["layout_year"] > layout_year]
    into: dict[str, list[str]] = {}
    for old, new in zip(later["old_code"], later["new_code"]):
        into.setdefault(new, []).append(old)
    retired, created_after = codes_in_layout(lineage, layout_year)
    result: set[str] = set()
    todo = [code]
    seen: set[str] = set()
    while todo:
        c = todo.pop()
        if c in seen:
            continue
        seen.add(c)
        if c not in created_after and c not in retired:
            result.add(c)
        todo.extend(into.get(c, []))
    return sorted(result)


@dataclass(frozen=True)
class LayoutParts:
    """What today's gemeente ``code`` was made of on the 1 January layout of ``year``.

    ``parts``: the codes of that layout whose figures add up to today's gemeente (itself when
    unchanged; Zevenaar and Rijnwaarden for Zevenaar in 2015). ``splits``: gemeenten of that
    layout that were later split and of which only a part went into today's gemeente (their
    figures cannot simply be added: see :func:`layout_parts`).
    """

    code: str
    year: int
    parts: tuple[str, ...]
    splits: tuple[str, ...] = ()


def split_successors(lineage: pd.DataFrame) -> dict[str, tuple[str, ...]]:
    """Per split gemeente (kind opsplitsing): every gemeente of today's layout that got a part of it
    (the main successor and the codes its note names, each followed to today's code)."""
    into = dict(zip(lineage["old_code"], lineage["new_code"]))

    def today(code: str) -> str:
        for _ in range(len(into) + 1):
            if code not in into:
                return code
            code = into[code]
        raise ConfigError(f"Lineagetabel bevat een kringverwijzing bij {code}.")

    out: dict[str, tuple[str, ...]] = {}
    for old, new, kind, note in zip(lineage["old_code"], lineage["new_code"], lineage["kind"], lineage["note"]):
        if kind == "opsplitsing":
            named = [new, *re.findall(r"GM\d{4}", str(note or ""))]
            out[old] = tuple(dict.fromkeys(today(c) for c in named))
    return out


def layout_parts(
    code: str, year: int, lineage: pd.DataFrame | None = None, *, splits: Mapping[str, tuple[str, ...]] | None = None
) -> LayoutParts:
    """The gemeenten of the ``year`` layout that make up today's gemeente ``code``.

    A merger adds the predecessors' figures (also in chains: Millingen aan de Rijn + Ubbergen →
    Groesbeek 2015 → Berg en Dal 2016). A gemeente that was later split (opsplitsing) went into
    several of today's gemeenten; which share went where is not in the lineage, so it is listed
    under ``splits`` for every one of them and left out of ``parts``.
    """
    code = str(code).strip().upper()
    if lineage is None and splits is None:
        return _default_layout_parts(code, int(year))  # the reference lineage: computed once per code and year
    lineage = load_lineage() if lineage is None else lineage
    if not re.fullmatch(r"GM\d{4}", code):
        return LayoutParts(code, int(year), (code,))
    retired = set(lineage.loc[lineage["layout_year"] <= int(year), "old_code"])
    splits = split_successors(lineage) if splits is None else splits
    split_from = tuple(sorted(s for s, into in splits.items() if code in into and s not in retired))
    parts = tuple(c for c in predecessors(code, int(year), lineage) if c not in split_from)
    return LayoutParts(code, int(year), parts, split_from)


@cache
def _default_splits() -> dict[str, tuple[str, ...]]:
    return split_successors(load_lineage())


@cache
def _default_layout_parts(code: str, year: int) -> LayoutParts:
    return layout_parts(code, year, load_lineage(), splits=_default_splits())


def map_to_layout(
    df: pd.DataFrame,
    code_col: str,
    year: int,
    *,
    value_cols: Sequence[str] | None = None,
    name_col: str | None = None,
    lineage: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Recode gemeente codes in ``df[code_col]`` to the layout of ``year`` and sum the counts.

    Rows of gemeenten that merged are summed (``value_cols``: default all numeric columns) over
    the remaining columns; a sum over only missing values stays missing, never 0. Codes that are
    not gemeente codes pass unchanged. Notes about splits and codes newer than ``year`` are in
    ``result.attrs['lineage_findings']``.
    """
    lineage = load_lineage() if lineage is None else lineage
    if code_col not in df.columns:
        raise ConfigError(f"Kolom '{code_col}' bestaat niet; kolommen: {', '.join(map(str, df.columns))}.")
    value_cols = list(value_cols) if value_cols is not None else [
        c for c in df.columns if c != code_col and pd.api.types.is_numeric_dtype(df[c])
    ]
    codes = df[code_col].astype(str).str.strip().str.upper()
    mapping = {c: successor(c, year, lineage) for c in codes.unique() if c.startswith("GM")}
    findings: list[str] = []
    splits = lineage[lineage["kind"] == "opsplitsing"].set_index("old_code")
    for old, new in mapping.items():
        if old != new and old in splits.index and splits.at[old, "layout_year"] <= year:
            findings.append(
                f"{splits.at[old, 'old_name']} ({old}) is opgesplitst; de aantallen zijn geheel aan "
                f"{new} toegekend. {splits.at[old, 'note']}".strip()
            )
    _, created_after = codes_in_layout(lineage, year)
    newer = sorted(set(mapping) & created_after)
    if newer:
        findings.append(
            f"Code(s) {', '.join(newer)} bestaan pas na de indeling van {year} en zijn niet teruggerekend."
        )
    out = df.copy()
    out[code_col] = codes.map(lambda c: mapping.get(c, c))
    if name_col is not None and name_col in out.columns:
        names = dict(zip(lineage["new_code"], lineage["new_name"]))
        changed = codes.map(lambda c: mapping.get(c, c) != c)
        out.loc[changed, name_col] = out.loc[changed, code_col].map(names).fillna(out.loc[changed, name_col])
    keys = [c for c in out.columns if c not in value_cols]
    if value_cols and keys and out.duplicated(subset=keys).any():
        out = out.groupby(keys, dropna=False, sort=False)[value_cols].sum(min_count=1).reset_index()
    out = out.loc[:, [c for c in df.columns if c in out.columns]]
    out.attrs["lineage_findings"] = findings
    for f in findings:
        log.warning(f)
    return out


def district_table_in_layout(table: pd.DataFrame, layout_year: int, lineage: pd.DataFrame | None = None) -> pd.DataFrame:
    """The district table expressed in the gemeente codes of another (older) layout.

    Each current gemeente is replaced by its predecessors in ``layout_year`` (Berg en Dal by
    Groesbeek in 2015; West Betuwe by Geldermalsen, Lingewaal and Neerijnen in 2018).
    Adds ``current_code``: the gemeente of today's table it belongs to.
    """
    lineage = load_lineage() if lineage is None else lineage
    names = dict(zip(lineage["old_code"], lineage["old_name"]))
    rows = []
    for r in table.itertuples(index=False):
        for code in predecessors(r.gemeente_code, layout_year, lineage):
            row = r._asdict()
            row["current_code"] = r.gemeente_code
            if code != r.gemeente_code:
                row["gemeente_code"] = code
                row["gemeente_naam"] = names.get(code, code)
            rows.append(row)
    return pd.DataFrame(rows, columns=[*DISTRICT_COLUMNS, "current_code"])


# --------------------------------------------------------------------------------------------
# Checks against the police data and the overview for the CLI
# --------------------------------------------------------------------------------------------


def check_regions_against_data(
    districts: pd.DataFrame,
    region_codes_in_data: Iterable[str],
    *,
    lineage: pd.DataFrame | None = None,
) -> list[Finding]:
    """Compare the district table with the region codes found in the police data of the eenheid.

    Reports a gemeente in the data that no district claims (wijken and buurten count for their
    gemeente; an old code gets the gemeente it went into), and a district gemeente without any
    data. 'Gemeente onbekend' (GM0000) is reported as information. NL and other non-gemeente
    codes are ignored.
    """
    lineage = load_lineage() if lineage is None else lineage
    claimed = dict(zip(districts["gemeente_code"], districts["gemeente_naam"]))
    district_of = dict(zip(districts["gemeente_code"], districts["district_naam"]))
    seen: dict[str, int] = {}
    unknown_rows = 0
    for raw in region_codes_in_data:
        code = str(raw).strip().upper()
        if code == UNKNOWN_GEMEENTE:
            unknown_rows += 1
            continue
        gm = gemeente_of_region(code)
        if gm is not None:
            seen[gm] = seen.get(gm, 0) + 1
    findings: list[Finding] = []
    old_names = dict(zip(lineage["old_code"], lineage["old_name"]))
    for gm in sorted(set(seen) - set(claimed)):
        current = successor(gm, 9999, lineage)
        if current != gm and current in claimed:
            findings.append(
                Finding(
                    "waarschuwing",
                    "oude_code",
                    gm,
                    f"{old_names.get(gm, gm)} ({gm}) staat in de gegevens met een oude code; die gemeente is "
                    f"opgegaan in {claimed[current]} ({current}, district {district_of[current]}). "
                    "Reken de gegevens om naar de huidige indeling (map_to_layout).",
                )
            )
        else:
            findings.append(
                Finding(
                    "fout",
                    "niet_ingedeeld",
                    gm,
                    f"Gemeente {gm} staat in de politiegegevens maar hoort bij geen enkel district "
                    f"({seen[gm]} regiocode(s)). Vul de districtentabel aan.",
                )
            )
    for gm in sorted(set(claimed) - set(seen)):
        findings.append(
            Finding(
                "fout",
                "geen_gegevens",
                gm,
                f"{claimed[gm]} ({gm}, district {district_of[gm]}) hoort bij een district maar staat niet in de politiegegevens.",
            )
        )
    if unknown_rows:
        findings.append(
            Finding(
                "info",
                "gemeente_onbekend",
                UNKNOWN_GEMEENTE,
                "De gegevens bevatten 'Gemeente onbekend' (GM0000): registraties die de politie niet aan een "
                "gemeente kon toewijzen. Ze tellen niet mee in een district.",
            )
        )
    return findings


def regions_overview(
    area: AreaSettings | None = None,
    region_codes_in_data: Iterable[str] | None = None,
    *,
    table: pd.DataFrame | None = None,
) -> RegionsOverview:
    """Districts with their gemeenten and, given the region codes in the police data, the findings."""
    area = area or AreaSettings()
    table = load_district_table(area) if table is None else table
    source = area.district_table or f"meegeleverde tabel {reference_district_file(area.eenheid_code, area.layout_year).name}"
    findings: tuple[Finding, ...] = ()
    checked = region_codes_in_data is not None
    if checked:
        findings = tuple(check_regions_against_data(table, region_codes_in_data or []))
    naam = table["eenheid_naam"].iloc[0] if not table.empty else area.eenheid_naam
    return RegionsOverview(
        eenheid_code=area.eenheid_code,
        eenheid_naam=str(naam),
        layout_year=area.layout_year,
        source=source,
        districts=districts_of(table),
        findings=findings,
        data_checked=checked,
    )


def regions_overview_text(area: AreaSettings | None = None, region_codes_in_data: Iterable[str] | None = None) -> str:
    """The text ``veiligheidsbeeld regions`` prints (Dutch)."""
    return regions_overview(area, region_codes_in_data).to_text()
