"""The periodic report, one module per concern.

build     what to report on, the bulk read of the history, the figures (ReportConfig, Scope, Built)
record    the run record and the outbox rows, once per scope and period
markdown  the Prefect markdown and table artifacts
workbook  the XLSX (XlsxWriter, streamed)
word      the DOCX in Vietnamese administrative form
charts    the PNG charts
documents every file of a report
steps     the Prefect tasks the periodic-report flow runs
"""
