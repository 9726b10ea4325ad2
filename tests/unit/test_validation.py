"""Data validation between layers: each rule pinned to a concrete case, and silent on clean data.

The warehouses here are small, deterministic and SYNTHETIC (labelled so in table_infos): NL00,
two gemeenten of Oost-Nederland, one wijk and one buurt, two crime codes and their roll-up,
January 2020 … December 2022. One test runs the rules on the REAL national series from
../shared/data/politie.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from veiligheidsbeeld.config import Settings, ValidationThresholds
from veiligheidsbeeld.errors import DataError
from veiligheidsbeeld.sources.raw_archive import PartitionRecord, RawArchive, VintageManifest
from veiligheidsbeeld.status import warehouse_status
from veiligheidsbeeld.warehouse import db, queries
from veiligheidsbeeld.warehouse.validation import (
    DEFAULT_THRESHOLDS,
    Finding,
    Severity,
    assert_publishable,
    blockers,
    new_run_id,
    status_lines,
    store_findings,
    validate_table,
    warnings,
)

T = "47022NED"
VINTAGE = "20230115T020000"
MONTHS: list[date] = list(pd.date_range("2020-01-01", "2022-12-01", freq="MS").date)
PROVISIONAL_FROM = date(2022, 10, 1)  # the last three months are provisional, as in the live tables
AREA = ["GM0150", "GM0153"]
# code, name, level, gemeente, wijk, scale of the counts
REGIONS = [
    ("NL00", "Nederland", "NL", None, None, 400),
    ("GM0150", "Deventer", "GM", "GM0150", None, 6),
    ("GM0153", "Enschede", "GM", "GM0153", None, 10),
    ("WK015300", "Wijk 00 Binnenstad", "WK", "GM0153", None, 3),
    ("BU01530000", "Binnenstad-Noord", "BU", "GM0153", "WK015300", 1),
]
PARTS = {"1.1.1": 7, "2.2.1": 4}  # code -> base count per unit of scale
ROLLUP = "0.0.0"
UNLISTED_SHARE = 0.02  # like the real 47022NED: the total counts ~2 % more than its listed codes


def _count(region_scale: int, base: int, i: int) -> int:
    # Deterministic, seasonal, no trend: a level that never breaks.
    return region_scale * base + (i * 7) % 5 + (3 if i % 12 in (5, 6, 7) else 0)


def clean_facts() -> pd.DataFrame:
    rows = []
    for code, _name, _level, _gm, _wk, scale in REGIONS:
        for i, month in enumerate(MONTHS):
            parts = {c: _count(scale, base, i) for c, base in PARTS.items()}
            total = sum(parts.values())
            total += round(UNLISTED_SHARE * total)
            for type_code, value in {**parts, ROLLUP: total}.items():
                rows.append((T, code, type_code, month, value, False, month >= PROVISIONAL_FROM, VINTAGE))
    return pd.DataFrame(
        rows, columns=["table_id", "region_code", "type_code", "month", "count", "suppressed", "provisional", "vintage"]
    )


def yearly_from(facts: pd.DataFrame) -> pd.DataFrame:
    f = facts.assign(year=[m.year for m in facts["month"]])
    y = f.groupby(["table_id", "region_code", "type_code", "year"], as_index=False)["count"].sum()
    y["suppressed"] = False
    y["vintage"] = VINTAGE
    return y[["table_id", "region_code", "type_code", "year", "count", "suppressed", "vintage"]]


def build_warehouse(
    path: Path,
    facts: pd.DataFrame | None = None,
    yearly: pd.DataFrame | None = None,
    periods_months: list[date] | None = None,
) -> Path:
    """A small SYNTHETIC warehouse, written straight into the schema."""
    facts = clean_facts() if facts is None else facts
    yearly = yearly_from(facts) if yearly is None else yearly
    months = MONTHS if periods_months is None else periods_months
    regions = pd.DataFrame(
        [(c, n, lv, gm, wk, c.ljust(10), T, VINTAGE) for c, n, lv, gm, wk, _s in REGIONS],
        columns=["code", "name", "level", "gemeente_code", "wijk_code", "raw_key", "table_id", "vintage"],
    )
    types = pd.DataFrame(
        [(T, c, f"{c} synthetisch", None, c == ROLLUP, VINTAGE) for c in [ROLLUP, *PARTS]],
        columns=["table_id", "code", "title", "description", "is_rollup", "vintage"],
    )
    periods = pd.DataFrame(
        [(T, f"{m.year}MM{m.month:02d}", None, None, m, m.year, m >= PROVISIONAL_FROM, VINTAGE) for m in months]
        + [(T, f"{y}JJ00", None, None, None, y, False, VINTAGE) for y in sorted({m.year for m in months})],
        columns=["table_id", "period_key", "title", "status", "month", "year", "provisional", "vintage"],
    )
    with db.writer(path) as con:
        for name, frame in (("regions", regions), ("offence_types", types), ("periods", periods),
                            ("facts_monthly", facts), ("facts_yearly_reported", yearly)):
            con.register("frame", frame)
            con.execute(f"INSERT INTO {name} SELECT * FROM frame")  # table names are fixed literals
            con.unregister("frame")
        con.execute(
            "INSERT INTO table_infos VALUES ($t, 'Misdrijven (SYNTHETISCH)', '2023-01-15T02:00:00', $v, true)",
            {"t": T, "v": VINTAGE},
        )
    return path


def run(path: Path, thresholds: ValidationThresholds = DEFAULT_THRESHOLDS, **kwargs) -> list[Finding]:
    with db.writer(path) as con:
        return validate_table(con, T, area_gemeenten=kwargs.pop("area", AREA), thresholds=thresholds, **kwargs)


def of(findings: list[Finding], rule: str) -> list[Finding]:
    return [f for f in findings if f.rule == rule]


def mutate(facts: pd.DataFrame, where: Callable[[pd.DataFrame], pd.Series], **values) -> pd.DataFrame:
    facts = facts.copy()
    mask = where(facts)
    for column, value in values.items():
        facts.loc[mask, column] = value
    return facts


@pytest.fixture
def wh(tmp_path: Path) -> Path:
    return tmp_path / "wh.duckdb"


# ----------------------------------------------------------------------------------------------
# Clean data
# ----------------------------------------------------------------------------------------------


def test_clean_synthetic_warehouse_has_only_the_provisional_info(wh: Path):
    findings = run(build_warehouse(wh))
    assert [(f.rule, f.severity) for f in findings] == [("provisional_months", Severity.INFO)]
    assert "3 voorlopige maand(en), oktober 2022 t/m december 2022" in findings[0].detail


def test_thresholds_live_in_one_frozen_dataclass():
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT_THRESHOLDS.break_factor = 2.0  # type: ignore[misc]
    assert DEFAULT_THRESHOLDS.rollup_bounds("47022NED") == (0.05, 3)
    assert DEFAULT_THRESHOLDS.rollup_bounds("47024NED") == (0.0, 0)
    assert DEFAULT_THRESHOLDS.rollup_bounds("onbekend") == (0.0, 0)


# ----------------------------------------------------------------------------------------------
# One test (or more) per rule, pinned to a concrete case
# ----------------------------------------------------------------------------------------------


def test_no_rows_is_a_blocker(wh: Path):
    facts = clean_facts().iloc[0:0]
    findings = run(build_warehouse(wh, facts=facts, yearly=yearly_from(facts)))
    assert [(f.rule, f.severity) for f in findings] == [("no_rows", Severity.BLOCKER)]


def test_month_missing_inside_the_series_is_a_warning(wh: Path):
    # A WARN, not a BLOCKER: the users want a missing month shown as a banner in the report.
    facts = clean_facts()
    facts = facts[facts["month"] != date(2021, 6, 1)]
    findings = run(build_warehouse(wh, facts=facts))
    missing = of(findings, "missing_month")
    assert [(f.severity, f.region_code, f.value) for f in missing] == [(Severity.WARN, None, 1.0)]
    assert "2021-06" in missing[0].detail
    # The table-wide gap is not repeated per region.
    assert of(findings, "region_missing_month") == []


def test_month_missing_at_the_end_of_the_period_list_is_found(wh: Path):
    # The period list publishes January 2023, but no row of it arrived.
    findings = run(build_warehouse(wh, periods_months=[*MONTHS, date(2023, 1, 1)]))
    missing = of(findings, "missing_month")
    assert len(missing) == 1 and "2023-01" in missing[0].detail


def test_month_missing_for_one_gemeente_and_for_a_buurt_warns(wh: Path):
    facts = clean_facts()
    drop = ((facts["region_code"] == "GM0150") & (facts["month"] == date(2021, 3, 1))) | (
        (facts["region_code"] == "BU01530000") & (facts["month"] == date(2020, 2, 1))
    )
    findings = of(run(build_warehouse(wh, facts=facts[~drop])), "region_missing_month")
    assert [(f.severity, f.region_code) for f in findings] == [(Severity.WARN, "GM0150"), (Severity.WARN, None)]
    assert "2021-03" in findings[0].detail and "BU01530000 (1)" in findings[1].detail


def test_gemeente_of_the_area_without_rows_is_a_warning(wh: Path):
    facts = clean_facts()
    findings = run(build_warehouse(wh, facts=facts[facts["region_code"] != "GM0150"]), area=[*AREA, "GM0193"])
    found = of(findings, "gemeente_without_rows")
    assert [(f.severity, f.region_code) for f in found] == [(Severity.WARN, "GM0150"), (Severity.WARN, "GM0193")]
    assert "Deventer (GM0150)" in found[0].detail
    assert "niet in de regiolijst" in found[1].detail  # GM0193 Zwolle is not in this table at all


def test_gemeente_codes_are_bound_as_parameters_not_formatted(wh: Path):
    findings = of(run(build_warehouse(wh), area=["GM0153", "GM0'; DROP TABLE facts_monthly; --"]), "gemeente_without_rows")
    assert [f.region_code for f in findings] == ["GM0'; DROP TABLE facts_monthly; --"]
    with db.reader(wh) as con:
        assert con.execute("SELECT count(*) FROM facts_monthly").fetchone()[0] == len(clean_facts())


def _set_rollup(facts: pd.DataFrame, region: str, month: date, value: int) -> pd.DataFrame:
    return mutate(
        facts,
        lambda f: (f["region_code"] == region) & (f["type_code"] == ROLLUP) & (f["month"] == month),
        count=value,
    )


def _parts_sum(facts: pd.DataFrame, region: str, month: date) -> int:
    sel = facts[(facts["region_code"] == region) & (facts["month"] == month) & (facts["type_code"] != ROLLUP)]
    return int(sel["count"].sum())


def test_rollup_within_the_measured_misdrijven_tolerance_passes(wh: Path):
    facts = clean_facts()
    month = date(2021, 4, 1)
    parts = _parts_sum(facts, "GM0153", month)  # 110 + seasonal bits
    # 4.5 % above the parts (real maximum seen nationally: 3.0 %) is still fine for 47022NED.
    facts = _set_rollup(facts, "GM0153", month, parts + math.floor(0.045 * parts))
    assert of(run(build_warehouse(wh, facts=facts)), "rollup_mismatch") == []


def test_rollup_not_equal_to_its_parts_blocks_at_gemeente_level(wh: Path):
    facts = clean_facts()
    month = date(2021, 4, 1)
    parts = _parts_sum(facts, "GM0153", month)
    facts = _set_rollup(facts, "GM0153", month, parts * 2)  # the total doubled
    facts = _set_rollup(facts, "NL00", month, _parts_sum(facts, "NL00", month) - 50)  # below its parts
    findings = of(run(build_warehouse(wh, facts=facts)), "rollup_mismatch")
    assert [(f.severity, f.region_code) for f in findings] == [(Severity.BLOCKER, "GM0153"), (Severity.BLOCKER, "NL00")]
    assert "april 2021" in findings[0].detail and f"som {parts}" in findings[0].detail
    assert findings[0].value == pytest.approx(0.5)


def test_rollup_mismatch_in_a_buurt_is_summarised_as_a_warning(wh: Path):
    facts = _set_rollup(clean_facts(), "BU01530000", date(2020, 5, 1), 200)
    findings = of(run(build_warehouse(wh, facts=facts)), "rollup_mismatch")
    assert [(f.severity, f.region_code) for f in findings] == [(Severity.WARN, None)]
    assert "BU01530000" in findings[0].detail


def test_rollup_is_not_checked_where_a_part_is_suppressed(wh: Path):
    facts = clean_facts()
    month = date(2021, 4, 1)
    facts = _set_rollup(facts, "GM0153", month, 10_000)
    facts = mutate(
        facts,
        lambda f: (f["region_code"] == "GM0153") & (f["type_code"] == "2.2.1") & (f["month"] == month),
        count=None, suppressed=True,
    )
    assert of(run(build_warehouse(wh, facts=facts)), "rollup_mismatch") == []


def test_overlast_rollup_tolerance_is_exact():
    t = DEFAULT_THRESHOLDS
    misdrijven, overlast = t.rollup_bounds("47022NED"), t.rollup_bounds("47024NED")
    assert overlast == (0.0, 0) and misdrijven[0] > 0.03  # above the real maximum gap of 2.97 %


def test_structural_break_that_stays_warns(wh: Path):
    facts = clean_facts()
    jump = (facts["region_code"] == "GM0153") & (facts["type_code"] == "1.1.1") & (facts["month"] >= date(2021, 7, 1))
    facts.loc[jump, "count"] = facts.loc[jump, "count"] * 4
    findings = of(run(build_warehouse(wh, facts=facts)), "structural_break")
    # Only this series breaks (its roll-up no longer adds up, which is another rule's business).
    assert [(f.severity, f.region_code) for f in findings] == [(Severity.WARN, "GM0153")]
    assert "code 1.1.1" in findings[0].detail and "juli 2021" in findings[0].detail
    assert findings[0].value == pytest.approx(4.0, rel=0.05)


def test_structural_break_downwards_warns(wh: Path):
    facts = clean_facts()
    drop = (facts["region_code"] == "NL00") & (facts["type_code"] == "2.2.1") & (facts["month"] >= date(2021, 1, 1))
    facts.loc[drop, "count"] = facts.loc[drop, "count"] // 5
    findings = of(run(build_warehouse(wh, facts=facts)), "structural_break")
    assert [(f.region_code, "daalt vanaf januari 2021" in f.detail) for f in findings] == [("NL00", True)]


def test_single_spike_is_not_a_structural_break(wh: Path):
    facts = clean_facts()
    spike = (facts["region_code"] == "GM0153") & (facts["type_code"] == "1.1.1") & (facts["month"] == date(2021, 7, 1))
    facts.loc[spike, "count"] = facts.loc[spike, "count"] * 10
    findings = run(build_warehouse(wh, facts=facts), area=AREA)
    assert of(findings, "structural_break") == []


def test_break_in_small_counts_is_ignored(wh: Path):
    # The buurt (level BU) and tiny counts are not checked: chance, not a break.
    facts = clean_facts()
    jump = (facts["region_code"] == "BU01530000") & (facts["month"] >= date(2021, 7, 1))
    facts.loc[jump, "count"] = facts.loc[jump, "count"] * 5
    findings = run(build_warehouse(wh, facts=facts, yearly=yearly_from(facts)))
    assert of(findings, "structural_break") == []


def test_share_of_suppressed_cells_warns_per_gemeente_and_blocks_table_wide(wh: Path):
    facts = clean_facts()
    # 20 % of Deventer's cells suppressed (its own series only: 36 months x 3 codes).
    sup = (facts["region_code"] == "GM0150") & (facts["month"] < date(2020, 9, 1)) & (facts["type_code"] != ROLLUP)
    facts = mutate(facts, lambda f: sup, count=None, suppressed=True)
    findings = of(run(build_warehouse(wh, facts=facts, yearly=yearly_from(clean_facts()))), "suppressed_share")
    assert [(f.severity, f.region_code) for f in findings] == [(Severity.WARN, "GM0150")]
    assert findings[0].value == pytest.approx(16 / 108)

    mostly = mutate(clean_facts(), lambda f: f["month"] < date(2022, 1, 1), count=None, suppressed=True)
    findings = of(run(build_warehouse(wh.with_name("b.duckdb"), facts=mostly, yearly=yearly_from(clean_facts()))),
                  "suppressed_share")
    table = [f for f in findings if f.region_code is None]
    assert [(f.severity, round(f.value, 3)) for f in table] == [(Severity.BLOCKER, round(24 / 36, 3))]


def test_provisional_months_are_info_and_unusual_ones_warn(wh: Path):
    facts = clean_facts()
    facts.loc[facts["month"] == date(2020, 3, 1), "provisional"] = True  # provisional before definitive
    findings = of(run(build_warehouse(wh, facts=facts)), "provisional_months")
    assert [f.severity for f in findings] == [Severity.INFO, Severity.WARN]
    assert "2020-03" in findings[1].detail
    strict = ValidationThresholds(provisional_warn_months=2)
    findings = of(run(wh, thresholds=strict), "provisional_months")
    assert [f.severity for f in findings] == [Severity.INFO, Severity.WARN, Severity.WARN]


def test_yearly_rows_that_differ_from_the_monthly_sum(wh: Path):
    facts = clean_facts()
    yearly = yearly_from(facts)
    sel = (yearly["region_code"] == "GM0153") & (yearly["type_code"] == "1.1.1") & (yearly["year"] == 2021)
    yearly.loc[sel, "count"] = yearly.loc[sel, "count"] + 10  # ~1 % off: a warning
    sel = (yearly["region_code"] == "GM0150") & (yearly["type_code"] == ROLLUP) & (yearly["year"] == 2020)
    yearly.loc[sel, "count"] = yearly.loc[sel, "count"] * 2  # doubled: a blocker
    sel = (yearly["region_code"] == "NL00") & (yearly["type_code"] == ROLLUP) & (yearly["year"] == 2022)
    yearly.loc[sel, "count"] = yearly.loc[sel, "count"] + 2  # within the absolute tolerance
    findings = of(run(build_warehouse(wh, facts=facts, yearly=yearly)), "yearly_reconciliation")
    assert [(f.severity, f.region_code) for f in findings] == [(Severity.BLOCKER, "GM0150"), (Severity.WARN, "GM0153")]
    assert "code 0.0.0 in 2020" in findings[0].detail


def test_yearly_rows_of_a_buurt_that_differ_are_summarised_as_one_warning(wh: Path):
    facts = clean_facts()
    yearly = yearly_from(facts)
    sel = (yearly["region_code"] == "BU01530000") & (yearly["year"].isin([2020, 2021])) & (yearly["type_code"] == ROLLUP)
    yearly.loc[sel, "count"] = yearly.loc[sel, "count"] * 2  # doubled, but a buurt: never a blocker
    findings = of(run(build_warehouse(wh, facts=facts, yearly=yearly)), "yearly_reconciliation")
    assert [(f.severity, f.region_code) for f in findings] == [(Severity.WARN, None)]
    assert "in 1 wijken/buurten wijken 2 jaarcijfers af" in findings[0].detail and "BU01530000" in findings[0].detail
    assert findings[0].value == 2.0


def test_reconciliation_skips_incomplete_years(wh: Path):
    facts = clean_facts()
    yearly = yearly_from(facts)
    wrong = (yearly["year"] == 2020) & (yearly["type_code"] == "1.1.1")
    yearly.loc[wrong, "count"] = 1  # wrong, but this code's 2020 lacks a published month below
    sup = (facts["month"] == date(2020, 2, 1)) & (facts["type_code"] == "1.1.1")
    facts = mutate(facts, lambda f: sup, count=None, suppressed=True)
    assert of(run(build_warehouse(wh, facts=facts, yearly=yearly)), "yearly_reconciliation") == []


# ----------------------------------------------------------------------------------------------
# Partition row counts from the raw manifests
# ----------------------------------------------------------------------------------------------


def raw_archive(root: Path, rows: dict[str, int], *, vintage: str = VINTAGE,
                codes: tuple[str, ...] = (ROLLUP, *PARTS)) -> RawArchive:
    """A manifest of one complete full pull: NL00 (1 region) and GM0153 (3 regions), per year 12 months + JJ00."""
    archive = RawArchive(root)
    partitions = {}
    for name, n in rows.items():
        group, year = name.rsplit("_", 1)
        partitions[name] = PartitionRecord(
            file=f"partitions/{name}.parquet", rows=n, sha256="0" * 64, fetched_at="2023-01-15T03:00:00+00:00",
            periods=[f"{year}MM{m:02d}" for m in range(1, 13)] + [f"{year}JJ00"],
            regions=1 if group == "NL00" else 3,
        )
    manifest = VintageManifest(
        table_id=T, vintage=vintage, modified="2023-01-15T02:00:00", source="synthetisch", kind="full",
        started_at="2023-01-15T03:00:00+00:00",
        columns={"region_key": "WijkenEnBuurten", "type_key": "SoortMisdrijf", "period_key": "Perioden",
                 "value": "GeregistreerdeMisdrijven_1"},
        planned=sorted(partitions), partitions=partitions, filters={"codes": "alle"}, complete=True,
    )
    archive.save_manifest(manifest)
    archive.save_entity(T, vintage, "SoortMisdrijf", [{"Key": f"{c} ".ljust(6), "Title": f"Titel {c}"} for c in codes])
    return archive


def test_partition_row_counts_match_their_shape(wh: Path, tmp_path: Path):
    # NL00: 1 x 3 codes x 13 periods = 39; GM0153: 3 x 3 x 13 = 117.
    archive = raw_archive(tmp_path / "raw", {"NL00_2021": 39, "GM0153_2021": 117})
    assert of(run(build_warehouse(wh), raw_archive=archive), "partition_rows") == []


def test_partition_row_count_far_from_its_shape(wh: Path, tmp_path: Path):
    archive = raw_archive(
        tmp_path / "raw", {"NL00_2021": 39, "GM0153_2021": 105, "GM0153_2022": 40, "NL00_2022": 78, "NL00_2020": 39}
    )
    findings = of(run(build_warehouse(wh), raw_archive=archive), "partition_rows")
    assert [(f.severity, f.region_code) for f in findings] == [
        (Severity.WARN, "GM0153"), (Severity.BLOCKER, "GM0153"), (Severity.WARN, "NL00")
    ]
    assert "partitie GM0153_2021: 105 rijen, verwacht 117" in findings[0].detail and "te weinig" in findings[0].detail
    assert findings[0].value == pytest.approx(12 / 117)
    assert findings[1].value == pytest.approx(77 / 117)
    # Twice the rows: repeated rows, which the load collapses; a warning, never a blocker.
    assert "partitie NL00_2022: 78 rijen, verwacht 39" in findings[2].detail and "dubbel" in findings[2].detail


def test_partition_rows_without_a_complete_pull_is_info(wh: Path, tmp_path: Path):
    findings = of(run(build_warehouse(wh), raw_archive=RawArchive(tmp_path / "leeg")), "partition_rows")
    assert [f.severity for f in findings] == [Severity.INFO]


def test_code_that_left_the_code_list_warns(wh: Path, tmp_path: Path):
    raw_archive(tmp_path / "raw", {"NL00_2021": 39}, vintage="20221215T020000", codes=(ROLLUP, "1.1.1", "2.2.1", "3.9.1"))
    archive = raw_archive(tmp_path / "raw", {"NL00_2021": 39}, codes=(ROLLUP, "1.1.1", "2.2.1"))
    findings = of(run(build_warehouse(wh), raw_archive=archive), "code_list_changed")
    assert [(f.severity, f.region_code) for f in findings] == [(Severity.WARN, None)]
    assert "code 3.9.1 (Titel 3.9.1) staat in versie 20230115T020000 niet meer in de codelijst" in findings[0].detail
    # One vintage only, or the same codes in both: nothing to say.
    assert of(run(wh, raw_archive=raw_archive(tmp_path / "raw2", {"NL00_2021": 39})), "code_list_changed") == []


# ----------------------------------------------------------------------------------------------
# Storing, reading and showing the results
# ----------------------------------------------------------------------------------------------


def test_store_replaces_results_per_table_and_feeds_reports_and_status(wh: Path, tmp_path: Path):
    facts = clean_facts()
    # A roll-up that no longer equals its parts is a BLOCKER (data present but wrong).
    build_warehouse(wh, facts=_set_rollup(facts, "GM0153", date(2021, 6, 1), _parts_sum(facts, "GM0153", date(2021, 6, 1)) + 500))
    other = Finding("structural_break", Severity.WARN, "47024NED", "GM0153", "Overlast: breuk.", 3.5, 3.0)
    with db.writer(wh) as con:
        store_findings(con, "run-1", [*validate_table(con, T, area_gemeenten=AREA), other])
        assert [f.rule for f in blockers(con)] == ["rollup_mismatch"]
        assert [f.table_id for f in warnings(con)] == ["47024NED"]
        with pytest.raises(DataError, match="(?s)niet gepubliceerd.*GM0153"):
            assert_publishable(con, [T])
        assert assert_publishable(con, ["47024NED"]) == [other]

    # Status (read-only connection, through `veiligheidsbeeld status`).
    settings = Settings().with_paths(root=tmp_path, warehouse=wh)
    lines = warehouse_status(settings).validation_lines
    assert lines[0].startswith("Gegevenscontrole 47022NED (versie 20230115T020000")
    assert "niet publiceerbaar — 1 blokkerend, 0 waarschuwing(en), 1 info" in lines[0]
    assert lines[1].startswith("  BLOKKEREND: ") and "GM0153" in lines[1]
    assert any(line.startswith("Gegevenscontrole 47024NED") and "publiceerbaar met waarschuwing" in line for line in lines)

    # A clean run of 47022NED replaces its results; 47024NED's stay.
    with db.writer(wh) as con:
        for name, frame in (("facts_monthly", facts), ("facts_yearly_reported", yearly_from(facts))):
            con.execute(f"DELETE FROM {name}")  # fixed table names
            con.register("frame", frame)
            con.execute(f"INSERT INTO {name} SELECT * FROM frame")
            con.unregister("frame")
        store_findings(con, new_run_id(), [f for f in validate_table(con, T, area_gemeenten=AREA)
                                           if f.severity != Severity.INFO], tables=[T])
        assert blockers(con) == [] and blockers(con, T) == []
        assert [f.table_id for f in warnings(con)] == ["47024NED"]
        assert con.execute("SELECT count(*) FROM validation_results WHERE table_id = $t", {"t": T}).fetchone()[0] == 0
        runs = con.execute("SELECT blockers, warnings, infos FROM validation_runs WHERE table_id = $t", {"t": T}).fetchone()
        assert runs == (0, 0, 0)
        assert status_lines(queries.validation_runs(con), queries.validation_findings_for_status(con))[0].endswith("in orde — 0 blokkerend, 0 waarschuwing(en), 0 info.")


def test_store_is_one_transaction(wh: Path, monkeypatch):
    build_warehouse(wh)
    first = Finding("missing_month", Severity.BLOCKER, T, None, "Eerste run.", 1.0, 0.0)
    with db.writer(wh) as con:
        store_findings(con, "run-1", [first])
        bad = Finding("rollup_mismatch", Severity.BLOCKER, T, "GM0153", None, 1.0, 0.0)  # type: ignore[arg-type]
        with pytest.raises(duckdb.Error):
            store_findings(con, "run-2", [Finding("x", Severity.WARN, T, None, "ok"), bad])  # detail NOT NULL
        # The previous results are intact.
        assert blockers(con) == [first]
        assert con.execute("SELECT DISTINCT run_id FROM validation_results").fetchall() == [("run-1",)]


def test_status_before_any_validation(wh: Path):
    build_warehouse(wh)
    with db.reader(wh) as con:
        assert status_lines(queries.validation_runs(con), queries.validation_findings_for_status(con)) == [
            "Gegevenscontrole: nog niet uitgevoerd."]


# ----------------------------------------------------------------------------------------------
# The real national series (NL00, 2012-2023)
# ----------------------------------------------------------------------------------------------


def real_national_facts(shared_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """facts_monthly, facts_yearly_reported and offence_types rows for NL00 from the real CSVs."""
    base = shared_dir / "data" / "politie"
    facts, yearly, types = [], [], []
    for table_id, series, codelist in (
        ("47022NED", "NL_misdrijven_per_maand_2012_2023.csv", "47022NED_SoortMisdrijf.csv"),
        ("47024NED", "NL_overlast_per_maand_2012_2023.csv", "47024NED_Overlast.csv"),
    ):
        codes = pd.read_csv(base / codelist)
        codes["code"] = codes["Key"].str.strip()
        title_to_code = dict(zip(codes["Title"].str.strip(), codes["code"]))
        types += [(table_id, c, t.strip(), None, c == ROLLUP, "echt") for c, t in zip(codes["code"], codes["Title"])]
        s = pd.read_csv(base / series)
        s["type_code"] = s["crime_type_code"].str.strip().map(title_to_code)
        assert s["type_code"].notna().all()
        s["date"] = pd.to_datetime(s["date"]).dt.date
        s["year"] = [d.year for d in s["date"]]
        # The overlast file also holds the year rows (JJ00), dated 1 January: the 13th row per code and year.
        s["nth"] = s.groupby(["type_code", "year"]).cumcount()
        months, years = s[s["nth"] < 12], s[s["nth"] == 12]
        assert (months.groupby(["type_code", "year"]).size() == 12).all()
        facts += [(table_id, "NL00", c, d, int(v), False, False, "echt")
                  for c, d, v in zip(months["type_code"], months["date"], months["frequency"])]
        yearly += [(table_id, "NL00", c, y, int(v), False, "echt")
                   for c, y, v in zip(years["type_code"], years["year"], years["frequency"])]
    return (
        pd.DataFrame(facts, columns=["table_id", "region_code", "type_code", "month", "count", "suppressed",
                                     "provisional", "vintage"]),
        pd.DataFrame(yearly, columns=["table_id", "region_code", "type_code", "year", "count", "suppressed", "vintage"]),
        pd.DataFrame(types, columns=["table_id", "code", "title", "description", "is_rollup", "vintage"]),
    )


def test_real_national_series_raises_no_blocker(wh: Path, shared_dir: Path):
    facts, yearly, types = real_national_facts(shared_dir)
    with db.writer(wh) as con:
        con.execute("INSERT INTO regions VALUES ('NL00', 'Nederland', 'NL', NULL, NULL, 'NL00      ', '47022NED', 'echt')")
        for name, frame in (("facts_monthly", facts), ("facts_yearly_reported", yearly), ("offence_types", types)):
            con.register("frame", frame)
            con.execute(f"INSERT INTO {name} SELECT * FROM frame")  # fixed table names
            con.unregister("frame")
        found = {t: validate_table(con, t, area_gemeenten=[]) for t in ("47022NED", "47024NED")}

    for table_id, findings in found.items():
        assert [f for f in findings if f.severity == Severity.BLOCKER] == [], table_id
        # Roll-up within the measured tolerance in all 144 months; overlast year rows = sum of months.
        assert of(findings, "rollup_mismatch") == [] and of(findings, "yearly_reconciliation") == []
        assert of(findings, "missing_month") == []
    # The real series do have structural breaks, and they are flagged as warnings, not blockers:
    # the registration of fraud changed in mid-2015 (3.9.1 horizontale fraude: factor ~10) and
    # horeca noise collapsed when the horeca closed in 2020 (M061 geluidshinder horeca).
    breaks = {(f.table_id, f.detail.split("code ")[1].split(":")[0]): f
              for f in of(found["47022NED"] + found["47024NED"], "structural_break")}
    assert "vanaf juni 2015" in breaks[("47022NED", "3.9.1")].detail
    assert "2020" in breaks[("47024NED", "M061")].detail
    assert all(f.severity == Severity.WARN for f in breaks.values())
