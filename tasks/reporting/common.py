"""What every writer of the periodic report shares: the heading data, the wording of cells and
sentences, and reproducible file writing (atomic, fixed zip timestamps).

Writers only format figures computed by domain/report_model.py. Files are reproducible: the same
figures and the same run record give the same bytes (fixed document times, fixed zip timestamps),
so a report made again does not come out different.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from domain.labels import STATUS_VI
from domain.report_model import (
    CATEGORY_ORDER,
    DeadlineEntry,
    Grid,
    ReportLine,
    ReportModel,
    UpdateRow,
    percent_vi,
    signed,
)
from domain.report_periods import ReportPeriod, period_label_vi
from domain.text import ascii_slug
from domain.timeliness import CATEGORY_VI, Category
from domain.workdays import VN_TZ, format_date_vi, local_date

GRID_HEADERS = ["Tổng số việc", *(CATEGORY_VI[c] for c in CATEGORY_ORDER), "Tỷ lệ hoàn thành đúng hạn"]
DOCUMENT_FONT = "Times New Roman"  # the font of administrative documents, in the DOCX and the XLSX


@dataclass(frozen=True)
class NoticeInfo:
    """What the report says about a notice."""

    notice_id: int
    number: str
    placeholder: bool
    issued_on: date
    title: str
    issuer_code: str
    issuer_name: str
    monitors: tuple[str, ...]
    lead_monitor: str | None


@dataclass(frozen=True)
class Signer:
    """Who signs the report: the authority line (T/M, K/T, T/L) if any, the title, the full name."""

    title: str
    name: str
    authority: str | None = None


@dataclass(frozen=True)
class IssuerHeading:
    """How the issuing body heads and signs its report."""

    parent: str
    name: str
    symbol: str
    signer: Signer
    system: str = "party"  # party: Party document layout; state: administrative (Decree 30/2020) layout
    archive: str = "Lưu Văn phòng"


@dataclass(frozen=True)
class Basis:
    """What the report rests on, as its opening sentence cites it.

    directive: the notice's own directive that tasks the issuer with following up and reporting ("2.7");
    document: a text cited as written (a decree); cutoff_rule: where the data window comes from.
    """

    directive: str | None = None
    document: str | None = None
    cutoff_rule: str | None = None


@dataclass(frozen=True)
class ReportMeta:
    """Everything around the figures: scope, period, dates, issuer, title, recipients, limits."""

    scope_key: str
    slug: str
    period: ReportPeriod
    previous_label_vi: str
    send_on: date
    generated_at: datetime
    place: str
    issuer: IssuerHeading
    issuer_name: str
    title: str
    notices: list[NoticeInfo]
    recipients_vi: list[str]
    basis: Basis = Basis()
    document_rows: int = 30
    chart_groups: int = 15

    @property
    def several(self) -> bool:
        """Whether the report covers more than one notice."""
        return len(self.notices) > 1

    @property
    def base_name(self) -> str:
        """File name stem: bao-cao-<scope>-<period>."""
        return f"bao-cao-{self.slug}-{ascii_slug(self.period.label)}"

    @property
    def window_vi(self) -> str:
        """The data window with its rule when one is configured: "số liệu từ ngày … đến ngày …[, rule]"."""
        window = f"số liệu {self.period.window_vi()}"
        return f"{window}, {self.basis.cutoff_rule}" if self.basis.cutoff_rule else window

    @property
    def heading(self) -> str:
        """The full title with the period: "Kết quả thực hiện … — quý IV/2022"."""
        return f"{self.title}, {self.period.label_vi}"


# --- shared wording ----------------------------------------------------------------------------------


def rate_cell(grid: Grid) -> float | None:
    """The on-time rate as a number for a spreadsheet cell (None when nothing is due yet)."""
    rate = grid.on_time_rate
    return float(rate) if rate is not None else None


def grid_values(grid: Grid) -> list[Any]:
    """Total, the four categories, the rate (as text)."""
    return [grid.total, *(grid.count(c) for c in CATEGORY_ORDER), percent_vi(grid.on_time_rate)]


def due_text(line: ReportLine) -> str:
    """The deadline as a cell: the date, or the periodic report's period and due date for ongoing work."""
    t = line.timeliness
    if line.directive.ongoing:
        if t.due is None:
            return "Thường xuyên"
        return f"Báo cáo {period_label_vi(t.period)}: {format_date_vi(t.due)}" if t.period else format_date_vi(t.due)
    if line.current_due is None:
        return "—"
    text = format_date_vi(line.current_due)
    if line.original_due is not None and line.current_due != line.original_due:
        text += f" (gia hạn từ {format_date_vi(line.original_due)})"
    return text


def update_text(line: ReportLine) -> str:
    """The latest update as a cell: "16/09/2022: Đang thực hiện 40%"."""
    u = line.last_update
    if u is None:
        return "Chưa có báo cáo"
    text = f"{format_date_vi(local_date(u.at))}: {STATUS_VI.get(u.status, u.status)}"
    return f"{text} {u.percent}%" if u.percent is not None and u.status != "done" else text


def days_overdue(line: ReportLine) -> int | None:
    """Working days overdue (or late); None when on schedule."""
    return line.timeliness.days_overdue if line.category in (Category.overdue, Category.late) else None


def item_label(line: ReportLine, several: bool) -> str:
    """ "2.3" or "1061-TB/TU · 2.3"."""
    return f"{line.directive.notice_number} · {line.directive.number}" if several else line.directive.number


def group_title(meta: ReportMeta) -> str:
    """Heading word of the first grid: by directive."""
    return "Mục" if not meta.several else "Thông báo, mục"


# --- sentences and cells shared by the writers ---------------------------------------------------


def intro_vi(meta: ReportMeta) -> str:
    """The opening sentence: what the report rests on (as configured), which period, which data window."""
    reports = f"{meta.issuer_name} báo cáo kết quả thực hiện {meta.period.label_vi} ({meta.window_vi}) như sau:"
    cited = f"Căn cứ {meta.basis.document}; " if meta.basis.document else ""
    if meta.several:
        numbers = ", ".join(n.number for n in meta.notices[:10]) + (" …" if len(meta.notices) > 10 else "")
        text = (
            f"{cited}thực hiện nhiệm vụ theo dõi, đôn đốc việc thực hiện {len(meta.notices)} thông báo kết luận "
            f"({numbers}), {reports}"
        )
    else:
        n = meta.notices[0]
        number = f"{n.number} (số tạm)" if n.placeholder else n.number
        title = " ".join(n.title.split())
        notice = f"Thông báo kết luận số {number} ngày {format_date_vi(n.issued_on)} của {n.issuer_name} ({title})"
        if meta.basis.directive:
            text = (
                f"{cited}thực hiện mục {meta.basis.directive} {notice} giao {meta.issuer_name} theo dõi, đôn đốc và "
                f"định kỳ báo cáo kết quả thực hiện, {reports}"
            )
        else:
            text = f"{cited}thực hiện {notice}, {reports}"
    return text[0].upper() + text[1:]


def score_text(score: Any) -> str:
    """A score with one decimal, Vietnamese style: 83,3."""
    return f"{float(score):.1f}".replace(".", ",").removesuffix(",0")


def plain(text: str) -> str:
    """Text as it is (the DOCX); the markdown writer passes domain.safe_text.markdown_text instead."""
    return text


def change_lines(meta: ReportMeta, model: ReportModel, escape: Callable[[str], str] = plain) -> list[str]:
    """The change since the previous period, as sentences (agency names passed through escape)."""
    change = model.change
    if change is None or not change.previous.total:
        return [f"Kỳ {meta.previous_label_vi} chưa có việc để so sánh."]
    deltas = "; ".join(
        f"{CATEGORY_VI[c].lower()} {change.previous.count(c)} → {change.current.count(c)} ({signed(change.delta(c))})"
        for c in CATEGORY_ORDER
    )
    lines = [
        f"So với kỳ {change.previous_label_vi}: {deltas}. Tỷ lệ hoàn thành đúng hạn: kỳ trước "
        f"{rate_words(change.previous)}, kỳ này {rate_words(change.current)}."
    ]
    several = meta.several
    for items, what in ((change.newly_overdue, "mới quá hạn"), (change.resolved, "hết quá hạn")):
        if items:
            names = ", ".join(
                escape(f"{x.agency_name} (mục {item_label(x, several)})") for x in items[: meta.document_rows]
            )
            lines += ["", f"Việc {what} trong kỳ ({len(items)}): {names}."]
    return lines


def rate_words(grid: Grid) -> str:
    """The on-time rate inside a sentence: "40%", or that nothing was due yet."""
    return percent_vi(grid.on_time_rate) if grid.on_time_rate is not None else "chưa có việc đến hạn"


def extension_values(line: ReportLine, entry: DeadlineEntry, several: bool) -> list[Any]:
    """Directive, agency, previous and new due dates (dates), reason, approver of one extension."""
    index = line.extensions.index(entry)
    before = line.extensions[index - 1].due if index else line.original_due
    return [item_label(line, several), line.agency_name, before, entry.due, entry.reason, entry.approved_by]


def senders_text(row: UpdateRow) -> tuple[str, str | None]:
    """The agency and document-number cells of an updates row.

    One agency: its name and number. Several with one number: "3 cơ quan: A, B, C" and that number.
    Several with their own numbers: "3 cơ quan: A (số 1), B (số 2), C" and "theo từng cơ quan".
    """
    names, numbers = row.agency_names, row.document_numbers
    if len(names) == 1:
        return names[0], numbers[0]
    if len(set(numbers)) == 1:
        return f"{len(names)} cơ quan: {', '.join(names)}", numbers[0]
    listed = ", ".join(f"{name} ({number})" if number else name for name, number in zip(names, numbers, strict=True))
    return f"{len(names)} cơ quan: {listed}", "theo từng cơ quan"


def update_values(row: UpdateRow, several: bool) -> list[Any]:
    """Date (a date), directive, agency or agencies, status, document number(s) and note of one updates row."""
    line, update = row.line, row.update
    status = STATUS_VI.get(update.status, update.status)
    if update.percent is not None and update.status != "done":
        status += f" {update.percent}%"
    agencies, number = senders_text(row)
    return [local_date(update.at), item_label(line, several), agencies, status, number, update.note]


def as_text(value: Any) -> str:
    """A cell value as the document prints it: dates DD/MM/YYYY, "—" for nothing."""
    if value is None or value == "":
        return "—"
    if isinstance(value, date):
        return format_date_vi(value)
    return str(value)


def texts(values: list[Any]) -> list[str]:
    """Every value of a row as text (as_text)."""
    return [as_text(v) for v in values]


# --- reproducible files ------------------------------------------------------------------------------

FILE_MODE = 0o644  # report files are read by the mail dispatcher and by colleagues: group- and world-readable
ZIP_CHUNK = 1 << 20


def _fixed_zip_time(when: datetime) -> tuple[int, int, int, int, int, int]:
    """A zip entry timestamp (local time, seconds even) from the report's generation time."""
    local = when.astimezone(VN_TZ)
    return (max(1980, local.year), local.month, local.day, local.hour, local.minute, local.second // 2 * 2)


def normalise_zip(path: Path, when: datetime) -> None:
    """Rewrite a zip container (XLSX, DOCX) with fixed entry times, so equal content gives equal bytes.

    Entries are streamed in chunks: a 100,000-row sheet is hundreds of MB of XML uncompressed.
    """
    stamp = _fixed_zip_time(when)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as target:
        for entry in source.infolist():
            info = zipfile.ZipInfo(entry.filename, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            with source.open(entry) as reader, target.open(info, "w", force_zip64=entry.file_size > 1 << 30) as writer:
                shutil.copyfileobj(reader, writer, ZIP_CHUNK)
    os.replace(tmp, path)


def atomic(path: Path, write: Callable[[Path], None]) -> Path:
    """Write a file through a temporary sibling and move it into place (no half-written reports), mode 0644."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        # mkstemp creates 0600: without this the files would be readable by their owner only.
        tmp.chmod(FILE_MODE)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
