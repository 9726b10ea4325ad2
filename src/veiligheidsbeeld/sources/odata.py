"""One OData v3 client for every CBS table, live or from a snapshot directory.

Live, metadata entities (``TableInfos``, ``DataProperties``, the dimension code lists) are read
with :mod:`cbsodata`, which keeps codes as they are served. The data entity (``TypedDataSet``) is
read page by page with our own small pager over the same bulk-feed URLs, because
``cbsodata.get_data`` replaces codes by titles, holds the whole result in memory and follows
``odata.nextLink`` blindly (a looping link never ends). Our pager streams pages to the caller,
guards ``nextLink`` and retries transient failures with backoff.

Offline, :class:`SnapshotSource` reads the same entities from a directory in the layout that
``cbsodata.download_data(dir=...)`` writes (one JSON file per entity), and applies the same
:class:`RowFilter` locally, so the ingest code path is identical.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Callable, Protocol, TypeVar
from urllib.parse import urlsplit

import cbsodata
import duckdb
import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json
import requests
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from veiligheidsbeeld.errors import SchemaDriftError, SourceError, SourceUnavailableError

log = logging.getLogger(__name__)
_T = TypeVar("_T")

BULK_PATH = "ODataFeed/odata"
DATA_ENTITY = "TypedDataSet"
UNTYPED_ENTITY = "UntypedDataSet"
#: Guard against a feed that pages forever (a looping ``odata.nextLink``).
MAX_PAGES_PER_QUERY = 100_000


@dataclass(frozen=True)
class RowFilter:
    """Enumerated values per dimension (the API has no ``in``): ``(d eq 'a' or d eq 'b') and ...``.

    Values are the raw keys as the table serves them, padding included.
    """

    values: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def to_odata(self) -> str:
        clauses = []
        for dim, keys in self.values.items():
            if not keys:
                raise ValueError(f"empty value list for dimension {dim}")
            ors = " or ".join(f"{dim} eq '{_quote(k)}'" for k in keys)
            clauses.append(f"({ors})")
        return " and ".join(clauses)

    def matches(self, row: Mapping[str, Any]) -> bool:
        return all(row.get(dim) in set(keys) for dim, keys in self.values.items())


def _quote(value: str) -> str:
    return value.replace("'", "''")


class Page:
    """One page of a data entity's rows, for callers that want them column-wise.

    ``arrow`` holds the rows as an Arrow table when the page could be read that way faithfully
    (every selected column present in every row), else None; ``rows()`` gives them as dicts, the
    way :meth:`ODataSource.iter_pages` yields them, parsed from the body on first use.
    """

    __slots__ = ("arrow", "_body", "_rows")

    def __init__(self, *, arrow: pa.Table | None = None, rows: list[dict[str, Any]] | None = None,
                 body: bytes | None = None) -> None:
        if rows is None and body is None:
            raise ValueError("a page needs its rows or its body")
        self.arrow = arrow
        self._rows = rows
        self._body = body

    def rows(self) -> list[dict[str, Any]]:
        if self._rows is None:
            assert self._body is not None
            self._rows, _ = _dict_page(self._body, "pagina")
        return self._rows


class ODataSource(Protocol):
    """What the sources need from a table provider (the live API or a snapshot directory)."""

    description: str

    def entity(self, table_id: str, name: str) -> list[dict[str, Any]]: ...

    def entity_names(self, table_id: str) -> list[str]: ...

    def iter_pages(
        self, table_id: str, row_filter: RowFilter | None = None, select: Sequence[str] | None = None
    ) -> Iterator[list[dict[str, Any]]]: ...

    def iter_pages_arrow(
        self, table_id: str, row_filter: RowFilter | None = None, select: Sequence[str] | None = None
    ) -> Iterator[Page]: ...


# --------------------------------------------------------------------------------------------
# Live API
# --------------------------------------------------------------------------------------------


class FeedError(SourceError):
    """The paged feed itself misbehaved (a looping or foreign nextLink, a page without rows list).

    Detected after some pages were already handed out, so a retry must restart the whole query;
    the caller (one partition, written atomically) can do that safely.
    """


class _TransientHTTPError(SourceError):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _retry_after_seconds(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, _TransientHTTPError):
        return True
    if isinstance(exc, (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)):
        return not isinstance(exc, _NameResolutionFailure)
    if isinstance(exc, requests.HTTPError) and exc.__cause__ is not None:
        return _is_transient(exc.__cause__)
    return False


class _NameResolutionFailure(requests.ConnectionError):
    """No DNS answer: no network to the API. Retrying does not help; say so at once."""


def _unresolvable(exc: requests.ConnectionError) -> bool:
    text = str(exc)
    return "Name or service not known" in text or "Failed to resolve" in text or "NameResolution" in text


@dataclass
class RequestStats:
    """Counters for benchmarks and the ingest summary."""

    requests: int = 0
    bytes: int = 0
    retries: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, n_bytes: int) -> None:
        with self._lock:
            self.requests += 1
            self.bytes += n_bytes

    def retried(self) -> None:
        with self._lock:
            self.retries += 1


class CbsApiSource:
    """The live CBS OData v3 API (``dataderden.cbs.nl`` for police tables, ``opendata.cbs.nl`` for CBS)."""

    def __init__(
        self,
        catalog_url: str,
        *,
        use_https: bool = True,
        retries: int = 5,
        backoff_seconds: float = 1.0,
        backoff_max_seconds: float = 60.0,
        timeout_seconds: float = 120.0,
    ) -> None:
        self.catalog_url = catalog_url.rstrip("/")
        self.use_https = use_https
        self.retries = retries
        self.backoff_seconds = backoff_seconds
        self.backoff_max_seconds = backoff_max_seconds
        self.timeout_seconds = timeout_seconds
        self.stats = RequestStats()
        self._local = threading.local()
        self._in_flight: threading.BoundedSemaphore | None = None
        scheme = "https" if use_https else "http"
        self.description = f"{scheme}://{self.catalog_url}"

    def limit_requests_in_flight(self, limit: int) -> None:
        """At most ``limit`` requests to the API at once, however many threads use this source.

        The pull runs more partitions than this at a time, so that one partition's parsing and
        writing overlaps another's wait for the network, while the API sees no more than ``limit``
        requests (the ``concurrency`` setting)."""
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self._in_flight = threading.BoundedSemaphore(limit)

    def _slot(self) -> threading.BoundedSemaphore | nullcontext[None]:
        return self._in_flight if self._in_flight is not None else nullcontext()

    # -- helpers -----------------------------------------------------------------------------
    def table_url(self, table_id: str) -> str:
        scheme = "https" if self.use_https else "http"
        return f"{scheme}://{self.catalog_url}/{BULK_PATH}/{table_id}/"

    def _session(self) -> requests.Session:
        # One pooled session per thread: requests.Session is not guaranteed thread-safe.
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            self._local.session = session
        return session

    def _retrying(self, what: str) -> Retrying:
        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            retry_after = getattr(exc, "retry_after", None)
            base = wait_exponential_jitter(
                initial=self.backoff_seconds, max=self.backoff_max_seconds, jitter=self.backoff_seconds
            )(state)
            if retry_after is not None:
                return min(max(retry_after, 0.0), self.backoff_max_seconds)
            return base

        def before_sleep(state: RetryCallState) -> None:
            self.stats.retried()
            exc = state.outcome.exception() if state.outcome else None
            log.warning("%s: poging %d mislukt (%s); opnieuw", what, state.attempt_number, exc)

        return Retrying(
            retry=retry_if_exception(_is_transient),
            stop=stop_after_attempt(self.retries + 1),
            wait=wait,
            before_sleep=before_sleep,
            reraise=True,
        )

    def _translate(self, exc: BaseException, what: str) -> SourceError:
        if isinstance(exc, SourceError):
            return exc
        if isinstance(exc, requests.ConnectionError):
            if _unresolvable(exc):
                return SourceUnavailableError(
                    f"{self.catalog_url} is niet bereikbaar (geen netwerk of DNS) bij het ophalen van {what}. "
                    "Gebruik een snapshotmap: veiligheidsbeeld ingest --source MAP"
                )
            return SourceError(f"Verbinding met {self.catalog_url} mislukt bij {what} na {self.retries} nieuwe pogingen: {exc}")
        if isinstance(exc, requests.Timeout):
            return SourceError(f"Time-out bij {what} van {self.catalog_url} na {self.retries} nieuwe pogingen.")
        if isinstance(exc, requests.HTTPError):
            return SourceError(f"{what}: {exc}")
        return SourceError(f"{what}: {exc}")

    # -- metadata through cbsodata -----------------------------------------------------------
    def entity(self, table_id: str, name: str) -> list[dict[str, Any]]:
        what = f"{name} van tabel {table_id}"

        def call() -> list[dict[str, Any]]:
            cbsodata.options.use_https = self.use_https
            try:
                with self._slot():
                    return cbsodata.get_meta(table_id, name, catalog_url=self.catalog_url, timeout=self.timeout_seconds)
            except requests.HTTPError as exc:
                status = getattr(getattr(exc.__cause__, "response", None), "status_code", None)
                if status == 404:
                    raise SourceError(
                        f"Tabel {table_id} of onderdeel {name} bestaat niet op {self.catalog_url}."
                    ) from exc
                response = getattr(exc.__cause__, "response", None)
                if status is not None and (status >= 500 or status == 429):
                    raise _TransientHTTPError(f"HTTP {status} bij {what}", _retry_after_seconds(response)) from exc
                raise
            except json.JSONDecodeError as exc:
                raise _TransientHTTPError(f"ongeldige JSON bij {what}") from exc
            except requests.ConnectionError as exc:
                if _unresolvable(exc):
                    raise _NameResolutionFailure(str(exc)) from exc
                raise
            finally:
                self.stats.add(0)

        try:
            return self._retrying(what)(call)
        except Exception as exc:  # noqa: BLE001 - translated into a user-facing error
            raise self._translate(exc, what) from exc

    def entity_names(self, table_id: str) -> list[str]:
        root = self._get_json(self.table_url(table_id), {"$format": "json"}, f"inhoud van tabel {table_id}")
        return [e["name"] for e in root.get("value", [])]

    # -- data pages through our pager ---------------------------------------------------------
    def _get(self, url: str, params: dict[str, str] | None, what: str, parse: Callable[[bytes, str], _T]) -> _T:
        """GET with retries; ``parse`` reads the body inside the retry (a cut-off page is fetched again)."""

        def call() -> _T:
            try:
                with self._slot():  # the body is read while the slot is held
                    response = self._session().get(url, params=params, timeout=self.timeout_seconds, stream=True)
                    try:
                        # In one read: requests' default 10 KB steps cost ~2 ms of CPU on a 1 MB page.
                        body = b"".join(response.iter_content(chunk_size=None))
                    finally:
                        response.close()
            except requests.exceptions.ConnectionError as exc:
                if _unresolvable(exc):
                    raise _NameResolutionFailure(str(exc)) from exc
                raise
            self.stats.add(len(body))
            if response.status_code == 404:
                raise SourceError(f"{what}: bestaat niet op {self.catalog_url} (HTTP 404).")
            if response.status_code >= 500 or response.status_code == 429:
                raise _TransientHTTPError(
                    f"HTTP {response.status_code} bij {what}", _retry_after_seconds(response)
                )
            if response.status_code >= 400:
                text = body[:400].decode("utf-8", errors="replace")
                raise SourceError(f"{what}: HTTP {response.status_code} van {self.catalog_url}: {text[:200]}")
            return parse(body, what)

        try:
            return self._retrying(what)(call)
        except Exception as exc:  # noqa: BLE001
            raise self._translate(exc, what) from exc

    def _get_json(self, url: str, params: dict[str, str] | None, what: str) -> Any:
        return self._get(url, params, what, _json_document)

    def iter_pages(
        self, table_id: str, row_filter: RowFilter | None = None, select: Sequence[str] | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        return self._paged(table_id, row_filter, select, _dict_page)

    def iter_pages_arrow(
        self, table_id: str, row_filter: RowFilter | None = None, select: Sequence[str] | None = None
    ) -> Iterator[Page]:
        """Like :meth:`iter_pages`, with each page read by Arrow's JSON reader, which does not hold
        the GIL: concurrent partitions parse in parallel instead of taking turns."""

        def parse(body: bytes, what: str) -> tuple[Page, str | None]:
            return _arrow_page(body, what, select or ())

        return self._paged(table_id, row_filter, select, parse)

    def _paged(
        self,
        table_id: str,
        row_filter: RowFilter | None,
        select: Sequence[str] | None,
        parse: Callable[[bytes, str], tuple[_T, str | None]],
    ) -> Iterator[_T]:
        url: str | None = self.table_url(table_id) + DATA_ENTITY
        params: dict[str, str] | None = {"$format": "json"}
        if row_filter is not None and row_filter.values:
            params["$filter"] = row_filter.to_odata()
        if select:
            params["$select"] = ",".join(select)
        # The first URL counts as seen too: a first page that links to itself must not be read twice.
        seen: set[str] = {_normalised(requests.Request("GET", url, params=params).prepare().url or url)}
        expected_path = urlsplit(url).path.rstrip("/").lower()
        pages = 0
        while url is not None:
            what = f"gegevens van tabel {table_id} (pagina {pages + 1})"
            page, next_link = self._get(url, params, what, parse)
            yield page
            pages += 1
            if next_link is None:
                return
            if not isinstance(next_link, str):
                raise FeedError(f"{what}: odata.nextLink is geen URL ({next_link!r}); afgebroken.")
            next_path = urlsplit(next_link).path.rstrip("/").lower()
            if next_path != expected_path:
                raise FeedError(
                    f"{what}: odata.nextLink wijst naar een andere tabel of entiteit ({next_link}); afgebroken."
                )
            normalised = _normalised(next_link)
            if normalised in seen or pages >= MAX_PAGES_PER_QUERY:
                raise FeedError(f"{what}: odata.nextLink herhaalt zich ({_short(next_link)}); afgebroken.")
            seen.add(normalised)
            url, params = next_link, None


def _json_document(body: bytes, what: str) -> Any:
    try:
        return orjson.loads(body)  # a 10,000-row page in a few ms (json: 3-4x that)
    except orjson.JSONDecodeError:
        pass  # invalid or truncated, or what only json reads (NaN, Infinity, lone surrogates)
    try:
        return json.loads(body.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        # A page cut off mid-transfer parses as invalid JSON; fetching it again usually helps.
        raise _TransientHTTPError(f"ongeldige of afgebroken JSON-pagina bij {what}") from exc


def _dict_page(body: bytes, what: str) -> tuple[list[dict[str, Any]], str | None]:
    document = _json_document(body, what)
    rows = document.get("value") if isinstance(document, dict) else None
    if not isinstance(rows, list):
        raise FeedError(f"{what}: antwoord heeft geen 'value'-lijst; geen geldige OData-pagina.")
    return rows, document.get("odata.nextLink")


def _arrow_page(body: bytes, what: str, select: Sequence[str]) -> tuple[Page, str | None]:
    """A page read by Arrow's JSON reader; where that reader cannot give the rows faithfully
    (not one compact JSON object, mixed types, a column absent from some rows) the page is read
    as dicts instead, so that callers see the same rows and the same errors either way."""

    def as_dicts() -> tuple[Page, str | None]:
        rows, next_link = _dict_page(body, what)
        return Page(rows=rows), next_link

    try:
        options = pa_json.ReadOptions(use_threads=False, block_size=max(len(body) + 1, 1 << 16))
        document = pa_json.read_json(pa.BufferReader(body), read_options=options)
    except (pa.ArrowException, ValueError):
        return as_dicts()
    if document.num_rows != 1 or "value" not in document.column_names:
        return as_dicts()
    value_type = document.schema.field("value").type
    if not pa.types.is_list(value_type) or not pa.types.is_struct(value_type.value_type):
        return as_dicts()  # not a list of objects; an empty list too (its items have no type)
    next_link = document.column("odata.nextLink")[0].as_py() if "odata.nextLink" in document.column_names else None
    rows = pa.Table.from_struct_array(pc.list_flatten(document.column("value")))
    for name in select:
        if name not in rows.column_names:
            return as_dicts()
        # A row without the column reads as null, like a suppressed cell: tell them apart by
        # counting the column's name (a quoted key occurs once per row that has it).
        if rows.column(name).null_count and body.count(b'"' + name.encode() + b'"') != rows.num_rows:
            return as_dicts()
    return Page(arrow=rows, body=body), next_link


def _short(url: str, limit: int = 160) -> str:
    return url if len(url) <= limit else url[: limit - 1] + "…"


def _normalised(url: str) -> str:
    """A URL with its query decoded and sorted, so that two spellings of one request compare equal."""
    from urllib.parse import parse_qsl, urlencode

    parts = urlsplit(url)
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return f"{parts.scheme}://{parts.netloc}{parts.path}?{query}"


# --------------------------------------------------------------------------------------------
# Snapshot directory (cbsodata.download_data layout)
# --------------------------------------------------------------------------------------------


class SnapshotSource:
    """A directory of entity JSON files as ``cbsodata.download_data(table_id, dir=...)`` writes them.

    The directory may hold one table (``<dir>/TableInfos.json`` …) or several
    (``<dir>/<table_id>/TableInfos.json`` …). ``TypedDataSet.json`` is preferred over
    ``UntypedDataSet.json``.
    """

    def __init__(self, root: Path, page_size: int = 10_000) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise SourceError(f"Snapshotmap '{self.root}' bestaat niet of is geen map.")
        self.page_size = page_size
        self.description = f"snapshot {self.root}"

    def table_dir(self, table_id: str) -> Path:
        for candidate in (self.root / table_id, self.root / table_id.lower(), self.root / table_id.upper(), self.root):
            infos = candidate / "TableInfos.json"
            if infos.is_file():
                identifier = _read_json_list(infos)[0].get("Identifier", "") if _read_json_list(infos) else ""
                if identifier.strip().upper() == table_id.upper():
                    return candidate
                if candidate != self.root:
                    raise SchemaDriftError(
                        f"Snapshotmap {candidate} hoort bij tabel '{identifier}', niet bij {table_id} "
                        "(bestanden van verschillende tabellen door elkaar?)."
                    )
        raise SourceError(
            f"Tabel {table_id} staat niet in snapshotmap '{self.root}': verwacht "
            f"'{self.root / table_id / 'TableInfos.json'}' (zoals cbsodata.download_data die schrijft)."
        )

    def entity_names(self, table_id: str) -> list[str]:
        return sorted(p.stem for p in self.table_dir(table_id).glob("*.json"))

    def entity(self, table_id: str, name: str) -> list[dict[str, Any]]:
        path = self.table_dir(table_id) / f"{name}.json"
        if not path.is_file():
            raise SourceError(f"Snapshot van tabel {table_id} mist het bestand {path.name} ({path}).")
        return _read_json_list(path)

    def iter_pages(
        self, table_id: str, row_filter: RowFilter | None = None, select: Sequence[str] | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        directory = self.table_dir(table_id)
        path = directory / f"{DATA_ENTITY}.json"
        untyped = False
        if not path.is_file():
            path = directory / f"{UNTYPED_ENTITY}.json"
            untyped = True
        if not path.is_file():
            raise SourceError(f"Snapshot van tabel {table_id} mist TypedDataSet.json (en UntypedDataSet.json) in {directory}.")
        data = _snapshot_table(path)
        rows = data.select(row_filter)
        frame = data.frame.iloc[rows] if rows is not None else data.frame
        if select:
            # Like the API: a selected column that is not there is simply absent from the rows.
            frame = frame[[c for c in select if c in frame.columns]]
        for start in range(0, len(frame), self.page_size):
            page = frame.iloc[start : start + self.page_size]
            records = [
                {k: (None if _is_null(v) else _plain(v)) for k, v in rec.items()}
                for rec in page.to_dict(orient="records")
            ]
            if untyped:
                records = [_type_untyped(r) for r in records]
            yield records

    def iter_pages_arrow(
        self, table_id: str, row_filter: RowFilter | None = None, select: Sequence[str] | None = None
    ) -> Iterator[Page]:
        for records in self.iter_pages(table_id, row_filter, select):
            yield Page(rows=records)


def _is_null(value: Any) -> bool:
    try:
        return value is None or bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _plain(value: Any) -> Any:
    # Numpy scalars -> Python scalars, so that the rows look like parsed JSON.
    return value.item() if hasattr(value, "item") else value


@dataclass
class _SnapshotTable:
    """One TypedDataSet file, columnar, with an index on each dimension used in a filter."""

    frame: pd.DataFrame
    _index: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)

    def positions(self, column: str, keys: Sequence[str]) -> np.ndarray:
        if column not in self._index:
            if column not in self.frame.columns:
                return np.empty(0, dtype=np.int64)
            groups = self.frame.groupby(column, sort=False, dropna=True).indices
            self._index[column] = {str(k): np.asarray(v) for k, v in groups.items()}
        index = self._index[column]
        parts = [index[k] for k in keys if k in index]
        return np.sort(np.concatenate(parts)) if parts else np.empty(0, dtype=np.int64)

    def select(self, row_filter: RowFilter | None) -> np.ndarray | None:
        if row_filter is None or not row_filter.values:
            return None
        items = list(row_filter.values.items())
        column, keys = items[0]
        rows = self.positions(column, keys)
        for column, keys in items[1:]:
            if column not in self.frame.columns:
                return np.empty(0, dtype=np.int64)
            mask = self.frame[column].iloc[rows].isin(list(keys)).to_numpy()
            rows = rows[mask]
        return rows


#: Parsed snapshot files, most recently used last. The tables of one pull are read at the same
#: time, partition by partition: each keeps its file parsed (one per police table), or every
#: switch between tables would parse a big file again.
_SNAPSHOT_CACHE: OrderedDict[tuple[str, float, int], _SnapshotTable] = OrderedDict()
SNAPSHOT_CACHE_FILES = 4
_SNAPSHOT_LOCK = threading.Lock()
_SNAPSHOT_FILE_LOCKS: dict[tuple[str, float, int], threading.Lock] = {}


def _snapshot_table(path: Path) -> _SnapshotTable:
    # Partitions read the same big file concurrently: parse it once per process and version,
    # columnar (DuckDB's JSON reader), not as millions of Python dicts. One file is parsed while
    # partitions of another go on.
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime, stat.st_size)
    with _SNAPSHOT_LOCK:
        table = _SNAPSHOT_CACHE.get(key)
        if table is not None:
            _SNAPSHOT_CACHE.move_to_end(key)
            return table
        file_lock = _SNAPSHOT_FILE_LOCKS.setdefault(key, threading.Lock())
    with file_lock:
        with _SNAPSHOT_LOCK:
            table = _SNAPSHOT_CACHE.get(key)
        if table is None:
            table = _SnapshotTable(_read_json_frame(path))
            with _SNAPSHOT_LOCK:
                for older in [k for k in _SNAPSHOT_CACHE if k[0] == key[0]]:  # an earlier version of this file
                    del _SNAPSHOT_CACHE[older]
                _SNAPSHOT_CACHE[key] = table
                while len(_SNAPSHOT_CACHE) > SNAPSHOT_CACHE_FILES:
                    _SNAPSHOT_CACHE.popitem(last=False)
                _SNAPSHOT_FILE_LOCKS.pop(key, None)
    return table


def _read_json_frame(path: Path) -> pd.DataFrame:
    if path.stat().st_size <= 4 and path.read_text(encoding="utf-8", errors="replace").strip() in ("[]", ""):
        return pd.DataFrame()
    con = duckdb.connect()
    try:
        query = "SELECT * FROM read_json($path, format = 'array', sample_size = -1, maximum_object_size = 1048576{})"
        rel = con.sql(query.format(""), params={"path": str(path)})
        names, types = list(rel.columns), [str(t) for t in rel.types]
        widened = [n for n, t in zip(names, types, strict=True) if t not in _PLAIN_JSON_TYPES]
        if not widened:
            return rel.df()
        # A column with values of several kinds (3.7, "12", true, 2**63, NaN among whole numbers)
        # is widened by the reader, so every healthy cell would look wrong too: read those columns
        # as JSON text and decode each cell, so the check names the offending cell itself.
        columns = ", ".join("'{}': '{}'".format(n.replace("'", "''"), "JSON" if n in widened else t)
                            for n, t in zip(names, types, strict=True))
        frame = con.execute(query.format(f", columns = {{{columns}}}"), {"path": str(path)}).df()
        for name in widened:
            frame[name] = pd.Series([_decode_json_cell(v) for v in frame[name].astype(object)],
                                    index=frame.index, dtype=object)
        return frame
    except duckdb.Error as exc:
        raise SourceError(
            f"Bestand {path} is geen geldige JSON-lijst (afgebroken download?): {str(exc).splitlines()[0]}"
        ) from exc
    finally:
        con.close()


#: Column types of a well-formed data file: text keys and whole numbers (or all null).
_PLAIN_JSON_TYPES = frozenset({"VARCHAR", "BIGINT", "INTEGER", "SMALLINT", "TINYINT", "NULL"})


def _decode_json_cell(value: Any) -> Any:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    # NaN/Infinity are kept as their text (not turned into a float NaN, which reads as a suppressed cell).
    return json.loads(value, parse_constant=lambda constant: constant)


def _read_json_list(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise SourceError(f"Bestand {path} is geen geldige JSON (afgebroken download?): {exc}") from exc
    except UnicodeDecodeError as exc:
        raise SourceError(f"Bestand {path} is geen UTF-8-tekst: {exc}") from exc
    if isinstance(data, dict) and "value" in data:
        data = data["value"]
    if not isinstance(data, list):
        raise SourceError(f"Bestand {path} bevat geen lijst van rijen zoals cbsodata die schrijft.")
    return data


def _type_untyped(row: dict[str, Any]) -> dict[str, Any]:
    """UntypedDataSet serves numbers as padded strings and '.' for a suppressed cell."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, str):
            stripped = value.strip()
            if stripped == ".":
                out[key] = None
                continue
            if stripped.lstrip("-").isdigit():
                out[key] = int(stripped)
                continue
        out[key] = value
    return out
