"""The closure and follow-up instruments, and what they added to the engine: the 0–10
scale, the date kind and conditions on facts no question asks (the program's track, how a
match ended). Walked with the engine in English and French, without a bot."""

from __future__ import annotations

import re
import tomllib
from typing import Any

import pytest

from conversations import engine
from conversations.instruments import (
    Instrument,
    InstrumentError,
    Kind,
    Question,
    load_all,
    load_instrument,
    parse_instrument,
)
from conversations.kit.profile import Invalid
from locales.translator import Translator, translator

EN, FR = translator("en"), translator("fr")
SURVEYS = ("closure_mentee", "closure_mentor", "followup_mentee")
BOTH_ROLES = ["satisfaction", "goals_met", "valuable", "improve", "recommend", "keep_in_touch"]
CAREER = {"track": "Career", "ending": "planned"}


def asked(instrument: Instrument) -> list[str]:
    return [question.key for question in instrument.questions]


def found(instrument: Instrument, key: str) -> Question:
    question = instrument.question(key)
    assert question is not None, key
    return question


def test_the_surveys_load_with_the_questions_the_programs_report_on() -> None:
    instruments = load_all()
    assert set(SURVEYS) <= set(instruments)
    mentee, mentor = instruments["closure_mentee"], instruments["closure_mentor"]
    assert asked(mentee) == [*BOTH_ROLES, "employment", "helped", "rematch"]
    assert asked(mentor) == [*BOTH_ROLES, "mentor_again"]
    for survey in (mentee, mentor):
        assert [o.key for o in found(survey, "goals_met").options] == ["yes", "partly", "no"]
        assert [o.key for o in found(survey, "keep_in_touch").options] == [
            "no", "informal", "professional",
        ]  # fmt: skip
        assert found(survey, "recommend").values == tuple(str(n) for n in range(11))
        assert found(survey, "satisfaction").values == ("1", "2", "3", "4", "5")
        assert found(survey, "valuable").kind is Kind.TEXT
    statuses = ["employed_field", "employed_other", "studying", "looking", "other"]
    assert [o.key for o in found(mentee, "employment").options] == statuses
    followup = instruments["followup_mentee"]
    assert asked(followup) == ["employment", "started", "helped_how", "helped_note"]
    assert [o.key for o in found(followup, "employment").options] == statuses
    assert found(followup, "started").kind is Kind.DATE


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        (CAREER, [*BOTH_ROLES, "employment", "helped"]),
        ({"track": "career", "ending": "early"}, [*BOTH_ROLES, "employment", "helped", "rematch"]),
        ({"track": "ECE", "ending": "early"}, [*BOTH_ROLES, "rematch"]),
        ({"track": None, "ending": "planned"}, BOTH_ROLES),
        ({}, BOTH_ROLES),  # a fact nobody knows leaves its questions out
    ],
)
def test_career_and_early_end_questions_follow_the_facts(
    facts: dict[str, str | None], expected: list[str]
) -> None:
    mentee = load_instrument("closure_mentee")
    given = mentee.given(facts)
    assert asked(given) == expected
    assert given.key == mentee.key and given.title == mentee.title
    assert asked(load_instrument("closure_mentor").given(facts)) == [*BOTH_ROLES, "mentor_again"]


def sample_answer(question: Question) -> tuple[str, str | None]:
    """(a valid answer, the typed text that gives it, or None when it is a tap)."""
    if question.kind is Kind.DATE:
        return "2026-03-15", "15 mars 2026"
    if question.kind is Kind.TEXT:
        return "Les entrevues simulées", "Les entrevues simulées"
    if question.kind is Kind.MULTI:
        return question.options[0].key, None
    values = question.values
    assert values is not None
    return values[0], None


def walk(tr: Translator, instrument: Instrument) -> list[str]:
    """Answer every question as a participant would, through the engine; the texts shown
    and the answers as read back."""
    answers: dict[str, str] = {}
    shown: list[str] = []
    while (question := engine.next_question(instrument, answers)) is not None:
        value, typed = sample_answer(question)
        # a multiple-choice question is shown again with its first option ticked
        ticked = frozenset({value}) if question.kind is Kind.MULTI else frozenset()
        rendered = engine.render_question(tr, question, 7, ticked)
        shown.append(rendered.text)
        if typed is not None:
            stored = engine.read_text(tr, question, typed)
        else:
            option = "d1" if question.kind is Kind.MULTI else value
            datas = [data for row in rendered.rows for _, data in row]
            assert engine.callback(7, question.key, option) in datas
            stored = engine.read_tap(tr, question, option)
        assert stored == value
        answers[question.key] = stored
        shown.append(engine.render_answered(tr, question, stored))
    assert list(answers) == asked(instrument)
    return shown


@pytest.mark.parametrize("key", SURVEYS)
def test_the_engine_walks_each_survey_in_both_languages(key: str) -> None:
    instrument = load_instrument(key).given(CAREER | {"ending": "early"})
    english, french = walk(EN, instrument), walk(FR, instrument)
    assert len(english) == len(french) == 2 * len(instrument.questions)
    for question in instrument.questions:  # every word is translated
        assert FR.gettext(question.text) != question.text, question.key
        assert FR.gettext(question.label) != question.label, question.key
        for option in question.options:
            assert FR.gettext(option.label) != option.label or option.label == "Non"
    assert FR.gettext(instrument.title) != instrument.title


def test_the_french_reads_as_written_for_canadian_francophones() -> None:
    mentee = load_instrument("closure_mentee").given({"track": "career", "ending": "early"})
    rematch = engine.render_question(FR, found(mentee, "rematch"), 3)
    assert "nouveau jumelage" in rematch.text and "?" in rematch.text
    recommend = engine.render_question(FR, found(mentee, "recommend"), 3)
    assert recommend.text.startswith("<b>Quelle est la probabilité que vous recommandiez")
    followup = load_instrument("followup_mentee")
    started = engine.render_answered(FR, found(followup, "started"), "2026-03-15")
    assert started == "Quand avez-vous commencé? — <b>15 mars 2026</b>"
    assert engine.render_answered(EN, found(followup, "started"), "2026-03-15") == (
        "When did you start? — <b>March 15, 2026</b>"
    )


def labels(rendered: engine.Rendered) -> list[list[str]]:
    return [[label for label, _ in row] for row in rendered.rows]


def test_a_zero_to_ten_scale_takes_two_rows_and_reads_out_of_ten() -> None:
    recommend = found(load_instrument("closure_mentor"), "recommend")
    assert labels(engine.render_question(EN, recommend, 4)) == [
        ["0 · Not at all likely", "1", "2", "3", "4", "5"],
        ["6", "7", "8", "9", "10 · Extremely likely"],
    ]
    assert labels(engine.render_question(FR, recommend, 4))[1][-1] == "10 · Très probable"
    assert engine.read_tap(EN, recommend, "0") == "0"
    assert engine.read_tap(EN, recommend, "10") == "10"
    for stale in ("11", "-1", ""):
        with pytest.raises(Invalid, match="no longer works"):
            engine.read_tap(EN, recommend, stale)
    assert engine.display_value(EN, recommend, "8") == "8 / 10"
    five = found(load_instrument("closure_mentor"), "satisfaction")
    assert engine.display_value(EN, five, "4") == "4 / 5"


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("2026-03-15", "2026-03-15"),
        (" 2026/3/5 ", "2026-03-05"),
        ("15 mars 2026", "2026-03-15"),
        ("1er février 2026", "2026-02-01"),
        ("March 15, 2026", "2026-03-15"),
        ("15th of March 2026", "2026-03-15"),
        ("Sept. 2 2025", "2025-09-02"),
    ],
)
def test_dates_are_read_in_both_languages(typed: str, stored: str) -> None:
    started = found(load_instrument("followup_mentee"), "started")
    assert engine.read_text(EN, started, typed) == stored


@pytest.mark.parametrize("typed", ["03/04/2026", "2026-02-30", "soon", "15 brumaire 2026", ""])
def test_unusable_dates_say_how_to_write_one(typed: str) -> None:
    started = found(load_instrument("followup_mentee"), "started")
    english = "Please type a date, e.g. March 15, 2026 or 2026-03-15."
    with pytest.raises(Invalid, match=re.escape(english)):
        engine.read_text(EN, started, typed)
    french = "Écrivez une date, par exemple 15 mars 2026 ou 2026-03-15."
    with pytest.raises(Invalid, match=re.escape(french)):
        engine.read_text(FR, started, typed)
    rendered = engine.render_question(FR, started, 2)
    assert rendered.rows == [] and "par exemple 15 mars 2026" in rendered.text
    with pytest.raises(Invalid, match="one of the buttons"):
        engine.read_text(EN, found(load_instrument("followup_mentee"), "employment"), typed)


def test_the_follow_up_asks_the_start_date_only_of_those_who_started_something() -> None:
    followup = load_instrument("followup_mentee")
    looking = engine.next_question(followup, {"employment": "looking"})
    assert looking is not None and looking.key == "helped_how"
    studying = engine.next_question(followup, {"employment": "studying"})
    assert studying is not None and studying.key == "started"


BASE = """\
key = "probe"
title = "Probe"

[[questions]]
key = "met"
kind = "yesno"
label = "Met"
text = "Met?"
"""


def probe(question: dict[str, Any]) -> Instrument:
    data = tomllib.loads(BASE)
    data["questions"].append({"key": "x", "label": "X", "text": "X?", **question})
    return parse_instrument(data, "probe.toml")


@pytest.mark.parametrize(
    ("question", "problem"),
    [
        ({"kind": "scale", "min": 0, "max": 11}, "whole numbers from 0 to 10"),
        ({"kind": "scale", "min": 5, "max": 5}, "whole numbers from 0 to 10"),
        ({"kind": "scale", "max": 7}, "whole numbers from 0 to 10"),
        ({"kind": "scale", "min": 0.5, "max": 7}, "whole numbers from 0 to 10"),
        ({"kind": "date", "min": 1}, "unknown field(s) min"),
        ({"kind": "yesno", "when": {"ending": ["sudden"]}}, "'when.ending' names ['sudden']"),
        ({"kind": "yesno", "when": {"track": []}}, "'when.track' must be a non-empty list"),
        ({"kind": "yesno", "when": {"track": "career"}}, "'when.track' must be a non-empty list"),
        ({"kind": "yesno", "when": {"cohort": ["a"]}}, "unknown field(s) cohort"),
        (
            {"kind": "yesno", "when": {"track": ["career"], "question": "met"}},
            "'when' needs exactly one of 'in' or 'not_in'",
        ),
    ],
)
def test_bad_scales_dates_and_facts_are_refused(question: dict[str, Any], problem: str) -> None:
    where = r"probe\.toml: question 'x': .*"
    with pytest.raises(InstrumentError, match=where + re.escape(problem)):
        probe(question)


def test_a_fact_and_an_answer_condition_combine() -> None:
    instrument = probe(
        {"kind": "yesno", "when": {"track": ["career"], "question": "met", "in": ["yes"]}}
    )
    career = instrument.given({"track": "CAREER"})
    assert asked(career) == ["met", "x"]
    assert engine.next_question(career, {"met": "no"}) is None
    assert engine.next_question(career, {"met": "yes"}) == career.questions[1]
    assert asked(instrument.given({"track": "youth"})) == ["met"]
