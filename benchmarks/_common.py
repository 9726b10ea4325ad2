"""Measurement helpers shared by the benchmark sections.

Every measured sample runs in a fresh Python process (``benchmarks/worker.py``), so its peak
memory is its own: the child reports its VmHWM (exact peak RSS of its own memory map) and a
sampled peak per phase, the parent samples the child's process tree with psutil (catches worker
processes too) and keeps the wall clock. Servers (the OData stub) live in the parent, so their
memory and CPU are *not* counted in the measured process; the parent's CPU time during a sample
is reported separately as ``server_cpu_s``.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
MB = 1024 * 1024


class Skipped(Exception):
    """A section (or part of one) cannot run here; the message says why."""


# --------------------------------------------------------------------------------------------
# Running one sample in a child process
# --------------------------------------------------------------------------------------------


@dataclass
class Sample:
    """One measured run: wall time, peak memory, and whatever the task reported."""

    seconds: float
    peak_rss_mb: float  # max(VmHWM of the child, sampled RSS of the child's process tree)
    cpu_s: float  # user + sys of the child (and its waited-for children)
    server_cpu_s: float  # CPU the parent (the stub server) spent meanwhile
    result: dict[str, Any] = field(default_factory=dict)


class _TreeSampler(threading.Thread):
    """Samples the summed RSS of a process and its descendants."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak = 0
        self._halt = threading.Event()

    def run(self) -> None:
        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            return
        while not self._halt.is_set():
            total = 0
            try:
                procs = [root, *root.children(recursive=True)]
            except psutil.Error:
                break
            for proc in procs:
                try:
                    total += proc.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            self._halt.wait(self.interval)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=2)


def run_task(task: str, params: dict[str, Any], *, timeout: float = 3600, cwd: Path | None = None,
             env: dict[str, str] | None = None) -> Sample:
    """Run ``benchmarks/worker.py task`` in a fresh interpreter and measure it."""
    with tempfile.TemporaryDirectory(prefix="vb-bench-task-") as tmp:
        args_path, out_path = Path(tmp) / "args.json", Path(tmp) / "result.json"
        args_path.write_text(json.dumps(params, default=str), encoding="utf-8")
        child_env = {**os.environ, **(env or {})}
        child_env.pop("VEILIGHEIDSBEELD_CONFIG", None)  # never a developer's own config
        child_env.setdefault("PYTHONHASHSEED", "0")
        me = psutil.Process()
        cpu_before = sum(me.cpu_times()[:2])
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, str(BENCH_DIR / "worker.py"), task, str(args_path), str(out_path)],
            cwd=str(cwd or tmp), env=child_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        sampler = _TreeSampler(proc.pid)
        sampler.start()
        try:
            output, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
            raise RuntimeError(f"task {task} timed out after {timeout:.0f} s:\n{output[-4000:]}") from None
        finally:
            sampler.stop()
        wall = time.perf_counter() - started
        server_cpu = sum(me.cpu_times()[:2]) - cpu_before
        if proc.returncode != 0 or not out_path.is_file():
            raise RuntimeError(f"task {task} failed (exit {proc.returncode}):\n{output[-6000:]}")
        result = json.loads(out_path.read_text(encoding="utf-8"))
    if result.get("skipped"):
        raise Skipped(result["skipped"])
    peak = max(result.get("maxrss_mb", 0.0), sampler.peak / MB)
    return Sample(
        seconds=result.get("seconds", wall),
        peak_rss_mb=round(peak, 1),
        cpu_s=round(result.get("cpu_s", 0.0), 2),
        server_cpu_s=round(server_cpu, 2),
        result=result,
    )


# --------------------------------------------------------------------------------------------
# Inside the child: phase-aware RSS sampling
# --------------------------------------------------------------------------------------------


class PhaseMeter:
    """In the measured process: wall time, CPU and peak RSS per named phase.

    ``with meter.phase("pull"): ...``; RSS is sampled every 20 ms by a background thread and
    attributed to the phase running at that moment (peaks shorter than that can be missed; the
    process-wide peak comes from VmHWM and is exact)."""

    def __init__(self, interval: float = 0.02) -> None:
        self.proc = psutil.Process()
        self.interval = interval
        self.current: str | None = None
        self.phases: dict[str, dict[str, float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.baseline_rss_mb = self.proc.memory_info().rss / MB
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            name = self.current
            if name is not None:
                try:
                    rss = self.proc.memory_info().rss / MB
                except psutil.Error:
                    rss = 0.0
                entry = self.phases.setdefault(name, {})
                entry["peak_rss_mb"] = max(entry.get("peak_rss_mb", 0.0), rss)
            self._stop.wait(self.interval)

    class _Phase:
        def __init__(self, meter: "PhaseMeter", name: str) -> None:
            self.meter, self.name = meter, name

        def __enter__(self) -> None:
            m = self.meter
            self.previous = m.current
            entry = m.phases.setdefault(self.name, {})
            entry.setdefault("seconds", 0.0)
            entry.setdefault("cpu_s", 0.0)
            rss = m.proc.memory_info().rss / MB
            entry["rss_at_start_mb"] = round(rss, 1)
            entry["peak_rss_mb"] = max(entry.get("peak_rss_mb", 0.0), rss)
            self.t0 = time.perf_counter()
            self.c0 = sum(m.proc.cpu_times()[:2])
            m.current = self.name

        def __exit__(self, *exc: Any) -> None:
            m = self.meter
            entry = m.phases[self.name]
            entry["seconds"] += time.perf_counter() - self.t0
            entry["cpu_s"] += sum(m.proc.cpu_times()[:2]) - self.c0
            entry["peak_rss_mb"] = max(entry.get("peak_rss_mb", 0.0), m.proc.memory_info().rss / MB)
            m.current = self.previous

    def phase(self, name: str) -> "PhaseMeter._Phase":
        return PhaseMeter._Phase(self, name)

    def stop(self) -> dict[str, dict[str, float]]:
        self._stop.set()
        self._thread.join(timeout=1)
        return {k: {kk: round(vv, 3 if kk.endswith("_s") or kk == "seconds" else 1) for kk, vv in v.items()}
                for k, v in self.phases.items()}


# --------------------------------------------------------------------------------------------
# Statistics, environment
# --------------------------------------------------------------------------------------------


def spread(values: Iterable[float], digits: int = 2) -> dict[str, float | int]:
    vals = [float(v) for v in values]
    if not vals:
        return {}
    return {"min": round(min(vals), digits), "median": round(statistics.median(vals), digits),
            "max": round(max(vals), digits), "n": len(vals)}


def summarize(samples: Sequence[Sample]) -> dict[str, Any]:
    return {
        "seconds": spread(s.seconds for s in samples),
        "peak_rss_mb": spread((s.peak_rss_mb for s in samples), 0),
        "cpu_s": spread(s.cpu_s for s in samples),
        "server_cpu_s": spread(s.server_cpu_s for s in samples),
    }


def ratio(a: dict[str, Any], b: dict[str, Any], key: str = "median") -> float | None:
    """a / b of two spreads (e.g. baseline seconds / ours seconds)."""
    try:
        return round(float(a[key]) / float(b[key]), 2) if float(b[key]) else None
    except (KeyError, TypeError):
        return None


def _version(dist: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def machine_info() -> dict[str, Any]:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    commit = dirty = None
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                                text=True, timeout=10).stdout.strip() or None
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO_ROOT,
                                capture_output=True, text=True, timeout=10).stdout
        dirty = bool(status.strip())
    except (OSError, subprocess.SubprocessError):
        pass
    import hashlib

    digest = hashlib.sha256()
    for path in sorted((REPO_ROOT / "src").rglob("*")):
        if path.is_file() and path.suffix in (".py", ".sql", ".j2", ".csv", ".html", ".css"):
            digest.update(path.relative_to(REPO_ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    return {
        "hostname": platform.node(),
        "cpu": cpu,
        "logical_cores": psutil.cpu_count(logical=True),
        "ram_gb": round(psutil.virtual_memory().total / 1024**3, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "git_commit": commit,
        "git_dirty_tracked_files": dirty,
        # The tree changes under our feet (colleagues' untracked modules): a digest of src/ says
        # exactly which code was measured.
        "src_digest": digest.hexdigest()[:12],
        "versions": {d: _version(d) for d in (
            "veiligheidsbeeld", "duckdb", "pandas", "pyarrow", "numpy", "cbsodata", "requests",
            "matplotlib", "weasyprint", "jinja2", "geopandas", "psutil")},
    }


def load_average() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t0 = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - t0


def dir_size_mb(path: Path) -> float:
    return round(sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file()) / MB, 1)


def scratch_dir(work: Path) -> Path:
    """This invocation's scratch folder (several benchmark runs may share one work folder)."""
    path = Path(work) / "runs" / f"pid{os.getpid()}"
    path.mkdir(parents=True, exist_ok=True)
    return path
