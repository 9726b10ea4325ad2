"""Property test over generated bad input (issue 15): configuration values, dimension files,
counts and ``Modified`` stamps, each through the command as a user runs it.

For every generated case: either the correct result (exit 0 and the value where it belongs), or
exit 1 with one sentence (``Fout: …``) — never a traceback, and never a changed warehouse.

Bounded on purpose (a few dozen examples in all, derandomised, no deadline): it runs in well under
a minute. The snapshot is SYNTHETIC for Olst-Wijhe (GM1773), 2023, with the REAL NL00 rows.
"""

from __future__ import annotations

import itertools
import json
import math
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from testkit import read_warehouse

from testkit import cli
from veiligheidsbeeld.testing.synthetic import build_police_snapshot

pytestmark = pytest.mark.integration

GEMEENTE = "GM1773"
TABLE = "47022NED"
MEASURE = "GeregistreerdeMisdrijven_1"
CELL = ("WK177301", "1.1.1", "2023MM03")  # the cell whose count is generated
CONFIG = "[geography]\nfetch_denominators = false\nfetch_boundaries = false\n"
BOUNDED = settings(max_examples=12, deadline=None, derandomize=True, database=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
_STAMPS = itertools.count(1)


def correct_or_one_sentence(result) -> bool:
    """True for a success, False for a clean refusal; anything else fails the test."""
    out = result.output
    assert "Traceback" not in out, out
    if result.exit_code == 0:
        return True
    assert result.exit_code == 1, (result.exit_code, repr(result.exception), out)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert len([line for line in out.splitlines() if line.startswith("Fout:")]) == 1, out
    return False


def warehouse(root: Path) -> list[tuple]:
    with read_warehouse(root) as con:
        return (con.execute("SELECT * FROM facts_monthly ORDER BY ALL").fetchall()
                + con.execute("SELECT * FROM regions ORDER BY ALL").fetchall()
                + con.execute("SELECT * FROM offence_types ORDER BY ALL").fetchall()
                + con.execute("SELECT * FROM periods ORDER BY ALL").fetchall())


def count_in_warehouse(root: Path) -> Any:
    with read_warehouse(root) as con:
        return con.execute(
            "SELECT count FROM facts_monthly WHERE table_id = $t AND region_code = $r AND type_code = $c "
            "AND month = $m", {"t": TABLE, "r": CELL[0], "c": CELL[1], "m": datetime(2023, 3, 1)}
        ).fetchone()[0]


@pytest.fixture(scope="module")
def project(tmp_path_factory, shared_dir) -> Path:
    root = tmp_path_factory.mktemp("faults_property") / "project"
    root.mkdir()
    build_police_snapshot(root / "snapshot", shared_dir=shared_dir, gemeenten=[GEMEENTE], tables=(TABLE,),
                          start="2023-01", end="2023-12", codes={TABLE: ("0.0.0", "1.1.1")})
    (root / "veiligheidsbeeld.toml").write_text(CONFIG, encoding="utf-8")
    result = cli(root, "ingest", "--source", "snapshot", "--gemeenten", GEMEENTE, "--tables", TABLE)
    assert result.exit_code == 0, result.output
    return root


def new_snapshot(project: Path, modified: str | None = None) -> Path:
    """A copy of the snapshot with its own, later ``Modified`` (so the ingest pulls it)."""
    snap = project.parent / "snap"
    shutil.rmtree(snap, ignore_errors=True)
    shutil.copytree(project / "snapshot", snap)
    if modified is None:
        modified = (datetime(2024, 5, 1, 2) + timedelta(minutes=next(_STAMPS))).isoformat()
    path = snap / TABLE / "TableInfos.json"
    infos = json.loads(path.read_text(encoding="utf-8"))
    infos[0]["Modified"] = modified
    path.write_text(json.dumps(infos), encoding="utf-8")
    return snap


def ingest(project: Path, snap: Path):
    return cli(project, "ingest", "--source", str(snap), "--gemeenten", GEMEENTE, "--tables", TABLE)


# ----------------------------------------------------------------------------------------------
# Configuration values
# ----------------------------------------------------------------------------------------------


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value == math.inf else "-inf" if value == -math.inf else repr(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{ " + ", ".join(f"{json.dumps(str(k))} = {toml_value(v)}" for k, v in value.items()) + " }"


SETTINGS = {
    "ingest": ["tables", "start_year", "revision_window_months", "provisional_months", "codes", "concurrency",
               "retries", "backoff_seconds", "partition_rows", "national_gemeente_codes", "timeout_seconds"],
    "geography": ["boundary_files", "boundary_levels", "fetch_boundaries", "wijk_buurt_years"],
    "tweewekelijks": ["season_start_month", "alpha", "hic", "top_n", "buurt_min_dwellings", "control_chart_months"],
    "doel_overlast": ["base_year", "target_year", "reduction", "milestones", "categories"],
    "ranking": ["top_n", "min_inhabitants", "target_year"],
    "validation": ["break_factor", "break_levels", "rollup_tolerance"],
    "jaaranalyse": ["compare_year", "per"],
    "area": ["layout_year", "eenheid_naam"],
}
scalars = st.one_of(st.integers(-5, 2100), st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
                    st.sampled_from(["", "47022NED", "47022ned", "1.1.1", "gemeent", "gemeente", "2013"]))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3),
    st.dictionaries(st.sampled_from(["47022NED", "47022ned", "gemeente", "gemeent", "2016", "year", "reduction"]),
                    inner, max_size=2)), max_leaves=4)


@BOUNDED
@given(section=st.sampled_from(sorted(SETTINGS)), data=st.data())
def test_generated_settings_are_read_correctly_or_refused_in_one_sentence(project, tmp_path_factory, section, data):
    key = data.draw(st.sampled_from(SETTINGS[section]), label="key")
    value = data.draw(values, label="value")
    config = tmp_path_factory.mktemp("cfg") / "gen.toml"
    config.write_text(CONFIG + f"\n[{section}]\n{key} = {toml_value(value)}\n", encoding="utf-8")
    before = warehouse(project)
    result = cli(project, "--config", str(config), "status")
    if correct_or_one_sentence(result):
        from veiligheidsbeeld.config import load_settings

        loaded = load_settings(config)
        got = getattr(getattr(loaded, section), key)
        # The value as given, with its own type: never rounded, never read letter by letter.
        assert type(value) is not str or type(got) is str
        if isinstance(value, list):
            assert len(got) == len(value)
        elif isinstance(value, (int, str)) and not isinstance(value, bool):
            assert got == value and type(got) in (type(value), float)
    assert warehouse(project) == before


# ----------------------------------------------------------------------------------------------
# Dimension files
# ----------------------------------------------------------------------------------------------

DIMENSIONS = ("WijkenEnBuurten", "SoortMisdrijf", "Perioden")


@settings(BOUNDED, max_examples=8)
@given(
    dimension=st.sampled_from(DIMENSIONS),
    change=st.sampled_from(["duplicate-other-title", "duplicate-same", "key-int", "key-null", "key-empty",
                            "period", "no-title"]),
    period=st.from_regex(r"\A20[0-9]{2}MM[0-9]{2}\Z"),
    position=st.integers(0, 5),
)
def test_generated_dimension_files_load_or_are_refused_in_one_sentence(project, dimension, change, period, position):
    snap = new_snapshot(project)
    path = snap / TABLE / f"{dimension}.json"
    rows = json.loads(path.read_text(encoding="utf-8"))
    row = dict(rows[position % len(rows)])
    if change == "duplicate-other-title":
        rows.append({**row, "Title": "Andere titel"})
    elif change == "duplicate-same":
        rows.append(row)
    elif change == "key-int":
        rows[position % len(rows)]["Key"] = 17
    elif change == "key-null":
        rows[position % len(rows)]["Key"] = None
    elif change == "key-empty":
        rows[position % len(rows)]["Key"] = "   "
    elif change == "period":
        rows.append({**row, "Key": period, "Title": period})
    else:
        rows[position % len(rows)].pop("Title", None)
    path.write_text(json.dumps(rows), encoding="utf-8")
    before = warehouse(project)
    if not correct_or_one_sentence(ingest(project, snap)):
        assert warehouse(project) == before


# ----------------------------------------------------------------------------------------------
# Counts
# ----------------------------------------------------------------------------------------------

counts = st.one_of(
    st.none(),
    st.integers(0, 10_000),
    st.integers(-(2**70), -1),
    st.integers(2**63, 2**70),
    st.floats(allow_nan=True, allow_infinity=False),
    st.booleans(),
    st.text(alphabet="0123456789-. a", max_size=4),
)


@settings(BOUNDED, max_examples=12)
@given(value=counts)
def test_a_generated_count_is_loaded_as_it_is_or_refused_naming_its_cell(project, value):
    snap = new_snapshot(project)
    path = snap / TABLE / "TypedDataSet.json"
    rows = json.loads(path.read_text(encoding="utf-8"))
    hits = [r for r in rows if (r["WijkenEnBuurten"].strip(), r["SoortMisdrijf"].strip(), r["Perioden"]) == CELL]
    assert len(hits) == 1
    hits[0][MEASURE] = value
    path.write_text(json.dumps(rows), encoding="utf-8")
    valid = value is None or (type(value) is int and 0 <= value < 2**63)
    before = warehouse(project)
    result = ingest(project, snap)
    if correct_or_one_sentence(result):
        assert valid, f"{value!r} was loaded"
        assert count_in_warehouse(project) == value
    else:
        assert not valid, result.output
        assert all(part in result.output for part in CELL), result.output
        assert warehouse(project) == before


# ----------------------------------------------------------------------------------------------
# Modified stamps
# ----------------------------------------------------------------------------------------------

stamps = st.one_of(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2200, 1, 1)).map(lambda d: d.isoformat(timespec="seconds")),
    st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\Z"),
    st.text(max_size=12),
)


@settings(BOUNDED, max_examples=10)
@given(stamp=stamps)
def test_a_generated_modified_stamp_is_a_vintage_only_when_it_is_a_real_past_date(project, stamp):
    snap = new_snapshot(project, modified=stamp)
    raw = project / "data/raw" / TABLE
    vintages = {p.name for p in raw.iterdir()}
    try:
        real = datetime.fromisoformat(stamp) if len(stamp) >= 10 else None
    except ValueError:
        real = None
    before = warehouse(project)
    if correct_or_one_sentence(ingest(project, snap)):
        assert real is not None and real <= datetime.now() + timedelta(days=2), stamp
    else:
        assert warehouse(project) == before
        if real is None or real > datetime.now() + timedelta(days=2):
            assert {p.name for p in raw.iterdir()} == vintages  # never a vintage
