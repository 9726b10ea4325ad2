"""Reporting periods as first-class objects.

Every comparison in the reports is "this period against that period". Keeping the period an
explicit object (inclusive start and end date plus a Dutch label) means the same statistics can
later run on finer sources, such as 14-day periods built from incident data, without change.

Months are represented by the date of their first day throughout this package.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date

from veiligheidsbeeld.errors import ConfigError, DataError

LOCALE = "nl_NL"
#: The users' clock: "today" for a report date is today in the Netherlands, not in UTC.
TIMEZONE = "Europe/Amsterdam"
#: Separator between the two ends of a period label ("oktober 2023 – maart 2024").
RANGE_SEPARATOR = " – "


# --------------------------------------------------------------------------------------------
# Month arithmetic
# --------------------------------------------------------------------------------------------


def month_start(d: date) -> date:
    """First day of the month containing ``d`` (also accepts datetime / pandas Timestamp)."""
    return date(d.year, d.month, 1)


def month_end(d: date) -> date:
    """Last day of the month containing ``d``."""
    return date(d.year, d.month, calendar.monthrange(d.year, d.month)[1])


def add_months(d: date, n: int) -> date:
    """First day of the month ``n`` months after (negative: before) the month of ``d``."""
    index = d.year * 12 + (d.month - 1) + n
    return date(index // 12, index % 12 + 1, 1)


def _month_index(d: date) -> int:
    return d.year * 12 + (d.month - 1)


def _shift_date_years(d: date, n: int) -> date:
    # 29 February has no counterpart in a non-leap year; the last day of February stands in.
    year = d.year + n
    return date(year, d.month, min(d.day, calendar.monthrange(year, d.month)[1]))


# --------------------------------------------------------------------------------------------
# Labels
# --------------------------------------------------------------------------------------------


def _fmt(d: date, pattern: str) -> str:
    return format_date(d, pattern, locale=LOCALE)


def month_label(first: date, last: date) -> str:
    """Dutch label for a run of whole months: "februari 2024", "januari – maart 2024",
    "oktober 2023 – maart 2024"."""
    if _month_index(first) == _month_index(last):
        return _fmt(first, "MMMM y")
    if first.year == last.year:
        return _fmt(first, "MMMM") + RANGE_SEPARATOR + _fmt(last, "MMMM y")
    return _fmt(first, "MMMM y") + RANGE_SEPARATOR + _fmt(last, "MMMM y")


def day_label(start: date, end: date) -> str:
    """Dutch label for an arbitrary run of days: "1 – 14 januari 2024",
    "29 januari – 11 februari 2024", "25 december 2023 – 7 januari 2024"."""
    if start == end:
        return _fmt(start, "d MMMM y")
    if start.year != end.year:
        return _fmt(start, "d MMMM y") + RANGE_SEPARATOR + _fmt(end, "d MMMM y")
    if start.month != end.month:
        return _fmt(start, "d MMMM") + RANGE_SEPARATOR + _fmt(end, "d MMMM y")
    return f"{start.day}{RANGE_SEPARATOR}{_fmt(end, 'd MMMM y')}"


def _default_label(start: date, end: date) -> str:
    if start.day == 1 and end == month_end(end):
        return month_label(start, end)
    return day_label(start, end)


# --------------------------------------------------------------------------------------------
# Period
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """An inclusive date range with a Dutch label.

    ``label`` may be left empty; it is then derived from the dates (month names when the period
    consists of whole months, day-month-year otherwise).
    """

    start: date
    end: date
    label: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        # Normalise datetime / Timestamp to plain dates so comparisons and hashing behave.
        object.__setattr__(self, "start", date(self.start.year, self.start.month, self.start.day))
        object.__setattr__(self, "end", date(self.end.year, self.end.month, self.end.day))
        if self.end < self.start:
            raise ValueError(f"Period ends ({self.end}) before it starts ({self.start})")
        if not self.label:
            object.__setattr__(self, "label", _default_label(self.start, self.end))

    # -- constructors ------------------------------------------------------------------------

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        """One calendar month."""
        first = date(year, month, 1)
        return cls(first, month_end(first))

    @classmethod
    def month_range(cls, first: date, last: date) -> Period:
        """Whole months from the month of ``first`` up to and including the month of ``last``.

        (Named ``month_range`` rather than ``months`` because ``Period.months()`` is the instance
        helper listing the months of a period.)
        """
        return cls(month_start(first), month_end(last))

    @classmethod
    def days14(cls, start: date) -> Period:
        """The 14-day period starting on ``start`` (for incident-level sources)."""
        return cls(start, start + timedelta(days=13))

    # -- helpers -----------------------------------------------------------------------------

    @property
    def days(self) -> int:
        """Number of days, both ends included (usable as exposure)."""
        return (self.end - self.start).days + 1

    @property
    def is_month_aligned(self) -> bool:
        """True when the period consists of whole calendar months."""
        return self.start.day == 1 and self.end == month_end(self.end)

    def months(self) -> list[date]:
        """First days of the months in a month-aligned period, in order."""
        if not self.is_month_aligned:
            raise ValueError(f"Period {self.label!r} does not consist of whole months")
        n = _month_index(self.end) - _month_index(self.start) + 1
        return [add_months(self.start, i) for i in range(n)]

    @property
    def n_months(self) -> int:
        """Number of whole months (month-aligned periods only)."""
        return len(self.months())

    def contains(self, d: date) -> bool:
        """Whether the day ``d`` falls inside the period."""
        return self.start <= date(d.year, d.month, d.day) <= self.end

    def shift_years(self, n: int) -> Period:
        """The same span ``n`` years later (negative: earlier).

        Month-aligned periods stay month-aligned, so February 2023 shifted to 2024 ends on the
        29th; other periods shift day by day (29 February becomes 28 February).
        """
        if self.is_month_aligned:
            return Period.month_range(add_months(self.start, 12 * n), add_months(self.end, 12 * n))
        return Period(_shift_date_years(self.start, n), _shift_date_years(self.end, n))

    def __str__(self) -> str:
        return self.label


# --------------------------------------------------------------------------------------------
# Latest month, gaps
# --------------------------------------------------------------------------------------------


def today_local() -> date:
    """Today's date in Europe/Amsterdam (between 00:00 and 01:00/02:00 local time UTC is a day behind)."""
    return datetime.now(ZoneInfo(TIMEZONE)).date()


def parse_report_date(text: str | date | datetime | None) -> date | None:
    """A report date as typed (JJJJ-MM-DD); a date that does not exist (2023-02-29) is called so,
    a wrongly formatted one too: both one sentence."""
    if text is None or isinstance(text, date):
        return text.date() if isinstance(text, datetime) else text
    raw = str(text).strip()
    match = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", raw)
    if not match:
        raise ConfigError(f"Rapportdatum '{text}' heeft een verkeerd formaat; schrijf JJJJ-MM-DD, bijvoorbeeld 2024-01-22.")
    year, month, day = (int(g) for g in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        raise ConfigError(f"Rapportdatum '{text}' bestaat niet (geen dag {day} in maand {month} van {year}).") from None


def check_report_date(
    report_date: str | date | datetime | None,
    available_months: Iterable[date] | None = None,
    *,
    today: date | None = None,
) -> date:
    """The one guard for report dates, used by ``report``, ``run`` and the flows alike.

    ``None`` is today (Europe/Amsterdam). Refused, as one sentence: a date that does not exist or
    is badly written, a date in the future, and (when the months in the data are given) a date
    before the end of the first month with data. Returns the date.
    """
    today = today_local() if today is None else today
    checked = parse_report_date(report_date) or today
    if checked > today:
        raise ConfigError(
            f"De rapportdatum {_fmt(checked, 'd MMMM y')} ligt in de toekomst "
            f"(vandaag is {_fmt(today, 'd MMMM y')}). Kies een datum tot en met vandaag."
        )
    if available_months is not None:
        latest_complete_month(checked, available_months, today=today)
    return checked


def latest_complete_month(
    report_date: date, available_months: Iterable[date], *, today: date | None = None
) -> date:
    """The latest month that lies entirely before ``report_date`` and is present in the data.

    The month containing ``report_date`` is incomplete, and the police data lag, so the answer
    can be several months back. Returns the first day of that month.

    Raises ``ConfigError`` when ``report_date`` lies after ``today`` (default: the real date),
    and ``DataError`` when there are no data before ``report_date``.
    """
    report_date = check_report_date(date(report_date.year, report_date.month, report_date.day), today=today)
    months = sorted({month_start(m) for m in available_months})
    if not months:
        raise DataError("Er zijn geen maanden met gegevens beschikbaar.")
    # A month is complete when it ends before the report date, i.e. starts before its month.
    cutoff = month_start(report_date)
    complete = [m for m in months if m < cutoff]
    if not complete:
        raise DataError(
            f"De rapportdatum {_fmt(report_date, 'd MMMM y')} ligt vóór het einde van de eerste "
            f"maand met gegevens ({_fmt(months[0], 'MMMM y')}); er is nog geen volledige maand "
            "om over te rapporteren."
        )
    return complete[-1]


def missing_months(available: Iterable[date], first: date, last: date) -> list[date]:
    """Months between ``first`` and ``last`` (inclusive) that are absent from ``available``."""
    present = {month_start(m) for m in available}
    return [m for m in Period.month_range(first, last).months() if m not in present]


# --------------------------------------------------------------------------------------------
# Standard comparisons
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    """One standard comparison: ``current`` against ``previous``."""

    key: str
    label_nl: str
    current: Period
    previous: Period

    @property
    def description(self) -> str:
        """E.g. "februari 2024 t.o.v. februari 2023"."""
        return f"{self.current.label} t.o.v. {self.previous.label}"


def season_for(
    latest_month: date, *, season_start_month: int = 10, season_end_month: int = 3
) -> Period:
    """The full season (e.g. October–March) containing ``latest_month``, or, when
    ``latest_month`` is outside the season, the most recent season that ended before it."""
    for m in (season_start_month, season_end_month):
        if not 1 <= m <= 12:
            raise ConfigError(
                f"Seizoensmaand {m} bestaat niet; kies een maand van 1 tot en met 12."
            )
    latest = month_start(latest_month)
    length = (season_end_month - season_start_month) % 12  # months after the first one
    # The most recent occurrence of the start month opens either the season we are in or, when
    # more than ``length`` months have passed since, the most recent season that has ended.
    # Both cases are the season we want.
    start = add_months(latest, -((latest.month - season_start_month) % 12))
    end = add_months(start, length)
    return Period.month_range(start, end)


def standard_comparisons(
    latest_month: date, *, season_start_month: int = 10, season_end_month: int = 3
) -> list[Comparison]:
    """The five comparisons every report shows, ending at ``latest_month``.

    - ``maand``: the latest month against the same month a year earlier;
    - ``kwartaal``: the latest 3 months against the same 3 months a year earlier;
    - ``jaar_tot_nu``: January up to the latest month against the same months last year;
    - ``12_maanden``: the latest 12 months against the 12 months before them;
    - ``donkere_dagen``: the current Donkere Dagen season (default October–March; outside the
      season the most recent one), truncated at the latest month, against the same span one
      year earlier.
    """
    latest = month_start(latest_month)

    def vs_last_year(key: str, label: str, current: Period) -> Comparison:
        return Comparison(key, label, current, current.shift_years(-1))

    season = season_for(
        latest, season_start_month=season_start_month, season_end_month=season_end_month
    )
    season_current = Period.month_range(season.start, min(season.end, latest))
    season_label = "Donkere Dagen"
    if season_current.end < season.end:
        season_label += f" (t/m {_fmt(latest, 'MMMM')})"

    last_3 = Period.month_range(add_months(latest, -2), latest)
    year_to_date = Period.month_range(date(latest.year, 1, 1), latest)
    last_12 = Period.month_range(add_months(latest, -11), latest)
    return [
        vs_last_year("maand", "Maand", Period.month(latest.year, latest.month)),
        vs_last_year("kwartaal", "Laatste 3 maanden", last_3),
        vs_last_year("jaar_tot_nu", "Jaar tot nu", year_to_date),
        vs_last_year("12_maanden", "Laatste 12 maanden", last_12),
        vs_last_year("donkere_dagen", season_label, season_current),
    ]
