"""The agency directory types: agencies, groups and contacts, indexed by normalised name."""

from __future__ import annotations

import difflib
import re
from functools import cached_property
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.notification_policy import Channel
from domain.text import match_key

# A plain mailbox address (local@domain.tld): enough to refuse typos and pasted text, not a full RFC 5322 parser.
EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)


class ContactSpec(BaseModel):
    """One address of an agency or its head."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["office", "head"] = "office"
    name: str | None = None
    channel: Channel
    address: str = Field(min_length=1)

    @model_validator(mode="after")
    def _check_email(self) -> ContactSpec:
        """An e-mail contact has a mailbox address, so a typo is refused when the file is loaded, not when sending."""
        if self.channel == "email" and not EMAIL.fullmatch(self.address):
            raise ValueError(f"địa chỉ e-mail không hợp lệ: «{self.address}»")
        return self


class AgencySpec(BaseModel):
    """One agency as the directory describes it."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$")
    name: str = Field(min_length=1)
    short_name: str | None = None
    kind: str
    aliases: list[str] = Field(default_factory=list)
    escalates_to: str | None = None
    contacts: list[ContactSpec] = Field(default_factory=list)
    # The office telephone agencies call to report (quoted in messages when the agency monitors a notice).
    phone: str | None = Field(default=None, min_length=1)

    @property
    def display_name(self) -> str:
        """Return the short name officials use, or the full name."""
        return self.short_name or self.name


class GroupSpec(BaseModel):
    """A group phrase such as "UBND các huyện, thành phố" and the agencies it stands for."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$")
    name: str
    aliases: list[str] = Field(default_factory=list)
    members: list[str] = Field(min_length=1)


class AgencyDirectory(BaseModel):
    """Every agency and group of one province."""

    model_config = ConfigDict(extra="forbid")

    province: str
    agencies: list[AgencySpec]
    groups: list[GroupSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check_references(self) -> AgencyDirectory:
        """Codes are unique; escalates_to and group members point at known agencies."""
        codes = [a.code for a in self.agencies] + [g.code for g in self.groups]
        duplicates = sorted({c for c in codes if codes.count(c) > 1})
        if duplicates:
            raise ValueError(f"mã bị trùng: {', '.join(duplicates)}")
        known = {a.code for a in self.agencies}
        for agency in self.agencies:
            if agency.escalates_to and agency.escalates_to not in known:
                raise ValueError(f"{agency.code}: escalates_to trỏ tới mã không có: {agency.escalates_to}")
        for group in self.groups:
            missing = [m for m in group.members if m not in known]
            if missing:
                raise ValueError(f"nhóm {group.code}: thành viên không có trong danh mục: {', '.join(missing)}")
        return self

    @cached_property
    def by_code(self) -> dict[str, AgencySpec]:
        """Agencies by code."""
        return {a.code: a for a in self.agencies}

    @cached_property
    def _name_index(self) -> dict[str, str]:
        """Map every normalised name, alias and code of agencies and groups to its code."""
        index: dict[str, str] = {}
        items: list[AgencySpec | GroupSpec] = [*self.agencies, *self.groups]
        for item in items:
            names = [item.code, item.name, *item.aliases]
            if isinstance(item, AgencySpec) and item.short_name:
                names.append(item.short_name)
            for name in names:
                index.setdefault(match_key(name), item.code)
        return index

    def resolve(self, name: str) -> list[str] | None:
        """Return the agency codes a code, name, alias or group phrase stands for, or None."""
        code = self._name_index.get(match_key(name))
        if code is None:
            return None
        if code in self.by_code:
            return [code]
        return list(self._group(code).members)

    def _group(self, code: str) -> GroupSpec:
        """Return the group with this code."""
        return next(g for g in self.groups if g.code == code)

    def closest(self, name: str, limit: int = 3) -> list[str]:
        """Return up to limit directory names closest to an unknown name, for error messages."""
        keys = difflib.get_close_matches(match_key(name), list(self._name_index), n=limit * 3, cutoff=0.5)
        out: list[str] = []
        for key in keys:
            code = self._name_index[key]
            agency = self.by_code.get(code)
            label = f"{agency.display_name} ({code})" if agency else f"{self._group(code).name} ({code})"
            if label not in out:
                out.append(label)
        return out[:limit]


__all__ = ["AgencyDirectory", "AgencySpec", "ContactSpec", "GroupSpec"]
