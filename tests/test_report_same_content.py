"""The periodic report says the same thing after the work on its speed (issue 17 item 4).

A small synthetic province (bench/synthetic.py, fixed seed: ongoing tasks, extensions, late and
overdue work, withdrawals) is reported for three quarters, on SQLite and on PostgreSQL. Every
artifact is reduced to a canonical text — the markdown, the table artifacts' rows, every cell of the
workbook with its value and look, every paragraph and table cell of the document, the content
hash — and each text's sha256 must equal the one the report made before the bulk read was streamed,
the judging done in one pass and the workbook's texts shared (main at 1eeefdd; the same held against
cd27f0c). Bytes of the XLSX are not compared: the same cells are now shared strings, no longer inline.

To record new fingerprints after an intended change of content: run this module with
DONDOC_PRINT_FINGERPRINTS=1 and -s, and paste what it prints into EXPECTED.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest
from docx import Document
from openpyxl import load_workbook

from bench import synthetic
from config.settings import get_settings
from models import get_engine
from models.db import session_scope
from tasks.reporting import build, history, markdown
from tasks.reporting.documents import write_all

SPEC = synthetic.Spec(notices=12, due=10, history=False, seed=1717)
PERIODS = ("2024-Q1", "2024-Q2", "2024-Q3")

EXPECTED: dict[str, dict[str, str]] = {
    "2024-Q1": {
        "content_hash": "39f1f22b2e1ce7d68f0616d7fb6c2e47f36017ef1eb4ad3bc0fc4761e9678a78",
        "markdown": "9516724df1999008d4e4390f2bb518ff6f97bb973b938a5fa24a7a504ea81b11",
        "tables": "b977bbc671a17004fc09a4c8bcf033fbc38ac9afec906faf09061af271e613cc",
        "xlsx": "ccf0f94e13099a3a0f72ea6373a9fd11e9db0a5e36f127207387eb774aba76ef",
        "docx": "7f988c34f71d5566314c05f9163caa18e98ed15765f37ef9d867b61ed8abf2fc",
    },
    "2024-Q2": {
        "content_hash": "e8adc4ddf3a3b9ef2b1b49d6f476bc60e67ba2ce09d131b4a00b0a01752b394f",
        "markdown": "0d2a638386b34f8f553d49ece15b14dc8e15226ce41555b4e6edc7567b4918c9",
        "tables": "59fa234332a400e0945a178087b965e3aaeb1abc195803fb2c39e4bec5069d1a",
        "xlsx": "222f72d4789d0872f964e0bd9bb7ee5bd405b27b4f38b96884be28fb82f0bc57",
        "docx": "c6ef9e8ce1b4d22b87942f75becdf3a333c835d38c9c7ae75eddfddcc3fcb50a",
    },
    "2024-Q3": {
        "content_hash": "54f8e77bb6353620a395d587d5701617c245115f7d46c09fc857c62f41a78ea3",
        "markdown": "80840cac9eab59700bf935a118f481de90f62243561c3d190847de4cf26813fc",
        "tables": "4a8ebaa3f12b2378196c9a1330863991d0da6953dd47228ea4357e43ee88fc65",
        "xlsx": "05473e7eb92d4b7b14ee8d0ce4fb406da55f6b3cbb7f9c67468c5c1458c0b571",
        "docx": "418b7669f04209b4f5e9cc7759adb0935f97b101d3377a3d99b167a2650e9e35",
    },
}


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _cells(path: Path) -> str:
    """Every written cell of every sheet: place, value, number format, font, alignment, border, fill, quotePrefix."""
    lines = []
    for ws in load_workbook(path).worksheets:
        lines.append(f"# {ws.title} {ws.dimensions} freeze={ws.freeze_panes} print_titles={ws.print_title_rows}")
        for row in ws.iter_rows():
            for c in row:
                if c.value is None and not c.has_style:
                    continue
                look = (
                    c.number_format,
                    c.font.b,
                    c.font.i,
                    c.font.sz,
                    c.alignment.horizontal,
                    c.alignment.wrap_text,
                    c.border.left.style,
                    c.fill.fgColor.rgb,
                    c.quotePrefix,
                )
                lines.append(f"{c.coordinate} {c.value!r} {look!r}")
    return "\n".join(lines)


def _document(path: Path) -> str:
    """Every paragraph of the document and every cell of its tables, in order."""
    doc = Document(str(path))
    lines = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        lines += [" | ".join(c.text for c in row.cells) for row in table.rows]
    for section in doc.sections:
        lines += [p.text for p in section.footer.paragraphs]
    return "\n".join(lines)


def fingerprints(out: Path) -> dict[str, dict[str, str]]:
    """The sha256 of each artifact's canonical text, per period, for the province in the configured database."""
    settings = get_settings()
    config = build.load_report_config(settings.config_dir, settings.enabled_channels)
    found: dict[str, dict[str, str]] = {}
    for label in PERIODS:
        (period,) = build.resolve(label, SPEC.as_of, config)
        with session_scope(read_only=True) as session:
            scope = build.resolve_scope(None, session=session)
            built = build.make_report(scope, period, SPEC.as_of, config, session=session)
        meta, model = built.meta, built.model
        tables: list[Any] = [
            markdown.directive_table_rows(meta, model),
            markdown.agency_table_rows(model),
            markdown.overdue_table_rows(model, meta.document_rows * 10),
        ]
        docx, xlsx = write_all(meta, model, out / label)[:2]
        found[label] = {
            "content_hash": built.content_hash,
            "markdown": _sha(markdown.report_markdown(meta, model)),
            "tables": _sha(json.dumps(tables, ensure_ascii=False, default=str)),
            "xlsx": _sha(_cells(xlsx)),
            "docx": _sha(_document(docx)),
        }
    return found


def test_the_report_of_a_province_is_unchanged(db, tmp_path: Path) -> None:
    synthetic.build(get_engine(), SPEC)
    found = fingerprints(tmp_path)
    if os.environ.get("DONDOC_PRINT_FINGERPRINTS"):
        print(json.dumps(found, indent=4))
    assert found == EXPECTED


def test_the_report_is_the_same_whatever_the_runs_the_history_is_read_in(
    db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Runs of 7 assignments: the shared update log and values start afresh inside directives, many times.
    monkeypatch.setattr(history, "RUN_ASSIGNMENTS", 7)
    synthetic.build(get_engine(), SPEC)
    assert fingerprints(tmp_path) == EXPECTED
