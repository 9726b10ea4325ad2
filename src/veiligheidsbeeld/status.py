"""What is in the warehouse and how fresh it is (``veiligheidsbeeld status``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

from veiligheidsbeeld.config import KNOWN_POLICE_TABLES, Settings
from veiligheidsbeeld.analysis.periods import add_months
from veiligheidsbeeld.warehouse import db, queries

#: The police publish a month's figures in the course of the next month; data whose latest
#: month is older than this many months before today is stale.
STALE_AFTER_MONTHS = 2


@dataclass(frozen=True)
class TableStatus:
    table_id: str
    last_month: date | None
    vintage: str
    fetched_at: str | None
    provisional_months: int
    suppressed_cells: int
    rows: int
    stale: bool
    stale_reason: str


@dataclass
class WarehouseStatus:
    path: Path
    tables: list[TableStatus] = field(default_factory=list)
    validation_lines: list[str] = field(default_factory=list)


def is_stale(last_month: date | None, today: date, *, yearly: bool = False) -> tuple[bool, str]:
    if last_month is None:
        return True, "geen gegevens"
    if yearly:
        # A yearly table (47025NED) publishes year Y early in Y+1: stale once last year is missing
        # a quarter into this year.
        expected_year = add_months(date(today.year, today.month, 1), -3).year - 1
        if last_month.year < expected_year:
            return True, f"laatste jaar {last_month.year}, verwacht minstens {expected_year}"
        return False, ""
    expected = add_months(date(today.year, today.month, 1), -STALE_AFTER_MONTHS)
    if last_month < expected:
        return True, f"laatste maand {last_month:%Y-%m}, verwacht minstens {expected:%Y-%m}"
    return False, ""


def warehouse_status(settings: Settings, today: date | None = None) -> WarehouseStatus:
    today = today or datetime.now(timezone.utc).date()
    path = settings.paths.resolved().warehouse
    out = WarehouseStatus(path=path)
    with db.reader(path) as con:
        rows = queries.latest_loads(con)
        for table_id, last_month, vintages, provisional, suppressed, n_rows, fetched_at in rows:
            spec = KNOWN_POLICE_TABLES.get(table_id)
            stale, reason = is_stale(last_month, today, yearly=bool(spec and spec.yearly))
            out.tables.append(
                TableStatus(table_id, last_month, vintages.split(",")[-1], fetched_at, provisional, suppressed, n_rows,
                            stale, reason)
            )
        from veiligheidsbeeld.warehouse.validation import status_lines

        out.validation_lines = status_lines(queries.validation_runs(con), queries.validation_findings_for_status(con))
    return out
