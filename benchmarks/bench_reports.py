"""Section 3 — reports: every district's biweekly report, in one process and across the cores.

The warehouse is what the biweekly report reads, for the whole eenheid: 47022NED woninginbraak
and the High Impact Crime codes with the total, for every gemeente, wijk and buurt; 47024NED for
the gemeenten; synthetic CBS denominators (dwellings for the rates and the funnel) and the real
gemeente boundaries with synthetic wijk boundaries (maps). It is built once, offline from a
snapshot directory, with the project's ``run_ingest`` (not timed; its time is recorded as
``fixture``).

Measured: ``veiligheidsbeeld.reports.tweewekelijks.render_tweewekelijks(settings, report_date,
workers=1)`` against ``workers=<cores>`` (a ``ProcessPoolExecutor`` over the districts), each in
its own process: wall time, peak memory of the process tree, and the split into the analysis
(``build_biweekly``), the district reports and the eenheid index.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import os
import shutil
import time
from datetime import date
from pathlib import Path
from typing import Any

from veiligheidsbeeld.analysis.periods import add_months

from _common import PhaseMeter, Sample, Skipped, log, ratio, run_task, scratch_dir, summarize

REPORT_CODES = ["0.0.0", "1.1.1", "1.4.3", "1.4.4", "1.4.5", "1.4.6", "1.4.7"]


def report_date_for(end: str) -> date:
    """The report date of the biweekly run: mid-month, two months after the last month of data.
    The revised snapshot adds that month's successor, which then becomes the latest month."""
    last = date(int(end[:4]), int(end[5:7]), 1)
    return add_months(last, 2).replace(day=12)


def render_api() -> Any:
    """``render_tweewekelijks`` if the colleague's module provides it (with ``workers``)."""
    try:
        from veiligheidsbeeld.reports import tweewekelijks
    except ImportError as exc:
        raise Skipped(f"veiligheidsbeeld.reports.tweewekelijks is not importable yet ({exc})") from None
    fn = getattr(tweewekelijks, "render_tweewekelijks", None)
    if fn is None:
        raise Skipped("veiligheidsbeeld.reports.tweewekelijks.render_tweewekelijks does not exist yet")
    if "workers" not in inspect.signature(fn).parameters:
        raise Skipped("render_tweewekelijks has no 'workers' parameter yet (parallel rendering not available)")
    return fn


# --------------------------------------------------------------------------------------------
# Fixture: snapshot (police + CBS + boundaries), warm warehouse
# --------------------------------------------------------------------------------------------


def fixture_spec(cfg: dict[str, Any]) -> dict[str, Any]:
    from veiligheidsbeeld.testing.synthetic import district_gemeenten

    gemeenten = cfg.get("gemeenten") or district_gemeenten(cfg["area"])
    return {"gemeenten": list(gemeenten), "start": cfg["start"], "end": cfg["end"], "codes": REPORT_CODES, "v": 3}


def _build_snapshots(spec: dict[str, Any], snap: Path, revised: Path) -> None:
    from veiligheidsbeeld.testing.synthetic import (
        build_police_snapshot,
        build_revised_snapshot,
        find_shared_dir,
        politie_dir,
    )
    from veiligheidsbeeld.testing.synthetic_cbs import build_cbs_snapshot, copy_boundaries, synthetic_wijk_boundaries

    shared = find_shared_dir()
    common = dict(shared_dir=shared, gemeenten=spec["gemeenten"], start=spec["start"],
                  modified="2024-01-15T02:00:00")
    for out, build in ((snap, build_police_snapshot), (revised, build_revised_snapshot)):
        extra = {"modified": "2024-02-15T02:00:00"} if build is build_revised_snapshot else {}
        kw = {**common, **extra}
        build(out, end=spec["end"], tables=("47022NED",), codes={"47022NED": spec["codes"]}, **kw)
        build(out, end=spec["end"], tables=("47024NED",), include_wijken_buurten=False, **kw)
        # The yearly table of the default ingest (zeden codes only, as the ingest pulls them).
        build(out, end=spec["end"], tables=("47025NED",), codes={"47025NED": ["1.4.1", "3.2.1", "3.2.2"]}, **kw)
    last_year = int(spec["end"][:4])
    region_list = politie_dir(shared) / "47022NED_WijkenEnBuurten.csv"
    build_cbs_snapshot(snap, region_list=region_list, gemeenten=spec["gemeenten"],
                       years=range(int(spec["start"][:4]), last_year + 1), wijk_buurt_years=(last_year - 1, last_year))
    gm = copy_boundaries(snap, shared, 2023)
    if gm is not None:
        synthetic_wijk_boundaries(snap, gm, region_list, spec["gemeenten"], 2023)


def fixture(cfg: dict[str, Any], work: Path) -> dict[str, Any]:
    """Snapshots and the warm warehouse state (cached under ``work/fixtures``)."""
    spec = fixture_spec(cfg)
    key = f"reports-{len(spec['gemeenten'])}gm-{spec['start']}-{spec['end']}"
    root = work / "fixtures" / key
    marker = root / "benchmark-spec.json"
    if marker.is_file() and json.loads(marker.read_text())["spec"] == spec:
        return json.loads(marker.read_text())["info"]
    if root.exists():
        shutil.rmtree(root)
    snap, revised, state = root / "snapshot", root / "snapshot-revised", root / "state"
    for d in (snap, revised, state):
        d.mkdir(parents=True)
    t0 = time.perf_counter()
    _build_snapshots(spec, snap, revised)
    built = time.perf_counter() - t0
    district_table = _district_table(root, spec["gemeenten"])
    s = run_task("reports_setup", {"snapshot": str(snap), "state": str(state), "gemeenten": spec["gemeenten"],
                                   "district_table": district_table}, timeout=3600, cwd=state)
    boundaries = snap / "boundaries"
    info = {
        "snapshot": str(snap), "revised_snapshot": str(revised), "state": str(state), "district_table": district_table,
        "gemeenten": spec["gemeenten"], "period": f"{spec['start']} … {spec['end']}",
        "report_date": report_date_for(spec["end"]).isoformat(),
        "boundary_files": {lvl: str(p) for lvl in ("gemeente", "wijk")
                           for p in sorted(boundaries.glob(f"{lvl}_2023.*"))[:1]},
        "snapshots_s": round(built, 1), "initial_ingest_s": round(s.seconds, 1),
        "initial_ingest_peak_rss_mb": s.peak_rss_mb, "warehouse_rows": s.result.get("rows"),
        "warnings": s.result.get("warnings"),
    }
    marker.write_text(json.dumps({"spec": spec, "info": info}))
    return info


def _district_table(root: Path, gemeenten: list[str]) -> str:
    """A district table of just these gemeenten when they are not the whole eenheid (tiny runs):
    a configuration change only (``[area] district_table``), so the flow covers what was built."""
    from veiligheidsbeeld.regions import load_district_table

    table = load_district_table()
    if set(table["gemeente_code"]) <= set(gemeenten):
        return ""
    path = root / "district_table.csv"
    table[table["gemeente_code"].isin(gemeenten)].to_csv(path, index=False)
    return str(path)


def with_district_table(settings: Any, district_table: str | None) -> Any:
    if not district_table:
        return settings
    return dataclasses.replace(settings, area=dataclasses.replace(settings.area, district_table=district_table))


def with_report_codes(settings: Any) -> Any:
    """The fixture holds only the codes the biweekly report reads: say so in the settings
    (``[ingest] codes``), as a user pulling just those codes would; the data checks count on it."""
    return settings.with_ingest(codes={"47022NED": tuple(REPORT_CODES)})


def settings_for(state: Path, district_table: str | None = None) -> Any:
    from veiligheidsbeeld.config import load_settings

    return with_report_codes(with_district_table(load_settings().with_paths(root=Path(state)), district_table))


def task_setup(p: dict[str, Any], meter: PhaseMeter) -> dict[str, Any]:
    """The warm warehouse: the project's ingest, offline, from the snapshot directory."""
    from veiligheidsbeeld.ingest import run_ingest

    settings = settings_for(Path(p["state"]), p.get("district_table"))
    t0 = time.perf_counter()
    report = run_ingest(settings, p["snapshot"], gemeenten=p["gemeenten"])
    return {"seconds": round(time.perf_counter() - t0, 2), "rows": {lo.table_id: lo.rows for lo in report.loads},
            "warnings": report.warnings, "geography": report.geography}


# --------------------------------------------------------------------------------------------
# Measured task
# --------------------------------------------------------------------------------------------


def task_render(p: dict[str, Any], meter: PhaseMeter) -> dict[str, Any]:
    fn = render_api()
    from veiligheidsbeeld.reports import tweewekelijks as render

    # Phase marks only: the analysis and the index; the rest is the district reports.
    for name, phase in (("build_biweekly", "analysis"), ("render_index", "index")):
        original = getattr(render, name, None)
        if original is not None:
            def wrapped(*a: Any, __f: Any = original, __p: str = phase, **k: Any) -> Any:
                with meter.phase(__p):
                    return __f(*a, **k)

            setattr(render, name, wrapped)
    settings = settings_for(Path(p["state"]), p.get("district_table"))
    kwargs = {"districts": p.get("districts"), "out_dir": Path(p["out"]), "workers": int(p["workers"]),
              "pdf": bool(p.get("pdf", True))}
    accepted = inspect.signature(fn).parameters
    kwargs = {k: v for k, v in kwargs.items() if k in accepted}
    t0 = time.perf_counter()
    files = fn(settings, date.fromisoformat(p["report_date"]), **kwargs)
    seconds = time.perf_counter() - t0
    paths = [Path(f) for f in files]
    return {"seconds": round(seconds, 3), "files": len(paths),
            "by_kind": {ext: sum(1 for f in paths if f.suffix == ext) for ext in sorted({f.suffix for f in paths})},
            "mb_written": round(sum(f.stat().st_size for f in paths if f.is_file()) / 2**20, 1)}


def run(cfg: dict[str, Any], work: Path, repeat: int, shared: dict[str, Any]) -> dict[str, Any]:
    render_api()  # skip early, with the reason, if the renderer is not there
    log("reports: fixture (snapshot, warm warehouse)")
    fx = fixture(cfg, work)
    shared["report_fixture"] = fx
    workers = int(cfg.get("workers") or os.cpu_count() or 2)
    params = {"state": fx["state"], "report_date": fx["report_date"], "districts": cfg.get("districts"),
              "district_table": fx.get("district_table"),
              "pdf": cfg.get("pdf", True)}
    serial: list[Sample] = []
    parallel: list[Sample] = []
    for i in range(min(repeat, cfg.get("repeat", repeat))):
        for n, bucket in ((1, serial), (workers, parallel)):
            out = scratch_dir(work) / f"reports-{n}-{i}"
            s = run_task("reports_render", {**params, "workers": n, "out": str(out)}, timeout=3600, cwd=scratch_dir(work))
            bucket.append(s)
            log(f"  {n} worker(s), run {i + 1}: {s.seconds:.1f} s, {s.result['files']} files, peak {s.peak_rss_mb:.0f} MB")
            shutil.rmtree(out, ignore_errors=True)
    result = {
        "description": __doc__.split("\n\n")[0],
        "fixture": {k: v for k, v in fx.items() if k not in ("snapshot", "revised_snapshot", "state")},
        "districts": cfg.get("districts") or "all",
        "pdf": cfg.get("pdf", True),
        "files": serial[0].result["files"], "by_kind": serial[0].result["by_kind"],
        "serial": _with_phases(serial), "parallel": _with_phases(parallel), "workers": workers,
    }
    result["speedup"] = ratio(result["serial"]["seconds"], result["parallel"]["seconds"])
    return result


def _with_phases(samples: list[Sample]) -> dict[str, Any]:
    from _common import spread

    out = summarize(samples)
    phases = [s.result.get("phases", {}) for s in samples]
    for name in ("analysis", "index"):
        if all(name in ph for ph in phases):
            out[f"{name}_seconds"] = spread(ph[name]["seconds"] for ph in phases)
    out["districts_seconds"] = spread(
        s.seconds - sum(s.result.get("phases", {}).get(n, {}).get("seconds", 0) for n in ("analysis", "index"))
        for s in samples)
    return out
