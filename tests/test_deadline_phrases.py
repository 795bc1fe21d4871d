"""Vietnamese deadline phrases → rules, and scanning directive text for deadline expressions."""

from __future__ import annotations

import unicodedata
from datetime import date

import pytest

from config.policy import load_calendar
from config.settings import PACKAGED_CONFIG_DIR
from domain.deadline_phrases import FoundDeadline, UnparseableDeadline, find_deadlines, parse_deadline
from domain.deadlines import (
    CalendarDaysRule,
    FixedDateRule,
    MeetingRule,
    OngoingRule,
    Recurrence,
    UrgentRule,
    WithinHalfYearRule,
    WithinMonthRule,
    WithinQuarterRule,
    WithinYearRule,
    WorkingDaysRule,
    compute_due,
)
from domain.policy import DeadlinePolicy, Meeting

D = date.fromisoformat
REF = D("2022-09-09")
SEED = PACKAGED_CONFIG_DIR / "notices" / "thong-bao-ket-luan-2022-09-09.md"


@pytest.mark.parametrize(
    ("phrase", "rule"),
    [
        ("trước ngày 30/9/2022", FixedDateRule(date=D("2022-09-30"))),
        ("chậm nhất ngày 30/9/2022", FixedDateRule(date=D("2022-09-30"))),
        ("chậm nhất là ngày 30-9-2022", FixedDateRule(date=D("2022-09-30"))),
        ("hoàn thành trước ngày 15-7-2021", FixedDateRule(date=D("2021-07-15"))),
        ("trước ngày 30.9.2022", FixedDateRule(date=D("2022-09-30"))),
        ("trước ngày 30 tháng 9 năm 2022", FixedDateRule(date=D("2022-09-30"))),
        ("xong trong ngày 05/10/2022", FixedDateRule(date=D("2022-10-05"))),
        ("trong tháng 10/2022", WithinMonthRule(year=2022, month=10)),
        ("trong tháng 10 năm 2022", WithinMonthRule(year=2022, month=10)),
        ("hoàn thành trong tháng 12/2022", WithinMonthRule(year=2022, month=12)),
        ("trong quý IV/2022", WithinQuarterRule(year=2022, quarter=4)),
        ("trong quý 4/2022", WithinQuarterRule(year=2022, quarter=4)),
        ("quý 4 năm 2022", WithinQuarterRule(year=2022, quarter=4)),
        ("trong quý III năm 2023", WithinQuarterRule(year=2023, quarter=3)),
        ("trong quý I/2023", WithinQuarterRule(year=2023, quarter=1)),
        ("trong quý II/2023", WithinQuarterRule(year=2023, quarter=2)),
        ("6 tháng đầu năm 2023", WithinHalfYearRule(year=2023, half=1)),
        ("trong 6 tháng cuối năm 2023", WithinHalfYearRule(year=2023, half=2)),
        ("trong năm 2023", WithinYearRule(year=2023)),
        (
            "tại Hội nghị Ban Thường vụ Tỉnh ủy phiên thường kỳ tháng 9/2022",
            MeetingRule(body="Ban Thường vụ Tỉnh ủy", year=2022, month=9),
        ),
        ("tại phiên họp thường kỳ tháng 10/2022", MeetingRule(body=None, year=2022, month=10)),
        ("khẩn trương", UrgentRule()),
        ("trong 10 ngày làm việc", WorkingDaysRule(days=10)),
        ("trong vòng 05 ngày làm việc", WorkingDaysRule(days=5)),
        ("trong 15 ngày", CalendarDaysRule(days=15)),
        (
            "trong thời hạn 10 ngày làm việc kể từ ngày 09/9/2022",
            WorkingDaysRule(days=10, since=D("2022-09-09")),
        ),
        ("trong 07 (bảy) ngày làm việc kể từ ngày ký", WorkingDaysRule(days=7)),
        ("tiếp tục", OngoingRule()),
        ("thường xuyên", OngoingRule()),
        # An explicit date outranks "khẩn trương", which is then only a qualifier.
        ("khẩn trương hoàn thành trước ngày 30/9/2022", FixedDateRule(date=D("2022-09-30"))),
    ],
)
def test_parse_rule(phrase: str, rule: object) -> None:
    parsed = parse_deadline(phrase, reference=REF)
    assert parsed.rule == rule
    assert parsed.recurrence is None
    assert parsed.phrase == phrase
    assert 0.5 <= parsed.confidence <= 1.0


@pytest.mark.parametrize(
    ("phrase", "every"),
    [
        ("hằng tháng", "month"),
        ("hàng tháng", "month"),
        ("định kỳ hằng tháng", "month"),
        ("định kỳ hằng quý", "quarter"),
        ("hàng quý", "quarter"),
        ("định kỳ 6 tháng", "half_year"),
        ("6 tháng một lần", "half_year"),
        ("hằng năm", "year"),
        ("định kỳ hàng năm", "year"),
        ("báo cáo kết quả định kỳ hằng quý", "quarter"),
    ],
)
def test_parse_recurrence(phrase: str, every: str) -> None:
    parsed = parse_deadline(phrase, reference=REF)
    assert parsed.recurrence == Recurrence(every=every)  # type: ignore[arg-type]
    assert parsed.rule is None


def test_rule_and_recurrence_together() -> None:
    parsed = parse_deadline("định kỳ hằng quý báo cáo trước ngày 20/12/2022", reference=REF)
    assert parsed.rule == FixedDateRule(date=D("2022-12-20"))
    assert parsed.recurrence == Recurrence(every="quarter")


@pytest.mark.parametrize(
    ("phrase", "rule"),
    [
        ("trước ngày 30/9", FixedDateRule(date=D("2022-09-30"), year_from_reference=True)),
        ("trong tháng 10", WithinMonthRule(year=2022, month=10, year_from_reference=True)),
        ("trong quý IV", WithinQuarterRule(year=2022, quarter=4, year_from_reference=True)),
        ("6 tháng cuối năm", WithinHalfYearRule(year=2022, half=2, year_from_reference=True)),
    ],
)
def test_year_comes_from_the_reference_and_says_so(phrase: str, rule: object) -> None:
    parsed = parse_deadline(phrase, reference=REF)
    assert parsed.rule == rule
    assert (
        parsed.confidence
        < parse_deadline(phrase + "/2022" if "năm" not in phrase else phrase + " 2022", reference=REF).confidence
    )


def test_year_less_date_explanation_mentions_the_reference() -> None:
    parsed = parse_deadline("trước ngày 30/9", reference=REF)
    result = compute_due(parsed.rule, REF, load_calendar(PACKAGED_CONFIG_DIR), DeadlinePolicy())  # type: ignore[arg-type]
    assert result.due == D("2022-09-30")
    assert "năm lấy theo ngày ban hành thông báo" in result.explanation


@pytest.mark.parametrize(
    ("phrase", "reason_part"),
    [
        ("trước ngày 30/9", "không ghi năm"),  # no reference given below
        ("trong tháng 10", "không ghi năm"),
    ],
)
def test_year_less_without_reference_is_unparseable(phrase: str, reason_part: str) -> None:
    with pytest.raises(UnparseableDeadline) as info:
        parse_deadline(phrase)
    assert reason_part in info.value.reason_vi
    assert info.value.phrase == phrase


@pytest.mark.parametrize(
    ("phrase", "reason_part"),
    [
        ("", "trống"),
        ("sớm", "không nhận ra"),
        ("trong 6 tháng", "không nhận ra"),
        ("trước tháng 10/2022", "trước"),  # "before October" is not "within October": refuse, never guess
        ("sau ngày 30/9/2022", "sau"),
        ("trước ngày 31/2/2022", "không tồn tại"),
        ("trong tháng 13/2022", "không tồn tại"),
        ("định kỳ báo cáo", "không nêu chu kỳ"),
        ("trước ngày 30/9/2022 và trước ngày 15/10/2022", "nhiều thời hạn"),
        ("hằng tháng và hằng quý", "nhiều chu kỳ"),
        ("trước ngày 15/1", "đã qua"),  # 15/1/2022 is before the notice date 9/9/2022: which year?
        ("trước ngày 30/9/2022 nếu có kinh phí", "kinh phí"),
    ],
)
def test_unparseable_phrases(phrase: str, reason_part: str) -> None:
    with pytest.raises(UnparseableDeadline) as info:
        parse_deadline(phrase, reference=REF)
    assert reason_part in info.value.reason_vi
    assert phrase in str(info.value)


@pytest.mark.parametrize(
    "phrase",
    ["TRƯỚC NGÀY 30/9/2022", "Trước Ngày 30/9/2022", unicodedata.normalize("NFD", "trước ngày 30/9/2022")],
)
def test_case_and_unicode_form_do_not_matter(phrase: str) -> None:
    assert parse_deadline(phrase, reference=REF).rule == FixedDateRule(date=D("2022-09-30"))


def test_old_and_new_tone_placement_give_the_same_body_and_meeting() -> None:
    old = parse_deadline("tại Hội nghị Ban Thường vụ Tỉnh uỷ phiên thường kỳ tháng 9/2022", reference=REF)
    new = parse_deadline("tại Hội nghị Ban Thường vụ Tỉnh ủy phiên thường kỳ tháng 9/2022", reference=REF)
    assert old.rule == new.rule
    policy = DeadlinePolicy(meetings=[Meeting(body="Ban Thường vụ Tỉnh ủy", date=D("2022-09-28"))])
    result = compute_due(old.rule, REF, load_calendar(PACKAGED_CONFIG_DIR), policy)  # type: ignore[arg-type]
    assert result.due == D("2022-09-28")


# --- find_deadlines on real notice text ----------------------------------------------------------

CITED = (
    "2.1. Tiếp tục quán triệt, triển khai thực hiện nghiêm túc, hiệu quả các nội dung, mục tiêu của Đề án và "
    "Thông báo kết luận số 1061-TB/TU ngày 23/5/2022 của đồng chí Phó Bí thư Thường trực Tỉnh ủy tại Hội nghị "
    "quán triệt, triển khai Đề án gắn với thực hiện Quyết định số 919/QĐ-TTg ngày 01/8/2022 của Thủ tướng Chính "
    "phủ phê duyệt chương trình mỗi xã một sản phẩm giai đoạn 2021-2025."
)
MEETING = (
    "2.6. Hội Nông dân tỉnh khẩn trương rà soát các văn bản, nghị quyết của HĐND liên quan; kịp thời có ý kiến "
    "đề xuất vào dự thảo chương trình hành động, kế hoạch của Ban Thường vụ Tỉnh ủy thực hiện Nghị quyết số "
    "19-NQ/TW, Nghị quyết số 20-NQ/TW ngày 16/6/2022 của Hội nghị lần thứ năm Ban Chấp hành Trung ương Đảng "
    "khoá XIII sẽ được xem xét thông qua tại Hội nghị Ban Thường vụ Tỉnh ủy phiên thường kỳ tháng 9/2022."
)


def _kinds(found: list[FoundDeadline]) -> list[str]:
    """Rule kind, recurrence frequency or 'error' for each found expression."""
    out = []
    for f in found:
        if f.parsed is None:
            out.append("error")
        elif f.parsed.rule is not None:
            out.append(f.parsed.rule.kind)
        else:
            out.append(f"every:{f.parsed.recurrence.every}")  # type: ignore[union-attr]
    return out


def test_cited_documents_dates_are_ignored() -> None:
    found = find_deadlines(CITED)
    assert _kinds(found) == ["ongoing"]
    assert found[0].phrase == "Tiếp tục"
    assert CITED[found[0].start : found[0].end] == "Tiếp tục"


def test_meeting_and_urgent_are_found_but_not_the_resolution_date() -> None:
    found = find_deadlines(MEETING)
    assert _kinds(found) == ["urgent", "meeting"]
    meeting = found[1]
    assert meeting.phrase == "tại Hội nghị Ban Thường vụ Tỉnh ủy phiên thường kỳ tháng 9/2022"
    assert meeting.parsed is not None
    assert meeting.parsed.rule == MeetingRule(body="Ban Thường vụ Tỉnh ủy", year=2022, month=9)
    assert MEETING[meeting.start : meeting.end] == meeting.phrase


def test_recurrence_without_a_frequency_is_found_as_an_error() -> None:
    text = (
        "2.7. Giao Ban Dân vận Tỉnh ủy chủ trì, phối hợp với Văn phòng Tỉnh ủy theo dõi, đôn đốc việc thực hiện "
        "Thông báo kết luận này; định kỳ tổng hợp, báo cáo kết quả thực hiện với Thường trực Tỉnh ủy theo quy định."
    )
    (found,) = find_deadlines(text)
    assert found.phrase == "định kỳ tổng hợp, báo cáo"
    assert found.parsed is None and found.error is not None and "chu kỳ" in found.error


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("Sở Nội vụ báo cáo kết quả định kỳ hằng quý về Văn phòng.", ["every:quarter"]),
        ("UBND các huyện báo cáo hàng tháng; hoàn thành trước ngày 15-7-2021.", ["every:month", "fixed_date"]),
        ("Sở Tài chính thường xuyên theo dõi, hoàn thành trong quý IV/2022.", ["ongoing", "within_quarter"]),
        ("Xây dựng kế hoạch giai đoạn 2022-2025, trình trong năm 2023.", ["within_year"]),
        ("Báo cáo trong thời hạn 10 ngày làm việc kể từ ngày 09/9/2022.", ["working_days"]),
        (
            "Tổ chức sơ kết 6 tháng đầu năm 2023 vào ngày 15/7/2023.",
            [],
        ),  # no deadline cue: a report's name and an event
        ("Ngày 09/9/2022, đồng chí Phó Bí thư làm việc.", []),
    ],
)
def test_find_deadlines_in_sentences(text: str, kinds: list[str]) -> None:
    found = find_deadlines(text)
    assert _kinds(found) == kinds
    for f in found:
        assert text[f.start : f.end] == f.phrase


def test_year_less_dates_need_a_reference_when_scanning() -> None:
    text = "Hoàn thành trước ngày 30/9."
    (no_ref,) = find_deadlines(text)
    assert no_ref.parsed is None and "không ghi năm" in (no_ref.error or "")
    (with_ref,) = find_deadlines(text, reference=REF)
    assert with_ref.parsed is not None
    assert with_ref.parsed.rule == FixedDateRule(date=D("2022-09-30"), year_from_reference=True)


def test_spans_index_the_nfc_text_for_nfd_input() -> None:
    text = unicodedata.normalize("NFD", "Sở Tài chính khẩn trương báo cáo.")
    (found,) = find_deadlines(text)
    assert unicodedata.normalize("NFC", text)[found.start : found.end] == "khẩn trương"


def test_the_sample_notice() -> None:
    text = SEED.read_text(encoding="utf-8")
    found = find_deadlines(text, reference=REF)
    kinds = _kinds(found)
    assert "urgent" in kinds and "meeting" in kinds and "error" in kinds and "ongoing" in kinds
    assert "fixed_date" not in kinds and "within_year" not in kinds  # only cited documents carry dates
