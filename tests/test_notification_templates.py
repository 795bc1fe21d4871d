"""Message templates: every kind in full Vietnamese, with what is asked, role, due date, category, overdue."""

from __future__ import annotations

import unicodedata
from datetime import date

import pytest

from config.notifications import load_notification_policy
from config.policy import load_calendar
from config.settings import PACKAGED_CONFIG_DIR
from domain.deadlines import period_vi
from domain.notification_policy import NotificationPolicy, ZnsTemplate
from notifications.render import RenderError, render_digest, render_message
from tests.outbox_helpers import PAYLOAD

POLICY = load_notification_policy(PACKAGED_CONFIG_DIR)
CALENDAR = load_calendar(PACKAGED_CONFIG_DIR)
OVERDUE = {"days_overdue": 4, "category": "overdue", "category_label": "Quá hạn 4 ngày làm việc"}
KIND_PAYLOADS = {
    "assigned": {},
    "acknowledge": {},
    "reminder": {"offset": 2},
    "due": {"offset": 0},
    "overdue": OVERDUE | {"level": 1},
    "escalation": OVERDUE | {"level": 2, "recipient_role": "supervisor", "recipient_agency": "UBND tỉnh"},
    "extension_approved": {
        "decision_note": "Đồng ý do phải chờ số liệu quyết toán",
        "approver": "Chánh Văn phòng Tỉnh ủy",
    },
    "extension_rejected": {"decision_note": "Không đủ căn cứ", "requested_until": "2022-10-14"},
}
# The first sentence of each kind, by hand from what the message is for.
OPENINGS = {
    "assigned": "Sở Tài chính được giao chủ trì thực hiện nhiệm vụ dưới đây, thời hạn 30/09/2022 (thứ Sáu)",
    "acknowledge": "Đến nay chưa nhận được xác nhận của Sở Tài chính về việc đã tiếp nhận nhiệm vụ",
    "reminder": "còn 2 ngày làm việc nữa là đến hạn (thứ Sáu, ngày 30/09/2022)",
    "due": "Hôm nay, thứ Sáu ngày 30/09/2022, là hạn cuối thực hiện nhiệm vụ dưới đây",
    "overdue": "Nhiệm vụ dưới đây đã quá hạn 4 ngày làm việc (hạn thứ Sáu, ngày 30/09/2022)",
    "escalation": "Sở Tài chính (chủ trì) chưa hoàn thành nhiệm vụ tại Mục 2.3 Thông báo số 1061-TB/TU, "
    "đã quá hạn 4 ngày làm việc",
    "extension_approved": "đã được chấp thuận (người phê duyệt: Chánh Văn phòng Tỉnh ủy). Thời hạn mới: 30/09/2022 (thứ Sáu)",
    "extension_rejected": "Đề nghị gia hạn đến ngày 14/10/2022 (thứ Sáu) của Sở Tài chính đối với nhiệm vụ dưới đây "
    "không được chấp thuận",
}


def payload(kind: str, **extra: object) -> dict[str, object]:
    """The shared sample payload for one kind."""
    return dict(PAYLOAD) | {"kind": kind} | KIND_PAYLOADS.get(kind, {}) | extra


@pytest.mark.parametrize("kind", list(KIND_PAYLOADS))
def test_every_kind_says_what_who_when_and_how(kind: str) -> None:
    message = render_message(kind, payload(kind), "email", POLICY)
    data = payload(kind)

    for text in (message.text, message.html):
        assert text is not None
        assert OPENINGS[kind] in " ".join(text.replace("<strong>", "").replace("</strong>", "").split())
        assert "Mục 2.3 Thông báo số 1061-TB/TU" in text
        assert "Tham mưu bố trí kinh phí hỗ trợ các hợp tác xã tham gia Chương trình OCOP" in text
        assert "Sở Tài chính (chủ trì)" in text
        assert "30/09/2022" in text and "(thứ Sáu)" in text
        assert data["category_label"] in text
        days = "4 ngày làm việc" if data["days_overdue"] else "chưa quá hạn"
        assert "Số ngày quá hạn" in text and days in text
        if kind == "escalation":  # to the supervisor: it is asked to act, not to send the agency's report
            assert "xin liên hệ Văn phòng Tỉnh ủy" in text and "Đề nghị gửi văn bản báo cáo" not in text
        else:
            assert "Đề nghị gửi văn bản báo cáo tiến độ, kết quả thực hiện về Văn phòng Tỉnh ủy" in text
        assert "đề nghị trả lời" not in text.lower()
        assert "Trân trọng" in text and "Văn phòng Tỉnh ủy Bắc Giang" in text
    assert message.text == unicodedata.normalize("NFC", message.text)
    assert "\n\n\n" not in message.text
    assert "Mục 2.3" in message.subject and "\n" not in message.subject
    assert message.html is not None and message.html.startswith("<!DOCTYPE html>")


@pytest.mark.parametrize(
    ("kind", "subject"),
    [
        ("assigned", "[Giao nhiệm vụ] Mục 2.3 Thông báo 1061-TB/TU: Sở Tài chính chủ trì, hạn 30/09/2022"),
        ("reminder", "[Nhắc việc] Mục 2.3 Thông báo 1061-TB/TU: còn 2 ngày làm việc đến hạn 30/09/2022"),
        ("due", "[Đến hạn hôm nay] Mục 2.3 Thông báo 1061-TB/TU: hạn 30/09/2022 (thứ Sáu)"),
        ("overdue", "[Quá hạn 4 ngày làm việc] Mục 2.3 Thông báo 1061-TB/TU: Sở Tài chính chủ trì"),
        ("escalation", "[Quá hạn – báo cáo mức 2] Sở Tài chính chậm 4 ngày làm việc: Mục 2.3 Thông báo 1061-TB/TU"),
        (
            "extension_rejected",
            "[Không chấp thuận gia hạn] Mục 2.3 Thông báo 1061-TB/TU: hạn vẫn là 30/09/2022 (thứ Sáu)",
        ),
    ],
)
def test_subjects(kind: str, subject: str) -> None:
    assert render_message(kind, payload(kind), "email", POLICY).subject == subject


@pytest.mark.parametrize(
    ("level", "recipient_role", "recipient", "ask"),
    [
        (2, "supervisor", "UBND tỉnh", "Đề nghị UBND tỉnh chỉ đạo, đôn đốc Sở Tài chính khẩn trương hoàn thành"),
        (3, "monitor", "Ban Dân vận Tỉnh ủy", "Đề nghị Ban Dân vận Tỉnh ủy theo dõi, đôn đốc Sở Tài chính"),
        (4, "issuer", "Thường trực Tỉnh ủy", "Kính báo cáo Thường trực Tỉnh ủy xem xét, chỉ đạo Sở Tài chính"),
    ],
)
def test_escalation_names_the_late_agency_and_how_late(
    level: int, recipient_role: str, recipient: str, ask: str
) -> None:
    data = payload(
        "escalation",
        level=level,
        recipient_role=recipient_role,
        recipient_agency=recipient,
        days_overdue=9,
        category_label="Quá hạn 9 ngày làm việc",
    )

    message = render_message("escalation", data, "email", POLICY)

    assert message.text.startswith(f"Kính gửi: {recipient}\n")
    assert "Sở Tài chính (chủ trì) chưa hoàn thành nhiệm vụ" in message.text
    assert "đã quá hạn 9 ngày làm việc (hạn thứ Sáu, ngày 30/09/2022)" in message.text
    assert ask in message.text and f"Đây là mức đôn đốc thứ {level}." in message.text
    assert f"mức {level}] Sở Tài chính chậm 9 ngày làm việc" in message.subject


def test_head_of_agency_is_addressed_as_its_leadership() -> None:
    data = payload("overdue", recipient_role="assignee_head")

    text = render_message("overdue", data, "email", POLICY).text

    assert text.startswith("Kính gửi: Lãnh đạo Sở Tài chính\n")
    assert "Đề nghị đồng chí chỉ đạo khẩn trương hoàn thành" in text


def test_supporting_role_and_report_period() -> None:
    data = payload("reminder", role="support", period="Quý IV/2022")

    text = render_message("reminder", data, "email", POLICY).text

    assert "Sở Tài chính (phối hợp)" in text and "báo cáo kỳ Quý IV/2022" in text


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("2022-Q3", "quý III/2022"),
        ("2022-09", "tháng 9/2022"),
        ("2023-H1", "6 tháng đầu năm 2023"),
        ("2024", "năm 2024"),
        ("Quý IV/2022", "Quý IV/2022"),
    ],
)
def test_report_periods_read_as_officials_write_them(label: str, expected: str) -> None:
    assert period_vi(label) == expected
    text = render_message("reminder", payload("reminder", period=label), "email", POLICY).text
    assert f"báo cáo kỳ {expected}" in text


@pytest.mark.parametrize("kind", ["overdue", "escalation"])
def test_a_rung_sent_late_counts_the_days_up_to_the_sending_day(kind: str) -> None:
    # Planned at 1 working day overdue; due Friday 30/09/2022, sent Monday 10/10/2022:
    # the working days after the due date are 3, 4, 5, 6, 7 and 10 October, so 6.
    data = payload(kind, days_overdue=1, category_label="Quá hạn 1 ngày làm việc")

    message = render_message(kind, data, "email", POLICY, today=date(2022, 10, 10), calendar=CALENDAR)

    assert "đã quá hạn 6 ngày làm việc" in message.text
    assert "Tình trạng hiện nay: Quá hạn 6 ngày làm việc" in message.text
    assert "Số ngày quá hạn: 6 ngày làm việc" in message.text
    assert "6 ngày làm việc" in message.subject


def test_reminders_keep_their_numbers_whatever_the_day() -> None:
    message = render_message(
        "reminder", payload("reminder"), "email", POLICY, today=date(2022, 9, 28), calendar=CALENDAR
    )

    assert "còn 2 ngày làm việc" in message.text and "Số ngày quá hạn: chưa quá hạn" in message.text


def test_report_link_is_how_to_report() -> None:
    message = render_message(
        "reminder", payload("reminder", report_link="https://dondoc.bacgiang.example/bao-cao/abc"), "email", POLICY
    )

    assert (
        "bằng biểu mẫu tại đường dẫn dành riêng cho nhiệm vụ này: https://dondoc.bacgiang.example/bao-cao/abc"
        in message.text
    )
    assert '<a href="https://dondoc.bacgiang.example/bao-cao/abc">' in (message.html or "")
    assert "trả lời thư này" not in message.text


def test_no_channel_asks_for_a_reply_and_the_office_phone_is_given() -> None:
    data = payload("reminder", contact_office="Văn phòng Tỉnh ủy", contact_phone="0204 3000 000")
    zalo = render_message("reminder", data, "zalo", POLICY)

    assert zalo.html is None
    assert zalo.text.startswith(zalo.subject + "\n\nKính gửi: Sở Tài chính")
    assert "về Văn phòng Tỉnh ủy (điện thoại 0204 3000 000)" in zalo.text
    assert "đề nghị trả lời" not in zalo.text.lower()


def test_html_escapes_everything_from_the_payload() -> None:
    evil = '<img src=x onerror="alert(1)">'
    data = payload("extension_approved", directive_excerpt=evil, decision_note=evil, agency=evil, approver=evil)

    html = render_message("extension_approved", data, "email", POLICY).html or ""

    assert "<img" not in html and html.count("&lt;img src=x onerror=&#34;alert(1)&#34;&gt;") >= 4


def test_decomposed_input_comes_out_composed() -> None:
    data = payload("reminder", agency=unicodedata.normalize("NFD", "Sở Nông nghiệp và Phát triển nông thôn"))

    text = render_message("reminder", data, "email", POLICY).text

    assert "Sở Nông nghiệp và Phát triển nông thôn (chủ trì)" in text and text == unicodedata.normalize("NFC", text)


def test_zalo_text_stays_within_2000_characters() -> None:
    data = payload("reminder", agency="Sở Tài chính " * 150, task="Tổ chức triển khai thực hiện có hiệu quả " * 200)

    message = render_message("reminder", data, "zalo", POLICY)

    assert len(message.text) <= 2000 and message.text.endswith("…")
    assert message.text.startswith("[Nhắc việc] Mục 2.3")


def test_zalo_digest_drops_whole_items_and_says_how_many() -> None:
    items = [payload("reminder", directive_number=f"2.{n}") for n in range(1, 41)]

    message = render_digest(items, "zalo", POLICY, date(2022, 9, 26))

    assert len(message.text) <= 2000
    shown = sum(f"- Nhiệm vụ: Mục 2.{n} " in message.text for n in range(1, 41))
    assert 1 <= shown < 40
    assert f"… và {40 - shown} việc khác" in message.text
    assert message.subject.startswith("[Tổng hợp đôn đốc] 40 việc cần xử lý – Sở Tài chính")


def test_email_digest_lists_every_item_with_its_own_headline() -> None:
    items = [
        payload("reminder", directive_number="2.1"),
        payload("overdue", directive_number="2.5"),
        payload("extension_rejected", directive_number="2.6"),
    ]

    message = render_digest(items, "email", POLICY, date(2022, 9, 26))

    assert "Ngày 26/09/2022 (thứ Hai), Sở Tài chính có 3 việc cần quan tâm" in message.text
    assert "1. Nhắc việc: còn 2 ngày làm việc đến hạn" in message.text
    assert "2. Quá hạn 4 ngày làm việc" in message.text
    assert "3. Đề nghị gia hạn không được chấp thuận" in message.text
    for number in ("2.1", "2.5", "2.6"):
        assert f"- Nhiệm vụ: Mục {number} Thông báo số 1061-TB/TU" in message.text
    assert (message.html or "").count("<li>") == 3


def test_report_lists_its_summary_and_attachments() -> None:
    data = {
        "kind": "report",
        "recipient_agency": "Thường trực Tỉnh ủy",
        "notice_number": "1061-TB/TU",
        "report_period": "Quý III/2022",
        "as_of": "2022-09-30",
        "summary_lines": ["7 nhiệm vụ: 2 hoàn thành đúng hạn, 1 quá hạn", "Sở Tài chính chậm 4 ngày làm việc"],
        "attachments": ["/tmp/bao-cao/bao-cao-quy-3.xlsx", "/tmp/bao-cao/bao-cao-quy-3.docx"],
    }

    message = render_message("report", data, "email", POLICY)

    assert message.subject == "[Báo cáo] tình hình thực hiện Thông báo 1061-TB/TU – kỳ Quý III/2022"
    assert "Kính gửi: Thường trực Tỉnh ủy" in message.text
    assert "số liệu tính đến ngày 30/09/2022" in message.text
    assert "- Sở Tài chính chậm 4 ngày làm việc" in message.text
    assert "Tệp đính kèm: bao-cao-quy-3.xlsx, bao-cao-quy-3.docx" in message.text
    assert [p.name for p in message.attachments] == ["bao-cao-quy-3.xlsx", "bao-cao-quy-3.docx"]


def test_zns_gets_template_data_from_the_configured_mapping() -> None:
    message = render_message("overdue", payload("overdue"), "zns", POLICY)

    assert message.template_id == "100002"
    assert message.template_data == {
        "ten_co_quan": "Sở Tài chính",
        "nhiem_vu": "Mục 2.3 TB 1061-TB/TU",
        "han": "30/09/2022 (thứ Sáu)",
        "so_ngay_qua_han": "4",
    }


def test_zns_values_are_cut_to_the_template_limit() -> None:
    policy = NotificationPolicy(
        zns_templates={"reminder": ZnsTemplate(template_id="7", data={"nd": "{{ directive_excerpt }}"}, max_length=30)}
    )

    message = render_message("reminder", payload("reminder"), "zns", policy)

    assert message.template_data is not None and len(message.template_data["nd"]) == 30
    assert message.template_data["nd"].endswith("…")


def test_zns_kind_without_mapping_is_an_error() -> None:
    with pytest.raises(RenderError, match="chưa cấu hình mẫu ZNS"):
        render_message("assigned", payload("assigned"), "zns", POLICY)


def test_unknown_kind_is_an_error() -> None:
    with pytest.raises(RenderError, match="không có mẫu tin"):
        render_message("thong_bao_la", payload("reminder"), "email", POLICY)
