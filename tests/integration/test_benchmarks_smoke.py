"""The benchmarks must not rot: run every section once at ``--size tiny``.

The real benchmark (``python benchmarks/run.py``) is not part of the test suite's timing; this
runs each section on a tiny input (one or two small gemeenten) and checks that it produced its
numbers, into a temporary folder (never ``benchmarks/results`` or ``benchmarks/README.md``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_every_benchmark_section_runs_at_tiny_size(tmp_path, shared_dir):
    readme = tmp_path / "README.md"
    readme.write_text("# Benchmarks\n", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, str(REPO_ROOT / "benchmarks" / "run.py"), "--size", "tiny", "--repeat", "1",
         "--results-dir", str(tmp_path / "results"), "--readme", str(readme), "--work-dir", str(tmp_path / "work")],
        cwd=tmp_path, capture_output=True, text=True, timeout=900,
        env={**__import__("os").environ, "VEILIGHEIDSBEELD_SHARED": str(shared_dir)},
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    [result_file] = (tmp_path / "results").glob("*.json")
    record = json.loads(result_file.read_text(encoding="utf-8"))
    sections = record["sections"]
    assert set(sections) == {"ingest", "warehouse", "reports", "e2e"}
    for name, section in sections.items():
        # A section may be skipped (a colleague's module missing) but never fail.
        assert section["status"] in ("ok", "skipped"), (name, section)

    ingest = sections["ingest"]
    assert ingest["status"] == "ok"
    point = ingest["points"][-1]
    assert point["baseline"]["requests"]["median"] > 0 and point["ours"]["requests"]["median"] > 0
    assert point["ours"]["peak_rss_mb"]["median"] > 0
    assert point["incremental"]["requests"] > 0

    warehouse = sections["warehouse"]
    assert warehouse["status"] == "ok"
    eenheid = warehouse["points"][0]
    assert eenheid["check_duckdb_vs_pandas"]["identical"] is True
    assert eenheid["check_duckdb_vs_project_functions"]["identical"] is True

    if sections["reports"]["status"] == "ok":
        assert sections["reports"]["serial"]["seconds"]["median"] > 0
        assert sections["reports"]["parallel"]["seconds"]["median"] > 0
    if sections["e2e"]["status"] == "ok":
        assert sections["e2e"]["new_month"]["latest_month"] > sections["e2e"]["no_new_data"]["latest_month"]

    text = readme.read_text(encoding="utf-8")
    assert "results:start" in text and "ingest ·" in text
