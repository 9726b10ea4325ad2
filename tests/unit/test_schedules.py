"""The schedules of prefect.yaml across daylight saving time, computed by Prefect's own classes.

Each schedule goes the way the scheduler sees it: the prefect.yaml entry is turned into a client
schedule (by ``prefect deploy``'s own function, and by ``veiligheidsbeeld serve``), serialised to
JSON as the API stores it, read back as the *server* schedule, and asked for its runs with
``get_dates`` — the call the server's scheduler service makes. Europe/Amsterdam changes to CEST
on the last Sunday of March and back to CET on the last Sunday of October.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from prefect.server.schemas import schedules as server_schedules

from veiligheidsbeeld.deployments import deployment_specs, schedule_from_config

REPO = Path(__file__).resolve().parents[2]
AMS = ZoneInfo("Europe/Amsterdam")
UTC = timezone.utc
YEARS = range(2025, 2031)


def _yaml_deployments() -> dict[str, dict]:
    data = yaml.safe_load((REPO / "prefect.yaml").read_text(encoding="utf-8"))
    return {d["name"]: d for d in data["deployments"]}


def _deploy_path(config: dict):
    """The client schedule exactly as `prefect deploy` builds it from prefect.yaml."""
    module = pytest.importorskip("prefect.cli.deploy._schedules")
    return module._schedule_config_to_deployment_schedule(config)["schedule"]


def _as_server(client_schedule):
    """Through the API's JSON into the server-side class, as the scheduler service reads it."""
    cls = getattr(server_schedules, type(client_schedule).__name__)
    return cls.model_validate(client_schedule.model_dump(mode="json"))


def _dates(schedule, start: datetime, end: datetime) -> list[datetime]:
    return asyncio.run(schedule.get_dates(start=start, end=end))


def _last_sunday(year: int, month: int) -> date:
    d = date(year, month + 1, 1) - timedelta(days=1)
    return d - timedelta(days=(d.weekday() - 6) % 7)


def _server_schedules(name: str):
    """The deployment's schedule by both routes (deploy and serve); they must agree."""
    (config,) = _yaml_deployments()[name]["schedules"]
    return {"prefect deploy": _as_server(_deploy_path(config)), "veiligheidsbeeld serve": _as_server(schedule_from_config(config))}


# ---------------------------------------------------------------------------------------------
# tweewekelijks: every other Monday at 06:00 Europe/Amsterdam
# ---------------------------------------------------------------------------------------------


def _intended_mondays(first: date, last: date) -> list[datetime]:
    """Every other Monday from the rule's first Monday (6 January 2025), at 06:00 local time."""
    anchor = date(2025, 1, 6)
    out, d = [], anchor
    while d <= last:
        if d >= first:
            out.append(datetime.combine(d, time(6, 0), tzinfo=AMS))
        d += timedelta(days=14)
    return out


@pytest.mark.parametrize("route", ["prefect deploy", "veiligheidsbeeld serve"])
def test_tweewekelijks_runs_once_on_every_other_monday_at_six_local(route):
    schedule = _server_schedules("tweewekelijks-maandag")[route]
    start = datetime(YEARS[0], 1, 1, tzinfo=AMS)
    end = datetime(YEARS[-1], 12, 31, 23, 59, tzinfo=AMS)
    runs = _dates(schedule, start, end)
    intended = _intended_mondays(start.date(), end.date())

    local = [r.astimezone(AMS) for r in runs]
    assert [r.astimezone(UTC) for r in runs] == [i.astimezone(UTC) for i in intended]
    assert all(r.weekday() == 0 and (r.hour, r.minute, r.second) == (6, 0, 0) for r in local)
    assert len({r.astimezone(UTC) for r in runs}) == len(runs)  # no instant twice
    assert all((b.date() - a.date()).days == 14 for a, b in zip(local, local[1:]))
    # Across every DST change: the run before and after it are both at 06:00 local, so the UTC
    # gap is 14 days minus (March) or plus (October) one hour — never a skipped or extra run.
    for year in YEARS:
        for month, utc_gap in ((3, timedelta(days=14, hours=-1)), (10, timedelta(days=14, hours=1))):
            change = datetime.combine(_last_sunday(year, month), time(3, 0), tzinfo=AMS)
            before = max(r for r in runs if r < change)
            after = min(r for r in runs if r > change)
            assert after - before == utc_gap, (year, month, before, after)
            assert before.astimezone(AMS).utcoffset() != after.astimezone(AMS).utcoffset()


def test_the_dst_mondays_are_in_the_series():
    # The rule was chosen so that runs fall on the Mondays right after the 2025 and 2026 changes
    # (the worst case), and the test above covers them.
    runs = {r.astimezone(AMS).date() for r in _intended_mondays(date(2025, 1, 1), date(2026, 12, 31))}
    assert {date(2025, 3, 31), date(2025, 10, 27), date(2026, 3, 30)} <= runs


@pytest.mark.parametrize("month", [3, 10])
@pytest.mark.parametrize("year", [2025, 2026, 2027])
def test_scheduler_refills_around_a_dst_change_never_duplicate_or_skip(year, month):
    """The scheduler asks for the next runs again and again (every few seconds on a server, each
    start in a different offset across the change). Asking from every quarter hour between the
    Saturday before a change and the Tuesday after must give the same runs, with the same
    timestamp for the same instant (Prefect de-duplicates scheduled runs by their time)."""
    schedule = _server_schedules("tweewekelijks-maandag")["prefect deploy"]
    change = _last_sunday(year, month)
    start = datetime.combine(change - timedelta(days=1), time(0, 0), tzinfo=AMS)
    horizon = datetime.combine(change + timedelta(days=30), time(0, 0), tzinfo=AMS)
    reference = _dates(schedule, start, horizon)
    expected_utc = [r.astimezone(UTC) for r in reference]
    seen: dict[datetime, set[str]] = {}
    t = start.astimezone(UTC)
    while t < datetime.combine(change + timedelta(days=2), time(0, 0), tzinfo=AMS):
        for run in asyncio.run(schedule.get_dates(n=3, start=t)):
            seen.setdefault(run.astimezone(UTC), set()).add(run.astimezone(UTC).isoformat())
            assert run >= t
            assert run.astimezone(AMS).weekday() == 0 and run.astimezone(AMS).hour == 6
        t += timedelta(minutes=15)
    within = sorted(u for u in seen if u <= horizon.astimezone(UTC))
    assert within == [u for u in expected_utc if u >= within[0]]
    assert all(len(keys) == 1 for keys in seen.values())


# ---------------------------------------------------------------------------------------------
# ingest (monthly) and jaaranalyse (yearly): cron in Europe/Amsterdam
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("route", ["prefect deploy", "veiligheidsbeeld serve"])
def test_ingest_runs_once_a_month_on_the_15th_at_five_local(route):
    schedule = _server_schedules("maandelijks")[route]
    runs = _dates(schedule, datetime(YEARS[0], 1, 1, tzinfo=AMS), datetime(YEARS[-1], 12, 31, tzinfo=AMS))
    local = [r.astimezone(AMS) for r in runs]
    assert [(r.year, r.month) for r in local] == [(y, m) for y in YEARS for m in range(1, 13)]
    assert all((r.day, r.hour, r.minute) == (15, 5, 0) for r in local)


@pytest.mark.parametrize("route", ["prefect deploy", "veiligheidsbeeld serve"])
def test_jaaranalyse_runs_once_a_year_on_20_february_at_seven_local(route):
    schedule = _server_schedules("jaarlijks")[route]
    runs = _dates(schedule, datetime(YEARS[0], 1, 1, tzinfo=AMS), datetime(YEARS[-1], 12, 31, tzinfo=AMS))
    local = [r.astimezone(AMS) for r in runs]
    assert [r.year for r in local] == list(YEARS)
    assert all((r.month, r.day, r.hour, r.minute) == (2, 20, 7, 0) for r in local)


def test_serve_and_deploy_read_the_same_schedules():
    for spec in deployment_specs(REPO):
        config = _yaml_deployments()[spec.name]["schedules"]
        assert [s.model_dump(mode="json") for s in spec.schedules] == [
            _deploy_path(c).model_dump(mode="json") for c in config
        ]
        for schedule in spec.schedules:
            assert getattr(schedule, "timezone", None) == "Europe/Amsterdam"


def test_a_plain_cron_cannot_say_every_other_week():
    """Why the biweekly schedule is an RRule: '0 6 * * 1' runs every Monday — twice too often."""
    cron = server_schedules.CronSchedule(cron="0 6 * * 1", timezone="Europe/Amsterdam")
    runs = _dates(cron, datetime(2025, 3, 1, tzinfo=AMS), datetime(2025, 4, 30, tzinfo=AMS))
    rrule = _server_schedules("tweewekelijks-maandag")["prefect deploy"]
    biweekly = _dates(rrule, datetime(2025, 3, 1, tzinfo=AMS), datetime(2025, 4, 30, tzinfo=AMS))
    assert len(runs) == 9 and len(biweekly) == 5
