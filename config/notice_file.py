"""The notice file format (YAML) and its full validation before anything is written."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from config.agencies import AgencyDirectory, load_agencies
from config.loader import ConfigError, ConfigIssue, LocatedYaml, load_located_yaml, validate_located
from config.policy import load_calendar, load_deadline_policy
from domain.deadline_phrases import UnparseableDeadline, parse_deadline
from domain.deadlines import DeadlineRule, Recurrence
from domain.notice_draft import AssignmentDraft, DirectiveDraft, NoticeDraft, with_due_dates
from domain.notice_parser.agencies import AgencyMatcher
from domain.notice_parser.agency_tasks import agency_tasks

MAX_NOTICE_FILE_BYTES = 2_000_000


class AgencyRef(BaseModel):
    """An agency named by code, alias or group phrase, with its role."""

    model_config = ConfigDict(extra="forbid")

    agency: str = Field(min_length=1)
    role: Literal["lead", "support"]
    note: str | None = None
    # The agency's own task, quoted in its reminders; derived from the directive's text when absent.
    task: str | None = Field(default=None, min_length=1)


class DeadlineSpec(BaseModel):
    """A deadline as the notice words it, plus its structured rule."""

    model_config = ConfigDict(extra="forbid")

    phrase: str | None = None
    rule: dict[str, Any] | None = None


class DirectiveSpec(BaseModel):
    """One numbered directive."""

    model_config = ConfigDict(extra="forbid")

    number: str = Field(min_length=1)
    text: str = Field(min_length=1)
    assignments: list[AgencyRef] = Field(min_length=1)
    deadline: DeadlineSpec
    recurrence: dict[str, Any] | None = None
    priority: Literal["normal", "urgent"] = "normal"


class NoticeHeader(BaseModel):
    """The notice's metadata."""

    model_config = ConfigDict(extra="forbid")

    number: str = Field(min_length=1)
    number_is_placeholder: bool = False
    date: date
    issuer: str = Field(min_length=1)
    title: str = Field(min_length=1)
    source_file: str | None = None
    monitors: list[AgencyRef] = Field(min_length=1)


class NoticeFile(BaseModel):
    """A whole notice file: header and directives."""

    model_config = ConfigDict(extra="forbid")

    notice: NoticeHeader
    directives: list[DirectiveSpec] = Field(min_length=1)


_RULE_ADAPTER: TypeAdapter[Any] = TypeAdapter(DeadlineRule)


def _resolve_refs(
    refs: list[AgencyRef], loc: tuple[str | int, ...], located: LocatedYaml, directory: AgencyDirectory
) -> tuple[list[AssignmentDraft], list[ConfigIssue]]:
    """Resolve agency references; explicit entries win over a group's expansion."""
    issues: list[ConfigIssue] = []
    explicit: dict[str, tuple[str, int]] = {}
    expanded: dict[str, str] = {}
    tasks: dict[str, str] = {}
    for i, ref in enumerate(refs):
        codes = directory.resolve(ref.agency)
        if codes is None:
            hint = directory.closest(ref.agency)
            suffix = f"; gần giống: {', '.join(hint)}" if hint else ""
            issues.append(
                located.issue((*loc, i, "agency"), f"cơ quan không có trong danh mục: «{ref.agency}»{suffix}")
            )
            continue
        if len(codes) == 1:
            code = codes[0]
            if code in explicit:
                first = located.line_of((*loc, explicit[code][1]))
                issues.append(
                    located.issue((*loc, i, "agency"), f"cơ quan {code} được giao hai lần (đã có ở dòng {first})")
                )
                continue
            explicit[code] = (ref.role, i)
            if ref.task:
                tasks[code] = " ".join(ref.task.split())
        else:
            for code in codes:
                expanded.setdefault(code, ref.role)
                if ref.task:
                    tasks.setdefault(code, " ".join(ref.task.split()))
    drafts = [AssignmentDraft(code, role, tasks.get(code, "")) for code, (role, _) in explicit.items()]
    drafts += [
        AssignmentDraft(code, role, tasks.get(code, "")) for code, role in expanded.items() if code not in explicit
    ]
    return drafts, issues


def _with_own_tasks(
    text: str, drafts: list[AssignmentDraft], directory: AgencyDirectory, matcher: AgencyMatcher
) -> None:
    """Fill each assignment's task not written in the file with the directive's sentences that name it."""
    missing = [a.agency_code for a in drafts if not a.task]
    if not missing:
        return
    derived = agency_tasks(text, directory, missing, matcher)
    for draft in drafts:
        draft.task = draft.task or derived[draft.agency_code]


def _canonical(spec: NoticeFile) -> tuple[str, str]:
    """Return the canonical YAML of a validated file and its SHA-256.

    An absent `task:` is left out, so files written before tasks existed keep their hash.
    """
    data = spec.model_dump(mode="json")
    for ref in [*data["notice"]["monitors"], *(r for d in data["directives"] for r in d["assignments"])]:
        if ref.get("task") is None:
            ref.pop("task", None)
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)
    return text, hashlib.sha256(text.encode("utf-8")).hexdigest()


def load_notice_file(path: Path, config_dir: Path) -> NoticeDraft:
    """Read a notice file against config_dir's directory, with due dates; ConfigError lists every problem.

    Kept for callers of the old signature; new code calls read_notice_file() and
    domain.notice_draft.with_due_dates() itself.
    """
    draft = read_notice_file(path, load_agencies(config_dir))
    return with_due_dates(draft, load_calendar(config_dir), load_deadline_policy(config_dir))


def read_notice_file(path: Path, directory: AgencyDirectory) -> NoticeDraft:
    """Parse and validate a notice file completely (due dates left empty); raise ConfigError listing every problem."""
    if path.exists() and path.stat().st_size > MAX_NOTICE_FILE_BYTES:
        raise ConfigError([ConfigIssue(str(path), None, "", f"tệp quá lớn (tối đa {MAX_NOTICE_FILE_BYTES:,} byte)")])
    located = load_located_yaml(path)
    spec = validate_located(located, NoticeFile)
    issues: list[ConfigIssue] = []

    issuer = directory.resolve(spec.notice.issuer)
    issuer_code = issuer[0] if issuer is not None and len(issuer) == 1 else None
    if issuer_code is None:
        hint = ", ".join(directory.closest(spec.notice.issuer))
        issues.append(
            located.issue(
                ("notice", "issuer"),
                f"cơ quan ban hành không hợp lệ: «{spec.notice.issuer}»" + (f"; gần giống: {hint}" if hint else ""),
            )
        )
    monitors, monitor_issues = _resolve_refs(spec.notice.monitors, ("notice", "monitors"), located, directory)
    issues += monitor_issues
    for i, ref in enumerate(spec.notice.monitors):
        if ref.task is not None:
            issues.append(
                located.issue(("notice", "monitors", i, "task"), "task chỉ ghi cho cơ quan được giao trong từng mục")
            )
    matcher = AgencyMatcher(directory)

    directives: list[DirectiveDraft] = []
    seen_numbers: dict[str, int] = {}
    for index, item in enumerate(spec.directives):
        loc: tuple[str | int, ...] = ("directives", index)
        if item.number in seen_numbers:
            first = located.line_of(("directives", seen_numbers[item.number], "number"))
            issues.append(located.issue((*loc, "number"), f"số mục {item.number} bị trùng (đã có ở dòng {first})"))
        seen_numbers.setdefault(item.number, index)
        assignments, ref_issues = _resolve_refs(item.assignments, (*loc, "assignments"), located, directory)
        issues += ref_issues
        if not any(a.role == "lead" for a in assignments) and not ref_issues:
            issues.append(
                located.issue((*loc, "assignments"), f"mục {item.number} chưa có cơ quan chủ trì (role: lead)")
            )
        rule, recurrence, rule_issues = _deadline_of(item, loc, located, spec.notice.date)
        issues += rule_issues
        if rule is None:
            continue
        _with_own_tasks(item.text, assignments, directory, matcher)
        directives.append(
            DirectiveDraft(
                number=item.number,
                position=index + 1,
                text=item.text.strip(),
                deadline_phrase=item.deadline.phrase,
                deadline_rule=rule.model_dump(mode="json"),
                recurrence=recurrence.model_dump(mode="json") if recurrence else None,
                priority=item.priority,
                assignments=assignments,
            )
        )
    if issues or issuer_code is None:  # an unknown issuer is always among the issues
        raise ConfigError(issues)

    source_text = None
    if spec.notice.source_file:
        source_path = (path.parent / spec.notice.source_file).resolve()
        if source_path.is_file():
            source_text = source_path.read_text(encoding="utf-8")
    spec_yaml, spec_hash = _canonical(spec)
    codes = (
        {issuer_code} | {m.agency_code for m in monitors} | {a.agency_code for d in directives for a in d.assignments}
    )
    return NoticeDraft(
        path=path,
        number=spec.notice.number.strip(),
        number_is_placeholder=spec.notice.number_is_placeholder,
        issued_on=spec.notice.date,
        issuer_code=issuer_code,
        title=" ".join(spec.notice.title.split()),
        source_text=source_text,
        source_file=spec.notice.source_file,
        monitors=monitors,
        directives=directives,
        spec_yaml=spec_yaml,
        spec_hash=spec_hash,
        agency_codes=codes,
    )


def _deadline_of(
    item: DirectiveSpec, loc: tuple[str | int, ...], located: LocatedYaml, notice_date: date
) -> tuple[Any, Recurrence | None, list[ConfigIssue]]:
    """Return the directive's rule and recurrence: the structured rule wins, else the phrase is parsed."""
    issues: list[ConfigIssue] = []
    rule = None
    recurrence = None
    if item.deadline.rule is not None:
        try:
            rule = _RULE_ADAPTER.validate_python(item.deadline.rule)
        except ValidationError as exc:
            for err in exc.errors():
                sub = tuple(p for p in err["loc"] if isinstance(p, (str, int)))
                message = "ngày không hợp lệ" if "date" in err["type"] else err["msg"]
                issues.append(located.issue((*loc, "deadline", "rule", *sub[1:]), message))
    elif item.deadline.phrase:
        try:
            parsed = parse_deadline(item.deadline.phrase, reference=notice_date)
        except UnparseableDeadline as exc:
            issues.append(located.issue((*loc, "deadline", "phrase"), f"không hiểu được thời hạn: {exc}"))
        else:
            rule, recurrence = parsed.rule, parsed.recurrence
            if rule is None:
                issues.append(located.issue((*loc, "deadline", "phrase"), "cụm từ không nêu thời hạn; hãy ghi rule"))
    else:
        issues.append(located.issue((*loc, "deadline"), "cần phrase hoặc rule"))
    if item.recurrence is not None:
        try:
            recurrence = Recurrence.model_validate(item.recurrence)
        except ValidationError as exc:
            for err in exc.errors():
                sub = tuple(p for p in err["loc"] if isinstance(p, (str, int)))
                issues.append(located.issue((*loc, "recurrence", *sub), err["msg"]))
    return rule, recurrence, issues


__all__ = [
    "MAX_NOTICE_FILE_BYTES",
    "AssignmentDraft",
    "DirectiveDraft",
    "NoticeDraft",
    "NoticeFile",
    "load_notice_file",
    "read_notice_file",
]
