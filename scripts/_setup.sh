# Shared set-up steps for scripts/*.sh (sourced, not run).
PYTHON_BIN="${PYTHON_BIN:-python3}"

setup_venv() {
  # $1: optional extra ("test") to install with the project.
  local extra="${1:-}"
  if [ ! -x .venv/bin/python ]; then
    "$PYTHON_BIN" -m venv .venv
  fi
  local spec="."
  [ -n "$extra" ] && spec=".[${extra}]"
  local stamp=".venv/.installed-${extra:-main}"
  # Reinstall only when pyproject.toml changed since the last install.
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    # This machine's pip configuration names local mirrors that may be absent: drop those warnings only.
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip 2> >(grep -v "is ignored" >&2)
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e "$spec" 2> >(grep -v "is ignored" >&2)
    touch "$stamp"
  fi
}

ensure_chromium() {
  # The report tests open the HTML in a real headless browser (Debian's chromium) and read the
  # PDFs' text (poppler-utils' pdftotext).
  if ! command -v chromium >/dev/null 2>&1 || ! command -v pdftotext >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium poppler-utils fonts-dejavu-core >/dev/null) \
        || echo "chromium/poppler-utils konden niet worden geïnstalleerd; de browsertests worden overgeslagen" >&2
    else
      echo "chromium ontbreekt en kan niet worden geïnstalleerd; de browsertests worden overgeslagen" >&2
    fi
  fi
}
