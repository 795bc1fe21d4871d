"""Benchmark: how the notice parser scales with the size of the notice (250 KB, 1 MB, 5 MB of generated text).

Each text is a well-formed notice: the usual header and intro, then numbered sections of every shape the
parser meets (items with "chủ trì/phối hợp", headings with dash items, unnumbered "Giao …" paragraphs),
repeated until the size is reached, so directives grow with the text. The 5 MB text is above the reader's
file limit and the parser's length limit: both refuse it at once, with a Vietnamese message, which is recorded.
Prints one JSON object, then one human line. Target: every size parsed, or refused, in under 30 s.

    .venv/bin/python bench/parse_size.py [--sizes 250000,1000000,5000000]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from config.agencies import load_agencies
from config.settings import PACKAGED_CONFIG_DIR
from domain.notice_parser import NoticeParseError, NoticeReadError, parse_notice_text, read_notice_text

TARGET_SECONDS = 30.0
SIZES = (250_000, 1_000_000, 5_000_000)

HEADER = """TỈNH ỦY BẮC GIANG
Số 1420-TB/TU
ĐẢNG CỘNG SẢN VIỆT NAM
Bắc Giang, ngày 16 tháng 10 năm 2023

THÔNG BÁO
KẾT LUẬN CỦA THƯỜNG TRỰC TỈNH ỦY
về một chương trình rất dài

Ngày 08/10/2023, Thường trực Tỉnh ủy nghe báo cáo. Thường trực Tỉnh ủy kết luận như sau:

"""
FOOTER = """
Văn phòng Tỉnh ủy thông báo để các cơ quan, đơn vị biết, thực hiện./.

Nơi nhận:
- Như trên;
"""
# One section of each shape; {n} is the item number, {k} a running counter that keeps every text unique.
SECTIONS = (
    "{n}. Giao Sở Tài chính chủ trì, phối hợp với Sở Công Thương và UBND các huyện, thành phố rà soát "
    "nguồn vốn hỗ trợ sản phẩm số {k}, hoàn thành trước ngày 15/12/2023; định kỳ hằng quý báo cáo "
    "Thường trực Tỉnh ủy kết quả thực hiện.\n",
    "{n}. Nhiệm vụ về xúc tiến thương mại đợt {k}:\n"
    "- Sở Công Thương chủ trì tổ chức hội chợ, hoàn thành trong quý IV/2023.\n"
    "- Hội Nông dân tỉnh phối hợp với Liên minh Hợp tác xã tỉnh vận động hội viên tham gia; "
    "khẩn trương báo cáo Ban Thường vụ Tỉnh ủy.\n",
    "{n}. Đề nghị Ban cán sự đảng UBND tỉnh lãnh đạo UBND tỉnh chỉ đạo Sở Khoa học và Công nghệ "
    "hướng dẫn các chủ thể xây dựng mã số vùng trồng lô {k} trong 30 ngày làm việc.\n",
)
PARAGRAPH = (
    "Giao Sở Tài chính tham mưu bố trí kinh phí đợt {k}. Sở Công Thương chủ trì, phối hợp với Hội Nông dân "
    "tỉnh tổ chức tiêu thụ nông sản; xong trước ngày 30/11/2023. Báo Bắc Giang tuyên truyền thường xuyên.\n"
)


def generate(size: int) -> str:
    """A notice of at least `size` UTF-8 bytes, numbered items, headings with dash items and paragraphs."""
    parts = [HEADER]
    total = len(HEADER.encode())
    n = k = 0
    while total < size:
        k += 1
        if k % 7 == 0:
            piece = PARAGRAPH.format(k=k)
        else:
            n += 1
            piece = SECTIONS[k % len(SECTIONS)].format(n=n, k=k)
        parts.append(piece)
        total += len(piece.encode())
    parts.append(FOOTER)
    return "".join(parts)


def measure(size: int, directory: Any) -> dict[str, Any]:
    """Parse one generated text and time it; also check what the file reader says about it."""
    text = generate(size)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "thong-bao.txt"
        path.write_text(text, encoding="utf-8")
        try:
            read_notice_text(path)
            refused = None
        except NoticeReadError as exc:
            refused = exc.reason_vi
    started = time.perf_counter()
    try:
        draft = parse_notice_text(text, directory, source_name="thong-bao.txt")
        parser_refuses = None
    except NoticeParseError as exc:
        draft, parser_refuses = None, exc.reason_vi
    seconds = time.perf_counter() - started
    return {
        "bytes": len(text.encode()),
        "characters": len(text),
        "lines": text.count("\n") + 1,
        "directives": len(draft.directives) if draft else None,
        "assignments": sum(len(d.assignments) for d in draft.directives) if draft else None,
        "seconds": round(seconds, 2),
        "reader_refuses": refused,
        "parser_refuses": parser_refuses,
    }


def main() -> int:
    """Run every size, print JSON then one human line; exit 1 when a size misses the target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(str(s) for s in SIZES), help="comma-separated byte sizes")
    sizes = [int(s) for s in parser.parse_args().sizes.split(",")]
    directory = load_agencies(PACKAGED_CONFIG_DIR)
    runs = [measure(size, directory) for size in sizes]
    ok = all(r["seconds"] < TARGET_SECONDS for r in runs)
    print(json.dumps({"benchmark": "parse_size", "target_seconds": TARGET_SECONDS, "runs": runs}, ensure_ascii=False))
    figures = ", ".join(
        f"{r['bytes'] / 1e6:.2f} MB → "
        + (
            f"refused in {r['seconds']:.2f}s"
            if r["parser_refuses"]
            else f"{r['directives']} directives in {r['seconds']:.1f}s"
        )
        + (" (reader refuses the file too)" if r["reader_refuses"] else "")
        for r in runs
    )
    print(f"parse size: {figures} — {'target met' if ok else 'TARGET MISSED'} (< {TARGET_SECONDS:.0f}s each)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
