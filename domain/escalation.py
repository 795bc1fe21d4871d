"""The follow-up and escalation policy types: reminders before the due date and the overdue ladder."""

from __future__ import annotations

from datetime import time
from typing import Literal

from pydantic import Field, field_validator, model_validator

from domain.policy import StrictModel

Recipient = Literal["assignee", "assignee_head", "supervisor", "monitor", "issuer"]
Priority = Literal["normal", "urgent"]
Role = Literal["lead", "support"]
ROLES: tuple[Role, ...] = ("lead", "support")


class LadderLevel(StrictModel):
    """One rung: after N working days overdue, notify these recipients."""

    level: int = Field(ge=1)
    after: int = Field(ge=1, description="working days overdue")
    notify: list[Recipient] = Field(min_length=1)


class RepeatTop(StrictModel):
    """Repeat the top rung every N working days, at most max times."""

    every: int = Field(ge=1)
    max: int = Field(ge=0)


class Ladder(StrictModel):
    """Reminders before the due date and the overdue ladder for one priority."""

    reminders_before_due: list[int] = Field(default_factory=list)
    overdue: list[LadderLevel] = Field(min_length=1)
    repeat_top: RepeatTop = RepeatTop(every=5, max=0)

    @field_validator("reminders_before_due")
    @classmethod
    def _reminders_sorted(cls, value: list[int]) -> list[int]:
        """Reminders are distinct, non-negative working-day offsets, earliest first."""
        if any(v < 0 for v in value) or len(set(value)) != len(value):
            raise ValueError("reminders_before_due phải là các số ngày làm việc không âm, không trùng nhau")
        return sorted(value, reverse=True)

    @model_validator(mode="after")
    def _levels_climb(self) -> Ladder:
        """Levels are numbered 1, 2, 3… and each comes later than the one before."""
        if [rung.level for rung in self.overdue] != list(range(1, len(self.overdue) + 1)):
            raise ValueError("các bậc (level) phải đánh số liên tiếp từ 1")
        afters = [rung.after for rung in self.overdue]
        if afters != sorted(set(afters)):
            raise ValueError("số ngày quá hạn (after) của các bậc phải tăng dần")
        return self


class EscalationPolicy(StrictModel):
    """The whole follow-up policy."""

    notify_on_assignment: list[Role] = Field(default_factory=lambda: list(ROLES))
    acknowledge_within: int | None = Field(default=2, ge=1)
    quiet_after_update: int = Field(default=3, ge=0)
    send_at: time = time(8, 0)
    ladders: dict[Priority, Ladder]

    @model_validator(mode="after")
    def _has_normal(self) -> EscalationPolicy:
        """The normal ladder must exist; urgent falls back to it."""
        if "normal" not in self.ladders:
            raise ValueError("thiếu ladders.normal")
        return self

    def ladder(self, priority: str) -> Ladder:
        """Return the ladder for a directive's priority."""
        for key, ladder in self.ladders.items():
            if key == priority:
                return ladder
        return self.ladders["normal"]


__all__ = ["EscalationPolicy", "Ladder", "LadderLevel", "Priority", "Recipient", "RepeatTop"]
