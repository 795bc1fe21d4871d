"""The role rules: which words around an agency's name make it a lead, a support, a recipient or a bystander.

Each rule is a pattern over tone-normalised lowercase text (see document.vi_pattern) and a named function.
"""

from __future__ import annotations

import re
from enum import Enum, auto

from domain.notice_parser.document import vi_pattern
from domain.notice_parser.models import MentionRole

_PERSON_TITLES = vi_pattern(
    r"(?:(?:các\s+)?(?:đồng\s+chí|đ/c)\s+)?(?:(?:phó\s+)?(?:chủ\s+tịch|giám\s+đốc|bí\s+thư|trưởng\s+ban|chánh\s+văn\s+phòng"
    r"|thủ\s+trưởng|người\s+đứng\s+đầu|tập\s+thể\s+lãnh\s+đạo|thường\s+trực|ủy\s+viên)"
    r"(?:\s+(?:các|và|,))*\s*)+$"
)
_PARTNER = vi_pattern(
    r"phối\s+hợp(?:\s+(?:chặt\s+chẽ|tốt|thường\s+xuyên|đồng\s+bộ|hiệu\s+quả|cùng))*\s*(?:với|cùng)\s*$"
)
_RECIPIENT = vi_pattern(
    r"(?:(?:báo\s+cáo|trình|gửi|tham\s+mưu|đề\s+xuất|kiến\s+nghị|xin\s+ý\s+kiến|xin\s+chủ\s+trương|phản\s+ánh)"
    r"(?:[\s,]+(?!phối|chủ\s+trì|giao)[^\s;:()]+){0,8}?\s+(?:với|cho|lên|về|tới|đến)"
    r"|(?:báo\s+cáo|trình|gửi\s+về|gửi|tham\s+mưu|đề\s+xuất|kiến\s+nghị|xin\s+ý\s+kiến|xin\s+chủ\s+trương\s+của|thông\s+qua))\s*$"
)
_DIRECTED = vi_pattern(
    r"(?<!được\s)(?:giao(?:\s+nhiệm\s+vụ)?(?:\s+cho)?|đề\s+nghị|yêu\s+cầu|phân\s+công(?:\s+cho)?|ủy\s+quyền(?:\s+cho)?"
    r"|(?P<chain>lãnh\s+đạo|chỉ\s+đạo|lãnh\s+đạo\s*,\s*chỉ\s+đạo))\s*$"
)
_POSSESSIVE = vi_pattern(r"(?:của|theo|thuộc|tại|trên|giữa|với|qua|từ|ở)\s*$")
SUBJECT_PREFIX = vi_pattern(
    r"^(?:(?:đồng\s+thời|trong\s+đó|trước\s+mắt|riêng|ngoài\s+ra|bên\s+cạnh\s+đó|theo\s+đó|trên\s+cơ\s+sở\s+đó|sau\s+đó"
    r"|cụ\s+thể|cùng\s+với\s+đó|mặt\s+khác|về\s+phía|đối\s+với|tiếp\s+theo|về)\s*[,:]?\s*"
    r"|(?:trong|từ|đến|năm|quý|tháng|để|nhằm|căn\s+cứ|trên\s+cơ\s+sở|theo|sau\s+khi|trước|đối\s+với|về)\b[^,;:]{0,90},\s*)*$"
)
_ADVERBS = vi_pattern(
    r"^(?:[\s,]+|\((?!\s*(?:chủ\s+trì|phối\s+hợp))[^()]{0,80}\)|\(|\)|cũng|còn|đồng\s+thời|tiếp\s+tục|tăng\s+cường|chủ\s+động|tích\s+cực|khẩn\s+trương|thường\s+xuyên|kịp\s+thời|sớm|cần|phải"
    r"|có\s+trách\s+nhiệm|chịu\s+trách\s+nhiệm|căn\s+cứ\s+chức\s+năng,?\s+nhiệm\s+vụ(?:\s+được\s+giao)?"
    r"|theo\s+chức\s+năng,?\s+nhiệm\s+vụ(?:\s+được\s+giao)?|là\s+cơ\s+quan|làm|nghiêm\s+túc|quyết\s+liệt|tập\s+trung\s+(?=chỉ\s+đạo|phối))"
)
_CHAIR = vi_pattern(r"^(?:chủ\s+trì|thường\s+trực|đầu\s+mối)")
COOPERATES = vi_pattern(r"^(?:phối\s+hợp|tham\s+gia\s+phối\s+hợp)")
_DIRECTOR_VERB = vi_pattern(r"^(?:lãnh\s+đạo\s*,\s*chỉ\s+đạo|lãnh\s+đạo|chỉ\s+đạo)(?:\s+(?:các|cho))?\s*$")
_ASSIGNER_VERB = vi_pattern(r"^(?:giao|yêu\s+cầu|đề\s+nghị|phân\s+công)(?:\s+(?:các|cho))?\s*$")
_SPEAKER_VERB = vi_pattern(
    r"^(?:yêu\s+cầu|đề\s+nghị|giao(?!\s+thông)|kết\s+luận|nhấn\s+mạnh|lưu\s+ý|thống\s+nhất|đồng\s+ý)\b"
)
_PAST = vi_pattern(
    r"^(?:đã|đang|được|vừa|cơ\s+bản|bước\s+đầu|luôn|có\s+nhiều|đạt|nhận\s+được|cho\s+biết|báo\s+cáo\s+(?:tại|về|kết\s+quả\s+tại))\b"
)
CONTINUES_ROLE = vi_pattern(r"^[\s,]*\(?\s*(?:chủ\s+trì|phối\s+hợp)\s*\)?\s*[,;]?\s*(?:và\s+)?$")
LIST_GAP = vi_pattern(r"^(?:[\s,]|và|cùng|hoặc)*$")
ASSIGN_START = vi_pattern(r"^(?:giao(?:\s+cho)?|đề\s+nghị|yêu\s+cầu|phân\s+công|ủy\s+quyền)\b")


class Category(Enum):
    """What the words before a list of names make of it within its clause."""

    SUBJECT = auto()  # the subject of its clause: does its own task
    DIRECTED = auto()  # "giao X", "đề nghị X": assigned the task
    CHAIN = auto()  # "lãnh đạo/chỉ đạo X": directed by another body that is directed in turn
    PARTNER = auto()  # "phối hợp với X"
    RECIPIENT = auto()  # "báo cáo X": receives reports or advice
    OTHER = auto()  # cited, owned ("của X"), or the object of the task

    @property
    def is_doer(self) -> bool:
        """True for the categories whose predicate decides a role (subject, directed, chain)."""
        return self in (Category.SUBJECT, Category.DIRECTED, Category.CHAIN)


class DoerKind(Enum):
    """How a subject or directed list of names acts, read from its predicate."""

    ASSIGNER = auto()  # concludes or assigns: not an assignee
    CHAIR = auto()  # "chủ trì"
    COOP = auto()  # "phối hợp"
    DIRECTOR = auto()  # "lãnh đạo, chỉ đạo" or hands the task to another body: lead
    INTERMEDIARY = auto()  # a middle link of "lãnh đạo X chỉ đạo Y"
    NARRATIVE = auto()  # "đã/đang …": an assessment, not a task
    PLAIN = auto()  # does the task itself: lead

    @property
    def leads(self) -> bool:
        """True for the kinds that make an explicit lead of the directive."""
        return self in (DoerKind.CHAIR, DoerKind.PLAIN, DoerKind.DIRECTOR)


def strip_left(left: str) -> str:
    """Drop list markers, Markdown, quotes and person titles around the left context."""
    t = re.sub(r"[*_“”\"]+", " ", left)
    t = re.sub(r"^\s*(?:[-–+•]|\d+(?:\.\d+)*[.)]|[a-zđ]\))\s+", "", t)
    t = " ".join(t.split())
    untitled = _PERSON_TITLES.sub("", t).strip()
    # "Thủ trưởng các sở …, Chủ tịch UBND các huyện …": a title after a comma starts another subject of the list.
    return untitled.strip(" ,") if untitled != t.strip() and untitled.strip(" ,") == "" else untitled


def categorise(left: str) -> tuple[Category, str]:
    """Category of a name from the words before it in its clause, with a Vietnamese reason."""
    t = strip_left(left)
    if _PARTNER.search(t):
        return Category.PARTNER, "«phối hợp với»"
    if _RECIPIENT.search(t):
        return Category.RECIPIENT, "nhận báo cáo/tham mưu, không phải cơ quan thực hiện"
    m = _DIRECTED.search(t)
    if m:
        verb = " ".join(m.group(0).split())
        return (Category.CHAIN if m.group("chain") else Category.DIRECTED), f"được «{verb}»"
    if not t or SUBJECT_PREFIX.match(t):
        return Category.SUBJECT, "chủ ngữ của câu"
    if _POSSESSIVE.search(t):
        return Category.OTHER, "được nhắc đến (của/theo/tại …), không được giao việc"
    return Category.OTHER, "là đối tượng của việc làm, không được giao việc"


def main_verb(rest: str) -> str:
    """The predicate after a name with adverbs ('tiếp tục', 'tăng cường', '(…)') stripped."""
    t = rest
    while True:
        m = _ADVERBS.match(t)
        if not m or m.end() == 0:
            return t.strip()
        t = t[m.end() :]


def doer_kind(
    category: Category, reason: str, verb: str, directs_next: bool
) -> tuple[DoerKind, MentionRole, float, str]:
    """Role of a subject or directed list from its predicate (verb) and whether the next doer follows it directly."""
    if category is Category.SUBJECT and _SPEAKER_VERB.match(verb):
        return DoerKind.ASSIGNER, MentionRole.OTHER, 0.8, "cơ quan kết luận/giao việc, không phải cơ quan thực hiện"
    if _CHAIR.match(verb):
        return DoerKind.CHAIR, MentionRole.LEAD, 0.95, f"{reason}, «chủ trì»"
    if COOPERATES.match(verb):
        return DoerKind.COOP, MentionRole.SUPPORT, 0.85, f"{reason}, «phối hợp»"
    words = " ".join(verb.split())
    if directs_next and _DIRECTOR_VERB.match(words):
        if category is Category.CHAIN:
            return DoerKind.INTERMEDIARY, MentionRole.OTHER, 0.7, "trung gian trong chuỗi «lãnh đạo … chỉ đạo …»"
        return DoerKind.DIRECTOR, MentionRole.LEAD, 0.85, f"{reason}, «lãnh đạo/chỉ đạo» cơ quan khác thực hiện"
    if directs_next and _ASSIGNER_VERB.match(words):
        if category is Category.SUBJECT:
            return DoerKind.ASSIGNER, MentionRole.OTHER, 0.8, "cơ quan giao việc, không phải cơ quan thực hiện"
        return DoerKind.DIRECTOR, MentionRole.LEAD, 0.8, f"{reason}, giao lại cho cơ quan khác"
    if category is Category.SUBJECT and _PAST.match(verb):
        return DoerKind.NARRATIVE, MentionRole.OTHER, 0.7, "câu đánh giá (đã/đang …), không phải giao việc"
    confidence = 0.85 if category is not Category.SUBJECT else 0.8
    return DoerKind.PLAIN, MentionRole.LEAD, confidence, f"{reason}, tự thực hiện việc của mình"
