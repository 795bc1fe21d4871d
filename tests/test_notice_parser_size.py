"""The notice parser on long notices: list numbers of any length, and sizes the reader accepts (issue 16)."""

from __future__ import annotations

import pytest

from config.agencies import AgencyDirectory, load_agencies
from config.settings import PACKAGED_CONFIG_DIR
from domain.notice_parser import MentionRole, NoticeParseError, parse_notice_text
from domain.notice_parser.draft import MAX_NOTICE_CHARS

HEADER = (
    "TỈNH ỦY BẮC GIANG\nSố 999-TB/TU    Bắc Giang, ngày 10 tháng 10 năm 2023\n\n"
    "THÔNG BÁO\nKẾT LUẬN CỦA THƯỜNG TRỰC TỈNH ỦY\nvề một việc\n\n"
)


@pytest.fixture(scope="module")
def directory() -> AgencyDirectory:
    """The packaged Bắc Giang agency directory."""
    return load_agencies(PACKAGED_CONFIG_DIR)


def test_a_150_item_numbered_list_gives_150_directives(directory: AgencyDirectory) -> None:
    items = "".join(f"{n}. Giao Sở Tài chính chủ trì rà soát hồ sơ số {n}.\n" for n in range(1, 151))
    draft = parse_notice_text(HEADER + items, directory, source_name="dai.txt")
    assert [d.number for d in draft.directives] == [str(n) for n in range(1, 151)]
    item_120 = draft.directives[119]
    assert item_120.text == "Giao Sở Tài chính chủ trì rà soát hồ sơ số 120."
    assert [(r.code, r.role) for r in item_120.assignments] == [("SO_TC", MentionRole.LEAD)]


def test_multi_level_numbers_past_99_and_thousands_separators(directory: AgencyDirectory) -> None:
    body = (
        "2. Nhiệm vụ thời gian tới:\n"
        "2.99. Sở Công Thương chủ trì tổ chức hội chợ.\n"
        "2.100. Hội Nông dân tỉnh vận động hội viên tham gia.\n"
        "1.500 hộ dân tham gia chương trình trong năm.\n"
    )
    draft = parse_notice_text(HEADER + body, directory, source_name="t.txt")
    assert [d.number for d in draft.directives] == ["2.99", "2.100"]
    # "1.500 hộ dân" is a number with a thousands separator: it continues item 2.100, it is not item 1.500.
    assert draft.directives[1].text.endswith("1.500 hộ dân tham gia chương trình trong năm.")


def test_a_text_beyond_the_length_limit_is_refused_at_once(directory: AgencyDirectory) -> None:
    item = "1. Giao Sở Tài chính chủ trì rà soát hồ sơ.\n"
    text = HEADER + item * (MAX_NOTICE_CHARS // len(item) + 1)
    with pytest.raises(NoticeParseError, match=r"văn bản quá dài \([\d.]+ ký tự; tối đa 1\.000\.000\)") as info:
        parse_notice_text(text, directory, source_name="qua-dai.txt")
    assert "qua-dai.txt" in str(info.value)
