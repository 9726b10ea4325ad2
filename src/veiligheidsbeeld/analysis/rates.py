"""Rates per inhabitants (or dwellings, or any other denominator): the one place they are computed.

A rate is only meaningful when both the count and the denominator are known and the
denominator is positive. Suppressed counts (missing in the open data) and areas without
inhabitants therefore give NaN, never 0 (which would read as "no crime") or inf.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import overload

import numpy as np
import pandas as pd
from scipy import stats

Numeric = float | int
ArrayLike = pd.Series | np.ndarray


def _as_float(x: object) -> float | np.ndarray | pd.Series:
    """Float view of a scalar/array/Series with every kind of missing (None, pd.NA) as NaN."""
    if isinstance(x, pd.Series):
        return pd.to_numeric(x, errors="coerce").astype("float64")
    if isinstance(x, (np.ndarray, list, tuple)):
        return pd.to_numeric(pd.Series(np.asarray(x, dtype=object)), errors="coerce").to_numpy(
            dtype="float64", na_value=np.nan
        )
    if x is None or x is pd.NA:
        return math.nan
    return float(x)  # type: ignore[arg-type]


def _denominator(x: object) -> float | np.ndarray | pd.Series:
    d = _as_float(x)
    if np.any(np.asarray(d) < 0):
        raise ValueError("A rate denominator (e.g. number of inhabitants) cannot be negative")
    # Zero inhabitants means "no rate", not a division by zero.
    if isinstance(d, float):
        return math.nan if d == 0 else d
    return d.where(d != 0) if isinstance(d, pd.Series) else np.where(d == 0, np.nan, d)


@overload
def rate_per(count: Numeric | None, denominator: Numeric | None, per: float = ...) -> float: ...
@overload
def rate_per(count: ArrayLike, denominator: object, per: float = ...) -> pd.Series | np.ndarray: ...
@overload
def rate_per(count: object, denominator: ArrayLike, per: float = ...) -> pd.Series | np.ndarray: ...


def rate_per(count: object, denominator: object, per: float = 1000) -> object:
    """``count / denominator * per``, e.g. crimes per 1,000 inhabitants.

    Works on scalars, numpy arrays and pandas Series (Series are aligned on their index).
    Returns NaN where the count is missing (suppressed) or the denominator is missing or 0.
    Negative denominators are a data error and raise ``ValueError``.
    """
    c = _as_float(count)
    d = _denominator(denominator)
    result = c / d * per
    return float(result) if isinstance(result, (float, np.floating)) else result


def rate_ci(
    count: object, denominator: object, per: float = 1000, level: float = 0.95
) -> tuple[object, object]:
    """Exact (Garwood) Poisson confidence interval for a rate per ``per``.

    The count's interval uses the chi-square form of the exact Poisson limits,
    ``chi2.ppf(a/2, 2k) / 2`` and ``chi2.ppf(1 - a/2, 2k + 2) / 2`` (lower limit 0 when k = 0),
    scaled by ``per / denominator``. Vectorised like :func:`rate_per`; NaN where the rate is NaN.
    """
    if not 0 < level < 1:
        raise ValueError("level must lie strictly between 0 and 1")
    c = _as_float(count)
    d = _denominator(denominator)
    lower_count, upper_count = _garwood_count_limits(c, level)
    lower, upper = lower_count / d * per, upper_count / d * per
    if isinstance(lower, (float, np.floating)):
        return float(lower), float(upper)
    return lower, upper


def _garwood_count_limits(c: float | np.ndarray | pd.Series, level: float) -> tuple:
    """Exact Poisson limits for the count(s) ``c``, in the same container type as ``c``."""
    tail = (1 - level) / 2
    k = np.asarray(c, dtype="float64")
    with np.errstate(invalid="ignore"):
        # chi2 with 0 degrees of freedom is undefined; the exact lower limit for k = 0 is 0.
        lower = np.where(k == 0, 0.0, stats.chi2.ppf(tail, 2 * k) / 2)
        upper = stats.chi2.ppf(1 - tail, 2 * k + 2) / 2
    lower = np.where(np.isnan(k), np.nan, lower)
    if isinstance(c, pd.Series):
        return pd.Series(lower, index=c.index), pd.Series(upper, index=c.index)
    if np.ndim(k) == 0:
        return float(lower), float(upper)
    return lower, upper


@dataclass(frozen=True)
class RateEstimate:
    """One rate with its exact confidence interval and, when it cannot be given, why (Dutch)."""

    count: int | None
    denominator: float | None
    per: float
    rate: float
    ci_lower: float
    ci_upper: float
    level: float
    reason: str | None = None

    @property
    def available(self) -> bool:
        return not math.isnan(self.rate)


def rate_estimate(
    count: int | None, denominator: float | None, per: float = 1000, level: float = 0.95
) -> RateEstimate:
    """Scalar convenience: the rate, its exact CI and a Dutch reason when there is no rate."""
    count_missing = count is None or bool(pd.isna(count))
    denominator_missing = denominator is None or bool(pd.isna(denominator))
    reason = None
    if count_missing:
        reason = "aantal onderdrukt of onbekend"
    elif denominator_missing:
        reason = "noemer (bijv. inwonertal) onbekend"
    elif denominator == 0:
        reason = "noemer is 0 (geen inwoners)"
    lower, upper = rate_ci(count, denominator, per, level)
    return RateEstimate(
        count=None if count_missing else int(count),  # type: ignore[arg-type]
        denominator=None if denominator_missing else float(denominator),  # type: ignore[arg-type]
        per=per,
        rate=float(rate_per(count, denominator, per)),
        ci_lower=float(lower),  # type: ignore[arg-type]
        ci_upper=float(upper),  # type: ignore[arg-type]
        level=level,
        reason=reason,
    )
