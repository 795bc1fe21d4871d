"""The periodic reporting policy (config/reporting.yaml), validated."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from config.loader import load_model

REPORTING_FILE = "reporting.yaml"
Frequency = Literal["month", "quarter", "half_year", "year"]
System = Literal["party", "state"]
MONITORS = "monitors"
CITE_DIRECTIVE = "directive"


class _Strict(BaseModel):
    """Policy models refuse unknown keys, so a typo is an error with a line, not a silent default."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class RecipientSpec(_Strict):
    """One receiving agency (or every monitor of the notice), with its note in the "Nơi nhận" list."""

    agency: str = Field(min_length=1, description="Agency code, or 'monitors'.")
    note: str | None = Field(default=None, description="e.g. 'b/c' (để báo cáo).")


class SignerSpec(_Strict):
    """Who signs: the authority line (T/M, K/T, T/L; optional), the signer's title and full name."""

    authority: str | None = Field(default=None, description="e.g. 'K/T TRƯỞNG BAN', 'T/M BAN THƯỜNG VỤ'.")
    title: str = Field(min_length=1, description="e.g. 'TRƯỞNG BAN', 'PHÓ CHÁNH VĂN PHÒNG'.")
    name: str = Field(min_length=1, description="The signer's full name, printed under the signature.")


class IssuerSpec(_Strict):
    """How a body heads and signs its reports."""

    parent: str = Field(min_length=1, description="The body above it, e.g. 'Tỉnh ủy Bắc Giang'.")
    name: str = Field(min_length=1, description="e.g. 'Ban Dân vận'.")
    symbol: str = Field(min_length=1, pattern=r"^[A-ZĐ0-9-]+$", description="Abbreviation in the number: 'BDVTU'.")
    system: System = Field(
        default="party", description="party: a Party body; state: a People's Committee or department."
    )
    signer: SignerSpec
    archive: str = Field(default="Lưu Văn phòng", min_length=1, description="The last 'Nơi nhận' line: 'Lưu VT'.")


class BasisSpec(_Strict):
    """What a report rests on: the text it cites and the rule its data window follows."""

    cite: str = Field(
        min_length=1,
        description=f"'{CITE_DIRECTIVE}': the notice's own directive that tasks the issuer with following up and "
        "reporting (2.7 in the sample notice); any other text is cited as written.",
    )
    cutoff_rule: str | None = Field(default=None, description="Where the data window comes from, said after it.")


DEFAULT_BASIS = {
    "party": BasisSpec(cite=CITE_DIRECTIVE),
    "state": BasisSpec(
        cite="Nghị định số 09/2019/NĐ-CP ngày 24/01/2019 của Chính phủ quy định về chế độ báo cáo của cơ quan "
        "hành chính nhà nước",
        cutoff_rule="thời gian chốt số liệu theo Điều 12 Nghị định số 09/2019/NĐ-CP",
    ),
}


class Ranking(_Strict):
    """Agency ranking: on or off, points per timeliness category, weights per role."""

    enabled: bool = True
    points: dict[Literal["on_time", "in_progress", "late", "overdue"], int]
    weights: dict[Literal["lead", "support"], int]

    @field_validator("points")
    @classmethod
    def _every_category(cls, value: dict[str, int]) -> dict[str, int]:
        """Every category has points between 0 and 100."""
        missing = {"on_time", "in_progress", "late", "overdue"} - set(value)
        if missing:
            raise ValueError(f"thiếu điểm cho: {', '.join(sorted(missing))}")
        if any(not 0 <= v <= 100 for v in value.values()):
            raise ValueError("điểm phải từ 0 đến 100")
        return value

    @field_validator("weights")
    @classmethod
    def _both_roles(cls, value: dict[str, int]) -> dict[str, int]:
        """Both roles have a positive weight."""
        if set(value) != {"lead", "support"} or any(v < 1 for v in value.values()):
            raise ValueError("cần hệ số nguyên dương cho cả lead và support")
        return value


class ReportingPolicy(_Strict):
    """Everything the periodic report reads from config."""

    frequencies: list[Frequency] = Field(min_length=1)
    recipients: list[RecipientSpec] = Field(min_length=1)
    contact_role: Literal["office", "head"] = "office"
    fallback_issuer: str
    issuers: dict[str, IssuerSpec]
    place: str | None = None
    trend_periods: int = Field(default=4, ge=2, le=24)
    document_rows: int = Field(default=30, ge=5, le=500)
    chart_groups: int = Field(default=15, ge=3, le=40)
    ranking: Ranking
    legal_basis: dict[System, BasisSpec] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _fallback_known(self) -> ReportingPolicy:
        """The fallback issuer has a heading."""
        if self.fallback_issuer not in self.issuers:
            raise ValueError(f"fallback_issuer {self.fallback_issuer} không có trong issuers")
        return self

    def basis_for(self, system: System) -> BasisSpec:
        """The configured basis of an issuer's system, or the default (directive for a Party body, Decree 09 for a state body)."""
        return self.legal_basis.get(system) or DEFAULT_BASIS[system]


@lru_cache(maxsize=8)
def _load_cached(config_dir: Path) -> ReportingPolicy:
    """Load the policy for a resolved config dir."""
    return load_model(config_dir / REPORTING_FILE, ReportingPolicy)


def load_reporting_policy(config_dir: Path) -> ReportingPolicy:
    """Return the reporting policy from config_dir/reporting.yaml (cached per directory)."""
    return _load_cached(Path(config_dir).resolve())
