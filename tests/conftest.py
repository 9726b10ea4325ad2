"""Fixtures shared by unit and integration tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def _shared_dir() -> Path:
    env = os.environ.get("VEILIGHEIDSBEELD_SHARED")
    path = Path(env) if env else REPO_ROOT.parent / "shared"
    if not (path / "data" / "politie").is_dir():
        raise RuntimeError(
            f"The real reference data is missing: expected {path}/data/politie "
            "(../shared beside the project root, or set VEILIGHEIDSBEELD_SHARED)."
        )
    return path


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """../shared: the users' documents and the real reference data (never copied into the repo)."""
    return _shared_dir()


@pytest.fixture(autouse=True)
def _no_user_config(monkeypatch):
    # Tests never pick up a developer's own veiligheidsbeeld.toml.
    monkeypatch.delenv("VEILIGHEIDSBEELD_CONFIG", raising=False)
