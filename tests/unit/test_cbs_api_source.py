"""CbsApiSource's limit on requests in flight (the ``concurrency`` setting), with a fake session."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from veiligheidsbeeld.sources.odata import CbsApiSource


class _Response:
    """What CbsApiSource uses of a requests.Response."""

    status_code = 200
    headers: dict[str, str] = {}

    def __init__(self, body: bytes) -> None:
        self.body = body

    def iter_content(self, chunk_size=None):
        yield self.body

    def close(self) -> None:
        pass


class _CountingSession:
    """Answers every GET after 50 ms and records how many were in flight at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = 0
        self.most = 0

    def get(self, url, params=None, timeout=None, stream=False):
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
        time.sleep(0.05)
        with self.lock:
            self.now -= 1

        return _Response(b'{"value": []}')


def _most_in_flight(source: CbsApiSource, threads: int = 12) -> int:
    session = _CountingSession()
    source._session = lambda: session  # type: ignore[method-assign]
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda i: source._get_json(f"http://x/{i}", None, "test"), range(threads * 2)))
    return session.most


def test_requests_in_flight_are_limited_across_threads():
    source = CbsApiSource("stub.invalid", use_https=False)
    assert _most_in_flight(source) > 3  # without a limit, every thread's request runs at once
    source.limit_requests_in_flight(3)
    assert _most_in_flight(source) == 3


def test_a_limit_below_one_is_refused():
    with pytest.raises(ValueError):
        CbsApiSource("stub.invalid").limit_requests_in_flight(0)


# -- pages read column-wise (iter_pages_arrow) ------------------------------------------------

import json  # noqa: E402

import pyarrow as pa  # noqa: E402

from veiligheidsbeeld.config import police_table  # noqa: E402
from veiligheidsbeeld.errors import SchemaDriftError  # noqa: E402
from veiligheidsbeeld.sources import politie  # noqa: E402
from veiligheidsbeeld.sources.odata import Page  # noqa: E402

SPEC = police_table("47022NED")
SELECT = [SPEC.region_dimension, SPEC.type_dimension, SPEC.period_dimension, SPEC.measure]
FEED = "http://stub.invalid/ODataFeed/odata/47022NED/TypedDataSet"


def _row(region: str, code: str, period: str, value: object = 3, **drop: bool) -> dict:
    row = {SPEC.region_dimension: region, SPEC.type_dimension: code, SPEC.period_dimension: period, SPEC.measure: value}
    return {k: v for k, v in row.items() if not drop.get(k)}


class _PagesSession:
    """Serves the given bodies in turn, whatever the URL."""

    def __init__(self, bodies: list[bytes]) -> None:
        self.bodies = list(bodies)

    def get(self, url, params=None, timeout=None, stream=False):
        return _Response(self.bodies.pop(0))


def _body(rows: list[dict], next_skip: int | None = None, indent: int | None = None) -> bytes:
    page: dict = {"odata.metadata": f"{FEED}/$metadata", "value": rows}
    if next_skip is not None:
        page["odata.nextLink"] = f"{FEED}?$format=json&$skip={next_skip}"
    return json.dumps(page, indent=indent, separators=None if indent else (",", ":")).encode()


def _pages(bodies: list[bytes], arrow: bool = True) -> list:
    source = CbsApiSource("stub.invalid", use_https=False, retries=1, backoff_seconds=0)
    session = _PagesSession(bodies)
    source._session = lambda: session  # type: ignore[method-assign]
    pages = source.iter_pages_arrow if arrow else source.iter_pages
    return list(pages("47022NED", None, SELECT))


def _batches(bodies: list[bytes]) -> pa.Table:
    return pa.Table.from_batches([politie._page_to_batch(p, SPEC, "test") for p in _pages(bodies)])


def test_column_wise_pages_give_the_rows_of_the_dict_pages():
    first = [_row("GM0193    ", "1.1.1 ", "2023MM01", 12), _row("BU01930000", "1.1.1 ", "2023MM01", None)]
    second = [_row("GM0193    ", "0.0.0 ", "2023JJ00", 80)]
    bodies = [_body(first, next_skip=2), _body(second)]
    pages = _pages(bodies)
    assert [p.arrow is not None for p in pages] == [True, True]  # read by Arrow, not the fallback
    assert [p.rows() for p in pages] == _pages(bodies, arrow=False) == [first, second]
    table = _batches(bodies)
    assert table.column("region_key").to_pylist() == ["GM0193    ", "BU01930000", "GM0193    "]
    assert table.column("value").to_pylist() == [12, None, 80]  # null stays suppressed, padding kept


def test_a_page_of_only_suppressed_cells_is_whole_numbers_and_nulls():
    table = _batches([_body([_row("BU01930000", "1.1.1 ", "2023MM01", None)] * 1)])
    assert table.schema.field("value").type == pa.int64() and table.column("value").to_pylist() == [None]


def test_an_empty_page_gives_no_rows():
    assert _batches([_body([])]).num_rows == 0


def test_a_row_without_the_measure_is_not_read_as_suppressed():
    rows = [_row("GM0193    ", "1.1.1 ", "2023MM01", None), _row("GM0193    ", "1.1.2 ", "2023MM01", **{SPEC.measure: True})]
    [page] = _pages([_body(rows)])
    assert page.arrow is None  # the Arrow reader would have made the missing value a null
    with pytest.raises(SchemaDriftError, match="rij zonder kolom"):
        politie._page_to_batch(page, SPEC, "test")


def test_a_measure_that_is_not_a_whole_number_is_named():
    rows = [_row("GM0193    ", "1.1.1 ", "2023MM01", 4), _row("GM0193    ", "1.1.2 ", "2023MM01", 2.5)]
    with pytest.raises(SchemaDriftError, match="2.5 in .* geen geheel getal"):
        _batches([_body(rows)])


def test_a_pretty_printed_page_gives_the_same_rows():
    rows = [_row("GM0193    ", "1.1.1 ", "2023MM01", 7)]
    [page] = _pages([_body(rows, indent=2)])
    assert page.rows() == rows
    assert _batches([_body(rows, indent=2)]).column("value").to_pylist() == [7]


def test_a_cut_off_page_is_fetched_again():
    rows = [_row("GM0193    ", "1.1.1 ", "2023MM01", 7)]
    good = _body(rows)
    assert _batches([good[: len(good) // 2], good]).column("value").to_pylist() == [7]


def test_a_page_without_a_value_list_is_a_feed_error():
    from veiligheidsbeeld.sources.odata import FeedError

    with pytest.raises(FeedError, match="'value'-lijst"):
        _pages([b'{"odata.metadata":"x","value":5}'])
    with pytest.raises(FeedError, match="'value'-lijst"):
        _pages([b'{"odata.metadata":"x"}'])


def test_a_page_built_from_rows_or_body_needs_one_of_them():
    with pytest.raises(ValueError):
        Page()
