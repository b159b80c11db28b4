"""A log being written: the draft cached in `user_data`, its buttons, how its answers and
the finished log read, and what the bot says about what it could not use."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from telegram import Update

from conversations import engine
from conversations.instruments import Instrument, Kind, Question
from conversations.kit.buttons import Button, keyboard
from conversations.kit.cancel import cancellable
from conversations.kit.context import TandemContext
from conversations.kit.meeting_parse import (
    MAX_MINUTES,
    Problem,
    duration_problem,
    match_topics,
    parse_duration,
    parse_meeting_date,
    parse_mode,
)
from conversations.kit.meeting_record import (
    record_lines,
    topic_answers,
    topic_label,
    topics_of,
)
from conversations.kit.profile import Invalid
from conversations.kit.reply import OutgoingMessage, Reply, deliver
from conversations.kit.text import duration_text
from conversations.kit.topics import Topic
from conversations.kit.unusable import too_long
from locales.translator import Html, Translator, escape
from storage.models import MeetingLog, Person

PREFIX = "ml"
LOG_PREFIX = "mlg"
DRAFT = "meeting_draft"  # user_data: the log being written (a `Draft`)
cancellable(DRAFT, answers_itself=True)  # take_text reads /cancel
QUICK, GUIDED = "quick", "guided"
MATCH, SAVE, CANCEL = "_match", "_save", "_cancel"  # a draft's control buttons
EDIT_WINDOW = timedelta(days=7)
TYPED_WINDOW = timedelta(hours=1)  # a typed message still answers a draft this long
MAX_QUICK_LOG = 1000
RECENT = 10  # meetings listed by /logs
TOPICS_SHOWN = 80  # characters of a meeting's topics in /logs, so ten fit one message
FIELDS: dict[str, tuple[str, ...]] = {
    "date": ("date",),
    "duration": ("duration",),
    "mode": ("mode",),
    "topics": ("topics", "other_topics"),
    "notes": ("notes",),
}
"""What an edit can change, and the questions that answer it."""
PROBLEM_FIELD: dict[Problem, str] = {
    Problem.FUTURE_DATE: "date",
    Problem.TOO_OLD: "date",
    Problem.BAD_DATE: "date",
    Problem.CONFLICTING_DATES: "date",
    Problem.TOO_LONG: "duration",
    Problem.ZERO: "duration",
    Problem.CONFLICTING_DURATIONS: "duration",
    Problem.CONFLICTING_MODES: "mode",
}


@dataclass
class Draft:
    """A log being written, kept in `user_data` between messages (plain JSON values)."""

    id: int  # on every button: buttons of an earlier draft no longer work
    source: str
    keys: list[str]  # the questions this draft walks, all or some of the instrument's
    answers: dict[str, str] = field(default_factory=dict)
    match_id: int | None = None  # None: the person has several matches and must choose
    text: str | None = None  # a quick log not read yet (it waits for the match)
    problems: dict[str, list[str]] = field(default_factory=dict)  # told when asked
    confirm: bool = False  # complete, but some words were not understood: ask first
    meeting_id: int | None = None  # the log being edited
    part: str | None = None  # which of its FIELDS
    message_id: int | None = None  # the message asking the current question
    asked_at: float = 0.0

    @classmethod
    def new(cls, source: str, keys: Sequence[str], **values: Any) -> Draft:
        return cls(id=secrets.randbelow(10**9) + 1, source=source, keys=list(keys), **values)

    @classmethod
    def load(cls, raw: object) -> Draft | None:
        if not isinstance(raw, dict):
            return None
        try:
            return cls(**raw)
        except TypeError:  # written by another version
            return None


@dataclass
class Outcome:
    """A decision: the reply, and what becomes of the draft once it is sent."""

    reply: Reply
    draft: Draft | None = None  # keep this draft, waiting on the reply's last message
    clear: bool = False  # the draft is done with


def current_draft(ctx: TandemContext) -> Draft | None:
    return Draft.load((ctx.user_data or {}).get(DRAFT))


async def send(update: Update, ctx: TandemContext, outcome: Outcome) -> None:
    sent = await deliver(update, ctx, outcome.reply)
    data = ctx.user_data
    if data is None:
        return
    if outcome.draft is not None:
        last = sent[-1] if sent else None
        if last is not None:
            outcome.draft.message_id = last
        outcome.draft.asked_at = ctx.now().timestamp()
        data[DRAFT] = asdict(outcome.draft)
    elif outcome.clear:
        data.pop(DRAFT, None)


def draft_data(draft_id: int, key: str, option: str = "") -> str:
    """A draft button's callback data: the engine's format under this dialogue's prefix."""
    return PREFIX + engine.callback(draft_id, key, option).removeprefix(engine.PREFIX)


def ours(rows: Sequence[Sequence[Button]]) -> list[list[Button]]:
    """The engine's buttons, addressed to this dialogue instead of the check-ins."""
    return [
        [(label, PREFIX + data.removeprefix(engine.PREFIX)) for label, data in row] for row in rows
    ]


def parse_tap(data: str | None) -> engine.Tap | None:
    if not (data or "").startswith(PREFIX + ":"):
        return None
    return engine.parse_callback(engine.PREFIX + (data or "").removeprefix(PREFIX))


def walk_of(instrument: Instrument, draft: Draft) -> Instrument:
    """The part of the instrument this draft asks."""
    return replace(
        instrument, questions=tuple(q for q in instrument.questions if q.key in draft.keys)
    )


def log_data(action: str, meeting_id: int, part: str = "") -> str:
    return f"{LOG_PREFIX}:{action}:{meeting_id}" + (f":{part}" if part else "")


def record_message(
    tr: Translator, meeting: MeetingLog, instrument: Instrument, title: str, *, just_logged: bool
) -> OutgoingMessage:
    """A log with its buttons: Undo and Edit right after logging, else Edit and Delete."""
    text = "\n".join([f"✅ {bold(title)}", "", *record_lines(tr, meeting, instrument)])
    meeting_id = meeting.id or 0
    first = (
        (tr.gettext("↩️ Undo"), log_data("undo", meeting_id))
        if just_logged
        else (tr.gettext("🗑️ Delete"), log_data("del", meeting_id))
    )
    edit = (tr.gettext("✏️ Edit"), log_data("edit", meeting_id))
    return OutgoingMessage(text, keyboard([[first, edit]]))


def _written_out(
    tr: Translator, question: Question, answers: dict[str, str], topics: Sequence[Topic]
) -> str | None:
    """Dates, durations and typed topics as people read them (plain text), where the
    engine would show the stored value; None for the answers the engine shows well."""
    value = answers[question.key]
    if question.key == "date":
        return tr.date(date.fromisoformat(value), "full")
    if question.key == "duration":
        return duration_text(tr, int(value))
    if question.key == "topics" and "other_topics" in answers:
        return ", ".join(topic_label(tr, item) for item in topics_of(answers, topics))
    return None


def shown_answer(
    tr: Translator, question: Question, answers: dict[str, str], topics: Sequence[Topic]
) -> str:
    """The question as it reads once answered: "question — answer"."""
    written = _written_out(tr, question, answers, topics)
    if written is None:
        return engine.render_answered(tr, question, answers[question.key])
    return engine.render_answered(tr, replace(question, kind=Kind.TEXT), written)


def answer(
    tr: Translator, question: Question, answers: dict[str, str], topics: Sequence[Topic]
) -> Html:
    """An answer alone, as safe HTML."""
    written = _written_out(tr, question, answers, topics)
    if written is None:
        return engine.display_value(tr, question, answers[question.key])
    return escape(written)


def problem_text(tr: Translator, problem: Problem | str) -> str:
    """Why a date or a duration that was understood cannot be recorded."""
    texts = {
        Problem.FUTURE_DATE: lambda: tr.gettext(
            "That date is in the future: I can only log meetings that have already happened."
        ),
        Problem.TOO_OLD: lambda: tr.gettext(
            "That's more than a year ago: I can only log meetings from the past year."
        ),
        Problem.BAD_DATE: lambda: tr.gettext("That day isn't in the calendar."),
        Problem.CONFLICTING_DATES: lambda: tr.gettext("I found two different dates."),
        Problem.TOO_LONG: lambda: tr.gettext(
            "That's longer than {hours} hours: please check the length.", hours=MAX_MINUTES // 60
        ),
        Problem.ZERO: lambda: tr.gettext("A meeting lasts at least a minute."),
        Problem.CONFLICTING_DURATIONS: lambda: tr.gettext("I found two different lengths."),
        Problem.CONFLICTING_MODES: lambda: tr.gettext("I found two different ways of meeting."),
    }
    return texts[Problem(problem)]()


def not_understood(tr: Translator, words: Sequence[str]) -> str:
    return tr.gettext("I didn't understand “{words}”.", words=" ".join(words))


def read_date(tr: Translator, text: str, today: date) -> str:
    found = parse_meeting_date(text[:100], today=today)
    if isinstance(found, Problem):
        raise Invalid(problem_text(tr, found))
    if found is None:
        raise Invalid(
            tr.gettext(
                "I couldn't read that date. Type it like “November 20” or “yesterday”, or "
                "tap a button."
            )
        )
    return found.isoformat()


def read_duration(tr: Translator, text: str) -> str:
    minutes = parse_duration(text[:100])
    if minutes is None:
        if text.strip().isdigit():
            raise Invalid(
                tr.gettext("Minutes or hours? Please add the unit, like “45 min” or “1 h”.")
            )
        raise Invalid(
            tr.gettext(
                "I couldn't read that length. Type it like “45 min” or “1 h 30”, or tap a button."
            )
        )
    problem = duration_problem(minutes)
    if problem is not None:
        raise Invalid(problem_text(tr, problem))
    return str(minutes)


def read_mode(tr: Translator, text: str) -> str:
    mode = parse_mode(text[:100])
    if mode is None:
        raise Invalid(tr.gettext("Please answer with one of the buttons below."))
    return mode.value


def read_topics(tr: Translator, text: str, topics: Sequence[Topic]) -> dict[str, str]:
    """Topics typed instead of ticked: listed ones become their keys, the rest are kept
    as "something else" in the person's words."""
    cleaned = text.strip()
    if len(cleaned) > 200:
        raise Invalid(too_long(tr, 200))
    keys, free = match_topics(cleaned, topics)
    if not keys and not free:
        raise Invalid(tr.gettext("Tick at least one answer, then tap Done."))
    return topic_answers([*keys, *free], topics)


def bold(text: str) -> str:
    return f"<b>{escape(text)}</b>"


def log_refusal(
    tr: Translator, meeting: MeetingLog | None, person: Person, now: datetime
) -> str | None:
    """Why this person cannot change this log, if they cannot: only its author may, for
    7 days after logging it, and a deleted log stays deleted."""
    if meeting is None or meeting.author_id != person.id:
        return tr.gettext("You can only change meetings you logged yourself.")
    if meeting.deleted_at is not None:
        return tr.gettext("That meeting log was deleted.")
    if now - meeting.created_at > EDIT_WINDOW:
        return tr.gettext("A meeting log can only be changed in the 7 days after it was logged.")
    return None
