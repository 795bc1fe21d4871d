"""Write a draft as a notice file (YAML) with comments that say where each value came from and what to check.

Written directly rather than through ruamel.yaml: the draft is a fixed shape of a dozen keys whose value is in
its comments (wrapped, «# KIỂM TRA:» next to the value concerned). ruamel attaches such comments only through
per-key calls with explicit indents, writes None as an empty value, and resolves plain scalars by YAML 1.2
while the importer reads with PyYAML (YAML 1.1); the few lines below are shorter and pinned by tests.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Mapping
from datetime import date
from typing import Any

from domain.notice_parser.models import (
    REVIEW_THRESHOLD,
    UNSPECIFIED_RECURRENCE,
    AgencyRefDraft,
    MentionRole,
    NoticeDraftText,
    ParsedDirective,
    Priority,
    SourceSpan,
)

CHECK = "KIỂM TRA:"
_WIDTH = 96
_EVERY_VI = {"month": "hằng tháng", "quarter": "hằng quý", "half_year": "6 tháng một lần", "year": "hằng năm"}


def _q(value: str) -> str:
    """A YAML double-quoted scalar (JSON string syntax is valid YAML)."""
    return json.dumps(value, ensure_ascii=False)


def _scalar(value: Any) -> str:
    """A YAML flow scalar for a rule field."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    text = str(value)
    if text.replace("-", "").replace("_", "").isalnum() and text.isascii():
        return text
    return _q(text)


def _flow(mapping: dict[str, Any]) -> str:
    """A one-line YAML flow mapping."""
    return "{" + ", ".join(f"{k}: {_scalar(v)}" for k, v in mapping.items()) + "}"


def _comment(text: str, indent: int, check: bool = False) -> list[str]:
    """Comment lines (wrapped), prefixed with KIỂM TRA: when a person must act."""
    prefix = " " * indent + "# " + (CHECK + " " if check else "")
    lines = textwrap.wrap(text, width=max(40, _WIDTH + 4 - len(prefix)), break_long_words=False, break_on_hyphens=False)
    rest = " " * indent + "#   "
    return [prefix + lines[0]] + [rest + line for line in lines[1:]] if lines else []


def _folded(key: str, text: str, indent: int) -> list[str]:
    """key: >- with the text wrapped (a folded scalar joins the lines back with single spaces)."""
    pad = " " * (indent + 2)
    lines = textwrap.wrap(text, width=_WIDTH - len(pad), break_long_words=False, break_on_hyphens=False)
    return [" " * indent + f"{key}: >-"] + [pad + line for line in lines]


def _conf(value: float) -> str:
    """A confidence as Vietnamese readers write decimals."""
    return f"{value:.2f}".replace(".", ",")


def _lines_of(span: SourceSpan | None) -> str:
    """'dòng 12' or 'dòng 12–14'."""
    if span is None:
        return "không rõ dòng"
    return f"dòng {span.line_start}" if span.line_start == span.line_end else f"dòng {span.line_start}–{span.line_end}"


def _ref_line(ref: AgencyRefDraft, indent: int) -> list[str]:
    """One assignment entry with a comment saying where it came from and why."""
    entry = " " * indent + "- " + _flow({"agency": ref.yaml_agency, "role": ref.role})
    why = f"«{ref.surface}», {_lines_of(ref.span)}: {ref.reason} (độ tin cậy {_conf(ref.confidence)})"
    out: list[str] = []
    if ref.generic:
        out += _comment(
            f"«{ref.surface}» là cụm từ chung (nhiều cơ quan không nêu tên) — thay bằng mã các cơ quan hoặc một nhóm",
            indent,
            True,
        )
    elif not ref.known:
        out += _comment(ref.outside_directory_note(), indent, True)
    elif ref.confidence < REVIEW_THRESHOLD:
        out += _comment(f"vai trò chưa chắc chắn — {why}", indent, True)
    if ref.is_group:
        why += f"; nhóm gồm {len(ref.members)} cơ quan"
    out += _comment(why, indent) if ref.known and ref.confidence >= REVIEW_THRESHOLD else []
    out.append(entry)
    return out


def render_draft_yaml(
    draft: NoticeDraftText, *, due_notes: Mapping[str, str] | None = None, generated_on: date | None = None
) -> str:
    """Write the draft in the notice-file format, with comments marking what a person must check.

    due_notes maps a directive number to the explanation of its computed due date (see the CLI), shown next to
    the deadline.
    """
    out: list[str] = []
    when = f" ngày {generated_on:%d/%m/%Y}" if generated_on else ""
    out += [
        f"# BẢN NHÁP do `dondoc parse` đọc từ «{draft.source_name}»{when}. CẦN NGƯỜI KIỂM TRA trước khi `dondoc import`.",
        "# Mỗi dòng «# KIỂM TRA:» là một chỗ phải xem lại (độ tin cậy thấp, cơ quan chưa có trong danh mục, thiếu",
        "# thời hạn, số thông báo tạm); sửa xong thì xóa dòng đó. «dòng N» là dòng trong tệp văn bản gốc.",
    ]
    for w in draft.warnings:
        out += _comment(w, 0, True)
    out.append("notice:")
    n = draft.number
    if draft.number_is_placeholder:
        out += _comment(n.note or "số tạm", 2, True)
    elif n.confidence < REVIEW_THRESHOLD:
        out += _comment(f"số thông báo chưa chắc chắn ({_lines_of(n.span)})", 2, True)
    else:
        out += _comment(f"«{n.raw}», {_lines_of(n.span)}", 2)
    out.append(f"  number: {_q(n.value or '')}")
    out.append(f"  number_is_placeholder: {'true' if draft.number_is_placeholder else 'false'}")
    d = draft.date
    if d.value is None:
        out += _comment("không tìm thấy ngày ban hành; ghi ngày dạng YYYY-MM-DD", 2, True)
        out.append("  date: null")
    else:
        text = f"«{d.raw}», {_lines_of(d.span)} (độ tin cậy {_conf(d.confidence)})" + (f" — {d.note}" if d.note else "")
        out += _comment(text, 2, d.confidence < REVIEW_THRESHOLD)
        out.append(f"  date: {d.value}")
    i = draft.issuer
    if i.value is None:
        raw = i.raw or ""
        out += _comment(
            f"chưa xác định được cơ quan ban hành{(' (văn bản ghi «' + raw + '»)') if raw else ''}; ghi mã cơ quan trong danh mục",
            2,
            True,
        )
        out.append(f"  issuer: {_q(raw)}")
    else:
        out += _comment(
            f"«{i.raw}», {_lines_of(i.span)}: {i.note} (độ tin cậy {_conf(i.confidence)})",
            2,
            i.confidence < REVIEW_THRESHOLD,
        )
        out.append(f"  issuer: {i.value}")
    t = draft.title
    if t.value:
        out += _comment(f"tiêu đề, {_lines_of(t.span)}", 2, t.confidence < REVIEW_THRESHOLD)
        out += _folded("title", t.value, 2)
    else:
        out += _comment("không tìm thấy tiêu đề (trích yếu); hãy ghi vào", 2, True)
        out.append(f"  title: {_q('')}")
    out.append(f"  source_file: {_q(draft.source_name)}")
    if draft.monitors:
        low = any(m.confidence < REVIEW_THRESHOLD or m.inherited or not m.known for m in draft.monitors)
        out += _comment(f"cơ quan theo dõi, đôn đốc: {draft.monitors_note}", 2, low)
        out.append("  monitors:")
        for m in draft.monitors:
            out.append("    - " + _flow({"agency": m.yaml_agency, "role": m.role}))
    else:
        out += _comment(draft.monitors_note or "cần chọn cơ quan theo dõi, đôn đốc", 2, True)
        out.append("  monitors: []")
    out.append("")
    out.append("directives:")
    for directive in draft.directives:
        out += _render_directive(directive, due_notes or {})
    return "\n".join(out).rstrip() + "\n"


def _render_directive(directive: ParsedDirective, due_notes: Mapping[str, str]) -> list[str]:
    """One directive entry with its review comments."""
    out: list[str] = [""]
    label = f"«{directive.label}»" if directive.label else "không đánh số"
    out += _comment(
        f"Mục {directive.number} ({label}), {_lines_of(directive.span)}; độ tin cậy {_conf(directive.confidence)}", 2
    )
    for note in directive.review:
        if any(said in note for said in ("không có trong danh mục", "cơ quan ngoài danh mục", "là cụm từ chung")):
            continue  # said next to the agency itself
        out += _comment(note, 2, True)
    if directive.confidence < REVIEW_THRESHOLD and not directive.review:
        out += _comment("mục này được nhận ra với độ tin cậy thấp; xem lại văn bản gốc", 2, True)
    out.append(f"  - number: {_q(directive.number)}")
    out += _folded("text", directive.text, 4)
    if directive.assignments:
        out.append("    assignments:")
        for ref in directive.assignments:
            out += _ref_line(ref, 6)
    else:
        out.append("    assignments: []")
    for m in directive.mentions:
        out += _comment(discarded_mention_note(m), 4)
    dl = directive.deadline
    out.append("    deadline:")
    if dl.rule is None:
        out += _comment("văn bản không nêu thời hạn; tạm để «thường xuyên» (ongoing) — sửa nếu có hạn", 6, True)
        out.append("      phrase: null")
        out.append("      rule: {kind: ongoing}")
    else:
        low = dl.confidence < REVIEW_THRESHOLD
        out += _comment(f"«{dl.phrase}», {_lines_of(dl.span)} (độ tin cậy {_conf(dl.confidence)})", 6, low)
        due = due_notes.get(directive.number)
        if due:
            out += _comment(due, 6)
        out.append(f"      phrase: {_q(dl.phrase or '')}")
        out.append(f"      rule: {_flow(dl.rule)}")
    for note in dl.notes:
        if "không nêu thời hạn" in note or (dl.recurrence == UNSPECIFIED_RECURRENCE and "không nêu chu kỳ" in note):
            continue
        out += _comment(note, 4, True)
    if dl.recurrence == UNSPECIFIED_RECURRENCE:
        out += _comment("«định kỳ» không nêu chu kỳ; tạm đặt hằng quý — sửa theo chế độ báo cáo", 4, True)
        out.append("    recurrence: {every: quarter}")
    elif dl.recurrence:
        out += _comment(f"«{dl.recurrence_phrase}»: báo cáo {_EVERY_VI.get(dl.recurrence, dl.recurrence)}", 4)
        out.append(f"    recurrence: {{every: {dl.recurrence}}}")
    if dl.priority is Priority.URGENT:
        out.append("    priority: urgent")
    return out


def discarded_mention_note(ref: AgencyRefDraft) -> str:
    """Why a body named in a directive is not assigned anything, so that no mention is silently dropped."""
    if ref.role is MentionRole.RECIPIENT:
        return f"«{ref.surface}» ({_lines_of(ref.span)}) chỉ nhận báo cáo/tham mưu, không giao việc"
    return f"«{ref.surface}» ({_lines_of(ref.span)}) không được giao việc: {ref.reason}"


def summary_vi(draft: NoticeDraftText, yaml_text: str) -> str:
    """A short Vietnamese summary of what was found and what needs checking."""
    refs = [r for d in draft.directives for r in d.assignments]
    leads = sum(r.role is MentionRole.LEAD for r in refs)
    unknown = sorted({r.surface for r in refs if not r.known})
    with_deadline = sum(d.deadline.rule is not None for d in draft.directives)
    checks = yaml_text.count(CHECK)
    number = (draft.number.value or "") + (" (số tạm)" if draft.number_is_placeholder else "")
    day = f" ngày {draft.issued_on:%d/%m/%Y}" if draft.issued_on else ""
    lines = [
        f"Đã đọc «{draft.source_name}»: thông báo {number}{day}.",
        f"{len(draft.directives)} mục; {len(refs)} lượt giao việc ({leads} chủ trì, {len(refs) - leads} phối hợp); "
        f"{with_deadline}/{len(draft.directives)} mục có thời hạn.",
    ]
    if unknown:
        lines.append(f"{len(unknown)} cơ quan chưa có trong danh mục: {', '.join(unknown)}.")
    lines.append(f"Cần kiểm tra {checks} chỗ (đánh dấu «# {CHECK}» trong bản nháp).")
    return "\n".join(lines)
