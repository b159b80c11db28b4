"""`fill` and `todo`: the untranslated entries out as JSON, and translations back in."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from babel.util import LOCALTZ

from locales.tools.catalogs import (
    CONTEXT_SEPARATOR,
    LOCALES_DIR,
    is_translated,
    message_key,
    messages,
    po_path,
    read_catalog,
    write_if_changed,
)
from locales.tools.checks import placeholder_problems


@dataclass
class FillReport:
    filled: int = 0
    unchanged: int = 0
    unknown: list[str] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    written: bool = False

    @property
    def ok(self) -> bool:
        return not self.unknown and not self.invalid


def _split_key(raw: str) -> tuple[str | None, str]:
    if CONTEXT_SEPARATOR in raw:
        context, msgid = raw.split(CONTEXT_SEPARATOR, 1)
        return context, msgid
    return None, raw


def fill(
    sources: Sequence[Path],
    locales_dir: Path = LOCALES_DIR,
    language: str = "fr",
) -> FillReport:
    """Merge translations from JSON files into `language`'s catalog.

    Each file maps a msgid ("context\\u0004msgid" for a message with a context) to its
    translation, or, for a plural message keyed by its singular msgid, to the list of
    plural forms. Keys that are not in the catalog are reported, not added.
    """
    path = po_path(locales_dir, language)
    catalog = read_catalog(path, language)
    result = FillReport()
    for source in sources:
        entries = json.loads(source.read_text(encoding="utf-8"))
        if not isinstance(entries, dict):
            result.invalid.append(f"{source}: expected a JSON object")
            continue
        for raw_key, value in entries.items():
            context, msgid = _split_key(raw_key)
            shown = f"{source.name}: {json.dumps(raw_key, ensure_ascii=False)}"
            message = catalog.get(msgid, context=context)
            if message is None or not message.id:
                result.unknown.append(shown)
                continue
            if message.pluralizable:
                if (
                    not isinstance(value, list)
                    or len(value) != catalog.num_plurals
                    or not all(isinstance(form, str) and form for form in value)
                ):
                    result.invalid.append(
                        f"{shown}: a plural message needs a list of "
                        f"{catalog.num_plurals} non-empty strings"
                    )
                    continue
                translation: str | tuple[str, ...] = tuple(value)
            else:
                if not isinstance(value, str) or not value:
                    result.invalid.append(f"{shown}: expected a non-empty string")
                    continue
                translation = value
            if message.string == translation and not message.fuzzy:
                result.unchanged += 1
                continue
            message.string = translation
            message.flags.discard("fuzzy")
            result.filled += 1
            for reason in placeholder_problems(message):
                result.warnings.append(f"{shown}: {reason}")
    if result.filled:
        catalog.revision_date = datetime.now(LOCALTZ)
        result.written = write_if_changed(path, catalog)
    return result


def todo(locales_dir: Path = LOCALES_DIR, language: str = "fr") -> dict[str, object]:
    """The untranslated or fuzzy entries of a catalog, in `fill`'s JSON format, with
    empty strings (one per plural form) for the translator to fill in."""
    catalog = read_catalog(po_path(locales_dir, language), language)
    entries: dict[str, object] = {}
    for message in messages(catalog):
        if is_translated(message) and not message.fuzzy:
            continue
        context, msgid, _plural = message_key(message)
        key = f"{context}{CONTEXT_SEPARATOR}{msgid}" if context is not None else msgid
        entries[key] = [""] * catalog.num_plurals if message.pluralizable else ""
    return entries
