"""Importing a notice: the sample lands whole; bad files are refused, named, and write nothing."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import Session, SQLModel, select

from config.loader import ConfigError
from config.settings import PACKAGED_CONFIG_DIR
from models import Agency, Assignment, AuditEvent, DeadlineChange, Directive, Notice, NoticeMonitor, get_engine
from tasks.notice_import import ImportRefused, import_notice

SAMPLE_NUMBER = "TẠM-20220909/TB-TU"


def snapshot() -> dict[str, int]:
    """Count the rows of every table: the database 'as it was'."""
    with Session(get_engine()) as session:
        return {
            table.name: session.exec(select(func.count()).select_from(table)).one()
            for table in SQLModel.metadata.sorted_tables
        }


def codes_by_role(number: str) -> dict[str, set[str]]:
    """Return {'lead': {...}, 'support': {...}} agency codes for one directive of the sample."""
    with Session(get_engine()) as session:
        rows = session.exec(
            select(Assignment.role, Agency.code)
            .join(Agency, Agency.id == Assignment.agency_id)
            .join(Directive, Directive.id == Assignment.directive_id)
            .where(Directive.number == number)
        ).all()
    out: dict[str, set[str]] = {"lead": set(), "support": set()}
    for role, code in rows:
        out[role].add(code)
    return out


def broken_copy(sample: Path, tmp_path: Path, old: str, new: str) -> tuple[Path, int]:
    """Write the sample with one substitution; return the path and the 1-based line it changed."""
    text = sample.read_text(encoding="utf-8")
    assert old in text, old
    line = text[: text.index(old)].count("\n") + 1
    path = tmp_path / "broken.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    (tmp_path / "thong-bao-ket-luan-2022-09-09.md").write_text("nguồn", encoding="utf-8")
    return path, line


def test_the_sample_notice_imports_with_its_directives_and_agencies(db, sample_notice: Path) -> None:
    result = import_notice(sample_notice, PACKAGED_CONFIG_DIR)
    assert (result.action, result.number, result.directives) == ("created", SAMPLE_NUMBER, 7)
    with Session(get_engine()) as session:
        notice = session.exec(select(Notice)).one()
        assert notice.number_is_placeholder and notice.issued_on == date(2022, 9, 9)
        assert "Hội Nông dân tỉnh khẩn trương" in (notice.source_text or "")
        numbers = session.exec(select(Directive.number).order_by(Directive.position)).all()
        assert numbers == ["2.1", "2.2", "2.3", "2.4", "2.5", "2.6", "2.7"]
        monitors = session.exec(select(NoticeMonitor.role, Agency.code).join(Agency)).all()
        assert set(monitors) == {("lead", "BDV_TU"), ("support", "VP_TU")}
        urgent = session.exec(select(Directive).where(Directive.number == "2.6")).one()
        assert urgent.priority == "urgent" and urgent.deadline_rule["kind"] == "meeting"
        assert urgent.due_date == date(2022, 9, 30)  # no meeting date configured → last working day of 9/2022
        assert "30/09/2022" in (urgent.due_explanation or "")
        history = session.exec(select(DeadlineChange.kind)).all()
        assert set(history) == {"original"} and len(history) == result.assignments
    assert codes_by_role("2.3") == {
        "lead": {"HND_TINH", "SO_CT", "BCSD_UBND"},
        "support": {"LMHTX", "SO_TC", "SO_KHCN"},
    }
    assert codes_by_role("2.7") == {"lead": {"BDV_TU"}, "support": {"VP_TU"}}
    # "UBND các huyện, thành phố" expands to all ten district-level People's Committees.
    assert len([c for c in codes_by_role("2.1")["support"] if c.startswith("UBND_")]) == 10


def test_reimporting_the_same_file_is_a_no_op(db, sample_notice: Path) -> None:
    import_notice(sample_notice, PACKAGED_CONFIG_DIR)
    before = snapshot()
    result = import_notice(sample_notice, PACKAGED_CONFIG_DIR)
    assert result.action == "unchanged"
    assert snapshot() == before


def test_a_changed_file_is_refused_with_a_diff_unless_update(db, sample_notice: Path, tmp_path: Path) -> None:
    import_notice(sample_notice, PACKAGED_CONFIG_DIR)
    changed, _ = broken_copy(
        sample_notice,
        tmp_path,
        "      - {agency: VP_TU, role: support}\n    deadline:",
        "      - {agency: VP_TU, role: support}\n      - {agency: MTTQ_TINH, role: support}\n    deadline:",
    )
    before = snapshot()
    with pytest.raises(ImportRefused) as info:
        import_notice(changed, PACKAGED_CONFIG_DIR)
    assert "+  - agency: MTTQ_TINH" in info.value.diff
    assert snapshot() == before

    result = import_notice(changed, PACKAGED_CONFIG_DIR, update=True)
    assert result.action == "updated"
    assert any("MTTQ_TINH" in change for change in result.changes)
    assert "MTTQ_TINH" in codes_by_role("2.7")["support"]
    with Session(get_engine()) as session:
        actions = session.exec(select(AuditEvent.action).where(AuditEvent.entity_type == "notice")).all()
    assert actions == ["notice.created", "notice.updated"]


def test_update_withdraws_an_assignment_that_left_the_file_and_keeps_its_history(
    db, sample_notice: Path, tmp_path: Path
) -> None:
    import_notice(sample_notice, PACKAGED_CONFIG_DIR)
    changed, _ = broken_copy(
        sample_notice,
        tmp_path,
        "      - {agency: SO_KHCN, role: support}\n    deadline:\n      phrase: Tăng cường",
        "    deadline:\n      phrase: Tăng cường",
    )
    import_notice(changed, PACKAGED_CONFIG_DIR, update=True)
    with Session(get_engine()) as session:
        row = session.exec(
            select(Assignment).join(Agency).join(Directive).where(Agency.code == "SO_KHCN", Directive.number == "2.3")
        ).one()
        assert row.status == "withdrawn" and row.withdrawn_at is not None


@pytest.mark.parametrize(
    ("old", "new", "field", "message"),
    [
        (
            "- {agency: SO_TC, role: support}",
            "- {agency: Sở Tài chánh, role: support}",
            "directives[2].assignments[4].agency",
            "gần giống: Sở Tài chính (SO_TC)",
        ),
        ("  date: 2022-09-09", "  date: 2022-02-30", "notice.date", "ngày không hợp lệ"),
        ('  - number: "2.2"', '  - number: "2.1"', "directives[1].number", "số mục 2.1 bị trùng"),
        (
            "      - {agency: BDV_TU, role: lead}\n      - {agency: VP_TU, role: support}\n    deadline:",
            "      - {agency: BDV_TU, role: support}\n      - {agency: VP_TU, role: support}\n    deadline:",
            "directives[6].assignments",
            "chưa có cơ quan chủ trì",
        ),
        ("  issuer: TTTU", "  issuer: [TTTU", "", "lỗi cú pháp YAML"),
        (
            "rule: {kind: meeting, body: Ban Thường vụ Tỉnh ủy, year: 2022, month: 9}",
            "rule: {kind: fixed_date, date: 2022-13-01}",
            "directives[5].deadline.rule.date",
            "ngày không hợp lệ",
        ),
    ],
    ids=[
        "unknown-agency",
        "invalid-date",
        "duplicate-directive",
        "missing-lead",
        "yaml-syntax",
        "invalid-deadline-date",
    ],
)
def test_bad_files_are_refused_with_file_line_and_field_and_write_nothing(
    db, sample_notice: Path, tmp_path: Path, old: str, new: str, field: str, message: str
) -> None:
    path, line = broken_copy(sample_notice, tmp_path, old, new)
    before = snapshot()
    with pytest.raises(ConfigError) as info:
        import_notice(path, PACKAGED_CONFIG_DIR)
    issue = next(i for i in info.value.issues if message in i.message)
    assert issue.file == str(path)
    assert issue.field == field
    assert issue.line is not None and abs(issue.line - line) <= 1
    assert snapshot() == before


def test_a_failed_import_after_a_good_one_leaves_the_first_intact(db, sample_notice: Path, tmp_path: Path) -> None:
    import_notice(sample_notice, PACKAGED_CONFIG_DIR)
    before = snapshot()
    path, _ = broken_copy(
        sample_notice, tmp_path, "- {agency: SO_TC, role: support}", "- {agency: SO_KHONG_CO, role: support}"
    )
    with pytest.raises(ConfigError):
        import_notice(path, PACKAGED_CONFIG_DIR, update=True)
    assert snapshot() == before
