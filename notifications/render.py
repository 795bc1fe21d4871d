"""Render outbox messages from the Jinja2 templates in notifications/templates/.

Each kind has `KIND.txt.j2` (blocks `subject`, `headline`, `intro`; plain text, no escaping)
and `KIND.html.j2` (autoescaped: everything from the payload is escaped). `digest` lists several
messages for one address: each item shows its kind's headline and intro and the shared details.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, select_autoescape
from markupsafe import Markup

from domain.deadlines import period_vi
from domain.labels import ROLE_VI
from domain.notification_policy import ZNS_ENV, NotificationPolicy
from domain.text import excerpt
from domain.timeliness import CATEGORY_VI, Category
from domain.workdays import WorkCalendar, format_date_vi, weekday_vi
from notifications.plugins.zalo import OA_TEXT_LIMIT, truncate_text

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
KINDS = (
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
    "reply_ack",
)
# Messages say how to report (the link, the office and its telephone); they ask for a reply nowhere, since
# replies are read only where an office configures an imap status source.
EMAIL_CHANNELS = ("email", "mailbox")
# Outside e-mail the task is shortened: a Zalo message holds 2,000 characters in all.
SHORT_TASK_LIMIT = 500

# Every key a template may read; a payload that lacks one renders it as absent, not as an error.
PAYLOAD_DEFAULTS: dict[str, Any] = {
    key: None
    for key in [
        "kind",
        "level",
        "recipient_role",
        "recipient_agency",
        "recipient_agency_code",
        "notice_number",
        "notice_title",
        "directive_number",
        "directive_excerpt",
        "task",
        "contact_office",
        "contact_phone",
        "acknowledged",
        "agency",
        "agency_code",
        "role",
        "due_date",
        "due_date_vi",
        "due_explanation",
        "period",
        "offset",
        "category",
        "category_label",
        "extended",
        "assignment_id",
        "directive_id",
        "decision_note",
        "approver",
        "requested_until",
        "report_link",
        "report_title",
        "report_period",
        "period_vi",
        "as_of",
        "understood",
        "reply_subject",
        "reply_channel",
    ]
} | {"days_overdue": 0, "summary_lines": [], "attachments": []}

OVERDUE_KINDS = ("overdue", "escalation")

ENV = Environment(
    loader=FileSystemLoader(TEMPLATE_DIR),
    autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False, default=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    # The templates ship with the package: no stat() of each file at every message to see if it changed.
    auto_reload=False,
)


class RenderError(ValueError):
    """A message could not be rendered (unknown kind, bad payload, template or mapping error)."""


@dataclass(frozen=True)
class Rendered:
    """One message ready for a channel: subject, plain text, optional HTML, optional ZNS data."""

    subject: str
    text: str
    html: str | None = None
    template_id: str | None = None
    template_data: dict[str, str] | None = None
    attachments: tuple[Path, ...] = field(default_factory=tuple)


def _nfc(value: Any) -> Any:
    """NFC-normalise strings (nested in lists and dicts too): one form of every Vietnamese letter."""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, list):
        return [_nfc(v) for v in value]
    if isinstance(value, dict):
        return {k: _nfc(v) for k, v in value.items()}
    return value


def _iso_date(value: Any) -> date | None:
    """Parse an ISO date (or the date part of an ISO datetime); None when absent or malformed."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _days_overdue_today(
    ctx: dict[str, Any], due: date | None, today: date | None, calendar: WorkCalendar | None
) -> int:
    """Working days overdue on the day the message goes out (a rung sent late must not understate them)."""
    days = int(ctx["days_overdue"] or 0)
    if ctx["kind"] in OVERDUE_KINDS and due is not None and today is not None and calendar is not None:
        days = max(days, calendar.working_days_between(due, today))
    return days


def message_context(
    payload: Mapping[str, Any],
    channel: str,
    policy: NotificationPolicy,
    today: date | None = None,
    calendar: WorkCalendar | None = None,
) -> dict[str, Any]:
    """Everything the templates read: the payload plus weekday, role, period and category wording.

    With `today` and `calendar`, overdue and escalation messages count the days overdue up to the
    day they are sent, and an 'overdue' category label says the same number.
    """
    ctx: dict[str, Any] = dict(PAYLOAD_DEFAULTS) | _nfc(dict(payload))
    due = _iso_date(ctx["due_date"])
    ctx["due_date_vi"] = ctx["due_date_vi"] or (format_date_vi(due) if due else None)
    ctx["due_weekday"] = weekday_vi(due) if due else None
    requested = _iso_date(ctx["requested_until"])
    ctx["requested_until_vi"] = format_date_vi(requested) if requested else None
    ctx["requested_until_weekday"] = weekday_vi(requested) if requested else None
    as_of = _iso_date(ctx["as_of"])
    ctx["as_of_vi"] = format_date_vi(as_of) if as_of else None
    ctx["role_vi"] = ROLE_VI[ctx["role"]].lower() if ctx["role"] in ROLE_VI else ctx["role"] or "—"
    if not ctx["category_label"]:
        try:
            ctx["category_label"] = CATEGORY_VI[Category(ctx["category"])]
        except ValueError:
            ctx["category_label"] = "—"
    days = _days_overdue_today(ctx, due, today, calendar)
    if days != int(ctx["days_overdue"] or 0) and ctx["category"] == Category.overdue.value:
        ctx["category_label"] = f"{CATEGORY_VI[Category.overdue]} {days} ngày làm việc"
    ctx["days_overdue"] = days
    ctx["overdue_text"] = f"{days} ngày làm việc" if days > 0 else "chưa quá hạn"
    ctx["recipient_agency"] = ctx["recipient_agency"] or ctx["agency"] or "Quý cơ quan"
    ctx["agency"] = ctx["agency"] or ctx["recipient_agency"]
    ctx["directive_excerpt"] = ctx["directive_excerpt"] or "—"
    task = ctx["task"] or ctx["directive_excerpt"]
    ctx["task"] = task if channel in EMAIL_CHANNELS else excerpt(task, SHORT_TASK_LIMIT)
    if ctx["acknowledged"] is False and ctx["category"] == Category.in_progress.value:
        ctx["category_label"] = "Chưa xác nhận tiếp nhận"
    if not ctx["report_title"]:
        ctx["report_title"] = (
            f"tình hình thực hiện Thông báo {ctx['notice_number']}" if ctx["notice_number"] else "định kỳ"
        )
    ctx["period"] = ctx["period_vi"] or period_vi(ctx["period"])
    ctx["report_period"] = ctx["report_period"] or ctx["period"]
    ctx["attachment_names"] = [Path(str(p)).name for p in ctx["attachments"] or []]
    ctx["channel"] = channel
    ctx["report_contact"] = _contact(ctx, policy)
    ctx["sender_name"] = policy.sender_name
    ctx["m"] = ctx
    return ctx


def _contact(ctx: Mapping[str, Any], policy: NotificationPolicy) -> str:
    """Whom to contact: the monitoring office and its telephone when known, else the configured contact."""
    office = ctx["contact_office"] or policy.report_contact
    return f"{office} (điện thoại {ctx['contact_phone']})" if ctx["contact_phone"] else office


def _template(kind: str, fmt: str) -> Template:
    """Load KIND.FMT.j2, refusing kinds without templates."""
    if kind not in KINDS:
        raise RenderError(f"không có mẫu tin cho loại «{kind}»")
    return ENV.get_template(f"{kind}.{fmt}.j2")


def _block(template: Template, name: str, ctx: Mapping[str, Any]) -> str:
    """Render one block of a template on its own."""
    return "".join(template.blocks[name](template.new_context(dict(ctx))))


def _one_line(text: str) -> str:
    """Collapse whitespace: subjects and headlines are one line."""
    return " ".join(text.split())


def _tidy(text: str) -> str:
    """Strip trailing spaces and collapse runs of blank lines left by optional sections."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out) + "\n"


def _for_channel(subject: str, text: str, html: str | None, channel: str) -> tuple[str, str, str | None]:
    """Zalo and generic Apprise get plain text headed by the subject; Zalo stays within 2,000 characters."""
    if channel in EMAIL_CHANNELS:
        return subject, text, html
    if channel == "zalo":
        return subject, truncate_text(f"{subject}\n\n{text}", OA_TEXT_LIMIT), None
    return subject, text, None


def _zns(kind: str, ctx: Mapping[str, Any], policy: NotificationPolicy) -> tuple[str, dict[str, str]]:
    """Fill the configured ZNS template's parameters from the context."""
    mapping = policy.zns_template(kind)
    if mapping is None:
        raise RenderError(f"chưa cấu hình mẫu ZNS cho loại tin «{kind}» (zns_templates trong notifications.yaml)")
    data = {}
    for name, source in mapping.data.items():
        value = _one_line(ZNS_ENV.from_string(source).render(**ctx))
        data[name] = truncate_text(value, mapping.max_length) if len(value) > mapping.max_length else value
    return mapping.template_id, data


def render_message(
    kind: str,
    payload: Mapping[str, Any],
    channel: str,
    policy: NotificationPolicy,
    today: date | None = None,
    calendar: WorkCalendar | None = None,
) -> Rendered:
    """Render one message of `kind` for `channel` (subject, text, HTML; ZNS template data for zns).

    `today` (the local sending day) and `calendar` let overdue messages count days up to today.
    """
    try:
        ctx = message_context(dict(payload) | {"kind": kind}, channel, policy, today, calendar)
        txt = _template(kind, "txt")
        subject = _one_line(_block(txt, "subject", ctx))
        ctx["subject"] = subject
        text = _tidy(txt.render(ctx))
        html = _template(kind, "html").render(ctx) if channel in EMAIL_CHANNELS else None
        attachments = tuple(Path(str(p)) for p in ctx["attachments"] or [])
        if channel == "zns":
            template_id, data = _zns(kind, ctx, policy)
            return Rendered(subject, json.dumps(data, ensure_ascii=False), None, template_id, data, attachments)
    except RenderError:
        raise
    except Exception as exc:  # a template or payload problem: the outbox records it on the row
        raise RenderError(f"lỗi dựng nội dung tin «{kind}»: {type(exc).__name__}: {exc}") from exc
    subject, text, html = _for_channel(subject, text, html, channel)
    return Rendered(subject, text, html, attachments=attachments)


def _digest_item(
    payloads: Sequence[Mapping[str, Any]],
    channel: str,
    policy: NotificationPolicy,
    html: bool,
    today: date,
    calendar: WorkCalendar | None,
) -> dict[str, Any]:
    """One assignment of a digest: its messages' headlines and intros, and its details once (from the last)."""
    contexts = [message_context(p, channel, policy, today, calendar) for p in payloads]
    headlines: list[str] = []
    intros: list[str] = []  # Markup (a str) for HTML
    for ctx in contexts:
        txt = _template(str(ctx["kind"] or ""), "txt")
        headlines.append(_one_line(_block(txt, "headline", ctx)))
        if html:
            # The block comes out of an autoescaped template: already escaped, so mark it safe.
            intros.append(Markup(_one_line(_block(_template(str(ctx["kind"]), "html"), "intro", ctx))))
        else:
            intros.append(_one_line(_block(txt, "intro", ctx)))
    joiner = Markup(" ") if html else " "
    return {"m": contexts[-1], "headline": "; ".join(dict.fromkeys(headlines)), "intro": joiner.join(intros)}


def _by_assignment(payloads: Sequence[Mapping[str, Any]]) -> list[list[Mapping[str, Any]]]:
    """The payloads of each assignment together (an assignment is listed once), in directive order."""
    groups: dict[tuple[str, str, str], list[Mapping[str, Any]]] = {}
    for p in payloads:
        key = (str(p.get("notice_number") or ""), str(p.get("directive_number") or ""), _assignment_key(p))
        groups.setdefault(key, []).append(p)
    return [groups[key] for key in sorted(groups, key=lambda k: (k[0], _number_key(k[1]), k[2]))]


def _assignment_key(payload: Mapping[str, Any]) -> str:
    """The assignment a payload is about: its id, else its agency (sample payloads carry no id)."""
    return str(payload.get("assignment_id") or payload.get("agency_code") or payload.get("agency") or "")


def _number_key(number: str) -> tuple[int | str, ...]:
    """Sort "2.10" after "2.9"."""
    return tuple(int(part) if part.isdigit() else part for part in number.split("."))


def _by_directive(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Digest items under one heading per directive, keeping their order."""
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for index, item in enumerate(items, start=1):
        m = item["m"]
        key = (str(m["notice_number"] or ""), str(m["directive_number"] or ""))
        heading = groups.setdefault(
            key, {"notice_number": m["notice_number"], "directive_number": m["directive_number"], "items": []}
        )
        heading["items"].append(item | {"index": index})
    return list(groups.values())


def _digest_context(
    payloads: Sequence[Mapping[str, Any]], count: int, channel: str, policy: NotificationPolicy, today: date
) -> dict[str, Any]:
    """The digest's own context: the first item's recipient, the date, the count, the report link."""
    first = payloads[0]
    link = next((p.get("report_link") for p in payloads if p.get("report_link")), None)
    base = {
        "kind": "digest",
        "recipient_agency": first.get("recipient_agency"),
        "recipient_role": first.get("recipient_role"),
        "report_link": link,
        "contact_office": first.get("contact_office"),
        "contact_phone": first.get("contact_phone"),
    }
    ctx = message_context(base, channel, policy)
    ctx.update(count=count, today_vi=format_date_vi(today), today_weekday=weekday_vi(today), more=0)
    return ctx


def render_digest(
    payloads: Sequence[Mapping[str, Any]],
    channel: str,
    policy: NotificationPolicy,
    today: date,
    calendar: WorkCalendar | None = None,
) -> Rendered:
    """Render one digest: grouped by directive, each assignment once with all its messages; today is the sending day."""
    if not payloads:
        raise RenderError("thư tổng hợp cần ít nhất một việc")
    try:
        assignments = _by_assignment(payloads)
        ctx = _digest_context(payloads, len(assignments), channel, policy, today)
        txt, htm = _template("digest", "txt"), _template("digest", "html")
        subject = _one_line(_block(txt, "subject", ctx))
        ctx["subject"] = subject
        text_items = [_digest_item(group, channel, policy, False, today, calendar) for group in assignments]
        text = _tidy(txt.render(ctx | {"groups": _by_directive(text_items)}))
        html = None
        if channel in EMAIL_CHANNELS:
            html_items = [_digest_item(group, channel, policy, True, today, calendar) for group in assignments]
            html = htm.render(ctx | {"groups": _by_directive(html_items)})
        elif channel == "zalo":
            # Drop whole items from the end (and say how many) rather than cutting one in half.
            shown = len(text_items)
            while shown > 1 and len(f"{subject}\n\n{text}") > OA_TEXT_LIMIT:
                shown -= 1
                more = len(text_items) - shown
                text = _tidy(txt.render(ctx | {"groups": _by_directive(text_items[:shown]), "more": more}))
        attachments = tuple(Path(str(a)) for p in payloads for a in (p.get("attachments") or []))
    except RenderError:
        raise
    except Exception as exc:
        raise RenderError(f"lỗi dựng thư tổng hợp: {type(exc).__name__}: {exc}") from exc
    subject, text, html = _for_channel(subject, text, html, channel)
    return Rendered(subject, text, html, attachments=attachments)


__all__ = ["KINDS", "RenderError", "Rendered", "message_context", "render_digest", "render_message"]
