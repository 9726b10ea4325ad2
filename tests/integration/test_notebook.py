"""The analyst's notebook (a jupytext percent script) runs top to bottom on a real warehouse.

The warehouse is built from a SYNTHETIC snapshot (two small gemeenten, 2022–2023); the notebook
opens it read-only, queries one gemeente's woninginbraak series and draws the report chart.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO / "notebooks" / "woninginbraak_gemeente.py"


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory, small_police_snapshot) -> Path:
    from veiligheidsbeeld.config import load_settings
    from veiligheidsbeeld.ingest import run_ingest

    root = tmp_path_factory.mktemp("notebook_warehouse")
    settings = load_settings(None, warehouse=root / "vb.duckdb", raw=root / "raw", reports=root / "reports")
    settings = settings.with_ingest(codes={"47022NED": ("0.0.0", "1.1.1", "1.4.6")})  # what the snapshot holds
    run_ingest(settings, str(small_police_snapshot), gemeenten=["GM1773", "GM0177"])
    return settings.paths.warehouse


def test_notebook_runs_read_only_and_draws_the_series(warehouse, monkeypatch, tmp_path):
    import jupytext
    import nbformat
    from nbclient import NotebookClient

    notebook = jupytext.read(NOTEBOOK)
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    # Parameters as papermill would set them: a cell after the tagged one.
    index = next(i for i, c in enumerate(notebook.cells) if "parameters" in c.metadata.get("tags", []))
    notebook.cells.insert(index + 1, nbformat.v4.new_code_cell(f'GEMEENTE = "Raalte"\nWAREHOUSE = r"{warehouse}"'))
    before = (warehouse.stat().st_mtime_ns, warehouse.stat().st_size)
    monkeypatch.chdir(tmp_path)
    NotebookClient(notebook, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()

    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "\n".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    assert "Raalte (GM0177), district IJsselland" in text
    assert "SYNTHETISCHE CIJFERS" in text and "Bron: politie open data, CBS-tabel 47022NED" in text
    assert any("image/png" in o.get("data", {}) for o in outputs), "the chart was not drawn"
    tables = [o["data"]["text/plain"] for o in outputs if "text/plain" in o.get("data", {})]
    assert any("2023-12-01" in t for t in tables)  # the last 12 months of the series
    assert (warehouse.stat().st_mtime_ns, warehouse.stat().st_size) == before  # opened read-only


def test_notebook_is_stored_as_a_percent_script():
    text = NOTEBOOK.read_text(encoding="utf-8")
    assert "format_name: percent" in text and "# %%" in text
    assert "db.reader(" in text and "db.writer(" not in text
