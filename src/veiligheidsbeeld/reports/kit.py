"""The report kit: what every report product shares (the biweekly report, the annual analysis,
the overlast target monitor).

* **Files**: :func:`publish` is the one way a report puts a file on disk (HTML, PDF, CSV, JSON,
  PNG); the Excel writer and the stamps go through the same atomic writer of
  :mod:`veiligheidsbeeld.files`, so every file of a report is written atomically and gets the same
  shared mode (``0o666 & ~umask``). :func:`safe_path` keeps every name inside the report folder;
  :func:`write_tables` writes the CSV tables and the workbook, :func:`write_pdf` the PDF.
* **Templates**: the jinja environment with the Dutch number filters (:func:`render_template`);
  the templates and stylesheets are in ``reports/templates/``.
* **Table cells**: numbers to Dutch text (:func:`change_view`, :func:`fmt_p`, :func:`records`).
* **Geography**: the boundaries the maps draw (:func:`read_geography`; the SQL is in
  :mod:`veiligheidsbeeld.warehouse.geography`).

The chart style and the drawing are in :mod:`veiligheidsbeeld.reports.charts` and
:mod:`veiligheidsbeeld.reports.maps`; charts draw what the analysis returns.
"""

from __future__ import annotations

import base64
import gc
import logging
import math
import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import geopandas as gpd
import jinja2
import numpy as np
import pandas as pd
from babel.dates import format_date
from matplotlib.figure import Figure

from veiligheidsbeeld.errors import ConfigError
from veiligheidsbeeld.files import atomic_write_bytes, csv_text, ensure_dir, write_xlsx
from veiligheidsbeeld.formatting import fmt_date, fmt_int, fmt_month, fmt_num, fmt_pct, fmt_signed_int
from veiligheidsbeeld.reports import charts
from veiligheidsbeeld.reports.pdf_images import png_passthrough

#: The folder of a report's CSV tables, beside its pages.
TABLES_DIR = "tabellen"
#: A percentage next to a count only when the previous count is at least this (smaller bases
#: give percentages such as +200% for 1 → 3).
MIN_BASE_FOR_PCT = 10


# --------------------------------------------------------------------------------------------
# Safe names and files
# --------------------------------------------------------------------------------------------


def slugify(text: str, fallback: str = "rapport") -> str:
    """A safe, readable file name part: "'s-Hertogenbosch" -> "s-hertogenbosch",
    "Súdwest-Fryslân" -> "sudwest-fryslan", "Noord- en Oost-Gelderland" -> "noord-en-oost-gelderland"."""
    plain = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode("ascii").lower()
    slug = re.sub(r"[^a-z0-9]+", "-", plain).strip("-")
    slug = re.sub(r"-{2,}", "-", slug)[:80].strip("-")
    return slug or fallback


def safe_path(out_dir: Path, filename: str) -> Path:
    """``out_dir / filename``, refusing anything that would land outside ``out_dir``."""
    root = Path(out_dir).resolve()
    target = (root / filename).resolve()
    if not target.is_relative_to(root) or target == root:
        raise ConfigError(f"Bestandsnaam '{filename}' valt buiten de uitvoermap {root}.")
    return target


def publish(path: Path, data: bytes | str) -> Path:
    """Write one report file: atomically (a reader or a crashed run never sees half a page) and
    with the shared mode of every report file (the umask's, see :mod:`veiligheidsbeeld.files`).
    Text is written as UTF-8."""
    return atomic_write_bytes(path, data.encode("utf-8") if isinstance(data, str) else data)


def publish_csv(frame: pd.DataFrame, path: Path) -> Path:
    """A table as CSV (comma, decimal point, UTF-8; text cells spreadsheet-safe)."""
    return publish(path, csv_text(frame))


def write_tables(
    tables: Mapping[str, pd.DataFrame],
    explanation: pd.DataFrame,
    out_dir: Path,
    slug: str,
    *,
    synthetic: bool,
    vintage: str,
) -> list[Path]:
    """Each table as CSV (``tabellen/<slug>_<tabel>.csv``) and all in ``<slug>.xlsx`` (first sheet:
    toelichting). CSV: comma-separated, decimal point, UTF-8; every row carries ``versie`` and
    ``synthetisch`` so a file on its own still says what it is."""
    written = []
    tables_dir = safe_path(out_dir, TABLES_DIR)
    ensure_dir(tables_dir, "tabellenmap")
    for name, frame in tables.items():
        frame = frame.assign(versie=vintage, synthetisch=synthetic)
        written.append(publish_csv(frame, safe_path(tables_dir, f"{slug}_{name}.csv")))
    xlsx = safe_path(out_dir, f"{slug}.xlsx")
    sheets = {
        "toelichting": explanation,
        **{name: frame.assign(versie=vintage, synthetisch=synthetic) for name, frame in tables.items()},
    }
    # The workbook writer needs a file name: it writes through the same atomic path as publish.
    written.append(write_xlsx(sheets, xlsx))
    return written


#: An embedded chart in the HTML (see :func:`data_uri`).
_DATA_PNG = re.compile(r"data:image/png;base64,([A-Za-z0-9+/=]+)")
_CHART_SCHEME = "vb-chart:"


def write_pdf(html: str, pdf_path: Path) -> Path:
    """HTML to PDF with weasyprint, from the same HTML (and so the same chart images).

    The embedded images are handed to weasyprint by a short reference instead of inside the
    HTML: its HTML parser would otherwise read megabytes of base64 character by character.
    Any other URL goes to weasyprint's own fetcher, as before. The chart PNGs go into the PDF as
    they are (:mod:`veiligheidsbeeld.reports.pdf_images`)."""
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    images: list[str] = []

    def reference(match: re.Match[str]) -> str:
        images.append(match.group(1))
        return f"{_CHART_SCHEME}{len(images) - 1}"

    class ChartFetcher(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> Any:
            if url.startswith(_CHART_SCHEME):
                body = base64.b64decode(images[int(url[len(_CHART_SCHEME):])])
                return URLFetcherResponse(url, body, {"Content-Type": "image/png"})
            return super().fetch(url, headers)

    light = _DATA_PNG.sub(reference, html)
    document = HTML(string=light, base_url=str(pdf_path.parent), url_fetcher=ChartFetcher())
    with png_passthrough():
        pdf = document.write_pdf()
    return publish(pdf_path, pdf)


def data_uri(fig: Figure, dpi: int = 144) -> str:
    """The figure as an embedded PNG ``data:`` URI (keeps the HTML self-contained)."""
    return "data:image/png;base64," + base64.b64encode(charts.figure_png(fig, dpi=dpi)).decode("ascii")


#: The collector's first threshold while reports are drawn (Python's default is 700).
RENDER_GC_THRESHOLD = 50_000


@contextmanager
def long_lived_heap() -> Iterator[None]:
    """While open, what exists now (the analysis, the boundaries, the libraries) is left out of the
    cyclic garbage collector's passes, and the collector runs less often.

    Matplotlib, WeasyPrint and xlsxwriter allocate millions of small objects: at Python's default
    threshold a district's pages cost ~600 collections, and the few full ones walk every object of
    the process each time, 0.6–1.1 s of CPU per job. Inside, 0.1–0.4 s. Objects are still freed as soon
    as nothing refers to them; only cycles wait for the next (rarer) collection, which costs a few
    tens of MB per process. On leaving, everything is as before."""
    thresholds = gc.get_threshold()
    gc.collect()  # no garbage cycle goes into the frozen part, where nothing would free it
    gc.freeze()
    gc.set_threshold(RENDER_GC_THRESHOLD, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def package_version() -> str:
    try:
        return version("veiligheidsbeeld")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "dev"


# --------------------------------------------------------------------------------------------
# View helpers: numbers to Dutch text
# --------------------------------------------------------------------------------------------


def is_missing(value: Any) -> bool:
    """None, NaN and pd.NA: every kind of unknown value (never shown as 0)."""
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def fmt_p(p: Any) -> str:
    if is_missing(p):
        return "–"
    return "p < 0,001" if p < 0.001 else f"p = {fmt_num(p, 3)}"


def month_name(month: int) -> str:
    """The Dutch name of a calendar month ("januari")."""
    return format_date(date(2000, month, 1), "MMMM", locale="nl_NL")


@dataclass(frozen=True)
class ChangeView:
    """One comparison formatted for a table cell (Dutch)."""

    current: str
    previous: str
    difference: str
    pct: str
    flag: str  # "stijging" / "daling" only when significant, else ""
    incomplete: bool
    current_incomplete: bool
    previous_incomplete: bool
    note: str
    p_value: str


def change_view(row: Mapping[str, Any], min_base: int = MIN_BASE_FOR_PCT) -> ChangeView:
    """Counts first, the difference, a percentage only next to a big enough base, and a flag only
    for a significant change. An incomplete side shows "≥ known" and is not tested."""

    def count(value: Any, known: Any) -> str:
        if not is_missing(value):
            return fmt_int(value)
        return f"≥ {fmt_int(known)}" if not is_missing(known) and known > 0 else "–"

    previous = row.get("previous")
    current_incomplete = is_missing(row.get("current"))
    previous_incomplete = is_missing(previous)
    incomplete = bool(row.get("incomplete", False)) or current_incomplete or previous_incomplete
    pct = row.get("pct_change")
    show_pct = not incomplete and not is_missing(pct) and previous >= min_base
    note = ""
    if incomplete:
        side = "deze periode" if current_incomplete else "de vorige periode"
        if current_incomplete and previous_incomplete:
            side = "beide perioden"
        note = f"onvolledig: in {side} ontbreekt een maand of is een cel onderdrukt; niet getoetst"
    elif row.get("reason"):
        note = str(row["reason"])
    return ChangeView(
        current=count(row.get("current"), row.get("current_known")),
        previous=count(previous, row.get("previous_known")),
        difference="–" if incomplete or is_missing(row.get("difference")) else fmt_signed_int(row["difference"]),
        pct=fmt_pct(pct / 100) if show_pct else "",
        flag=str(row.get("direction")) if bool(row.get("significant", False)) else "",
        incomplete=incomplete,
        current_incomplete=current_incomplete,
        previous_incomplete=previous_incomplete,
        note=note,
        p_value=fmt_p(row.get("p_value")),
    )


def view_at(frame: pd.DataFrame, key: Any) -> ChangeView | None:
    """The change view of the row at index label ``key`` (None when there is no such row)."""
    index = frame.index
    if key not in index:
        return None
    # The first row with that label, read by position (a .loc/reset_index/to_dict round trip per
    # cell cost more than the rest of a report's tables).
    pos = index.get_loc(key)
    if isinstance(pos, slice):
        pos = pos.start
    elif isinstance(pos, np.ndarray):
        pos = int(np.flatnonzero(pos)[0])
    row: dict[str, Any] = dict(zip(index.names, key if isinstance(key, tuple) else (key,), strict=True))
    for column in frame.columns:
        row[column] = frame[column].iat[pos]
    return change_view({k: (None if is_missing(v) else v) for k, v in row.items()})


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts with every kind of missing value as None (templates test ``is none``)."""
    out = []
    for row in frame.to_dict("records"):
        out.append({k: (None if is_missing(v) else v) for k, v in row.items()})
    return out


# --------------------------------------------------------------------------------------------
# Jinja
# --------------------------------------------------------------------------------------------


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("veiligheidsbeeld.reports", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(
        int=fmt_int,
        num=fmt_num,
        signed=fmt_signed_int,
        month=fmt_month,
        date=fmt_date,
        p=fmt_p,
        pct=lambda v, digits=0: fmt_pct(v, digits),
    )
    return env


def render_template(name: str, **context: Any) -> str:
    return environment().get_template(name).render(**context)


# --------------------------------------------------------------------------------------------
# Images and maps
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Image:
    uri: str
    alt: str
    caption: str = ""


@dataclass(frozen=True)
class Geography:
    """Boundaries for the maps (EPSG:28992); None when not in the warehouse."""

    gemeenten: gpd.GeoDataFrame | None = None
    wijken: gpd.GeoDataFrame | None = None
    note: str = ""
    #: Issue 18: what the police-internal incident section of each district is built from
    #: (``incidents.report.IncidentSections``); None without incident data.
    incidents: Any = None


def read_geography(con: Any, layout_year: int, gemeente_codes: Sequence[str]) -> Geography:
    """Gemeente and wijk boundaries from the warehouse (the layout year of the police regions,
    else the latest one stored); missing boundaries give a note, never an error."""
    from veiligheidsbeeld.warehouse import queries

    years = queries.boundary_layout_years(con)  # empty without boundaries: the note below says the maps are missing

    def load(level: str) -> tuple[gpd.GeoDataFrame | None, str]:
        available = years.get(level) or []
        if not available:
            return None, ""
        year = layout_year if layout_year in available else max(available)
        gdf = queries.boundaries(con, level, year)
        note = "" if year == layout_year else f"{level}grenzen van {year} (indeling {layout_year} niet beschikbaar)"
        if level == "wijk":
            gdf = gdf[gdf["gemeente_code"].isin(list(gemeente_codes))]
        return gdf, note

    gemeenten, note_gm = load("gemeente")
    wijken, note_wk = load("wijk")
    notes = [n for n in (note_gm, note_wk) if n]
    if gemeenten is None:
        notes.insert(0, "geen gemeentegrenzen in het warehouse: de kaarten ontbreken")
    return Geography(gemeenten, wijken, ("Let op: " + "; ".join(notes) + ".") if notes else "")
