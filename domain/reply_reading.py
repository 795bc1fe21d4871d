"""Reading an agency's reply to a reminder, in Vietnamese as clerks write it, into a typed report.

A reply is first cut down to what the clerk wrote: quoted originals ("> …", "Vào … đã viết:",
"On … wrote:", "-----Original Message-----", Outlook's "From:/Sent:" block) and signatures ("-- ",
"Trân trọng", "Best regards", "Sent from my iPhone" …) are dropped. What is left is read with and
without diacritics into one of: acknowledgement, progress (with percent), completion (with the
document number when given), extension request (with date and reason). A digest reply names the
item it answers by its number ("1. Đã hoàn thành …"). Anything else is *not understood*: the
reading says why, in Vietnamese, and the caller holds the reply for a coordinator; nothing is guessed.

Also here: a classifier of automatic mail (auto-replies, out-of-office, bounces, bulk) over plain
header data, so such mail is never read as an agency's report.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from domain.text import normalize_vietnamese

MAX_REPLY_CHARS = 20_000  # a clerk's answer is short; longer bodies are read only up to here


class ReplyKind(StrEnum):
    """What a reply (or one item of a digest reply) reports."""

    acknowledged = "acknowledged"
    in_progress = "in_progress"
    done = "done"
    extension = "extension"
    not_understood = "not_understood"


@dataclass(frozen=True)
class ReplyStatement:
    """One understood (or not understood) statement: the whole reply, or one numbered item of it."""

    kind: ReplyKind
    item_number: int | None = None
    percent: int | None = None
    document_number: str | None = None
    extension_until: date | None = None
    extension_reason: str | None = None
    problem: str | None = None  # Vietnamese: why it was not understood
    text: str = ""  # the clerk's words this was read from (NFC)


@dataclass(frozen=True)
class ReplyReading:
    """A reply read: the clerk's own text and its statements (one, or one per numbered item)."""

    body: str
    statements: tuple[ReplyStatement, ...]

    @property
    def understood(self) -> bool:
        """Whether every statement was understood (a reply with any doubt is held whole)."""
        return bool(self.statements) and all(s.kind is not ReplyKind.not_understood for s in self.statements)

    @property
    def problems(self) -> list[str]:
        """Why the reply (or any item of it) was not understood, in Vietnamese."""
        return [s.problem for s in self.statements if s.problem]


# --- folding: lowercase ASCII of the same length as the NFC text, so spans map back -----------------


def fold(text: str) -> str:
    """Return lowercase ASCII-ish text, one character per character of `text` ("Đã xong" → "da xong")."""
    out = []
    for ch in text:
        if ch in "đĐ":
            out.append("d")
            continue
        base = unicodedata.normalize("NFD", ch)[0].lower()
        out.append(base[0] if base else ch)
    return "".join(out)


def _clean_text(text: str) -> str:
    """NFC with canonical tone placement, unified line ends, no zero-width or non-breaking oddities."""
    text = normalize_vietnamese(text.replace("\r\n", "\n").replace("\r", "\n"))
    text = text.replace("\u00a0", " ").replace("\u200b", "").replace("\ufeff", "")
    return text[:MAX_REPLY_CHARS]


# --- stripping quoted originals and signatures --------------------------------------------------

# Attribution lines that open a quoted original. Gmail wraps them over two lines at times.
_ATTRIBUTION = re.compile(
    r"^\s*(?:vao\b.{0,200}\bda viet\s*:|on\b.{0,200}\bwrote\s*:|le\b.{0,200}\ba ecrit\s*:)\s*$", re.DOTALL
)
_ORIGINAL_MARKERS = re.compile(
    r"^\s*-{2,}\s*(?:original message|thu goc|tin nhan goc|thu ban dau|forwarded message|thu chuyen tiep)\s*-{2,}\s*$"
)
_OUTLOOK_RULE = re.compile(r"^\s*_{10,}\s*$")
_HEADER_FROM = re.compile(r"^\s*\*?(?:from|tu|nguoi gui)\s*:\*?\s*\S")
_HEADER_NEXT = re.compile(
    r"^\s*\*?(?:sent|date|to|cc|subject|da gui|gui|ngay|den|toi|chu de|tieu de|thoi gian)\s*:\*?", re.IGNORECASE
)
_SIGNATURE_DELIMITER = re.compile(r"^--\s*$")
_SIGN_OFFS = re.compile(
    r"^\s*(?:tran trong|than ai|than chao|kinh chao|xin cam on|best regards|kind regards|warm regards|"
    r"regards|best|thanks|thank you|cheers|br)"
    r"(?:\s+(?:cam on|kinh chao|va cam on|!))*\s*[!.,;/]*(?:/\.)?\s*$"
)
_SENT_FROM = re.compile(
    r"^\s*(?:sent from my|sent from mail for|get outlook for|gui tu|duoc gui tu|gui tu iphone|"
    r"gui tu dien thoai)\b"
)


def _is_attribution(lines_folded: list[str], index: int) -> int:
    """How many lines (1 or 2) form an attribution line starting at index, or 0."""
    for span in (1, 2, 3):
        chunk = " ".join(line.strip() for line in lines_folded[index : index + span])
        if _ATTRIBUTION.match(chunk):
            return span
    return 0


def _is_outlook_header(lines_folded: list[str], index: int) -> bool:
    """A "From: …" line followed within four lines by another header field (Sent:, To:, Subject: …)."""
    if not _HEADER_FROM.match(lines_folded[index]):
        return False
    following = [line for line in lines_folded[index + 1 : index + 5] if line.strip()]
    return any(_HEADER_NEXT.match(line) for line in following[:3])


def strip_quoted_and_signature(text: str) -> str:
    """Return what the clerk wrote: no quoted original, no signature; NFC, trimmed."""
    lines = _clean_text(text).split("\n")
    folded = [fold(line) for line in lines]
    kept: list[str] = []
    index = 0
    while index < len(lines):
        line, low = lines[index], folded[index]
        if low.lstrip().startswith(">"):
            index += 1
            continue
        span = _is_attribution(folded, index)
        if span:
            following = [f for f in folded[index + span :] if f.strip()]
            if following and following[0].lstrip().startswith(">"):
                index += span  # interleaved or bottom-posted: drop the attribution, keep unquoted text
                continue
            break  # top-posted without ">" marks: everything below is the original
        if (
            _ORIGINAL_MARKERS.match(low)
            or _OUTLOOK_RULE.match(low)
            or _is_outlook_header(folded, index)
            or _SIGNATURE_DELIMITER.match(line)
            or _SIGN_OFFS.match(low)
            or _SENT_FROM.match(low)
        ):
            break
        kept.append(line.rstrip())
        index += 1
    return "\n".join(kept).strip()


# --- reading ------------------------------------------------------------------------------------

_ITEM = re.compile(
    r"^\s*(?:(?:muc|viec|nhiem vu|noi dung|so|stt|item)\s*)?"
    r"(?:\(?(\d{1,3})\s*[.):](?:\s+|(?=[^\W\d_]))|(\d{1,3})\s*-\s+)(?=\S)"
)
_NEGATION = r"(?:chua|khong|chang|van chua|chua the|khong the)\s+(?:duoc\s+)?"
_DONE = re.compile(r"\b(?:da\s+)?(?:hoan thanh|hoan tat|xong|thuc hien xong|lam xong|trien khai xong)\b(?!\s*\d)")
_DONE_CLAIMED = re.compile(r"\bda\s+(?:hoan thanh|hoan tat|xong|thuc hien xong|lam xong|trien khai xong)\b")
_DONE_NEGATED = re.compile(r"\b" + _NEGATION + r"(?:hoan thanh|hoan tat|xong|thuc hien xong|lam xong)\b")
_PROGRESS = re.compile(
    r"\b(?:dang\s+(?:tiep tuc\s+)?(?:thuc hien|trien khai|to chuc thuc hien|xu ly|hoan thien|lam|"
    r"xay dung|du thao|tong hop|chuan bi))\b"
)
_PERCENT = re.compile(r"(?<![\d.,])(\d{1,3})(?:[.,]\d+)?\s*(?:%|phan tram\b)")
_ACK = re.compile(r"\b(?:da\s+)?(?:tiep nhan|nhan duoc|da nhan|xac nhan da nhan|ghi nhan)\b")
_ACK_NEGATED = re.compile(r"\b" + _NEGATION + r"(?:tiep nhan|nhan duoc|nhan)\b")
_EXTENSION = re.compile(
    r"\b(?:gia han|lui (?:thoi )?han|keo dai (?:thoi )?han|dieu chinh (?:thoi )?han|"
    r"de nghi (?:cho )?(?:phep )?(?:them|keo dai) thoi gian)\b"
)
_DATE_NUMERIC = re.compile(r"(?<!\d)(\d{1,2})\s*[/.\-]\s*(\d{1,2})(?:\s*[/.\-]\s*(\d{4}|\d{2}))?(?![\d/])")
_DATE_WORDS = re.compile(r"\bngay\s+(\d{1,2})\s+thang\s+(\d{1,2})(?:\s+nam\s+(\d{4}))?")
# Reason cues are matched on the lowercase text when it has diacritics ("vì", not "vị" of "đơn vị"),
# on the folded text otherwise; "do" is weaker ("tiến độ" folds to it) and used only without a strong cue.
_REASON_STRONG = re.compile(
    r"(?:^|(?<=[\s,;(]))(?:lý do|ly do|bởi vì|boi vi|vì|vi|nguyên nhân|nguyen nhan)\s*:?\s+(?=\S)"
)
_REASON_WEAK = re.compile(r"(?:^|(?<=[\s,;(]))do\s*:?\s+(?=\S)")
# A document number: digits, then "/" or "-", then a code with at least one letter (245-BC/HND,
# 112/ĐPTTH, 12/2022/QĐ-UBND); dates (30/11/2022) have no letter and never match.
_DOC_NUMBER = re.compile(r"(?<![\w/])(\d{1,6}(?:/\d{4})?[-/][^\W\d_][\w]*(?:[-/.][\w]+)*)", re.UNICODE)
_DOC_CUES = re.compile(
    r"\b(?:van ban|cong van|cv|bao cao|bc|to trinh|ke hoach|kh|quyet dinh|qd|so|ky hieu)\s*(?:so)?\s*:?\s*$"
)
_NOTICE_CUES = re.compile(r"\b(?:thong bao|ket luan|tb|chi thi|nghi quyet)\s*(?:so)?\s*:?\s*$")


def _split_items(body: str) -> list[tuple[int | None, str]]:
    """Split a body into numbered items ("1. …", "2) …"); an unnumbered body is one item."""
    items: list[tuple[int | None, list[str]]] = []
    preamble: list[str] = []
    for line in body.split("\n"):
        match = _ITEM.match(fold(line))
        if match:
            number = int(match.group(1) or match.group(2))
            items.append((number, [line[match.end() :]]))
        elif items:
            items[-1][1].append(line)
        else:
            preamble.append(line)
    if not items:
        return [(None, body)]
    # A single "1." line is still a numbered answer; the preamble ("Kính gửi …") is not a statement.
    return [(number, "\n".join(part).strip()) for number, part in items]


def _document_number(text: str, folded: str) -> str | None:
    """The reported document's number: one after a document cue, else the only bare one; never the notice's."""
    cued: list[str] = []
    bare: list[str] = []
    for match in _DOC_NUMBER.finditer(text):
        before = folded[max(0, match.start() - 24) : match.start()]
        number = match.group(1).rstrip(".-/").upper()
        if _NOTICE_CUES.search(before):
            continue  # the notice being answered, not the report
        (cued if _DOC_CUES.search(before) else bare).append(number)
    if cued:
        return cued[0]
    if len(set(bare)) == 1:
        return bare[0]
    return None


def _date(folded: str) -> tuple[date | None, str | None]:
    """The first full date in folded text, or a Vietnamese problem (no year, impossible date)."""
    match = _DATE_WORDS.search(folded) or _DATE_NUMERIC.search(folded)
    if match is None:
        return None, "đề nghị gia hạn nhưng không ghi đến ngày nào"
    day, month, year = match.group(1), match.group(2), match.group(3)
    if year is None:
        return None, "ngày đề nghị gia hạn thiếu năm (ghi đủ ngày/tháng/năm, ví dụ 30/11/2022)"
    full_year = int(year) + 2000 if len(year) == 2 else int(year)
    try:
        return date(full_year, int(month), int(day)), None
    except ValueError:
        return None, f"ngày «{match.group(0)}» không có thật"


def _lower_same_length(text: str) -> str:
    """Lowercase keeping one character per character (so spans match the original)."""
    return "".join((ch.lower() or ch)[0] for ch in text)


def _reason(text: str, folded: str, after: int) -> str | None:
    """The reason after "vì"/"lý do:"/"do" following position `after`, in the clerk's words."""
    lowered = _lower_same_length(text)
    haystack = folded if lowered == folded else lowered
    match = _REASON_STRONG.search(haystack, after) or _REASON_WEAK.search(haystack, after)
    if match is None:
        return None
    reason = text[match.end() :].strip().rstrip(".;,!/ ")
    reason = re.sub(r"\s+", " ", reason)
    return reason or None


def _read_statement(text: str, item_number: int | None) -> ReplyStatement:
    """Read one statement's text into its kind and details; what is unclear is not understood."""
    one_line = re.sub(r"\s+", " ", text).strip()
    folded = fold(one_line)

    def refuse(problem: str) -> ReplyStatement:
        return ReplyStatement(ReplyKind.not_understood, item_number=item_number, problem=problem, text=one_line)

    if not folded:
        return refuse("thư trả lời không có nội dung (ngoài phần trích thư cũ và chữ ký)")
    percents = [int(m.group(1)) for m in _PERCENT.finditer(folded)]
    if any(p > 100 for p in percents):
        return refuse("tỷ lệ phần trăm lớn hơn 100%")
    if len(set(percents)) > 1:
        return refuse("có nhiều tỷ lệ phần trăm khác nhau, không rõ tiến độ")
    percent = percents[0] if percents else None
    done_negated = bool(_DONE_NEGATED.search(folded))
    done = bool(_DONE.search(_DONE_NEGATED.sub(" ", folded))) and percent in (None, 100)
    extension = _EXTENSION.search(folded)

    if extension:
        claimed = _DONE_CLAIMED.search(_DONE_NEGATED.sub(" ", folded[: extension.start()]))
        if claimed and percent in (None, 100):
            return refuse("vừa báo hoàn thành vừa đề nghị gia hạn")
        until, problem = _date(folded[extension.end() :])
        if until is None:
            return refuse(problem or "không rõ ngày đề nghị gia hạn")
        reason = _reason(one_line, folded, extension.end())
        if reason is None:
            return refuse("đề nghị gia hạn cần nêu lý do (ví dụ «… vì chờ số liệu của các huyện»)")
        return ReplyStatement(
            ReplyKind.extension,
            item_number=item_number,
            extension_until=until,
            extension_reason=reason,
            text=one_line,
        )
    if percent == 100 or (done and not (done_negated and percent is None)):
        return ReplyStatement(
            ReplyKind.done,
            item_number=item_number,
            percent=100,
            document_number=_document_number(one_line, folded),
            text=one_line,
        )
    if percent is not None or _PROGRESS.search(folded):
        return ReplyStatement(ReplyKind.in_progress, item_number=item_number, percent=percent, text=one_line)
    if done_negated:
        return refuse("báo chưa hoàn thành nhưng không nói đang thực hiện hay tiến độ bao nhiêu")
    if _ACK.search(folded) and not _ACK_NEGATED.search(folded):
        return ReplyStatement(ReplyKind.acknowledged, item_number=item_number, text=one_line)
    return refuse("không nhận ra nội dung báo cáo (tiếp nhận, tiến độ, hoàn thành hay đề nghị gia hạn)")


def read_reply(text: str) -> ReplyReading:
    """Read a reply's plain text: strip quotes and signature, then read each item (or the whole)."""
    body = strip_quoted_and_signature(text)
    statements = tuple(_read_statement(part, number) for number, part in _split_items(body))
    return ReplyReading(body=body, statements=statements)


# --- automatic mail -----------------------------------------------------------------------------


class AutomaticMail(StrEnum):
    """Why a message is not a person's reply."""

    auto_reply = "auto_reply"
    bounce = "bounce"
    bulk = "bulk"


AUTOMATIC_VI = {
    AutomaticMail.auto_reply: "thư trả lời tự động (vắng mặt, tự động phản hồi)",
    AutomaticMail.bounce: "thư báo lỗi gửi thư (thư bị trả lại)",
    AutomaticMail.bulk: "thư gửi hàng loạt hoặc danh sách thư",
}

_OUT_OF_OFFICE_SUBJECT = re.compile(
    r"^\s*(?:\[?(?:auto(?:matic)?[ -]?reply|autoreply|auto[ -]?response|out of (?:the )?office|ooo|"
    r"abwesenheitsnotiz|tra loi tu dong|thu tra loi tu dong|phan hoi tu dong|tu dong tra loi|vang mat|"
    r"khong co mat|nghi phep)\b|auto\s*:)"
)
_BOUNCE_SUBJECT = re.compile(
    r"^\s*(?:undeliverable|undelivered mail|delivery status notification|mail delivery (?:failed|failure|"
    r"subsystem)|returned mail|delivery failure|failure notice|khong the gui|khong gui duoc|thu bi tra lai|"
    r"gui thu that bai)"
)
_DAEMON_SENDER = re.compile(r"(?:^|[<\s\"])(?:mailer-daemon|postmaster|mail-daemon|noreply-dmarc)@", re.IGNORECASE)


def _headers(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """Header pairs as lowercase name → values (names repeat in mail)."""
    out: dict[str, list[str]] = {}
    for name, value in pairs:
        out.setdefault(name.strip().lower(), []).append(str(value).strip())
    return out


def classify_automatic(headers: Iterable[tuple[str, str]]) -> AutomaticMail | None:
    """Whether a message is automatic (RFC 3834 Auto-Submitted, X-Autoreply, Precedence, bounce, OOO subject)."""
    h = _headers(headers)

    def first(name: str) -> str:
        return (h.get(name) or [""])[0]

    content_type = first("content-type").lower()
    sender = " ".join(h.get("from", []) + h.get("sender", []))
    return_path = first("return-path")
    subject = fold(_clean_text(first("subject")))
    if content_type.startswith("multipart/report") or "delivery-status" in content_type:
        return AutomaticMail.bounce
    if _DAEMON_SENDER.search(sender) or "x-failed-recipients" in h or _BOUNCE_SUBJECT.match(subject):
        return AutomaticMail.bounce
    auto_submitted = first("auto-submitted").lower()
    if auto_submitted and not auto_submitted.startswith("no"):
        return AutomaticMail.auto_reply
    if any(name in h for name in ("x-autoreply", "x-autorespond", "x-autoresponse")):
        return AutomaticMail.auto_reply
    precedence = first("precedence").lower()
    if precedence in ("auto_reply", "auto-reply"):
        return AutomaticMail.auto_reply
    if precedence in ("bulk", "junk", "list"):
        return AutomaticMail.bulk
    if _OUT_OF_OFFICE_SUBJECT.match(subject):
        return AutomaticMail.auto_reply
    if return_path.strip() == "<>":
        return AutomaticMail.bounce  # a null envelope sender is what bounces and DSNs use
    if "list-id" in h or "list-unsubscribe" in h:
        return AutomaticMail.bulk
    return None
