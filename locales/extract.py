"""A Babel extractor for instrument files (conversations/instruments/*.toml).

Mapped in babel.cfg through its `[extractors]` section, so `python -m locales.tools update`
(and `pybabel extract -F locales/babel.cfg`) put the instruments' titles, question texts,
labels, hints and option labels into the catalogs like any `gettext` call in the code.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Collection, Iterator, Mapping
from typing import IO, Any

# The fields whose values people read, at the instrument, question and option level.
INSTRUMENT_TEXTS = ("title", "intro")
QUESTION_TEXTS = ("text", "label", "hint", "low", "high", "unit")
OPTION_TEXTS = ("label",)

Extracted = tuple[int, str | None, str, list[str]]


def extract_instruments(
    fileobj: IO[bytes],
    keywords: Collection[str],
    comment_tags: Collection[str],
    options: Mapping[str, Any],
) -> Iterator[Extracted]:
    """Yield `(lineno, None, message, comments)` for every user-facing string of one
    instrument file, in file order. A comment names the instrument and the question, so
    translators see where a short label like "Stuck" is used."""
    source = fileobj.read().decode(options.get("encoding", "utf-8"))
    data = tomllib.loads(source)
    lines = _Lines(source)
    instrument = str(data.get("key", ""))
    for field in INSTRUMENT_TEXTS:
        yield from _message(lines, 0, data.get(field), [f"instrument {instrument}: {field}"])
    for number, question in enumerate(data.get("questions", [])):
        if not isinstance(question, dict):
            continue
        start = lines.block(number)
        where = f"instrument {instrument}, question {question.get('key')}"
        for field in QUESTION_TEXTS:
            yield from _message(lines, start, question.get(field), [f"{where}: {field}"])
        for option in question.get("options", []) or []:
            if isinstance(option, dict):
                comment = [f"{where}: option {option.get('key')}"]
                for field in OPTION_TEXTS:
                    yield from _message(lines, start, option.get(field), comment)


def _message(lines: _Lines, start: int, value: Any, comments: list[str]) -> Iterator[Extracted]:
    if isinstance(value, str) and value.strip():
        yield lines.find(value, start), None, value, comments


class _Lines:
    """Finds the line a TOML string sits on. tomllib gives no positions, so each value is
    looked up as written — a basic string escapes like JSON, a literal one is quoted with
    ' — from the start of its question's `[[questions]]` block."""

    def __init__(self, source: str) -> None:
        self.lines = source.splitlines()
        self.blocks = [
            index for index, line in enumerate(self.lines) if line.strip() == "[[questions]]"
        ]

    def block(self, number: int) -> int:
        return self.blocks[number] if number < len(self.blocks) else 0

    def find(self, value: str, start: int) -> int:
        """1-based line of `value` at or after line index `start` (its first line, for a
        multi-line string); `start + 1` when it cannot be found as written."""
        first = value.splitlines()[0] if value.splitlines() else value
        for needle in (json.dumps(value, ensure_ascii=False), f"'{value}'", first):
            for index in range(start, len(self.lines)):
                if needle in self.lines[index]:
                    return index + 1
        return start + 1
