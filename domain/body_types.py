"""The standard body types of any Vietnamese province, so a body outside a province's directory is known by its type.

A catalogue (config/body_types.yaml) lists each type ("Sở", "Ban của cấp ủy", "Ủy ban nhân dân" …) with the standard
names of its bodies, current ones and those merged in 2025 that older documents still use ("Sở Kế hoạch và Đầu tư",
now Sở Tài chính). A name is classified by the longest standard name it starts with; the place word that follows
("tỉnh", "huyện", "xã" …) sets the level when the type alone does not.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.text import match_key


class BodyLevel(StrEnum):
    """The administrative level of a body."""

    province = "province"
    district = "district"
    commune = "commune"
    province_or_district = "province_or_district"


LEVEL_LABELS = {
    BodyLevel.province: "cấp tỉnh",
    BodyLevel.district: "cấp huyện",
    BodyLevel.commune: "cấp xã",
    BodyLevel.province_or_district: "cấp tỉnh hoặc cấp huyện",
}
# The place word after a standard name, longest first; "thành phố" and "thành ủy" name either level, so they
# leave the type's own level.
_PLACE_LEVELS: tuple[tuple[str, BodyLevel], ...] = (
    ("tỉnh ủy", BodyLevel.province),
    ("huyện ủy", BodyLevel.district),
    ("quận ủy", BodyLevel.district),
    ("thị ủy", BodyLevel.district),
    ("đảng ủy xã", BodyLevel.commune),
    ("đảng ủy phường", BodyLevel.commune),
    ("thị xã", BodyLevel.district),
    ("thị trấn", BodyLevel.commune),
    ("đặc khu", BodyLevel.commune),
    ("tỉnh", BodyLevel.province),
    ("huyện", BodyLevel.district),
    ("quận", BodyLevel.district),
    ("xã", BodyLevel.commune),
    ("phường", BodyLevel.commune),
)


class StandardBody(BaseModel):
    """One standard body name, with its other written forms and, for a merged body, what it became."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=2)
    abbreviations: list[str] = Field(default_factory=list)
    level: BodyLevel | None = None  # overrides the type's level
    now: list[str] = Field(default_factory=list)  # the bodies that took over (the 2025 mergers)


class BodyType(BaseModel):
    """A type of body and the standard names of its bodies."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str = Field(min_length=1)
    level: BodyLevel
    # Words every name of the type ends with ("Tỉnh ủy", "Huyện ủy" for the boards of a party committee):
    # each body is known under each suffix, at the level the suffix names.
    suffixes: list[str] = Field(default_factory=list)
    bodies: list[StandardBody] = Field(min_length=1)

    def written_names(self) -> Iterator[tuple[str, BodyMatch]]:
        """Every name and abbreviation of the type's bodies, with each suffix, and what it stands for."""
        for body in self.bodies:
            for suffix in self.suffixes or [""]:
                level = place_level(_words(suffix)) or body.level or self.level
                now = tuple(f"{n} {suffix}".strip() for n in body.now)
                match = BodyMatch(self.code, self.label, level, f"{body.name} {suffix}".strip(), now)
                for name in (body.name, *body.abbreviations):
                    yield f"{name} {suffix}".strip(), match


@dataclass(frozen=True)
class BodyMatch:
    """What the catalogue says about a name: its type, level and standard name."""

    type_code: str
    type_label: str
    level: BodyLevel
    standard_name: str
    now: tuple[str, ...] = ()

    def describe(self) -> str:
        """The type for a reviewer: "Sở (cấp tỉnh)", and what a merged body became."""
        text = f"{self.type_label} ({LEVEL_LABELS[self.level]})"
        if len(self.now) == 1:
            text += f", nay là {self.now[0]}"
        elif self.now:
            text += f", nay chuyển về {', '.join(self.now)}"
        return text

    def at_level(self, level: BodyLevel) -> BodyMatch:
        """The same match at another level (set by the place word after the name)."""
        return BodyMatch(self.type_code, self.type_label, level, self.standard_name, self.now)


class BodyTypeCatalog(BaseModel):
    """Every standard body type, nationwide."""

    model_config = ConfigDict(extra="forbid")

    types: list[BodyType] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> BodyTypeCatalog:
        """Type codes and written names are unique; "now" names a body of the catalogue."""
        codes = [t.code for t in self.types]
        duplicates = sorted({c for c in codes if codes.count(c) > 1})
        if duplicates:
            raise ValueError(f"mã loại bị trùng: {', '.join(duplicates)}")
        seen: dict[str, str] = {}
        for body_type in self.types:
            for name, _ in body_type.written_names():
                key = match_key(name)
                if key in seen:
                    raise ValueError(f"tên «{name}» có hai lần (loại {seen[key]} và {body_type.code})")
                seen[key] = body_type.code
        names = {match_key(b.name) for t in self.types for b in t.bodies}
        for body_type in self.types:
            for body in body_type.bodies:
                missing = [n for n in body.now if match_key(n) not in names]
                if missing:
                    raise ValueError(f"«{body.name}»: now trỏ tới tên không có trong danh mục: {', '.join(missing)}")
        return self

    def written_names(self) -> Iterator[tuple[str, BodyMatch]]:
        """Every standard name and abbreviation with what it stands for."""
        for body_type in self.types:
            yield from body_type.written_names()

    @cached_property
    def _by_key(self) -> dict[str, BodyMatch]:
        """Standard names and abbreviations by match key."""
        return {match_key(name): match for name, match in self.written_names()}

    @cached_property
    def _longest(self) -> int:
        """The most words in one written name."""
        return max(len(key.split()) for key in self._by_key)

    def classify(self, name: str) -> BodyMatch | None:
        """The type of the longest standard name that name starts with, at the level its place word says."""
        words = _words(name)
        for n in range(min(self._longest, len(words)), 0, -1):
            match = self._by_key.get(" ".join(words[:n]))
            if match is not None:
                level = place_level(words[n:])
                return match.at_level(level) if level else match
        return None


def _words(name: str) -> list[str]:
    """The words of a name as match keys ("Sở KH&ĐT tỉnh" → ["sở", "kh&đt", "tỉnh"])."""
    return match_key(re.sub(r"[()\"«»“”]", " ", name)).split()


def place_level(words: list[str]) -> BodyLevel | None:
    """The level the first words after a standard name give ("tỉnh Quảng Trị" → province), or None."""
    head = " ".join(words[:3])
    for phrase, level in _PLACE_LEVELS:
        if head == phrase or head.startswith(phrase + " "):
            return level
    return None


__all__ = ["LEVEL_LABELS", "BodyLevel", "BodyMatch", "BodyType", "BodyTypeCatalog", "StandardBody", "place_level"]
