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


#: Where the public near-repeat reference (Chicago 2016 burglaries with the Near Repeat
#: Calculator's published table, from Toby Davies' NearRepeat repository, MIT licence) belongs:
#: reference data live in ../shared, not in this repository (see tests/data/README.md).
CHICAGO_REFERENCE = Path("data") / "incidenten" / "chicago_burglary_2016.csv.gz"


@pytest.fixture(scope="session")
def chicago_reference(shared_dir) -> Path:
    path = shared_dir / CHICAGO_REFERENCE
    if not path.is_file():
        pytest.skip(f"public near-repeat reference not in shared/ ({CHICAGO_REFERENCE}); see tests/data/README.md")
    return path


@pytest.fixture(autouse=True)
def _no_user_config(monkeypatch):
    # Tests never pick up a developer's own veiligheidsbeeld.toml.
    monkeypatch.delenv("VEILIGHEIDSBEELD_CONFIG", raising=False)


# --- synthetic police snapshot and the local OData stub (veiligheidsbeeld.testing) -----------

SMALL_GEMEENTEN = ("GM1773", "GM0177")  # Olst-Wijhe and Raalte: small, so fixtures stay fast


@pytest.fixture(scope="session")
def small_police_snapshot(tmp_path_factory, shared_dir) -> Path:
    """Both police tables for two small gemeenten, 2022-01 … 2023-12, in the cbsodata layout.

    NL00 is the real national series; gemeente/wijk/buurt rows are synthetic. Shared by the whole
    session: treat it as read-only (copy it before changing anything)."""
    from veiligheidsbeeld.testing.synthetic import build_police_snapshot

    root = tmp_path_factory.mktemp("small_police_snapshot")
    build_police_snapshot(
        root,
        shared_dir=shared_dir,
        gemeenten=SMALL_GEMEENTEN,
        start="2022-01",
        end="2023-12",
        codes={"47022NED": ("0.0.0", "1.1.1", "1.4.6")},
    )
    return root


@pytest.fixture
def cbsodata_http():
    """cbsodata pointed at plain http (for the stub on 127.0.0.1); restored afterwards."""
    import cbsodata

    previous = cbsodata.options.use_https
    cbsodata.options.use_https = False
    try:
        yield cbsodata
    finally:
        cbsodata.options.use_https = previous
