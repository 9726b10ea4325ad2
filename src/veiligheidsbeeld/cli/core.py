"""The root of the ``veiligheidsbeeld`` command: the typer app, its global options, the consoles
and the one error handler every command calls through.

Commands only parse arguments, call plain functions of the package and print the result.
Errors of the package (:class:`VeiligheidsbeeldError`) are printed as one clear sentence; the
traceback only with ``--debug``. This module imports no command module: the commands import it,
and :mod:`veiligheidsbeeld.cli` registers them on :data:`app`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from veiligheidsbeeld.config import Settings, load_settings
from veiligheidsbeeld.errors import VeiligheidsbeeldError

app = typer.Typer(
    help="veiligheidsbeeld — politie- en CBS-cijfers voor Oost-Nederland: ophalen, analyseren, rapporteren.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

console = Console()
err_console = Console(stderr=True)


class _State:
    debug: bool = False
    config: Path | None = None


STATE = _State()


@app.callback()
def main(
    debug: Annotated[bool, typer.Option("--debug", help="Toon de volledige traceback bij een fout.")] = False,
    config: Annotated[Optional[Path], typer.Option("--config", help="Configuratiebestand (TOML).")] = None,
) -> None:
    STATE.debug = debug
    STATE.config = config
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


def settings_for(warehouse: Path | None = None, raw: Path | None = None, reports: Path | None = None) -> Settings:
    # Inside the error handler: a bad configuration is one sentence like any other error.
    return run_safely(load_settings, STATE.config, warehouse=warehouse, raw=raw, reports=reports)


def fail(text: str) -> None:
    """Print one Dutch sentence about bad input or a failed step, and exit 1."""
    # markup=False: a message may contain [brackets] (TOML sections) that are not rich markup.
    err_console.print("Fout: " + text, style="bold red" if err_console.is_terminal else None, markup=False,
                      highlight=False, soft_wrap=True)
    raise typer.Exit(code=1)


def run_safely(fn, *args, **kwargs):
    """Call ``fn``; print a package error as one sentence and exit 1 (traceback with --debug).

    An OSError that no layer turned into a sentence (a reports folder on a full disk, a file that
    cannot be written) is still one sentence naming the file, never a traceback."""
    try:
        return fn(*args, **kwargs)
    except VeiligheidsbeeldError as exc:
        if STATE.debug:
            raise
        fail(str(exc))
    except OSError as exc:
        if STATE.debug:
            raise
        from veiligheidsbeeld.files import why

        where = f"{exc.filename}" if exc.filename else "een bestand"
        fail(f"{where} kan niet worden gelezen of geschreven: {why(exc)}. Wat al was opgeslagen, is niet veranderd.")
    except KeyboardInterrupt:
        err_console.print("Afgebroken. Wat al binnen was, staat veilig in data/raw; de volgende run gaat verder.")
        raise typer.Exit(code=130) from None
