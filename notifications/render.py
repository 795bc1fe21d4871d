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
REPLY_HINT = {"zalo": "trả lời tin nhắn này", "zns": "liên hệ qua Zalo", "apprise": "trả lời tin nhắn này"}
DEFAULT_REPLY_HINT = "trả lời thư này"

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
    if not ctx["report_title"]:
        ctx["report_title"] = (
            f"tình hình thực hiện Thông báo {ctx['notice_number']}" if ctx["notice_number"] else "định kỳ"
        )
    ctx["period"] = ctx["period_vi"] or period_vi(ctx["period"])
    ctx["report_period"] = ctx["report_period"] or ctx["period"]
    ctx["attachment_names"] = [Path(str(p)).name for p in ctx["attachments"] or []]
    ctx["channel"] = channel
    ctx["reply_hint"] = REPLY_HINT.get(channel, DEFAULT_REPLY_HINT)
    ctx["report_contact"] = policy.report_contact
    ctx["sender_name"] = policy.sender_name
    ctx["m"] = ctx
    return ctx


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
    if channel in ("email", "mailbox"):
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
        html = _template(kind, "html").render(ctx) if channel in ("email", "mailbox") else None
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
    payload: Mapping[str, Any],
    channel: str,
    policy: NotificationPolicy,
    html: bool,
    today: date,
    calendar: WorkCalendar | None,
) -> dict[str, Any]:
    """One digest entry: the item's context, its kind's headline and its intro (escaped for HTML)."""
    kind = str(payload.get("kind") or "")
    ctx = message_context(payload, channel, policy, today, calendar)
    txt = _template(kind, "txt")
    item: dict[str, Any] = {"m": ctx, "headline": _one_line(_block(txt, "headline", ctx))}
    if html:
        # The block comes out of an autoescaped template: already escaped, so mark it safe.
        item["intro"] = Markup(_one_line(_block(_template(kind, "html"), "intro", ctx)))
    else:
        item["intro"] = _one_line(_block(txt, "intro", ctx))
    return item


def _digest_context(
    payloads: Sequence[Mapping[str, Any]], channel: str, policy: NotificationPolicy, today: date
) -> dict[str, Any]:
    """The digest's own context: the first item's recipient, the date, the count, the report link."""
    first = payloads[0]
    link = next((p.get("report_link") for p in payloads if p.get("report_link")), None)
    base = {
        "kind": "digest",
        "recipient_agency": first.get("recipient_agency"),
        "recipient_role": first.get("recipient_role"),
        "report_link": link,
    }
    ctx = message_context(base, channel, policy)
    ctx.update(count=len(payloads), today_vi=format_date_vi(today), today_weekday=weekday_vi(today), more=0)
    return ctx


def render_digest(
    payloads: Sequence[Mapping[str, Any]],
    channel: str,
    policy: NotificationPolicy,
    today: date,
    calendar: WorkCalendar | None = None,
) -> Rendered:
    """Render one digest listing every payload (each payload carries its own `kind`); today is the local sending day."""
    if not payloads:
        raise RenderError("thư tổng hợp cần ít nhất một việc")
    try:
        ctx = _digest_context(payloads, channel, policy, today)
        txt, htm = _template("digest", "txt"), _template("digest", "html")
        subject = _one_line(_block(txt, "subject", ctx))
        ctx["subject"] = subject
        text_items = [_digest_item(p, channel, policy, False, today, calendar) for p in payloads]
        text = _tidy(txt.render(ctx | {"items": text_items}))
        html = None
        if channel in ("email", "mailbox"):
            html = htm.render(
                ctx | {"items": [_digest_item(p, channel, policy, True, today, calendar) for p in payloads]}
            )
        elif channel == "zalo":
            # Drop whole items from the end (and say how many) rather than cutting one in half.
            shown = len(text_items)
            while shown > 1 and len(f"{subject}\n\n{text}") > OA_TEXT_LIMIT:
                shown -= 1
                text = _tidy(txt.render(ctx | {"items": text_items[:shown], "more": len(text_items) - shown}))
        attachments = tuple(Path(str(a)) for p in payloads for a in (p.get("attachments") or []))
    except RenderError:
        raise
    except Exception as exc:
        raise RenderError(f"lỗi dựng thư tổng hợp: {type(exc).__name__}: {exc}") from exc
    subject, text, html = _for_channel(subject, text, html, channel)
    return Rendered(subject, text, html, attachments=attachments)


__all__ = ["KINDS", "RenderError", "Rendered", "message_context", "render_digest", "render_message"]
