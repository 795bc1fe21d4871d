"""Reply commands: `dondoc intake reply FILE.eml` (a reply forwarded by hand) and `dondoc intake held`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cli.common import console, fail, require_database

MAX_EML_BYTES = 10 * 1024 * 1024


def register(intake_app: typer.Typer) -> None:
    """Attach `reply` and `held` to `dondoc intake`."""

    @intake_app.command("reply", help="Ghi nhận một thư trả lời đã lưu (.eml), như khi đọc từ hộp thư trả lời.")
    def reply_command(
        path: Annotated[Path, typer.Argument(metavar="FILE.eml", help="Thư trả lời của cơ quan, lưu dạng .eml.")],
    ) -> None:
        """Handle one saved reply: recorded, held (with the reason) or already handled."""
        from tasks.reply_intake import handle_email
        from tasks.rules import load_follow_up_rules

        require_database()
        if not path.is_file():
            raise fail(f"không có tệp {path}")
        if path.stat().st_size > MAX_EML_BYTES:
            raise fail(f"tệp {path} lớn quá {MAX_EML_BYTES // (1024 * 1024)} MB")
        outcome = handle_email(path.read_bytes(), rules=load_follow_up_rules())
        console.print(outcome.line(), highlight=False, markup=False, soft_wrap=True)
        if outcome.state == "held":
            raise typer.Exit(2)

    @intake_app.command("held", help="Các tin trả lời (thư, Zalo) đang giữ lại chờ cán bộ xem xét, kèm lý do.")
    def held_command(
        limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="Số tin tối đa.")] = 50,
    ) -> None:
        """List held replies, newest first."""
        from domain.workdays import VN_TZ
        from models.db import session_scope
        from tasks.replies import held_replies

        require_database()
        with session_scope(read_only=True) as session:
            held = held_replies(session=session, limit=limit)
        if not held:
            console.print("Không có tin trả lời nào đang chờ xem xét.", highlight=False)
            return
        table = Table(title="Tin trả lời chờ xem xét")
        for column in ("Nhận lúc", "Kênh", "Người gửi", "Mã tin", "Lý do", "Nội dung"):
            table.add_column(column, overflow="fold")
        for item in held:
            table.add_row(
                item["seen_at"].astimezone(VN_TZ).strftime("%H:%M %d/%m/%Y"),
                "Thư điện tử" if item.get("channel") == "email" else "Zalo",
                str(item.get("sender", "")),
                str(item.get("message_id", "")),
                "; ".join(item.get("reasons") or []),
                str(item.get("text", ""))[:200],
            )
        console.print(table)
        console.print(f"{len(held)} tin chờ xem xét.", highlight=False)
