#!/usr/bin/env bash
# Set up and run the main job on a fresh machine: install into .venv, then ingest and write the
# biweekly reports (`veiligheidsbeeld run`). Arguments go to `veiligheidsbeeld run`
# (e.g. --source DIR for a snapshot directory, --demo for synthetic data).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_setup.sh
setup_venv
exec .venv/bin/veiligheidsbeeld run "$@"
