"""`dondoc outbox list|deliver|retry`: look at the notification outbox, deliver what is due, re-queue a row."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import select

from cli.common import console, fail, parse_as_of, report_config_error, require_database
from config.loader import ConfigError
from config.settings import get_settings
from models import Agency, Notification, NotificationState
from notifications.dead_letters import CHANNEL_VI, STATE_VI, kind_label, local_time, safe_address

STATES = [s.value for s in NotificationState]


def _short(text: str | None, limit: int = 160) -> str:
    """One line, cut to limit characters."""
    if not text:
        return "—"
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def outbox_list(
    state: Annotated[
        str | None, typer.Option("--state", help=f"Chỉ hiện tin ở trạng thái này ({'|'.join(STATES)}).")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Số dòng tối đa (mới nhất trước).")] = 50,
) -> None:
    """Liệt kê các tin trong hàng đợi gửi (outbox)."""
    from models import get_engine

    if state is not None and state not in STATES:
        raise fail(f"trạng thái «{state}» không có; chọn một trong: {', '.join(STATES)}", 2)
    require_database()
    outbox, agency = Notification.__table__, Agency.__table__  # type: ignore[attr-defined]
    statement = (
        select(outbox, agency.c.name.label("agency_name"))
        .select_from(outbox.outerjoin(agency, agency.c.id == outbox.c.recipient_agency_id))
        .order_by(outbox.c.id.desc())
        .limit(limit)
    )
    if state is not None:
        statement = statement.where(outbox.c.state == state)
    with get_engine().connect() as conn:
        rows = conn.execute(statement).all()
    title = "Hàng đợi gửi tin" + (f" — {STATE_VI[state].lower()}" if state else "")
    table = Table(title=title)
    for column in (
        "Mã",
        "Loại tin",
        "Người nhận",
        "Kênh",
        "Địa chỉ",
        "Trạng thái",
        "Số lần thử",
        "Lỗi cuối",
        "Lần gửi tới",
    ):
        table.add_column(column, overflow="fold")
    for row in rows:
        waiting = row.state in (NotificationState.pending.value, NotificationState.failed.value)
        table.add_row(
            str(row.id),
            kind_label(row.kind, row.escalation_level),
            row.agency_name or (row.payload or {}).get("recipient_agency") or "—",
            CHANNEL_VI.get(row.channel, row.channel),
            safe_address(row.channel, row.address),
            STATE_VI.get(row.state, row.state),
            str(row.attempts),
            _short(row.last_error),
            local_time(row.next_attempt_at) if waiting else "—",
        )
    console.print(table)
    console.print(f"{len(rows)} tin.", highlight=False)


def outbox_deliver(
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Thời điểm tính: YYYY-MM-DD (8:00 sáng) hoặc YYYY-MM-DDTHH:MM, giờ Việt Nam. Mặc định: bây giờ.",
        ),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Số tin tối đa nhận gửi trong lượt này.")] = 500,
) -> None:
    """Gửi ngay các tin đã đến giờ gửi (trong khung giờ gửi)."""
    from models.db import session_scope
    from notifications.dispatcher import deliver_due

    moment = parse_as_of(as_of)
    require_database()
    try:
        with session_scope() as session:
            report = deliver_due(moment, session=session, settings=get_settings(), limit=limit)
    except ConfigError as exc:
        raise report_config_error(exc) from None
    console.print(
        f"Đã nhận {report.claimed} tin: đã gửi {report.sent} (trong đó {report.digests} thư tổng hợp), "
        f"chờ gửi lại {report.retrying}, không gửi được {report.dead}, đã hủy {report.cancelled}, "
        f"hoãn đến khung giờ gửi {report.held}.",
        highlight=False,
    )
    if report.dead:
        console.print("Xem các tin không gửi được: dondoc outbox list --state dead", highlight=False)


def outbox_retry(
    notification_id: Annotated[int, typer.Argument(metavar="MÃ", help="Mã tin (cột «Mã» của dondoc outbox list).")],
) -> None:
    """Đưa lại một tin không gửi được (hoặc đã hủy) vào hàng đợi, với số lần thử làm lại từ đầu."""
    from models.db import session_scope
    from notifications.outbox import requeue

    require_database()
    with session_scope() as session:
        requeued = requeue(notification_id, session=session)
    if not requeued:
        raise fail(
            f"không đưa lại được tin {notification_id}: không có tin này, hoặc tin không ở trạng thái "
            "không gửi được / lỗi / đã hủy"
        )
    console.print(f"Đã đưa tin {notification_id} trở lại hàng đợi; tin sẽ được gửi ở lượt gửi tới.", highlight=False)


def notify_test(
    agency: Annotated[str, typer.Argument(metavar="AGENCY", help="Mã, tên hoặc tên viết tắt của cơ quan.")],
) -> None:
    """Gửi một tin thử trên từng kênh liên hệ của cơ quan và in kết quả từng kênh."""
    from datetime import UTC, datetime

    from config.agencies import load_agencies
    from config.notifications import load_notification_policy
    from notifications.channels import send_message
    from notifications.outbox import ChannelError, channel_url

    settings = get_settings()
    try:
        directory = load_agencies(settings.config_dir)
        policy = load_notification_policy(settings.config_dir)
    except ConfigError as exc:
        raise report_config_error(exc) from None
    codes = directory.resolve(agency)
    if not codes or len(codes) != 1:
        hint = ", ".join(directory.closest(agency))
        raise fail(f"không có cơ quan «{agency}» trong danh mục" + (f"; gần giống: {hint}" if hint else ""))
    spec = directory.by_code[codes[0]]
    if not spec.contacts:
        raise fail(f"{spec.display_name} chưa có địa chỉ liên hệ nào trong danh mục")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    table = Table(title=f"Gửi tin thử — {spec.name}")
    for column in ("Kênh", "Vai trò", "Địa chỉ", "Kết quả", "Chi tiết"):
        table.add_column(column, overflow="fold")
    failures = 0
    for contact in spec.contacts:
        subject = f"[Thử] Kiểm tra kênh liên lạc của hệ thống đôn đốc – {spec.display_name}"
        text = (
            f"Kính gửi: {spec.name}.\n\nĐây là tin thử để kiểm tra kênh liên lạc của hệ thống theo dõi, "
            "đôn đốc thực hiện Thông báo kết luận. Không cần trả lời."
        )
        try:
            url = channel_url(contact.channel, contact.address, settings, policy)
            result = send_message(
                url,
                subject=subject,
                text=text,
                html=None,
                headers=None,
                attachments=None,
                idempotency_key=f"test|{spec.code}|{contact.channel}|{stamp}",
            )
            outcome, detail = ("Đã gửi", result.provider_message_id or "") if result.ok else ("Lỗi", result.error or "")
        except ChannelError as exc:
            outcome, detail = "Chưa cấu hình", str(exc)
        failures += outcome != "Đã gửi"
        table.add_row(
            CHANNEL_VI.get(contact.channel, contact.channel),
            contact.role,
            safe_address(contact.channel, contact.address),
            outcome,
            _short(detail),
        )
    console.print(table)
    if failures:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add the `outbox` and `notify` command groups to the dondoc app."""
    outbox_app = typer.Typer(help="Hàng đợi gửi tin (outbox): xem, gửi, gửi lại.", invoke_without_command=True)

    @outbox_app.callback()
    def outbox_default(
        ctx: typer.Context,
        state: Annotated[
            str | None, typer.Option("--state", help=f"Chỉ hiện tin ở trạng thái này ({'|'.join(STATES)}).")
        ] = None,
    ) -> None:
        """`dondoc outbox [--state dead]` lists, like `dondoc outbox list`."""
        if ctx.invoked_subcommand is None:
            outbox_list(state=state)

    notify_app = typer.Typer(help="Kiểm tra kênh liên lạc.", no_args_is_help=True)
    notify_app.command("test")(notify_test)
    app.add_typer(notify_app, name="notify")
    outbox_app.command("list")(outbox_list)
    outbox_app.command("deliver")(outbox_deliver)
    outbox_app.command("retry")(outbox_retry)
    app.add_typer(outbox_app, name="outbox")
