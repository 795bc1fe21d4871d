"""The periodic report for Prefect: the markdown artifact and the table artifacts, and publishing them.

Every markdown table goes through domain.markdown.markdown_table, and every outside text in a
sentence through domain.safe_text.markdown_text: an agency name or a note must not change the page.
"""

from __future__ import annotations

from typing import Any

from prefect.artifacts import create_markdown_artifact, create_table_artifact

from domain.labels import ROLE_VI
from domain.markdown import markdown_table
from domain.report_model import OBLIGATION_STATES_VI, ON_TIME_RATE_METHOD_VI, Grid, ReportModel, percent_vi, update_rows
from domain.report_periods import ReportPeriod, date_line_vi
from domain.safe_text import markdown_text
from domain.text import ascii_slug
from domain.workdays import format_date_vi
from tasks.reporting.common import (
    GRID_HEADERS,
    ReportMeta,
    change_lines,
    due_text,
    extension_values,
    grid_values,
    group_title,
    intro_vi,
    item_label,
    score_text,
    texts,
    update_text,
    update_values,
)

# --- table artifacts ---------------------------------------------------------------------------------


def directive_table_rows(meta: ReportMeta, model: ReportModel) -> list[dict[str, Any]]:
    """The grid per directive (and the total), for a table artifact."""
    rows = [_grid_row(group_title(meta), r.label, r.grid) for r in model.by_directive]
    return [*rows, _grid_row(group_title(meta), "Cộng", model.total)]


def _grid_row(first: str, label: str, grid: Grid) -> dict[str, Any]:
    """One grid row as a dict with Vietnamese keys."""
    return dict(zip([first, *GRID_HEADERS], [label, *grid_values(grid)], strict=True))


def agency_table_rows(model: ReportModel) -> list[dict[str, Any]]:
    """Agencies in rank order, with their grid, score and working days overdue."""
    return [
        {
            "Hạng": r.rank,
            "Cơ quan": r.agency_name,
            "Điểm": score_text(r.score),
            "Chủ trì": r.lead,
            "Phối hợp": r.support,
            **dict(zip(GRID_HEADERS, grid_values(r.grid), strict=True)),
            "Tổng số ngày làm việc quá hạn": r.days_overdue,
        }
        for r in model.ranking
    ]


def overdue_table_rows(model: ReportModel, limit: int) -> list[dict[str, Any]]:
    """The overdue items, most overdue first."""
    several = len(model.by_notice) > 1
    return [
        {
            "Mục": item_label(x, several),
            "Cơ quan": x.agency_name,
            "Vai trò": ROLE_VI[x.role],
            "Hạn": due_text(x),
            "Số ngày làm việc quá hạn": x.timeliness.days_overdue,
            "Cập nhật gần nhất": update_text(x),
        }
        for x in model.overdue[:limit]
    ]


def _more(total: int, shown: int) -> list[str]:
    """A note when a list was cut."""
    return ["", f"*… và {total - shown} mục khác (xem đầy đủ trong tệp Excel).*"] if total > shown else []


def _table(headers: list[str], rows: list[list[Any]]) -> list[str]:
    """A markdown table as lines of the report."""
    return markdown_table(headers, rows).split("\n")


def report_markdown(meta: ReportMeta, model: ReportModel) -> str:
    """The report as markdown, for the Prefect artifact (lists cut to document_rows)."""
    limit, several, total = meta.document_rows, meta.several, model.total
    heading = markdown_text(meta.heading[0].lower() + meta.heading[1:])
    out = [
        f"# Báo cáo {heading}",
        "",
        markdown_text(f"{meta.issuer_name} · {date_line_vi(meta.place, meta.send_on)} · {meta.window_vi}."),
        "",
        markdown_text(intro_vi(meta)),
        "",
        "## I. Kết quả chung",
        "",
        f"Tổng số **{total.total}** việc: hoàn thành đúng hạn **{total.on_time}**, hoàn thành quá hạn **{total.late}**, "
        f"đang thực hiện trong hạn **{total.in_progress}**, quá hạn **{total.overdue}**. "
        f"Tỷ lệ hoàn thành đúng hạn: **{percent_vi(total.on_time_rate)}** ({total.on_time}/{total.due}).",
        "",
        f"*{markdown_text(ON_TIME_RATE_METHOD_VI)}*",
        "",
    ]
    rows = [[r.label, *grid_values(r.grid)] for r in model.by_directive[:limit]] + [["Cộng", *grid_values(total)]]
    out += _table([group_title(meta), *GRID_HEADERS], rows)
    out += _more(len(model.by_directive), min(limit, len(model.by_directive)))
    out += ["", "## II. So với kỳ trước", "", *change_lines(meta, model, markdown_text)]
    out += ["", "## III. Việc quá hạn", ""]
    if model.overdue:
        out += _table(
            ["Mục", "Cơ quan", "Vai trò", "Hạn", "Số ngày làm việc quá hạn"],
            [
                [item_label(x, several), x.agency_name, ROLE_VI[x.role], due_text(x), x.timeliness.days_overdue]
                for x in model.overdue[:limit]
            ],
        )
        out += _more(len(model.overdue), limit)
    else:
        out.append("Không có việc quá hạn.")
    out += ["", "## IV. Gia hạn trong kỳ", ""]
    if model.extensions:
        out += _table(
            ["Mục", "Cơ quan", "Hạn cũ", "Hạn mới", "Lý do", "Người duyệt"],
            [texts(extension_values(x, e, several)) for x, e in model.extensions[:limit]],
        )
        out += _more(len(model.extensions), limit)
    else:
        out.append("Không có việc được gia hạn trong kỳ.")
    out += ["", f"Tổng số lượt gia hạn đến ngày chốt số liệu: {model.extensions_total}."]
    out += ["", "## V. Nhiệm vụ thường xuyên — báo cáo định kỳ", ""]
    if model.obligations:
        out += _table(
            ["Mục", *OBLIGATION_STATES_VI.values()], [[r.label, *r.counts.values()] for r in model.obligations[:limit]]
        )
    else:
        out.append("Không có nhiệm vụ thường xuyên.")
    out += ["", "## VI. Cập nhật mới nhất trong kỳ", ""]
    if model.updates:
        collapsed = update_rows(model.updates)
        out += _table(
            ["Ngày", "Mục", "Cơ quan", "Trạng thái", "Số văn bản", "Nội dung"],
            [texts(update_values(row, several)) for row in collapsed[:limit]],
        )
        out += _more(len(collapsed), limit)
    else:
        out.append("Không có báo cáo tiến độ mới trong kỳ.")
    out += ["", "## VII. Xếp hạng cơ quan", ""]
    if model.ranking_method_vi:
        out += [f"*Phương pháp: {markdown_text(model.ranking_method_vi)}*", ""]
        out += _table(
            ["Hạng", "Cơ quan", "Điểm", "Số việc", "Quá hạn", "Số ngày làm việc quá hạn"],
            [
                [r.rank, r.agency_name, score_text(r.score), r.grid.total, r.grid.overdue, r.days_overdue]
                for r in model.ranking[:limit]
            ],
        )
        out += _more(len(model.ranking), limit)
    else:
        out.append("Không xếp hạng (tắt trong config/reporting.yaml).")
    out += ["", "## VIII. Xu hướng các kỳ", ""]
    out += _table(["Kỳ", *GRID_HEADERS], [[p.label_vi, *grid_values(p.grid)] for p in model.trend])
    return "\n".join(out) + "\n"


# --- publishing --------------------------------------------------------------------------------------


def artifact_key(slug: str, period: ReportPeriod, part: str | None = None) -> str:
    """Artifact key of a report (lowercase letters, digits and dashes): dondoc-bao-cao-<scope>-<period>[-part]."""
    key = f"dondoc-bao-cao-{slug}-{ascii_slug(period.label)}"
    return f"{key}-{part}" if part else key


def publish_artifacts(meta: ReportMeta, model: ReportModel) -> list[str]:
    """Publish the markdown report and its tables (summary by directive, by agency with ranking, overdue)."""
    title = f"{meta.title} — {meta.period.label_vi}"
    keys = [artifact_key(meta.slug, meta.period)]
    create_markdown_artifact(markdown=report_markdown(meta, model), key=keys[0], description=f"Báo cáo {title}")
    tables = (
        ("tong-hop", directive_table_rows(meta, model), "Tổng hợp theo mục"),
        ("co-quan", agency_table_rows(model), "Theo cơ quan, có xếp hạng"),
        ("qua-han", overdue_table_rows(model, meta.document_rows * 10), "Việc quá hạn"),
    )
    for part, rows, what in tables:
        key = artifact_key(meta.slug, meta.period, part)
        create_table_artifact(
            table=rows,
            key=key,
            description=f"{what} — {title} (số liệu đến hết ngày {format_date_vi(meta.period.cutoff)})",
        )
        keys.append(key)
    return keys
