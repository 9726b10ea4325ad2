"""The statistics behind every report: count comparisons, funnel plots and control charts.

All tests treat registered counts as Poisson. Crime counts are usually overdispersed (more
variable than Poisson), so these flags are a screening aid, not proof of a real change.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats import rates as sm_rates

from veiligheidsbeeld.analysis.rates import rate_per
from veiligheidsbeeld.errors import DataError

Method = Literal["etest", "exact-cond"]
Direction = Literal["stijging", "daling", "gelijk"]

STIJGING: Direction = "stijging"
DALING: Direction = "daling"
GELIJK: Direction = "gelijk"

#: Above this grid size the E-test's double sum gets slow (it is quadratic in the grid) and is
#: replaced by the asymptotic score test it converges to; see ``_poisson_pvalue``.
_ETEST_MAX_GRID = 1500
#: Tail mass ignored on each side when building the E-test summation grid (statsmodels uses the
#: same truncation for the upper tail).
_ETEST_TAIL = 1e-13


# --------------------------------------------------------------------------------------------
# Comparing two counts
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CountComparison:
    """Current against previous count (with exposures, e.g. days or population).

    ``difference`` is in counts; ``pct_change`` and ``rate_ratio`` compare rates (count per
    exposure), which equals comparing counts when the exposures are equal. ``None`` marks a value
    that does not exist (``pct_change`` when previous is 0; the upper CI limit when it is
    unbounded) rather than inf. ``testable`` is False, with a Dutch ``reason``, when a count is
    missing (suppressed).
    """

    current: int | None
    previous: int | None
    exposure_current: float
    exposure_previous: float
    difference: int | None
    pct_change: float | None
    rate_ratio: float | None
    ci_lower: float | None
    ci_upper: float | None
    ci_level: float
    ci_method: str | None
    p_value: float | None
    test_method: str | None
    alpha: float
    significant: bool
    direction: Direction | None
    sqrt_z: float | None
    testable: bool
    reason: str | None = None


def _as_count(x: object, name: str) -> int | None:
    if x is None or pd.isna(x):  # type: ignore[arg-type]
        return None
    value = float(x)  # type: ignore[arg-type]
    if value < 0 or not value.is_integer():
        raise ValueError(f"{name} must be a non-negative whole number, got {x!r}")
    return int(value)


def compare_counts(
    current: int | None,
    previous: int | None,
    *,
    exposure_current: float = 1.0,
    exposure_previous: float = 1.0,
    alpha: float = 0.05,
    method: Method = "etest",
) -> CountComparison:
    """Compare a current count with a previous one under a Poisson model.

    - ``p_value``: two-sided test of equal rates with
      ``statsmodels.stats.rates.test_poisson_2indep``. ``method="etest"`` (default) is the
      E-test with the score statistic (Krishnamoorthy & Thomson 2004; "etest-score"), which
      keeps its size well for small counts; for very large counts (summation grid above
      ``_ETEST_MAX_GRID``) the asymptotic score test is used instead, to which the E-test
      converges (``test_method`` records which one ran). ``method="exact-cond"`` is the
      conservative exact conditional (binomial) test.
    - ``significant`` is ``p_value < alpha``. **Flags come from the p-value, not from
      ``sqrt_z``.**
    - ``sqrt_z`` is the classic square-root screening statistic
      ``2 * (sqrt(current) - sqrt(previous * exposure_current / exposure_previous))``. It treats
      the previous count as a known expectation and so ignores its variance: 25 against 16
      gives ``sqrt_z = 2.0`` ("significant" by the |z| >= 2 rule of thumb) while the E-test
      gives p = 0.165. It is reported for comparison with older reports only.
    - ``rate_ratio`` with a ``1 - alpha`` confidence interval from ``confint_poisson_2indep``.
      With ``method="etest"``: the score interval (the one matching the score statistic) when
      both counts are positive; when a count is 0 that interval degenerates, so the MOVER
      interval is used. With ``method="exact-cond"``: the exact conditional interval
      (Clopper-Pearson on the binomial split of the total). ``ci_method`` records which. The
      interval and the p-value come from different procedures and can, in rare borderline
      cases, disagree about excluding 1; ``significant`` follows the p-value.
    - ``direction``: "stijging", "daling" or "gelijk" by the rates, regardless of significance.

    Missing counts (None/NaN: suppressed) give ``testable=False`` with a reason, not an error.
    """
    if not 0 < alpha < 1:
        raise ValueError("alpha must lie strictly between 0 and 1")
    if not (exposure_current > 0 and exposure_previous > 0):
        raise ValueError("exposures must be positive")
    if method not in ("etest", "exact-cond"):
        raise ValueError(f"unknown method {method!r}; use 'etest' or 'exact-cond'")
    cur = _as_count(current, "current")
    prev = _as_count(previous, "previous")
    exp_c, exp_p = float(exposure_current), float(exposure_previous)

    if cur is None or prev is None:
        missing = [n for n, v in (("huidige", cur), ("vorige", prev)) if v is None]
        return CountComparison(
            current=cur,
            previous=prev,
            exposure_current=exp_c,
            exposure_previous=exp_p,
            difference=None,
            pct_change=None,
            rate_ratio=None,
            ci_lower=None,
            ci_upper=None,
            ci_level=1 - alpha,
            ci_method=None,
            p_value=None,
            test_method=None,
            alpha=alpha,
            significant=False,
            direction=None,
            sqrt_z=None,
            testable=False,
            reason=f"aantal {' en '.join(missing)} periode onderdrukt of onbekend",
        )

    # The previous count scaled to the current exposure: what "no change" would predict.
    expected = prev * exp_c / exp_p
    rate_ratio = (cur / exp_c) / (prev / exp_p) if prev > 0 else None
    if cur > expected:
        direction: Direction = STIJGING
    elif cur < expected:
        direction = DALING
    else:
        direction = GELIJK
    p_value, test_method = _poisson_pvalue(cur, exp_c, prev, exp_p, method)
    ci_lower, ci_upper, ci_method = _ratio_ci(
        cur, exp_c, prev, exp_p, alpha, exact=method == "exact-cond"
    )
    return CountComparison(
        current=cur,
        previous=prev,
        exposure_current=exp_c,
        exposure_previous=exp_p,
        difference=cur - prev,
        pct_change=None if rate_ratio is None else 100.0 * (rate_ratio - 1.0),
        rate_ratio=rate_ratio,
        ci_lower=ci_lower,
        ci_upper=ci_upper,
        ci_level=1 - alpha,
        ci_method=ci_method,
        p_value=p_value,
        test_method=test_method,
        alpha=alpha,
        significant=p_value < alpha,
        direction=direction,
        sqrt_z=2.0 * (math.sqrt(cur) - math.sqrt(expected)),
        testable=True,
        reason=None,
    )


@lru_cache(maxsize=65536)
def _poisson_pvalue(
    count1: int, exposure1: float, count2: int, exposure2: float, method: Method
) -> tuple[float, str]:
    """Two-sided p-value for equal Poisson rates, and the name of the test that produced it."""
    if count1 + count2 == 0:
        # No events at all carries no evidence of a difference (statsmodels' exact test fails).
        return 1.0, "etest-score" if method == "etest" else "exact-cond"
    # statsmodels also reports the (here unused) ratio, which divides by zero when count2 == 0.
    with np.errstate(divide="ignore", invalid="ignore"):
        if method == "exact-cond":
            res = sm_rates.test_poisson_2indep(
                count1, exposure1, count2, exposure2, method="exact-cond"
            )
            return float(res.pvalue), "exact-cond"
        grid = _etest_grid(count1, exposure1, count2, exposure2)
        if grid is None:
            res = sm_rates.test_poisson_2indep(count1, exposure1, count2, exposure2, method="score")
            return float(res.pvalue), "score"
        res = sm_rates.test_poisson_2indep(
            count1, exposure1, count2, exposure2, method="etest-score", etest_kwds={"y_grid": grid}
        )
    return float(min(res.pvalue, 1.0)), "etest-score"


def _etest_grid(count1: int, exposure1: float, count2: int, exposure2: float) -> np.ndarray | None:
    """Summation grid for the E-test, or None when it would be too large.

    statsmodels sums over 0..upper quantile for both counts; with large counts almost all of that
    grid has negligible probability, so we also cut the lower tail (same 1e-13 tail mass). The
    means are the null-constrained estimates statsmodels itself uses.
    """
    rate2 = (count1 + count2) / (exposure1 + exposure2)
    mean1, mean2 = exposure1 * rate2, exposure2 * rate2
    low = min(stats.poisson.ppf(_ETEST_TAIL, mean1), stats.poisson.ppf(_ETEST_TAIL, mean2))
    high = max(stats.poisson.isf(_ETEST_TAIL, mean1), stats.poisson.isf(_ETEST_TAIL, mean2), 100)
    low = max(int(low), 0)
    if high - low + 1 > _ETEST_MAX_GRID:
        return None
    return np.arange(low, int(high) + 1)


def _ratio_ci(
    count1: int, exposure1: float, count2: int, exposure2: float, alpha: float, *, exact: bool
) -> tuple[float | None, float | None, str]:
    """CI for rate1 / rate2; None for a bound that does not exist (unbounded above)."""
    if count1 + count2 == 0:
        return 0.0, None, "exact-cond" if exact else "mover"
    if exact:
        # Given the total n, count1 ~ Binomial(n, p) with p = r e1 / (r e1 + e2), r the rate
        # ratio; invert the Clopper-Pearson interval for p.
        ci = stats.binomtest(count1, count1 + count2).proportion_ci(
            confidence_level=1 - alpha, method="exact"
        )
        scale = exposure2 / exposure1
        high = None if ci.high >= 1.0 else ci.high / (1.0 - ci.high) * scale
        return ci.low / (1.0 - ci.low) * scale, high, "exact-cond"
    # The score interval degenerates to a point when a count is 0; MOVER (built from score
    # intervals of the two single rates) stays valid there and agrees best with the E-test.
    ci_method = "score" if count1 > 0 and count2 > 0 else "mover"
    with np.errstate(divide="ignore", invalid="ignore"):
        low, high = sm_rates.confint_poisson_2indep(
            count1, exposure1, count2, exposure2, method=ci_method, compare="ratio", alpha=alpha
        )
    return float(low), None if not np.isfinite(high) else float(high), ci_method


def compare_frame(
    df: pd.DataFrame,
    current_col: str,
    previous_col: str,
    *,
    exposure_current: float | str = 1.0,
    exposure_previous: float | str = 1.0,
    alpha: float = 0.05,
    method: Method = "etest",
) -> pd.DataFrame:
    """A copy of ``df`` with the :class:`CountComparison` fields added as columns.

    Exposures may be numbers or column names. Added columns: ``difference``, ``pct_change``,
    ``rate_ratio``, ``ci_lower``, ``ci_upper``, ``p_value``, ``test_method``, ``significant``,
    ``direction``, ``sqrt_z``, ``testable``, ``reason``. Missing values are NA/NaN, never inf.
    """

    def exposure(spec: float | str) -> pd.Series:
        if isinstance(spec, str):
            return df[spec].astype("float64")
        return pd.Series(float(spec), index=df.index)

    exp_c, exp_p = exposure(exposure_current), exposure(exposure_previous)
    results = [
        compare_counts(
            c, p, exposure_current=ec, exposure_previous=ep, alpha=alpha, method=method
        )
        for c, p, ec, ep in zip(df[current_col], df[previous_col], exp_c, exp_p, strict=True)
    ]
    out = df.copy()

    def column(name: str, dtype: str) -> pd.Series:
        return pd.Series([getattr(r, name) for r in results], index=df.index, dtype=dtype)

    out["difference"] = column("difference", "Int64")
    for name in ("pct_change", "rate_ratio", "ci_lower", "ci_upper", "p_value", "sqrt_z"):
        values = [getattr(r, name) for r in results]
        out[name] = pd.Series(
            [np.nan if v is None else v for v in values], index=df.index, dtype="float64"
        )
    out["test_method"] = column("test_method", "object")
    out["significant"] = column("significant", "bool")
    out["direction"] = column("direction", "object")
    out["testable"] = column("testable", "bool")
    out["reason"] = column("reason", "object")
    return out


# --------------------------------------------------------------------------------------------
# Funnel plots
# --------------------------------------------------------------------------------------------

BINNEN = "binnen"
BOVEN_95 = "boven 95%"
BOVEN_998 = "boven 99,8%"
ONDER_95 = "onder 95%"
ONDER_998 = "onder 99,8%"
ONBEKEND = "onbekend"


def _level_suffix(level: float) -> str:
    # 0.95 -> "95", 0.998 -> "99_8": usable in column names.
    return f"{level * 100:g}".replace(".", "_")


def _poisson_quantile_interpolated(p: float, mean: np.ndarray) -> np.ndarray:
    """Continuous p-quantile of Poisson(mean), interpolated between integers.

    Spiegelhalter (2005), "Funnel plots for comparing institutional performance", appendix:
    r = poisson.ppf(p, mean), then r - a with
    a = (P(X <= r) - p) / (P(X <= r) - P(X <= r - 1)), so that the limits are smooth in the
    denominator instead of stepping at integers.
    """
    r = stats.poisson.ppf(p, mean)
    cdf_r = stats.poisson.cdf(r, mean)
    cdf_below = stats.poisson.cdf(r - 1, mean)
    with np.errstate(invalid="ignore", divide="ignore"):
        a = (cdf_r - p) / (cdf_r - cdf_below)
    return np.clip(r - np.nan_to_num(a), 0, None)


def funnel_limits(
    target_rate_per: float,
    denominators: Sequence[float] | np.ndarray | pd.Series,
    *,
    per: float = 1000,
    levels: Sequence[float] = (0.95, 0.998),
) -> pd.DataFrame:
    """Funnel-plot control limits for a rate per ``per`` at each denominator.

    The expected count at denominator n is ``target_rate_per * n / per``; the limits are the
    exact Poisson quantiles ``(1 - level) / 2`` and ``1 - (1 - level) / 2`` of that count with
    Spiegelhalter's interpolation (see ``_poisson_quantile_interpolated``), converted back to a
    rate. Columns: ``denominator``, ``expected``, ``lower_95``, ``upper_95``, ``lower_99_8``,
    ``upper_99_8`` (one pair per level). Denominators of 0 or missing give NaN limits.
    """
    if target_rate_per < 0:
        raise ValueError("target rate cannot be negative")
    index = denominators.index if isinstance(denominators, pd.Series) else None
    n = pd.to_numeric(pd.Series(denominators, index=index), errors="coerce").astype("float64")
    n = n.where(n > 0)
    expected = target_rate_per * n / per
    out = pd.DataFrame({"denominator": n, "expected": expected})
    for level in levels:
        if not 0 < level < 1:
            raise ValueError("levels must lie strictly between 0 and 1")
        tail = (1 - level) / 2
        suffix = _level_suffix(level)
        for name, p in (("lower", tail), ("upper", 1 - tail)):
            counts = _poisson_quantile_interpolated(p, expected.to_numpy())
            out[f"{name}_{suffix}"] = counts / n.to_numpy() * per
    return out


def funnel_classify(
    counts: Sequence[float] | np.ndarray | pd.Series,
    denominators: Sequence[float] | np.ndarray | pd.Series,
    target_rate: float,
    per: float = 1000,
) -> pd.Series:
    """Place each unit in the funnel: "binnen", "boven 95%", "boven 99,8%", "onder 95%",
    "onder 99,8%"; "onbekend" when the count is suppressed or the denominator missing/0.

    A unit is outside a limit when its rate is strictly beyond it (limits from
    :func:`funnel_limits` with levels 0.95 and 0.998).
    """
    index = counts.index if isinstance(counts, pd.Series) else None
    c = pd.to_numeric(pd.Series(counts, index=index), errors="coerce").astype("float64")
    d = pd.to_numeric(pd.Series(denominators, index=c.index), errors="coerce").astype("float64")
    limits = funnel_limits(target_rate, d, per=per, levels=(0.95, 0.998))
    rate = rate_per(c, d, per)
    labels = np.select(
        [
            rate.isna() | limits["upper_95"].isna(),
            rate > limits["upper_99_8"],
            rate > limits["upper_95"],
            rate < limits["lower_99_8"],
            rate < limits["lower_95"],
        ],
        [ONBEKEND, BOVEN_998, BOVEN_95, ONDER_998, ONDER_95],
        default=BINNEN,
    )
    return pd.Series(labels, index=c.index, dtype="object")


# --------------------------------------------------------------------------------------------
# Control charts (c-chart with run rules)
# --------------------------------------------------------------------------------------------

#: Dutch description per rule and side ("boven"/"onder"); {sigma} is the control-limit width.
RULE_DESCRIPTIONS: dict[tuple[str, str], str] = {
    ("rule_1", "boven"): "punt boven de bovengrens ({sigma}σ)",
    ("rule_1", "onder"): "punt onder de ondergrens ({sigma}σ)",
    ("rule_2", "boven"): "2 van 3 opeenvolgende punten boven de 2σ-lijn",
    ("rule_2", "onder"): "2 van 3 opeenvolgende punten onder de 2σ-lijn",
    ("rule_3", "boven"): "8 of meer opeenvolgende punten boven de middellijn",
    ("rule_3", "onder"): "8 of meer opeenvolgende punten onder de middellijn",
    ("rule_4", "boven"): "6 of meer opeenvolgende punten steeds stijgend",
    ("rule_4", "onder"): "6 of meer opeenvolgende punten steeds dalend",
}
RULES = ("rule_1", "rule_2", "rule_3", "rule_4")


@dataclass(frozen=True)
class ControlChart:
    """A Poisson c-chart with Western Electric / Nelson run rules.

    ``points`` has one row per input point (same index, sorted) with columns ``count``,
    ``rule_1`` .. ``rule_4`` (bool), ``signal`` (any rule) and ``description`` (Dutch, the
    triggered rules joined by "; ", empty when none).
    """

    center: float
    sigma: float
    ucl: float
    lcl: float
    upper_2sigma: float
    lower_2sigma: float
    n_baseline: int
    points: pd.DataFrame

    @property
    def signals(self) -> pd.DataFrame:
        """Only the points that trigger at least one rule."""
        return self.points[self.points["signal"]]


def _month_ordinal(label: object) -> int | None:
    """year * 12 + month for month-like index labels, None for anything else."""
    if isinstance(label, pd.Period):
        return label.year * 12 + label.month
    if isinstance(label, date):  # includes datetime and pd.Timestamp
        return label.year * 12 + label.month
    if isinstance(label, str):
        try:
            ts = pd.Timestamp(label)
        except ValueError:
            return None
        return ts.year * 12 + ts.month
    return None


def _segments(values: np.ndarray, index: pd.Index) -> np.ndarray:
    """Segment id per point; a new segment starts at a missing value and after a skipped month.

    Skipped months are detected only for a monthly index (dates, Timestamps, monthly Periods or
    parseable strings, one per month). For finer periods (e.g. 14 days) the index must already be
    complete, with NaN for missing periods.
    """
    ordinals = [_month_ordinal(x) for x in index]
    steps = np.diff([o for o in ordinals if o is not None]) if None not in ordinals else None
    monthly = steps is not None and bool(np.all(steps >= 1))
    seg = np.zeros(len(values), dtype=int)
    for i in range(1, len(values)):
        skipped = monthly and ordinals[i] - ordinals[i - 1] != 1  # type: ignore[operator]
        breaks = skipped or np.isnan(values[i]) or np.isnan(values[i - 1])
        seg[i] = seg[i - 1] + int(breaks)
    return seg


def _chains(link: np.ndarray, min_points: int) -> np.ndarray:
    """Mark every point of a chain of at least ``min_points`` points, where ``link[i]`` says that
    point i continues the chain of point i - 1."""
    out = np.zeros(len(link), dtype=bool)
    start = 0
    for i in range(1, len(link) + 1):
        if i == len(link) or not link[i]:
            if i - start >= min_points:
                out[start:i] = True
            start = i
    return out


def _two_of_three(beyond: np.ndarray, seg: np.ndarray) -> np.ndarray:
    """Points beyond a 2σ line that share a window of 3 consecutive points (one segment) with
    another point beyond the same line."""
    out = np.zeros(len(beyond), dtype=bool)
    for i in range(len(beyond) - 2):
        if seg[i] == seg[i + 2] and beyond[i : i + 3].sum() >= 2:
            out[i : i + 3] |= beyond[i : i + 3]
    return out


def control_chart(
    counts: pd.Series, *, baseline: slice | None = None, sigma: float = 3.0
) -> ControlChart:
    """Poisson c-chart of monthly counts with four run rules.

    Center line = mean of the baseline points (label-based ``slice`` on the index; default all
    points); control limits = center ± ``sigma``·sqrt(center), the lower one floored at 0;
    warning lines at center ± 2·sqrt(center) (also floored at 0). Rules:

    1. a point beyond a control limit;
    2. two of three consecutive points beyond the same 2σ line (both points flagged);
    3. eight consecutive points strictly on the same side of the center (whole run flagged);
    4. six consecutive points strictly increasing or strictly decreasing (whole run flagged).

    Missing values (NaN) stay missing — never 0 — and, like a month absent from a month-like
    index, break runs and windows. Missing values in the baseline are ignored.
    """
    if sigma <= 0:
        raise ValueError("sigma must be positive")
    series = pd.to_numeric(counts, errors="coerce").astype("float64").sort_index()
    if series.index.has_duplicates:
        raise ValueError("control_chart needs one value per period (duplicate index labels)")
    base = series.loc[baseline] if baseline is not None else series
    base = base.dropna()
    if base.empty:
        raise DataError("Geen gegevens in de basisperiode; de middellijn kan niet worden bepaald.")
    center = float(base.mean())
    spread = math.sqrt(center)
    ucl, lcl = center + sigma * spread, max(center - sigma * spread, 0.0)
    upper_2s, lower_2s = center + 2 * spread, max(center - 2 * spread, 0.0)

    x = series.to_numpy()
    seg = _segments(x, series.index)
    same_segment = np.r_[False, seg[1:] == seg[:-1]]

    def linked(mask: np.ndarray) -> np.ndarray:
        # link[i]: point i continues the pattern of point i - 1 within one segment.
        return np.r_[False, mask[1:] & mask[:-1]] & same_segment

    with np.errstate(invalid="ignore"):
        # Comparisons with NaN are False, so missing points never trigger or extend a run.
        above, below = x > center, x < center
        flags = {
            ("rule_1", "boven"): x > ucl,
            ("rule_1", "onder"): x < lcl,
            ("rule_2", "boven"): _two_of_three(x > upper_2s, seg),
            ("rule_2", "onder"): _two_of_three(x < lower_2s, seg),
            ("rule_3", "boven"): _chains(linked(above), 8),
            ("rule_3", "onder"): _chains(linked(below), 8),
            ("rule_4", "boven"): _chains(np.r_[False, x[1:] > x[:-1]] & same_segment, 6),
            ("rule_4", "onder"): _chains(np.r_[False, x[1:] < x[:-1]] & same_segment, 6),
        }

    points = pd.DataFrame({"count": series}, index=series.index)
    for rule in RULES:
        points[rule] = flags[(rule, "boven")] | flags[(rule, "onder")]
    points["signal"] = points[list(RULES)].any(axis=1)
    sigma_text = f"{sigma:g}"
    points["description"] = [
        "; ".join(
            RULE_DESCRIPTIONS[key].format(sigma=sigma_text)
            for key, mask in flags.items()
            if mask[i]
        )
        for i in range(len(x))
    ]
    return ControlChart(
        center=center,
        sigma=sigma,
        ucl=ucl,
        lcl=lcl,
        upper_2sigma=upper_2s,
        lower_2sigma=lower_2s,
        n_baseline=len(base),
        points=points,
    )
