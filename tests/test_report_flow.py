"""The periodic report against the database (SQLite and PostgreSQL): figures in the XLSX and DOCX equal an
independent computation from the tables and the hand-worked answers; the bulk read agrees with the
per-directive read; the flow on a real Prefect server publishes artifacts and sends once per period."""

from __future__ import annotations

import hashlib
import stat
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, time, timedelta
from email import message_from_bytes
from email import policy as email_policy
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import yaml
from docx import Document
from openpyxl import load_workbook
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from prefect.client.schemas.sorting import ArtifactSort
from sqlalchemy import func
from sqlmodel import Session, select
from typer.testing import CliRunner

from cli import common as cli_common
from config.policy import load_calendar, load_deadline_policy
from config.settings import PACKAGED_CONFIG_DIR, get_settings
from domain import report_model
from domain.planner import at_local
from domain.timeliness import classify
from flows.report import periodic_report
from models import Agency, Assignment, DeadlineChange, Directive, Notice, Notification, StatusUpdate, get_engine
from models.db import session_scope
from models.reports import ReportRun
from tasks.directive_state import load_directive_state
from tasks.planning import plan_follow_up
from tasks.reporting import build as reporting
from tasks.reporting.documents import write_all
from tasks.reporting.workbook import DETAIL_HEADERS
from tests import report_scenario
from tests.outbox_helpers import deliver
from tests.report_scenario import EXPECTED, NAMES, NUMBER

CALENDAR = load_calendar(PACKAGED_CONFIG_DIR)
VN = timedelta(hours=7)  # Vietnam has no daylight saving time
CATEGORY_LABELS = ("Hoàn thành đúng hạn", "Hoàn thành quá hạn", "Đang thực hiện trong hạn", "Quá hạn")
MADE = {"2022-Q3": date(2022, 9, 20), "2022-Q4": date(2022, 12, 20), "2023-Q1": date(2023, 3, 20)}
PERIOD_VI = {"2022-Q3": "quý III/2022", "2022-Q4": "quý IV/2022", "2023-Q1": "quý I/2023"}
DATE_LINE = {
    "2022-Q3": "Bắc Giang, ngày 20 tháng 9 năm 2022",
    "2022-Q4": "Bắc Giang, ngày 20 tháng 12 năm 2022",
    "2023-Q1": "Bắc Giang, ngày 20 tháng 3 năm 2023",
}


def morning(day: date) -> datetime:
    return at_local(day, time(8, 0))


@pytest.fixture
def scenario(db, tmp_path: Path) -> int:
    """The hand-worked notice with every event applied."""
    return report_scenario.build(tmp_path)


# --- the independent computation (plain ORM queries and the rules, not the report code) -------------------------


def local_day(moment: datetime) -> date:
    return (moment.astimezone(UTC) + VN).date()


def cutoff_of(label: str) -> tuple[date, date, datetime]:
    """(data_from, cutoff, the last instant of the cut-off day) of a quarter, from deadlines.yaml."""
    conf = load_deadline_policy(PACKAGED_CONFIG_DIR).reporting.quarterly
    year, quarter = int(label[:4]), int(label[-1])
    last_month = 3 * quarter
    cutoff = date(year, last_month, conf.cutoff_day)
    first = date(year - (last_month == 3), (last_month - 4) % 12 + 1, conf.cutoff_day + 1)
    end = (
        datetime(cutoff.year, cutoff.month, cutoff.day, tzinfo=UTC) + timedelta(days=1) - VN - timedelta(microseconds=1)
    )
    return first, cutoff, end


def quarterly_dues() -> list[date]:
    """Quarterly report due dates from Q3/2022: due_day of the quarter's last month, moved to a working day."""
    day = load_deadline_policy(PACKAGED_CONFIG_DIR).reporting.quarterly.due_day
    return [CALENDAR.roll_forward(date(y, m, day)) for y, m in ((2022, 9), (2022, 12), (2023, 3), (2023, 6))]


def independent(label: str) -> dict[str, Any]:
    """Every figure of the report, straight from the tables."""
    data_from, cutoff, end = cutoff_of(label)
    with Session(get_engine()) as session:
        rows = session.exec(
            select(Assignment.id, Directive.number, Directive.due_date, Agency.code, Assignment.role)
            .join(Directive, Directive.id == Assignment.directive_id)
            .join(Notice, Notice.id == Directive.notice_id)
            .join(Agency, Agency.id == Assignment.agency_id)
            .where(Notice.number == NUMBER, Assignment.created_at <= end)
        ).all()
        updates: dict[int, list[StatusUpdate]] = defaultdict(list)
        for u in session.exec(
            select(StatusUpdate).where(StatusUpdate.reported_at <= end).order_by(StatusUpdate.reported_at)
        ).all():
            updates[u.assignment_id].append(u)
        changes: dict[int, list[DeadlineChange]] = defaultdict(list)
        for c in session.exec(
            select(DeadlineChange).where(DeadlineChange.created_at <= end).order_by(DeadlineChange.created_at)
        ).all():
            changes[c.assignment_id].append(c)
    items = []
    for aid, number, directive_due, code, role in rows:
        mine = updates[aid]
        status = mine[-1].status if mine else "assigned"
        due = changes[aid][-1].due_date if changes[aid] else None
        if directive_due is not None:
            if status == "done":
                finished = local_day(mine[-1].reported_at)
                category, days = (
                    ("on_time", 0) if finished <= due else ("late", CALENDAR.working_days_between(due, finished))
                )
            elif cutoff <= due:
                category, days = "in_progress", 0
            else:
                category, days = "overdue", CALENDAR.working_days_between(due, cutoff)
        else:  # ongoing: each report answers the next period, in order; the first one missed makes it overdue
            reports = sorted(local_day(u.reported_at) for u in mine if u.status not in ("assigned", "acknowledged"))
            category, days, previous = "in_progress", 0, None
            for obligation_due in quarterly_dues():
                reports = [r for r in reports if previous is None or r > previous]
                if reports:
                    previous = max(obligation_due, reports.pop(0))
                    continue
                if obligation_due < cutoff:
                    category, days = "overdue", CALENDAR.working_days_between(obligation_due, cutoff)
                break
        progress = [u for u in mine if u.status not in ("assigned", "acknowledged")]
        latest = progress[-1] if progress and data_from <= local_day(progress[-1].reported_at) <= cutoff else None
        extensions = [
            c for c in changes[aid] if c.kind == "extension" and data_from <= local_day(c.created_at) <= cutoff
        ]
        items.append(
            {
                "directive": number,
                "agency": code,
                "role": role,
                "category": category,
                "days": days,
                "latest": latest.document_number if latest else None,
                "extensions": len(extensions),
            }
        )
    grids: dict[str, Counter[str]] = defaultdict(Counter)
    agencies: dict[str, Counter[str]] = defaultdict(Counter)
    for item in items:
        grids[item["directive"]][item["category"]] += 1
        agencies[item["agency"]][item["category"]] += 1
    total = Counter(item["category"] for item in items)
    return {
        "items": items,
        "by_directive": {
            k: tuple(v[c] for c in ("on_time", "late", "in_progress", "overdue")) for k, v in grids.items()
        },
        "by_agency": {
            k: tuple(v[c] for c in ("on_time", "late", "in_progress", "overdue")) for k, v in agencies.items()
        },
        "total": tuple(total[c] for c in ("on_time", "late", "in_progress", "overdue")),
        "due": total["on_time"] + total["late"] + total["overdue"],
        "overdue": sorted(
            ((i["directive"], i["agency"], i["days"]) for i in items if i["category"] == "overdue"), key=lambda t: -t[2]
        ),
        "extensions": sum(i["extensions"] for i in items),
        "updates": {(i["directive"], i["agency"], i["latest"]) for i in items if i["latest"]},
    }


def rate(grid: tuple[int, int, int, int]) -> Fraction | None:
    due = grid[0] + grid[1] + grid[3]
    return Fraction(grid[0], due) if due else None


def rate_text(value: Fraction | None) -> str:
    return report_model.percent_vi(value)


# --- reading the files back --------------------------------------------------------------------------------------


def section(ws: Any, title: str) -> tuple[list[Any], list[list[Any]]]:
    """The header and data rows of a titled section of the Tổng hợp sheet (until the first empty row)."""
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    start = next(i for i, r in enumerate(rows) if isinstance(r[0], str) and r[0].endswith(f". {title}"))
    header, body = rows[start + 1], []
    for r in rows[start + 2 :]:
        if all(v is None for v in r) or (isinstance(r[0], str) and r[1] is None):
            break
        body.append(r)
    return header, body


def docx_table(doc: Any, *first_headers: str) -> list[list[str]]:
    """The rows (as text) of the DOCX table whose header starts with first_headers."""
    for table in doc.tables:
        header = [c.text for c in table.rows[0].cells]
        if header[: len(first_headers)] == list(first_headers):
            return [[c.text for c in row.cells] for row in table.rows]
    raise AssertionError(f"no table with header {first_headers}")


def config() -> reporting.ReportConfig:
    """The report's policy files, as the flow's tasks load them."""
    return reporting.load_report_config(get_settings().config_dir, get_settings().enabled_channels)


def compute(notice: str | None, label: str) -> reporting.Built:
    """Compute one period's report as of its send date (the flow's steps, without Prefect)."""
    with session_scope(read_only=True) as session:
        scope = reporting.resolve_scope(notice, session=session)
        (period,) = reporting.resolve(label, morning(MADE[label]), config())
        return reporting.make_report(scope, period, morning(MADE[label]), config(), session=session)


def make_report(label: str, out: Path) -> tuple[reporting.Built, list[Path]]:
    """Compute and write one period's report for the scenario notice."""
    built = compute(NUMBER, label)
    return built, write_all(built.meta, built.model, out)


# --- tests -----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("label", sorted(EXPECTED))
def test_xlsx_and_docx_figures_equal_the_database_and_the_hand_worked_answers(
    scenario: int, tmp_path: Path, label: str
) -> None:
    truth = independent(label)
    want = EXPECTED[label]
    # The independent computation and the hand-worked answers agree with each other first.
    assert truth["by_directive"] == want["by_directive"] and truth["total"] == want["total"]
    assert truth["overdue"] == want["overdue"] and truth["extensions"] == want["extensions"]
    assert truth["updates"] == {tuple(u) for u in want["updates"]}

    built, files = make_report(label, tmp_path / "out")
    docx_path, xlsx_path = files[0], files[1]
    assert docx_path.name == f"bao-cao-99-tb-tu-{label.lower()}.docx" and xlsx_path.suffix == ".xlsx"

    wb = load_workbook(xlsx_path)
    assert wb.sheetnames[:3] == ["Tổng hợp", "Chi tiết", "Quá hạn"]
    summary = wb["Tổng hợp"]
    header, body = section(summary, "TỔNG HỢP THEO MỤC")
    assert header[1:8] == ["Mục", "Tổng số việc", *CATEGORY_LABELS, "Tỷ lệ hoàn thành đúng hạn"]
    grid_rows = {r[1]: r for r in body}
    for number, grid in truth["by_directive"].items():
        row = grid_rows[f"Mục {number}"]
        assert tuple(row[3:7]) == grid and row[2] == sum(grid)
        assert (Fraction(row[7]).limit_denominator(1000) if row[7] is not None else None) == rate(grid)
    total_row = grid_rows["Cộng"]
    assert tuple(total_row[3:7]) == truth["total"] and total_row[2] == sum(truth["total"])
    assert (round(total_row[7], 6) if total_row[7] is not None else None) == (
        round(float(rate(truth["total"])), 6) if rate(truth["total"]) else None
    )
    _, body = section(summary, "TỔNG HỢP THEO CƠ QUAN")
    assert {r[1]: tuple(r[3:7]) for r in body} == {NAMES[k]: v for k, v in truth["by_agency"].items()}
    _, body = section(summary, "XẾP HẠNG CƠ QUAN")
    ranking = [(r[0], r[1], r[2]) for r in body]
    if want["ranking"]:
        assert ranking == [(rank, NAMES[code], float(score)) for rank, code, score in want["ranking"]]
    else:
        assert {rank for rank, _, _ in ranking} == {1}
    _, body = section(summary, "SO VỚI KỲ TRƯỚC")
    compare = {r[1]: r[2:5] for r in body}
    assert compare["Tổng số việc"][0] == want["previous_total"] and compare["Tổng số việc"][1] == sum(truth["total"])
    if "delta" in want:
        assert [compare[name][2] for name in CATEGORY_LABELS] == list(want["delta"])
    _, body = section(summary, "NHIỆM VỤ THƯỜNG XUYÊN — THỰC HIỆN CHẾ ĐỘ BÁO CÁO ĐỊNH KỲ")
    assert body[0][1] == "Mục 3" and tuple(body[0][2:6]) == tuple(want["obligations"].values())

    detail = [list(r) for r in wb["Chi tiết"].iter_rows(min_row=5, values_only=True)][1:]
    assert len(detail) == len(truth["items"])
    labels = dict(zip(("on_time", "late", "in_progress", "overdue"), CATEGORY_LABELS, strict=True))
    by_key = {(r[2], r[4]): r for r in detail}
    for item in truth["items"]:
        row = by_key[(item["directive"], NAMES[item["agency"]])]
        assert row[11].startswith(labels[item["category"]])
        assert row[12] == (item["days"] if item["category"] in ("late", "overdue") else None)
    overdue = [r for r in wb["Quá hạn"].iter_rows(min_row=6, values_only=True) if isinstance(r[0], int)]
    assert [(r[2], r[3], r[6]) for r in overdue] == [(d, NAMES[a], n) for d, a, n in truth["overdue"]]
    extensions = [r for r in wb["Gia hạn"].iter_rows(min_row=6, values_only=True) if isinstance(r[0], int)]
    assert len(extensions) == truth["extensions"]
    updates = [r for r in wb["Cập nhật mới"].iter_rows(min_row=6, values_only=True) if isinstance(r[0], int)]
    assert {(r[2], r[3], r[5]) for r in updates} == {(d, NAMES[a], doc) for d, a, doc in truth["updates"]}

    doc = Document(str(docx_path))
    rows = docx_table(doc, "STT", "Mục", "Tổng số việc")
    assert rows[0][3:7] == list(CATEGORY_LABELS)
    table = {r[1]: r for r in rows[1:]}
    for number, grid in truth["by_directive"].items():
        assert tuple(int(v) for v in table[f"Mục {number}"][3:7]) == grid
        assert table[f"Mục {number}"][7] == rate_text(rate(grid))
    assert tuple(int(v) for v in table["Cộng"][3:7]) == truth["total"] and table["Cộng"][7] == rate_text(
        rate(truth["total"])
    )
    agencies = {r[1]: tuple(int(v) for v in r[3:7]) for r in docx_table(doc, "STT", "Cơ quan", "Tổng số việc")[1:]}
    assert agencies == {NAMES[k]: v for k, v in truth["by_agency"].items()}
    if truth["overdue"]:
        listed = docx_table(doc, "STT", "Mục", "Cơ quan", "Vai trò", "Hạn", "Số ngày làm việc quá hạn")[1:]
        assert [(r[1], r[2], int(r[5])) for r in listed] == [(d, NAMES[a], n) for d, a, n in truth["overdue"]]
    ranked = docx_table(doc, "Hạng", "Cơ quan", "Điểm")[1:]
    if want["ranking"]:
        assert [(int(r[0]), r[1], r[2]) for r in ranked] == [(rank, NAMES[c], str(s)) for rank, c, s in want["ranking"]]
    text = "\n".join(p.text for p in doc.paragraphs)
    grid = truth["total"]
    assert (
        f"Tổng số {sum(grid)} việc (mỗi việc là một nội dung giao cho một cơ quan chủ trì hoặc phối hợp), trong đó: "
        f"hoàn thành đúng hạn {grid[0]} việc; hoàn thành quá hạn {grid[1]} việc; đang thực hiện trong hạn {grid[2]} việc; "
        f"quá hạn {grid[3]} việc. Tỷ lệ hoàn thành đúng hạn đạt {rate_text(rate(grid))} ({grid[0]}/{truth['due']} việc đã đến hạn)."
    ) in text
    assert built.meta.period.label_vi == PERIOD_VI[label]


def test_the_docx_has_the_administrative_layout_in_vietnamese(scenario: int, tmp_path: Path) -> None:
    _, files = make_report("2022-Q4", tmp_path)
    doc = Document(str(files[0]))
    header = doc.tables[0]
    left, right = (cell.text.split("\n") for cell in header.rows[0].cells)
    assert left == ["TỈNH ỦY BẮC GIANG", "BAN DÂN VẬN", "*", "Số       -BC/BDVTU"]
    assert right[0] == "ĐẢNG CỘNG SẢN VIỆT NAM" and right[-1] == DATE_LINE["2022-Q4"]
    assert (
        header.rows[0].cells[1].paragraphs[0].runs[0].underline and header.rows[0].cells[1].paragraphs[0].runs[0].bold
    )
    paragraphs = [p.text for p in doc.paragraphs if p.text]
    # A Party body's report cites the notice's own directive, not the Government's reporting decree (issue 14).
    assert not any("09/2019" in p or "Nghị định" in p for p in paragraphs)
    assert paragraphs[0] == "BÁO CÁO"
    assert (
        paragraphs[1]
        == "Kết quả thực hiện Thông báo kết luận số 99-TB/TU ngày 09/09/2022 của Thường trực Tỉnh ủy, quý IV/2022"
    )
    assert paragraphs[3].startswith("Thực hiện Thông báo kết luận số 99-TB/TU ngày 09/09/2022 của Thường trực Tỉnh ủy")
    assert (
        "Ban Dân vận Tỉnh ủy báo cáo kết quả thực hiện quý IV/2022 (số liệu từ ngày 15/09/2022 đến ngày 14/12/2022"
        in paragraphs[3]
    )
    sections = [p for p in paragraphs if p[:2] in ("I.", "II", "IV", "V.", "VI")]
    assert sections == [
        "I. KẾT QUẢ THỰC HIỆN",
        "II. VIỆC QUÁ HẠN",
        "III. GIA HẠN",
        "IV. NHIỆM VỤ THƯỜNG XUYÊN — THỰC HIỆN CHẾ ĐỘ BÁO CÁO ĐỊNH KỲ",
        "V. CẬP NHẬT MỚI NHẤT TRONG KỲ",
        "VI. XẾP HẠNG CƠ QUAN",
        "VII. ĐỀ XUẤT",
    ]
    assert any(p.startswith("Phương pháp: Mỗi việc được chấm điểm") for p in paragraphs)
    footer = doc.tables[-1]
    recipients, signature = (cell.text.split("\n") for cell in footer.rows[0].cells)
    assert recipients == [
        "Nơi nhận:",
        "- Thường trực Tỉnh ủy (b/c),",
        "- Ban Thường vụ Tỉnh ủy (b/c),",
        "- Văn phòng Tỉnh ủy,",
        "- Lưu Văn phòng Ban.",
    ]
    # Ready to sign: the signer's title and name from config/reporting.yaml, with room for the signature between.
    policy = config().policy.issuers["BDV_TU"]
    assert signature[0] == policy.signer.title == "TRƯỞNG BAN"
    assert signature[-1] == policy.signer.name and signature[-1].strip()
    assert signature[1:-1] and all(line == "" for line in signature[1:-1])
    # The place-and-date line sits in a column wide enough for it (about 0.26 cm per 14-point italic letter).
    date_cell = header.rows[0].cells[1]
    assert date_cell.width.cm >= 0.26 * len(DATE_LINE["2022-Q4"]) and header.columns[1].width.cm == date_cell.width.cm
    assert len(doc.inline_shapes) == 3  # the three charts
    section_ = doc.sections[0]
    assert (round(section_.page_width.mm), round(section_.page_height.mm)) == (210, 297)


def test_the_workbook_is_ready_to_print(scenario: int, tmp_path: Path) -> None:
    _, files = make_report("2022-Q4", tmp_path)
    wb = load_workbook(files[1])
    for name in ("Chi tiết", "Quá hạn"):
        ws = wb[name]
        assert ws.page_setup.orientation == "landscape" and ws.page_setup.paperSize == 9
        # One page wide (fitToWidth defaults to 1 in the schema and is left out), as many pages tall as needed.
        assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth in (None, 1)
        assert ws.page_setup.fitToHeight == 0
        assert ws.print_title_rows == "$5:$5"  # the column headers repeat on every printed page
        assert ws.freeze_panes == "A6"
        assert (
            ws["A1"].value
            == "BÁO CÁO KẾT QUẢ THỰC HIỆN THÔNG BÁO KẾT LUẬN SỐ 99-TB/TU NGÀY 09/09/2022 CỦA THƯỜNG TRỰC TỈNH ỦY"
        )
        assert ws.column_dimensions["A"].width and ws.column_dimensions["D"].width >= 20
    assert [c.value for c in wb["Chi tiết"][5]] == DETAIL_HEADERS
    assert wb["Tổng hợp"].print_title_rows == "$1:$3"
    # Dates are real Excel dates (sortable, filterable), shown DD/MM/YYYY.
    detail = [r for r in wb["Chi tiết"].iter_rows(min_row=6) if isinstance(r[0].value, int)]
    dated = [r[8] for r in detail if r[8].value is not None]  # ongoing work has no due date
    assert len(dated) == 5 and all(c.is_date and c.number_format == "DD/MM/YYYY" for c in dated)
    updates = [r for r in wb["Cập nhật mới"].iter_rows(min_row=6) if isinstance(r[0].value, int)]
    assert updates and all(r[1].is_date for r in updates)
    extensions = [r for r in wb["Gia hạn"].iter_rows(min_row=6) if isinstance(r[0].value, int)]
    assert extensions and all(r[3].is_date and r[4].is_date and r[7].is_date for r in extensions)
    # Colleagues and the mail dispatcher read the files: group-readable, not the 0600 of a temporary file.
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o644 for f in files)


def test_charts_render_every_vietnamese_letter(scenario: int, tmp_path: Path, recwarn: pytest.WarningsRecorder) -> None:
    from PIL import Image

    _, files = make_report("2023-Q1", tmp_path)
    charts = [f for f in files if f.suffix == ".png"]
    assert [f.name.rsplit("2023-q1-", 1)[1] for f in charts] == ["theo-muc.png", "theo-co-quan.png", "xu-huong.png"]
    for chart in charts:
        with Image.open(chart) as image:
            assert image.format == "PNG" and image.width >= 900
    assert not [w for w in recwarn if "missing from" in str(w.message)]  # matplotlib warns on a missing glyph


@pytest.mark.parametrize("until", [date(2022, 10, 1), date(2022, 12, 15), date(2023, 4, 3)])
def test_the_bulk_read_and_the_per_directive_read_judge_alike(db, tmp_path: Path, until: date) -> None:
    moment = morning(until)
    notice_id = report_scenario.build(tmp_path, until=moment)
    with session_scope(read_only=True) as session:
        data = reporting.read_report_data(
            reporting.Scope(f"notice:{notice_id}", notice_id, "x"), moment, config(), session=session
        )
        histories = list(data.histories)  # streamed: taken while the session is open
    bulk = {}
    for history, obligations in histories:
        facts = report_model.facts_at(history, moment, obligations)
        assert facts is not None
        bulk[history.assignment_id] = classify(facts, CALENDAR, moment)
    one_by_one = {}
    for directive_id in {h.directive_id for h, _ in histories}:
        state = load_directive_state.fn(directive_id, moment)
        one_by_one.update(plan_follow_up.fn(state, moment).timeliness)
    assert bulk == one_by_one and len(bulk) == 7


def test_a_report_over_every_notice_has_a_row_per_notice(scenario: int, sample_notice: Path, tmp_path: Path) -> None:
    from tasks.notice_import import import_notice

    import_notice(sample_notice, PACKAGED_CONFIG_DIR, at=report_scenario.GIVEN)
    built = compute(None, "2022-Q4")
    assert [r.label for r in built.model.by_notice] == ["99-TB/TU", "TẠM-20220909/TB-TU"]
    assert sum(r.grid.total for r in built.model.by_notice) == built.model.total.total == 7 + 41
    assert built.meta.title == "Kết quả thực hiện 2 thông báo kết luận"
    files = write_all(built.meta, built.model, tmp_path)
    assert files[0].name == "bao-cao-tat-ca-thong-bao-2022-q4.docx"
    assert [r[1] for r in docx_table(Document(str(files[0])), "STT", "Thông báo")[1:]] == [
        "99-TB/TU",
        "TẠM-20220909/TB-TU",
        "Cộng",
    ]


# --- the flow on a real Prefect server ----------------------------------------------------------------------------


def report_rows() -> list[Notification]:
    with Session(get_engine()) as session:
        return list(
            session.exec(select(Notification).where(Notification.kind == "report").order_by(Notification.id)).all()
        )


def digests(files: list[str]) -> dict[str, str]:
    return {Path(f).name: hashlib.sha256(Path(f).read_bytes()).hexdigest() for f in files}


def test_the_flow_publishes_artifacts_and_sends_once_per_period(prefect_server, scenario: int, tmp_path: Path) -> None:
    out = tmp_path / "out"
    state = periodic_report(
        notice=NUMBER, period="2022-Q4", as_of=morning(date(2022, 12, 20)), out_dir=str(out), return_state=True
    )
    assert state.is_completed(), state.message
    (report,) = state.result()["reports"]
    assert report["created"] and report["period"] == "2022-Q4"
    assert (
        state.message.startswith("Báo cáo quý IV/2022: đã lập 5 tệp, xếp hàng")
        and "gửi ngày 20/12/2022" in state.message
    )
    files = report["files"]
    assert {Path(f).suffix for f in files} == {".docx", ".xlsx", ".png"}
    rows = report_rows()
    # Văn thư of Thường trực, Ban Thường vụ, Ban Dân vận and Văn phòng Tỉnh ủy, one e-mail each.
    with Session(get_engine()) as session:
        codes = {session.get(Agency, r.recipient_agency_id).code for r in rows}  # type: ignore[union-attr]
    assert codes == {"TTTU", "BTVTU", "BDV_TU", "VP_TU"} and len(rows) == report["queued"] == 4
    assert {r.state for r in rows} == {"sent"}
    assert all(r.payload["attachments"] == files for r in rows)
    eml = sorted((get_settings().home / "mailbox").glob("*.eml"))
    assert len(eml) == 4
    message = message_from_bytes(eml[0].read_bytes(), policy=email_policy.default)
    assert message["Subject"] == (
        "[Báo cáo] kết quả thực hiện Thông báo kết luận số 99-TB/TU ngày 09/09/2022 của "
        "Thường trực Tỉnh ủy – kỳ quý IV/2022"
    )
    attached = sorted(part.get_filename() for part in message.iter_attachments())  # type: ignore[attr-defined]
    assert attached == sorted(Path(f).name for f in files)
    body = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert (
        "số liệu tính đến ngày 14/12/2022" in body and "Tỷ lệ hoàn thành đúng hạn: 33,3% (2/6 việc đã đến hạn)." in body
    )

    latest = {"sort": ArtifactSort.CREATED_DESC, "limit": 1}
    with get_client(sync_client=True) as client:

        def read(key: str) -> Any:
            found = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])), **latest)
            assert found, key
            return found[0].data

        markdown = read("dondoc-bao-cao-99-tb-tu-2022-q4")
        summary = read("dondoc-bao-cao-99-tb-tu-2022-q4-tong-hop")
        overdue = read("dondoc-bao-cao-99-tb-tu-2022-q4-qua-han")
        agencies = read("dondoc-bao-cao-99-tb-tu-2022-q4-co-quan")
    assert (
        "Tổng số **7** việc: hoàn thành đúng hạn **2**, hoàn thành quá hạn **1**, đang thực hiện trong hạn **1**, quá hạn **3**"
        in markdown
    )
    table = yaml.safe_load(summary) if isinstance(summary, str) else summary
    assert table[-1] == {
        "Mục": "Cộng",
        "Tổng số việc": 7,
        "Hoàn thành đúng hạn": 2,
        "Hoàn thành quá hạn": 1,
        "Đang thực hiện trong hạn": 1,
        "Quá hạn": 3,
        "Tỷ lệ hoàn thành đúng hạn": "33,3%",
    }
    overdue_rows = yaml.safe_load(overdue) if isinstance(overdue, str) else overdue
    assert [(r["Mục"], r["Cơ quan"], r["Số ngày làm việc quá hạn"]) for r in overdue_rows] == [
        ("3", "Sở NN&PTNT", 61),
        ("2", "Sở NN&PTNT", 32),
        ("2", "Liên minh HTX tỉnh", 32),
    ]
    agency_rows = yaml.safe_load(agencies) if isinstance(agencies, str) else agencies
    assert [r["Cơ quan"] for r in agency_rows][:2] == ["Sở KH&CN", "Sở Tài chính"] and agency_rows[0]["Hạng"] == 1

    # Run again, later: nothing new is sent and the files are left exactly as they were.
    before = digests(files)
    again = periodic_report(
        notice=NUMBER, period="2022-Q4", as_of=morning(date(2023, 1, 5)), out_dir=str(out), return_state=True
    )
    assert again.is_completed() and "đã được lập và gửi ngày 20/12/2022; không gửi lại" in again.message
    assert not again.result()["reports"][0]["created"]
    assert len(report_rows()) == 4 and digests(files) == before
    assert len(sorted((get_settings().home / "mailbox").glob("*.eml"))) == 4
    # Into another folder: the files are made again from the history, byte for byte the same, and still not sent.
    elsewhere = periodic_report(
        notice=NUMBER, period="2022-Q4", as_of=morning(date(2023, 2, 1)), out_dir=str(tmp_path / "b"), return_state=True
    )
    copies = elsewhere.result()["reports"][0]["files"]
    assert digests(copies) == before and len(report_rows()) == 4
    with Session(get_engine()) as session:
        runs = session.exec(select(ReportRun)).all()
    assert [(r.scope, r.period, r.cutoff, r.send_on, r.recipients) for r in runs] == [
        (f"notice:{scenario}", "2022-Q4", date(2022, 12, 14), date(2022, 12, 20), 4)
    ]


def test_a_report_made_before_its_send_date_waits_in_the_outbox(prefect_server, scenario: int, tmp_path: Path) -> None:
    # The quarterly run on Thu 15/12/2022 (the day after the cut-off): the report is dated and sent on Tue 20/12.
    state = periodic_report(
        notice=NUMBER, period="quarter", as_of=morning(date(2022, 12, 15)), out_dir=str(tmp_path), return_state=True
    )
    assert state.is_completed(), state.message
    rows = report_rows()
    assert {r.state for r in rows} == {"pending"} and {r.next_attempt_at for r in rows} == {morning(date(2022, 12, 20))}
    assert (
        Document(str(state.result()["reports"][0]["files"][0]))
        .tables[0]
        .rows[0]
        .cells[1]
        .text.endswith(DATE_LINE["2022-Q4"])
    )
    assert deliver(morning(date(2022, 12, 19))).sent == 0
    assert deliver(morning(date(2022, 12, 20))).sent == 4


@pytest.fixture
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_common.console, "width", 300)
    monkeypatch.setattr(cli_common.err, "width", 300)


def cli_app():  # type: ignore[no-untyped-def]
    import typer

    from cli.report import register

    root = typer.Typer()

    @root.callback()
    def main() -> None:
        """Keep the app a command group."""

    register(root)
    return root


def test_the_command_prints_the_files_in_vietnamese(
    prefect_server, scenario: int, tmp_path: Path, wide_console: None
) -> None:
    runner = CliRunner()
    out = tmp_path / "out"
    backfill = runner.invoke(
        cli_app(),
        [
            "report",
            "--notice",
            NUMBER,
            "--period",
            "2022-Q3",
            "--period",
            "2022-Q4",
            "--on-send-date",
            "--out",
            str(out),
        ],
    )
    assert backfill.exit_code == 0, backfill.output
    assert "Báo cáo quý III/2022: đã lập, 4 thư gửi ngày 20/09/2022. Các tệp:" in backfill.output
    assert "Báo cáo quý IV/2022: đã lập, 4 thư gửi ngày 20/12/2022. Các tệp:" in backfill.output
    q4 = Document(str(out / "bao-cao-99-tb-tu-2022-q4.docx"))
    assert q4.tables[0].rows[0].cells[1].text.endswith(DATE_LINE["2022-Q4"])
    result = runner.invoke(
        cli_app(), ["report", "--notice", NUMBER, "--period", "2023-Q1", "--as-of", "2023-03-20", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "Báo cáo quý I/2023: đã lập, 4 thư gửi ngày 20/03/2023. Các tệp:" in result.output
    assert str(out / "bao-cao-99-tb-tu-2023-q1.docx") in result.output
    again = runner.invoke(
        cli_app(), ["report", "--notice", NUMBER, "--period", "2023-Q1", "--as-of", "2023-04-03", "--out", str(out)]
    )
    assert "Báo cáo quý I/2023 đã được lập và gửi ngày 20/03/2023; không gửi lại." in again.output
    both = runner.invoke(cli_app(), ["report", "--period", "2023-Q1", "--as-of", "2023-04-03", "--on-send-date"])
    assert both.exit_code == 1 and "chỉ dùng một trong hai: --as-of hoặc --on-send-date" in both.output
    bad = runner.invoke(cli_app(), ["report", "--period", "2023-Q5"])
    assert bad.exit_code == 1 and "kỳ báo cáo không hợp lệ: «2023-Q5»" in bad.output
    early = runner.invoke(cli_app(), ["report", "--period", "2023-Q2", "--as-of", "2023-06-14"])
    assert (
        early.exit_code == 1 and "kỳ quý II/2023 chưa hết thời gian chốt số liệu (hết ngày 14/06/2023)" in early.output
    )
    unknown = runner.invoke(cli_app(), ["report", "--notice", "5-TB/TU", "--period", "2023-Q1"])
    assert unknown.exit_code == 1 and "không tìm thấy thông báo «5-TB/TU»" in unknown.output


def test_a_period_before_anything_was_given_makes_no_report(prefect_server, scenario: int, tmp_path: Path) -> None:
    out = tmp_path / "out"
    state = periodic_report(
        notice=NUMBER, period="2022-Q2", as_of=morning(date(2022, 9, 20)), out_dir=str(out), return_state=True
    )
    assert state.is_completed(), state.message
    assert (
        state.message
        == "Báo cáo quý II/2022: không có việc nào được giao tính đến hết ngày 14/06/2022; không lập báo cáo quý II/2022"
    )
    assert report_rows() == [] and not out.exists()
    with Session(get_engine()) as session:
        assert session.exec(select(func.count()).select_from(ReportRun)).one() == 0
