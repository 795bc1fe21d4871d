"""The Bắc Giang agency directory: every body the sample names, districts, groups, matching."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

from config.agencies import load_agencies
from config.loader import ConfigError
from config.settings import PACKAGED_CONFIG_DIR

DIRECTORY = load_agencies(PACKAGED_CONFIG_DIR)
DISTRICTS = [
    "Thành phố Bắc Giang",
    "Hiệp Hòa",
    "Lạng Giang",
    "Lục Nam",
    "Lục Ngạn",
    "Sơn Động",
    "Tân Yên",
    "Việt Yên",
    "Yên Dũng",
    "Yên Thế",
]


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("Thường trực Tỉnh ủy", "TTTU"),
        ("Ban Thường vụ Tỉnh ủy", "BTVTU"),
        ("UBND tỉnh", "UBND_TINH"),
        ("Ban cán sự đảng UBND tỉnh", "BCSD_UBND"),
        ("Ban Dân vận Tỉnh ủy", "BDV_TU"),
        ("Văn phòng Tỉnh ủy", "VP_TU"),
        ("Ủy ban MTTQ tỉnh", "MTTQ_TINH"),
        ("Hội Nông dân tỉnh", "HND_TINH"),
        ("Sở Tài chính", "SO_TC"),
        ("Sở NN&PTNT", "SO_NNPTNT"),
        ("Sở Nông nghiệp và Phát triển nông thôn", "SO_NNPTNT"),
        ("Sở Công Thương", "SO_CT"),
        ("Sở KH&CN", "SO_KHCN"),
        ("Sở Khoa học và Công nghệ", "SO_KHCN"),
        ("Liên minh HTX tỉnh", "LMHTX"),
        ("Liên minh Hợp tác xã tỉnh", "LMHTX"),
        ("LMHTX", "LMHTX"),
        ("MTTQ", "MTTQ_TINH"),
        ("Báo Bắc Giang", "BAO_BG"),
        ("Đài PT-TH tỉnh", "DAI_PTTH"),
        ("Đài Phát thanh và Truyền hình tỉnh", "DAI_PTTH"),
    ],
)
def test_every_body_of_the_sample_notice_resolves(name: str, code: str) -> None:
    assert DIRECTORY.resolve(name) == [code]


@pytest.mark.parametrize("district", DISTRICTS)
def test_each_district_has_party_committee_peoples_committee_and_farmers_association(district: str) -> None:
    kinds = {a.kind for a in DIRECTORY.agencies if district.lower().replace("thành phố ", "") in a.name.lower()}
    assert {"district_party_committee", "district_government", "district_mass_org"} <= kinds


def test_groups_expand_to_all_their_members() -> None:
    members = DIRECTORY.resolve("UBND các huyện, thành phố")
    assert members is not None and len(members) == 10
    assert all(DIRECTORY.by_code[m].kind == "district_government" for m in members)


@pytest.mark.parametrize("form", ["NFC", "NFD"])
def test_names_match_after_unicode_and_tone_normalisation(form: str) -> None:
    assert DIRECTORY.resolve(unicodedata.normalize(form, "Huyện ủy Hiệp Hoà")) == ["HU_HIEPHOA"]
    assert DIRECTORY.resolve(unicodedata.normalize(form, "HỘI NÔNG DÂN HUYỆN HIỆP HÒA")) == ["HND_HIEPHOA"]


def test_every_agency_escalates_to_a_known_agency_and_has_contacts() -> None:
    for agency in DIRECTORY.agencies:
        assert agency.escalates_to is None or agency.escalates_to in DIRECTORY.by_code
        assert agency.contacts, agency.code
        for contact in agency.contacts:
            if contact.channel == "email":
                assert contact.address.endswith(".example"), "placeholders only: reserved example domain"


def test_an_unknown_name_gets_close_suggestions() -> None:
    assert DIRECTORY.resolve("Sở Tài chánh") is None
    assert DIRECTORY.closest("Sở Tài chánh")[0] == "Sở Tài chính (SO_TC)"


def test_a_directory_with_an_unknown_supervisor_is_refused_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "agencies.yaml").write_text(
        "province: X\nagencies:\n  - code: A\n    name: A\n    kind: k\n    escalates_to: NOPE\n", encoding="utf-8"
    )
    load_agencies.cache_clear()
    with pytest.raises(ConfigError, match="NOPE"):
        load_agencies(tmp_path)
