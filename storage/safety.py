"""Safety words: the curated English and French words that make any free text a
participant writes an urgent flag (`storage.flags`)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

# Safety words, English and French, matched as whole words ignoring case and accents
# (written here as people type them; a space matches any run of spaces or hyphens).
SAFETY_WORDS: tuple[str, ...] = (
    # English
    "harass", "harassed", "harassing", "harassment",
    "abuse", "abused", "abusing", "abusive",
    "unsafe", "not safe", "in danger",
    "threat", "threats", "threaten", "threatened", "threatening",
    "self harm", "self harming", "hurt myself", "kill myself", "cutting myself",
    "suicide", "suicidal",
    "violence", "violent",
    "assault", "assaulted", "rape", "raped",
    "bully", "bullied", "bullying", "stalking", "stalked",
    # French
    "harcèlement", "harceler", "harcelé", "harcelée", "harcèle", "harcelant",
    "abus", "abusé", "abusée", "abusif", "abusive",
    "pas en sécurité", "en danger", "dangereux",
    "menace", "menaces", "menacé", "menacée", "menacer", "menaçant",
    "automutilation", "me faire du mal", "me tuer",
    "suicidaire",
    "agression", "agressé", "agressée", "viol", "violée",
    "intimidation", "intimidé", "intimidée",
)  # fmt: skip


def fold(text: str) -> str:
    """Lower case without accents: "Harcèlement" -> "harcelement"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _pattern(words: Iterable[str]) -> re.Pattern[str]:
    canonical = sorted({fold(word) for word in words}, key=len, reverse=True)
    parts = [r"[\s\-]+".join(map(re.escape, word.split())) for word in canonical]
    return re.compile(r"(?<!\w)(" + "|".join(parts) + r")(?!\w)")


_SAFETY = _pattern(SAFETY_WORDS)
_SAFETY_NAMES: dict[str, str] = {}
for _word in SAFETY_WORDS:  # "menace" and "menacé" fold alike: the first one names both
    _SAFETY_NAMES.setdefault(fold(_word), _word)


def safety_words(text: str) -> list[str]:
    """The safety words in `text` (as listed, once each, in order of appearance)."""
    found: list[str] = []
    for matched in _SAFETY.finditer(fold(text)):
        key = " ".join(re.split(r"[\s\-]+", matched.group(1)))
        word = _SAFETY_NAMES.get(key, key)
        if word not in found:
            found.append(word)
    return found
