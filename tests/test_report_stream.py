"""The periodic report judges each assignment as its history streams past (issue 17 item 4).

At 100,000 assignments the history is the report's largest part; held whole next to the computed
model, it pushed the report's peak memory over 300 MB. These tests check, on a small synthetic
province (bench/synthetic.py), that the report never holds more than the history being judged, and
that what was worked out from the whole history (the directive the report cites) is still right.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator
from typing import Any

import pytest
from sqlmodel import col, select

from bench import synthetic
from config.settings import get_settings
from domain.report_lines import AssignmentHistory
from domain.update_log import UpdateLog
from models import Agency, Assignment, Directive, Notice, get_engine
from models.db import session_scope
from tasks.reporting import build, history

SPEC = synthetic.Spec(notices=12, due=10, history=False, seed=1717)
ISSUER = "BDV_TU"  # every synthetic notice's lead monitor, which issues its report (config/reporting.yaml)


def _config() -> build.ReportConfig:
    settings = get_settings()
    return build.load_report_config(settings.config_dir, settings.enabled_channels)


def _live() -> tuple[int, int]:
    """How many histories and update logs are alive (the list of every object is dropped on return)."""
    objects = gc.get_objects()
    return sum(isinstance(o, AssignmentHistory) for o in objects), sum(isinstance(o, UpdateLog) for o in objects)


def test_the_report_holds_one_history_at_a_time(db, monkeypatch: pytest.MonkeyPatch) -> None:
    synthetic.build(get_engine(), SPEC)
    monkeypatch.setattr(history, "RUN_ASSIGNMENTS", 10)
    seen: list[tuple[int, int]] = []  # (live histories, live update logs), every 50 histories
    judge = build.judge_histories

    def watched(histories: Iterable[Any], *args: Any) -> Any:
        def counted() -> Iterator[Any]:
            for n, pair in enumerate(histories):
                if n % 50 == 0:
                    seen.append(_live())
                yield pair

        return judge(counted(), *args)

    monkeypatch.setattr(build, "judge_histories", watched)
    config = _config()
    (period,) = build.resolve("2024-Q3", SPEC.as_of, config)
    with session_scope(read_only=True) as session:
        built = build.make_report(
            build.resolve_scope(None, session=session), period, SPEC.as_of, config, session=session
        )
    assert built.model.total.total > 500 and len(seen) > 10
    # The one being judged (and the one handed over); the run's shared update log, and the next one's.
    assert max(h for h, _ in seen) <= 2 and max(u for _, u in seen) <= 2, seen


def _cited(notice_id: int, until: Any) -> str | None:
    """The issuer's own directive in the notice, worked out from the tables: lead before support, then position."""
    with session_scope(read_only=True) as session:
        rows = session.exec(
            select(Assignment.role, Directive.position, Directive.number)
            .join(Directive, col(Directive.id) == col(Assignment.directive_id))
            .join(Agency, col(Agency.id) == col(Assignment.agency_id))
            .where(Directive.notice_id == notice_id, Agency.code == ISSUER, col(Assignment.created_at) <= until)
        ).all()
    return min(((role != "lead", position, number) for role, position, number in rows), default=(0, 0, None))[2]


def test_a_report_on_one_notice_cites_the_directive_that_tasks_its_issuer(db) -> None:
    synthetic.build(get_engine(), SPEC)
    config = _config()
    (period,) = build.resolve("2024-Q3", SPEC.as_of, config)
    with session_scope(read_only=True) as session:
        notices = session.exec(select(Notice.id).order_by(col(Notice.id))).all()
    found, expected = {}, {}
    for notice_id in notices:
        assert notice_id is not None
        scope = build.Scope(f"notice:{notice_id}", notice_id, "x")
        with session_scope(read_only=True) as session:
            try:
                built = build.make_report(scope, period, SPEC.as_of, config, session=session)
            except build.NothingToReport:
                continue
        found[notice_id], expected[notice_id] = built.meta.basis.directive, _cited(notice_id, period.data_as_of)
    assert found == expected
    # The case worth checking is there: notices that task the issuer, and at least one that does not.
    assert len(found) > 5 and None in found.values() and len(set(found.values()) - {None}) >= 2
