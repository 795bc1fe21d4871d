"""Refuse zip-based files (.xlsx, .docx) whose declared contents would expand far beyond their size: zip bombs."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from typing import IO

# An office file of a provincial notice or a status workbook is a few MB unpacked; these bounds leave ample room.
MAX_MEMBERS = 2_000
MAX_UNCOMPRESSED_BYTES = 100 * 1024 * 1024
MAX_RATIO = 200


@dataclass(frozen=True)
class ArchiveLimits:
    """The bounds one archive must respect."""

    max_members: int = MAX_MEMBERS
    max_uncompressed_bytes: int = MAX_UNCOMPRESSED_BYTES
    max_ratio: int = MAX_RATIO


class UnsafeArchiveError(ValueError):
    """The file is not a valid zip archive, or opening it would expand too far; the message is Vietnamese."""


def check_archive(source: str | IO[bytes], *, limits: ArchiveLimits = ArchiveLimits()) -> None:
    """Read only the zip directory of source and raise UnsafeArchiveError if it is damaged or a bomb."""
    try:
        with zipfile.ZipFile(source) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise UnsafeArchiveError(f"tệp không phải tệp nén Office hợp lệ ({type(exc).__name__})") from None
    if len(members) > limits.max_members:
        raise UnsafeArchiveError(f"tệp có {len(members)} thành phần, vượt giới hạn {limits.max_members}")
    total = sum(member.file_size for member in members)
    if total > limits.max_uncompressed_bytes:
        raise UnsafeArchiveError(
            f"nội dung giải nén {total // (1024 * 1024)} MB vượt giới hạn {limits.max_uncompressed_bytes // (1024 * 1024)} MB"
        )
    for member in members:
        if member.compress_size and member.file_size / member.compress_size > limits.max_ratio:
            raise UnsafeArchiveError(
                f"thành phần «{member.filename}» có tỉ lệ nén bất thường ({member.file_size // member.compress_size}:1)"
            )
