"""The follow-up engine on a real (temporary) Prefect server, on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from datetime import date, datetime
from pathlib import Path

import pytest
import yaml
from prefect import tags
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterKey,
    FlowRunFilter,
    FlowRunFilterParentFlowRunId,
    TaskRunFilter,
    TaskRunFilterFlowRunId,
)
from prefect.client.schemas.sorting import ArtifactSort
from sqlalchemy import func
from sqlmodel import Session, select

from config.settings import PACKAGED_CONFIG_DIR
from domain.planner import at_local
from flows.follow_up import follow_up_directive
from flows.sweep import sweep
from models import Agency, Assignment, Directive, Notification, get_engine
from models.db import session_scope
from tasks.artifacts import directive_key, notice_key
from tasks.notice_import import import_notice
from tasks.status_recording import record_status_update

GIVEN = at_local(date(2022, 9, 9), datetime.min.time().replace(hour=16))
NUMBER = "TẠM-20220909/TB-TU"


def morning(day: date) -> datetime:
    return at_local(day, datetime.min.time().replace(hour=8))


def outbox_count() -> int:
    with Session(get_engine()) as session:
        return session.exec(select(func.count()).select_from(Notification)).one()


def directive_id(number: str) -> int:
    with Session(get_engine()) as session:
        return session.exec(select(Directive.id).where(Directive.number == number)).one()


@pytest.fixture
def sample(db, sample_notice: Path) -> int:
    """The sample notice, imported as if it arrived on 09/09/2022 at 16:00."""
    return import_notice(sample_notice, PACKAGED_CONFIG_DIR, at=GIVEN).notice_id


def test_a_sweep_follows_up_due_directives_and_a_second_run_adds_nothing(prefect_server, sample: int) -> None:
    state = sweep(as_of=GIVEN, return_state=True)
    assert state.is_completed(), state.message
    assert state.result()["followed_up"] == 7  # every directive is new, so every one is due
    rows = outbox_count()
    with Session(get_engine()) as session:
        kinds = set(session.exec(select(Notification.kind)).all())
        assignments = session.exec(select(func.count()).select_from(Assignment)).one()
    assert kinds == {"assigned"} and rows >= assignments  # every assignment was told, by at least one contact
    assert "7 mục đến lượt đôn đốc" in state.message

    again = sweep(as_of=GIVEN, return_state=True)
    assert again.result()["followed_up"] == 0  # nothing is due: the directives' next actions are later
    assert outbox_count() == rows

    # Re-running one follow-up by hand at the same time is a no-op too.
    follow_up_directive(directive_id("2.3"), GIVEN)
    assert outbox_count() == rows


def test_only_the_directives_that_are_due_are_followed_up(prefect_server, sample: int) -> None:
    sweep(as_of=GIVEN)
    # The urgent 2.6 (due Fri 30/09/2022) reminds at −2 working days: Wed 28/09. The ongoing ones
    # report quarterly (Q3 due Tue 20/09/2022; −5 working days is Tue 13/09). On Mon 12/09 08:00
    # only the acknowledgement nudges (2 working days after Fri 09/09 is Tue 13/09) are not yet due.
    quiet = sweep(as_of=morning(date(2022, 9, 12)), return_state=True)
    assert quiet.result()["followed_up"] == 0
    # A status change marks its directive: only that one is followed up.
    with Session(get_engine()) as session:
        aid = session.exec(
            select(Assignment.id)
            .join(Agency)
            .where(Agency.code == "BAO_BG", Assignment.directive_id == directive_id("2.2"))
        ).one()
    with session_scope() as session:
        record_status_update(
            aid,
            session=session,
            status="acknowledged",
            reported_by="Báo Bắc Giang",
            source="test",
            at=morning(date(2022, 9, 12)),
        )
    marked = sweep(as_of=morning(date(2022, 9, 12)), return_state=True)
    assert marked.result()["followed_up"] == 1


def test_artifacts_exist_and_read_back_through_the_prefect_client(prefect_server, sample: int) -> None:
    swept = sweep(as_of=morning(date(2022, 9, 21)), return_state=True)
    latest = {"sort": ArtifactSort.CREATED_DESC, "limit": 1}  # the server outlives this test: read the newest version
    with get_client(sync_client=True) as client:
        table = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[directive_key(NUMBER, "2.3")])), **latest
        )
        summary = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[notice_key(NUMBER)])), **latest
        )
    assert table and summary
    rows = yaml.safe_load(table[0].data) if isinstance(table[0].data, str) else table[0].data
    agencies = {row["Cơ quan"] for row in rows}
    assert {"Sở Công Thương", "Sở Tài chính", "Hội Nông dân tỉnh"} <= agencies
    # Overdue rows come first and are marked, with their working days late in their own column.
    assert rows[0]["Tình trạng"] == "⚠ Quá hạn" and rows[0]["Ngày quá hạn"] > 0  # the Q3 report was due 20/09
    assert list(rows[0])[:6] == [
        "Cơ quan",
        "Tình trạng",
        "Ngày quá hạn",
        "Hạn",
        "Vượt cấp",
        "Cập nhật gần nhất",
    ]
    ranks = [row["Tình trạng"].startswith("⚠") for row in rows]
    assert ranks == sorted(ranks, reverse=True)
    assert "Tổng hợp thực hiện Thông báo" in summary[0].data and "Sở Công Thương" in summary[0].data
    # Published concurrently over one client, the summary still belongs to the sweep's run and its task.
    assert summary[0].flow_run_id == swept.state_details.flow_run_id and summary[0].task_run_id is not None


def test_follow_up_runs_are_named_tagged_and_end_with_a_vietnamese_summary(prefect_server, sample: int) -> None:
    with tags("directive:test/2.7"):
        state = follow_up_directive(directive_id("2.7"), morning(date(2022, 9, 21)), return_state=True)
    # Both agencies missed the Q3 report due 20/09: the state's name says so, the message says who.
    assert state.is_completed() and state.name == "Quá hạn"
    assert state.message.startswith("Quá hạn: ") and "ngày làm việc" in state.message
    assert "2 việc:" in state.message and "tin nhắn mới" in state.message
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(state.state_details.flow_run_id)
        # Task runs reach the server through its task-run recorder, in batches: wait for all three
        # (reconcile, deliver, publish: a standalone follow-up delivers its own messages).
        deadline, task_runs = time.monotonic() + 60, []
        while len(task_runs) < 3 and time.monotonic() < deadline:
            task_runs = client.read_task_runs(
                task_run_filter=TaskRunFilter(
                    flow_run_id=TaskRunFilterFlowRunId(any_=[state.state_details.flow_run_id])
                )
            )
            time.sleep(0.5)
    assert run.name == f"{NUMBER} · 2.7"
    assert {"tinh-trang:qua-han", "directive:test/2.7"} <= set(run.tags)
    # The run's tags stay on the run: task runs that inherited them would each take a concurrency lease.
    assert len(task_runs) == 3 and all(not task_run.tags for task_run in task_runs)


def test_a_directive_with_nothing_due_soon_is_on_track(prefect_server, sample: int) -> None:
    state = follow_up_directive(directive_id("2.3"), morning(date(2022, 9, 12)), return_state=True)
    assert state.is_completed() and state.name == "Đúng tiến độ"
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(state.state_details.flow_run_id)
    assert "tinh-trang:dung-tien-do" in run.tags


@pytest.mark.parametrize("agencies", [5, 40])
def test_task_runs_per_follow_up_do_not_grow_with_assignments(
    prefect_server, db, tmp_path: Path, agencies: int
) -> None:
    from config.agencies import load_agencies

    codes = [a.code for a in load_agencies(PACKAGED_CONFIG_DIR).agencies if a.code != "TTTU"][:agencies]
    notice = {
        "notice": {
            "number": f"{agencies}-TB/TU",
            "date": "2022-09-09",
            "issuer": "TTTU",
            "title": "Thử",
            "monitors": [{"agency": "BDV_TU", "role": "lead"}],
        },
        "directives": [
            {
                "number": "1",
                "text": "Thử.",
                "deadline": {"phrase": "trong 10 ngày làm việc"},
                "assignments": [{"agency": c, "role": "lead" if i == 0 else "support"} for i, c in enumerate(codes)],
            }
        ],
    }
    path = tmp_path / "n.yaml"
    path.write_text(yaml.safe_dump(notice, allow_unicode=True), encoding="utf-8")
    import_notice(path, PACKAGED_CONFIG_DIR, at=GIVEN)
    state = follow_up_directive(directive_id("1"), morning(date(2022, 10, 10)), return_state=True)
    run_id = state.state_details.flow_run_id
    with get_client(sync_client=True) as client:
        # The server records task runs from events in batches (pyproject [tool.prefect]): wait for them.
        deadline = time.monotonic() + 20
        while True:
            tasks = client.read_task_runs(
                task_run_filter=TaskRunFilter(flow_run_id=TaskRunFilterFlowRunId(any_=[run_id]))
            )
            if (len(tasks) >= 3 and all(t.state and t.state.is_final() for t in tasks)) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        children = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[run_id]))
        )
    assert sorted(t.name.rsplit("-", 1)[0] for t in tasks) == sorted(
        [
            "Đọc trạng thái, lập kế hoạch, ghi hộp thư đi",
            "Gửi tin nhắn đến hạn",
            "Cập nhật bảng theo dõi",
        ]
    )  # the same three task runs whatever the number of assignments (each costs the server events to record)
    assert not children


@pytest.mark.parametrize("threads", [1, 3])
def test_each_follow_up_is_its_own_subflow_run_of_the_sweep_one_or_several_at_a_time(
    prefect_server, sample: int, threads: int
) -> None:
    """One at a time the subflows hang straight off the sweep; several at a time each runs from a task."""
    state = sweep(as_of=GIVEN, threads=threads, return_state=True)
    assert state.is_completed() and state.result()["followed_up"] == 7 and state.result()["failed"] == 0
    with get_client(sync_client=True) as client:
        children = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[state.state_details.flow_run_id])
            )
        )
        for _ in range(40):  # task runs are recorded from events, a moment after they end
            wrappers = [
                run
                for run in client.read_task_runs(
                    task_run_filter=TaskRunFilter(
                        flow_run_id=TaskRunFilterFlowRunId(any_=[state.state_details.flow_run_id])
                    )
                )
                if run.name.startswith("Đôn đốc một mục")
            ]
            if threads == 1 or len(wrappers) == 7:
                break
            time.sleep(0.5)
    assert len(children) == 7 and all(run.state and run.state.is_completed() for run in children)
    assert len(wrappers) == (0 if threads == 1 else 7)
