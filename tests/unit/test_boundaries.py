"""Boundaries: the real shared TopoJSON files, other local formats, and the PDOK WFS path
against a local stand-in server (paging, cache, provenance)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import geopandas as gpd
import pytest

from veiligheidsbeeld import regions as R
from veiligheidsbeeld.errors import ConfigError, SourceError
from veiligheidsbeeld.sources import boundaries as B

ON_DISTRICTS = ("VR04", "VR05", "VR06", "VR07", "VR08")


@pytest.fixture(scope="module")
def geo(shared_dir: Path) -> Path:
    return shared_dir / "data" / "geo"


@pytest.fixture(scope="module")
def gemeenten_2023(geo: Path) -> gpd.GeoDataFrame:
    return B.read_boundaries_file(geo / "gemeente_2023.topojson")


@pytest.fixture(scope="module")
def table():
    return R.load_district_table()


def test_shared_topojson_comes_out_in_rd_new(gemeenten_2023: gpd.GeoDataFrame) -> None:
    g = gemeenten_2023
    assert g.crs.to_epsg() == 28992
    assert list(g.columns) == list(B.BOUNDARY_COLUMNS)
    assert len(g) == 342 and g["region_code"].is_unique
    assert set(g["layout_year"]) == {2023} and set(g["level"]) == {"gemeente"}
    assert g.geometry.is_valid.all() and set(g.geom_type) <= {"Polygon", "MultiPolygon"}
    minx, miny, maxx, maxy = g.total_bounds  # the Netherlands in RD New metres
    assert 0 < minx < 20_000 and 300_000 < miny < 320_000 and 270_000 < maxx < 290_000 and 610_000 < maxy < 630_000
    enschede = g.set_index("region_code").loc["GM0153"]
    assert enschede["region_name"] == "Enschede"
    assert 130e6 < enschede.geometry.area < 150e6  # about 141 km2


def test_oost_nederland_boundaries_match_the_district_table(tmp_path: Path, geo: Path, table) -> None:
    on = B.get_boundaries("gemeente", 2023, tmp_path, local_path=geo / "gemeente_2023.topojson", gemeente_codes=table["gemeente_code"])
    assert len(on) == 76 and on.crs.to_epsg() == 28992
    assert not (tmp_path / "boundaries").exists()  # a local file is read, nothing fetched or cached
    assert dict(zip(on["region_code"], on["region_name"])) == dict(zip(table["gemeente_code"], table["gemeente_naam"]))


def test_districts_cover_the_real_veiligheidsregio_boundaries(gemeenten_2023, table, geo: Path) -> None:
    vr = B.read_boundaries_file(geo / "veiligheidsregio_2023.topojson", "veiligheidsregio")
    assert len(vr) == 25 and vr.crs.to_epsg() == 28992
    merged = gemeenten_2023.merge(table[["gemeente_code", "district_code"]], left_on="region_code", right_on="gemeente_code")
    dissolved = merged.dissolve(by="district_code").geometry
    for code in ON_DISTRICTS:
        shape = vr.set_index("region_code").geometry[code]
        overlap = dissolved[code].intersection(shape).area
        assert overlap / shape.area > 0.98 and overlap / dissolved[code].area > 0.98, code


def test_2015_layout_has_79_oost_nederland_gemeenten(geo: Path, table) -> None:
    g15 = B.read_boundaries_file(geo / "gemeente_2015.topojson")
    assert len(g15) == 393 and set(g15["layout_year"]) == {2015} and g15.crs.to_epsg() == 28992
    old_codes = R.district_table_in_layout(table, 2015)["gemeente_code"]
    on_2015 = g15[g15["region_code"].isin(old_codes)]
    assert len(on_2015) == 79
    # The GM0820 spelling of the 2015 source is kept as it is.
    assert g15.set_index("region_code").at["GM0820", "region_name"] == "Nuenen. Gerwen en Nederwetten"


def test_other_formats_and_crs_handling(tmp_path: Path, gemeenten_2023) -> None:
    sample = gemeenten_2023.head(5)
    # GeoPackage in WGS84 with other column names.
    gpkg = tmp_path / "gemeenten_2023.gpkg"
    sample.rename(columns={"region_code": "gemeentecode", "region_name": "gemeentenaam"})[["gemeentecode", "gemeentenaam", "geometry"]].to_crs(4326).to_file(gpkg, layer="gemeenten")
    read = B.read_boundaries_file(gpkg, "gemeente", layer="gemeenten")
    assert read.crs.to_epsg() == 28992 and read["region_code"].tolist() == sample["region_code"].tolist()
    assert abs(read.geometry.area.sum() / sample.geometry.area.sum() - 1) < 1e-3
    # GeoJSON in RD coordinates without a CRS member: recognised from the coordinates.
    plain = json.loads(sample[["region_code", "geometry"]].to_json(drop_id=True))
    plain.pop("crs", None)
    path = tmp_path / "rd_zonder_crs.geojson"
    path.write_text(json.dumps(plain), encoding="utf-8")
    read = B.read_boundaries_file(path, "gemeente", 2023)
    assert read.crs.to_epsg() == 28992
    assert abs(read.geometry.area.sum() / sample.geometry.area.sum() - 1) < 1e-9
    with pytest.raises(ConfigError, match="indelingsjaar"):
        B.read_boundaries_file(path, "gemeente")
    with pytest.raises(ConfigError, match="bestaat niet"):
        B.read_boundaries_file(tmp_path / "nope.geojson", "gemeente", 2023)
    with pytest.raises(ConfigError, match="Onbekend niveau"):
        B.read_boundaries_file(path, "provincie", 2023)


# --------------------------------------------------------------------------------------------
# PDOK WFS path against a local stand-in
# --------------------------------------------------------------------------------------------


class _Wfs:
    def __init__(self, features: list[dict], fail: bool = False) -> None:
        self.features = features
        self.fail = fail
        self.requests: list[dict[str, list[str]]] = []


@pytest.fixture()
def wfs(gemeenten_2023) -> Iterator[tuple[str, _Wfs]]:
    data = json.loads(gemeenten_2023.rename(columns={"region_code": "statcode", "region_name": "statnaam"})[["statcode", "statnaam", "geometry"]].to_json(drop_id=True))
    state = _Wfs(data["features"])

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            url = urlsplit(self.path)
            params = parse_qs(url.query)
            state.requests.append(params)
            if state.fail or url.path != "/cbs/gebiedsindelingen/2023/wfs/v1_0":
                self.send_response(500 if state.fail else 404)
                self.end_headers()
                self.wfile.write(b"ServiceException")
                return
            start, count = int(params["startIndex"][0]), int(params["count"][0])
            page = state.features[start : start + count]
            body = json.dumps({"type": "FeatureCollection", "numberReturned": len(page), "features": page}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/cbs", state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_wfs_fetch_pages_caches_and_records_provenance(tmp_path: Path, wfs, table) -> None:
    base, state = wfs
    raw = tmp_path / "raw"
    gdf = B.get_boundaries("gemeente", 2023, raw, base_url=base, gemeente_codes=table["gemeente_code"])
    assert len(gdf) == 76 and gdf.crs.to_epsg() == 28992
    assert len(state.requests) == 1  # 342 features fit one page of 1000
    first = state.requests[0]
    assert first["typeNames"] == ["gebiedsindelingen:gemeente_gegeneraliseerd"]
    assert first["srsName"] == ["EPSG:28992"] and first["outputFormat"] == ["application/json"]
    data_path, prov_path = B.cache_paths(raw, "gemeente", 2023)
    assert data_path == raw / "boundaries" / "2023" / "gemeente.parquet" and data_path.is_file()
    prov = B.provenance(raw, "gemeente", 2023)
    assert prov is not None and prov["features"] == 342 and prov["url"] == f"{base}/gebiedsindelingen/2023/wfs/v1_0"
    assert not list(raw.rglob("*.tmp"))
    # From the cache now: no request.
    again = B.get_boundaries("gemeente", 2023, raw, base_url=base)
    assert len(again) == 342 and len(state.requests) == 1
    # A refresh pages through the service.
    B.fetch_boundaries("gemeente", 2023, raw, base_url=base, page_size=100)
    starts = [int(r["startIndex"][0]) for r in state.requests[1:]]
    assert starts == [0, 100, 200, 300]


def test_wfs_errors_are_reported(tmp_path: Path, wfs) -> None:
    base, state = wfs
    state.fail = True
    with pytest.raises(SourceError, match="HTTP 500"):
        B.get_boundaries("gemeente", 2023, tmp_path, base_url=base)
    assert not B.cache_paths(tmp_path, "gemeente", 2023)[0].exists()
    assert B.wfs_url("buurt", 2023) == "https://service.pdok.nl/cbs/wijkenbuurten/2023/wfs/v1_0"
    assert B.LAYERS["buurt"].type_name == "wijkenbuurten:buurten"
