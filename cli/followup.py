"""Follow-up commands: dry-run plan, sweep, one directive's follow-up, status updates, extensions."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlmodel import Session, col, select

from cli.common import (
    console,
    data_end_hint,
    fail,
    parse_as_of,
    parse_day_option,
    report_config_error,
    require_database,
    resolve_notice,
)
from config.escalation import load_escalation_policy
from config.policy import load_calendar
from config.settings import get_settings
from domain.labels import KIND_VI, RECIPIENT_VI
from domain.planner import PlannedMessage, dry_run
from domain.timeliness import CATEGORY_VI, Category
from domain.workdays import format_date_vi, local_date, weekday_vi
from models import Directive, Notice, get_engine


def _note(message: PlannedMessage) -> str:
    """Explain a planned message in a few words."""
    if message.kind == "reminder":
        return f"còn {message.offset} ngày làm việc"
    if message.kind in ("overdue", "escalation"):
        return f"bậc {message.level}, quá hạn {message.days_overdue} ngày làm việc"
    return ""


def register(app: typer.Typer) -> None:
    """Attach the follow-up commands to the dondoc app."""
    extension_app = typer.Typer(help="Gia hạn.", no_args_is_help=True)
    app.add_typer(extension_app, name="extension")

    @app.command("plan", help="Chạy thử: mọi tin nhắc và báo cáo vượt cấp sẽ gửi nếu không ai báo cáo.")
    def plan_command(
        notice_ref: Annotated[str, typer.Argument(metavar="NOTICE", help="Số thông báo.")],
        directive: Annotated[str | None, typer.Option("--directive", help="Chỉ một mục, ví dụ 2.3.")] = None,
        as_of: Annotated[
            str | None, typer.Option("--as-of", help="Tính từ ngày/giờ (dd/mm/yyyy, yyyy-mm-dd hoặc ISO 8601).")
        ] = None,
    ) -> None:
        """Dry run: every reminder and escalation that would go out if nobody reported anything."""
        from models.db import session_scope
        from tasks.directive_state import read_directive_state
        from tasks.rules import load_follow_up_rules

        moment = parse_as_of(as_of)
        config_dir = get_settings().config_dir
        policy, calendar = load_escalation_policy(config_dir), load_calendar(config_dir)
        rules = load_follow_up_rules()
        notice, directives = _notice_directives(notice_ref, directive)
        table = Table(title=f"Kế hoạch nhắc việc và báo cáo vượt cấp — {notice.number} (nếu không ai báo cáo)")
        for column in ("Ngày", "Mục", "Loại", "Việc của", "Gửi đến", "Ghi chú"):
            table.add_column(column)
        count = 0
        for item in directives:
            with session_scope(read_only=True) as session:
                state = read_directive_state(item.id, moment, session=session, rules=rules)  # type: ignore[arg-type]
            # "What if it had been given at as_of": a dry run before go-live starts the clock there.
            facts = [replace(a, created_at=min(a.created_at, moment)) for a in state.assignments]
            for message in dry_run(facts, state.facts, policy, calendar, moment):
                day = local_date(message.send_at)
                recipient = f"{state.names[message.recipient_agency]} ({RECIPIENT_VI[message.recipient]})"
                table.add_row(
                    f"{format_date_vi(day)} {weekday_vi(day)}",
                    item.number,
                    KIND_VI[message.kind],
                    state.names[message.subject_agency],
                    recipient,
                    _note(message),
                )
                count += 1
        console.print(table)
        console.print(f"Tổng cộng {count} tin nhắn dự kiến.", highlight=False)

    @app.command("assignments", help="Liệt kê các việc của một thông báo: mã việc, cơ quan, hạn, tình trạng.")
    def assignments_command(
        notice_ref: Annotated[str, typer.Argument(metavar="NOTICE", help="Số thông báo.")],
        directive: Annotated[str | None, typer.Option("--directive", help="Chỉ một mục, ví dụ 2.3.")] = None,
        as_of: Annotated[str | None, typer.Option("--as-of", help="Tính đến ngày/giờ (mặc định: bây giờ).")] = None,
    ) -> None:
        """List a notice's assignments with their ids, status and timeliness category."""
        from models.db import session_scope
        from tasks.artifacts import directive_rows
        from tasks.directive_state import read_directive_state
        from tasks.planning import plan_directive
        from tasks.rules import load_follow_up_rules

        moment = parse_as_of(as_of)
        rules = load_follow_up_rules()
        _, directives = _notice_directives(notice_ref, directive)
        for item in directives:
            with session_scope(read_only=True) as session:
                state = read_directive_state(item.id, moment, session=session, rules=rules)  # type: ignore[arg-type]
            rows = directive_rows(state, plan_directive(state, moment, rules=rules))
            table = Table(title=f"Mục {item.number} — tính đến {format_date_vi(local_date(moment))}")
            for column in rows[0] if rows else []:
                table.add_column(column)
            for row in rows:
                table.add_row(*(str(value) for value in row.values()))
            console.print(table)
        with session_scope(read_only=True) as session:
            hint = data_end_hint(as_of is not None, session=session)
        if hint:
            console.print(hint, highlight=False)

    @app.command("sweep", help="Đôn đốc mọi mục đến lượt, rồi gửi tin nhắn.")
    def sweep_command(
        as_of: Annotated[str | None, typer.Option("--as-of", help="Thời điểm (mặc định: bây giờ).")] = None,
        fan_out: Annotated[
            bool, typer.Option("--fan-out", help="Chạy các mục trên worker qua run_deployment.")
        ] = False,
    ) -> None:
        """Follow up every directive whose next action is due, then deliver."""
        from flows.sweep import sweep

        require_database()
        state = sweep(as_of=parse_as_of(as_of), fan_out=fan_out, return_state=True)
        console.print(state.message or state.name, highlight=False)
        if not state.is_completed():
            raise typer.Exit(1)

    @app.command("follow-up", help="Đôn đốc ngay một mục của thông báo.")
    def follow_up_command(
        notice_ref: Annotated[str, typer.Argument(metavar="NOTICE")],
        directive: Annotated[str, typer.Option("--directive", help="Số mục, ví dụ 2.3.")],
        as_of: Annotated[str | None, typer.Option("--as-of")] = None,
    ) -> None:
        """Follow one directive up now (or at --as-of)."""
        from flows.follow_up import follow_up_directive

        directive_id = _directive_id(notice_ref, directive)
        state = follow_up_directive(directive_id, parse_as_of(as_of), return_state=True)
        console.print(state.message or state.name, highlight=False)

    @app.command("update", help="Ghi nhận báo cáo tiến độ nhận bằng văn bản giấy.")
    def update_command(
        assignment_id: Annotated[int, typer.Argument(metavar="ASSIGNMENT", help="Mã việc (xem dondoc show).")],
        status: Annotated[
            str,
            typer.Option(
                "--status",
                help="«đã tiếp nhận», «đang thực hiện» hoặc «hoàn thành» (có hoặc không dấu), "
                "hoặc mã acknowledged | in_progress | done.",
            ),
        ],
        percent: Annotated[int | None, typer.Option("--percent", min=0, max=100)] = None,
        note: Annotated[str | None, typer.Option("--note")] = None,
        doc_number: Annotated[str | None, typer.Option("--doc-number", help="Số văn bản báo cáo.")] = None,
        reported_by: Annotated[str, typer.Option("--by", help="Người ghi nhận.")] = "Văn phòng (nhập tay)",
    ) -> None:
        """Record a progress report that arrived on paper."""
        from domain.labels import STATUS_VI
        from models.db import session_scope
        from tasks.status_recording import StatusChangeRefused, parse_status, record_status_update

        code = parse_status(status)
        if code is None:
            raise fail(
                f"--status: không hiểu trạng thái «{status}»; "
                "hãy ghi «đã tiếp nhận», «đang thực hiện» hoặc «hoàn thành» (có hoặc không dấu)."
            )
        require_database()
        try:
            with session_scope() as session:
                result = record_status_update(
                    assignment_id,
                    session=session,
                    status=code,
                    percent=percent,
                    note=note,
                    document_number=doc_number,
                    reported_by=reported_by,
                    source="cli",
                )
        except StatusChangeRefused as exc:
            raise fail(str(exc)) from None
        label = STATUS_VI.get(code, code).lower()
        console.print(f"Đã ghi báo cáo số {result.update_id} cho việc {assignment_id}: {label}.", highlight=False)

    @app.command("replay", help="Chạy lại một kịch bản theo thời gian mô phỏng qua quy trình thật, rồi tóm tắt.")
    def replay_command(
        scenario: Annotated[Path, typer.Argument(help="Tệp kịch bản (config/scenarios/*.yaml).")],
        verbose: Annotated[bool, typer.Option("--verbose", help="In cả nhật ký của Prefect ra màn hình.")] = False,
    ) -> None:
        """Replay a scenario on simulated time through the real sweep and outbox, then summarise it."""
        import os

        if not verbose:
            # Every run still logs to the Prefect UI; the terminal shows only warnings and the summary.
            os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")
        from config.loader import ConfigError
        from config.scenario import load_scenario
        from flows.replay import replay_scenario

        require_database()
        try:
            plan_ = load_scenario(scenario)
        except ConfigError as exc:
            raise report_config_error(exc) from None
        console.print(
            f"Chạy lại kịch bản {scenario.name} từ {format_date_vi(local_date(plan_.start))} "
            f"đến {format_date_vi(local_date(plan_.end))}…",
            highlight=False,
        )
        with console.status("Đang chạy lại (mỗi lượt quét là một lượt chạy trong Prefect)…"):
            state = replay_scenario(str(scenario.resolve()), return_state=True)
        if not state.is_completed():
            raise fail(f"kịch bản dừng giữa chừng: {state.message}")
        console.print(state.message, highlight=False)
        outcome = state.result()
        assert isinstance(outcome, dict)  # the replay flow returns Completed(data={...})
        print_replay_summary(outcome["notice_id"], plan_.end)

    @extension_app.command(
        "request", help="Gửi đề nghị gia hạn; chờ người điều phối phê duyệt trong giao diện Prefect."
    )
    def extension_request(
        assignment_id: Annotated[int, typer.Argument(metavar="ASSIGNMENT")],
        until: Annotated[str, typer.Option("--until", help="Hạn mới đề nghị (dd/mm/yyyy hoặc yyyy-mm-dd).")],
        reason: Annotated[str, typer.Option("--reason", help="Lý do đề nghị gia hạn.")],
        requested_by: Annotated[str, typer.Option("--by", help="Cơ quan/người đề nghị.")] = "Cơ quan được giao",
    ) -> None:
        """Start an extension review that waits for a coordinator's decision in the Prefect UI."""
        from models.db import session_scope
        from tasks.extensions import ExtensionUnavailable, request_extension
        from tasks.status_recording import StatusChangeRefused

        require_database()
        new_due = parse_day_option(until, "--until")
        try:
            with session_scope() as session:
                started = request_extension(
                    assignment_id, session=session, until=new_due, reason=reason, requested_by=requested_by
                )
        except (StatusChangeRefused, ExtensionUnavailable) as exc:
            raise fail(str(exc)) from None
        console.print(
            f"Đã gửi đề nghị gia hạn (lượt chạy {started.run_name}). Phê duyệt trong giao diện Prefect.",
            highlight=False,
        )


def print_replay_summary(notice_id: int, end: datetime) -> None:
    """Print the replay's timeline and the four-category table at its end."""
    from models.db import session_scope
    from tasks.directive_state import read_directive_state
    from tasks.planning import plan_directive
    from tasks.replay import message_counts, timeline
    from tasks.rules import load_follow_up_rules

    rules = load_follow_up_rules()

    console.rule("Diễn biến chính")
    with session_scope(read_only=True) as session:
        lines, counts = timeline(notice_id, session=session), message_counts(notice_id, session=session)
    for line in lines:
        day = local_date(line.at)
        console.print(f"{format_date_vi(day)} ({weekday_vi(day)})  {line.text}", highlight=False)
    sent = ", ".join(f"{KIND_VI.get(kind, kind).lower()}: {n}" for kind, n in sorted(counts.items()))
    console.print(f"Tin nhắn đã gửi — {sent or 'không có'}", highlight=False)
    table = Table(title=f"Tình hình thực hiện đến {format_date_vi(local_date(end))}")
    table.add_column("Mục")
    for category in Category:
        table.add_column(CATEGORY_VI[category], justify="right")
    with Session(get_engine()) as session:
        ids = session.exec(
            select(Directive.id).where(Directive.notice_id == notice_id).order_by(col(Directive.position))
        ).all()
    totals = {c: 0 for c in Category}
    for directive_id in ids:
        with session_scope(read_only=True) as session:
            state = read_directive_state(directive_id, end, session=session, rules=rules)  # type: ignore[arg-type]
        judged = [t for t in plan_directive(state, end, rules=rules).timeliness.values() if t is not None]
        row = {c: sum(1 for t in judged if t.category == c) for c in Category}
        totals = {c: totals[c] + row[c] for c in Category}
        table.add_row(state.directive_number, *(str(row[c]) for c in Category))
    table.add_row("Cộng", *(str(totals[c]) for c in Category), style="bold")
    console.print(table)


def _notice_directives(notice_ref: str, number: str | None) -> tuple[Notice, list[Directive]]:
    """Resolve NOTICE and an optional directive number, or stop with a clear message."""
    require_database()
    with Session(get_engine()) as session:
        notice = resolve_notice(notice_ref, session=session)
        query = select(Directive).where(Directive.notice_id == notice.id).order_by(col(Directive.position))
        directives = [d for d in session.exec(query).all() if number is None or d.number == number]
    if not directives:
        raise fail(f"thông báo {notice.number} không có mục «{number}»")
    return notice, directives


def _directive_id(notice_ref: str, number: str) -> int:
    """Resolve NOTICE + directive number to an id, or stop with a clear message."""
    return _notice_directives(notice_ref, number)[1][0].id  # type: ignore[return-value]
