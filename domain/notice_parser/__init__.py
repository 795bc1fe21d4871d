"""Draft a notice file from the text of a Vietnamese conclusion notice (Thông báo kết luận / Kết luận).

Pure logic: a file or its text in, a reviewable draft out. Every value carries a confidence and the span it came
from. Spans index the NFC form of the input (line numbers are the same in any normal form).

The genre, in short: a header (issuer, number "Số 1061-TB/TU", "Bắc Giang, ngày … tháng … năm …"), a title
("THÔNG BÁO / KẾT LUẬN CỦA …"), an intro ("… kết luận như sau:"), narrative sections (assessment: "Thời gian
qua …", "Tuy nhiên …") and directive sections (numbered "2.1.", "a)", "-", "+", or unnumbered "Giao …",
"Đề nghị …" clauses), a closing formula, then "Nơi nhận" and the signature.

Modules, in the order the parser uses them:
  reader      the file (.txt/.md/.docx) to NFC text, or a located Vietnamese error
  document    the text, its tone-normalised lowercase twin, lines and spans
  agencies    directory names and unknown agency-like names in the text (with unknown_names for where an
              unknown name ends, collectives for generic assignees, shared_names for shared tails and parents)
  header      number, date, title and issuer; where the body starts (press_dates: a summary's issue date)
  structure   the body's range and its tree of numbered items and paragraphs
  builder     which items and clauses are directives, and their numbers
  segmentation  directives cut where the subject body changes (unnumbered text; one-task-per-body items)
  roles       (with role_rules and sentences) lead, support or neither for every name
  deadline    a directive's deadline, recurrence and priority
  draft       the NoticeDraftText, with review notes and the monitoring bodies
  draft_yaml  the draft written as a commented notice file, and a summary
"""

from domain.notice_parser.directory import AgencyDirectoryLike, AgencyGroupLike, AgencyLike
from domain.notice_parser.draft import parse_notice_text
from domain.notice_parser.draft_yaml import CHECK, render_draft_yaml, summary_vi
from domain.notice_parser.models import (
    REVIEW_THRESHOLD,
    AgencyRefDraft,
    DirectiveDeadline,
    MentionRole,
    MetaValue,
    NoticeDraftText,
    NoticeParseError,
    ParsedDirective,
    Priority,
    SourceSpan,
)
from domain.notice_parser.reader import NoticeReadError, decode_text, read_notice_text

__all__ = [
    "CHECK",
    "REVIEW_THRESHOLD",
    "AgencyDirectoryLike",
    "AgencyGroupLike",
    "AgencyLike",
    "AgencyRefDraft",
    "DirectiveDeadline",
    "MentionRole",
    "MetaValue",
    "NoticeDraftText",
    "NoticeParseError",
    "NoticeReadError",
    "ParsedDirective",
    "Priority",
    "SourceSpan",
    "decode_text",
    "parse_notice_text",
    "read_notice_text",
    "render_draft_yaml",
    "summary_vi",
]
