"""Grouping report warnings by meaning (reports.banners) and the 'wat is nieuw' sentence (analysis.whats_new)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from veiligheidsbeeld.analysis.whats_new import ReportStamp, WhatIsNew, previous_stamp, read_stamp, write_stamps
from veiligheidsbeeld.analysis.woninginbraak import ReportWarning
from veiligheidsbeeld.reports.banners import arrange

TWENTE = ["GM0147", "GM0168", "GM0173"]
NAMES = {"GM0147": "Borne", "GM0168": "Losser", "GM0173": "Oldenzaal", "GM0193": "Zwolle"}
JUNE = date(2023, 6, 1)


def per_gemeente_gap(code: str, month: date = JUNE, district: str = "VR05") -> ReportWarning:
    return ReportWarning(f"Gegevenscontrole: {code} mist 1 maand(en).", district, kind="missing_month",
                         months=(month,), regions=(code,), importance=2)


def test_a_month_missing_for_every_gemeente_is_one_banner():
    warnings = [per_gemeente_gap(g) for g in TWENTE]
    view = arrange(warnings, district_code="VR05", scope=TWENTE, names=NAMES, used_months=[JUNE])
    assert len(view.all) == 1
    assert view.first[0].text.startswith("juni 2023 ontbreekt voor alle 3 gemeenten in de gegevens.")
    assert view.notes_for([JUNE]) == ["juni 2023 ontbreekt voor alle 3 gemeenten: perioden met die maand zijn niet getoetst."]


def test_some_gemeenten_are_named_and_months_with_the_same_gemeenten_merge():
    july = date(2023, 7, 1)
    warnings = [per_gemeente_gap("GM0168"), per_gemeente_gap("GM0168", july), per_gemeente_gap("GM0173"),
                per_gemeente_gap("GM0173", july)]
    view = arrange(warnings, district_code="VR05", scope=TWENTE, names=NAMES, used_months=[JUNE, july])
    assert [b.text.split(" in de gegevens")[0] for b in view.all] == [
        "juni en juli 2023 ontbreken voor Losser en Oldenzaal (2 van de 3 gemeenten)"
    ]


def test_only_banners_touching_a_figure_come_first_most_important_first_and_at_most_three():
    warnings = [per_gemeente_gap(g) for g in TWENTE]
    warnings += [ReportWarning(f"Technisch {i}.", "VR05", kind="structural_break", importance=4) for i in range(3)]
    warnings += [ReportWarning("Gegevens verouderd.", None, kind="stale", importance=1)]
    warnings += [ReportWarning("Niet van dit district.", "VR04", kind="suppressed", importance=3)]
    unused = date(2013, 6, 1)
    warnings += [per_gemeente_gap(g, unused) for g in TWENTE]
    view = arrange(warnings, district_code="VR05", scope=TWENTE, names=NAMES, used_months=[JUNE])
    starts = ["Gegevens verouderd.", "juni 2023 ontbreekt voor alle 3 gemeenten", "Technisch 0."]
    assert len(view.first) == 3 and all(b.text.startswith(s) for b, s in zip(view.first, starts))
    assert len(view.all) == 6 and view.more == 3  # the other district's warning is not on this page
    untouched = view.all[-1]
    assert untouched.text.startswith("juni 2013 ontbreekt") and not untouched.touches
    assert untouched.text.endswith("(Geen figuur in dit rapport gebruikt deze maand.)")
    assert view.notes_for([unused]) == []  # nothing said next to figures about a month they do not use


def test_a_missing_month_without_regions_concerns_every_gemeente_of_the_page():
    warning = ReportWarning("Ontbrekende maand(en) in de gegevens: juni 2023.", None, kind="missing_month",
                            months=(JUNE,), importance=2)
    view = arrange([warning, *[per_gemeente_gap(g) for g in TWENTE]], district_code=None,
                   scope=TWENTE + ["GM0193"], names=NAMES)
    assert len(view.all) == 1 and "juni 2023 ontbreekt voor alle 4 gemeenten" in view.all[0].text


def stamp(day: date, vintage: str, modified: str, last: date) -> ReportStamp:
    return ReportStamp(day, "47022NED", vintage, modified, last)


def test_what_is_new_says_the_new_month_the_revisions_or_that_nothing_changed():
    old = stamp(date(2024, 1, 15), "20231214T020000", "2023-12-14T02:00:00", date(2023, 11, 1))
    new = stamp(date(2024, 1, 29), "20240117T020000", "2024-01-17T02:00:00", date(2023, 12, 1))
    changed = WhatIsNew("47022NED", new, old, (date(2023, 12, 1),), 1234, (date(2022, 1, 1), date(2023, 11, 1)),
                        {"GM0168": 34, "GM0193": 1200})
    assert changed.headline(["GM0168"], "in district Twente") == (
        "Nieuw sinds het vorige rapport (15 januari 2024; versie van de bron van 17 januari 2024): nieuwe maand "
        "december 2023; 1.234 cellen in het revisievenster (januari 2022 t/m november 2023) herzien, waarvan 34 "
        "in district Twente."
    )
    same = WhatIsNew("47022NED", stamp(date(2024, 2, 12), new.vintage, new.modified, new.last_month), new)
    assert same.unchanged
    assert same.headline() == ("Geen nieuwe cijfers sinds 17 januari 2024: dit rapport is gelijk aan het vorige "
                               "(rapport van 29 januari 2024).")
    unknown = WhatIsNew("47022NED", new, old, (date(2023, 12, 1),), None)
    assert "het aantal herziene cellen is onbekend" in unknown.headline()


def test_the_previous_report_is_the_latest_one_before_the_report_date(tmp_path: Path):
    for day, vintage in ((date(2024, 1, 1), "a"), (date(2024, 1, 15), "b"), (date(2024, 1, 29), "c")):
        folder = tmp_path / day.isoformat() / "tweewekelijks"
        folder.mkdir(parents=True)
        write_stamps(folder, [stamp(day, vintage, "2024-01-01T00:00:00", date(2023, 11, 1))])
    found = previous_stamp(tmp_path, "tweewekelijks", date(2024, 1, 29), "47022NED")
    assert found is not None and found.vintage == "b"
    assert previous_stamp(tmp_path, "tweewekelijks", date(2024, 1, 1), "47022NED") is None
    (tmp_path / "2024-01-15" / "tweewekelijks" / "gegevensversie.json").write_text("{kapot", encoding="utf-8")
    assert read_stamp(tmp_path / "2024-01-15" / "tweewekelijks" / "gegevensversie.json", "47022NED") is None
    assert previous_stamp(tmp_path, "tweewekelijks", date(2024, 1, 29), "47022NED").vintage == "a"


def test_findings_become_warnings_for_their_district_with_their_months():
    from veiligheidsbeeld.analysis.findings import INCOMPLETE, MISSING_DATA, validation_warnings
    from veiligheidsbeeld.warehouse.queries import CheckedData
    from veiligheidsbeeld.warehouse.validation import Finding, Severity

    june = date(2023, 6, 1)
    checked = CheckedData(
        (Finding("region_missing_month", Severity.WARN, "47022NED", "GM0168", "Losser mist 1 maand"),
         Finding("region_missing_month", Severity.WARN, "47022NED", "GM0363", "Amsterdam mist 1 maand"),
         Finding("suppressed_share", Severity.WARN, "47022NED", "BU01680000", "Buurt onderdrukt"),
         Finding("region_missing_month", Severity.WARN, "47022NED", None, "12 buurten missen maanden")),
        {("47022NED", "GM0168"): (june,)},
    )
    out = validation_warnings(checked, {"GM0168": "VR05"})
    assert [(w.district_code, w.kind, w.months, w.regions) for w in out] == [
        ("VR05", "missing_month", (june,), ("GM0168",)),  # Amsterdam: outside the eenheid, left out
        ("VR05", "suppressed_share", (), ("BU01680000",)),
        (None, "region_missing_month", (), ()),
    ]
    assert out[0].importance == MISSING_DATA and out[2].importance == INCOMPLETE
    assert validation_warnings(CheckedData(), {"GM0168": "VR05"}) == []
