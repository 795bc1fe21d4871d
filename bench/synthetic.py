"""A synthetic province for benchmarks: notices, directives, assignments, their history and outbox.

Rows are generated in memory one chunk of notices at a time and bulk-inserted with SQLAlchemy Core
(`insert()` executemany, explicit ids), never as ORM objects one by one.

The follow-up history is the engine's own. Every directive is planned at `as_of − 1 day` with
nothing sent; what was due then goes into the outbox as *sent* (one row per contact, with the
engine's idempotency keys), and `next_action_at` is the planner's next action, so the state is
what a sweep running every day would have left. Exactly `due` directives are then due at `as_of`:
if more fall due naturally, the rest are postponed by a day; if fewer, the missing ones get a
progress report a few minutes before `as_of` (a status change marks its directive due, as
`tasks.status_recording.record_status_update` does). Nothing is due at `quiet_as_of` (= `as_of − 1 day`).

Reused by the reporting benchmark: `build(engine, Spec(...))` and `read_all_facts(engine, as_of)`.

    python bench/synthetic.py --db sqlite:////tmp/x.db --notices 2000
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import sys
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine, bindparam, func, insert, select, text, update
from sqlmodel import Session

from config.agencies import load_agencies
from config.escalation import load_escalation_policy
from config.policy import load_calendar, load_deadline_policy
from config.settings import PACKAGED_CONFIG_DIR
from domain.deadlines import (
    CalendarDaysRule,
    DeadlineRule,
    FixedDateRule,
    OngoingRule,
    Recurrence,
    UrgentRule,
    WithinHalfYearRule,
    WithinMonthRule,
    WithinQuarterRule,
    WithinYearRule,
    WorkingDaysRule,
    compute_due,
    report_obligations,
)
from domain.planner import DirectiveFacts, PlannedMessage, at_local, plan
from domain.timeliness import PROGRESSLESS, AssignmentFacts, Obligation
from domain.workdays import WorkCalendar, local_date
from models import (
    Agency,
    AgencyContact,
    Assignment,
    DeadlineChange,
    Directive,
    Notice,
    NoticeMonitor,
    Notification,
    StatusUpdate,
)
from tasks.directive_state import OBLIGATION_HORIZON
from tasks.outbox_writer import CONTACT_ROLE

# Tuesday 12/11/2024, 09:00 in Vietnam: the morning sweep after the 08:00 reminders fell due.
DEFAULT_AS_OF = at_local(date(2024, 11, 12), clock(9, 0))
ISSUERS = (("TTTU", 0.5), ("BTVTU", 0.2), ("UBND_TINH", 0.3))
MONITORS = (("BDV_TU", "lead"), ("VP_TU", "support"))  # directive 2.7 of the sample notice
NOT_ASSIGNEES = {"TTTU", "BTVTU"}  # issuers, not assignees
QUARTERLY = Recurrence(every="quarter")
# Contacts that get outbox rows by default (config.settings.Settings.enabled_channels without Zalo).
DEFAULT_CHANNELS = frozenset({"email", "apprise", "mailbox"})
TEXTS = (
    "Tiếp tục quán triệt, triển khai thực hiện nghiêm túc, hiệu quả các nội dung, mục tiêu của Đề án",
    "Rà soát, đánh giá kết quả thực hiện Chương trình mỗi xã một sản phẩm (OCOP) trên địa bàn",
    "Xây dựng kế hoạch hỗ trợ hợp tác xã nông nghiệp liên kết sản xuất theo chuỗi giá trị",
    "Tăng cường tuyên truyền trên các phương tiện thông tin đại chúng về các mô hình hiệu quả",
    "Bố trí kinh phí thực hiện Đề án trong dự toán ngân sách hằng năm theo quy định",
    "Kiểm tra, giám sát việc thực hiện tại các huyện, thành phố; kịp thời chấn chỉnh hạn chế",
    "Tổng hợp khó khăn, vướng mắc của cơ sở, đề xuất giải pháp tháo gỡ với cấp có thẩm quyền",
    "Hướng dẫn xây dựng, nhân rộng mô hình kinh tế tập thể trong lĩnh vực nông nghiệp",
    "Chỉ đạo đẩy nhanh tiến độ giải ngân các nguồn vốn hỗ trợ phát triển sản xuất",
    "Phối hợp tổ chức hội chợ, kết nối tiêu thụ sản phẩm nông sản, sản phẩm OCOP",
)
# Table insert order (parents first: SQLite checks foreign keys).
TABLES = (Notice, NoticeMonitor, Directive, Assignment, DeadlineChange, StatusUpdate, Notification)


@dataclass(frozen=True)
class Spec:
    """What to build."""

    notices: int = 2000
    directives_per_notice: int = 10
    assignments_per_directive: int = 5
    due: int = 1000  # directives due at as_of
    new_share: float = 0.2  # of those, the share from notices imported this morning (never followed up yet)
    as_of: datetime = DEFAULT_AS_OF
    wide_directives: int = 0  # extra directives with wide_size assignments each, in one more notice, never due
    wide_size: int = 50
    history: bool = True  # plan at as_of − 1 day and record what was due then as sent
    ongoing_share: float = 0.15  # standing tasks that report quarterly
    urgent_share: float = 0.05
    extension_share: float = 0.05
    first_issue: date = date(2022, 1, 1)
    last_issue: date = date(2024, 10, 31)
    seed: int = 20220909
    rows_per_batch: int = 20_000
    config_dir: Path = PACKAGED_CONFIG_DIR


@dataclass
class Built:
    """What build() wrote, and how long each phase took."""

    notices: int = 0
    directives: int = 0
    assignments: int = 0
    deadline_changes: int = 0
    status_updates: int = 0
    outbox_rows: int = 0
    due_directives: int = 0
    naturally_due: int = 0  # a reminder or escalation fell due since the previous sweep
    new_notices: int = 0  # imported half an hour before as_of: every assignment still to be told
    new_directives: int = 0
    postponed: int = 0  # naturally due but pushed to as_of + 1 day to hit the requested count
    status_changed: int = 0  # made due by a progress report just before as_of
    closed_directives: int = 0  # every assignment done or withdrawn: no next action
    statuses: dict[str, int] = field(default_factory=dict)
    as_of: str = ""
    quiet_as_of: str = ""
    wide_directive_ids: list[int] = field(default_factory=list)
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)


@dataclass
class _Sim:
    """One assignment's simulated life up to the history cut-off."""

    status: str = "assigned"
    percent: int = 0
    acknowledged_at: datetime | None = None
    completed_at: datetime | None = None
    withdrawn_at: datetime | None = None
    updates: list[tuple[datetime, str, int | None]] = field(default_factory=list)


@dataclass
class _Open:
    """An open assignment a status change can be recorded on."""

    assignment_id: int
    status: str
    percent: int
    acknowledged: bool
    reporter: str


class _Ids:
    """Explicit primary keys, continuing after what the tables already hold."""

    def __init__(self, engine: Engine):
        with engine.connect() as conn:
            self.next = {
                t: int(conn.execute(select(func.coalesce(func.max(t.id), 0))).scalar_one()) + 1 for t in TABLES
            }  # type: ignore[arg-type]

    def take(self, table: type) -> int:
        """Return the next id of a table."""
        value = self.next[table]
        self.next[table] = value + 1
        return value


class _Writer:
    """Buffers rows per table and inserts them parents-first with Core executemany."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.rows: dict[type, list[dict[str, Any]]] = defaultdict(list)
        self.counts: dict[type, int] = defaultdict(int)
        self.seconds = 0.0

    def add(self, table: type, row: dict[str, Any]) -> None:
        """Queue one row."""
        self.rows[table].append(row)

    @property
    def pending(self) -> int:
        """Rows waiting to be written."""
        return sum(len(r) for r in self.rows.values())

    def flush(self) -> None:
        """Insert every queued row, in one transaction."""
        started = time.perf_counter()
        with self.engine.begin() as conn:
            for table in TABLES:
                rows = self.rows.pop(table, [])
                if rows:
                    conn.execute(insert(table.__table__), rows)  # type: ignore[attr-defined]
                    self.counts[table] += len(rows)
        self.seconds += time.perf_counter() - started


class _Province:
    """The agency directory as the builder needs it: codes, names, supervisors, contacts."""

    def __init__(self, engine: Engine, config_dir: Path):
        # Imported here: the notice importer loads the parser and python-docx, which bench/report.py (importing
        # DEFAULT_AS_OF from this module) must not count, since the report flow does not load them up front.
        from tasks.notice_import import sync_agencies

        with Session(engine) as session:
            sync_agencies(session, load_agencies(config_dir), actor="bench/synthetic")
            session.commit()
        with engine.connect() as conn:
            agencies = conn.execute(
                select(Agency.id, Agency.code, Agency.short_name, Agency.name, Agency.escalates_to_id)
            ).all()
            contacts = conn.execute(
                select(
                    AgencyContact.id,
                    AgencyContact.agency_id,
                    AgencyContact.role,
                    AgencyContact.channel,
                    AgencyContact.address,
                )
                .where(AgencyContact.active == True)  # noqa: E712
                .order_by(AgencyContact.id)
            ).all()
        self.id_of = {code: agency_id for agency_id, code, *_ in agencies}
        code_of = {agency_id: code for agency_id, code, *_ in agencies}
        self.name = {code: short or name for _, code, short, name, _ in agencies}
        self.supervisor = {code: code_of.get(sup) if sup else None for _, code, _, _, sup in agencies}
        self.contacts: dict[int, list[tuple[int, str, str, str]]] = defaultdict(list)
        for contact_id, agency_id, role, channel, address in contacts:
            self.contacts[agency_id].append((contact_id, role, channel, address))
        self.assignees = sorted(code for code in self.id_of if code not in NOT_ASSIGNEES)

    def targets(self, recipient: str, agency_code: str) -> list[tuple[int, str, str, str]]:
        """The contacts a message goes to, chosen as tasks.outbox_writer._outbox_rows does."""
        every = [c for c in self.contacts[self.id_of[agency_code]] if c[2] in DEFAULT_CHANNELS]
        wanted = [c for c in every if c[1] == CONTACT_ROLE[recipient]]
        return wanted or every


def _pick_issuer(rng: random.Random) -> str:
    """An issuer, weighted the way a provincial office receives notices."""
    return rng.choices([c for c, _ in ISSUERS], weights=[w for _, w in ISSUERS])[0]


def _rule(rng: random.Random, start: date, spec: Spec) -> tuple[DeadlineRule, Recurrence | None]:
    """A deadline rule, roughly as often as notices use each kind."""
    if rng.random() < spec.ongoing_share:
        return OngoingRule(), QUARTERLY
    pick = rng.random()
    if pick < 0.30:
        return WorkingDaysRule(days=rng.randint(10, 60)), None
    if pick < 0.45:
        return CalendarDaysRule(days=rng.randint(15, 90)), None
    if pick < 0.60:
        return FixedDateRule(date=start + timedelta(days=rng.randint(20, 120))), None
    if pick < 0.72:
        index = start.year * 12 + start.month - 1 + rng.randint(1, 3)
        return WithinMonthRule(year=index // 12, month=index % 12 + 1), None
    if pick < 0.82:
        index = start.year * 4 + (start.month - 1) // 3 + rng.randint(0, 1)
        return WithinQuarterRule(year=index // 4, quarter=index % 4 + 1), None
    if pick < 0.86:
        if start.month <= 4:
            return WithinHalfYearRule(year=start.year, half=1), None
        if start.month <= 10:
            return WithinHalfYearRule(year=start.year, half=2), None
        return WithinHalfYearRule(year=start.year + 1, half=1), None
    if pick < 0.90:
        return WithinYearRule(year=start.year if start.month < 10 else start.year + 1), None
    return UrgentRule(), None


def _working_day_in(rng: random.Random, calendar: WorkCalendar, first: date, last: date) -> date | None:
    """A random working day in [first, last], or None if there is none."""
    if last < first:
        return None
    day = calendar.roll_forward(first + timedelta(days=rng.randint(0, (last - first).days)))
    if day <= last:
        return day
    day = calendar.roll_back(last)
    return day if day >= first else None


def _moment(rng: random.Random, day: date) -> datetime:
    """A time during office hours on day, as aware UTC."""
    return at_local(day, clock(rng.randint(8, 16), rng.choice((0, 15, 30, 45))))


def _progress(rng: random.Random, sim: _Sim, calendar: WorkCalendar, first: date, last: date, count: int) -> None:
    """Add count progress reports between first and last, with rising percentages."""
    days = sorted(d for d in (_working_day_in(rng, calendar, first, last) for _ in range(count)) if d is not None)
    for day in days:
        sim.percent = min(95, sim.percent + rng.randint(10, 40))
        sim.updates.append((_moment(rng, day), "in_progress", sim.percent))
        sim.status = "in_progress"


def _acknowledge(rng: random.Random, sim: _Sim, day: date) -> None:
    """Record the acknowledgement (đã tiếp nhận)."""
    at = _moment(rng, day)
    sim.acknowledged_at, sim.status = at, "acknowledged"
    sim.updates.append((at, "acknowledged", None))


def _finish(rng: random.Random, sim: _Sim, day: date) -> None:
    """Record completion."""
    at = _moment(rng, day)
    if sim.updates and at <= sim.updates[-1][0]:
        at = sim.updates[-1][0] + timedelta(hours=1)
    sim.completed_at, sim.status, sim.percent = at, "done", 100
    sim.updates.append((at, "done", 100))


def _simulate_dated(rng: random.Random, calendar: WorkCalendar, given: date, due: date, last: date) -> _Sim:
    """Life of an assignment with a due date, up to the day last."""
    sim = _Sim()
    if given >= last:
        return sim
    if rng.random() < 0.01:
        sim.status = "withdrawn"
        sim.withdrawn_at = _moment(rng, _working_day_in(rng, calendar, given + timedelta(days=1), last) or last)
        return sim
    ack = calendar.add_working_days(given, rng.randint(1, 3))
    r = rng.random()
    if due < last:
        outcome = (
            "on_time" if r < 0.65 else "late" if r < 0.85 else rng.choice(("open",) * 7 + ("ack",) * 2 + ("none",))
        )
    else:
        outcome = "on_time" if r < 0.15 else "open" if r < 0.65 else "ack" if r < 0.90 else "none"
    if outcome == "none" or ack > last:
        return sim
    _acknowledge(rng, sim, ack)
    if outcome == "ack":
        return sim
    finish: date | None = None
    if outcome == "on_time":
        finish = _working_day_in(rng, calendar, calendar.add_working_days(ack, 1), min(due, last))
    elif outcome == "late":
        finish = calendar.add_working_days(due, rng.randint(1, 25))
        finish = finish if finish <= last else None
    end = calendar.add_working_days(finish, -1) if finish else last
    _progress(
        rng,
        sim,
        calendar,
        calendar.add_working_days(ack, 1),
        end,
        rng.randint(1, 2) if finish or outcome == "open" else 0,
    )
    if finish is not None:
        _finish(rng, sim, finish)
    return sim


def _simulate_ongoing(
    rng: random.Random, calendar: WorkCalendar, given: date, obligations: Iterable[Obligation], last: date
) -> _Sim:
    """Life of a standing task: quarterly reports, mostly on time, some missed."""
    sim = _Sim()
    if given >= last:
        return sim
    r = rng.random()
    if r < 0.01:
        sim.status = "withdrawn"
        sim.withdrawn_at = _moment(rng, _working_day_in(rng, calendar, given + timedelta(days=1), last) or last)
        return sim
    ack = calendar.add_working_days(given, rng.randint(1, 3))
    if r < 0.09 or ack > last:
        return sim  # never answers: the ladder climbs on each missed report
    _acknowledge(rng, sim, ack)
    window = ack
    for obligation in obligations:
        if obligation.due > last:
            break
        if rng.random() < 0.85:
            day = _working_day_in(rng, calendar, max(window, obligation.due - timedelta(days=10)), obligation.due)
            if day is not None and day > window:
                sim.percent = min(95, sim.percent + rng.randint(5, 15))
                sim.updates.append((_moment(rng, day), "in_progress", sim.percent))
                sim.status = "in_progress"
        window = obligation.due
    if r > 0.97 and window > ack:
        _finish(rng, sim, _working_day_in(rng, calendar, calendar.add_working_days(window, 1), last) or last)
    return sim


def _facts(
    assignment_id: int,
    code: str,
    role: str,
    given: datetime,
    original: date | None,
    current: date | None,
    sim: _Sim,
    supervisor: str | None,
    obligations: tuple[Obligation, ...],
) -> AssignmentFacts:
    """AssignmentFacts exactly as tasks.directive_state.read_directive_state builds them."""
    return AssignmentFacts(
        assignment_id=assignment_id,
        agency_code=code,
        role=role,
        status=sim.status,
        created_at=given,
        original_due=original,
        current_due=current,
        acknowledged_at=sim.acknowledged_at,
        completed_at=sim.completed_at,
        updates=tuple(at for at, status, _ in sim.updates if status not in PROGRESSLESS),
        supervisor_code=supervisor,
        obligations=obligations,
    )


class _Builder:
    """Generates the province notice by notice and writes it in batches."""

    def __init__(self, engine: Engine, spec: Spec):
        self.spec = spec
        self.rng = random.Random(spec.seed)
        self.calendar = load_calendar(spec.config_dir)
        self.deadline_policy = load_deadline_policy(spec.config_dir)
        self.escalation = load_escalation_policy(spec.config_dir)
        self.province = _Province(engine, spec.config_dir)
        self.ids = _Ids(engine)
        self.writer = _Writer(engine)
        self.prev = spec.as_of - timedelta(days=1)  # the previous sweep: history ends here
        self.last_day = local_date(self.prev) - timedelta(days=1)  # last day agencies reported on
        self.obligation_cache: dict[date, tuple[Obligation, ...]] = {}
        self.next_action: dict[int, datetime | None] = {}
        self.open: dict[int, _Open] = {}  # one open assignment per directive
        self.statuses: dict[str, int] = defaultdict(int)
        self.plan_seconds = 0.0
        self.outbox = 0

    def obligations(self, start: date) -> tuple[Obligation, ...]:
        """Quarterly report obligations from a notice date, as the engine computes them."""
        found = self.obligation_cache.get(start)
        if found is None:
            end = local_date(self.spec.as_of) + OBLIGATION_HORIZON
            found = tuple(
                Obligation(o.period, o.due)
                for o in report_obligations(QUARTERLY, start, end, self.calendar, self.deadline_policy)
            )
            self.obligation_cache[start] = found
        return found

    def notice(
        self,
        index: int,
        issued: date,
        number: str,
        directives: int,
        width: int,
        wide: bool = False,
        imported: datetime | None = None,
    ) -> list[int]:
        """Generate one notice with its directives, assignments and history; return the directive ids.

        A notice imported after the previous sweep has no history: its directives are due at import.
        """
        rng, spec, province = self.rng, self.spec, self.province
        notice_id = self.ids.take(Notice)
        issuer = _pick_issuer(rng)
        given = imported or at_local(issued, clock(16, 0))  # imported the afternoon it was issued
        self.writer.add(
            Notice,
            {
                "id": notice_id,
                "number": number,
                "number_is_placeholder": False,
                "issued_on": issued,
                "issuer_id": province.id_of[issuer],
                "title": f"Kết luận của {province.name[issuer]} (thông báo giả lập số {index + 1})",
                "source_text": None,
                "source_file": None,
                "spec_hash": hashlib.sha256(number.encode()).hexdigest(),
                "spec_yaml": f"synthetic: {index}\n",
                "created_at": given,
                "updated_at": given,
            },
        )
        for code, role in MONITORS:
            self.writer.add(
                NoticeMonitor,
                {
                    "id": self.ids.take(NoticeMonitor),
                    "notice_id": notice_id,
                    "agency_id": province.id_of[code],
                    "role": role,
                },
            )
        directive_ids = []
        for position in range(directives):
            rule, recurrence = (WorkingDaysRule(days=rng.randint(20, 40)), None) if wide else _rule(rng, issued, spec)
            if recurrence is not None:
                due, explanation = None, "Nhiệm vụ thường xuyên; báo cáo định kỳ hằng quý"
            else:
                computed = compute_due(rule, issued, self.calendar, self.deadline_policy)
                due, explanation = computed.due, computed.explanation
            priority = "urgent" if isinstance(rule, UrgentRule) or rng.random() < spec.urgent_share else "normal"
            directive_id = self.ids.take(Directive)
            directive_ids.append(directive_id)
            number_in_notice = f"2.{position + 1}"
            facts = DirectiveFacts(
                directive_id, number, number_in_notice, priority, issuer, tuple(c for c, _ in MONITORS)
            )
            obligations = self.obligations(issued) if recurrence is not None else ()
            assignment_facts = [
                self.assignment(directive_id, code, "lead" if k == 0 else "support", given, due, obligations)
                for k, code in enumerate(rng.sample(province.assignees, width))
            ]
            next_action = imported or self.history(notice_id, facts, assignment_facts)
            self.next_action[directive_id] = next_action
            self.writer.add(
                Directive,
                {
                    "id": directive_id,
                    "notice_id": notice_id,
                    "number": number_in_notice,
                    "position": position + 1,
                    "text": f"{TEXTS[rng.randrange(len(TEXTS))]}.",
                    "deadline_phrase": None,
                    "deadline_rule": rule.model_dump(mode="json"),
                    "recurrence": recurrence.model_dump(mode="json") if recurrence else None,
                    "priority": priority,
                    "due_date": due,
                    "due_explanation": explanation,
                    "next_action_at": next_action,
                    "last_followed_up_at": self.prev if spec.history and not imported else None,
                    "created_at": given,
                    "updated_at": given,
                },
            )
        return directive_ids

    def assignment(
        self,
        directive_id: int,
        code: str,
        role: str,
        given: datetime,
        due: date | None,
        obligations: tuple[Obligation, ...],
    ) -> AssignmentFacts:
        """Generate one assignment, its deadline history and status updates; return its facts."""
        rng, calendar, province = self.rng, self.calendar, self.province
        assignment_id = self.ids.take(Assignment)
        given_day = local_date(given)
        current = due
        self.writer.add(
            DeadlineChange,
            {
                "id": self.ids.take(DeadlineChange),
                "assignment_id": assignment_id,
                "kind": "original",
                "due_date": due,
                "reason": None,
                "requested_by": None,
                "approved_by": "bench/synthetic",
                "created_at": given,
            },
        )
        if due is not None and rng.random() < self.spec.extension_share:
            asked = calendar.add_working_days(due, -2)
            if given_day < asked <= self.last_day:
                current = calendar.add_working_days(due, rng.randint(5, 20))
                self.writer.add(
                    DeadlineChange,
                    {
                        "id": self.ids.take(DeadlineChange),
                        "assignment_id": assignment_id,
                        "kind": "extension",
                        "due_date": current,
                        "reason": "Xin gia hạn do cần thêm thời gian lấy ý kiến các cơ quan liên quan",
                        "requested_by": province.name[code],
                        "approved_by": "Thường trực Tỉnh ủy",
                        "created_at": _moment(rng, asked),
                    },
                )
        if current is None:
            sim = _simulate_ongoing(rng, calendar, given_day, obligations, self.last_day)
        else:
            sim = _simulate_dated(rng, calendar, given_day, current, self.last_day)
        self.statuses[sim.status] += 1
        for at, status, percent in sim.updates:
            self.writer.add(
                StatusUpdate,
                {
                    "id": self.ids.take(StatusUpdate),
                    "assignment_id": assignment_id,
                    "reported_at": at,
                    "reported_by": province.name[code],
                    "source": "bench",
                    "status": status,
                    "percent": percent,
                    "note": None,
                    "document_number": None,
                    "evidence_url": None,
                    "created_at": at,
                },
            )
        last_at = sim.updates[-1][0] if sim.updates else given
        self.writer.add(
            Assignment,
            {
                "id": assignment_id,
                "directive_id": directive_id,
                "agency_id": province.id_of[code],
                "role": role,
                "status": sim.status,
                "percent": sim.percent,
                "due_date": current,
                "acknowledged_at": sim.acknowledged_at,
                "completed_at": sim.completed_at,
                "withdrawn_at": sim.withdrawn_at,
                "created_at": given,
                "updated_at": sim.withdrawn_at or last_at,
            },
        )
        if sim.status not in ("done", "withdrawn") and directive_id not in self.open:
            self.open[directive_id] = _Open(
                assignment_id, sim.status, sim.percent, sim.acknowledged_at is not None, province.name[code]
            )
        return _facts(assignment_id, code, role, given, due, current, sim, province.supervisor[code], obligations)

    def history(self, notice_id: int, facts: DirectiveFacts, assignments: list[AssignmentFacts]) -> datetime | None:
        """Plan at the previous sweep with nothing sent; record what was due as sent; return the next action."""
        started = time.perf_counter()
        result = plan(assignments, facts, self.escalation, self.calendar, set(), self.prev)
        self.plan_seconds += time.perf_counter() - started
        if self.spec.history:
            for message in result.due_now:
                self.sent(notice_id, facts.directive_id, message)
            return result.next_action_at
        # Without history the planner would also send every past message: the directive is due now.
        return self.prev if result.due_now else result.next_action_at

    def sent(self, notice_id: int, directive_id: int, message: PlannedMessage) -> None:
        """One sent outbox row per contact, keyed as the engine keys them."""
        recipient_id = self.province.id_of[message.recipient_agency]
        for contact_id, _, channel, address in self.province.targets(message.recipient, message.recipient_agency):
            self.outbox += 1
            self.writer.add(
                Notification,
                {
                    "id": self.ids.take(Notification),
                    "idempotency_key": f"{message.key}|{channel}|{address}",
                    "plan_key": message.key,
                    "kind": message.kind,
                    "escalation_level": message.level,
                    "notice_id": notice_id,
                    "directive_id": directive_id,
                    "assignment_id": message.assignment_id,
                    "recipient_agency_id": recipient_id,
                    "contact_id": contact_id,
                    "channel": channel,
                    "address": address,
                    "subject": "",
                    "body_text": "",
                    "body_html": None,
                    "payload": None,
                    "state": "sent",
                    "planned_at": message.send_at,
                    "next_attempt_at": message.send_at,
                    "lease_until": None,
                    "lease_owner": None,
                    "attempts": 1,
                    "provider_message_id": None,
                    "last_error": None,
                    "error_history": [],
                    "sent_at": message.send_at,
                    "created_at": message.send_at,
                },
            )


def _issue_days(rng: random.Random, calendar: WorkCalendar, spec: Spec) -> list[date]:
    """Working days the notices were issued on, spread over the period, in order."""
    return sorted(
        _working_day_in(rng, calendar, spec.first_issue, spec.last_issue) or spec.first_issue
        for _ in range(spec.notices)
    )


def _make_due(engine: Engine, builder: _Builder, spec: Spec, wide: set[int], fresh: set[int], built: Built) -> None:
    """Leave exactly spec.due directives due at as_of: postpone extra ones or record status changes."""
    rng, as_of = builder.rng, spec.as_of
    due_now = sorted(d for d, at in builder.next_action.items() if at is not None and at <= as_of and d not in fresh)
    natural = [d for d in due_now if d not in wide]
    rng.shuffle(natural)
    built.naturally_due = len(due_now)
    quota = max(0, spec.due - len(fresh))
    postponed = natural[quota:] + [d for d in due_now if d in wide]
    natural = natural[:quota]
    later = as_of + timedelta(days=1)
    changed: list[tuple[int, _Open, datetime]] = []
    missing = quota - len(natural)
    if missing > 0:
        candidates = sorted(
            d
            for d in builder.open
            if d not in wide and (builder.next_action[d] is None or builder.next_action[d] > as_of)
        )  # type: ignore[operator]
        for directive_id in rng.sample(candidates, min(missing, len(candidates))):
            changed.append((directive_id, builder.open[directive_id], as_of - timedelta(minutes=rng.randint(5, 600))))
    with engine.begin() as conn:
        if postponed:
            conn.execute(
                update(Directive.__table__)
                .where(Directive.__table__.c.id == bindparam("d_id"))
                .values(next_action_at=bindparam("at")),  # type: ignore[attr-defined]
                [{"d_id": d, "at": later} for d in postponed],
            )
        if changed:
            updates, assignments, directives = [], [], []
            for directive_id, item, at in changed:
                percent = min(95, item.percent + 10)
                updates.append(
                    {
                        "id": builder.ids.take(StatusUpdate),
                        "assignment_id": item.assignment_id,
                        "reported_at": at,
                        "reported_by": item.reporter,
                        "source": "bench",
                        "status": "in_progress",
                        "percent": percent,
                        "note": "Báo cáo tiến độ (giả lập)",
                        "document_number": None,
                        "evidence_url": None,
                        "created_at": at,
                    }
                )
                assignments.append({"a_id": item.assignment_id, "percent": percent, "at": at})
                directives.append({"d_id": directive_id, "at": at})
            conn.execute(insert(StatusUpdate.__table__), updates)  # type: ignore[attr-defined]
            table = Assignment.__table__  # type: ignore[attr-defined]
            conn.execute(
                update(table)
                .where(table.c.id == bindparam("a_id"))
                .values(
                    status="in_progress",
                    percent=bindparam("percent"),
                    updated_at=bindparam("at"),
                    acknowledged_at=func.coalesce(table.c.acknowledged_at, bindparam("at")),
                ),
                assignments,
            )
            conn.execute(
                update(Directive.__table__)
                .where(Directive.__table__.c.id == bindparam("d_id"))
                .values(next_action_at=bindparam("at")),  # type: ignore[attr-defined]
                directives,
            )
            built.status_updates += len(updates)
    built.postponed = len(postponed)
    built.status_changed = len(changed)
    built.due_directives = len(fresh) + len(natural) + len(changed)


def _finish_backend(engine: Engine) -> None:
    """PostgreSQL: move the id sequences past the explicit ids, and gather statistics as autovacuum would.

    SQLite is left as deployed: dondoc never runs ANALYZE there, so neither does the benchmark.
    """
    if engine.dialect.name != "postgresql":
        return
    with engine.begin() as conn:
        for table in TABLES:
            name = table.__tablename__  # type: ignore[attr-defined]
            conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT COALESCE(MAX(id), 1) FROM \"{name}\"))"
                )
            )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))


def build(engine: Engine, spec: Spec = Spec()) -> Built:
    """Build the synthetic province into an empty, migrated dondoc database."""
    started = time.perf_counter()
    built = Built(as_of=spec.as_of.isoformat(), quiet_as_of=(spec.as_of - timedelta(days=1)).isoformat())
    with engine.connect() as conn:
        if conn.execute(select(func.count()).select_from(Notice)).scalar_one():
            raise SystemExit("bench/synthetic: the database already holds notices; give it an empty one")
    t0 = time.perf_counter()
    builder = _Builder(engine, spec)
    built.phases["agencies_s"] = time.perf_counter() - t0
    width = spec.assignments_per_directive
    chunk = max(1, spec.rows_per_batch // max(1, spec.directives_per_notice * width))
    fresh_notices = min(spec.notices, round(spec.due * spec.new_share / max(1, spec.directives_per_notice)))
    fresh: set[int] = set()
    t0 = time.perf_counter()
    for index, issued in enumerate(_issue_days(builder.rng, builder.calendar, spec)):
        imported = None
        if index >= spec.notices - fresh_notices:  # dated yesterday, imported this morning
            issued = builder.calendar.add_working_days(local_date(spec.as_of), -1)
            imported = spec.as_of - timedelta(minutes=builder.rng.randint(20, 60))
        ids = builder.notice(
            index, issued, f"{index + 1}-TB/TU-{issued.year}", spec.directives_per_notice, width, imported=imported
        )
        if imported is not None:
            fresh.update(ids)
        if (index + 1) % chunk == 0:
            builder.writer.flush()
    wide: set[int] = set()
    if spec.wide_directives:
        issued = builder.calendar.add_working_days(spec.last_issue, -20)
        wide = set(
            builder.notice(spec.notices, issued, "BENCH-RONG/TB-TU", spec.wide_directives, spec.wide_size, wide=True)
        )
        built.wide_directive_ids = sorted(wide)
    builder.writer.flush()
    generated = time.perf_counter() - t0
    built.phases["insert_s"] = builder.writer.seconds
    built.phases["history_plan_s"] = builder.plan_seconds
    built.phases["generate_s"] = generated - builder.writer.seconds - builder.plan_seconds
    counts = builder.writer.counts
    built.notices, built.directives, built.assignments = counts[Notice], counts[Directive], counts[Assignment]
    built.deadline_changes, built.status_updates, built.outbox_rows = (
        counts[DeadlineChange],
        counts[StatusUpdate],
        counts[Notification],
    )
    t0 = time.perf_counter()
    built.new_notices, built.new_directives = fresh_notices, len(fresh)
    _make_due(engine, builder, spec, wide, fresh, built)
    built.phases["due_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    _finish_backend(engine)
    built.phases["analyze_s"] = time.perf_counter() - t0
    built.statuses = dict(sorted(builder.statuses.items()))
    built.closed_directives = sum(1 for at in builder.next_action.values() if at is None)
    built.phases = {k: round(v, 3) for k, v in built.phases.items()}
    built.seconds = round(time.perf_counter() - started, 3)
    return built


# --- reading everything back (the planner benchmark; the reporting benchmark) --------------------------


@dataclass
class DirectiveInput:
    """One directive's planner inputs, read in bulk."""

    facts: DirectiveFacts
    assignments: list[AssignmentFacts]
    sent_keys: set[str]


def read_all_facts(engine: Engine, as_of: datetime, config_dir: Path = PACKAGED_CONFIG_DIR) -> list[DirectiveInput]:
    """Read every directive's planner inputs with a few bulk queries (as read_directive_state does, per directive)."""
    calendar, policy = load_calendar(config_dir), load_deadline_policy(config_dir)
    end = local_date(as_of) + OBLIGATION_HORIZON
    with engine.connect() as conn:
        agencies = conn.execute(select(Agency.id, Agency.code, Agency.escalates_to_id)).all()
        notices = {
            n: (number, issuer, issued)
            for n, number, issuer, issued in conn.execute(
                select(Notice.id, Notice.number, Notice.issuer_id, Notice.issued_on)
            )
        }
        monitors: dict[int, list[int]] = defaultdict(list)
        for notice_id, agency_id in conn.execute(
            select(NoticeMonitor.notice_id, NoticeMonitor.agency_id).order_by(
                NoticeMonitor.notice_id, NoticeMonitor.role, NoticeMonitor.id
            )
        ):
            monitors[notice_id].append(agency_id)
        directives = conn.execute(
            select(
                Directive.id,
                Directive.notice_id,
                Directive.number,
                Directive.priority,
                Directive.due_date,
                Directive.recurrence,
            ).order_by(Directive.id)
        ).all()
        originals = dict(
            conn.execute(
                select(DeadlineChange.assignment_id, DeadlineChange.due_date).where(DeadlineChange.kind == "original")
            ).all()
        )
        updates: dict[int, list[datetime]] = defaultdict(list)
        for assignment_id, reported_at in conn.execute(
            select(StatusUpdate.assignment_id, StatusUpdate.reported_at)
            .where(StatusUpdate.reported_at <= as_of, StatusUpdate.status.not_in(PROGRESSLESS))  # type: ignore[attr-defined]
            .order_by(StatusUpdate.reported_at)
        ):
            updates[assignment_id].append(reported_at)
        sent: dict[int, set[str]] = defaultdict(set)
        for directive_id, key in conn.execute(select(Notification.directive_id, Notification.plan_key)):
            sent[directive_id].add(key)
        by_directive: dict[int, list[Any]] = defaultdict(list)
        for row in conn.execute(
            select(
                Assignment.id,
                Assignment.directive_id,
                Assignment.agency_id,
                Assignment.role,
                Assignment.status,
                Assignment.created_at,
                Assignment.due_date,
                Assignment.acknowledged_at,
                Assignment.completed_at,
            ).order_by(Assignment.id)
        ):
            by_directive[row[1]].append(row)
    code = {agency_id: c for agency_id, c, _ in agencies}
    supervisor = {agency_id: code.get(sup) if sup else None for agency_id, _, sup in agencies}
    cache: dict[tuple[str, date], tuple[Obligation, ...]] = {}
    out = []
    for directive_id, notice_id, number, priority, due, recurrence in directives:
        notice_number, issuer_id, issued = notices[notice_id]
        obligations: tuple[Obligation, ...] = ()
        if due is None and recurrence:
            key = (json.dumps(recurrence, sort_keys=True), issued)
            if key not in cache:
                cache[key] = tuple(
                    Obligation(o.period, o.due)
                    for o in report_obligations(Recurrence.model_validate(recurrence), issued, end, calendar, policy)
                )
            obligations = cache[key]
        facts = DirectiveFacts(
            directive_id, notice_number, number, priority, code[issuer_id], tuple(code[m] for m in monitors[notice_id])
        )
        assignments = [
            AssignmentFacts(
                assignment_id=a_id,
                agency_code=code[agency_id],
                role=role,
                status=status,
                created_at=created,
                original_due=originals.get(a_id, a_due),
                current_due=a_due,
                acknowledged_at=acked,
                completed_at=completed,
                updates=tuple(updates.get(a_id, ())),
                supervisor_code=supervisor[agency_id],
                obligations=obligations,
            )
            for a_id, _, agency_id, role, status, created, a_due, acked, completed in by_directive[directive_id]
        ]
        out.append(DirectiveInput(facts, assignments, sent.get(directive_id, set())))
    return out


# --- command line ---------------------------------------------------------------------------------------


def connect(url: str, schema: str | None) -> Engine:
    """Point dondoc's settings at url (and schema), migrate, and return the engine."""
    from config.settings import get_settings
    from models.db import get_engine, reset_engine
    from models.migrate import upgrade

    os.environ["DONDOC_DATABASE_URL"] = url
    if schema:
        os.environ["DONDOC_DATABASE_SCHEMA"] = schema
    else:
        os.environ.pop("DONDOC_DATABASE_SCHEMA", None)
    get_settings.cache_clear()
    reset_engine()
    upgrade()
    return get_engine()


def _number(n: float) -> str:
    """Vietnamese thousands separator."""
    return f"{n:,.0f}".replace(",", ".")


def main(argv: list[str] | None = None) -> None:
    """Build a province from the command line; print one JSON object, then one human line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="SQLAlchemy URL of an empty (or unmigrated) dondoc database")
    parser.add_argument("--schema", help="PostgreSQL schema (must exist)")
    parser.add_argument("--notices", type=int, default=Spec.notices)
    parser.add_argument("--directives-per-notice", type=int, default=Spec.directives_per_notice)
    parser.add_argument("--assignments-per-directive", type=int, default=Spec.assignments_per_directive)
    parser.add_argument("--due", type=int, default=Spec.due, help="directives due at --as-of")
    parser.add_argument("--as-of", type=datetime.fromisoformat, default=DEFAULT_AS_OF, help="aware ISO time")
    parser.add_argument("--wide", type=int, default=0, help="extra directives with --wide-size assignments (never due)")
    parser.add_argument("--wide-size", type=int, default=Spec.wide_size)
    parser.add_argument("--no-history", action="store_true", help="leave the outbox empty")
    parser.add_argument("--seed", type=int, default=Spec.seed)
    args = parser.parse_args(argv)
    if args.as_of.tzinfo is None:
        parser.error("--as-of needs a time zone, e.g. 2024-11-12T09:00:00+07:00")
    spec = Spec(
        notices=args.notices,
        directives_per_notice=args.directives_per_notice,
        assignments_per_directive=args.assignments_per_directive,
        due=args.due,
        as_of=args.as_of,
        wide_directives=args.wide,
        wide_size=args.wide_size,
        history=not args.no_history,
        seed=args.seed,
    )
    t0 = time.perf_counter()
    engine = connect(args.db, args.schema)
    migrate_s = time.perf_counter() - t0
    built = build(engine, spec)
    engine.dispose()
    report = asdict(built) | {
        "migrate_s": round(migrate_s, 3),
        "peak_memory_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(json.dumps(report, ensure_ascii=False))
    print(
        f"Tỉnh giả lập: {_number(built.notices)} thông báo, {_number(built.directives)} mục, {_number(built.assignments)} việc, "
        f"{_number(built.status_updates)} báo cáo tiến độ, {_number(built.outbox_rows)} tin đã gửi; "
        f"{_number(built.due_directives)} mục đến lượt đôn đốc lúc {built.as_of}; tạo trong {built.seconds:.1f} s."
    )


if __name__ == "__main__":
    main()
