"""Dead letters (messages the outbox gave up on), as rows for the CLI and a Prefect table artifact."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pendulum
from prefect.artifacts import create_table_artifact
from sqlalchemy import select
from sqlmodel import Session

from domain.labels import KIND_VI
from domain.workdays import VN_TZ
from models import Agency, Notification, NotificationState
from notifications.channels import describe_url
from notifications.delivery import mask_secrets

ARTIFACT_KEY = "dondoc-thu-khong-gui-duoc"
CHANNEL_VI = {
    "email": "Thư điện tử",
    "mailbox": "Hộp thư cục bộ",
    "zalo": "Zalo OA",
    "zns": "Zalo ZNS",
    "apprise": "Apprise",
}
STATE_VI = {
    "pending": "Chờ gửi",
    "sending": "Đang gửi",
    "sent": "Đã gửi",
    "failed": "Lỗi, chờ gửi lại",
    "dead": "Không gửi được",
    "cancelled": "Đã hủy",
}


def local_time(moment: datetime | None) -> str:
    """DD/MM/YYYY HH:mm in Vietnam, or an em dash."""
    if moment is None:
        return "—"
    return pendulum.instance(moment).in_tz(VN_TZ).format("DD/MM/YYYY HH:mm")


def kind_label(kind: str, level: int | None) -> str:
    """The kind in Vietnamese, with the escalation level."""
    label = KIND_VI.get(kind, kind)
    return f"{label} mức {level}" if kind == "escalation" and level else label


def safe_address(channel: str, address: str) -> str:
    """The address as it may be shown: Apprise URLs are masked (they may hold tokens)."""
    return describe_url(address) if channel == "apprise" else mask_secrets(address)


def dead_letter_rows(limit: int = 200, *, session: Session) -> list[dict[str, Any]]:
    """Dead outbox rows, newest first, with Vietnamese column names."""
    outbox, agency = Notification.__table__, Agency.__table__  # type: ignore[attr-defined]  # SQLModel sets __table__ at class creation without declaring it
    statement = (
        select(outbox, agency.c.name.label("agency_name"))
        .select_from(outbox.outerjoin(agency, agency.c.id == outbox.c.recipient_agency_id))
        .where(outbox.c.state == NotificationState.dead.value)
        .order_by(outbox.c.id.desc())
        .limit(limit)
    )
    found = session.connection().execute(statement).all()
    rows = []
    for row in found:
        payload = row.payload or {}
        history = row.error_history or []
        last_try = history[-1]["time"] if history else None
        rows.append(
            {
                "Mã": row.id,
                "Loại tin": kind_label(row.kind, row.escalation_level),
                "Người nhận": row.agency_name or payload.get("recipient_agency") or "—",
                "Về việc": f"Mục {payload['directive_number']} TB {payload.get('notice_number', '')}".strip()
                if payload.get("directive_number")
                else "—",
                "Kênh": CHANNEL_VI.get(row.channel, row.channel),
                "Địa chỉ": safe_address(row.channel, row.address),
                "Số lần thử": row.attempts,
                "Lỗi cuối": mask_secrets(row.last_error or "—"),
                "Lần thử cuối": local_time(datetime.fromisoformat(last_try)) if last_try else "—",
            }
        )
    return rows


def publish_dead_letters(limit: int = 200, *, session: Session) -> int:
    """Publish the dead letters as a keyed Prefect table artifact; return how many there are."""
    rows = dead_letter_rows(limit, session=session)
    if rows:
        description = (
            f"**{len(rows)} tin không gửi được.** Kiểm tra địa chỉ hoặc kênh, rồi gửi lại bằng "
            "`dondoc outbox retry MÃ`. Việc đôn đốc, báo cáo vượt cấp vẫn tiếp tục."
        )
    else:
        description = "Không có tin nào bị dừng gửi."
    create_table_artifact(table=rows, key=ARTIFACT_KEY, description=description)
    return len(rows)


__all__ = ["ARTIFACT_KEY", "dead_letter_rows", "kind_label", "local_time", "publish_dead_letters", "safe_address"]
