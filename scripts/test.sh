#!/usr/bin/env bash
# Run the test suite on a fresh machine: sets up .venv with the project and its test extras,
# installs Debian's headless Chromium for the browser tests when it is missing, then runs pytest.
# Extra arguments go to pytest (e.g. `bash scripts/test.sh tests/unit -x`).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_setup.sh
setup_venv test
ensure_chromium
exec .venv/bin/python -m pytest "$@"
