"""The drop folder and the thin Prefect flow over it (SYNTHETIC incidents)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest

from veiligheidsbeeld.config import load_settings
from veiligheidsbeeld.incidents.dropfolder import import_drop_folder
from veiligheidsbeeld.testing.synthetic_incidents import Area, generate_incidents

REPO = Path(__file__).resolve().parents[2]


def test_drop_folder_imports_new_files_and_sets_refused_ones_aside(tmp_path):
    settings = load_settings(None, warehouse=tmp_path / "vb.duckdb")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    extract = generate_incidents([Area("GM0153", (255_000.0, 465_000.0, 262_000.0, 472_000.0))],
                                 date(2024, 1, 1), date(2024, 2, 1), seed=3)
    extract.to_csv(inbox / "week1.csv", index=False)
    bad = extract.head(5).copy()
    bad["pleegdatum_van"] = "morgen"
    bad.to_csv(inbox / "kapot.csv", index=False)
    run = import_drop_folder(settings, inbox)
    assert [r.rows_imported for r in run.imported] == [len(extract)]
    assert "kapot.csv" in run.refused and "pleegdatum_van" in run.refused["kapot.csv"]
    assert not list(inbox.glob("*.csv"))
    assert len(list((inbox / "verwerkt").glob("*_week1.csv"))) == 1
    (reason,) = (inbox / "geweigerd").glob("*.fout.txt")
    assert "niet te lezen" in reason.read_text(encoding="utf-8")
    # Nothing new: nothing happens.
    assert import_drop_folder(settings, inbox).lines() == ["Geen nieuwe bestanden in de importmap."]
    con = duckdb.connect(str(tmp_path / "vb.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM incident_imports").fetchone()[0] == 1
    con.close()


@pytest.mark.integration
def test_flow_runs_by_hand_with_files(tmp_path):
    """The real flow (Prefect's ephemeral API in a subprocess with its own PREFECT_HOME)."""
    extract = generate_incidents([Area("GM0153", (255_000.0, 465_000.0, 262_000.0, 472_000.0))],
                                 date(2024, 1, 1), date(2024, 1, 15), seed=4)
    path = tmp_path / "export.csv"
    extract.to_csv(path, index=False)
    code = (
        "import runpy, sys; f = runpy.run_path(sys.argv[1])['incidenten']; "
        "print('\\n'.join(f(files=[sys.argv[2]], warehouse=sys.argv[3])))"
    )
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "DO_NOT_TRACK": "1", "PREFECT_LOGGING_LEVEL": "WARNING",
           # A shared 2-core machine can take longer than the default 20 s to start the ephemeral API.
           "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180"}
    env.pop("PREFECT_API_URL", None)
    out = subprocess.run([sys.executable, "-c", code, str(REPO / "flows" / "incidenten.py"), str(path),
                          str(tmp_path / "vb.duckdb")], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert f"{len(extract)} incidenten geïmporteerd" in out.stdout
