"""Importing from a drop folder: the analysts put police exports in one folder; each run imports
what is new and moves every file out of the way, so the folder holds only what is still to do.

``<drop>/verwerkt/``: imported (or already imported: the same checksum) files, with a time stamp.
``<drop>/geweigerd/``: refused files, each with ``<name>.fout.txt`` holding the Dutch reason.
Nothing is half-imported: a refused file left the warehouse as it was.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from veiligheidsbeeld.errors import VeiligheidsbeeldError
from veiligheidsbeeld.incidents.importer import ImportResult, import_incidents

SUFFIXES = (".csv", ".xlsx", ".xlsm", ".parquet")
DONE = "verwerkt"
REFUSED = "geweigerd"


@dataclass
class DropFolderRun:
    imported: list[ImportResult] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)  # file name -> Dutch reason

    def lines(self) -> list[str]:
        out = [r.summary() for r in self.imported]
        out += [f"{name} geweigerd: {reason}" for name, reason in self.refused.items()]
        return out or ["Geen nieuwe bestanden in de importmap."]


def drop_folder(settings: Any) -> Path:
    configured = settings.incidenten.drop_map
    root = settings.paths.resolved().root
    path = Path(configured) if configured else Path("data/incidenten/inbox")
    return path if path.is_absolute() else root / path


def pending_files(folder: Path) -> list[Path]:
    """Files to import, oldest first (so a newer export of the same incidents wins)."""
    if not folder.is_dir():
        return []
    files = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES and not p.name.startswith(".")]
    return sorted(files, key=lambda p: (p.stat().st_mtime, p.name))


def _move(path: Path, target_dir: Path, stamp: str) -> Path:
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / f"{stamp}_{path.name}"
    shutil.move(str(path), target)
    return target


def import_file(settings: Any, path: Path, *, synthetic: bool = False) -> ImportResult:
    return import_incidents(settings, path, synthetic=synthetic)


def import_drop_folder(settings: Any, folder: Path | None = None, *, now: datetime | None = None) -> DropFolderRun:
    """Import every file waiting in the drop folder (default ``[incidenten].drop_map``)."""
    folder = Path(folder) if folder else drop_folder(settings)
    stamp = (now or datetime.now()).strftime("%Y%m%dT%H%M%S")
    run = DropFolderRun()
    for path in pending_files(folder):
        try:
            run.imported.append(import_incidents(settings, path))
        except VeiligheidsbeeldError as exc:
            run.refused[path.name] = str(exc)
            moved = _move(path, folder / REFUSED, stamp)
            moved.with_name(moved.name + ".fout.txt").write_text(str(exc) + "\n", encoding="utf-8")
            continue
        _move(path, folder / DONE, stamp)
    return run
