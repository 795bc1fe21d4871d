"""config/escalation.yaml is validated; a mistake is reported with its file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.escalation import load_escalation_policy
from config.loader import ConfigError
from config.settings import PACKAGED_CONFIG_DIR

SHIPPED = (PACKAGED_CONFIG_DIR / "escalation.yaml").read_text(encoding="utf-8")


def test_the_shipped_policy_follows_the_design_defaults() -> None:
    policy = load_escalation_policy(PACKAGED_CONFIG_DIR)
    normal = policy.ladder("normal")
    assert normal.reminders_before_due == [5, 2, 0]
    assert [(r.level, r.after) for r in normal.overdue] == [(1, 1), (2, 3), (3, 7), (4, 15)]
    assert [r.notify for r in normal.overdue] == [
        ["assignee", "assignee_head"],
        ["supervisor"],
        ["monitor"],
        ["issuer"],
    ]
    assert policy.ladder("urgent") != normal


@pytest.mark.parametrize(
    ("old", "new", "field", "message", "at"),
    [
        (
            "{level: 2, after: 3, notify: [supervisor]}",
            "{level: 2, after: 3, notify: [boss]}",
            "ladders.normal.overdue[1].notify[0]",
            "giá trị không hợp lệ",
            None,
        ),
        (
            "{level: 3, after: 7, notify: [monitor]}",
            "{level: 3, after: 2, notify: [monitor]}",
            "ladders.normal",
            "phải tăng dần",
            "  normal:",
        ),  # a rule about the whole ladder points at the ladder
        (
            "    repeat_top: {every: 5, max: 3}",
            "    repeat_top: {every: 5, max: 3, often: true}",
            "ladders.normal.repeat_top.often",
            "không được phép",
            None,
        ),
    ],
    ids=["unknown-recipient", "levels-out-of-order", "typo-in-a-key"],
)
def test_a_bad_policy_is_refused_with_its_line(
    tmp_path: Path, old: str, new: str, field: str, message: str, at: str | None
) -> None:
    assert old in SHIPPED
    line = SHIPPED[: SHIPPED.index(at or old)].count("\n") + 1
    (tmp_path / "escalation.yaml").write_text(SHIPPED.replace(old, new), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_escalation_policy(tmp_path)
    issue = info.value.issues[0]
    assert issue.file == str(tmp_path / "escalation.yaml") and issue.field == field and message in issue.message
    assert issue.line == line
