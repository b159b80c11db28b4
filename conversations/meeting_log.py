"""Meeting logs in chat: `/log <one message>`, `/log` step by step, and `/logs`.

`/log 45m yesterday video: mock interview` is read by `conversations.kit.meeting_parse`. A
complete line is stored at once; otherwise the bot explains what it could not use (a future
date, a 13-hour meeting, words it did not understand) and asks for each missing piece in
turn. `/log` alone walks the whole `meeting_log` instrument (date, duration, mode, topics,
notes). Both are one walk through the engine: the quick log only walks the questions its
line left open, and an edit walks the questions of the one field being changed.

Until a log is complete its answers live in a draft in `user_data` (a cache: losing it
costs the person a new `/log`, never a stored log); the log is written in one transaction
once complete. Stored logs are the truth from then on: `/logs` lists the match's meetings
(both partners'), with the total time against what the program expects, and the author
may edit or delete a log for 7 days after logging it (deleting only marks it deleted).

Callback data: ``ml:<draft id>:<question key or _control>:<option>`` for a draft's
buttons — the engine's own format under this dialogue's prefix, so the engine renders and
reads them — and ``mlg:<action>:<log id>[:<field>]`` for a stored log's buttons. A draft's
buttons only work while that draft is the current one; a stored log's are re-checked
against the person pressing, the log's author and its age.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, timedelta, tzinfo
from functools import cache
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from conversations import checkin, engine
from conversations.instruments import Instrument, Kind, Option, Question, load_instrument
from conversations.kit.buttons import Button, keyboard, parse_number
from conversations.kit.cancel import cancellable
from conversations.kit.context import TandemContext
from conversations.kit.meeting_parse import (
    MAX_MINUTES,
    Missing,
    ParsedLog,
    Problem,
    duration_problem,
    match_topics,
    parse_duration,
    parse_meeting_date,
    parse_mode,
    parse_quick_log,
)
from conversations.kit.profile import Invalid
from conversations.kit.reply import OutgoingMessage, Reply
from conversations.kit.text import duration_text, partner_name
from conversations.kit.topics import DEFAULT_TOPICS, Topic
from conversations.kit.unusable import describe_unusable, too_long
from locales.translator import Html, Translator, escape
from storage.meetings import (
    meeting_for_update,
    meeting_totals,
    open_matches,
    recent_meetings,
)
from storage.metrics import expected_minutes_per_week
from storage.models import Match, MeetingLog, Person, Program
from storage.people import person_by_telegram_id

PREFIX = "ml"
LOG_PREFIX = "mlg"
DRAFT = "meeting_draft"  # user_data: the log being written (a `Draft`)
cancellable(DRAFT, answers_itself=True)  # take_text reads /cancel
INSTRUMENT = "meeting_log"
QUICK, GUIDED = "quick", "guided"
MATCH, SAVE, CANCEL = "_match", "_save", "_cancel"  # a draft's control buttons
OTHER, NOTHING = "other", "none"  # the topics question's own options
EDIT_WINDOW = timedelta(days=7)
TYPED_WINDOW = timedelta(hours=1)  # a typed message still answers a draft this long
MAX_QUICK_LOG = 1000
MAX_TOPIC_BUTTONS = 8  # with "Something else" and "Nothing in particular": 10 options
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


# --- the draft ----------------------------------------------------------------------------


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


def _draft(ctx: TandemContext) -> Draft | None:
    return Draft.load((ctx.user_data or {}).get(DRAFT))


async def _send(update: Update, ctx: TandemContext, outcome: Outcome) -> None:
    sent = await checkin.deliver(update, ctx, outcome.reply)
    data = ctx.user_data
    if data is None:
        return
    if outcome.draft is not None:
        last = sent[-1] if sent else None
        if last is not None:
            outcome.draft.message_id = last.message_id
        outcome.draft.asked_at = ctx.now().timestamp()
        data[DRAFT] = asdict(outcome.draft)
    elif outcome.clear:
        data.pop(DRAFT, None)


def _data(draft_id: int, key: str, option: str = "") -> str:
    """A draft button's callback data: the engine's format under this dialogue's prefix."""
    return PREFIX + engine.callback(draft_id, key, option).removeprefix(engine.PREFIX)


def _ours(rows: Sequence[Sequence[Button]]) -> list[list[Button]]:
    """The engine's buttons, addressed to this dialogue instead of the check-ins."""
    return [
        [(label, PREFIX + data.removeprefix(engine.PREFIX)) for label, data in row] for row in rows
    ]


def _parse_tap(data: str | None) -> engine.Tap | None:
    if not (data or "").startswith(PREFIX + ":"):
        return None
    return engine.parse_callback(engine.PREFIX + (data or "").removeprefix(PREFIX))


# --- topics and the instrument ----------------------------------------------------------------


def program_topics(program: Program | None) -> tuple[Topic, ...]:
    """The topics a program's logs are filed under: the known topics its settings name
    (`settings["topics"]`, a list of keys, in that order), else the default list."""
    chosen = ((program.settings if program else None) or {}).get("topics")
    if not isinstance(chosen, list):
        return DEFAULT_TOPICS
    known = {topic.key: topic for topic in DEFAULT_TOPICS}
    topics = tuple(
        known[key] for key in dict.fromkeys(chosen) if isinstance(key, str) and key in known
    )
    return topics[:MAX_TOPIC_BUTTONS] or DEFAULT_TOPICS


@cache
def meeting_instrument(topics: tuple[Topic, ...] = DEFAULT_TOPICS) -> Instrument:
    """The `meeting_log` instrument with `topics` in front of its topic question's own
    options ("Something else", "Nothing in particular")."""
    base = load_instrument(INSTRUMENT)
    questions = tuple(
        replace(q, options=(*(Option(t.key, t.label) for t in topics), *q.options))
        if q.key == "topics"
        else q
        for q in base.questions
    )
    return replace(base, questions=questions)


def _walk(instrument: Instrument, draft: Draft) -> Instrument:
    """The part of the instrument this draft asks."""
    return replace(
        instrument, questions=tuple(q for q in instrument.questions if q.key in draft.keys)
    )


def topic_label(tr: Translator, item: str) -> str:
    """A stored topic as people read it (plain text): a known topic's translated label,
    else the person's own words."""
    known = next((topic for topic in DEFAULT_TOPICS if topic.key == item), None)
    return tr.gettext(known.label) if known else item


def _topic_answers(items: Sequence[str], topics: Sequence[Topic]) -> dict[str, str]:
    """Stored topics (keys and free words) as the topic questions' answers."""
    offered = {topic.key for topic in topics}
    keys = [item for item in items if item in offered]
    free = [item for item in items if item not in offered]
    if not keys and not free:
        return {}
    answers = {"topics": ",".join([*keys, *([OTHER] if free else [])])}
    if free:
        answers["other_topics"] = ", ".join(free)
    return answers


def _topics_of(answers: dict[str, str], topics: Sequence[Topic]) -> list[str]:
    """The topic questions' answers as stored: keys, then the other topics' words (those
    that name a listed topic become its key)."""
    chosen = [
        key for key in answers.get("topics", "").split(",") if key not in ("", OTHER, NOTHING)
    ]
    if OTHER in answers.get("topics", "").split(","):
        keys, free = match_topics(answers.get("other_topics", ""), topics)
        chosen += [*keys, *free]
    return list(dict.fromkeys(chosen))


def answers_of(meeting: MeetingLog, topics: Sequence[Topic]) -> dict[str, str]:
    """A stored log as the instrument's answers (to change one field of it)."""
    answers = {
        "date": meeting.met_on.isoformat(),
        "duration": str(meeting.minutes),
        "mode": meeting.mode,
        "notes": meeting.notes or "",
    }
    return answers | (_topic_answers(meeting.topics, topics) or {"topics": NOTHING})


# --- how a log reads ----------------------------------------------------------------------------


def mode_label(tr: Translator, instrument: Instrument, mode: str) -> str:
    question = instrument.question("mode")
    option = question.option(mode) if question else None
    return tr.gettext(option.label) if option else mode


def _bullet(tr: Translator, instrument: Instrument, key: str, value: str) -> str:
    question = instrument.question(key)
    label = tr.gettext(question.label) if question else key
    return tr.gettext("• {label}: {value}", label=label, value=Html(f"<b>{value}</b>"))


def record_lines(tr: Translator, meeting: MeetingLog, instrument: Instrument) -> list[str]:
    """The log, one line per field it has."""
    lines = [
        _bullet(tr, instrument, "date", escape(tr.date(meeting.met_on, "full"))),
        _bullet(tr, instrument, "duration", escape(duration_text(tr, meeting.minutes))),
        _bullet(tr, instrument, "mode", escape(mode_label(tr, instrument, meeting.mode))),
    ]
    if meeting.topics:
        topics = ", ".join(topic_label(tr, item) for item in meeting.topics)
        lines.append(_bullet(tr, instrument, "topics", escape(topics)))
    if meeting.notes:
        lines.append(_bullet(tr, instrument, "notes", escape(meeting.notes)))
    return lines


def _record(
    tr: Translator, meeting: MeetingLog, instrument: Instrument, title: str, *, just_logged: bool
) -> OutgoingMessage:
    """A log with its buttons: Undo and Edit right after logging, else Edit and Delete."""
    text = "\n".join([f"✅ {_bold(title)}", "", *record_lines(tr, meeting, instrument)])
    meeting_id = meeting.id or 0
    first = (
        (tr.gettext("↩️ Undo"), _log_data("undo", meeting_id))
        if just_logged
        else (tr.gettext("🗑️ Delete"), _log_data("del", meeting_id))
    )
    edit = (tr.gettext("✏️ Edit"), _log_data("edit", meeting_id))
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
        return ", ".join(topic_label(tr, item) for item in _topics_of(answers, topics))
    return None


def _shown(
    tr: Translator, question: Question, answers: dict[str, str], topics: Sequence[Topic]
) -> str:
    """The question as it reads once answered: "question — answer"."""
    written = _written_out(tr, question, answers, topics)
    if written is None:
        return engine.render_answered(tr, question, answers[question.key])
    return engine.render_answered(tr, replace(question, kind=Kind.TEXT), written)


def _answer(
    tr: Translator, question: Question, answers: dict[str, str], topics: Sequence[Topic]
) -> Html:
    """An answer alone, as safe HTML."""
    written = _written_out(tr, question, answers, topics)
    if written is None:
        return engine.display_value(tr, question, answers[question.key])
    return escape(written)


# --- explaining what cannot be used -------------------------------------------------------------


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


def _not_understood(tr: Translator, words: Sequence[str]) -> str:
    return tr.gettext("I didn't understand “{words}”.", words=" ".join(words))


def _read_date(tr: Translator, text: str, today: date) -> str:
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


def _read_duration(tr: Translator, text: str) -> str:
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


def _read_mode(tr: Translator, text: str) -> str:
    mode = parse_mode(text[:100])
    if mode is None:
        raise Invalid(tr.gettext("Please answer with one of the buttons below."))
    return mode.value


def _read_topics(tr: Translator, text: str, topics: Sequence[Topic]) -> dict[str, str]:
    """Topics typed instead of ticked: listed ones become their keys, the rest are kept
    as "something else" in the person's words."""
    cleaned = text.strip()
    if len(cleaned) > 200:
        raise Invalid(too_long(tr, 200))
    keys, free = match_topics(cleaned, topics)
    if not keys and not free:
        raise Invalid(tr.gettext("Tick at least one answer, then tap Done."))
    return _topic_answers([*keys, *free], topics)


# --- walking a draft ----------------------------------------------------------------------------


@dataclass
class Logging:
    """A draft with what it is about, read in the transaction that handles a step."""

    session: AsyncSession
    ctx: TandemContext
    person: Person
    draft: Draft
    match: Match | None = None
    program: Program | None = None

    @property
    def tr(self) -> Translator:
        return self.ctx.tr

    @property
    def topics(self) -> tuple[Topic, ...]:
        return program_topics(self.program)

    @property
    def instrument(self) -> Instrument:
        return meeting_instrument(self.topics)

    @property
    def today(self) -> date:
        zone = checkin.zone_of(self.person, self.program)
        return self.ctx.now().astimezone(zone).date()

    def question(self) -> Question | None:
        """The question the draft is at (None: nothing left to ask)."""
        return engine.next_question(_walk(self.instrument, self.draft), self.draft.answers)


async def _with_match(logging: Logging) -> Outcome | None:
    """Load the draft's match and program; an Outcome when it has none to use."""
    draft, person, session = logging.draft, logging.person, logging.session
    if draft.match_id is None:
        return None
    if draft.meeting_id is not None:  # an edit: the log's own match, whatever its status
        logging.match = await session.get(Match, draft.match_id)
        program_id = logging.match.program_id if logging.match else None
        logging.program = await session.get(Program, program_id) if program_id else None
        return None
    match = next(
        (m for m in await open_matches(session, person.id or 0) if m.id == draft.match_id),
        None,
    )
    if match is None:
        return Outcome(Reply(notice=_no_match(logging.tr)), clear=True)
    logging.match = match
    logging.program = await session.get(Program, match.program_id)
    return None


async def _advance(
    logging: Logging, before: Sequence[str] = (), selection: frozenset[str] = frozenset()
) -> Outcome:
    """Ask what the draft still needs — the match, then each open question — or, when
    nothing is left, save it. `before`: lines to say first; `selection`: the options a
    multiple-choice question starts with ticked."""
    gone = await _with_match(logging)
    if gone is not None:
        return gone
    draft = logging.draft
    if logging.match is None:
        return await _ask_match(logging, before)
    if draft.text is not None:
        before = [*before, *_read_quick(logging)]
    question = logging.question()
    if question is not None:
        return _ask(logging, question, before, selection)
    if draft.confirm:
        return _ask_confirmation(logging, before)
    return await _finish(logging)


def _read_quick(logging: Logging) -> list[str]:
    """Read the one-message log into the draft: what it gave becomes answers, what it
    left open becomes the questions to walk; returns what to say about unknown words."""
    draft = logging.draft
    parsed: ParsedLog = parse_quick_log(
        draft.text or "", today=logging.today, topics=logging.topics
    )
    draft.text = None
    given = {
        Missing.DATE: parsed.met_on.isoformat() if parsed.met_on else None,
        Missing.DURATION: None if parsed.minutes is None else str(parsed.minutes),
        Missing.MODE: parsed.mode.value if parsed.mode else None,
    }
    draft.answers = {piece.value: value for piece, value in given.items() if value is not None}
    draft.answers |= _topic_answers([*parsed.topics, *parsed.free_topics], logging.topics)
    draft.keys = [piece.value for piece in parsed.missing]
    for problem in parsed.problems:
        draft.problems.setdefault(PROBLEM_FIELD[problem], []).append(problem.value)
    draft.confirm = bool(parsed.unknown_words) and not parsed.missing
    return [_not_understood(logging.tr, parsed.unknown_words)] if parsed.unknown_words else []


def _ask(
    logging: Logging, question: Question, before: Sequence[str], selection: frozenset[str]
) -> Outcome:
    """The question (after any explanation of what was wrong with its earlier answer),
    with the engine's buttons."""
    tr, draft = logging.tr, logging.draft
    explained = [problem_text(tr, problem) for problem in draft.problems.pop(question.key, [])]
    rendered = engine.render_question(tr, question, draft.id, selection)
    text = "\n\n".join([*before, *explained, rendered.text])
    markup = keyboard(_ours(rendered.rows)) if rendered.rows else None
    return Outcome(Reply(messages=[OutgoingMessage(text, markup)]), draft=draft)


async def _ask_match(logging: Logging, before: Sequence[str]) -> Outcome:
    """Someone with several matches says which one the meeting was with."""
    tr, draft, session = logging.tr, logging.draft, logging.session
    person_id = logging.person.id or 0
    rows = []
    for match in await open_matches(session, person_id):
        name = await partner_name(session, tr, match, person_id)
        rows.append([(name, _data(draft.id, MATCH, str(match.id)))])
    text = "\n\n".join([*before, _bold(_who_question(tr))])
    return Outcome(Reply(messages=[OutgoingMessage(text, keyboard(rows))]), draft=draft)


def _who_question(tr: Translator) -> str:
    return tr.gettext("Who was this meeting with?")


def _bold(text: str) -> str:
    return f"<b>{escape(text)}</b>"


def _ask_confirmation(logging: Logging, before: Sequence[str]) -> Outcome:
    """A complete line with words that were not understood: show what was, and save
    only when told to."""
    tr, draft = logging.tr, logging.draft
    preview = record_lines(tr, _new_meeting(logging), logging.instrument)
    lines = [*before, tr.gettext("Here is what I understood:")]
    text = "\n\n".join(lines) + "\n" + "\n".join(preview)
    text += "\n\n" + escape(tr.gettext("Shall I save it?"))
    buttons = [
        (tr.gettext("✅ Save"), _data(draft.id, SAVE)),
        (tr.gettext("✖️ Cancel"), _data(draft.id, CANCEL)),
    ]
    return Outcome(Reply(messages=[OutgoingMessage(text, keyboard([buttons]))]), draft=draft)


def _new_meeting(logging: Logging) -> MeetingLog:
    """The complete draft as a log, not stored yet."""
    assert logging.match is not None and logging.match.id is not None
    blank = MeetingLog(
        match_id=logging.match.id,
        author_id=logging.person.id or 0,
        met_on=logging.today,
        minutes=0,
        mode="",
        source=logging.draft.source,
        created_at=logging.ctx.now(),
    )
    return _fields(logging, blank)


def _fields(logging: Logging, meeting: MeetingLog, part: str | None = None) -> MeetingLog:
    """Write the draft's answers into `meeting`: every field, or only `part`."""
    answers = logging.draft.answers
    if part in (None, "date"):
        meeting.met_on = date.fromisoformat(answers["date"])
    if part in (None, "duration"):
        meeting.minutes = int(answers["duration"])
    if part in (None, "mode"):
        meeting.mode = answers["mode"]
    if part in (None, "topics"):
        meeting.topics = _topics_of(answers, logging.topics)
    if part in (None, "notes"):
        meeting.notes = answers.get("notes") or None
    return meeting


async def _finish(logging: Logging) -> Outcome:
    """Store the complete draft — a new log, or the changed field of one — and show it."""
    tr, draft, now = logging.tr, logging.draft, logging.ctx.now()
    if draft.meeting_id is not None:
        meeting = await meeting_for_update(logging.session, draft.meeting_id)
        refusal = _refusal(tr, meeting, logging.person, now)
        if refusal is not None or meeting is None:
            return Outcome(Reply(notice=refusal), clear=True)
        _fields(logging, meeting, draft.part)
        meeting.updated_at = now
        logging.session.add(meeting)
        title, just_logged = tr.gettext("Meeting updated"), False
    else:
        meeting = _new_meeting(logging)
        logging.session.add(meeting)
        await logging.session.flush()
        title, just_logged = tr.gettext("Meeting logged"), True
    record = _record(tr, meeting, logging.instrument, title, just_logged=just_logged)
    # The flag rules read the log once it has committed (a note's safety words alert now).
    return Outcome(Reply(messages=[record], evaluate_match=meeting.match_id), clear=True)


async def _store(
    logging: Logging, question: Question, values: dict[str, str], message_id: int | None
) -> Outcome:
    """Keep an answer in the draft (dropping answers it made irrelevant), show it in the
    message that asked, and go on."""
    draft = logging.draft
    draft.answers |= values
    walk = _walk(logging.instrument, draft)
    kept = engine.relevant_answers(walk, draft.answers)
    for asked in walk.questions:
        if asked.key in draft.answers and asked.key not in kept:
            del draft.answers[asked.key]
    answered = _shown(logging.tr, question, draft.answers, logging.topics)
    outcome = await _advance(logging)
    outcome.reply.edit = OutgoingMessage(answered, None)
    outcome.reply.edit_message_id = message_id
    return outcome


# --- /log -------------------------------------------------------------------------------------


async def _participant(session: AsyncSession, update: Update, ctx: TandemContext) -> Person | Reply:
    return await checkin.participant_or(
        session,
        update,
        ctx.tr.gettext(
            "Meeting logs start once you have joined a program. Send /start to continue "
            "joining, or open the invitation link your coordinator sent you."
        ),
    )


def _no_match(tr: Translator) -> str:
    return tr.gettext(
        "You need a match before you can log meetings. Your coordinator will let you know "
        "when you're paired."
    )


def _command_text(update: Update) -> str:
    """What follows the command word, as typed (new lines included)."""
    message = update.effective_message
    parts = (message.text or "").split(maxsplit=1) if message else []
    return parts[1].strip() if len(parts) > 1 else ""


async def log_command(update: Update, ctx: TandemContext) -> None:
    """/log <meeting>: log it in one message; /log alone: step by step."""
    text = _command_text(update)
    async with ctx.db.session() as session:
        person = await _participant(session, update, ctx)
        if isinstance(person, Reply):
            outcome = Outcome(person)
        elif len(text) > MAX_QUICK_LOG:
            outcome = Outcome(Reply(notice=too_long(ctx.tr, MAX_QUICK_LOG)))
        else:
            outcome = await _start(session, ctx, person, text)
    await _send(update, ctx, outcome)


async def _start(session: AsyncSession, ctx: TandemContext, person: Person, text: str) -> Outcome:
    matches = await open_matches(session, person.id or 0)
    if not matches:
        return Outcome(Reply(notice=_no_match(ctx.tr)), clear=True)
    match_id = matches[0].id if len(matches) == 1 else None
    if text:
        draft = Draft.new(QUICK, [], text=text, match_id=match_id)
    else:
        keys = [question.key for question in load_instrument(INSTRUMENT).questions]
        draft = Draft.new(GUIDED, keys, match_id=match_id)
    return await _advance(Logging(session, ctx, person, draft))


# --- a draft's buttons ----------------------------------------------------------------------------


async def on_draft_tap(update: Update, ctx: TandemContext) -> None:
    """Every `ml:` button: an answer, a topic ticked, the match chosen, Save or Cancel."""
    query = update.callback_query
    assert query is not None
    tap, draft = _parse_tap(query.data), _draft(ctx)
    message_id = query.message.message_id if query.message else None
    async with ctx.db.session() as session:
        person = await _participant(session, update, ctx)
        if isinstance(person, Reply):
            outcome = Outcome(person)
        elif tap is None or draft is None or tap.prompt_id != draft.id:
            outcome = Outcome(Reply(notice=_stale(ctx.tr)))
        else:
            logging = Logging(session, ctx, person, draft)
            outcome = await DRAFT_CONTROLS.get(tap.key, _on_answer)(logging, tap, message_id)
    await _send(update, ctx, outcome)


def _stale(tr: Translator) -> str:
    return tr.gettext("That button belongs to an earlier question, so it no longer works.")


async def _on_answer(logging: Logging, tap: engine.Tap, message_id: int | None) -> Outcome:
    gone = await _with_match(logging)
    if gone is not None:
        return gone
    tr, draft = logging.tr, logging.draft
    question = logging.question()
    if logging.match is None or question is None or question.key != tap.key:
        if tap.key in draft.answers:
            return Outcome(Reply(notice=tr.gettext("You've already answered that question.")))
        return Outcome(Reply(notice=_stale(tr)))
    try:
        result = engine.read_tap(tr, question, tap.option)
    except Invalid as invalid:
        return Outcome(Reply(notice=str(invalid)))
    if isinstance(result, engine.Toggle):
        rendered = engine.render_question(tr, question, draft.id, result.selection)
        return Outcome(Reply(edit=OutgoingMessage(rendered.text, keyboard(_ours(rendered.rows)))))
    if question.key == "date":
        result = (logging.today - timedelta(days=int(result == "yesterday"))).isoformat()
    return await _store(logging, question, {question.key: result}, message_id)


async def _on_match(logging: Logging, tap: engine.Tap, message_id: int | None) -> Outcome:
    """The match a meeting was with, among the person's own."""
    tr, draft = logging.tr, logging.draft
    if draft.match_id is not None:
        return Outcome(Reply(notice=tr.gettext("You've already answered that question.")))
    matches = await open_matches(logging.session, logging.person.id or 0)
    match = next((m for m in matches if str(m.id) == tap.option), None)
    if match is None:
        return Outcome(Reply(notice=_stale(tr)))
    draft.match_id = match.id
    name = await partner_name(logging.session, tr, match, logging.person.id or 0)
    answered = f"{escape(_who_question(tr))} — {_bold(name)}"
    outcome = await _advance(logging)
    outcome.reply.edit = OutgoingMessage(answered, None)
    return outcome


async def _on_save(logging: Logging, tap: engine.Tap, message_id: int | None) -> Outcome:
    if not logging.draft.confirm:
        return Outcome(Reply(notice=_stale(logging.tr)))
    logging.draft.confirm = False
    outcome = await _advance(logging)
    outcome.reply.drop_buttons = True
    return outcome


async def _on_cancel(logging: Logging, tap: engine.Tap, message_id: int | None) -> Outcome:
    text = escape(logging.tr.gettext("Okay, nothing was logged."))
    return Outcome(Reply(edit=OutgoingMessage(text, None)), clear=True)


DRAFT_CONTROLS: dict[str, Callable[[Logging, engine.Tap, int | None], Awaitable[Outcome]]] = {
    MATCH: _on_match,
    SAVE: _on_save,
    CANCEL: _on_cancel,
}


# --- typed answers --------------------------------------------------------------------------------


def _waiting(ctx: TandemContext, draft: Draft) -> bool:
    """A typed message answers the draft when it asked within the hour and no check-in
    question was asked since (the latest question gets the answer)."""
    now = ctx.now().timestamp()
    if now - draft.asked_at > TYPED_WINDOW.total_seconds():
        return False
    asked = (ctx.user_data or {}).get(checkin.ASKED)
    return not (isinstance(asked, dict) and float(asked.get("at", 0)) >= draft.asked_at)


async def take_text(update: Update, ctx: TandemContext) -> bool:
    """Handle a message (text, sticker, photo, unknown command…) when a meeting log is
    waiting for one: a typed answer, /cancel, or a clear reply and the question again.
    False when no log is waiting, so the caller can try the next dialogue."""
    user, message, draft = update.effective_user, update.effective_message, _draft(ctx)
    if user is None or message is None or draft is None:
        return False
    if _is_cancel(message.text):
        await _send(
            update,
            ctx,
            Outcome(Reply(notice=ctx.tr.gettext("Okay, nothing was logged.")), clear=True),
        )
        return True
    if not _waiting(ctx, draft):
        return False
    async with ctx.db.session() as session:
        person = await person_by_telegram_id(session, user.id)
        if person is None:
            return False
        outcome = await _typed(Logging(session, ctx, person, draft), update)
    await _send(update, ctx, outcome)
    return True


def _is_cancel(text: str | None) -> bool:
    words = (text or "").split(maxsplit=1)
    return bool(words) and words[0].partition("@")[0] == "/cancel"


async def _typed(logging: Logging, update: Update) -> Outcome:
    gone = await _with_match(logging)
    if gone is not None:
        return gone
    question = logging.question() if logging.match is not None else None
    text = update.effective_message.text if update.effective_message else None
    problem: str | None = None
    if question is None or logging.draft.confirm:
        problem = describe_unusable(logging.tr, update, expects_text=False)
    elif text is None or text.startswith("/"):
        problem = describe_unusable(logging.tr, update, expects_text=True)
    else:
        try:
            values = _read_typed(logging, question, text)
        except Invalid as invalid:
            problem = str(invalid)
    if problem is not None:
        outcome = await _advance(logging)
        outcome.reply.notice = problem
        return outcome
    return await _store(logging, question, values, logging.draft.message_id)


def _read_typed(logging: Logging, question: Question, text: str) -> dict[str, str]:
    """A typed answer: dates, durations, modes and topics are read like a quick log's;
    notes and other topics are taken as written."""
    tr = logging.tr
    if question.key == "date":
        return {"date": _read_date(tr, text, logging.today)}
    if question.key == "duration":
        return {"duration": _read_duration(tr, text)}
    if question.key == "mode":
        return {"mode": _read_mode(tr, text)}
    if question.key == "topics":
        return _read_topics(tr, text, logging.topics)
    return {question.key: engine.read_text(tr, question, text)}


# --- a stored log's buttons -----------------------------------------------------------------------


def _log_data(action: str, meeting_id: int, part: str = "") -> str:
    return f"{LOG_PREFIX}:{action}:{meeting_id}" + (f":{part}" if part else "")


@dataclass(frozen=True)
class LogTap:
    """Parsed `mlg:` callback data."""

    action: str
    meeting_id: int
    part: str = ""


def _parse_log_tap(data: str | None) -> LogTap | None:
    parts = (data or "").split(":")
    meeting_id = parse_number(parts[2]) if len(parts) in (3, 4) else None
    if parts[0] != LOG_PREFIX or meeting_id is None:
        return None
    return LogTap(parts[1], meeting_id, parts[3] if len(parts) == 4 else "")


def _refusal(
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


@dataclass
class Pressed:
    """A tap on a stored log's button, by its author, inside the transaction."""

    session: AsyncSession
    ctx: TandemContext
    person: Person
    meeting: MeetingLog
    part: str

    @property
    def tr(self) -> Translator:
        return self.ctx.tr

    async def instrument(self) -> Instrument:
        return meeting_instrument(program_topics(await self.program()))

    async def program(self) -> Program | None:
        match = await self.session.get(Match, self.meeting.match_id)
        return await self.session.get(Program, match.program_id) if match else None


async def on_log_tap(update: Update, ctx: TandemContext) -> None:
    """Every `mlg:` button. The log is read locked and checked against the person
    pressing before anything changes; the chat is updated after the commit."""
    query = update.callback_query
    assert query is not None
    tap = _parse_log_tap(query.data)
    async with ctx.db.session() as session:
        person = await _participant(session, update, ctx)
        if isinstance(person, Reply):
            outcome = Outcome(person)
        elif tap is None or tap.action not in LOG_ACTIONS:
            outcome = Outcome(Reply(notice=_stale(ctx.tr)))
        else:
            meeting = await meeting_for_update(session, tap.meeting_id)
            refusal = _refusal(ctx.tr, meeting, person, ctx.now())
            if refusal is not None or meeting is None:
                outcome = Outcome(Reply(notice=refusal))
            else:
                pressed = Pressed(session, ctx, person, meeting, tap.part)
                outcome = await LOG_ACTIONS[tap.action](pressed)
    await _send(update, ctx, outcome)


def _delete(pressed: Pressed) -> None:
    pressed.meeting.deleted_at = pressed.ctx.now()
    pressed.session.add(pressed.meeting)


async def _on_undo(pressed: Pressed) -> Outcome:
    """Undo, right after logging: delete without asking."""
    _delete(pressed)
    text = escape(pressed.tr.gettext("↩️ Undone: that meeting is no longer logged."))
    return Outcome(Reply(edit=OutgoingMessage(text, None), evaluate_match=pressed.meeting.match_id))


async def _on_show(pressed: Pressed) -> Outcome:
    title = pressed.tr.gettext("Meeting log")
    record = _record(
        pressed.tr, pressed.meeting, await pressed.instrument(), title, just_logged=False
    )
    return Outcome(Reply(edit=record))


async def _on_edit(pressed: Pressed) -> Outcome:
    """Edit: which field? (the message's buttons change)."""
    tr, meeting = pressed.tr, pressed.meeting
    instrument = await pressed.instrument()
    buttons: list[Button] = []
    for part, keys in FIELDS.items():
        question = instrument.question(keys[0])
        label = tr.gettext(question.label) if question else part
        buttons.append((label, _log_data("field", meeting.id or 0, part)))
    rows = [buttons[index : index + 2] for index in range(0, len(buttons), 2)]
    rows.append([(tr.gettext("← Back"), _log_data("show", meeting.id or 0))])
    lines = [
        _bold(tr.gettext("What do you want to change?")),
        "",
        *record_lines(tr, meeting, instrument),
    ]
    return Outcome(Reply(edit=OutgoingMessage("\n".join(lines), keyboard(rows))))


async def _on_field(pressed: Pressed) -> Outcome:
    """One field chosen: its question is asked again, showing the current answer."""
    tr, meeting = pressed.tr, pressed.meeting
    keys = FIELDS.get(pressed.part)
    if keys is None:
        return Outcome(Reply(notice=_stale(tr)))
    program = await pressed.program()
    topics = program_topics(program)
    current = answers_of(meeting, topics)
    draft = Draft.new(
        meeting.source,
        keys,
        answers={key: value for key, value in current.items() if key not in keys},
        match_id=meeting.match_id,
        meeting_id=meeting.id,
        part=pressed.part,
    )
    logging = Logging(pressed.session, pressed.ctx, pressed.person, draft)
    question = meeting_instrument(topics).question(keys[0])
    before: list[str] = []
    selection: frozenset[str] = frozenset()
    if question is not None and current.get(question.key):
        shown = _answer(tr, question, current, topics)
        before.append("<i>" + tr.gettext("Your answer was: {answer}", answer=shown) + "</i>")
        if question.kind is Kind.MULTI:  # ticked as they were
            selection = frozenset(current[question.key].split(","))
    outcome = await _advance(logging, before, selection)
    outcome.reply.drop_buttons = True
    return outcome


async def _on_delete(pressed: Pressed) -> Outcome:
    """Delete: asks first."""
    tr, meeting = pressed.tr, pressed.meeting
    lines = [
        _bold(tr.gettext("Delete this meeting log?")),
        "",
        *record_lines(tr, meeting, await pressed.instrument()),
    ]
    buttons = [
        (tr.gettext("🗑️ Yes, delete it"), _log_data("delok", meeting.id or 0)),
        (tr.gettext("No, keep it"), _log_data("keep", meeting.id or 0)),
    ]
    return Outcome(Reply(edit=OutgoingMessage("\n".join(lines), keyboard([buttons]))))


async def _on_delete_confirmed(pressed: Pressed) -> Outcome:
    _delete(pressed)
    await pressed.session.flush()
    overview = await _overview_of(pressed)
    deleted = Reply(
        notice=pressed.tr.gettext("Deleted."),
        edit=overview,
        evaluate_match=pressed.meeting.match_id,
    )
    return Outcome(deleted)


async def _on_keep(pressed: Pressed) -> Outcome:
    return Outcome(Reply(edit=await _overview_of(pressed)))


async def _overview_of(pressed: Pressed) -> OutgoingMessage:
    match = await pressed.session.get(Match, pressed.meeting.match_id)
    assert match is not None
    return await overview(pressed.session, pressed.ctx, pressed.person, match)


LOG_ACTIONS: dict[str, Callable[[Pressed], Awaitable[Outcome]]] = {
    "undo": _on_undo,
    "show": _on_show,
    "edit": _on_edit,
    "field": _on_field,
    "del": _on_delete,
    "delok": _on_delete_confirmed,
    "keep": _on_keep,
}


# --- /logs ----------------------------------------------------------------------------------------


async def logs_command(update: Update, ctx: TandemContext) -> None:
    """/logs: each match's recent meetings and its total time against the expected."""
    async with ctx.db.session() as session:
        person = await _participant(session, update, ctx)
        if isinstance(person, Reply):
            reply = person
        else:
            matches = await open_matches(session, person.id or 0)
            messages = [await overview(session, ctx, person, match) for match in matches]
            reply = Reply(messages=messages) if messages else Reply(notice=_no_match(ctx.tr))
    await checkin.deliver(update, ctx, reply)


def expected_minutes(program: Program | None, match: Match, today: date, zone: tzinfo) -> int:
    """The contact a program expects by `today`: its weekly minutes
    (`settings["expected_minutes_per_week"]`, default 60) for every week begun since the
    match started, up to the program's length."""
    per_week = expected_minutes_per_week(program.settings if program else None)
    started = match.started_at.astimezone(zone).date()
    weeks = max(0, (today - started).days) // 7 + 1
    if program is not None:
        weeks = min(weeks, program.weeks)
    return round(per_week * weeks)


async def overview(
    session: AsyncSession, ctx: TandemContext, person: Person, match: Match
) -> OutgoingMessage:
    """One match's recent meetings, newest first, who logged each, the total time, and
    Edit / Delete buttons on the person's own logs that can still change."""
    tr, now = ctx.tr, ctx.now()
    assert match.id is not None and person.id is not None
    program = await session.get(Program, match.program_id)
    instrument = meeting_instrument(program_topics(program))
    partner = await partner_name(session, tr, match, person.id)
    meetings = await recent_meetings(session, match.id, RECENT)
    count, minutes = await meeting_totals(session, match.id)
    lines = ["<b>" + tr.gettext("Meetings with {name}", name=partner) + "</b>", ""]
    rows: list[list[Button]] = []
    for index, (meeting, author) in enumerate(meetings, start=1):
        lines.append(_overview_line(tr, instrument, index, meeting, author, person))
        if _refusal(tr, meeting, person, now) is None:
            rows.append(
                [
                    (tr.gettext("✏️ Edit {n}", n=index), _log_data("edit", meeting.id or 0)),
                    (tr.gettext("🗑️ Delete {n}", n=index), _log_data("del", meeting.id or 0)),
                ]
            )
    if not meetings:
        lines.append(escape(tr.gettext("No meetings logged yet. Send /log to log one.")))
    elif count > len(meetings):
        earlier = count - len(meetings)
        lines.append(
            tr.ngettext("…and {n} earlier meeting.", "…and {n} earlier meetings.", earlier)
        )
    zone = checkin.zone_of(person, program)
    expected = expected_minutes(program, match, now.astimezone(zone).date(), zone)
    total = tr.gettext(
        "Total: {done} of {expected} expected so far.",
        done=duration_text(tr, minutes),
        expected=duration_text(tr, expected),
    )
    lines += ["", total]
    return OutgoingMessage("\n".join(lines), keyboard(rows) if rows else None)


def _overview_line(
    tr: Translator,
    instrument: Instrument,
    index: int,
    meeting: MeetingLog,
    author: str | None,
    person: Person,
) -> str:
    parts = [
        tr.date(meeting.met_on, "medium"),
        duration_text(tr, meeting.minutes),
        mode_label(tr, instrument, meeting.mode),
    ]
    if meeting.topics:
        topics = ", ".join(topic_label(tr, item) for item in meeting.topics)
        parts.append(topics if len(topics) <= TOPICS_SHOWN else topics[: TOPICS_SHOWN - 1] + "…")
    if meeting.author_id == person.id:
        who = tr.gettext("logged by you")
    else:
        who = tr.gettext("logged by {name}", name=author or "?")
    return f"{index}. {escape(' · '.join(parts))} — <i>{who}</i>"


def handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    """Register before the check-ins and onboarding (whose catch-all would take these).
    Typed answers come through onboarding's catch-all, which calls `take_text`."""
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("log", log_command, private),
        CommandHandler("logs", logs_command, private),
        CallbackQueryHandler(on_draft_tap, pattern=rf"^{PREFIX}:"),
        CallbackQueryHandler(on_log_tap, pattern=rf"^{LOG_PREFIX}:"),
    ]
