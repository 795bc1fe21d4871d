"""The status intake: signed report links and a Vietnamese web form, and an agency API.

Layers: `deps` (state, sessions, the API caller, error pages) ← `web`, `api` (routers) ← `app`
(the factory) ← `server` (uvicorn). Link signing lives below, in `domain.signed_links` and
`tasks.report_links`, so the follow-up can sign links without importing this package.
"""
