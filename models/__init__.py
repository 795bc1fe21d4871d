"""SQLModel tables and the lazily created engine."""

from models import intake, reports  # noqa: F401  (their tables register on SQLModel.metadata)
from models.db import build_engine, get_engine, reset_engine
from models.tables import (
    Agency,
    AgencyContact,
    Assignment,
    AssignmentStatus,
    AuditEvent,
    DeadlineChange,
    Directive,
    ExtensionRequest,
    ExtensionRequestState,
    Notice,
    NoticeMonitor,
    Notification,
    NotificationState,
    Priority,
    Role,
    StatusUpdate,
)

__all__ = [
    "Agency",
    "AgencyContact",
    "Assignment",
    "AssignmentStatus",
    "AuditEvent",
    "DeadlineChange",
    "Directive",
    "ExtensionRequest",
    "ExtensionRequestState",
    "Notice",
    "NoticeMonitor",
    "Notification",
    "NotificationState",
    "Priority",
    "Role",
    "StatusUpdate",
    "build_engine",
    "get_engine",
    "reset_engine",
]
