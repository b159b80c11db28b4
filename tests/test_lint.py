"""The catalog lint (locales/lint.py, locales/STYLE.md): each rule with a text it refuses
and the same text written as the guide wants; the lint run by `check` on a catalog; and
the translator's French dates and times (« 1er », « 9 h »)."""

from __future__ import annotations

import json
from datetime import date, time

import pytest

from locales import lint
from locales.tools import checks, filling, merging
from locales.translator import translator

NBSP, NNBSP = "\u00a0", "\u202f"

# rule: (bad, good)
FRENCH = {
    "fr-colon": ("<b>Nom :</b> {name}", f"<b>Nom{NBSP}:</b> {{name}}"),
    "fr-guillemets": ("Touchez « Passer ».", f"Touchez «{NBSP}Passer{NBSP}»."),
    "fr-tight-punctuation": (
        f"Bonjour, {{name}}{NBSP}! Prêt ?",
        f"Bonjour, {{name}}! Prêt{NNBSP}?",
    ),
    "fr-quotes": ("Vous avez atteint “{goal}”.", f"Vous avez atteint «{NBSP}{{goal}}{NBSP}»."),
    "fr-first-of-month": ("Se termine le 1 juin.", "Se termine le 1er juin (ou le 11 juin)."),
    "fr-time": ("Demain à 9 h 00.", "Demain à 9 h, ou à 9 h 30."),
    "fr-glossary": (
        "Le coordonnateur et la mentore; message non livré; le bot est bloqué.",
        "L’équipe de coordination et le mentor; message non remis; Tandem est bloqué.",
    ),
}
ENGLISH = {
    "en-spelling": (
        "I don't recognise the colour of this center; it was canceled.",
        "I don't recognize the colour of this centre; it was cancelled.",
    ),
    "en-glossary": (
        "3 invite(s) sent; the bot was blocked.",
        "3 invites sent; Tandem was blocked.",
    ),
}


def _rules_hit(text: str, rules: dict[str, lint.Rule]) -> set[str]:
    return {finding.rule for finding in lint.lint_text(text, rules)}


@pytest.mark.parametrize("rule", sorted(FRENCH))
def test_french_rule_refuses_the_bad_and_accepts_the_good(rule: str) -> None:
    bad, good = FRENCH[rule]
    assert rule in _rules_hit(bad, lint.FRENCH_RULES)
    assert _rules_hit(good, lint.FRENCH_RULES) == set()


@pytest.mark.parametrize("rule", sorted(ENGLISH))
def test_english_rule_refuses_the_bad_and_accepts_the_good(rule: str) -> None:
    bad, good = ENGLISH[rule]
    assert rule in _rules_hit(bad, lint.ENGLISH_RULES)
    assert _rules_hit(good, lint.ENGLISH_RULES) == set()


def test_the_rules_do_not_mistake_code_or_words_for_faults() -> None:
    """URLs, identifiers, the equipe's own phrase and -ise words that are not -ize verbs."""
    french = f"Ouvrez t.me/x?start=1 (match:12); l’équipe de coordination{NBSP}: oui."
    assert _rules_hit(french, lint.FRENCH_RULES) == set()
    english = "Please advise; otherwise exercise your promise. Send /checkin."
    assert _rules_hit(english, lint.ENGLISH_RULES) == set()


def test_every_glossary_variant_is_refused() -> None:
    for text in (
        "votre coordination",
        "Mentors et mentores",
        "le nom du mentoré",
        "3 de gravité élevée",
        "Sondage de suivi",
        "Cochez tout ce qui s’applique",
        "vos progrès vers vos objectifs",
        "Peut aider pour",
        "et c’est correct",
        "un suivi répondu",
        "Réflexions répondues",
        "Sauter cette semaine",
        "jumelage n° 12",
        "Vous êtes inscrit(e).",
        "les participant·es",
    ):
        assert "fr-glossary" in _rules_hit(text, lint.FRENCH_RULES), text


JOINED = """
def show(tr, label, value, name):
    a = f"<b>{tr.gettext('Name')}:</b> {name}"
    b = tr.gettext("Name") + ": " + name
    c = f"<b>{escape(label)}:</b> {value}"
"""
WHOLE = """
def show(tr, label, value, name):
    a = tr.gettext("<b>Name:</b> {name}", name=name)
    b = tr.gettext("{label}: {value}", label=label, value=value)
    c = f"{where}: {problem}"
"""


def test_joined_label_finds_labels_glued_to_a_colon_in_code() -> None:
    assert [line for line, _what in lint.joined_labels(JOINED)] == [3, 4, 5]
    assert list(lint.joined_labels(WHOLE)) == []


SOURCE = """\
def show(t, name):
    t.gettext("Hello, {name}!", name=name)
    t.gettext("Name: {name}", name=name)
"""


def _project(tmp_path, french: dict[str, str], code: str = SOURCE):
    source_root = tmp_path / "src"
    (source_root / "app").mkdir(parents=True)
    (source_root / "app" / "views.py").write_text(code, encoding="utf-8")
    mapping = tmp_path / "babel.cfg"
    mapping.write_text("[python: app/**.py]\n", encoding="utf-8")
    locales_dir = tmp_path / "locales"
    merging.update(locales_dir, mapping, source_root)
    path = tmp_path / "fr.json"
    path.write_text(json.dumps(french), encoding="utf-8")
    assert filling.fill([path], locales_dir).ok
    return locales_dir, mapping, source_root


def test_check_reports_style_problems_and_passes_once_they_are_fixed(tmp_path) -> None:
    bad = {"Hello, {name}!": "Bonjour {name} !", "Name: {name}": "Nom : {name}"}
    problems = checks.check(*_project(tmp_path / "bad", bad))
    kinds = sorted(problem.kind for problem in problems)
    assert kinds == ["style fr-colon", "style fr-tight-punctuation"]
    assert "U+00A0 before « : »: 'Nom : {…}'" in checks.report(problems)

    good = {"Hello, {name}!": "Bonjour, {name}!", "Name: {name}": f"Nom{NBSP}: {{name}}"}
    assert checks.check(*_project(tmp_path / "good", good)) == []


def test_check_reports_a_label_glued_to_its_value_in_code(tmp_path) -> None:
    code = 'def show(t, name):\n    return t.gettext("Name") + ": " + name\n'
    problems = checks.check(*_project(tmp_path, {"Name": "Nom"}, code))
    assert [(p.kind, p.entry) for p in problems] == [("style joined-label", "app/views.py:2")]


def test_the_projects_catalogs_pass_the_lint() -> None:
    assert checks.style_problems() == []


def test_french_dates_write_the_first_of_the_month_as_1er() -> None:
    fr, en = translator("fr"), translator("en")
    first = date(2026, 12, 1)
    assert fr.date(first) == "1er décembre 2026"
    assert fr.date(first, "full") == "mardi 1er décembre 2026"
    assert fr.date(first, "medium") == "1er déc. 2026"
    assert fr.day_month(date(2026, 6, 1), "MMMd") == "1er juin"
    assert fr.date(date(2026, 12, 11)) == "11 décembre 2026"
    assert fr.date(date(2026, 12, 21)) == "21 décembre 2026"
    assert en.date(first) == "December 1, 2026"
    assert en.day_month(first, "MMMd") == "Dec 1"
    assert fr.date_range(first, date(2026, 12, 7)) == "1er–7 déc. 2026"
    assert fr.date_range(date(2026, 11, 24), first) == "24 nov.\u2009–\u20091er déc. 2026"
    assert fr.date_range(date(2026, 11, 11), date(2026, 11, 21)) == "11–21 nov. 2026"
    assert en.date_range(first, date(2026, 12, 7)) == "Dec 1–7, 2026"


def test_french_times_on_the_hour_drop_the_minutes() -> None:
    fr, en = translator("fr"), translator("en")
    assert fr.time(time(9, 0)) == "9 h"
    assert fr.time(time(18, 30)) == "18 h 30"
    assert fr.time(time(10, 5)) == "10 h 05"
    assert en.time(time(9, 0)) == "9:00\u202fa.m."
