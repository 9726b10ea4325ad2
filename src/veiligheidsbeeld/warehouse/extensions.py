"""Schema files contributed by other parts of the package (geography, validation, ...).

Each listed ``.sql`` file must contain a ``-- name: schema`` statement of idempotent
``CREATE ... IF NOT EXISTS`` / ``CREATE OR REPLACE VIEW`` statements.
"""

from __future__ import annotations

from importlib import resources

from veiligheidsbeeld.warehouse.sql import queries

SCHEMA_FILES: tuple[str, ...] = ("geography.sql", "validation.sql", "incidents.sql")


def schema_statements() -> list[str]:
    out = []
    base = resources.files("veiligheidsbeeld.warehouse").joinpath("sql")
    for filename in SCHEMA_FILES:
        if base.joinpath(filename).is_file() and "schema" in queries(filename):
            out.append(queries(filename)["schema"])
    return out
