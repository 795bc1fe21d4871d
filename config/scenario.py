"""Replay scenarios (config/scenarios/*.yaml): scripted agency answers on simulated time."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from config.loader import load_model
from domain.workdays import VN_TZ


def vietnam_time(value: datetime) -> datetime:
    """Read a scenario time: without an offset it is Vietnam time; store it as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=VN_TZ)
    return value.astimezone(UTC)


class _Strict(BaseModel):
    """Scenario models refuse unknown keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ExtensionStep(_Strict):
    """An extension request and its approval."""

    until: date
    reason: str = Field(min_length=1)
    approved_by: str = Field(min_length=1)
    approved_at: datetime

    _utc = field_validator("approved_at")(vietnam_time)


class ScenarioEvent(_Strict):
    """One agency's answer on one directive at one moment."""

    at: datetime
    directive: str
    agency: str
    status: Literal["acknowledged", "in_progress", "done"] | None = None
    percent: int | None = Field(default=None, ge=0, le=100)
    note: str | None = None
    document_number: str | None = None
    extension: ExtensionStep | None = None
    # The agency answers the last e-mail dondoc sent it with this text (read like any reply, issue 15).
    reply: str | None = Field(default=None, min_length=1)

    _utc = field_validator("at")(vietnam_time)

    @model_validator(mode="after")
    def _one_thing(self) -> ScenarioEvent:
        """An event is a status report, an extension or an e-mail reply: exactly one of them."""
        if sum(x is not None for x in (self.status, self.extension, self.reply)) != 1:
            raise ValueError("mỗi sự kiện cần đúng một trong ba: status, extension hoặc reply")
        return self


class Routine(_Strict):
    """Agencies that acknowledge and report on time without being scripted one by one."""

    agencies: list[str] = Field(default_factory=list)
    acknowledge_after: int = Field(default=1, ge=0)
    report_before_due: int = Field(default=2, ge=0)


class Scenario(_Strict):
    """A whole replay: the notice, the simulated period, routine agencies and scripted events."""

    notice: Path
    start: datetime
    end: datetime
    routine: Routine = Routine()
    events: list[ScenarioEvent] = Field(default_factory=list)

    _utc = field_validator("start", "end")(vietnam_time)

    @model_validator(mode="after")
    def _ordered(self) -> Scenario:
        """The period runs forwards."""
        if self.end <= self.start:
            raise ValueError("end phải sau start")
        return self


def load_scenario(path: Path) -> Scenario:
    """Load and validate a scenario; the notice path is relative to the scenario file."""
    scenario = load_model(path, Scenario)
    return scenario.model_copy(update={"notice": (path.parent / scenario.notice).resolve()})
