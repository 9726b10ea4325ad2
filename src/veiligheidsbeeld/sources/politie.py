"""The police tables 47022NED (misdrijven) and 47024NED (overlast), monthly, and 47025NED
(misdrijven per jaar, for the codes the monthly table does not publish): plan, pull, archive.

A pull is split into partitions of one region group (a gemeente with its wijken and buurten,
or NL00) and one year. Partitions run concurrently; each finished one is written atomically to
the raw archive and recorded in the vintage's manifest, so an interrupted pull resumes.

Incremental: a later pull of a new table version fetches only the new months plus a revision
window (recent months are provisional and get revised); a table whose ``Modified`` has not
changed is skipped.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from operator import itemgetter
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from veiligheidsbeeld import locks
from veiligheidsbeeld.analysis.periods import add_months
from veiligheidsbeeld.config import IngestSettings, PoliceTable
from veiligheidsbeeld.constants import NATIONAL_CODE
from veiligheidsbeeld.errors import ConfigError, SchemaDriftError, SourceError
from veiligheidsbeeld.regions import gemeente_of
from veiligheidsbeeld.sources.odata import FeedError, ODataSource, Page, RowFilter
from veiligheidsbeeld.sources.raw_archive import (
    PartitionRecord,
    RawArchive,
    VintageManifest,
    iter_chunks,
    level_counts,
    partition_name,
    spans_years,
    vintage_from_modified,
)

log = logging.getLogger(__name__)

MONTH_KEY = re.compile(r"^(\d{4})MM(\d{2})$")
YEAR_KEY = re.compile(r"^(\d{4})JJ00$")
NL_CODE = NATIONAL_CODE
#: The group of gemeente rows of all Dutch gemeenten outside the area (national rankings).
NATIONAL_GEMEENTEN = "GMNL"


def now_utc() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def month_of_key(key: str) -> date | None:
    m = MONTH_KEY.match(key.strip())
    return date(int(m.group(1)), int(m.group(2)), 1) if m else None


def year_of_key(key: str) -> int | None:
    m = YEAR_KEY.match(key.strip())
    return int(m.group(1)) if m else None


# ----------------------------------------------------------------------------------------------
# Metadata and schema checks at the edge
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TableMeta:
    spec: PoliceTable
    infos: dict[str, Any]
    data_properties: list[dict[str, Any]]
    regions: list[dict[str, Any]]
    types: list[dict[str, Any]]
    periods: list[dict[str, Any]]

    @property
    def modified(self) -> str:
        return str(self.infos.get("Modified", ""))

    @property
    def vintage(self) -> str:
        return vintage_from_modified(self.modified)

    def entities(self) -> dict[str, list[dict[str, Any]]]:
        return {
            "TableInfos": [self.infos],
            "DataProperties": self.data_properties,
            self.spec.region_dimension: self.regions,
            self.spec.type_dimension: self.types,
            self.spec.period_dimension: self.periods,
        }


def check_schema(spec: PoliceTable, data_properties: list[dict[str, Any]]) -> None:
    """Fail early, naming what changed, if the table no longer has the shape we load."""
    keys = {str(p.get("Key", "")): str(p.get("Type", "")) for p in data_properties}
    problems = []
    for dim in (spec.type_dimension, spec.region_dimension, spec.period_dimension):
        if dim not in keys:
            problems.append(f"dimensie '{dim}' ontbreekt")
        elif "Dimension" not in keys[dim]:
            problems.append(f"'{dim}' is geen dimensie meer maar {keys[dim]}")
    if spec.measure not in keys:
        problems.append(f"meetkolom '{spec.measure}' ontbreekt")
    if problems:
        found = ", ".join(f"{k} ({t})" for k, t in keys.items())
        raise SchemaDriftError(
            f"Tabel {spec.table_id} is van vorm veranderd: {'; '.join(problems)}. Gevonden: {found}. "
            "Er is niets in het warehouse geschreven."
        )


def fetch_modified(source: ODataSource, spec: PoliceTable) -> str:
    """The table's ``Modified`` stamp: one small request (TableInfos), to ask whether it changed."""
    infos = source.entity(spec.table_id, "TableInfos")
    if not infos or not str(infos[0].get("Modified") or "").strip():
        raise SchemaDriftError(f"Tabel {spec.table_id}: TableInfos heeft geen 'Modified'-datum.")
    return str(infos[0]["Modified"]).strip()


def fetch_meta(source: ODataSource, spec: PoliceTable) -> TableMeta:
    # The five entities are fetched at once (five round trips of a slow API become one), and
    # checked in order, so the first problem is the one reported.
    names = ("TableInfos", "DataProperties", spec.region_dimension, spec.type_dimension, spec.period_dimension)
    with ThreadPoolExecutor(max_workers=len(names), thread_name_prefix=f"meta-{spec.table_id}") as pool:
        futures = {name: pool.submit(source.entity, spec.table_id, name) for name in names}
        infos = futures["TableInfos"].result()
        if not infos:
            raise SourceError(f"Tabel {spec.table_id}: TableInfos is leeg.")
        identifier = str(infos[0].get("Identifier", spec.table_id)).strip()
        if identifier.upper() != spec.table_id.upper():
            raise SchemaDriftError(f"Bron levert tabel {identifier} waar {spec.table_id} gevraagd werd.")
        props = futures["DataProperties"].result()
        check_schema(spec, props)
        meta = TableMeta(
            spec=spec,
            infos=infos[0],
            data_properties=props,
            regions=futures[spec.region_dimension].result(),
            types=futures[spec.type_dimension].result(),
            periods=futures[spec.period_dimension].result(),
        )
    if not meta.modified:
        raise SchemaDriftError(f"Tabel {spec.table_id}: TableInfos heeft geen 'Modified'-datum.")
    try:
        meta.vintage  # noqa: B018 - the stamp is checked before it can name a vintage
    except SourceError as exc:
        raise SourceError(f"Tabel {spec.table_id}: {exc}") from None
    for name, rows in (("regio's", meta.regions), ("codes", meta.types), ("perioden", meta.periods)):
        if not rows:
            raise SchemaDriftError(f"Tabel {spec.table_id}: de lijst met {name} is leeg.")
    check_dimensions(meta)
    return meta


def check_dimensions(meta: TableMeta) -> None:
    """Every dimension file checked at the edge, before anything is fetched or written: a Key is
    text and occurs once (a duplicate with another title would be resolved silently, the first
    one winning), and a month key is a real month (2023MM13 is not)."""
    spec = meta.spec
    dims = ((spec.region_dimension, meta.regions), (spec.type_dimension, meta.types), (spec.period_dimension, meta.periods))
    for dim, rows in dims:
        seen: dict[str, str] = {}
        for row in rows:
            key = row.get("Key") if isinstance(row, dict) else None
            if not isinstance(key, str) or not key.strip():
                raise SchemaDriftError(
                    f"Tabel {spec.table_id}: {dim} bevat een rij zonder geldige Key ({row!r}). Er is niets opgeslagen."
                )
            title = str(row.get("Title") or "").strip()
            code = key.strip()
            if code in seen:
                other = seen[code]
                detail = f"met de titels '{other}' en '{title}'" if other != title else f"(titel '{title}')"
                raise SchemaDriftError(
                    f"Tabel {spec.table_id}: {dim} noemt Key '{code}' twee keer {detail}; welke geldt is niet "
                    "te zeggen. Er is niets opgeslagen."
                )
            seen[code] = title
            if dim == spec.period_dimension:
                m = re.match(r"^(\d{4})MM(\d{2})$", code)
                if m and not 1 <= int(m.group(2)) <= 12:
                    raise SchemaDriftError(
                        f"Tabel {spec.table_id}: periode '{code}' in {dim} is geen bestaande maand "
                        "(maand 01 t/m 12). Er is niets opgeslagen."
                    )


# ----------------------------------------------------------------------------------------------
# Planning
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Partition:
    name: str
    group: str
    year: int
    region_keys: tuple[str, ...]
    period_keys: tuple[str, ...]
    type_keys: tuple[str, ...] | None  # None: all codes


@dataclass
class PullPlan:
    spec: PoliceTable
    meta: TableMeta
    vintage: str
    kind: str  # "full" | "incremental" | "skip"
    reason: str
    partitions: list[Partition] = field(default_factory=list)
    first_month: date | None = None
    last_month: date | None = None
    base_vintage: str | None = None
    region_signature: str = ""
    type_signature: str = ""
    filters: dict[str, Any] = field(default_factory=dict)


def region_groups(
    meta: TableMeta, gemeenten: Sequence[str], *, include_wijken_buurten: bool, include_nl: bool
) -> dict[str, list[str]]:
    """gemeente code -> raw region keys (the gemeente, and its wijken and buurten)."""
    by_code = {str(r["Key"]).strip(): str(r["Key"]) for r in meta.regions}
    known_gm = sorted(c for c in by_code if c.startswith("GM"))
    unknown = [g for g in gemeenten if g not in by_code]
    if unknown:
        shown = ", ".join(unknown[:10]) + (f" en {len(unknown) - 10} andere" if len(unknown) > 10 else "")
        examples = ", ".join(known_gm[:10]) + (" …" if len(known_gm) > 10 else "")
        raise ConfigError(
            f"{len(unknown)} van de {len(gemeenten)} gevraagde gemeenten komen niet voor in tabel "
            f"{meta.spec.table_id} van deze bron: {shown}. De bron kent {len(known_gm)} gemeenten ({examples}). "
            "Kies met --gemeenten alleen gemeenten die de bron heeft, of gebruik een volledige bron."
        )
    groups: dict[str, list[str]] = {}
    national = meta.spec.national_code  # NL00 in the monthly tables, NL01 in the yearly one
    if include_nl and national in by_code:
        groups[national] = [by_code[national]]
    wanted = set(gemeenten)
    for g in gemeenten:
        groups[g] = [by_code[g]]
    if include_wijken_buurten:
        for region in meta.regions:
            code = str(region["Key"]).strip()
            if code.startswith(("WK", "BU")):
                gm = gemeente_of(str(region["Key"]), region.get("Municipality"))
                if gm in wanted:
                    groups[gm].append(str(region["Key"]))
    return groups


def national_gemeente_keys(meta: TableMeta, area: Sequence[str]) -> list[str]:
    """Raw keys of every gemeente row outside the area ('Gemeente onbekend' GM0000 excluded)."""
    wanted = set(area)
    return [
        str(r["Key"]) for r in meta.regions
        if str(r["Key"]).strip().startswith("GM") and str(r["Key"]).strip() not in wanted
        and str(r["Key"]).strip() != "GM0000"
    ]


def _signature(keys: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()[:16]


def resolve_type_keys(meta: TableMeta, codes: Sequence[str]) -> tuple[str, ...] | None:
    if not codes:
        return None
    by_code = {str(t["Key"]).strip(): str(t["Key"]) for t in meta.types}
    unknown = [c for c in codes if c.strip() not in by_code]
    if unknown:
        raise ConfigError(
            f"Code(s) {', '.join(unknown)} bestaan niet in tabel {meta.spec.table_id}. "
            f"Geldige codes: {', '.join(sorted(by_code))}."
        )
    return tuple(by_code[c.strip()] for c in codes)


def plan_pull(
    meta: TableMeta,
    archive: RawArchive,
    settings: IngestSettings,
    gemeenten: Sequence[str],
) -> PullPlan:
    spec = meta.spec
    groups = region_groups(
        meta, gemeenten, include_wijken_buurten=settings.include_wijken_buurten, include_nl=settings.include_nl
    )
    type_keys = resolve_type_keys(meta, settings.codes.get(spec.table_id, spec.default_codes))
    group_types: dict[str, tuple[str, ...] | None] = {g: type_keys for g in groups}
    national_codes = settings.national_gemeente_codes.get(spec.table_id, ())
    if national_codes:
        others = national_gemeente_keys(meta, gemeenten)
        if others:
            groups[NATIONAL_GEMEENTEN] = others
            group_types[NATIONAL_GEMEENTEN] = resolve_type_keys(meta, national_codes)
    region_sig = _signature([k for keys in groups.values() for k in keys])
    type_sig = _signature(
        [f"{g}:{k}" for g, keys in group_types.items() for k in (keys or [str(t["Key"]) for t in meta.types])]
    )

    year_keys = {year_of_key(str(p["Key"])): str(p["Key"]) for p in meta.periods if year_of_key(str(p["Key"]))}
    month_keys = {month_of_key(str(p["Key"])): str(p["Key"]) for p in meta.periods if month_of_key(str(p["Key"]))}
    if spec.yearly:
        # A yearly table (47025NED) has year rows only: each year stands for its 12 months in the
        # plan; only the JJ00 keys are requested. It is small, so a new version is pulled whole.
        years = sorted(y for y in year_keys if y >= settings.start_year)
        months = [date(y, m, 1) for y in years for m in range(1, 13)]
        month_keys = {}
    else:
        months = sorted(m for m in (month_of_key(str(p["Key"])) for p in meta.periods) if m is not None)
        months = [m for m in months if m.year >= settings.start_year]
    if not months:
        what = "jaren" if spec.yearly else "maanden"
        raise SchemaDriftError(f"Tabel {spec.table_id} heeft geen {what} vanaf {settings.start_year}.")
    last = months[-1]

    manifests = archive.manifests(spec.table_id)
    same = next((m for m in manifests if m.vintage == meta.vintage), None)
    older = [m for m in manifests if m.complete and m.vintage < meta.vintage]
    base = _latest_base(older, region_sig, type_sig)

    plan = PullPlan(
        spec=spec, meta=meta, vintage=meta.vintage, kind="full", reason="", last_month=last,
        region_signature=region_sig, type_signature=type_sig,
    )
    covered_groups: set[str] = set()
    if same is not None:
        # This version was pulled (perhaps partly) before: keep its kind and months, resume.
        plan.kind = same.kind
        plan.base_vintage = same.base_vintage
        first = date.fromisoformat(same.filters.get("first_month", months[0].isoformat()))
        if base is not None:
            covered_groups = set(base.filters.get("groups", []))
        plan.reason = "hervat" if not same.complete else "zelfde versie"
    elif base is not None and not spec.yearly:
        plan.kind = "incremental"
        plan.base_vintage = base.vintage
        prev_last = date.fromisoformat(base.filters["last_month"])
        window_start = add_months(last, -(settings.revision_window_months - 1)) if settings.revision_window_months else add_months(last, 1)
        first = max(months[0], min(window_start, add_months(prev_last, 1)))
        covered_groups = set(base.filters.get("groups", []))
        plan.reason = f"nieuwe versie; nieuwe maanden en revisievenster van {settings.revision_window_months} maanden"
    else:
        first = months[0]
        if not older:
            plan.reason = "eerste volledige pull"
        elif spec.yearly:
            plan.reason = "nieuwe versie van de jaartabel: volledige pull"
        else:
            plan.reason = "regio-indeling of codes gewijzigd: volledige pull"
    plan.first_month = first

    # A version pulled before years were combined keeps its one-partition-per-year names (resume/skip).
    combine = settings.partition_rows > 0 and (
        same is None or any(spans_years(name) for name in same.planned)
    )
    partitions = []
    for group, region_keys in groups.items():
        group_first = first if (plan.kind != "incremental" or group in covered_groups) else months[0]
        if plan.kind == "full":
            group_first = months[0]
        n_types = len(group_types[group] or meta.types)
        years: list[tuple[int, list[str]]] = []
        for year in range(group_first.year, last.year + 1):
            keys = [month_keys[m] for m in months if m.year == year and m >= group_first and m in month_keys]
            if year in year_keys and (keys or spec.yearly):
                keys.append(year_keys[year])
            if keys:
                years.append((year, keys))
        for span in _year_spans(years, len(region_keys) * n_types, settings.partition_rows if combine else 0):
            first_year, last_year = span[0][0], span[-1][0]
            period_keys = tuple(k for _, keys in span for k in keys)
            partitions.append(Partition(partition_name(group, first_year, last_year), group, first_year,
                                        tuple(region_keys), period_keys, group_types[group]))
    plan.partitions = partitions
    plan.filters = {
        "groups": sorted(groups),
        "first_month": (months[0] if plan.kind == "full" else first).isoformat(),
        "last_month": last.isoformat(),
        "codes": [k.strip() for k in type_keys] if type_keys else "alle",
        "national_gemeente_codes": list(national_codes),
        "wijken_buurten": settings.include_wijken_buurten,
    }
    if same is not None and same.complete and all(archive.partition_ok(same, p.name) for p in partitions):
        plan.kind, plan.reason, plan.partitions = "skip", "ongewijzigd (Modified gelijk, alles binnen)", []
    return plan


def _year_spans(
    years: list[tuple[int, list[str]]], cells_per_period: int, max_cells: int
) -> list[list[tuple[int, list[str]]]]:
    """Consecutive years of one region group, combined while a partition stays within
    ``max_cells`` cells (0: one partition per year). Every query ends in a partly filled
    10,000-row page; a small group (NL00, a small gemeente's overlast) fetched per year would make
    one nearly empty request a year."""
    spans: list[list[tuple[int, list[str]]]] = []
    for year, keys in years:
        if spans and max_cells:
            periods = sum(len(k) for _, k in spans[-1]) + len(keys)
            if cells_per_period * periods <= max_cells:
                spans[-1].append((year, keys))
                continue
        spans.append([(year, keys)])
    return spans


def _latest_base(manifests: list[VintageManifest], region_sig: str, type_sig: str) -> VintageManifest | None:
    """The newest complete vintage on the same region layout and code list, if any."""
    for manifest in reversed(manifests):
        if manifest.region_signature == region_sig and manifest.type_signature == type_sig:
            return manifest
        if manifest.kind == "full":
            return None  # a full pull on another layout ends the chain
    return None


# ----------------------------------------------------------------------------------------------
# Pulling
# ----------------------------------------------------------------------------------------------


@dataclass
class PullResult:
    table_id: str
    vintage: str
    kind: str
    reason: str
    partitions_fetched: int = 0
    partitions_reused: int = 0
    rows: int = 0


ProgressCallback = Callable[[str, int, int], None]


def _page_to_batch(page: Page | list[dict[str, Any]], spec: PoliceTable, what: str) -> pa.RecordBatch:
    if isinstance(page, Page):
        if page.arrow is not None:
            batch = _arrow_rows_to_batch(page.arrow, spec)
            if batch is not None:
                return batch
        page = page.rows()  # anything unusual: checked row by row below, with the same errors
    cols = (spec.region_dimension, spec.type_dimension, spec.period_dimension, spec.measure)
    if page:
        missing = [c for c in cols if c not in page[0]]
        if missing:
            raise SchemaDriftError(
                f"{what}: kolom(men) {', '.join(missing)} ontbreken in de gegevens "
                f"(wel aanwezig: {', '.join(sorted(page[0]))}). Er is niets in het warehouse geschreven."
            )
    try:
        # One C-level pass per column; a row without a column raises the KeyError of the same
        # column as a row-by-row loop would (the measure first, then region, type, period).
        values = list(map(itemgetter(spec.measure), page))
        bad = _first_bad_count(values)
        if bad is not None:
            i, reason = bad
            row = page[i]
            cell = ", ".join(f"{label} {str(row.get(dim, '?')).strip()}" for label, dim in (
                ("regio", spec.region_dimension), ("code", spec.type_dimension), ("periode", spec.period_dimension)))
            raise SchemaDriftError(
                f"{what}: de waarde {values[i]!r} in {spec.measure} ({cell}) {reason}; een aantal is een geheel "
                "getal van 0 of meer, of leeg (onderdrukt). Er is niets in het warehouse geschreven."
            )
        return pa.RecordBatch.from_arrays(
            [
                pa.array(list(map(itemgetter(spec.region_dimension), page)), pa.string()),
                pa.array(list(map(itemgetter(spec.type_dimension), page)), pa.string()),
                pa.array(list(map(itemgetter(spec.period_dimension), page)), pa.string()),
                pa.array(values, pa.int64()),
            ],
            names=["region_key", "type_key", "period_key", "value"],
        )
    except KeyError as exc:
        raise SchemaDriftError(f"{what}: rij zonder kolom {exc}.") from exc


_INT64_MAX = 2**63 - 1


def _first_bad_count(values: list[Any]) -> tuple[int, str] | None:
    """(position, reason) of the first value that is not a count (a whole number >= 0 that fits
    int64, or None), else None. bool is refused although Python counts it as an int, and so is a
    float: pa.array(..., pa.int64()) would silently truncate it."""
    if {int, type(None)}.issuperset(map(type, values)):
        present = [v for v in values if v is not None]
        if not present or (min(present) >= 0 and max(present) <= _INT64_MAX):
            return None
    for i, v in enumerate(values):
        if v is None:
            continue
        if type(v) is not int:
            return i, "is geen geheel getal"
        if v < 0:
            return i, "is negatief"
        if v > _INT64_MAX:
            return i, "is te groot voor een aantal"
    return None


def _arrow_rows_to_batch(rows: pa.Table, spec: PoliceTable) -> pa.RecordBatch | None:
    """The page's columns as the raw schema wants them, or None when they are not plainly so
    (a key that is not text or is missing, a measure that is not a whole number)."""
    keys = []
    for name in (spec.region_dimension, spec.type_dimension, spec.period_dimension):
        if name not in rows.column_names or not pa.types.is_string(rows.schema.field(name).type):
            return None
        column = rows.column(name)
        if column.null_count:
            return None
        keys.append(column)
    if spec.measure not in rows.column_names:
        return None
    measure = rows.column(spec.measure)
    if pa.types.is_null(measure.type):
        measure = measure.cast(pa.int64())  # every cell of the page suppressed
    elif measure.type != pa.int64():
        return None
    elif measure.null_count < len(measure) and pc.min(measure).as_py() < 0:
        return None  # a negative count: the row-by-row check names the cell
    table = pa.Table.from_arrays([*keys, measure], names=["region_key", "type_key", "period_key", "value"])
    batches = table.combine_chunks().to_batches()
    return batches[0] if len(batches) == 1 else None


def fetch_partition(
    source: ODataSource, spec: PoliceTable, partition: Partition, max_url_chars: int
) -> Iterator[pa.RecordBatch]:
    select = [spec.region_dimension, spec.type_dimension, spec.period_dimension, spec.measure]
    overhead = len(spec.region_dimension) + 16
    fixed = {spec.period_dimension: partition.period_keys}
    if partition.type_keys is not None:
        fixed[spec.type_dimension] = partition.type_keys
    fixed_len = len(RowFilter(fixed).to_odata()) * 3
    budget = max(max_url_chars - fixed_len, 500)
    what = f"tabel {spec.table_id}, partitie {partition.name} ({getattr(source, 'description', 'bron')})"
    for chunk in iter_chunks(list(partition.region_keys), budget, overhead):
        row_filter = RowFilter({spec.region_dimension: tuple(chunk), **fixed})
        for page in source.iter_pages_arrow(spec.table_id, row_filter, select):
            yield _page_to_batch(page, spec, what)


def _noting_regions(batches: Iterator[pa.RecordBatch], served: set[str]) -> Iterator[pa.RecordBatch]:
    """Pass the batches on, adding the distinct region keys they hold to ``served``."""
    for batch in batches:
        served.update(batch.column(0).unique().to_pylist())
        yield batch


def check_partition_rows(spec: PoliceTable, partition: Partition, rows: int, n_types: int) -> None:
    """A partition without any row is refused at once: the source is empty, or its keys no longer
    match ours (changed padding). Smaller shortfalls (a subset of codes in a snapshot, a missing
    month) are weighed by the validation step after the load.

    The gemeente rows of the rest of the country (``GMNL``) are optional: a snapshot downloaded
    with a region filter for the eenheid has none, and that is reported by the validation (one
    warning: the national ranking covers only the gemeenten present), not refused here."""
    if partition.group == NATIONAL_GEMEENTEN:
        return
    codes = len(partition.type_keys) if partition.type_keys is not None else n_types
    expected = len(partition.region_keys) * codes * len(partition.period_keys)
    if rows == 0 and expected > 0:
        raise SchemaDriftError(
            f"Tabel {spec.table_id}, partitie {partition.name}: geen enkele rij ontvangen, verwacht ongeveer {expected} "
            f"({len(partition.region_keys)} regio's × {codes} codes × {len(partition.period_keys)} perioden). "
            "De bron is leeg of de sleutels kloppen niet meer (andere opvulling?); niets geladen. Een snapshot die "
            "met een regiofilter is gedownload zonder deze regio: kies met --gemeenten de gemeenten die erin staan."
        )


#: Partitions in progress per request slot: while one partition parses and writes a page,
#: another waits for the network (the source keeps requests in flight to ``concurrency``).
PARTITIONS_PER_REQUEST_SLOT = 2


def partition_workers(settings: IngestSettings) -> int:
    return settings.concurrency * PARTITIONS_PER_REQUEST_SLOT


def run_pull(
    source: ODataSource,
    plan: PullPlan,
    archive: RawArchive,
    settings: IngestSettings,
    progress: ProgressCallback | None = None,
    lock_wait_seconds: float = 600.0,
    slots: threading.Semaphore | None = None,
) -> PullResult:
    """Fetch the plan's partitions into the raw archive, ``partition_workers(settings)`` at a time
    (the source limits the requests in flight to ``settings.concurrency``).

    ``slots``: shared by pulls of several tables running at once, so that together they keep
    at most that many partitions in progress."""
    spec = plan.spec
    if plan.kind == "skip":
        return PullResult(spec.table_id, plan.vintage, plan.kind, plan.reason)
    # One pull per table at a time: a second flow waits (it would remove the first one's temporaries).
    with locks.exclusive(archive.root / f".{spec.table_id}.lock", wait_seconds=lock_wait_seconds,
                         what=f"haalt tabel {spec.table_id} al op in {archive.root}", error=SourceError):
        try:
            return _run_pull_locked(source, plan, archive, settings, progress, slots)
        except OSError as exc:
            raise SourceError(
                f"Schrijven in {archive.vintage_dir(spec.table_id, plan.vintage)} mislukt ({exc.strerror or exc}); "
                "wat al klaar was blijft staan en de volgende run gaat daar verder."
            ) from exc


def _run_pull_locked(
    source: ODataSource,
    plan: PullPlan,
    archive: RawArchive,
    settings: IngestSettings,
    progress: ProgressCallback | None,
    slots: threading.Semaphore | None = None,
) -> PullResult:
    spec = plan.spec
    result = PullResult(spec.table_id, plan.vintage, plan.kind, plan.reason)
    archive.clean_temporaries(spec.table_id)
    manifest = archive.manifest(spec.table_id, plan.vintage)
    if manifest is None:
        manifest = VintageManifest(
            table_id=spec.table_id,
            vintage=plan.vintage,
            modified=plan.meta.modified,
            source=getattr(source, "description", str(source)),
            kind=plan.kind,
            started_at=now_utc(),
            columns={
                "region_key": spec.region_dimension,
                "type_key": spec.type_dimension,
                "period_key": spec.period_dimension,
                "value": spec.measure,
            },
            filters=plan.filters,
            region_signature=plan.region_signature,
            type_signature=plan.type_signature,
            base_vintage=plan.base_vintage,
        )
        for name, rows in plan.meta.entities().items():
            archive.save_entity(spec.table_id, plan.vintage, name, rows)
    manifest.planned = sorted(set(manifest.planned) | {p.name for p in plan.partitions})
    manifest.filters["groups"] = sorted(set(manifest.filters.get("groups", [])) | set(plan.filters["groups"]))
    manifest.complete = False
    archive.save_manifest(manifest)

    todo = [p for p in plan.partitions if not archive.partition_ok(manifest, p.name)]
    result.partitions_reused = len(plan.partitions) - len(todo)
    total = len(plan.partitions)
    done = result.partitions_reused
    if progress:
        progress(spec.table_id, done, total)

    n_types = len(plan.meta.types)

    def work(partition: Partition) -> tuple[Partition, int, str, int, set[str]]:
        with slots or nullcontext():
            return fetch(partition)

    def fetch(partition: Partition) -> tuple[Partition, int, str, int, set[str]]:
        for attempt in range(settings.retries + 1):
            served: set[str] = set()  # which regions the source actually has rows for
            try:
                rows, checksum, duplicates = archive.write_partition(
                    spec.table_id, plan.vintage, partition.name,
                    _noting_regions(fetch_partition(source, spec, partition, settings.max_url_chars), served),
                )
                break
            except FeedError:
                # The feed misbehaved mid-query: the partial file was discarded; start the query again.
                if attempt == settings.retries:
                    raise
                time.sleep(min(settings.backoff_seconds * 2**attempt, settings.backoff_max_seconds))
        check_partition_rows(spec, partition, rows, n_types)
        return partition, rows, checksum, duplicates, served

    def record(partition: Partition, rows: int, checksum: str, duplicates: int, served: set[str]) -> None:
        manifest.partitions[partition.name] = PartitionRecord(
            file=f"partitions/{partition.name}.parquet",
            rows=rows,
            sha256=checksum,
            fetched_at=now_utc(),
            periods=[k.strip() for k in partition.period_keys],
            regions=len(partition.region_keys),
            codes=len(partition.type_keys) if partition.type_keys is not None else None,
            duplicates=duplicates,
            levels=level_counts(partition.region_keys),
            delivered=level_counts(served),
        )
        archive.save_manifest(manifest)  # after every partition: a killed run resumes here

    errors: list[BaseException] = []
    with ThreadPoolExecutor(max_workers=partition_workers(settings), thread_name_prefix=f"pull-{spec.table_id}") as pool:
        pending = {pool.submit(work, p) for p in todo}
        while pending:
            finished, pending = wait(pending, return_when=FIRST_EXCEPTION)
            if any(f.exception() is not None for f in finished):
                # Stop starting new partitions, but keep those already running: they may finish.
                for future in pending:
                    future.cancel()
                wait(pending)
                finished, pending = finished | pending, set()
            for future in finished:
                if future.cancelled():
                    continue
                exc = future.exception()
                if exc is not None:
                    errors.append(exc)
                    continue
                record(*future.result())
                result.partitions_fetched += 1
                done += 1
                if progress:
                    progress(spec.table_id, done, total)
    if errors:
        first = errors[0]
        finished = len(manifest.partitions)
        message = (
            f"Ophalen van tabel {spec.table_id} afgebroken: {first} "
            f"({finished} van {len(manifest.planned)} partities staan veilig in {archive.vintage_dir(spec.table_id, plan.vintage)}; "
            "de volgende run gaat daar verder)."
        )
        if isinstance(first, (SchemaDriftError, ConfigError)):
            raise type(first)(message) from first
        raise SourceError(message) from first
    manifest.complete = True
    manifest.completed_at = now_utc()
    archive.save_manifest(manifest)
    result.rows = manifest.rows
    return result
