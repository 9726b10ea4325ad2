"""Every settings section round-trips from veiligheidsbeeld.toml; bad sections, keys and values are
one Dutch sentence naming the setting."""

from __future__ import annotations

import dataclasses
import io
import re
import tokenize
from pathlib import Path

import pytest

from veiligheidsbeeld import config as C
from veiligheidsbeeld.config import (
    BBV_INDICATORS,
    AreaSettings,
    CrimeGroup,
    GeographySettings,
    IngestSettings,
    JaaranalyseSettings,
    Milestone,
    OverlastTargetSettings,
    Paths,
    RankingSettings,
    Settings,
    StatistiekSettings,
    TweewekelijksSettings,
    ValidationThresholds,
    load_settings,
)
from veiligheidsbeeld.errors import ConfigError
from veiligheidsbeeld.incidents.settings import IncidentSettings

ROOT = Path(__file__).resolve().parents[2]

# Every field of every section set to a value other than its default.
FULL_TOML = """
[ingest]
tables = ["47022NED", "47024NED"]
catalog_url = "dataderden.example.nl"
use_https = false
start_year = 2015
revision_window_months = 12
provisional_months = 6
codes = { "47022NED" = ["0.0.0", "1.1.1"] }
include_wijken_buurten = false
include_nl = false
national_gemeente_codes = { "47024NED" = ["E35"] }
concurrency = 3
retries = 2
backoff_seconds = 0.5
backoff_max_seconds = 30.0
timeout_seconds = 60.0
partition_rows = 5000
max_url_chars = 4000
warehouse_memory_limit = "2GB"

[area]
eenheid_code = "RE01"
eenheid_naam = "Noord-Nederland"
layout_year = 2022
district_table = "districten.csv"

[geography]
fetch_denominators = false
denominator_tables = ["bevolking"]
monthly_population = true
wijk_buurt_years = [2021, 2022]
denominator_table_ids = { bevolking = "03759ned", kwb_2022 = "85318NED" }
denominator_catalog_url = "opendata.example.nl"
fetch_boundaries = false
boundary_levels = ["gemeente", "buurt"]
boundary_files = { gemeente = "grenzen/gemeenten.topojson" }

[tweewekelijks]
table_id = "47024NED"
crime_code = "1.2.1"
crime_label = "Diefstal uit auto"
hic = { Straatroof = ["1.4.6"] }
season_start_month = 11
season_end_month = 2
buurt_min_dwellings = 100
control_chart_months = 48
control_chart_baseline_months = 30
series_years = 2
per = 100
top_n = 5
dwellings_measure = "woningen_eindstand"

[statistiek]
alpha = 0.01
fdr_q = 0.05
overdispersion = false
history_years = 6
dispersion_prior_pairs = 12
seasonal_min_years = 4
control_sigma = 2.5
judged_months = 2

[jaaranalyse]
compare_year = 2015
per = 10000
inhabitants_measure = "inwoners_gemiddeld"
dwellings_measure = "woningen_eindstand"
gemeente_overlast_categories = ["0.0.0"]

[[jaaranalyse.bbv]]
key = "bbv_winkeldiefstal"
label = "Winkeldiefstallen"
codes = ["2.5.2"]
kind = "bbv"
denominator = "woningen"
definition = "Alleen winkeldiefstal (test)."
yearly_codes = ["3.2.1"]

[ranking]
type_code = "E33"
table_id = "47022NED"
per = 10000
denominator = "inwoners_gemiddeld"
min_inhabitants = 5000
top_n = 20
target_year = 2022

[doel_overlast]
base_year = 2019
target_year = 2025
reduction = 0.15
milestones = [{ year = 2022, reduction = 0.05 }]
table_id = "47022NED"
categories = ["0.0.0", "E35"]
name = "15% minder overlast in 2025"

[validation]
partition_rows_warn = 0.01
partition_rows_blocker = 0.3
rollup_tolerance = [["47022NED", 0.1, 5]]
break_factor = 2.5
break_window_months = 6
break_min_months_after = 2
break_min_level = 10.0
break_levels = ["NL", "GM", "WK"]
suppressed_warn_share = 0.1
suppressed_blocker_share = 0.6
provisional_warn_months = 18
reconcile_abs_tolerance = 3
reconcile_rel_tolerance = 0.02
reconcile_blocker_rel = 0.2
max_examples = 3

[paths]
root = "/srv/veiligheidsbeeld"
raw = "ruw"
warehouse = "wh/vb.duckdb"
reports = "uit"

[incidenten]
kolommen = { registratie_id = "nummer" }
soort_mapping = { "Inbraak woning" = "1.1.1" }
datum_formaat = "%d-%m-%Y"
csv_scheidingsteken = ";"
cel_grootte_m = 150
hotspot_niveau = "buurt"
hotspot_alpha = 0.01
hotspot_permutaties = 99
woninginbraak_code = "1.1.2"
afstandsbanden = [0.0, 200.0, 400.0]
tijdsbanden = [0.0, 14.0, 28.0]
metriek = "euclidean"
permutaties = 199
seed = 7
max_venster_dagen = 7.0
alert_historie_dagen = 180
alert_min_ratio = 1.5
alert_alpha = 0.01
drop_map = "inbox"
"""

EXPECTED = Settings(
    ingest=IngestSettings(
        tables=("47022NED", "47024NED"), catalog_url="dataderden.example.nl", use_https=False, start_year=2015,
        revision_window_months=12, provisional_months=6, codes={"47022NED": ("0.0.0", "1.1.1")},
        include_wijken_buurten=False, include_nl=False, national_gemeente_codes={"47024NED": ("E35",)},
        concurrency=3, retries=2, backoff_seconds=0.5, backoff_max_seconds=30.0, timeout_seconds=60.0,
        partition_rows=5000, max_url_chars=4000, warehouse_memory_limit="2GB",
    ),
    area=AreaSettings(eenheid_code="RE01", eenheid_naam="Noord-Nederland", layout_year=2022,
                      district_table="districten.csv"),
    geography=GeographySettings(
        fetch_denominators=False, denominator_tables=("bevolking",), monthly_population=True,
        wijk_buurt_years=(2021, 2022), denominator_table_ids={"bevolking": "03759ned", "kwb_2022": "85318NED"},
        denominator_catalog_url="opendata.example.nl", fetch_boundaries=False, boundary_levels=("gemeente", "buurt"),
        boundary_files={"gemeente": "grenzen/gemeenten.topojson"},
    ),
    tweewekelijks=TweewekelijksSettings(
        table_id="47024NED", crime_code="1.2.1", crime_label="Diefstal uit auto", hic={"Straatroof": ("1.4.6",)},
        season_start_month=11, season_end_month=2, buurt_min_dwellings=100, control_chart_months=48,
        control_chart_baseline_months=30, series_years=2, per=100, top_n=5, dwellings_measure="woningen_eindstand",
    ),
    statistiek=StatistiekSettings(alpha=0.01, fdr_q=0.05, overdispersion=False, history_years=6,
                                  dispersion_prior_pairs=12, seasonal_min_years=4, control_sigma=2.5, judged_months=2),
    jaaranalyse=JaaranalyseSettings(
        compare_year=2015, per=10000, inhabitants_measure="inwoners_gemiddeld", dwellings_measure="woningen_eindstand",
        bbv=(CrimeGroup("bbv_winkeldiefstal", "Winkeldiefstallen", ("2.5.2",), "bbv", denominator="woningen",
                        definition="Alleen winkeldiefstal (test).", yearly_codes=("3.2.1",)),),
        gemeente_overlast_categories=("0.0.0",),
    ),
    ranking=RankingSettings(type_code="E33", table_id="47022NED", per=10000, denominator="inwoners_gemiddeld",
                            min_inhabitants=5000, top_n=20, target_year=2022),
    doel_overlast=OverlastTargetSettings(base_year=2019, target_year=2025, reduction=0.15,
                                         milestones=(Milestone(2022, 0.05),), table_id="47022NED",
                                         categories=("0.0.0", "E35"), name="15% minder overlast in 2025"),
    validation=ValidationThresholds(
        partition_rows_warn=0.01, partition_rows_blocker=0.3, rollup_tolerance=(("47022NED", 0.1, 5),),
        break_factor=2.5, break_window_months=6, break_min_months_after=2, break_min_level=10.0,
        break_levels=("NL", "GM", "WK"), suppressed_warn_share=0.1, suppressed_blocker_share=0.6,
        provisional_warn_months=18, reconcile_abs_tolerance=3, reconcile_rel_tolerance=0.02,
        reconcile_blocker_rel=0.2, max_examples=3,
    ),
    paths=Paths(root=Path("/srv/veiligheidsbeeld"), raw=Path("ruw"), warehouse=Path("wh/vb.duckdb"),
                reports=Path("uit")),
    incidenten=IncidentSettings(
        kolommen={"registratie_id": "nummer"}, soort_mapping={"Inbraak woning": "1.1.1"}, datum_formaat="%d-%m-%Y",
        csv_scheidingsteken=";", cel_grootte_m=150, hotspot_niveau="buurt", hotspot_alpha=0.01,
        hotspot_permutaties=99, woninginbraak_code="1.1.2", afstandsbanden=(0.0, 200.0, 400.0),
        tijdsbanden=(0.0, 14.0, 28.0), metriek="euclidean", permutaties=199, seed=7, max_venster_dagen=7.0,
        alert_historie_dagen=180, alert_min_ratio=1.5, alert_alpha=0.01, drop_map="inbox",
    ),
)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "veiligheidsbeeld.toml"
    path.write_text(text, encoding="utf-8")
    return path


def refused(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text))
    message = str(info.value)
    assert "\n" not in message and message.endswith((".", ")")), message  # one sentence
    return message


# --------------------------------------------------------------------------------------------
# Round trip
# --------------------------------------------------------------------------------------------


def test_every_section_round_trips_from_toml(tmp_path):
    loaded = load_settings(write(tmp_path, FULL_TOML))
    for name in C.sections():
        assert getattr(loaded, name) == getattr(EXPECTED, name), name
    assert loaded == EXPECTED


@pytest.mark.parametrize("section", list(C.sections()))
def test_the_round_trip_sets_every_field_of_every_section_to_a_non_default(section):
    """Guards the test above: a new setting must be added to FULL_TOML (and to the README)."""
    default = getattr(Settings(), section)
    expected = getattr(EXPECTED, section)
    same = [f.name for f in dataclasses.fields(default) if getattr(default, f.name) == getattr(expected, f.name)]
    assert not same, f"[{section}]: {same} keep their default in FULL_TOML"


def test_sections_are_exactly_the_fields_of_settings():
    assert list(C.sections()) == [
        "ingest", "area", "geography", "tweewekelijks", "statistiek", "jaaranalyse", "ranking", "doel_overlast",
        "validation", "paths", "incidenten",
    ]


def test_an_empty_file_gives_the_defaults(tmp_path):
    assert load_settings(write(tmp_path, "")) == Settings()


def test_the_configured_target_is_the_monitor_s(tmp_path):
    from veiligheidsbeeld.analysis.overlast_doel import target_settings_for

    settings = load_settings(write(tmp_path, FULL_TOML))
    assert target_settings_for(settings) is settings.doel_overlast
    assert target_settings_for(Settings()) == OverlastTargetSettings()


def test_milestones_as_a_table_of_years(tmp_path):
    loaded = load_settings(write(tmp_path, '[doel_overlast]\nmilestones = { "2015" = 0.05, "2017" = 0.15 }\n'))
    assert loaded.doel_overlast.milestones == (Milestone(2015, 0.05), Milestone(2017, 0.15))
    assert loaded.doel_overlast.glide_index(2015) == pytest.approx(95.0)


def test_a_bbv_group_in_toml_replaces_the_default_indicators(tmp_path):
    loaded = load_settings(write(tmp_path, '[[jaaranalyse.bbv]]\nkey = "x"\nlabel = "X"\ncodes = ["2.2.1"]\nkind = "bbv"\n'))
    assert loaded.jaaranalyse.bbv == (CrimeGroup("x", "X", ("2.2.1",), "bbv"),)
    assert Settings().jaaranalyse.bbv == BBV_INDICATORS


# --------------------------------------------------------------------------------------------
# Unknown sections and keys
# --------------------------------------------------------------------------------------------


def test_an_unknown_section_is_refused_with_the_valid_ones(tmp_path):
    message = refused(tmp_path, "[rangorde]\ntop_n = 3\n")
    assert "rangorde" in message
    for name in C.sections():
        assert name in message


@pytest.mark.parametrize("section", list(C.sections()))
def test_an_unknown_key_is_refused_with_the_valid_names(tmp_path, section):
    message = refused(tmp_path, f"[{section}]\nonbekend_veld = 1\n")
    assert f"[{section}]" in message and "onbekend_veld" in message
    for f in dataclasses.fields(getattr(Settings(), section)):
        assert f.name in message


def test_an_unknown_key_in_a_bbv_group_is_refused(tmp_path):
    message = refused(tmp_path, '[[jaaranalyse.bbv]]\nkey = "x"\nlabel = "X"\ncodes = ["2.2.1"]\nkind = "bbv"\nsoort = 1\n')
    assert "[jaaranalyse].bbv[0]" in message and "soort" in message and "yearly_codes" in message


def test_a_bbv_group_without_its_codes_names_what_is_missing(tmp_path):
    message = refused(tmp_path, '[[jaaranalyse.bbv]]\nkey = "x"\nlabel = "X"\nkind = "bbv"\n')
    assert "ontbreekt" in message and "codes" in message


def test_the_old_per_section_alpha_of_the_target_is_refused(tmp_path):
    """alpha is [statistiek] alpha, one level for every report."""
    message = refused(tmp_path, "[doel_overlast]\nalpha = 0.1\n")
    assert "alpha" in message and "base_year" in message


# --------------------------------------------------------------------------------------------
# Bad values
# --------------------------------------------------------------------------------------------

BAD_VALUES = [
    ("[jaaranalyse]\ncompare_year = 1890\n", "compare_year"),
    ("[jaaranalyse]\ncompare_year = 2013.5\n", "compare_year"),
    ("[jaaranalyse]\nper = 0\n", "per"),
    ('[jaaranalyse]\ninhabitants_measure = " "\n', "inhabitants_measure"),
    ('[[jaaranalyse.bbv]]\nkey = "x"\nlabel = "X"\ncodes = ["1"]\nkind = "hic"\n', "kind"),
    ('[[jaaranalyse.bbv]]\nkey = "x"\nlabel = "X"\ncodes = ["1"]\nkind = "bbv"\ndenominator = "huishoudens"\n',
     "denominator"),
    ('[[jaaranalyse.bbv]]\nkey = "x"\nlabel = "X"\ncodes = []\nkind = "bbv"\n', "geen misdrijfcodes"),
    ('[[jaaranalyse.bbv]]\nkey = "x"\nlabel = "X"\ncodes = ["1.4.1"]\nkind = "bbv"\n', "niet per maand"),
    ('[[jaaranalyse.bbv]]\nkey = "x"\nlabel = "X"\ncodes = ["1"]\nkind = "bbv"\n'
     '[[jaaranalyse.bbv]]\nkey = "x"\nlabel = "Y"\ncodes = ["2"]\nkind = "bbv"\n', "dubbel"),
    ("[ranking]\ntop_n = 0\n", "top_n"),
    ("[ranking]\nmin_inhabitants = -1\n", "min_inhabitants"),
    ("[ranking]\nper = -5\n", "per"),
    ("[ranking]\ntarget_year = 3000\n", "target_year"),
    ('[ranking]\ntable_id = "47099NED"\n', "47099NED"),
    ("[ranking]\nlevel = 0.9\n", "level"),  # the interval level is 1 - [statistiek] alpha
    ("[doel_overlast]\nreduction = 1.5\n", "fractie"),
    ("[doel_overlast]\nbase_year = 2018\ntarget_year = 2013\n", "na het basisjaar"),
    ("[doel_overlast]\nmilestones = [{ year = 2020, reduction = 0.1 }]\n", "Tussendoel 2020"),
    ('[doel_overlast]\ntable_id = "47024ned2"\n', "Onbekende tabel"),
    ("[validation]\npartition_rows_warn = 0.5\npartition_rows_blocker = 0.2\n", "partition_rows_warn"),
    ("[validation]\nsuppressed_blocker_share = 1.5\n", "suppressed_blocker_share"),
    ("[validation]\nbreak_factor = 0.5\n", "break_factor"),
    ("[validation]\nbreak_window_months = 0\n", "break_window_months"),
    ('[validation]\nbreak_levels = ["gemeente"]\n', "break_levels"),
    ('[validation]\nrollup_tolerance = [["47022NED", 0.1]]\n', "rollup_tolerance"),
    ('[validation]\nrollup_tolerance = [["47022NED", 2.0, 3]]\n', "rollup_tolerance"),
    ('[validation]\nrollup_tolerance = [["4702", 0.1, 3]]\n', "Onbekende tabel"),
    ("[validation]\nmax_examples = 0\n", "max_examples"),
    ('[geography]\ndenominator_tables = ["inkomen"]\n', "inkomen"),
    ("[geography]\nwijk_buurt_years = [22]\n", "wijk_buurt_years"),
    ('[geography]\ndenominator_table_ids = { bevolkng = "x" }\n', "bevolkng"),
    ('[geography]\nboundary_levels = ["provincie"]\n', "provincie"),
    ("[area]\nlayout_year = 23\n", "layout_year"),
    ("[statistiek]\nalpha = 0.7\n", "alpha"),
    ("[tweewekelijks]\nper = 0\n", "per"),
    ("[tweewekelijks]\nseries_years = -1\n", "series_years"),
    ('[tweewekelijks]\ntable_id = "47022"\n', "Onbekende tabel"),
    ("[incidenten]\ncel_grootte_m = 50\n", "cel_grootte_m"),
]


@pytest.mark.parametrize(("text", "named"), BAD_VALUES, ids=[f"{i}-{c[1]}" for i, c in enumerate(BAD_VALUES)])
def test_an_impossible_value_is_one_sentence_naming_it(tmp_path, text, named):
    assert named in refused(tmp_path, text)


def test_settings_built_in_code_are_checked_too():
    with pytest.raises(ConfigError, match="break_factor"):
        ValidationThresholds(break_factor=1.0)
    with pytest.raises(ConfigError, match="compare_year"):
        JaaranalyseSettings(compare_year=13)


# --------------------------------------------------------------------------------------------
# One place for names and the level
# --------------------------------------------------------------------------------------------


def test_the_denominator_table_keys_are_those_of_the_source():
    from veiligheidsbeeld.sources.denominators import GEMEENTE_TABLES

    from veiligheidsbeeld.constants import DENOMINATOR_TABLES

    assert set(DENOMINATOR_TABLES) == set(GEMEENTE_TABLES)


def test_the_boundary_levels_are_those_of_the_source():
    import typing

    from veiligheidsbeeld.sources import boundaries

    from veiligheidsbeeld.constants import BOUNDARY_LEVELS

    assert set(BOUNDARY_LEVELS) == set(typing.get_args(boundaries.Level))


def _literals(path: Path) -> list[tuple[int, str]]:
    tokens = tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline)
    return [(t.start[0], t.string) for t in tokens if t.type in (tokenize.STRING, tokenize.NUMBER)]


def test_table_ids_codes_and_the_level_are_spelt_out_once():
    """Outside constants.py (and the synthetic test data of testing/, which spell the real ids
    independently on purpose) no code names a table id, the roll-up code or alpha = 0.05."""
    wanted = re.compile(r"""^(['"])(4702[245]NED|0\.0\.0|NL00)\1$""")
    found = []
    src = ROOT / "src" / "veiligheidsbeeld"
    for path in sorted(src.rglob("*.py")):
        if path.name == "constants.py" or "testing" in path.relative_to(src).parts:
            continue
        for line, text in _literals(path):
            if wanted.match(text) or (text == "0.05" and path.name != "config.py"):
                found.append(f"{path.relative_to(src)}:{line} {text}")
    assert not found


def test_the_one_alpha_is_the_engine_s():
    """Every default level is the one default of [statistiek] alpha."""
    from veiligheidsbeeld.constants import ALPHA

    assert StatistiekSettings().alpha == ALPHA
    assert IncidentSettings().hotspot_alpha == ALPHA and IncidentSettings().alert_alpha == ALPHA
    assert not any(f.name == "alpha" for f in dataclasses.fields(OverlastTargetSettings))
    assert not any(f.name == "level" for f in dataclasses.fields(RankingSettings))


def test_no_settings_class_is_defined_in_analysis_or_warehouse():
    src = ROOT / "src" / "veiligheidsbeeld"
    pattern = re.compile(r"^class \w*(Settings|Thresholds)\b", re.M)
    for folder in ("analysis", "warehouse"):
        for path in (src / folder).rglob("*.py"):
            assert not pattern.search(path.read_text(encoding="utf-8")), path


def test_config_does_not_import_the_analysis():
    text = (ROOT / "src" / "veiligheidsbeeld" / "config.py").read_text(encoding="utf-8")
    assert not re.search(r"^\s*(from|import) veiligheidsbeeld\.(analysis|warehouse|sources|reports)", text, re.M)


# --------------------------------------------------------------------------------------------
# The README documents every section and key
# --------------------------------------------------------------------------------------------


def _readme_configuration() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("\n## Configuration")
    end = text.index("\n## ", start + 5)
    return text[start:end]


@pytest.mark.parametrize("section", list(C.sections()))
def test_the_readme_documents_every_key_of_every_section(section):
    text = _readme_configuration()
    assert f"[{section}]" in text
    missing = [f.name for f in dataclasses.fields(getattr(Settings(), section))
               if not re.search(rf"(^|[\s`\[{{,]){re.escape(f.name)}\b", text, re.M)]
    assert not missing, f"[{section}] in README lacks {missing}"
