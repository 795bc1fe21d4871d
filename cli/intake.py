"""Status intake commands: the web intake, agency API tokens, signed links, XLSX templates, polled sources."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cli import replies
from cli.common import console, err, fail, report_config_error, require_database, resolve_notice
from config.loader import ConfigError
from config.settings import get_settings


def _local(moment: object) -> str:
    """A timestamp in Vietnam time, or a dash."""
    from datetime import datetime

    from intake.queries import local_time_vi

    return local_time_vi(moment) if isinstance(moment, datetime) else "—"


def register(app: typer.Typer) -> None:
    """Attach `dondoc intake …`, `dondoc export-template` and `dondoc import-updates`."""
    intake_app = typer.Typer(
        help="Tiếp nhận báo cáo: trang web theo liên kết, API cho cơ quan, nguồn trạng thái.", no_args_is_help=True
    )
    token_app = typer.Typer(help="Mã truy cập API của các cơ quan.", no_args_is_help=True)
    link_app = typer.Typer(help="Liên kết báo cáo có chữ ký.", no_args_is_help=True)
    app.add_typer(intake_app, name="intake")
    intake_app.add_typer(token_app, name="token")
    intake_app.add_typer(link_app, name="link")
    replies.register(intake_app)

    @intake_app.command(
        "serve", help="Chạy riêng trang tiếp nhận báo cáo và API (dondoc serve cũng chạy kèm). Dừng bằng Ctrl+C."
    )
    def serve_command(
        host: Annotated[str, typer.Option("--host", help="Địa chỉ lắng nghe.")] = "127.0.0.1",
        port: Annotated[int, typer.Option("--port", help="Cổng.")] = 7700,
    ) -> None:
        """Serve the intake app in the foreground."""
        from config.intake import IntakeConfigError, get_intake_settings
        from intake.server import run

        require_database()
        settings = get_intake_settings()
        if settings.secret_problems():
            raise fail(f"không khởi động được: {'; '.join(settings.secret_problems())}")
        if not settings.links_enabled:
            err.print(
                "[yellow]Chú ý:[/] chưa đặt DONDOC_INTAKE_SECRET và DONDOC_PUBLIC_URL: liên kết báo cáo chưa dùng được "
                "(API theo mã truy cập vẫn chạy).",
                highlight=False,
            )
        console.print(
            f"Trang tiếp nhận báo cáo: http://{host}:{port}/ · API: http://{host}:{port}/api/docs", highlight=False
        )
        try:
            run(host, port)
        except IntakeConfigError as exc:
            raise fail(str(exc)) from None

    @token_app.command("create", help="Cấp mã truy cập API cho một cơ quan (mã chỉ hiện một lần).")
    def token_create(
        agency: Annotated[str, typer.Argument(metavar="AGENCY", help="Mã cơ quan, ví dụ SO_TC.")],
        label: Annotated[str | None, typer.Option("--label", help="Ghi chú: hệ thống nào dùng mã này.")] = None,
        by: Annotated[str, typer.Option("--by", help="Người cấp.")] = "Văn phòng (dòng lệnh)",
    ) -> None:
        """Create an agency's API token and print it once."""
        from intake.tokens import TokenError, create_token
        from models.db import session_scope

        require_database()
        try:
            with session_scope() as session:
                info, token = create_token(agency, label=label, created_by=by, session=session)
        except TokenError as exc:
            raise fail(str(exc)) from None
        console.print(
            f"Đã cấp mã truy cập số {info.id} cho {info.agency_code}. Mã chỉ hiện MỘT LẦN, hãy lưu ngay:",
            highlight=False,
        )
        print(token)
        console.print(f"Thu hồi khi cần: dondoc intake token revoke {info.id}", highlight=False)

    @token_app.command("list", help="Liệt kê mã truy cập (không hiện mã).")
    def token_list(agency: Annotated[str | None, typer.Option("--agency", help="Chỉ một cơ quan.")] = None) -> None:
        """List tokens without their secrets."""
        from intake.tokens import list_tokens
        from models.db import session_scope

        require_database()
        with session_scope(read_only=True) as session:
            tokens = list_tokens(agency, session=session)
        table = Table(title="Mã truy cập API")
        for column in ("Số", "Cơ quan", "Bắt đầu bằng", "Ghi chú", "Cấp lúc", "Dùng gần nhất", "Thu hồi"):
            table.add_column(
                column, no_wrap=column in ("Số", "Bắt đầu bằng"), min_width=14 if column == "Bắt đầu bằng" else None
            )
        for t in tokens:
            table.add_row(
                str(t.id),
                t.agency_code,
                t.prefix + "…",
                t.label or "—",
                _local(t.created_at),
                _local(t.last_used_at),
                _local(t.revoked_at),
            )
        console.print(table)

    @token_app.command("revoke", help="Thu hồi một mã truy cập (theo số hoặc phần đầu dd_…).")
    def token_revoke(
        ref: Annotated[str, typer.Argument(metavar="TOKEN", help="Số thứ tự hoặc phần đầu của mã.")],
        by: Annotated[str, typer.Option("--by", help="Người thu hồi.")] = "Văn phòng (dòng lệnh)",
    ) -> None:
        """Revoke a token."""
        from intake.tokens import TokenError, revoke_token
        from models.db import session_scope

        require_database()
        try:
            with session_scope() as session:
                info = revoke_token(ref, revoked_by=by, session=session)
        except TokenError as exc:
            raise fail(str(exc)) from None
        console.print(f"Đã thu hồi mã truy cập số {info.id} ({info.prefix}…) của {info.agency_code}.", highlight=False)

    @link_app.command("show", help="In liên kết báo cáo có chữ ký của một việc (để gửi tay).")
    def link_show(assignment_id: Annotated[int, typer.Argument(metavar="ASSIGNMENT", help="Mã việc.")]) -> None:
        """Print the signed report link of one assignment."""
        from sqlmodel import Session

        from config.intake import IntakeConfigError, get_intake_settings
        from models import Agency, Assignment, get_engine
        from tasks.report_links import report_link

        require_database()
        with Session(get_engine()) as session:
            assignment = session.get(Assignment, assignment_id)
            agency = session.get(Agency, assignment.agency_id) if assignment else None
        if assignment is None or agency is None:
            raise fail(f"không có việc số {assignment_id}")
        try:
            print(report_link(assignment_id, agency.code, settings=get_intake_settings()))
        except IntakeConfigError as exc:
            raise fail(str(exc)) from None

    @link_app.command("revoke", help="Thu hồi mọi liên kết đã gửi cho một cơ quan (liên kết mới vẫn dùng được).")
    def link_revoke(
        agency: Annotated[str, typer.Argument(metavar="AGENCY", help="Mã cơ quan.")],
        reason: Annotated[str | None, typer.Option("--reason", help="Lý do.")] = None,
        by: Annotated[str, typer.Option("--by", help="Người thu hồi.")] = "Văn phòng (dòng lệnh)",
    ) -> None:
        """Revoke one agency's links issued so far."""
        from models.db import session_scope
        from models.types import utcnow
        from tasks.report_links import revoke_links

        require_database()
        try:
            with session_scope() as session:
                revoke_links(agency, revoked_by=by, reason=reason, now=utcnow(), session=session)
        except LookupError as exc:
            raise fail(str(exc)) from None
        console.print(
            f"Đã thu hồi các liên kết đã gửi cho {agency}. Để thu hồi mọi liên kết của mọi cơ quan: đổi "
            "DONDOC_INTAKE_SECRET.",
            highlight=False,
        )

    @intake_app.command("poll", help="Lấy trạng thái ngay từ các nguồn trong status_sources.yaml.")
    def poll_command(source: Annotated[str | None, typer.Option("--source", help="Chỉ một nguồn.")] = None) -> None:
        """Poll every configured source now (or one)."""
        from config.status_sources import load_status_sources
        from models.db import session_scope
        from tasks.polling import poll_sources

        require_database()
        try:
            sources = load_status_sources(get_settings().config_dir).sources
        except ConfigError as exc:
            raise report_config_error(exc) from None
        chosen = [s for s in sources if source is None or s.name == source]
        if not chosen:
            raise fail(f"không có nguồn «{source}»" if source else "chưa cấu hình nguồn nào (status_sources.yaml)")
        with session_scope() as session:
            report = poll_sources(chosen, session=session, force=True)
        for outcome in report.outcomes:
            console.print(outcome.line(), highlight=False, markup=False)
            for problem in outcome.problems:
                console.print(f"  • {problem}", highlight=False, markup=False)
        if report.failed:
            raise typer.Exit(1)

    @intake_app.command("sources", help="Kiểm tra status_sources.yaml và xem tình trạng từng nguồn.")
    def sources_command() -> None:
        """Validate the sources file and show each source's cursor."""
        from config.status_sources import load_status_sources
        from models.db import session_scope
        from tasks.polling import source_states

        require_database()
        try:
            sources = load_status_sources(get_settings().config_dir).sources
        except ConfigError as exc:
            raise report_config_error(exc) from None
        with session_scope(read_only=True) as session:
            states = {row.source: row for row in source_states(session=session)}
        table = Table(title="Nguồn trạng thái")
        for column in (
            "Nguồn",
            "Cơ quan",
            "Loại",
            "Lấy thành công gần nhất",
            "Lần tới",
            "Lỗi liên tiếp",
            "Lỗi gần nhất",
        ):
            table.add_column(column)
        for spec in sources:
            row = states.get(spec.name)
            table.add_row(
                spec.name,
                spec.agency,
                spec.kind,
                _local(row.last_success_at if row else None),
                _local(row.next_attempt_at if row else None),
                str(row.failures if row else 0),
                (row.last_error if row else None) or "—",
            )
        console.print(table)
        console.print(f"{len(sources)} nguồn; tệp hợp lệ.", highlight=False)

    @app.command("export-template", help="Xuất tệp XLSX để cơ quan điền báo cáo tiến độ (mỗi dòng một việc).")
    def export_template_command(
        notice_ref: Annotated[str, typer.Argument(metavar="NOTICE", help="Số thông báo.")],
        output: Annotated[
            Path | None, typer.Option("--output", "-o", help="Tệp ghi ra (mặc định: bao-cao-<số>.xlsx).")
        ] = None,
        agency: Annotated[str | None, typer.Option("--agency", help="Chỉ các việc của một cơ quan.")] = None,
    ) -> None:
        """Write the XLSX template of a notice."""
        from domain.text import ascii_slug
        from models.db import session_scope
        from tasks.status_workbook import export_template

        require_database()
        with session_scope(read_only=True) as session:
            notice = resolve_notice(notice_ref, session=session)
            path = output or Path(f"bao-cao-{ascii_slug(notice.number)}.xlsx")
            count = export_template(notice.id, path, agency, session=session)  # type: ignore[arg-type]
        console.print(
            f"Đã ghi {path} ({count} việc). Điền các cột nền vàng rồi nhập bằng: dondoc import-updates {path}",
            highlight=False,
        )

    @app.command(
        "import-updates",
        help="Nhập tệp XLSX báo cáo tiến độ đã điền: kiểm tra toàn bộ, có lỗi thì không nhập dòng nào.",
    )
    def import_updates_command(
        path: Annotated[Path, typer.Argument(metavar="FILE.xlsx", help="Tệp đã điền (mẫu của export-template).")],
        by: Annotated[str, typer.Option("--by", help="Người nhập.")] = "Văn phòng (nhập tệp)",
    ) -> None:
        """Import a filled-in template, all rows or none."""
        from models.db import session_scope
        from tasks.status_workbook import TemplateError, import_file

        require_database()
        if not path.is_file():
            raise fail(f"không thấy tệp {path}")
        try:
            with session_scope() as session:
                result = import_file(path, session=session, reported_by=by)
        except TemplateError as exc:
            raise fail(str(exc)) from None
        if not result.ok:
            err.print(
                f"[bold red]Lỗi:[/] tệp có {len(result.errors)} lỗi; không nhập dòng nào. Sửa rồi nhập lại:",
                highlight=False,
            )
            for problem in result.errors:
                err.print(f"  {problem}", highlight=False, markup=False)
            raise typer.Exit(1)
        console.print(f"Đã nhập {len(result.recorded)} báo cáo tiến độ từ {path.name}.", highlight=False)
