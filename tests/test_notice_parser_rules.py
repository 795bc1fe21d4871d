"""The parser's general rules for the documents offices really receive (issue 16), several variants per pattern.

Each test names the rule (a function of domain/notice_parser/) and feeds it texts written for the test: letters,
ý kiến chỉ đạo, meeting summaries, other provinces' names. None is a sentence of the field corpus.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import typer
import yaml
from typer.testing import CliRunner

from cli.parse import register
from config.agencies import AgencyDirectory, load_agencies
from config.settings import PACKAGED_CONFIG_DIR
from domain.notice_parser import (
    NoticeDraftText,
    NoticeParseError,
    ParsedDirective,
    parse_notice_text,
    render_draft_yaml,
)
from domain.notice_parser.genre import Genre

LETTER_HEAD = (
    "ỦY BAN NHÂN DÂN                      CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\n"
    "TỈNH BẮC GIANG                           Độc lập - Tự do - Hạnh phúc\n\n"
    "Số: 4021/UBND-KTN                     Bắc Giang, ngày 10 tháng 6 năm 2024\n"
    "V/v xử lý kiến nghị về cấp nước sinh hoạt\n\n"
)


@pytest.fixture(scope="module")
def directory() -> AgencyDirectory:
    """The packaged Bắc Giang agency directory."""
    return load_agencies(PACKAGED_CONFIG_DIR)


def parse(text: str, directory: AgencyDirectory, **kwargs: object) -> NoticeDraftText:
    """Parse a test text."""
    return parse_notice_text(text, directory, source_name="t.txt", **kwargs)  # type: ignore[arg-type]  # test kwargs


def roles(d: ParsedDirective) -> dict[str, str]:
    """A directive's assignees as {code or surface: role}."""
    return {(r.code if r.known and r.code and not r.is_group else r.surface): str(r.role) for r in d.assignments}


# --- 1. Genres: letters, ý kiến chỉ đạo, meeting summaries are drafted; the genre is a warning ----------------


@pytest.mark.parametrize(
    ("body", "genre"),
    [
        (
            LETTER_HEAD + "Kính gửi:\n- Sở Tài chính;\n- Sở Công Thương.\n\n"
            "Xét đề nghị của UBND huyện Lục Nam, UBND tỉnh có ý kiến như sau:\n\n"
            "Giao Sở Công Thương chủ trì kiểm tra hệ thống cấp nước, báo cáo UBND tỉnh trước ngày 30/6/2024.\n",
            Genre.OFFICIAL_LETTER,
        ),
        (
            "Ý KIẾN CHỈ ĐẠO CỦA CHỦ TỊCH UBND TỈNH\n(về cấp nước mùa khô)\n\nĐồng chí Chủ tịch UBND tỉnh chỉ đạo:\n\n"
            "- Sở Công Thương kiểm tra hệ thống cấp nước trong tháng 6/2024.\n",
            Genre.DIRECTION,
        ),
        (
            "Bắc Giang: họp bàn cấp nước mùa khô\n\nChiều 05/6/2024, Phó Chủ tịch UBND tỉnh chủ trì cuộc họp về cấp "
            "nước. Kết luận cuộc họp, Phó Chủ tịch UBND tỉnh giao Sở Công Thương kiểm tra hệ thống cấp nước.\n",
            Genre.MEETING_SUMMARY,
        ),
        (
            "Xuất bản thông tin\nSau khi xem xét kiến nghị của cử tri, UBND tỉnh có ý kiến như sau:\n\n"
            "Sở Công Thương kiểm tra hệ thống cấp nước, trả lời cử tri trước ngày 20/6/2024.\n",
            Genre.DIRECTION,
        ),
    ],
)
def test_genre_of_a_text_without_a_notice_title_is_a_warning_not_a_refusal(
    body: str, genre: Genre, directory: AgencyDirectory
) -> None:
    draft = parse(body, directory)
    assert draft.genre == genre
    assert any("không có tiêu đề «THÔNG BÁO»/«KẾT LUẬN»" in w for w in draft.warnings)
    assert any(roles(d).get("SO_CT") == "lead" for d in draft.directives)


def test_a_text_with_no_assignment_clause_is_still_refused(directory: AgencyDirectory) -> None:
    for text in (
        "Hội chợ nông sản\n\nHội chợ diễn ra trong ba ngày với nhiều gian hàng.\n",
        LETTER_HEAD + "Kính gửi: Sở Tài chính.\n\nUBND tỉnh nhận được văn bản của Sở Tài chính về kinh phí.\n",
    ):
        with pytest.raises(NoticeParseError, match="không tìm thấy mục công việc nào"):
            parse(text, directory)


def test_addressees_of_a_letter_are_not_assignees(directory: AgencyDirectory) -> None:
    for addressees in (
        "Kính gửi:\n- Sở Tài chính;\n- Sở Công Thương.\n\n",
        "Kính gửi: Sở Tài chính; Sở Công Thương.\n\n",
    ):
        draft = parse(
            LETTER_HEAD + addressees + "UBND tỉnh có ý kiến như sau:\n\nSở Công Thương kiểm tra hệ thống cấp nước.\n",
            directory,
        )
        assert [roles(d) for d in draft.directives] == [{"SO_CT": "lead"}]
        assert draft.title.value is not None and "cấp nước sinh hoạt" in draft.title.value
        assert draft.number.value == "4021/UBND-KTN" and draft.date.value == "2024-06-10"


# --- 6. Title block: portal furniture is not the title; a deadline date is never the issue date ----------------


@pytest.mark.parametrize("cue", ["trước ngày", "hạn", "chậm nhất", "hoàn thành trước"])
def test_a_date_after_a_deadline_word_is_never_the_issue_date(cue: str, directory: AgencyDirectory) -> None:
    text = (
        f"THÔNG BÁO\nKết luận về các công trình cấp nước phải xong {cue} ngày 30 tháng 6 năm 2024\n\n"
        "1. Giao Sở Công Thương kiểm tra hệ thống cấp nước.\n"
    )
    draft = parse(text, directory)
    assert draft.date.value != "2024-06-30"


def test_portal_boilerplate_is_not_the_title(directory: AgencyDirectory) -> None:
    for furniture in ("Xuất bản thông tin", "Trang chủ > Tin tức > Chỉ đạo điều hành", "Chia sẻ"):
        draft = parse(
            f"{furniture}\nBắc Giang: kiểm tra cấp nước mùa khô\n\nNgày 05/6/2024, UBND tỉnh giao Sở Công Thương "
            "kiểm tra hệ thống cấp nước.\n",
            directory,
        )
        assert draft.title.value is not None and "cấp nước mùa khô" in draft.title.value
        assert furniture.split()[0] not in draft.title.value


def test_the_source_line_of_a_portal_article_gives_number_and_date(directory: AgencyDirectory) -> None:
    for source in ("(Theo Công văn số 1187/UBND-KT, ngày 05/3/2024)", "Nguồn: Công văn số 1187/UBND-KT ngày 05/3/2024"):
        draft = parse(
            "Xuất bản thông tin\n\nUBND tỉnh có ý kiến như sau:\n\nSở Công Thương kiểm tra cấp nước trong 10 ngày "
            f"làm việc.\n\n{source}\n",
            directory,
        )
        assert draft.date.value == "2024-03-05"
        assert draft.number.value == "1187/UBND-KT"


# --- 7. The issue date and issuer given by the caller when the text has none ------------------------------------


def test_a_given_date_and_issuer_fill_what_the_text_does_not_say(directory: AgencyDirectory) -> None:
    text = "Đồng chí Chủ tịch chỉ đạo:\n\n- Sở Công Thương kiểm tra hệ thống cấp nước trong 05 ngày làm việc.\n"
    draft = parse(text, directory, issued_on=date(2024, 7, 8), issuer="UBND_TINH")
    assert draft.date.value == "2024-07-08" and draft.issuer.value == "UBND_TINH"
    assert draft.date.note is not None and "--date" in draft.date.note
    stated = parse(
        LETTER_HEAD + "UBND tỉnh có ý kiến như sau:\n\nSở Công Thương kiểm tra.\n", directory, issued_on="2020-01-01"
    )
    assert stated.date.value == "2024-06-10"  # what the text says wins
    with pytest.raises(NoticeParseError, match="KHONG_CO"):
        parse(text, directory, issuer="KHONG_CO")


# --- 2. Names: unknown names end at a role word or separator, never in a verb; lists split; abbreviations --------


def _body(sentence: str) -> str:
    """A minimal conclusion notice whose only item is sentence."""
    return "THÔNG BÁO\nKết luận về cấp nước\n\n1. " + sentence + "\n"


@pytest.mark.parametrize(
    ("sentence", "lead"),
    [
        ("Cục Quản lý thị trường tỉnh chủ trì kiểm tra giá vật tư.", "Cục Quản lý thị trường tỉnh"),
        ("Ban Quản lý Khu kinh tế tỉnh thực hiện rà soát quỹ đất.", "Ban Quản lý Khu kinh tế tỉnh"),
        ("Báo Hà Tĩnh tăng thời lượng tuyên truyền.", "Báo Hà Tĩnh"),
        ("Trung tâm Phát triển quỹ đất tỉnh hoàn thành đo đạc.", "Trung tâm Phát triển quỹ đất tỉnh"),
        ("Ngân hàng Chính sách xã hội chi nhánh tỉnh ưu tiên cho vay.", "Ngân hàng Chính sách xã hội chi nhánh tỉnh"),
        ("Sở Giao thông vận tải tăng cường kiểm tra tải trọng xe.", "Sở Giao thông vận tải"),
        ("UBND thành phố Hạ Long khẩn trương nạo vét cống.", "UBND thành phố Hạ Long"),
        ("Kho bạc Nhà nước tỉnh kiểm soát chi chặt chẽ.", "Kho bạc Nhà nước tỉnh"),
    ],
)
def test_unknown_names_end_at_a_role_word_or_verb(sentence: str, lead: str, directory: AgencyDirectory) -> None:
    (d,) = parse(_body(sentence), directory).directives
    assert [r.surface for r in d.assignments if str(r.role) == "lead"] == [lead]


@pytest.mark.parametrize(
    ("sentence", "names"),
    [
        (
            "UBND huyện Nghi Lộc, UBND huyện Diễn Châu công khai phương án.",
            ["UBND huyện Nghi Lộc", "UBND huyện Diễn Châu"],
        ),
        ("Công an tỉnh, Viện Kiểm sát nhân dân tỉnh xử lý vụ việc.", ["Công an tỉnh", "Viện Kiểm sát nhân dân tỉnh"]),
        ("UBND huyện Na Hang, Lâm Bình hoàn thiện hạ tầng.", ["UBND huyện Na Hang", "UBND huyện Lâm Bình"]),
        (
            "UBND huyện Mèo Vạc, Đồng Văn và Yên Minh rà soát hộ nghèo.",
            ["UBND huyện Mèo Vạc", "UBND huyện Đồng Văn", "UBND huyện Yên Minh"],
        ),
        (
            "Sở Du lịch, Sở Văn hóa, Thể thao và Du lịch xây dựng sản phẩm.",
            ["Sở Du lịch", "Sở Văn hóa, Thể thao và Du lịch"],
        ),
    ],
)
def test_a_list_of_names_splits_into_bodies(sentence: str, names: list[str], directory: AgencyDirectory) -> None:
    (d,) = parse(_body(sentence), directory).directives
    assert [r.surface for r in d.assignments] == names
    assert all(str(r.role) == "lead" for r in d.assignments)


def test_a_sibling_place_is_not_a_persons_title(directory: AgencyDirectory) -> None:
    (d,) = parse(_body("UBND huyện Nga Sơn, Giám đốc Sở Y tế kiểm tra dịch bệnh."), directory).directives
    assert "UBND huyện Giám" not in [r.surface for r in d.assignments]


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("Sở Nông nghiệp và PTNT", "SO_NNPTNT"),
        ("Sở NN và PTNT", "SO_NNPTNT"),
        ("Sở Khoa học và Công nghệ", "SO_KHCN"),
        ("Sở KH và CN", "SO_KHCN"),
        ("Uỷ ban nhân dân tỉnh", "UBND_TINH"),
        ("Ủy ban MTTQ tỉnh", "MTTQ_TINH"),
    ],
)
def test_abbreviations_are_normalised_both_ways_before_lookup(
    written: str, code: str, directory: AgencyDirectory
) -> None:
    (d,) = parse(_body(f"Giao {written} chủ trì kiểm tra giống cây trồng."), directory).directives
    assert [(r.code, str(r.role)) for r in d.assignments] == [(code, "lead")]


def test_suggestions_only_when_distinguishing_words_overlap(directory: AgencyDirectory) -> None:
    (d,) = parse(_body("Giao Sở Kế hoạch và Đầu tư chủ trì thẩm định dự án."), directory).directives
    (ref,) = d.assignments
    assert not ref.known and not any("KH&CN" in s or "Khoa học" in s for s in ref.suggestions)
    (d,) = parse(_body("Giao Sở Nông nghiệp tỉnh chủ trì kiểm tra giống."), directory).directives
    assert any("SO_NNPTNT" in s for s in d.assignments[0].suggestions)


# --- 3. Collective assignees are flagged generic assignments; discarded mentions are commented ------------------


@pytest.mark.parametrize(
    ("sentence", "phrase", "role"),
    [
        (
            "Sở Công Thương chủ trì, phối hợp với các đơn vị có liên quan tổ chức hội chợ.",
            "các đơn vị có liên quan",
            "support",
        ),
        ("Các ngành, địa phương liên quan bảo đảm giao thông thông suốt.", "Các ngành, địa phương liên quan", "lead"),
        ("Giao các Ban QLDA chuyên ngành tỉnh rà soát từng gói thầu.", "các Ban QLDA chuyên ngành tỉnh", "lead"),
        ("UBND các huyện ven biển lập danh sách tàu cá.", "UBND các huyện ven biển", "lead"),
        ("Đảng ủy các xã, thị trấn thăm hỏi gia đình chính sách.", "Đảng ủy các xã, thị trấn", "lead"),
        ("UBND các huyện, thị xã, thành phố báo cáo kết quả.", "UBND các huyện, thị xã, thành phố", "lead"),
    ],
)
def test_collective_assignees_become_flagged_generic_assignments(
    sentence: str, phrase: str, role: str, directory: AgencyDirectory
) -> None:
    draft = parse(_body(sentence), directory)
    (d,) = draft.directives
    (ref,) = [r for r in d.assignments if r.generic]
    assert (ref.surface, str(ref.role)) == (phrase, role)
    yaml_text = render_draft_yaml(draft)
    assert f"KIỂM TRA: «{phrase}» là cụm từ chung" in yaml_text


def test_a_directory_group_stays_a_group(directory: AgencyDirectory) -> None:
    (d,) = parse(_body("UBND các huyện, thành phố rà soát hộ nghèo."), directory).directives
    assert [(r.code, r.generic) for r in d.assignments] == [("UBND_HUYEN_TP", False)]


def test_subordinates_directed_by_a_body_are_not_assignees(directory: AgencyDirectory) -> None:
    for sentence in (
        "UBND huyện Tân Yên chỉ đạo các cơ quan chuyên môn bố trí kinh phí.",
        "UBND huyện Lục Nam chỉ đạo các đơn vị trực thuộc rà soát hồ sơ.",
    ):
        (d,) = parse(_body(sentence), directory).directives
        assert [r.surface for r in d.assignments if r.generic] == []
        assert any(r.generic for r in d.mentions)


def test_every_discarded_mention_is_a_comment_with_its_reason(directory: AgencyDirectory) -> None:
    draft = parse(
        _body("Sở Công Thương thực hiện theo hướng dẫn của Sở Tài chính, báo cáo UBND tỉnh trong tháng 6/2024."),
        directory,
    )
    yaml_text = render_draft_yaml(draft)
    assert "«Sở Tài chính»" in yaml_text and "không được giao việc: được nhắc đến" in yaml_text
    assert "«UBND tỉnh»" in yaml_text and "chỉ nhận báo cáo/tham mưu" in yaml_text


# --- 7. `dondoc parse --date --issuer --directory` -------------------------------------------------------------

runner = CliRunner()
MESSAGE = "Đồng chí Chủ tịch chỉ đạo:\n\n- Sở Y tế phun hóa chất diệt muỗi trong 05 ngày làm việc.\n"
OTHER_PROVINCE = """province: Gia Lai
agencies:
- {code: UBND_GL, name: Ủy ban nhân dân tỉnh Gia Lai, short_name: UBND tỉnh, kind: government, aliases: [UBND tỉnh]}
- {code: SO_YT, name: Sở Y tế tỉnh Gia Lai, short_name: Sở Y tế, kind: department, aliases: [Sở Y tế]}
"""


def _app() -> typer.Typer:
    """A Typer app with just the parse command."""
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """Test root."""

    register(app)
    return app


def test_cli_date_issuer_and_directory_fill_what_the_text_lacks(tmp_path: Path) -> None:
    notice = tmp_path / "tin-nhan.txt"
    notice.write_text(MESSAGE, encoding="utf-8")
    other = tmp_path / "gia-lai.yaml"
    other.write_text(OTHER_PROVINCE, encoding="utf-8")
    args = ["parse", str(notice), "--date", "08/07/2024", "--issuer", "UBND tỉnh", "--directory", str(other)]
    result = runner.invoke(_app(), args)
    assert result.exit_code == 0, result.stderr
    draft = yaml.safe_load(result.stdout)
    assert draft["notice"]["date"] == date(2024, 7, 8) and draft["notice"]["issuer"] == "UBND_GL"
    (directive,) = draft["directives"]
    assert directive["assignments"] == [{"agency": "SO_YT", "role": "lead"}]
    assert "15/07/2024" in result.stdout  # the relative deadline resolved from the given date


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--date", "2024-07-08", "DD/MM/YYYY"),
        ("--date", "31/02/2024", "DD/MM/YYYY"),
        ("--issuer", "Bộ Quốc phòng", "không có cơ quan «Bộ Quốc phòng»"),
        ("--directory", "khong-co.yaml", "không tìm thấy tệp"),
    ],
)
def test_cli_bad_options_are_refused_in_vietnamese(tmp_path: Path, option: str, value: str, message: str) -> None:
    notice = tmp_path / "tin-nhan.txt"
    notice.write_text(MESSAGE, encoding="utf-8")
    result = runner.invoke(_app(), ["parse", str(notice), option, value])
    assert result.exit_code != 0 and "Lỗi:" in result.stderr and message in result.stderr
    assert result.stdout == ""


# --- 4. Issuer and narrative subjects; 5. segmentation and closing formulas ------------------------------------

PREFACE = "THÔNG BÁO\nKết luận về cấp nước\n\nUBND tỉnh kết luận như sau:\n\n"


@pytest.mark.parametrize("adverb", ["cũng", "còn", "đồng thời"])
def test_the_issuer_that_requests_is_not_an_assignee_whatever_the_adverb(
    adverb: str, directory: AgencyDirectory
) -> None:
    draft = parse(PREFACE + f"UBND tỉnh {adverb} đề nghị Sở Công Thương hỗ trợ doanh nghiệp vay vốn.\n", directory)
    assert [roles(d) for d in draft.directives] == [{"SO_CT": "lead"}]


@pytest.mark.parametrize(
    "verb", ["nhận được văn bản của Sở Tài chính", "cho biết đã hoàn thành", "đã tổ chức hội nghị"]
)
def test_a_narrative_subject_is_not_a_lead(verb: str, directory: AgencyDirectory) -> None:
    draft = parse(PREFACE + f"Sở Công Thương {verb}. Giao Sở Tài chính bố trí kinh phí.\n", directory)
    assert all("SO_CT" not in roles(d) for d in draft.directives)


@pytest.mark.parametrize("separator", ["; ", ". "])
def test_a_new_subject_starts_a_new_directive_in_unnumbered_text(separator: str, directory: AgencyDirectory) -> None:
    text = (
        PREFACE
        + f"Sở Công Thương kiểm soát giá cả hàng hóa{separator}Sở Tài chính bố trí kinh phí{separator}"
        + "UBND huyện Lục Nam chỉnh trang đô thị, hoàn thành trước ngày 30/4/2024.\n"
    )
    draft = parse(text, directory)
    assert [roles(d) for d in draft.directives] == [{"SO_CT": "lead"}, {"SO_TC": "lead"}, {"UBND_LUCNAM": "lead"}]
    assert [d.deadline.rule is not None for d in draft.directives] == [False, False, True]


def test_a_supporting_subject_does_not_start_a_directive(directory: AgencyDirectory) -> None:
    draft = parse(PREFACE + "Sở Công Thương kiểm soát giá cả; Sở Tài chính phối hợp thực hiện.\n", directory)
    assert [roles(d) for d in draft.directives] == [{"SO_CT": "lead", "SO_TC": "support"}]


@pytest.mark.parametrize(
    "requirement", ["Yêu cầu hoàn thành trước ngày 30/6/2024.", "Đề nghị báo cáo trước ngày 30/6/2024."]
)
def test_an_agency_less_requirement_joins_the_directive_before(requirement: str, directory: AgencyDirectory) -> None:
    draft = parse(PREFACE + f"Giao Sở Công Thương rà soát quy hoạch chợ. {requirement}\n", directory)
    (d,) = draft.directives
    assert roles(d) == {"SO_CT": "lead"} and d.deadline.rule == {
        "kind": "fixed_date",
        "date": "2024-06-30",
        "year_from_reference": False,
    }


@pytest.mark.parametrize(
    "closing",
    [
        "Yêu cầu các cơ quan, đơn vị nghiêm túc thực hiện./.",
        "Đề nghị các đơn vị triển khai thực hiện./.",
        "Giám đốc các sở, Chủ tịch UBND các huyện chịu trách nhiệm trước Chủ tịch UBND tỉnh nếu để xảy ra sai sót./.",
        "Văn phòng UBND tỉnh thông báo để các cơ quan, đơn vị biết, thực hiện./.",
    ],
)
def test_closing_formulas_are_never_directives(closing: str, directory: AgencyDirectory) -> None:
    draft = parse(PREFACE + "1. Sở Công Thương rà soát quy hoạch chợ.\n\n" + closing + "\n", directory)
    assert [roles(d) for d in draft.directives] == [{"SO_CT": "lead"}]


def test_the_issuer_as_a_plain_subject_is_flagged_for_review(directory: AgencyDirectory) -> None:
    for sentence in ("UBND tỉnh tổ chức kiểm tra chợ đầu mối.", "UBND tỉnh rà soát quy hoạch chợ."):
        draft = parse(LETTER_HEAD + "UBND tỉnh có ý kiến như sau:\n\n" + sentence + "\n", directory)
        (d,) = draft.directives
        (ref,) = d.assignments
        assert ref.code == "UBND_TINH" and ref.confidence < 0.75 and "cơ quan ban hành" in ref.reason


# --- 6. A numbered item that hands out one task per body becomes one directive per body (split_numbered_item) ---


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


# --- 7. Deadlines: a time of day, "đến ngày", "đến hết", a named day, meetings; weekly reports -----------------


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


# --- 8. Shared tails and listed places -----------------------------------------------------------------------


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


# --- 9. Issue dates of press summaries: the summarised document's date, else the article's opening date --------


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
