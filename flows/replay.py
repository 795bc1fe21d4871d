"""Replay a notice on simulated time: the real sweep, follow-ups and outbox, jumping between moments."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from prefect import flow, get_run_logger
from prefect.client.schemas.objects import State
from prefect.runtime import flow_run
from prefect.states import Completed

from config.scenario import load_scenario
from domain.workdays import format_date_vi, local_date
from flows.sweep import local_subflows, sweep
from tasks.replay import answer, import_at, next_moment_after, script, step_trigger


def _replay_name() -> str:
    """Name a replay by its scenario and period, e.g. "Chạy lại ocop-2022: 09/09/2022–31/03/2023"."""
    path = Path(str(flow_run.parameters["scenario_path"]))
    scenario = load_scenario(path)
    period = f"{format_date_vi(local_date(scenario.start))}–{format_date_vi(local_date(scenario.end))}"
    return f"Chạy lại {path.stem}: {period}"


@flow(name="replay", flow_run_name=_replay_name, persist_result=False)
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
            due = [s for s in steps if step_trigger(s) <= moment]
            steps = [s for s in steps if step_trigger(s) > moment]
            if due:
                for line in answer(due):
                    logger.info("%s — %s", format_date_vi(local_date(moment)), line)
            sweep(as_of=moment)
            sweeps += 1
            moment = next_moment_after(moment, steps, scenario.end)
    summary = f"Đã chạy lại {sweeps} lượt quét từ {format_date_vi(local_date(scenario.start))} đến {format_date_vi(local_date(scenario.end))}"
    logger.info(summary)
    return Completed(message=summary, data={"notice_id": notice_id, "sweeps": sweeps})
