"""Named SQL statements from the ``.sql`` files beside this module.

A file holds statements headed by ``-- name: <name>``; values are always bound as parameters
(``$table_id``), never formatted into the text.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

_HEADER = re.compile(r"^--\s*name:\s*(\w+)\s*$", re.MULTILINE)


@cache
def queries(filename: str) -> dict[str, str]:
    text = resources.files("veiligheidsbeeld.warehouse").joinpath("sql", filename).read_text(encoding="utf-8")
    parts = _HEADER.split(text)
    # parts = [preamble, name1, body1, name2, body2, ...]
    return {name: body.strip() for name, body in zip(parts[1::2], parts[2::2])}


def query(filename: str, name: str) -> str:
    try:
        return queries(filename)[name]
    except KeyError:
        raise KeyError(f"no statement '{name}' in {filename}") from None
