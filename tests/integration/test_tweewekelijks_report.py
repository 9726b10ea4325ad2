"""The tweewekelijkse woninginbraakanalyse end to end: snapshot -> ingest -> warehouse -> reports.

National (NL00) rows in the snapshot are the REAL police series from ../shared; every gemeente,
wijk and buurt figure is SYNTHETIC, and so are the dwelling counts written here (labelled
'SYNTHETISCH' as their source table). Gemeente boundaries are the real 2023 TopoJSON from
../shared/data/geo; wijk boundaries do not exist offline, so the wijk maps must say so.
Two or three small gemeenten per district keep the run short; November 2022 is missing.
"""

from __future__ import annotations

import dataclasses
import html
import json
import os
import re
import stat
import shutil
import subprocess
from datetime import date
from pathlib import Path

import duckdb
import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest
from PIL import Image, ImageStat
from shapely.geometry import box

from veiligheidsbeeld.analysis.woninginbraak import build_biweekly
from veiligheidsbeeld.config import Settings, load_settings
from veiligheidsbeeld.ingest import run_ingest
from veiligheidsbeeld.regions import load_district_table
from veiligheidsbeeld.reports.kit import Geography, read_geography
from veiligheidsbeeld.reports.tweewekelijks import render_district, render_tweewekelijks
from veiligheidsbeeld.sources.boundaries import read_boundaries_file
from veiligheidsbeeld.testing.synthetic import build_police_snapshot
from veiligheidsbeeld.warehouse.db import writer
from veiligheidsbeeld.warehouse.geography import load_boundaries, load_denominators
from veiligheidsbeeld.warehouse import queries

pytestmark = pytest.mark.integration

GEMEENTEN = {
    "VR04": ["GM1773", "GM0180"],  # Olst-Wijhe, Staphorst
    "VR05": ["GM0168", "GM0173", "GM0147"],  # Losser, Oldenzaal, Borne
    "VR06": ["GM0244", "GM0273"],  # Hattem, Putten
    "VR07": ["GM0279", "GM0293"],  # Scherpenzeel, Westervoort
    "VR08": ["GM0668", "GM0225"],  # West Maas en Waal, Druten
}
ALL = [g for codes in GEMEENTEN.values() for g in codes]
CODES = ["0.0.0", "1.1.1", "1.4.3", "1.4.4", "1.4.5", "1.4.6", "1.4.7"]
REPORT_DATE = date(2024, 1, 20)
MISSING = "2022-11"
SLUGS = ["ijsselland", "twente", "noord-en-oost-gelderland", "gelderland-midden", "gelderland-zuid"]
CHROMIUM = shutil.which("chromium")


def synthetic_dwellings(regions: pd.DataFrame, years=(2022, 2023), seed: int = 7) -> pd.DataFrame:
    """SYNTHETIC dwelling stock: a deterministic lognormal per buurt (some below the 200-dwelling
    threshold), wijk = sum of its buurten, gemeente = sum of its wijken."""
    rows = []
    for year in years:
        per_buurt = {
            c: float(round(np.random.default_rng([seed, int(c[2:]), year]).lognormal(np.log(350), 0.9)))
            for c in regions.loc[regions["level"] == "BU", "code"]
        }
        wijk: dict[str, float] = {}
        for code, value in per_buurt.items():
            wijk["WK" + code[2:8]] = wijk.get("WK" + code[2:8], 0.0) + value
        gemeente: dict[str, float] = {}
        for code, value in wijk.items():
            gemeente["GM" + code[2:6]] = gemeente.get("GM" + code[2:6], 0.0) + value
        for level, values in (("buurt", per_buurt), ("wijk", wijk), ("gemeente", gemeente)):
            rows += [
                dict(
                    region_code=c,
                    region_level=level,
                    year=year,
                    month=None,
                    measure="woningen",
                    value=v,
                    source_table="SYNTHETISCH",
                    table_title="SYNTHETISCH — woningvoorraad (test)",
                    vintage="20240101T000000",
                    modified="2024-01-01",
                    fetched_at="2024-01-01",
                    period_status="Definitief",
                    source="tests",
                )
                for c, v in values.items()
            ]
    return pd.DataFrame(rows)


def with_district_table(settings: Settings, path: Path) -> Settings:
    return dataclasses.replace(settings, area=dataclasses.replace(settings.area, district_table=str(path)))


@pytest.fixture(scope="module")
def warehouse_root(tmp_path_factory, shared_dir) -> Path:
    root = tmp_path_factory.mktemp("tweewekelijks")
    build_police_snapshot(
        root / "snapshot",
        shared_dir=shared_dir,
        gemeenten=ALL,
        tables=("47022NED",),
        start="2020-01",
        end="2023-12",
        codes={"47022NED": CODES},
        missing_months=[MISSING],
    )
    settings = load_settings().with_paths(root=root).with_ingest(tables=("47022NED",))
    run_ingest(settings, root / "snapshot", gemeenten=ALL)
    with writer(settings.paths.resolved().warehouse) as con:
        load_denominators(con, synthetic_dwellings(con.execute("SELECT code, level FROM regions").df()))
        gdf = read_boundaries_file(shared_dir / "data" / "geo" / "gemeente_2023.topojson", "gemeente", 2023)
        load_boundaries(con, gdf, "shared/data/geo/gemeente_2023.topojson")
    table = load_district_table()
    table[table["gemeente_code"].isin(ALL)].to_csv(root / "districts.csv", index=False)
    return root


@pytest.fixture(scope="module")
def settings(warehouse_root) -> Settings:
    return with_district_table(load_settings().with_paths(root=warehouse_root), warehouse_root / "districts.csv")


#: The umask of the rendered report: neither the default 022 nor mkstemp's owner-only 0600, so a
#: file that bypasses the one writer (or sets a fixed mode) shows up as a different mode.
UMASK = 0o007


@pytest.fixture(scope="module")
def progress() -> list:
    """The progress events (``JobDone``) of the ``rendered`` run, in the order they came."""
    return []


@pytest.fixture(scope="module")
def rendered(settings, progress) -> list[Path]:
    previous = os.umask(UMASK)
    try:
        return render_tweewekelijks(settings, REPORT_DATE, today=REPORT_DATE, workers=2, on_done=progress.append)
    finally:
        os.umask(previous)


def test_progress_names_every_part_once_with_its_files(settings, rendered, progress):
    """Each unit of work is reported once, as it finishes, with the files it wrote: together
    exactly the files of the run; pages carry the HTML (a progress line can point at it)."""
    names = ["IJsselland", "Twente", "Noord- en Oost-Gelderland", "Gelderland-Midden", "Gelderland-Zuid"]
    expected = {(f"district {n}", part) for n in names for part in ("pages", "tables")}
    expected |= {(f"eenheid {settings.area.eenheid_naam}", part) for part in ("pages", "tables")}
    assert sorted((d.what, d.part) for d in progress) == sorted(expected)
    assert sorted(p for d in progress for p in d.files) == sorted(rendered)
    for done in progress:
        if done.part == "pages":
            assert done.html is not None and done.html.suffix == ".html" and done.html in done.files
            assert any(p.suffix == ".pdf" for p in done.files)
        else:
            assert done.html is None and any(p.suffix == ".xlsx" for p in done.files)


@pytest.fixture(scope="module")
def out_dir(settings, rendered) -> Path:
    return settings.paths.resolved().reports / REPORT_DATE.isoformat() / "tweewekelijks"


def test_every_district_gets_html_pdf_excel_and_csv(rendered, out_dir):
    names = {p.name for p in rendered}
    for slug in SLUGS:
        for suffix in (".html", ".pdf", ".xlsx"):
            assert f"{slug}{suffix}" in names
        assert (out_dir / "tabellen" / f"{slug}_vergelijkingen.csv").is_file()
        assert (out_dir / "tabellen" / f"{slug}_wijken_buurten_toplijsten.csv").is_file()
    assert {"index.html", "index.pdf", "oost-nederland.xlsx"} <= names
    for path in rendered:
        assert path.is_file() and path.stat().st_size > 0, path
        assert path.resolve().is_relative_to(out_dir.resolve())
        assert re.fullmatch(r"[a-z0-9-]+(_[a-z0-9_]+)?\.(html|pdf|xlsx|csv)", path.name), path.name
    assert all(p.read_bytes().startswith(b"%PDF") for p in rendered if p.suffix == ".pdf")


def test_every_file_of_the_report_is_published_with_the_same_shared_mode(rendered, out_dir):
    """HTML, PDF, Excel, CSV and the version stamp all go through the one atomic writer: the
    mode a plain open() gives under the umask (here 0660), never mkstemp's 0600."""
    files = [p for p in out_dir.rglob("*") if p.is_file()]
    assert {".html", ".pdf", ".xlsx", ".csv", ".json"} <= {p.suffix for p in files}
    assert set(map(Path.resolve, rendered)) <= set(map(Path.resolve, files))
    modes = {p.relative_to(out_dir).as_posix(): oct(stat.S_IMODE(p.stat().st_mode)) for p in files}
    assert set(modes.values()) == {oct(0o666 & ~UMASK)}, modes
    assert not [p for p in files if p.name.startswith(".")]  # no temporary file left behind


def test_html_is_self_contained_dutch_and_marked_synthetic(out_dir):
    for name in ["index", *SLUGS]:
        text = (out_dir / f"{name}.html").read_text(encoding="utf-8")
        srcs = re.findall(r"<img[^>]*\ssrc=\"([^\"]*)\"", text)
        assert srcs, name
        assert all(s.startswith("data:image/png;base64,") for s in srcs), name
        assert not re.search(r"<(script|link|iframe)\b", text) and "http://" not in text and "https://" not in text
        assert 'lang="nl"' in text
        assert "SYNTHETISCHE CIJFERS" in text and "dit rapport bevat synthetische cijfers" in text
        # The missing month is a visible warning banner, not a gap: one banner for all gemeenten.
        assert re.search(r"november 2022 ontbreekt voor alle \d+ gemeenten in de gegevens", text), name
        assert 'class="banner banner-warning"' in text
        assert "december 2023" in text and "20 januari 2024" in text


def test_district_report_content(out_dir):
    text = html.unescape((out_dir / "twente.html").read_text(encoding="utf-8"))
    for heading in (
        "Kernpunten",
        "Woninginbraak in district en eenheid",
        "Gemeenten van het district",
        "Per gemeente",
        "High Impact Crime",
        "Verantwoording",
    ):
        assert heading in text
    for gemeente in ("Losser", "Oldenzaal", "Borne"):
        assert f"Regelkaart van woninginbraak per maand in {gemeente}" in text
    assert "Trechtergrafiek" in text and "per 1.000 woningen" in text
    assert "ten minste 200 woningen" in text  # the stated dwelling threshold
    assert text.count("Geen wijkkaart") == 3  # no wijk boundaries offline: a note, never a blank
    assert "Straatroof" in text and "Overval" in text and "Geweld" in text and "1.4.3, 1.4.4, 1.4.5" in text
    assert "niet getoetst" in text  # comparisons that include November 2022


def test_tables_sum_only_the_leaf_code(settings, out_dir):
    table = pd.read_csv(out_dir / "tabellen" / "twente_vergelijkingen.csv")
    row = table[(table["code"] == "GM0168") & (table["delict"] == "Woninginbraak") & (table["vergelijking"] == "Maand")]
    con = duckdb.connect(str(settings.paths.resolved().warehouse), read_only=True)
    try:
        expected = con.execute(
            "SELECT count FROM facts_monthly WHERE region_code = 'GM0168' AND type_code = '1.1.1' "
            "AND month = DATE '2023-12-01'"
        ).fetchone()[0]
        geweld = con.execute(
            "SELECT sum(count) FROM facts_monthly WHERE region_code = 'GM0168' AND month = DATE '2023-12-01' "
            "AND type_code IN ('1.4.3', '1.4.4', '1.4.5')"
        ).fetchone()[0]
    finally:
        con.close()
    assert row["aantal"].item() == expected
    g = table[(table["code"] == "GM0168") & (table["delict"] == "Geweld") & (table["vergelijking"] == "Maand")]
    assert g["aantal"].item() == geweld
    assert table["synthetisch"].all()
    # A 12-month comparison over the missing month is incomplete and untested, never lower.
    rolling = table[
        (table["code"] == "VR05")
        & (table["delict"] == "Woninginbraak")
        & (table["vergelijking"] == "Laatste 12 maanden")
    ]
    assert rolling["onvolledig"].item() and pd.isna(rolling["aantal_vorige_periode"].item())


def test_excel_has_an_explanation_sheet(out_dir):
    book = openpyxl.load_workbook(out_dir / "twente.xlsx", read_only=True)
    assert book.sheetnames[0] == "toelichting"
    assert {"vergelijkingen", "maandcijfers", "regelkaarten", "wijken_buurten_toplijsten"} <= set(book.sheetnames)
    values = [str(c) for row in book["toelichting"].iter_rows(values_only=True) for c in row]
    assert any("SYNTHETISCH" in v.upper() for v in values) and any("november 2022" in v for v in values)


def test_a_district_without_data_gets_a_banner_and_a_safe_file_name(settings, warehouse_root, tmp_path):
    table = pd.read_csv(warehouse_root / "districts.csv", dtype=str)
    extra = {
        "gemeente_code": "GM0153",
        "gemeente_naam": "Enschede",
        "district_code": "VR99",
        "district_naam": "'s-Leeg/../Súdwest",
        "eenheid_code": "RE02",
        "eenheid_naam": "Oost-Nederland",
    }
    path = tmp_path / "districts.csv"
    pd.concat([table, pd.DataFrame([extra])]).to_csv(path, index=False)
    files = render_tweewekelijks(
        with_district_table(settings, path),
        REPORT_DATE,
        districts=["VR99"],
        out_dir=tmp_path / "out",
        pdf=False,
        today=REPORT_DATE,
    )
    assert (tmp_path / "out" / "s-leeg-sudwest.html") in files
    assert all(f.resolve().is_relative_to((tmp_path / "out").resolve()) for f in files)
    text = html.unescape((tmp_path / "out" / "s-leeg-sudwest.html").read_text(encoding="utf-8"))
    assert "Voor district 's-Leeg/../Súdwest staan geen gegevens in het warehouse" in text
    assert "Geen regelkaart" in text or "te weinig maanden" in text


def test_wijk_map_is_drawn_when_wijk_boundaries_exist(settings, tmp_path):
    # Wijk boundaries do not exist offline: cut each gemeente into vertical strips, one per wijk
    # (SYNTHETIC geometry, only to exercise the map).
    with duckdb.connect(str(settings.paths.resolved().warehouse), read_only=True) as con:
        analysis = build_biweekly(queries.biweekly_inputs(con, settings, REPORT_DATE, ["Twente"], today=REPORT_DATE))
        geography = read_geography(con, 2023, GEMEENTEN["VR05"])
        wijken = con.execute("SELECT code, name, gemeente_code FROM regions WHERE level = 'WK' ORDER BY code").df()
    strips = []
    for gemeente in geography.gemeenten[geography.gemeenten["region_code"].isin(GEMEENTEN["VR05"])].itertuples():
        own = wijken[wijken["gemeente_code"] == gemeente.region_code]
        minx, miny, maxx, maxy = gemeente.geometry.bounds
        step = (maxx - minx) / len(own)
        for i, w in enumerate(own.itertuples()):
            strips.append(
                {
                    "region_code": w.code,
                    "region_name": w.name,
                    "level": "wijk",
                    "gemeente_code": gemeente.region_code,
                    "layout_year": 2023,
                    "geometry": gemeente.geometry.intersection(box(minx + i * step, miny, minx + (i + 1) * step, maxy)),
                }
            )
    fake = Geography(geography.gemeenten, gpd.GeoDataFrame(strips, crs="EPSG:28992"))
    files = render_district(analysis, "VR05", tmp_path, geography=fake, pdf=False)
    text = html.unescape(next(f for f in files if f.suffix == ".html").read_text(encoding="utf-8"))
    assert text.count("per 1.000 woningen per wijk in") == 3 and "Geen wijkkaart" not in text


# --------------------------------------------------------------------------------------------
# A real browser
# --------------------------------------------------------------------------------------------

CHECK_SCRIPT = """<script>
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var broken = imgs.filter(function (i) { return !(i.complete && i.naturalWidth > 0); });
  var out = document.createElement('pre');
  out.id = 'browser-check';
  out.textContent = JSON.stringify({images: imgs.length, broken: broken.map(function (i) { return i.alt; }),
    text: document.body.innerText.length, height: document.body.scrollHeight});
  document.body.appendChild(out);
});
</script>"""


def chromium(args: list[str], profile: Path) -> subprocess.CompletedProcess:
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--hide-scrollbars",
    ]
    return subprocess.run([CHROMIUM, *flags, *args], capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
@pytest.mark.parametrize("page", ["index", "twente"])
def test_pages_load_every_image_in_a_real_browser(out_dir, tmp_path, page):
    # A copy with a check script: the report itself contains no scripts.
    probe = tmp_path / f"{page}.html"
    probe.write_text(
        (out_dir / f"{page}.html").read_text(encoding="utf-8").replace("</body>", CHECK_SCRIPT + "</body>"),
        encoding="utf-8",
    )
    dom = chromium(["--virtual-time-budget=15000", "--dump-dom", probe.as_uri()], tmp_path / "profile")
    found = re.search(r'<pre id="browser-check">(.*?)</pre>', dom.stdout, re.S)
    assert found, dom.stderr[-2000:]
    result = json.loads(html.unescape(found.group(1)))
    assert result["images"] >= 2 and result["broken"] == []
    assert result["text"] > 2000 and result["height"] > 2000

    shot = tmp_path / f"{page}.png"
    chromium(
        ["--window-size=1280,1600", f"--screenshot={shot}", (out_dir / f"{page}.html").as_uri()], tmp_path / "profile"
    )
    image = Image.open(shot).convert("L")
    stats = ImageStat.Stat(image)
    assert stats.stddev[0] > 20, "the page looks blank"
    assert len(image.getcolors(maxcolors=1 << 16) or range(1 << 16)) > 50


def test_validation_gates_the_report(settings, tmp_path):
    """A BLOCKER from the data checks stops publication; a WARN becomes a banner in its district."""
    from veiligheidsbeeld.errors import DataError
    from veiligheidsbeeld.warehouse.validation import Finding, Severity, store_findings

    copy = tmp_path / "wh.duckdb"
    shutil.copy(settings.paths.resolved().warehouse, copy)
    local = settings.with_paths(warehouse=copy)
    gemeente = ALL[0]
    warn = Finding("structural_break", Severity.WARN, "47022NED", gemeente, f"Testbevinding voor {gemeente}.", 3.5, 3.0)
    with writer(copy) as con:
        store_findings(con, "test-warn", [warn], tables=["47022NED"])
    files = render_tweewekelijks(local, REPORT_DATE, out_dir=tmp_path / "warn", pdf=False, today=REPORT_DATE)
    district = load_district_table().set_index("gemeente_code").loc[gemeente, "district_naam"]
    page = next(f for f in files if f.suffix == ".html" and f.name != "index.html" and district.lower().split()[0] in f.name)
    assert f"Gegevenscontrole: Testbevinding voor {gemeente}." in html.unescape(page.read_text(encoding="utf-8"))

    blocker = Finding("rollup_mismatch", Severity.BLOCKER, "47022NED", gemeente, "Totaal klopt niet.", 500.0, 3.0)
    with writer(copy) as con:
        store_findings(con, "test-block", [blocker], tables=["47022NED"])
    with pytest.raises(DataError, match="niet gepubliceerd"):
        render_tweewekelijks(local, REPORT_DATE, out_dir=tmp_path / "block", pdf=False, today=REPORT_DATE)
    assert not (tmp_path / "block").exists() or not any((tmp_path / "block").iterdir())


BANNER_SCRIPT = """<script>
window.addEventListener('load', () => {
  const h = window.innerHeight;
  const banners = [...document.querySelectorAll('.banner-warning')].map(
    b => ({top: b.getBoundingClientRect().top, text: b.innerText}));
  const details = document.querySelector('details#meldingen');
  const summary = details ? details.querySelector('summary') : null;
  const openBefore = details ? details.open : null;
  if (summary) summary.click();
  const items = details ? [...details.querySelectorAll('li')].map(
    li => ({shown: li.getClientRects().length > 0 && li.offsetHeight > 0, text: li.innerText})) : [];
  const out = document.createElement('pre');
  out.id = 'banner-check';
  out.textContent = JSON.stringify({
    h, banners, first: document.querySelector('#kernpunten').getBoundingClientRect().top,
    summaryTop: summary ? summary.getBoundingClientRect().top : null,
    summary: summary ? summary.innerText : null, openBefore, openAfter: details ? details.open : null, items,
    notes: [...document.querySelectorAll('.figure-note')].map(n => n.innerText)});
  document.body.appendChild(out);
});
</script>"""


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_first_screen_of_a_report_with_several_findings(settings, tmp_path):
    """Several findings: one missing month for every gemeente (the data checks give one finding per
    gemeente) plus structural breaks and suppressed cells. The first screen shows a few grouped
    banners, the most important first; the full list is one click away."""
    from veiligheidsbeeld.warehouse.validation import Finding, Severity, store_findings, validate_table

    copy = tmp_path / "wh.duckdb"
    shutil.copy(settings.paths.resolved().warehouse, copy)
    local = settings.with_paths(warehouse=copy)
    twente = GEMEENTEN["VR05"]
    with writer(copy) as con:
        found = validate_table(con, "47022NED", area_gemeenten=ALL)
        per_gemeente = [f for f in found if f.rule == "region_missing_month" and f.region_code in twente]
        assert len(per_gemeente) == len(twente)  # the checks find the month once per gemeente
        extra = [Finding("structural_break", Severity.WARN, "47022NED", g, f"Testbreuk in {g}.", 3.5, 3.0) for g in twente]
        extra += [Finding("suppressed_share", Severity.WARN, "47022NED", g, f"Veel onderdrukt in {g}.", 0.1, 0.05)
                  for g in twente]
        store_findings(con, "test-many", [*found, *extra], tables=["47022NED"])
    files = render_tweewekelijks(local, REPORT_DATE, districts=["VR05"], out_dir=tmp_path / "out", pdf=False,
                                 today=REPORT_DATE)
    page = next(f for f in files if f.name == "twente.html")
    probe = tmp_path / "probe.html"
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", BANNER_SCRIPT + "</body>"), encoding="utf-8")
    dom = chromium(["--window-size=1280,1000", "--virtual-time-budget=15000", "--dump-dom", probe.as_uri()],
                   tmp_path / "profile")
    found_json = re.search(r'<pre id="banner-check">(.*?)</pre>', dom.stdout, re.S)
    assert found_json, dom.stderr[-2000:]
    result = json.loads(html.unescape(found_json.group(1)))

    above = [b for b in result["banners"] if b["top"] < result["first"]]
    assert 1 <= len(above) <= 3, [b["text"] for b in above]  # at most a few before the first finding
    # One banner for the month, not one per gemeente, and the most important first.
    assert "november 2022 ontbreekt voor alle 3 gemeenten" in above[0]["text"]
    assert not any("mist 1 maand" in b["text"] for b in result["banners"])
    assert result["first"] < 2 * result["h"], "the first finding is pushed off the first screens"
    # The full list is one click away, closed until clicked, and holds every finding.
    assert result["summaryTop"] is not None and result["summaryTop"] < result["first"]
    assert result["openBefore"] is False and result["openAfter"] is True
    assert result["items"] and all(item["shown"] for item in result["items"])
    texts = " ".join(item["text"] for item in result["items"])
    for g in twente:
        assert f"Testbreuk in {g}." in texts and f"Veel onderdrukt in {g}." in texts
    assert re.search(r"Alle \d+ meldingen over de gegevens", result["summary"])
    # Said next to the figure it touches.
    assert any("november 2022 ontbreekt voor alle 3 gemeenten" in n for n in result["notes"])


def test_parallel_report_writes_the_same_tables_as_the_serial_path(settings, rendered, out_dir, tmp_path):
    """The fast path (worker pool, pages and tables as separate jobs, counts from DuckDB) writes
    byte for byte the CSV tables of the plain serial path, and the same cells in Excel."""
    from veiligheidsbeeld.analysis.woninginbraak import build_biweekly
    from veiligheidsbeeld.warehouse import queries
    from veiligheidsbeeld.warehouse.db import reader

    built, done = [], []

    def analysis():  # handed over as a function: called once, after the (absent) pool started
        with reader(settings.paths.resolved().warehouse) as con:
            built.append(build_biweekly(queries.biweekly_inputs(con, settings, REPORT_DATE, today=REPORT_DATE)))
        return built[-1]

    serial = render_tweewekelijks(settings, REPORT_DATE, today=REPORT_DATE, workers=1, out_dir=tmp_path, pdf=False,
                                  analysis=analysis, on_done=done.append)
    assert len(built) == 1 and [p for d in done for p in d.files] == serial  # in job order when serial
    csvs = sorted(p.name for p in (out_dir / "tabellen").glob("*.csv"))
    assert csvs == sorted(p.name for p in (tmp_path / "tabellen").glob("*.csv")) and len(csvs) >= 5 * 5
    for name in csvs:
        assert (out_dir / "tabellen" / name).read_bytes() == (tmp_path / "tabellen" / name).read_bytes(), name
    assert {p.name for p in serial if p.suffix != ".pdf"} == {p.name for p in rendered if p.suffix != ".pdf"}
    # Excel: the same values as the CSV (numbers as numbers, empty where the CSV is empty).
    book = openpyxl.load_workbook(out_dir / "twente.xlsx", read_only=True)
    rows = list(book["vergelijkingen"].iter_rows(values_only=True))
    table = pd.read_csv(out_dir / "tabellen" / "twente_vergelijkingen.csv")
    assert list(rows[0]) == list(table.columns) and len(rows) - 1 == len(table)
    col = list(table.columns).index("aantal")
    assert [r[col] for r in rows[1:]] == [None if pd.isna(v) else v for v in table["aantal"]]


def test_counts_from_duckdb_equal_the_pandas_sums(settings):
    """The analysis sums its monthly counts in DuckDB; the reference path sums the same facts in
    pandas (group_counts). Every figure and flag must be the same."""
    from veiligheidsbeeld.analysis.woninginbraak import analyse, group_counts, month_grid
    from veiligheidsbeeld.reports.tweewekelijks import district_tables

    with duckdb.connect(str(settings.paths.resolved().warehouse), read_only=True) as con:
        fast = build_biweekly(queries.biweekly_inputs(con, settings, REPORT_DATE, today=REPORT_DATE))
        from veiligheidsbeeld.warehouse.queries import monthly_counts

        facts = monthly_counts(con, "47022NED", type_codes=CODES, first=fast.period.first_month,
                               last=fast.latest_month)
        regions = con.execute("SELECT * FROM regions ORDER BY code").df()
    table = pd.read_csv(settings.area.district_table, dtype=str)
    facts = facts[facts["region_code"].str.startswith("GM") | (facts["type_code"] == "1.1.1")]
    months = month_grid(fast.period.first_month, fast.latest_month)
    gm = group_counts(facts, fast.groups, list(table["gemeente_code"]), months)
    assert gm["count"].notna().sum() > 1000 and (gm["n_missing"] > 0).any()  # the missing month
    slow = analyse(facts, regions, table, fast.dwellings, period=fast.period, options=fast.options, stats=fast.stats,
                   info=fast.info, district_infos=fast.district_infos, dwellings_label=fast.dwellings_label)
    pd.testing.assert_frame_equal(fast.monthly, slow.monthly)
    pd.testing.assert_frame_equal(fast.changes, slow.changes)
    assert fast.changes["p_value"].notna().sum() > 50  # the flags compared above come from real tests
    for code in [None, *GEMEENTEN]:
        a, b = district_tables(fast, code), district_tables(slow, code)
        assert a.keys() == b.keys()
        for name in a:
            assert a[name].to_csv(index=False) == b[name].to_csv(index=False), (code, name)


#: The biweekly tables written by the code of the baseline commit (render.py, before the split by
#: product): tables only, the path every report takes (render_district/render_index, "tables").
BASELINE_TABLES = """
import dataclasses, sys
from datetime import date
from pathlib import Path

import veiligheidsbeeld

src, root, table, out, day = sys.argv[1:]
assert veiligheidsbeeld.__file__.startswith(src), veiligheidsbeeld.__file__
from veiligheidsbeeld.analysis.woninginbraak import build_biweekly
from veiligheidsbeeld.config import load_settings
from veiligheidsbeeld.reports.render import RenderedDistrict, district_slug, render_district, render_index
from veiligheidsbeeld.warehouse.db import reader

settings = load_settings().with_paths(root=Path(root))
settings = dataclasses.replace(settings, area=dataclasses.replace(settings.area, district_table=table))
day = date.fromisoformat(day)
with reader(settings.paths.resolved().warehouse) as con:
    analysis = build_biweekly(con, settings, day, None, today=day)
done = tuple(RenderedDistrict(d.code, d.naam, district_slug(analysis, d.code)) for d in analysis.districts)
for d in analysis.districts:
    render_district(analysis, d.code, Path(out), parts=("tables",))
render_index(analysis, Path(out), done, parts=("tables",))
"""


def test_tables_are_byte_for_byte_those_of_the_code_before_the_split(warehouse_root, rendered, out_dir, baseline,
                                                                       tmp_path):
    """Issue 16's check: splitting render.py into the kit and the products changed no figure.
    The baseline commit's own code (git archive, run in a subprocess) writes the tables of the same
    warehouse; every CSV of the report rendered here (the full run, worker pool) is the same file.
    Comparing whole files rather than a few known figures: any changed cell, column, order or
    number format fails, in all 5 districts and the eenheid."""
    reference = tmp_path / "baseline"
    baseline.run(BASELINE_TABLES, warehouse_root, warehouse_root / "districts.csv", reference, REPORT_DATE.isoformat(),
                 cwd=tmp_path)
    before = sorted(p.name for p in (reference / "tabellen").glob("*.csv"))
    after = sorted(p.name for p in (out_dir / "tabellen").glob("*.csv"))
    assert before == after and len(after) >= 6 * 4
    differ = [n for n in after if (reference / "tabellen" / n).read_bytes() != (out_dir / "tabellen" / n).read_bytes()]
    assert not differ, differ
    twente = pd.read_csv(out_dir / "tabellen" / "twente_vergelijkingen.csv")
    assert twente["aantal"].notna().sum() > 20 and twente["p_waarde"].notna().sum() > 10  # real figures compared
