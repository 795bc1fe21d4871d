"""More of the parser's general rules for documents of any province (issue 16): segmentation of numbered items,
deadline cues of letters and meetings, names of other provinces' bodies, issue dates of press summaries.

As in test_notice_parser_rules.py, each test names its rule and feeds it texts written for the test, in several
variants; none is a sentence of the field corpus.
"""

from __future__ import annotations

import pytest

from config.agencies import AgencyDirectory, load_agencies
from config.settings import PACKAGED_CONFIG_DIR
from tests.test_notice_parser_rules import PREFACE, _body, parse, roles


@pytest.fixture(scope="module")
def directory() -> AgencyDirectory:
    """The packaged Bắc Giang agency directory."""
    return load_agencies(PACKAGED_CONFIG_DIR)


# --- A. A numbered item that hands out one task per body becomes one directive per body (split_numbered_item) ---


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        (
            "Sở Tài chính bố trí kinh phí mua vắc xin; Sở Công Thương kiểm soát giá thuốc.",
            [("1", {"SO_TC": "lead"}), ("1b", {"SO_CT": "lead"})],
        ),
        (
            "Sở Tài chính cấp bù học phí; Công an tỉnh giữ trật tự; Sở Công Thương điều tiết xăng dầu.",
            [("1", {"SO_TC": "lead"}), ("1b", {"Công an tỉnh": "lead"}), ("1c", {"SO_CT": "lead"})],
        ),
        (
            "Sở Tài chính phối hợp với Sở Công Thương lập dự toán chợ tạm; Công an tỉnh phân luồng xe.",
            [("1", {"SO_TC": "support", "SO_CT": "lead"}), ("1b", {"Công an tỉnh": "lead"})],
        ),
    ],
)
def test_a_numbered_item_with_one_task_per_body_is_split(
    item: str, expected: list[tuple[str, dict[str, str]]], directory: AgencyDirectory
) -> None:
    draft = parse(_body(item), directory)
    assert [(d.number, roles(d)) for d in draft.directives] == expected
    assert all(any("đã tách thành nhiều mục" in n for n in d.review) for d in draft.directives)


@pytest.mark.parametrize(
    "item",
    [
        "UBND huyện Lục Nam, UBND huyện Tân Yên dọn vệ sinh chợ; Sở Y tế cấp hóa chất khử khuẩn.",
        "Ban Tuyên giáo Tỉnh ủy định hướng tuyên truyền bầu cử; Báo Bắc Giang mở chuyên mục riêng.",
        "Sở Công Thương kiểm soát giá phân bón; Sở Tài chính phối hợp kiểm tra hóa đơn.",
        "Sở Công Thương kiểm soát giá phân bón. Sở Tài chính bố trí kinh phí bình ổn giá.",
        "Sở Công Thương kiểm soát giá phân bón; báo cáo kết quả trước ngày 30/6/2024.",
        "Sở Công Thương kiểm soát giá phân bón; Sở Công Thương công khai giá bán lẻ.",
    ],
)
def test_a_numbered_item_that_reads_as_one_task_stays_whole(item: str, directory: AgencyDirectory) -> None:
    draft = parse(_body(item), directory)
    assert [d.number for d in draft.directives] == ["1"]


@pytest.mark.parametrize(
    ("sentence", "lead"),
    [
        ("Công an tỉnh giữ trật tự tại bến xe.", "Công an tỉnh"),
        ("Trung tâm Y tế huyện phun khử khuẩn khu chợ.", "Trung tâm Y tế huyện"),
        ("Ban Tuyên giáo tỉnh ủy định hướng tuyên truyền.", "Ban Tuyên giáo tỉnh ủy"),
        (
            "Ngân hàng Chính sách xã hội chi nhánh tỉnh giãn nợ cho hộ nghèo.",
            "Ngân hàng Chính sách xã hội chi nhánh tỉnh",
        ),
    ],
)
def test_a_lowercase_word_after_a_closing_level_word_ends_the_name(
    sentence: str, lead: str, directory: AgencyDirectory
) -> None:
    (d,) = parse(_body(sentence), directory).directives
    assert [r.surface for r in d.assignments if str(r.role) == "lead"] == [lead]


# --- B. Deadlines: a time of day, "đến ngày", "đến hết", a named day, meetings; weekly reports -----------------


@pytest.mark.parametrize(
    ("clause", "rule"),
    [
        ("nộp hồ sơ trước 17 giờ ngày 20/6/2024", {"kind": "fixed_date", "date": "2024-06-20"}),
        ("gửi danh sách chậm nhất 9h30, ngày 21/6/2024", {"kind": "fixed_date", "date": "2024-06-21"}),
        ("đến ngày 28/6/2024 phải nạo vét xong kênh", {"kind": "fixed_date", "date": "2024-06-28"}),
        ("sửa xong phòng học trước ngày khai giảng 05/9/2024", {"kind": "fixed_date", "date": "2024-09-05"}),
        ("miễn phí gửi xe đến hết năm 2024", {"kind": "within_year", "year": 2024}),
        ("giãn giờ làm đến hết tháng 8/2024", {"kind": "within_month", "year": 2024, "month": 8}),
        (
            "trình Thường trực Tỉnh ủy tại phiên họp tháng 9/2024",
            {"kind": "meeting", "body": "Thường trực Tỉnh ủy", "year": 2024, "month": 9},
        ),
        ("báo cáo tại kỳ họp tháng 7/2024", {"kind": "meeting", "body": None, "year": 2024, "month": 7}),
    ],
)
def test_deadline_cues_of_letters_and_meetings(
    clause: str, rule: dict[str, object], directory: AgencyDirectory
) -> None:
    (d,) = parse(_body(f"Sở Công Thương {clause}."), directory, issued_on="2024-06-10").directives
    got = d.deadline.rule or {}
    assert {k: got.get(k) for k in rule} == rule


@pytest.mark.parametrize(
    "clause",
    ["trình trước kỳ họp HĐND tỉnh cuối năm 2024", "báo cáo trước Hội nghị Ban Chấp hành Đảng bộ tỉnh lần thứ 20"],
)
def test_a_meeting_deadline_without_its_month_is_flagged_not_dropped(clause: str, directory: AgencyDirectory) -> None:
    (d,) = parse(_body(f"Sở Tài chính hoàn thiện đề án, {clause}."), directory, issued_on="2024-06-10").directives
    assert d.deadline.rule is None
    assert any("không nêu tháng họp" in n for n in d.deadline.notes) and d.deadline.confidence <= 0.4


def test_a_date_that_only_dates_a_figure_is_no_deadline(directory: AgencyDirectory) -> None:
    (d,) = parse(
        _body("Sở Tài chính tính đến ngày 30/6/2024 đã giải ngân 40% vốn, rà soát dự án chậm."), directory
    ).directives
    assert d.deadline.rule is None or d.deadline.rule["kind"] != "fixed_date"


@pytest.mark.parametrize("every", ["hằng tuần", "hàng tuần", "định kỳ hằng tuần", "mỗi tuần"])
def test_a_weekly_report_is_an_unspecified_recurrence_with_a_note(every: str, directory: AgencyDirectory) -> None:
    (d,) = parse(_body(f"Sở Y tế tổng hợp số ca bệnh, {every} báo cáo UBND tỉnh."), directory).directives
    assert d.deadline.recurrence == "unspecified"
    assert any("hằng tuần chưa được hệ thống theo dõi" in n for n in d.deadline.notes)


@pytest.mark.parametrize(
    ("sentence", "name"),
    [
        ("UBND huyện Lục Nam chủ trì, phối hợp với Hội Nông dân huyện tập huấn kỹ thuật.", "Hội Nông dân huyện"),
        ("Ban Tuyên giáo Huyện ủy Tân Yên biên soạn tài liệu tuyên truyền.", "Ban Tuyên giáo Huyện ủy Tân Yên"),
        ("Hội Liên hiệp Phụ nữ thị xã Chũ vận động hội viên góp vốn.", "Hội Liên hiệp Phụ nữ thị xã Chũ"),
    ],
)
def test_a_provincial_name_before_a_lower_level_word_is_that_levels_body(
    sentence: str, name: str, directory: AgencyDirectory
) -> None:
    (d,) = parse(_body(sentence), directory).directives
    (ref,) = [r for r in d.assignments if r.surface == name]
    assert ref.code is None and not ref.known


def test_a_district_body_of_the_directory_keeps_its_code(directory: AgencyDirectory) -> None:
    (d,) = parse(_body("Hội Nông dân huyện Yên Thế nhân rộng mô hình nuôi gà đồi."), directory).directives
    assert roles(d) == {"HND_YENTHE": "lead"}


# --- C. Shared tails and listed places -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        (
            "Huyện ủy, UBND huyện Mù Cang Chải rà soát hộ nghèo.",
            {"Huyện ủy Mù Cang Chải": "lead", "UBND huyện Mù Cang Chải": "lead"},
        ),
        ("Huyện ủy và UBND huyện Tân Yên chỉ đạo dồn điền đổi thửa.", {"HU_TANYEN": "lead", "UBND_TANYEN": "lead"}),
        (
            "Thành ủy, UBND thành phố Cẩm Phả chỉnh trang đô thị.",
            {"Thành ủy Cẩm Phả": "lead", "UBND thành phố Cẩm Phả": "lead"},
        ),
    ],
)
def test_a_bare_level_body_borrows_the_place_of_its_sibling(
    sentence: str, expected: dict[str, str], directory: AgencyDirectory
) -> None:
    (d,) = parse(_body(sentence), directory).directives
    assert roles(d) == expected


def test_a_bare_level_body_without_a_placed_sibling_stays_bare(directory: AgencyDirectory) -> None:
    (d,) = parse(_body("Huyện ủy, Sở Y tế rà soát hộ nghèo, báo cáo UBND tỉnh."), directory).directives
    assert set(roles(d)) == {"Huyện ủy", "Sở Y tế"}


@pytest.mark.parametrize(
    ("sentence", "phrase"),
    [
        ("Đảng ủy các xã Tân Hưng, Phú Lộc, Mỹ An vận động nhân dân.", "Đảng ủy các xã Tân Hưng, Phú Lộc, Mỹ An"),
        (
            "UBND các huyện Mường Tè, Sìn Hồ và Phong Thổ rà soát điểm trường.",
            "UBND các huyện Mường Tè, Sìn Hồ và Phong Thổ",
        ),
        ("UBND các huyện Bảo Lạc, Sở Y tế tổ chức khám bệnh.", "UBND các huyện Bảo Lạc"),
    ],
)
def test_a_collective_phrase_takes_the_places_it_lists(sentence: str, phrase: str, directory: AgencyDirectory) -> None:
    (d,) = parse(_body(sentence), directory).directives
    assert [r.surface for r in d.assignments if r.generic] == [phrase]


@pytest.mark.parametrize(
    ("sentence", "lead"),
    [
        ("Công ty Điện lực Lạng Sơn cấp điện cho khu tái định cư.", "Công ty Điện lực Lạng Sơn"),
        ("Tổng công ty Đường sắt Việt Nam sửa chữa cầu yếu.", "Tổng công ty Đường sắt Việt Nam"),
        ("Trạm Thú y huyện tiêm phòng cho đàn trâu bò.", "Trạm Thú y huyện"),
        ("Trung tâm Bảo tồn di tích Côn Sơn mở cửa miễn phí.", "Trung tâm Bảo tồn di tích Côn Sơn"),
        ("Ban Quản lý Vườn quốc gia Ba Vì trồng bổ sung cây bản địa.", "Ban Quản lý Vườn quốc gia Ba Vì"),
    ],
)
def test_company_and_station_heads_and_a_proper_name_closing_a_name(
    sentence: str, lead: str, directory: AgencyDirectory
) -> None:
    (d,) = parse(_body(sentence), directory).directives
    assert [r.surface for r in d.assignments if str(r.role) == "lead"] == [lead]


@pytest.mark.parametrize(
    ("sentence", "lead"),
    [
        (
            "Ban Quản lý dự án đầu tư xây dựng các công trình dân dụng tỉnh bàn giao trường học.",
            "Ban Quản lý dự án đầu tư xây dựng các công trình dân dụng tỉnh",
        ),
        ("Ban QLDA đầu tư xây dựng huyện Lục Ngạn hoàn trả mặt bằng.", "Ban QLDA đầu tư xây dựng huyện Lục Ngạn"),
        (
            "Ban Quản lý dự án công trình thủy lợi và phòng chống thiên tai tỉnh gia cố đê.",
            "Ban Quản lý dự án công trình thủy lợi và phòng chống thiên tai tỉnh",
        ),
    ],
)
def test_a_project_board_name_runs_to_its_level_word(sentence: str, lead: str, directory: AgencyDirectory) -> None:
    (d,) = parse(_body(sentence), directory).directives
    assert [r.surface for r in d.assignments if str(r.role) == "lead"] == [lead]


@pytest.mark.parametrize("oversight", ["kiểm tra, đôn đốc", "theo dõi, đôn đốc thực hiện", "giám sát"])
def test_a_clause_that_only_oversees_stays_with_the_task_before(oversight: str, directory: AgencyDirectory) -> None:
    task = f"Sở Công Thương kiểm soát giá xăng dầu; Sở Tài chính {oversight}."
    unnumbered = parse(PREFACE + task + "\n", directory).directives
    numbered = parse(_body(task), directory).directives
    assert len(unnumbered) == 1 and len(numbered) == 1
    assert set(roles(numbered[0])) == {"SO_CT", "SO_TC"}


# --- D. Issue dates of press summaries: the summarised document's date, else the article's opening date --------


@pytest.mark.parametrize(
    "citation",
    [
        "Văn phòng Tỉnh ủy vừa ban hành Kết luận số 88-KL/TU ngày 21/5/2024 của Thường trực Tỉnh ủy",
        "Văn phòng UBND tỉnh đã ban hành Thông báo số 57/TB-VP, ngày 21/5/2024 truyền đạt kết luận",
        "UBND tỉnh mới có Công văn số 1290/UBND-KT ngày 21/5/2024 gửi các sở",
    ],
)
def test_a_press_summary_takes_the_date_of_the_document_it_cites(citation: str, directory: AgencyDirectory) -> None:
    text = (
        "Lạng Sơn: chống hạn cho cây vụ đông\n\nChiều 20/5/2024, lãnh đạo tỉnh họp về chống hạn. "
        f"{citation} về việc này.\n\nGiao Sở Công Thương bảo đảm điện cho các trạm bơm trước ngày 30/5/2024.\n"
    )
    draft = parse(text, directory)
    assert draft.date.value == "2024-05-21" and "văn bản được tóm tắt" in (draft.date.note or "")
    assert draft.number_is_placeholder


@pytest.mark.parametrize(
    "opening",
    [
        "Chiều 14/5/2024, Phó Chủ tịch UBND tỉnh họp về chống hạn.",
        "Sáng ngày 14/5/2024, Phó Chủ tịch UBND tỉnh họp về chống hạn.",
        "**Lạng Sơn, 14/5/2024** – Sáng nay, Phó Chủ tịch UBND tỉnh họp về chống hạn.",
        "Cao Bằng, ngày 14/5/2024 - Phó Chủ tịch UBND tỉnh họp về chống hạn.",
    ],
)
def test_an_article_without_a_header_date_takes_its_opening_date(opening: str, directory: AgencyDirectory) -> None:
    text = f"Họp bàn chống hạn\n\n{opening}\n\nGiao Sở Công Thương bảo đảm điện cho các trạm bơm.\n"
    assert parse(text, directory).date.value == "2024-05-14"


@pytest.mark.parametrize(
    ("sentence", "name"),
    [
        (
            "Ngân hàng Nông nghiệp và Phát triển nông thôn chi nhánh Lạng Sơn giãn nợ cho hộ nuôi cá lồng.",
            "Ngân hàng Nông nghiệp và Phát triển nông thôn chi nhánh Lạng Sơn",
        ),
        ("Ngân hàng Nông nghiệp và PTNT tỉnh cho vay ưu đãi.", "Ngân hàng Nông nghiệp và PTNT tỉnh"),
        ("Ngân hàng Nhà nước chi nhánh tỉnh giám sát tín dụng.", "Ngân hàng Nhà nước chi nhánh tỉnh"),
    ],
)
def test_a_bank_named_after_a_directory_body_is_the_bank_with_its_branch(
    sentence: str, name: str, directory: AgencyDirectory
) -> None:
    (d,) = parse(_body(sentence), directory).directives
    assert [(r.surface, r.code) for r in d.assignments] == [(name, None)]


@pytest.mark.parametrize(
    "sentence",
    [
        "Kết luận buổi làm việc, Chủ tịch UBND tỉnh đề nghị Sở Công Thương phối hợp với Sở Tài chính rà soát giá điện.",
        "Tại buổi làm việc, Phó Chủ tịch UBND tỉnh yêu cầu Sở Công Thương phối hợp với Sở Tài chính rà soát giá điện.",
    ],
)
def test_a_body_asked_to_cooperate_is_still_assigned(sentence: str, directory: AgencyDirectory) -> None:
    text = f"Họp bàn giá điện\n\nChiều 14/5/2024, lãnh đạo tỉnh làm việc với ngành điện.\n\n{sentence}\n"
    assert [roles(d) for d in parse(text, directory).directives] == [{"SO_CT": "support", "SO_TC": "lead"}]


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("Sở Tài chính (Phòng Quản lý giá) chủ trì kiểm tra giá sữa.", {"SO_TC": "lead"}),
        (
            "Sở Y tế (Chi cục An toàn vệ sinh thực phẩm) phối hợp với Sở Công Thương kiểm tra bếp ăn.",
            {"Sở Y tế": "support", "SO_CT": "lead"},
        ),
        ("Sở Công Thương (Chi cục Quản lý thị trường) kiểm tra hàng giả.", {"SO_CT": "lead"}),
    ],
)
def test_a_bracketed_unit_after_a_body_is_not_a_doer(
    sentence: str, expected: dict[str, str], directory: AgencyDirectory
) -> None:
    (d,) = parse(_body(sentence), directory).directives
    assert roles(d) == expected


@pytest.mark.parametrize(
    ("sentence", "names"),
    [
        (
            "Ban Quản lý Khu kinh tế Vân Phong và các khu công nghiệp tỉnh cấp phép xây dựng.",
            ["Ban Quản lý Khu kinh tế Vân Phong và các khu công nghiệp tỉnh"],
        ),
        (
            "Đảng ủy Khối các cơ quan và doanh nghiệp tỉnh kiện toàn chi bộ.",
            ["Đảng ủy Khối các cơ quan và doanh nghiệp tỉnh"],
        ),
        (
            "Trung tâm Xúc tiến đầu tư thuộc Sở Kế hoạch và Đầu tư tổ chức hội nghị.",
            ["Trung tâm Xúc tiến đầu tư thuộc Sở Kế hoạch và Đầu tư"],
        ),
        (
            "Ban Quản lý Khu du lịch Tam Cốc và các đơn vị liên quan dọn rác.",
            ["Ban Quản lý Khu du lịch Tam Cốc", "các đơn vị liên quan"],
        ),
        ("Sở Y tế và các bệnh viện tuyến huyện tổ chức khám sàng lọc.", ["Sở Y tế"]),
    ],
)
def test_a_name_runs_on_over_its_own_zones_bloc_and_parent_only(
    sentence: str, names: list[str], directory: AgencyDirectory
) -> None:
    (d,) = parse(_body(sentence), directory).directives
    assert [r.surface for r in d.assignments] == names


@pytest.mark.parametrize(
    "closing",
    [
        "UBND tỉnh yêu cầu Giám đốc các sở: Công Thương, Tài chính triển khai thực hiện./.",
        "Chủ tịch UBND tỉnh đề nghị các cơ quan liên quan nghiêm túc thực hiện./.",
    ],
)
def test_a_closing_request_with_its_issuer_is_never_a_directive(closing: str, directory: AgencyDirectory) -> None:
    draft = parse(PREFACE + "1. Sở Công Thương rà soát quy hoạch chợ.\n\n" + closing + "\n", directory)
    assert [roles(d) for d in draft.directives] == [{"SO_CT": "lead"}]


@pytest.mark.parametrize(
    "attendance",
    ["Cùng dự có lãnh đạo các sở, ngành và các huyện.", "Tham dự cuộc họp có lãnh đạo Sở Tài chính, Sở Công Thương."],
)
def test_who_attended_a_meeting_is_never_assigned(attendance: str, directory: AgencyDirectory) -> None:
    text = (
        f"Họp bàn giá điện\n\nChiều 14/5/2024, Phó Chủ tịch UBND tỉnh họp về giá điện. {attendance}\n\n"
        "Kết luận cuộc họp, Phó Chủ tịch UBND tỉnh giao Sở Công Thương kiểm tra giá điện.\n"
    )
    assert [roles(d) for d in parse(text, directory).directives] == [{"SO_CT": "lead"}]


@pytest.mark.parametrize(
    ("sentence", "lead"),
    [
        ("Ban Quản lý rừng phòng hộ Núi Cốc tuần tra chống cháy rừng.", "Ban Quản lý rừng phòng hộ Núi Cốc"),
        ("Ban Quản lý chợ Đồng Xuân thu phí đúng quy định.", "Ban Quản lý chợ Đồng Xuân"),
        ("Trung tâm y tế huyện lấy mẫu xét nghiệm.", "Trung tâm y tế huyện"),
    ],
)
def test_a_board_or_centre_named_in_lowercase_runs_to_its_place_or_level(
    sentence: str, lead: str, directory: AgencyDirectory
) -> None:
    (d,) = parse(_body(sentence), directory).directives
    assert [r.surface for r in d.assignments if str(r.role) == "lead"] == [lead]


@pytest.mark.parametrize(
    ("sentence", "lead"),
    [
        ("Đảng đoàn Hội đồng nhân dân tỉnh lãnh đạo giám sát chi ngân sách.", "Đảng đoàn Hội đồng nhân dân tỉnh"),
        ("Ban cán sự đảng Tòa án nhân dân tỉnh chỉ đạo xét xử nghiêm.", "Ban cán sự đảng Tòa án nhân dân tỉnh"),
    ],
)
def test_a_sub_body_prefix_before_an_unknown_name_is_part_of_it(
    sentence: str, lead: str, directory: AgencyDirectory
) -> None:
    (d,) = parse(_body(sentence), directory).directives
    assert [r.surface for r in d.assignments if str(r.role) == "lead"] == [lead]


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        (
            "Giám đốc Sở Tài chính, Chủ tịch UBND huyện Lục Nam bố trí kinh phí.",
            {"SO_TC": "lead", "UBND_LUCNAM": "lead"},
        ),
        (
            "Thủ trưởng các sở, ngành, Chủ tịch UBND các huyện, thành phố rà soát thủ tục.",
            {"CAC_SO_NGANH": "lead", "UBND_HUYEN_TP": "lead"},
        ),
    ],
)
def test_heads_listed_with_their_titles_are_all_subjects(
    sentence: str, expected: dict[str, str], directory: AgencyDirectory
) -> None:
    (d,) = parse(_body(sentence), directory).directives
    assert {(r.code or r.surface): str(r.role) for r in d.assignments} == expected
