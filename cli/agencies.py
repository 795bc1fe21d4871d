"""`dondoc agencies import FILE` and `dondoc agencies template FILE`: load another province's agency directory."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import console, err, fail, require_database
from config.settings import get_settings

# At most this many codes are listed per kind of change; the counts are always given.
SHOWN_CODES = 20


def import_agencies(
    path: Annotated[
        Path, typer.Argument(metavar="FILE", help="Danh mục cơ quan: .yaml (dạng agencies.yaml) hoặc .xlsx.")
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Chỉ kiểm tra và cho biết sẽ thay đổi gì; không ghi gì.")
    ] = False,
) -> None:
    """Nhập danh mục cơ quan của một tỉnh (YAML hoặc XLSX): kiểm tra toàn bộ, rồi thay agencies.yaml và bảng cơ quan cùng lúc."""
    from tasks.agencies_import import DirectoryRefused, import_directory

    require_database()
    config_dir = get_settings().config_dir
    try:
        result = import_directory(path, config_dir, dry_run=dry_run)
    except DirectoryRefused as exc:
        err.print(f"[bold red]Lỗi:[/] danh mục không hợp lệ, không ghi gì ({len(exc.problems)} lỗi):", highlight=False)
        for problem in exc.problems:
            err.print(f"  {problem}", highlight=False, markup=False)
        raise typer.Exit(1) from None
    except OSError as exc:
        raise fail(f"không ghi được danh mục vào «{config_dir}»: {exc.strerror}; không có gì bị ghi dở") from None
    directory, changes = result.directory, result.changes
    head = "Xem trước (--dry-run, không ghi gì)" if dry_run else "Đã nhập"
    console.print(
        f"{head}: danh mục cơ quan tỉnh {directory.province} từ {path.name} — "
        f"{len(directory.agencies)} cơ quan, {len(directory.groups)} nhóm.",
        highlight=False,
        markup=False,
    )
    if changes.province[0] and changes.province[0] != changes.province[1]:
        console.print(f"  Tỉnh: {changes.province[0]} → {changes.province[1]}", highlight=False, markup=False)
    for label, codes in (
        ("Cơ quan thêm mới", changes.added),
        ("Cơ quan thay đổi", changes.changed),
        ("Cơ quan bỏ khỏi danh mục", changes.removed),
        ("Nhóm thêm mới", changes.groups_added),
        ("Nhóm thay đổi", changes.groups_changed),
        ("Nhóm bỏ khỏi danh mục", changes.groups_removed),
    ):
        shown = ", ".join(codes[:SHOWN_CODES]) + (
            f" … (+{len(codes) - SHOWN_CODES})" if len(codes) > SHOWN_CODES else ""
        )
        console.print(f"  {label}: {len(codes)}" + (f" ({shown})" if codes else ""), highlight=False, markup=False)
    if not changes.any:
        console.print("  Danh mục không thay đổi.", highlight=False)
    if dry_run:
        console.print(f"Chạy lại không có --dry-run để ghi vào {result.target} và cơ sở dữ liệu.", highlight=False)
    else:
        console.print(f"Đã ghi {result.target} và cập nhật bảng cơ quan trong cơ sở dữ liệu.", highlight=False)


def template(
    path: Annotated[Path, typer.Argument(metavar="FILE", help="Tệp .xlsx mẫu sẽ tạo.")],
    force: Annotated[bool, typer.Option("--force", help="Ghi đè nếu tệp đã có.")] = False,
) -> None:
    """Tạo tệp XLSX mẫu để điền danh mục cơ quan (trang «Cơ quan», «Nhóm» và hướng dẫn)."""
    from tasks.agencies_workbook import write_template

    if path.suffix.lower() != ".xlsx":
        raise fail("tệp mẫu phải có đuôi .xlsx")
    if path.exists() and not force:
        raise fail(f"tệp «{path}» đã có; dùng --force để ghi đè")
    try:
        write_template(path)
    except OSError as exc:
        raise fail(f"không ghi được «{path}»: {exc.strerror}") from None
    console.print(f"Đã tạo tệp mẫu {path}. Điền rồi nhập bằng: dondoc agencies import {path}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add the directory commands to the `agencies` command group."""
    app.command("import")(import_agencies)
    app.command("template")(template)
