"""The catalog tooling (locales/tools/), tested on small catalogs written to tmp_path,
and the project's own catalogs checked for real."""

from __future__ import annotations

import json
from io import BytesIO
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po

from locales import tools
from locales.tools import catalogs, checks, filling, merging

SOURCE = """\
from locales.translator import N_


def show(t, n, name):
    t.gettext("Hello, {name}!", name=name)
    t.gettext("Goodbye")
    t.ngettext("{n} meeting", "{n} meetings", n)
    t.pgettext("button", "Open")
    t.pgettext("status", "Open")
    t.npgettext("weeks", "{n} week left", "{n} weeks left", n)
    return N_("Weekly check-in")
"""

# French plural rules: two forms up to CLDR 46 (Babel 2.18), three from CLDR 47 (Babel
# 2.19: one, many for exact millions, other). The tests follow the installed Babel.
TWO_FORMS = "nplurals=2; plural=(n > 1);"
FRENCH_RULE = get_plural("fr")


def french(one: str, other: str) -> list[str]:
    """A French plural written as one/other, in the forms of the installed rule."""
    return list(
        merging.convert_plural_forms(
            [one, other], "(n > 1)", FRENCH_RULE.plural_expr, FRENCH_RULE.num_plurals
        )
    )


FRENCH = {
    "Hello, {name}!": "Bonjour, {name}!",
    "Goodbye": "Au revoir",
    "{n} meeting": french("{n} rencontre", "{n} rencontres"),
    "button\u0004Open": "Ouvrir",
    "status\u0004Open": "Ouvert",
    "weeks\u0004{n} week left": french("Il reste {n} semaine", "Il reste {n} semaines"),
    "Weekly check-in": "Suivi hebdomadaire",
}


def with_plural_rule(catalog: Catalog, rule: str, *, convert: bool) -> Catalog:
    """`catalog` under another Plural-Forms header, its plurals converted if `convert`."""
    expr = rule.split("plural=", 1)[1].rstrip(";")
    count = int(rule.split("nplurals=", 1)[1].split(";")[0])
    if convert:
        for message in catalogs.messages(catalog):
            if message.pluralizable:
                message.string = merging.convert_plural_forms(
                    message.string, catalog.plural_expr, expr, count
                )
    catalog.mime_headers = [
        (name, rule if name.lower() == "plural-forms" else value)
        for name, value in catalog.mime_headers
    ]
    return catalog


class Project:
    """A throwaway project: source code, mapping file and catalogs under tmp_path."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.locales = root / "locales"
        self.mapping = self.locales / "babel.cfg"
        self.locales.mkdir()
        self.mapping.write_text("[python: bot/**.py]\n", encoding="utf-8")
        self.write_source(SOURCE)

    def write_source(self, text: str) -> None:
        path = self.root / "bot" / "talk.py"
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")

    def update(self) -> merging.UpdateSummary:
        return merging.update(self.locales, self.mapping, self.root)

    def check(self) -> list[checks.Problem]:
        return checks.check(self.locales, self.mapping, self.root)

    def fill(self, entries: dict[str, object]) -> filling.FillReport:
        path = self.root / "fr.json"
        path.write_text(json.dumps(entries, ensure_ascii=False), encoding="utf-8")
        return filling.fill([path], self.locales)

    def po(self, language: str = "fr") -> Path:
        return catalogs.po_path(self.locales, language)

    def catalog(self, language: str = "fr"):
        with self.po(language).open("rb") as source:
            return read_po(source, locale=language)

    def set_plural_rule(self, rule: str, language: str = "fr", convert: bool = False) -> None:
        """Rewrite the catalog's Plural-Forms header (and, if `convert`, its plurals)."""
        catalog = with_plural_rule(self.catalog(language), rule, convert=convert)
        self.po(language).write_bytes(catalogs.render(catalog))

    def edit_po(self, old: str, new: str, language: str = "fr") -> None:
        path = self.po(language)
        text = path.read_text(encoding="utf-8")
        assert old in text, old
        path.write_text(text.replace(old, new, 1), encoding="utf-8")


def kinds(problems: list[checks.Problem]) -> list[tuple[str, str]]:
    return [(problem.kind, problem.entry) for problem in problems]


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path)


@pytest.fixture
def complete(project: Project) -> Project:
    project.update()
    report = project.fill(FRENCH)
    assert report.ok and report.filled == len(FRENCH) and not report.warnings
    return project


def test_update_creates_catalogs_with_contexts_and_plurals(project: Project) -> None:
    summary = project.update()

    assert (summary.messages, summary.new, summary.removed) == (7, 7, 0)
    assert summary.untranslated["fr"] == 7
    assert "7 messages, 7 new, 0 removed, untranslated fr: 7" in summary.line()
    pot = catalogs.pot_path(project.locales).read_text(encoding="utf-8")
    assert "#:" not in pot  # no locations: diffs show only real changes
    assert 'msgctxt "button"' in pot and 'msgctxt "status"' in pot
    assert 'msgctxt "weeks"' in pot and 'msgid_plural "{n} weeks left"' in pot
    fr = project.catalog("fr")
    assert fr.plural_forms == FRENCH_RULE.plural_forms
    assert not fr.fuzzy
    assert fr.get("{n} meeting").string == ("",) * FRENCH_RULE.num_plurals
    en = project.catalog("en")
    assert len([m for m in en if m.id]) == 7


def test_update_moves_a_two_form_catalog_to_the_installed_rule(complete: Project) -> None:
    """A catalog written under Babel 2.18's two-form French rule, as main had it."""
    complete.set_plural_rule(TWO_FORMS, convert=True)
    assert complete.catalog().get("{n} meeting").string == ("{n} rencontre", "{n} rencontres")

    complete.update()

    fr = complete.catalog()
    assert fr.plural_forms == FRENCH_RULE.plural_forms
    assert list(fr.get("{n} meeting").string) == FRENCH["{n} meeting"]
    assert complete.check() == []


def test_update_moves_a_three_form_catalog_back_to_two(
    complete: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With an older Babel installed (two French forms), `update` converts the other way."""
    two = type(FRENCH_RULE)((2, "(n > 1)"))
    monkeypatch.setattr(merging, "get_plural", lambda locale: two)
    monkeypatch.setattr(checks, "get_plural", lambda locale: two)

    complete.update()

    fr = complete.catalog()
    assert fr.plural_forms == TWO_FORMS
    assert fr.get("{n} meeting").string == ("{n} rencontre", "{n} rencontres")
    assert complete.check() == []


@pytest.mark.parametrize("rule", [TWO_FORMS, FRENCH_RULE.plural_forms])
def test_the_real_french_catalog_loads_under_either_rule(rule: str) -> None:
    """Babel 2.18 and 2.19 disagree on French plurals; either catalog reads right."""
    from babel.messages.mofile import write_mo
    from babel.support import Translations

    real = catalogs.read_catalog(catalogs.po_path(catalogs.LOCALES_DIR, "fr"), "fr")
    catalog = with_plural_rule(real, rule, convert=True)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    translations = Translations(buffer)

    def flags(n: int) -> str:
        return translations.ungettext("<b>{n} open flag</b>", "<b>{n} open flags</b>", n)

    assert flags(0) == flags(1) == "<b>{n} signalement ouvert</b>"
    assert flags(2) == flags(1_000_000) == "<b>{n} signalements ouverts</b>"


def test_update_is_stable(project: Project) -> None:
    project.update()
    before = {path: path.read_bytes() for path in project.locales.rglob("*.po*")}

    summary = project.update()

    assert summary.written == []
    assert {path: path.read_bytes() for path in project.locales.rglob("*.po*")} == before


def test_update_keeps_translations_adds_untranslated_and_drops_removed(
    complete: Project,
) -> None:
    # "Goodbye" becomes "Goodbye!" (a near match that fuzzy matching would take),
    # "Weekly check-in" disappears, a new message appears.
    complete.write_source(
        SOURCE.replace('"Goodbye"', '"Goodbye!"').replace(
            'N_("Weekly check-in")', 'N_("Monthly check-in")'
        )
    )

    summary = complete.update()

    assert (summary.new, summary.removed, summary.untranslated["fr"]) == (2, 2, 2)
    fr = complete.catalog("fr")
    assert fr.get("Hello, {name}!").string == "Bonjour, {name}!"
    assert fr.get("Open", context="button").string == "Ouvrir"
    for msgid in ("Goodbye!", "Monthly check-in"):
        message = fr.get(msgid)
        assert message.string == "" and not message.fuzzy and not message.previous_id
    assert fr.get("Goodbye") is None and fr.get("Weekly check-in") is None
    assert not fr.obsolete
    assert "#~" not in complete.po("fr").read_text(encoding="utf-8")
    assert kinds(complete.check()) == [
        ("untranslated", '"Goodbye!"'),
        ("untranslated", '"Monthly check-in"'),
    ]


def test_a_changed_plural_comes_out_untranslated(complete: Project) -> None:
    complete.write_source(SOURCE.replace('"{n} meetings"', '"{n} meetings held"'))

    complete.update()

    assert complete.catalog("fr").get("{n} meeting").string == ("",) * FRENCH_RULE.num_plurals


def test_complete_catalogs_pass(complete: Project) -> None:
    assert complete.check() == []


def test_stale_pot_is_detected(complete: Project) -> None:
    complete.write_source(SOURCE.replace('"Goodbye"', '"See you"'))

    problems = complete.check()

    assert ("stale: in the code, not in the .pot", '"See you"') in kinds(problems)
    assert ("stale: in the .pot, not in the code", '"Goodbye"') in kinds(problems)
    assert {problem.file for problem in problems} == {"locales/messages.pot"}


def test_stale_pot_ignores_order_comments_and_locations(complete: Project) -> None:
    complete.write_source(
        "# a comment that moves every line\n\n"
        + SOURCE.replace('    t.gettext("Goodbye")\n', "").replace(
            "    return N_",
            '    # Translators: shown on a button\n    t.gettext("Goodbye")\n    return N_',
        )
    )

    assert complete.check() == []


def test_missing_and_extra_entries_are_detected(complete: Project) -> None:
    complete.edit_po('msgid "Goodbye"\nmsgstr "Au revoir"\n', 'msgid "Bye"\nmsgstr "Salut"\n')

    assert kinds(complete.check()) == [
        ("missing", '"Goodbye"'),
        ("not in messages.pot", '"Bye"'),
    ]


def test_obsolete_entries_are_not_extra(complete: Project) -> None:
    path = complete.po("fr")
    path.write_text(
        path.read_text(encoding="utf-8") + '\n#~ msgid "Old"\n#~ msgstr "Vieux"\n',
        encoding="utf-8",
    )

    assert complete.check() == []


def test_missing_en_entry_is_detected(complete: Project) -> None:
    complete.edit_po('msgid "Goodbye"\nmsgstr ""\n', "", language="en")

    problems = complete.check()

    assert kinds(problems) == [("missing", '"Goodbye"')]
    assert problems[0].file == "locales/en/LC_MESSAGES/messages.po"


def test_untranslated_and_fuzzy_entries_are_detected(complete: Project) -> None:
    complete.edit_po('msgstr "Au revoir"', 'msgstr ""')
    complete.edit_po('msgstr[1] "{n} rencontres"', 'msgstr[1] ""')
    complete.edit_po('msgctxt "status"\n', '#, fuzzy\nmsgctxt "status"\n')

    assert kinds(complete.check()) == [
        ("untranslated", '"Goodbye"'),
        ("fuzzy", '"Open" (context "status")'),
        ("untranslated", '"{n} meeting" | "{n} meetings"'),
    ]


def test_placeholder_mismatch_is_detected(complete: Project) -> None:
    complete.edit_po('msgstr "Bonjour, {name}!"', 'msgstr "Bonjour, {nom}!"')

    problems = complete.check()

    assert kinds(problems) == [("placeholders", '"Hello, {name}!"')]
    assert problems[0].detail == "msgstr has {nom}, expected {name}"


def test_malformed_translation_is_detected(complete: Project) -> None:
    complete.edit_po('msgstr "Bonjour, {name}!"', 'msgstr "Bonjour, {name!"')

    problems = complete.check()

    assert kinds(problems) == [("placeholders", '"Hello, {name}!"')]
    assert "not a valid format string" in problems[0].detail


def test_plural_placeholders(complete: Project) -> None:
    # A plural form may leave out {n}…
    complete.edit_po('msgstr[0] "{n} rencontre"', 'msgstr[0] "Une rencontre"')
    assert complete.check() == []

    # …but not use a name the msgids do not have.
    complete.edit_po('msgstr[1] "{n} rencontres"', 'msgstr[1] "{count} rencontres"')
    problems = complete.check()
    assert kinds(problems) == [("placeholders", '"{n} meeting" | "{n} meetings"')]
    assert problems[0].detail == "msgstr[1] has {count}, expected {n}"


def test_plural_with_context_placeholders(complete: Project) -> None:
    complete.edit_po('"Il reste {n} semaines"', '"Il reste {weeks} semaines"')

    assert kinds(complete.check()) == [
        ("placeholders", '"{n} week left" | "{n} weeks left" (context "weeks")')
    ]


def test_wrong_plural_forms_header_is_detected(complete: Project) -> None:
    complete.set_plural_rule("nplurals=2; plural=(n != 1);")

    assert [problem.kind for problem in complete.check()] == ["wrong Plural-Forms"]


def test_missing_catalog_is_reported(project: Project) -> None:
    project.update()
    project.po("fr").unlink()

    assert [problem.kind for problem in project.check()] == ["missing file"]


def test_fill_reports_unknown_and_invalid_keys(project: Project) -> None:
    project.update()

    report = project.fill(
        {
            "Goodbye": "Au revoir",
            "Open": "Ouvrir",  # needs its context
            "Nowhere": "Nulle part",
            "{n} meeting": "rencontres",  # a plural needs a list
            "Hello, {name}!": "Bonjour, {nom}!",
        }
    )

    assert not report.ok
    assert report.filled == 2
    assert report.unknown == ['fr.json: "Open"', 'fr.json: "Nowhere"']
    assert len(report.invalid) == 1 and '"{n} meeting"' in report.invalid[0]
    assert report.warnings == ['fr.json: "Hello, {name}!": msgstr has {nom}, expected {name}']
    assert project.catalog().get("Goodbye").string == "Au revoir"


def test_fill_clears_fuzzy(complete: Project) -> None:
    complete.edit_po('msgid "Goodbye"\n', '#, fuzzy\nmsgid "Goodbye"\n')

    report = complete.fill({"Goodbye": "Au revoir"})

    assert report.filled == 1
    assert complete.check() == []


def test_todo_lists_what_fill_needs(complete: Project) -> None:
    complete.write_source(SOURCE.replace('"Goodbye"', '"See you"'))
    complete.update()
    complete.edit_po('msgctxt "weeks"\n', '#, fuzzy\nmsgctxt "weeks"\n')

    assert filling.todo(complete.locales) == {
        "See you": "",
        "weeks\u0004{n} week left": [""] * FRENCH_RULE.num_plurals,
    }


def test_cli_check_output(complete: Project, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--locales-dir", str(complete.locales), "--mapping-file", str(complete.mapping)]
    args += ["--source-root", str(complete.root)]
    assert tools.main([*args, "check"]) == 0
    assert "catalogs OK: 7 messages, fr complete" in capsys.readouterr().out

    complete.edit_po('msgstr "Au revoir"', 'msgstr ""')
    assert tools.main([*args, "check"]) == 1
    out = capsys.readouterr().out
    assert 'locales/fr/LC_MESSAGES/messages.po:\n  untranslated: "Goodbye"' in out


def test_project_catalogs_are_complete() -> None:
    """The real catalogs: run `python -m locales.tools update`, translate, and commit."""
    problems = checks.check()
    assert not problems, "\n" + checks.report(problems)
