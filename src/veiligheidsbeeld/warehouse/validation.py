"""Data validation between layers: checks run after each load, with severities.

Every rule looks at one loaded police table and returns :class:`Finding` objects:

- ``BLOCKER``: the figures are wrong or incomplete; reports built on the table are not published;
- ``WARN``: the figures are usable but something is off; reports show it in a visible banner;
- ``INFO``: worth logging (provisional months, checks that could not run).

The findings of the latest run are stored per table in ``validation_results`` (with the run in
``validation_runs``), shown by ``veiligheidsbeeld status`` and read by the reports through
:func:`blockers`, :func:`warnings` and :func:`assert_publishable`.

Rules (every threshold is a field of :class:`~veiligheidsbeeld.config.ValidationThresholds`, ``[validation]``):

- ``no_rows`` (BLOCKER): the table has no monthly facts at all.
- ``missing_month`` (WARN): a month without any row inside the series, or after the last month
  with data while the published period list has it.
- ``region_missing_month`` (WARN): NL or a gemeente lacks months the table has (one finding each);
  wijken and buurten that do are summarised in one finding.
- ``gemeente_without_rows`` (WARN): a gemeente of the configured area has no rows.

Missing data is a WARN, not a BLOCKER, by design: the users asked that a missing month or a
district without data be *shown* as a banner in the report (never as a zero or a silent gap),
and the analysis marks every period that touches a missing month as incomplete and untested.
BLOCKERs are kept for data that are present but wrong (roll-ups, year rows, suppression) or absent
altogether.
- ``partition_rows`` (needs the raw archive): a raw partition's row count far from its shape,
  regions x codes x periods. Too few rows: WARN, BLOCKER beyond 20 %; too many: WARN. The regions
  counted are those of the levels the source serves (a region-filtered snapshot lists every Dutch
  region but has rows for only some): cells missing inside a served level count.
- ``level_not_delivered`` (WARN, needs the raw archive): a level the source lacks entirely -- no
  wijk or buurt rows for some gemeenten, no gemeente rows of the rest of the country -- in one
  finding per kind, naming what is missing and which outputs go without it.
- ``rollup_mismatch``: the roll-up (``0.0.0``) is not the sum of its parts within the table's
  tolerance, where every part is published. BLOCKER for NL and gemeenten, one WARN for wijken/buurten.
- ``structural_break`` (WARN): a series of NL or a gemeente jumps by a large factor and stays.
- ``suppressed_share``: share of suppressed cells above a threshold; per gemeente WARN, table-wide
  WARN or (above half) BLOCKER.
- ``provisional_months``: provisional months (INFO); unusually many, or provisional months before
  definitive ones (WARN).
- ``yearly_reconciliation``: published year rows (JJ00) against the sum of the twelve months, for
  complete years. WARN; BLOCKER for NL or a gemeente beyond 10 %.
- ``code_list_changed`` (needs the raw archive): a code left the code list since the previous
  version (WARN) or a new code appeared (INFO).

Roll-up tolerance, measured on the real national series (NL00, 2012-01 … 2023-12, 144 months,
``shared/data/politie``): for 47024NED (overlast) the total equals the sum of the eight categories
in every month, so the tolerance is zero. For 47022NED (misdrijven) the published total
"Totaal misdrijven" is *larger* than the sum of the 58 listed crime codes in every month, by
1.5 % to 3.0 % (mean 2.2 %, 1,188 to 1,987 misdrijven a month): the total also counts crime types
that are not listed separately. So for misdrijven the total may exceed its parts by up to 5 % of
the total (the observed maximum with a margin) plus 3 counts of slack for small regions, where a
handful of unlisted misdrijven is a large share; it may not be below its parts by more than that
slack.
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from enum import StrEnum
from typing import Any

import duckdb

from veiligheidsbeeld.config import KNOWN_POLICE_TABLES, ValidationThresholds
from veiligheidsbeeld.constants import MISDRIJVEN_TABLE, OVERLAST_TABLE, REPORT_LEVELS
from veiligheidsbeeld.errors import DataError, VeiligheidsbeeldError
from veiligheidsbeeld.formatting import fmt_int, fmt_month, fmt_num, fmt_pct
from veiligheidsbeeld.sources.raw_archive import PartitionRecord, RawArchive, partition_group
from veiligheidsbeeld.warehouse.sql import query

log = logging.getLogger(__name__)

SQL_FILE = "validation.sql"


class Severity(StrEnum):
    BLOCKER = "BLOCKER"
    WARN = "WARN"
    INFO = "INFO"


#: Dutch names of the severities, for everything a user reads.
SEVERITY_LABELS: dict[Severity, str] = {
    Severity.BLOCKER: "BLOKKEREND",
    Severity.WARN: "WAARSCHUWING",
    Severity.INFO: "INFO",
}


DEFAULT_THRESHOLDS = ValidationThresholds()


@dataclass(frozen=True)
class Finding:
    """One finding of one rule; ``detail`` is Dutch and names the table, region and month."""

    rule: str
    severity: Severity
    table_id: str
    region_code: str | None
    detail: str
    value: float | None = None
    threshold: float | None = None


# ----------------------------------------------------------------------------------------------
# Rules
# ----------------------------------------------------------------------------------------------


def _rows(con: duckdb.DuckDBPyConnection, name: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    return con.execute(query(SQL_FILE, name), params).fetchall()


def _by_level(rows: Iterable[tuple[Any, ...]]) -> tuple[list[tuple[Any, ...]], list[str], int]:
    """Split check rows ``(region, level, n, ...)``: the rows of a report level (NL, GM) get one
    finding each; the wijken/buurten, too many to list, get one summary warning: their codes and
    the sum of their ``n``."""
    rows = list(rows)
    minor = [r for r in rows if r[1] not in REPORT_LEVELS]
    return [r for r in rows if r[1] in REPORT_LEVELS], [r[0] for r in minor], sum(r[2] for r in minor)


def _months(months: Iterable[date]) -> str:
    return ", ".join(f"{m:%Y-%m}" for m in months)


def _check_missing_months(con: duckdb.DuckDBPyConnection, table_id: str, t: ValidationThresholds) -> list[Finding]:
    missing = [r[0] for r in _rows(con, "missing_months", {"table_id": table_id})]
    if not missing:
        return []
    more = f" en nog {len(missing) - t.max_examples}" if len(missing) > t.max_examples else ""
    return [
        Finding(
            "missing_month", Severity.WARN, table_id, None,
            f"Tabel {table_id}: {len(missing)} maand(en) zonder gegevens binnen de reeks "
            f"({_months(missing[: t.max_examples])}{more}). Jaartotalen en trends over deze maanden kloppen niet; "
            "draai 'veiligheidsbeeld ingest' opnieuw.",
            float(len(missing)), 0.0,
        )
    ]


def _check_region_missing_months(con: duckdb.DuckDBPyConnection, table_id: str, t: ValidationThresholds) -> list[Finding]:
    out: list[Finding] = []
    rows = _rows(con, "region_missing_months", {"table_id": table_id})
    report, minor, _ = _by_level(rows)
    missing = {r[0]: r[2] for r in rows}
    for region, _level, n_missing, examples in report:
        out.append(
            Finding(
                "region_missing_month", Severity.WARN, table_id, region,
                f"Tabel {table_id}: {region} mist {n_missing} maand(en) die de tabel wel heeft "
                f"({_months(examples)}{' …' if n_missing > len(examples) else ''}).",
                float(n_missing), 0.0,
            )
        )
    if minor:
        examples = ", ".join(f"{r} ({missing[r]})" for r in minor[: t.max_examples])
        out.append(
            Finding(
                "region_missing_month", Severity.WARN, table_id, None,
                f"Tabel {table_id}: {fmt_int(len(minor))} wijken/buurten missen maanden die de tabel wel heeft "
                f"(bijvoorbeeld {examples}); cijfers van die wijken en buurten zijn onvolledig.",
                float(len(minor)), 0.0,
            )
        )
    return out


def _check_gemeenten(con: duckdb.DuckDBPyConnection, table_id: str, gemeenten: Sequence[str]) -> list[Finding]:
    if not gemeenten:
        return []
    out = []
    for code, name, known in _rows(con, "gemeenten_without_rows", {"table_id": table_id, "gemeenten": list(gemeenten)}):
        where = f"{name} ({code})" if name else code
        reason = "" if known else "; de gemeente staat ook niet in de regiolijst van de tabel"
        out.append(
            Finding(
                "gemeente_without_rows", Severity.WARN, table_id, code,
                f"Tabel {table_id}: gemeente {where} uit het werkgebied heeft geen enkele rij{reason}.",
                0.0, None,
            )
        )
    return out


def _check_yearly_table(con: duckdb.DuckDBPyConnection, table_id: str, gemeenten: Sequence[str]) -> list[Finding]:
    """A yearly table: it must have year rows, and every gemeente of the area some."""
    n_rows = _rows(con, "yearly_table_summary", {"table_id": table_id})[0][0]
    if not n_rows:
        return [Finding("no_rows", Severity.BLOCKER, table_id, None,
                        f"Tabel {table_id} heeft geen jaarcijfers in het warehouse. Draai 'veiligheidsbeeld ingest'.",
                        0.0, None)]
    out = []
    rows = _rows(con, "gemeenten_without_year_rows", {"table_id": table_id, "gemeenten": list(gemeenten)}) if gemeenten else []
    for code, name in rows:
        out.append(Finding("gemeente_without_rows", Severity.WARN, table_id, code,
                           f"Tabel {table_id}: gemeente {f'{name} ({code})' if name else code} uit het werkgebied heeft "
                           "geen enkel jaarcijfer.", 0.0, None))
    return out


#: The region group of the gemeente rows of the rest of the country (see sources.politie).
NATIONAL_GROUP = "GMNL"
#: What a report loses when a table lacks a level: per level, the outputs that go without it.
_LEVEL_NAMES = {"WK": "wijk", "BU": "buurt"}
#: Per table, the outputs that go without wijk and buurt rows ('': any other table).
_WITHOUT_LEVELS = {
    MISDRIJVEN_TABLE: "Voor die gemeenten ontbreken in de tweewekelijkse rapporten de lijsten van wijken en buurten "
                      "(meeste woninginbraken, grootste stijgingen) en de wijkkaarten.",
    "": "Voor die gemeenten staan er geen cijfers per wijk en buurt in het warehouse.",
}


@dataclass(frozen=True)
class SourceCoverage:
    """Which region levels and gemeenten the source actually served, per region group, from the
    vintages' manifests. A region-filtered snapshot lists every Dutch region in its region
    dimension but holds rows only for what the filter asked: a level a group lacks *entirely* is
    not expected (one warning says so); missing cells inside a served level still count."""

    #: group -> levels planned but not served at all ('WK', 'BU')
    lacking: dict[str, frozenset[str]]
    #: gemeenten of the rest of the country: (served, planned); None when not pulled
    national: tuple[int, int] | None
    #: gemeente groups (of the area) in the manifests
    n_gemeenten: int = 0

    def regions_expected(self, group: str, record: PartitionRecord) -> int:
        if record.levels is None:
            return record.regions
        if group == NATIONAL_GROUP:
            return self.national[0] if self.national else record.regions
        return record.regions - sum(record.levels.get(level, 0) for level in self.lacking.get(group, ()))


def source_coverage(manifests: Sequence[Any]) -> SourceCoverage:
    planned: dict[str, dict[str, int]] = {}
    served: dict[str, dict[str, int]] = {}
    for manifest in manifests:
        for name, record in manifest.partitions.items():
            if record.levels is None or record.delivered is None:
                continue
            group = partition_group(name)
            for target, counts in ((planned, record.levels), (served, record.delivered)):
                own = target.setdefault(group, {})
                for level, n in counts.items():
                    own[level] = max(own.get(level, 0), n)
    lacking: dict[str, frozenset[str]] = {}
    national = None
    for group, levels in planned.items():
        got = served.get(group, {})
        if group == NATIONAL_GROUP:
            national = (got.get("GM", 0), levels.get("GM", 0))
            continue
        if not got.get("GM") and not got.get("NL"):
            continue  # nothing of the group itself: not a missing level (see gemeente_without_rows)
        missing = frozenset(level for level in ("WK", "BU") if levels.get(level) and not got.get(level))
        if missing:
            lacking[group] = missing
    n_gemeenten = sum(1 for g in planned if g.startswith("GM") and g != NATIONAL_GROUP)
    return SourceCoverage(lacking, national, n_gemeenten)


def _coverage_findings(
    con: duckdb.DuckDBPyConnection | None, table_id: str, coverage: SourceCoverage, t: ValidationThresholds
) -> list[Finding]:
    """One warning per kind of thing the source lacks entirely, naming the outputs without it."""
    out: list[Finding] = []
    if coverage.lacking:
        names = _region_names(con, sorted(coverage.lacking))
        groups = sorted(coverage.lacking, key=lambda g: names.get(g, g))
        levels = sorted(set().union(*coverage.lacking.values()), key=["WK", "BU"].index)
        what = " en ".join(f"{_LEVEL_NAMES[level]}cijfers" for level in levels).replace("wijkcijfers en", "wijk- en")
        shown = ", ".join(names.get(g, g) for g in groups[: t.max_examples])
        more = f" en {len(groups) - t.max_examples} andere" if len(groups) > t.max_examples else ""
        out.append(
            Finding(
                "level_not_delivered", Severity.WARN, table_id, None,
                f"Tabel {table_id}: de bron levert geen {what} voor {len(groups)} van de {coverage.n_gemeenten} gemeenten "
                f"({shown}{more}). {_WITHOUT_LEVELS.get(table_id, _WITHOUT_LEVELS[''])} "
                "De gemeentecijfers zijn volledig.",
                float(len(groups)), None,
            )
        )
    if coverage.national is not None and coverage.national[0] < coverage.national[1]:
        present, planned = coverage.national
        output = "de landelijke jeugdoverlastranglijst" if table_id == OVERLAST_TABLE else "landelijke vergelijkingen van gemeenten"
        out.append(
            Finding(
                "level_not_delivered", Severity.WARN, table_id, None,
                f"Tabel {table_id}: de bron levert de gemeenterijen van {fmt_int(present)} van de {fmt_int(planned)} "
                f"gemeenten buiten het werkgebied; {output} omvat daardoor alleen de gemeenten die wel in de "
                "gegevens staan.",
                float(present), float(planned),
            )
        )
    return out


def _region_names(con: duckdb.DuckDBPyConnection | None, codes: Sequence[str]) -> dict[str, str]:
    if con is None or not codes:
        return {}
    try:
        return dict(_rows(con, "region_names", {"codes": list(codes)}))
    except duckdb.Error:
        return {}


def _check_partition_rows(
    table_id: str, archive: RawArchive, t: ValidationThresholds, con: duckdb.DuckDBPyConnection | None = None
) -> list[Finding]:
    from veiligheidsbeeld.warehouse.load import vintages_in_use

    spec = KNOWN_POLICE_TABLES.get(table_id)
    if spec is None:
        return []
    try:
        manifests = vintages_in_use(archive, table_id)
    except DataError:
        return [
            Finding(
                "partition_rows", Severity.INFO, table_id, None,
                f"Tabel {table_id}: geen volledige pull in {archive.root}; rijtelling per partitie niet gecontroleerd.",
            )
        ]
    coverage = source_coverage(manifests)
    out = []
    subsets: list[tuple[str, int, int]] = []
    for manifest in manifests:
        codes = manifest.filters.get("codes", "alle")
        try:
            n_listed = len(archive.load_entity(table_id, manifest.vintage, spec.type_dimension))
        except VeiligheidsbeeldError:
            continue
        for name in sorted(manifest.partitions):
            record = manifest.partitions[name]
            group = partition_group(name)
            n_regions = coverage.regions_expected(group, record)
            if n_regions <= 0:
                continue  # a group the source does not serve at all (reported once, below)
            if record.codes is not None:
                n_codes = record.codes
            elif isinstance(codes, list):
                n_codes = len(codes)
            else:
                # All codes were asked for: a source that serves a consistent subset of codes (a
                # snapshot downloaded with a code filter) is reported once, not as missing cells.
                present = _codes_in_partition(archive, manifest, name)
                n_codes = min(n_listed, present) if present else n_listed
                if present and present < n_listed:
                    subsets.append((name, present, n_listed))
            expected = n_regions * n_codes * len(record.periods)
            if expected <= 0:
                continue
            served = record.rows + (record.duplicates or 0)  # repeats were collapsed when written
            deviation = abs(served - expected) / expected
            if deviation <= t.partition_rows_warn:
                continue
            short = served < expected
            blocker = short and deviation > t.partition_rows_blocker
            consequence = (
                "cellen ontbreken" if short else "rijen komen dubbel voor (bij het ophalen samengevoegd)"
            )
            out.append(
                Finding(
                    "partition_rows", Severity.BLOCKER if blocker else Severity.WARN, table_id,
                    group if group.startswith(("GM", "NL")) and group != NATIONAL_GROUP else None,
                    f"Tabel {table_id}, versie {manifest.vintage}, partitie {name}: {fmt_int(served)} rijen, "
                    f"verwacht {fmt_int(expected)} ({n_regions} regio's × {n_codes} codes × "
                    f"{len(record.periods)} perioden), {fmt_pct(deviation, 1, signed=False)} "
                    f"{'te weinig' if short else 'te veel'}: {consequence}.",
                    deviation, t.partition_rows_blocker if blocker else t.partition_rows_warn,
                )
            )
    if subsets:
        name, present, listed = subsets[0]
        out.append(
            Finding(
                "partition_rows", Severity.WARN, table_id, None,
                f"Tabel {table_id}: de bron levert maar {present} van de {listed} codes van de codelijst "
                f"({len(subsets)} partities, bijvoorbeeld {name}); analyses over andere codes hebben geen gegevens.",
                float(present), float(listed),
            )
        )
    out += _coverage_findings(con, table_id, coverage, t)
    return out


def _codes_in_partition(archive: RawArchive, manifest, name: str) -> int:
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    path = archive.vintage_dir(manifest.table_id, manifest.vintage) / manifest.partitions[name].file
    try:
        return len(pc.unique(pq.read_table(path, columns=["type_key"]).column(0)))
    except (OSError, ValueError):
        return 0


def _check_code_list(table_id: str, archive: RawArchive) -> list[Finding]:
    spec = KNOWN_POLICE_TABLES.get(table_id)
    complete = [m for m in archive.manifests(table_id) if m.complete]
    if spec is None or len(complete) < 2:
        return []
    previous, newest = complete[-2], complete[-1]
    try:
        old = {str(r["Key"]).strip(): str(r.get("Title") or "").strip()
               for r in archive.load_entity(table_id, previous.vintage, spec.type_dimension)}
        new = {str(r["Key"]).strip(): str(r.get("Title") or "").strip()
               for r in archive.load_entity(table_id, newest.vintage, spec.type_dimension)}
    except VeiligheidsbeeldError:
        return []
    out = []
    for code in sorted(set(old) - set(new)):
        out.append(
            Finding(
                "code_list_changed", Severity.WARN, table_id, None,
                f"Tabel {table_id}: code {code} ({old[code] or 'zonder titel'}) staat in versie {newest.vintage} niet "
                f"meer in de codelijst (wel in {previous.vintage}); cijfers van die code ontbreken nu in het warehouse.",
            )
        )
    for code in sorted(set(new) - set(old)):
        out.append(
            Finding(
                "code_list_changed", Severity.INFO, table_id, None,
                f"Tabel {table_id}: nieuwe code {code} ({new[code] or 'zonder titel'}) in versie {newest.vintage}.",
            )
        )
    return out


def _check_rollup(con: duckdb.DuckDBPyConnection, table_id: str, t: ValidationThresholds) -> list[Finding]:
    share, slack = t.rollup_bounds(table_id)
    rows = _rows(con, "rollup_mismatch", {"table_id": table_id, "upper_share": share, "slack": slack})
    bound = f"totaal ≥ som van de delen{f' − {slack}' if slack else ''}"
    bound += f" en ≤ som + {fmt_pct(share, 0, signed=False)} van het totaal{f' + {slack}' if slack else ''}" if share or slack else " en gelijk eraan"
    out: list[Finding] = []
    report, minor, n_minor_cells = _by_level(rows)
    for region, _level, n_cells, month, total, parts, _n_checked in report:
        gap = (total - parts) / total if total else math.inf
        out.append(
            Finding(
                "rollup_mismatch", Severity.BLOCKER, table_id, region,
                f"Tabel {table_id}, {region}: het totaal (0.0.0) klopt in {n_cells} maand(en) niet met de som "
                f"van de codes; het ergst in {fmt_month(month)}: totaal {fmt_int(total)}, som {fmt_int(parts)} "
                f"(verwacht: {bound}).",
                gap if math.isfinite(gap) else None, share,
            )
        )
    if minor:
        out.append(
            Finding(
                "rollup_mismatch", Severity.WARN, table_id, None,
                f"Tabel {table_id}: in {fmt_int(len(minor))} wijken/buurten ({fmt_int(n_minor_cells)} maanden) klopt "
                f"het totaal (0.0.0) niet met de som van de codes (bijvoorbeeld {', '.join(minor[: t.max_examples])}; "
                f"verwacht: {bound}).",
                float(n_minor_cells), share,
            )
        )
    return out


def _check_structural_breaks(con: duckdb.DuckDBPyConnection, table_id: str, t: ValidationThresholds) -> list[Finding]:
    params = {
        "table_id": table_id, "levels": list(t.break_levels), "window": t.break_window_months,
        "min_after": t.break_min_months_after, "min_level": t.break_min_level, "factor": t.break_factor,
    }
    out = []
    for region, _level, type_code, month, before, after, factor in _rows(con, "structural_breaks", params):
        direction = "stijgt" if factor > 1 else "daalt"
        shown = factor if factor >= 1 else 1 / factor
        out.append(
            Finding(
                "structural_break", Severity.WARN, table_id, region,
                f"Tabel {table_id}, {region}, code {type_code}: de reeks {direction} vanaf {fmt_month(month)} "
                f"abrupt met een factor {fmt_num(shown, 1)} en blijft daar (mediaan {fmt_num(before, 0)} per maand "
                f"ervoor, {fmt_num(after, 0)} erna). Mogelijk een andere registratiewijze of een fout in de bron; "
                "vergelijk niet over deze breuk heen zonder toelichting.",
                float(factor), t.break_factor,
            )
        )
    return out


def _check_suppressed(con: duckdb.DuckDBPyConnection, table_id: str, t: ValidationThresholds) -> list[Finding]:
    out = []
    n_cells, n_suppressed = _rows(con, "suppressed_share_table", {"table_id": table_id})[0]
    if n_cells:
        share = n_suppressed / n_cells
        if share > t.suppressed_warn_share:
            blocker = share > t.suppressed_blocker_share
            out.append(
                Finding(
                    "suppressed_share", Severity.BLOCKER if blocker else Severity.WARN, table_id, None,
                    f"Tabel {table_id}: {fmt_pct(share, 1, signed=False)} van de cellen is onderdrukt "
                    f"({fmt_int(n_suppressed)} van {fmt_int(n_cells)}; niet gepubliceerd, niet als 0 geteld).",
                    share, t.suppressed_blocker_share if blocker else t.suppressed_warn_share,
                )
            )
    for gemeente, name, cells, suppressed in _rows(
        con, "suppressed_share_gemeenten", {"table_id": table_id, "share": t.suppressed_warn_share}
    ):
        share = suppressed / cells
        out.append(
            Finding(
                "suppressed_share", Severity.WARN, table_id, gemeente,
                f"Tabel {table_id}: in {name or gemeente} ({gemeente}, met wijken en buurten) is "
                f"{fmt_pct(share, 1, signed=False)} van de cellen onderdrukt ({fmt_int(suppressed)} van {fmt_int(cells)}).",
                share, t.suppressed_warn_share,
            )
        )
    return out


def _check_provisional(con: duckdb.DuckDBPyConnection, table_id: str, t: ValidationThresholds) -> list[Finding]:
    months = _rows(con, "provisional_months", {"table_id": table_id})
    provisional = [m for m, p in months if p]
    if not provisional:
        return []
    last_definitive = max((m for m, p in months if not p), default=None)
    out = [
        Finding(
            "provisional_months", Severity.INFO, table_id, None,
            f"Tabel {table_id}: {len(provisional)} voorlopige maand(en), {fmt_month(provisional[0])} t/m "
            f"{fmt_month(provisional[-1])}; deze cijfers kunnen nog worden herzien.",
            float(len(provisional)), float(t.provisional_warn_months),
        )
    ]
    if len(provisional) > t.provisional_warn_months:
        out.append(
            Finding(
                "provisional_months", Severity.WARN, table_id, None,
                f"Tabel {table_id}: ongewoon veel voorlopige maanden ({len(provisional)}, meer dan "
                f"{t.provisional_warn_months}); een groot deel van de reeks kan nog veranderen.",
                float(len(provisional)), float(t.provisional_warn_months),
            )
        )
    early = [m for m in provisional if last_definitive is not None and m < last_definitive]
    if early:
        out.append(
            Finding(
                "provisional_months", Severity.WARN, table_id, None,
                f"Tabel {table_id}: voorlopige maand(en) vóór definitieve maanden ({_months(early[: t.max_examples])}); "
                "de status van de perioden is ongewoon.",
                float(len(early)), 0.0,
            )
        )
    return out


def _check_reconciliation(con: duckdb.DuckDBPyConnection, table_id: str, t: ValidationThresholds) -> list[Finding]:
    params = {"table_id": table_id, "abs_tol": t.reconcile_abs_tolerance, "rel_tol": t.reconcile_rel_tolerance}
    out: list[Finding] = []
    tolerance = f"max({t.reconcile_abs_tolerance}, {fmt_pct(t.reconcile_rel_tolerance, 0, signed=False)})"
    report, minor, n_minor = _by_level(_rows(con, "yearly_reconciliation", params))
    for region, _level, n_rows, rel, type_code, year, year_count, month_sum, _checked in report:
        blocker = rel > t.reconcile_blocker_rel
        out.append(
            Finding(
                "yearly_reconciliation", Severity.BLOCKER if blocker else Severity.WARN, table_id, region,
                f"Tabel {table_id}, {region}: {n_rows} gepubliceerde jaarcijfer(s) wijken af van de som van de "
                f"maanden; het ergst code {type_code} in {year}: jaar {fmt_int(year_count)}, som van de maanden "
                f"{fmt_int(month_sum)} ({fmt_pct(rel, 1, signed=False)}; toegestaan {tolerance}).",
                float(rel), t.reconcile_blocker_rel if blocker else t.reconcile_rel_tolerance,
            )
        )
    if minor:
        out.append(
            Finding(
                "yearly_reconciliation", Severity.WARN, table_id, None,
                f"Tabel {table_id}: in {fmt_int(len(minor))} wijken/buurten wijken {fmt_int(n_minor)} jaarcijfers af van "
                f"de som van de maanden (bijvoorbeeld {', '.join(minor[: t.max_examples])}; toegestaan {tolerance}).",
                float(n_minor), t.reconcile_rel_tolerance,
            )
        )
    return out


def validate_table(
    con: duckdb.DuckDBPyConnection,
    table_id: str,
    *,
    area_gemeenten: Sequence[str],
    raw_archive: RawArchive | None = None,
    thresholds: ValidationThresholds = DEFAULT_THRESHOLDS,
) -> list[Finding]:
    """Run every rule on one loaded table. Read-only: store the result with :func:`store_findings`.

    ``area_gemeenten``: the gemeente codes of the configured area, each of which must have rows.
    ``raw_archive``: the raw landing zone whose manifests give each partition's expected shape;
    without it the partition row counts are not checked.
    """
    t = thresholds
    findings: list[Finding] = []
    if raw_archive is not None:
        findings += _check_partition_rows(table_id, raw_archive, t, con)
        findings += _check_code_list(table_id, raw_archive)
    spec = KNOWN_POLICE_TABLES.get(table_id)
    if spec is not None and spec.yearly:
        # A yearly table (47025NED): year rows only; the month rules do not apply.
        findings += _check_yearly_table(con, table_id, area_gemeenten)
        return findings
    n_rows = _rows(con, "table_summary", {"table_id": table_id})[0][0]
    if not n_rows:
        findings.append(
            Finding("no_rows", Severity.BLOCKER, table_id, None,
                    f"Tabel {table_id} heeft geen maandcijfers in het warehouse. Draai 'veiligheidsbeeld ingest'.",
                    0.0, None)
        )
        return findings
    findings += _check_missing_months(con, table_id, t)
    findings += _check_region_missing_months(con, table_id, t)
    findings += _check_gemeenten(con, table_id, area_gemeenten)
    findings += _check_rollup(con, table_id, t)
    findings += _check_structural_breaks(con, table_id, t)
    findings += _check_suppressed(con, table_id, t)
    findings += _check_provisional(con, table_id, t)
    findings += _check_reconciliation(con, table_id, t)
    for f in findings:
        level = {Severity.BLOCKER: logging.ERROR, Severity.WARN: logging.WARNING}.get(f.severity, logging.INFO)
        log.log(level, "%s %s: %s", f.severity, f.rule, f.detail)
    return findings


# ----------------------------------------------------------------------------------------------
# Storing and reading results
# ----------------------------------------------------------------------------------------------


def new_run_id() -> str:
    """A sortable, unique run id: ``20240328T020000Z-1a2b3c4d``."""
    return f"{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


def store_findings(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    findings: Sequence[Finding],
    *,
    tables: Sequence[str] = (),
) -> None:
    """Replace the stored results of each table in ``findings`` (and in ``tables``), in one transaction.

    Pass ``tables=[table_id]`` so that a clean run (no findings) still clears the previous
    results of that table and records that it was checked.
    """
    table_ids = sorted({f.table_id for f in findings} | set(tables))
    checked_at = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
    con.execute("BEGIN TRANSACTION")
    try:
        for table_id in table_ids:
            row = con.execute(query(SQL_FILE, "current_vintage"), {"table_id": table_id}).fetchone()
            vintage = row[0] if row else None
            con.execute(query(SQL_FILE, "delete_results"), {"table_id": table_id})
            own = [f for f in findings if f.table_id == table_id]
            for f in own:
                con.execute(
                    query(SQL_FILE, "insert_result"),
                    {
                        "run_id": run_id, "checked_at": checked_at, "table_id": table_id, "vintage": vintage,
                        "rule": f.rule, "severity": str(f.severity), "region_code": f.region_code,
                        "detail": f.detail, "value": _finite(f.value), "threshold": _finite(f.threshold),
                    },
                )
            counts = {s: sum(1 for f in own if f.severity == s) for s in Severity}
            con.execute(
                query(SQL_FILE, "upsert_run"),
                {
                    "run_id": run_id, "checked_at": checked_at, "table_id": table_id, "vintage": vintage,
                    "blockers": counts[Severity.BLOCKER], "warnings": counts[Severity.WARN],
                    "infos": counts[Severity.INFO],
                },
            )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _findings(con: duckdb.DuckDBPyConnection, severity: Severity, table_id: str | None) -> list[Finding]:
    rows = con.execute(query(SQL_FILE, "findings_of_severity"), {"severity": str(severity), "table_id": table_id}).fetchall()
    return [Finding(rule, Severity(sev), tid, region, detail, value, threshold)
            for rule, sev, tid, region, detail, value, threshold in rows]


def blockers(con: duckdb.DuckDBPyConnection, table_id: str | None = None) -> list[Finding]:
    """The stored BLOCKER findings (of one table, or all): a report on them is not published."""
    return _findings(con, Severity.BLOCKER, table_id)


def warnings(con: duckdb.DuckDBPyConnection, table_id: str | None = None) -> list[Finding]:
    """The stored WARN findings (of one table, or all): a report shows them in a banner."""
    return _findings(con, Severity.WARN, table_id)


def assert_publishable(con: duckdb.DuckDBPyConnection, table_ids: Sequence[str]) -> list[Finding]:
    """Raise :class:`DataError` if a table has a BLOCKER; otherwise return the warnings for the banner."""
    blocking = [f for t in table_ids for f in blockers(con, t)]
    if blocking:
        lines = "\n".join(f"- {f.detail}" for f in blocking[:10])
        more = f"\n… en nog {len(blocking) - 10}" if len(blocking) > 10 else ""
        raise DataError(
            f"Het rapport wordt niet gepubliceerd: de gegevenscontrole vond {len(blocking)} blokkerende "
            f"bevinding(en):\n{lines}{more}"
        )
    return [f for t in table_ids for f in warnings(con, t)]


def status_lines(runs: Sequence[tuple], results: Sequence[tuple], max_per_table: int = 10) -> list[str]:
    """Dutch lines for ``veiligheidsbeeld status``: per table the last run and its BLOCKER/WARN
    findings (``runs`` and ``results`` as read by :func:`veiligheidsbeeld.warehouse.queries.validation_runs`
    and :func:`~veiligheidsbeeld.warehouse.queries.validation_findings_for_status`)."""
    if not runs:
        return ["Gegevenscontrole: nog niet uitgevoerd."]
    lines = []
    for table_id, run_id, checked_at, vintage, n_block, n_warn, n_info in runs:
        verdict = "niet publiceerbaar" if n_block else ("publiceerbaar met waarschuwing" if n_warn else "in orde")
        lines.append(
            f"Gegevenscontrole {table_id} (versie {vintage or 'onbekend'}, {checked_at:%Y-%m-%d %H:%M} UTC): {verdict} — "
            f"{n_block} blokkerend, {n_warn} waarschuwing(en), {n_info} info."
        )
        own = [r for r in results if r[0] == table_id]
        for _tid, _rule, severity, _region, detail in own[:max_per_table]:
            lines.append(f"  {SEVERITY_LABELS[Severity(severity)]}: {detail}")
        if len(own) > max_per_table:
            lines.append(f"  … en nog {len(own) - max_per_table} bevinding(en).")
    return lines
