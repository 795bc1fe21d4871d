"""Every file of a periodic report: charts, workbook and document, in one folder."""

from __future__ import annotations

from pathlib import Path

from domain.report_model import ReportModel
from tasks.reporting.common import ReportMeta


def write_all(meta: ReportMeta, model: ReportModel, out_dir: Path) -> list[Path]:
    """Write the charts, the workbook and the document; return their paths (document first)."""
    # Imported here, not at the top: matplotlib, XlsxWriter and python-docx (lxml) weigh about 70 MB, and
    # loading them only once the history has been read and dropped keeps the report's peak under 300 MB
    # at 100,000 assignments (bench/README.md).
    from tasks.reporting.charts import write_charts  # noqa: PLC0415
    from tasks.reporting.word import write_docx  # noqa: PLC0415
    from tasks.reporting.workbook import write_xlsx  # noqa: PLC0415

    out_dir.mkdir(parents=True, exist_ok=True)
    charts = write_charts(meta, model, out_dir)
    xlsx = write_xlsx(meta, model, out_dir / f"{meta.base_name}.xlsx")
    docx = write_docx(meta, model, charts, out_dir / f"{meta.base_name}.docx")
    return [docx, xlsx, *charts]
