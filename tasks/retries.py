"""Prefect retry options for I/O tasks: transient errors only, with exponential backoff and jitter."""

from __future__ import annotations

import socket
from typing import Any

import httpx
from prefect import Task
from prefect.client.schemas.objects import State, TaskRun
from prefect.tasks import exponential_backoff
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

# Errors that may pass by themselves: a locked or restarting database, a network hiccup, a timeout.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError,
    DisconnectionError,
    PoolTimeoutError,
    ConnectionError,
    TimeoutError,
    socket.timeout,
    httpx.TransportError,
)


def is_transient(error: BaseException) -> bool:
    """Whether error is worth retrying (a programming or data error never is)."""
    return isinstance(error, TRANSIENT_ERRORS)


def retry_transient_only(_task: Task[..., Any], _task_run: TaskRun, state: State[Any]) -> bool:
    """Prefect retry condition: retry a failed task run only when its exception is transient."""
    try:
        state.result()
    except Exception as exc:  # noqa: BLE001 - the state's own exception, re-raised by result(), is what we classify
        return is_transient(exc)
    return False


IO_RETRIES: dict[str, Any] = {
    "retries": 3,
    "retry_delay_seconds": exponential_backoff(backoff_factor=2),
    "retry_jitter_factor": 0.5,
    "retry_condition_fn": retry_transient_only,
}
