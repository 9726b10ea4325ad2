"""Flags checked on simulated worlds where the truth is known (synthetic counts, real district
table and real national seasonal pattern): how often the report cries wolf, and whether it finds
what is there. The README's methods section quotes the rates of ``python -m
veiligheidsbeeld.testing.worlds`` (more seeds)."""

from __future__ import annotations

import pytest

from veiligheidsbeeld.testing.worlds import make_world, measure, rates

pytestmark = pytest.mark.integration
SEEDS = range(3)


@pytest.mark.parametrize("kind", ["poisson", "seizoen", "seizoen+overdispersie"])
def test_false_alarms_and_power(kind: str) -> None:
    r = rates(kind, SEEDS, n_planted=3, factor=1.8)
    # On average at most one chance flag per district report (the bar; BH keeps it far lower).
    assert r["chance_flags_per_district_report"] <= 1.0
    # Control-chart signals in the judged months for at most 5% of unchanged gemeenten.
    assert r["chart_signal_share"] <= 0.05
    # A x1.8 rise in a gemeente with 15 or more woninginbraken a month is found.
    assert r["found_share"] == 1.0


def test_without_overdispersion_control_the_tests_cry_wolf() -> None:
    # The same overdispersed world judged as if it were Poisson and without the FDR control
    # (q close to the per-test alpha would not do): the engine's corrections are what keeps it quiet.
    from veiligheidsbeeld.config import StatistiekSettings

    world = make_world("seizoen+overdispersie", 0, n_planted=0, noise_cv=0.35)
    careful = measure(world)
    naive = measure(world, StatistiekSettings(overdispersion=False, fdr_q=0.49))
    assert careful.chance_flags <= 2
    assert naive.chance_flags > 5 * max(careful.chance_flags, 1)
