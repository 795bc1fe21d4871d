"""`dondoc report`: make the periodic report of a period on demand (the deployment runs it on schedule)."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from cli.common import console, fail, parse_as_of, require_database


def register(app: typer.Typer) -> None:
    """Attach `dondoc report`."""

    @app.command(
        "report",
        help="Lập báo cáo định kỳ (Word, Excel, biểu đồ) theo số liệu đến ngày chốt của kỳ, rồi gửi "
        "cho nơi nhận đã cấu hình. Mỗi kỳ chỉ lập và gửi một lần.",
    )
    def report_command(
        periods: Annotated[
            list[str] | None,
            typer.Option(
                "--period",
                help="Kỳ báo cáo: 2022-Q4 (quý), 2022-10 (tháng), 2022-H2 (6 tháng), 2022 (năm); có thể nêu "
                "nhiều lần. Bỏ trống: kỳ vừa chốt số liệu của từng loại kỳ trong config/reporting.yaml.",
            ),
        ] = None,
        notice: Annotated[
            str | None, typer.Option("--notice", help="Số thông báo; bỏ trống: báo cáo chung mọi thông báo.")
        ] = None,
        as_of: Annotated[
            str | None, typer.Option("--as-of", help="Ngày lập (YYYY-MM-DD hoặc ISO 8601; mặc định: bây giờ).")
        ] = None,
        on_send_date: Annotated[
            bool,
            typer.Option(
                "--on-send-date", help="Lập mỗi báo cáo như vào ngày gửi của kỳ đó (lập bù, chạy lại kịch bản)."
            ),
        ] = False,
        out: Annotated[
            Path | None, typer.Option("--out", help="Thư mục ghi tệp (mặc định: DONDOC_HOME/reports).")
        ] = None,
        no_deliver: Annotated[
            bool,
            typer.Option("--no-deliver", help="Chỉ xếp thư vào hộp thư đi, không gửi ngay (lượt quét sau sẽ gửi)."),
        ] = False,
        verbose: Annotated[bool, typer.Option("--verbose", help="In cả nhật ký của Prefect ra màn hình.")] = False,
    ) -> None:
        """Make (once per period) and send the periodic reports; print the files' paths."""
        if not verbose:
            os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")
        from config.escalation import load_escalation_policy
        from config.settings import get_settings
        from domain.planner import at_local
        from domain.report_periods import PeriodError
        from flows.report import periodic_report
        from models.db import session_scope
        from tasks.reporting.build import ReportRefused, load_report_config, resolve, resolve_scope

        require_database()
        if on_send_date and as_of:
            raise fail("chỉ dùng một trong hai: --as-of hoặc --on-send-date")
        moment = parse_as_of(as_of)
        runs: list[tuple[str | None, datetime]] = []
        config = load_report_config(get_settings().config_dir, get_settings().enabled_channels)
        try:  # refuse a bad period or notice here, with the reason, before any Prefect run starts
            with session_scope(read_only=True) as session:
                resolve_scope(notice, session=session)
            for label in periods or [None]:  # type: ignore[list-item]
                if on_send_date:
                    send_at = load_escalation_policy(get_settings().config_dir).send_at
                    runs += [(p.label, at_local(p.due, send_at)) for p in resolve(label, moment, config)]
                else:
                    resolve(label, moment, config)
                    runs.append((label, moment))
        except (PeriodError, ReportRefused) as exc:
            raise fail(str(exc)) from None
        for run_label, when in runs:
            state = periodic_report(
                notice=notice,
                period=run_label,
                as_of=when,
                out_dir=str(out.resolve()) if out else None,
                deliver=not no_deliver,
                return_state=True,
            )
            if not state.is_completed():
                raise fail(f"không lập được báo cáo: {state.message}")
            outcome = state.result()
            assert isinstance(outcome, dict)  # the report flow returns Completed(data={...})
            for item in outcome["reports"]:
                if not item["files"]:
                    console.print(f"Báo cáo {item['period_vi']}: {'; '.join(item['notes'])}.", highlight=False)
                    continue
                if item["created"]:
                    console.print(
                        f"Báo cáo {item['period_vi']}: đã lập, {item['queued']} thư gửi ngày {item['sent_on']}. Các tệp:",
                        highlight=False,
                    )
                else:
                    console.print(
                        f"Báo cáo {item['period_vi']} đã được lập và gửi ngày {item['sent_on']}; không gửi lại. Các tệp:",
                        highlight=False,
                    )
                for path in item["files"]:
                    console.print(f"  {path}", highlight=False, soft_wrap=True)
