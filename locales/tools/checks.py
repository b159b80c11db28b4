"""`check`: whatever is wrong with the catalogs (stale template, missing, untranslated or
fuzzy entries, placeholders that differ from the msgid's, the style guide's rules), as
`Problem`s, and the report that lists them."""

from __future__ import annotations

import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.plurals import get_plural
from babel.util import pathmatch

from locales import lint
from locales.tools.catalogs import (
    LANGUAGES,
    LOCALES_DIR,
    MAPPING_FILE,
    SOURCE_LANGUAGE,
    SOURCE_ROOT,
    Key,
    describe,
    extract,
    is_translated,
    keys,
    message_key,
    messages,
    po_path,
    pot_path,
    read_catalog,
)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one entry (or one file)."""

    file: str
    kind: str
    entry: str
    detail: str = ""

    def __str__(self) -> str:
        text = f"{self.kind}: {self.entry}"
        return f"{text} — {self.detail}" if self.detail else text


def placeholders(text: str) -> frozenset[str]:
    """The names of the `{fields}` in a str.format template (ValueError if malformed)."""
    names: set[str] = set()
    for _literal, name, spec, _conversion in string.Formatter().parse(text):
        if name is not None:
            names.add(name)
            if spec:
                names |= placeholders(spec)
    return frozenset(names)


def _show(names: Iterable[str]) -> str:
    return ", ".join("{" + name + "}" for name in sorted(names)) or "none"


def placeholder_problems(message: Message) -> list[str]:
    """Why the translation's placeholders do not match the msgid's (empty if they do).

    A singular translation must use exactly the msgid's fields. Each plural form must use
    the fields of the singular and plural msgids together, except `{n}`, which ngettext
    always supplies: a form may leave it out (or use it where English does not).
    """
    ids = message.id if isinstance(message.id, (list, tuple)) else (message.id,)
    try:
        expected = frozenset().union(*(placeholders(text) for text in ids))
    except ValueError:
        return []  # the msgid is not a format template; nothing to compare with
    if isinstance(message.string, (list, tuple)):
        forms = [(f"msgstr[{index}]", text) for index, text in enumerate(message.string)]
        free = {"n"}
    else:
        forms = [("msgstr", message.string)]
        free = set()
    reasons = []
    for label, text in forms:
        if not text:
            continue
        try:
            found = placeholders(text)
        except ValueError as error:
            reasons.append(f"{label} is not a valid format string ({error})")
            continue
        if found - free != expected - free:
            reasons.append(f"{label} has {_show(found)}, expected {_show(expected)}")
    return reasons


def _check_pot(
    locales_dir: Path, mapping_file: Path, source_root: Path
) -> tuple[Catalog | None, list[Problem]]:
    pot = pot_path(locales_dir)
    name = _relative(pot, locales_dir)
    if not pot.exists():
        return None, [Problem(name, "missing file", name, "run `python -m locales.tools update`")]
    try:
        template = read_catalog(pot)
    except Exception as error:
        return None, [Problem(name, "unreadable", name, str(error))]
    problems = []
    extracted = keys(extract(source_root, mapping_file))
    committed = keys(template)
    for key in sorted(extracted - committed, key=_sort_key):
        problems.append(Problem(name, "stale: in the code, not in the .pot", describe(key)))
    for key in sorted(committed - extracted, key=_sort_key):
        problems.append(Problem(name, "stale: in the .pot, not in the code", describe(key)))
    return template, problems


def _sort_key(key: Key) -> tuple[str, str, str]:
    return (key[1], key[2] or "", key[0] or "")


def _relative(path: Path, locales_dir: Path) -> str:
    try:
        return str(path.relative_to(locales_dir.parent))
    except ValueError:
        return str(path)


def _check_language(
    locales_dir: Path, language: str, template: Catalog | None, complete: bool
) -> list[Problem]:
    path = po_path(locales_dir, language)
    name = _relative(path, locales_dir)
    if not path.exists():
        return [Problem(name, "missing file", name, "run `python -m locales.tools update`")]
    try:
        catalog = read_catalog(path, language)
    except Exception as error:
        return [Problem(name, "unreadable", name, str(error))]
    problems = []
    expected_plurals = get_plural(language)
    if complete and (catalog.num_plurals, catalog.plural_expr) != (
        expected_plurals.num_plurals,
        expected_plurals.plural_expr,
    ):
        problems.append(
            Problem(
                name,
                "wrong Plural-Forms",
                name,
                f"has {catalog.plural_forms!r}, expected {expected_plurals.plural_forms!r} "
                "(the installed Babel's CLDR rule; `python -m locales.tools update` converts)",
            )
        )
    if template is not None:
        wanted, present = keys(template), keys(catalog)
        for key in sorted(wanted - present, key=_sort_key):
            problems.append(Problem(name, "missing", describe(key)))
        for key in sorted(present - wanted, key=_sort_key):
            problems.append(Problem(name, "not in messages.pot", describe(key)))
    for message in sorted(messages(catalog), key=lambda m: _sort_key(message_key(m))):
        entry = describe(message_key(message))
        if complete:
            if message.fuzzy:
                problems.append(Problem(name, "fuzzy", entry))
            if not is_translated(message):
                problems.append(Problem(name, "untranslated", entry))
            elif (
                isinstance(message.string, (list, tuple))
                and len(message.string) != catalog.num_plurals
            ):
                problems.append(
                    Problem(
                        name,
                        "wrong number of plural forms",
                        entry,
                        f"{len(message.string)}, expected {catalog.num_plurals}",
                    )
                )
        for reason in placeholder_problems(message):
            problems.append(Problem(name, "placeholders", entry, reason))
    return problems


def check(
    locales_dir: Path = LOCALES_DIR,
    mapping_file: Path = MAPPING_FILE,
    source_root: Path = SOURCE_ROOT,
    languages: Sequence[str] = LANGUAGES,
) -> list[Problem]:
    """Every problem with the catalogs: stale .pot, missing, extra, untranslated or fuzzy
    entries, placeholders that differ from the msgid's, and the style guide's rules
    (`style_problems`). Empty when all is well."""
    template, problems = _check_pot(locales_dir, mapping_file, source_root)
    for language in languages:
        problems += _check_language(
            locales_dir, language, template, complete=language != SOURCE_LANGUAGE
        )
    return problems + style_problems(locales_dir, mapping_file, source_root, languages)


def _texts(message: Message, translated: bool) -> list[str]:
    value = message.string if translated else message.id
    texts = value if isinstance(value, (list, tuple)) else (value,)
    return [text for text in texts if text]


def style_problems(
    locales_dir: Path = LOCALES_DIR,
    mapping_file: Path = MAPPING_FILE,
    source_root: Path = SOURCE_ROOT,
    languages: Sequence[str] = LANGUAGES,
) -> list[Problem]:
    """What locales/lint.py finds (locales/STYLE.md's rules a machine can judge): in the
    English msgids, in each other language's translations, and in the code."""
    problems = []
    pot = pot_path(locales_dir)
    sources = [(pot, None)] + [(po_path(locales_dir, code), code) for code in languages]
    for path, language in sources:
        rules = lint.ENGLISH_RULES if language is None else lint.LANGUAGE_RULES.get(language)
        if not rules or not path.exists() or (language == SOURCE_LANGUAGE):
            continue
        catalog = read_catalog(path, language)
        name = _relative(path, locales_dir)
        for message in sorted(messages(catalog), key=lambda m: _sort_key(message_key(m))):
            entry = describe(message_key(message))
            for text in _texts(message, translated=language is not None):
                for finding in lint.lint_text(text, rules):
                    problems.append(Problem(name, f"style {finding.rule}", entry, finding.detail))
    for file, line, what in lint.lint_code(_python_sources(source_root, mapping_file), source_root):
        problems.append(Problem("code", "style joined-label", f"{file}:{line}", what))
    return problems


def _python_sources(source_root: Path, mapping_file: Path) -> list[Path]:
    """The Python files the mapping file extracts messages from."""
    with mapping_file.open(encoding="utf-8") as config:
        method_map, _options = parse_mapping_cfg(config, str(mapping_file))
    found: set[Path] = set()
    for pattern, method in method_map:
        if method != "python":
            continue
        # Walk only the folder the pattern starts in ("bot/**.py": bot/), not .venv.
        top = source_root.joinpath(*pattern.split("*", 1)[0].split("/")[:-1])
        found |= {
            path
            for path in top.rglob("*.py")
            if pathmatch(pattern, path.relative_to(source_root).as_posix())
        }
    return sorted(found)


def report(problems: Sequence[Problem]) -> str:
    lines = []
    current = None
    for problem in problems:
        if problem.file != current:
            current = problem.file
            lines.append(f"{current}:")
        lines.append(f"  {problem}")
    return "\n".join(lines)
