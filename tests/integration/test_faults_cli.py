"""Bad input and faults, round two (issue 15): every case through the command as a user types it.

Each case asserts the exit code, one Dutch sentence naming the problem (``Fout: …``, never a
traceback) and that nothing stored changed (the warehouse, the raw archive, the reports).

The snapshot is SYNTHETIC for Olst-Wijhe (GM1773, with wijken and buurten, 2021-01 … 2023-12)
with the REAL national rows (NL00) from ../shared. One wijk title is hostile on purpose: a
spreadsheet formula, as a tampered or careless source could serve it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest

from testkit import read_warehouse

from testkit import cli
from veiligheidsbeeld.testing.synthetic import build_police_snapshot

pytestmark = pytest.mark.integration

GEMEENTE = "GM1773"
HOSTILE_WIJK = "WK177301"
HOSTILE_TITLE = '=HYPERLINK("http://example.invalid/x","klik")'
REPORT_DATE = "2024-01-20"
#: No denominators or boundaries: not under test here, and the ingest stays fast.
CONFIG = "[geography]\nfetch_denominators = false\nfetch_boundaries = false\n"


# ----------------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------------


def assert_one_sentence(result, *words: str, code: int = 1) -> str:
    """Exit ``code``, exactly one 'Fout:' line naming ``words``, no traceback."""
    out = result.output
    assert result.exit_code == code, out
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in out and "Error:" not in out.replace("Fout:", ""), out
    errors = [line for line in out.splitlines() if line.startswith("Fout:")]
    assert len(errors) == 1, out
    for word in words:
        assert word in errors[0], (word, errors[0])
    return errors[0]


def stored(root: Path) -> dict[str, str]:
    """Every stored file (warehouse, raw archive, reports) with its checksum; lock files aside."""
    out = {}
    for folder in ("data", "reports"):
        base = root / folder
        if base.is_dir():
            for path in sorted(base.rglob("*")):
                if path.is_file() and not path.name.endswith(".lock"):
                    out[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def warehouse_state(root: Path) -> list[tuple]:
    with read_warehouse(root) as con:
        return con.execute("SELECT * FROM facts_monthly ORDER BY ALL").fetchall() + \
            con.execute("SELECT table_id, vintage FROM pulls ORDER BY ALL").fetchall()


def tampered(project: Path, name: str, *, modified: str, table: str = "47022NED") -> Path:
    """A copy of the project's snapshot with a later ``Modified`` (so the ingest pulls it)."""
    snap = project.parent / f"snap-{name}"
    shutil.rmtree(snap, ignore_errors=True)
    shutil.copytree(project / "snapshot", snap)
    infos_path = snap / table / "TableInfos.json"
    infos = json.loads(infos_path.read_text(encoding="utf-8"))
    infos[0]["Modified"] = modified
    infos_path.write_text(json.dumps(infos), encoding="utf-8")
    return snap


def edit_json(path: Path, change) -> None:
    rows = json.loads(path.read_text(encoding="utf-8"))
    change(rows)
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")


def set_cell_text(path: Path, region: str, code: str, period: str, raw_value: str) -> None:
    """Replace one cell's count in TypedDataSet.json by ``raw_value`` as JSON text (NaN, 2**63 …)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    hits = 0
    for i, line in enumerate(lines):
        if f'"WijkenEnBuurten":"{region}' in line and f'"SoortMisdrijf":"{code}' in line and f'"Perioden":"{period}"' in line:
            head, _, _ = line.rpartition(":")
            lines[i] = head + ":" + raw_value + ("}," if line.endswith("},") else "}")
            hits += 1
    assert hits == 1, (region, code, period, hits)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


# ----------------------------------------------------------------------------------------------
# Fixtures
# ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def project(tmp_path_factory, shared_dir) -> Path:
    root = tmp_path_factory.mktemp("faults_cli") / "project"
    root.mkdir()
    build_police_snapshot(root / "snapshot", shared_dir=shared_dir, gemeenten=[GEMEENTE], start="2021-01", end="2023-12",
                          codes={"47022NED": ("0.0.0", "1.1.1", "1.4.3", "1.4.4", "1.4.5", "1.4.6", "1.4.7")})
    for table in ("47022NED", "47024NED"):
        edit_json(root / "snapshot" / table / "WijkenEnBuurten.json",
                  lambda rows: [r.update(Title=HOSTILE_TITLE) for r in rows if r["Key"].strip() == HOSTILE_WIJK])
    (root / "veiligheidsbeeld.toml").write_text(CONFIG, encoding="utf-8")
    result = cli(root, "ingest", "--source", "snapshot", "--gemeenten", GEMEENTE)
    assert result.exit_code == 0, result.output
    return root


@pytest.fixture(scope="module")
def reported(project) -> Path:
    """IJsselland's report, then Twente's alone, for the same date (issue item 2)."""
    for district in ("IJsselland", "Twente"):
        result = cli(project, "report", "tweewekelijks", "--date", REPORT_DATE, "--district", district)
        assert result.exit_code == 0, result.output
    return project / "reports" / REPORT_DATE / "tweewekelijks"


# ----------------------------------------------------------------------------------------------
# 1. Silently wrong or lost
# ----------------------------------------------------------------------------------------------


def test_1_a_mistyped_config_path_in_the_environment_is_an_error(project):
    before = stored(project)
    result = cli(project, "doel", "overlast", "--region", "NL00", env={"VEILIGHEIDSBEELD_CONFIG": "no-such.toml"})
    assert_one_sentence(result, "no-such.toml", "bestaat niet")
    assert stored(project) == before


def test_2_a_district_report_keeps_the_other_districts_in_the_index(reported):
    index = (reported / "index.html").read_text(encoding="utf-8")
    assert 'href="ijsselland.html"' in index and 'href="twente.html"' in index
    from openpyxl import load_workbook

    book = load_workbook(reported / "oost-nederland.xlsx", read_only=True)
    names = {str(v) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True) for v in row if v}
    assert any("IJsselland" in n for n in names) and any("Twente" in n for n in names)


@pytest.mark.parametrize("command", ["run", "report"])
def test_3_a_future_report_date_is_refused_by_run_and_report_alike(project, command, monkeypatch):
    before = stored(project)
    args = ["run", "--source", "snapshot", "--geen-pdf"] if command == "run" else ["report", "tweewekelijks"]
    result = cli(project, *args, "--date", "2099-01-15")
    assert_one_sentence(result, "toekomst")
    assert stored(project) == before
    assert not (project / "reports" / "2099-01-15").exists()


def test_3_the_flow_uses_the_same_date_guard(project):
    from veiligheidsbeeld.deployments import load_flow
    from veiligheidsbeeld.errors import ConfigError

    flow = load_flow("tweewekelijks")
    with pytest.raises(ConfigError, match="toekomst"):
        flow.fn(report_date=date(2099, 1, 15), source="snapshot", warehouse=str(project / "data/warehouse/x.duckdb"))
    with pytest.raises(ConfigError, match="bestaat niet"):
        flow.fn(report_date="2023-02-29", source="snapshot")


def test_3_today_is_today_in_amsterdam(monkeypatch):
    from datetime import datetime, timezone

    from veiligheidsbeeld.analysis import periods

    class Clock(datetime):
        @classmethod
        def now(cls, tz=None):  # 23:30 UTC on 31 December is already 1 January in Amsterdam
            return datetime(2023, 12, 31, 23, 30, tzinfo=timezone.utc).astimezone(tz)

    monkeypatch.setattr(periods, "datetime", Clock)
    assert periods.today_local() == date(2024, 1, 1)
    assert periods.check_report_date("2024-01-01") == date(2024, 1, 1)


def test_4_a_source_title_is_never_a_formula_in_excel_or_csv(reported):
    from openpyxl import load_workbook

    found = []
    for xlsx in reported.glob("*.xlsx"):
        for sheet in load_workbook(xlsx).worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    if isinstance(cell.value, str) and "HYPERLINK" in cell.value:
                        found.append(cell)
                        assert cell.data_type == "s" and cell.value == "'" + HOSTILE_TITLE
    assert found, "the hostile wijk title should appear in a workbook"
    csv_hits = [p for p in (reported / "tabellen").glob("*.csv") if "HYPERLINK" in p.read_text(encoding="utf-8")]
    assert csv_hits
    for path in csv_hits:
        text = path.read_text(encoding="utf-8")
        assert "'=HYPERLINK" in text and ",=HYPERLINK" not in text and '"=HYPERLINK' not in text


def test_4_numbers_stay_numbers_in_excel(reported):
    from openpyxl import load_workbook

    sheet = load_workbook(reported / "ijsselland.xlsx").worksheets[1]
    values = [c.value for row in sheet.iter_rows(min_row=2) for c in row]
    assert any(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


CONFIG_CASES = [
    ('[ingest]\ncodes = { "47022ned" = ["1.1.1"] }\n', "47022ned"),
    ('[geography]\nboundary_files = { gemeent = "x.topojson" }\n', "gemeent"),
    ("[doel_overlast]\nbase_year = 2013.7\n", "base_year"),
    ("[ingest]\nretries = -3\n", "retries"),
    ("[ingest]\nprovisional_months = -5\n", "provisional_months"),
    ('[ingest]\ntables = "47022NED"\n', "tables"),
    ("[ingest]\nstart_year = true\n", "start_year"),
    ("[ingest]\nconcurrency = 2.5\n", "concurrency"),
    ('[ingest]\nconcurrency = "6"\n', "concurrency"),
    ("[tweewekelijks]\nhic = 3\n", "hic"),
    ("[doel_overlast]\nmilestones = { twintig = 0.1 }\n", "milestones"),
    ("[doel_overlast]\nmilestones = [{ year = 2016.5, reduction = 0.1 }]\n", "Tussendoel"),
    ("[ingest\nretries = 3\n", "geen geldige TOML"),
    ("ingest = 3\n", "[ingest]"),
    ("[spul]\n", "spul"),
]


@pytest.mark.parametrize(("text", "named"), CONFIG_CASES, ids=[c[1] for c in CONFIG_CASES])
def test_5_12_every_configuration_error_is_one_sentence(project, text, named, tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text(text, encoding="utf-8")
    before = stored(project)
    result = cli(project, "--config", str(config), "doel", "overlast", "--region", "NL00")
    assert_one_sentence(result, named)
    assert stored(project) == before


@pytest.mark.parametrize("kind", ["directory", "latin-1", "unreadable-env"])
def test_12_a_config_that_is_no_toml_file_is_one_sentence(project, tmp_path, kind):
    if kind == "directory":
        path, env, args = tmp_path, None, ["--config", str(tmp_path)]
        words = ("is een map",)
    elif kind == "latin-1":
        path = tmp_path / "latin.toml"
        path.write_bytes('[area]\neenheid_naam = "Fryslân"\n'.encode("latin-1"))
        env, args, words = None, ["--config", str(path)], ("UTF-8",)
    else:
        env, args, words = {"VEILIGHEIDSBEELD_CONFIG": str(tmp_path)}, [], ("is een map",)
    before = stored(project)
    result = cli(project, *args, "status", env=env)
    assert_one_sentence(result, *words)
    assert stored(project) == before


def test_6_a_negative_count_is_refused_naming_its_cell(project):
    snap = tampered(project, "negative", modified="2024-04-20T02:00:00")
    typed = snap / "47022NED/TypedDataSet.json"
    rows = json.loads(typed.read_text(encoding="utf-8"))
    # An UntypedDataSet (numbers as padded text, '.' suppressed) with one wijk count of -3.
    for row in rows:
        v = row["GeregistreerdeMisdrijven_1"]
        row["GeregistreerdeMisdrijven_1"] = "." if v is None else f"{v:>8}"
        if row["WijkenEnBuurten"].strip() == "WK177302" and row["SoortMisdrijf"].strip() == "1.1.1" \
                and row["Perioden"] == "2023MM05":
            row["GeregistreerdeMisdrijven_1"] = "      -3"
    typed.unlink()
    (snap / "47022NED/UntypedDataSet.json").write_text(json.dumps(rows), encoding="utf-8")
    before, facts = stored(project), warehouse_state(project)
    result = cli(project, "ingest", "--source", str(snap), "--gemeenten", GEMEENTE, "--tables", "47022NED")
    line = assert_one_sentence(result, "-3", "negatief", "WK177302", "1.1.1", "2023MM05")
    assert "snapshot" in line
    assert warehouse_state(project) == facts
    assert {k: v for k, v in stored(project).items() if k in before} == before


@pytest.mark.parametrize("stamp", ["2099-01-01T00:00:00", "2099-99-99T99:99:99", "2099", "gisteren"])
def test_7_a_bogus_modified_stamp_never_becomes_a_vintage(project, stamp):
    snap = tampered(project, "stamp", modified=stamp)
    before = stored(project)
    result = cli(project, "ingest", "--source", str(snap), "--gemeenten", GEMEENTE, "--tables", "47022NED")
    assert_one_sentence(result, "Modified", "47022NED")
    assert stored(project) == before
    assert not any(p.name.startswith("2099") for p in (project / "data/raw/47022NED").iterdir())
    # The genuine snapshot still reads as unchanged, and its values are the ones in the warehouse.
    again = cli(project, "ingest", "--source", "snapshot", "--gemeenten", GEMEENTE, "--tables", "47022NED")
    assert again.exit_code == 0 and "overgeslagen" in again.output


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("ingest", "--source", "snapshot", "--tables", ","), ("--tables", "geen tabel")),
        (("ingest", "--source", "snapshot", "--tables", " "), ("--tables",)),
        (("ingest", "--source", "snapshot", "--gemeenten", ","), ("--gemeenten",)),
        (("doel", "overlast", "--region", ""), ("--region",)),
        (("doel", "overlast", "--region", "  "), ("--region",)),
    ],
)
def test_8_empty_selections_are_refused(project, args, words):
    before = stored(project)
    assert_one_sentence(cli(project, *args), *words)
    assert stored(project) == before


@pytest.mark.parametrize("dimension", ["WijkenEnBuurten", "SoortMisdrijf"])
def test_8_13_a_duplicate_key_in_a_dimension_file_is_refused(project, dimension):
    snap = tampered(project, f"dup-{dimension}", modified="2024-04-21T02:00:00")

    def duplicate(rows):
        second = dict(rows[2])
        second["Title"] = "Een andere titel"
        rows.append(second)

    edit_json(snap / "47022NED" / f"{dimension}.json", duplicate)
    before = stored(project)
    result = cli(project, "ingest", "--source", str(snap), "--gemeenten", GEMEENTE, "--tables", "47022NED")
    assert_one_sentence(result, dimension, "twee keer", "Een andere titel")
    assert stored(project) == before


def test_13_a_duplicate_code_into_a_fresh_project_leaves_no_empty_warehouse(project, tmp_path):
    snap = tampered(project, "dup-fresh", modified="2024-04-22T02:00:00")
    edit_json(snap / "47022NED/SoortMisdrijf.json", lambda rows: rows.append(dict(rows[1])))
    (tmp_path / "veiligheidsbeeld.toml").write_text(CONFIG, encoding="utf-8")
    result = cli(tmp_path, "ingest", "--source", str(snap), "--gemeenten", GEMEENTE, "--tables", "47022NED")
    assert_one_sentence(result, "SoortMisdrijf", "twee keer")
    assert not (tmp_path / "data/warehouse/veiligheidsbeeld.duckdb").exists()


def test_13_a_month_13_in_the_periods_is_refused(project):
    snap = tampered(project, "month13", modified="2024-04-23T02:00:00")
    edit_json(snap / "47022NED/Perioden.json",
              lambda rows: rows.append({**rows[-1], "Key": "2023MM13", "Title": "2023 dertiende maand"}))
    before = stored(project)
    result = cli(project, "ingest", "--source", str(snap), "--gemeenten", GEMEENTE, "--tables", "47022NED")
    assert_one_sentence(result, "2023MM13", "geen bestaande maand")
    assert stored(project) == before


# ----------------------------------------------------------------------------------------------
# 2. Wrong advice or unclear messages
# ----------------------------------------------------------------------------------------------


def test_9_a_warehouse_on_read_only_storage_is_not_called_corrupt(project, monkeypatch):
    from veiligheidsbeeld.warehouse import db

    real = db.duckdb.connect

    def read_only_storage(path=":memory:", read_only=False, **kwargs):
        if str(path).endswith("veiligheidsbeeld.duckdb") and not read_only:
            # What DuckDB raises when the warehouse's storage is mounted read-only.
            raise duckdb.IOException(f'IO Error: Cannot open file "{path}": Read-only file system')
        return real(path, read_only=read_only, **kwargs)

    monkeypatch.setattr(db.duckdb, "connect", read_only_storage)
    snap = tampered(project, "readonly", modified="2024-04-24T02:00:00")
    before = stored(project)
    result = cli(project, "ingest", "--source", str(snap), "--gemeenten", GEMEENTE, "--tables", "47022NED")
    line = assert_one_sentence(result, "kan niet worden geschreven", "alleen-lezen")
    assert "beschadigd" not in line.replace("niet beschadigd", "") and "verwijder" not in line
    assert {k: v for k, v in stored(project).items() if k in before and "/warehouse/" in k} == \
        {k: v for k, v in before.items() if "/warehouse/" in k}


def test_9_an_immutable_warehouse_is_not_called_corrupt(project, tmp_path):
    copy = tmp_path / "wh.duckdb"
    shutil.copy(project / "data/warehouse/veiligheidsbeeld.duckdb", copy)
    if subprocess.run(["chattr", "+i", str(copy)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not allowed here (needs CAP_LINUX_IMMUTABLE)")
    try:
        snap = tampered(project, "immutable", modified="2024-04-25T02:00:00")
        result = cli(project, "ingest", "--source", str(snap), "--gemeenten", GEMEENTE, "--tables", "47022NED",
                     "--warehouse", str(copy))
        line = assert_one_sentence(result, "kan niet worden geschreven")
        assert "verwijder" not in line
    finally:
        subprocess.run(["chattr", "-i", str(copy)], capture_output=True)


BAD_VALUES = [
    ("-3", "negatief"),
    ("3.7", "geen geheel getal"),
    ('"12"', "geen geheel getal"),
    ("true", "geen geheel getal"),
    (str(2**63), "te groot"),
    ("NaN", "geen geheel getal"),
]


@pytest.mark.parametrize(("raw", "reason"), BAD_VALUES, ids=[b[0] for b in BAD_VALUES])
def test_10_a_bad_count_names_its_own_cell(project, raw, reason):
    snap = tampered(project, "badvalue", modified="2024-04-26T02:00:00")
    set_cell_text(snap / "47022NED/TypedDataSet.json", "WK177303", "1.1.1", "2023MM07", raw)
    before, facts = stored(project), warehouse_state(project)
    result = cli(project, "ingest", "--source", str(snap), "--gemeenten", GEMEENTE, "--tables", "47022NED")
    line = assert_one_sentence(result, reason, "WK177303", "1.1.1", "2023MM07", str(snap))
    shown = json.loads(raw.replace("NaN", '"NaN"'))
    assert repr(shown) in line or raw in line
    assert warehouse_state(project) == facts
    assert {k: v for k, v in stored(project).items() if k in before} == before


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--date", "2023-02-29"), ("2023-02-29", "bestaat niet")),
        (("--date", "2023-13-01"), ("2023-13-01", "bestaat niet")),
        (("--date", "20-01-2024"), ("verkeerd formaat",)),
        (("--date", "2023-01-15", "--district", "Atlantis"), ("Atlantis",)),
    ],
)
def test_11_a_refused_date_or_district_leaves_no_folder(project, args, words):
    before = stored(project)
    line = assert_one_sentence(cli(project, "report", "tweewekelijks", *args), *words)
    if "bestaat niet" in words:
        assert "formaat" not in line
    assert stored(project) == before
    assert not (project / "reports" / "2023-01-15").exists()


# ----------------------------------------------------------------------------------------------
# 3. Tracebacks instead of one sentence
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["empty", "foreign"])
@pytest.mark.parametrize("command", [("status",), ("doel", "overlast", "--region", "NL00"),
                                     ("report", "tweewekelijks", "--date", REPORT_DATE)])
def test_13_an_empty_or_foreign_duckdb_file_is_one_sentence(tmp_path, kind, command):
    path = tmp_path / "ander.duckdb"
    con = duckdb.connect(str(path))
    if kind == "foreign":
        con.execute("CREATE TABLE metingen (x INTEGER)")
    con.close()
    before = path.read_bytes()
    result = cli(tmp_path, *command, "--warehouse", str(path))
    assert_one_sentence(result, "geen (volledig) warehouse")
    assert path.read_bytes() == before
    assert not (tmp_path / "reports").exists()


def test_13_a_reports_path_that_is_a_file_is_one_sentence(project, tmp_path):
    target = tmp_path / "rapporten"
    target.write_text("ik ben een bestand", encoding="utf-8")
    result = cli(project, "report", "tweewekelijks", "--date", REPORT_DATE, "--district", "Twente", "--reports", str(target))
    assert_one_sentence(result, "rapporten", "bestand")
    assert target.read_text(encoding="utf-8") == "ik ben een bestand"


def test_13_a_full_disk_while_writing_reports_is_one_sentence(project, tmp_path, monkeypatch):
    import errno

    from veiligheidsbeeld import files

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp_path / "out" / "x"))

    monkeypatch.setattr(files.tempfile, "mkstemp", full)
    result = cli(project, "report", "tweewekelijks", "--date", REPORT_DATE, "--district", "Twente",
                 "--reports", str(tmp_path / "out"))
    assert_one_sentence(result, "schijf is vol")
    assert not [p for p in (tmp_path / "out").rglob("*") if p.is_file()]


# ----------------------------------------------------------------------------------------------
# 4. Permissions and 5. privacy
# ----------------------------------------------------------------------------------------------


def _modes(folder: Path) -> set[int]:
    return {stat.S_IMODE(p.stat().st_mode) for p in folder.rglob("*") if p.is_file()}


def test_14_every_file_follows_the_umask(project, reported, tmp_path):
    # The module's project ran under the test process's umask (022 here: 0644).
    mask = os.umask(0)
    os.umask(mask)
    assert _modes(project / "data/raw") == {0o666 & ~mask}
    assert _modes(reported) == {0o666 & ~mask}
    # A team's umask 002: files group-writable, the same for raw data and reports.
    root = tmp_path / "team"
    shutil.copytree(project / "snapshot", root / "snapshot")
    (root / "veiligheidsbeeld.toml").write_text(CONFIG, encoding="utf-8")
    old = os.umask(0o002)
    try:
        assert cli(root, "ingest", "--source", "snapshot", "--gemeenten", GEMEENTE).exit_code == 0
        result = cli(root, "report", "tweewekelijks", "--date", REPORT_DATE, "--district", "IJsselland")
        assert result.exit_code == 0, result.output
    finally:
        os.umask(old)
    assert _modes(root / "data/raw") == {0o664}
    assert _modes(root / "reports") == {0o664}


def test_15_prefect_analytics_are_off_for_everything_the_project_starts(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "DO_NOT_TRACK"))}
    env["PREFECT_HOME"] = str(tmp_path)
    code = ("import veiligheidsbeeld, os\n"
            "from prefect.settings import get_current_settings\n"
            "s = get_current_settings()\n"
            "print(s.server.analytics_enabled, os.environ['DO_NOT_TRACK'])\n")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "1"]
    # A user's explicit choice is kept.
    env["PREFECT_SERVER_ANALYTICS_ENABLED"] = "true"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.stdout.split()[0] == "True"


def test_7_another_machines_raw_vintage_with_a_bogus_stamp_is_not_imported(project, tmp_path):
    other = tmp_path / "other_raw"
    shutil.copytree(project / "data/raw", other, ignore=shutil.ignore_patterns("*.lock"))
    for table in ("47022NED", "47024NED"):
        for extra in [p for p in (other / table).iterdir() if p.is_dir() and p.name != "20240328T020000"]:
            shutil.rmtree(extra)  # partial vintages of the refused pulls above
        vintage = other / table / "20240328T020000"
        manifest = json.loads((vintage / "provenance.json").read_text(encoding="utf-8"))
        manifest["modified"], manifest["vintage"] = "2099-01-01T00:00:00", "20990101T000000"
        (vintage / "provenance.json").write_text(json.dumps(manifest), encoding="utf-8")
        vintage.rename(vintage.with_name("20990101T000000"))
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    (fresh / "veiligheidsbeeld.toml").write_text(CONFIG, encoding="utf-8")
    result = cli(fresh, "ingest", "--source", str(other), "--gemeenten", GEMEENTE)
    assert_one_sentence(result, "Modified", "toekomst")
    assert not list((fresh / "data/raw").rglob("20990101T000000")) if (fresh / "data/raw").exists() else True


def test_14_an_imported_raw_archive_is_shared_like_a_fresh_pull(project, tmp_path):
    # mkdtemp makes 0700 folders: an imported vintage gets the umask's modes like everything else.
    other = tmp_path / "other_raw"
    shutil.copytree(project / "data/raw", other, ignore=shutil.ignore_patterns("*.lock"))
    for path in other.rglob("*"):
        path.chmod(0o700 if path.is_dir() else 0o600)  # written by an older version elsewhere
    root = tmp_path / "team"
    root.mkdir()
    (root / "veiligheidsbeeld.toml").write_text(CONFIG, encoding="utf-8")
    old = os.umask(0o002)
    try:
        result = cli(root, "ingest", "--source", str(other), "--gemeenten", GEMEENTE)
        assert result.exit_code == 0, result.output
    finally:
        os.umask(old)
    raw = root / "data/raw"
    assert _modes(raw) == {0o664}
    assert {stat.S_IMODE(p.stat().st_mode) for p in raw.rglob("*") if p.is_dir() and p.parent != raw} == {0o775}


def test_13_a_reports_folder_that_cannot_be_written_is_one_sentence(project, tmp_path):
    target = tmp_path / "rapporten"
    target.mkdir()
    if subprocess.run(["chattr", "+i", str(target)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not allowed here (needs CAP_LINUX_IMMUTABLE)")
    try:
        result = cli(project, "report", "tweewekelijks", "--date", REPORT_DATE, "--district", "Twente",
                     "--reports", str(target))
        line = assert_one_sentence(result, str(target))
        assert "geschreven" in line or "gemaakt" in line
    finally:
        subprocess.run(["chattr", "-i", str(target)], capture_output=True)
    assert list(target.iterdir()) == []
