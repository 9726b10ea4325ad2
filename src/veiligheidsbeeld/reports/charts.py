"""Charts for the reports: plain functions that return a matplotlib ``Figure``.

Figures are built with ``matplotlib.figure.Figure`` directly (no pyplot), so they use the Agg
renderer, keep no global state and can be made in worker processes; in a notebook, show one
with ``display(fig)``. All text is Dutch with nl-NL number formatting. Every chart takes a
``source`` line (see :meth:`DataInfo.source_line`) printed under it, so an image copied out of a
report still says where its figures come from.

Missing values (suppressed cells, months absent from the data) are never drawn as 0: lines
break, and the month is marked "ontbreekt".
"""

from __future__ import annotations

import io
from functools import lru_cache
from typing import Any
import textwrap
from collections.abc import Sequence
from datetime import date

import matplotlib

matplotlib.use("Agg")  # no display needed; harmless when a notebook already chose a backend

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from veiligheidsbeeld.analysis.stats import (
    BINNEN,
    BOVEN_95,
    BOVEN_998,
    ONDER_95,
    ONDER_998,
    ControlChart,
)
from veiligheidsbeeld.formatting import fmt_int, fmt_num

# Colours: a dark "politieblauw" for the current figures, greys for context, and a
# colour-blind-safe orange/blue pair for increases and decreases.
BLUE = "#154273"
LIGHT_BLUE = "#8fb3d9"
GREY = "#9ca3af"
LIGHT_GREY = "#e5e7eb"
DARK_GREY = "#4b5563"
RISE = "#c2410c"
FALL = "#1d4ed8"
WARN = "#b45309"
EARLIER_YEARS = ("#9ca3af", "#c4b5a5", "#b8c7d9", "#d1d5db")
#: Distinct line colours for up to ~12 series in one chart (colour-blind friendly first).
LINE_COLOURS = ("#E69F00", "#56B4E9", "#009E73", "#D55E00", "#CC79A7", "#0072B2", "#7F7F7F", "#8C564B",
                "#BCBD22", "#17BECF", "#9467BD", "#E377C2")

MONTHS_SHORT = ("jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec")
WIDTH = 8.0  # inches; the reports show charts at about 800 CSS pixels

FUNNEL_COLOURS: dict[str, str] = {
    BINNEN: BLUE,
    BOVEN_95: "#ea580c",
    BOVEN_998: "#9a3412",
    ONDER_95: "#2563eb",
    ONDER_998: "#1e3a8a",
}


def _int_axis(value: float, _pos: object = None) -> str:
    return _int_label(float(value))


@lru_cache(maxsize=4096)
def _int_label(value: float) -> str:
    # Tick labels repeat across a report's charts; Babel's formatting is slow enough to matter.
    return fmt_int(value)


def _num_axis(value: float, _pos: object = None) -> str:
    return fmt_num(value, 1)


#: Resolution of the embedded PNGs (see :func:`figure_png`).
DPI = 144


def new_figure(height: float = 4.0, width: float = WIDTH) -> Figure:
    """A figure in the house style."""
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    fig.set_facecolor("white")
    return fig


def style_axes(ax, *, labelsize: float = 9, grid: str | None = "y") -> Any:
    """The house style of an axes, for every chart of every report: no top and right spines,
    grey axes, dark grey tick labels, light grid lines (``grid``: "y", "x" or None) behind the data."""
    ax.spines[["top", "right"]].set_visible(False)
    ax.spines[["left", "bottom"]].set_color(GREY)
    ax.tick_params(colors=DARK_GREY, labelsize=labelsize)
    if grid:
        ax.grid(axis=grid, color=LIGHT_GREY, linewidth=0.8)
    ax.set_axisbelow(True)
    return ax


def add_title(fig: Figure, title: str, subtitle: str = "", *, subtitle_at_top: bool = False) -> None:
    """Bold title top left; the subtitle as the (first) axes' left title, so the layout engine
    keeps them apart.

    ``subtitle_at_top``: the subtitle sits right above the axes, where matplotlib would put it
    anyway for a chart with its tick labels below the axes and no offset text on the y axis (the
    control chart, the monthly series). Fixed there, matplotlib does not measure every tick
    label at each drawing to decide it (about 12 % of drawing a control chart; same pixels)."""
    if title:
        fig.suptitle(title, x=0.01, ha="left", fontsize=12, fontweight="bold", color="#111827")
    if subtitle and fig.axes:
        fig.axes[0].set_title(subtitle, loc="left", fontsize=9, color=DARK_GREY, pad=8,
                              y=1.0 if subtitle_at_top else None)


def pin_empty_axis_labels(ax) -> None:
    """An axes without axis labels: pin the (empty) labels where they are, so that matplotlib
    does not measure every tick label at each drawing to place them (about 10 % of drawing a
    control chart; an empty label draws nothing, so the pixels are the same)."""
    if not ax.get_xlabel():
        ax.xaxis.set_label_coords(0.5, 0.0)
    if not ax.get_ylabel():
        ax.yaxis.set_label_coords(0.0, 0.5)


def add_source(fig: Figure, source: str | None) -> None:
    """The source line under the chart, wrapped to the figure width."""
    if not source:
        return
    width_chars = int(fig.get_figwidth() * 17)
    fig.supxlabel("\n".join(textwrap.wrap(source, width_chars)), x=0.01, ha="left", fontsize=7.5, color=DARK_GREY)


# --------------------------------------------------------------------------------------------
# Layout: computed once per kind of chart, then reused
# --------------------------------------------------------------------------------------------

#: Axes boxes and title/source positions per layout key, kept for the life of the process
#: (a worker draws dozens of charts of the same kind).
_LAYOUTS: dict[tuple[Any, ...], tuple[list[Any], list[tuple[float, float] | None]]] = {}


def _shape(text: str) -> str:
    # Digits have the same advance width in the house font: "12" and "47" take the same room.
    return "".join("0" if ch.isdigit() else ch for ch in text)


def _tick_shapes(axis) -> tuple[str, ...]:
    """The shapes of the tick labels the axis will draw (without drawing it)."""
    lo, hi = sorted(axis.get_view_interval())
    span = (hi - lo) * 1e-9
    locs = [v for v in axis.get_major_locator()() if lo - span <= v <= hi + span]
    return tuple(sorted({_shape(t) for t in axis.get_major_formatter().format_ticks(locs)}))


def layout_key(fig: Figure) -> tuple[Any, ...]:
    """Everything that decides the margins of a chart of fixed size: the tick label shapes, the
    axis labels, titles and legend texts (by shape) and the number of lines of the source."""
    parts: list[Any] = [tuple(round(float(v), 3) for v in fig.get_size_inches())]
    for text in (fig._suptitle, fig._supxlabel):  # noqa: SLF001 - no public getter for the Text
        # The figure's title and source line only take room above and below the axes: their
        # number of lines counts, not their width (the name of the gemeente in the title).
        parts.append(None if text is None else (text.get_text().count("\n"), text.get_fontsize(),
                                                text.get_fontweight()))
    for ax in fig.axes:
        legend = ax.get_legend()
        parts.append((
            ax.axison,
            _tick_shapes(ax.xaxis) if ax.axison else (),
            _tick_shapes(ax.yaxis) if ax.axison else (),
            _shape(ax.get_xlabel()),
            _shape(ax.get_ylabel()),
            _shape(ax.get_title(loc="left")),
            None if legend is None else tuple(_shape(t.get_text()) for t in legend.get_texts()),
        ))
    return tuple(parts)


def settle_layout(fig: Figure, kind: str) -> Figure:
    """Fix the layout of a chart: the constrained layout is computed for the first chart of this
    ``kind`` with the same :func:`layout_key` and reused for the next ones, so that dozens of
    charts of one kind (the control charts of a district) pay for it once, not at every drawing.

    Only for charts whose margins follow from the key alone: no text placed near the edges of
    the axes in data coordinates (maps and the funnel's labels keep the layout engine)."""
    key = (kind, layout_key(fig))
    cached = _LAYOUTS.get(key)
    if cached is None:
        engine = fig.get_layout_engine()
        if engine is None:
            return fig
        dpi = fig.get_dpi()
        fig.set_dpi(DPI)  # as it will be drawn: the text extents at the PNG's resolution
        try:
            engine.execute(fig)
        finally:
            fig.set_dpi(dpi)
        texts = [fig._suptitle, fig._supxlabel]  # noqa: SLF001
        cached = ([ax.get_position(original=False).frozen() for ax in fig.axes],
                  [None if t is None else tuple(t.get_position()) for t in texts])
        _LAYOUTS[key] = cached
    # No layout engine at all (not the "none" placeholder): with any engine set, savefig first
    # draws the whole figure once without output to let the engine lay it out, which for a
    # settled chart is a wasted pass over every text (about 15 % of its drawing time).
    with matplotlib.rc_context({"figure.autolayout": False, "figure.constrained_layout.use": False}):
        fig.set_layout_engine(None)
    boxes, positions = cached
    for ax, box in zip(fig.axes, boxes, strict=True):
        ax.set_position(box)
    for text, position in zip((fig._suptitle, fig._supxlabel), positions, strict=True):  # noqa: SLF001
        if text is not None and position is not None:
            text.set_position(position)
    return fig


def figure_png(fig: Figure, dpi: int = DPI) -> bytes:
    """The figure as PNG bytes: RGB on white (no alpha channel), light compression.

    Drawn once per report and embedded in the HTML, which is also the PDF's source. 144 dpi is
    1.5 pixels per CSS pixel (sharp on high-density screens) and about 150 dpi on an A4 page.
    Without an alpha channel the PNG's data goes into the PDF as it is instead of being decoded
    and compressed again (:mod:`veiligheidsbeeld.reports.pdf_images`), and compression level 3
    costs a fraction of the default 6 for files a few percent larger."""
    from PIL import Image

    buffer = io.BytesIO()
    fig.savefig(buffer, format="raw", dpi=dpi, facecolor="white")
    raw = buffer.getvalue()
    width = int(round(fig.get_figwidth() * dpi))
    height = len(raw) // (4 * width)
    if width * height * 4 != len(raw):  # pragma: no cover - matplotlib rounds the size otherwise
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=dpi, facecolor="white")
        return buffer.getvalue()
    image = Image.frombuffer("RGBA", (width, height), raw, "raw", "RGBA", 0, 1).convert("RGB")
    out = io.BytesIO()
    image.save(out, format="png", compress_level=3)
    return out.getvalue()


def empty_figure(message: str, *, title: str = "", source: str | None = None, height: float = 2.2) -> Figure:
    """A chart-sized notice instead of a chart (never a silent blank)."""
    fig = new_figure(height)
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.text(
        0.5,
        0.5,
        "\n".join(textwrap.wrap(message, 80)),
        ha="center",
        va="center",
        fontsize=10,
        color=WARN,
        transform=ax.transAxes,
    )
    if title:
        add_title(fig, title)
    add_source(fig, source)
    return fig


# --------------------------------------------------------------------------------------------
# Monthly series with the same months of earlier years
# --------------------------------------------------------------------------------------------


def plot_monthly_series(
    series: pd.Series,
    *,
    latest: date,
    years: int = 3,
    title: str = "",
    subtitle: str = "",
    ylabel: str = "aantal per maand",
    provisional: Sequence[date] = (),
    source: str | None = None,
) -> Figure:
    """Monthly counts of the current year against the same months of ``years`` earlier years.

    ``series``: counts indexed by month (first day), NaN = missing/suppressed. The current year
    runs to ``latest``; a missing month is marked "ontbreekt" on the axis instead of drawn as 0,
    and provisional months of the current year get open markers.
    """
    fig = new_figure(3.8)
    ax = fig.add_subplot()
    style_axes(ax)
    values = pd.to_numeric(series, errors="coerce")
    index = pd.Index([date(d.year, d.month, 1) for d in values.index])
    values.index = index
    provisional_set = {date(d.year, d.month, 1) for d in provisional}
    x = np.arange(1, 13)
    missing_marks: list[tuple[int, int]] = []
    for offset in range(years, -1, -1):
        year = latest.year - offset
        months = [date(year, m, 1) for m in x if date(year, m, 1) <= latest]
        y = np.array([values.get(m, np.nan) for m in months], dtype="float64")
        current = offset == 0
        colour = BLUE if current else EARLIER_YEARS[(offset - 1) % len(EARLIER_YEARS)]
        ax.plot(
            x[: len(y)],
            y,
            color=colour,
            linewidth=2.6 if current else 1.4,
            marker="o",
            markersize=4.5 if current else 2.5,
            label=str(year),
            zorder=3 if current else 2,
        )
        if current:
            prov = [i for i, m in enumerate(months) if m in provisional_set and not np.isnan(y[i])]
            if prov:
                ax.plot(
                    x[prov],
                    y[prov],
                    linestyle="none",
                    marker="o",
                    markersize=7,
                    markerfacecolor="white",
                    markeredgecolor=BLUE,
                    markeredgewidth=1.6,
                    zorder=4,
                )
        missing_marks += [(int(x[i]), year) for i in range(len(y)) if np.isnan(y[i])]
    ax.set_xticks(x, MONTHS_SHORT)
    ax.set_xlim(0.5, 12.5)
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_formatter(FuncFormatter(_int_axis))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=6))
    ax.set_ylabel(ylabel, fontsize=9, color=DARK_GREY)
    handles, labels = ax.get_legend_handles_labels()
    if provisional_set:
        handles.append(Line2D([], [], linestyle="none", marker="o", markerfacecolor="white", markeredgecolor=BLUE))
        labels.append("voorlopig")
    if missing_marks:
        for month, year in missing_marks:
            ax.axvspan(month - 0.4, month + 0.4, color="#fde68a", alpha=0.5, zorder=1)
            ax.annotate(
                f"ontbreekt\n{MONTHS_SHORT[month - 1]} {year}",
                (month, 0),
                xytext=(0, 4),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize=7,
                color=WARN,
            )
        handles.append(Patch(color="#fde68a", alpha=0.5))
        labels.append("maand ontbreekt")
    ax.legend(
        handles,
        labels,
        frameon=False,
        fontsize=8,
        ncols=min(len(labels), 7),
        loc="upper center",
        bbox_to_anchor=(0.5, -0.08),
    )
    add_title(fig, title, subtitle, subtitle_at_top=True)
    add_source(fig, source)
    return settle_layout(fig, "monthly_series")


# --------------------------------------------------------------------------------------------
# Bars per gemeente
# --------------------------------------------------------------------------------------------


def plot_gemeente_bars(
    frame: pd.DataFrame,
    *,
    current_label: str,
    previous_label: str,
    title: str = "",
    subtitle: str = "",
    source: str | None = None,
) -> Figure:
    """Horizontal bars per gemeente: current and previous period side by side (counts).

    ``frame``: ``name``, ``current``, ``previous``, ``significant``, ``direction`` and
    optionally ``current_known``/``previous_known``. Incomplete totals are not drawn as bars but
    labelled "onvolledig"; significant changes get a marker.
    """
    frame = frame.sort_values("name", ascending=False).reset_index(drop=True)
    n = len(frame)
    fig = new_figure(max(2.4, 0.42 * n + 1.4))
    ax = fig.add_subplot()
    style_axes(ax)
    ax.grid(axis="y", visible=False)
    ax.grid(axis="x", color=LIGHT_GREY, linewidth=0.8)
    y = np.arange(n)
    h = 0.38
    current = frame["current"].astype("float64")
    previous = frame["previous"].astype("float64")
    ax.barh(y - h / 2, previous.fillna(0).where(previous.notna(), 0), height=h, color=LIGHT_BLUE, label=previous_label)
    ax.barh(y + h / 2, current.fillna(0).where(current.notna(), 0), height=h, color=BLUE, label=current_label)
    top = float(np.nanmax([current.max(), previous.max(), 1]))
    for i, row in frame.iterrows():
        for value, dy in ((row["current"], h / 2), (row["previous"], -h / 2)):
            text = "onvolledig" if pd.isna(value) else fmt_int(value)
            ax.text(
                (0 if pd.isna(value) else value) + top * 0.01,
                i + dy,
                text,
                va="center",
                fontsize=8,
                color=WARN if pd.isna(value) else DARK_GREY,
            )
        if bool(row.get("significant", False)):
            rising = row.get("direction") == "stijging"
            ax.text(
                top * 1.22,
                i,
                ("▲ significante stijging" if rising else "▼ significante daling"),
                va="center",
                ha="left",
                fontsize=8,
                color=RISE if rising else FALL,
                fontweight="bold",
            )
    ax.set_yticks(y, frame["name"], fontsize=9)
    ax.set_xlim(0, top * 1.65 if frame.get("significant", pd.Series(dtype=bool)).any() else top * 1.18)
    ax.xaxis.set_major_formatter(FuncFormatter(_int_axis))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=6))
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(
        handles[::-1],
        labels[::-1],
        frameon=False,
        fontsize=8,
        loc="upper center",
        ncols=2,
        bbox_to_anchor=(0.5, -0.06 if n > 6 else -0.12),
    )
    add_title(fig, title, subtitle)
    add_source(fig, source)
    return fig


# --------------------------------------------------------------------------------------------
# Funnel plot
# --------------------------------------------------------------------------------------------


def plot_funnel(
    units: pd.DataFrame,
    target_rate: float,
    curve: pd.DataFrame,
    *,
    title: str = "",
    subtitle: str = "",
    xlabel: str = "aantal woningen",
    ylabel: str = "per 1.000 woningen",
    target_label: str = "districtsgemiddelde",
    source: str | None = None,
) -> Figure:
    """Funnel plot: rate against the denominator, with the 95% and 99.8% limits of ``curve``
    (``Funnel.curve()``: the analysis's own limits, overdispersion included; drawn, not computed).

    ``units``: ``name``, ``count``, ``dwellings``, ``rate``, ``funnel`` (class from
    :func:`~veiligheidsbeeld.analysis.stats.funnel_classify`). Units without a rate are listed
    under the chart instead of being dropped silently.
    """
    fig = new_figure(4.4)
    ax = fig.add_subplot()
    style_axes(ax)
    known = units[units["rate"].notna() & units["dwellings"].notna()]
    unknown = units[~units.index.isin(known.index)]
    if known.empty or np.isnan(target_rate):
        return empty_figure(
            "Geen trechtergrafiek: er zijn geen gemeenten met een bekend aantal én woningvoorraad.",
            title=title,
            source=source,
        )
    limits = curve
    grid = curve["denominator"].to_numpy()
    ax.fill_between(grid, limits["lower_99_8"], limits["upper_99_8"], color=LIGHT_GREY, alpha=0.6, linewidth=0)
    ax.fill_between(grid, limits["lower_95"], limits["upper_95"], color="#d6e2f0", alpha=0.8, linewidth=0)
    for col, style in (("upper_95", "--"), ("lower_95", "--"), ("upper_99_8", ":"), ("lower_99_8", ":")):
        ax.plot(grid, limits[col], color=DARK_GREY, linewidth=1, linestyle=style)
    ax.axhline(target_rate, color=BLUE, linewidth=1.4)
    for _, row in known.iterrows():
        colour = FUNNEL_COLOURS.get(str(row["funnel"]), GREY)
        ax.scatter(row["dwellings"], row["rate"], s=42, color=colour, edgecolor="white", linewidth=0.8, zorder=4)
        ax.annotate(
            str(row["name"]),
            (row["dwellings"], row["rate"]),
            xytext=(5, 3),
            textcoords="offset points",
            fontsize=8,
            color="#111827",
        )
    upper = float(np.nanmax([known["rate"].max(), np.nanmax(limits["upper_95"].iloc[len(grid) // 10 :])]))
    ax.set_ylim(0, upper * 1.15)
    ax.set_xlim(0, float(grid[-1]))
    ax.xaxis.set_major_formatter(FuncFormatter(_int_axis))
    ax.yaxis.set_major_formatter(FuncFormatter(_num_axis))
    ax.set_xlabel(xlabel, fontsize=9, color=DARK_GREY)
    ax.set_ylabel(ylabel, fontsize=9, color=DARK_GREY)
    handles = [
        Line2D([], [], color=BLUE, linewidth=1.4),
        Line2D([], [], color=DARK_GREY, linestyle="--"),
        Line2D([], [], color=DARK_GREY, linestyle=":"),
    ]
    labels = [f"{target_label} ({fmt_num(target_rate, 1)})", "95%-grenzen", "99,8%-grenzen"]
    ax.legend(handles, labels, frameon=False, fontsize=8, loc="upper right")
    if len(unknown):
        names = ", ".join(map(str, unknown["name"]))
        ax.text(
            0.0,
            -0.2,
            f"Niet getoond (aantal of woningvoorraad onbekend): {names}",
            transform=ax.transAxes,
            fontsize=8,
            color=WARN,
            va="top",
        )
    add_title(fig, title, subtitle)
    add_source(fig, source)
    return fig


# --------------------------------------------------------------------------------------------
# Control chart
# --------------------------------------------------------------------------------------------


def plot_control_chart(
    chart: ControlChart,
    *,
    title: str = "",
    subtitle: str = "",
    baseline_end: date | None = None,
    source: str | None = None,
    height: float = 3.0,
) -> Figure:
    """A control chart: monthly counts against their expected value (level × seasonal index),
    warning and control limits, run-rule signals.

    Months without a count are marked "ontbreekt" (the line breaks there).
    """
    fig = new_figure(height)
    ax = fig.add_subplot()
    style_axes(ax)
    points = chart.points
    months = [date(d.year, d.month, 1) for d in points.index]
    x = np.arange(len(months))
    y = points["count"].to_numpy(dtype="float64")
    if baseline_end is not None:
        n_base = sum(1 for m in months if m <= baseline_end)
        ax.axvspan(-0.5, n_base - 0.5, color="#f3f4f6", zorder=0)
        ax.text(
            -0.3,
            0.99,
            "basisperiode",
            transform=ax.get_xaxis_transform(),
            ha="left",
            va="top",
            fontsize=7,
            color=DARK_GREY,
        )
    # Expected value and limits per month (a seasonal pattern makes them move), as steps.
    def line(column: str, **style: Any) -> None:
        values = points[column].to_numpy(dtype="float64")
        if column.startswith("l") and not (values > 0).any():
            return  # a lower limit of 0 everywhere is no limit
        ax.step(x, values, where="mid", **style)

    line("expected", color=BLUE, linewidth=1.2)
    line("ucl", color=RISE, linewidth=1, linestyle="--")
    line("lcl", color=FALL, linewidth=1, linestyle="--")
    line("upper_2sigma", color=GREY, linewidth=0.8, linestyle=":")
    line("lower_2sigma", color=GREY, linewidth=0.8, linestyle=":")
    ax.plot(x, y, color=DARK_GREY, linewidth=1.2, marker="o", markersize=3, zorder=3)
    signal = points["signal"].to_numpy(dtype=bool)
    if signal.any():
        ax.scatter(x[signal], y[signal], s=36, color=RISE, zorder=4, edgecolor="white", linewidth=0.6)
    for i in np.flatnonzero(np.isnan(y)):
        ax.axvspan(i - 0.4, i + 0.4, color="#fde68a", alpha=0.6, zorder=1)
        ax.text(
            i,
            0.02,
            "ontbreekt",
            rotation=90,
            transform=ax.get_xaxis_transform(),
            ha="center",
            va="bottom",
            fontsize=7,
            color=WARN,
        )
    ticks = [i for i, m in enumerate(months) if m.month in (1, 7)]
    ax.set_xticks(ticks, [f"{MONTHS_SHORT[months[i].month - 1]} {months[i].year}" for i in ticks])
    ax.set_xlim(-0.6, len(months) - 0.4)
    top = np.nanmax([np.nanmax(y) if np.isfinite(y).any() else 0, float(points["ucl"].max())])
    ax.set_ylim(0, top * 1.12 + 0.5)
    ax.yaxis.set_major_formatter(FuncFormatter(_int_axis))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=5))
    handles = [
        Line2D([], [], color=BLUE, linewidth=1.2),
        Line2D([], [], color=RISE, linestyle="--"),
        Line2D([], [], color=GREY, linestyle=":"),
        Line2D([], [], linestyle="none", marker="o", color=RISE),
    ]
    centre = "verwacht (met seizoen)" if chart.seasonal else f"verwacht ({fmt_num(chart.center, 1)})"
    labels = [centre, f"{chart.sigma:g}σ-grenzen", "2σ-lijnen", "signaal"]
    ax.legend(handles, labels, frameon=False, fontsize=7.5, ncols=4, loc="upper center", bbox_to_anchor=(0.5, -0.1))
    add_title(fig, title, subtitle, subtitle_at_top=True)
    add_source(fig, source)
    pin_empty_axis_labels(ax)
    return settle_layout(fig, "control_chart")
