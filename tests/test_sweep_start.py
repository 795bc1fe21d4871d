"""A follow-up that cannot start on a busy Prefect API is started again; other errors fail it alone."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from prefect.states import Completed

import flows.sweep as sweep_module

AS_OF = datetime(2022, 9, 21, 1, tzinfo=UTC)


def _busy() -> httpx.HTTPStatusError:
    request = httpx.Request("POST", "http://prefect/api/task_runs/")
    return httpx.HTTPStatusError("busy", request=request, response=httpx.Response(503, request=request))


@pytest.fixture
def attempts(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record each start; no waiting between attempts; a plain logger outside a run."""
    monkeypatch.setattr(sweep_module, "START_RETRY_DELAYS_S", (0, 0))
    monkeypatch.setattr(sweep_module, "get_run_logger", lambda: logging.getLogger("test"))
    return []


def _starts(attempts: list[int], errors: list[Exception]) -> Any:
    """A follow_up_directive stand-in that raises the given errors, in turn, then completes."""

    def follow_up(directive_id: int, as_of: datetime, deliver: bool, return_state: bool) -> Any:
        attempts.append(directive_id)
        if errors:
            raise errors.pop(0)
        return Completed(name="Quá hạn")

    return follow_up


def test_a_start_that_meets_a_busy_api_is_tried_again(monkeypatch: pytest.MonkeyPatch, attempts: list[int]) -> None:
    monkeypatch.setattr(sweep_module, "follow_up_directive", _starts(attempts, [_busy(), _busy()]))
    outcome = sweep_module._follow_up_here(7, ["muc-7"], AS_OF)
    assert outcome.completed and outcome.situation == "Quá hạn" and attempts == [7, 7, 7]


def test_a_busy_api_that_stays_busy_fails_that_follow_up_only(
    monkeypatch: pytest.MonkeyPatch, attempts: list[int]
) -> None:
    monkeypatch.setattr(sweep_module, "follow_up_directive", _starts(attempts, [_busy(), _busy(), _busy()]))
    outcome = sweep_module._follow_up_here(7, [], AS_OF)
    assert not outcome.completed and attempts == [7, 7, 7]


def test_a_programming_error_is_not_tried_again(monkeypatch: pytest.MonkeyPatch, attempts: list[int]) -> None:
    monkeypatch.setattr(sweep_module, "follow_up_directive", _starts(attempts, [ValueError("bug")]))
    outcome = sweep_module._follow_up_here(7, [], AS_OF)
    assert not outcome.completed and attempts == [7]
