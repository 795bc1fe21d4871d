"""Load the delivery policy (config/notifications.yaml) into domain.notification_policy types."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from config.loader import load_model
from domain.notification_policy import NotificationPolicy

NOTIFICATIONS_FILE = "notifications.yaml"


@lru_cache(maxsize=8)
def _load_cached(config_dir: Path) -> NotificationPolicy:
    """Load the policy for a resolved config dir."""
    return load_model(config_dir / NOTIFICATIONS_FILE, NotificationPolicy)


def load_notification_policy(config_dir: Path) -> NotificationPolicy:
    """Return config_dir/notifications.yaml validated (cached per directory); ConfigError names the line."""
    return _load_cached(Path(config_dir).resolve())


__all__ = ["NOTIFICATIONS_FILE", "load_notification_policy"]
