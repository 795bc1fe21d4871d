"""Report links for messages and their revocation: signing with the configured key, and the database side.

The signing itself is pure (`domain.signed_links`); this module adds the settings (key, public
URL, lifetime) and the per-agency revocation kept in the `link_revocation` table.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select

from config.intake import IntakeConfigError, IntakeSettings, get_intake_settings
from domain.safe_text import nfc
from domain.signed_links import link_url
from models import Agency, AuditEvent
from models.intake import LinkRevocation

logger = logging.getLogger("dondoc.intake")


def report_link(assignment_id: int, agency_code: str, *, settings: IntakeSettings, now: datetime | None = None) -> str:
    """The signed report link for an assignment; raises IntakeConfigError when the intake is not configured."""
    now = now or datetime.now(UTC)
    key = settings.keys()[0]
    return link_url(settings.base_url, assignment_id, agency_code, now, timedelta(days=settings.intake_link_days), key)


_warned: set[str] = set()


def report_link_or_none(assignment_id: int, agency_code: str, *, now: datetime | None = None) -> str | None:
    """The link for a message payload, or None (logged once) when the intake is not configured."""
    # The follow-up calls this deep inside message building, so the settings are read here (cached).
    settings = get_intake_settings()
    if not settings.links_enabled:
        return None
    try:
        return report_link(assignment_id, agency_code, settings=settings, now=now)
    except IntakeConfigError as exc:
        if str(exc) not in _warned:
            _warned.add(str(exc))
            logger.warning("Messages go out without a report link: %s", exc)
        return None


def links_revoked_before(agency_id: int, *, session: Session) -> datetime | None:
    """Links of this agency issued before this time are revoked (None: no revocation)."""
    return session.exec(select(LinkRevocation.not_before).where(LinkRevocation.agency_id == agency_id)).first()


def revoke_links(agency_code: str, *, revoked_by: str, reason: str | None, now: datetime, session: Session) -> None:
    """Revoke every link of one agency issued up to now (newer links keep working)."""
    agency = session.exec(select(Agency).where(Agency.code == nfc(agency_code).strip())).first()
    if agency is None:
        raise LookupError(f"không có cơ quan mã «{agency_code}»")
    row = session.exec(select(LinkRevocation).where(LinkRevocation.agency_id == agency.id)).first()
    if row is None:
        row = LinkRevocation(agency_id=agency.id, not_before=now, reason=reason, revoked_by=revoked_by)  # type: ignore[arg-type]  # id is set by the database
        session.add(row)
    else:
        row.not_before, row.reason, row.revoked_by, row.updated_at = now, reason, revoked_by, now
    session.add(
        AuditEvent(
            at=now,
            actor=revoked_by,
            action="intake.links_revoked",
            entity_type="agency",
            entity_id=agency.id,
            details={"not_before": now.isoformat(), "reason": reason},
        )
    )
