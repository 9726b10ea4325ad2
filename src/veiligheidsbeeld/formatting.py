"""Dutch (nl-NL) formatting of numbers and dates for everything a user reads."""

from __future__ import annotations

import math
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from babel.dates import format_date
from babel.numbers import format_decimal, format_percent

LOCALE = "nl_NL"


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def fmt_int(value: int | float | None) -> str:
    """12345 -> '12.345'; missing -> '–' (never 0)."""
    if _missing(value):
        return "–"
    return format_decimal(int(round(float(value))), locale=LOCALE)


def fmt_num(value: float | None, digits: int = 1) -> str:
    """1234.56 -> '1.234,6'."""
    if _missing(value):
        return "–"
    rounded = float(Decimal(str(float(value))).quantize(Decimal(1).scaleb(-digits), ROUND_HALF_UP))
    return format_decimal(rounded, format=f"#,##0.{'0' * digits}" if digits else "#,##0", locale=LOCALE)


def fmt_signed_int(value: int | float | None) -> str:
    if _missing(value):
        return "–"
    n = int(round(float(value)))
    return ("+" if n > 0 else "") + fmt_int(n)


def fmt_pct(value: float | None, digits: int = 0, signed: bool = True) -> str:
    """0.125 -> '+13%' (a fraction in, a Dutch percentage out)."""
    if _missing(value):
        return "–"
    # Round half up as readers expect (babel rounds half to even: 12.5% would show as 12%).
    rounded = float(Decimal(str(float(value) * 100)).quantize(Decimal(1).scaleb(-digits), ROUND_HALF_UP)) / 100
    text = format_percent(rounded, format=f"#,##0{'.' + '0' * digits if digits else ''}%", locale=LOCALE)
    return ("+" if signed and value > 0 else "") + text


def fmt_month(d: date) -> str:
    """date(2024, 2, 1) -> 'februari 2024'."""
    return format_date(d, "MMMM y", locale=LOCALE)


def fmt_date(d: date) -> str:
    """date(2024, 2, 13) -> '13 februari 2024'."""
    return format_date(d, "d MMMM y", locale=LOCALE)
