"""Each agency's own task (issue 14 items 1 and 2): derived by the parser's matcher, stored at import, quoted in its
e-mails and first on its intake page; every e-mail to an assignee carries a link that opens that page."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient
from prefect.logging import disable_run_logger
from sqlmodel import Session, col, select

from config.agencies import load_agencies
from config.notice_file import read_notice_file
from config.settings import PACKAGED_CONFIG_DIR
from domain.notice_parser.agency_tasks import agency_tasks
from models import Assignment, Directive, Notification, get_engine
from tasks.notice_import import import_notice
from tests.intake_helpers import GIVEN, PUBLIC_URL, assignment_id, client, import_sample, use_intake
from tests.outbox_helpers import use_smtp
from tests.smtp_server import SMTPTestServer
from tests.test_intake_email import follow_up as follow_up_in_run
from tests.test_intake_email import local

SAMPLE = PACKAGED_CONFIG_DIR / "notices" / "tb-tu-2022-09-09-ocop.yaml"
DIRECTORY = load_agencies(PACKAGED_CONFIG_DIR)
SO_CT_OWN = (
    "Sở Công Thương tiếp tục đẩy mạnh triển khai các giải pháp cụ thể nhằm quảng bá, giới thiệu, xúc tiến thương mại "
    "và tiêu thụ các sản phẩm OCOP."
)
SO_KHCN_OWN = (
    "Sở Khoa học và Công nghệ tăng cường phối hợp chặt chẽ với hội nông dân trong xây dựng các đề tài nghiên cứu "
    "khoa học liên quan đến lĩnh vực nông nghiệp, nông dân, nông thôn."
)
HND_OWN_2_3 = "Hội Nông dân tỉnh rà soát, xem xét bổ sung các văn bản, quy chế phối hợp"
GROUP_SENTENCE_2_6 = (
    "Rà soát, tổng hợp, thống kê cụ thể việc xây dựng cơ chế phối hợp, hỗ trợ hội nông dân triển khai thực hiện "
    "Đề án của UBND các huyện, thành phố theo Thông báo kết luận số 1061-TB/TU."
)
LINK = re.compile(re.escape(PUBLIC_URL) + r"/r/v1\.[0-9]+\.[A-Z0-9_]+\.[0-9]+\.[0-9]+\.[A-Za-z0-9_-]{43}")


def follow_up(number: str, as_of: datetime) -> None:
    """The follow-up of one directive without Prefect (its run logger silenced: there is no run)."""
    with disable_run_logger():
        follow_up_in_run(number, as_of)


def sample_text(number: str) -> str:
    """The text of one directive of the sample notice."""
    data = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    return next(d["text"] for d in data["directives"] if d["number"] == number)


def body(mail: object) -> str:
    """The plain-text part of a received e-mail, on one line per paragraph."""
    return mail.message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[attr-defined]


def test_each_body_of_2_3_gets_its_own_sentence() -> None:
    tasks = agency_tasks(sample_text("2.3"), DIRECTORY, ["SO_CT", "SO_KHCN", "SO_TC", "HND_TINH"])

    assert tasks["SO_CT"] == SO_CT_OWN
    assert tasks["SO_KHCN"] == SO_KHCN_OWN
    # Named inside the sentence given to Ban cán sự đảng UBND tỉnh: that sentence is its task.
    assert tasks["SO_TC"].startswith("Ban cán sự đảng UBND tỉnh lãnh đạo UBND tỉnh chỉ đạo Sở Tài chính")
    assert tasks["HND_TINH"].startswith(HND_OWN_2_3) and SO_CT_OWN not in tasks["HND_TINH"]


def test_a_group_member_gets_the_group_sentence_and_an_unnamed_body_the_whole_text() -> None:
    text = sample_text("2.6")

    tasks = agency_tasks(text, DIRECTORY, ["UBND_LUCNAM", "LMHTX"])

    assert tasks["UBND_LUCNAM"] == GROUP_SENTENCE_2_6
    assert tasks["LMHTX"] == " ".join(text.split())


def test_the_notice_file_may_write_a_task_and_derives_the_others(tmp_path: Path) -> None:
    data = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    directive = next(d for d in data["directives"] if d["number"] == "2.3")
    so_tc = next(a for a in directive["assignments"] if a["agency"] == "SO_TC")
    so_tc["task"] = "Bố trí kinh phí thực hiện Đề án."
    path = tmp_path / "notice.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")

    draft = read_notice_file(path, DIRECTORY)

    tasks = {a.agency_code: a.task for d in draft.directives if d.number == "2.3" for a in d.assignments}
    assert tasks["SO_TC"] == "Bố trí kinh phí thực hiện Đề án."
    assert tasks["SO_CT"] == SO_CT_OWN


def test_a_file_without_tasks_keeps_its_hash() -> None:
    # A notice imported before tasks existed must not look changed (which would demand --update).
    assert read_notice_file(SAMPLE, DIRECTORY).spec_yaml.count("task:") == 0


def test_import_stores_each_task_and_fills_rows_imported_before(db: object) -> None:
    import_sample()
    with Session(get_engine()) as session:
        row = session.get(Assignment, assignment_id("SO_CT", "2.3"))
        assert row is not None and row.task == SO_CT_OWN
        # A row from before the column existed: re-importing the unchanged file fills it in.
        row.task = None
        session.add(row)
        session.commit()
    assert import_notice(SAMPLE, PACKAGED_CONFIG_DIR, at=GIVEN).action == "unchanged"
    with Session(get_engine()) as session:
        assert session.get(Assignment, assignment_id("SO_CT", "2.3")).task == SO_CT_OWN  # type: ignore[union-attr]


def test_the_mail_to_each_department_quotes_its_own_sentence(
    db: object, smtp: SMTPTestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_intake(monkeypatch)
    import_sample()

    follow_up("2.3", local(date(2022, 10, 11), 9))

    def mail_to(address: str) -> str:
        return "\n".join(body(m) for m in smtp.messages if address in m.rcpt_tos)

    so_ct, so_khcn = mail_to("vanthu@sct.bacgiang.example"), mail_to(_office("SO_KHCN"))
    assert f"Nội dung giao Sở Công Thương: «{SO_CT_OWN}»" in " ".join(so_ct.split())
    assert "Sở Khoa học và Công nghệ tăng cường" not in so_ct and HND_OWN_2_3 not in so_ct
    assert SO_KHCN_OWN in " ".join(so_khcn.split()) and "Sở Công Thương tiếp tục" not in so_khcn


def test_a_district_committee_gets_its_group_sentence(
    db: object, smtp: SMTPTestServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    use_intake(monkeypatch)
    data = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    directive = next(d for d in data["directives"] if d["number"] == "2.6")
    directive["assignments"].append({"agency": "UBND các huyện, thành phố", "role": "support"})
    path = tmp_path / "notice.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    import_notice(path, PACKAGED_CONFIG_DIR, at=GIVEN)

    follow_up("2.6", local(date(2022, 9, 28), 8))

    text = " ".join("\n".join(body(m) for m in smtp.messages if _office("UBND_LUCNAM") in m.rcpt_tos).split())
    assert f"«{GROUP_SENTENCE_2_6}»" in text
    assert "Hội Nông dân tỉnh khẩn trương rà soát" not in text


def test_every_mail_to_an_assignee_links_to_its_own_page(
    db: object, smtp: SMTPTestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_intake(monkeypatch)
    import_sample()
    # A short replay: the assignment messages, then the first quarter's reminders and overdue ladder.
    for as_of in (local(date(2022, 9, 12), 8), local(date(2022, 10, 11), 9)):
        for number in ("2.1", "2.2", "2.3", "2.4", "2.5", "2.6", "2.7"):
            follow_up(number, as_of)
    with Session(get_engine()) as session:
        rows = session.exec(
            select(Notification).where(col(Notification.state) == "sent", col(Notification.channel) == "email")
        ).all()
        tasks = {a.id: a.task for a in session.exec(select(Assignment)).all()}
        numbers = dict(session.exec(select(Directive.id, Directive.number)).all())
    to_assignees = [r for r in rows if (r.payload or {}).get("recipient_role") in ("assignee", "assignee_head")]
    assert len(to_assignees) > 20
    # A replay signs each link at its simulated time: the intake opens it on that day's clock.
    webs: dict[int, TestClient] = {}
    opened: set[str] = set()
    for row in to_assignees:
        link = (row.payload or {}).get("report_link")
        assert link, f"no link in {row.kind} to {row.address}"
        assert any(link in body(m) for m in smtp.messages if row.address in m.rcpt_tos)
        if link in opened:
            continue
        issued = int(link.rsplit(".", 3)[1])
        web = webs.setdefault(issued, client(datetime.fromtimestamp(issued, UTC)))
        page = web.get(link.removeprefix(PUBLIC_URL))
        assert page.status_code == 200
        text = html.unescape(page.text)
        assert f"Mục {numbers[row.directive_id]} Thông báo số" in text
        # The agency's own task comes before the forms.
        assert text.index(str(tasks[row.assignment_id])) < text.index("<form")
        opened.add(link)


def _office(code: str) -> str:
    """The office e-mail address of an agency in the packaged directory."""
    agency = DIRECTORY.by_code[code]
    return next(c.address for c in agency.contacts if c.role == "office" and c.channel == "email")


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[SMTPTestServer]:
    """A real SMTP server (aiosmtpd) the e-mail channel sends to."""
    with SMTPTestServer() as server:
        use_smtp(monkeypatch, server.host, server.port)
        yield server


@pytest.fixture(autouse=True)
def _no_stray_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test sets the intake it needs."""
    monkeypatch.delenv("DONDOC_INTAKE_SECRET", raising=False)
