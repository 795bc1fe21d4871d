"""Vietnamese normalisation: NFC/NFD and old/new tone placement give one key."""

from __future__ import annotations

import unicodedata

import pytest

from domain.text import match_key, normalize_vietnamese


@pytest.mark.parametrize(
    ("variant", "canonical"),
    [
        ("hoá", "hóa"),  # the seed writes "hoá"
        ("Khoá", "Khóa"),
        ("thuỷ", "thủy"),
        ("Hoà", "Hòa"),
        ("oà", "òa"),
        ("quý", "quý"),  # qu + y: the tone already sits on y
        ("giữa", "giữa"),  # gi + ưa: the tone stays on ư
        ("hoạch", "hoạch"),  # a final consonant keeps the tone on the last vowel
        ("người", "người"),
        ("tuỳ", "tùy"),
    ],
)
def test_both_tone_placements_normalise_to_the_traditional_one(variant: str, canonical: str) -> None:
    assert normalize_vietnamese(variant) == unicodedata.normalize("NFC", canonical)
    assert normalize_vietnamese(canonical) == unicodedata.normalize("NFC", canonical)


def test_nfd_and_nfc_give_the_same_key() -> None:
    nfd = unicodedata.normalize("NFD", "Sở Khoa học và Công nghệ")
    assert nfd != "Sở Khoa học và Công nghệ"
    assert match_key(nfd) == match_key("Sở Khoa học và Công nghệ")


def test_match_key_folds_case_spacing_and_ampersands() -> None:
    assert match_key("SỞ  NN & PTNT") == match_key("Sở NN&PTNT")
    assert match_key("Huyện ủy Hiệp Hoà") == match_key("huyện ủy hiệp hòa")


def test_different_words_stay_different() -> None:
    assert match_key("Hòa") != match_key("Hoa")
    assert match_key("Sở Tài chính") != match_key("Sở Công Thương")


@pytest.mark.parametrize(
    ("text", "slug"),
    [("TẠM-20220909/TB-TU", "tam-20220909-tb-tu"), ("2.3", "2-3"), ("Đài PT-TH tỉnh", "dai-pt-th-tinh")],
)
def test_ascii_slug_folds_vietnamese_for_prefect_keys(text: str, slug: str) -> None:
    from domain.text import ascii_slug

    assert ascii_slug(text) == slug
