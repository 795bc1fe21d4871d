"""Load the follow-up and escalation policy (config/escalation.yaml) into domain.escalation types."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from config.loader import load_model
from domain.escalation import EscalationPolicy

ESCALATION_FILE = "escalation.yaml"


@lru_cache(maxsize=8)
def _load_cached(config_dir: Path) -> EscalationPolicy:
    """Load the policy for a resolved config dir."""
    return load_model(config_dir / ESCALATION_FILE, EscalationPolicy)


def load_escalation_policy(config_dir: Path) -> EscalationPolicy:
    """Load config_dir/escalation.yaml (cached per directory), or raise ConfigError naming the line."""
    return _load_cached(Path(config_dir).resolve())


__all__ = ["ESCALATION_FILE", "load_escalation_policy"]
