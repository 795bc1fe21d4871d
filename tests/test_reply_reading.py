"""Reading agencies' replies (domain/reply_reading.py): a table of Vietnamese reply texts as clerks write them."""

from __future__ import annotations

import unicodedata
from datetime import date
from typing import Any

import pytest

from domain.reply_reading import (
    AutomaticMail,
    ReplyKind,
    classify_automatic,
    fold,
    read_reply,
    strip_quoted_and_signature,
)

ACK, PROG, DONE, EXT, NO = (
    ReplyKind.acknowledged,
    ReplyKind.in_progress,
    ReplyKind.done,
    ReplyKind.extension,
    ReplyKind.not_understood,
)

GMAIL_QUOTE_VI = """
Vào Th 2, 12 thg 9, 2022 vào lúc 08:00 Văn phòng Tỉnh ủy <dondoc@vptu.bacgiang.example>
đã viết:
> Kính gửi: Hội Nông dân tỉnh
> Nhắc hạn: việc 2.6 «rà soát, đánh giá …» hạn 30/09/2022.
> Đề nghị đơn vị báo cáo tiến độ, hoàn thành trước hạn.
"""
GMAIL_QUOTE_EN = """
On Mon, Sep 12, 2022 at 8:00 AM Van phong Tinh uy <dondoc@vptu.bacgiang.example> wrote:
> Kinh gui: So Cong Thuong
> Nhac han: viec 2.3 da hoan thanh chua? Han 30/09/2022.
"""
OUTLOOK_QUOTE_EN = """
________________________________
From: Văn phòng Tỉnh ủy <dondoc@vptu.bacgiang.example>
Sent: Monday, September 12, 2022 8:00 AM
To: vanthu@stc.bacgiang.example
Subject: Nhắc hạn: việc 2.3 đã hoàn thành chưa?

Đề nghị đơn vị báo cáo kết quả, đã hoàn thành thì ghi số văn bản 999-BC/XX.
"""
OUTLOOK_QUOTE_VI = """
Từ: Văn phòng Tỉnh ủy <dondoc@vptu.bacgiang.example>
Đã gửi: Thứ Hai, 12 tháng 9, 2022 8:00 SA
Đến: vanthu@hnd.bacgiang.example
Chủ đề: Nhắc hạn việc 2.6

Đề nghị gia hạn nếu cần, hoàn thành trước 30/09/2022.
"""
ORIGINAL_MESSAGE = """
-----Original Message-----
From: dondoc@vptu.bacgiang.example
Đã hoàn thành chưa? Đề nghị gia hạn đến 01/01/2023 vì lý do gì?
"""
SIGNATURE = """
--
Văn thư Sở Tài chính
ĐT: 0204 3854 xxx · Đã hoàn thành 100% công tác văn thư năm 2021
"""
TRAN_TRONG = """
Trân trọng./.
Nguyễn Văn A
Chuyên viên Văn phòng · đạt 99% KPI
"""


def E(kind: ReplyKind, **details: Any) -> dict[str, Any]:
    """An expected statement: its kind and the details that matter (absent means None)."""
    return {"kind": kind, **details}


CASES: list[tuple[str, str, list[dict[str, Any]]]] = [
    # --- acknowledgement
    ("ack-plain", "Đã nhận.", [E(ACK)]),
    ("ack-tiep-nhan", "Văn phòng Sở đã tiếp nhận văn bản, sẽ triển khai.", [E(ACK)]),
    ("ack-no-diacritics", "da nhan duoc, cam on", [E(ACK)]),
    ("ack-gmail-quote", "Dạ, Hội Nông dân đã tiếp nhận ạ." + GMAIL_QUOTE_VI, [E(ACK)]),
    ("ack-signature", "Đã nhận được nhắc việc." + SIGNATURE, [E(ACK)]),
    ("ack-nfd", unicodedata.normalize("NFD", "Đã tiếp nhận."), [E(ACK)]),
    ("ack-old-tone", "Đã tiếp nhận, sẽ báo cáo Thường trực Tỉnh uỷ.", [E(ACK)]),
    # --- progress
    ("progress-percent", "Đang thực hiện, đạt 60%.", [E(PROG, percent=60)]),
    ("progress-no-diacritics", "dang thuc hien, dat 60%", [E(PROG, percent=60)]),
    ("progress-phan-tram", "Đơn vị đang triển khai, được khoảng 45 phần trăm.", [E(PROG, percent=45)]),
    ("progress-no-percent", "Đã nhận và đang triển khai thực hiện.", [E(PROG)]),
    ("progress-hoan-thanh-partial", "Đã hoàn thành 70% khối lượng công việc.", [E(PROG, percent=70)]),
    ("progress-chua-xong", "Chưa hoàn thành, đang thực hiện đạt 40%.", [E(PROG, percent=40)]),
    ("progress-outlook", "Sở đang tổng hợp số liệu, đạt 80 %." + OUTLOOK_QUOTE_EN, [E(PROG, percent=80)]),
    ("progress-tran-trong", "Dang du thao bao cao, dat 30%" + TRAN_TRONG, [E(PROG, percent=30)]),
    ("progress-space-percent", "Tiến độ: đang xây dựng kế hoạch, đạt 25 %", [E(PROG, percent=25)]),
    # --- completion
    ("done-plain", "Đã hoàn thành.", [E(DONE, percent=100)]),
    ("done-xong", "Xong rồi ạ", [E(DONE, percent=100)]),
    ("done-no-diacritics", "da hoan thanh", [E(DONE, percent=100)]),
    (
        "done-doc-number",
        "Đã hoàn thành, văn bản số 245-BC/HND ngày 28/9/2022.",
        [E(DONE, percent=100, document_number="245-BC/HND")],
    ),
    ("done-cv", "Đã xong, CV 112/ĐPTTH", [E(DONE, percent=100, document_number="112/ĐPTTH")]),
    (
        "done-cv-no-diacritics",
        "da xong, cv 112/dptth gui ngay 30/9",
        [E(DONE, percent=100, document_number="112/DPTTH")],
    ),
    (
        "done-skip-notice-number",
        "Thực hiện Thông báo số 1061-TB/TU, Sở đã hoàn thành, báo cáo số 45/BC-SCT.",
        [E(DONE, percent=100, document_number="45/BC-SCT")],
    ),
    ("done-100", "Đã thực hiện 100%.", [E(DONE, percent=100)]),
    (
        "done-qd",
        "Hoàn thành; Quyết định số 12/2022/QĐ-UBND đã ban hành.",
        [E(DONE, percent=100, document_number="12/2022/QĐ-UBND")],
    ),
    (
        "done-with-outlook-vi",
        "Báo Bắc Giang đã hoàn thành, văn bản 88-BC/BBG." + OUTLOOK_QUOTE_VI,
        [E(DONE, percent=100, document_number="88-BC/BBG")],
    ),
    ("done-original-message", "Đã hoàn thành." + ORIGINAL_MESSAGE, [E(DONE, percent=100)]),
    ("done-english-quote", "Da hoan thanh roi a." + GMAIL_QUOTE_EN, [E(DONE, percent=100)]),
    ("done-sent-from-iphone", "Xong\n\nGửi từ iPhone của tôi", [E(DONE, percent=100)]),
    # --- extension requests
    (
        "extension",
        "Đề nghị gia hạn đến 30/11/2022 vì chờ số liệu của các huyện.",
        [E(EXT, extension_until=date(2022, 11, 30), extension_reason="chờ số liệu của các huyện")],
    ),
    (
        "extension-no-diacritics",
        "de nghi gia han den 30/11/2022 vi cho so lieu cac huyen",
        [E(EXT, extension_until=date(2022, 11, 30), extension_reason="cho so lieu cac huyen")],
    ),
    (
        "extension-ly-do",
        "Xin gia hạn đến ngày 15 tháng 12 năm 2022. Lý do: đơn vị phối hợp chưa gửi báo cáo",
        [E(EXT, extension_until=date(2022, 12, 15), extension_reason="đơn vị phối hợp chưa gửi báo cáo")],
    ),
    (
        "extension-don-vi-is-not-vi",
        "Đơn vị đề nghị lùi thời hạn đến 31-12-2022 do thiếu kinh phí",
        [E(EXT, extension_until=date(2022, 12, 31), extension_reason="thiếu kinh phí")],
    ),
    (
        "extension-to-finish",
        "Đang thực hiện đạt 50%, đề nghị gia hạn đến 15/12/2022 vì cần thêm thời gian để hoàn thành",
        [E(EXT, extension_until=date(2022, 12, 15), extension_reason="cần thêm thời gian để hoàn thành")],
    ),
    ("extension-no-date", "Đề nghị gia hạn thêm vì chưa đủ số liệu.", [E(NO)]),
    ("extension-no-year", "Đề nghị gia hạn đến 30/11 vì chờ số liệu.", [E(NO)]),
    ("extension-no-reason", "Đề nghị gia hạn đến 30/11/2022.", [E(NO)]),
    ("extension-impossible-date", "Xin gia hạn đến 31/11/2022 vì chờ số liệu.", [E(NO)]),
    ("extension-and-done", "Đã hoàn thành. Đề nghị gia hạn đến 30/11/2022 vì bổ sung.", [E(NO)]),
    # --- digest replies: numbered items
    (
        "digest-two-items",
        "Kính gửi Văn phòng Tỉnh ủy,\n1. Đã hoàn thành, văn bản số 245-BC/HND\n2. Đang thực hiện, đạt 60%",
        [E(DONE, item_number=1, percent=100, document_number="245-BC/HND"), E(PROG, item_number=2, percent=60)],
    ),
    ("digest-one-item", "1. Đã hoàn thành …", [E(DONE, item_number=1, percent=100)]),
    (
        "digest-paren",
        "2) da tiep nhan\n3) dang trien khai dat 10%",
        [E(ACK, item_number=2), E(PROG, item_number=3, percent=10)],
    ),
    (
        "digest-muc",
        "Mục 1: Đã xong\nMục 2: đề nghị gia hạn đến 20/12/2022 vì chờ ý kiến Sở Tài chính",
        [
            E(DONE, item_number=1, percent=100),
            E(EXT, item_number=2, extension_until=date(2022, 12, 20), extension_reason="chờ ý kiến Sở Tài chính"),
        ],
    ),
    (
        "digest-one-unclear",
        "1. Đã hoàn thành\n2. Sẽ báo cáo sau",
        [E(DONE, item_number=1, percent=100), E(NO, item_number=2)],
    ),
    ("decimal-is-not-item", "1.5 tỷ đồng đã giải ngân, đang thực hiện đạt 75%", [E(PROG, percent=75)]),
    # --- not understood: held, never guessed
    ("empty", "", [E(NO)]),
    ("only-quote", GMAIL_QUOTE_VI, [E(NO)]),
    ("question", "Việc này do cơ quan nào chủ trì ạ?", [E(NO)]),
    ("chua-xong-alone", "Chưa xong.", [E(NO)]),
    ("chua-nhan", "Chúng tôi chưa nhận được văn bản.", [E(NO)]),
    ("percent-over-100", "Đang thực hiện, đạt 120%", [E(NO)]),
    ("two-percents", "Đạt 60%, phần còn lại đạt 30%", [E(NO)]),
    ("sent-report-ambiguous", "Đã gửi báo cáo số 245-BC/HND.", [E(NO)]),
    ("signature-only-keywords", "Cảm ơn anh chị." + SIGNATURE, [E(NO)]),
]


def _actual(statement: Any, expected: dict[str, Any]) -> dict[str, Any]:
    """The statement's fields that the expectation speaks of, plus every detail that is set."""
    fields = ("kind", "item_number", "percent", "document_number", "extension_until", "extension_reason")
    return {name: getattr(statement, name) for name in fields if name in expected or getattr(statement, name)}


@pytest.mark.parametrize(("text", "expected"), [pytest.param(t, e, id=i) for i, t, e in CASES])
def test_reply_table(text: str, expected: list[dict[str, Any]]) -> None:
    """Each reply reads into exactly the expected statements; not understood always says why."""
    reading = read_reply(text)
    actual = [_actual(s, e) for s, e in zip(reading.statements, expected, strict=False)]
    assert len(reading.statements) == len(expected), reading.statements
    assert actual == expected
    for statement in reading.statements:
        if statement.kind is ReplyKind.not_understood:
            assert statement.problem and statement.problem[0].islower()
    assert reading.understood == all(e["kind"] is not NO for e in expected)


def test_table_has_at_least_forty_cases_with_and_without_diacritics() -> None:
    """The issue asks for 40+ texts, some without diacritics, some with quotes and signatures."""
    assert len(CASES) >= 40
    ascii_only = [t for _, t, _ in CASES if t and t == fold(t) and t.isascii()]
    assert len(ascii_only) >= 5


def test_reading_output_is_nfc_and_keeps_diacritics() -> None:
    """The clerk's words come back in NFC with their diacritics; the document number keeps Đ."""
    reading = read_reply(unicodedata.normalize("NFD", "Đã xong, CV 112/ĐPTTH"))
    assert reading.body == "Đã xong, CV 112/ĐPTTH"
    assert reading.statements[0].document_number == "112/ĐPTTH"


def test_strip_keeps_bottom_posted_answer() -> None:
    """An answer written below a ">"-quoted original is kept; the quote and attribution go."""
    text = "On Mon, Sep 12, 2022 at 8:00 AM VP <a@b.example> wrote:\n> Nhac han viec 2.3\n\nDa hoan thanh."
    assert strip_quoted_and_signature(text) == "Da hoan thanh."


def test_strip_cuts_at_signature_delimiter_and_sign_off() -> None:
    """Everything after "-- " or a bare sign-off line is signature."""
    assert strip_quoted_and_signature("Đã nhận\n-- \nĐã hoàn thành 100%") == "Đã nhận"
    assert strip_quoted_and_signature("Đã nhận\nBest regards,\nA") == "Đã nhận"
    assert strip_quoted_and_signature("Trân trọng báo cáo: đã hoàn thành") == "Trân trọng báo cáo: đã hoàn thành"


# --- automatic mail ---------------------------------------------------------------------------

AUTO_CASES: list[tuple[str, list[tuple[str, str]], AutomaticMail | None]] = [
    ("person", [("From", "vanthu@stc.example"), ("Subject", "Re: Nhắc hạn việc 2.3")], None),
    ("auto-submitted-no", [("Auto-Submitted", "no"), ("Subject", "Re: Nhắc hạn")], None),
    ("auto-submitted", [("Auto-Submitted", "auto-replied"), ("Subject", "Re: Nhắc hạn")], AutomaticMail.auto_reply),
    ("auto-generated", [("Auto-Submitted", "auto-generated")], AutomaticMail.auto_reply),
    ("x-autoreply", [("X-Autoreply", "yes")], AutomaticMail.auto_reply),
    ("precedence-auto", [("Precedence", "auto_reply")], AutomaticMail.auto_reply),
    ("precedence-bulk", [("Precedence", "bulk")], AutomaticMail.bulk),
    ("ooo-en", [("Subject", "Out of Office: Nhắc hạn việc 2.3")], AutomaticMail.auto_reply),
    ("automatic-reply", [("Subject", "Automatic reply: Nhắc hạn")], AutomaticMail.auto_reply),
    ("ooo-vi", [("Subject", "Trả lời tự động: Nhắc hạn việc 2.3")], AutomaticMail.auto_reply),
    ("ooo-vi-absent", [("Subject", "Vắng mặt đến 20/9")], AutomaticMail.auto_reply),
    ("mailer-daemon", [("From", "Mail Delivery System <MAILER-DAEMON@mx.example>")], AutomaticMail.bounce),
    ("postmaster", [("From", "postmaster@stc.example")], AutomaticMail.bounce),
    ("report", [("Content-Type", 'multipart/report; report-type="delivery-status"')], AutomaticMail.bounce),
    ("undeliverable", [("Subject", "Undeliverable: Nhắc hạn")], AutomaticMail.bounce),
    ("null-return-path", [("Return-Path", "<>"), ("Subject", "Re: x")], AutomaticMail.bounce),
    ("failed-recipients", [("X-Failed-Recipients", "a@b.example")], AutomaticMail.bounce),
]


@pytest.mark.parametrize(("headers", "expected"), [pytest.param(h, e, id=i) for i, h, e in AUTO_CASES])
def test_classify_automatic(headers: list[tuple[str, str]], expected: AutomaticMail | None) -> None:
    """Auto-replies, bounces and bulk mail are recognised from headers alone; a person's reply is not."""
    assert classify_automatic(headers) is expected
