"""Section 5 — versus: the whole biweekly report side by side with commit 83889bd, and the demo.

The report path before issue 17 is commit ``83889bd``. It is checked out into a git worktree of
its own with its own virtual environment (``<work>/base-83889bd``, made on first use:
``git worktree add`` and ``pip install -e``), so each side runs its own code with the libraries its
own ``pyproject.toml`` installs. Since ours keeps matplotlib below 3.11 (the base's install takes
the newest), a third side runs the base's code with our environment's libraries: the ratio
against it is what the code alone gives. Every side runs the command a user types,
``veiligheidsbeeld report tweewekelijks``, each against its own copy of the same warehouse file,
in the same run, interleaved (base, ours, base, ours, …), every run in a fresh process whose tree
is sampled for memory.
The base runs as a user would run it (its default, one process), with ``--workers`` set to
the cores (its best), and with our libraries (its default); ours with its default (every core).

Warehouses, built from the same snapshot by the project's ingest (the warehouse schema is the
same at both commits; the section checks the base's ``schema.sql`` against our baseline migration
and stops if it differs):

* ``gemeente``: every gemeente of the eenheid, no wijken or buurten (the demo's snapshot
  builder with no buurt gemeenten): the case of a user who pulls gemeenten only;
* ``demo``: the demo's own snapshot (one small gemeente per district with its wijken and
  buurten, boundaries and denominators, so maps are drawn).

The demo end to end is ``veiligheidsbeeld demo`` (snapshot generation, ingest, biweekly
reports, annual analysis and overlast monitor) on both sides; the time until the first biweekly
report exists is read from the demo's own step timings.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import psutil

from _common import BENCH_DIR, MB, Skipped, _TreeSampler, log, spread

BASE_COMMIT = "83889bd"
REPORT_DATE = date(2026, 12, 7)  # fixed, so both sides and every run report on the same months
REPO = BENCH_DIR.parent


def _git(*args: str, cwd: Path = REPO) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def base_checkout(work: Path, commit: str = BASE_COMMIT) -> Path:
    """A worktree of ``commit`` with its own ``.venv`` (made once, then reused)."""
    root = work / f"base-{commit}"
    if not (root / ".git").exists():
        log(f"versus: git worktree add {root} {commit}")
        _git("worktree", "add", "--detach", str(root), commit)
    venv = root / ".venv"
    cli = venv / "bin" / "veiligheidsbeeld"
    if not cli.exists():
        log("versus: installing the base into its own virtual environment (a few minutes)")
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "-e", str(root)], check=True)
    return root


def same_schema(base: Path) -> bool:
    """The base's core schema is ours: its schema.sql statement is part of our baseline migration
    (later migrations only add tables and comments a base does not read)."""
    import re

    ours = (REPO / "src/veiligheidsbeeld/warehouse/migrations/0001_baseline.sql").read_text(encoding="utf-8")
    theirs = (base / "src/veiligheidsbeeld/warehouse/sql/schema.sql").read_text(encoding="utf-8")
    statement = re.split(r"^-- name: schema\s*$", theirs, flags=re.MULTILINE)[-1].strip()
    return statement in ours


def run_command(argv: list[str], *, cwd: Path, env: dict[str, str] | None = None,
                marks: tuple[str, ...] = ()) -> dict[str, Any]:
    """Wall time, CPU (user + sys of the process tree) and peak RSS (summed over the tree,
    sampled every 50 ms) of one command; ``marks``: seconds until the first output line
    containing each text."""
    child_env = {**os.environ, **(env or {}), "COLUMNS": "400"}
    child_env.pop("VEILIGHEIDSBEELD_CONFIG", None)
    started = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=str(cwd), env=child_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    sampler = _TreeSampler(proc.pid)
    sampler.start()
    cpu_before = _children_cpu()
    seen: dict[str, float] = {}
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            for mark in marks:
                if mark in line and mark not in seen:
                    seen[mark] = round(time.perf_counter() - started, 2)
        proc.wait()
    finally:
        sampler.stop()
    wall = time.perf_counter() - started
    output = "".join(lines)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed (exit {proc.returncode}):\n{output[-4000:]}")
    return {"seconds": round(wall, 2), "cpu_s": round(_children_cpu() - cpu_before, 1),
            "peak_rss_mb": round(sampler.peak / MB, 1), "marks": seen, "output": output}


def _children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# --------------------------------------------------------------------------------------------
# Warehouses
# --------------------------------------------------------------------------------------------


def warehouse(kind: str, work: Path) -> Path:
    """The warehouse file of ``kind`` ("gemeente" or "demo"), built once from its snapshot with
    the project's ingest (cached under ``work/fixtures``)."""
    root = work / "fixtures" / f"versus-{kind}-{REPORT_DATE.isoformat()}"
    db = root / "warehouse" / "demo.duckdb"
    if db.is_file() and (root / "done").is_file():
        # A fixture cached by an earlier commit may have an older schema version: bring it up to date.
        subprocess.run([sys.executable, "-c", "import sys; from veiligheidsbeeld.warehouse import db; db.upgrade(sys.argv[1])",
                        str(db)], check=True, stdout=subprocess.DEVNULL)
        return db
    if root.exists():
        shutil.rmtree(root)
    code = (
        "import sys; from datetime import date; from pathlib import Path\n"
        "from veiligheidsbeeld.demo import DemoOptions, build_demo_snapshot, demo_settings, MISDRIJVEN, _default_codes\n"
        "from veiligheidsbeeld import pipeline\n"
        "root = Path(sys.argv[1]); kind = sys.argv[2]; today = date.fromisoformat(sys.argv[3])\n"
        "opts = DemoOptions(root=root, buurt_gemeenten=() if kind == 'gemeente' else None)\n"
        "build_demo_snapshot(opts, root / 'snapshot', today=today)\n"
        "end = opts.resolved_end(today)\n"
        "s = demo_settings(root, last_year=end.year).with_ingest(codes={MISDRIJVEN: tuple(_default_codes())})\n"
        "pipeline.ingest(s, str(root / 'snapshot'))\n"
    )
    log(f"versus: building the {kind} warehouse (snapshot + ingest)")
    root.mkdir(parents=True)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, str(root), kind, REPORT_DATE.isoformat()], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    (root / "done").write_text(json.dumps({"seconds": round(time.perf_counter() - t0, 1)}))
    return db


def _side_env(root: Path) -> dict[str, str]:
    """Each side imports its own ``src`` first: a shared (editable) environment would otherwise
    run the same code on both sides, whatever checkout the benchmark sits in."""
    env = {"PYTHONPATH": str(root / "src")}
    # A base checkout outside the project (VB_BENCH_BASE) has no ../shared next to it: the demo
    # reads the real national series from this project's.
    shared = REPO.parent / "shared"
    if "VEILIGHEIDSBEELD_SHARED" not in os.environ and (shared / "data" / "politie").is_dir():
        env["VEILIGHEIDSBEELD_SHARED"] = str(shared)
    return env


def _report_argv(cli: Path, db: Path, out: Path, workers: int | None) -> list[str]:
    argv = [str(cli), "report", "tweewekelijks", "--date", REPORT_DATE.isoformat(), "--warehouse", str(db),
            "--reports", str(out)]
    return argv + (["--workers", str(workers)] if workers else [])


def library_versions(python: Path) -> dict[str, str]:
    """The versions of the libraries the report path spends its time in, in one environment."""
    code = ("import json\nfrom importlib.metadata import version\n"
            "print(json.dumps({n: version(n) for n in ('matplotlib', 'weasyprint', 'xlsxwriter', 'pandas', "
            "'duckdb', 'scipy', 'pillow')}))")
    done = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def _files(out: Path) -> dict[str, int]:
    found = [p for p in out.rglob("*") if p.is_file()]
    return {ext: sum(1 for p in found if p.suffix == ext) for ext in sorted({p.suffix for p in found})}


def compare_reports(kind: str, base: Path, work: Path, repeat: int, cores: int) -> dict[str, Any]:
    """Base (default and --workers=cores) against ours (default) on copies of one warehouse."""
    source = warehouse(kind, work)
    scratch = work / "scratch" / f"versus-{kind}"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    sides = {
        "base_default": (base / ".venv/bin/veiligheidsbeeld", None),
        "base_workers": (base / ".venv/bin/veiligheidsbeeld", cores),
        # The base's code (PYTHONPATH) in our environment: the same library versions as ours.
        "base_our_libs": (REPO / ".venv/bin/veiligheidsbeeld", None),
        "ours": (REPO / ".venv/bin/veiligheidsbeeld", None),
    }
    roots = {"base_default": base, "base_workers": base, "base_our_libs": base, "ours": REPO}
    runs: dict[str, list[dict[str, Any]]] = {k: [] for k in sides}
    files: dict[str, dict[str, int]] = {}
    for i in range(repeat):
        for side, (cli, workers) in sides.items():
            db = scratch / f"{side}.duckdb"
            shutil.copyfile(source, db)  # its own copy: no lock or cache shared with the other side
            out = scratch / f"{side}-{i}"
            r = run_command(_report_argv(cli, db, out, workers), cwd=scratch, env=_side_env(roots[side]))
            files[side] = _files(out)
            r.pop("output")
            r["load_average"] = list(os.getloadavg())
            runs[side].append(r)
            log(f"  {kind} {side} run {i + 1}: {r['seconds']:.1f} s, cpu {r['cpu_s']:.0f} s, "
                f"peak {r['peak_rss_mb']:.0f} MB")
            shutil.rmtree(out, ignore_errors=True)
    result: dict[str, Any] = {"warehouse": kind, "files": files, "cores": cores,
                              "libraries": {side: library_versions(cli.parent / "python")
                                            for side, (cli, _) in sides.items()}}
    for side, samples in runs.items():
        result[side] = {"seconds": spread(s["seconds"] for s in samples), "cpu_s": spread(s["cpu_s"] for s in samples),
                        "peak_rss_mb": spread(s["peak_rss_mb"] for s in samples), "runs": samples}
    ours = statistics.median(s["seconds"] for s in runs["ours"])
    for side in ("base_default", "base_workers", "base_our_libs"):
        base_s = statistics.median(s["seconds"] for s in runs[side])
        result[f"ratio_vs_{side}"] = round(base_s / ours, 2)
        # Paired ratios (the same round of the interleaved runs), less exposed to drifting load.
        result[f"paired_ratios_vs_{side}"] = [round(b["seconds"] / o["seconds"], 2)
                                              for b, o in zip(runs[side], runs["ours"], strict=True)]
    shutil.rmtree(scratch, ignore_errors=True)
    return result


def demo_end_to_end(base: Path, work: Path) -> dict[str, Any]:
    """``veiligheidsbeeld demo`` on both sides (fresh folder each): total time and the time until
    the first biweekly report is written (snapshot + ingest + biweekly step)."""
    out: dict[str, Any] = {}
    for side, side_root in (("base", base), ("ours", REPO)):
        cli = side_root / ".venv/bin/veiligheidsbeeld"
        root = work / "scratch" / f"versus-demo-{side}"
        shutil.rmtree(root, ignore_errors=True)
        # The demo says "3/4 Tweewekelijkse rapporten ..." before the biweekly reports and "4/4"
        # after them; since issue 17 it also says "eerste rapport klaar" as soon as the first
        # district's HTML exists. The base has no such line: its first report is at "4/4".
        r = run_command([str(cli), "demo", "--map", str(root)], cwd=work,
                        marks=("2/4", "3/4", "eerste rapport klaar", "4/4"), env=_side_env(side_root))
        r.pop("output")
        r["all_biweekly_reports_seconds"] = r["marks"].get("4/4")
        r["first_report_seconds"] = r["marks"].get("eerste rapport klaar", r["marks"].get("4/4"))
        out[side] = r
        log(f"  demo {side}: {r['seconds']:.0f} s (first report after {r['first_report_seconds']} s), "
            f"peak {r['peak_rss_mb']:.0f} MB")
        shutil.rmtree(root, ignore_errors=True)
    out["ratio"] = round(out["base"]["seconds"] / out["ours"]["seconds"], 2)
    if out["base"]["first_report_seconds"] and out["ours"]["first_report_seconds"]:
        out["first_report_ratio"] = round(out["base"]["first_report_seconds"] / out["ours"]["first_report_seconds"], 2)
    return out


def run(cfg: dict[str, Any], work: Path, repeat: int) -> dict[str, Any]:
    try:
        # VB_BENCH_BASE: an existing checkout of the base commit with its own .venv (reused).
        given = os.environ.get("VB_BENCH_BASE")
        base = Path(given) if given else base_checkout(work, cfg.get("commit", BASE_COMMIT))
        if not (base / ".venv/bin/veiligheidsbeeld").exists():
            raise Skipped(f"{base} has no .venv with the base installed")
    except (subprocess.CalledProcessError, OSError) as exc:
        raise Skipped(f"no worktree of {BASE_COMMIT} with its own environment: {exc}") from None
    if not same_schema(base):
        raise Skipped("the warehouse schema differs from the base commit's: build each side's warehouse itself")
    cores = int(cfg.get("workers") or psutil.cpu_count() or 2)
    result: dict[str, Any] = {"description": __doc__.split("\n\n")[0], "base_commit": BASE_COMMIT,
                              "report_date": REPORT_DATE.isoformat()}
    if cfg.get("demo_only"):
        log("versus: demo end to end")
        result["demo"] = demo_end_to_end(base, work)
        return result
    for kind in cfg.get("warehouses", ("gemeente", "demo")):
        log(f"versus: report on the {kind} warehouse")
        result[kind] = compare_reports(kind, base, work, min(repeat, cfg.get("repeat", repeat)), cores)
    return result
