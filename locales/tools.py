"""Catalog tooling: extract, update, check and fill the gettext catalogs.

Run from the project root::

    python -m locales.tools update            # re-extract messages.pot, merge en/fr .po files
    python -m locales.tools check             # fail (exit 1) on any catalog or style problem
    python -m locales.tools fill FILE.json…   # merge French translations from JSON files
    python -m locales.tools todo > todo.json  # the untranslated French entries, as JSON

The .pot and .po files are written without source locations and sorted by msgid, so a
diff shows only real message changes. A file is rewritten only when something other than
its date headers changed.

`update` never uses fuzzy matching: a new message comes out untranslated in every
catalog, and messages no longer in the code are dropped (no obsolete `#~` entries).

Every function takes the catalog directory, the mapping file and the source root as
arguments, so the tests can point them at temporary catalogs.
"""

from __future__ import annotations

import argparse
import gettext
import json
import string
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from io import BytesIO
from pathlib import Path

from babel import Locale
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_keywords, parse_mapping_cfg
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po, write_po
from babel.util import LOCALTZ, pathmatch

from locales import lint

LOCALES_DIR = Path(__file__).resolve().parent
SOURCE_ROOT = LOCALES_DIR.parent
MAPPING_FILE = LOCALES_DIR / "babel.cfg"

DOMAIN = "messages"
PROJECT = "Tandem"
SOURCE_LANGUAGE = "en"
LANGUAGES = ("en", "fr")
KEYWORDS = parse_keywords(
    ["_", "gettext", "ngettext:1,2", "pgettext:1c,2", "npgettext:1c,2,3", "N_"]
)
COMMENT_TAGS = ("Translators:",)
WIDTH = 76
HEADER_COMMENT = (
    "# Translations template for PROJECT.\n"
    "# This file is distributed under the same license as the PROJECT project.\n"
    "#"
)
DATE_HEADERS = (b'"POT-Creation-Date:', b'"PO-Revision-Date:')
CONTEXT_SEPARATOR = "\x04"

Key = tuple[str | None, str, str | None]
"""(msgctxt, msgid, msgid_plural): what identifies a message for the checks."""


# --------------------------------------------------------------------------- paths


def pot_path(locales_dir: Path) -> Path:
    return locales_dir / f"{DOMAIN}.pot"


def po_path(locales_dir: Path, language: str) -> Path:
    return locales_dir / language / "LC_MESSAGES" / f"{DOMAIN}.po"


# ---------------------------------------------------------------------- catalogs


def message_key(message: Message) -> Key:
    if isinstance(message.id, (list, tuple)):
        return (message.context, message.id[0], message.id[1])
    return (message.context, message.id, None)


def describe(key: Key) -> str:
    """A readable one-line name for a message: "msgid" [| "plural"] [(context: …)]."""
    context, msgid, plural = key
    text = json.dumps(msgid, ensure_ascii=False)
    if plural is not None:
        text += " | " + json.dumps(plural, ensure_ascii=False)
    if context is not None:
        text += f" (context {json.dumps(context, ensure_ascii=False)})"
    return text


def messages(catalog: Catalog) -> Iterator[Message]:
    """The catalog's real messages (no header, no obsolete entries)."""
    for message in catalog:
        if message.id:
            yield message


def keys(catalog: Catalog) -> set[Key]:
    return {message_key(message) for message in messages(catalog)}


def extract(source_root: Path, mapping_file: Path) -> Catalog:
    """Extract the messages of the code under `source_root`, as `pybabel extract` would."""
    with mapping_file.open(encoding="utf-8") as config:
        method_map, options_map = parse_mapping_cfg(config, str(mapping_file))
    catalog = Catalog(
        project=PROJECT, version=_version(), header_comment=HEADER_COMMENT, charset="utf-8"
    )
    extracted = extract_from_dir(
        source_root,
        method_map,
        options_map,
        keywords=KEYWORDS,
        comment_tags=COMMENT_TAGS,
    )
    for filename, lineno, message, comments, context in extracted:
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tandem")
    except PackageNotFoundError:
        return "0"


def read_catalog(path: Path, language: str | None = None) -> Catalog:
    with path.open("rb") as source:
        return read_po(source, locale=language, domain=DOMAIN)


def render(catalog: Catalog) -> bytes:
    buffer = BytesIO()
    write_po(
        buffer,
        catalog,
        width=WIDTH,
        no_location=True,
        sort_output=True,
        ignore_obsolete=True,
    )
    return buffer.getvalue()


def _without_dates(content: bytes) -> bytes:
    return b"\n".join(line for line in content.splitlines() if not line.startswith(DATE_HEADERS))


def write_if_changed(path: Path, catalog: Catalog) -> bool:
    """Write the catalog unless the file already says the same (dates aside)."""
    content = render(catalog)
    if path.exists() and _without_dates(path.read_bytes()) == _without_dates(content):
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return True


def new_catalog(template: Catalog, language: str) -> Catalog:
    """An empty catalog for `language`, as `pybabel init` would start it."""
    return Catalog(
        locale=Locale.parse(language),
        domain=DOMAIN,
        header_comment=HEADER_COMMENT,
        project=template.project,
        version=template.version,
        charset="utf-8",
        creation_date=template.creation_date,
        revision_date=datetime.now(LOCALTZ),
        fuzzy=False,
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


# ------------------------------------------------------------------------ update


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
        if _without_dates(pot.read_bytes()) == _without_dates(render(template)):
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
            1 for message in messages(merged) if not _is_translated(message)
        )
    return UpdateSummary(
        messages=len(current),
        new=len(current - previous),
        removed=len(previous - current),
        untranslated=untranslated,
        written=written,
    )


# ------------------------------------------------------------------------- check


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


def _is_translated(message: Message) -> bool:
    if isinstance(message.string, (list, tuple)):
        return bool(message.string) and all(message.string)
    return bool(message.string)


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
            if not _is_translated(message):
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


# -------------------------------------------------------------------------- fill


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
        if _is_translated(message) and not message.fuzzy:
            continue
        context, msgid, _plural = message_key(message)
        key = f"{context}{CONTEXT_SEPARATOR}{msgid}" if context is not None else msgid
        entries[key] = [""] * catalog.num_plurals if message.pluralizable else ""
    return entries


# --------------------------------------------------------------------------- CLI


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m locales.tools", description=__doc__)
    parser.add_argument("--locales-dir", type=Path, default=LOCALES_DIR)
    parser.add_argument("--mapping-file", type=Path, default=MAPPING_FILE)
    parser.add_argument("--source-root", type=Path, default=SOURCE_ROOT)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("update", help="re-extract messages.pot and update the .po files")
    commands.add_parser("check", help="exit 1 if any catalog is stale or incomplete")
    fill_parser = commands.add_parser("fill", help="merge translations from JSON files")
    fill_parser.add_argument("files", type=Path, nargs="+", metavar="FILE.json")
    fill_parser.add_argument("--language", default="fr")
    todo_parser = commands.add_parser(
        "todo", help="print the untranslated entries as JSON, ready for `fill`"
    )
    todo_parser.add_argument("--language", default="fr")
    args = parser.parse_args(argv)

    if args.command == "update":
        summary = update(args.locales_dir, args.mapping_file, args.source_root)
        print(summary.line())
        return 0

    if args.command == "check":
        problems = check(args.locales_dir, args.mapping_file, args.source_root)
        if problems:
            print(report(problems))
            print(
                f"catalogs NOT OK: {len(problems)} problem(s); run "
                "`python -m locales.tools update`, then translate (`fill`) and re-check"
            )
            return 1
        template = read_catalog(pot_path(args.locales_dir))
        print(f"catalogs OK: {len(keys(template))} messages, fr complete")
        return 0

    if args.command == "todo":
        print(json.dumps(todo(args.locales_dir, args.language), ensure_ascii=False, indent=2))
        return 0

    result = fill(args.files, args.locales_dir, args.language)
    for line in result.unknown:
        print(f"not in the catalog: {line}")
    for line in result.invalid:
        print(f"invalid: {line}")
    for line in result.warnings:
        print(f"warning: {line}")
    print(
        f"{result.filled} translation(s) filled, {result.unchanged} unchanged, "
        f"{len(result.unknown)} unknown, {len(result.invalid)} invalid"
        + ("" if result.written else " (catalog not rewritten)")
    )
    return 0 if result.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
