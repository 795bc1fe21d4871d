"""Load the national list of standard body types (config/body_types.yaml) into domain.body_types."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from config.loader import load_model
from config.settings import PACKAGED_CONFIG_DIR
from domain.body_types import BodyTypeCatalog

BODY_TYPES_FILE = "body_types.yaml"


@lru_cache(maxsize=8)
def _load_cached(config_dir: Path) -> BodyTypeCatalog:
    """Load the catalogue of a resolved config dir."""
    return load_model(config_dir / BODY_TYPES_FILE, BodyTypeCatalog)


def load_body_types(config_dir: Path) -> BodyTypeCatalog:
    """Load config_dir/body_types.yaml (cached per directory), or raise ConfigError naming the line.

    The list is national, not a province's policy: a config dir without its own copy uses the packaged one.
    """
    folder = Path(config_dir) if (Path(config_dir) / BODY_TYPES_FILE).is_file() else PACKAGED_CONFIG_DIR
    return _load_cached(folder.resolve())


__all__ = ["BODY_TYPES_FILE", "BodyTypeCatalog", "load_body_types"]
