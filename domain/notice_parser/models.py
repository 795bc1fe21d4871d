"""What the notice parser returns: a reviewable draft where every value carries a confidence and its source span."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

# Below this confidence the draft writer asks a person to check the value.
REVIEW_THRESHOLD = 0.75


class MentionRole(StrEnum):
    """What a named body does in a directive: lead (chủ trì), support (phối hợp), or neither."""

    LEAD = "lead"
    SUPPORT = "support"
    RECIPIENT = "recipient"
    OTHER = "other"

    @property
    def assigns_work(self) -> bool:
        """True for the two roles that make a body an assignee."""
        return self in (MentionRole.LEAD, MentionRole.SUPPORT)


class Priority(StrEnum):
    """A directive's priority in the notice file."""

    NORMAL = "normal"
    URGENT = "urgent"


class NoticeParseError(ValueError):
    """Text that cannot be drafted as a notice; reason_vi says why in Vietnamese, line where known."""

    def __init__(self, source_name: str, reason_vi: str, line: int | None = None):
        self.source_name = source_name
        self.reason_vi = reason_vi
        self.line = line
        where = f"{source_name}:{line}" if line else source_name
        super().__init__(f"{where}: {reason_vi}")


class SourceSpan(BaseModel):
    """Where a value came from: character offsets in the NFC text and 1-based lines."""

    start: int
    end: int
    line_start: int
    line_end: int


class MetaValue(BaseModel):
    """One metadata value with its confidence, source and an optional note for the reviewer."""

    value: str | None = None
    raw: str | None = None
    confidence: float = 0.0
    span: SourceSpan | None = None
    note: str | None = None


class AgencyRefDraft(BaseModel):
    """An agency named in a directive, resolved against the directory (or flagged as unknown)."""

    surface: str = Field(description="The name as the text writes it.")
    code: str | None = Field(default=None, description="Agency or group code; None when unknown.")
    is_group: bool = False
    members: list[str] = Field(default_factory=list)
    known: bool = True
    role: MentionRole
    confidence: float
    span: SourceSpan
    reason: str = Field(description="Why this role, in Vietnamese.")
    inherited: bool = False
    suggestions: list[str] = Field(default_factory=list)
    generic: bool = Field(default=False, description="A collective phrase ('các đơn vị có liên quan') to expand.")
    body_type: str | None = Field(
        default=None, description="For a body outside the directory: its standard type ('Sở (cấp tỉnh)'), if any."
    )

    def outside_directory_note(self) -> str:
        """The reviewer's note for a body outside the directory: its type when the national list knows it."""
        hint = f"; gần giống: {', '.join(self.suggestions)}" if self.suggestions else ""
        if self.body_type:
            return (
                f"«{self.surface}»: cơ quan ngoài danh mục, loại: {self.body_type} — thêm vào danh mục "
                f"(config/agencies.yaml hoặc dondoc agencies import) hoặc sửa tên{hint}"
            )
        return f"«{self.surface}» không có trong danh mục cơ quan — thêm vào config/agencies.yaml hoặc sửa tên{hint}"

    @property
    def yaml_agency(self) -> str:
        """What the notice file should name: the code, the group phrase, or the unknown name."""
        if self.known and self.is_group:
            return self.surface
        return self.code if self.known and self.code else self.surface


class DirectiveDeadline(BaseModel):
    """The deadline and recurrence found in one directive."""

    phrase: str | None = None
    rule: dict[str, Any] | None = None
    recurrence: str | None = Field(default=None, description="month, quarter, half_year, year, or 'unspecified'.")
    recurrence_phrase: str | None = None
    priority: Priority = Priority.NORMAL
    confidence: float = 0.0
    span: SourceSpan | None = None
    notes: list[str] = Field(default_factory=list)


# The value of DirectiveDeadline.recurrence when the notice says "định kỳ" without a period.
UNSPECIFIED_RECURRENCE = "unspecified"


class ParsedDirective(BaseModel):
    """One directive: number, exact text, position, agencies with roles, deadline; all with confidence."""

    number: str
    label: str | None = Field(
        default=None, description="The marker as written ('2.1.', 'a)', '-'); None if unnumbered."
    )
    synthetic_number: bool = False
    level: int = 1
    text: str
    span: SourceSpan
    confidence: float
    assignments: list[AgencyRefDraft] = Field(default_factory=list)
    mentions: list[AgencyRefDraft] = Field(default_factory=list, description="Named bodies that are not assignees.")
    deadline: DirectiveDeadline = Field(default_factory=DirectiveDeadline)
    review: list[str] = Field(default_factory=list, description="What a person must check, in Vietnamese.")


class NoticeDraftText(BaseModel):
    """The draft of a whole notice, read from text."""

    source_name: str
    number: MetaValue
    number_is_placeholder: bool
    date: MetaValue
    issuer: MetaValue
    title: MetaValue
    monitors: list[AgencyRefDraft] = Field(default_factory=list)
    monitors_note: str | None = None
    directives: list[ParsedDirective]
    warnings: list[str] = Field(default_factory=list)
    genre: str = Field(default="thong-bao-ket-luan", description="The genre read from the title and opening.")

    @property
    def issued_on(self) -> dt.date | None:
        """The notice date as a date, if found."""
        return dt.date.fromisoformat(self.date.value) if self.date.value else None
