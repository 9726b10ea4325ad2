"""Section 2 — warehouse and analysis: DuckDB (the project's path) against pandas.

Synthetic 47022NED-shaped facts (every code of the real code list, every region of the real
2023 region list for the gemeenten chosen, 2012-01 … 2023-12 plus the JJ00 year rows, 2% of the
buurt cells suppressed) are generated straight into the raw archive layout
(``data/raw/47022NED/<vintage>/partitions/<gemeente>_<year>.parquet`` with its manifest and
metadata), one partition at a time with numpy/pyarrow — never whole in memory. Then, each in its
own process:

* **build** — ``veiligheidsbeeld.warehouse.load.load_police_table`` through ``db.writer`` (the
  project's load: newest vintage per cell, conflict check, facts and year rows, one transaction);
* **metrics, DuckDB** — :data:`METRICS_SQL` below on the built warehouse (read-only);
* **metrics, pandas** — a straightforward pandas implementation of the same metrics, starting
  from the same raw Parquet files (read, trim keys, parse periods, complete grid, group).

The metrics are those of the biweekly woninginbraak analysis for every gemeente, every district
of the eenheid and the eenheid: per group (woninginbraak ``1.1.1``; High Impact Crime straatroof
``1.4.6``, overval ``1.4.7``, geweld ``1.4.3+1.4.4+1.4.5``) and each of the five standard
comparisons ending at the latest month (month, last 3 months, year to date, last 12 months,
Donkere Dagen, each against a year earlier): the known totals, the numbers of suppressed and
missing cells, the totals themselves (NULL when incomplete: never a silent zero), the difference
and the % change. ``veiligheidsbeeld.analysis.woninginbraak`` computes these in pandas on the
facts it selects (it has no DuckDB-side metric function), so the SQL is written here. Both
implementations must give identical numbers (asserted), and at eenheid scale the DuckDB numbers
are also checked against the project's own functions (``group_counts`` → ``aggregate`` →
``compare_periods``). The Poisson test that follows is the same small per-row computation on
either result, so it is not timed.
"""

from __future__ import annotations

import csv
import json
import shutil
import time
from datetime import date
from pathlib import Path
from typing import Any

from _common import PhaseMeter, Sample, dir_size_mb, log, ratio, run_task, scratch_dir, spread, summarize

TABLE = "47022NED"
MODIFIED = "2024-03-28T02:00:00"
GROUPS = {
    "Woninginbraak": ("1.1.1",),
    "Straatroof": ("1.4.6",),
    "Overval": ("1.4.7",),
    "Geweld": ("1.4.3", "1.4.4", "1.4.5"),
}
KEY_COLUMNS = ["region_code", "level", "grp", "comparison"]
VALUE_COLUMNS = [
    "current_known", "current_n_suppressed", "current_n_missing",
    "previous_known", "previous_n_suppressed", "previous_n_missing",
    "current", "previous", "difference", "pct_change",
]

# The metric SQL. Inputs (registered by the caller): ``bench_groups(grp, code)``,
# ``bench_periods(comparison, side, month)`` (side 'current'/'previous'; one row per month of
# each period) and ``bench_districts(gemeente_code, district_code, eenheid_code)``.
METRICS_SQL = """
WITH
gemeenten AS (                       -- every gemeente in the warehouse, and every district member
    SELECT code AS gemeente_code FROM regions WHERE level = 'GM'
    UNION SELECT gemeente_code FROM bench_districts
),
units AS (                           -- a gemeente counts for itself, its district and the eenheid
    SELECT gemeente_code, gemeente_code AS unit_code, 'gemeente' AS level FROM gemeenten
    UNION ALL SELECT gemeente_code, district_code, 'district' FROM bench_districts
    UNION ALL SELECT gemeente_code, eenheid_code, 'eenheid' FROM bench_districts
),
months AS (SELECT DISTINCT month FROM bench_periods),
facts AS (                           -- only the leaf codes and months the comparisons need
    SELECT f.region_code, f.type_code, f.month, f.count
    FROM facts_monthly f
    WHERE f.table_id = '47022NED'
      AND f.type_code IN (SELECT code FROM bench_groups)
      AND f.month BETWEEN (SELECT min(month) FROM months) AND (SELECT max(month) FROM months)
),
cells AS (                           -- complete grid: gemeente x code x month; absent = missing
    SELECT g.gemeente_code, b.grp, m.month, f.count,
           f.region_code IS NULL AS missing,
           f.region_code IS NOT NULL AND f.count IS NULL AS suppressed
    FROM gemeenten g CROSS JOIN bench_groups b CROSS JOIN months m
    LEFT JOIN facts f ON f.region_code = g.gemeente_code AND f.type_code = b.code AND f.month = m.month
),
gemeente_months AS (
    SELECT gemeente_code, grp, month,
           coalesce(sum(count), 0) AS known, count_if(suppressed) AS n_suppressed, count_if(missing) AS n_missing
    FROM cells GROUP BY ALL
),
unit_periods AS (
    SELECT u.unit_code AS region_code, u.level, gm.grp, p.comparison, p.side,
           sum(gm.known) AS known, sum(gm.n_suppressed) AS n_suppressed, sum(gm.n_missing) AS n_missing
    FROM gemeente_months gm
    JOIN units u USING (gemeente_code)
    JOIN bench_periods p USING (month)
    GROUP BY ALL
),
wide AS (
    SELECT region_code, level, grp, comparison,
           max(known) FILTER (WHERE side = 'current') AS current_known,
           max(n_suppressed) FILTER (WHERE side = 'current') AS current_n_suppressed,
           max(n_missing) FILTER (WHERE side = 'current') AS current_n_missing,
           max(known) FILTER (WHERE side = 'previous') AS previous_known,
           max(n_suppressed) FILTER (WHERE side = 'previous') AS previous_n_suppressed,
           max(n_missing) FILTER (WHERE side = 'previous') AS previous_n_missing
    FROM unit_periods GROUP BY ALL
),
totals AS (
    SELECT *,
           CASE WHEN current_n_suppressed = 0 AND current_n_missing = 0 THEN current_known END AS current,
           CASE WHEN previous_n_suppressed = 0 AND previous_n_missing = 0 THEN previous_known END AS previous
    FROM wide
)
SELECT region_code, level, grp, comparison,
       current_known::DOUBLE AS current_known, current_n_suppressed::BIGINT AS current_n_suppressed,
       current_n_missing::BIGINT AS current_n_missing,
       previous_known::DOUBLE AS previous_known, previous_n_suppressed::BIGINT AS previous_n_suppressed,
       previous_n_missing::BIGINT AS previous_n_missing,
       current::DOUBLE AS current, previous::DOUBLE AS previous,
       (current - previous)::DOUBLE AS difference,
       CASE WHEN previous > 0 THEN (current::DOUBLE - previous::DOUBLE) / previous::DOUBLE * 100 END AS pct_change
FROM totals
ORDER BY region_code, level, grp, comparison
"""


# --------------------------------------------------------------------------------------------
# Shared inputs: comparisons, groups, districts
# --------------------------------------------------------------------------------------------


def inputs(latest: date):
    """(groups, periods, districts) frames, identical for both implementations."""
    import pandas as pd

    from veiligheidsbeeld.analysis.periods import standard_comparisons
    from veiligheidsbeeld.config import AreaSettings
    from veiligheidsbeeld.regions import load_district_table

    groups = pd.DataFrame([(g, c) for g, codes in GROUPS.items() for c in codes], columns=["grp", "code"])
    rows = []
    for comp in standard_comparisons(latest):
        for side, period in (("current", comp.current), ("previous", comp.previous)):
            rows += [(comp.key, side, pd.Timestamp(m)) for m in period.months()]
    periods = pd.DataFrame(rows, columns=["comparison", "side", "month"])
    table = load_district_table(AreaSettings())
    districts = pd.DataFrame({"gemeente_code": table["gemeente_code"], "district_code": table["district_code"],
                              "eenheid_code": table["eenheid_code"]})
    return groups, periods, districts


# --------------------------------------------------------------------------------------------
# Generating the raw layout
# --------------------------------------------------------------------------------------------


def _politie_dir() -> Path:
    from veiligheidsbeeld.testing.synthetic import find_shared_dir, politie_dir

    return politie_dir(find_shared_dir())


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def select_gemeenten(point: dict[str, Any]) -> list[str]:
    """The gemeenten of a point: listed, an area (district/eenheid), or a share of all regions
    (the eenheid first, then the other gemeenten in the order of the region list)."""
    from veiligheidsbeeld.testing.synthetic import district_gemeenten

    if point.get("gemeenten"):
        return list(point["gemeenten"])
    if point.get("area"):
        return district_gemeenten(point["area"])
    regions = _read_csv(_politie_dir() / "47022NED_WijkenEnBuurten.csv")
    size: dict[str, int] = {}
    for r in regions:
        gm = r["Municipality"].strip()
        if gm:
            size[gm] = size.get(gm, 0) + 1
    order = district_gemeenten("RE02") + [g for g in size if g not in set(district_gemeenten("RE02"))]
    target = float(point["share"]) * len(regions)
    chosen, total = [], 1
    for gm in order:
        if total >= target:
            break
        chosen.append(gm)
        total += size[gm]
    return chosen


def generate_raw(root: Path, gemeenten: list[str], start: str, end: str, seed: int = 20151007) -> dict[str, Any]:
    """Write the raw archive of one complete 47022NED vintage (cached: skipped when present)."""
    import hashlib

    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from veiligheidsbeeld.sources.raw_archive import (
        RAW_SCHEMA,
        PartitionRecord,
        RawArchive,
        VintageManifest,
        sha256_file,
        vintage_from_modified,
    )

    spec = {"gemeenten": hashlib.sha256(",".join(gemeenten).encode()).hexdigest()[:16], "n": len(gemeenten),
            "start": start, "end": end, "seed": seed, "v": 3}
    marker = root / "benchmark-spec.json"
    if marker.is_file() and json.loads(marker.read_text())["spec"] == spec:
        return json.loads(marker.read_text())["info"]
    if root.exists():
        shutil.rmtree(root)
    t0 = time.perf_counter()
    politie = _politie_dir()
    regions = _read_csv(politie / "47022NED_WijkenEnBuurten.csv")
    codes = _read_csv(politie / "47022NED_SoortMisdrijf.csv")
    wanted = set(gemeenten)
    groups: dict[str, list[dict[str, str]]] = {"NL00": [r for r in regions if r["Key"].strip() == "NL00"]}
    for r in regions:
        gm = r["Municipality"].strip() or (r["Key"].strip() if r["Key"].startswith("GM") else "")
        if gm in wanted:
            groups.setdefault(gm, []).append(r)
    first_year, first_month = int(start[:4]), int(start[5:7])
    last_year, last_month = int(end[:4]), int(end[5:7])
    code_keys = pa.array([c["Key"] for c in codes], pa.string())
    n_codes = len(codes)
    total_index = next(i for i, c in enumerate(codes) if c["Key"].strip() == "0.0.0")
    parts = [i for i in range(n_codes) if i != total_index]
    rng0 = np.random.default_rng([seed, 0])
    code_factor = rng0.lognormal(0.0, 1.0, n_codes)

    archive = RawArchive(root)
    vintage = vintage_from_modified(MODIFIED)
    now = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    manifest = VintageManifest(
        table_id=TABLE, vintage=vintage, modified=MODIFIED, source="benchmarks/bench_warehouse.py (synthetic)",
        kind="full", started_at=now,
        columns={"region_key": "WijkenEnBuurten", "type_key": "SoortMisdrijf", "period_key": "Perioden",
                 "value": "GeregistreerdeMisdrijven_1"},
        filters={"groups": sorted(groups), "first_month": f"{start}-01", "last_month": f"{end}-01", "codes": "alle",
                 "wijken_buurten": True},
    )
    level_lambda = {"NL": 400.0, "GM": 6.0, "WK": 1.2, "BU": 0.25}
    rows_total = 0
    for gi, (group, members) in enumerate(groups.items()):
        keys = pa.array([r["Key"] for r in members], pa.string())
        levels = [("NL" if r["Key"].startswith("NL") else r["Key"][:2]) for r in members]
        lam_region = np.array([level_lambda[lv] for lv in levels])
        is_buurt = np.array([lv == "BU" for lv in levels])
        n_reg = len(members)
        for year in range(first_year, last_year + 1):
            m0 = first_month if year == first_year else 1
            m1 = last_month if year == last_year else 12
            months = list(range(m0, m1 + 1))
            rng = np.random.default_rng([seed, 1, gi, year])
            lam = lam_region[:, None, None] * code_factor[None, parts, None] * np.ones((1, 1, len(months)))
            counts = np.zeros((n_reg, n_codes, len(months)), dtype=np.int64)
            counts[:, parts, :] = rng.poisson(lam)
            counts[:, total_index, :] = counts[:, parts, :].sum(axis=1)
            nulls = (rng.random(counts.shape) < 0.02) & is_buurt[:, None, None]
            year_value = counts.sum(axis=2, keepdims=True)
            year_null = nulls.any(axis=2, keepdims=True)
            values = np.concatenate([counts, year_value], axis=2)  # (regions, codes, periods)
            null_mask = np.concatenate([nulls, year_null], axis=2)
            period_keys = pa.array([f"{year}MM{m:02d}" for m in months] + [f"{year}JJ00"], pa.string())
            n_per = len(months) + 1
            r_idx = np.repeat(np.arange(n_reg), n_codes * n_per)
            c_idx = np.tile(np.repeat(np.arange(n_codes), n_per), n_reg)
            p_idx = np.tile(np.arange(n_per), n_reg * n_codes)
            table = pa.Table.from_arrays(
                [keys.take(pa.array(r_idx)), code_keys.take(pa.array(c_idx)), period_keys.take(pa.array(p_idx)),
                 pa.array(values.ravel(), pa.int64(), mask=null_mask.ravel())],
                schema=RAW_SCHEMA,
            )
            name = f"{group}_{year}"
            path = archive.partition_path(TABLE, vintage, name)
            path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(table, path, compression="zstd")
            manifest.partitions[name] = PartitionRecord(
                file=f"partitions/{name}.parquet", rows=table.num_rows, sha256=sha256_file(path), fetched_at=now,
                periods=period_keys.to_pylist(), regions=n_reg, duplicates=0)  # each cell once, by construction
            rows_total += table.num_rows
    manifest.planned = sorted(manifest.partitions)
    manifest.complete, manifest.completed_at = True, now
    selected = [r for members in groups.values() for r in members]
    archive.save_entity(TABLE, vintage, "WijkenEnBuurten", [
        {"Key": r["Key"], "Title": r["Title"], "Description": r["Description"] or None,
         "Municipality": r["Municipality"], "DetailRegionCode": r["DetailRegionCode"]} for r in selected])
    archive.save_entity(TABLE, vintage, "SoortMisdrijf", [
        {"Key": c["Key"], "Title": c["Title"], "Description": c.get("Description") or None} for c in codes])
    periods = []
    for year in range(first_year, last_year + 1):
        periods.append({"Key": f"{year}JJ00", "Title": str(year), "Description": None, "Status": "Definitief"})
        m0 = first_month if year == first_year else 1
        m1 = last_month if year == last_year else 12
        periods += [{"Key": f"{year}MM{m:02d}", "Title": f"{year} {m}", "Description": None,
                     "Status": "Voorlopig" if year == last_year else "Definitief"} for m in range(m0, m1 + 1)]
    archive.save_entity(TABLE, vintage, "Perioden", periods)
    archive.save_entity(TABLE, vintage, "TableInfos", [{
        "Identifier": TABLE, "Modified": MODIFIED,
        "Title": "SYNTHETISCH — Geregistreerde misdrijven; soort misdrijf, wijk en buurt, per maand (benchmark)"}])
    archive.save_manifest(manifest)
    info = {"rows": rows_total, "regions": len(selected), "gemeenten": len(groups) - 1, "codes": n_codes,
            "partitions": len(manifest.partitions), "raw_mb": dir_size_mb(root),
            "generate_s": round(time.perf_counter() - t0, 1)}
    marker.write_text(json.dumps({"spec": spec, "info": info}))
    return info


# --------------------------------------------------------------------------------------------
# Child tasks
# --------------------------------------------------------------------------------------------


def task_build(p: dict[str, Any], meter: PhaseMeter) -> dict[str, Any]:
    from veiligheidsbeeld.config import MISDRIJVEN
    from veiligheidsbeeld.sources.raw_archive import RawArchive
    from veiligheidsbeeld.warehouse import db
    from veiligheidsbeeld.warehouse.load import load_police_table

    warehouse = Path(p["warehouse"])
    for stale in (warehouse, warehouse.with_name(warehouse.name + ".wal")):
        stale.unlink(missing_ok=True)
    t0 = time.perf_counter()
    with meter.phase("build"):
        with db.writer(warehouse) as con:
            if p.get("memory_limit"):
                con.execute(f"SET memory_limit = '{p['memory_limit']}'")
            summary = load_police_table(con, RawArchive(Path(p["raw"])), MISDRIJVEN)
    seconds = time.perf_counter() - t0
    return {"seconds": round(seconds, 3), "facts_rows": summary.rows,
            "warehouse_mb": round(warehouse.stat().st_size / 2**20, 1)}


def task_metrics_duckdb(p: dict[str, Any], meter: PhaseMeter) -> dict[str, Any]:
    import duckdb
    import pyarrow.parquet as pq

    groups, periods, districts = inputs(date.fromisoformat(p["latest"]))
    t0 = time.perf_counter()
    with meter.phase("metrics"):
        con = duckdb.connect(p["warehouse"], read_only=True)
        if p.get("memory_limit"):
            con.execute(f"SET memory_limit = '{p['memory_limit']}'")
        con.register("bench_groups", groups)
        con.register("bench_periods", periods)
        con.register("bench_districts", districts)
        result = con.execute(METRICS_SQL).to_arrow_table()
        con.close()
    seconds = time.perf_counter() - t0
    pq.write_table(result, p["out"])
    return {"seconds": round(seconds, 3), "result_rows": pq.read_metadata(p["out"]).num_rows}


def pandas_metrics(files: list[str], groups, periods, districts, meter: PhaseMeter | None = None):
    """The same metrics, as a pandas user would write them, from the raw Parquet files."""
    import contextlib

    import numpy as np
    import pandas as pd

    phase = meter.phase if meter else (lambda name: contextlib.nullcontext())
    with phase("read"):
        df = pd.read_parquet(files)
        df["region_code"] = df["region_key"].str.strip()
        df["type_code"] = df["type_key"].str.strip()
        df["period_key"] = df["period_key"].str.strip()
    with phase("metrics"):
        monthly = df[df["period_key"].str[4:6] == "MM"].copy()
        monthly["month"] = pd.to_datetime(monthly["period_key"].str[:4] + "-" + monthly["period_key"].str[6:8] + "-01")
        gemeenten = sorted(set(df.loc[df["region_code"].str.startswith("GM"), "region_code"]) | set(districts["gemeente_code"]))
        code_group = dict(zip(groups["code"], groups["grp"]))
        months = sorted(periods["month"].unique())
        facts = monthly[monthly["type_code"].isin(list(code_group)) & monthly["region_code"].isin(gemeenten)
                        & monthly["month"].isin(months)][["region_code", "type_code", "month", "value"]]
        grid = pd.MultiIndex.from_product([gemeenten, list(code_group), months],
                                          names=["region_code", "type_code", "month"]).to_frame(index=False)
        cells = grid.merge(facts, how="left", on=["region_code", "type_code", "month"], indicator=True)
        cells["missing"] = cells["_merge"] == "left_only"
        cells["suppressed"] = ~cells["missing"] & cells["value"].isna()
        cells["grp"] = cells["type_code"].map(code_group)
        gm = (cells.groupby(["region_code", "grp", "month"], sort=False)
              .agg(known=("value", "sum"), n_suppressed=("suppressed", "sum"), n_missing=("missing", "sum"))
              .reset_index())
        units = pd.concat([
            pd.DataFrame({"region_code": gemeenten, "unit_code": gemeenten, "level": "gemeente"}),
            pd.DataFrame({"region_code": districts["gemeente_code"], "unit_code": districts["district_code"], "level": "district"}),
            pd.DataFrame({"region_code": districts["gemeente_code"], "unit_code": districts["eenheid_code"], "level": "eenheid"}),
        ], ignore_index=True)
        per = (gm.merge(units, on="region_code").merge(periods, on="month")
               .groupby(["unit_code", "level", "grp", "comparison", "side"], sort=False)
               [["known", "n_suppressed", "n_missing"]].sum().reset_index())
        wide = per.pivot_table(index=["unit_code", "level", "grp", "comparison"], columns="side",
                               values=["known", "n_suppressed", "n_missing"], aggfunc="sum")
        out = pd.DataFrame(index=wide.index)
        for side in ("current", "previous"):
            out[f"{side}_known"] = wide[("known", side)].astype("float64")
            out[f"{side}_n_suppressed"] = wide[("n_suppressed", side)].astype("int64")
            out[f"{side}_n_missing"] = wide[("n_missing", side)].astype("int64")
            complete = (out[f"{side}_n_suppressed"] == 0) & (out[f"{side}_n_missing"] == 0)
            out[side] = out[f"{side}_known"].where(complete)
        out["difference"] = out["current"] - out["previous"]
        out["pct_change"] = np.where(out["previous"] > 0, (out["current"] - out["previous"]) / out["previous"] * 100, np.nan)
        out = out.reset_index().rename(columns={"unit_code": "region_code"})
    return out[KEY_COLUMNS + VALUE_COLUMNS].sort_values(KEY_COLUMNS).reset_index(drop=True)


def _raw_files(raw: str) -> list[str]:
    return sorted(str(p) for p in Path(raw).rglob("partitions/*.parquet"))


def task_metrics_pandas(p: dict[str, Any], meter: PhaseMeter) -> dict[str, Any]:
    groups, periods, districts = inputs(date.fromisoformat(p["latest"]))
    files = _raw_files(p["raw"])
    t0 = time.perf_counter()
    out = pandas_metrics(files, groups, periods, districts, meter)
    seconds = time.perf_counter() - t0
    out.to_parquet(p["out"])
    return {"seconds": round(seconds, 3), "result_rows": len(out)}


def task_check_project(p: dict[str, Any], meter: PhaseMeter) -> dict[str, Any]:
    """The DuckDB metrics against the project's own pandas functions (not timed)."""
    import duckdb
    import numpy as np
    import pandas as pd

    from veiligheidsbeeld.analysis.periods import standard_comparisons
    from veiligheidsbeeld.analysis.engine import aggregate
    from veiligheidsbeeld.analysis.woninginbraak import compare_periods, group_counts
    from veiligheidsbeeld.warehouse.queries import monthly_counts

    latest = date.fromisoformat(p["latest"])
    groups, periods, districts = inputs(latest)
    comparisons = standard_comparisons(latest)
    months = sorted({m.date() for m in periods["month"]})
    con = duckdb.connect(p["warehouse"], read_only=True)
    gemeenten = sorted({r[0] for r in con.execute("SELECT code FROM regions WHERE level = 'GM'").fetchall()}
                       | set(districts["gemeente_code"]))
    codes = list(groups["code"])
    facts = monthly_counts(con, TABLE, region_codes=gemeenten, type_codes=codes, first=months[0], last=months[-1])
    con.close()
    group_map = {g: tuple(c) for g, c in GROUPS.items()}
    gm_monthly = group_counts(facts, group_map, gemeenten, months)
    district_of = dict(zip(districts["gemeente_code"], districts["district_code"]))
    eenheid_of = dict(zip(districts["gemeente_code"], districts["eenheid_code"]))
    monthly = pd.concat([gm_monthly, aggregate(gm_monthly, district_of), aggregate(gm_monthly, eenheid_of)],
                        ignore_index=True)
    project = compare_periods(monthly, comparisons)
    project = project.rename(columns={"group": "grp"})[
        ["region_code", "grp", "comparison", "current", "previous", "current_known", "previous_known"]]
    ours = pd.read_parquet(p["duckdb_result"])
    both = ours.merge(project, on=["region_code", "grp", "comparison"], how="outer", suffixes=("", "_project"),
                      indicator=True)
    problems = []
    if (both["_merge"] != "both").any():
        problems.append(f"{int((both['_merge'] != 'both').sum())} rows only on one side")
    for col in ("current", "previous", "current_known", "previous_known"):
        a = both[col].astype("float64").to_numpy()
        b = both[f"{col}_project"].astype("float64").to_numpy()
        if not np.array_equal(a, b, equal_nan=True):
            problems.append(f"{col}: {int((~((a == b) | (np.isnan(a) & np.isnan(b)))).sum())} differences")
    if problems:
        raise AssertionError("DuckDB metrics differ from the project's functions: " + "; ".join(problems))
    return {"rows_compared": len(both), "identical": True}


# --------------------------------------------------------------------------------------------
# Parent
# --------------------------------------------------------------------------------------------


def compare_results(a_path: Path, b_path: Path) -> dict[str, Any]:
    """Assert that the two metric tables are identical (same rows, same numbers, NaN = NaN)."""
    import numpy as np
    import pandas as pd

    a = pd.read_parquet(a_path).sort_values(KEY_COLUMNS).reset_index(drop=True)
    b = pd.read_parquet(b_path).sort_values(KEY_COLUMNS).reset_index(drop=True)
    if len(a) != len(b) or not (a[KEY_COLUMNS].astype(str).values == b[KEY_COLUMNS].astype(str).values).all():
        raise AssertionError(f"DuckDB and pandas metrics have different rows ({len(a)} vs {len(b)})")
    problems = []
    for col in VALUE_COLUMNS:
        x, y = a[col].astype("float64").to_numpy(), b[col].astype("float64").to_numpy()
        if not np.array_equal(x, y, equal_nan=True):
            problems.append(col)
    if problems:
        raise AssertionError(f"DuckDB and pandas metrics differ in {', '.join(problems)}")
    return {"rows": len(a), "identical": True, "incomplete_current": int(a["current"].isna().sum())}


def run(cfg: dict[str, Any], work: Path, repeat: int) -> dict[str, Any]:
    latest = date(int(cfg["end"][:4]), int(cfg["end"][5:7]), 1).isoformat()
    points = []
    for point in cfg["points"]:
        log(f"warehouse: {point['label']}")
        gemeenten = select_gemeenten(point)
        raw_root = work / "raw" / point["key"]
        start, end = point.get("start", cfg["start"]), point.get("end", cfg["end"])
        if end != cfg["end"]:
            raise ValueError("every warehouse point must end at the section's latest month")
        info = generate_raw(raw_root, gemeenten, start, end)
        info["period"] = f"{start} … {end}"
        n_repeat = min(repeat, point.get("repeat", repeat))
        log(f"  raw layout: {info['rows']:,} rows, {info['regions']:,} regions, {info['raw_mb']} MB "
            f"(generated in {info['generate_s']} s)")
        run_dir = scratch_dir(work) / f"warehouse-{point['key']}"
        if run_dir.exists():
            shutil.rmtree(run_dir)
        run_dir.mkdir(parents=True)
        warehouse = run_dir / "warehouse.duckdb"
        common = {"raw": str(raw_root), "warehouse": str(warehouse), "latest": latest,
                  "memory_limit": cfg.get("duckdb_memory_limit")}
        build: list[Sample] = []
        duck: list[Sample] = []
        pand: list[Sample] = []
        for i in range(n_repeat):
            s = run_task("wh_build", common, timeout=7200, cwd=run_dir)
            build.append(s)
            log(f"  build {i + 1}: {s.seconds:.1f} s, peak {s.peak_rss_mb:.0f} MB")
            s = run_task("wh_metrics_duckdb", {**common, "out": str(run_dir / "duckdb.parquet")}, timeout=3600, cwd=run_dir)
            duck.append(s)
            log(f"  metrics (DuckDB) {i + 1}: {s.seconds:.2f} s, peak {s.peak_rss_mb:.0f} MB")
            if point.get("compare_pandas"):
                s = run_task("wh_metrics_pandas", {**common, "out": str(run_dir / "pandas.parquet")}, timeout=7200,
                             cwd=run_dir)
                pand.append(s)
                log(f"  pandas {i + 1}: {s.seconds:.1f} s, peak {s.peak_rss_mb:.0f} MB")
        out: dict[str, Any] = {
            "label": point["label"], **info, "facts_rows": build[0].result["facts_rows"],
            "warehouse_mb": build[0].result["warehouse_mb"], "duckdb_memory_limit": cfg.get("duckdb_memory_limit"),
            "build": summarize(build), "metrics_duckdb": summarize(duck),
            "metric_rows": duck[0].result["result_rows"],
        }
        out["duckdb_total_s"] = spread(b.seconds + d.seconds for b, d in zip(build, duck))
        if pand:
            out["pandas"] = summarize(pand)
            phases = [s.result.get("phases", {}) for s in pand]
            out["pandas"]["read_seconds"] = spread(ph.get("read", {}).get("seconds", 0) for ph in phases)
            out["pandas"]["metrics_seconds"] = spread(ph.get("metrics", {}).get("seconds", 0) for ph in phases)
            out["check_duckdb_vs_pandas"] = compare_results(run_dir / "duckdb.parquet", run_dir / "pandas.parquet")
            out["check_duckdb_vs_project_functions"] = run_task(
                "wh_check_project", {**common, "duckdb_result": str(run_dir / "duckdb.parquet")}, timeout=3600,
                cwd=run_dir).result
            # Ratios: metric step alone (warehouse built) and from the same raw files to the numbers.
            out["speedup_metrics"] = ratio(out["pandas"]["metrics_seconds"], out["metrics_duckdb"]["seconds"])
            out["speedup_from_raw"] = ratio(out["pandas"]["seconds"], out["duckdb_total_s"])
            out["memory_ratio"] = ratio(out["pandas"]["peak_rss_mb"], out["metrics_duckdb"]["peak_rss_mb"])
            log(f"  identical: {out['check_duckdb_vs_pandas']['rows']} metric rows; "
                f"metrics {out['speedup_metrics']}x, from raw {out['speedup_from_raw']}x")
        points.append(out)
        shutil.rmtree(run_dir, ignore_errors=True)
    result: dict[str, Any] = {"description": __doc__.split("\n\n")[0], "latest_month": latest, "points": points}
    return result
