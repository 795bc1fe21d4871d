"""The replay demo on a shortened scenario: the real sweep, follow-ups and outbox on simulated time."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml
from sqlmodel import Session, select

from config.settings import PACKAGED_CONFIG_DIR
from domain.timeliness import Category
from flows.replay import replay_scenario
from models import Agency, Assignment, Directive, Notification, get_engine
from tasks.directive_state import load_directive_state
from tasks.planning import plan_follow_up
from tasks.replay import timeline


def judged(directive: str, agency: str, as_of):  # type: ignore[no-untyped-def]
    with Session(get_engine()) as session:
        row = session.exec(
            select(Assignment.id, Directive.id)
            .join(Agency)
            .join(Directive)
            .where(Agency.code == agency, Directive.number == directive)
        ).one()
    state = load_directive_state.fn(row[1], as_of)
    return plan_follow_up.fn(state, as_of).timeliness[row[0]]


@pytest.mark.parametrize(
    "db", ["sqlite"], indirect=True
)  # the flows are the same on both; the data layer is tested on both elsewhere
def test_the_demo_scenario_until_mid_october(prefect_server, db, tmp_path: Path, isolated_settings: Path) -> None:
    scenario = yaml.safe_load((PACKAGED_CONFIG_DIR / "scenarios" / "ocop-2022.yaml").read_text(encoding="utf-8"))
    scenario["notice"] = str(PACKAGED_CONFIG_DIR / "notices" / "tb-tu-2022-09-09-ocop.yaml")
    scenario["end"] = "2022-10-14T17:00:00"
    path = tmp_path / "short.yaml"
    path.write_text(yaml.safe_dump(scenario, allow_unicode=True), encoding="utf-8")

    state = replay_scenario(str(path), return_state=True)
    assert state.is_completed(), state.message
    from config.scenario import load_scenario

    end = load_scenario(path).end
    assert judged("2.2", "BAO_BG", end).category == Category.on_time
    late = judged("2.2", "DAI_PTTH", end)
    assert (late.category, late.days_overdue) == (Category.late, 11)  # Q3 report due 20/09, done 05/10
    extended = judged("2.6", "HND_TINH", end)
    assert extended.category == Category.on_time and extended.label_vi == "Hoàn thành đúng hạn (sau gia hạn)"
    silent = judged("2.3", "SO_CT", end)
    assert silent.category == Category.overdue
    with Session(get_engine()) as session:
        issuer = session.exec(select(Agency.id).where(Agency.code == "TTTU")).one()
        to_issuer = session.exec(
            select(Notification).where(Notification.recipient_agency_id == issuer, Notification.kind == "escalation")
        ).all()
        states = {n.state for n in session.exec(select(Notification)).all()}
    # Sở Công Thương never answered: the ladder reached the issuer on 11/10/2022 (15 working days after 20/09).
    assert to_issuer and {n.payload["agency_code"] for n in to_issuer} == {"SO_CT"}
    assert min(n.planned_at for n in to_issuer).date() == date(2022, 10, 11)
    assert states <= {"sent", "cancelled"}  # everything due went out through the real outbox
    with Session(get_engine()) as session:
        lines = [line.text for line in timeline(state.result()["notice_id"], session=session)]
    assert any("được gia hạn đến 14/10/2022" in line for line in lines)
    # Đài PT-TH answered the reminder by e-mail reply: read, recorded with its document number, acknowledged.
    assert any("Đài PT-TH" in line and "112/ĐPTTH" in line and "trả lời thư nhắc việc" in line for line in lines), lines
    with Session(get_engine()) as session:
        acks = session.exec(select(Notification).where(Notification.kind == "reply_ack")).all()
    assert [(a.state, a.payload["agency_code"]) for a in acks] == [("sent", "DAI_PTTH")]
    mailbox = list((isolated_settings / "mailbox").glob("*.eml"))
    assert mailbox  # the embedded default channel received real .eml files
