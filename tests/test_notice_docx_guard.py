"""`dondoc parse` refuses a .docx zip bomb from its zip directory, before python-docx expands anything (issue 12)."""

from __future__ import annotations

import io
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path

import docx
import pytest
import typer
from typer.testing import CliRunner

from cli.parse import register
from domain.archive_guard import MAX_UNCOMPRESSED_BYTES

runner = CliRunner()
DOCUMENT_XML = "word/document.xml"
ONE_GB = 1024**3
_BODY_START = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
    "<w:p><w:r><w:t>THÔNG BÁO</w:t></w:r></w:p><w:p><w:r><w:t>"
).encode()
_BODY_END = b"</w:t></w:r></w:p></w:body></w:document>"


def _app() -> typer.Typer:
    """A Typer app with just the parse command."""
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """Test root."""

    register(app)
    return app


def _small_docx() -> bytes:
    """A genuine one-paragraph .docx made by python-docx."""
    document = docx.Document()
    document.add_paragraph("THÔNG BÁO")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def compressed_bomb(path: Path, megabytes: int = 200) -> None:
    """A .docx whose document.xml is valid XML padded with `megabytes` MB of spaces: a few hundred KB on disk."""
    chunk = b" " * (1024 * 1024)
    with (
        zipfile.ZipFile(io.BytesIO(_small_docx())) as source,
        zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as target,
    ):
        for item in source.infolist():
            if item.filename != DOCUMENT_XML:
                target.writestr(item, source.read(item))
                continue
            # Streamed so the test itself never holds the expanded text.
            with target.open(DOCUMENT_XML, "w") as member:
                member.write(_BODY_START)
                for _ in range(megabytes):
                    member.write(chunk)
                member.write(_BODY_END)


def declared_bomb(path: Path, declared: int = ONE_GB) -> None:
    """A genuine small .docx whose zip headers declare document.xml at `declared` bytes once expanded."""
    data = bytearray(_small_docx())
    name = DOCUMENT_XML.encode()
    # Central directory entry: signature, then the uncompressed size at offset 24 and the name at offset 46.
    central = data.index(b"PK\x01\x02")
    while data[central + 46 : central + 46 + len(name)] != name:
        central = data.index(b"PK\x01\x02", central + 4)
    struct.pack_into("<I", data, central + 24, declared)
    local = struct.unpack_from("<I", data, central + 42)[0]  # the local header repeats the size at offset 22
    struct.pack_into("<I", data, local + 22, declared)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("build", [compressed_bomb, declared_bomb], ids=["nen-200MB", "khai-1GB"])
def test_parse_refuses_a_docx_bomb_from_its_zip_directory(tmp_path: Path, build: Callable[[Path], None]) -> None:
    path = tmp_path / "bom-nen.docx"
    build(path)
    assert path.stat().st_size < 2 * 1024 * 1024  # small on disk: the size check alone would let it through
    with zipfile.ZipFile(path) as archive:
        assert archive.getinfo(DOCUMENT_XML).file_size > MAX_UNCOMPRESSED_BYTES

    result = runner.invoke(_app(), ["parse", str(path)])

    assert result.exit_code == 2
    assert result.stdout == ""
    message = result.stderr
    # The guard's reason, which only check_archive produces. Without the guard (checked by removing it) the
    # 200 MB member is expanded in memory (530 MB resident, 11 s) before lxml gives up on it («bị hỏng»), and
    # the declared 1 GB one is opened and parsed as a notice with no directive.
    assert "Lỗi:" in message and "bom-nen.docx" in message
    assert "không mở tệp .docx: nội dung giải nén" in message and "vượt giới hạn 100 MB" in message
    assert "bị hỏng" not in message


def test_a_genuine_docx_still_passes_the_guard(tmp_path: Path) -> None:
    path = tmp_path / "that.docx"
    path.write_bytes(_small_docx())
    result = runner.invoke(_app(), ["parse", str(path)])
    # The guard lets it through; the parser then refuses it for its content (one paragraph, no directive).
    assert result.exit_code == 2 and "không mở tệp .docx" not in result.stderr
    assert "không tìm thấy mục công việc nào" in result.stderr
