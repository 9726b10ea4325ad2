"""Known answers for rates and their exact Poisson confidence intervals."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from veiligheidsbeeld.analysis.rates import rate_ci, rate_estimate, rate_per


def test_rate_scalar() -> None:
    assert rate_per(25, 5000) == pytest.approx(5.0)
    assert rate_per(25, 5000, per=10_000) == pytest.approx(50.0)
    assert rate_per(0, 5000) == 0.0  # a real zero stays zero


@pytest.mark.parametrize(
    ("count", "denominator"),
    [(None, 1000), (math.nan, 1000), (pd.NA, 1000), (5, 0), (5, None), (5, math.nan), (0, 0)],
)
def test_rate_scalar_missing_is_nan(count: object, denominator: object) -> None:
    result = rate_per(count, denominator)
    assert isinstance(result, float)
    assert math.isnan(result)


def test_rate_series_never_zero_or_inf() -> None:
    counts = pd.Series([10, None, 3, 4, 0], dtype="Int64", index=list("abcde"))
    population = pd.Series([2000, 100, 0, np.nan, 500], index=list("abcde"))
    result = rate_per(counts, population)
    assert isinstance(result, pd.Series)
    assert result.dtype == "float64"
    assert result["a"] == pytest.approx(5.0)
    assert result[["b", "c", "d"]].isna().all()
    assert result["e"] == 0.0
    assert not np.isinf(result.to_numpy()).any()


def test_rate_series_aligns_on_index() -> None:
    counts = pd.Series([10, 20], index=["x", "y"])
    population = pd.Series([4000, 1000], index=["y", "x"])
    result = rate_per(counts, population)
    assert result["x"] == pytest.approx(10.0)
    assert result["y"] == pytest.approx(5.0)


def test_rate_array_and_scalar_denominator() -> None:
    np.testing.assert_allclose(rate_per(np.array([1.0, 2.0]), 1000), [1.0, 2.0])
    result = rate_per(np.array([1.0, 2.0]), np.array([0, 500]))
    assert math.isnan(result[0])
    assert result[1] == pytest.approx(4.0)


def test_negative_denominator_raises() -> None:
    with pytest.raises(ValueError):
        rate_per(5, -10)


def test_rate_ci_matches_garwood_known_values() -> None:
    # Exact 95% limits for k = 10: 4.7954 and 18.3904 (standard tables); per 1000 of 1000 people.
    low, high = rate_ci(10, 1000)
    assert low == pytest.approx(4.795389, abs=1e-5)
    assert high == pytest.approx(18.390356, abs=1e-5)
    # k = 0: lower limit 0, upper -ln(0.025) = 3.6889.
    low0, high0 = rate_ci(0, 1000)
    assert low0 == 0.0
    assert high0 == pytest.approx(-math.log(0.025))


def test_rate_ci_coverage_definition_against_poisson() -> None:
    # The exact limits are where the Poisson tail probabilities equal (1 - level) / 2.
    k = 7
    low, high = rate_ci(k, 1, per=1, level=0.9)
    assert stats.poisson.sf(k - 1, low) == pytest.approx(0.05)
    assert stats.poisson.cdf(k, high) == pytest.approx(0.05)


def test_rate_ci_scales_and_vectorises() -> None:
    counts = pd.Series([10, None, 0], dtype="Int64")
    population = pd.Series([2000.0, 1000.0, 0.0])
    low, high = rate_ci(counts, population, per=1000)
    assert low[0] == pytest.approx(4.795389 / 2, abs=1e-5)
    assert high[0] == pytest.approx(18.390356 / 2, abs=1e-5)
    assert low[1:].isna().all() and high[1:].isna().all()


def test_rate_estimate_reasons() -> None:
    ok = rate_estimate(10, 1000)
    assert ok.available and ok.reason is None and ok.rate == pytest.approx(10.0)
    assert ok.ci_lower < ok.rate < ok.ci_upper
    suppressed = rate_estimate(None, 1000)
    assert not suppressed.available and "onderdrukt" in (suppressed.reason or "")
    assert rate_estimate(3, 0).reason == "noemer is 0 (geen inwoners)"
