"""The landing zone: ``data/raw/<table>/<vintage>/`` holds what was fetched, as it was served.

A vintage is one version of a table, named after the table's ``Modified`` stamp. Nothing in a
vintage is ever overwritten by a later pull: a new ``Modified`` gets a new directory. Files are
written to a temporary name and renamed into place (``os.replace`` is atomic on POSIX), so a
killed run leaves no half file, and the manifest (``provenance.json``) is updated after each
finished partition, so the next run resumes where this one stopped.

Partition files keep the served values (padded keys, nulls) under normalised column names
``region_key, type_key, period_key, value``; the served column names are in the manifest.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from veiligheidsbeeld.errors import SchemaDriftError, SourceError
# One writer for every file (atomic, with the user's umask); re-exported for the other sources.
from veiligheidsbeeld.files import atomic_path, atomic_write_bytes, atomic_write_json, umask  # noqa: F401

MANIFEST = "provenance.json"
RAW_SCHEMA = pa.schema(
    [
        ("region_key", pa.string()),
        ("type_key", pa.string()),
        ("period_key", pa.string()),
        ("value", pa.int64()),
    ]
)
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


#: A table's ``Modified`` stamp may run ahead of this machine's clock by this much (time zones,
#: a publication just after midnight); further ahead it is not a real release date.
MODIFIED_TOLERANCE = timedelta(days=2)


def check_modified(modified: str, *, now: datetime | None = None) -> datetime:
    """The one check of a table's ``Modified`` stamp, before it can become a vintage.

    A vintage named after a bogus stamp (``2099``, ``2099-99-99T99:99:99``) would win over every
    later genuine release, so a stamp must be a real ISO date-time, not in the future."""
    text = str(modified or "").strip()
    stamp = text.split("+")[0].split(".")[0].rstrip("Z")
    parsed = None
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?)?", stamp):
        try:
            parsed = datetime.fromisoformat(stamp)
        except ValueError:
            parsed = None
    if parsed is None:
        raise SourceError(
            f"De 'Modified'-datum van de tabel ({text!r}) is geen geldige datum en tijd (verwacht bijv. "
            "2024-03-28T02:00:00); deze versie wordt niet opgeslagen."
        )
    now = now or datetime.now(timezone.utc).replace(tzinfo=None)
    if parsed > now + MODIFIED_TOLERANCE:
        raise SourceError(
            f"De 'Modified'-datum van de tabel ({text}) ligt in de toekomst; zo'n versie zou elke latere "
            "echte publicatie overschrijven en wordt niet opgeslagen. Controleer de bron (TableInfos)."
        )
    return parsed
def region_level(key: str) -> str:
    """'GM0153    ' -> 'GM'; 'WK015300' -> 'WK'; 'BU01530000' -> 'BU'; anything else (NL00) -> 'NL'."""
    prefix = key.strip()[:2]
    return prefix if prefix in ("GM", "WK", "BU") else "NL"


def level_counts(keys: Iterable[str]) -> dict[str, int]:
    """Regions per level of a set of region keys."""
    out: dict[str, int] = {}
    for key in keys:
        level = region_level(key)
        out[level] = out.get(level, 0) + 1
    return out


def vintage_from_modified(modified: str) -> str:
    """'2024-03-28T02:00:00' -> '20240328T020000' (sortable, safe as a directory name); the stamp
    is checked first (:func:`check_modified`)."""
    check_modified(modified)
    return re.sub(r"[^0-9T]", "", str(modified).strip().split("+")[0].split(".")[0])


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class PartitionRecord:
    file: str
    rows: int
    sha256: str
    fetched_at: str
    periods: list[str]
    regions: int
    codes: int | None = None  # type codes asked for; None: all codes of the code list
    # Rows served twice and collapsed when the partition was written (``rows`` counts them once).
    # None: written before this check existed; the load then checks the file itself.
    duplicates: int | None = None
    # Regions asked for and regions served, per level ('NL', 'GM', 'WK', 'BU'): a region-filtered
    # snapshot lists every Dutch region but serves rows for only some (see validation).
    # None: written before this was recorded.
    levels: dict[str, int] | None = None
    delivered: dict[str, int] | None = None


@dataclass
class VintageManifest:
    """Provenance of one pull of one table (one vintage)."""

    table_id: str
    vintage: str
    modified: str
    source: str
    kind: str  # "full" | "incremental"
    started_at: str
    columns: dict[str, str]  # normalised name -> served column name
    planned: list[str] = field(default_factory=list)
    partitions: dict[str, PartitionRecord] = field(default_factory=dict)
    filters: dict[str, Any] = field(default_factory=dict)
    region_signature: str = ""
    type_signature: str = ""
    base_vintage: str | None = None
    completed_at: str | None = None
    complete: bool = False

    @property
    def rows(self) -> int:
        return sum(p.rows for p in self.partitions.values())

    def checksum(self) -> str:
        """One checksum for the vintage: over the partition checksums in name order."""
        digest = hashlib.sha256()
        for name in sorted(self.partitions):
            digest.update(f"{name}:{self.partitions[name].sha256}\n".encode())
        return digest.hexdigest()

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["rows"] = self.rows
        data["checksum"] = self.checksum()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "VintageManifest":
        data = dict(data)
        data.pop("rows", None)
        data.pop("checksum", None)
        parts = {k: PartitionRecord(**v) for k, v in data.pop("partitions", {}).items()}
        return cls(partitions=parts, **data)


class RawArchive:
    """Read and write the raw landing zone for police tables."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def table_dir(self, table_id: str) -> Path:
        return self.root / table_id

    def vintage_dir(self, table_id: str, vintage: str) -> Path:
        if not _SAFE_NAME.match(vintage):
            raise SourceError(f"Ongeldige vintage-naam {vintage!r}.")
        return self.table_dir(table_id) / vintage

    # -- manifests -----------------------------------------------------------------------------
    def manifests(self, table_id: str) -> list[VintageManifest]:
        """All vintages of a table, oldest first."""
        out = []
        directory = self.table_dir(table_id)
        if not directory.is_dir():
            return out
        for child in sorted(directory.iterdir()):
            path = child / MANIFEST
            if child.is_dir() and path.is_file():
                try:
                    out.append(VintageManifest.from_json(json.loads(path.read_text(encoding="utf-8"))))
                except (json.JSONDecodeError, TypeError, KeyError) as exc:
                    raise SourceError(f"Provenance-bestand {path} is beschadigd: {exc}") from exc
        return out

    def manifest(self, table_id: str, vintage: str) -> VintageManifest | None:
        path = self.vintage_dir(table_id, vintage) / MANIFEST
        if not path.is_file():
            return None
        return VintageManifest.from_json(json.loads(path.read_text(encoding="utf-8")))

    def save_manifest(self, manifest: VintageManifest) -> None:
        atomic_write_json(self.vintage_dir(manifest.table_id, manifest.vintage) / MANIFEST, manifest.to_json())

    # -- metadata entities ------------------------------------------------------------------------
    def save_entity(self, table_id: str, vintage: str, name: str, rows: list[dict[str, Any]]) -> None:
        atomic_write_json(self.vintage_dir(table_id, vintage) / "meta" / f"{name}.json", rows)

    def load_entity(self, table_id: str, vintage: str, name: str) -> list[dict[str, Any]]:
        path = self.vintage_dir(table_id, vintage) / "meta" / f"{name}.json"
        if not path.is_file():
            raise SourceError(f"Metadata {name} ontbreekt in {path.parent}.")
        return json.loads(path.read_text(encoding="utf-8"))

    # -- partitions -------------------------------------------------------------------------------
    def partition_path(self, table_id: str, vintage: str, name: str) -> Path:
        if not _SAFE_NAME.match(name):
            raise SourceError(f"Ongeldige partitienaam {name!r}.")
        return self.vintage_dir(table_id, vintage) / "partitions" / f"{name}.parquet"

    def write_partition(
        self, table_id: str, vintage: str, name: str, batches: Iterable[pa.RecordBatch]
    ) -> tuple[int, str, int]:
        """Stream record batches to a temporary Parquet file, then rename it into place.

        Every cell is checked to occur once before the file is renamed into place (see
        ``unique_cells``), so the load can stream the partitions without de-duplicating them.
        Returns (rows kept, sha256, duplicate rows collapsed).
        """
        path = self.partition_path(table_id, vintage, name)
        rows = 0
        with atomic_path(path) as tmp:
            with pq.ParquetWriter(tmp, RAW_SCHEMA, compression="zstd") as writer:
                for batch in batches:
                    if batch.num_rows:
                        writer.write_batch(batch)
                        rows += batch.num_rows
            duplicates = 0
            if rows:
                table = pq.read_table(tmp)
                unique = unique_cells(table, f"tabel {table_id}, versie {vintage}, partitie {name}")
                if unique is not None:
                    duplicates = rows - unique.num_rows
                    rows = unique.num_rows
                    pq.write_table(unique, tmp, compression="zstd")
            checksum = sha256_file(tmp)
        return rows, checksum, duplicates

    def partition_ok(self, manifest: VintageManifest, name: str) -> bool:
        record = manifest.partitions.get(name)
        if record is None:
            return False
        path = self.vintage_dir(manifest.table_id, manifest.vintage) / record.file
        return path.is_file() and sha256_file(path) == record.sha256

    def clean_temporaries(self, table_id: str) -> int:
        """Remove leftovers of killed writes (``.*.tmp``); they were never part of a vintage."""
        removed = 0
        directory = self.table_dir(table_id)
        if directory.is_dir():
            for tmp in directory.rglob(".*.tmp"):
                tmp.unlink(missing_ok=True)
                removed += 1
        return removed

    # -- import of another machine's raw layout -----------------------------------------------------
    def import_vintages(self, other_root: Path, table_id: str) -> list[str]:
        """Copy complete vintages of ``table_id`` from another ``data/raw`` that we do not have yet.

        Checksums are verified before anything is copied; a vintage is copied to a temporary
        directory and renamed into place, so a failed import leaves nothing behind.
        """
        other = RawArchive(other_root)
        imported = []
        for manifest in other.manifests(table_id):
            if not manifest.complete or self.manifest(table_id, manifest.vintage) is not None:
                continue
            try:  # another machine's vintage is held to the same stamp check as a fresh pull
                check_modified(manifest.modified)
            except SourceError as exc:
                raise SourceError(f"{other.vintage_dir(table_id, manifest.vintage)}: {exc}") from None
            for name in manifest.partitions:
                if not other.partition_ok(manifest, name):
                    raise SourceError(
                        f"Partitie {name} van {table_id}/{manifest.vintage} in {other_root} klopt niet met zijn checksum."
                    )
            target = self.vintage_dir(table_id, manifest.vintage)
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{manifest.vintage}.", suffix=".tmp"))
            try:
                shutil.copytree(other.vintage_dir(table_id, manifest.vintage), tmp, dirs_exist_ok=True)
                _share(tmp)
                os.replace(tmp, target)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
            imported.append(manifest.vintage)
        return imported

    def has_raw_layout(self, table_id: str) -> bool:
        return any(m.complete for m in self.manifests(table_id))


def _share(folder: Path) -> None:
    """Give an imported vintage the modes of a normal write (mkdtemp makes 0700, and the other
    machine's files may carry its own modes): folders 0777, files 0666, both minus the umask."""
    folder.chmod(0o777 & ~umask())
    for path in folder.rglob("*"):
        path.chmod((0o777 if path.is_dir() else 0o666) & ~umask())


def partition_name(group: str, first_year: int, last_year: int) -> str:
    """``GM0193_2023`` for one year of a region group, ``NL00_2012-2023`` for consecutive years."""
    return f"{group}_{first_year}" if first_year == last_year else f"{group}_{first_year}-{last_year}"


def partition_group(name: str) -> str:
    """The region group of a partition name (``GM0193_2012-2023`` → ``GM0193``)."""
    return name.rsplit("_", 1)[0]


def spans_years(name: str) -> bool:
    """Whether a partition name covers more than one year (``NL00_2012-2023``)."""
    return "-" in name.rsplit("_", 1)[-1]


CELL_KEYS = ["region_key", "type_key", "period_key"]


def unique_cells(table: pa.Table, what: str) -> pa.Table | None:
    """None when every cell (region, type, period) occurs once; else the table with identical
    repeats collapsed (a feed that served a page twice). A cell served with two different values,
    or as a value and a NULL, cannot be resolved: SchemaDriftError, nothing is kept."""
    if _cells_are_distinct(table):
        return None
    grouped = table.group_by(CELL_KEYS, use_threads=False).aggregate(
        [("value", "min"), ("value", "max"), ("value", "count"), ([], "count_all")]
    )
    if grouped.num_rows == table.num_rows:
        return None
    repeated = pc.greater(grouped["count_all"], 1)
    differs = pc.or_(
        pc.not_equal(grouped["value_min"], grouped["value_max"]),
        pc.and_(pc.greater(grouped["value_count"], 0), pc.less(grouped["value_count"], grouped["count_all"])),
    )
    conflicts = pc.sum(pc.and_(repeated, pc.fill_null(differs, False))).as_py() or 0
    if conflicts:
        raise SchemaDriftError(
            f"{what}: {conflicts} cellen komen meermaals voor met verschillende waarden "
            "binnen één vintage; niets geladen."
        )
    return pa.table(
        [grouped["region_key"], grouped["type_key"], grouped["period_key"], grouped["value_min"]],
        schema=RAW_SCHEMA,
    )


#: Up to this many possible cells, distinctness is checked with a bitmap (16 MB), else by sorting.
_BITMAP_CELLS = 1 << 24


def _cells_are_distinct(table: pa.Table) -> bool:
    """Whether every (region, type, period) occurs once: the common case, answered without
    grouping (which costs four times as much): each key column is numbered by dictionary
    encoding, the three numbers make one cell number, and no cell number may occur twice."""
    encoded = [pc.dictionary_encode(table.column(name).combine_chunks()) for name in CELL_KEYS]
    if any(e.null_count for e in encoded):
        return False  # the grouping treats a NULL key as a value of its own
    cells = 1
    for e in encoded:
        cells *= len(e.dictionary)
    if cells >= 1 << 62:
        return False  # cell numbers would not fit in int64; let the grouping decide
    cell = np.zeros(table.num_rows, dtype=np.int64)
    for e in encoded:
        cell *= len(e.dictionary)
        cell += e.indices.to_numpy(zero_copy_only=False)
    if cells <= _BITMAP_CELLS:
        seen = np.zeros(cells, dtype=bool)
        seen[cell] = True
        return int(np.count_nonzero(seen)) == table.num_rows
    return int(np.unique(cell).size) == table.num_rows


def iter_chunks(items: list[str], max_chars: int, overhead: int) -> Iterator[list[str]]:
    """Split enumerated filter values so that one request's URL stays below ``max_chars``."""
    chunk: list[str] = []
    size = 0
    for item in items:
        cost = len(item) * 3 + overhead  # URL-encoding can triple a padded key's length
        if chunk and size + cost > max_chars:
            yield chunk
            chunk, size = [], 0
        chunk.append(item)
        size += cost
    if chunk:
        yield chunk
