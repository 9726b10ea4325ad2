"""The command tree of ``veiligheidsbeeld``: one package, registered in one place, no import cycles."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main

import veiligheidsbeeld.cli as cli_package
from veiligheidsbeeld.cli import app

CLI_DIR = Path(cli_package.__file__).parent
COMMAND_MODULES = ["warehouse", "reports", "doel", "incidents", "flows"]


def _imported(path: Path) -> set[str]:
    """Every veiligheidsbeeld module a file imports (at any depth: lazy imports count too)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("veiligheidsbeeld"):
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names if a.name.startswith("veiligheidsbeeld"))
    return names


def test_help_lists_every_command_in_the_same_order():
    command = typer.main.get_command(app)
    assert list(command.commands) == [
        "ingest", "regions", "status", "run", "near-repeat", "serve", "demo", "report", "doel", "warehouse", "incidenten",
    ]
    assert list(command.commands["report"].commands) == ["tweewekelijks", "jaaranalyse"]
    assert list(command.commands["doel"].commands) == ["overlast"]
    assert list(command.commands["incidenten"].commands) == ["import", "status"]


@pytest.mark.parametrize("module", ["core", "options", *COMMAND_MODULES])
def test_no_module_of_the_tree_imports_the_package_or_a_command_module(module):
    # Commands import core and options; only cli/__init__.py imports the command modules.
    imported = _imported(CLI_DIR / f"{module}.py")
    forbidden = {"veiligheidsbeeld.cli", *(f"veiligheidsbeeld.cli.{m}" for m in COMMAND_MODULES)}
    assert not imported & forbidden, imported & forbidden
    if module in ("core", "options"):
        assert not {n for n in imported if n.startswith("veiligheidsbeeld.cli.")}


@pytest.mark.parametrize("module", ["core", "options", *COMMAND_MODULES])
def test_each_module_imports_on_its_own(module):
    # A fresh interpreter per module: an import cycle shows up as an ImportError here.
    done = subprocess.run([sys.executable, "-c", f"import veiligheidsbeeld.cli.{module}"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
