"""Boundaries of gemeenten, wijken and buurten for one layout year, always in RD New (EPSG:28992).

Live source: PDOK's WFS services of CBS (public, no key):

* gemeenten (and veiligheidsregio's), generalised: "CBS Gebiedsindelingen"
  ``https://service.pdok.nl/cbs/gebiedsindelingen/<year>/wfs/v1_0``, feature types
  ``gebiedsindelingen:gemeente_gegeneraliseerd`` (properties ``statcode``, ``statnaam``);
* wijken and buurten: "CBS Wijken en Buurten"
  ``https://service.pdok.nl/cbs/wijkenbuurten/<year>/wfs/v1_0``, feature types
  ``wijkenbuurten:wijken`` / ``wijkenbuurten:buurten`` (properties ``wijkcode``/``wijknaam``,
  ``buurtcode``/``buurtnaam``, ``gemeentecode``). The same data is offered as GeoPackage under
  ``https://service.pdok.nl/cbs/wijkenbuurten/<year>/atom/downloads/wijkenbuurten_<year>.gpkg``
  (the file name has carried a version suffix in some years, e.g. ``_v3`` for 2020); a
  downloaded GeoPackage can be read with :func:`read_boundaries_file`.

The service URLs, feature type and property names are confirmed by public clients of PDOK;
``veiligheidsregio_gegeneraliseerd`` is inferred from the layer list that public builds of these
boundaries derive from, not confirmed directly. Features are requested in EPSG:28992 and paged
with ``count``/``startIndex`` (WFS 2.0).

A fetched layer is cached under ``data/raw/boundaries/<year>/<level>.parquet`` (GeoParquet)
with ``<level>.provenance.json``, both written atomically. Offline, any GeoJSON, TopoJSON or
GeoPackage file can be read instead; TopoJSON carries no CRS and is taken as WGS84 (EPSG:4326).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import pandas as pd
import requests
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from veiligheidsbeeld.errors import ConfigError, SchemaDriftError, SourceError, SourceUnavailableError
from veiligheidsbeeld.files import atomic_path, atomic_write_json

log = logging.getLogger(__name__)

RD_NEW = "EPSG:28992"
WGS84 = "EPSG:4326"
RAW_SUBDIR = "boundaries"
PDOK_BASE = "https://service.pdok.nl/cbs"

Level = Literal["gemeente", "wijk", "buurt", "veiligheidsregio"]
BOUNDARY_COLUMNS: tuple[str, ...] = ("region_code", "region_name", "level", "gemeente_code", "layout_year", "geometry")


@dataclass(frozen=True)
class WfsLayer:
    service: str  # 'gebiedsindelingen' or 'wijkenbuurten'
    type_name: str
    code_property: str
    name_property: str
    code_prefix: str


LAYERS: dict[str, WfsLayer] = {
    "gemeente": WfsLayer("gebiedsindelingen", "gebiedsindelingen:gemeente_gegeneraliseerd", "statcode", "statnaam", "GM"),
    "veiligheidsregio": WfsLayer(
        "gebiedsindelingen", "gebiedsindelingen:veiligheidsregio_gegeneraliseerd", "statcode", "statnaam", "VR"
    ),
    "wijk": WfsLayer("wijkenbuurten", "wijkenbuurten:wijken", "wijkcode", "wijknaam", "WK"),
    "buurt": WfsLayer("wijkenbuurten", "wijkenbuurten:buurten", "buurtcode", "buurtnaam", "BU"),
}

#: Property names that may hold the code / name, per level, for files from other publishers.
CODE_CANDIDATES: dict[str, tuple[str, ...]] = {
    "gemeente": ("statcode", "gemeentecode", "GM_CODE", "region_code", "code"),
    "veiligheidsregio": ("statcode", "VR_CODE", "region_code", "code"),
    "wijk": ("wijkcode", "statcode", "WK_CODE", "region_code", "code"),
    "buurt": ("buurtcode", "statcode", "BU_CODE", "region_code", "code"),
}
NAME_CANDIDATES: dict[str, tuple[str, ...]] = {
    "gemeente": ("statnaam", "gemeentenaam", "GM_NAAM", "region_name", "naam", "name"),
    "veiligheidsregio": ("statnaam", "VR_NAAM", "region_name", "naam", "name"),
    "wijk": ("wijknaam", "statnaam", "WK_NAAM", "region_name", "naam", "name"),
    "buurt": ("buurtnaam", "statnaam", "BU_NAAM", "region_name", "naam", "name"),
}


def _check_level(level: str) -> WfsLayer:
    try:
        return LAYERS[level]
    except KeyError:
        raise ConfigError(f"Onbekend niveau '{level}'. Geldig: {', '.join(LAYERS)}.") from None


def wfs_url(level: str, year: int, base: str = PDOK_BASE) -> str:
    layer = _check_level(level)
    return f"{base.rstrip('/')}/{layer.service}/{int(year)}/wfs/v1_0"


# --------------------------------------------------------------------------------------------
# Standardising any boundary frame
# --------------------------------------------------------------------------------------------


def _pick(columns: Iterable[str], candidates: tuple[str, ...]) -> str | None:
    lower = {c.lower(): c for c in columns}
    for cand in candidates:
        if cand.lower() in lower:
            return lower[cand.lower()]
    return None


def _looks_like_lonlat(frame: gpd.GeoDataFrame) -> bool:
    minx, miny, maxx, maxy = frame.total_bounds
    return -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90


def _looks_like_rd(frame: gpd.GeoDataFrame) -> bool:
    minx, miny, maxx, maxy = frame.total_bounds
    return -10_000 <= minx <= maxx <= 300_000 and 280_000 <= miny <= maxy <= 640_000


def standardise(
    frame: gpd.GeoDataFrame,
    level: str,
    layout_year: int,
    *,
    source: str,
    code_column: str | None = None,
    name_column: str | None = None,
    assume_crs: str | None = None,
) -> gpd.GeoDataFrame:
    """Columns :data:`BOUNDARY_COLUMNS`, valid geometries, CRS EPSG:28992."""
    layer = _check_level(level)
    if frame.empty:
        raise SourceError(f"{source} bevat geen {level}grenzen.")
    code_col = code_column or _pick(frame.columns, CODE_CANDIDATES[level])
    name_col = name_column or _pick(frame.columns, NAME_CANDIDATES[level])
    if code_col is None or code_col not in frame.columns:
        raise SchemaDriftError(
            f"{source}: geen kolom met de {level}code gevonden (gezocht: {', '.join(CODE_CANDIDATES[level])}); "
            f"kolommen: {', '.join(map(str, frame.columns))}."
        )
    if frame.crs is not None and frame.crs.is_geographic and not _looks_like_lonlat(frame) and _looks_like_rd(frame):
        # GeoJSON without a "crs" member is read as WGS84 (RFC 7946), but RD files exist too
        # (e.g. the rd/ variants of public boundary sets); their metre coordinates give them away.
        log.warning("%s: coördinaten in meters (RD New) in een bestand zonder CRS; gelezen als EPSG:28992", source)
        frame = frame.set_crs(RD_NEW, allow_override=True)
    if frame.crs is None:
        crs = assume_crs or (WGS84 if _looks_like_lonlat(frame) else RD_NEW if _looks_like_rd(frame) else None)
        if crs is None:
            raise SourceError(f"{source} heeft geen coördinatenstelsel en het is niet af te leiden uit de coördinaten.")
        frame = frame.set_crs(crs)
    codes = frame[code_col].astype(str).str.strip().str.upper()
    keep = codes.str.startswith(layer.code_prefix)
    if not keep.any():
        raise SchemaDriftError(f"{source}: kolom {code_col} bevat geen {layer.code_prefix}-codes.")
    frame = frame.loc[keep]
    codes = codes[keep]
    names = frame[name_col].astype(str).str.strip() if name_col else codes
    gemeente_col = _pick(frame.columns, ("gemeentecode", "GM_CODE"))
    if level == "gemeente":
        gemeenten = codes
    elif gemeente_col is not None and level != "veiligheidsregio":
        gemeenten = frame[gemeente_col].astype(str).str.strip().str.upper()
    elif level in ("wijk", "buurt"):
        gemeenten = "GM" + codes.str[2:6]
    else:
        gemeenten = pd.Series(pd.NA, index=frame.index, dtype="string")
    geometry = frame.geometry
    out = gpd.GeoDataFrame(
        {
            "region_code": codes.to_numpy(),
            "region_name": names.to_numpy(),
            "level": level,
            "gemeente_code": pd.Series(gemeenten).to_numpy(),
            "layout_year": int(layout_year),
        },
        geometry=geometry.to_numpy(),
        crs=frame.crs,
    ).to_crs(RD_NEW)
    # Simplified boundaries (and reprojection) leave some self-intersections; repair them once here.
    invalid = ~out.geometry.is_valid
    if invalid.any():
        out.loc[invalid, "geometry"] = [_repair(g) for g in out.geometry[invalid]]
    if out["region_code"].duplicated().any():
        # Multi-part areas split over several features: one row per region.
        out = out.dissolve(by=["region_code", "region_name", "level", "gemeente_code", "layout_year"], as_index=False)
    out = out.loc[:, list(BOUNDARY_COLUMNS)]
    return out.sort_values("region_code").reset_index(drop=True)


def _repair(geometry: BaseGeometry) -> BaseGeometry:
    """A valid polygonal geometry for an invalid one (lines and points left by repair dropped)."""
    try:
        fixed = shapely.make_valid(geometry, method="structure", keep_collapsed=False)
    except shapely.errors.GEOSException:
        fixed = shapely.make_valid(geometry)
    if isinstance(fixed, (Polygon, MultiPolygon)):
        return fixed
    parts = [p for p in shapely.get_parts(fixed) if isinstance(p, (Polygon, MultiPolygon))]
    return shapely.union_all(parts) if parts else fixed


def read_boundaries_file(
    path: str | Path,
    level: str = "gemeente",
    layout_year: int | None = None,
    *,
    layer: str | None = None,
    code_column: str | None = None,
    name_column: str | None = None,
) -> gpd.GeoDataFrame:
    """Boundaries from a local GeoJSON, TopoJSON or GeoPackage, in EPSG:28992.

    ``layout_year`` defaults to the four-digit year in the file name (``gemeente_2015.topojson``).
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"Grenzenbestand '{path}' bestaat niet.")
    if layout_year is None:
        m = re.search(r"(19|20)\d{2}", path.stem)
        if not m:
            raise ConfigError(f"Geef het indelingsjaar op: het staat niet in de bestandsnaam '{path.name}'.")
        layout_year = int(m.group(0))
    try:
        frame = gpd.read_file(path, layer=layer) if layer else gpd.read_file(path)
    except Exception as exc:  # noqa: BLE001 - pyogrio raises several types; all mean "unreadable"
        raise SourceError(f"Grenzenbestand '{path}' kan niet worden gelezen: {exc}") from exc
    assume = WGS84 if _is_topojson(path) else None
    if assume is not None:
        frame = frame.set_crs(WGS84, allow_override=True)
    return standardise(
        frame, level, layout_year, source=str(path), code_column=code_column, name_column=name_column, assume_crs=assume
    )


def _is_topojson(path: Path) -> bool:
    if path.suffix.lower() == ".topojson":
        return True
    if path.suffix.lower() != ".json":
        return False
    with open(path, "rb") as fh:
        head = fh.read(200).decode("utf-8", "ignore").replace(" ", "")
    return '"type":"Topology"' in head


# --------------------------------------------------------------------------------------------
# PDOK WFS with cache
# --------------------------------------------------------------------------------------------


def cache_paths(raw_root: Path, level: str, year: int) -> tuple[Path, Path]:
    _check_level(level)
    directory = Path(raw_root) / RAW_SUBDIR / str(int(year))
    return directory / f"{level}.parquet", directory / f"{level}.provenance.json"


def fetch_wfs_features(
    url: str,
    type_name: str,
    *,
    page_size: int = 1000,
    timeout: float = 120.0,
    session: requests.Session | None = None,
    max_pages: int = 1000,
) -> list[dict[str, Any]]:
    """All GeoJSON features of a WFS 2.0 feature type, paged with count/startIndex, in EPSG:28992."""
    session = session or requests.Session()
    features: list[dict[str, Any]] = []
    for page in range(max_pages):
        params = {
            "service": "WFS",
            "version": "2.0.0",
            "request": "GetFeature",
            "typeNames": type_name,
            "outputFormat": "application/json",
            "srsName": RD_NEW,
            "count": str(page_size),
            "startIndex": str(page * page_size),
        }
        what = f"{type_name} (pagina {page + 1}) van {url}"
        try:
            response = session.get(url, params=params, timeout=timeout)
        except requests.ConnectionError as exc:
            raise SourceUnavailableError(
                f"PDOK is niet bereikbaar bij het ophalen van {what}: {exc}. "
                "Gebruik een lokaal grenzenbestand (GeoJSON, TopoJSON of GeoPackage)."
            ) from exc
        except requests.Timeout as exc:
            raise SourceError(f"Time-out bij het ophalen van {what}.") from exc
        if response.status_code != 200:
            raise SourceError(f"{what}: HTTP {response.status_code}: {response.text[:200]}")
        try:
            data = response.json()
        except ValueError as exc:
            raise SourceError(f"{what}: antwoord is geen GeoJSON ({response.text[:120]!r}).") from exc
        batch = data.get("features")
        if not isinstance(batch, list):
            raise SourceError(f"{what}: antwoord heeft geen 'features'-lijst.")
        features.extend(batch)
        if len(batch) < page_size:
            return features
    raise SourceError(f"{type_name} van {url}: meer dan {max_pages} pagina's; afgebroken.")


def fetch_boundaries(
    level: str,
    year: int,
    raw_root: Path,
    *,
    base_url: str = PDOK_BASE,
    page_size: int = 1000,
    session: requests.Session | None = None,
) -> gpd.GeoDataFrame:
    """Fetch a layer from PDOK and cache it (GeoParquet + provenance) under data/raw/boundaries/<year>/."""
    layer = _check_level(level)
    url = wfs_url(level, year, base_url)
    fetched_at = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    features = fetch_wfs_features(url, layer.type_name, page_size=page_size, session=session)
    if not features:
        raise SourceError(f"PDOK levert geen {level}grenzen voor {year} ({url}, {layer.type_name}).")
    frame = gpd.GeoDataFrame.from_features(features, crs=RD_NEW)
    gdf = standardise(frame, level, year, source=f"{url} ({layer.type_name})")
    data_path, prov_path = cache_paths(raw_root, level, year)
    with atomic_path(data_path) as tmp:
        gdf.to_parquet(tmp, index=False)
    atomic_write_json(
        prov_path,
        {
            "level": level,
            "layout_year": int(year),
            "url": url,
            "type_name": layer.type_name,
            "srs_requested": RD_NEW,
            "features": len(features),
            "regions": int(len(gdf)),
            "fetched_at": fetched_at,
            "file": data_path.name,
        },
    )
    return gdf


def get_boundaries(
    level: str,
    year: int,
    raw_root: Path,
    *,
    local_path: str | Path | None = None,
    gemeente_codes: Iterable[str] | None = None,
    refresh: bool = False,
    base_url: str = PDOK_BASE,
    session: requests.Session | None = None,
) -> gpd.GeoDataFrame:
    """Boundaries of ``level`` in layout ``year``: from ``local_path`` if given, else the cache,
    else PDOK. Optionally only those of (or inside) ``gemeente_codes``. Always EPSG:28992."""
    if local_path is not None:
        gdf = read_boundaries_file(local_path, level, year)
    else:
        data_path, _ = cache_paths(raw_root, level, year)
        if data_path.is_file() and not refresh:
            try:
                gdf = gpd.read_parquet(data_path)
            except Exception as exc:  # noqa: BLE001
                raise SourceError(f"Grenzencache {data_path} is beschadigd ({exc}); haal opnieuw op met refresh.") from exc
        else:
            gdf = fetch_boundaries(level, year, raw_root, base_url=base_url, session=session)
    if gemeente_codes is not None:
        wanted = {str(c).strip().upper() for c in gemeente_codes}
        gdf = gdf[gdf["gemeente_code"].isin(wanted)].reset_index(drop=True)
    if gdf.crs is None or gdf.crs.to_epsg() != 28992:
        gdf = gdf.to_crs(RD_NEW)
    return gdf


def provenance(raw_root: Path, level: str, year: int) -> dict[str, Any] | None:
    _, prov_path = cache_paths(raw_root, level, year)
    return json.loads(prov_path.read_text(encoding="utf-8")) if prov_path.is_file() else None
