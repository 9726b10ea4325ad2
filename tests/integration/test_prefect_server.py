"""The team setup end to end: a real Prefect server, a process worker, `prefect deploy --all`.

The server runs on 127.0.0.1 (a free port) with its own PREFECT_HOME and SQLite database;
analytics, telemetry and the UI are off, so nothing leaves the machine. The worker runs flow
runs from the checkout named by VEILIGHEIDSBEELD_PROJECT_DIR (the pull step of prefect.yaml).

Data: a SYNTHETIC snapshot (two small gemeenten in two districts, 2013-01 … 2023-12, one month
missing) and a district table with just those two, passed to the flows as a config file — the
flows get everything through their parameters, nothing through the working directory.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pandas as pd
import pytest

from veiligheidsbeeld import NO_TELEMETRY

pytestmark = [pytest.mark.integration, pytest.mark.prefect_server]

REPO = Path(__file__).resolve().parents[2]
POOL = "veiligheidsbeeld"
GEMEENTEN = {"VR04": "GM1773", "VR05": "GM0168"}  # Olst-Wijhe (IJsselland), Losser (Twente)
def _report_codes() -> list[str]:
    from veiligheidsbeeld.demo import _default_codes

    return list(_default_codes())  # what the biweekly and annual reports need


CODES = _report_codes()
REPORT_DATE = "2024-01-22"
TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _prefect() -> list[str]:
    return [sys.executable, "-m", "prefect"]


def _tail(path: Path, n: int = 60) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return f"({path} not readable)"


def _stop(proc: subprocess.Popen, timeout: float = 20) -> None:
    """SIGTERM the process group, then SIGKILL what is left."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


# ---------------------------------------------------------------------------------------------
# Fixtures: data, server, worker, deployments
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def data(tmp_path_factory, shared_dir) -> dict[str, Path]:
    from veiligheidsbeeld.regions import load_district_table
    from veiligheidsbeeld.testing.synthetic import build_police_snapshot

    root = tmp_path_factory.mktemp("prefect_data")
    build_police_snapshot(root / "snapshot", shared_dir=shared_dir, gemeenten=list(GEMEENTEN.values()),
                          start="2013-01", end="2023-12", codes={"47022NED": CODES}, missing_months=["2022-11"])
    table = load_district_table()
    table[table["gemeente_code"].isin(GEMEENTEN.values())].to_csv(root / "districten.csv", index=False)
    config = root / "veiligheidsbeeld.toml"
    codes = ", ".join(f'"{c}"' for c in CODES)
    config.write_text(f'[area]\ndistrict_table = "{root / "districten.csv"}"\n\n'
                      f'[ingest.codes]\n"47022NED" = [{codes}]\n', encoding="utf-8")
    return {"root": root, "snapshot": root / "snapshot", "config": config}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`prefect server start` on 127.0.0.1, a process work pool and a worker; stopped afterwards."""
    home = tmp_path_factory.mktemp("prefect_home")
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_API_URL": api,
        "PREFECT_SERVER_API_HOST": "127.0.0.1",
        "PREFECT_SERVER_API_PORT": str(port),
        "PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{home / 'prefect.db'}",
        **NO_TELEMETRY,  # the project's one place for "nothing leaves the machine"
        "PREFECT_SERVER_UI_ENABLED": "false",
        "PREFECT_RUNNER_AUTO_INSTALL_DEPENDENCIES": "false",
        "PREFECT_CLI_PROMPT": "false",
        "DO_NOT_TRACK": "1",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("VEILIGHEIDSBEELD_CONFIG", None)
    logs = {name: home / f"{name}.log" for name in ("server", "worker", "deploy")}
    procs: list[subprocess.Popen] = []

    def start(name: str, args: list[str], extra: dict | None = None) -> subprocess.Popen:
        fh = open(logs[name], "w")
        proc = subprocess.Popen(_prefect() + args, env={**env, **(extra or {})}, cwd=home, stdout=fh, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        procs.append(proc)
        return proc

    try:
        srv = start("server", ["server", "start", "--host", "127.0.0.1", "--port", str(port)])
        deadline = time.monotonic() + 120
        while True:
            if srv.poll() is not None:
                pytest.fail(f"prefect server stopped at start-up:\n{_tail(logs['server'])}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                pytest.fail(f"prefect server not healthy after 120 s:\n{_tail(logs['server'])}")
            time.sleep(0.5)
        subprocess.run(_prefect() + ["work-pool", "create", POOL, "--type", "process"], env=env, cwd=home,
                       check=True, capture_output=True, timeout=60)
        # The worker starts elsewhere and finds the checkout through its own environment.
        worker = start("worker", ["worker", "start", "--pool", POOL, "--type", "process"],
                       extra={"VEILIGHEIDSBEELD_PROJECT_DIR": str(REPO)})
        with open(logs["deploy"], "w") as fh:
            done = subprocess.run(_prefect() + ["--no-prompt", "deploy", "--all"], env=env, cwd=REPO, stdout=fh,
                                  stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=180)
        if done.returncode != 0:
            pytest.fail(f"prefect deploy --all failed:\n{_tail(logs['deploy'])}")
        yield {"api": api, "env": env, "logs": logs, "worker": worker}
    finally:
        for proc in reversed(procs):
            _stop(proc)


class Api:
    #: Answers a busy Prefect server gives (its database locked by the worker's writes); Prefect's
    #: own client retries them too (PREFECT_CLIENT_MAX_RETRIES), so this test client does as well.
    RETRY_STATUS = (429, 502, 503)

    def __init__(self, base: str) -> None:
        self.client = httpx.Client(base_url=base, timeout=30)

    def _request(self, method: str, url: str, **kwargs) -> httpx.Response:
        for attempt in range(6):
            r = self.client.request(method, url, **kwargs)
            if r.status_code not in self.RETRY_STATUS or attempt == 5:
                break
            time.sleep(0.5 * 2 ** attempt)
        r.raise_for_status()
        return r

    def deployment(self, flow: str, name: str) -> dict:
        return self._request("GET", f"/deployments/name/{flow}/{name}").json()

    def run(self, flow: str, name: str, parameters: dict) -> str:
        dep = self.deployment(flow, name)
        return self._request("POST", f"/deployments/{dep['id']}/create_flow_run",
                             json={"parameters": parameters}).json()["id"]

    def flow_run(self, run_id: str) -> dict:
        return self._request("GET", f"/flow_runs/{run_id}").json()

    def wait(self, run_ids: list[str], timeout: float) -> dict[str, dict]:
        deadline = time.monotonic() + timeout
        while True:
            runs = {i: self.flow_run(i) for i in run_ids}
            if all((r.get("state") or {}).get("type") in TERMINAL for r in runs.values()):
                return runs
            if time.monotonic() > deadline:
                return runs
            time.sleep(1)

    def logs(self, run_id: str) -> str:
        r = self.client.post("/logs/filter", json={"logs": {"flow_run_id": {"any_": [run_id]}}, "limit": 200})
        return "\n".join(f"{e['level']} {e['message']}" for e in r.json()) if r.status_code == 200 else r.text

    def artifacts(self, run_id: str) -> list[dict]:
        return self._request("POST", "/artifacts/filter",
                             json={"artifacts": {"flow_run_id": {"any_": [run_id]}}}).json()


def _explain(api: Api, server: dict, run_id: str) -> str:
    return (f"flow run logs:\n{api.logs(run_id)}\n\nworker log:\n{_tail(server['logs']['worker'])}\n\n"
            f"server log:\n{_tail(server['logs']['server'], 20)}")


# ---------------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------------


def test_deploy_registers_the_three_deployments_with_their_schedules(server):
    api = Api(server["api"])
    for flow, name in (("ingest", "maandelijks"), ("tweewekelijks", "tweewekelijks-maandag"),
                       ("jaaranalyse", "jaarlijks")):
        dep = api.deployment(flow, name)
        assert dep["work_pool_name"] == POOL
        # The checkout is looked up on the worker at run time, not fixed at deploy time.
        assert dep["pull_steps"] == [{"veiligheidsbeeld.pipeline.set_project_directory": {
            "variable": "VEILIGHEIDSBEELD_PROJECT_DIR"}}]
        (schedule,) = dep["schedules"]
        assert schedule["schedule"]["timezone"] == "Europe/Amsterdam"
    tweewekelijks = api.deployment("tweewekelijks", "tweewekelijks-maandag")
    assert "INTERVAL=2;BYDAY=MO;BYHOUR=6" in tweewekelijks["schedules"][0]["schedule"]["rrule"]
    schema = tweewekelijks["parameter_openapi_schema"]["properties"]
    assert {"report_date", "districts", "source", "warehouse", "raw", "reports"} <= set(schema)


@pytest.fixture(scope="module")
def shared_paths(tmp_path_factory) -> Path:
    """Warehouse, raw and reports of the deployment runs below: what runs share, as in a team setup."""
    return tmp_path_factory.mktemp("team_storage")


def test_tweewekelijks_deployment_runs_on_a_worker_and_stores_reports_and_artifacts(server, data, shared_paths):
    api = Api(server["api"])
    out = shared_paths
    params = {
        "report_date": REPORT_DATE,
        "source": str(data["snapshot"]),
        "warehouse": str(out / "warehouse" / "vb.duckdb"),
        "raw": str(out / "raw"),
        "reports": str(out / "reports"),
        "config": str(data["config"]),
        "pdf": False,
    }
    run_id = api.run("tweewekelijks", "tweewekelijks-maandag", params)
    run = api.wait([run_id], timeout=150)[run_id]
    assert run["state"]["type"] == "COMPLETED", _explain(api, server, run_id)

    # The warehouse was missing, so the flow ingested first, then wrote a report per district.
    reports = out / "reports" / REPORT_DATE / "tweewekelijks"
    html = sorted(p.name for p in reports.glob("*.html"))
    assert "ijsselland.html" in html and "twente.html" in html, html
    assert (out / "warehouse" / "vb.duckdb").is_file()

    artifacts = {a["key"]: a for a in api.artifacts(run_id)}
    assert {"tweewekelijks-samenvatting", "tweewekelijks-kerncijfers", "tweewekelijks-rapporten"} <= set(artifacts)
    summary = artifacts["tweewekelijks-samenvatting"]
    assert summary["type"] == "markdown"
    text = summary["data"]
    for needle in ("Kerncijfers per district", "IJsselland", "Twente", "Laatste maand met gegevens:** december 2023",
                   "SYNTHETISCHE CIJFERS", "november 2022", "Gemeenten met een significante verandering",
                   "ijsselland.html"):
        assert needle in text, needle
    assert artifacts["tweewekelijks-kerncijfers"]["type"] == "table"
    table = artifacts["tweewekelijks-rapporten"]
    assert table["type"] == "table"
    rows = pd.read_json(__import__("io").StringIO(table["data"])) if isinstance(table["data"], str) else pd.DataFrame(table["data"])
    assert len(rows) >= 3 and all(Path(p).is_file() for p in rows["pad"])


def test_a_failed_report_run_still_publishes_its_summary(server, data, shared_paths):
    """A report date before the data: the run fails with the reason, and says so in its artifacts."""
    api = Api(server["api"])
    out = shared_paths
    params = {"report_date": "2013-01-10", "source": str(data["snapshot"]), "config": str(data["config"]),
              "warehouse": str(out / "warehouse" / "vb.duckdb"), "raw": str(out / "raw"),
              "reports": str(out / "reports"), "pdf": False}
    run_id = api.run("tweewekelijks", "tweewekelijks-maandag", params)
    run = api.wait([run_id], timeout=120)[run_id]
    assert run["state"]["type"] == "FAILED", _explain(api, server, run_id)
    text = {a["key"]: a for a in api.artifacts(run_id)}["tweewekelijks-samenvatting"]["data"]
    assert "Geen rapporten gemaakt:" in text and "eerste maand met gegevens" in text
    assert "Geen rapporten geschreven." in text


def test_jaaranalyse_deployment_uses_only_the_paths_it_is_given(server, data, shared_paths):
    """A later run, possibly on another worker, finds the warehouse through its parameters."""
    api = Api(server["api"])
    out = shared_paths
    params = {"year": 2023, "source": str(data["snapshot"]), "warehouse": str(out / "warehouse" / "vb.duckdb"),
              "raw": str(out / "raw"), "reports": str(out / "reports"), "config": str(data["config"]), "pdf": False}
    run_id = api.run("jaaranalyse", "jaarlijks", params)
    run = api.wait([run_id], timeout=150)[run_id]
    assert run["state"]["type"] == "COMPLETED", _explain(api, server, run_id)
    assert list((out / "reports" / "2023" / "jaaranalyse").glob("jaaranalyse-2023-*.html"))
    assert (out / "reports" / "2023" / "overlastdoel" / "overlastdoel-2013-2023.csv").is_file()
    artifacts = {a["key"]: a for a in api.artifacts(run_id)}
    text = artifacts["jaaranalyse-samenvatting"]["data"]
    assert "# Jaaranalyse 2023" in text and "overlast (totaal)" in text and "woninginbraak" in text


def test_two_concurrent_ingest_flows_never_corrupt_the_warehouse(server, data, tmp_path):
    """Two ingest flows at once on one warehouse (and one raw archive): the second waits for the
    writer lock; both complete and the warehouse holds each table once, readable."""
    import duckdb

    out = tmp_path / "shared"
    code = (
        "import runpy, sys; ns = runpy.run_path(sys.argv[1]); "
        "ns['ingest'](source=sys.argv[2], warehouse=sys.argv[3], raw=sys.argv[4], config=sys.argv[5])"
    )
    args = [str(REPO / "flows" / "ingest.py"), str(data["snapshot"]), str(out / "vb.duckdb"), str(out / "raw"),
            str(data["config"])]
    logs = [tmp_path / f"ingest{i}.log" for i in (1, 2)]
    procs = []
    started = datetime.now(timezone.utc)
    try:
        for log in logs:
            fh = open(log, "w")
            procs.append(subprocess.Popen([sys.executable, "-c", code, *args], env=server["env"], cwd=tmp_path,
                                          stdout=fh, stderr=subprocess.STDOUT, start_new_session=True))
        codes = [p.wait(timeout=150) for p in procs]
    finally:
        for p in procs:
            _stop(p)
    assert codes == [0, 0], "\n\n".join(_tail(log) for log in logs)

    api = Api(server["api"])
    r = api.client.post("/flow_runs/filter", json={"flow_runs": {"start_time": {"after_": started.isoformat()}},
                                                    "flows": {"name": {"any_": ["ingest"]}}})
    r.raise_for_status()
    runs = [fr for fr in r.json() if fr["parameters"].get("warehouse") == str(out / "vb.duckdb")]
    assert len(runs) == 2 and all(fr["state"]["type"] == "COMPLETED" for fr in runs)
    spans = sorted((fr["start_time"], fr["end_time"]) for fr in runs)
    assert spans[1][0] < spans[0][1], f"the two flows did not overlap: {spans}"

    con = duckdb.connect(str(out / "vb.duckdb"), read_only=True)
    try:
        tables = con.execute("SELECT table_id, count(*) FROM table_infos GROUP BY 1 ORDER BY 1").fetchall()
        assert tables == [("47022NED", 1), ("47024NED", 1), ("47025NED", 1)]  # the default tables
        facts = con.execute(
            "SELECT table_id, count(*), count(DISTINCT (region_code, type_code, month)) FROM facts_monthly GROUP BY 1"
        ).fetchall()
        assert all(n == distinct and n > 0 for _, n, distinct in facts)  # no cell twice
        months = con.execute("SELECT count(DISTINCT month) FROM facts_monthly WHERE region_code = 'GM1773'").fetchone()[0]
        assert months == 11 * 12 - 1  # 2013-01 … 2023-12 without the missing November 2022
    finally:
        con.close()


def test_serve_runs_the_deployments_in_one_process(server, data, tmp_path):
    """`veiligheidsbeeld serve` (here against the test server instead of Prefect's temporary
    one): it registers the deployments of prefect.yaml itself and runs a triggered flow run in
    its own process, no worker involved. Runs last: it takes over the ingest deployment's name."""
    api = Api(server["api"])
    _stop(server["worker"])  # so the run below can only be picked up by serve
    # serve owns its deployments: start from none (prefect deploy made this one for the worker).
    api.client.delete(f"/deployments/{api.deployment('ingest', 'maandelijks')['id']}").raise_for_status()
    out = tmp_path / "serve"
    env = {**server["env"], "VEILIGHEIDSBEELD_CONFIG": str(data["config"])}
    code = ("import typer; from veiligheidsbeeld.cli.flows import serve; app = typer.Typer(); "
            "app.command()(serve); app()")
    args = ["--alleen", "ingest", "--source", str(data["snapshot"]), "--warehouse", str(out / "vb.duckdb"),
            "--raw", str(out / "raw"), "--project", str(REPO)]
    log = tmp_path / "serve.log"
    with open(log, "w") as fh:
        proc = subprocess.Popen([sys.executable, "-c", code, *args], env=env, cwd=tmp_path, stdout=fh,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while api.client.get("/deployments/name/ingest/maandelijks").status_code != 200:
            assert proc.poll() is None, _tail(log)
            assert time.monotonic() < deadline, f"serve did not register its deployment:\n{_tail(log)}"
            time.sleep(0.5)
        dep = api.deployment("ingest", "maandelijks")
        assert dep["work_pool_name"] is None and dep["parameters"]["warehouse"] == str(out / "vb.duckdb")
        run_id = api.run("ingest", "maandelijks", {})
        run = api.wait([run_id], timeout=120)[run_id]
        assert run["state"]["type"] == "COMPLETED", f"{api.logs(run_id)}\n\nserve log:\n{_tail(log)}"
        assert (out / "vb.duckdb").is_file()
        assert {a["key"] for a in api.artifacts(run_id)} >= {"ingest-samenvatting", "ingest-kerncijfers"}
    finally:
        _stop(proc)
