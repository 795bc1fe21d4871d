"""The periodic-report deployment: its schedules resolve to the period that just closed, with the configured cut-off."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import pytest
import yaml
from prefect.server.schemas.schedules import CronSchedule

from cli.serve import to_runner_deployment
from config.settings import get_settings
from domain.planner import at_local
from domain.report_periods import send_day
from domain.workdays import local_date
from tasks.reporting.build import load_report_config
from tasks.reporting.build import resolve as resolve_with


def resolve(period: str | None, as_of: datetime) -> list[Any]:
    """The periods a run at as_of reports on, with the packaged policy."""
    settings = get_settings()
    return resolve_with(period, as_of, load_report_config(settings.config_dir, settings.enabled_channels))


PREFECT_YAML = Path(__file__).resolve().parent.parent / "prefect.yaml"


def entry() -> dict[str, Any]:
    """The periodic-report entry of prefect.yaml."""
    deployments = yaml.safe_load(PREFECT_YAML.read_text(encoding="utf-8"))["deployments"]
    return next(d for d in deployments if d["name"] == "periodic-report")


def runs(schedule: dict[str, Any], start: datetime, n: int) -> list[datetime]:
    """The next n run times of one schedule, computed by Prefect's own scheduler code."""
    cron = CronSchedule(cron=schedule["cron"], timezone=schedule["timezone"])
    return list(asyncio.run(cron.get_dates(n=n, start=start)))


def parameters(schedule: dict[str, Any]) -> dict[str, Any]:
    """The parameters a scheduled run gets: the deployment's, overridden by the schedule's."""
    return (entry().get("parameters") or {}) | (schedule.get("parameters") or {})


def test_the_deployment_runs_the_report_flow_monthly_and_quarterly_in_vietnam_time() -> None:
    spec = entry()
    assert spec["entrypoint"] == "flows/report.py:periodic_report"
    assert {s["timezone"] for s in spec["schedules"]} == {"Asia/Ho_Chi_Minh"}
    assert sorted(parameters(s)["period"] for s in spec["schedules"]) == ["month", "quarter"]


@pytest.mark.parametrize(
    ("kind", "after", "fires_on", "period", "cutoff", "send_on"),
    [
        # The quarterly run after 01/12/2022 fires on 15/12 at 08:00: Q4/2022, data cut off on 14/12, sent on 20/12.
        ("quarter", date(2022, 12, 1), date(2022, 12, 15), "2022-Q4", date(2022, 12, 14), date(2022, 12, 20)),
        ("quarter", date(2023, 1, 1), date(2023, 3, 15), "2023-Q1", date(2023, 3, 14), date(2023, 3, 20)),
        ("month", date(2022, 10, 1), date(2022, 10, 15), "2022-10", date(2022, 10, 14), date(2022, 10, 20)),
        ("month", date(2023, 8, 1), date(2023, 8, 15), "2023-08", date(2023, 8, 14), date(2023, 8, 21)),
    ],
)
def test_each_scheduled_run_resolves_to_the_period_that_just_closed(
    kind: str, after: date, fires_on: date, period: str, cutoff: date, send_on: date
) -> None:
    schedule = next(s for s in entry()["schedules"] if parameters(s)["period"] == kind)
    fired = runs(schedule, datetime(after.year, after.month, after.day), 1)[0]
    assert local_date(fired) == fires_on and fired.astimezone().utcoffset() is not None
    (resolved,) = resolve(parameters(schedule)["period"], fired)
    assert (resolved.label, resolved.cutoff, send_day(resolved, fired)) == (period, cutoff, send_on)
    # The run comes after the cut-off and no later than the send date: the report goes out on time.
    assert resolved.data_as_of < fired and local_date(fired) <= resolved.due


def test_a_late_quarterly_run_still_reports_the_quarter_that_closed() -> None:
    # Run by hand (or caught up) on 05/01/2023: the last quarter whose data was cut off is Q4/2022 (14/12/2022).
    (resolved,) = resolve("quarter", at_local(date(2023, 1, 5), time(8)))
    assert (resolved.label, resolved.cutoff) == ("2022-Q4", date(2022, 12, 14))


def test_every_quarterly_run_of_a_year_covers_each_quarter_once() -> None:
    schedule = next(s for s in entry()["schedules"] if parameters(s)["period"] == "quarter")
    fired = runs(schedule, datetime(2023, 1, 1), 4)
    assert [resolve("quarter", f)[0].label for f in fired] == ["2023-Q1", "2023-Q2", "2023-Q3", "2023-Q4"]


def test_without_schedule_parameters_a_run_makes_every_configured_frequency() -> None:
    # `dondoc serve` (cli/serve.py) does not pass schedule parameters: period is unset.
    schedule = next(s for s in entry()["schedules"] if parameters(s)["period"] == "quarter")
    fired = runs(schedule, datetime(2022, 12, 1), 1)[0]
    assert [p.label for p in resolve(None, fired)] == ["2022-12", "2022-Q4"]


def test_dondoc_serve_builds_the_deployment() -> None:
    deployment = to_runner_deployment(entry())
    assert deployment.name == "periodic-report"
    assert len(deployment.schedules) == 2
