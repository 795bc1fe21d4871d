"""What the parser needs of an agency directory: a Protocol, so domain never imports config.

config.agencies.AgencyDirectory satisfies it structurally; tests may pass any object of the same shape.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol


class AgencyLike(Protocol):
    """One agency of the directory."""

    @property
    def code(self) -> str:
        """The agency's code (SO_TC)."""
        ...

    @property
    def name(self) -> str:
        """Its full name."""
        ...

    @property
    def short_name(self) -> str | None:
        """Its short name, if any."""
        ...

    @property
    def kind(self) -> str:
        """party_committee, government, district_party_committee, …"""
        ...

    @property
    def aliases(self) -> Sequence[str]:
        """Other names and abbreviations."""
        ...


class AgencyGroupLike(Protocol):
    """A named group of agencies (UBND các huyện, thành phố)."""

    @property
    def code(self) -> str:
        """The group's code."""
        ...

    @property
    def name(self) -> str:
        """The group phrase."""
        ...

    @property
    def aliases(self) -> Sequence[str]:
        """Other phrases for the group."""
        ...

    @property
    def members(self) -> Sequence[str]:
        """Codes of the member agencies."""
        ...


class AgencyDirectoryLike(Protocol):
    """The agency directory as the parser reads it."""

    @property
    def province(self) -> str:
        """The province's name (Bắc Giang), restored in recased titles."""
        ...

    @property
    def agencies(self) -> Sequence[AgencyLike]:
        """Every agency."""
        ...

    @property
    def groups(self) -> Sequence[AgencyGroupLike]:
        """Every group."""
        ...

    @property
    def by_code(self) -> Mapping[str, AgencyLike]:
        """Agencies by code."""
        ...

    def closest(self, name: str, limit: int = 3) -> list[str]:
        """Directory names closest to an unknown name, as labels for the reviewer."""
        ...
