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
