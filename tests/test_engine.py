"""The instrument engine and the instrument files, without a bot: validation at load,
conditions, every question kind's valid and invalid answers, rendering, callback data,
program choices and the Babel extractor."""

from __future__ import annotations

import io
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from conversations import engine
from conversations.instruments import (
    DEFAULTS,
    Instrument,
    InstrumentError,
    Kind,
    available_instruments,
    instrument_for,
    instrument_key_for,
    load_all,
    load_file,
    load_instrument,
    parse_instrument,
)
from conversations.kit.profile import Invalid
from locales.extract import extract_instruments
from locales.tools import catalogs
from locales.translator import translator
from storage.models import Program

EN, FR = translator("en"), translator("fr")

SAMPLE = """\
key = "sample"
title = "Sample check-in"

[[questions]]
key = "met"
kind = "choice"
label = "Met"
text = "Did you meet?"
options = [
  { key = "yes_live", label = "In person" },
  { key = "none", label = "No" },
]

[[questions]]
key = "mood"
kind = "scale"
label = "Mood"
text = "How was it?"
low = "Bad"
high = "Great"
when = { question = "met", not_in = ["none"] }

[[questions]]
key = "minutes"
kind = "number"
label = "Minutes"
text = "How many minutes?"
min = 0
max = 600
unit = "min"
when = { question = "met", in = ["yes_live"] }

[[questions]]
key = "hours"
kind = "number"
label = "Hours"
text = "How many hours of preparation?"
min = 0
max = 10
integer = false

[[questions]]
key = "topics"
kind = "multi"
label = "Topics"
text = "What did you cover?"
options = [
  { key = "nothing", label = "Nothing in particular", exclusive = true },
  { key = "cv", label = "Résumé" },
  { key = "network", label = "Networking" },
]

[[questions]]
key = "cv_note"
kind = "text"
label = "Résumé note"
text = "What about the résumé?"
max_length = 20
when = { question = "topics", in = ["cv"] }

[[questions]]
key = "note"
kind = "text"
label = "Note"
text = "Anything else?"
optional = true

[[questions]]
key = "again"
kind = "yesno"
label = "Again"
text = "Meet again?"
"""


def sample(**changes: Any) -> Instrument:
    return parse_instrument(tomllib.loads(SAMPLE) | changes, "sample.toml")


def with_question(question: dict[str, Any], *, at: int | None = None) -> dict[str, Any]:
    data = tomllib.loads(SAMPLE)
    data["questions"].insert(len(data["questions"]) if at is None else at, question)
    return data


def question(key: str) -> Any:
    found = sample().question(key)
    assert found is not None
    return found


# --- validation -------------------------------------------------------------------------


def entry(kind: str = "yesno", key: str = "x", **fields: Any) -> dict[str, Any]:
    """A question table for `with_question`; `_at` places it (default: last)."""
    return {"key": key, "kind": kind, "label": "X", "text": "X?", **fields}


def options(*keys: str, exclusive: str | None = None) -> list[dict[str, Any]]:
    return [{"key": key, "label": key.upper(), "exclusive": key == exclusive} for key in keys]


BAD_INSTRUMENTS = [
    (entry("slider"), "question 'x': unknown kind 'slider'"),
    (entry(key="met"), "question 'met': duplicate question key"),
    (
        entry(when={"question": "again", "in": ["yes"]}, _at=1),
        "the condition refers to 'again', which is not asked before it",
    ),
    (
        entry(when={"question": "ghost", "in": ["yes"]}),
        "the condition refers to 'ghost', which is no question here",
    ),
    (
        entry(when={"question": "met", "in": ["maybe"]}),
        "the condition names ['maybe'], which 'met' cannot answer",
    ),
    (
        entry(when={"question": "note", "in": ["hi"]}),
        "conditions cannot refer to text question 'note'",
    ),
    (entry(when={"question": "met"}), "'when' needs exactly one of 'in' or 'not_in'"),
    (entry(colour="red"), "unknown field(s) colour"),
    (entry(text=""), "'text' must be a non-empty string"),
    (entry(label=None), "'label' must be a non-empty string"),
    (entry("choice"), "'options' must list at least two"),
    (entry("choice", options=options("a", "a")), "duplicate option key 'a'"),
    (
        entry("choice", options=options("a", "b", exclusive="a")),
        "only the options of a multi question can be exclusive",
    ),
    (entry("multi", options=options(*"abcdefghijk")), "a multi question has at most 10 options"),
    (entry("choice", options=options("A b", "c")), "option key 'A b'"),
    (entry("number", min=5, max=5), "'min' must be smaller"),
    (entry("number", max=5), "'min' must be a number"),
    (entry("text", max_length=0), "'max_length' must be"),
    (entry(key="Bad Key"), "question key 'Bad Key'"),
    (entry("choice", key="k" * 20, options=options("o" * 16, "b")), None),  # 58 bytes: fits
]


@pytest.mark.parametrize(("entry", "problem"), BAD_INSTRUMENTS)
def test_invalid_questions_are_refused_with_a_clear_error(
    entry: dict[str, Any], problem: str | None
) -> None:
    table = {key: value for key, value in entry.items() if value is not None}
    data = with_question(table, at=table.pop("_at", None))
    if problem is None:
        parse_instrument(data, "sample.toml")
        return
    with pytest.raises(InstrumentError) as raised:
        parse_instrument(data, "sample.toml")
    assert str(raised.value).startswith("sample.toml: ")
    assert problem in str(raised.value)


def test_every_button_fits_in_64_bytes() -> None:
    longest = engine.callback(10**12, "k" * 20, "o" * 16)  # the longest keys allowed
    assert len(longest.encode()) <= 64
    for instrument in load_all().values():
        for item in instrument.questions:
            for value in item.values or ("skip",):
                assert len(engine.callback(10**12, item.key, value).encode()) <= 64


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"questions": []}, "at least one [[questions]]"),
        ({"title": ""}, "'title' must be a non-empty string"),
        ({"key": "Sample!"}, "instrument key 'Sample!'"),
        ({"version": 2}, "unknown field(s) version"),
    ],
)
def test_invalid_instruments_are_refused(changes: dict[str, Any], problem: str) -> None:
    with pytest.raises(InstrumentError, match=r"sample\.toml") as raised:
        sample(**changes)
    assert problem in str(raised.value)


def test_files_are_checked_when_loaded(tmp_path: Path) -> None:
    good = tmp_path / "sample.toml"
    good.write_text(SAMPLE, encoding="utf-8")
    assert [q.key for q in load_file(good).questions][:2] == ["met", "mood"]
    renamed = tmp_path / "other.toml"
    renamed.write_text(SAMPLE, encoding="utf-8")
    with pytest.raises(InstrumentError, match="must match the file name"):
        load_file(renamed)
    broken = tmp_path / "broken.toml"
    broken.write_text('key = "broken\n', encoding="utf-8")
    with pytest.raises(InstrumentError, match=r"broken\.toml: not valid TOML"):
        load_file(broken)
    with pytest.raises(InstrumentError, match="no instrument 'nope'"):
        load_instrument("nope")
    with pytest.raises(InstrumentError, match="not an instrument key"):
        load_instrument("../secrets")


def test_default_instruments_load_and_are_cached() -> None:
    assert set(DEFAULTS.values()) <= set(available_instruments())
    instruments = load_all()
    assert load_instrument("mentee_weekly") is instruments["mentee_weekly"]
    mentee = instruments["mentee_weekly"]
    assert [q.key for q in mentee.questions] == [
        "contact", "helpful", "progress", "note", "wants_contact",
    ]  # fmt: skip
    assert [q.kind for q in mentee.questions] == [
        Kind.CHOICE, Kind.SCALE, Kind.SCALE, Kind.TEXT, Kind.YESNO,
    ]  # fmt: skip
    mentor = instruments["mentor_weekly"]
    concerns = mentor.question("concerns")
    assert concerns is not None and concerns.kind is Kind.MULTI
    assert [o.key for o in concerns.options] == ["none", "reach", "schedule", "beyond", "other"]
    pulse = instruments["relationship_pulse"]
    assert 4 <= len(pulse.questions) <= 5
    assert all(q.kind is Kind.SCALE for q in pulse.questions)


def test_programs_choose_their_instruments(clock: Any) -> None:
    program = Program(name="P", created_at=datetime(2026, 1, 1, tzinfo=UTC))
    assert instrument_for(program, "mentee", pulse=False).key == "mentee_weekly"
    assert instrument_for(program, "mentor", pulse=False).key == "mentor_weekly"
    assert instrument_for(program, "mentor", pulse=True).key == "relationship_pulse"
    assert instrument_for(None, "mentee", pulse=False).key == "mentee_weekly"
    program.settings = {"instruments": {"mentee": "mentor_weekly", "pulse": "mentee_weekly"}}
    assert instrument_key_for(program, "mentee", False) == "mentor_weekly"
    assert instrument_key_for(program, "mentee", True) == "mentee_weekly"
    assert instrument_key_for(program, "mentor", False) == "mentor_weekly"
    # A typo never stops check-ins: the default is used.
    program.settings = {"instruments": {"mentee": "no_such_thing"}}
    assert instrument_key_for(program, "mentee", False) == "mentee_weekly"


# --- conditions and order ----------------------------------------------------------------


def keys(questions: list[Any]) -> list[str]:
    return [q.key for q in questions]


def test_next_question_follows_the_order_and_skips_false_conditions() -> None:
    instrument = sample()
    assert engine.next_question(instrument, {}) == instrument.question("met")
    assert engine.next_question(instrument, {"met": "yes_live"}) == instrument.question("mood")
    # No meeting: neither "how was it" nor "how many minutes".
    assert engine.next_question(instrument, {"met": "none"}) == instrument.question("hours")
    answers = {"met": "yes_live", "mood": "4", "minutes": "45", "hours": "1.5"}
    assert engine.next_question(instrument, answers) == instrument.question("topics")
    # The résumé note is asked only when the résumé was among the topics.
    answers["topics"] = "network"
    assert engine.next_question(instrument, answers) == instrument.question("note")
    answers["topics"] = "cv,network"
    assert engine.next_question(instrument, answers) == instrument.question("cv_note")
    answers |= {"cv_note": "Done", "note": "", "again": "yes"}
    assert engine.next_question(instrument, answers) is None
    assert keys(engine.applicable(instrument, answers)) == [
        "met", "mood", "minutes", "hours", "topics", "cv_note", "note", "again",
    ]  # fmt: skip


def test_a_changed_answer_drops_the_answers_that_depended_on_it() -> None:
    instrument = sample()
    answers = {"met": "none", "mood": "4", "minutes": "45", "hours": "2", "topics": "nothing"}
    kept = engine.relevant_answers(instrument, answers)
    assert kept == {"met": "none", "hours": "2", "topics": "nothing"}
    assert "mood" not in keys(engine.applicable(instrument, answers))


# --- reading answers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "option", "stored"),
    [
        ("mood", "1", "1"),
        ("mood", "5", "5"),
        ("met", "yes_live", "yes_live"),
        ("met", "none", "none"),
        ("again", "yes", "yes"),
        ("again", "no", "no"),
        ("note", "skip", ""),
        ("topics", "d6", "cv,network"),
        ("topics", "d1", "nothing"),
    ],
)
def test_valid_taps(key: str, option: str, stored: str) -> None:
    assert engine.read_tap(EN, question(key), option) == stored


@pytest.mark.parametrize(
    ("key", "option"),
    [
        ("mood", "0"),
        ("mood", "6"),
        ("mood", "3.5"),
        ("met", "maybe"),
        ("met", ""),
        ("again", "oui"),
        ("cv_note", "skip"),  # not optional: no Skip
        ("minutes", "45"),  # typed, never tapped
        ("topics", "d8"),  # beyond the options
        ("topics", "t3"),  # "nothing" together with the résumé
        ("topics", "x1"),
        ("topics", "d"),
    ],
)
def test_invalid_taps_are_refused(key: str, option: str) -> None:
    with pytest.raises(Invalid, match="no longer works"):
        engine.read_tap(EN, question(key), option)


def test_multiple_choice_keeps_its_selection_in_the_buttons() -> None:
    topics = question("topics")
    rendered = engine.render_question(EN, topics, 7)
    labels = [label for row in rendered.rows for label, _ in row]
    assert labels == ["☐ Nothing in particular", "☐ Résumé", "☐ Networking", "Done"]
    data = {label: value for row in rendered.rows for label, value in row}
    assert data["☐ Résumé"] == "ci:7:topics:t2"
    assert engine.read_tap(EN, topics, "t2") == engine.Toggle(frozenset({"cv"}))
    ticked = engine.render_question(EN, topics, 7, frozenset({"cv"}))
    data = {label: value for row in ticked.rows for label, value in row}
    assert data["☑ Résumé"] == "ci:7:topics:t0"  # untick
    assert data["☐ Networking"] == "ci:7:topics:t6"
    assert data["☐ Nothing in particular"] == "ci:7:topics:t1"  # exclusive: clears the rest
    assert data["Done"] == "ci:7:topics:d2"
    nothing = engine.render_question(EN, topics, 7, frozenset({"nothing"}))
    data = {label: value for row in nothing.rows for label, value in row}
    assert data["☐ Résumé"] == "ci:7:topics:t2"  # picking a topic clears "nothing"
    with pytest.raises(Invalid, match="Tick at least one answer"):
        engine.read_tap(EN, topics, "d0")


@pytest.mark.parametrize(
    ("key", "text", "stored"),
    [
        ("minutes", "45", "45"),
        ("minutes", " 45 min ", "45"),
        ("minutes", "0", "0"),
        ("minutes", "600", "600"),
        ("hours", "1,5", "1.5"),
        ("hours", "2.25 h", "2.25"),
        ("hours", "3", "3"),
        ("note", "  All good  ", "All good"),
        ("cv_note", "x" * 20, "x" * 20),
    ],
)
def test_valid_typed_answers(key: str, text: str, stored: str) -> None:
    assert engine.read_text(EN, question(key), text) == stored


@pytest.mark.parametrize(
    ("key", "text", "reason"),
    [
        ("minutes", "-5", "Please send a whole number from 0 to 600."),
        ("minutes", "601", "Please send a whole number from 0 to 600."),
        ("minutes", "4.5", "Please send a whole number from 0 to 600."),
        ("minutes", "forty", "Please send a whole number from 0 to 600."),
        ("minutes", "", "Please send a whole number from 0 to 600."),
        ("hours", "11", "Please send a number from 0 to 10."),
        ("note", "   ", "I couldn't use that answer."),
        ("cv_note", "x" * 21, "That's a bit long: please keep it under 20 characters."),
        ("mood", "4", "Please answer with one of the buttons below."),
        ("met", "In person", "Please answer with one of the buttons below."),
        ("again", "yes", "Please answer with one of the buttons below."),
        ("topics", "cv", "Please answer with one of the buttons below."),
    ],
)
def test_invalid_typed_answers_say_why(key: str, text: str, reason: str) -> None:
    with pytest.raises(Invalid) as raised:
        engine.read_text(EN, question(key), text)
    assert str(raised.value) == reason


def test_reasons_are_localized() -> None:
    with pytest.raises(Invalid, match=r"Envoyez un nombre entier de 0 à 600\."):
        engine.read_text(FR, question("minutes"), "mille")
    with pytest.raises(Invalid, match="Cochez au moins une réponse"):
        engine.read_tap(FR, question("topics"), "d0")


# --- rendering -----------------------------------------------------------------------------


def buttons(rendered: engine.Rendered) -> list[list[str]]:
    return [[label for label, _ in row] for row in rendered.rows]


def test_each_kind_renders_its_buttons() -> None:
    assert buttons(engine.render_question(EN, question("mood"), 3)) == [
        ["1 · Bad", "2", "3", "4", "5 · Great"]
    ]
    assert engine.render_question(EN, question("mood"), 3).rows[0][0][1] == "ci:3:mood:1"
    assert buttons(engine.render_question(EN, question("met"), 3)) == [["In person"], ["No"]]
    assert buttons(engine.render_question(EN, question("again"), 3)) == [["Yes", "No"]]
    assert buttons(engine.render_question(EN, question("note"), 3)) == [["Skip"]]
    assert buttons(engine.render_question(EN, question("cv_note"), 3)) == []
    minutes = engine.render_question(EN, question("minutes"), 3)
    assert minutes.rows == []
    assert minutes.text == (
        "<b>How many minutes?</b>\n<i>Please send a whole number from 0 to 600.</i>"
    )
    assert "Type your answer, or tap Skip." in engine.render_question(EN, question("note"), 3).text


def test_question_text_is_escaped_and_translated() -> None:
    mentee = load_instrument("mentee_weekly")
    contact = mentee.question("contact")
    assert contact is not None
    french = engine.render_question(FR, contact, 12)
    assert french.text == "<b>Avez-vous été en contact avec votre mentor cette semaine?</b>"
    assert buttons(french) == [
        ["Oui, en personne"], ["Oui, par vidéo ou téléphone"], ["Seulement par messages"],
        ["Pas cette semaine"],
    ]  # fmt: skip
    odd = sample().questions[0].__class__(**{**question("met").__dict__, "text": "A <b> & c?"})
    assert engine.render_question(EN, odd, 1).text == "<b>A &lt;b&gt; &amp; c?</b>"


@pytest.mark.parametrize(
    ("key", "value", "english", "french"),
    [
        ("mood", "4", "How was it? — <b>4 / 5</b>", None),
        ("met", "yes_live", "Did you meet? — <b>In person</b>", None),
        ("again", "no", "Meet again? — <b>No</b>", "Meet again? — <b>Non</b>"),
        ("minutes", "45", "How many minutes? — <b>45 min</b>", None),
        ("hours", "1.5", "How many hours of preparation? — <b>1.5</b>", None),
        ("topics", "cv,network", "What did you cover? — <b>Résumé, Networking</b>", None),
        ("note", "", "Anything else? — <b><i>Skipped</i></b>", None),
        ("note", "<3 & more", "Anything else? — <b>&lt;3 &amp; more</b>", None),
    ],
)
def test_answered_questions_read_cleanly(
    key: str, value: str, english: str, french: str | None
) -> None:
    assert engine.render_answered(EN, question(key), value) == english
    if french:
        assert engine.render_answered(FR, question(key), value) == french
    assert engine.display_value(FR, question("hours"), "1.5") == "1,5"


def test_callback_data_round_trips() -> None:
    assert engine.callback(12, "contact", "call") == "ci:12:contact:call"
    assert engine.parse_callback("ci:12:contact:call") == engine.Tap(12, "contact", "call")
    assert engine.parse_callback("ci:12:_resume:") == engine.Tap(12, "_resume", "")
    assert engine.parse_callback("ci:12:note:a:b") == engine.Tap(12, "note", "a:b")
    for bad in (None, "", "ci", "ci:12", "ci:x:contact:call", "onb:12:contact:call", "ci:12::x"):
        assert engine.parse_callback(bad) is None


# --- extraction ----------------------------------------------------------------------------


def test_the_extractor_yields_every_user_facing_string_with_its_line() -> None:
    found = list(extract_instruments(io.BytesIO(SAMPLE.encode()), (), (), {}))
    messages = {message: line for line, _, message, _ in found}
    lines = SAMPLE.splitlines()
    for text in ("Sample check-in", "Did you meet?", "Met", "In person", "Bad", "Great", "min"):
        assert text in messages, text
        assert f'"{text}"' in lines[messages[text] - 1], text
    assert "sample" not in messages and "yes_live" not in messages  # keys are not text
    comments = {message: comment for _, _, message, comment in found}
    assert comments["Bad"] == ["instrument sample, question mood: low"]
    assert comments["In person"] == ["instrument sample, question met: option yes_live"]


def test_catalog_extraction_includes_the_instrument_files() -> None:
    catalog = catalogs.extract(catalogs.SOURCE_ROOT, catalogs.MAPPING_FILE)
    ids = {message.id for message in catalog if message.id}
    for instrument in load_all().values():
        assert instrument.title in ids
        for item in instrument.questions:
            assert {item.text, item.label} <= ids
            assert {option.label for option in item.options} <= ids
            assert {text for text in (item.hint, item.low, item.high) if text} <= ids
