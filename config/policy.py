"""Load the calendar overrides and the deadline policy (calendar.yaml, deadlines.yaml) into domain types."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from config.loader import load_model
from domain.policy import CalendarOverrides, DeadlinePolicy
from domain.workdays import WorkCalendar

CALENDAR_FILE = "calendar.yaml"
DEADLINES_FILE = "deadlines.yaml"


def load_calendar_overrides(config_dir: Path) -> CalendarOverrides:
    """Return config_dir/calendar.yaml validated, or raise ConfigError naming the line."""
    return load_model(Path(config_dir) / CALENDAR_FILE, CalendarOverrides)


@lru_cache(maxsize=8)
def _load_calendar_cached(config_dir: Path) -> WorkCalendar:
    """Build the calendar for a resolved config dir."""
    return WorkCalendar(load_calendar_overrides(config_dir))


def load_calendar(config_dir: Path) -> WorkCalendar:
    """Return the working-day calendar built from config_dir/calendar.yaml (cached per directory)."""
    return _load_calendar_cached(Path(config_dir).resolve())


@lru_cache(maxsize=8)
def _load_deadline_policy_cached(config_dir: Path) -> DeadlinePolicy:
    """Load the deadline policy for a resolved config dir."""
    return load_model(config_dir / DEADLINES_FILE, DeadlinePolicy)


def load_deadline_policy(config_dir: Path) -> DeadlinePolicy:
    """Return the deadline policy from config_dir/deadlines.yaml (cached per directory)."""
    return _load_deadline_policy_cached(Path(config_dir).resolve())


__all__ = ["CALENDAR_FILE", "DEADLINES_FILE", "load_calendar", "load_calendar_overrides", "load_deadline_policy"]
