"""The periodic report's charts (PNG, matplotlib's Agg canvas: no display, no global pyplot state)."""

from __future__ import annotations

import gc
from collections.abc import Sequence
from pathlib import Path

from matplotlib import rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from domain.report_model import CATEGORY_ORDER, GroupRow, ReportModel
from domain.timeliness import CATEGORY_VI, Category
from domain.workdays import format_date_vi
from tasks.reporting.common import ReportMeta, atomic

COLORS = {
    Category.on_time: "#2e7d32",
    Category.late: "#f9a825",
    Category.in_progress: "#1565c0",
    Category.overdue: "#c62828",
}
CHART_FONT = "DejaVu Sans"  # ships with matplotlib and has every Vietnamese letter


def _stacked_bars(groups: Sequence[GroupRow], title: str, path: Path) -> Path:
    """A horizontal stacked bar per group, in the four categories' colours."""

    def write(target: Path) -> None:
        with rc_context({"font.family": CHART_FONT}):
            height = max(3.0, 0.42 * len(groups) + 1.8)
            fig = Figure(figsize=(10, height), dpi=120)
            FigureCanvasAgg(fig)
            ax = fig.add_subplot()
            labels = [g.label for g in groups][::-1]
            left = [0] * len(groups)
            for c in CATEGORY_ORDER:
                values = [g.grid.count(c) for g in groups][::-1]
                ax.barh(labels, values, left=left, color=COLORS[c], label=CATEGORY_VI[c])
                left = [a + b for a, b in zip(left, values, strict=True)]
            ax.set_xlabel("Số việc")
            ax.set_title(title, fontsize=11)
            ax.legend(
                loc="upper center",
                bbox_to_anchor=(0.5, -0.12 if len(groups) > 3 else -0.25),
                ncol=4,
                fontsize=9,
                frameon=False,
            )
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            fig.tight_layout()
            fig.savefig(target, format="png", metadata={"Software": None})

    return atomic(path, write)


def _trend_chart(meta: ReportMeta, model: ReportModel, path: Path) -> Path:
    """Stacked columns per period, with the on-time rate as a line."""

    def write(target: Path) -> None:
        with rc_context({"font.family": CHART_FONT}):
            fig = Figure(figsize=(9, 4.8), dpi=120)
            FigureCanvasAgg(fig)
            ax = fig.add_subplot()
            labels = [p.label_vi for p in model.trend]
            bottom = [0] * len(labels)
            for c in CATEGORY_ORDER:
                values = [p.grid.count(c) for p in model.trend]
                ax.bar(labels, values, bottom=bottom, color=COLORS[c], label=CATEGORY_VI[c], width=0.55)
                bottom = [a + b for a, b in zip(bottom, values, strict=True)]
            ax.set_ylabel("Số việc")
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
            rates = [p.grid.on_time_rate for p in model.trend]
            twin = ax.twinx()
            twin.plot(
                [lbl for lbl, r in zip(labels, rates, strict=True) if r is not None],
                [float(r) * 100 for r in rates if r is not None],
                color="black",
                marker="o",
                label="Tỷ lệ hoàn thành đúng hạn (%)",
            )
            twin.set_ylim(0, 105)
            twin.set_ylabel("Tỷ lệ hoàn thành đúng hạn (%)")
            ax.set_title(f"Xu hướng qua các kỳ — đến {meta.period.label_vi}", fontsize=11)
            handles = ax.get_legend_handles_labels()
            extra = twin.get_legend_handles_labels()
            ax.legend(
                handles[0] + extra[0],
                handles[1] + extra[1],
                loc="upper center",
                bbox_to_anchor=(0.5, -0.1),
                ncol=3,
                fontsize=8,
                frameon=False,
            )
            fig.tight_layout()
            fig.savefig(target, format="png", metadata={"Software": None})

    return atomic(path, write)


def write_charts(meta: ReportMeta, model: ReportModel, out_dir: Path) -> list[Path]:
    """The three charts: by directive (by notice when several), by agency, trend over periods."""
    stamp = f"{meta.period.label_vi} (số liệu đến {format_date_vi(meta.period.cutoff)})"
    limit = meta.chart_groups
    if meta.several:
        groups, what, name = _largest(model.by_notice, limit), "thông báo", "theo-thong-bao"
    else:
        groups, what, name = model.by_directive[:limit], "mục", "theo-muc"
    extra = (
        f", {limit} nhóm nhiều việc nhất"
        if len(model.by_notice if meta.several else model.by_directive) > limit
        else ""
    )
    paths = [
        _stacked_bars(
            groups, f"Tình trạng thực hiện theo {what} — {stamp}{extra}", out_dir / f"{meta.base_name}-{name}.png"
        ),
        _stacked_bars(
            _largest(model.by_agency, limit),
            f"Tình trạng thực hiện theo cơ quan — {stamp}"
            + (f", {limit} cơ quan nhiều việc nhất" if len(model.by_agency) > limit else ""),
            out_dir / f"{meta.base_name}-theo-co-quan.png",
        ),
        _trend_chart(meta, model, out_dir / f"{meta.base_name}-xu-huong.png"),
    ]
    # A figure, its canvas and its artists refer to each other: dropped, they wait for a full collection, which
    # with a province's report in memory comes late. Collected now, their ~10 MB is reused by the workbook and
    # the document written next instead of adding to the report's peak (bench/README.md, issue 17).
    gc.collect()
    return paths


def _largest(rows: Sequence[GroupRow], limit: int) -> list[GroupRow]:
    """The limit groups with the most assignments, in their original order."""
    keep = {id(r) for r in sorted(rows, key=lambda r: -r.grid.total)[:limit]}
    return [r for r in rows if id(r) in keep]
