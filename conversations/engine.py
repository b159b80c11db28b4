"""The instrument engine: which question comes next, what a tap or a typed answer means,
and how a question looks — asked (text and buttons) or answered ("question — answer").

Pure functions over an `Instrument` and the answers so far (``{question key: value}``, as
stored in `Answer` rows): no Telegram and no database, so where a participant is can be
recomputed from stored answers at any time, and every kind is tested without a bot.

Stored values: scale "1"…"5" (or its own points, "0"…"10"); choice the option key; multi
the chosen option keys in the instrument's order, comma-separated; yes/no "yes"/"no";
number its plain decimal form ("45", "1.5"); text the text, or "" when skipped; date its
ISO form ("2026-03-15").

Callback data: ``ci:<prompt id>:<question key>:<option>``. A multiple-choice question
keeps its selection in its buttons, not in storage: each option's button carries the
selection a tap on it leads to (``t<bitmask>``) and Done carries the current one
(``d<bitmask>``), so nothing half-chosen is ever stored and a restart loses nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date

from conversations.instruments import NO, YES, Instrument, Kind, Question
from conversations.kit.buttons import Button, parse_number
from conversations.kit.meeting_vocabulary import MONTHS
from conversations.kit.profile import Invalid
from conversations.kit.unusable import too_long
from locales.translator import Html, Translator, escape
from storage.schedule import fold

PREFIX = "ci"
SKIP = "skip"  # the option of an optional text question's Skip button
TOGGLE, DONE = "t", "d"
CHECKED, UNCHECKED = "☑", "☐"
_NUMBER = re.compile(r"\s*([-−]?\d+(?:[.,]\d+)?)\s*[^\d\s]{0,20}\s*")
SCALE_ROW = 6  # buttons per row: a 0–10 scale takes two rows
_ISO_DATE = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
_DAY_MONTH_YEAR = re.compile(r"(\d{1,2})(?:er|st|nd|rd|th)? (?:of |de )?([a-z]+)\.? (\d{4})")
_MONTH_DAY_YEAR = re.compile(r"([a-z]+)\.? (\d{1,2})(?:st|nd|rd|th)? (\d{4})")


# --- walking an instrument ----------------------------------------------------------------


def applies(question: Question, answers: Mapping[str, str]) -> bool:
    return question.when is None or question.when.holds(answers)


def relevant_answers(instrument: Instrument, answers: Mapping[str, str]) -> dict[str, str]:
    """The answers that still count, in question order: an answer to a question whose
    condition no longer holds (they changed "we met" to "no contact") is dropped, and so
    is anything that depended on it."""
    kept: dict[str, str] = {}
    for question in instrument.questions:
        if question.key in answers and applies(question, kept):
            kept[question.key] = answers[question.key]
    return kept


def applicable(instrument: Instrument, answers: Mapping[str, str]) -> list[Question]:
    """The questions this participant is asked, given their answers so far."""
    kept = relevant_answers(instrument, answers)
    return [question for question in instrument.questions if applies(question, kept)]


def next_question(instrument: Instrument, answers: Mapping[str, str]) -> Question | None:
    """The first question still to ask, skipping those whose condition is false; None when
    the instrument is complete."""
    kept = relevant_answers(instrument, answers)
    for question in instrument.questions:
        if question.key not in kept and applies(question, kept):
            return question
    return None


# --- callback data ------------------------------------------------------------------------


@dataclass(frozen=True)
class Tap:
    """Parsed callback data: which prompt, which question (or `_control`), which option."""

    prompt_id: int
    key: str
    option: str


def callback(prompt_id: int, key: str, option: str = "") -> str:
    return f"{PREFIX}:{prompt_id}:{key}:{option}"


def parse_callback(data: str | None) -> Tap | None:
    """`ci:12:contact:call` -> Tap(12, "contact", "call"); None for anything malformed."""
    parts = (data or "").split(":", 3)
    if len(parts) != 4 or parts[0] != PREFIX or not parts[2]:
        return None
    prompt_id = parse_number(parts[1])
    return None if prompt_id is None else Tap(prompt_id, parts[2], parts[3])


# --- reading answers ----------------------------------------------------------------------


@dataclass(frozen=True)
class Toggle:
    """A multiple-choice option was ticked or unticked: show the new selection; nothing
    is stored until Done."""

    selection: frozenset[str]


def _stale(tr: Translator) -> Invalid:
    return Invalid(tr.gettext("That button belongs to an earlier question, so it no longer works."))


def read_tap(tr: Translator, question: Question, option: str) -> str | Toggle:
    """The value a tapped option stores, or the new selection of a multiple-choice
    question; `Invalid` (localized) for an option this question does not offer."""
    if question.kind is Kind.MULTI:
        return _read_multi(tr, question, option)
    if question.kind is Kind.TEXT:
        if question.optional and option == SKIP:
            return ""
        raise _stale(tr)
    values = question.values
    if values is None or option not in values:
        raise _stale(tr)
    return option


def _read_multi(tr: Translator, question: Question, option: str) -> str | Toggle:
    action, mask = option[:1], parse_number(option[1:], below=1 << len(question.options))
    if action not in (TOGGLE, DONE) or mask is None:
        raise _stale(tr)
    chosen = [item for index, item in enumerate(question.options) if mask >> index & 1]
    if len(chosen) > 1 and any(item.exclusive for item in chosen):
        raise _stale(tr)
    if action == TOGGLE:
        return Toggle(frozenset(item.key for item in chosen))
    if not chosen:
        raise Invalid(tr.gettext("Tick at least one answer, then tap Done."))
    return ",".join(item.key for item in chosen)


def read_text(tr: Translator, question: Question, text: str) -> str:
    """The value a typed answer stores; `Invalid` (localized) when it cannot be used —
    including any typed answer to a question asked with buttons."""
    if question.kind is Kind.NUMBER:
        return _read_number(tr, question, text)
    if question.kind is Kind.DATE:
        return _read_date(tr, text)
    if question.kind is not Kind.TEXT:
        raise Invalid(tr.gettext("Please answer with one of the buttons below."))
    cleaned = text.strip()
    if not cleaned:
        raise Invalid(tr.gettext("I couldn't use that answer."))
    if len(cleaned) > question.max_length:
        raise Invalid(too_long(tr, question.max_length))
    return cleaned


def _read_number(tr: Translator, question: Question, text: str) -> str:
    found = _NUMBER.fullmatch(text[:60])
    value = float(found[1].replace(",", ".").replace("−", "-")) if found else None
    if (
        value is None
        or not question.minimum <= value <= question.maximum
        or (question.integer and not value.is_integer())
    ):
        raise Invalid(_number_hint(tr, question))
    return _plain_number(value)


def _read_date(tr: Translator, text: str) -> str:
    """A day typed as 2026-03-15, 15 mars 2026, 1er mars 2026 or March 15, 2026. Numbers
    alone in another order (03/04/2026) are refused: in Canada they read both ways."""
    typed = " ".join(fold(text[:60]).replace(",", " ").split())
    parts: tuple[str, str, str] | None = None
    if found := _ISO_DATE.fullmatch(typed):
        parts = (found[1], found[2], found[3])
    elif (found := _DAY_MONTH_YEAR.fullmatch(typed)) and found[2] in MONTHS:
        parts = (found[3], str(MONTHS[found[2]]), found[1])
    elif (found := _MONTH_DAY_YEAR.fullmatch(typed)) and found[1] in MONTHS:
        parts = (found[3], str(MONTHS[found[1]]), found[2])
    try:
        if parts is None:
            raise ValueError(text)
        return date(*(int(part) for part in parts)).isoformat()
    except ValueError:
        raise Invalid(_date_hint(tr)) from None


def _date_hint(tr: Translator) -> str:
    return tr.gettext(
        "Please type a date, e.g. {example} or {iso}.",
        example=tr.date(date(2026, 3, 15)),
        iso="2026-03-15",
    )


def _plain_number(value: float) -> str:
    return str(int(value)) if value.is_integer() else f"{value:g}"


def _number_hint(tr: Translator, question: Question) -> str:
    low, high = tr.number(question.minimum), tr.number(question.maximum)
    if question.integer:
        return tr.gettext("Please send a whole number from {low} to {high}.", low=low, high=high)
    return tr.gettext("Please send a number from {low} to {high}.", low=low, high=high)


# --- rendering ----------------------------------------------------------------------------


@dataclass(frozen=True)
class FilledQuestion(Question):
    """A question built at run time whose text has placeholders filled after translation
    ("How far did you get with “{goal}” this week?"), so the msgid stays translatable and
    the participant's own words are shown as they wrote them."""

    params: tuple[tuple[str, str], ...] = ()


def question_text(tr: Translator, question: Question) -> Html:
    """The question's text, translated and escaped for Telegram HTML."""
    params = question.params if isinstance(question, FilledQuestion) else ()
    if not params:
        return escape(tr.gettext(question.text))
    template = escape(tr.gettext(question.text))
    return Html(template.format(**{key: escape(value) for key, value in params}))


@dataclass(frozen=True)
class Rendered:
    """A question as sent: Telegram HTML and inline button rows."""

    text: str
    rows: list[list[Button]]


def render_question(
    tr: Translator, question: Question, prompt_id: int, selection: frozenset[str] = frozenset()
) -> Rendered:
    """The question, its hint, and its buttons (`selection`: a multiple-choice question's
    ticked options)."""
    lines = [f"<b>{question_text(tr, question)}</b>"]
    hint = _hint(tr, question)
    if hint:
        lines.append(f"<i>{escape(hint)}</i>")
    return Rendered("\n".join(lines), _buttons(tr, question, prompt_id, selection))


def _hint(tr: Translator, question: Question) -> str | None:
    if question.hint:
        return tr.gettext(question.hint)
    if question.kind is Kind.MULTI:
        return tr.gettext("Tick all that apply, then tap Done.")
    if question.kind is Kind.NUMBER:
        return _number_hint(tr, question)
    if question.kind is Kind.DATE:
        return _date_hint(tr)
    if question.kind is Kind.TEXT:
        if question.optional:
            return tr.gettext("Type your answer, or tap Skip.")
        return tr.gettext("Type your answer in a message.")
    return None


def _buttons(
    tr: Translator, question: Question, prompt_id: int, selection: frozenset[str]
) -> list[list[Button]]:
    def data(option: str) -> str:
        return callback(prompt_id, question.key, option)

    kind = question.kind
    if kind is Kind.SCALE:
        points = [(_scale_label(tr, question, point), data(point)) for point in question.points]
        return [points[at : at + SCALE_ROW] for at in range(0, len(points), SCALE_ROW)]
    if kind is Kind.YESNO:
        return [[(tr.gettext("Yes"), data(YES)), (tr.gettext("No"), data(NO))]]
    if kind is Kind.CHOICE:
        return [[(tr.gettext(option.label), data(option.key))] for option in question.options]
    if kind is Kind.MULTI:
        return _multi_buttons(tr, question, selection, data)
    if kind is Kind.TEXT and question.optional:
        return [[(tr.gettext("Skip"), data(SKIP))]]
    return []


def _scale_label(tr: Translator, question: Question, point: str) -> str:
    end = question.low if point == question.points[0] else None
    end = question.high if point == question.points[-1] else end
    return f"{point} · {tr.gettext(end)}" if end else point


def _multi_buttons(
    tr: Translator, question: Question, selection: frozenset[str], data: Callable[[str], str]
) -> list[list[Button]]:
    index = {option.key: bit for bit, option in enumerate(question.options)}
    current = sum(1 << index[key] for key in selection if key in index)
    rows: list[list[Button]] = []
    for bit, option in enumerate(question.options):
        ticked = option.key in selection
        mark = CHECKED if ticked else UNCHECKED
        after = _toggled(question, current, bit)
        rows.append([(f"{mark} {tr.gettext(option.label)}", data(f"{TOGGLE}{after}"))])
    rows.append([(tr.gettext("Done"), data(f"{DONE}{current}"))])
    return rows


def _toggled(question: Question, mask: int, bit: int) -> int:
    """The selection after tapping option `bit`: an exclusive option ("nothing to report")
    clears the others, and any other option clears the exclusive ones."""
    if mask >> bit & 1:
        return mask & ~(1 << bit)
    if question.options[bit].exclusive:
        return 1 << bit
    exclusive = sum(1 << index for index, option in enumerate(question.options) if option.exclusive)
    return (mask & ~exclusive) | 1 << bit


def display_value(tr: Translator, question: Question, value: str) -> Html:
    """An answer as people read it, escaped for Telegram HTML."""
    kind = question.kind
    if kind is Kind.SCALE:
        return escape(f"{value} / {question.points[-1]}")
    if kind is Kind.YESNO:
        return escape(tr.gettext("Yes") if value == YES else tr.gettext("No"))
    if kind in (Kind.CHOICE, Kind.MULTI):
        labels = [question.option(key) for key in value.split(",")]
        return escape(", ".join(tr.gettext(option.label) for option in labels if option))
    if kind is Kind.NUMBER:
        number = tr.number(float(value)) if value else ""
        return escape(f"{number} {tr.gettext(question.unit)}" if question.unit else number)
    if kind is Kind.DATE:
        return escape(tr.date(date.fromisoformat(value)))
    if not value:
        skipped = tr.gettext("Skipped")
        return Html(f"<i>{escape(skipped)}</i>")
    return escape(value)


def render_answered(tr: Translator, question: Question, value: str) -> str:
    """The question as it reads once answered: "question — answer", no buttons."""
    return f"{question_text(tr, question)} — <b>{display_value(tr, question, value)}</b>"
