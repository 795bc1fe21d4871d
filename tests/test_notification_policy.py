"""config/notifications.yaml: defaults, located errors, backoff, and the send window."""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest

from config.loader import ConfigError
from config.notifications import load_notification_policy
from config.policy import load_calendar
from config.settings import PACKAGED_CONFIG_DIR
from domain.notification_policy import NotificationPolicy, RetryPolicy, SendWindow

CALENDAR = load_calendar(PACKAGED_CONFIG_DIR)


def local(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """Vietnam wall-clock time as aware UTC."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC) - timedelta(hours=7)


def test_packaged_policy_loads_with_the_documented_defaults() -> None:
    policy = load_notification_policy(PACKAGED_CONFIG_DIR)

    assert (policy.send_window.start, policy.send_window.end) == (time(7, 30), time(17, 0))
    assert policy.send_window.bypass_kinds == []
    assert policy.retry.max_attempts == 6 and policy.retry.base_seconds == 120
    assert policy.digest.enabled and "zns" not in policy.digest.channels
    assert policy.report_contact == "Văn phòng Tỉnh ủy"


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ('send_window:\n  start: "18:00"\n  end: "17:00"\n', 3, "giờ mở (18:00) phải trước giờ đóng (17:00)"),
        ("retry:\n  base_seconds: 60\n  max_attemps: 3\n", 3, "trường không được phép"),
        ("send_window:\n  bypass_kinds: [reminder, nhac_viec]\n", 2, "giá trị không hợp lệ"),
        (
            'zns_templates:\n  reminder:\n    template_id: "12"\n    data:\n      ten: "{{ agency "\n',
            5,
            "biểu thức Jinja không hợp lệ",
        ),
        ("lease_seconds: 0\n", 1, "giá trị quá nhỏ"),
    ],
)
def test_errors_name_the_line(tmp_path: Path, text: str, line: int, fragment: str) -> None:
    (tmp_path / "notifications.yaml").write_text(text, encoding="utf-8")

    with pytest.raises(ConfigError) as caught:
        load_notification_policy(tmp_path)

    [issue] = caught.value.issues
    assert issue.line == line and fragment in issue.message


@pytest.mark.parametrize(
    ("attempt", "low", "high"),
    [
        (1, 90, 150),  # 120 s ± 25 %
        (2, 270, 450),  # 360 s ± 25 %
        (4, 2430, 4050),  # 3,240 s ± 25 %
        (6, 16200, 21600),  # 29,160 s capped at 21,600 s, jitter below the cap only
    ],
)
def test_backoff_grows_exponentially_with_jitter_and_a_cap(attempt: int, low: float, high: float) -> None:
    retry = RetryPolicy()
    rng = random.Random(attempt)

    delays = [retry.delay(attempt, rng).total_seconds() for _ in range(200)]

    assert all(low <= d <= high for d in delays)
    assert len(set(delays)) > 100  # jittered, so retries of many rows spread out


@pytest.mark.parametrize(
    ("moment", "is_open"),
    [
        (local(2022, 9, 26, 7, 29), False),
        (local(2022, 9, 26, 7, 30), True),
        (local(2022, 9, 26, 16, 59), True),
        (local(2022, 9, 26, 17, 0), False),
        (local(2022, 9, 24, 10), False),  # Saturday
        (local(2022, 9, 2, 10), False),  # National Day
    ],
)
def test_window_is_working_hours_on_working_days(moment: datetime, is_open: bool) -> None:
    assert SendWindow().is_open(moment, CALENDAR) is is_open


@pytest.mark.parametrize(
    ("moment", "opening"),
    [
        (local(2022, 9, 23, 18), local(2022, 9, 26, 7, 30)),  # Friday evening → Monday
        (local(2022, 9, 26, 3), local(2022, 9, 26, 7, 30)),  # small hours → same morning
        (local(2023, 1, 19, 17, 30), local(2023, 1, 27, 7, 30)),  # Tết 2023 break 20–26/1
        (local(2022, 9, 26, 10), local(2022, 9, 27, 7, 30)),  # inside: the next opening is tomorrow
    ],
)
def test_next_opening(moment: datetime, opening: datetime) -> None:
    assert SendWindow().next_opening(moment, CALENDAR) == opening


def test_window_on_every_day_when_not_limited_to_working_days() -> None:
    window = SendWindow(working_days_only=False)

    assert window.is_open(local(2022, 9, 24, 10), CALENDAR)
    assert window.next_opening(local(2022, 9, 23, 18), CALENDAR) == local(2022, 9, 24, 7, 30)


def test_policy_model_defaults_match_the_file() -> None:
    assert NotificationPolicy().retry == load_notification_policy(PACKAGED_CONFIG_DIR).retry
