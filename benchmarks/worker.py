"""Runs one measured task in a fresh interpreter: ``python benchmarks/worker.py TASK ARGS.json OUT.json``.

Started by :func:`_common.run_task`; not meant to be called by hand. The section module is
imported before the clock starts; tasks import what they use and report ``seconds`` for the
work alone (imports excluded). ``rss_at_start_mb`` is the interpreter before the task.
"""

from __future__ import annotations

import importlib
import json
import resource
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import PhaseMeter, Skipped  # noqa: E402

#: task name -> (module, function)
TASKS = {
    "ingest_baseline": ("bench_ingest", "task_baseline"),
    "ingest_ours": ("bench_ingest", "task_ours"),
    "wh_build": ("bench_warehouse", "task_build"),
    "wh_metrics_duckdb": ("bench_warehouse", "task_metrics_duckdb"),
    "wh_metrics_pandas": ("bench_warehouse", "task_metrics_pandas"),
    "wh_check_project": ("bench_warehouse", "task_check_project"),
    "reports_setup": ("bench_reports", "task_setup"),
    "reports_render": ("bench_reports", "task_render"),
    "e2e_flow": ("bench_e2e", "task_flow"),
}


def peak_rss_kb(usage: resource.struct_rusage) -> float:
    """The peak RSS of this process since it started this interpreter.

    Not ``ru_maxrss``: Linux carries the parent's high-water mark over fork and exec into it, so a
    child of a big parent (the one serving the stub) reports at least the parent's size. VmHWM
    in /proc/self/status is the high-water mark of this program's own memory map."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return float(line.split()[1])
    except OSError:
        pass
    return float(usage.ru_maxrss)  # elsewhere: the best there is


def main() -> int:
    task, args_path, out_path = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    module_name, function_name = TASKS[task]
    function = getattr(importlib.import_module(module_name), function_name)
    params = json.loads(args_path.read_text(encoding="utf-8"))
    meter = PhaseMeter()
    started = time.perf_counter()
    usage0 = resource.getrusage(resource.RUSAGE_SELF)
    try:
        result = function(params, meter) or {}
    except Skipped as exc:
        result = {"skipped": str(exc)}
    except BaseException:
        traceback.print_exc()
        return 1
    elapsed = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    result.setdefault("seconds", round(elapsed, 3))
    result["cpu_s"] = round(usage.ru_utime + usage.ru_stime - usage0.ru_utime - usage0.ru_stime
                            + children.ru_utime + children.ru_stime, 3)
    result["maxrss_mb"] = round(peak_rss_kb(usage) / 1024, 1)
    result["maxrss_children_mb"] = round(children.ru_maxrss / 1024, 1)
    result["rss_at_start_mb"] = round(meter.baseline_rss_mb, 1)
    result["phases"] = meter.stop()
    out_path.write_text(json.dumps(result, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
