"""Names of bodies outside the directory: where an unknown name ends, and lists that share one head.

The rules (issue 16 §4): an unknown name runs from an institutional head ("Sở", "Ban Quản lý", "Trung tâm") over
capitalised words, abbreviations, level words (tỉnh, huyện) and the lowercase nouns of a name ("vận tải", "quỹ
đất", "chi nhánh"), and ends at the next role word or separator ("chủ trì", "phối hợp", "thực hiện", "tăng
cường", ",", ";", "."), never running into a verb. A name that ends in a place ("UBND huyện Nghi Lộc") ends
there. "UBND huyện Na Hang, Lâm Bình" names two bodies that share the head "UBND huyện".
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, auto

# Level words that may sit inside a name; a capitalised word after one of them is a place name.
UNIT_WORDS = {"tỉnh", "huyện", "xã", "quận", "phường", "thị", "trấn", "thành", "phố", "nhân", "dân", "tp", "tx"}
# Two-word predicates and role words that end a name (the first word of a lowercase run after a name).
_STOP_PAIRS = {
    tuple(p.split())
    for p in (
        "chủ trì",
        "phối hợp",
        "thực hiện",
        "tăng cường",
        "tiếp tục",
        "khẩn trương",
        "hoàn thành",
        "hoàn thiện",
        "công khai",
        "cập nhật",
        "di dời",
        "hỗ trợ",
        "nghiên cứu",
        "xử lý",
        "tập trung",
        "lãnh đạo",
        "chỉ đạo",
        "kiểm tra",
        "rà soát",
        "triển khai",
        "hướng dẫn",
        "theo dõi",
        "đôn đốc",
        "báo cáo",
        "tham mưu",
        "đề xuất",
        "đề nghị",
        "xem xét",
        "thẩm định",
        "bố trí",
        "bảo đảm",
        "đảm bảo",
        "ưu tiên",
        "đẩy mạnh",
        "đẩy nhanh",
        "nâng cao",
        "quan tâm",
        "tuyên truyền",
        "tổng hợp",
        "cung ứng",
        "cung cấp",
        "điều chuyển",
        "giám sát",
        "giải quyết",
        "giải ngân",
        "chủ động",
        "khắc phục",
        "thống kê",
        "vận hành",
        "vận động",
        "sẵn sàng",
        "tuần tra",
        "thông tin",
        "thông báo",
        "tổ chức",
        "huy động",
        "chuẩn bị",
        "tích cực",
        "kịp thời",
        "thường xuyên",
        "nghiêm túc",
        "quyết liệt",
        "chịu trách",
        "có trách",
        "làm rõ",
        "sử dụng",
        "phân bổ",
        "tiếp nhận",
        "xây dựng",
        "kiểm soát",
        "số hóa",
        "lắp đặt",
        "kêu gọi",
        "thanh tra",
        "xác định",
        "thi công",
        "quản lý",
        "bàn giao",
        "đánh giá",
        "xác minh",
        "phát hiện",
        "cấp phép",
        "điều tra",
        "tạm ứng",
        "bổ sung",
        "đối thoại",
        "ban hành",
        "trả lời",
        "kiện toàn",
        "ra quân",
        "chỉnh trang",
        "thu hồi",
        "tham gia",
        "tiến hành",
        "đăng ký",
        "phổ biến",
        "kết nối",
        "vận chuyển",
        "ứng phó",
        "phòng chống",
        "phòng ngừa",
        "hướng tới",
        "duy trì",
        "cân đối",
        "bố trí",
        "lựa chọn",
        "tháo gỡ",
        "nắm bắt",
        "đôn đốc",
        "sắp xếp",
        "chấn chỉnh",
        "quán triệt",
        "tổng kết",
        "sơ kết",
        "rút kinh",
        "phát động",
        "hoàn chỉnh",
    )
}
# Single words that are never inside a name's lowercase run: function words and one-word verbs.
_STOP_WORDS = {
    "có",
    "được",
    "đã",
    "đang",
    "sẽ",
    "cần",
    "phải",
    "không",
    "là",
    "các",
    "của",
    "tại",
    "trong",
    "với",
    "để",
    "về",
    "cho",
    "từ",
    "đến",
    "trên",
    "khi",
    "nếu",
    "theo",
    "thuộc",
    "cùng",
    "hoặc",
    "làm",
    "lập",
    "ra",
    "tăng",
    "giảm",
    "khoanh",
    "phun",
    "đưa",
    "mở",
    "sớm",
    "vẫn",
    "cũng",
    "chưa",
    "gửi",
    "trình",
    "lấy",
    "thi",
    "cấp",
    "nhận",
    "chỉ",
    "và",
    "nhưng",
    "đồng",
    "thời",
    "giao",
    "yêu",
    "dùng",
    "vay",
    "ký",
    "nâng",
    "đề",
    "bàn",
    "xét",
    "góp",
    "nộp",
}
# Words that start a person's title, never a sibling place name ("UBND huyện Nga Sơn, Giám đốc Sở …").
_TITLE_PAIRS = {
    tuple(p.split())
    for p in ("giám đốc", "chủ tịch", "đồng chí", "bí thư", "chánh văn", "thủ trưởng", "trưởng ban", "trưởng phòng")
} | {("phó", "")}


def is_person_title(tokens: list[TailToken], j: int) -> bool:
    """True when the words at j start a person's title ("Giám đốc", "Chủ tịch", "Phó …"), not a place name."""
    key = tokens[j].key
    nxt = tokens[j + 1].key if j + 1 < len(tokens) else ""
    return (key, nxt) in _TITLE_PAIRS or (key, "") in _TITLE_PAIRS


class TailWord(Enum):
    """The kind of the last word read in the tail of an unknown agency-like name."""

    HEAD = auto()
    ABBREVIATION = auto()
    CAPITALISED = auto()
    UNIT = auto()
    AND = auto()
    LOWER = auto()


@dataclass(frozen=True)
class TailToken:
    """What the tail rules need of a word: its text, its key, and the gap before it."""

    raw: str
    key: str
    gap: str  # the text between the previous word and this one
    covered: bool  # already part of a directory name


def is_head_word(key: str, heads: set[str]) -> bool:
    """True when a word starts another body's name (Sở, UBND, Ban …): a comma before it ends the name."""
    return key in heads


def gap_ends_name(gap: str, prev: TailToken, nxt: TailToken, place: bool, heads: set[str]) -> bool:
    """Whether the separator between two words ends an unknown name.

    ";", "." (except after TP/TX), ":" and brackets end it. A comma ends it before a head word, a lowercase word,
    or after a place name ("UBND huyện Nghi Lộc, …"); "Sở Văn hóa, Thể thao và Du lịch" keeps its comma.
    A hyphen ("Văn hóa - Thể thao") or a space does not.
    """
    g = gap.strip()
    if not g or g in ("-", "–"):
        return False
    if g == "." and prev.key in ("tp", "tx"):
        return False
    if g == ",":
        return place or not nxt.raw[:1].isupper() or is_head_word(nxt.key, heads)
    return True


def lowercase_ends_name(tokens: list[TailToken], j: int, place: bool) -> bool:
    """Whether the lowercase word at j ends a name: after a place name, or when it starts a predicate."""
    key = tokens[j].key
    if key in UNIT_WORDS:
        return False
    if place or key in _STOP_WORDS:
        return True
    pair = (key, tokens[j + 1].key) if j + 1 < len(tokens) else (key, "")
    return pair in _STOP_PAIRS


# Level words that close a body's name: a lowercase word after them starts the predicate ("Công an tỉnh giữ …"),
# except the words of a party body written in lower case ("Ban Tuyên giáo tỉnh ủy", "tỉnh đoàn").
_CLOSING_LEVELS = {"tỉnh", "huyện", "quận"}
_AFTER_LEVEL = {"ủy", "uỷ", "đoàn"}


def level_word_ends_name(tokens: list[TailToken], j: int) -> bool:
    """True when the lowercase word at j follows a closing level word ("tỉnh", "huyện") and is no part of a name."""
    if j == 0 or tokens[j - 1].key not in _CLOSING_LEVELS or tokens[j].gap.strip():
        return False
    return tokens[j].key not in UNIT_WORDS and tokens[j].key not in _AFTER_LEVEL


# Capitalised nouns whose plural may follow inside the same name: "Khu kinh tế … và các khu công nghiệp".
_PLURAL_NOUNS = {"khu", "cụm"}
# Nouns of a party bloc: "Khối các cơ quan tỉnh" names one body.
_BLOC_WORDS = {"Khối"}


def plural_of_own_noun(tokens: list[TailToken], start: int, j: int) -> bool:
    """True at "và các khu …" when the name so far has "Khu": the name goes on over the zones it also covers."""
    if j + 2 >= len(tokens) or any(t.gap.strip() for t in tokens[j : j + 3]):
        return False
    noun = tokens[j + 2].key
    own = {t.key for t in tokens[start - 1 : j] if t.raw[:1].isupper()}
    return tokens[j + 1].key == "các" and noun in _PLURAL_NOUNS and noun in own and tokens[j + 2].raw.islower()


def tail_end(tokens: list[TailToken], start: int, heads: set[str]) -> tuple[int, bool]:
    """Index past the last word of a name whose tail starts at token start, and whether it ends in a place."""
    j = start
    prev = TailWord.HEAD
    place = False
    proper = False  # two capitalised words in a row ("… di sản văn hóa Hội An"): a proper name closes the name
    last_good = start
    while j < len(tokens) and not tokens[j].covered:
        tok = tokens[j]
        if j > start and gap_ends_name(tok.gap, tokens[j - 1], tok, place, heads):
            break
        if j == start and tok.gap.strip() not in ("", "-", "–"):
            break
        raw, key = tok.raw, tok.key
        if raw[:1].isupper():
            if prev is TailWord.UNIT:
                place = True
            elif prev is TailWord.CAPITALISED and tok.gap == " " and not raw.isupper():
                proper = True
            prev = TailWord.ABBREVIATION if len(raw) > 1 and raw.isupper() else TailWord.CAPITALISED
            last_good = j + 1
        elif key in UNIT_WORDS:
            prev = TailWord.UNIT
            last_good = j + 1
        elif key == "và" and plural_of_own_noun(tokens, start, j):
            j += 3  # "Ban Quản lý Khu kinh tế và các khu công nghiệp tỉnh": the name covers the zones too
            prev, place, proper, last_good = TailWord.LOWER, False, False, j
            continue
        elif key == "các" and tokens[j - 1].raw in _BLOC_WORDS and not tok.gap.strip():
            bloc = level_bounded_tail(tokens, j)  # "Đảng bộ Khối các cơ quan và doanh nghiệp tỉnh"
            if bloc is None:
                break
            last_good = j = bloc
            break
        elif key in ("và", "&") and j + 1 < len(tokens) and tokens[j + 1].raw[:1].isupper():
            if gap_ends_name(tokens[j + 1].gap, tok, tokens[j + 1], place, heads) or place:
                break
            prev = TailWord.AND
        elif (
            raw.islower()
            and prev is not TailWord.HEAD
            and not lowercase_ends_name(tokens, j, place or proper)
            and not level_word_ends_name(tokens, j)
        ):
            prev = TailWord.LOWER
            last_good = j + 1
        else:
            break
        j += 1
    return last_good, place


def shared_head_siblings(tokens: list[TailToken], end: int, heads: set[str]) -> list[tuple[int, int]]:
    """After a name that ends in a place, further places of the same head ("…huyện Na Hang, Lâm Bình và Mù Cang").

    Returns the (first, past-last) token range of each sibling place name.
    """
    out: list[tuple[int, int]] = []
    j = end
    while j < len(tokens):
        gap = tokens[j].gap.strip()
        if gap == "" and tokens[j].key == "và":
            j += 1
            if j >= len(tokens) or tokens[j].gap.strip():
                break
        elif gap != ",":
            break
        tok = tokens[j]
        if tok.covered or not tok.raw[:1].isupper() or is_head_word(tok.key, heads) or is_person_title(tokens, j):
            break
        k = j + 1
        while k < len(tokens) and tokens[k].raw[:1].isupper() and not tokens[k].covered and not tokens[k].gap.strip():
            k += 1
        out.append((j, k))
        j = k
    return out


# Level words that end a descriptive name ("Ban Quản lý dự án … tỉnh"), with the words that may follow the first.
_LEVEL_CLOSE = {"tỉnh": (), "huyện": (), "quận": (), "thành": ("phố",), "thị": ("xã",)}


def level_bounded_tail(tokens: list[TailToken], start: int, limit: int = 14) -> int | None:
    """End of a descriptive lowercase name that runs to its level word or a place, else None (within limit words).

    "Ban Quản lý dự án đầu tư xây dựng các công trình giao thông tỉnh": after a head that is itself a complete noun
    ("Ban Quản lý dự án"), the lowercase words name the board's field, verbs and "các" included, up to "tỉnh"
    (and a place after it). Any separator or capitalised word other than a place after the level ends the search.
    """
    for j in range(start, min(len(tokens), start + limit)):
        tok = tokens[j]
        if j > start and proper_name_end(tokens, j) > j + 1:
            return proper_name_end(tokens, j)  # "Ban Quản lý rừng phòng hộ Đa Nhim": a place ends it too
        if tok.covered or tok.gap.strip() or (j > start and not tok.raw.islower() and tok.key not in UNIT_WORDS):
            return None
        follow = _LEVEL_CLOSE.get(tok.key)
        if follow is None or (follow and (j + 1 >= len(tokens) or tokens[j + 1].key not in follow)):
            continue
        end = j + 1 + len(follow)
        while (
            end < len(tokens) and tokens[end].gap == " " and tokens[end].raw[:1].isupper() and not tokens[end].covered
        ):
            end += 1  # the place: "… huyện Phù Cát"
        return end
    return None


def proper_name_end(tokens: list[TailToken], j: int) -> int:
    """Index past a run of capitalised words starting at j and joined by spaces ("Đa Nhim"); j when none starts there."""
    k = j
    while k < len(tokens) and not tokens[k].covered and tokens[k].gap == " " and tokens[k].raw[:1].isupper():
        if tokens[k].raw.isupper() and len(tokens[k].raw) > 1:
            break  # an abbreviation, not a place
        k += 1
    return k
