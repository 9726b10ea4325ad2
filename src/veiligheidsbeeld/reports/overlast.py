"""The overlast target monitor as a report product: the strategy's reduction of overlast against
its base year, for the eenheid, its districts and gemeenten.

* :func:`render_overlast_monitor` writes ``reports/<year>/overlastdoel/``:
  ``overlastdoel-<base year>-<year>.txt`` (the text table), ``.csv`` and ``.json``;
* :func:`monitor_row_view` and :func:`index_lines` are the monitor's table rows and index lines,
  shown in the overlast chapters of the annual report (:mod:`veiligheidsbeeld.reports.jaaranalyse`).

The figures, statuses and flags are the analysis's
(:func:`veiligheidsbeeld.analysis.overlast_doel.overlast_monitor`); files go through the report
kit's :func:`~veiligheidsbeeld.reports.kit.publish`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from veiligheidsbeeld.analysis.overlast_doel import MonitorResult, MonitorRow, OutputFormat
from veiligheidsbeeld.config import Settings
from veiligheidsbeeld.constants import TOTAL_CODE
from veiligheidsbeeld.errors import ConfigError
from veiligheidsbeeld.files import csv_text, ensure_dir
from veiligheidsbeeld.formatting import fmt_int, fmt_num, fmt_pct
from veiligheidsbeeld.reports.kit import fmt_p, publish, safe_path

REPORT_DIR = "overlastdoel"


def render_overlast_monitor(settings: Any, year: int, out_dir: Path | None = None) -> list[Path]:
    """The overlast target monitor as of ``year`` for the eenheid, its districts and gemeenten,
    written as text table, CSV and JSON (default ``<reports>/<year>/overlastdoel/``). Returns the
    files written. ``settings``: :class:`~veiligheidsbeeld.config.Settings`."""
    from veiligheidsbeeld.analysis.overlast_doel import format_monitor, overlast_monitor
    from veiligheidsbeeld.warehouse import db, queries

    paths = settings.paths.resolved()
    with db.reader(paths.warehouse) as con:
        inputs = queries.overlast_inputs(con, settings, with_gemeenten=True)
    result = overlast_monitor(inputs)
    out = ensure_dir(Path(out_dir) if out_dir is not None else paths.reports / str(int(year)) / REPORT_DIR,
                     "rapportmap")
    synthetic = result.info.synthetic
    notice = "SYNTHETISCHE CIJFERS (demo/test) — deze aantallen zijn kunstmatig.\n\n" if synthetic else ""
    # Like the report tables, the CSV carries a 'synthetisch' column so a file on its own says what it is.
    texts = {
        "txt": notice + format_monitor(result, "table"),
        "csv": csv_text(result.export_frame().assign(synthetisch=synthetic)),
        "json": format_monitor(result, "json"),
    }
    return [publish(safe_path(out, f"overlastdoel-{result.target.base_year}-{int(year)}.{suffix}"), text)
            for suffix, text in texts.items()]


def run_doel_overlast(settings: Settings, region: str | None = None, fmt: OutputFormat | str = "table") -> str:
    """What ``veiligheidsbeeld doel overlast [--region CODE] [--format table|csv|json]`` prints.

    Opens the warehouse read-only; errors are package errors with a Dutch message.
    """
    from veiligheidsbeeld.analysis.overlast_doel import format_monitor, overlast_monitor
    from veiligheidsbeeld.warehouse.db import reader
    from veiligheidsbeeld.warehouse.queries import overlast_inputs

    if str(fmt).strip().lower() not in ("table", "csv", "json"):
        raise ConfigError(f"Onbekend formaat '{fmt}'. Kies table, csv of json.")
    with reader(settings.paths.resolved().warehouse) as con:
        inputs = overlast_inputs(con, settings, region)
    return format_monitor(overlast_monitor(inputs), fmt)


# --------------------------------------------------------------------------------------------
# The monitor in the annual report's tables and charts
# --------------------------------------------------------------------------------------------


def monitor_row_view(r: MonitorRow) -> dict[str, Any]:
    """One row of the monitor as a table row (Dutch text)."""
    ci = "–"
    if r.rate_ratio is not None:
        upper = fmt_num(r.ci_upper, 2) if r.ci_upper is not None else "∞"
        ci = f"{fmt_num(r.rate_ratio, 2)} ({fmt_num(r.ci_lower, 2)}–{upper})"
    return {
        "name": r.region_name, "period": r.period, "category": f"{r.category} {r.category_name}",
        "count": fmt_int(r.count), "baseline": fmt_int(r.baseline), "index": fmt_num(r.index, 1),
        "reduction": fmt_pct(r.reduction, 1), "share": fmt_pct(r.target_share, 0, signed=False),
        "norm": f"{fmt_num(r.norm_index, 1)}", "norm_name": r.norm, "ratio": ci, "p": fmt_p(r.p_below_norm),
        "status": r.status, "status_class": status_class(r.status), "certainty": r.certainty or "",
        "flags": "; ".join(f for f in r.flags if f != "bevat voorlopige cijfers"), "provisional": r.provisional,
    }


def status_class(status: str) -> str:
    """The CSS class of a monitor status: reached/on course, missed, or neither."""
    if status in ("doel gehaald", "tussendoel gehaald", "op koers"):
        return "status-ok"
    if status in ("doel niet gehaald", "tussendoel niet gehaald", "niet op koers"):
        return "status-bad"
    return "status-neutral"


def index_lines(monitor: MonitorResult, region_codes: Sequence[str], category: str = TOTAL_CODE) -> dict[str, pd.Series]:
    """Region name -> index by year (calendar years only) from the monitor."""
    out: dict[str, pd.Series] = {}
    for code in region_codes:
        rows = [r for r in monitor.rows if r.region_code == code and r.category == category and r.period_kind == "jaar"]
        if rows:
            out[rows[0].region_name] = pd.Series(
                [np.nan if r.index is None else r.index for r in rows], index=[int(r.period) for r in rows], dtype="float64"
            )
    return out
