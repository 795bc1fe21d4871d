"""dondoc's tables: agencies, notices, directives, assignments and their history."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Index, String, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime, utcnow


class Role(StrEnum):
    """An agency's role in a directive: chủ trì or phối hợp."""

    lead = "lead"
    support = "support"


class AssignmentStatus(StrEnum):
    """Lifecycle: assigned → acknowledged → in_progress → done, plus withdrawn."""

    assigned = "assigned"
    acknowledged = "acknowledged"
    in_progress = "in_progress"
    done = "done"
    withdrawn = "withdrawn"


class Priority(StrEnum):
    """Directive priority; urgent directives follow their own ladder."""

    normal = "normal"
    urgent = "urgent"


class NotificationState(StrEnum):
    """Outbox row state."""

    pending = "pending"
    sending = "sending"
    sent = "sent"
    failed = "failed"
    dead = "dead"
    cancelled = "cancelled"


def _check_in(column: str, enum: type[StrEnum], name: str) -> CheckConstraint:
    """Build a CHECK constraint that limits a string column to an enum's values."""
    values = ", ".join(f"'{member.value}'" for member in enum)
    return CheckConstraint(f"{column} IN ({values})", name=name)


class Agency(SQLModel, table=True):
    """A body that gives, receives or monitors directives; synced from config/agencies.yaml."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_type=String(64), unique=True, index=True)
    name: str = Field(sa_type=String(255))
    short_name: str | None = Field(default=None, sa_type=String(128))
    kind: str = Field(sa_type=String(32))
    escalates_to_id: int | None = Field(default=None, foreign_key="agency.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AgencyContact(SQLModel, table=True):
    """One way to reach an agency or its head: an email address, a Zalo user, an Apprise URL."""

    __table_args__ = (UniqueConstraint("agency_id", "channel", "address", name="uq_contact_agency_channel_address"),)

    id: int | None = Field(default=None, primary_key=True)
    agency_id: int = Field(foreign_key="agency.id", index=True)
    name: str | None = Field(default=None, sa_type=String(255))
    role: str = Field(default="office", sa_type=String(32))
    channel: str = Field(sa_type=String(32))
    address: str = Field(sa_type=String(512))
    active: bool = True


class Notice(SQLModel, table=True):
    """A conclusion notice (Thông báo kết luận)."""

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(sa_type=String(64), unique=True, index=True)
    number_is_placeholder: bool = False
    issued_on: date
    issuer_id: int = Field(foreign_key="agency.id")
    title: str = Field(sa_type=Text)
    source_text: str | None = Field(default=None, sa_type=Text)
    source_file: str | None = Field(default=None, sa_type=String(1024))
    spec_hash: str = Field(sa_type=String(64))
    spec_yaml: str = Field(sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class NoticeMonitor(SQLModel, table=True):
    """A body that monitors a notice (directive 2.7: Ban Dân vận chủ trì, Văn phòng Tỉnh ủy phối hợp)."""

    __table_args__ = (
        UniqueConstraint("notice_id", "agency_id", name="uq_monitor_notice_agency"),
        _check_in("role", Role, "ck_monitor_role"),
    )

    id: int | None = Field(default=None, primary_key=True)
    notice_id: int = Field(foreign_key="notice.id", index=True)
    agency_id: int = Field(foreign_key="agency.id")
    role: str = Field(default=Role.lead, sa_type=String(16))


class Directive(SQLModel, table=True):
    """One numbered item of a notice, with its deadline rule and the sweep's next action time."""

    __table_args__ = (
        UniqueConstraint("notice_id", "number", name="uq_directive_notice_number"),
        _check_in("priority", Priority, "ck_directive_priority"),
        # The sweep's one query: WHERE next_action_at <= :now. A status change sets it to now.
        Index("ix_directive_next_action_at", "next_action_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    notice_id: int = Field(foreign_key="notice.id", index=True)
    number: str = Field(sa_type=String(32))
    position: int
    text: str = Field(sa_type=Text)
    deadline_phrase: str | None = Field(default=None, sa_type=Text)
    deadline_rule: dict[str, Any] = Field(sa_type=JSON)
    recurrence: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    priority: str = Field(default=Priority.normal, sa_type=String(16))
    due_date: date | None = None
    due_explanation: str | None = Field(default=None, sa_type=Text)
    next_action_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_followed_up_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Assignment(SQLModel, table=True):
    """One directive given to one agency, as lead (chủ trì) or support (phối hợp)."""

    __table_args__ = (
        UniqueConstraint("directive_id", "agency_id", name="uq_assignment_directive_agency"),
        _check_in("role", Role, "ck_assignment_role"),
        _check_in("status", AssignmentStatus, "ck_assignment_status"),
        CheckConstraint("percent BETWEEN 0 AND 100", name="ck_assignment_percent"),
    )

    id: int | None = Field(default=None, primary_key=True)
    directive_id: int = Field(foreign_key="directive.id", index=True)
    agency_id: int = Field(foreign_key="agency.id", index=True)
    role: str = Field(sa_type=String(16))
    status: str = Field(default=AssignmentStatus.assigned, sa_type=String(16))
    percent: int = 0
    due_date: date | None = None
    # The agency's own task (its sentences of the directive), quoted in its messages; NULL on rows
    # imported before it existed, which show the directive's text instead.
    task: str | None = Field(default=None, sa_type=Text)
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    withdrawn_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class DeadlineChange(SQLModel, table=True):
    """The deadline history of an assignment: the original due date, then each extension (gia hạn)."""

    __table_args__ = (CheckConstraint("kind IN ('original', 'extension', 'revision')", name="ck_deadline_kind"),)

    id: int | None = Field(default=None, primary_key=True)
    assignment_id: int = Field(foreign_key="assignment.id", index=True)
    kind: str = Field(sa_type=String(16))
    due_date: date | None = None
    reason: str | None = Field(default=None, sa_type=Text)
    requested_by: str | None = Field(default=None, sa_type=String(255))
    approved_by: str | None = Field(default=None, sa_type=String(255))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class StatusUpdate(SQLModel, table=True):
    """A progress report (báo cáo tiến độ); append-only, never edited or deleted."""

    __table_args__ = (
        _check_in("status", AssignmentStatus, "ck_update_status"),
        CheckConstraint("percent IS NULL OR percent BETWEEN 0 AND 100", name="ck_update_percent"),
    )

    id: int | None = Field(default=None, primary_key=True)
    assignment_id: int = Field(foreign_key="assignment.id", index=True)
    reported_at: datetime = Field(sa_type=UTCDateTime)
    reported_by: str = Field(sa_type=String(255))
    source: str = Field(sa_type=String(32))
    status: str = Field(sa_type=String(16))
    percent: int | None = None
    note: str | None = Field(default=None, sa_type=Text)
    document_number: str | None = Field(default=None, sa_type=String(128))
    evidence_url: str | None = Field(default=None, sa_type=String(2048))
    # The date the report itself claims (a polled item's reported_at, a spreadsheet's «Ngày báo cáo»):
    # kept and shown, never used for timeliness, which rests on reported_at (when dondoc received it).
    declared_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Notification(SQLModel, table=True):
    """An outbox row: one message to one recipient on one channel, sent at most once per key."""

    __table_args__ = (
        _check_in("state", NotificationState, "ck_notification_state"),
        # The dispatcher's claim query: WHERE state = 'pending' AND next_attempt_at <= :now.
        Index("ix_notification_state_next_attempt", "state", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(sa_type=String(255), unique=True)
    # The planner's key (one per message and recipient agency); a row adds channel and address.
    plan_key: str = Field(sa_type=String(255), index=True)
    kind: str = Field(sa_type=String(32))
    escalation_level: int | None = None
    notice_id: int | None = Field(default=None, foreign_key="notice.id", index=True)
    directive_id: int | None = Field(default=None, foreign_key="directive.id", index=True)
    assignment_id: int | None = Field(default=None, foreign_key="assignment.id", index=True)
    recipient_agency_id: int | None = Field(default=None, foreign_key="agency.id")
    contact_id: int | None = Field(default=None, foreign_key="agencycontact.id")
    channel: str = Field(sa_type=String(32))
    address: str = Field(sa_type=String(512))
    subject: str = Field(default="", sa_type=Text)
    body_text: str = Field(default="", sa_type=Text)
    body_html: str | None = Field(default=None, sa_type=Text)
    payload: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    state: str = Field(default=NotificationState.pending, sa_type=String(16))
    planned_at: datetime = Field(sa_type=UTCDateTime)
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Which dispatcher holds the lease: results are recorded only by the lease holder.
    lease_owner: str | None = Field(default=None, sa_type=String(64))
    attempts: int = 0
    provider_message_id: str | None = Field(default=None, sa_type=String(255))
    last_error: str | None = Field(default=None, sa_type=Text)
    error_history: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AuditEvent(SQLModel, table=True):
    """Who changed what and when; the trail inspection bodies read."""

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    actor: str = Field(sa_type=String(255))
    action: str = Field(sa_type=String(64))
    entity_type: str = Field(sa_type=String(32))
    entity_id: int | None = None
    details: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class ExtensionRequestState(StrEnum):
    """An extension request: waiting for a coordinator, decided, timed out, or never handed to a review run."""

    pending = "pending"
    approved = "approved"
    rejected = "rejected"
    expired = "expired"
    abandoned = "abandoned"


class ExtensionRequest(SQLModel, table=True):
    """An agency's request for more time (đề nghị gia hạn); at most one pending per assignment, by the database."""

    __tablename__ = "extension_request"
    __table_args__ = (
        _check_in("state", ExtensionRequestState, "ck_extension_request_state"),
        # Two requests racing for one assignment: the second insert fails here, before any review run starts.
        Index(
            "uq_extension_request_one_pending",
            "assignment_id",
            unique=True,
            sqlite_where=text("state = 'pending'"),
            postgresql_where=text("state = 'pending'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    assignment_id: int = Field(foreign_key="assignment.id", index=True)
    state: str = Field(default=ExtensionRequestState.pending, sa_type=String(16))
    until: date
    reason: str = Field(sa_type=Text)
    requested_by: str = Field(sa_type=String(255))
    run_id: str | None = Field(default=None, sa_type=String(64))
    run_name: str | None = Field(default=None, sa_type=String(255))
    decided_by: str | None = Field(default=None, sa_type=String(255))
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
