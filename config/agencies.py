"""Load the agency directory (config/agencies.yaml) into domain.agencies types."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from config.loader import ConfigError, ConfigIssue, load_located_yaml, validate_located
from domain.agencies import AgencyDirectory, AgencySpec, ContactSpec, GroupSpec

AGENCIES_FILE = "agencies.yaml"


@lru_cache(maxsize=8)
def load_agencies(config_dir: Path) -> AgencyDirectory:
    """Load and validate config_dir/agencies.yaml, or raise ConfigError naming the line."""
    located = load_located_yaml(config_dir / AGENCIES_FILE)
    directory = validate_located(located, AgencyDirectory)
    issues = [
        located.issue(("agencies", i, "escalates_to"), "trỏ tới chính mình")
        for i, a in enumerate(directory.agencies)
        if a.escalates_to == a.code
    ]
    if issues:
        raise ConfigError(issues)
    return directory


__all__ = ["AgencyDirectory", "AgencySpec", "ConfigIssue", "ContactSpec", "GroupSpec", "load_agencies"]
