"""The national list of standard body types: the catalogue, its validation, and how the parser uses it."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.agencies import AgencyDirectory, load_agencies
from config.body_types import BODY_TYPES_FILE, load_body_types
from config.loader import ConfigError
from config.settings import PACKAGED_CONFIG_DIR
from domain.body_types import BodyLevel, BodyTypeCatalog
from domain.notice_parser import NoticeParseError, parse_notice_text, render_draft_yaml


@pytest.fixture(scope="module")
def catalog() -> BodyTypeCatalog:
    """The packaged catalogue."""
    return load_body_types(PACKAGED_CONFIG_DIR)


@pytest.fixture(scope="module")
def directory() -> AgencyDirectory:
    """The packaged Bắc Giang directory: every other province's body is outside it."""
    return load_agencies(PACKAGED_CONFIG_DIR)


@pytest.mark.parametrize(
    ("name", "label", "level"),
    [
        ("Sở Tài chính tỉnh Quảng Trị", "Sở", BodyLevel.province),
        ("Sở Nông nghiệp và Môi trường tỉnh Nghệ An", "Sở", BodyLevel.province),
        ("Sở Dân tộc và Tôn giáo", "Sở", BodyLevel.province),
        ("Ban Tổ chức Tỉnh ủy Lai Châu", "Cơ quan tham mưu của cấp ủy", BodyLevel.province),
        ("Ban Tuyên giáo và Dân vận Huyện ủy Yên Thế", "Cơ quan tham mưu của cấp ủy", BodyLevel.district),
        ("Ủy ban Kiểm tra Thị ủy", "Cơ quan tham mưu của cấp ủy", BodyLevel.district),
        ("Ủy ban MTTQ Việt Nam tỉnh Đồng Tháp", "Mặt trận, đoàn thể", BodyLevel.province),
        ("Hội LHPN huyện Na Hang", "Mặt trận, đoàn thể", BodyLevel.district),
        ("Liên đoàn Lao động tỉnh", "Mặt trận, đoàn thể", BodyLevel.province),
        ("Công an xã Tân Lập", "Lực lượng vũ trang", BodyLevel.commune),
        ("Bộ Chỉ huy Quân sự tỉnh Hòa Bình", "Lực lượng vũ trang", BodyLevel.province),
        ("UBND huyện Nghi Lộc", "Ủy ban nhân dân", BodyLevel.district),
        ("Ủy ban nhân dân thành phố Vinh", "Ủy ban nhân dân", BodyLevel.province_or_district),
        ("Huyện ủy Lục Nam", "Cấp ủy", BodyLevel.district),
        ("Phòng Tài chính - Kế hoạch huyện", "Phòng chuyên môn", BodyLevel.district),
        ("Kho bạc Nhà nước khu vực XII", "Cơ quan Trung ương đóng trên địa bàn", BodyLevel.province),
        ("Đài Phát thanh - Truyền hình Nghệ An", "Đơn vị sự nghiệp, cơ quan báo chí", BodyLevel.province),
        ("Ngân hàng Nhà nước chi nhánh tỉnh Gia Lai", "Cơ quan Trung ương đóng trên địa bàn", BodyLevel.province),
        ("Phòng giao dịch NHCSXH huyện Mường Tè", "Ngân hàng, doanh nghiệp nhà nước", BodyLevel.district),
    ],
)
def test_standard_names_are_classified_with_their_level(
    catalog: BodyTypeCatalog, name: str, label: str, level: BodyLevel
) -> None:
    match = catalog.classify(name)
    assert match is not None and (match.type_label, match.level) == (label, level)


@pytest.mark.parametrize(
    ("name", "now"),
    [
        ("Sở Kế hoạch và Đầu tư tỉnh Quảng Nam", "nay là Sở Tài chính"),
        ("Sở KH&ĐT", "nay là Sở Tài chính"),
        ("Sở NN&PTNT tỉnh Bến Tre", "nay là Sở Nông nghiệp và Môi trường"),
        ("Sở Thông tin và Truyền thông", "nay là Sở Khoa học và Công nghệ"),
        ("Sở LĐ-TB&XH", "nay chuyển về Sở Nội vụ, Sở Y tế, Sở Giáo dục và Đào tạo"),
        ("Ban Dân vận Tỉnh ủy", "nay là Ban Tuyên giáo và Dân vận Tỉnh ủy"),
        ("Cục Quản lý thị trường tỉnh Quảng Nam", "nay là Chi cục Quản lý thị trường"),
    ],
)
def test_names_merged_in_2025_say_what_they_became(catalog: BodyTypeCatalog, name: str, now: str) -> None:
    match = catalog.classify(name)
    assert match is not None and match.describe().endswith(now)


@pytest.mark.parametrize("name", ["Ban Tổ chức Hội thi", "Công ty TNHH Minh Phát", "Sở", "các đơn vị liên quan"])
def test_other_names_have_no_standard_type(catalog: BodyTypeCatalog, name: str) -> None:
    assert catalog.classify(name) is None


def test_a_config_dir_without_its_own_list_uses_the_packaged_one(tmp_path: Path) -> None:
    assert load_body_types(tmp_path).classify("Sở Y tế") is not None


@pytest.mark.parametrize(
    ("yaml_text", "problem"),
    [
        ("types:\n- {code: so, label: Sở, level: province, bodies: [{name: Sở Y tế}, {name: SỞ Y TẾ}]}\n", "hai lần"),
        ("types:\n- {code: so, label: Sở, level: province, bodies: [{name: Sở A, now: [Sở B]}]}\n", "now"),
        ("types:\n- {code: so, label: Sở, level: tỉnh, bodies: [{name: Sở Y tế}]}\n", "level"),
    ],
)
def test_a_broken_list_is_refused_with_its_file(tmp_path: Path, yaml_text: str, problem: str) -> None:
    (tmp_path / BODY_TYPES_FILE).write_text(yaml_text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_body_types(tmp_path)
    assert BODY_TYPES_FILE in str(caught.value) and problem in str(caught.value)


def _parse(text: str, directory: AgencyDirectory, catalog: BodyTypeCatalog | None):  # type: ignore[no-untyped-def]
    """Parse a one-item notice."""
    body = f"THÔNG BÁO\nKết luận của Chủ tịch UBND tỉnh\n\n1. {text}\n"
    return parse_notice_text(body, directory, source_name="t.txt", issued_on="2024-05-02", body_types=catalog)


def _names(sentence: str, directory: AgencyDirectory, catalog: BodyTypeCatalog | None) -> list[str]:
    """The bodies assigned in a one-item notice (none when the parser finds no item)."""
    try:
        return [r.surface for d in _parse(sentence, directory, catalog).directives for r in d.assignments]
    except NoticeParseError:
        return []


@pytest.mark.parametrize(
    ("sentence", "surface", "body_type", "lost_without_list"),
    [
        # Names whose head the generic rules do not know, or cut short.
        (
            "Bảo hiểm xã hội tỉnh Quảng Nam chủ trì tuyên truyền chính sách.",
            "Bảo hiểm xã hội tỉnh Quảng Nam",
            "Cơ quan Trung ương",
            True,
        ),
        ("Giao Thuế tỉnh Quảng Nam chủ trì rà soát nguồn thu.", "Thuế tỉnh Quảng Nam", "Cơ quan Trung ương", True),
        (
            "Giao Tòa án nhân dân tỉnh Lai Châu chủ trì tổng kết.",
            "Tòa án nhân dân tỉnh Lai Châu",
            "Cơ quan Trung ương",
            True,
        ),
        # The parser's own rule for long project-board names finds this one too; the list still gives its type.
        (
            "Giao Ban Quản lý dự án đầu tư xây dựng các công trình giao thông tỉnh chủ trì thi công.",
            "Ban Quản lý dự án đầu tư xây dựng các công trình giao thông tỉnh",
            "Ban Quản lý thuộc UBND (cấp tỉnh)",
            False,
        ),
    ],
)
def test_an_unknown_body_of_another_province_is_kept_by_its_type(
    directory: AgencyDirectory,
    catalog: BodyTypeCatalog,
    sentence: str,
    surface: str,
    body_type: str,
    lost_without_list: bool,
) -> None:
    draft = _parse(sentence, directory, catalog)
    [ref] = [r for d in draft.directives for r in d.assignments]
    assert (ref.surface, ref.known, str(ref.role)) == (surface, False, "lead")
    assert ref.body_type is not None and ref.body_type.startswith(body_type)
    if lost_without_list:
        assert surface not in _names(sentence, directory, None)  # without the list the name is lost


def test_the_draft_comment_shows_the_type(directory: AgencyDirectory, catalog: BodyTypeCatalog) -> None:
    draft = _parse("Giao Sở Kế hoạch và Đầu tư tỉnh Nghệ An chủ trì rà soát các dự án.", directory, catalog)
    [ref] = draft.directives[0].assignments
    assert ref.body_type == "Sở (cấp tỉnh), nay là Sở Tài chính"
    text = " ".join(line.strip().lstrip("#").strip() for line in render_draft_yaml(draft).splitlines())
    assert "cơ quan ngoài danh mục, loại: Sở (cấp tỉnh), nay là Sở Tài chính" in text


def test_a_known_body_keeps_its_code_and_no_type(directory: AgencyDirectory, catalog: BodyTypeCatalog) -> None:
    draft = _parse("Giao Sở Tài chính chủ trì, phối hợp với Sở Y tế tỉnh Nghệ An rà soát.", directory, catalog)
    refs = {r.surface: r for r in draft.directives[0].assignments}
    assert refs["Sở Tài chính"].code == "SO_TC" and refs["Sở Tài chính"].body_type is None
    assert refs["Sở Y tế tỉnh Nghệ An"].body_type == "Sở (cấp tỉnh)"


@pytest.mark.parametrize(
    "sentence", ["UBND cấp xã quản lý chặt chẽ các cơ sở nhỏ lẻ.", "Hội Nông dân các cấp vận động hội viên."]
)
def test_a_bare_name_of_either_level_is_not_made_a_body(
    directory: AgencyDirectory, catalog: BodyTypeCatalog, sentence: str
) -> None:
    assert _names(sentence, directory, catalog) == _names(sentence, directory, None)


@pytest.mark.parametrize(
    ("unknown", "offered", "not_offered"),
    [
        ("Sở Kế hoạch và Đầu tư tỉnh Nghệ An", None, "SO_KHCN"),
        ("Sở Khoa học Công nghệ tỉnh Nghệ An", "SO_KHCN", None),
    ],
)
def test_suggestions_need_shared_distinguishing_words(
    directory: AgencyDirectory, catalog: BodyTypeCatalog, unknown: str, offered: str | None, not_offered: str | None
) -> None:
    draft = _parse(f"Giao {unknown} chủ trì rà soát.", directory, catalog)
    [ref] = draft.directives[0].assignments
    joined = " ".join(ref.suggestions)
    if offered:
        assert offered in joined
    if not_offered:
        assert not_offered not in joined


def test_dondoc_parse_passes_the_list(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from cli.main import app

    notice = tmp_path / "y-kien.txt"
    notice.write_text(
        "THÔNG BÁO\nKết luận của Chủ tịch UBND tỉnh\n\n1. Bảo hiểm xã hội tỉnh Quảng Nam chủ trì tuyên truyền.\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["parse", str(notice), "--date", "02/05/2024"])
    assert result.exit_code == 0, result.stderr
    text = " ".join(line.strip().lstrip("#").strip() for line in result.stdout.splitlines())
    assert "cơ quan ngoài danh mục, loại: Cơ quan Trung ương đóng trên địa bàn (cấp tỉnh)" in text
