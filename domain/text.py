"""Vietnamese text normalisation: NFC/NFD and old/new tone placement, for matching names."""

from __future__ import annotations

import re
import unicodedata

# Combining tone marks: grave, acute, tilde, hook above, dot below.
_TONE_MARKS = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}
# Vowels whose shape mark (circumflex, breve, horn) attracts the tone in both styles.
_SHAPED_VOWELS = set("âăêôơư")
_VOWELS = set("aăâeêioôơuưy")
_WORD = re.compile(r"\w+", re.UNICODE)


def _place_tone(syllable: str) -> str:
    """Return one NFC syllable with its tone on the traditional vowel ("hóa", "thủy"), the usual official spelling."""
    decomposed = unicodedata.normalize("NFD", syllable)
    tones = [c for c in decomposed if c in _TONE_MARKS]
    if len(tones) != 1:
        return unicodedata.normalize("NFC", syllable)
    bare = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in _TONE_MARKS))
    lower = bare.lower()
    start = 0
    # "qu" and "gi" followed by a vowel: the u/i belongs to the initial consonant.
    if lower[:2] in ("qu", "gi") and len(lower) > 2 and lower[2] in _VOWELS:
        start = 2
    positions = [i for i in range(start, len(lower)) if lower[i] in _VOWELS]
    if not positions:
        positions = [i for i in range(len(lower)) if lower[i] in _VOWELS]
        if not positions:
            return unicodedata.normalize("NFC", syllable)
    first, last = positions[0], positions[-1]
    shaped = [i for i in positions if lower[i] in _SHAPED_VOWELS]
    if shaped:
        target = shaped[-1]  # "ươ" takes the tone on ơ
    elif len(positions) == 1:
        target = first
    elif last < len(lower) - 1:  # a final consonant follows the vowels
        target = last
    elif len(positions) == 2:
        target = first  # open "oa", "oe", "uy": the traditional style marks the first vowel
    else:
        target = positions[1]
    marked = unicodedata.normalize("NFD", bare[target]) + tones[0]
    return unicodedata.normalize("NFC", bare[:target] + marked + bare[target + 1 :])


def normalize_vietnamese(text: str) -> str:
    """Return text in NFC with every syllable's tone in one canonical (traditional) position."""
    nfc = unicodedata.normalize("NFC", text)
    return _WORD.sub(lambda m: _place_tone(m.group(0)), nfc)


def match_key(text: str) -> str:
    """Return a key for comparing names: normalised, case-folded, spacing collapsed."""
    key = normalize_vietnamese(text).casefold()
    key = re.sub(r"\s*&\s*", "&", key)
    key = re.sub(r"[\s\-–,.]+", " ", key)
    return key.strip()


def ascii_slug(text: str) -> str:
    """Return a lowercase ASCII slug ("TẠM-20220909/TB-TU" → "tam-20220909-tb-tu") for keys and tags."""
    folded = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    ascii_only = "".join(c for c in folded if not unicodedata.combining(c)).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_only.lower()).strip("-")


def excerpt(text: str, limit: int = 240) -> str:
    """Return text on one line, cut at a word boundary with an ellipsis when longer than limit."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " …"
