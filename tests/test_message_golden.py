"""Golden messages: the exact text an escalation reader and a digest reader get (issue 14 items 3 and 4).

Regenerate after a deliberate wording change with DONDOC_UPDATE_GOLDEN=1 and read the diff.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from config.notifications import load_notification_policy
from config.policy import load_calendar
from config.settings import PACKAGED_CONFIG_DIR
from notifications.render import render_digest, render_message

POLICY = load_notification_policy(PACKAGED_CONFIG_DIR)
CALENDAR = load_calendar(PACKAGED_CONFIG_DIR)
GOLDEN = Path(__file__).parent / "golden"
SENT_ON = date(2022, 10, 12)

BASE: dict[str, Any] = {
    "notice_number": "TẠM-20220909/TB-TU",
    "notice_title": "Kết luận của Thường trực Tỉnh ủy về Đề án OCOP",
    "contact_office": "Văn phòng Tỉnh ủy",
    "contact_phone": "0204 3000 000",
    "extended": False,
}
# Sở Tài chính's own sentence of directive 2.3, as import derives it.
SO_TC_TASK = (
    "Ban cán sự đảng UBND tỉnh lãnh đạo UBND tỉnh chỉ đạo Sở Tài chính tiếp tục phối hợp với Hội Nông dân tỉnh "
    "hướng dẫn trình tự, thủ tục hỗ trợ các nội dung; bố trí kinh phí và giám sát việc sử dụng kinh phí thực hiện "
    "Đề án bảo đảm đúng quy định."
)
LATE: dict[str, Any] = BASE | {
    "kind": "escalation",
    "directive_number": "2.6",
    "task": "Hội Nông dân tỉnh khẩn trương rà soát các văn bản, nghị quyết của HĐND liên quan đến cơ chế, chính sách.",
    "agency": "Hội Nông dân tỉnh",
    "agency_code": "HND_TINH",
    "role": "lead",
    "due_date": "2022-09-30",
    "days_overdue": 8,
    "category": "overdue",
    "category_label": "Quá hạn 8 ngày làm việc",
    "acknowledged": True,
    "assignment_id": 41,
}
ROLES = {
    "supervisor": (2, "Ban Dân vận Tỉnh ủy"),
    "monitor": (3, "Văn phòng Tỉnh ủy"),
    "issuer": (4, "Thường trực Tỉnh ủy"),
}


def check_golden(name: str, text: str) -> None:
    """Compare text with tests/golden/NAME (or rewrite it when DONDOC_UPDATE_GOLDEN=1)."""
    path = GOLDEN / name
    if os.environ.get("DONDOC_UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("recipient_role", list(ROLES))
def test_escalation_asks_its_reader_to_act(recipient_role: str) -> None:
    level, recipient = ROLES[recipient_role]
    data = LATE | {"level": level, "recipient_role": recipient_role, "recipient_agency": recipient}

    message = render_message("escalation", data, "email", POLICY, today=SENT_ON, calendar=CALENDAR)

    check_golden(f"escalation_{recipient_role}.txt", f"Tiêu đề: {message.subject}\n\n{message.text}")
    # Not the late agency's closing line: the reader is asked to act, not to report on a form.
    assert "biểu mẫu" not in message.text and "Đề nghị gửi văn bản báo cáo" not in message.text


def test_digest_lists_each_assignment_once_under_its_directive() -> None:
    ongoing = BASE | {
        "recipient_role": "assignee",
        "recipient_agency": "Sở Tài chính",
        "directive_number": "2.3",
        "task": SO_TC_TASK,
        "agency": "Sở Tài chính",
        "agency_code": "SO_TC",
        "role": "support",
        "due_date": "2022-10-14",
        "period": "2022-Q3",
        "category": "in_progress",
        "category_label": "Đang thực hiện trong hạn",
        "acknowledged": True,
        "assignment_id": 23,
        "report_link": "https://dondoc.bacgiang.example/r/23",
    }
    unacknowledged = ongoing | {
        "directive_number": "2.1",
        "task": "Tiếp tục quán triệt, triển khai thực hiện nghiêm túc, hiệu quả các nội dung, mục tiêu của Đề án.",
        "acknowledged": False,
        "assignment_id": 11,
        "report_link": "https://dondoc.bacgiang.example/r/11",
    }
    overdue = BASE | {
        "recipient_role": "assignee",
        "recipient_agency": "Sở Tài chính",
        "directive_number": "2.6",
        "task": "Sở Tài chính rà soát các nội dung hỗ trợ theo Đề án.",
        "agency": "Sở Tài chính",
        "agency_code": "SO_TC",
        "role": "support",
        "due_date": "2022-09-30",
        "days_overdue": 8,
        "category": "overdue",
        "category_label": "Quá hạn 8 ngày làm việc",
        "acknowledged": True,
        "assignment_id": 62,
        "level": 1,
        "report_link": "https://dondoc.bacgiang.example/r/62",
    }
    payloads = [
        overdue | {"kind": "overdue"},
        unacknowledged | {"kind": "acknowledge"},
        ongoing | {"kind": "reminder", "offset": 2},
        # The same unacknowledged assignment also has a reminder due: it is listed once, with both headlines.
        unacknowledged | {"kind": "reminder", "offset": 2},
    ]

    message = render_digest(payloads, "email", POLICY, SENT_ON, CALENDAR)

    check_golden("digest_three_assignments.txt", f"Tiêu đề: {message.subject}\n\n{message.text}")
    text = message.text
    assert message.subject.startswith("[Tổng hợp đôn đốc] 3 việc")
    assert text.count("- Cơ quan thực hiện:") == 3
    assert text.index("MỤC 2.1") < text.index("MỤC 2.3") < text.index("MỤC 2.6")
    assert "Tình trạng hiện nay: Chưa xác nhận tiếp nhận" in text
    assert "không ấn định ngày cụ thể" not in text
    assert "báo cáo kỳ quý III/2022, hạn 14/10/2022 (thứ Sáu)" in text
    assert (message.html or "").count("<li>") == 3
