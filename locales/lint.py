"""The catalog lint: what a machine can judge of locales/STYLE.md, run by `check`.

Each rule reads one text at a time (an English msgid or a French msgstr, every plural
form) and returns what is wrong with it; `lint_catalogs` runs them over the committed
catalogs, `lint_code` looks for labels glued to their value in the code. The rules:

French (msgstr):
- `fr-colon`: a colon ending a label (followed by a space, a tag or the end) has a
  non-breaking space (U+00A0) before it;
- `fr-guillemets`: « » hold a non-breaking space (U+00A0 or U+202F) on their inner side;
- `fr-tight-punctuation`: nothing or U+202F before ; ! ? — never a breakable space,
  and not U+00A0 (the guide's choice is no space, as the Bureau de la traduction writes);
- `fr-quotes`: no straight (") or English (“ ”) quotation marks: « » only;
- `fr-first-of-month`: « 1er janvier », never « 1 janvier »;
- `fr-time`: « 9 h », never « 9 h 00 »;
- `fr-glossary`: none of the variants the glossary rules out (« coordonnateur »,
  « mentore », « non livré », « le bot »…) or the calques it lists.

English (msgid):
- `en-spelling`: Canadian spelling (recognize, colour, centre, program, cancelled);
- `en-glossary`: none of the variants the glossary rules out.

Code:
- `joined-label`: no translated label glued to its value with ":" in code (an f-string
  or `+` putting ":" right after a gettext call); the label and the value are one msgid,
  "Name: {name}", so each language places its own colon and space.
"""

from __future__ import annotations

import ast
import itertools
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

NBSP = "\u00a0"
NNBSP = "\u202f"
MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août")
MONTHS += ("septembre", "octobre", "novembre", "décembre")

# Tags are not text ("<b>Nom :</b>" reads as "Nom :"); a {placeholder} is a word.
_TAG = re.compile(r"<[^<>]*>")
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")


def visible(text: str) -> str:
    """The text as a reader sees it: tags removed, each placeholder a word ("{…}")."""
    return _PLACEHOLDER.sub("{…}", _TAG.sub("", text))


@dataclass(frozen=True)
class Finding:
    rule: str
    detail: str


Rule = Callable[[str], Iterator[str]]


def _context(text: str, start: int, end: int) -> str:
    return repr(text[max(0, start - 12) : end + 12])


def _matches(pattern: re.Pattern[str], text: str, why: str) -> Iterator[str]:
    for found in pattern.finditer(text):
        yield f"{why}: {_context(text, found.start(), found.end())}"


# ------------------------------------------------------------------------- French

# A colon that ends a label: followed by whitespace or the end of the text (after tags
# are removed). "match:12" and "https://" are not labels.
_LABEL_COLON = re.compile(r"(?<!\u00a0)(?<!^):(?=\s|$)", re.MULTILINE)


def fr_colon(text: str) -> Iterator[str]:
    yield from _matches(_LABEL_COLON, visible(text), "U+00A0 before « : »")


_GUILLEMETS = re.compile(r"«(?![\u00a0\u202f])|(?<![\u00a0\u202f])»")


def fr_guillemets(text: str) -> Iterator[str]:
    yield from _matches(_GUILLEMETS, visible(text), "U+00A0 inside « »")


_TIGHT = re.compile(r"[ \u00a0][;!?]")


def fr_tight_punctuation(text: str) -> Iterator[str]:
    yield from _matches(_TIGHT, visible(text), "no space (or U+202F) before ; ! ?")


_QUOTES = re.compile(r'["“”]')


def fr_quotes(text: str) -> Iterator[str]:
    yield from _matches(_QUOTES, visible(text), "« » for quotations")


_FIRST = re.compile(r"\b1[ \u00a0](?:" + "|".join(MONTHS) + r")\b", re.IGNORECASE)


def fr_first_of_month(text: str) -> Iterator[str]:
    yield from _matches(_FIRST, text, "« 1er » for the first of the month")


_ON_THE_HOUR = re.compile(r"\bh[ \u00a0]00\b")


def fr_time(text: str) -> Iterator[str]:
    yield from _matches(_ON_THE_HOUR, text, "« 9 h », not « 9 h 00 »")


# (pattern, what to write instead). Kept in step with the glossary in locales/STYLE.md.
FRENCH_AVOID: tuple[tuple[str, str], ...] = (
    (r"\bcoordonnat(?:eur|rice)s?\b", "« l’équipe de coordination »"),
    (r"(?<!équipe de )\bcoordination\b", "« l’équipe de coordination »"),
    (r"\bmentores?\b", "« mentor » (épicène)"),
    (r"(?<!personne )(?<!personnes )\bmentoré(?:e|es|s)?\b", "« personne mentorée »"),
    (r"\bnon livrée?s?\b", "« non remis »"),
    (r"\b(?:le|du|au) bot\b", "« Tandem »"),
    (r"\bgravité (?:élevée|moyenne|faible)\b", "urgent, important, modéré, mineur"),
    (r"\bsondages? de (?:fin et de )?suivi\b|\bpost-jumelage\b", "« sondage post-programme »"),
    (r"\bsaut(?:er|ez|e|é|ée|és)\b", "« passer » (skip)"),
    (r"\w(?:\((?:e|es|ne|nes)\)|·(?:e|es|ne|nes)\b)", "a rewording, or « inscrit ou inscrite »"),
    (r"\bn°", "« no » (numéro)"),
    (r"\bs[’']applique\b", "« qui vous concerne » (calque de « apply »)"),
    (r"\bprogrès vers\b", "« progrès dans l’atteinte de »"),
    (r"\baider pour\b", "« aider en » / « aider à »"),
    (r"\bc[’']est correct\b", "« c’est normal » (registre)"),
    (
        r"\b(?:suivi|réflexion|sondage|questionnaire)s? répondue?s?\b",
        "« rempli » / « auquel on a répondu » (répondre à)",
    ),
)
_FRENCH_AVOID = tuple((re.compile(pattern, re.IGNORECASE), use) for pattern, use in FRENCH_AVOID)


def fr_glossary(text: str) -> Iterator[str]:
    shown = visible(text)
    for pattern, use in _FRENCH_AVOID:
        yield from _matches(pattern, shown, f"glossary: write {use}")


# ------------------------------------------------------------------------ English

# American or British spellings and their Canadian form. -ize verbs: only the stems
# that take -ize, so "advise", "exercise" or "otherwise" are never flagged.
_IZE_STEMS = ("anonym", "apolog", "author", "categor", "character", "critic", "custom")
_IZE_STEMS += ("emphas", "final", "general", "initial", "legal", "local", "maxim", "memor")
_IZE_STEMS += ("minim", "normal", "optim", "organ", "personal", "priorit", "real", "recogn")
_IZE_STEMS += ("special", "standard", "summar", "synchron", "util", "visual")
_IZE = re.compile(r"\b(?:" + "|".join(_IZE_STEMS) + r")is(?:e|es|ed|ing|ation|ations)\b", re.I)
ENGLISH_SPELLING: tuple[tuple[str, str], ...] = (
    (r"\banalys(?:e|es|ed|ing)\b", "analyze"),
    (r"\bcolor(?:s|ed|ful)?\b", "colour"),
    (r"\bfavor(?:s|ite|ites|able)?\b", "favour"),
    (r"\bbehavior(?:s|al)?\b", "behaviour"),
    (r"\bhonor(?:s|ed)?\b", "honour"),
    (r"\bneighbor(?:s|hood)?\b", "neighbour"),
    (r"\blabor\b", "labour"),
    (r"\bhumor\b", "humour"),
    (r"\bcenter(?:s|ed)?\b", "centre"),
    (r"\btheater\b", "theatre"),
    (r"\bgray\b", "grey"),
    (r"\bprogrammes?\b", "program"),
    (r"\b(?:cancel|travel|label|model)(?:ed|ing)\b", "cancelled, travelled, labelled…"),
)
_ENGLISH_SPELLING = tuple((re.compile(p, re.IGNORECASE), use) for p, use in ENGLISH_SPELLING)


def en_spelling(text: str) -> Iterator[str]:
    shown = visible(text)
    yield from _matches(_IZE, shown, "Canadian spelling: -ize (recognize, anonymize)")
    for pattern, use in _ENGLISH_SPELLING:
        yield from _matches(pattern, shown, f"Canadian spelling: {use}")


ENGLISH_AVOID: tuple[tuple[str, str], ...] = (
    (r"\(s\)", "a real plural (ngettext)"),
    (r"(?<![/\w])[Cc]heckins\b|\b[Cc]heck ins\b", "check-in"),
    (r"\bREADME\b", "the file's own Columns sheet"),
    (r"\bthe bot\b", "Tandem"),
)
_ENGLISH_AVOID = tuple((re.compile(p), use) for p, use in ENGLISH_AVOID)


def en_glossary(text: str) -> Iterator[str]:
    shown = visible(text)
    for pattern, use in _ENGLISH_AVOID:
        yield from _matches(pattern, shown, f"glossary: write {use}")


FRENCH_RULES: dict[str, Rule] = {
    "fr-colon": fr_colon,
    "fr-guillemets": fr_guillemets,
    "fr-tight-punctuation": fr_tight_punctuation,
    "fr-quotes": fr_quotes,
    "fr-first-of-month": fr_first_of_month,
    "fr-time": fr_time,
    "fr-glossary": fr_glossary,
}
ENGLISH_RULES: dict[str, Rule] = {"en-spelling": en_spelling, "en-glossary": en_glossary}
LANGUAGE_RULES: dict[str, dict[str, Rule]] = {"fr": FRENCH_RULES}
"""The rules for each language's translations (English is checked in its msgids)."""


def lint_text(text: str, rules: dict[str, Rule]) -> list[Finding]:
    return [Finding(name, detail) for name, rule in rules.items() for detail in rule(text)]


# --------------------------------------------------------------------------- code

TRANSLATING = frozenset({"gettext", "ngettext", "pgettext", "npgettext", "_"})


def _translates(node: ast.AST) -> bool:
    """A gettext call, or an expression naming a label (`escape(label)`, `row.label`):
    labels are translated texts too."""
    for inner in ast.walk(node):
        if isinstance(inner, ast.Call):
            function = inner.func
            name = function.attr if isinstance(function, ast.Attribute) else ""
            name = name or getattr(function, "id", "")
            if name in TRANSLATING:
                return True
        if isinstance(inner, ast.Name | ast.Attribute):
            name = inner.id if isinstance(inner, ast.Name) else inner.attr
            if "label" in name.lower():
                return True
    return False


def _starts_with_colon(node: ast.AST | None) -> bool:
    return (
        isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and node.value.lstrip(" \u00a0").startswith(":")
    )


def joined_labels(source: str, filename: str = "<code>") -> list[tuple[int, str]]:
    """(line, what) for every translated text followed by a ":" in code: an f-string
    `f"{tr.gettext('Name')}: {name}"`, or `tr.gettext("Name") + ": " + name`."""
    return sorted(_joined_labels(ast.parse(source, filename)))


def _joined_labels(tree: ast.AST) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            parts = node.values
            for here, after in itertools.pairwise(parts):
                if (
                    isinstance(here, ast.FormattedValue)
                    and _translates(here.value)
                    and _starts_with_colon(after)
                ):
                    yield node.lineno, "f-string puts ':' after a translated text"
        elif (
            isinstance(node, ast.BinOp)
            and isinstance(node.op, ast.Add)
            and _translates(node.left)
            and _starts_with_colon(node.right)
        ):
            yield node.lineno, "'+' puts ':' after a translated text"


def lint_code(paths: Iterable[Path], root: Path) -> Iterator[tuple[str, int, str]]:
    for path in paths:
        source = path.read_text(encoding="utf-8")
        for line, what in joined_labels(source, str(path)):
            yield str(path.relative_to(root)), line, what
