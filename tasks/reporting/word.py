"""The periodic report as a DOCX in Vietnamese administrative form (Party document layout), with python-docx."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from pathlib import Path
from typing import Any

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt

from domain.labels import ROLE_VI
from domain.report_model import (
    OBLIGATION_STATES_VI,
    ON_TIME_RATE_METHOD_VI,
    Grid,
    GroupRow,
    ReportModel,
    percent_vi,
    update_rows,
)
from domain.report_periods import date_line_vi
from domain.workdays import format_date_vi
from tasks.reporting.common import (
    DOCUMENT_FONT,
    GRID_HEADERS,
    ReportMeta,
    atomic,
    change_lines,
    due_text,
    extension_values,
    grid_values,
    group_title,
    intro_vi,
    item_label,
    normalise_zip,
    score_text,
    texts,
    update_values,
)


def _docx_base(doc: Any) -> None:
    """A4, margins of a Party document, Times New Roman 14."""

    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(20), Mm(20)
    section.left_margin, section.right_margin = Mm(30), Mm(15)
    normal = doc.styles["Normal"]
    normal.font.name = DOCUMENT_FONT
    normal.font.size = Pt(14)
    normal.element.rPr.rFonts.set(qn("w:eastAsia"), DOCUMENT_FONT)
    normal.paragraph_format.space_after = Pt(6)


def _para(
    container: Any,
    text: str = "",
    *,
    bold: bool = False,
    italic: bool = False,
    underline: bool = False,
    size: float | None = None,
    align: str = "justify",
    indent: bool = False,
    space_after: float | None = None,
) -> Any:
    """A paragraph with one run."""

    paragraph = container.add_paragraph()
    paragraph.alignment = {
        "justify": WD_ALIGN_PARAGRAPH.JUSTIFY,
        "center": WD_ALIGN_PARAGRAPH.CENTER,
        "left": WD_ALIGN_PARAGRAPH.LEFT,
        "right": WD_ALIGN_PARAGRAPH.RIGHT,
    }[align]
    if indent:
        paragraph.paragraph_format.first_line_indent = Cm(1.27)
    if space_after is not None:
        paragraph.paragraph_format.space_after = Pt(space_after)
    if text:
        run = paragraph.add_run(text)
        run.bold, run.italic, run.underline = bold, italic, underline
        if size:
            run.font.size = Pt(size)
    return paragraph


def _table(
    doc: Any,
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    widths_cm: Sequence[float],
    *,
    bold_last: bool = False,
    size: float = 11,
) -> Any:
    """A bordered table with a repeated, bold header row (cells written through the XML once: fast enough for long lists)."""

    table = doc.add_table(rows=1 + len(rows), cols=len(headers))
    table.style = "Table Grid"
    header_props = table.rows[0]._tr.get_or_add_trPr()
    repeat = OxmlElement("w:tblHeader")
    repeat.set(qn("w:val"), "true")
    header_props.append(repeat)
    for r_index, values in enumerate([list(headers), *[list(r) for r in rows]]):
        cells = table.rows[r_index].cells
        for c_index, value in enumerate(values):
            cell = cells[c_index]
            cell.width = Cm(widths_cm[c_index])
            paragraph = cell.paragraphs[0]
            paragraph.paragraph_format.space_after = Pt(0)
            numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
            paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER if r_index == 0 or numeric else WD_ALIGN_PARAGRAPH.LEFT
            run = paragraph.add_run("" if value is None else str(value))
            run.font.size = Pt(size)
            run.bold = r_index == 0 or (bold_last and r_index == len(rows))
    _para(doc, space_after=2)
    return table


def _grid_table_rows(rows: Sequence[GroupRow], total: Grid | None) -> list[list[Any]]:
    """Rows of a grid table, with the total row when given."""
    out: list[list[Any]] = [[i, r.label, *grid_values(r.grid)] for i, r in enumerate(rows, start=1)]
    if total is not None:
        out.append(["", "Cộng", *grid_values(total)])
    return out


GRID_WIDTHS = (1.0, 4.2, 1.6, 2.0, 2.0, 2.0, 1.6, 2.0)


def write_docx(meta: ReportMeta, model: ReportModel, charts: Sequence[Path], path: Path) -> Path:
    """Write the report in Vietnamese administrative form (Party document layout)."""

    limit, several, total = meta.document_rows, meta.several, model.total

    def write(target: Path) -> None:
        doc = Document()
        _docx_base(doc)
        _docx_header(doc, meta)
        _para(doc, "BÁO CÁO", bold=True, size=16, align="center", space_after=0)
        _para(doc, meta.heading, bold=True, align="center", space_after=0)
        _para(doc, "-----", align="center")
        _para(doc, intro_vi(meta), indent=True)
        _para(doc, "I. KẾT QUẢ THỰC HIỆN", bold=True)
        _para(doc, "1. Tổng hợp chung", bold=True, indent=True)
        _para(
            doc,
            (
                f"Tổng số {total.total} việc (mỗi việc là một nội dung giao cho một cơ quan chủ trì hoặc phối hợp), trong đó: "
                f"hoàn thành đúng hạn {total.on_time} việc; hoàn thành quá hạn {total.late} việc; đang thực hiện trong hạn "
                f"{total.in_progress} việc; quá hạn {total.overdue} việc. Tỷ lệ hoàn thành đúng hạn đạt {percent_vi(total.on_time_rate)} "
                f"({total.on_time}/{total.due} việc đã đến hạn)."
            ),
            indent=True,
        )
        _para(doc, ON_TIME_RATE_METHOD_VI, italic=True, indent=True, size=12)
        if several:
            _para(doc, "Bảng 1a. Tổng hợp theo thông báo", italic=True, align="center", size=12, space_after=2)
            rows = _grid_table_rows(model.by_notice[:limit], total)
            _table(doc, ["STT", "Thông báo", *GRID_HEADERS], rows, GRID_WIDTHS, bold_last=True)
            if len(model.by_notice) > limit:
                _para(
                    doc,
                    f"(Bảng chỉ nêu {limit}/{len(model.by_notice)} thông báo; số liệu đầy đủ trong tệp Excel kèm theo.)",
                    italic=True,
                    size=12,
                )
        _para(doc, "Bảng 1. Tổng hợp theo mục", italic=True, align="center", size=12, space_after=2)
        shown = model.by_directive[:limit]
        _table(
            doc, ["STT", group_title(meta), *GRID_HEADERS], _grid_table_rows(shown, total), GRID_WIDTHS, bold_last=True
        )
        if len(model.by_directive) > limit:
            _para(
                doc,
                f"(Bảng chỉ nêu {limit}/{len(model.by_directive)} mục; dòng Cộng tính tất cả; số liệu đầy đủ trong tệp Excel kèm theo.)",
                italic=True,
                size=12,
            )
        if charts:
            doc.add_picture(str(charts[0]), width=Cm(16))
        _para(doc, "2. So với kỳ trước", bold=True, indent=True)
        for line in change_lines(meta, model):
            if line:
                _para(doc, line, indent=True)
        if len(charts) > 2:
            doc.add_picture(str(charts[2]), width=Cm(15))
        _para(doc, "3. Theo cơ quan", bold=True, indent=True)
        _para(doc, "Bảng 2. Tổng hợp theo cơ quan", italic=True, align="center", size=12, space_after=2)
        _table(doc, ["STT", "Cơ quan", *GRID_HEADERS], _grid_table_rows(model.by_agency, None), GRID_WIDTHS)
        if len(charts) > 1:
            doc.add_picture(str(charts[1]), width=Cm(16))
        _para(doc, "II. VIỆC QUÁ HẠN", bold=True)
        if model.overdue:
            _para(
                doc,
                f"Tính đến hết ngày {format_date_vi(meta.period.cutoff)} có {len(model.overdue)} việc quá hạn "
                "(số ngày quá hạn tính theo ngày làm việc):",
                indent=True,
            )
            _para(doc, "Bảng 3. Việc quá hạn", italic=True, align="center", size=12, space_after=2)
            rows = [
                [i, item_label(x, several), x.agency_name, ROLE_VI[x.role], due_text(x), x.timeliness.days_overdue]
                for i, x in enumerate(model.overdue[:limit], start=1)
            ]
            _table(
                doc,
                ["STT", "Mục", "Cơ quan", "Vai trò", "Hạn", "Số ngày làm việc quá hạn"],
                rows,
                (1.0, 1.6, 4.4, 1.8, 4.0, 2.4),
            )
            if len(model.overdue) > limit:
                _para(
                    doc,
                    f"(Bảng chỉ nêu {limit}/{len(model.overdue)} việc quá hạn nhiều ngày nhất; danh sách đầy đủ trong tệp Excel, trang «Quá hạn».)",
                    italic=True,
                    size=12,
                )
        else:
            _para(doc, "Không có việc quá hạn.", indent=True)
        if model.late:
            names = "; ".join(
                f"{x.agency_name} (mục {item_label(x, several)}, {x.timeliness.days_overdue} ngày làm việc)"
                for x in model.late[:limit]
            )
            _para(doc, f"Việc hoàn thành quá hạn ({len(model.late)}): {names}.", indent=True)
        _para(doc, "III. GIA HẠN", bold=True)
        if model.extensions:
            _para(
                doc,
                f"Trong kỳ có {len(model.extensions)} lượt gia hạn được phê duyệt (tổng số đến ngày chốt số liệu: {model.extensions_total}):",
                indent=True,
            )
            rows = [
                [i, *texts(extension_values(x, e, several))]
                for i, (x, e) in enumerate(model.extensions[:limit], start=1)
            ]
            _table(
                doc,
                ["STT", "Mục", "Cơ quan", "Hạn cũ", "Hạn mới", "Lý do", "Người duyệt"],
                rows,
                (1.0, 1.4, 3.2, 2.2, 2.2, 3.4, 2.6),
            )
        else:
            _para(
                doc,
                f"Trong kỳ không có việc được gia hạn (tổng số lượt gia hạn đến ngày chốt số liệu: {model.extensions_total}).",
                indent=True,
            )
        _para(doc, "IV. NHIỆM VỤ THƯỜNG XUYÊN — THỰC HIỆN CHẾ ĐỘ BÁO CÁO ĐỊNH KỲ", bold=True)
        if model.obligations:
            _para(
                doc,
                "Các nhiệm vụ thường xuyên không có một thời hạn hoàn thành; việc thực hiện được đánh giá theo kỳ báo cáo "
                "định kỳ gần nhất đã đến hạn của từng cơ quan:",
                indent=True,
            )
            rows = [[i, r.label, *r.counts.values()] for i, r in enumerate(model.obligations[:limit], start=1)]
            _table(doc, ["STT", "Mục", *OBLIGATION_STATES_VI.values()], rows, (1.0, 3.0, 3.0, 3.0, 3.0, 3.0))
        else:
            _para(doc, "Không có nhiệm vụ thường xuyên.", indent=True)
        _para(doc, "V. CẬP NHẬT MỚI NHẤT TRONG KỲ", bold=True)
        if model.updates:
            rows = [
                [i, *texts(update_values(row, several))]
                for i, row in enumerate(update_rows(model.updates)[:limit], start=1)
            ]
            _table(
                doc,
                ["STT", "Ngày", "Mục", "Cơ quan", "Trạng thái", "Số văn bản", "Nội dung"],
                rows,
                (1.0, 2.2, 1.4, 3.0, 2.4, 2.4, 4.0),
                size=10,
            )
        else:
            _para(doc, "Trong kỳ không có báo cáo tiến độ mới.", indent=True)
        if model.ranking_method_vi:  # empty when the ranking is switched off in config/reporting.yaml
            _para(doc, "VI. XẾP HẠNG CƠ QUAN", bold=True)
            _para(doc, f"Phương pháp: {model.ranking_method_vi}", italic=True, indent=True, size=12)
            rows = [
                [r.rank, r.agency_name, score_text(r.score), r.grid.total, r.grid.overdue, r.days_overdue]
                for r in model.ranking[:limit]
            ]
            _table(
                doc,
                ["Hạng", "Cơ quan", "Điểm", "Số việc", "Quá hạn", "Số ngày làm việc quá hạn"],
                rows,
                (1.4, 6.0, 1.8, 1.8, 1.8, 2.6),
            )
        _para(doc, "VII. ĐỀ XUẤT" if model.ranking_method_vi else "VI. ĐỀ XUẤT", bold=True)
        for text in _proposals(meta, model):
            _para(doc, text, indent=True)
        _para(
            doc,
            f"Trên đây là báo cáo {meta.heading[0].lower() + meta.heading[1:]} của {meta.issuer_name}.",
            indent=True,
        )
        _docx_footer(doc, meta)
        props = doc.core_properties
        props.title = f"Báo cáo {meta.heading}"
        props.author = props.last_modified_by = meta.issuer_name
        props.created = props.modified = meta.generated_at.astimezone(UTC).replace(tzinfo=None, microsecond=0)
        props.revision = 1
        doc.save(str(target))
        normalise_zip(target, meta.generated_at)

    return atomic(path, write)


def _proposals(meta: ReportMeta, model: ReportModel) -> list[str]:
    """Proposals that follow from the figures."""
    out = []
    if model.overdue:
        agencies = sorted({x.agency_name for x in model.overdue})
        shown = ", ".join(agencies[: meta.document_rows]) + (" …" if len(agencies) > meta.document_rows else "")
        out.append(
            f"Đề nghị các cơ quan có việc quá hạn ({shown}) khẩn trương hoàn thành, báo cáo kết quả; trường hợp "
            "cần thêm thời gian thì đề nghị gia hạn, nêu rõ lý do."
        )
    missing = sum(r.counts.get("missing", 0) for r in model.obligations)
    if missing:
        out.append(f"Đề nghị các cơ quan chưa báo cáo định kỳ ({missing} lượt) gửi báo cáo theo quy định.")
    out.append(
        "Đề nghị các cơ quan tiếp tục cập nhật tiến độ, kèm số văn bản báo cáo, để việc tổng hợp được kịp thời, chính xác."
    )
    return out


def _layout_table(doc: Any, widths_cm: tuple[float, float]) -> Any:
    """A borderless two-column layout table of fixed widths (Word and LibreOffice both honour the grid)."""

    table = doc.add_table(rows=1, cols=2)
    table.autofit = False
    props = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), "nil")
        borders.append(element)
    props.append(borders)
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    props.append(layout)
    for column, cell, width in zip(table.columns, table.rows[0].cells, widths_cm, strict=True):
        column.width = cell.width = Cm(width)
    return table


def _cell_line(
    cell: Any,
    text: str,
    *,
    bold: bool = False,
    italic: bool = False,
    underline: bool = False,
    size: float = 13,
    first: bool = False,
    align: str = "center",
) -> None:
    """One centred line in a layout cell."""

    paragraph = cell.paragraphs[0] if first else cell.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER if align == "center" else WD_ALIGN_PARAGRAPH.LEFT
    paragraph.paragraph_format.space_after = Pt(0)
    run = paragraph.add_run(text)
    run.bold, run.italic, run.underline = bold, italic, underline
    run.font.size = Pt(size)


# The header's columns: the issuing body on the left; the Party's name (or the national motto) and the
# place-and-date line on the right, wide enough for "Bắc Giang, ngày 20 tháng 12 năm 2022" on one line.
HEADER_WIDTHS = (6.2, 10.3)
FOOTER_WIDTHS = (8.0, 8.5)
SIGNATURE_SPACE = 4  # empty lines left for the signature and the seal


def _docx_header(doc: Any, meta: ReportMeta) -> None:
    """Issuing body and number on the left; the Party's name (or the national motto), place and date on the right."""

    left, right = _layout_table(doc, HEADER_WIDTHS).rows[0].cells
    issuer = meta.issuer
    _cell_line(left, issuer.parent.upper(), first=True, size=13 if issuer.system == "state" else 14)
    _cell_line(left, issuer.name.upper(), bold=True, size=13 if issuer.system == "state" else 14)
    if issuer.system == "state":
        _cell_line(left, "", size=6)
        _cell_line(left, f"Số:       /BC-{issuer.symbol}", size=13)
        _cell_line(right, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", bold=True, first=True, size=13)
        _cell_line(right, "Độc lập - Tự do - Hạnh phúc", bold=True, underline=True, size=14)
    else:
        _cell_line(left, "*", size=14)
        _cell_line(left, f"Số       -BC/{issuer.symbol}", size=14)
        _cell_line(right, "ĐẢNG CỘNG SẢN VIỆT NAM", bold=True, underline=True, first=True, size=15)
    _cell_line(right, "", size=8)
    _cell_line(right, date_line_vi(meta.place, meta.send_on), italic=True, size=14)
    _para(doc, space_after=6)


def _docx_footer(doc: Any, meta: ReportMeta) -> None:
    """ "Nơi nhận" on the left; the signature block on the right: authority, title, room to sign, name."""

    left, right = _layout_table(doc, FOOTER_WIDTHS).rows[0].cells
    # Party documents underline "Nơi nhận" (size 14, list 12); state documents set it bold italic (12, list 11).
    state = meta.issuer.system == "state"
    _cell_line(
        left,
        "Nơi nhận:",
        bold=state,
        italic=state,
        underline=not state,
        first=True,
        size=12 if state else 14,
        align="left",
    )
    items = [*meta.recipients_vi, meta.issuer.archive]
    for index, name in enumerate(items):
        _cell_line(left, f"- {name}{'.' if index == len(items) - 1 else ','}", size=11 if state else 12, align="left")
    signer = meta.issuer.signer
    lines = [signer.authority, signer.title] if signer.authority else [signer.title]
    for index, line in enumerate(lines):
        _cell_line(right, line, bold=True, first=index == 0, size=14)
    for _ in range(SIGNATURE_SPACE):
        _cell_line(right, "", size=14)
    _cell_line(right, signer.name, bold=True, size=14)
