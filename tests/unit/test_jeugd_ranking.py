"""The jeugdoverlast ranking rule on made-up gemeenten (SYNTHETIC figures, no warehouse)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from veiligheidsbeeld.analysis.jeugd_ranking import rank_frame
from veiligheidsbeeld.config import RankingSettings
from veiligheidsbeeld.errors import ConfigError


def frame(rows: list[tuple[str, float, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["gemeente_code", "count", "inhabitants"])


def ranked(rows, **settings) -> pd.DataFrame:
    return rank_frame(frame(rows), RankingSettings(**settings)).set_index("gemeente_code")


def test_rate_is_per_1000_inhabitants_and_the_highest_rate_ranks_first():
    out = ranked([("A", 50, 10_000), ("B", 300, 100_000), ("C", 80, 20_000)])
    assert out.loc["A", "rate"] == pytest.approx(5.0)
    assert out.loc["B", "rate"] == pytest.approx(3.0)
    assert out.loc["C", "rate"] == pytest.approx(4.0)
    assert out["rank"].to_dict() == {"A": 1, "C": 2, "B": 3}
    assert out["ci_lower"].lt(out["rate"]).all() and out["ci_upper"].gt(out["rate"]).all()


def test_small_gemeenten_get_no_rank_but_keep_count_and_rate():
    # Tiny island: 40 registrations on 1,000 inhabitants is 40 per 1,000 — far above everyone.
    out = ranked([("eiland", 40, 1_000), ("A", 100, 20_000), ("B", 60, 30_000)])
    assert out.loc["eiland", "small"] and not out.loc["eiland", "ranked"]
    assert pd.isna(out.loc["eiland", "rank"])
    assert out.loc["eiland", "rate"] == pytest.approx(40.0)
    assert out.loc["A", "rank"] == 1  # the island does not push the others down


def test_threshold_is_configuration():
    rows = [("klein", 40, 5_000), ("groot", 100, 50_000)]
    assert pd.isna(ranked(rows)["rank"]["klein"])
    assert ranked(rows, min_inhabitants=1_000)["rank"]["klein"] == 1


def test_top_n_and_ties():
    out = ranked([("A", 50, 10_000), ("B", 50, 10_000), ("C", 40, 10_000), ("D", 10, 10_000)], top_n=2)
    assert out["rank"].to_dict() == {"A": 1, "B": 1, "C": 3, "D": 4}
    assert out["in_top"].to_dict() == {"A": True, "B": True, "C": False, "D": False}


def test_small_gemeente_certainly_above_the_top_is_reported():
    rows = [(f"G{i}", 10 * (i + 1), 20_000) for i in range(4)]  # rates 0.5 … 2.0 per 1,000
    rows += [("zeker", 60, 5_000), ("onzeker", 2, 900)]  # 12 per 1,000 (CI far above) and 2.2 (CI wide)
    out = ranked(rows, top_n=3)
    cutoff = out.loc[out["in_top"], "rate"].min()
    assert cutoff == pytest.approx(1.0)
    assert out.loc["zeker", "above_top_certain"]
    assert not out.loc["onzeker", "above_top_certain"]  # its interval reaches below the cutoff
    assert out.loc["onzeker", "ci_lower"] < cutoff < out.loc["onzeker", "rate"]


def test_unknown_count_or_inhabitants_is_never_ranked_as_zero():
    out = ranked([("A", 50, 10_000), ("geen_aantal", np.nan, 20_000), ("geen_inwoners", 30, np.nan)])
    assert out["ranked"].to_dict() == {"A": True, "geen_aantal": False, "geen_inwoners": False}
    assert out["rate"].isna().sum() == 2
    assert out.loc["A", "rank"] == 1


def test_no_top_cutoff_when_fewer_gemeenten_than_the_top():
    out = ranked([("A", 50, 10_000), ("klein", 100, 1_000)], top_n=10)
    assert not out["above_top_certain"].any()


@pytest.mark.parametrize("kwargs", [{"top_n": 0}, {"min_inhabitants": -1}, {"per": 0}, {"target_year": 1850}, {"table_id": "47022XXX"}])
def test_invalid_settings_are_refused(kwargs):
    with pytest.raises(ConfigError):
        RankingSettings(**kwargs)


def _result(rows, in_area, **settings):
    """A RankingResult around rank_frame output (SYNTHETIC gemeenten)."""
    from veiligheidsbeeld.analysis.jeugd_ranking import RankingResult
    from veiligheidsbeeld.warehouse.queries import DataInfo

    s = RankingSettings(**settings)
    out = rank_frame(frame(rows), s).assign(year=2018, gemeente_naam=lambda f: f["gemeente_code"],
                                            in_area=lambda f: f["gemeente_code"].isin(in_area),
                                            district_naam="", note="")
    info = DataInfo("47024NED", "test", "v", "", True, None, None)
    return RankingResult(s, (2018,), out, info, "Oost-Nederland", len(rows), len(rows), True, "")


def test_target_status_names_the_area_gemeenten_in_the_top():
    rows = [("A", 50, 10_000), ("B", 40, 10_000), ("C", 30, 10_000), ("D", 20, 10_000)]
    assert _result(rows, {"D"}, top_n=2).target_status() == (
        "gehaald: geen gemeente van Oost-Nederland in de landelijke top 2 van 2018")
    assert _result(rows, {"B"}, top_n=2).target_status() == (
        "niet gehaald: B (plaats 2) in de landelijke top 2 van 2018")


def test_target_status_is_unknown_when_an_area_gemeente_has_no_score():
    rows = [("A", 50, 10_000), ("B", 40, 10_000), ("C", 30, 10_000), ("D", 20, np.nan)]
    status = _result(rows, {"D"}, top_n=2).target_status()
    assert status.startswith("onbekend") and "D" in status  # never "gehaald" by a missing figure
    few = [("A", 50, 10_000), ("B", np.nan, 10_000)]
    assert _result(few, {"A"}, top_n=3).target_status().startswith("onbekend: in 2018 zijn maar 1 gemeenten")


def _inputs(counts: dict[str, float], inhabitants: dict[str, float], names: dict[str, str] | None = None):
    """RankingInputs for 2018 as the reader returns them (real gemeente codes, SYNTHETIC figures):
    ``counts`` per gemeente per month (NaN: one month suppressed), ``inhabitants`` (NaN: missing)."""
    from veiligheidsbeeld.config import Settings
    from veiligheidsbeeld.warehouse.geography import STATUS_MISSING, STATUS_OWN
    from veiligheidsbeeld.warehouse.queries import DataInfo, RankingInputs

    rows = []
    for code, n in counts.items():
        for m in range(1, 13):
            missing = np.isnan(n) and m == 6
            rows.append({"region_code": code, "type_code": "E35", "month": date(2018, m, 1),
                         "count": np.nan if missing else (0.0 if np.isnan(n) else n), "suppressed": missing,
                         "provisional": False})
    found = pd.DataFrame({"year": 2018, "gemeente_code": list(counts)})
    values = [inhabitants[c] for c in counts]
    found = found.assign(
        inhabitants=values, inhabitants_year=pd.array([pd.NA if np.isnan(v) else 2018 for v in values], "Int64"),
        inhabitants_status=[STATUS_MISSING if np.isnan(v) else STATUS_OWN for v in values],
        inhabitants_flag=[bool(np.isnan(v)) for v in values], inhabitants_source_table="SYNTHETISCH",
        inhabitants_vintage="v1", inhabitants_parts=list(counts), inhabitants_reason="")
    info = DataInfo("47024NED", "SYNTHETISCH", "v1", "", True, date(2018, 1, 1), date(2018, 12, 1))
    return RankingInputs(Settings(), RankingSettings(top_n=2), (2018,), names or {c: c for c in counts},
                         pd.DataFrame(rows), found, info)


def test_ranking_over_the_reader_frames_known_answer():
    from veiligheidsbeeld.analysis.jeugd_ranking import jeugd_ranking

    # Per year: Enschede 600 on 150,000 = 4.0; Hengelo 480 on 80,000 = 6.0; Almelo 120 on 60,000 = 2.0;
    # Amsterdam (outside the eenheid) 360 on 120,000 = 3.0.
    result = jeugd_ranking(_inputs({"GM0153": 50, "GM0164": 40, "GM0141": 10, "GM0363": 30},
                                   {"GM0153": 150_000, "GM0164": 80_000, "GM0141": 60_000, "GM0363": 120_000}))
    out = result.frame.set_index("gemeente_code")
    assert out["rate"].to_dict() == pytest.approx({"GM0153": 4.0, "GM0164": 6.0, "GM0141": 2.0, "GM0363": 3.0})
    assert out["rank"].to_dict() == {"GM0164": 1, "GM0153": 2, "GM0363": 3, "GM0141": 4}
    assert out["in_top"].to_dict() == {"GM0164": True, "GM0153": True, "GM0363": False, "GM0141": False}
    assert result.complete and result.n_gemeenten_data == 4
    # Only gemeenten of the eenheid in the warehouse: never presented as a national ranking.
    area_only = jeugd_ranking(_inputs({"GM0153": 50, "GM0164": 40}, {"GM0153": 150_000, "GM0164": 80_000}))
    assert not area_only.complete and "alleen uit Oost-Nederland" in area_only.coverage_text


def test_ranking_never_ranks_a_suppressed_month_or_missing_inhabitants():
    from veiligheidsbeeld.analysis.jeugd_ranking import jeugd_ranking
    from veiligheidsbeeld.errors import DataError

    result = jeugd_ranking(_inputs({"GM0153": 50, "GM0164": np.nan, "GM0141": 10},
                                   {"GM0153": 150_000, "GM0164": 80_000, "GM0141": np.nan},
                                   names={"GM0153": "Enschede", "GM0164": "Hengelo", "GM0141": "Almelo",
                                          "GM0363": "Amsterdam"}))
    out = result.frame.set_index("gemeente_code")
    assert np.isnan(out.loc["GM0164", "count"]) and pd.isna(out.loc["GM0164", "rank"])
    assert "aantal onbekend" in out.loc["GM0164", "note"] and "inwonertal ontbreekt" in out.loc["GM0141", "note"]
    assert out.loc["GM0153", "rank"] == 1
    assert not result.complete and "3 gemeenten" in result.coverage_text  # Amsterdam has no rows
    with pytest.raises(DataError, match="alleen"):
        jeugd_ranking(_inputs({"GM0153": 5}, {"GM0153": 1_000}, names={"GM0153": "E", "GM0363": "A"}),
                      require_complete=True)
