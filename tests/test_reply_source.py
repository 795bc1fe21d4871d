"""The `imap` kind of config/status_sources.yaml: validated on load, and polled like any other source."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlmodel import Session, select

from config.loader import ConfigError
from config.settings import PACKAGED_CONFIG_DIR
from config.status_sources import SourceSpec, load_status_sources
from models import StatusUpdate, get_engine
from models.db import session_scope
from models.intake import PollCursor
from tasks.polling import poll_source
from tests.intake_helpers import assignment_id, import_sample, use_intake
from tests.test_replies import (  # noqa: F401
    REMINDER_AT,
    REPLY_AT,
    follow_up,
    hnd_office_address,
    reminder_message_id,
    reply_mail,
    smtp,
)

if TYPE_CHECKING:
    pass

pytest_plugins = ("tests.imap_server",)  # the dovecot and imap_account fixtures


def _config_with(tmp_path: Path, sources_yaml: str) -> Path:
    target = tmp_path / "config"
    shutil.copytree(PACKAGED_CONFIG_DIR, target, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    (target / "status_sources.yaml").write_text(sources_yaml, encoding="utf-8")
    return target


def test_imap_source_is_validated_with_located_vietnamese_errors(tmp_path: Path) -> None:
    """An imap source needs host, user and password_env, uses no url or path, and may skip TLS only on loopback."""
    good = "sources:\n  - {name: thu-tra-loi, agency: VP_TU, kind: imap, host: imap.tinhuy.example, user: dondoc, password_env: DONDOC_IMAP_PASSWORD}\n"
    spec = load_status_sources(_config_with(tmp_path / "a", good)).sources[0]
    assert (spec.kind, spec.tls, spec.folder, spec.processed_folder) == ("imap", "ssl", "INBOX", "dondoc/da-xu-ly")
    bad = (
        "sources:\n"
        "  - {name: thieu, agency: VP_TU, kind: imap, host: imap.tinhuy.example, user: dondoc}\n"
        "  - {name: khong-ma-hoa, agency: VP_TU, kind: imap, host: imap.tinhuy.example, user: u, password_env: P, tls: none}\n"
        "  - {name: lan-url, agency: VP_TU, kind: imap, host: 127.0.0.1, user: u, password_env: P, url: https://x.example}\n"
    )
    with pytest.raises(ConfigError) as refused:
        load_status_sources(_config_with(tmp_path / "b", bad))
    text = str(refused.value)
    assert "status_sources.yaml:2: sources[0]: nguồn imap cần trường password_env" in text
    assert "status_sources.yaml:3: sources[1].tls: chỉ được tắt mã hóa" in text
    assert "status_sources.yaml:4: sources[2].url: nguồn imap không dùng trường url" in text


def test_polled_imap_source_records_replies_and_keeps_its_cursor(db, smtp, imap_account, monkeypatch) -> None:  # noqa: F811
    """poll_source reads the mailbox: the reply is recorded, a stranger's is held and counted as rejected."""
    use_intake(monkeypatch)
    import_sample()
    follow_up("2.6", REMINDER_AT)
    office = hnd_office_address()
    reminder_id = reminder_message_id(smtp, office)
    imap_account.append(reply_mail(office, reminder_id, "Đang thực hiện, đạt 70%."))
    imap_account.append(reply_mail("ai.do@gmail.example", reminder_id, "Đã hoàn thành."))
    monkeypatch.setenv("DONDOC_TEST_IMAP_PASSWORD", imap_account.password)
    spec = SourceSpec(
        name="thu-tra-loi",
        agency="VP_TU",
        kind="imap",
        host=imap_account.host,
        port=imap_account.port,
        tls="none",
        user=imap_account.user,
        password_env="DONDOC_TEST_IMAP_PASSWORD",
    )
    with session_scope() as session:
        outcome = poll_source(spec, session=session, now=REPLY_AT, force=True)
    assert (outcome.state, outcome.recorded, outcome.rejected) == ("ok", 1, 1), outcome.error
    assert "không phải đầu mối đã đăng ký" in outcome.problems[0]
    hnd = assignment_id("HND_TINH", "2.6")
    with Session(get_engine()) as session:
        updates = session.exec(select(StatusUpdate).where(StatusUpdate.assignment_id == hnd)).all()
        cursor = session.exec(select(PollCursor).where(PollCursor.source == "thu-tra-loi")).one()
    assert [(u.source, u.percent) for u in updates] == [("email-reply", 70)]
    assert cursor.cursor and cursor.cursor.endswith(":2") and cursor.failures == 0
    with session_scope() as session:
        again = poll_source(spec, session=session, now=REPLY_AT, force=True)
    assert (again.state, again.recorded, again.rejected) == ("ok", 0, 0)


def test_missing_password_is_a_source_down_not_a_crash(db, monkeypatch) -> None:
    """Without its password variable the source fails with a clear reason and a retry time."""
    monkeypatch.delenv("DONDOC_TEST_IMAP_PASSWORD", raising=False)
    import_sample()
    spec = SourceSpec(
        name="thu",
        agency="VP_TU",
        kind="imap",
        host="127.0.0.1",
        port=1,
        tls="none",
        user="u",
        password_env="DONDOC_TEST_IMAP_PASSWORD",
    )
    with session_scope() as session:
        outcome = poll_source(spec, session=session, force=True)
    assert outcome.state == "failed" and "DONDOC_TEST_IMAP_PASSWORD" in (outcome.error or "") and outcome.retry_at
