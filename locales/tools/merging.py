"""`update`: messages.pot re-extracted from the code, and every language's catalog merged
with it (no fuzzy matching; plural translations carried over to the installed plural rule)."""

from __future__ import annotations

import gettext
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.plurals import get_plural

from locales.tools.catalogs import (
    LANGUAGES,
    LOCALES_DIR,
    MAPPING_FILE,
    SOURCE_LANGUAGE,
    SOURCE_ROOT,
    Key,
    extract,
    is_translated,
    keys,
    message_key,
    messages,
    new_catalog,
    po_path,
    pot_path,
    read_catalog,
    render,
    without_dates,
    write_if_changed,
)

# Numbers that reach every plural category CLDR defines for French and English:
# zero, one, small, large, and exact millions ("1 million de rencontres").
PLURAL_SAMPLES = (0, 1, 2, 3, 5, 11, 21, 100, 101, 1000, 1_000_000, 2_000_000, 1_000_001)


def convert_plural_forms(
    forms: Sequence[str], source_expr: str, target_expr: str, target_count: int
) -> tuple[str, ...]:
    """Plural translations written for one plural rule, rearranged for another.

    Each target form takes the source form that the most sample numbers choosing it
    chose under the source rule. French going from two forms (`n > 1`) to CLDR 47's
    three (one, many for exact millions, other) keeps "one" and uses "other" for
    "many", which reads right ("1 000 000 rencontres"); the way back drops "many".
    """
    source_rule, target_rule = gettext.c2py(source_expr), gettext.c2py(target_expr)
    converted = []
    for index in range(target_count):
        chosen = [source_rule(n) for n in PLURAL_SAMPLES if target_rule(n) == index] or [
            min(index, len(forms) - 1)
        ]
        best = max(set(chosen), key=lambda i: (chosen.count(i), -i))
        converted.append(forms[best] if best < len(forms) else "")
    return tuple(converted)


def merge(catalog: Catalog, template: Catalog) -> Catalog:
    """A copy of `catalog` holding exactly the template's messages.

    A message keeps its translation (and its flags and translator comments) only when
    its context, msgid and msgid_plural are all unchanged; anything else is new and
    comes out untranslated. No fuzzy matching, no obsolete entries.

    The merged catalog takes the plural rule of the installed Babel (CLDR's current
    rule): when that differs from the catalog's, each plural translation is carried
    over form by form (see `convert_plural_forms`).
    """
    old = {message_key(message): message for message in messages(catalog)}
    merged = Catalog(
        locale=catalog.locale,
        domain=catalog.domain,
        header_comment=catalog.header_comment,
        project=catalog.project,
        version=template.version,
        copyright_holder=catalog.copyright_holder,
        msgid_bugs_address=catalog.msgid_bugs_address,
        creation_date=template.creation_date,
        revision_date=catalog.revision_date,
        last_translator=catalog.last_translator,
        language_team=catalog.language_team,
        charset="utf-8",
        fuzzy=catalog.fuzzy,
    )
    installed = get_plural(catalog.locale)
    merged.mime_headers = [
        (name, installed.plural_forms if name.lower() == "plural-forms" else value)
        for name, value in catalog.mime_headers
    ]
    merged.creation_date = template.creation_date
    merged.version = template.version
    for source in messages(template):
        key = message_key(source)
        previous = old.get(key)
        pluralizable = key[2] is not None
        if previous is not None:
            translation = previous.string
            if pluralizable and catalog.plural_expr != merged.plural_expr:
                translation = convert_plural_forms(
                    translation, catalog.plural_expr, merged.plural_expr, merged.num_plurals
                )
            flags = {flag for flag in previous.flags if "format" not in flag}
            user_comments = list(previous.user_comments)
        else:
            translation = ("",) * merged.num_plurals if pluralizable else ""
            flags, user_comments = set(), []
        merged.add(
            source.id,
            translation,
            auto_comments=list(source.auto_comments),
            user_comments=user_comments,
            flags=set(source.flags) | flags,
            context=source.context,
        )
    return merged


@dataclass
class UpdateSummary:
    messages: int
    new: int
    removed: int
    untranslated: dict[str, int]
    written: list[Path] = field(default_factory=list)

    def line(self) -> str:
        untranslated = ", ".join(
            f"untranslated {language}: {count}"
            for language, count in self.untranslated.items()
            if language != SOURCE_LANGUAGE
        )
        return f"{self.messages} messages, {self.new} new, {self.removed} removed, {untranslated}"


def update(
    locales_dir: Path = LOCALES_DIR,
    mapping_file: Path = MAPPING_FILE,
    source_root: Path = SOURCE_ROOT,
    languages: Sequence[str] = LANGUAGES,
) -> UpdateSummary:
    """Re-extract messages.pot and bring every language's catalog in line with it."""
    template = extract(source_root, mapping_file)
    pot = pot_path(locales_dir)
    previous: set[Key] = set()
    if pot.exists():
        old_template = read_catalog(pot)
        previous = keys(old_template)
        # Nothing but the date would change: keep the date, so no file changes at all.
        if without_dates(pot.read_bytes()) == without_dates(render(template)):
            template.creation_date = old_template.creation_date
    current = keys(template)
    written = []
    if write_if_changed(pot, template):
        written.append(pot)
    untranslated: dict[str, int] = {}
    for language in languages:
        path = po_path(locales_dir, language)
        existing = (
            read_catalog(path, language) if path.exists() else new_catalog(template, language)
        )
        merged = merge(existing, template)
        if write_if_changed(path, merged):
            written.append(path)
        untranslated[language] = sum(
            1 for message in messages(merged) if not is_translated(message)
        )
    return UpdateSummary(
        messages=len(current),
        new=len(current - previous),
        removed=len(previous - current),
        untranslated=untranslated,
        written=written,
    )
