"""Assemble the draft: header, body structure and directive units into a NoticeDraftText with review notes."""

from __future__ import annotations

import re
from datetime import date

from domain.notice_parser.agencies import AgencyMatcher
from domain.notice_parser.builder import Builder, Unit
from domain.notice_parser.deadline import directive_deadline
from domain.notice_parser.directory import AgencyDirectoryLike
from domain.notice_parser.document import Doc, clean, norm_low, vi_pattern
from domain.notice_parser.header import Header, parse_header
from domain.notice_parser.models import (
    AgencyRefDraft,
    MentionRole,
    MetaValue,
    NoticeDraftText,
    NoticeParseError,
    ParsedDirective,
)
from domain.notice_parser.role_rules import COOPERATES, main_verb
from domain.notice_parser.roles import Assignment, merge_roles
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
    """Directory names close to an unknown one and of the same kind (same first word: Sở, Văn phòng …)."""
    head = norm_low(surface).split()[:1]
    return [label for label in directory.closest(surface, limit=5) if norm_low(label).split()[:1] == head][:3]


def _to_ref(doc: Doc, a: Assignment, directory: AgencyDirectoryLike) -> AgencyRefDraft:
    """Turn a decided role into the result model."""
    m = a.mention
    known = m.code is not None
    conf = a.confidence if known else min(a.confidence, 0.5)
    suggestions = [] if known else _suggest(directory, m.surface)
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
    )


def parse_notice_text(text: str, directory: AgencyDirectoryLike, *, source_name: str) -> NoticeDraftText:
    """Read a conclusion notice's text and draft its metadata, directives, agencies and deadlines."""
    if not text or not text.strip():
        raise NoticeParseError(source_name, "văn bản trống, không có nội dung")
    if len(text) > MAX_NOTICE_CHARS:
        raise NoticeParseError(
            source_name,
            f"văn bản quá dài ({_grouped(len(text))} ký tự; tối đa {_grouped(MAX_NOTICE_CHARS)}): một Thông báo kết luận thường chỉ "
            "vài chục nghìn ký tự — hãy kiểm tra lại tệp, hoặc tách thành nhiều văn bản",
        )
    doc = Doc.of(text)
    matcher = AgencyMatcher(directory)
    header = parse_header(doc, matcher, source_name)
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
            f"«Yêu cầu …» hay «… chủ trì …»){marker_hint}: văn bản có lẽ không phải Thông báo kết luận",
        )
    directives = [_directive(doc, u, builder, directory, reference) for u in builder.units]
    _dedupe_numbers(directives)

    placeholder = header.number.value is None
    number = _placeholder_number(doc, header, reference, directory) if placeholder else header.number
    monitors, monitors_note = _monitors(doc, directives, header)
    warnings: list[str] = []
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
    )


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


def _directive(
    doc: Doc, u: Unit, builder: Builder, directory: AgencyDirectoryLike, reference: date | None
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
    refs = [_to_ref(doc, a, directory) for a in keep]
    mentions = [_to_ref(doc, a, directory) for a in others]
    if not refs:
        review.append("văn bản không nêu cơ quan thực hiện mục này; cần phân công (ít nhất một cơ quan chủ trì)")
    elif not any(r.role is MentionRole.LEAD for r in refs):
        review.append("chưa có cơ quan chủ trì (role: lead) cho mục này")
    for r in refs:
        if not r.known:
            hint = f"; gần giống: {', '.join(r.suggestions)}" if r.suggestions else ""
            review.append(
                f"cơ quan «{r.surface}» không có trong danh mục — thêm vào config/agencies.yaml hoặc sửa tên{hint}"
            )
    deadline = directive_deadline(doc, u.start, u.end, reference)
    conf = u.confidence
    if not refs:
        conf = min(conf, 0.6)
    if u.synthetic:
        review.append("văn bản không đánh số mục này; số mục do máy đặt")
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
