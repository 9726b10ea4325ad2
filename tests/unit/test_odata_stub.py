"""The local OData v3 stub: $filter parser, paging through the real cbsodata code path, the
ODataApi 10,000-row refusal, and every fault kind as a client sees it."""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
import requests

from veiligheidsbeeld.sources.odata import CbsApiSource, RowFilter
from veiligheidsbeeld.testing.odata_stub import (
    BoolOp,
    Compare,
    Fault,
    FilterError,
    Lit,
    Not,
    Prop,
    StubODataServer,
    evaluate_filter,
    filter_records,
    load_frame,
    parse_filter,
)

OVERLAST = "47024NED"
MISDRIJVEN = "47022NED"
PAGE = 1_000


def read_entity(root: Path, table: str, entity: str) -> list[dict]:
    return json.loads((root / table / f"{entity}.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def typed(small_police_snapshot) -> list[dict]:
    return read_entity(small_police_snapshot, OVERLAST, "TypedDataSet")


@pytest.fixture
def server(small_police_snapshot):
    with StubODataServer(small_police_snapshot, page_size=PAGE) as stub:
        yield stub


def get(server: StubODataServer, path: str, **params) -> requests.Response:
    return requests.get(f"{server.base_url}/{path}", params={"$format": "json", **params}, timeout=10)


# ============================================================================================
# $filter
# ============================================================================================

GRID = [{"a": a, "b": b, "c": c} for a, b, c in itertools.product((0, 1, 2), repeat=3)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a eq 1 or b eq 1 and c eq 1", lambda r: r["a"] == 1 or (r["b"] == 1 and r["c"] == 1)),
        ("(a eq 1 or b eq 1) and c eq 1", lambda r: (r["a"] == 1 or r["b"] == 1) and r["c"] == 1),
        ("a eq 1 and b eq 1 or c eq 1", lambda r: (r["a"] == 1 and r["b"] == 1) or r["c"] == 1),
        ("not (a eq 1) and b ge 1", lambda r: r["a"] != 1 and r["b"] >= 1),
        ("not (a eq 1 or b eq 1)", lambda r: not (r["a"] == 1 or r["b"] == 1)),
        ("a gt 0 and a lt 2 or c le 0", lambda r: (0 < r["a"] < 2) or r["c"] <= 0),
        ("a ne 1 and (b eq 2 or (c eq 2 and a eq 0))", lambda r: r["a"] != 1 and (r["b"] == 2 or (r["c"] == 2 and r["a"] == 0))),
        ("1 eq 1", lambda r: True),
        ("a eq -1 or b ge 1.5", lambda r: r["b"] >= 1.5),
    ],
)
def test_filter_known_answers(text, expected):
    assert filter_records(GRID, text) == [r for r in GRID if expected(r)]


def test_filter_precedence_in_the_ast():
    a, b, c = (Compare("eq", Prop(x), Lit(1)) for x in "abc")
    assert parse_filter("a eq 1 or b eq 1 and c eq 1") == BoolOp("or", a, BoolOp("and", b, c))
    assert parse_filter("not (a eq 1) and b eq 1") == BoolOp("and", Not(a), b)
    assert parse_filter("(a eq 1 or b eq 1) and c eq 1") == BoolOp("and", BoolOp("or", a, b), c)


KEYS = [
    {"Key": "GM0153    ", "Title": "Enschede", "n": 5},
    {"Key": "WK015300  ", "Title": "Wijk 00 's-Heerenbergse", "n": None},
    {"Key": "BU01530000", "Title": "O'Brien's buurt", "n": 0},
    {"Key": "1.1.1 ", "Title": "1.1.1 Diefstal/inbraak woning", "n": 12},
]


def keys_of(text: str) -> list[str]:
    return [r["Key"] for r in filter_records(KEYS, text)]


def test_filter_strings_escaping_and_functions():
    assert keys_of("Title eq 'O''Brien''s buurt'") == ["BU01530000"]
    assert keys_of("substringof('''s-', Title)") == ["WK015300  "]
    assert keys_of("substringof('GM0153', Key)") == ["GM0153    "]
    assert keys_of("startswith(Key, 'WK')") == ["WK015300  "]
    assert keys_of("endswith(Key, '0000')") == ["BU01530000"]
    assert keys_of("not substringof('0153', Key)") == ["1.1.1 "]
    # Keys keep their padding: an unpadded literal does not match, trim() does.
    assert keys_of("Key eq 'GM0153'") == []
    assert keys_of("Key eq 'GM0153    '") == ["GM0153    "]
    assert keys_of("trim(Key) eq 'GM0153'") == ["GM0153    "]
    assert keys_of("tolower(Title) eq 'enschede'") == ["GM0153    "]
    assert keys_of("Key eq '1.1.1 ' or Key eq 'BU01530000'") == ["BU01530000", "1.1.1 "]


def test_filter_null_semantics():
    assert keys_of("n eq null") == ["WK015300  "]
    assert keys_of("n ne null") == ["GM0153    ", "BU01530000", "1.1.1 "]
    assert keys_of("n gt 1") == ["GM0153    ", "1.1.1 "]  # null is never greater
    assert keys_of("n ne 5") == ["WK015300  ", "BU01530000", "1.1.1 "]
    assert keys_of("n eq 0") == ["BU01530000"]  # 0 is not null


@pytest.mark.parametrize(
    "text",
    ["Key eq 'open", "Key eq", "and Key eq 'x'", "(Key eq 'x'", "Key eq 'x')", "nosuch(Key)", "Missing eq 1", "Key # 1"],
)
def test_filter_errors(text):
    with pytest.raises(FilterError):
        filter_records(KEYS, text)


def test_arrow_and_json_loaders_agree(small_police_snapshot, tmp_path):
    path = small_police_snapshot / OVERLAST / "TypedDataSet.json"
    fast, slow = load_frame(path, prefer_arrow=True), load_frame(path, prefer_arrow=False)
    assert fast.records is None and slow.records is not None  # the two code paths really ran
    assert fast.n == slow.n
    idx = np.arange(fast.n)
    assert fast.page(idx, None) == slow.page(idx, None)
    for text in [
        "WijkenEnBuurten eq 'GM0177    ' and Perioden eq '2023JJ00'",
        "(Overlast eq 'E33   ' or Overlast eq 'E35   ') and GeregistreerdeOverlast_1 ge 3",
        "GeregistreerdeOverlast_1 eq null or startswith(WijkenEnBuurten, 'NL')",
        "not substringof('MM', Perioden)",
    ]:
        np.testing.assert_array_equal(evaluate_filter(fast, text), evaluate_filter(slow, text))
    # A pretty-printed file (as cbsodata writes it) falls back to json.load with the same rows.
    pretty = tmp_path / "pretty.json"
    pretty.write_text(json.dumps(slow.records[:50], indent=2))
    assert load_frame(pretty, prefer_arrow=True).page(np.arange(50), None) == slow.records[:50]


# ============================================================================================
# Serving through the real clients
# ============================================================================================


def test_table_root_lists_every_entity(server):
    root = get(server, f"ODataFeed/odata/{OVERLAST}/").json()
    names = [v["name"] for v in root["value"]]
    assert names[:5] == ["TableInfos", "UntypedDataSet", "TypedDataSet", "DataProperties", "CategoryGroups"]
    assert set(names) == {"TableInfos", "UntypedDataSet", "TypedDataSet", "DataProperties", "CategoryGroups",
                          "Overlast", "WijkenEnBuurten", "Perioden"}
    assert root["value"][0]["url"] == f"{server.base_url}/ODataFeed/odata/{OVERLAST}/TableInfos"
    assert get(server, "ODataFeed/odata/99999NED/").status_code == 404
    assert get(server, f"ODataFeed/odata/{OVERLAST}/NoSuchEntity").status_code == 404
    assert "odata.error" in get(server, f"ODataApi/odata/{OVERLAST}/NoSuchEntity").json()


def test_cbsodata_get_meta_and_get_data_page_through_nextlink(server, cbsodata_http, typed):
    assert cbsodata_http.get_meta(OVERLAST, "Perioden", catalog_url=server.catalog_url) == read_entity(
        server.snapshot_root, OVERLAST, "Perioden"
    )
    server.reset_counters()
    rows = cbsodata_http.get_data(OVERLAST, catalog_url=server.catalog_url)
    assert [r["ID"] for r in rows] == [r["ID"] for r in typed]
    assert rows[0]["WijkenEnBuurten"] == "Nederland"  # get_data swaps codes for titles
    pages = [u for u in server.requests_log if "/TypedDataSet" in u]
    assert len(pages) == -(-len(typed) // PAGE)
    assert pages[1].endswith(f"$skip={PAGE}") and pages[-1].endswith(f"$skip={PAGE * (len(pages) - 1)}")

    wanted = "WijkenEnBuurten eq 'GM0177    ' and (Overlast eq '0.0.0 ' or Overlast eq 'E33   ')"
    filtered = cbsodata_http.get_data(OVERLAST, catalog_url=server.catalog_url, filters=wanted)
    expected = [r for r in typed if r["WijkenEnBuurten"] == "GM0177    " and r["Overlast"] in ("0.0.0 ", "E33   ")]
    assert [r["ID"] for r in filtered] == [r["ID"] for r in expected]
    assert [r["GeregistreerdeOverlast_1"] for r in filtered] == [r["GeregistreerdeOverlast_1"] for r in expected]


def test_cbsodata_download_data_round_trips(server, cbsodata_http, tmp_path, typed):
    copy = tmp_path / "download" / OVERLAST
    data = cbsodata_http.download_data(OVERLAST, dir=str(copy), catalog_url=server.catalog_url)
    assert set(data) == {"TableInfos", "TypedDataSet", "DataProperties", "CategoryGroups", "Overlast",
                         "WijkenEnBuurten", "Perioden"}
    assert data["TypedDataSet"] == typed
    for entity in ("TableInfos", "DataProperties", "Overlast", "WijkenEnBuurten", "Perioden"):
        assert data[entity] == read_entity(server.snapshot_root, OVERLAST, entity)
    # What cbsodata wrote (pretty-printed JSON) can be served again, with the same answers.
    with StubODataServer(tmp_path / "download", page_size=PAGE) as again:
        assert cbsodata_http.download_data(OVERLAST, catalog_url=again.catalog_url) == data


def test_project_pager_reads_the_stub(server, typed):
    source = CbsApiSource(server.catalog_url, use_https=False, retries=0, timeout_seconds=5)
    row_filter = RowFilter({"WijkenEnBuurten": ("NL00      ", "GM1773    "), "Perioden": ("2023JJ00", "2023MM12")})
    rows = [r for page in source.iter_pages(OVERLAST, row_filter, select=["Overlast", "WijkenEnBuurten",
                                                                          "Perioden", "GeregistreerdeOverlast_1"])
            for r in page]
    expected = [{k: r[k] for k in ("Overlast", "WijkenEnBuurten", "Perioden", "GeregistreerdeOverlast_1")}
                for r in typed if row_filter.matches(r)]
    assert rows == expected
    assert source.entity(OVERLAST, "TableInfos")[0]["Identifier"] == OVERLAST


def test_project_pager_pages_column_wise_over_one_kept_alive_connection(server, typed):
    select = ["Overlast", "WijkenEnBuurten", "Perioden", "GeregistreerdeOverlast_1"]
    source = CbsApiSource(server.catalog_url, use_https=False, retries=0, timeout_seconds=5)
    before = server.connections_accepted
    pages = list(source.iter_pages_arrow(OVERLAST, None, select))
    assert len(pages) > 2 and all(p.arrow is not None for p in pages)
    assert [r for p in pages for r in p.arrow.to_pylist()] == [{k: r[k] for k in select} for r in typed]
    # The body is read in one go; the socket still goes back to the pool and serves every page.
    assert server.connections_accepted - before == 1


def test_query_options(server, typed):
    body = get(server, f"ODataFeed/odata/{OVERLAST}/TypedDataSet", **{
        "$select": "ID,GeregistreerdeOverlast_1", "$skip": "5", "$top": "3", "$inlinecount": "allpages"}).json()
    assert body["value"] == [{"ID": r["ID"], "GeregistreerdeOverlast_1": r["GeregistreerdeOverlast_1"]} for r in typed[5:8]]
    assert body["odata.count"] == str(len(typed)) and "odata.nextLink" not in body
    # $top larger than a page: the feed pages and carries the remaining $top in the nextLink.
    first = get(server, f"ODataFeed/odata/{OVERLAST}/TypedDataSet", **{"$top": str(PAGE + 10)}).json()
    assert len(first["value"]) == PAGE and "$top=10" in first["odata.nextLink"]
    second = requests.get(first["odata.nextLink"], timeout=10).json()
    assert [r["ID"] for r in second["value"]] == [r["ID"] for r in typed[PAGE : PAGE + 10]]
    assert "odata.nextLink" not in second
    assert get(server, f"ODataFeed/odata/{OVERLAST}/TypedDataSet", **{"$select": "Nope"}).status_code == 400
    assert get(server, f"ODataFeed/odata/{OVERLAST}/TypedDataSet", **{"$filter": "Overlast eq"}).status_code == 400
    assert get(server, f"ODataFeed/odata/{OVERLAST}/TypedDataSet", **{"$orderby": "ID"}).status_code == 400


def test_nextlink_carries_the_filter(server):
    text = "substringof('GM', WijkenEnBuurten) or Overlast eq 'E33   '"
    body = get(server, f"ODataFeed/odata/{OVERLAST}/TypedDataSet", **{"$filter": text}).json()
    link = body["odata.nextLink"]
    assert link.startswith(f"{server.base_url}/ODataFeed/odata/{OVERLAST}/TypedDataSet?$format=json&$filter=")
    assert link.endswith(f"&$skip={PAGE}")
    assert server.requests_log[-1].endswith(text)
    requests.get(link, timeout=10).raise_for_status()
    assert server.requests_log[-1].endswith(f"$filter={text}&$skip={PAGE}")


def test_odataapi_refuses_more_than_10000_rows(server, typed):
    assert len(typed) > 10_000
    refused = get(server, f"ODataApi/odata/{OVERLAST}/TypedDataSet")
    assert refused.status_code == 400
    assert "10000" in refused.json()["odata.error"]["message"]["value"]
    assert get(server, f"ODataApi/odata/{OVERLAST}/TypedDataSet", **{"$top": "10001"}).status_code == 400
    full = get(server, f"ODataApi/odata/{OVERLAST}/TypedDataSet", **{"$top": "10000"}).json()
    assert len(full["value"]) == 10_000 and "odata.nextLink" not in full  # the API never pages
    rest = get(server, f"ODataApi/odata/{OVERLAST}/TypedDataSet", **{"$skip": "10000"}).json()
    assert [r["ID"] for r in rest["value"]] == [r["ID"] for r in typed[10_000:]]
    small = get(server, f"ODataApi/odata/{OVERLAST}/TypedDataSet", **{"$filter": "WijkenEnBuurten eq 'NL00      '"})
    assert small.status_code == 200 and len(small.json()["value"]) == 9 * 26


def test_untyped_dataset_is_derived_from_the_typed_one(server, typed):
    rows = get(server, f"ODataFeed/odata/{OVERLAST}/UntypedDataSet", **{"$top": "50000"}).json()["value"]
    assert [r["ID"] for r in rows] == [r["ID"] for r in typed[:PAGE]]
    values = [r["GeregistreerdeOverlast_1"] for r in rows]
    assert all(isinstance(v, str) and len(v) == 8 for v in values)
    assert values[0].strip() == str(typed[0]["GeregistreerdeOverlast_1"])
    nulls = [i for i, r in enumerate(typed) if r["GeregistreerdeOverlast_1"] is None]
    assert nulls, "the snapshot should have suppressed cells"
    page = get(server, f"ODataFeed/odata/{OVERLAST}/UntypedDataSet", **{"$skip": str(nulls[0]), "$top": "1"}).json()
    assert page["value"][0]["GeregistreerdeOverlast_1"] == "       ."


def test_typed_dataset_is_derived_from_an_untyped_file(server, tmp_path, typed):
    table = tmp_path / OVERLAST
    shutil.copytree(server.snapshot_root / OVERLAST, table)
    untyped = get(server, f"ODataApi/odata/{OVERLAST}/UntypedDataSet", **{"$top": "2000"}).json()["value"]
    (table / "TypedDataSet.json").unlink()
    (table / "UntypedDataSet.json").write_text(json.dumps(untyped))
    server.set_snapshot(tmp_path)
    back = get(server, f"ODataApi/odata/{OVERLAST}/TypedDataSet", **{"$top": "2000"}).json()["value"]
    assert back == typed[:2000]


def test_set_snapshot_and_counters(server, tmp_path):
    assert get(server, f"ODataFeed/odata/{OVERLAST}/TableInfos").ok
    assert server.request_count == 1 and server.bytes_sent > 0
    changed = tmp_path / "changed"
    shutil.copytree(server.snapshot_root / OVERLAST, changed / OVERLAST)
    infos = read_entity(changed, OVERLAST, "TableInfos")
    infos[0]["Modified"] = "2030-01-01T00:00:00"
    (changed / OVERLAST / "TableInfos.json").write_text(json.dumps(infos))
    server.set_snapshot(changed)
    server.reset_counters()
    assert server.request_count == 0 and server.bytes_sent == 0 and server.requests_log == []
    assert get(server, f"ODataFeed/odata/{OVERLAST}/TableInfos").json()["value"][0]["Modified"] == "2030-01-01T00:00:00"
    assert get(server, f"ODataFeed/odata/{MISDRIJVEN}/TableInfos").status_code == 404  # not in the new root


def test_latency_and_concurrent_requests(server, typed):
    server.latency = 0.2
    started = time.perf_counter()
    assert get(server, f"ODataFeed/odata/{OVERLAST}/Perioden").ok
    assert time.perf_counter() - started >= 0.2
    server.latency = 0.0
    results: dict[int, list[int]] = {}

    def fetch(skip: int) -> None:
        body = get(server, f"ODataFeed/odata/{OVERLAST}/TypedDataSet", **{"$skip": str(skip)}).json()
        results[skip] = [r["ID"] for r in body["value"]]

    threads = [threading.Thread(target=fetch, args=(k * PAGE,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for skip, ids in results.items():
        assert ids == [r["ID"] for r in typed[skip : skip + PAGE]]


def test_big_table_pages_fast(tmp_path):
    # 600,000 rows in the one-record-per-line layout the synthetic builder writes.
    n = 600_000
    rng = np.random.default_rng(1)
    regions = pa.array([f"BU{i:08d}" for i in range(2_000)])
    ids = pa.array(np.arange(n)).cast(pa.string())
    region = regions.take(pa.array(np.arange(n) % 2_000))
    values = pa.array(rng.poisson(2, n), mask=rng.random(n) < 0.01).cast(pa.string()).fill_null("null")
    lines = pc.binary_join_element_wise('{"ID":', ids, ',"WijkenEnBuurten":"', region, '","Aantal":', values, "}", "")
    table_dir = tmp_path / "99999NED"
    table_dir.mkdir()
    (table_dir / "TypedDataSet.json").write_text("[\n" + ",\n".join(lines.to_pylist()) + "\n]\n")
    (table_dir / "TableInfos.json").write_text(json.dumps([{"Identifier": "99999NED"}]))
    with StubODataServer(tmp_path) as stub:
        text = "startswith(WijkenEnBuurten, 'BU00000') and Aantal ge 1"
        url = f"{stub.base_url}/ODataFeed/odata/99999NED/TypedDataSet"
        first = requests.get(url, params={"$format": "json", "$filter": text}, timeout=60).json()  # loads once
        assert len(first["value"]) == 10_000
        timings = []
        link = first["odata.nextLink"]
        for _ in range(3):
            started = time.perf_counter()
            page = requests.get(link, timeout=10).json()
            timings.append(time.perf_counter() - started)
            link = page["odata.nextLink"]
        assert len(page["value"]) == 10_000
        assert all(r["Aantal"] >= 1 and r["WijkenEnBuurten"].startswith("BU00000")
                   for r in page["value"])
        assert max(timings) < 0.5, timings


# ============================================================================================
# Faults
# ============================================================================================


def test_status_fault_with_skip_times_and_retry_after(server):
    server.set_faults([Fault(kind="status", status=429, retry_after="7", match="Perioden", skip=1, times=2)])
    codes = [get(server, f"ODataFeed/odata/{OVERLAST}/Perioden") for _ in range(4)]
    assert [r.status_code for r in codes] == [200, 429, 429, 200]
    assert codes[1].headers["Retry-After"] == "7" and "odata.error" in codes[1].json()
    assert get(server, f"ODataFeed/odata/{OVERLAST}/TableInfos").ok  # not matched
    assert [f.kind for f in server.faults_log] == ["status", "status"]
    server.set_faults([Fault(kind="status", status=500, times=-1)])
    assert all(get(server, f"ODataFeed/odata/{OVERLAST}/").status_code == 500 for _ in range(3))


def test_slow_fault_triggers_client_timeout(server):
    server.set_faults([Fault(kind="slow", seconds=3, match="TableInfos")])
    with pytest.raises(requests.Timeout):
        requests.get(f"{server.base_url}/ODataFeed/odata/{OVERLAST}/TableInfos?$format=json", timeout=0.3)
    assert get(server, f"ODataFeed/odata/{OVERLAST}/TableInfos").ok  # times=1: the next one is fast


def test_drop_fault_breaks_the_connection_mid_body(server):
    server.set_faults([Fault(kind="drop", match="TypedDataSet", fraction=0.3)])
    with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.ConnectionError)):
        get(server, f"ODataFeed/odata/{OVERLAST}/TypedDataSet")
    assert len(get(server, f"ODataFeed/odata/{OVERLAST}/TypedDataSet").json()["value"]) == PAGE


def test_truncate_and_invalid_json_faults(server):
    server.set_faults([Fault(kind="truncate", match="TypedDataSet"), Fault(kind="invalid_json", match="Perioden")])
    cut = get(server, f"ODataFeed/odata/{OVERLAST}/TypedDataSet")
    assert cut.status_code == 200 and int(cut.headers["Content-Length"]) == len(cut.content)
    with pytest.raises(json.JSONDecodeError):
        json.loads(cut.content)
    bad = get(server, f"ODataFeed/odata/{OVERLAST}/Perioden")
    assert bad.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(bad.content)


def test_nextlink_faults(server, cbsodata_http):
    server.set_faults([Fault(kind="loop_nextlink", match="TypedDataSet"),
                       Fault(kind="foreign_nextlink", match="TypedDataSet", skip=1)])
    first = get(server, f"ODataFeed/odata/{OVERLAST}/TypedDataSet", **{"$filter": "Overlast eq 'E33   '"})
    assert first.json()["odata.nextLink"] == first.url
    foreign = get(server, f"ODataFeed/odata/{OVERLAST}/TypedDataSet").json()["odata.nextLink"]
    assert urlsplit(foreign).path == f"/ODataFeed/odata/{MISDRIJVEN}/TypedDataSet"
    # Our pager refuses both; it does not loop forever.
    source = CbsApiSource(server.catalog_url, use_https=False, retries=0, timeout_seconds=5)
    from veiligheidsbeeld.errors import SourceError

    for fault in (Fault(kind="loop_nextlink", times=-1), Fault(kind="foreign_nextlink")):
        server.set_faults([fault])
        with pytest.raises(SourceError, match="nextLink"):
            list(source.iter_pages(OVERLAST))


def test_stop_does_not_wait_for_slow_requests(small_police_snapshot):
    stub = StubODataServer(small_police_snapshot, faults=[Fault(kind="slow", seconds=30)]).start()
    base_url = stub.base_url
    errors: list[BaseException] = []

    def call() -> None:
        try:
            requests.get(f"{stub.base_url}/ODataFeed/odata/{OVERLAST}/TableInfos", timeout=20)
        except requests.RequestException as exc:
            errors.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    time.sleep(0.2)
    started = time.perf_counter()
    stub.stop()
    caller.join(timeout=5)
    assert time.perf_counter() - started < 3 and not caller.is_alive()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{base_url}/ODataFeed/odata/{OVERLAST}/", timeout=2)


def test_fault_validation():
    with pytest.raises(ValueError):
        Fault(kind="explode")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Fault(kind="drop", fraction=1.5)


def test_command_line_serves_a_directory(small_police_snapshot):
    proc = subprocess.Popen(
        [sys.executable, "-m", "veiligheidsbeeld.testing.odata_stub", str(small_police_snapshot), "--page-size", "7"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        base = line.split(" at ")[1].strip()
        body = requests.get(f"{base}/ODataFeed/odata/{OVERLAST}/TypedDataSet?$format=json", timeout=10).json()
        assert len(body["value"]) == 7 and "odata.nextLink" in body
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_selected_rows_through_postings_equal_a_full_pass():
    # A big frame's few selected regions come from the column's postings (an index); the rows must
    # be exactly those of a pass over all rows, in ascending order.
    from veiligheidsbeeld.testing.odata_stub import _POSTINGS_MIN_ROWS, _CatMask, _selected_rows

    rng = np.random.default_rng(7)
    n_cats = 700
    codes = rng.integers(0, n_cats, _POSTINGS_MIN_ROWS + 1234).astype(np.int16)
    for picked in ([3], [0, 699], sorted(rng.choice(n_cats, 40, replace=False).tolist()), []):
        catbool = np.zeros(n_cats, dtype=bool)
        catbool[picked] = True
        mask = _CatMask(codes, catbool, False)
        got = _selected_rows(mask)
        assert got.dtype == np.int64
        assert np.array_equal(got, np.flatnonzero(mask.rows())), picked
