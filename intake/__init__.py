"""The status intake: signed report links and a Vietnamese web form, an agency API, XLSX imports.

Importing this package is cheap (no FastAPI): the follow-up imports `intake.links` to sign the
link every reminder carries, and `tasks.status_workbook` to read polled report folders.
"""
