"""Read a notice file (.txt, .md, .docx) into text with its line structure, or refuse it clearly."""

from __future__ import annotations

import codecs
import io
import unicodedata
import zipfile
import zlib
from pathlib import Path

import docx
from docx.opc.exceptions import PackageNotFoundError
from docx.table import Table
from docx.text.paragraph import Paragraph
from lxml.etree import LxmlError

from domain.archive_guard import UnsafeArchiveError, check_archive

MAX_NOTICE_BYTES = 5_000_000
TEXT_SUFFIXES = (".txt", ".md", ".markdown", ".text")
DOCX_SUFFIXES = (".docx",)
# What python-docx lets escape from a damaged package (bad XML, truncated or corrupt members, missing parts).
_DAMAGED_PACKAGE_ERRORS = (LxmlError, zlib.error, EOFError, OSError, IndexError, AttributeError, TypeError)


class NoticeReadError(ValueError):
    """A notice file that cannot be read; message_vi names the file (and the line when known)."""

    def __init__(self, path: str, reason_vi: str, line: int | None = None):
        self.path = path
        self.reason_vi = reason_vi
        self.line = line
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {reason_vi}")

    @property
    def message_vi(self) -> str:
        """The full Vietnamese message: file[:line]: reason."""
        return str(self)


def decode_text(data: bytes, name: str) -> str:
    """Decode UTF-8 (with or without BOM) or UTF-16 with BOM; refuse anything else in Vietnamese."""
    if data.startswith(codecs.BOM_UTF8):
        encoding, body = "utf-8", data[len(codecs.BOM_UTF8) :]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding, body = "utf-16", data
    else:
        encoding, body = "utf-8", data
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError as exc:
        line = body[: exc.start].count(b"\n") + 1 if encoding == "utf-8" else None
        raise NoticeReadError(
            name,
            "không đọc được: tệp không ở bảng mã UTF-8 (hoặc UTF-16 có BOM). Tệp có thể đang ở bảng mã cũ "
            "(TCVN3/ABC, VNI, Windows-1258); hãy mở bằng trình soạn thảo và lưu lại dưới dạng UTF-8",
            line,
        ) from None
    if "\x00" in text:
        raise NoticeReadError(
            name, "tệp có ký tự NUL: có thể là UTF-16 không có BOM hoặc tệp nhị phân; hãy lưu lại dưới dạng UTF-8"
        )
    text = text.lstrip("\ufeff")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _docx_lines(data: bytes, name: str) -> list[str]:
    """Return the paragraphs of a DOCX body in order, table cells included, one per line."""
    try:
        # A zip bomb would expand to gigabytes inside python-docx: read only the zip directory first.
        check_archive(io.BytesIO(data))
    except UnsafeArchiveError as exc:
        raise NoticeReadError(name, f"không mở tệp .docx: {exc}") from None
    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise NoticeReadError(
            name, f"tệp .docx bị hỏng hoặc không phải tệp Word (.docx) hợp lệ ({type(exc).__name__})"
        ) from None
    except _DAMAGED_PACKAGE_ERRORS as exc:
        raise NoticeReadError(name, f"tệp .docx bị hỏng, không đọc được ({type(exc).__name__})") from None
    lines: list[str] = []
    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            lines.append(block.text)
        elif isinstance(block, Table):
            # The two-column header (issuer | motto, number | place and date) is usually a table.
            for row in block.rows:
                seen: set[int] = set()
                for cell in row.cells:
                    if id(cell._tc) in seen:  # merged cells repeat
                        continue
                    seen.add(id(cell._tc))
                    lines.extend(p.text for p in cell.paragraphs)
            lines.append("")
    return lines


def read_notice_text(path: Path) -> str:
    """Read FILE.txt / FILE.md / FILE.docx into NFC text with "\\n" line ends; raise NoticeReadError."""
    name = str(path)
    if not path.exists():
        raise NoticeReadError(name, "không tìm thấy tệp")
    if path.is_dir():
        raise NoticeReadError(name, "đây là thư mục, không phải tệp")
    size = path.stat().st_size
    if size > MAX_NOTICE_BYTES:
        raise NoticeReadError(name, f"tệp quá lớn ({size:,} byte; tối đa {MAX_NOTICE_BYTES:,} byte)".replace(",", "."))
    data = path.read_bytes()
    suffix = path.suffix.lower()
    if suffix in DOCX_SUFFIXES:
        text = "\n".join(_docx_lines(data, name))
    elif suffix in TEXT_SUFFIXES or suffix == "":
        if data.startswith(b"PK\x03\x04"):
            raise NoticeReadError(name, "tệp có nội dung dạng nén (có thể là .docx); hãy đặt đúng đuôi .docx")
        text = decode_text(data, name)
    elif suffix == ".doc":
        raise NoticeReadError(name, "không đọc được tệp Word cũ (.doc); hãy lưu lại dưới dạng .docx hoặc .txt")
    elif suffix == ".pdf":
        raise NoticeReadError(name, "chưa đọc trực tiếp tệp PDF; hãy chuyển sang văn bản (.txt) trước")
    else:
        raise NoticeReadError(name, f"không hỗ trợ loại tệp «{path.suffix}»; chỉ nhận .txt, .md, .docx")
    text = unicodedata.normalize("NFC", text)
    if not text.strip():
        raise NoticeReadError(name, "tệp trống, không có nội dung")
    return text
