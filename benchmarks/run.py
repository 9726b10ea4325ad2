"""Benchmarks of veiligheidsbeeld: ingest, warehouse and analysis, reports, end to end.

    .venv/bin/python benchmarks/run.py [--size tiny|small|full] [--repeat N] [--only SECTION ...]

Writes ``benchmarks/results/<date>[-<size>].json`` and rewrites the results table in
``benchmarks/README.md`` from every results file. See ``benchmarks/README.md`` for what each
section measures and what was scaled down.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sys
import time
import traceback
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import BENCH_DIR, Skipped, load_average, log, machine_info, scratch_dir  # noqa: E402

from veiligheidsbeeld.config import IngestSettings  # noqa: E402

SECTIONS = ("ingest", "warehouse", "reports", "e2e", "versus", "demo")
#: What runs without --only. "versus" (the whole report against commit 83889bd, with a checkout
#: and environment of its own) and "demo" (the demo end to end against 83889bd) run when asked.
DEFAULT_SECTIONS = ("ingest", "warehouse", "reports", "e2e")

DISTRICT = "VR04"  # IJsselland: 11 gemeenten, 708 regions (gemeente + wijken + buurten)
EENHEID = "RE02"  # Oost-Nederland: 76 gemeenten, 3,562 regions
POLICE_TABLES = ["47022NED", "47024NED"]
#: What the biweekly report reads: woninginbraak and the High Impact Crime codes, with the total.
REPORT_CODES = ["0.0.0", "1.1.1", "1.4.3", "1.4.4", "1.4.5", "1.4.6", "1.4.7"]
TINY_GEMEENTEN = ["GM1773", "GM0177"]  # Olst-Wijhe and Raalte (IJsselland): small

#: Ours runs with the project's default concurrency (IngestSettings.concurrency), as a user would.
_INGEST = {"latency": 0.1, "page_size": 10_000, "concurrency": IngestSettings().concurrency, "max_url_chars": 6000,
           "tables": POLICE_TABLES}
_INCREMENTAL_POINT = {"key": "2gm-12y", "label": "Olst-Wijhe + Raalte, all codes, 2012–2023 (incremental only)",
                      "gemeenten": TINY_GEMEENTEN, "start": "2012-01", "end": "2023-12", "baseline": False,
                      "repeat": 1, "incremental": True}

#: What each size measures. ``repeat`` in a section or point caps the global --repeat there.
SIZES: dict[str, dict[str, Any]] = {
    # Seconds to minutes: what the smoke test runs, so that the code cannot rot.
    "tiny": {
        "repeat": 1,
        "ingest": {**_INGEST, "points": [
            {"key": "tiny-1y", "label": "Olst-Wijhe, all codes, 2023", "gemeenten": ["GM1773"],
             "start": "2023-01", "end": "2023-12", "incremental": True},
        ]},
        "warehouse": {
            "start": "2022-01", "end": "2023-12", "duckdb_memory_limit": "2GB",
            "points": [
                {"key": "tiny-eenheid", "label": "2 gemeenten (stand-in for the eenheid)", "gemeenten": TINY_GEMEENTEN,
                 "compare_pandas": True},
                {"key": "tiny-national", "label": "3 gemeenten (stand-in for national)",
                 "gemeenten": TINY_GEMEENTEN + ["GM0148"], "compare_pandas": False},
            ],
        },
        "reports": {"gemeenten": TINY_GEMEENTEN, "start": "2021-01", "end": "2023-11", "districts": ["VR04"],
                    "workers": 2, "pdf": False},
        "e2e": {"latency": 0.1, "districts": ["VR04"]},
        "versus": {"warehouses": ("gemeente",), "repeat": 1},
        "demo": {"demo_only": True},
    },
    # About 15 minutes on 2 cores: the recorded run. Scaled down from the sizes (see README).
    "small": {
        "repeat": 3,
        "ingest": {**_INGEST, "points": [
            {"key": "vr04-1y", "label": "district IJsselland, all codes, 2023", "area": DISTRICT,
             "start": "2023-01", "end": "2023-12", "baseline_repeat": 1},
            {"key": "vr04-2y", "label": "district IJsselland, all codes, 2022–2023", "area": DISTRICT,
             "start": "2022-01", "end": "2023-12", "baseline_repeat": 1, "repeat": 2},
            _INCREMENTAL_POINT,
        ]},
        "warehouse": {
            "start": "2022-01", "end": "2023-12",
            "points": [
                {"key": "eenheid-2y", "label": "eenheid Oost-Nederland, 2022–2023", "area": EENHEID,
                 "compare_pandas": True, "repeat": 2},
                {"key": "national-1y", "label": "national (all regions), 2023", "share": 1.0, "start": "2023-01",
                 "compare_pandas": False, "repeat": 1},
            ],
        },
        "reports": {"area": EENHEID, "start": "2020-01", "end": "2023-11", "districts": None, "workers": 2,
                    "pdf": True, "repeat": 1},
        "e2e": {"latency": 0.1, "districts": [DISTRICT], "repeat": 1},
        "versus": {"warehouses": ("gemeente", "demo"), "repeat": 3},
        "demo": {"demo_only": True},
    },
    # The sizes (an hour or more on 2 cores; needs ~10 GB free memory).
    "full": {
        "repeat": 3,
        "ingest": {**_INGEST, "points": [
            {"key": "vr04-12y", "label": "district IJsselland, all codes, 2012–2023", "area": DISTRICT,
             "start": "2012-01", "end": "2023-12", "baseline_repeat": 1, "incremental": True},
            {"key": "re02-4y", "label": "eenheid Oost-Nederland, all codes, 2020–2023 (years restricted)",
             "area": EENHEID, "start": "2020-01", "end": "2023-12", "baseline_repeat": 1, "repeat": 1},
        ]},
        "warehouse": {
            "start": "2012-01", "end": "2023-12",
            "points": [
                {"key": "eenheid", "label": "eenheid Oost-Nederland, 2012–2023", "area": EENHEID, "compare_pandas": True},
                {"key": "national", "label": "national (all regions), 2012–2023", "share": 1.0,
                 "compare_pandas": False, "repeat": 1},
            ],
        },
        "reports": {"area": EENHEID, "start": "2020-01", "end": "2023-11", "districts": None, "workers": 2, "pdf": True},
        "e2e": {"latency": 0.1, "districts": None},
        "versus": {"warehouses": ("gemeente", "demo"), "repeat": 3},
        "demo": {"demo_only": True},
    },
}


def run_section(name: str, cfg: dict[str, Any], work: Path, repeat: int, shared: dict[str, Any]) -> dict[str, Any]:
    started = time.perf_counter()
    load_before = load_average()
    try:
        if name == "ingest":
            import bench_ingest

            result = bench_ingest.run(cfg["ingest"], work, repeat)
        elif name == "warehouse":
            import bench_warehouse

            result = bench_warehouse.run(cfg["warehouse"], work, repeat)
        elif name == "reports":
            import bench_reports

            result = bench_reports.run(cfg["reports"], work, repeat, shared)
        elif name == "e2e":
            import bench_e2e

            result = bench_e2e.run(cfg["e2e"], cfg["reports"], work, repeat, shared)
        elif name in ("versus", "demo"):
            import bench_versus

            result = bench_versus.run(cfg[name], work, repeat)
        else:
            raise ValueError(name)
        result["status"] = "ok"
    except Skipped as exc:
        log(f"{name}: SKIPPED — {exc}")
        result = {"status": "skipped", "reason": str(exc)}
    except Exception as exc:  # noqa: BLE001 - record and go on with the other sections
        traceback.print_exc()
        result = {"status": "error", "error": f"{type(exc).__name__}: {exc}"}
    result["section_seconds"] = round(time.perf_counter() - started, 1)
    result["load_average_before"] = load_before
    result["load_average_after"] = load_average()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=tuple(SIZES), default="small")
    parser.add_argument("--repeat", type=int, default=None, help="runs per measurement (default: per size)")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=None, help="run only these sections")
    parser.add_argument("--results-dir", type=Path, default=BENCH_DIR / "results")
    parser.add_argument("--readme", type=Path, default=BENCH_DIR / "README.md",
                        help="README whose results table is rewritten ('-' for none)")
    parser.add_argument("--work-dir", type=Path, default=BENCH_DIR / ".work",
                        help="snapshots and scratch (cached snapshots are reused)")
    parser.add_argument("--keep-work", action="store_true", help="keep scratch runs (snapshots are always kept)")
    args = parser.parse_args(argv)

    cfg = SIZES[args.size]
    repeat = args.repeat or cfg["repeat"]
    work = args.work_dir.resolve()
    scratch = scratch_dir(work)
    sections = args.only or list(DEFAULT_SECTIONS)
    log(f"benchmarks: size {args.size}, repeat {repeat}, sections {', '.join(sections)}, work {work}")

    today = dt.date.today().isoformat()
    args.results_dir.mkdir(parents=True, exist_ok=True)
    # The comparisons with 83889bd get a results file (and README table) of their own, so that a
    # run of them does not replace the table of the other sections.
    label = "versus" if set(sections) <= {"versus", "demo"} else args.size
    out_path = args.results_dir / (f"{today}.json" if label == "small" else f"{today}-{label}.json")
    previous = json.loads(out_path.read_text(encoding="utf-8")) if out_path.is_file() else {}
    record: dict[str, Any] = {
        "date": today,
        "size": label,
        "repeat": repeat,
        "started_at": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": machine_info(),
        "command": " ".join(["python benchmarks/run.py", *(argv if argv is not None else sys.argv[1:])]),
        "sections": dict(previous.get("sections", {})),  # --only keeps the other sections of the day
    }
    started = time.perf_counter()
    shared: dict[str, Any] = {}
    for name in sections:
        log(f"== {name}")
        record["sections"][name] = run_section(name, cfg, work, repeat, shared)
        record["sections"][name]["run_at"] = dt.datetime.now().isoformat(timespec="seconds")
        out_path.write_text(json.dumps(record, indent=1, default=str) + "\n", encoding="utf-8")
    record["total_seconds"] = round(time.perf_counter() - started, 1)
    out_path.write_text(json.dumps(record, indent=1, default=str) + "\n", encoding="utf-8")
    log(f"results: {out_path} ({record['total_seconds']:.0f} s)")
    if str(args.readme) != "-":
        import report

        report.update_readme(args.readme, args.results_dir)
        log(f"table: {args.readme}")
    if not args.keep_work:
        shutil.rmtree(scratch, ignore_errors=True)
    failed = [n for n in sections if record["sections"][n].get("status") == "error"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
