"""A small notice whose periodic-report figures were worked out by hand (shared by the report tests).

Notice 99-TB/TU of Fri 09/09/2022 (Thường trực Tỉnh ủy), given at 16:00 that day; monitored by Ban Dân
vận Tỉnh ủy (lead) and Văn phòng Tỉnh ủy. Quarterly reports: cut-off day 14, due day 20 (deadlines.yaml).

  Mục 1 — due Fri 30/09/2022: Sở Tài chính (lead), Sở Công Thương, Sở KH&CN (support)
  Mục 2 — within 10/2022, due Mon 31/10/2022 (last working day): Sở NN&PTNT (lead), Liên minh HTX (support)
  Mục 3 — ongoing, quarterly reports (Q3 due Tue 20/09/2022, Q4 Tue 20/12/2022, Q1/2023 Mon 20/03/2023):
           Hội Nông dân tỉnh (lead), Sở NN&PTNT (support)

What happens (Vietnam time), and the hand count of working days (Civil Code: the first day not counted):
  16/09 HND reports on mục 3 (answers Q3, on time); 16/12 again (answers Q4, on time; after the Q4 cut-off).
  28/09 STC finishes mục 1: on time.
  29/09 SKHCN gets an extension of mục 1 to Fri 14/10; finishes 12/10: on time after the extension.
  05/10 SCT finishes mục 1: late by 3 working days (Mon 3, Tue 4, Wed 5 October).
  20/10 SNN reports 50% on mục 2 and never finishes.
  12/09 LMHTX acknowledges mục 2 (not a progress report); finishes on 20/12: after the Q4 cut-off.
  SNN never reports on mục 3.

Working days: 21–30/09/2022 = 8, October = 21, November = 22, 01–14/12 = 10, 15–30/12 = 12,
January 2023 = 16 (2/1 is the New Year holiday, 20–26/1 the civil-service Tết break), February = 20,
01–14/03/2023 = 10. So at the Q4 cut-off (14/12/2022): mục 2 overdue 22 + 10 = 32; SNN on mục 3 overdue
since 20/09: 8 + 21 + 22 + 10 = 61. At the Q1/2023 cut-off (14/03/2023): mục 2 (SNN) 32 + 12 + 16 + 20 + 10 = 90;
SNN on mục 3: 61 + 12 + 16 + 20 + 10 = 119; LMHTX finished late by 22 + 14 (01–20/12) = 36.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

import yaml
from sqlmodel import Session, select

from config.settings import PACKAGED_CONFIG_DIR
from domain.planner import at_local
from models import Agency, Assignment, Directive, get_engine
from models.db import session_scope
from tasks.extensions import apply_extension
from tasks.notice_import import import_notice
from tasks.status_recording import record_status_update

NUMBER = "99-TB/TU"
GIVEN = at_local(date(2022, 9, 9), time(16, 0))
NOTICE = {
    "notice": {
        "number": NUMBER,
        "date": "2022-09-09",
        "issuer": "TTTU",
        "title": "Kết luận về thí điểm báo cáo định kỳ",
        "monitors": [{"agency": "BDV_TU", "role": "lead"}, {"agency": "VP_TU", "role": "support"}],
    },
    "directives": [
        {
            "number": "1",
            "text": "Báo cáo rà soát cơ chế hỗ trợ hợp tác xã.",
            "deadline": {"phrase": "trước ngày 30/9/2022", "rule": {"kind": "fixed_date", "date": "2022-09-30"}},
            "assignments": [
                {"agency": "SO_TC", "role": "lead"},
                {"agency": "SO_CT", "role": "support"},
                {"agency": "SO_KHCN", "role": "support"},
            ],
        },
        {
            "number": "2",
            "text": "Xây dựng kế hoạch hỗ trợ sản phẩm OCOP.",
            "deadline": {"phrase": "trong tháng 10/2022", "rule": {"kind": "within_month", "year": 2022, "month": 10}},
            "assignments": [{"agency": "SO_NNPTNT", "role": "lead"}, {"agency": "LMHTX", "role": "support"}],
        },
        {
            "number": "3",
            "text": "Tiếp tục tuyên truyền, nhân rộng mô hình hợp tác xã kiểu mới.",
            "deadline": {"phrase": "Tiếp tục", "rule": {"kind": "ongoing"}},
            "recurrence": {"every": "quarter"},
            "assignments": [{"agency": "HND_TINH", "role": "lead"}, {"agency": "SO_NNPTNT", "role": "support"}],
        },
    ],
}


@dataclass(frozen=True)
class Event:
    """One scripted answer: a status report, or an approved extension."""

    day: date
    hour: int
    directive: str
    agency: str
    status: str | None = None
    percent: int | None = None
    document_number: str | None = None
    note: str | None = None
    extension_until: date | None = None


EVENTS = [
    Event(date(2022, 9, 12), 9, "2", "LMHTX", "acknowledged"),
    Event(date(2022, 9, 16), 10, "3", "HND_TINH", "in_progress", 20, "156-BC/HND", "Báo cáo quý III."),
    Event(date(2022, 9, 28), 10, "1", "SO_TC", "done", None, "45/STC-NS", "Đã gửi báo cáo rà soát."),
    Event(date(2022, 9, 29), 9, "1", "SO_KHCN", extension_until=date(2022, 10, 14)),
    Event(date(2022, 10, 5), 15, "1", "SO_CT", "done", None, "210/SCT"),
    Event(date(2022, 10, 12), 14, "1", "SO_KHCN", "done", None, "88/SKHCN"),
    Event(date(2022, 10, 20), 9, "2", "SO_NNPTNT", "in_progress", 50, "12/SNN", "Đang lấy ý kiến các huyện."),
    Event(date(2022, 12, 16), 10, "3", "HND_TINH", "in_progress", 60, "301-BC/HND", "Báo cáo quý IV."),
    Event(date(2022, 12, 20), 10, "2", "LMHTX", "done", None, "77/LMHTX"),
]
EXTENSION_REASON = "Chờ số liệu của các huyện."
APPROVER = "Chánh Văn phòng Tỉnh ủy"
NAMES = {
    "SO_TC": "Sở Tài chính",
    "SO_CT": "Sở Công Thương",
    "SO_KHCN": "Sở KH&CN",
    "SO_NNPTNT": "Sở NN&PTNT",
    "LMHTX": "Liên minh HTX tỉnh",
    "HND_TINH": "Hội Nông dân tỉnh",
}

# The hand-worked answers, per report period. Grids are (on time, late, in progress, overdue).
EXPECTED = {
    "2022-Q3": {
        "by_directive": {"1": (0, 0, 3, 0), "2": (0, 0, 2, 0), "3": (0, 0, 2, 0)},
        "total": (0, 0, 7, 0),
        "rate": None,  # nothing was due yet
        "overdue": [],
        "late": [],
        "extensions": 0,
        "updates": [],
        "obligations": {"on_time": 0, "late": 0, "missing": 0, "not_due": 2},
        "ranking": [],  # every agency scores 100 with nothing overdue and nothing completed: all rank 1
        "previous_total": 0,
    },
    "2022-Q4": {
        "by_directive": {"1": (2, 1, 0, 0), "2": (0, 0, 0, 2), "3": (0, 0, 1, 1)},
        "total": (2, 1, 1, 3),
        "rate": (2, 6),
        "overdue": [("3", "SO_NNPTNT", 61), ("2", "SO_NNPTNT", 32), ("2", "LMHTX", 32)],
        "late": [("1", "SO_CT", 3)],
        "extensions": 1,
        "updates": [
            ("2", "SO_NNPTNT", "12/SNN"),
            ("1", "SO_KHCN", "88/SKHCN"),
            ("1", "SO_CT", "210/SCT"),
            ("1", "SO_TC", "45/STC-NS"),
            ("3", "HND_TINH", "156-BC/HND"),
        ],
        "obligations": {"on_time": 1, "late": 0, "missing": 1, "not_due": 0},
        # (rank, agency, score): weights lead 2, support 1; points 100/100/50/0.
        # Dense ranks: tied agencies share a rank and the next one takes the next rank.
        "ranking": [
            (1, "SO_KHCN", 100),
            (1, "SO_TC", 100),
            (2, "HND_TINH", 100),
            (3, "SO_CT", 50),
            (4, "LMHTX", 0),
            (5, "SO_NNPTNT", 0),
        ],
        "previous_total": 7,
        "delta": (2, 1, -6, 3),
    },
    "2023-Q1": {
        "by_directive": {"1": (2, 1, 0, 0), "2": (0, 1, 0, 1), "3": (0, 0, 1, 1)},
        "total": (2, 2, 1, 2),
        "rate": (2, 6),
        "overdue": [("3", "SO_NNPTNT", 119), ("2", "SO_NNPTNT", 90)],
        "late": [("2", "LMHTX", 36), ("1", "SO_CT", 3)],
        "extensions": 0,
        "updates": [("2", "LMHTX", "77/LMHTX"), ("3", "HND_TINH", "301-BC/HND")],
        "obligations": {"on_time": 1, "late": 0, "missing": 1, "not_due": 0},
        "ranking": [
            (1, "SO_KHCN", 100),
            (1, "SO_TC", 100),
            (2, "HND_TINH", 100),
            (3, "LMHTX", 50),
            (3, "SO_CT", 50),
            (4, "SO_NNPTNT", 0),
        ],
        "previous_total": 7,
        "delta": (0, 1, 0, -1),
    },
}


def write_notice(folder: Path) -> Path:
    """Write the notice file."""
    path = folder / "99-tb-tu.yaml"
    path.write_text(yaml.safe_dump(NOTICE, allow_unicode=True), encoding="utf-8")
    return path


def assignment_id(directive: str, agency: str) -> int:
    """The id of one assignment of the notice."""
    with Session(get_engine()) as session:
        return session.exec(
            select(Assignment.id)
            .join(Directive)
            .join(Agency)
            .where(Directive.number == directive, Agency.code == agency)
        ).one()  # type: ignore[return-value]


def apply_events(until: datetime | None = None) -> None:
    """Apply the scripted answers (up to until) through the same code paths as real reports."""
    for e in EVENTS:
        at = at_local(e.day, time(e.hour, 0))
        if until is not None and at > until:
            continue
        aid = assignment_id(e.directive, e.agency)
        with session_scope() as session:
            if e.extension_until is not None:
                apply_extension(
                    aid,
                    session=session,
                    until=e.extension_until,
                    reason=EXTENSION_REASON,
                    requested_by=NAMES[e.agency],
                    approved_by=APPROVER,
                    at=at,
                )
            else:
                record_status_update(
                    aid,
                    session=session,
                    status=e.status or "in_progress",
                    percent=e.percent,
                    note=e.note,
                    document_number=e.document_number,
                    reported_by=NAMES[e.agency],
                    source="test",
                    at=at,
                )


def build(folder: Path, until: datetime | None = None) -> int:
    """Import the notice as given on 09/09/2022 16:00 and apply its events; return the notice id."""
    notice_id = import_notice(write_notice(folder), PACKAGED_CONFIG_DIR, at=GIVEN).notice_id
    apply_events(until)
    return notice_id
