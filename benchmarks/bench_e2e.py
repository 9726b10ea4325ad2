"""Section 4 — end to end: the biweekly flow on a warm warehouse.

The steps of ``flows/tweewekelijks.py``, called through ``veiligheidsbeeld.pipeline`` as the
flow's tasks call them (without the Prefect engine): ``check_districts`` and ``freshness`` → if
stale, ``ingest`` (both police tables; older pipelines: ``ingest_table`` per table on two
threads) → ``render_tweewekelijks_reports`` (its own default of worker processes) →
``tweewekelijks_summary``. The source is the OData stub
(``catalog_url`` = stub, 100 ms latency) serving the same snapshot the warm warehouse was built
from; CBS denominators are not re-fetched (no network; they are in the warm warehouse) and the
boundaries come from local files.

Two cases, each from a fresh copy of the same warm state:

* **no new data** — the stub serves the unchanged table (same ``Modified``). The synthetic data
  end in the past, so ``freshness`` reports the warehouse as stale and the flow asks the source;
* **one new month** — the stub serves the next version (one more month, the last three revised).
"""

from __future__ import annotations

import dataclasses
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

from _common import PhaseMeter, Sample, Skipped, log, ratio, run_task, scratch_dir, spread, summarize


def task_flow(p: dict[str, Any], meter: PhaseMeter) -> dict[str, Any]:
    import bench_reports

    try:
        from veiligheidsbeeld import pipeline
    except ImportError as exc:
        raise Skipped(f"veiligheidsbeeld.pipeline is not importable ({exc})") from None
    missing = [n for n in ("run_settings", "check_districts", "freshness", "render_tweewekelijks_reports",
                           "tweewekelijks_summary") if not hasattr(pipeline, n)]
    if missing or not (hasattr(pipeline, "ingest") or hasattr(pipeline, "ingest_table")):
        raise Skipped(f"veiligheidsbeeld.pipeline lacks {', '.join(missing) or 'ingest / ingest_table'}")

    state = Path(p["state"])
    settings = pipeline.run_settings(warehouse=state / "data/warehouse/veiligheidsbeeld.duckdb",
                                     raw=state / "data/raw", reports=state / "reports")
    settings = settings.with_ingest(catalog_url=p["catalog_url"], use_https=False)
    settings = bench_reports.with_report_codes(bench_reports.with_district_table(settings, p.get("district_table")))
    settings = dataclasses.replace(settings, geography=dataclasses.replace(
        settings.geography, fetch_denominators=False, boundary_files=dict(p["boundary_files"])))
    report_date = date.fromisoformat(p["report_date"])
    t0 = time.perf_counter()
    with meter.phase("freshness"):
        codes = pipeline.check_districts(p.get("districts"), settings)
        fresh = pipeline.freshness(settings)
    outcomes: list[Any] = []
    if fresh.stale:
        with meter.phase("ingest"):
            if hasattr(pipeline, "ingest"):  # one task for both tables (the current flow)
                outcomes = list(pipeline.ingest(settings, "api").tables)
            else:  # one task per table on a two-thread runner (the earlier flow)
                with ThreadPoolExecutor(max_workers=2) as pool:
                    outcomes = list(pool.map(lambda t: pipeline.ingest_table(settings, "api", t),
                                             settings.ingest.tables))
    with meter.phase("render"):
        written = pipeline.render_tweewekelijks_reports(settings, report_date, codes)
    with meter.phase("summary"):
        summary = pipeline.tweewekelijks_summary(settings, report_date, codes)
    seconds = time.perf_counter() - t0
    return {
        "seconds": round(seconds, 3),
        "stale": fresh.stale, "freshness": fresh.text,
        "ingest": [{"table": o.table_id, "how": o.how, "rows": o.rows, "last_month": str(o.last_month)}
                   for o in outcomes],
        "latest_month": str(summary.latest_month),
        "files": len(written),
    }


def _copy_state(src: Path, dst: Path) -> None:
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("reports", "*.lock"))


def run(cfg: dict[str, Any], report_cfg: dict[str, Any], work: Path, repeat: int, shared: dict[str, Any]) -> dict[str, Any]:
    import bench_reports

    from veiligheidsbeeld.testing.odata_stub import StubODataServer

    bench_reports.render_api()
    try:
        import veiligheidsbeeld.pipeline  # noqa: F401
    except ImportError as exc:
        raise Skipped(f"veiligheidsbeeld.pipeline is not importable ({exc})") from None
    fx = shared.get("report_fixture") or bench_reports.fixture(report_cfg, work)
    base = {"report_date": fx["report_date"], "districts": cfg.get("districts"), "boundary_files": fx["boundary_files"],
            "district_table": fx.get("district_table")}
    cases: dict[str, Any] = {}
    import bench_ingest

    with StubODataServer(Path(fx["snapshot"]), latency=cfg["latency"]) as stub:
        bench_ingest.prewarm(stub, ["47022NED", "47024NED"], ("TypedDataSet",))
        for case, snapshot in (("no_new_data", None), ("new_month", Path(fx["revised_snapshot"]))):
            if snapshot is not None:
                stub.set_snapshot(snapshot)
                bench_ingest.prewarm(stub, ["47022NED", "47024NED"], ("TypedDataSet",))
            samples: list[Sample] = []
            requests_: list[int] = []
            for i in range(min(repeat, cfg.get("repeat", repeat))):
                state = scratch_dir(work) / f"e2e-{case}-{i}"
                _copy_state(Path(fx["state"]), state)
                stub.reset_counters()
                s = run_task("e2e_flow", {**base, "state": str(state), "catalog_url": stub.catalog_url},
                             timeout=3600, cwd=state)
                samples.append(s)
                requests_.append(stub.request_count)
                log(f"  {case}, run {i + 1}: {s.seconds:.1f} s, {requests_[-1]} requests, peak {s.peak_rss_mb:.0f} MB")
                shutil.rmtree(state, ignore_errors=True)
            out = summarize(samples)
            out["requests"] = spread(requests_, 0)
            phases = [s.result.get("phases", {}) for s in samples]
            for name in ("freshness", "ingest", "render", "summary"):
                if all(name in ph for ph in phases):
                    out[f"{name}_seconds"] = spread(ph[name]["seconds"] for ph in phases)
            out["ingest"] = samples[0].result.get("ingest")
            out["latest_month"] = samples[0].result.get("latest_month")
            out["files"] = samples[0].result.get("files")
            cases[case] = out
    result: dict[str, Any] = {"description": __doc__.split("\n\n")[0], "report_date": fx["report_date"],
                              "districts": cfg.get("districts") or "all", **cases}
    # "Close to the cost of rendering alone": the whole flow against its own render step.
    for case in cases:
        render = cases[case].get("render_seconds", {}).get("median")
        if render:
            result[f"{case}_vs_render_step"] = ratio(cases[case]["seconds"], {"median": render})
            result[f"{case}_overhead_s"] = round(cases[case]["seconds"]["median"] - render, 1)
    return result
