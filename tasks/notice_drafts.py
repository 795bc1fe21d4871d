"""A new notice from the Prefect UI: draft it from pasted text, show the draft, import what a coordinator approves.

The draft and every corrected version are kept as files under `$DONDOC_HOME/notice-drafts/<run id>/`,
next to the pasted text (`source_file` of the notice file), so the import reads and validates exactly
the file whose table the coordinator saw, and the audit event names it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NONE
from sqlmodel import col, select

from config.agencies import AgencyDirectory, load_agencies
from config.body_types import load_body_types
from config.loader import ConfigError
from config.notice_file import read_notice_file
from config.policy import load_calendar, load_deadline_policy
from config.settings import get_settings
from domain.deadlines import compute_due, rule_from_json
from domain.labels import ROLE_VI
from domain.notice_draft import NoticeDraft, with_due_dates
from domain.notice_parser import (
    REVIEW_THRESHOLD,
    AgencyRefDraft,
    MetaValue,
    NoticeDraftText,
    NoticeParseError,
    ParsedDirective,
    parse_notice_text,
    render_draft_yaml,
    summary_vi,
)
from domain.safe_text import markdown_text, nfc, one_line
from domain.text import ascii_slug
from domain.workdays import format_date_vi, weekday_vi
from models import Directive
from models.db import session_scope
from tasks.notice_import import ImportRefused, import_notice
from tasks.retries import IO_RETRIES

DRAFTS_FOLDER = "notice-drafts"
SOURCE_NAME = "van-ban-goc.txt"  # the pasted text, named by the draft's source_file
MAX_TEXT_CHARS = 500_000  # a conclusion notice is a few pages; this is a hundred times more
CELL_CHARS = 90  # long agency names and notes are shortened so the table fits the page


class NoticeTextRefused(ValueError):
    """The pasted text or the optional fields cannot make a draft; the message says why in Vietnamese."""


@dataclass
class NoticeIntakeDraft:
    """A drafted notice file, what its table shows, and what keeps it from being imported as it is."""

    folder: str
    yaml_path: str
    yaml_text: str
    number: str
    summary: str
    rows: list[dict[str, str]]
    problems: list[str] = field(default_factory=list)


@dataclass
class NoticeImportOutcome:
    """What an approved import did, or the located problems that refused it (nothing written then)."""

    imported: bool
    number: str = ""
    action: str = ""
    directive_ids: list[int] = field(default_factory=list)
    assignments: int = 0
    problems: list[str] = field(default_factory=list)


# --- drafting -----------------------------------------------------------------------------------


def issuer_code(issuer: str, directory: AgencyDirectory) -> str:
    """Resolve the issuer a coordinator typed (code, name or alias) to one agency code."""
    codes = directory.resolve(issuer)
    if codes is None or len(codes) != 1:
        hint = ", ".join(directory.closest(issuer))
        raise NoticeTextRefused(
            f"cơ quan ban hành «{one_line(issuer)}» không có trong danh mục" + (f"; gần giống: {hint}" if hint else "")
        )
    return codes[0]


def with_header_defaults(
    draft: NoticeDraftText, issued_on: date | None, issuer: str | None, directory: AgencyDirectory
) -> NoticeDraftText:
    """Fill the date and issuer the text does not say from what the coordinator typed in the run form."""
    given = "theo ô nhập trên giao diện (văn bản không ghi)"
    code = issuer_code(issuer, directory) if issuer else None  # a typo is refused even when the text names one
    if draft.date.value is None and issued_on is not None:
        draft = draft.model_copy(
            update={
                "date": MetaValue(
                    value=issued_on.isoformat(), raw=format_date_vi(issued_on), confidence=1.0, note=given
                )
            }
        )
    if draft.issuer.value is None and code is not None and issuer:
        draft = draft.model_copy(
            update={"issuer": MetaValue(value=code, raw=one_line(issuer), confidence=1.0, note=given)}
        )
    return draft


def located(exc: ConfigError) -> list[str]:
    """Each problem of a notice file as "dòng N, field: message" (the file is the one shown in the form)."""
    lines = []
    for issue in exc.issues:
        where = f"dòng {issue.line}" if issue.line else "tệp"
        lines.append(f"{where}, {issue.field}: {issue.message}" if issue.field else f"{where}: {issue.message}")
    return lines


def validate_notice_yaml(path: Path, config_dir: Path) -> tuple[NoticeDraft | None, list[str]]:
    """Validate a notice file as `dondoc import` does; return it with due dates, or its located problems."""
    try:
        draft = read_notice_file(path, load_agencies(config_dir))
        return with_due_dates(draft, load_calendar(config_dir), load_deadline_policy(config_dir)), []
    except ConfigError as exc:
        return None, located(exc)
    except ValueError as exc:  # a deadline the calendar cannot place (e.g. a meeting with no configured date)
        return None, [f"không tính được thời hạn: {exc}"]


def _short(text: str) -> str:
    """One line, cut to CELL_CHARS with an ellipsis."""
    flat = " ".join(one_line(text).split())
    return flat if len(flat) <= CELL_CHARS else flat[: CELL_CHARS - 1].rstrip() + "…"


def _due_cell(due: date | None, phrase: str | None) -> str:
    """The due date with its weekday, or what the notice says when there is no single date."""
    if due is not None:
        return f"{format_date_vi(due)} ({weekday_vi(due)})"
    return _short(phrase) if phrase else "thường xuyên"


def _ref_flags(ref: AgencyRefDraft) -> list[str]:
    """What a reviewer must check about one agency named in the text."""
    if not ref.known:
        return ["cơ quan chưa có trong danh mục"]
    if ref.confidence < REVIEW_THRESHOLD:
        return [f"vai trò chưa chắc chắn ({ref.confidence:.2f})".replace(".", ",")]
    return []


def _directive_flags(directive: ParsedDirective) -> list[str]:
    """What a reviewer must check about a directive as a whole."""
    flags = list(directive.review)
    if directive.deadline.rule is None:
        flags.append("văn bản không nêu thời hạn")
    elif directive.deadline.confidence < REVIEW_THRESHOLD:
        flags.append("thời hạn chưa chắc chắn")
    if directive.confidence < REVIEW_THRESHOLD and not directive.review:
        flags.append("mục nhận ra với độ tin cậy thấp")
    return flags


def _flag_cell(flags: list[str]) -> str:
    """The review column: empty when nothing needs checking, else a marked list."""
    return "⚠ KIỂM TRA: " + "; ".join(dict.fromkeys(flags)) if flags else ""


def rows_of_valid(
    notice: NoticeDraft, parsed: NoticeDraftText | None, directory: AgencyDirectory
) -> list[dict[str, str]]:
    """Directives × agencies × roles × due dates exactly as they will be imported, flags taken from the parse."""
    names = {code: spec.display_name for code, spec in directory.by_code.items()}
    parsed_by_number = {d.number: d for d in parsed.directives} if parsed else {}
    rows = []
    for directive in notice.directives:
        source = parsed_by_number.get(directive.number)
        general = _directive_flags(source) if source else []
        for assignment in directive.assignments:
            refs = [r for r in (source.assignments if source else []) if assignment.agency_code in (r.code, *r.members)]
            flags = general + [f for r in refs for f in _ref_flags(r)]
            rows.append(
                {
                    "Mục": directive.number,
                    "Cơ quan": _short(names.get(assignment.agency_code, assignment.agency_code)),
                    "Vai trò": ROLE_VI.get(assignment.role, assignment.role),
                    "Hạn": _due_cell(directive.due_date, directive.deadline_phrase),
                    "Kiểm tra": _short(_flag_cell(flags)),
                }
            )
    return rows


def rows_of_parse(parsed: NoticeDraftText, config_dir: Path) -> list[dict[str, str]]:
    """The same table from the parse alone, for a draft that does not validate yet (every row then says why)."""
    calendar, policy = load_calendar(config_dir), load_deadline_policy(config_dir)
    rows = []
    for directive in parsed.directives:
        due: date | None = None
        if directive.deadline.rule is not None and parsed.issued_on is not None:
            try:
                due = compute_due(rule_from_json(directive.deadline.rule), parsed.issued_on, calendar, policy).due
            except ValueError:
                due = None
        general = _directive_flags(directive)
        due_text = _due_cell(due, directive.deadline.phrase)
        if not directive.assignments:
            rows.append(
                {
                    "Mục": directive.number,
                    "Cơ quan": "—",
                    "Vai trò": "—",
                    "Hạn": due_text,
                    "Kiểm tra": _short(_flag_cell(general)),
                }
            )
        for ref in directive.assignments:
            rows.append(
                {
                    "Mục": directive.number,
                    "Cơ quan": _short(ref.surface),
                    "Vai trò": ROLE_VI.get(ref.role, ref.role),
                    "Hạn": due_text,
                    "Kiểm tra": _short(_flag_cell(general + _ref_flags(ref))),
                }
            )
    return rows


def draft_folder(run_id: str) -> Path:
    """Where one intake run keeps its pasted text and notice files."""
    return get_settings().home / DRAFTS_FOLDER / ascii_slug(run_id)


@task(name="Đọc văn bản, soạn bản nháp", cache_policy=NONE, **IO_RETRIES)
def draft_notice(text: str, issued_on: date | None, issuer: str, run_id: str) -> NoticeIntakeDraft:
    """Parse the pasted text into a commented notice file, keep it, and say what would be imported."""
    if len(text) > MAX_TEXT_CHARS:
        raise NoticeTextRefused(f"văn bản quá dài ({len(text):,} ký tự; tối đa {MAX_TEXT_CHARS:,})")
    settings = get_settings()
    directory = load_agencies(settings.config_dir)
    text = nfc(text.replace("\r\n", "\n"))
    try:
        parsed = parse_notice_text(
            text, directory, source_name=SOURCE_NAME, body_types=load_body_types(settings.config_dir)
        )
    except NoticeParseError as exc:
        where = f"dòng {exc.line}: " if exc.line else ""
        raise NoticeTextRefused(f"không đọc được văn bản: {where}{exc.reason_vi}") from None
    parsed = with_header_defaults(parsed, issued_on, issuer, directory)
    yaml_text = render_draft_yaml(parsed, generated_on=datetime.now(UTC).date())
    folder = draft_folder(run_id)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / SOURCE_NAME).write_text(text, encoding="utf-8")
    path = folder / "ban-nhap.yaml"
    path.write_text(yaml_text, encoding="utf-8")
    validated, problems = validate_notice_yaml(path, settings.config_dir)
    rows = rows_of_valid(validated, parsed, directory) if validated else rows_of_parse(parsed, settings.config_dir)
    return NoticeIntakeDraft(
        folder=str(folder),
        yaml_path=str(path),
        yaml_text=yaml_text,
        number=parsed.number.value or "",
        summary=summary_vi(parsed, yaml_text),
        rows=rows,
        problems=problems,
    )


# --- showing the draft --------------------------------------------------------------------------


def code_block(text: str) -> str:
    """A fenced block that no line of text can close (a longer fence than any backtick run inside)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}yaml\n{text.rstrip()}\n{fence}"


def problems_markdown(problems: list[str]) -> str:
    """The located problems as an escaped markdown list."""
    return "\n".join(f"- {markdown_text(p)}" for p in problems)


def draft_markdown(draft: NoticeIntakeDraft) -> str:
    """The draft notice file as a markdown artifact: summary, problems, then the YAML to copy and correct."""
    summary = "  \n".join(markdown_text(line) for line in draft.summary.splitlines())
    parts = [f"# Bản nháp thông báo {markdown_text(draft.number)}", "", summary, ""]
    if draft.problems:
        parts += ["## Chưa nhập được như hiện tại", "", problems_markdown(draft.problems), ""]
    parts += ["## Tệp thông báo (YAML)", "", code_block(draft.yaml_text), ""]
    return "\n".join(parts)


def draft_key(number: str) -> str:
    """Artifact key of a notice's draft (lowercase letters, digits and dashes)."""
    return f"dondoc-nhap-{ascii_slug(number) or 'chua-ro-so'}"


@task(name="Công bố bản nháp", cache_policy=NONE, **IO_RETRIES)
def publish_draft(draft: NoticeIntakeDraft) -> None:
    """Publish the draft's table (directives × agencies × roles × due dates, flags marked) and its YAML."""
    flagged = sum(1 for row in draft.rows if row["Kiểm tra"])
    create_table_artifact(
        table=draft.rows,
        key=draft_key(draft.number),
        description=(
            f"**Bản nháp Thông báo {markdown_text(draft.number)}**: {len(draft.rows)} lượt giao việc, "
            f"{flagged} dòng cần kiểm tra (⚠)."
        ),
    )
    create_markdown_artifact(
        markdown=draft_markdown(draft),
        key=f"{draft_key(draft.number)}-yaml",
        description=f"Tệp thông báo dự thảo {markdown_text(draft.number)}",
    )


@task(name="Công bố lỗi của bản sửa", cache_policy=NONE, **IO_RETRIES)
def publish_refusal(number: str, problems: list[str], attempt: int) -> None:
    """Publish why a corrected notice file was refused, with the line of every problem."""
    create_markdown_artifact(
        markdown=f"# Bản sửa lần {attempt} chưa nhập được\n\n{problems_markdown(problems)}\n",
        key=f"{draft_key(number)}-loi",
        description=f"Lỗi của bản sửa lần {attempt}",
    )


# --- importing what was approved ----------------------------------------------------------------


@task(name="Lưu bản sửa", cache_policy=NONE, **IO_RETRIES)
def save_corrected(folder: str, yaml_text: str, attempt: int) -> str:
    """Keep a corrected notice file next to the pasted text (its source_file stays resolvable); return its path."""
    path = Path(folder) / f"ban-sua-{attempt}.yaml"
    path.write_text(nfc(yaml_text.replace("\r\n", "\n")), encoding="utf-8")
    return str(path)


@task(name="Nhập thông báo đã duyệt", cache_policy=NONE, **IO_RETRIES)
def import_approved(yaml_path: str, approver: str) -> NoticeImportOutcome:
    """Import the approved file as `dondoc import` does (validated, then one transaction), or say why not."""
    settings = get_settings()
    try:
        result = import_notice(Path(yaml_path), settings.config_dir, actor=f"prefect:{one_line(approver)}")
    except ConfigError as exc:
        return NoticeImportOutcome(imported=False, problems=located(exc))
    except ImportRefused as exc:
        return NoticeImportOutcome(
            imported=False,
            number=exc.number,
            problems=[
                f"thông báo {exc.number} đã được nhập trước đây với nội dung khác; sửa số thông báo hoặc dùng dondoc import --update"
            ],
        )
    except ValueError as exc:  # a deadline the calendar cannot place
        return NoticeImportOutcome(imported=False, problems=[f"không tính được thời hạn: {exc}"])
    with session_scope(read_only=True) as session:
        ids = session.exec(
            select(Directive.id).where(Directive.notice_id == result.notice_id).order_by(col(Directive.position))
        ).all()
    return NoticeImportOutcome(
        imported=True,
        number=result.number,
        action=result.action,
        directive_ids=[i for i in ids if i is not None],
        assignments=result.assignments,
    )
