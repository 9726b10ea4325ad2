"""All control charts of a report in one vectorised pass give exactly the charts one at a time."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from veiligheidsbeeld.analysis.periods import add_months
from veiligheidsbeeld.analysis.stats import control_chart, control_charts


def test_batch_equals_one_chart_at_a_time():
    months = [add_months(date(2021, 1, 1), i) for i in range(36)]
    rng = np.random.default_rng(17)
    series = {}
    for i, level in enumerate((0.4, 3.0, 12.0, 55.0, 240.0)):
        counts = rng.poisson(level * np.linspace(0.8, 1.6, 36)).astype(float)
        if i == 2:
            counts[[5, 30]] = np.nan  # missing months break runs, never count as 0
        series[f"GM{i:04d}"] = pd.Series(counts, index=months)
    seasonal = {"GM0001": np.linspace(0.7, 1.3, 12), "GM0003": np.r_[np.full(6, 0.9), np.full(6, 1.1)]}
    phi = {"GM0002": 1.8, "GM0004": 3.5}
    baseline = slice(months[0], months[23])
    batch = control_charts(series, baseline=baseline, sigma=3.0, seasonal=seasonal, phi=phi)
    assert list(batch) == list(series)
    for code, counts in series.items():
        one = control_chart(counts, baseline=baseline, sigma=3.0, seasonal=seasonal.get(code), phi=phi.get(code, 1.0))
        got = batch[code]
        assert (got.center, got.ucl, got.lcl, got.upper_2sigma, got.lower_2sigma, got.n_baseline, got.phi,
                got.seasonal) == (one.center, one.ucl, one.lcl, one.upper_2sigma, one.lower_2sigma, one.n_baseline,
                                  one.phi, one.seasonal)
        pd.testing.assert_frame_equal(got.points, one.points)
    # The rising series signals; the tiny one cannot fall below a floor of 0.
    assert batch["GM0004"].points["signal"].any()
    assert (batch["GM0000"].points["lcl"] == 0).all()
    assert control_charts({}, baseline=baseline) == {}
