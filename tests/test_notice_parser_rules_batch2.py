"""Parser rules written after the second blind batch (notices 62–81, issue 16), each on texts written for the test
in several variants; none is a sentence of the field corpus.
"""

from __future__ import annotations

import pytest

from config.agencies import AgencyDirectory, load_agencies
from config.body_types import load_body_types
from config.settings import PACKAGED_CONFIG_DIR
from domain.body_types import BodyTypeCatalog
from tests.test_notice_parser_rules import _body, parse, roles


@pytest.fixture(scope="module")
def directory() -> AgencyDirectory:
    """The packaged Bắc Giang agency directory."""
    return load_agencies(PACKAGED_CONFIG_DIR)


@pytest.fixture(scope="module")
def body_types() -> BodyTypeCatalog:
    """The national list of standard bodies, as `dondoc parse` passes it."""
    return load_body_types(PACKAGED_CONFIG_DIR)


# --- A. A standard name is a floor, not a ceiling (agencies.longer_reading) -----------------------------------


@pytest.mark.parametrize(
    ("sentence", "name"),
    [
        ("Ban Quản lý Khu kinh tế cửa khẩu Móng Cái rà soát quỹ đất.", "Ban Quản lý Khu kinh tế cửa khẩu Móng Cái"),
        (
            "Ban Quản lý dự án đầu tư xây dựng công trình dân dụng và công nghiệp tỉnh lập hồ sơ mời thầu.",
            "Ban Quản lý dự án đầu tư xây dựng công trình dân dụng và công nghiệp tỉnh",
        ),
        ("Chi cục Thuế khu vực Tam Điệp - Yên Mô đôn đốc thu nợ.", "Chi cục Thuế khu vực Tam Điệp - Yên Mô"),
        (
            "Giao Ngân hàng Chính sách xã hội chi nhánh tỉnh giải ngân vốn vay ưu đãi.",
            "Ngân hàng Chính sách xã hội chi nhánh tỉnh",
        ),
    ],
)
def test_a_standard_name_goes_on_to_its_place_or_level_word(
    sentence: str, name: str, directory: AgencyDirectory, body_types: BodyTypeCatalog
) -> None:
    (d,) = parse(_body(sentence), directory, body_types=body_types).directives
    assert roles(d) == {name: "lead"}


@pytest.mark.parametrize(
    ("sentence", "name"),
    [
        ("Sở Y tế căn cứ tình hình dịch bệnh chủ động bố trí thuốc.", "Sở Y tế"),
        ("Sở Giáo dục và Đào tạo căn cứ diễn biến thời tiết cho học sinh nghỉ.", "Sở Giáo dục và Đào tạo"),
        ("Sở Lao động - Thương binh và Xã hội dự báo nhu cầu lao động.", "Sở Lao động - Thương binh và Xã hội"),
    ],
)
def test_a_standard_name_does_not_run_into_its_predicate(
    sentence: str, name: str, directory: AgencyDirectory, body_types: BodyTypeCatalog
) -> None:
    (d,) = parse(_body(sentence), directory, body_types=body_types).directives
    assert roles(d) == {name: "lead"}


# --- B. A hyphen joins a compound field to a sub-body's name (agencies.hyphen_compound_end) ---------------------


@pytest.mark.parametrize(
    ("sentence", "name"),
    [
        ("Giao Phòng Tài chính - Kế hoạch huyện thẩm định dự toán.", "Phòng Tài chính - Kế hoạch huyện"),
        ("Phòng Văn hóa - Thông tin thị xã tuyên truyền lễ hội.", "Phòng Văn hóa - Thông tin thị xã"),
        ("Phòng Tài chính – Kế hoạch cân đối vốn cho xã.", "Phòng Tài chính – Kế hoạch"),
    ],
)
def test_a_hyphen_continues_a_sub_bodys_field(
    sentence: str, name: str, directory: AgencyDirectory, body_types: BodyTypeCatalog
) -> None:
    (d,) = parse(_body(sentence), directory, body_types=body_types).directives
    assert roles(d) == {name: "lead"}


def test_a_hyphen_before_another_bodys_head_still_separates_them(
    directory: AgencyDirectory, body_types: BodyTypeCatalog
) -> None:
    (d,) = parse(
        _body("Phòng Tài chính - Sở Tài chính thống nhất số liệu quyết toán."), directory, body_types=body_types
    ).directives
    assert "Phòng Tài chính - Sở Tài chính" not in roles(d)


# --- C. A provincial body's name before "các" and level words is its counterparts there (plural_counterpart) ---


@pytest.mark.parametrize(
    ("sentence", "phrase", "not_assigned"),
    [
        ("Ban Dân vận các huyện ủy, thị ủy tổng kết mô hình dân vận.", "Ban Dân vận các huyện ủy, thị ủy", "BDV_TU"),
        ("Ban Tuyên giáo các huyện ủy biên soạn tài liệu sinh hoạt chi bộ.", "Ban Tuyên giáo các huyện ủy", "BTG_TU"),
        ("Hội Nông dân các cấp vận động hội viên góp vốn.", "Hội Nông dân các cấp", "HND_TINH"),
    ],
)
def test_a_provincial_name_before_plural_levels_is_a_generic_assignee(
    sentence: str, phrase: str, not_assigned: str, directory: AgencyDirectory, body_types: BodyTypeCatalog
) -> None:
    (d,) = parse(_body(sentence), directory, body_types=body_types).directives
    (ref,) = d.assignments
    assert ref.surface == phrase and ref.code != not_assigned and str(ref.role) == "lead"


def test_a_body_named_with_its_own_level_stays_itself(directory: AgencyDirectory, body_types: BodyTypeCatalog) -> None:
    (d,) = parse(
        _body("Hội Nông dân tỉnh hướng dẫn các xã xây dựng mô hình."), directory, body_types=body_types
    ).directives
    assert roles(d) == {"HND_TINH": "lead"}


# --- D. A directed collective that names its bodies' type leads its own predicate (directed_named_collective) ---


@pytest.mark.parametrize(
    ("sentence", "director", "collective"),
    [
        ("UBND huyện Lục Nam chỉ đạo UBND các xã rà soát hộ nghèo.", "UBND huyện Lục Nam", "UBND các xã"),
        (
            "UBND huyện Yên Thế chỉ đạo Hội Nông dân các xã vận động nông dân dồn điền.",
            "UBND huyện Yên Thế",
            "Hội Nông dân các xã",
        ),
        (
            "Đảng đoàn Hội Cựu chiến binh tỉnh lãnh đạo Hội Nông dân các cấp vận động hội viên.",
            None,
            "Hội Nông dân các cấp",
        ),
    ],
)
def test_a_directed_named_collective_takes_the_role_of_its_predicate(
    sentence: str, director: str | None, collective: str, directory: AgencyDirectory, body_types: BodyTypeCatalog
) -> None:
    (d,) = parse(_body(sentence), directory, body_types=body_types).directives
    by_surface = {r.surface: str(r.role) for r in d.assignments}
    assert by_surface.get(collective) == "lead"
    if director is not None:
        assert by_surface.get(director) == "lead"


def test_unnamed_subordinates_under_direction_are_still_not_assignees(
    directory: AgencyDirectory, body_types: BodyTypeCatalog
) -> None:
    (d,) = parse(
        _body("UBND huyện Lục Nam chỉ đạo các cơ quan chuyên môn rà soát hộ nghèo."), directory, body_types=body_types
    ).directives
    assert [r.surface for r in d.assignments] == ["UBND huyện Lục Nam"]


# --- E. A verb that is the second syllable of a noun does not end a name (verb_syllable_inside_a_noun) --------


@pytest.mark.parametrize(
    ("sentence", "name"),
    [
        (
            "Công ty TNHH MTV Khai thác công trình thủy lợi Bắc Sông Chu vận hành hồ chứa.",
            "Công ty TNHH MTV Khai thác công trình thủy lợi Bắc Sông Chu",
        ),
        (
            "Ban Quản lý các chương trình mục tiêu quốc gia huyện rà soát nguồn vốn.",
            "Ban Quản lý các chương trình mục tiêu quốc gia huyện",
        ),
        (
            "Công ty Cổ phần Quản lý công trình đô thị Vinh thu gom rác thải.",
            "Công ty Cổ phần Quản lý công trình đô thị Vinh",
        ),
    ],
)
def test_a_noun_ending_in_a_verb_syllable_stays_in_the_name(
    sentence: str, name: str, directory: AgencyDirectory, body_types: BodyTypeCatalog
) -> None:
    (d,) = parse(_body(sentence), directory, body_types=body_types).directives
    assert roles(d) == {name: "lead"}


@pytest.mark.parametrize("verb", ["trình UBND tỉnh phương án giá", "lập quy trình vận hành"])
def test_the_verb_itself_still_ends_the_name(
    verb: str, directory: AgencyDirectory, body_types: BodyTypeCatalog
) -> None:
    (d,) = parse(_body(f"Công ty Cấp nước {verb}."), directory, body_types=body_types).directives
    assert roles(d) == {"Công ty Cấp nước": "lead"}
