"""The crime codes behind woninginbraak, HIC and the BBV indicators, checked against the REAL
code list of 47022NED and the real national monthly series in ../shared (no warehouse)."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from veiligheidsbeeld.analysis.jaaranalyse import crime_groups
from veiligheidsbeeld.config import BBV_INDICATORS, CrimeGroup
from veiligheidsbeeld.constants import UNPUBLISHED_CODES
from veiligheidsbeeld.analysis.woninginbraak import TweewekelijksSettings
from veiligheidsbeeld.errors import ConfigError


@pytest.fixture(scope="module")
def code_list(shared_dir) -> dict[str, str]:
    with (Path(shared_dir) / "data/politie/47022NED_SoortMisdrijf.csv").open(encoding="utf-8", newline="") as fh:
        return {r["Key"].strip(): r["Title"] for r in csv.DictReader(fh)}


@pytest.fixture(scope="module")
def national_totals(shared_dir, code_list) -> dict[str, int]:
    """Code -> sum of the real national monthly series 2012–2023 (the file names codes by title)."""
    frame = pd.read_csv(Path(shared_dir) / "data/politie/NL_misdrijven_per_maand_2012_2023.csv")
    by_title = {title: code for code, title in code_list.items()}
    frame["code"] = frame["crime_type_code"].map(by_title)
    assert frame["code"].notna().all()
    return frame.groupby("code")["frequency"].sum().to_dict()


def test_every_code_exists_in_the_real_code_list_and_is_a_leaf(code_list):
    groups = crime_groups(TweewekelijksSettings())
    for group in groups:
        for code in group.codes:
            assert code in code_list, f"{group.label}: {code} staat niet in 47022NED"
            assert code != "0.0.0"


def test_bbv_codes_are_exactly_the_documented_ones(code_list):
    codes = {g.key: g.codes for g in BBV_INDICATORS}
    assert codes == {
        "bbv_diefstal_woning": ("1.1.1",),
        "bbv_winkeldiefstal": ("2.5.2",),
        "bbv_geweld": ("1.4.2", "1.4.4", "1.4.5", "1.6.3", "3.1.2"),
        "bbv_vernieling": ("1.6.1", "2.2.1", "1.4.3", "2.4.2", "2.7.3", "3.6.4", "3.7.1"),
    }
    # The sexual offences come from the yearly table 47025NED (same code list).
    assert {g.key: g.yearly_codes for g in BBV_INDICATORS if g.yearly_codes} == {"bbv_geweld": ("1.4.1", "3.2.1", "3.2.2")}
    every = [c for g in BBV_INDICATORS for c in (*g.codes, *g.yearly_codes)]
    assert len(every) == len(set(every))  # no crime counted twice
    for group in BBV_INDICATORS:
        # The report states the codes it uses, and which table each part comes from.
        assert all(code in group.definition for code in (*group.codes, *group.yearly_codes))
        assert "47022NED" in group.definition
    assert "47025NED" in BBV_INDICATORS[2].definition
    assert code_list["1.4.3"].endswith("Openlijk geweld (persoon)")
    assert code_list["2.5.2"] == "2.5.2 Winkeldiefstal"
    assert code_list["1.4.1"] == "1.4.1 Zedenmisdrijf"


def test_yearly_codes_are_published_in_the_real_yearly_series(shared_dir, national_totals):
    """Zeden is empty every month but published every year (real national 47025NED rows)."""
    yearly = pd.read_csv(Path(shared_dir) / "data/politie/NL_misdrijven_per_jaar_2012_2023.csv")
    for group in BBV_INDICATORS:
        for code in group.yearly_codes:
            assert national_totals[code] == 0
            rows = yearly[yearly["incident_type_code"].str.startswith(code + " ")]
            # (the download turned suppressed cells into 0, so a single year may read 0)
            assert len(rows) == 12 and rows["incident_count"].sum() > 0, code
    zeden = yearly[yearly["incident_type_code"] == "1.4.1 Zedenmisdrijf"].set_index("year")["incident_count"]
    assert zeden[2013] == 7_413 and (zeden > 6_000).all()


def test_a_code_in_both_the_monthly_and_the_yearly_part_is_refused():
    with pytest.raises(ConfigError, match="dubbel"):
        CrimeGroup("x", "X", ("1.4.2",), "bbv", yearly_codes=("1.4.2",))


def test_unpublished_codes_are_empty_in_the_real_monthly_series(national_totals):
    for code in UNPUBLISHED_CODES:
        assert national_totals[code] == 0
    for group in crime_groups(TweewekelijksSettings()):
        for code in group.codes:
            assert national_totals[code] > 0, f"{group.label}: {code} heeft geen gepubliceerde maandcijfers"


def test_a_group_with_an_unpublished_code_is_refused():
    zeden = CrimeGroup("bbv_zeden", "Zeden", ("1.4.1",), "bbv")
    with pytest.raises(ConfigError, match="1.4.1"):
        crime_groups(TweewekelijksSettings(), (zeden,))
