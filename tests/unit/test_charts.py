"""Charts, maps and the small rendering helpers (file names, cell formatting)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine
from shapely.geometry import box

from veiligheidsbeeld.analysis.periods import add_months
from veiligheidsbeeld.analysis.stats import control_chart, funnel_limits
from veiligheidsbeeld.errors import ConfigError
from veiligheidsbeeld.reports import charts, maps
from veiligheidsbeeld.reports.kit import change_view, data_uri, safe_path, slugify

SOURCE = "Bron: politie open data, CBS-tabel 47022NED (versie 2024-03-28); SYNTHETISCHE CIJFERS (demo/test)."
PNG = b"\x89PNG\r\n\x1a\n"


def all_texts(fig: Figure) -> str:
    texts = [t.get_text() for t in fig.findobj(match=lambda o: hasattr(o, "get_text"))]
    return " ".join(t for t in texts if t)


def monthly(first: date, last: date, value: float = 10.0) -> pd.Series:
    months = []
    m = first
    while m <= last:
        months.append(m)
        m = add_months(m, 1)
    return pd.Series(value, index=months, dtype="float64")


def test_monthly_series_marks_missing_months_and_states_the_source():
    series = monthly(date(2020, 1, 1), date(2023, 12, 1))
    series[date(2023, 3, 1)] = np.nan
    fig = charts.plot_monthly_series(
        series,
        latest=date(2023, 12, 1),
        years=3,
        title="Woninginbraak per maand",
        provisional=[date(2023, 11, 1)],
        source=SOURCE,
    )
    text = all_texts(fig)
    assert "ontbreekt" in text and "mrt 2023" in text
    assert "SYNTHETISCHE CIJFERS" in text and "voorlopig" in text
    assert {"2020", "2021", "2022", "2023"} <= set(text.split())
    assert charts.figure_png(fig).startswith(PNG)


def test_gemeente_bars_label_incomplete_and_significant():
    frame = pd.DataFrame(
        {
            "name": ["Aadorp", "Beekdorp"],
            "current": [120.0, np.nan],
            "previous": [60.0, 30.0],
            "significant": [True, False],
            "direction": ["stijging", None],
        }
    )
    fig = charts.plot_gemeente_bars(frame, current_label="2023", previous_label="2022", title="Per gemeente")
    text = all_texts(fig)
    assert "onvolledig" in text and "significante stijging" in text and "120" in text


def test_funnel_plot_lists_units_without_rate_and_handles_no_data():
    units = pd.DataFrame(
        {
            "name": ["A", "B", "C"],
            "count": [100.0, 10.0, np.nan],
            "dwellings": [20_000.0, 2_000.0, 5_000.0],
            "rate": [5.0, 5.0, np.nan],
            "funnel": ["binnen", "binnen", "onbekend"],
        }
    )
    curve = funnel_limits(5.0, np.linspace(50, 12_000, 50), levels=(0.95, 0.998))
    fig = charts.plot_funnel(units, 5.0, curve, title="Trechter", source=SOURCE)
    text = all_texts(fig)
    assert "95%-grenzen" in text and "99,8%-grenzen" in text and "Niet getoond" in text and "C" in text
    empty = charts.plot_funnel(units.assign(rate=np.nan), float("nan"), curve, title="Trechter")
    assert "Geen trechtergrafiek" in all_texts(empty)


def test_control_chart_plot_shows_signals_and_missing_month():
    series = monthly(date(2021, 1, 1), date(2023, 12, 1))
    series.iloc[-1] = 40.0
    series.iloc[5] = np.nan
    chart = control_chart(series, baseline=slice(series.index[0], series.index[23]))
    fig = charts.plot_control_chart(chart, title="Regelkaart", baseline_end=series.index[23], source=SOURCE)
    text = all_texts(fig)
    assert "ontbreekt" in text and "signaal" in text and "verwacht (10,0)" in text
    assert chart.signals_since(date(2023, 12, 1))[0][0] == date(2023, 12, 1)


def test_classify_uses_dutch_numbers_and_never_more_classes_than_values():
    classes, labels = maps.classify(pd.Series([1.25, 2.5, np.nan, 10.0]))
    assert classes[2] == -1 and len(labels) == 3
    assert labels[0].startswith("1,2") or labels[0].startswith("1,3")
    one, label = maps.classify(pd.Series([4.0, 4.0]))
    assert list(one) == [0, 0] and label == ["4,0"]


def test_choropleth_hatches_missing_values():
    areas = gpd.GeoDataFrame(
        {"region_code": ["GM0001", "GM0002", "GM0003"], "region_name": ["A", "B", "C"]},
        geometry=[box(0, 0, 1000, 1000), box(1000, 0, 2000, 1000), box(0, 1000, 1000, 2000)],
        crs="EPSG:28992",
    )
    fig = maps.plot_choropleth(areas, pd.Series({"GM0001": 2.5, "GM0002": 4.0}), title="Kaart", source=SOURCE)
    text = all_texts(fig)
    assert "geen gegevens" in text and "2,5" in text
    assert data_uri(fig).startswith("data:image/png;base64,")
    assert "Geen kaart" in all_texts(maps.plot_choropleth(areas.iloc[:0], pd.Series(dtype=float), title="Kaart"))


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("'s-Hertogenbosch", "s-hertogenbosch"),
        ("Súdwest-Fryslân", "sudwest-fryslan"),
        ("Noord- en Oost-Gelderland", "noord-en-oost-gelderland"),
        ("IJsselland", "ijsselland"),
        ("../../etc/passwd", "etc-passwd"),
        ("***", "rapport"),
    ],
)
def test_slugify(name, slug):
    assert slugify(name) == slug


def test_safe_path_refuses_escapes(tmp_path: Path):
    assert safe_path(tmp_path, "twente.html") == (tmp_path / "twente.html").resolve()
    for bad in ("../x.html", "/etc/passwd", "a/../../x"):
        with pytest.raises(ConfigError):
            safe_path(tmp_path, bad)


def test_change_view_counts_first_pct_only_on_a_base_of_ten_flag_only_when_significant():
    row = {
        "current": 25.0,
        "previous": 16.0,
        "difference": 9,
        "pct_change": 56.25,
        "significant": False,
        "direction": "stijging",
        "incomplete": False,
        "p_value": 0.165,
    }
    v = change_view(row)
    assert (v.current, v.previous, v.difference, v.pct, v.flag) == ("25", "16", "+9", "+56%", "")
    assert v.p_value == "p = 0,165"
    small = change_view(
        {**row, "current": 3.0, "previous": 1.0, "difference": 2, "pct_change": 200.0, "significant": True}
    )
    assert small.pct == "" and small.flag == "stijging"
    incomplete = change_view(
        {**row, "previous": None, "previous_known": 11.0, "difference": None, "pct_change": None, "incomplete": True}
    )
    assert incomplete.previous == "≥ 11" and incomplete.difference == "–" and incomplete.previous_incomplete
    assert not incomplete.current_incomplete and "niet getoetst" in incomplete.note
    big = change_view({**row, "current": 1234.0, "previous": 1000.0, "difference": 234, "pct_change": 23.4})
    assert big.current == "1.234" and big.pct == "+23%"


def _control_chart(seed: int, level: float):
    months = [add_months(date(2023, 1, 1), i) for i in range(36)]
    counts = pd.Series(np.random.default_rng(seed).poisson(level, 36).astype(float), index=months)
    return months, control_chart(counts, baseline=slice(months[0], months[23]), seasonal=np.linspace(0.8, 1.2, 12),
                                 phi=1.2)


def _pixels(png: bytes) -> np.ndarray:
    import io

    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)))


def test_reused_layout_draws_the_same_pixels_as_the_layout_engine(monkeypatch):
    """A control chart whose layout comes from the cache (an earlier chart of the same kind and
    margins) is pixel for pixel the chart the constrained layout would draw; another tick label
    width is another layout."""
    monkeypatch.setattr(charts, "_LAYOUTS", {})

    def draw(seed: int, level: float, *, cached: bool, title: str = "Regelkaart — Beekdorp") -> bytes:
        months, chart = _control_chart(seed, level)
        if not cached:
            with monkeypatch.context() as m:
                m.setattr(charts, "settle_layout", lambda fig, kind: fig)
                fig = charts.plot_control_chart(chart, title=title, subtitle="jan 2023 – dec 2025",
                                                baseline_end=months[23], source=SOURCE)
            assert isinstance(fig.get_layout_engine(), ConstrainedLayoutEngine)  # the engine draws it
        else:
            fig = charts.plot_control_chart(chart, title=title, subtitle="jan 2023 – dec 2025",
                                            baseline_end=months[23], source=SOURCE)
            # No engine at all, so savefig does not lay it out again in a draw of its own.
            assert fig.get_layout_engine() is None
        return charts.figure_png(fig)

    # Computes and keeps the layout of this kind of chart (another gemeente: the title's width
    # does not count).
    draw(1, 20, cached=True, title="Regelkaart — Aadorp aan de Regge")
    assert len(charts._LAYOUTS) == 1
    for seed in (2, 3):
        assert np.array_equal(_pixels(draw(seed, 20, cached=True)), _pixels(draw(seed, 20, cached=False)))
    assert len(charts._LAYOUTS) == 1  # same margins: no new layout
    # Counts in the thousands: wider tick labels, so a layout of its own (and still the same pixels).
    assert np.array_equal(_pixels(draw(4, 2000, cached=True)), _pixels(draw(4, 2000, cached=False)))
    assert len(charts._LAYOUTS) == 2


def test_a_settled_chart_is_drawn_once_per_png(monkeypatch):
    """savefig draws a figure with a layout engine twice (once only to lay it out); a chart whose
    layout is settled is drawn once."""
    from matplotlib.figure import Figure

    calls = []
    original = Figure.draw
    monkeypatch.setattr(Figure, "draw", lambda self, renderer: (calls.append(1), original(self, renderer))[1])
    months, chart = _control_chart(6, 20)
    for _ in range(2):  # the first chart of its kind computes the layout, the second reuses it
        fig = charts.plot_control_chart(chart, title="Regelkaart — Beekdorp", baseline_end=months[23], source=SOURCE)
        calls.clear()
        charts.figure_png(fig)
        assert len(calls) == 1
    engine_drawn = charts.empty_figure("Geen gegevens.", title="Leeg", source=SOURCE)  # keeps its engine
    calls.clear()
    charts.figure_png(engine_drawn)
    assert len(calls) == 2


def test_pinned_subtitle_and_axis_labels_draw_the_same_pixels_as_placed_by_matplotlib(monkeypatch):
    """The control chart and the monthly series pin their subtitle right above the axes, and the
    control chart its empty axis labels (so that matplotlib need not measure the tick labels at
    every drawing); matplotlib's own placement gives the same pixels, for small and for
    four-digit counts."""
    original = charts.add_title

    def draw(seed: int, level: float, *, fixed: bool) -> tuple[bytes, bytes]:
        months, chart = _control_chart(seed, level)
        series = pd.Series(np.random.default_rng(seed).poisson(level, 48).astype(float),
                           index=[add_months(date(2020, 1, 1), i) for i in range(48)])
        with monkeypatch.context() as m:
            m.setattr(charts, "_LAYOUTS", {})
            if not fixed:
                m.setattr(charts, "add_title", lambda fig, title, subtitle="", **_: original(fig, title, subtitle))
                m.setattr(charts, "pin_empty_axis_labels", lambda ax: None)
            control = charts.plot_control_chart(chart, title="Regelkaart — Beekdorp", subtitle="jan 2023 – dec 2025",
                                                baseline_end=months[23], source=SOURCE)
            monthly = charts.plot_monthly_series(series, latest=date(2023, 12, 1), title="Woninginbraak per maand",
                                                 subtitle="2023 naast eerdere jaren", source=SOURCE)
            return charts.figure_png(control), charts.figure_png(monthly)

    for seed, level in ((7, 20), (8, 2000)):
        for ours, theirs in zip(draw(seed, level, fixed=True), draw(seed, level, fixed=False), strict=True):
            assert np.array_equal(_pixels(ours), _pixels(theirs))


def test_style_axes_is_the_one_house_style():
    from veiligheidsbeeld.reports import jaaranalyse

    fig = charts.new_figure()
    ax = charts.style_axes(fig.add_subplot(), labelsize=8)
    assert not ax.spines["top"].get_visible() and not ax.spines["right"].get_visible()
    assert to_hex(ax.spines["left"].get_edgecolor()) == charts.GREY
    assert jaaranalyse.LINE_COLOURS is charts.LINE_COLOURS


def test_pdf_embeds_every_chart_of_the_html(tmp_path):
    """The PDF is made from the report's HTML; its embedded charts reach the PDF engine by
    reference, and every one of them is in the PDF, at its own size."""
    from veiligheidsbeeld.reports.kit import write_pdf

    months, chart = _control_chart(5, 20)
    small = charts.empty_figure("Geen gegevens.", title="Leeg", source=SOURCE)
    big = charts.plot_control_chart(chart, title="Regelkaart — Aadorp", baseline_end=months[23], source=SOURCE)
    html = (f'<html><body><p>twee grafieken</p><img src="{data_uri(big)}" alt="a">'
            f'<img src="{data_uri(small)}" alt="b"></body></html>')
    pdf = write_pdf(html, tmp_path / "rapport.pdf").read_bytes()
    assert pdf.startswith(b"%PDF")
    assert pdf.count(b"/Subtype /Image") == 2
    assert b"/Width 1152" in pdf and b"/Height 432" in pdf  # the control chart at 144 dpi (8 x 3 in)
