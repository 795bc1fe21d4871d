"""The delivery policy types: send window, retries, digests, wording and ZNS mappings."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Literal

import pendulum
from jinja2 import TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment
from pydantic import AfterValidator, Field, ValidationInfo, field_validator

from domain.backoff import UniformSource, backoff_delay
from domain.policy import StrictModel
from domain.workdays import VN_TZ, WorkCalendar

Kind = Literal[
    "assigned",
    "acknowledge",
    "reminder",
    "due",
    "overdue",
    "escalation",
    "extension_approved",
    "extension_rejected",
    "report",
    "digest",
]
Channel = Literal["email", "zalo", "zns", "apprise", "mailbox"]
DIGEST_CHANNELS: tuple[Channel, ...] = ("email", "mailbox", "zalo", "apprise")

# ZNS expressions are configuration, not code: a sandbox keeps them to reading the payload.
ZNS_ENV = SandboxedEnvironment(autoescape=False, keep_trailing_newline=False)


class SendWindow(StrictModel):
    """Working hours on working days (Asia/Ho_Chi_Minh) in which messages may go out."""

    start: time = time(7, 30)
    end: time = time(17, 0)
    working_days_only: bool = True
    bypass_kinds: list[Kind] = Field(default_factory=list, description="Kinds sent at any hour.")

    @field_validator("end")
    @classmethod
    def _start_before_end(cls, end: time, info: ValidationInfo) -> time:
        """The window opens before it closes, within one day (reported on the `end` line)."""
        start = info.data.get("start")
        if start is not None and start >= end:
            raise ValueError(f"giờ mở ({start:%H:%M}) phải trước giờ đóng ({end:%H:%M})")
        return end

    def is_open(self, moment: datetime, calendar: WorkCalendar) -> bool:
        """True when moment (aware) lies inside the window."""
        local = pendulum.instance(moment).in_tz(VN_TZ)
        if self.working_days_only and not calendar.is_working_day(local.date()):
            return False
        return self.start <= local.time() < self.end

    def next_opening(self, moment: datetime, calendar: WorkCalendar) -> datetime:
        """The first window opening after moment, as an aware UTC datetime."""
        local = pendulum.instance(moment).in_tz(VN_TZ)
        day: date = local.date()
        if local.time() >= self.start:
            day += timedelta(days=1)
        while self.working_days_only and not calendar.is_working_day(day):
            day += timedelta(days=1)
        opening = pendulum.datetime(day.year, day.month, day.day, self.start.hour, self.start.minute, tz=VN_TZ)
        return datetime.fromtimestamp(opening.timestamp(), tz=UTC)


class RetryPolicy(StrictModel):
    """Exponential backoff with jitter; a message is dead after max_attempts failed attempts."""

    base_seconds: float = Field(default=120, gt=0)
    factor: float = Field(default=3, ge=1)
    max_seconds: float = Field(default=21600, gt=0)
    jitter: float = Field(default=0.25, ge=0, le=1, description="± fraction of the delay, drawn at random.")
    max_attempts: int = Field(default=6, ge=1, le=100)

    def delay(self, attempt: int, rng: UniformSource) -> timedelta:
        """Wait before attempt+1, after `attempt` failed attempts (1-based), jittered and capped."""
        seconds = backoff_delay(
            attempt,
            base_seconds=self.base_seconds,
            cap_seconds=self.max_seconds,
            jitter=self.jitter,
            factor=self.factor,
            rng=rng,
        )
        return timedelta(seconds=seconds)


class DigestPolicy(StrictModel):
    """Several messages for one address claimed together go out as one digest."""

    enabled: bool = True
    channels: list[Channel] = Field(default_factory=lambda: list(DIGEST_CHANNELS))
    max_items: int = Field(default=25, ge=2, le=200, description="Longer lists are split into several digests.")


def _compiles(source: str) -> str:
    """A ZNS parameter must be a valid Jinja template, so a typo fails at load time with its line."""
    try:
        ZNS_ENV.from_string(source)
    except TemplateSyntaxError as exc:
        raise ValueError(f"biểu thức Jinja không hợp lệ ({exc.message})") from None
    return source


JinjaExpression = Annotated[str, AfterValidator(_compiles)]


class ZnsTemplate(StrictModel):
    """One approved ZNS template: its id and how to fill its parameters from the message payload."""

    template_id: str = Field(pattern=r"^\d{1,20}$")
    data: dict[str, JinjaExpression] = Field(min_length=1, description="Parameter → Jinja expression over the payload.")
    max_length: int = Field(default=100, ge=1, le=2000, description="Longest value of any one parameter.")


class NotificationPolicy(StrictModel):
    """How the outbox delivers: window, leases, retries, digests, wording and ZNS mappings."""

    send_window: SendWindow = Field(default_factory=SendWindow)
    lease_seconds: int = Field(default=120, ge=1, le=3600)
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    digest: DigestPolicy = Field(default_factory=DigestPolicy)
    sender_name: str = Field(default="Văn phòng Tỉnh ủy", min_length=1, description="Signature of every message.")
    report_contact: str = Field(default="Văn phòng Tỉnh ủy", min_length=1, description="Whom to contact to report.")
    mailbox_from: str = Field(default="dondoc@localhost", min_length=3)
    zns_templates: dict[Kind, ZnsTemplate] = Field(default_factory=dict)

    def zns_template(self, kind: str) -> ZnsTemplate | None:
        """The ZNS template configured for a message kind (any string: rows carry plain text), or None."""
        return next((template for key, template in self.zns_templates.items() if key == kind), None)


__all__ = [
    "ZNS_ENV",
    "Channel",
    "DigestPolicy",
    "Kind",
    "NotificationPolicy",
    "RetryPolicy",
    "SendWindow",
    "ZnsTemplate",
]
