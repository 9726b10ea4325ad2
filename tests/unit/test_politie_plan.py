"""Planning a pull: partitions, enumerated filters, incremental months and skips."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import pytest

from veiligheidsbeeld.config import MISDRIJVEN, IngestSettings
from veiligheidsbeeld.errors import ConfigError, SchemaDriftError
from veiligheidsbeeld.sources.politie import TableMeta, check_schema, plan_pull, region_groups
from veiligheidsbeeld.sources.raw_archive import RawArchive, VintageManifest

PROPS = [
    {"Key": "SoortMisdrijf", "Type": "Dimension"},
    {"Key": "WijkenEnBuurten", "Type": "GeoDimension"},
    {"Key": "Perioden", "Type": "TimeDimension"},
    {"Key": "GeregistreerdeMisdrijven_1", "Type": "Topic"},
]
REGIONS = [
    {"Key": "NL00      ", "Title": "Nederland", "Municipality": ""},
    {"Key": "GM0153    ", "Title": "Enschede", "Municipality": "GM0153"},
    {"Key": "WK015300  ", "Title": "Wijk 00", "Municipality": "GM0153"},
    {"Key": "BU01530000", "Title": "Buurt", "Municipality": "GM0153"},
    {"Key": "GM0164    ", "Title": "Hengelo", "Municipality": "GM0164"},
]
TYPES = [{"Key": "0.0.0 ", "Title": "Totaal"}, {"Key": "1.1.1 ", "Title": "Woninginbraak"}]


def periods(last_year: int, last_month: int) -> list[dict]:
    out = []
    for y in range(2012, last_year + 1):
        for m in range(1, 13):
            if (y, m) <= (last_year, last_month):
                out.append({"Key": f"{y}MM{m:02d}"})
        out.append({"Key": f"{y}JJ00"})
    return out


def meta(modified: str, last=(2023, 12), regions=REGIONS) -> TableMeta:
    return TableMeta(MISDRIJVEN, {"Modified": modified}, PROPS, regions, TYPES, periods(*last))


def complete(archive: RawArchive, plan, *, kind=None) -> None:
    manifest = VintageManifest(
        table_id=plan.spec.table_id, vintage=plan.vintage, modified=plan.meta.modified, source="t",
        kind=kind or plan.kind, started_at="t", columns={}, filters=plan.filters,
        region_signature=plan.region_signature, type_signature=plan.type_signature, complete=True,
    )
    archive.save_manifest(manifest)


def test_schema_drift_names_what_changed():
    renamed = [dict(p, Key="RegioS") if p["Key"] == "WijkenEnBuurten" else p for p in PROPS]
    with pytest.raises(SchemaDriftError, match="dimensie 'WijkenEnBuurten' ontbreekt"):
        check_schema(MISDRIJVEN, renamed)
    with pytest.raises(SchemaDriftError, match="meetkolom 'GeregistreerdeMisdrijven_1' ontbreekt"):
        check_schema(MISDRIJVEN, PROPS[:3])
    check_schema(MISDRIJVEN, PROPS)  # the real shape passes


def test_region_groups_keep_padding_and_include_wijken_buurten():
    groups = region_groups(meta("2024-01-01T00:00:00"), ["GM0153"], include_wijken_buurten=True, include_nl=True)
    assert groups == {"NL00": ["NL00      "], "GM0153": ["GM0153    ", "WK015300  ", "BU01530000"]}
    only_gm = region_groups(meta("2024-01-01T00:00:00"), ["GM0153"], include_wijken_buurten=False, include_nl=False)
    assert only_gm == {"GM0153": ["GM0153    "]}


def test_unknown_gemeente_lists_valid_codes():
    with pytest.raises(ConfigError, match=r"GM9999.*GM0153"):
        region_groups(meta("2024-01-01T00:00:00"), ["GM9999"], include_wijken_buurten=True, include_nl=True)


#: One partition per year (the tests below are about months and groups, not about combining years).
PER_YEAR = IngestSettings(partition_rows=0)


def test_full_plan_partitions_by_group_and_year_with_year_rows(tmp_path: Path):
    plan = plan_pull(meta("2024-01-01T00:00:00"), RawArchive(tmp_path), PER_YEAR, ["GM0153"])
    assert plan.kind == "full"
    assert len(plan.partitions) == 2 * 12  # NL00 and GM0153, 2012..2023
    p2013 = next(p for p in plan.partitions if p.name == "GM0153_2013")
    assert p2013.period_keys == tuple(f"2013MM{m:02d}" for m in range(1, 13)) + ("2013JJ00",)
    assert p2013.type_keys is None  # all codes


def test_unknown_code_in_settings_lists_valid_codes(tmp_path: Path):
    settings = IngestSettings(codes={"47022NED": ("1.1.1", "9.9.9")})
    with pytest.raises(ConfigError, match=r"9\.9\.9.*0\.0\.0, 1\.1\.1"):
        plan_pull(meta("2024-01-01T00:00:00"), RawArchive(tmp_path), settings, ["GM0153"])
    ok = plan_pull(meta("2024-01-01T00:00:00"), RawArchive(tmp_path), IngestSettings(codes={"47022NED": ("1.1.1",)}), ["GM0153"])
    assert ok.partitions[0].type_keys == ("1.1.1 ",)  # served padding restored


def test_incremental_fetches_new_months_plus_revision_window(tmp_path: Path):
    archive = RawArchive(tmp_path)
    first = plan_pull(meta("2024-01-01T00:00:00", last=(2023, 12)), archive, IngestSettings(), ["GM0153"])
    complete(archive, first)
    settings = IngestSettings(revision_window_months=3, partition_rows=0)
    later = plan_pull(meta("2024-02-01T00:00:00", last=(2024, 1)), archive, settings, ["GM0153"])
    assert later.kind == "incremental" and later.base_vintage == first.vintage
    assert later.first_month == date(2023, 11, 1)  # Jan 2024 and the 3-month window back to Nov 2023
    names = sorted(p.name for p in later.partitions)
    assert names == ["GM0153_2023", "GM0153_2024", "NL00_2023", "NL00_2024"]
    p2023 = next(p for p in later.partitions if p.name == "GM0153_2023")
    assert p2023.period_keys == ("2023MM11", "2023MM12", "2023JJ00")


def test_changed_layout_forces_a_full_pull(tmp_path: Path):
    # The police republish the whole series on the latest layout: a new buurt means a full pull.
    archive = RawArchive(tmp_path)
    first = plan_pull(meta("2024-01-01T00:00:00"), archive, IngestSettings(), ["GM0153"])
    complete(archive, first)
    new_layout = REGIONS + [{"Key": "BU01530001", "Title": "Nieuwe buurt", "Municipality": "GM0153"}]
    relaid = plan_pull(meta("2024-02-01T00:00:00", last=(2024, 1), regions=new_layout), archive, IngestSettings(), ["GM0153"])
    assert relaid.kind == "full"
    assert "gewijzigd" in relaid.reason
    assert relaid.first_month == date(2012, 1, 1)


def test_national_gemeente_rows_are_one_group_with_their_own_codes(tmp_path: Path):
    # For national rankings: every other gemeente's own row (no wijken/buurten), few codes.
    settings = IngestSettings(national_gemeente_codes={"47022NED": ("1.1.1",)}, partition_rows=0)
    plan = plan_pull(meta("2024-01-01T00:00:00"), RawArchive(tmp_path), settings, ["GM0153"])
    national = [p for p in plan.partitions if p.group == "GMNL"]
    assert len(national) == 12
    assert national[0].region_keys == ("GM0164    ",)
    assert national[0].type_keys == ("1.1.1 ",)
    area = next(p for p in plan.partitions if p.group == "GM0153")
    assert area.type_keys is None  # the area keeps all codes
    without = plan_pull(meta("2024-01-01T00:00:00"), RawArchive(tmp_path / "b"), IngestSettings(national_gemeente_codes={}), ["GM0153"])
    assert not [p for p in without.partitions if p.group == "GMNL"]


def test_small_groups_combine_consecutive_years_up_to_partition_rows(tmp_path: Path):
    # Every query ends in a partly filled page: a small group fetched per year costs a nearly empty
    # request a year. Years are combined while regions × codes × periods stays within the limit.
    settings = IngestSettings(partition_rows=2 * 3 * 13 * 5)  # GM0153: 3 regions × 2 codes, 5 years of 13 periods
    plan = plan_pull(meta("2024-01-01T00:00:00"), RawArchive(tmp_path), settings, ["GM0153"])
    gm = [p for p in plan.partitions if p.group == "GM0153"]
    assert [p.name for p in gm] == ["GM0153_2012-2016", "GM0153_2017-2021", "GM0153_2022-2023"]
    assert gm[0].period_keys[:2] == ("2012MM01", "2012MM02") and gm[0].period_keys[-1] == "2016JJ00"
    assert len(gm[0].period_keys) == 5 * 13 and gm[0].year == 2012
    assert sum(len(p.period_keys) for p in gm) == 12 * 13  # every period once
    nl = [p.name for p in plan.partitions if p.group == "NL00"]  # 1 region × 2 codes: fewer partitions
    assert nl == ["NL00_2012-2023"]
    # A version pulled per year before keeps its names when it is resumed.
    per_year = plan_pull(meta("2024-01-01T00:00:00"), RawArchive(tmp_path / "old"), PER_YEAR, ["GM0153"])
    archive = RawArchive(tmp_path / "old")
    complete(archive, per_year)
    manifest = archive.manifest(per_year.spec.table_id, per_year.vintage)
    manifest.planned = [p.name for p in per_year.partitions]
    manifest.complete = False
    archive.save_manifest(manifest)
    resumed = plan_pull(meta("2024-01-01T00:00:00"), archive, settings, ["GM0153"])
    assert sorted(p.name for p in resumed.partitions) == sorted(p.name for p in per_year.partitions)


def test_negative_partition_rows_is_a_config_error():
    from veiligheidsbeeld.config import Settings, validate

    with pytest.raises(ConfigError, match="partition_rows"):
        validate(dataclasses.replace(Settings(), ingest=IngestSettings(partition_rows=-1)))
