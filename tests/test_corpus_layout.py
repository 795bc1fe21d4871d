"""The notice corpus loads and is well-formed: expectations parse, anchors exist, due dates follow their rules, coverage."""

from __future__ import annotations

import importlib.util
import sys
import unicodedata
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from config.policy import load_calendar, load_deadline_policy
from config.settings import PACKAGED_CONFIG_DIR
from domain.deadlines import compute_due, rule_from_json

CORPUS = Path(__file__).resolve().parent / "notice_corpus"
FIELD = CORPUS / "field"
ROLES = {"lead", "support"}
RECURRENCES = {None, "month", "quarter", "half_year", "year", "unspecified"}

_spec = importlib.util.spec_from_file_location(
    "parse_accuracy", Path(__file__).resolve().parent.parent / "bench" / "parse_accuracy.py"
)
assert _spec and _spec.loader
scoring = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("parse_accuracy", scoring)
_spec.loader.exec_module(scoring)

ALL = scoring.corpus_files(CORPUS) + scoring.field_files(FIELD)
FIELD_FILES = scoring.field_files(FIELD)


def _expectations() -> list[dict[str, Any]]:
    """Every expectation of the corpus, with the field defaults."""
    return [scoring.load_expectation(e) for _, e in ALL]


def test_the_corpus_has_sixty_notices_five_per_genre_ten_provinces_and_twenty_blind() -> None:
    exps = _expectations()
    assert len(exps) >= 60
    genres = Counter(e["genre"] for e in exps)
    assert set(genres) == set(scoring.GENRES) and min(genres.values()) >= 5, genres
    assert len({e["province"] for e in exps}) >= 10
    assert sum(1 for e in exps if e["blind"]) >= 20


def test_the_second_blind_batch_is_notices_62_to_81_four_per_genre() -> None:
    batch2 = [(e.name, scoring.load_expectation(e)) for _, e in FIELD_FILES]
    batch2 = [(name, exp) for name, exp in batch2 if exp["batch"] == 2]
    assert sorted(int(name[:2]) for name, _ in batch2) == list(range(62, 82))
    assert all(exp["blind"] for _, exp in batch2)
    assert Counter(exp["genre"] for _, exp in batch2) == dict.fromkeys(scoring.GENRES, 4)


@pytest.mark.parametrize(("source", "expected"), FIELD_FILES, ids=[s.name for s, _ in FIELD_FILES])
def test_field_expectation_is_well_formed(source: Path, expected: Path) -> None:
    exp = scoring.load_expectation(expected)
    assert source.exists() and exp["source"] == source.name
    assert exp["genre"] in scoring.GENRES and exp["province"] and isinstance(exp["blind"], bool)
    assert exp["batch"] in (1, 2) and (exp["batch"] == 1 or exp["blind"]), "batch 2 is a blind batch"
    assert isinstance(exp["notice"]["date"], date)
    text = " ".join(unicodedata.normalize("NFC", source.read_bytes().decode("utf-8-sig")).split())
    anchors = [item["anchor"] for item in exp["directives"]]
    assert len(set(anchors)) == len(anchors)
    calendar, policy = load_calendar(PACKAGED_CONFIG_DIR), load_deadline_policy(PACKAGED_CONFIG_DIR)
    for item in exp["directives"]:
        assert scoring.anchor_key(text).count(scoring.anchor_key(item["anchor"])) == 1, item["anchor"]
        assert item["agencies"] and set(item["agencies"].values()) <= ROLES
        assert item.get("recurrence") in RECURRENCES
        deadline = item.get("deadline")
        if deadline is None or deadline["kind"] == "ongoing":
            continue
        rule = {
            "kind": deadline["kind"],
            **{k: str(v) if isinstance(v, date) else v for k, v in deadline["rule"].items()},
        }
        due = compute_due(rule_from_json(rule), exp["notice"]["date"], calendar, policy).due
        assert deadline["due"] == due, f"{item['number']}: due {deadline['due']} but its rule gives {due}"


def test_names_compare_with_abbreviations_written_out() -> None:
    same = [
        ("Sở NN&PTNT", "Sở Nông nghiệp và Phát triển nông thôn"),
        ("Sở Nông nghiệp và PTNT", "Sở Nông nghiệp & Phát triển nông thôn"),
        ("Sở KH&ĐT", "Sở Kế hoạch và Đầu tư"),
        ("Sở LĐ-TB&XH", "Sở Lao động - Thương binh và Xã hội"),
        ("Sở VH-TT&DL", "Sở Văn hóa, Thể thao và Du lịch"),
        ("UBND TP Việt Trì", "Uỷ ban nhân dân thành phố Việt Trì"),
    ]
    for short, full in same:
        assert scoring.canonical_name(short) == scoring.canonical_name(full)
    assert scoring.canonical_name("Sở KH&CN") != scoring.canonical_name("Sở KH&ĐT")
