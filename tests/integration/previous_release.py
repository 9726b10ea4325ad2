"""Build a small warehouse and render the biweekly report's tables with the code of an earlier
release (run by tests/integration/test_migrations.py with PYTHONPATH=<that release>/src).

Written against the API of commit 5feb071 (the last release without schema versions), which does
not change any more. National (NL00) rows are the REAL police series from ../shared; every
gemeente, wijk and buurt figure and the dwelling counts are SYNTHETIC; gemeente boundaries are the
real 2023 TopoJSON from ../shared.

    python previous_release.py build ROOT SHARED   # snapshot, ingest, denominators, boundaries
    python previous_release.py render ROOT OUT     # the biweekly report (HTML and tables, no PDF)
    python previous_release.py fixture ROOT SHARED OUT   # tests/data/previous_release (see its README)

``fixture`` makes the stored copy the test falls back on in a clone without that commit: the same
warehouse without boundaries, with the real national rows deleted, wijk and buurt names replaced
by their codes and the snapshot path left out (nothing from ../shared enters the repository),
then the report's CSV tables rendered from exactly that, and the warehouse as DuckDB's EXPORT
DATABASE (parquet).
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

GEMEENTEN = ["GM0168", "GM0173"]  # Losser, Oldenzaal (district Twente)
CODES = ["0.0.0", "1.1.1", "1.4.3", "1.4.4", "1.4.5", "1.4.6", "1.4.7"]
REPORT_DATE = date(2024, 1, 20)
MISSING = "2022-11"


def synthetic_dwellings(regions):
    """SYNTHETIC dwelling stock: a deterministic lognormal per buurt, summed to wijk and gemeente."""
    import numpy as np
    import pandas as pd

    rows = []
    for year in (2022, 2023):
        buurt = {c: float(round(np.random.default_rng([7, int(c[2:]), year]).lognormal(np.log(350), 0.9)))
                 for c in regions.loc[regions["level"] == "BU", "code"]}
        wijk: dict[str, float] = {}
        for code, value in buurt.items():
            wijk["WK" + code[2:8]] = wijk.get("WK" + code[2:8], 0.0) + value
        gemeente: dict[str, float] = {}
        for code, value in wijk.items():
            gemeente["GM" + code[2:6]] = gemeente.get("GM" + code[2:6], 0.0) + value
        for level, values in (("buurt", buurt), ("wijk", wijk), ("gemeente", gemeente)):
            rows += [dict(region_code=c, region_level=level, year=year, month=None, measure="woningen", value=v,
                          source_table="SYNTHETISCH", table_title="SYNTHETISCH — woningvoorraad (test)",
                          vintage="20240101T000000", modified="2024-01-01", fetched_at="2024-01-01",
                          period_status="Definitief", source="tests") for c, v in values.items()]
    return pd.DataFrame(rows)


def settings_for(root: Path):
    import dataclasses

    from veiligheidsbeeld.config import load_settings

    settings = load_settings().with_paths(root=root).with_ingest(tables=("47022NED",))
    return dataclasses.replace(settings, area=dataclasses.replace(settings.area, district_table=str(root / "districts.csv")))


def build(root: Path, shared: Path, boundaries: bool = True) -> None:
    from veiligheidsbeeld.ingest import run_ingest
    from veiligheidsbeeld.regions import load_district_table
    from veiligheidsbeeld.sources.boundaries import read_boundaries_file
    from veiligheidsbeeld.testing.synthetic import build_police_snapshot
    from veiligheidsbeeld.warehouse.db import writer
    from veiligheidsbeeld.warehouse.geography import load_boundaries, load_denominators

    build_police_snapshot(root / "snapshot", shared_dir=shared, gemeenten=GEMEENTEN, tables=("47022NED",),
                          start="2020-01", end="2023-12", codes={"47022NED": CODES}, missing_months=[MISSING])
    table = load_district_table()
    table[table["gemeente_code"].isin(GEMEENTEN)].to_csv(root / "districts.csv", index=False)
    settings = settings_for(root)
    run_ingest(settings, root / "snapshot", gemeenten=GEMEENTEN)
    with writer(settings.paths.resolved().warehouse) as con:
        load_denominators(con, synthetic_dwellings(con.execute("SELECT code, level FROM regions").df()))
        if boundaries:
            gdf = read_boundaries_file(shared / "data" / "geo" / "gemeente_2023.topojson", "gemeente", 2023)
            load_boundaries(con, gdf, "shared/data/geo/gemeente_2023.topojson")


def render(root: Path, out: Path) -> None:
    from veiligheidsbeeld.reports.render import render_tweewekelijks

    render_tweewekelijks(settings_for(root), REPORT_DATE, out_dir=out, workers=1, pdf=False, today=REPORT_DATE)


def fixture(root: Path, shared: Path, out: Path) -> None:
    import shutil

    import duckdb

    build(root, shared, boundaries=False)
    warehouse = root / "data" / "warehouse" / "veiligheidsbeeld.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        for table in ("facts_monthly", "facts_yearly_reported"):
            con.execute(f"DELETE FROM {table} WHERE region_code = 'NL00'")
        con.execute("UPDATE regions SET name = CASE level WHEN 'WK' THEN 'Wijk ' || code "
                    "WHEN 'BU' THEN 'Buurt ' || code ELSE name END")
        # The code list's titles and descriptions are the real ones from ../shared: keep only the codes.
        con.execute("UPDATE offence_types SET title = 'Code ' || code, description = NULL")
        con.execute("UPDATE pulls SET source = 'snapshot (synthetisch)'")
        con.execute("UPDATE districts SET source = 'districts.csv'")
    render(root, root / "out")
    (out / "tabellen").mkdir(parents=True)
    for csv in sorted((root / "out" / "tabellen").glob("*.csv")):
        shutil.copy(csv, out / "tabellen" / csv.name)
    shutil.copy(root / "districts.csv", out / "districts.csv")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        con.execute(f"EXPORT DATABASE '{out / 'warehouse'}' (FORMAT parquet)")
    # File names without this machine's folder: IMPORT DATABASE finds them in the export's folder.
    load = out / "warehouse" / "load.sql"
    load.write_text(load.read_text(encoding="utf-8").replace(f"'{out / 'warehouse'}/", "'"), encoding="utf-8")


if __name__ == "__main__":
    import veiligheidsbeeld

    print(veiligheidsbeeld.__file__)  # the caller checks which release ran
    command, paths = sys.argv[1], [Path(a) for a in sys.argv[2:]]
    {"build": build, "render": render, "fixture": fixture}[command](*paths)
