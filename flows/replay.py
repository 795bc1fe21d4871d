"""Replay a notice on simulated time: the real sweep, follow-ups and outbox, jumping between moments."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NONE
from prefect.states import Completed, State

from config.scenario import load_scenario
from config.settings import get_settings
from domain.workdays import format_date_vi, local_date
from flows.follow_up import IO_RETRIES
from flows.sweep import local_subflows, sweep
from tasks import replay
from tasks.notice_import import import_notice


@task(name="Nhập thông báo", cache_policy=NONE, **IO_RETRIES)
def import_at(notice_path: str, at: datetime) -> int:
    """Import the scenario's notice as if it arrived at the scenario's start."""
    return import_notice(Path(notice_path), get_settings().config_dir, at=at, actor="Văn phòng Tỉnh ủy").notice_id


@task(name="Lập kịch bản", cache_policy=NONE, **IO_RETRIES)
def script(scenario_path: str, notice_id: int) -> list[replay.Step]:
    """Resolve the scenario's routine and events to ordered steps."""
    return replay.expand_steps(load_scenario(Path(scenario_path)), notice_id)


@task(name="Cơ quan trả lời", cache_policy=NONE, **IO_RETRIES)
def answer(steps: list[replay.Step]) -> list[str]:
    """Apply the agencies' scripted answers that are due now."""
    return [replay.apply_step(step) for step in steps]


def _trigger(step: replay.Step) -> datetime:
    """When a step takes effect: an extension when it is approved, anything else when it is sent."""
    return step.approved_at or step.at


@task(name="Thời điểm tiếp theo", cache_policy=NONE, **IO_RETRIES)
def next_moment(after: datetime, upcoming: list[replay.Step], end: datetime) -> datetime | None:
    """The next moment at which anything happens, or None when the replay is over."""
    return replay.next_moment(after, min((_trigger(s) for s in upcoming), default=None), end)


@flow(name="replay", persist_result=False)
def replay_scenario(scenario_path: str) -> State:
    """Replay a scenario from its start to its end on simulated time (as_of), through the real outbox."""
    logger = get_run_logger()
    scenario = load_scenario(Path(scenario_path))
    notice_id = import_at(str(scenario.notice), scenario.start)
    steps = script(scenario_path, notice_id)
    moment: datetime | None = scenario.start
    sweeps = 0
    with local_subflows():
        while moment is not None:
            due = [s for s in steps if _trigger(s) <= moment]
            steps = [s for s in steps if _trigger(s) > moment]
            if due:
                for line in answer(due):
                    logger.info("%s — %s", format_date_vi(local_date(moment)), line)
            sweep(as_of=moment)
            sweeps += 1
            moment = next_moment(moment, steps, scenario.end)
    summary = f"Đã chạy lại {sweeps} lượt quét từ {format_date_vi(local_date(scenario.start))} đến {format_date_vi(local_date(scenario.end))}"
    logger.info(summary)
    return Completed(message=summary, data={"notice_id": notice_id, "sweeps": sweeps})
