"""The genre of an assignment document: which kind of text offices receive, read from its title and opening.

Genres (issue 16): Thông báo kết luận, Kết luận, Công văn and letters conveying a leader's conclusions, ý kiến chỉ
đạo, and summaries of meetings (portal or press articles). The genre only shapes the reviewer's notes: any text
with an assignment clause is drafted, and only a text with none is refused (see draft.parse_notice_text).
"""

from __future__ import annotations

from enum import StrEnum

from domain.notice_parser.document import vi_pattern


class Genre(StrEnum):
    """The genres of assignment documents, with the corpus's names."""

    CONCLUSION_NOTICE = "thong-bao-ket-luan"
    CONCLUSION = "ket-luan"
    OFFICIAL_LETTER = "cong-van"
    DIRECTION = "y-kien-chi-dao"
    MEETING_SUMMARY = "tom-tat-cuoc-hop"

    @property
    def label_vi(self) -> str:
        """The genre's name in Vietnamese."""
        return _LABELS[self]


_LABELS = {
    Genre.CONCLUSION_NOTICE: "Thông báo kết luận",
    Genre.CONCLUSION: "Kết luận",
    Genre.OFFICIAL_LETTER: "Công văn truyền đạt ý kiến",
    Genre.DIRECTION: "ý kiến chỉ đạo",
    Genre.MEETING_SUMMARY: "tóm tắt cuộc họp",
}

_DIRECTION_TITLE = vi_pattern(r"^\W*ý\s+kiến\s+chỉ\s+đạo")
_CONCLUSION_TITLE = vi_pattern(r"^\W*kết\s+luận")
_MEETING = vi_pattern(
    r"cuộc\s+họp|họp\s+(?:bàn|giao\s+ban|sơ\s+kết|tổng\s+kết)|giao\s+ban|hội\s+ý|buổi\s+làm\s+việc|hội\s+nghị"
)
_CONVEYS = vi_pattern(
    r"có\s+ý\s+kiến(?:\s+chỉ\s+đạo)?(?:\s+như\s+sau)?\s*:|truyền\s+đạt\s+(?:ý\s+kiến|kết\s+luận)|ý\s+kiến\s+chỉ\s+đạo"
)


def genre_of(title_low: str, opening_low: str, *, letter: bool) -> Genre:
    """The genre from the title line (tone-normalised lowercase), the opening text, and whether it is a letter (V/v).

    A title that says THÔNG BÁO or KẾT LUẬN decides; a "V/v" subject line makes a letter; without either, an opening
    that reports a meeting makes a summary, and one that conveys a leader's opinion an ý kiến chỉ đạo.
    """
    if _DIRECTION_TITLE.match(title_low):
        return Genre.DIRECTION
    if _CONCLUSION_TITLE.match(title_low):
        return Genre.CONCLUSION
    if title_low:
        return Genre.CONCLUSION_NOTICE
    if letter:
        return Genre.OFFICIAL_LETTER
    if _MEETING.search(opening_low):
        return Genre.MEETING_SUMMARY
    if _CONVEYS.search(opening_low):
        return Genre.DIRECTION
    return Genre.OFFICIAL_LETTER


def genre_warning(genre: Genre) -> str | None:
    """The reviewer's note for a text that is not a conclusion notice (None when it is one)."""
    if genre in (Genre.CONCLUSION_NOTICE, Genre.CONCLUSION):
        return None
    return (
        f"văn bản không có tiêu đề «THÔNG BÁO»/«KẾT LUẬN»; đã đọc như {genre.label_vi} — kiểm tra lại số, ngày, "
        "cơ quan ban hành và từng mục giao việc"
    )
