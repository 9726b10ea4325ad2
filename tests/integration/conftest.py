"""Fixtures of the integration tests: the report code of an earlier commit, to compare with."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
#: The last commit before the reports were split by product (issue 16): render.py was both the
#: kit and the biweekly report. Its report tables are the reference for "behaviour unchanged".
BASELINE_COMMIT = "5feb071"


@dataclass(frozen=True)
class Baseline:
    """The ``src/`` tree of :data:`BASELINE_COMMIT`, run in a subprocess of its own."""

    src: Path

    def run(self, script: str, *args: object, cwd: Path) -> str:
        """Run ``script`` (python) with that commit's package first on the path; its argv[1] is
        the src folder (the script checks it imported that package, not the one under test)."""
        env = {**os.environ, "PYTHONPATH": str(self.src), "MPLBACKEND": "Agg"}
        env.pop("VEILIGHEIDSBEELD_CONFIG", None)
        done = subprocess.run([sys.executable, "-c", script, str(self.src), *map(str, args)], cwd=cwd, env=env,
                              capture_output=True, text=True, timeout=900, check=False)
        assert done.returncode == 0, done.stderr[-4000:]
        return done.stdout


@pytest.fixture(scope="session")
def baseline(tmp_path_factory) -> Baseline:
    """The report code as it was at :data:`BASELINE_COMMIT` (``git archive`` of its ``src/``).
    Skipped only where that history is not available (an sdist, a shallow clone)."""
    git = shutil.which("git")
    if git is None:
        pytest.skip("git is not installed: cannot compare with the code of an earlier commit")
    known = subprocess.run([git, "-C", str(REPO_ROOT), "cat-file", "-e", f"{BASELINE_COMMIT}^{{commit}}"],
                           capture_output=True, check=False)
    if known.returncode != 0:
        pytest.skip(f"commit {BASELINE_COMMIT} is not in this checkout (shallow clone or source archive)")
    archive = subprocess.run([git, "-C", str(REPO_ROOT), "archive", "--format=tar", BASELINE_COMMIT, "src"],
                             capture_output=True, check=True).stdout
    root = tmp_path_factory.mktemp(f"baseline-{BASELINE_COMMIT}")
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(root, filter="data")
    return Baseline(root / "src")
