"""What is new since the previous report: new months, revised cells, or nothing at all.

Every biweekly report opens with it. Each report run leaves a small stamp next to its files
(:data:`STAMP_FILE`: per table the version -- the ``Modified`` stamp -- and the latest month it
was built on); the next report compares its own data with the stamp of the latest earlier report:

* the same version: "geen nieuwe cijfers sinds <datum>: dit rapport is gelijk aan het vorige";
* a newer version: the new month(s), and how many cells of the months both versions hold changed
  (the revision window: recent months are provisional and get revised). The values come from the
  raw archive, which keeps every version: per version the files that were in use then
  (the newest complete full pull up to it and the increments after it), compared cell by cell.

A plain function over what the reader read (:func:`veiligheidsbeeld.warehouse.queries.whats_new_inputs`)
returning a small result object; the report templates only draw it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd

from veiligheidsbeeld.formatting import fmt_date, fmt_int, fmt_month
from veiligheidsbeeld.sources.raw_archive import RawArchive, VintageManifest, atomic_write_json
from veiligheidsbeeld.warehouse.queries import TableVersion, WhatsNewInputs

#: The stamp a report run leaves in its folder (which data it was built on).
STAMP_FILE = "gegevensversie.json"


@dataclass(frozen=True)
class ReportStamp:
    """The data one report was built on, for one table."""

    report_date: date
    table_id: str
    vintage: str
    modified: str
    last_month: date | None

    @property
    def modified_date(self) -> date | None:
        try:
            return date.fromisoformat(self.modified[:10])
        except ValueError:
            return None


def current_stamp(version: TableVersion, report_date: date, last_month: date | None = None) -> ReportStamp:
    """The stamp of a table's version in the warehouse now (read by
    :func:`veiligheidsbeeld.warehouse.queries.table_version`; ``last_month``: the report's latest month)."""
    return ReportStamp(report_date, version.table_id, version.vintage, version.modified,
                       last_month or version.last_month)


def write_stamps(out_dir: Path, stamps: Sequence[ReportStamp]) -> Path:
    path = Path(out_dir) / STAMP_FILE
    atomic_write_json(path, {
        "rapportdatum": stamps[0].report_date.isoformat() if stamps else None,
        "tabellen": {
            s.table_id: {"versie": s.vintage, "modified": s.modified,
                         "laatste_maand": s.last_month.isoformat() if s.last_month else None}
            for s in stamps
        },
    })
    return path


def read_stamp(path: Path, table_id: str) -> ReportStamp | None:
    """The stamp of ``table_id`` in one report folder's :data:`STAMP_FILE`; None if absent or unreadable."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        table = data["tabellen"][table_id]
        last = table.get("laatste_maand")
        return ReportStamp(date.fromisoformat(data["rapportdatum"]), table_id, str(table["versie"]),
                           str(table.get("modified") or ""), date.fromisoformat(last) if last else None)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def previous_stamp(reports_root: Path, report_kind: str, report_date: date, table_id: str) -> ReportStamp | None:
    """The stamp of the latest report of this kind dated before ``report_date``
    (``<reports>/<datum>/<kind>/gegevensversie.json``)."""
    found = []
    for path in Path(reports_root).glob(f"*/{report_kind}/{STAMP_FILE}"):
        stamp = read_stamp(path, table_id)
        if stamp is not None and stamp.report_date < report_date:
            found.append(stamp)
    return max(found, key=lambda s: s.report_date, default=None)


@dataclass(frozen=True)
class WhatIsNew:
    """What changed in one table between the previous report's data and this report's."""

    table_id: str
    current: ReportStamp
    previous: ReportStamp | None
    new_months: tuple[date, ...] = ()
    #: Cells (region x code x month) whose value differs between the two versions, in months both
    #: hold; None: unknown (the previous version is no longer in the raw archive).
    revised_cells: int | None = 0
    #: First and last month both versions hold that the newer one fetched again.
    window: tuple[date, date] | None = None
    #: Revised cells per gemeente (wijken and buurten counted with their gemeente; NL00 as 'NL00').
    revised_by_gemeente: Mapping[str, int] = field(default_factory=dict)

    @property
    def first_report(self) -> bool:
        return self.previous is None

    @property
    def unchanged(self) -> bool:
        return self.previous is not None and self.previous.vintage == self.current.vintage

    def revised_in(self, gemeenten: Sequence[str]) -> int | None:
        if self.revised_cells is None:
            return None
        return sum(self.revised_by_gemeente.get(g, 0) for g in gemeenten)

    def headline(self, gemeenten: Sequence[str] | None = None, where: str = "") -> str:
        """One Dutch sentence (``gemeenten``/``where``: also say how many revisions fall there)."""
        cur = self.current
        published = fmt_date(cur.modified_date) if cur.modified_date else cur.modified
        if self.previous is None:
            months = f"t/m {fmt_month(cur.last_month)}" if cur.last_month else ""
            return (f"Geen eerder rapport gevonden om mee te vergelijken: cijfers {months} "
                    f"(versie van de bron van {published}).")
        previous = fmt_date(self.previous.report_date)
        if self.unchanged:
            return (f"Geen nieuwe cijfers sinds {published}: dit rapport is gelijk aan het vorige "
                    f"(rapport van {previous}).")
        parts = []
        if self.new_months:
            label = "nieuwe maand" if len(self.new_months) == 1 else "nieuwe maanden"
            parts.append(f"{label} {', '.join(fmt_month(m) for m in self.new_months)}")
        else:
            parts.append("geen nieuwe maand")
        if self.revised_cells is None:
            parts.append("het aantal herziene cellen is onbekend (de vorige versie staat niet meer in de ruwe gegevens)")
        elif self.revised_cells == 0:
            parts.append("geen herziene cellen in de eerdere maanden")
        else:
            window = f" ({fmt_month(self.window[0])} t/m {fmt_month(self.window[1])})" if self.window else ""
            text = f"{fmt_int(self.revised_cells)} cellen in het revisievenster{window} herzien"
            if gemeenten is not None:
                text += f", waarvan {fmt_int(self.revised_in(gemeenten))} {where or 'in dit gebied'}"
            parts.append(text)
        return f"Nieuw sinds het vorige rapport ({previous}; versie van de bron van {published}): " + "; ".join(parts) + "."


def what_is_new(inputs: WhatsNewInputs) -> WhatIsNew:
    """Compare this report's data (``inputs.current``) with the previous report's
    (``inputs.previous``), over what :func:`veiligheidsbeeld.warehouse.queries.whats_new_inputs` read."""
    current, previous = inputs.current, inputs.previous
    table_id = current.table_id
    if not inputs.compared:
        return WhatIsNew(table_id, current, previous)
    changes = inputs.changes
    if changes is None:
        return WhatIsNew(table_id, current, previous, inputs.new_months, None)
    by_gemeente = {str(k): int(v) for k, v in changes.groupby("gemeente_code")["n"].sum().items()}
    window = None
    if len(changes.attrs.get("window", ())) == 2 and changes.attrs["window"][0] is not None:
        window = tuple(changes.attrs["window"])  # type: ignore[assignment]
    return WhatIsNew(table_id, current, previous, inputs.new_months, int(changes["n"].sum()), window, by_gemeente)


def _used_as_of(archive: RawArchive, table_id: str, vintage: str) -> list[VintageManifest] | None:
    """The versions whose files made up the data of ``vintage``: the newest complete full pull up to
    it and the complete increments after it (like the load). None when ``vintage`` is not there."""
    complete = [m for m in archive.manifests(table_id) if m.complete and m.vintage <= vintage]
    if not complete or complete[-1].vintage != vintage:
        return None
    fulls = [i for i, m in enumerate(complete) if m.kind == "full"]
    return complete[fulls[-1]:] if fulls else None


def changed_files(archive: RawArchive, table_id: str, old: str, new: str
                  ) -> tuple[pd.DataFrame, list[str], list[str]] | None:
    """Which raw files to compare between version ``old`` and ``new`` of a table: a frame (side,
    filename, period: per file the periods it holds the newest values of), the newer files and the
    older files. Only periods that a version after ``old`` fetched again can differ. None when a
    version is not in the archive."""
    from veiligheidsbeeld.warehouse.load import owned_partitions

    old_used, new_used = _used_as_of(archive, table_id, old), _used_as_of(archive, table_id, new)
    if old_used is None or new_used is None:
        return None
    newer = [p for p in owned_partitions(archive, new_used) if p.vintage > old]
    before = owned_partitions(archive, old_used)
    owned = pd.DataFrame(
        [("new", p.path, period) for p in newer for period in p.periods]
        + [("old", p.path, period) for p in before for period in p.periods],
        columns=["side", "filename", "period"],
    )
    return owned, [p.path for p in newer], [p.path for p in before]
