"""The usual abbreviations of Vietnamese body names, so that a name is found whichever way a text writes it.

"Sở Nông nghiệp và PTNT", "Sở NN&PTNT" and "Sở Nông nghiệp và Phát triển nông thôn" are one body (issue 16 §4):
the matcher indexes every directory name under each of its written forms, and reviewers' suggestions compare
names with their abbreviations written out.
"""

from __future__ import annotations

import re
import unicodedata
from itertools import islice

from domain.notice_parser.document import norm_low

# Each line: the forms of one phrase, the full form first.
EQUIVALENT_FORMS: tuple[tuple[str, ...], ...] = (
    ("Nông nghiệp và Phát triển nông thôn", "NN&PTNT", "NN và PTNT", "Nông nghiệp và PTNT", "NNPTNT", "NN-PTNT"),
    ("Kế hoạch và Đầu tư", "KH&ĐT", "KH và ĐT", "KHĐT"),
    ("Khoa học và Công nghệ", "KH&CN", "KH và CN", "KHCN"),
    ("Thông tin và Truyền thông", "TT&TT", "TTTT"),
    ("Lao động - Thương binh và Xã hội", "LĐ-TB&XH", "LĐTB&XH", "LĐTBXH", "Lao động, Thương binh và Xã hội"),
    ("Văn hóa, Thể thao và Du lịch", "VH-TT&DL", "VHTT&DL", "VHTTDL", "Văn hóa - Thể thao và Du lịch"),
    ("Tài nguyên và Môi trường", "TN&MT", "TNMT"),
    ("Giáo dục và Đào tạo", "GD&ĐT", "GDĐT"),
    ("Giao thông vận tải", "GTVT"),
    ("Ủy ban nhân dân", "UBND", "Uỷ ban nhân dân"),
    ("Hội đồng nhân dân", "HĐND"),
    ("Mặt trận Tổ quốc", "MTTQ"),
    ("Quản lý dự án", "QLDA"),
    ("Hợp tác xã", "HTX"),
    ("thành phố", "TP"),
    ("thị xã", "TX"),
)
# At most this many written forms per directory name (a name rarely holds more than two abbreviable phrases).
MAX_VARIANTS = 24


def _form_pattern(form: str) -> re.Pattern[str]:
    """A pattern for one written form inside tone-normalised lowercase text, on word boundaries."""
    low = norm_low(unicodedata.normalize("NFC", form))
    parts = [re.escape(p) for p in low.split()]
    body = r"\s*".join(parts).replace("\\&", r"\s*&\s*").replace("\\-", r"\s*-\s*").replace(",", r"\s*,?")
    return re.compile(rf"(?<!\w){body}(?!\w)")


_FORMS = [(forms, [_form_pattern(f) for f in forms]) for forms in EQUIVALENT_FORMS]


def written_forms(name: str) -> list[str]:
    """The name as written, then with each abbreviable phrase replaced by each of its other forms."""
    out = [unicodedata.normalize("NFC", name)]
    seen = {norm_low(out[0])}
    i = 0
    while i < len(out) and len(out) < MAX_VARIANTS:
        current = out[i]
        low = norm_low(current)
        for forms, patterns in _FORMS:
            for pattern in patterns:
                m = pattern.search(low)
                if not m:
                    continue
                for other in forms:
                    variant = current[: m.start()] + other + current[m.end() :]
                    key = norm_low(variant)
                    if key not in seen:
                        seen.add(key)
                        out.append(variant)
                break
        i += 1
    return list(islice(out, MAX_VARIANTS))


def expanded(name: str) -> str:
    """The name in tone-normalised lowercase with every abbreviation written out (for comparing names)."""
    low = norm_low(unicodedata.normalize("NFC", name))
    for forms, patterns in _FORMS:
        full = norm_low(forms[0])
        for pattern in patterns[1:]:
            low = pattern.sub(full, low)
    return " ".join(low.replace("&", " và ").replace(",", " ").replace("-", " ").split())


# Words every body name shares; they tell no two bodies apart.
_GENERIC_WORDS = set(
    [
        "sở",
        "ban",
        "ủy",
        "hội",
        "đồng",
        "nhân",
        "dân",
        "tỉnh",
        "huyện",
        "thành",
        "phố",
        "thị",
        "xã",
        "và",
        "các",
        "của",
        "trung",
        "tâm",
        "văn",
        "phòng",
        "chi",
        "cục",
        "cục",
        "phòng",
        "đảng",
        "bộ",
        "công",
        "ty",
        "ty",
        "ban",
        "quản",
        "lý",
        "việt",
        "nam",
    ]
)


def distinguishing_words(name: str) -> set[str]:
    """The words of a name that tell it from other bodies of its kind ("kế", "hoạch", "đầu", "tư" for Sở KH&ĐT)."""
    return set(expanded(name).split()) - {norm_low(w) for w in _GENERIC_WORDS}
