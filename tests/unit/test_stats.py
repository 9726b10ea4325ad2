"""Known answers for count comparisons, funnel limits and control-chart rules."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from veiligheidsbeeld.analysis.stats import (
    BINNEN,
    BOVEN_95,
    BOVEN_998,
    ONBEKEND,
    ONDER_95,
    ONDER_998,
    compare_counts,
    compare_frame,
    control_chart,
    fdr_adjust,
    funnel_classify,
    funnel_dispersion,
    funnel_limits,
    pearson_dispersion,
    seasonal_index,
    shrink_dispersion,
)
from veiligheidsbeeld.errors import DataError

# -- compare_counts ----------------------------------------------------------------------------


def midp_binomial(k: int, n: int, p: float) -> float:
    """Two-sided mid-p of the binomial split, summed by hand (independent of scipy's binom)."""
    pmf = [math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(n + 1)]
    lower = sum(pmf[:k]) + pmf[k] / 2
    upper = sum(pmf[k + 1 :]) + pmf[k] / 2
    return min(1.0, 2 * min(lower, upper))


def midp_betabinomial(k: int, n: int, p: float, phi: float) -> float:
    """The same with the beta-binomial split whose variance is phi times the binomial one."""
    rho = (phi - 1) / (n - 1)
    s = 1 / rho - 1
    a, b = p * s, (1 - p) * s

    def pmf(i: int) -> float:
        log = (math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1)
               + math.lgamma(i + a) + math.lgamma(n - i + b) - math.lgamma(n + a + b)
               - (math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)))
        return math.exp(log)

    probs = [pmf(i) for i in range(n + 1)]
    assert sum(probs) == pytest.approx(1.0)
    mean = sum(i * q for i, q in enumerate(probs))
    var = sum((i - mean) ** 2 * q for i, q in enumerate(probs))
    assert var == pytest.approx(phi * n * p * (1 - p))  # the overdispersion is exactly phi
    return min(1.0, 2 * min(sum(probs[:k]) + probs[k] / 2, sum(probs[k + 1 :]) + probs[k] / 2))


def test_25_vs_16_sqrt_rule_says_2_but_the_test_not_significant() -> None:
    r = compare_counts(25, 16)
    assert r.sqrt_z == 2.0  # 2 * (5 - 4), exactly
    assert r.p_value == pytest.approx(midp_binomial(25, 41, 0.5), rel=1e-9)
    assert r.p_value == pytest.approx(0.16415, abs=1e-4)
    assert r.test_method == "conditioneel mid-p"
    assert not r.significant
    assert r.difference == 9
    assert r.pct_change == pytest.approx(56.25)
    assert r.rate_ratio == pytest.approx(1.5625)
    assert r.direction == "stijging"
    assert r.ci_lower is not None and r.ci_upper is not None
    assert r.ci_lower < 1 < r.rate_ratio < r.ci_upper  # CI includes 1, matching the p-value
    assert r.testable and r.reason is None


def test_21_vs_10_one_verdict() -> None:
    # The case where the old E-test and exact test disagreed: one test now, p just above 0.05.
    r = compare_counts(21, 10)
    assert r.p_value == pytest.approx(midp_binomial(21, 31, 0.5), rel=1e-9)
    assert r.p_value == pytest.approx(0.0501, abs=1e-4)
    assert not r.significant


def test_exposures_and_jeffreys_interval() -> None:
    # Conditional on the total, current ~ Binomial(total, e1 / (e1 + e2)) under equal rates.
    r = compare_counts(25, 16, exposure_current=31, exposure_previous=28)
    assert r.p_value == pytest.approx(midp_binomial(25, 41, 31 / 59), rel=1e-9)
    # Jeffreys limits for p (Beta(k + 1/2, n - k + 1/2) quantiles) transformed to the rate ratio.
    low, high = stats.beta.ppf([0.025, 0.975], 25.5, 16.5)
    assert r.ci_method == "jeffreys"
    assert r.ci_lower == pytest.approx(low / (1 - low) * 28 / 31)
    assert r.ci_upper == pytest.approx(high / (1 - high) * 28 / 31)


def test_overdispersion_uses_the_beta_binomial_and_widens_the_interval() -> None:
    r = compare_counts(30, 15, phi=2.0)
    assert r.phi == 2.0
    assert r.p_value == pytest.approx(midp_betabinomial(30, 45, 0.5, 2.0), rel=1e-7)
    plain = compare_counts(30, 15)
    assert plain.p_value < 0.05 < r.p_value  # significant as Poisson, not with phi = 2
    assert r.ci_lower < plain.ci_lower and r.ci_upper > plain.ci_upper


def test_overdispersion_large_counts_normal_approximation() -> None:
    # Eenheid-sized totals: phi = 10 turns a 2% move from 'certain' into chance.
    plain = compare_counts(10_200, 10_000)
    over = compare_counts(10_200, 10_000, phi=10.0)
    z = (10_200 - 20_200 / 2) / math.sqrt(10.0 * 20_200 / 4)
    assert over.p_value == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-9)
    assert plain.p_value < 0.16 and over.p_value > 0.6


def test_zero_vs_zero() -> None:
    r = compare_counts(0, 0)
    assert r.testable
    assert r.p_value == 1.0
    assert not r.significant
    assert r.difference == 0
    assert r.pct_change is None and r.rate_ratio is None
    assert r.direction == "gelijk"
    assert r.sqrt_z == 0.0


def test_five_vs_zero_no_infinite_values() -> None:
    r = compare_counts(5, 0)
    assert r.pct_change is None and r.rate_ratio is None
    assert r.ci_upper is None  # unbounded, not inf
    assert r.ci_lower is not None and r.ci_lower > 0
    assert r.p_value == pytest.approx(2 * 0.5**5 / 2)  # mid-p: half of P(X = 5) on each side
    assert r.significant
    assert r.direction == "stijging"
    assert r.sqrt_z == pytest.approx(2 * math.sqrt(5))


def test_zero_vs_five_is_decrease() -> None:
    r = compare_counts(0, 5)
    assert r.pct_change == pytest.approx(-100.0)
    assert r.rate_ratio == 0.0
    assert r.direction == "daling"
    assert r.ci_upper is not None and r.ci_upper < 1


def test_exposures_scale_the_expectation() -> None:
    # 31 versus 28 days with the same daily rate: no change expected.
    r = compare_counts(31, 28, exposure_current=31, exposure_previous=28)
    assert r.rate_ratio == pytest.approx(1.0)
    assert r.pct_change == pytest.approx(0.0)
    assert r.direction == "gelijk"
    assert r.sqrt_z == pytest.approx(0.0)
    assert r.difference == 3  # difference stays in counts
    assert r.p_value == pytest.approx(midp_binomial(31, 59, 31 / 59), rel=1e-9)
    assert r.p_value > 0.9


def test_fdr_adjust_known_answer() -> None:
    # Benjamini-Hochberg by hand: sorted p * m / rank, then the running minimum from the top.
    p = [0.01, 0.04, 0.03, 0.20, float("nan")]
    q = fdr_adjust(p)
    assert q[0] == pytest.approx(0.04) and q[1] == pytest.approx(0.0533333333) and q[2] == pytest.approx(0.0533333333)
    assert q[3] == pytest.approx(0.20) and math.isnan(q[4])


def test_pearson_dispersion_and_shrinkage() -> None:
    phi, n = pearson_dispersion(np.array([10, 4, 0, np.nan]), np.array([6, 4, 0, 3]))
    assert n == 2 and phi == pytest.approx(((10 - 6) ** 2 / 16 + 0) / 2)
    assert shrink_dispersion(3.0, 24, 1.0, prior_pairs=24) == pytest.approx(2.0)
    assert shrink_dispersion(0.5, 100, 0.8) == 1.0  # never below Poisson
    assert shrink_dispersion(float("nan"), 0, 1.7) == pytest.approx(1.7)


def test_seasonal_index_known_answer_and_shrinkage() -> None:
    months = [date(y, m, 1) for y in (2019, 2020, 2021) for m in range(1, 13)]
    pattern = np.array([12, 10, 8, 6, 6, 5, 5, 6, 8, 10, 12, 16], dtype=float)
    big = pd.Series(np.tile(pattern * 100, 3), index=months)
    index, years = seasonal_index(big)
    assert years == 3
    assert index == pytest.approx(pattern / pattern.mean(), rel=5e-3)  # hardly shrunk with large counts
    tiny = pd.Series(np.tile(pattern / 10, 3), index=months)  # ~1 a month: mostly noise
    shrunk, _ = seasonal_index(tiny)
    assert np.abs(shrunk - 1).max() < np.abs(pattern / pattern.mean() - 1).max()
    flat, n = seasonal_index(big.iloc[:24])
    assert n == 2 and np.allclose(flat, 1)  # fewer than 3 years: flat


def test_suppressed_counts_are_not_testable() -> None:
    for cur, prev in ((None, 5), (5, None), (float("nan"), 5), (pd.NA, pd.NA)):
        r = compare_counts(cur, prev)  # type: ignore[arg-type]
        assert not r.testable
        assert r.reason and "onderdrukt" in r.reason
        assert r.p_value is None and not r.significant and r.direction is None


def test_invalid_counts_raise() -> None:
    with pytest.raises(ValueError):
        compare_counts(-1, 5)
    with pytest.raises(ValueError):
        compare_counts(2.5, 5)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        compare_counts(1, 5, exposure_previous=0)


def test_compare_frame_adds_columns_without_inf() -> None:
    df = pd.DataFrame(
        {
            "wijk": ["a", "b", "c", "d"],
            "nu": pd.array([25, 5, None, 0], dtype="Int64"),
            "vorig": pd.array([16, 0, 3, 0], dtype="Int64"),
        }
    )
    out = compare_frame(df, "nu", "vorig")
    assert list(df.columns) == ["wijk", "nu", "vorig"]  # input untouched
    assert out.loc[0, "sqrt_z"] == 2.0
    assert out.loc[0, "p_value"] == pytest.approx(midp_binomial(25, 41, 0.5), rel=1e-8)
    assert not out.loc[0, "significant"]
    assert out.loc[1, "significant"]
    assert math.isnan(out.loc[1, "pct_change"])
    assert not out.loc[2, "testable"] and pd.isna(out.loc[2, "difference"])
    assert out.loc[3, "direction"] == "gelijk"
    numeric = out[["pct_change", "rate_ratio", "ci_lower", "ci_upper", "p_value", "sqrt_z"]]
    assert not np.isinf(numeric.to_numpy()).any()


def test_compare_frame_exposure_columns() -> None:
    df = pd.DataFrame({"nu": [31], "vorig": [28], "dagen_nu": [31], "dagen_vorig": [28]})
    out = compare_frame(
        df, "nu", "vorig", exposure_current="dagen_nu", exposure_previous="dagen_vorig"
    )
    assert out.loc[0, "rate_ratio"] == pytest.approx(1.0)


# -- funnel ------------------------------------------------------------------------------------


def test_funnel_limits_against_scipy_poisson() -> None:
    # Target 50 per 1,000 at 1,000 inhabitants: expected count 50.
    limits = funnel_limits(50, [1000])
    row = limits.iloc[0]
    assert row["expected"] == pytest.approx(50)
    # Upper 95% count limit: r = poisson.ppf(0.975, 50) = 64, interpolated into (63, 64].
    assert stats.poisson.ppf(0.975, 50) == 64
    cdf64, cdf63 = stats.poisson.cdf(64, 50), stats.poisson.cdf(63, 50)
    expected_upper = 64 - (cdf64 - 0.975) / (cdf64 - cdf63)
    assert row["upper_95"] == pytest.approx(expected_upper)  # per 1,000 of 1,000 = count
    assert 63 < row["upper_95"] <= 64
    # Lower 99.8% count limit lies between poisson.ppf(0.001) - 1 and poisson.ppf(0.001).
    r_low = stats.poisson.ppf(0.001, 50)
    assert r_low - 1 < row["lower_99_8"] <= r_low
    # Column naming for all levels.
    assert list(limits.columns) == [
        "denominator",
        "expected",
        "lower_95",
        "upper_95",
        "lower_99_8",
        "upper_99_8",
    ]


def test_funnel_limits_converted_to_rate() -> None:
    # 2,000 inhabitants at 25 per 1,000 also expects 50: count limits halve as rates per 1,000.
    a = funnel_limits(50, [1000]).iloc[0]
    b = funnel_limits(25, [2000]).iloc[0]
    assert b["upper_95"] == pytest.approx(a["upper_95"] / 2)
    assert b["lower_99_8"] == pytest.approx(a["lower_99_8"] / 2)


def test_funnel_narrows_with_larger_denominator() -> None:
    limits = funnel_limits(50, [500, 1000, 10_000, 100_000])
    width = limits["upper_95"] - limits["lower_95"]
    assert width.is_monotonic_decreasing and width.iloc[-1] < width.iloc[0] / 5
    assert (limits["upper_99_8"] > limits["upper_95"]).all()
    assert (limits["lower_99_8"] < limits["lower_95"]).all()
    # Large expected counts approach the normal limits 50 ± 1.96 * sqrt(50 * 1000 / n) ...
    big = limits.iloc[-1]  # expected 5,000
    assert big["upper_95"] == pytest.approx(50 + 1.96 * math.sqrt(5000) / 100, abs=0.02)
    assert big["lower_95"] == pytest.approx(50 - 1.96 * math.sqrt(5000) / 100, abs=0.02)


def test_funnel_zero_denominator_gives_nan() -> None:
    limits = funnel_limits(50, [0, None])
    assert limits[["lower_95", "upper_95"]].isna().all().all()


def test_funnel_classify_known_units() -> None:
    # 1,000 inhabitants each, target 50 per 1,000.
    # 95% limits ~ (36.1, 63.8), 99.8% limits ~ (29.1, 72.8).
    counts = pd.Series([50, 65, 80, 35, 20, None, 10], index=list("abcdefg"))
    denominators = pd.Series([1000, 1000, 1000, 1000, 1000, 1000, 0], index=list("abcdefg"))
    got = funnel_classify(counts, denominators, target_rate=50, per=1000)
    assert got.to_dict() == {
        "a": BINNEN,
        "b": BOVEN_95,
        "c": BOVEN_998,
        "d": ONDER_95,
        "e": ONDER_998,
        "f": ONBEKEND,
        "g": ONBEKEND,
    }


def test_funnel_classify_depends_on_size() -> None:
    # The same rate (65 per 1,000) is within the limits for a small unit, above for a large one.
    got = funnel_classify([13, 650], [200, 10_000], target_rate=50)
    assert list(got) == [BINNEN, BOVEN_998]


# -- control chart -----------------------------------------------------------------------------

def probability_limit(expected: float, z: float) -> float:
    """The chart's limit by hand: the smallest whole count whose Poisson cdf reaches the normal
    tail of z (summed by hand, independent of scipy's ppf)."""
    p = stats.norm.cdf(z)
    cdf, k = 0.0, 0
    while True:
        cdf += math.exp(-expected) * expected**k / math.factorial(k)
        if cdf >= p - 1e-12:
            return float(k)
        k += 1


# A baseline of twelve 16s: expected 16; probability limits 5 and 29 (3σ tails: a count beyond
# is at most 0.135% likely), warning lines 9 and 24 (2σ tails).
BASELINE = [16.0] * 12
LIMITS = tuple(probability_limit(16, z) for z in (3, -3, 2, -2))


def chart(tail: list[float]) -> pd.DataFrame:
    values = BASELINE + tail
    index = pd.date_range("2020-01-01", periods=len(values), freq="MS")
    cc = control_chart(pd.Series(values, index=index), baseline=slice("2020-01", "2020-12"))
    assert cc.center == 16
    assert (cc.ucl, cc.lcl, cc.upper_2sigma, cc.lower_2sigma) == pytest.approx(LIMITS) == (29, 5, 24, 9)
    assert stats.poisson.sf(29, 16) <= stats.norm.sf(3) < stats.poisson.sf(28, 16)
    return cc.points.iloc[12:].reset_index(drop=True)


def test_limits_default_baseline_and_floor() -> None:
    cc = control_chart(pd.Series([9.0] * 6 + [4.0, 14.0]))
    assert cc.center == pytest.approx(9.0)
    assert cc.ucl == pytest.approx(probability_limit(9, 3))
    assert cc.lcl == probability_limit(9, -3) == 2  # P(X < 2) = 0.12% for Poisson(9)
    assert cc.n_baseline == 8
    low = control_chart(pd.Series([2.0] * 6))
    assert low.lcl == 0.0 and low.lower_2sigma == 0.0  # below 0: floored, so a fall cannot signal
    wide = control_chart(pd.Series([9.0] * 6 + [4.0, 14.0]), phi=2.0)
    # Overdispersed: the negative binomial with mean 9 and variance 18 (size 9, p 1/2).
    assert wide.ucl == stats.nbinom(9, 0.5).ppf(stats.norm.cdf(3)) == 26
    assert wide.ucl > cc.ucl


def test_seasonal_expected_value_known_answer() -> None:
    # Level fitted on the baseline as its total over its total seasonal index; each month's
    # expected value is the level times that month's factor, with limits around it.
    factors = np.array([1.5, 1.2, 1.0, 0.8, 0.7, 0.6, 0.7, 0.8, 0.9, 1.1, 1.3, 1.4])
    factors = factors / factors.mean()
    index = pd.date_range("2021-01-01", periods=24, freq="MS")
    counts = pd.Series(np.r_[np.round(10 * factors), np.round(10 * factors)], index=index)
    cc = control_chart(counts, baseline=slice("2021-01", "2021-12"), seasonal=factors)
    level = counts.iloc[:12].sum() / factors.sum()
    assert cc.center == pytest.approx(level)
    assert cc.points["expected"].to_numpy() == pytest.approx(level * np.r_[factors, factors])
    assert cc.points.loc["2022-06-01", "ucl"] == probability_limit(level * factors[5], 3)
    assert cc.seasonal and not cc.points["signal"].any()  # a seasonal pattern alone never signals
    flat = control_chart(counts, baseline=slice("2021-01", "2021-12"))
    assert flat.points["signal"].any()  # a flat centre line reads the winter as a rise


def test_rule_1_beyond_limits() -> None:
    # Isolated points, so that rule 2 cannot fire as well; 29 and 5 lie on the limits (inside).
    p = chart([30, 16, 16, 29, 16, 16, 4, 16, 16, 5])
    assert list(p["rule_1"]) == [True, False, False, False, False, False, True, False, False, False]
    assert p.loc[0, "description"] == "punt boven de bovengrens (3σ)"
    assert p.loc[6, "description"] == "punt onder de ondergrens (3σ)"
    assert p["signal"].sum() == 2


def test_rule_2_two_of_three_beyond_2_sigma() -> None:
    p = chart([16, 25, 17, 25, 16])
    assert list(p["rule_2"]) == [False, True, False, True, False]
    assert "2 van 3 opeenvolgende punten boven de 2σ-lijn" in p.loc[1, "description"]
    assert not p["rule_1"].any()
    low = chart([7, 16, 7])
    assert list(low["rule_2"]) == [True, False, True]
    assert "onder de 2σ-lijn" in low.loc[0, "description"]


def test_rule_2_not_triggered() -> None:
    # Three points apart, on opposite sides, or exactly on the line: no signal.
    assert not chart([25, 16, 16, 25]).loc[:, "rule_2"].any()
    assert not chart([25, 7, 16]).loc[:, "rule_2"].any()
    assert not chart([24, 24, 24]).loc[:, "rule_2"].any()


def test_rule_3_nine_on_one_side_of_the_median() -> None:
    p = chart([17] * 9 + [16])
    assert list(p["rule_3"]) == [True] * 9 + [False]
    assert "9 of meer opeenvolgende punten boven de verwachte waarde" in p.loc[0, "description"]
    below = chart([15] * 9)
    assert below["rule_3"].all()
    assert "onder de verwachte waarde" in below.loc[8, "description"]


def test_rule_3_not_triggered_by_eight_or_a_point_on_center() -> None:
    assert not chart([17] * 8 + [16] + [17] * 8)["rule_3"].any()
    assert not chart([17] * 4 + [15] + [17] * 4)["rule_3"].any()
    # Around a small expected value the median, not the mean, splits the months: with an
    # expected 1.5 a month with 1 lies below the mean, but 1 is the median, not below it.
    small = control_chart(pd.Series([1.0, 2.0] * 6 + [1.0] * 10), baseline=slice(0, 11))
    assert small.center == 1.5 and not small.points["rule_3"].any()


def test_rule_4_six_increasing_or_decreasing() -> None:
    p = chart([16, 10, 11, 12, 13, 14, 15, 16])
    assert list(p["rule_4"]) == [False] + [True] * 7
    assert "6 of meer opeenvolgende punten steeds stijgend" in p.loc[1, "description"]
    down = chart([22, 21, 20, 19, 18, 17])
    assert down["rule_4"].all()
    assert "dalend" in down.loc[0, "description"]


def test_rule_4_not_triggered_by_five_or_a_tie() -> None:
    assert not chart([16, 11, 12, 13, 14, 15])["rule_4"].any()  # 16 -> 11 falls: run of 5
    assert not chart([10, 11, 12, 12, 13, 14])["rule_4"].any()


def test_missing_value_breaks_runs_and_is_not_zero() -> None:
    p = chart([17] * 4 + [math.nan] + [17] * 4)
    assert not p["rule_3"].any()
    assert math.isnan(p.loc[4, "count"])
    # As 0 it would lie below the lower limit (4); missing, it signals nothing.
    assert not p.loc[4, "signal"] and p.loc[4, "description"] == ""
    # Increasing through a gap does not count either.
    assert not chart([10, 11, 12, math.nan, 13, 14, 15])["rule_4"].any()
    # Two of three beyond 2σ do not span a missing point.
    assert not chart([25, math.nan, 25])["rule_2"].any()


def test_absent_month_breaks_runs() -> None:
    baseline = pd.Series(BASELINE, index=pd.date_range("2019-01-01", periods=12, freq="MS"))
    nine = pd.date_range("2020-01-01", periods=9, freq="MS")
    # Nine consecutive months above the center trigger rule 3 ...
    full = pd.concat([baseline, pd.Series([17.0] * 9, index=nine)])
    assert control_chart(full, baseline=slice("2019-01", "2019-12")).points["rule_3"].sum() == 9
    # ... but not when May 2020 is absent from the index (a gap, not a zero).
    with_gap = pd.date_range("2020-01-01", periods=10, freq="MS").delete(4)
    gapped = pd.concat([baseline, pd.Series([17.0] * 9, index=with_gap)])
    assert not control_chart(gapped, baseline=slice("2019-01", "2019-12")).points["rule_3"].any()


def test_period_index_and_unsorted_input() -> None:
    index = pd.period_range("2020-01", periods=21, freq="M")
    counts = pd.Series(BASELINE + [17.0] * 9, index=index).iloc[::-1]
    cc = control_chart(counts, baseline=slice("2020-01", "2020-12"))
    assert cc.points.index.is_monotonic_increasing
    assert cc.points["rule_3"].sum() == 9
    assert len(cc.signals) == 9


def test_empty_baseline_is_data_error() -> None:
    index = pd.date_range("2020-01-01", periods=3, freq="MS")
    counts = pd.Series([math.nan, math.nan, 5.0], index=index)
    with pytest.raises(DataError):
        control_chart(counts, baseline=slice("2020-01", "2020-02"))


def test_date_object_index_with_date_slice_baseline() -> None:
    months = [date(2021, 1, 1) + pd.DateOffset(months=i) for i in range(21)]
    index = [m.date() for m in months]
    counts = pd.Series(BASELINE + [17.0] * 9, index=index)
    cc = control_chart(counts, baseline=slice(index[0], index[11]))
    assert cc.center == 16 and cc.n_baseline == 12
    assert cc.points["rule_3"].sum() == 9


# -- overdispersed funnel ----------------------------------------------------------------------


def test_overdispersed_funnel_limits_widen_by_sqrt_phi() -> None:
    plain = funnel_limits(50, [1000]).iloc[0]
    wide = funnel_limits(50, [1000], phi=2.25).iloc[0]
    # Each limit's distance from the expected count (50) is 1.5 times as large.
    for col in ("lower_95", "upper_95", "lower_99_8", "upper_99_8"):
        assert wide[col] - 50 == pytest.approx(1.5 * (plain[col] - 50))
    # For a large count this is Spiegelhalter's E ± z sqrt(phi E).
    big = funnel_limits(50, [1_000_000], phi=4.0).iloc[0]
    assert big["upper_95"] * 1000 == pytest.approx(50_000 + 1.96 * math.sqrt(4 * 50_000), rel=2e-3)
    # A unit inside the widened funnel is no longer flagged.
    assert funnel_classify([70], [1000], target_rate=50)[0] == BOVEN_95
    assert funnel_classify([70], [1000], target_rate=50, phi=2.25)[0] == BINNEN


def test_funnel_dispersion_spiegelhalter() -> None:
    expected = np.full(20, 100.0)
    # z-scores of +-3: winsorised at the 10% / 90% points they stay +-3, so phi = 9.
    counts = expected + np.tile([30.0, -30.0], 10)
    assert funnel_dispersion(counts, expected) == pytest.approx(9.0)
    # Poisson-like spread: not significantly above 1, so 1.
    rng = np.random.default_rng(3)
    assert funnel_dispersion(rng.poisson(expected), expected) == 1.0
    assert funnel_dispersion([1, 2], [1, 2]) == 1.0  # too few units
