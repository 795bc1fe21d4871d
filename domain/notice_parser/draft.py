"""Assemble the draft: header, body structure and directive units into a NoticeDraftText with review notes."""

from __future__ import annotations

import re
from datetime import date

from domain.body_types import BodyTypeCatalog
from domain.notice_parser.abbreviations import distinguishing_words
from domain.notice_parser.agencies import AgencyMatcher
from domain.notice_parser.builder import Builder, Unit
from domain.notice_parser.deadline import directive_deadline
from domain.notice_parser.directory import AgencyDirectoryLike
from domain.notice_parser.document import Doc, clean, norm_low, vi_pattern
from domain.notice_parser.genre import genre_warning
from domain.notice_parser.header import Header, parse_header
from domain.notice_parser.models import (
    REVIEW_THRESHOLD,
    AgencyRefDraft,
    MentionRole,
    MetaValue,
    NoticeDraftText,
    NoticeParseError,
    ParsedDirective,
)
from domain.notice_parser.role_rules import COOPERATES, main_verb
from domain.notice_parser.roles import Assignment, merge_roles
from domain.notice_parser.segmentation import split_units
from domain.notice_parser.structure import Structure, body_range

_MONITOR = vi_pattern(
    r"theo\s+dõi\s*,?\s*(?:đôn\s+đốc|kiểm\s+tra)[^.;]{0,60}(?:thông\s+báo|kết\s+luận)(?:\s+kết\s+luận)?(?:\s+này)?|đôn\s+đốc[^.;]{0,40}thực\s+hiện\s+(?:thông\s+báo|kết\s+luận)(?:\s+kết\s+luận)?\s+này"
)
_MONITOR_LOOSE = vi_pattern(r"theo\s+dõi\s*,\s*đôn\s+đốc|đôn\s+đốc\s*,\s*theo\s+dõi")
# A notice runs to tens of thousands of characters; the parser reads a million in about 10 s on one core,
# so anything longer is refused at once rather than left to run for minutes (bench/parse_size.py).
MAX_NOTICE_CHARS = 1_000_000
_CITED_NOTICE = re.compile(r"(?:Thông báo(?: kết luận)?|Kết luận)\s+số\s+(\d{1,5}-[A-ZĐ]+/[A-ZĐ]+)")


def _suggest(directory: AgencyDirectoryLike, surface: str) -> list[str]:
    """Directory names close to an unknown one: same first word (Sở, Văn phòng …) and shared distinguishing words.

    "Sở KH&CN" is not offered for "Sở Kế hoạch và Đầu tư": once written out, their distinguishing words differ.
    """
    head = norm_low(surface).split()[:1]
    own = distinguishing_words(surface)
    return [
        label
        for label in directory.closest(surface, limit=5)
        if norm_low(label).split()[:1] == head and own & distinguishing_words(label)
    ][:3]


def _to_ref(doc: Doc, a: Assignment, directory: AgencyDirectoryLike) -> AgencyRefDraft:
    """Turn a decided role into the result model."""
    m = a.mention
    known = m.code is not None
    conf = a.confidence if known else min(a.confidence, 0.5)
    # A standard name without its place ("Sở Kế hoạch và Đầu tư", not "… tỉnh Nghệ An") is compared, so a place
    # name's words ("Nghệ") do not make Sở KH&CN look close.
    standard = m.body_type.standard_name if m.body_type else None
    basis = standard if standard and distinguishing_words(standard) else m.surface
    suggestions = [] if known or m.generic else _suggest(directory, basis)
    surface = " ".join(m.surface.split())
    return AgencyRefDraft(
        surface=surface,
        code=m.code,
        is_group=m.is_group,
        members=list(m.members),
        known=known,
        role=a.settled_role,
        confidence=round(conf, 2),
        span=doc.span(m.start, m.end),
        reason=a.reason,
        inherited=a.inherited,
        suggestions=suggestions,
        generic=m.generic,
        body_type=m.body_type.describe() if m.body_type and not known else None,
    )


def parse_notice_text(
    text: str,
    directory: AgencyDirectoryLike,
    *,
    source_name: str,
    issued_on: date | str | None = None,
    issuer: str | None = None,
    body_types: BodyTypeCatalog | None = None,
) -> NoticeDraftText:
    """Read an assignment document's text and draft its metadata, directives, agencies and deadlines.

    issued_on and issuer (an agency code) stand in for what the text does not say (a pasted message, an
    article); what the text says wins, and the draft notes which value came from the caller. body_types, the
    national list of standard bodies, lets a body of another province be kept and shown with its type.
    """
    if not text or not text.strip():
        raise NoticeParseError(source_name, "văn bản trống, không có nội dung")
    if len(text) > MAX_NOTICE_CHARS:
        raise NoticeParseError(
            source_name,
            f"văn bản quá dài ({_grouped(len(text))} ký tự; tối đa {_grouped(MAX_NOTICE_CHARS)}): một Thông báo kết luận thường chỉ "
            "vài chục nghìn ký tự — hãy kiểm tra lại tệp, hoặc tách thành nhiều văn bản",
        )
    doc = Doc.of(text)
    matcher = AgencyMatcher(directory, body_types)
    header = parse_header(doc, matcher, source_name)
    apply_given_metadata(header, issued_on, issuer, matcher)
    reference = date.fromisoformat(header.date.value) if header.date.value else None
    start, end = body_range(doc, header.body_first)
    roots = Structure(doc, start, end).build()
    builder = Builder(doc, matcher, reference)
    builder.walk(roots, "", 1, [], None)
    if not builder.units:
        marker_hint = "" if header.has_marker else "; cũng không thấy tiêu đề «THÔNG BÁO»/«KẾT LUẬN»"
        raise NoticeParseError(
            source_name,
            "không tìm thấy mục công việc nào (không có mục đánh số trong phần nhiệm vụ, không có câu «Giao …», «Đề nghị …», "
            f"«Yêu cầu …» hay «… chủ trì …»){marker_hint}: văn bản có lẽ không phải văn bản giao việc "
            "(không phải Thông báo kết luận, Kết luận, Công văn hay ý kiến chỉ đạo)",
        )
    directives = [_directive(doc, u, builder, directory, reference, header.issuer.value) for u in split_units(builder)]
    _dedupe_numbers(directives)

    placeholder = header.number.value is None
    number = _placeholder_number(doc, header, reference, directory) if placeholder else header.number
    monitors, monitors_note = _monitors(doc, directives, header)
    warnings: list[str] = []
    genre_note = genre_warning(header.genre)
    if genre_note:
        warnings.append(genre_note)
    if header.issuer.value is None:
        warnings.append("chưa xác định được cơ quan ban hành")
    if header.date.value is None:
        warnings.append("không tìm thấy ngày của thông báo")
    return NoticeDraftText(
        source_name=source_name,
        number=number,
        number_is_placeholder=placeholder,
        date=header.date,
        issuer=header.issuer,
        title=header.title,
        monitors=monitors,
        monitors_note=monitors_note,
        directives=directives,
        warnings=warnings,
        genre=str(header.genre),
    )


def apply_given_metadata(
    header: Header, issued_on: date | str | None, issuer: str | None, matcher: AgencyMatcher
) -> None:
    """Fill the issue date and issuer the text does not state with the caller's values (--date, --issuer)."""
    if issued_on is not None and (header.date.value is None or header.date.confidence < REVIEW_THRESHOLD):
        day = issued_on if isinstance(issued_on, date) else date.fromisoformat(str(issued_on))
        header.date = MetaValue(value=day.isoformat(), raw=day.strftime("%d/%m/%Y"), confidence=0.9, note=_GIVEN)
    if issuer is not None and header.issuer.value is None:
        code = resolve_agency(issuer, matcher)
        if code is None:
            raise NoticeParseError(
                "--issuer", f"không có cơ quan «{issuer}» trong danh mục (ghi mã, ví dụ UBND_TINH, hoặc tên đầy đủ)"
            )
        header.issuer = MetaValue(value=code, raw=issuer, confidence=0.9, note=_GIVEN)


def resolve_agency(name_or_code: str, matcher: AgencyMatcher) -> str | None:
    """The directory code of an agency given by code or by any of its names and written forms, else None."""
    if name_or_code in matcher.directory.by_code:
        return name_or_code
    doc = Doc.of(name_or_code.strip())
    found = matcher.find(doc, 0, len(doc.text))
    if len(found) == 1 and found[0].code and not found[0].is_group and found[0].end - found[0].start == len(doc.text):
        return found[0].code
    return None


_GIVEN = "do người dùng nhập (--date/--issuer), văn bản không ghi"


def _grouped(n: int) -> str:
    """An integer with Vietnamese thousands separators: 1.000.000."""
    return f"{n:,}".replace(",", ".")


def _placeholder_number(doc: Doc, header: Header, reference: date | None, directory: AgencyDirectoryLike) -> MetaValue:
    """A provisional number (TẠM-YYYYMMDD/TB-TU) for a notice that does not state its own, saying so."""
    stamp = reference.strftime("%Y%m%d") if reference else "CHUA-RO-NGAY"
    suffix = _placeholder_suffix(header.issuer.value, directory)
    cited = sorted({m.group(0) for m in _CITED_NOTICE.finditer(doc.text)})
    note = "văn bản không ghi số của chính thông báo này; số dưới đây là số TẠM, thay bằng số trên bản ký"
    if cited:
        note += f" (số nêu trong văn bản — {', '.join(cited)} — là của văn bản khác được trích dẫn)"
    return MetaValue(value=f"TẠM-{stamp}/{suffix}", confidence=0.0, note=note)


def _placeholder_suffix(issuer: str | None, directory: AgencyDirectoryLike) -> str:
    """'TB-TU' for party bodies, 'TB-UBND' for People's Committees, else 'TB'."""
    agency = directory.by_code.get(issuer or "")
    if agency is None:
        return "TB"
    if agency.kind.startswith("party") or agency.kind == "district_party_committee":
        return "TB-TU" if agency.kind != "district_party_committee" else "TB-HU"
    if "government" in agency.kind:
        return "TB-UBND"
    return "TB"


def flag_issuer_as_subject(ref: AgencyRefDraft, issuer: str | None) -> AgencyRefDraft:
    """A lead that rests only on being the subject and is the issuer itself is flagged for review (issue 16 §3).

    The issuer usually assigns ("UBND tỉnh giao …") or reports ("UBND tỉnh đã …"); when it seems to do a task of
    its own, a person should confirm it.
    """
    if issuer and ref.code == issuer and ref.role is MentionRole.LEAD and ref.reason.startswith("chủ ngữ"):
        ref.confidence = min(ref.confidence, 0.6)
        ref.reason += "; đây là cơ quan ban hành văn bản — kiểm tra có thật được giao việc không"
    return ref


def _directive(
    doc: Doc,
    u: Unit,
    builder: Builder,
    directory: AgencyDirectoryLike,
    reference: date | None,
    issuer: str | None = None,
) -> ParsedDirective:
    """Build one ParsedDirective from a unit: text, roles (inheriting when it names no lead), deadline."""
    text = clean(doc.text[u.start : u.end])
    assigns, _ = builder.roles(u.start, u.end)
    inherited_leads = any(a.role is MentionRole.LEAD for a in u.inherited)
    # "Sở X: + Phối hợp với Sở Y …": the handed-down agency cooperates; the partner leads.
    elliptic_coop = bool(u.inherited) and bool(COOPERATES.match(main_verb(norm_low(text))))
    keep, others = merge_roles(assigns, inherited_leads and not elliptic_coop)
    review: list[str] = []
    if u.inherited and (elliptic_coop or not any(a.role is MentionRole.LEAD for a in keep)):
        own = {a.mention.key for a in keep}
        for a in u.inherited:
            if a.mention.key not in own:
                role = MentionRole.SUPPORT if elliptic_coop else a.role
                why = "nêu ở đoạn dẫn của mục cha" + (", «phối hợp với» cơ quan khác" if elliptic_coop else "")
                keep.append(Assignment(a.mention, role, round(a.confidence * 0.8, 2), why, inherited=True))
        keep.sort(key=lambda a: (a.inherited, a.mention.start))
    refs = [flag_issuer_as_subject(_to_ref(doc, a, directory), issuer) for a in keep]
    mentions = [_to_ref(doc, a, directory) for a in others]
    if not refs:
        review.append("văn bản không nêu cơ quan thực hiện mục này; cần phân công (ít nhất một cơ quan chủ trì)")
    elif not any(r.role is MentionRole.LEAD for r in refs):
        review.append("chưa có cơ quan chủ trì (role: lead) cho mục này")
    for r in refs:
        if r.generic:
            review.append(generic_note(r.surface))
        elif not r.known:
            review.append(r.outside_directory_note())
    deadline = directive_deadline(doc, u.start, u.end, reference)
    conf = u.confidence
    if not refs:
        conf = min(conf, 0.6)
    if u.synthetic:
        review.append("văn bản không đánh số mục này; số mục do máy đặt")
    if u.split_from is not None:
        review.append(
            f"mục {u.split_from} của văn bản giao mỗi vế (ngăn bằng «;») cho một cơ quan khác, nên đã tách thành "
            "nhiều mục; gộp lại nếu là một việc chung"
        )
    return ParsedDirective(
        number=u.number,
        label=u.label,
        synthetic_number=u.synthetic,
        level=u.level,
        text=text,
        span=doc.span(u.start, u.end),
        confidence=round(conf, 2),
        assignments=refs,
        mentions=mentions,
        deadline=deadline,
        review=review,
    )


def generic_note(surface: str) -> str:
    """The reviewer's note for a collective assignee."""
    return (
        f"«{surface}» là cụm từ chung, giao cho nhiều cơ quan không nêu tên — thay bằng mã các cơ quan hoặc "
        "một nhóm trong danh mục"
    )


def _dedupe_numbers(directives: list[ParsedDirective]) -> None:
    """Make directive numbers unique ('3' twice → '3', '3(2)')."""
    seen: dict[str, int] = {}
    for d in directives:
        if d.number in seen:
            seen[d.number] += 1
            d.number = f"{d.number}({seen[d.number]})"
            d.review.append("số mục bị trùng với mục khác; đã thêm hậu tố")
        else:
            seen[d.number] = 1


def _monitors(doc: Doc, directives: list[ParsedDirective], header: Header) -> tuple[list[AgencyRefDraft], str | None]:
    """The bodies that follow up the notice ('theo dõi, đôn đốc việc thực hiện Thông báo này')."""
    for rx in (_MONITOR, _MONITOR_LOOSE):
        for d in directives:
            if rx.search(norm_low(d.text)) and d.assignments:
                return [r.model_copy() for r in d.assignments], f"theo mục {d.number} («theo dõi, đôn đốc …»)"
    issuer = header.issuer
    if issuer.value and issuer.span:
        ref = AgencyRefDraft(
            surface=issuer.raw or issuer.value,
            code=issuer.value,
            role=MentionRole.LEAD,
            confidence=0.4,
            span=issuer.span,
            reason="tạm lấy cơ quan ban hành",
            inherited=True,
        )
        return [
            ref
        ], "văn bản không giao cơ quan theo dõi, đôn đốc; tạm để cơ quan ban hành — chọn lại cơ quan theo dõi"
    return [], "văn bản không giao cơ quan theo dõi, đôn đốc; cần chọn cơ quan theo dõi"
