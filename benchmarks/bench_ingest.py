"""Section 1 — ingest: plain ``cbsodata.get_data`` against the project's ingest, through the stub.

Both sides pull the same rows (both police tables, all codes, every period of the snapshot, the
gemeenten of the point with their wijken and buurten, plus NL00) from the same
:class:`~veiligheidsbeeld.testing.odata_stub.StubODataServer` (latency per request, 10,000-row
pages with ``odata.nextLink``), each in its own process:

* **baseline** — what a user writes: per table one ``cbsodata.get_data(table, typed=True,
  filters=..., catalog_url=stub)`` per gemeente (its key, its wijken and buurten, enumerated as
  ``WijkenEnBuurten eq '…' or …``; one call for NL00), sequentially, each result turned into a
  DataFrame and concatenated. The region list of the whole district does not fit one URL, so the
  user splits by gemeente, and splits a gemeente again when its filter would exceed the same URL
  budget the project uses (``IngestSettings.max_url_chars``, 6,000 characters).
* **ours** — ``veiligheidsbeeld.ingest.run_ingest(settings, CbsApiSource(stub, use_https=False),
  gemeenten=...)``: partitions (gemeente × year) pulled concurrently, streamed page by page to
  Parquet, then loaded into DuckDB. Denominators and boundaries are switched off (they come from
  other servers; not part of this comparison).

Recorded per side: wall time, requests and bytes (the stub's counters), peak RSS of the measured
process, client CPU, the stub's CPU, and the floor ``requests × latency ÷ concurrency + client
parse CPU``. Incremental: after a new table version with one more month (and the last three
months revised), ours refreshes the same warehouse; its requests are compared with a full pull.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from _common import PhaseMeter, Sample, log, ratio, run_task, scratch_dir, spread, summarize

# --------------------------------------------------------------------------------------------
# Child tasks
# --------------------------------------------------------------------------------------------


def _chunks_by_url_length(keys: list[str], budget: int) -> list[list[str]]:
    """Split a gemeente's region keys so that one filter stays below ``budget`` URL characters."""
    chunks: list[list[str]] = [[]]
    size = 0
    for key in keys:
        cost = len(quote(f"WijkenEnBuurten eq '{key}' or ", safe=""))
        if chunks[-1] and size + cost > budget:
            chunks.append([])
            size = 0
        chunks[-1].append(key)
        size += cost
    return chunks


def task_baseline(p: dict[str, Any], meter: PhaseMeter) -> dict[str, Any]:
    """What a user writes with cbsodata: one get_data per gemeente, sequential, into pandas."""
    import cbsodata
    import pandas as pd

    cbsodata.options.use_https = False
    url = p["catalog_url"]
    t0 = time.perf_counter()
    tables: dict[str, pd.DataFrame] = {}
    calls = 0
    with meter.phase("pull"):
        for table in p["tables"]:
            regions = cbsodata.get_meta(table, "WijkenEnBuurten", catalog_url=url)
            frames = []
            for gm in ["NL00", *p["gemeenten"]]:
                keys = [r["Key"] for r in regions
                        if r["Key"].strip() == gm or (r.get("Municipality") or "").strip() == gm]
                for chunk in _chunks_by_url_length(keys, p["max_url_chars"]):
                    flt = " or ".join(f"WijkenEnBuurten eq '{k}'" for k in chunk)
                    data = cbsodata.get_data(table, typed=True, filters=flt, catalog_url=url)
                    frames.append(pd.DataFrame(data))
                    calls += 1
                    del data
            tables[table] = pd.concat(frames, ignore_index=True)
            del frames
    seconds = time.perf_counter() - t0
    return {
        "seconds": round(seconds, 3),
        "rows": {t: len(df) for t, df in tables.items()},
        "get_data_calls": calls,
        "frame_mb": round(sum(df.memory_usage(deep=True).sum() for df in tables.values()) / 2**20, 1),
        # cbsodata 1.3.5 removes the wanted entity from its list: typed=True downloads the
        # UntypedDataSet (values as padded strings). Recorded so the result says what was served.
        "measure_dtype": {t: str(df[df.columns[-1]].dtype) for t, df in tables.items()},
        "sample_value": {t: repr(df.iloc[0, -1]) for t, df in tables.items() if len(df)},
    }


def task_ours(p: dict[str, Any], meter: PhaseMeter) -> dict[str, Any]:
    """The project's ingest (pull to the raw archive, load into DuckDB)."""
    from veiligheidsbeeld import ingest as ing
    from veiligheidsbeeld.config import GeographySettings, load_settings
    from veiligheidsbeeld.sources.odata import CbsApiSource

    settings = load_settings().with_paths(root=Path(p["workdir"]))
    settings = settings.with_ingest(concurrency=int(p["concurrency"]), tables=tuple(p["tables"]))
    settings = dataclasses.replace(settings, geography=GeographySettings(fetch_denominators=False,
                                                                         fetch_boundaries=False))
    # Phase marks only (the functions themselves are unchanged).
    original_pull, original_load = ing.pull_tables, ing.load_police_table

    def pull_tables(*args: Any, **kwargs: Any) -> Any:  # every table's metadata and pull, at once
        with meter.phase("pull"):
            return original_pull(*args, **kwargs)

    def load_police_table(*args: Any, **kwargs: Any) -> Any:
        with meter.phase("load"):
            return original_load(*args, **kwargs)

    ing.pull_tables, ing.load_police_table = pull_tables, load_police_table
    source = CbsApiSource(p["catalog_url"], use_https=False)
    t0 = time.perf_counter()
    report = ing.run_ingest(settings, source, gemeenten=p["gemeenten"])
    seconds = time.perf_counter() - t0
    return {
        "seconds": round(seconds, 3),
        "pulls": [{"table": r.table_id, "kind": r.kind, "reason": r.reason, "partitions_fetched": r.partitions_fetched,
                   "partitions_reused": r.partitions_reused, "rows": r.rows} for r in report.pulls],
        "rows": {r.table_id: r.rows for r in report.pulls},
        "warehouse_rows": {lo.table_id: lo.rows for lo in report.loads},
    }


# --------------------------------------------------------------------------------------------
# Parent: snapshots, stub, samples
# --------------------------------------------------------------------------------------------


def build_snapshot(work: Path, name: str, *, gemeenten: list[str], start: str, end: str, tables: list[str],
                   revised: bool = False) -> Path:
    """A synthetic police snapshot (cached under ``work/snapshots``: the builder is deterministic)."""
    from veiligheidsbeeld.testing.synthetic import build_police_snapshot, build_revised_snapshot, find_shared_dir

    out = work / "snapshots" / name
    spec = {"gemeenten": gemeenten, "start": start, "end": end, "tables": tables, "revised": revised, "v": 1}
    marker = out / "benchmark-spec.json"
    if marker.is_file() and json.loads(marker.read_text()) == spec:
        return out
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    t0 = time.perf_counter()
    kwargs = dict(shared_dir=find_shared_dir(), gemeenten=gemeenten, start=start, tables=tuple(tables))
    if revised:
        build_revised_snapshot(out, end=end, **kwargs)
    else:
        build_police_snapshot(out, end=end, **kwargs)
    marker.write_text(json.dumps(spec))
    log(f"  snapshot {name}: {time.perf_counter() - t0:.1f} s")
    return out


def prewarm(stub: Any, tables: list[str], entities: tuple[str, ...] = ("TypedDataSet", "UntypedDataSet")) -> float:
    """Make the stub load its data files now, so that loading is never part of a measurement."""
    import requests

    t0 = time.perf_counter()
    for table in tables:
        for entity in entities:
            r = requests.get(stub.feed_url(table, entity, "WijkenEnBuurten eq 'NL00      '", top=1), timeout=900)
            r.raise_for_status()
    return round(time.perf_counter() - t0, 1)


def _rows(sample: Sample) -> int:
    return int(sum(sample.result.get("rows", {}).values()))


def run_point(point: dict[str, Any], cfg: dict[str, Any], work: Path, repeat: int, baseline_repeat: int,
              incremental: bool) -> dict[str, Any]:
    import psutil

    from veiligheidsbeeld.testing.odata_stub import StubODataServer
    from veiligheidsbeeld.testing.synthetic import district_gemeenten

    gemeenten = point.get("gemeenten") or district_gemeenten(point["area"])
    tables = cfg["tables"]
    snap = build_snapshot(work, point["key"], gemeenten=gemeenten, start=point["start"], end=point["end"], tables=tables)
    latency, concurrency = cfg["latency"], cfg["concurrency"]
    out: dict[str, Any] = {
        "label": point["label"], "gemeenten": len(gemeenten), "period": f"{point['start']} … {point['end']}",
        "tables": tables, "latency_s": latency, "page_size": cfg["page_size"], "concurrency": concurrency,
        "snapshot_mb": round(sum(f.stat().st_size for f in snap.rglob("*.json")) / 2**20, 1),
    }
    base_samples: list[Sample] = []
    our_samples: list[Sample] = []
    base_req: list[int] = []
    our_req: list[int] = []
    base_bytes: list[int] = []
    our_bytes: list[int] = []
    last_workdir: Path | None = None
    with StubODataServer(snap, latency=latency, page_size=cfg["page_size"]) as stub:
        rss0 = psutil.Process().memory_info().rss
        out["stub_load_s"] = prewarm(stub, tables)
        out["stub_rss_mb"] = round((psutil.Process().memory_info().rss - rss0) / 2**20)
        common = {"catalog_url": stub.catalog_url, "tables": tables, "gemeenten": gemeenten}
        # Alternate the two sides so that drifting load on the shared machine hits both alike.
        for i in range(max(repeat, baseline_repeat)):
            if i < baseline_repeat:
                stub.reset_counters()
                s = run_task("ingest_baseline", {**common, "max_url_chars": cfg["max_url_chars"]}, timeout=7200)
                base_samples.append(s)
                base_req.append(stub.request_count)
                base_bytes.append(stub.bytes_sent)
                log(f"  baseline run {i + 1}: {s.seconds:.1f} s, {base_req[-1]} requests, peak {s.peak_rss_mb:.0f} MB")
            if i < repeat:
                workdir = scratch_dir(work) / f"ingest-{point['key']}-{i}"
                if workdir.exists():
                    shutil.rmtree(workdir)
                workdir.mkdir(parents=True)
                stub.reset_counters()
                s = run_task("ingest_ours", {**common, "workdir": str(workdir), "concurrency": concurrency},
                             timeout=7200, cwd=workdir)
                our_samples.append(s)
                our_req.append(stub.request_count)
                our_bytes.append(stub.bytes_sent)
                log(f"  ours run {i + 1}: {s.seconds:.1f} s, {our_req[-1]} requests, peak {s.peak_rss_mb:.0f} MB")
                if last_workdir is not None and last_workdir.exists():
                    shutil.rmtree(last_workdir)
                last_workdir = workdir
        if base_samples and our_samples and _rows(base_samples[0]) != _rows(our_samples[0]):
            raise AssertionError(
                f"baseline and ours fetched different rows: {base_samples[0].result['rows']} vs {our_samples[0].result['rows']}")
        out["rows"] = _rows(our_samples[0]) if our_samples else (_rows(base_samples[0]) if base_samples else 0)
        if base_samples:
            out["baseline"] = _side(base_samples, base_req, base_bytes, latency, 1)
            out["baseline"]["get_data_calls"] = base_samples[0].result.get("get_data_calls")
            out["baseline"]["frame_mb"] = base_samples[0].result.get("frame_mb")
            out["baseline"]["served_as"] = base_samples[0].result.get("measure_dtype")
            out["baseline"]["sample_value"] = base_samples[0].result.get("sample_value")
        if our_samples:
            out["ours"] = _side(our_samples, our_req, our_bytes, latency, concurrency)
        if base_samples and our_samples:
            out["speedup"] = ratio(out["baseline"]["seconds"], out["ours"]["seconds"])
            out["memory_ratio"] = ratio(out["baseline"]["peak_rss_mb"], out["ours"]["peak_rss_mb"])

        if incremental and last_workdir is not None:
            out["incremental"] = _incremental(stub, work, point, gemeenten, tables, last_workdir, concurrency,
                                              full_requests=our_req[0], full_rows=out["rows"])
    if last_workdir is not None and last_workdir.exists():
        shutil.rmtree(last_workdir)
    return out


def _side(samples: list[Sample], requests_: list[int], bytes_: list[int], latency: float, concurrency: int) -> dict[str, Any]:
    side = summarize(samples)
    side["requests"] = spread(requests_, 0)
    side["mb_sent"] = spread((b / 2**20 for b in bytes_), 1)
    pull_cpu = [s.result.get("phases", {}).get("pull", {}).get("cpu_s", s.cpu_s) for s in samples]
    latency_floor = requests_[0] * latency / concurrency
    side["latency_floor_s"] = round(latency_floor, 1)
    side["pull_cpu_s"] = spread(pull_cpu)
    side["floor_s"] = round(latency_floor + min(pull_cpu), 1)  # requests × latency ÷ concurrency + parse CPU
    phases = [s.result.get("phases", {}) for s in samples]
    for name in ("pull", "load"):
        if all(name in ph for ph in phases):
            side[f"{name}_seconds"] = spread(ph[name]["seconds"] for ph in phases)
            side[f"{name}_peak_rss_mb"] = spread((ph[name]["peak_rss_mb"] for ph in phases), 0)
    side["rss_at_start_mb"] = samples[0].result.get("rss_at_start_mb")
    return side


def _incremental(stub: Any, work: Path, point: dict[str, Any], gemeenten: list[str], tables: list[str],
                 workdir: Path, concurrency: int, *, full_requests: int, full_rows: int) -> dict[str, Any]:
    revised = build_snapshot(work, point["key"] + "-revised", gemeenten=gemeenten, start=point["start"],
                             end=point["end"], tables=tables, revised=True)
    stub.set_snapshot(revised)
    prewarm(stub, tables, ("TypedDataSet",))
    stub.reset_counters()
    s = run_task("ingest_ours", {"catalog_url": stub.catalog_url, "tables": tables, "gemeenten": gemeenten,
                                 "workdir": str(workdir), "concurrency": concurrency}, timeout=7200, cwd=workdir)
    requests_ = stub.request_count
    data_requests = sum(1 for r in stub.requests_log if "DataSet" in r)
    log(f"  incremental refresh: {s.seconds:.1f} s, {requests_} requests (full pull: {full_requests})")
    return {
        "what": "new table version: one more month, last 3 months revised; revision window 24 months",
        "seconds": round(s.seconds, 2),
        "peak_rss_mb": s.peak_rss_mb,
        "requests": requests_,
        "data_requests": data_requests,
        "mb_sent": round(stub.bytes_sent / 2**20, 1),
        "rows_fetched": _rows(s),
        "full_pull_requests": full_requests,
        "full_pull_rows": full_rows,
        "request_share": round(requests_ / full_requests, 3) if full_requests else None,
        "pulls": s.result.get("pulls"),
        "load_seconds": s.result.get("phases", {}).get("load", {}).get("seconds"),
    }


def run(cfg: dict[str, Any], work: Path, repeat: int) -> dict[str, Any]:
    points = []
    for point in cfg["points"]:
        log(f"ingest: {point['label']}")
        ours = min(repeat, point.get("repeat", repeat))
        baseline = min(ours, point.get("baseline_repeat", cfg.get("baseline_repeat", repeat))) if point.get("baseline", True) else 0
        points.append(run_point(point, cfg, work, ours, baseline, incremental=bool(point.get("incremental"))))
    return {"description": __doc__.split("\n\n")[0], "points": points, "notes": cfg.get("notes", [])}
