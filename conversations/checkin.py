"""Weekly check-ins: answering them by taps (and a typed note), reminders, snooze, edits
from the summary, and /checkin, /skip, /pause and /resume.

The dispatcher (bot/dispatch.py) creates the `Prompt` rows and sends the first message with
`render_prompt`; everything after that happens here. Where a participant is comes from
what is stored: their open prompt (sent, its period not closed) and its first unanswered
question. Each answer is written in the transaction that reads the prompt, and messages go
out after it commits. `user_data` only caches which message asked what (to tidy it up
once answered) and what a typed message answers while an answer is being changed or a
pause date is awaited; losing it costs a re-tap, never an answer.

Callback data: ``ci:<prompt id>:<question key>:<option>`` for answers (see
conversations/engine.py) and ``ci:<prompt id>:_<control>:<argument>`` for the controls
below; ``pause:<choice>`` for /pause's buttons.
"""

from __future__ import annotations

import calendar
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from babel.dates import format_skeleton
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import CallbackQuery, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from conversations import alerts, engine
from conversations.goals import instrument_with_goals
from conversations.instruments import (
    Instrument,
    InstrumentError,
    Question,
    instrument_key_for,
    load_instrument,
)
from conversations.kit.buttons import Button, keyboard
from conversations.kit.cancel import cancellable
from conversations.kit.context import TandemContext
from conversations.kit.meeting_parse import MONTHS
from conversations.kit.profile import Invalid, program_slot, slot_text
from conversations.kit.reply import Answering, Asked, OutgoingMessage, Reply, say
from conversations.kit.unusable import describe_unusable
from locales.translator import N_, Html, Translator, escape, translator
from storage.meetings import meetings_between
from storage.models import (
    Answer,
    Match,
    MatchStatus,
    Person,
    PersonStatus,
    Program,
    Prompt,
    PromptKind,
    PromptStatus,
    Role,
)
from storage.people import person_by_telegram_id
from storage.programs import zone_or_none
from storage.prompts import schedule_changed
from storage.schedule import (
    WEEK,
    Occurrence,
    Slot,
    current_occurrence,
    fold,
    occurrences,
    reminder_delay,
)

SNOOZE, RESUME, EDIT, SUMMARY, SKIP = "_snooze", "_resume", "_edit", "_summary", "_skip"
SKIP_REASON = "skip_reason"  # Answer.question_key of /skip's reason
SKIP_REASONS: tuple[tuple[str, str], ...] = (
    ("busy", N_("Too busy")),
    ("holiday", N_("On holiday")),
    ("sick", N_("Sick")),
    ("other", N_("Another reason")),
)
PAUSE_PREFIX = "pause"
PAUSE_CHOICES: tuple[tuple[str, str], ...] = (
    ("1w", N_("1 week")),
    ("2w", N_("2 weeks")),
    ("1m", N_("1 month")),
)
MAX_PAUSE = timedelta(days=183)
SNOOZE_HOURS = 3
OPEN = (PromptStatus.SENDING, PromptStatus.SENT)
"""A prompt that is being answered: taps and typed answers count."""
STARTABLE = (
    PromptStatus.PENDING,
    PromptStatus.SENDING,
    PromptStatus.SENT,
    PromptStatus.SKIPPED,
    PromptStatus.MISSED,
    PromptStatus.EXPIRED,
    PromptStatus.FAILED,
)
"""What /checkin may (re)open while the period is still open: the person asked for it."""
ASKED = "checkin_asked"  # user_data: {"prompt", "question", "message", "at"}
AWAITING_DATE = "checkin_pause_at"  # user_data: when /pause asked for a typed date
cancellable(AWAITING_DATE)
TYPED_EDIT_WINDOW = timedelta(hours=1)  # a typed answer still changes an answer this long
PAUSE_DATE_WINDOW = timedelta(minutes=10)  # a typed date still answers /pause this long
DEFAULT_ZONE = "America/Toronto"

log = logging.getLogger(__name__)


# --- periods and local time -----------------------------------------------------------------


def zone_of(person: Person, program: Program | None) -> ZoneInfo:
    """The person's time zone, else their program's."""
    return (
        zone_or_none(person.timezone)
        or zone_or_none(program.timezone if program else None)
        or ZoneInfo(DEFAULT_ZONE)
    )


def slot_of(person: Person, program: Program | None) -> Slot:
    """The person's weekly slot, each part falling back to the program's (as the
    dispatcher schedules it)."""
    weekday, moment = program_slot(program)
    return Slot(
        weekday=weekday if person.checkin_weekday is None else person.checkin_weekday,
        at=moment if person.checkin_time is None else person.checkin_time,
        zone=zone_of(person, program),
    )


def period_monday(period: str) -> date | None:
    """The Monday of an ISO week key like "2026-W47"."""
    found = re.fullmatch(r"(\d{4})-W(\d{2})", period)
    if found is None:
        return None
    try:
        return date.fromisocalendar(int(found[1]), int(found[2]), 1)
    except ValueError:
        return None


def this_weeks_occurrence(slot: Slot, now: datetime, starts_at: datetime) -> Occurrence:
    """The check-in /checkin and /skip act on: the one whose period is open now — or,
    when that one began before the match did, the coming one (answered ahead of time,
    the dispatcher then has nothing left to send for it)."""
    current = current_occurrence(slot, now)
    if current.due_at >= starts_at:
        return current
    return occurrences(slot, now, now + WEEK + timedelta(days=1))[0]


def week_label(tr: Translator, prompt: Prompt) -> str:
    """The Monday of the prompt's week as people write it: November 16, 16 novembre."""
    monday = period_monday(prompt.period) or prompt.due_at.date()
    return format_skeleton("MMMMd", monday, locale=tr.locale)


# --- stored rows ------------------------------------------------------------------------------


def _insert(session: AsyncSession) -> Callable[..., Any]:
    """The dialect's INSERT, which knows ON CONFLICT (SQLite and PostgreSQL alike)."""
    bind = session.bind
    assert bind is not None
    return postgresql.insert if bind.dialect.name == "postgresql" else sqlite.insert


async def stored_answers(session: AsyncSession, prompt_id: int) -> dict[str, str]:
    rows = await session.exec(
        select(Answer.question_key, Answer.value).where(Answer.prompt_id == prompt_id)
    )
    return dict(rows.all())


async def store_answer(
    session: AsyncSession, prompt_id: int, key: str, value: str, now: datetime
) -> None:
    """Insert or replace one answer: one row per (prompt, question), even when two taps
    race."""
    statement = _insert(session)(Answer).values(
        prompt_id=prompt_id, question_key=key, value=value, answered_at=now
    )
    statement = statement.on_conflict_do_update(
        index_elements=["prompt_id", "question_key"],
        set_={"value": value, "answered_at": now},
    )
    await session.exec(statement)


async def drop_answers(session: AsyncSession, prompt_id: int, keys: Sequence[str]) -> None:
    if keys:
        await session.exec(
            sa.delete(Answer).where(
                col(Answer.prompt_id) == prompt_id, col(Answer.question_key).in_(keys)
            )
        )


async def _locked_prompt(session: AsyncSession, prompt_id: int) -> Prompt | None:
    """The prompt, locked for this transaction on PostgreSQL (two taps, two instances)."""
    statement = select(Prompt).where(Prompt.id == prompt_id).with_for_update()
    return (await session.exec(statement)).first()


async def open_prompt(session: AsyncSession, person_id: int, now: datetime) -> Prompt | None:
    """The check-in this person is answering: sent, its period still open; the oldest
    first when a mentor has several matches."""
    statement = (
        select(Prompt)
        .where(
            Prompt.person_id == person_id,
            Prompt.kind == PromptKind.CHECKIN,
            col(Prompt.status).in_(OPEN),
            Prompt.closes_at > now,
        )
        .order_by(col(Prompt.due_at), col(Prompt.id))
    )
    return (await session.exec(statement)).first()


async def active_matches(session: AsyncSession, person_id: int) -> list[Match]:
    statement = (
        select(Match)
        .where(
            Match.status == MatchStatus.ACTIVE,
            (col(Match.mentor_id) == person_id) | (col(Match.mentee_id) == person_id),
        )
        .order_by(col(Match.id))
    )
    return list((await session.exec(statement)).all())


def role_in(match: Match, person_id: int) -> str:
    return Role.MENTOR if match.mentor_id == person_id else Role.MENTEE


async def week_prompt(
    session: AsyncSession, person: Person, match: Match, now: datetime, *, status: str
) -> Prompt:
    """This week's check-in for one match (see `this_weeks_occurrence`), created with
    `status` when the dispatcher has not made it yet — with the period, times and
    instrument the dispatcher would give it. The unique key (person, match, kind, period)
    makes a concurrent creation harmless: whoever comes second finds the first one's row."""
    assert person.id is not None and match.id is not None
    program = await session.get(Program, match.program_id)
    occurrence = this_weeks_occurrence(slot_of(person, program), now, match.started_at)
    delay = reminder_delay((program.settings if program else None) or {})
    role = role_in(match, person.id)
    values = {
        "person_id": person.id,
        "match_id": match.id,
        "kind": PromptKind.CHECKIN,
        "period": occurrence.period,
        "instrument": instrument_key_for(program, role, occurrence.pulse),
        "due_at": occurrence.due_at,
        "closes_at": occurrence.closes_at,
        "status": status,
        "attempts": 0,
        "sent_at": now if status == PromptStatus.SENT else None,
        "remind_at": None if delay is None else max(now, occurrence.due_at) + delay,
    }
    statement = _insert(session)(Prompt).values(**values).on_conflict_do_nothing()
    await session.exec(statement)
    found = await session.exec(
        select(Prompt)
        .where(
            Prompt.person_id == person.id,
            Prompt.match_id == match.id,
            Prompt.kind == PromptKind.CHECKIN,
            Prompt.period == occurrence.period,
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return found.one()


async def _instrument(session: AsyncSession, prompt: Prompt) -> Instrument | None:
    """The prompt's questions: its instrument file, with a mentee's open goals asked by
    name (conversations/goals.py); None when the file is gone."""
    try:
        instrument = load_instrument(prompt.instrument)
    except InstrumentError:
        return None
    return await instrument_with_goals(session, prompt, instrument)


# --- what the participant reads ---------------------------------------------------------------


async def _partner_name(session: AsyncSession, prompt: Prompt) -> str | None:
    """The match partner's name, when the person has several matches to tell apart (one
    query: the dispatcher renders thousands of these in a row)."""
    person_id = prompt.person_id
    partner = sa.case(
        (col(Match.mentor_id) == person_id, col(Match.mentee_id)), else_=col(Match.mentor_id)
    )
    statement = (
        select(Match.id, Person.name)
        .join(Person, col(Person.id) == partner)
        .where(
            Match.status == MatchStatus.ACTIVE,
            (col(Match.mentor_id) == person_id) | (col(Match.mentee_id) == person_id),
        )
    )
    names = dict((await session.exec(statement)).all())
    return names.get(prompt.match_id) if len(names) > 1 else None


def _heading(tr: Translator, prompt: Prompt, instrument: Instrument) -> str:
    title = tr.gettext(
        "{title} · week of {week}", title=tr.gettext(instrument.title), week=week_label(tr, prompt)
    )
    return f"<b>{title}</b>"


async def _header(
    session: AsyncSession, tr: Translator, prompt: Prompt, person: Person, instrument: Instrument
) -> str:
    """The top of a check-in's first message: which week, hello, and the intro."""
    lines = [_heading(tr, prompt, instrument)]
    hello = tr.gettext("Hi {name}!", name=person.name) if person.name else tr.gettext("Hi!")
    if prompt.kind == PromptKind.REFLECTION:
        lines.append(hello + " " + tr.gettext("A moment to look back, in your own words."))
    else:
        lines.append(hello + " " + tr.gettext("A few taps, under a minute."))
    partner = await _partner_name(session, prompt)
    if partner:
        lines.append(tr.gettext("This one is about your match with {name}.", name=partner))
    if instrument.intro:
        lines.append(escape(tr.gettext(instrument.intro)))
    return "\n".join(lines)


def _snooze_row(tr: Translator, prompt_id: int) -> list[Button]:
    return [
        (tr.gettext("⏰ In 3 hours"), engine.callback(prompt_id, SNOOZE, "3h")),
        (tr.gettext("⏰ Tomorrow"), engine.callback(prompt_id, SNOOZE, "tomorrow")),
    ]


def _question_message(
    tr: Translator,
    prompt_id: int,
    question: Question,
    *,
    header: str | None = None,
    before: str | None = None,
    selection: frozenset[str] = frozenset(),
    extra_rows: Sequence[Sequence[Button]] = (),
) -> OutgoingMessage:
    rendered = engine.render_question(tr, question, prompt_id, selection)
    parts = [part for part in (header, before, rendered.text) if part]
    rows = [*rendered.rows, *(list(row) for row in extra_rows)]
    return OutgoingMessage("\n\n".join(parts), keyboard(rows) if rows else None)


def _summary(
    tr: Translator, prompt: Prompt, instrument: Instrument, answers: dict[str, str], title: str
) -> OutgoingMessage:
    """The answers as they stand, with "Edit an answer" while the week is open."""
    kept = engine.relevant_answers(instrument, answers)
    lines = [_heading(tr, prompt, instrument), f"<b>{escape(title)}</b>", ""]
    for question in engine.applicable(instrument, kept):
        if question.key in kept:
            value = engine.display_value(tr, question, kept[question.key])
            bold = Html(f"<b>{value}</b>")
            lines.append(
                tr.gettext("• {label}: {value}", label=tr.gettext(question.label), value=bold)
            )
    lines += ["", tr.gettext("You can change an answer until your next check-in.")]
    edit = [[(tr.gettext("✏️ Edit an answer"), engine.callback(prompt.id or 0, EDIT))]]
    return OutgoingMessage("\n".join(lines), keyboard(edit))


def _edit_picker(
    tr: Translator, prompt: Prompt, instrument: Instrument, answers: dict[str, str]
) -> OutgoingMessage:
    summary = _summary(
        tr, prompt, instrument, answers, tr.gettext("Which answer do you want to change?")
    )
    buttons: list[Button] = [
        (tr.gettext(question.label), engine.callback(prompt.id or 0, EDIT, question.key))
        for question in engine.applicable(instrument, answers)
    ]
    rows = [buttons[index : index + 2] for index in range(0, len(buttons), 2)]
    rows.append([(tr.gettext("← Back"), engine.callback(prompt.id or 0, SUMMARY))])
    return OutgoingMessage(summary.text, keyboard(rows))


async def render_prompt(session: AsyncSession, prompt: Prompt, person: Person) -> OutgoingMessage:
    """The check-in's first message, in the person's language: the week, a hello, the
    first question still to answer with its buttons, and "remind me later"."""
    tr = translator(person.locale)
    instrument = await _instrument(session, prompt)
    assert prompt.id is not None and instrument is not None
    # Nobody answers a check-in never sent: spare the dispatcher one query per prompt.
    answers = await stored_answers(session, prompt.id) if prompt.sent_at else {}
    header = await _header(session, tr, prompt, person, instrument)
    noted = await _contact_from_logs(session, tr, prompt, person, instrument, answers)
    question = engine.next_question(instrument, answers)
    if question is None:
        return _summary(
            tr, prompt, instrument, answers, tr.gettext("Thank you! Your check-in is saved.")
        )
    return _question_message(
        tr,
        prompt.id,
        question,
        header=header,
        before=noted,
        extra_rows=[_snooze_row(tr, prompt.id)],
    )


CONTACT = "contact"
CONTACT_BY_MODE = {
    "in_person": "in_person",
    "video": "call",
    "phone": "call",
    "messages": "messages",
}
"""A logged meeting's mode as the weekly check-ins' contact answer, richest contact first."""


async def _contact_from_logs(
    session: AsyncSession,
    tr: Translator,
    prompt: Prompt,
    person: Person,
    instrument: Instrument,
    answers: dict[str, str],
) -> str | None:
    """Do not ask what the data already says: when the check-in is about to ask whether
    the pair were in touch and either of them logged a meeting in the week it covers (the
    7 days up to its due date), store the answer from the log (the richest contact of the
    week) and return the line that says so; `answers` gets it too."""
    question = engine.next_question(instrument, answers)
    if question is None or question.key != CONTACT or prompt.id is None:
        return None
    due = prompt.due_at.astimezone(zone_of(person, None)).date()
    logged = await meetings_between(session, prompt.match_id, due - timedelta(days=7), due)
    usable = [m for m in logged if CONTACT_BY_MODE.get(m.mode) in (question.values or ())]
    if not usable:
        return None
    ranks = list(CONTACT_BY_MODE.values())
    meeting = min(usable, key=lambda m: ranks.index(CONTACT_BY_MODE[m.mode]))  # newest on ties
    value = CONTACT_BY_MODE[meeting.mode]
    await store_answer(session, prompt.id, CONTACT, value, max(prompt.due_at, meeting.created_at))
    answers[CONTACT] = value
    day = tr.date(meeting.met_on, "full")
    match = await session.get(Match, prompt.match_id)
    if meeting.author_id == person.id or match is None:
        return tr.gettext("You logged a meeting on {date}: I noted the contact.", date=day)
    if role_in(match, person.id or 0) == Role.MENTEE:
        return tr.gettext("Your mentor logged a meeting on {date}: I noted the contact.", date=day)
    return tr.gettext("Your mentee logged a meeting on {date}: I noted the contact.", date=day)


async def render_reminder(session: AsyncSession, prompt: Prompt, person: Person) -> OutgoingMessage:
    """A gentle nudge with one button that shows the question to answer next."""
    tr = translator(person.locale)
    assert prompt.id is not None
    started = bool(await stored_answers(session, prompt.id))
    lines = [
        tr.gettext(
            "Just a gentle reminder: your check-in for the week of {week} is still waiting. "
            "It takes less than a minute.",
            week=week_label(tr, prompt),
        )
    ]
    if prompt.kind == PromptKind.REFLECTION:
        lines = [tr.gettext("Just a gentle reminder: your reflection is still waiting for you.")]
    if started:
        lines.append(tr.gettext("You're partway through: I'll pick up where you left off."))
    label = tr.gettext("Continue") if started else tr.gettext("Answer now")
    markup = keyboard([[(label, engine.callback(prompt.id, RESUME))]])
    return OutgoingMessage("\n\n".join(lines), markup)


async def _current_question(
    session: AsyncSession, ctx: TandemContext, person: Person, *, before: str | None = None
) -> Reply:
    """The question the person's open check-in is waiting for, asked again (nothing when
    there is none)."""
    assert person.id is not None
    prompt = await open_prompt(session, person.id, ctx.now())
    instrument = await _instrument(session, prompt) if prompt else None
    if prompt is None or instrument is None or prompt.id is None:
        return Reply()
    answers = await stored_answers(session, prompt.id)
    noted = await _contact_from_logs(session, ctx.tr, prompt, person, instrument, answers)
    question = engine.next_question(instrument, answers)
    if question is None:
        return Reply()
    before = "\n\n".join(line for line in (before, noted) if line) or None
    message = _question_message(ctx.tr, prompt.id, question, before=before)
    return Reply(messages=[message], asked=Asked(prompt.id, question.key))


# --- answering ------------------------------------------------------------------------------


async def _store(answering: Answering, value: str, message_id: int | None) -> Reply:
    """Write one answer (dropping answers a changed answer made irrelevant), show it in
    the message that asked (`message_id`), then ask the next question or, at the end,
    mark the check-in answered and show the summary."""
    session, prompt = answering.session, answering.prompt
    instrument, question = answering.instrument, answering.question
    tr, now = answering.ctx.tr, answering.ctx.now()
    assert prompt.id is not None
    await store_answer(session, prompt.id, question.key, value, now)
    answers = {**answering.answers, question.key: value}
    kept = engine.relevant_answers(instrument, answers)
    irrelevant = [q.key for q in instrument.questions if q.key in answers and q.key not in kept]
    await drop_answers(session, prompt.id, irrelevant)
    answered = engine.render_answered(tr, question, value)
    if message_id is not None and message_id == prompt.telegram_message_id:
        header = await _header(session, tr, prompt, answering.person, instrument)
        answered = header + "\n\n" + answered
    reply = Reply(edit=OutgoingMessage(answered, None), edit_message_id=message_id)
    following = engine.next_question(instrument, kept)
    if following is not None:
        reply.messages.append(_question_message(tr, prompt.id, following))
        reply.asked = Asked(prompt.id, following.key)
        return reply
    reply.evaluate_match = prompt.match_id
    if prompt.status == PromptStatus.ANSWERED:
        title = tr.gettext("Saved. Here is your check-in now:")
    else:
        prompt.status, prompt.answered_at = PromptStatus.ANSWERED, now
        session.add(prompt)
        title = tr.gettext("Thank you! Your check-in is saved.")
        if prompt.kind == PromptKind.REFLECTION:
            title = tr.gettext("Thank you! Your reflection is saved.")
    reply.messages.append(_summary(tr, prompt, instrument, kept, title))
    return reply


# --- taps -------------------------------------------------------------------------------------


@dataclass
class TapContext:
    """One tap on a check-in button, read inside the transaction that handles it."""

    session: AsyncSession
    ctx: TandemContext
    person: Person
    prompt: Prompt
    tap: engine.Tap
    message_id: int | None

    @property
    def tr(self) -> Translator:
        return self.ctx.tr

    @property
    def is_open(self) -> bool:
        return self.prompt.closes_at > self.ctx.now()

    async def stale(self, notice: str) -> Reply:
        """Refuse the tap with `notice` and ask the current question again, if any."""
        reply = await _current_question(self.session, self.ctx, self.person)
        reply.notice = notice
        return reply


async def on_tap(update: Update, ctx: TandemContext) -> None:
    """Every `ci:` button: one transaction reads the prompt, checks the tap belongs to its
    person, and stores the answer; the chat is updated after it commits."""
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    tap = engine.parse_callback(query.data)
    message_id = query.message.message_id if query.message else None
    async with ctx.db.session() as session:
        person = await person_by_telegram_id(session, update.effective_user.id)
        prompt = await _locked_prompt(session, tap.prompt_id) if tap and person else None
        if tap is None or person is None:
            reply = Reply(notice=_stale_button(ctx.tr))
        elif prompt is None:
            reply = await _current_question(session, ctx, person)
            reply.notice = _stale_button(ctx.tr)
        elif prompt.person_id != person.id:
            reply = Reply(
                notice=ctx.tr.gettext("This button isn't for you, so nothing was changed.")
            )
        else:
            state = TapContext(session, ctx, person, prompt, tap, message_id)
            reply = await CONTROLS.get(tap.key, _on_answer)(state)
    await deliver(update, ctx, reply)


def _stale_button(tr: Translator) -> str:
    return tr.gettext("That button belongs to an earlier question, so it no longer works.")


def _closed(tr: Translator) -> str:
    return tr.gettext("This check-in is closed now, so it can no longer be changed.")


async def _on_answer(state: TapContext) -> Reply:
    """A tapped answer: stored if it answers the question the check-in is at (or, once
    the check-in is complete and the week still open, any question: an edit)."""
    prompt, tr = state.prompt, state.tr
    instrument = await _instrument(state.session, prompt)
    question = instrument.question(state.tap.key) if instrument else None
    if instrument is None or question is None:
        return await state.stale(_stale_button(tr))
    if not state.is_open or prompt.status not in (*OPEN, PromptStatus.ANSWERED):
        return await state.stale(_refusal(tr, prompt))
    answers = await stored_answers(state.session, prompt.id or 0)
    if not _may_answer(instrument, answers, question, prompt):
        if question.key in answers:
            return await state.stale(tr.gettext("You've already answered that question."))
        return await state.stale(_stale_button(tr))
    try:
        result = engine.read_tap(tr, question, state.tap.option)
    except Invalid as invalid:
        return Reply(notice=str(invalid))
    if isinstance(result, engine.Toggle):
        return Reply(edit=await _asking(state, question, result.selection))
    answering = Answering(
        state.session, state.ctx, state.person, prompt, instrument, question, answers
    )
    return await _store(answering, result, state.message_id)


def _may_answer(
    instrument: Instrument, answers: dict[str, str], question: Question, prompt: Prompt
) -> bool:
    if prompt.status == PromptStatus.ANSWERED:
        return engine.applies(question, engine.relevant_answers(instrument, answers))
    return engine.next_question(instrument, answers) == question


def _refusal(tr: Translator, prompt: Prompt) -> str:
    if prompt.status == PromptStatus.SKIPPED:
        return tr.gettext(
            "You skipped this check-in. Send /checkin if you'd like to answer it after all."
        )
    return _closed(tr)


async def _asking(
    state: TapContext, question: Question, selection: frozenset[str]
) -> OutgoingMessage:
    """The tapped message asking `question` again (a new multiple-choice selection),
    keeping the check-in's header and snooze buttons when it is the first message."""
    prompt = state.prompt
    assert prompt.id is not None
    if state.message_id is not None and state.message_id == prompt.telegram_message_id:
        instrument = await _instrument(state.session, prompt)
        assert instrument is not None
        header = await _header(state.session, state.tr, prompt, state.person, instrument)
        snooze = _snooze_row(state.tr, prompt.id)
        return _question_message(
            state.tr, prompt.id, question, header=header, selection=selection, extra_rows=[snooze]
        )
    return _question_message(state.tr, prompt.id, question, selection=selection)


async def _on_snooze(state: TapContext) -> Reply:
    """Remind me later: in 3 hours, or tomorrow at the same local time."""
    prompt, tr, now = state.prompt, state.tr, state.ctx.now()
    if prompt.status not in OPEN or not state.is_open:
        return Reply(notice=_done_or_closed(tr, prompt))
    if state.tap.option == "3h":
        remind_at = now + timedelta(hours=SNOOZE_HOURS)
        notice = tr.gettext("Okay, I'll remind you in 3 hours.")
    elif state.tap.option == "tomorrow":
        program = await _program_of(state.session, prompt)
        zone = zone_of(state.person, program)
        local = now.astimezone(zone)
        tomorrow = datetime.combine(local.date() + timedelta(days=1), local.time(), zone)
        remind_at = tomorrow.astimezone(UTC)
        notice = tr.gettext("Okay, I'll remind you at {time} tomorrow.", time=tr.time(local))
    else:
        return Reply(notice=_stale_button(tr))
    if remind_at >= prompt.closes_at:
        return Reply(
            notice=tr.gettext(
                "This check-in closes before then. Answer it now, or send /skip to skip this week."
            )
        )
    prompt.remind_at, prompt.reminded_at = remind_at, None
    state.session.add(prompt)
    return Reply(notice=notice)


def _done_or_closed(tr: Translator, prompt: Prompt) -> str:
    if prompt.status == PromptStatus.ANSWERED:
        return tr.gettext("You've already answered this check-in. Thank you!")
    return _refusal(tr, prompt)


async def _program_of(session: AsyncSession, prompt: Prompt) -> Program | None:
    match = await session.get(Match, prompt.match_id)
    return await session.get(Program, match.program_id) if match else None


async def _on_resume(state: TapContext) -> Reply:
    """The reminder's button: the question the check-in is waiting for."""
    prompt, tr = state.prompt, state.tr
    instrument = await _instrument(state.session, prompt)
    if prompt.status not in OPEN or not state.is_open or instrument is None:
        return Reply(notice=_done_or_closed(tr, prompt))
    answers = await stored_answers(state.session, prompt.id or 0)
    noted = await _contact_from_logs(state.session, tr, prompt, state.person, instrument, answers)
    question = engine.next_question(instrument, answers)
    if question is None:
        return Reply(notice=_done_or_closed(tr, prompt))
    before = "\n\n".join(
        line for line in (tr.gettext("Let's pick up where you left off."), noted) if line
    )
    message = _question_message(tr, prompt.id or 0, question, before=before)
    return Reply(messages=[message], asked=Asked(prompt.id or 0, question.key), drop_buttons=True)


async def _answered_and_open(state: TapContext) -> tuple[Instrument, dict[str, str]] | Reply:
    """For the summary's buttons: the instrument and answers, or why they cannot change."""
    prompt, tr = state.prompt, state.tr
    instrument = await _instrument(state.session, prompt)
    if prompt.status != PromptStatus.ANSWERED or instrument is None:
        return await state.stale(_stale_button(tr))
    if not state.is_open:
        return Reply(notice=_closed(tr))
    return instrument, await stored_answers(state.session, prompt.id or 0)


async def _on_edit(state: TapContext) -> Reply:
    """Edit an answer: pick a question (the summary's buttons change), then that
    question is asked again with its current answer."""
    found = await _answered_and_open(state)
    if isinstance(found, Reply):
        return found
    instrument, answers = found
    tr, prompt = state.tr, state.prompt
    assert prompt.id is not None
    if not state.tap.option:
        return Reply(edit=_edit_picker(tr, prompt, instrument, answers))
    question = instrument.question(state.tap.option)
    if question is None or question not in engine.applicable(instrument, answers):
        return Reply(notice=_stale_button(tr))
    title = tr.gettext("Which answer do you want to change?")
    picker = _summary(tr, prompt, instrument, answers, title)
    current = answers.get(question.key)
    before = None
    if current is not None:
        shown = engine.display_value(tr, question, current)
        before = "<i>" + tr.gettext("Your answer was: {answer}", answer=shown) + "</i>"
    selection = frozenset(current.split(",")) if current and question.options else frozenset()
    message = _question_message(tr, prompt.id, question, before=before, selection=selection)
    return Reply(
        edit=OutgoingMessage(picker.text, None),
        messages=[message],
        asked=Asked(prompt.id, question.key),
    )


async def _on_summary(state: TapContext) -> Reply:
    """Back from the edit picker: the summary as it was."""
    found = await _answered_and_open(state)
    if isinstance(found, Reply):
        return found
    instrument, answers = found
    title = state.tr.gettext("Thank you! Your check-in is saved.")
    return Reply(edit=_summary(state.tr, state.prompt, instrument, answers, title))


async def _on_skip_reason(state: TapContext) -> Reply:
    """Why this week was skipped (optional): stored as the `skip_reason` answer."""
    prompt, tr = state.prompt, state.tr
    labels = dict(SKIP_REASONS)
    if prompt.status != PromptStatus.SKIPPED or state.tap.option not in labels:
        return Reply(notice=_stale_button(tr))
    await store_answer(
        state.session, prompt.id or 0, SKIP_REASON, state.tap.option, state.ctx.now()
    )
    text = (
        _skipped_text(tr)
        + "\n\n"
        + tr.gettext("Reason: {reason}", reason=tr.gettext(labels[state.tap.option]))
    )
    return Reply(notice=tr.gettext("Thanks for letting me know."), edit=OutgoingMessage(text, None))


CONTROLS: dict[str, Callable[[TapContext], Awaitable[Reply]]] = {
    SNOOZE: _on_snooze,
    RESUME: _on_resume,
    EDIT: _on_edit,
    SUMMARY: _on_summary,
    SKIP: _on_skip_reason,
}


# --- typed input ------------------------------------------------------------------------------


async def take_text(update: Update, ctx: TandemContext) -> bool:
    """Handle a message (text, sticker, photo, unknown command…) when a check-in is
    waiting for one: the typed answer to a number or text question, a date for /pause, or
    a clear reply and the question again. False when no check-in is waiting, so the
    caller can say it is not waiting for anything."""
    user, message = update.effective_user, update.effective_message
    if user is None or message is None:
        return False
    async with ctx.db.session() as session:
        person = await person_by_telegram_id(session, user.id)
        if person is None or person.id is None:
            return False
        if _awaiting_date(ctx):
            reply = await _typed_pause_date(session, ctx, update, person)
        else:
            reply = await _typed_answer(session, ctx, update, person)
    if reply is None:
        return False
    await deliver(update, ctx, reply)
    return True


async def _typed_answer(
    session: AsyncSession, ctx: TandemContext, update: Update, person: Person
) -> Reply | None:
    target = await _text_target(session, ctx, person)
    if target is None:
        return None
    prompt, question = target.prompt, target.question
    message = update.effective_message
    assert message is not None and prompt.id is not None
    text = message.text
    problem: str | None = None
    if text is None or text.startswith("/") or not question.kind.typed:
        problem = describe_unusable(ctx.tr, update, expects_text=question.kind.typed)
    else:
        try:
            value = engine.read_text(ctx.tr, question, text)
        except Invalid as invalid:
            problem = str(invalid)
    if problem is not None:
        again = _question_message(ctx.tr, prompt.id, question)
        return Reply(notice=problem, messages=[again], asked=Asked(prompt.id, question.key))
    return await _store(target, value, _asking_message(ctx, target))


async def _text_target(
    session: AsyncSession, ctx: TandemContext, person: Person
) -> Answering | None:
    """What a message answers: a typed question being changed from the summary (the
    cached `ASKED`, within the hour), else the first unanswered question of the open
    check-in, recomputed from the database."""
    asked = _recent_asked(ctx)
    if asked is not None:
        prompt = await _locked_prompt(session, asked.prompt_id)
        if (
            prompt is not None
            and prompt.person_id == person.id
            and prompt.status == PromptStatus.ANSWERED
            and prompt.closes_at > ctx.now()
        ):
            instrument = await _instrument(session, prompt)
            question = instrument.question(asked.question) if instrument else None
            answers = await stored_answers(session, prompt.id or 0)
            if (
                instrument
                and question
                and question.kind.typed
                and engine.applies(question, engine.relevant_answers(instrument, answers))
            ):
                return Answering(session, ctx, person, prompt, instrument, question, answers)
    assert person.id is not None
    prompt = await open_prompt(session, person.id, ctx.now())
    instrument = await _instrument(session, prompt) if prompt else None
    if prompt is None or instrument is None:
        return None
    prompt = await _locked_prompt(session, prompt.id or 0)
    assert prompt is not None
    answers = await stored_answers(session, prompt.id or 0)
    question = engine.next_question(instrument, answers)
    if question is None:
        return None
    return Answering(session, ctx, person, prompt, instrument, question, answers)


def _recent_asked(ctx: TandemContext) -> Asked | None:
    data = (ctx.user_data or {}).get(ASKED)
    if not isinstance(data, dict):
        return None
    if ctx.now().timestamp() - float(data.get("at", 0)) > TYPED_EDIT_WINDOW.total_seconds():
        return None
    return Asked(int(data.get("prompt", 0)), str(data.get("question", "")))


def _asking_message(ctx: TandemContext, answering: Answering) -> int | None:
    """The message that asked the question, to show the typed answer in it: the cached
    one, else the check-in's first message when this is its first question."""
    prompt, question = answering.prompt, answering.question
    data = (ctx.user_data or {}).get(ASKED)
    if isinstance(data, dict) and (data.get("prompt"), data.get("question")) == (
        prompt.id,
        question.key,
    ):
        return int(data["message"])
    if answering.instrument.questions[0] == question:
        return prompt.telegram_message_id
    return None


# --- /checkin -----------------------------------------------------------------------------------


async def participant_or(session: AsyncSession, update: Update, not_joined: str) -> Person | Reply:
    """The person behind a command or a tap, or the reply `not_joined` for someone not
    (yet) taking part."""
    assert update.effective_user is not None
    person = await person_by_telegram_id(session, update.effective_user.id)
    if person is None or person.id is None or person.status == PersonStatus.ONBOARDING:
        return Reply(notice=not_joined)
    return person


async def _participant(session: AsyncSession, update: Update, ctx: TandemContext) -> Person | Reply:
    return await participant_or(
        session,
        update,
        ctx.tr.gettext(
            "Check-ins start once you have joined a program. Send /start to continue "
            "joining, or open the invitation link your coordinator sent you."
        ),
    )


async def checkin_command(update: Update, ctx: TandemContext) -> None:
    """/checkin: answer now — continue the open check-in, start this week's if it is not
    due yet, or show this week's answers to change them."""
    async with ctx.db.session() as session:
        person = await _participant(session, update, ctx)
        reply = person if isinstance(person, Reply) else await _checkin_now(session, ctx, person)
    await deliver(update, ctx, reply)


async def _checkin_now(session: AsyncSession, ctx: TandemContext, person: Person) -> Reply:
    tr, now = ctx.tr, ctx.now()
    assert person.id is not None
    resumed = await _current_question(
        session, ctx, person, before=tr.gettext("Let's pick up where you left off.")
    )
    if resumed.messages:
        return resumed
    matches = await active_matches(session, person.id)
    if not matches:
        return Reply(notice=_no_match(tr))
    done: Prompt | None = None
    for match in matches:
        prompt = await week_prompt(session, person, match, now, status=PromptStatus.SENT)
        if prompt.status in STARTABLE and prompt.closes_at > now:
            return await _start(session, ctx, person, prompt)
        if prompt.status == PromptStatus.ANSWERED and done is None:
            done = prompt
    instrument = await _instrument(session, done) if done else None
    if done is None or instrument is None:
        return Reply(notice=tr.gettext("There's no check-in to answer right now."))
    answers = await stored_answers(session, done.id or 0)
    title = tr.gettext("You've already answered this week's check-in. Here is what you said:")
    return Reply(messages=[_summary(tr, done, instrument, answers, title)])


def _no_match(tr: Translator) -> str:
    return tr.gettext(
        "You don't have a match yet, so there's no check-in for now. Your coordinator will "
        "let you know when you're paired."
    )


async def _start(
    session: AsyncSession, ctx: TandemContext, person: Person, prompt: Prompt
) -> Reply:
    """Open a check-in now (one the dispatcher has not sent yet, or one that was
    skipped) and ask its first unanswered question under the week's header."""
    now = ctx.now()
    assert prompt.id is not None
    if prompt.status == PromptStatus.SKIPPED:
        await drop_answers(session, prompt.id, [SKIP_REASON])
    if prompt.status != PromptStatus.SENT:
        prompt.status, prompt.sent_at = PromptStatus.SENT, prompt.sent_at or now
        session.add(prompt)
    message = await render_prompt(session, prompt, person)
    instrument = await _instrument(session, prompt)
    assert instrument is not None
    question = engine.next_question(instrument, await stored_answers(session, prompt.id))
    return Reply(
        messages=[message],
        asked=Asked(prompt.id, question.key) if question else None,
        record_first_message_of=prompt.id,
    )


# --- /skip ------------------------------------------------------------------------------------


def _skipped_text(tr: Translator) -> str:
    return tr.gettext("Okay, this week's check-in is skipped. You'll hear from me next week.")


async def skip_command(update: Update, ctx: TandemContext) -> None:
    """/skip: skip this week's check-in (not yet answered), then an optional reason."""
    async with ctx.db.session() as session:
        person = await _participant(session, update, ctx)
        reply = person if isinstance(person, Reply) else await _skip_week(session, ctx, person)
    await deliver(update, ctx, reply)


async def _skip_week(session: AsyncSession, ctx: TandemContext, person: Person) -> Reply:
    tr, now = ctx.tr, ctx.now()
    assert person.id is not None
    matches = await active_matches(session, person.id)
    if not matches:
        return Reply(notice=_no_match(tr))
    statuses = set()
    for match in matches:
        prompt = await week_prompt(session, person, match, now, status=PromptStatus.PENDING)
        statuses.add(prompt.status)
        if prompt.status in (PromptStatus.SKIPPED, PromptStatus.ANSWERED):
            continue
        prompt.status, prompt.remind_at = PromptStatus.SKIPPED, None
        session.add(prompt)
        reasons = [
            (tr.gettext(label), engine.callback(prompt.id or 0, SKIP, key))
            for key, label in SKIP_REASONS
        ]
        text = _skipped_text(tr) + "\n\n" + tr.gettext("If you like, tell me why:")
        return Reply(messages=[OutgoingMessage(text, keyboard([reasons[:2], reasons[2:]]))])
    if PromptStatus.ANSWERED in statuses:
        return Reply(
            notice=tr.gettext(
                "You've already answered this week's check-in, so there's nothing to skip. "
                "Send /checkin to change an answer."
            )
        )
    return Reply(notice=tr.gettext("This week's check-in is already skipped."))


# --- /pause and /resume -----------------------------------------------------------------------


async def pause_command(update: Update, ctx: TandemContext) -> None:
    """/pause [date]: pause check-ins until a date — from the buttons, or typed."""
    async with ctx.db.session() as session:
        person = await _participant(session, update, ctx)
        if isinstance(person, Reply):
            reply = person
        elif ctx.args:
            reply = await _pause_from_text(session, ctx, person, " ".join(ctx.args))
        else:
            reply = _pause_question(ctx, person)
    await deliver(update, ctx, reply)


def _pause_question(ctx: TandemContext, person: Person) -> Reply:
    tr = ctx.tr
    example = tr.date(_today(ctx, person) + timedelta(days=21), "long")
    text = "\n\n".join(
        [
            tr.gettext("Taking a break? Until when should I pause your check-ins?"),
            tr.gettext(
                "Tap one, or type the date you'd like to hear from me again, like {example}.",
                example=example,
            ),
        ]
    )
    buttons = [(tr.gettext(label), f"{PAUSE_PREFIX}:{key}") for key, label in PAUSE_CHOICES]
    return Reply(messages=[OutgoingMessage(text, keyboard([buttons]))], awaiting_date=True)


def _today(ctx: TandemContext, person: Person) -> date:
    return ctx.now().astimezone(zone_of(person, None)).date()


async def on_pause_choice(update: Update, ctx: TandemContext) -> None:
    query = update.callback_query
    assert query is not None
    choice = (query.data or "").removeprefix(f"{PAUSE_PREFIX}:")
    async with ctx.db.session() as session:
        person = await _participant(session, update, ctx)
        if isinstance(person, Reply):
            reply = person
        elif choice not in dict(PAUSE_CHOICES):
            reply = Reply(notice=_stale_button(ctx.tr))
        else:
            until = pause_end(_today(ctx, person), choice)
            reply = await _pause_until(session, ctx, person, until)
            reply.edit, reply.messages = reply.messages[0], []
    await deliver(update, ctx, reply)


def pause_end(today: date, choice: str) -> date:
    """The day check-ins resume: a week or two from today, or the same day next month
    (its last day, when next month is shorter)."""
    if choice in ("1w", "2w"):
        return today + timedelta(weeks=int(choice[0]))
    year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
    return date(year, month, min(today.day, calendar.monthrange(year, month)[1]))


async def _typed_pause_date(
    session: AsyncSession, ctx: TandemContext, update: Update, person: Person
) -> Reply | None:
    message = update.effective_message
    assert message is not None
    if message.text is not None and message.text.startswith("/"):
        return None
    if message.text is None:
        return Reply(notice=describe_unusable(ctx.tr, update, expects_text=True))
    return await _pause_from_text(session, ctx, person, message.text)


async def _pause_from_text(
    session: AsyncSession, ctx: TandemContext, person: Person, text: str
) -> Reply:
    tr = ctx.tr
    today = _today(ctx, person)
    day = parse_day(text[:40], today)
    if day is None:
        return Reply(
            notice=tr.gettext(
                "I couldn't read that date. Please type it like {example}, or tap one of "
                "the buttons.",
                example=tr.date(today + timedelta(days=21), "long"),
            ),
            awaiting_date=True,
        )
    if day <= today or day - today > MAX_PAUSE:
        return Reply(
            notice=tr.gettext(
                "Please choose a date after today and within the next six months. For a "
                "longer break, talk to your coordinator."
            ),
            awaiting_date=True,
        )
    return await _pause_until(session, ctx, person, day)


async def _pause_until(
    session: AsyncSession, ctx: TandemContext, person: Person, until: date
) -> Reply:
    """Pause: no check-ins until the morning of `until`, when the dispatcher makes the
    person active again. Check-ins not sent yet are withdrawn (and made again after the
    pause); one already sent stays answerable, gets no reminder, and if its period closes
    during the pause it expires instead of counting as missed."""
    assert person.id is not None
    person.status, person.paused_until = PersonStatus.PAUSED, until
    session.add(person)
    await session.exec(
        sa.delete(Prompt).where(
            col(Prompt.person_id) == person.id, col(Prompt.status) == PromptStatus.PENDING
        )
    )
    await schedule_changed(session)
    text = ctx.tr.gettext(
        "Okay, your check-ins are paused until {date}. I'll write to you again then. "
        "Send /resume to come back sooner.",
        date=ctx.tr.date(until, "long"),
    )
    return Reply(messages=[OutgoingMessage(text, None)], awaiting_date=False)


async def resume_command(update: Update, ctx: TandemContext) -> None:
    """/resume: check-ins back on."""
    tr = ctx.tr
    async with ctx.db.session() as session:
        person = await _participant(session, update, ctx)
        if isinstance(person, Reply):
            reply = person
        elif person.status != PersonStatus.PAUSED and person.paused_until is None:
            reply = Reply(notice=tr.gettext("Your check-ins aren't paused."))
        else:
            person.status, person.paused_until = PersonStatus.ACTIVE, None
            session.add(person)
            await schedule_changed(session)
            lines = [tr.gettext("Welcome back! Your check-ins are on again.")]
            if person.checkin_weekday is not None and person.checkin_time is not None:
                slot = slot_text(tr, person.checkin_weekday, person.checkin_time)
                lines.append(tr.gettext("Next check-in: {slot}", slot=slot))
            reply = Reply(notice="\n".join(lines), awaiting_date=False)
    await deliver(update, ctx, reply)


def _awaiting_date(ctx: TandemContext) -> bool:
    started = (ctx.user_data or {}).get(AWAITING_DATE)
    return isinstance(started, int | float) and (
        ctx.now().timestamp() - started <= PAUSE_DATE_WINDOW.total_seconds()
    )


_ISO_DAY = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_DAY_MONTH = re.compile(r"(?:le )?(\d{1,2})(?:er)? ([a-z]+)(?: (\d{4}))?")
_MONTH_DAY = re.compile(r"([a-z]+) (\d{1,2})(?:st|nd|rd|th)?(?: (\d{4}))?")


def parse_day(text: str, today: date) -> date | None:
    """'2027-01-05', '5 janvier', '1er mars 2027', 'January 5', 'Jan 5th, 2027' -> a date;
    without a year, the next such date after today. None when unclear."""
    plain = re.sub(r"\s+", " ", fold(text).replace(",", " ").replace(".", " ")).strip()
    if found := _ISO_DAY.fullmatch(plain):
        return _date(int(found[1]), int(found[2]), int(found[3]))
    for pattern, day_group, month_group in ((_DAY_MONTH, 1, 2), (_MONTH_DAY, 2, 1)):
        found = pattern.fullmatch(plain)
        if found and found[month_group] in MONTHS:
            day, month = int(found[day_group]), MONTHS[found[month_group]]
            if found[3]:
                return _date(int(found[3]), month, day)
            this_year = _date(today.year, month, day)
            if this_year is not None and this_year > today:
                return this_year
            return _date(today.year + 1, month, day)
    return None


def _date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


# --- sending ----------------------------------------------------------------------------------


async def deliver(update: Update, ctx: TandemContext, reply: Reply) -> list[Message | None]:
    """Send what a decision produced: the callback answer (or a notice), the edit of the
    message that asked, new messages; then cache what the last one asks. Returns the new
    messages (other dialogues that reuse this remember which message asked what)."""
    query = update.callback_query
    chat = update.effective_chat
    if query is not None:
        await query.answer(reply.notice)
    elif reply.notice:
        await say(update, reply.notice)
    target = reply.edit_message_id
    if query is not None and query.message is not None and target is None:
        target = query.message.message_id
    if reply.edit is not None and target is not None and chat is not None:
        await _edit(ctx, chat.id, target, reply.edit)
    elif reply.drop_buttons and query is not None:
        await _drop_buttons(query)
    sent = [await say(update, message.text, message.markup) for message in reply.messages]
    _remember(ctx, reply, sent[-1].message_id if sent and sent[-1] else None)
    if reply.record_first_message_of is not None and sent and sent[0] is not None:
        await _record_message(ctx, reply.record_first_message_of, sent[0].message_id)
    if reply.evaluate_match is not None:
        await alerts.after_answer(ctx, reply.evaluate_match)
    return sent


async def _drop_buttons(query: CallbackQuery) -> None:
    try:
        await query.edit_message_reply_markup(None)
    except BadRequest as error:
        log.info("could not remove the buttons of a check-in message: %s", error.message)


async def _edit(
    ctx: TandemContext, chat_id: int, message_id: int, message: OutgoingMessage
) -> None:
    try:
        await ctx.bot.edit_message_text(
            message.text,
            chat_id=chat_id,
            message_id=message_id,
            parse_mode=ParseMode.HTML,
            reply_markup=message.markup,
            disable_web_page_preview=True,
        )
    except BadRequest as error:
        # Unchanged, deleted or too old to edit: the answer is stored all the same.
        if "not modified" not in str(error).lower():
            log.info("could not edit a check-in message: %s", error.message)


def _remember(ctx: TandemContext, reply: Reply, last_message_id: int | None) -> None:
    data = ctx.user_data
    if data is None:
        return
    if reply.awaiting_date is True:
        data[AWAITING_DATE] = ctx.now().timestamp()
    elif reply.awaiting_date is False:
        data.pop(AWAITING_DATE, None)
    if reply.asked is not None and last_message_id is not None:
        data.pop(AWAITING_DATE, None)
        data[ASKED] = {
            "prompt": reply.asked.prompt_id,
            "question": reply.asked.question,
            "message": last_message_id,
            "at": ctx.now().timestamp(),
        }
    elif reply.messages:
        data.pop(ASKED, None)


async def _record_message(ctx: TandemContext, prompt_id: int, message_id: int) -> None:
    """A check-in started by /checkin: remember its first message like the dispatcher
    does, so answering it keeps its header."""
    async with ctx.db.session() as session:
        prompt = await session.get(Prompt, prompt_id)
        if prompt is not None and prompt.telegram_message_id is None:
            prompt.telegram_message_id = message_id
            session.add(prompt)


def handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    """Register before onboarding: its catch-all would take these otherwise. Typed
    answers come through onboarding's catch-all, which calls `take_text`."""
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("checkin", checkin_command, private),
        CommandHandler("skip", skip_command, private),
        CommandHandler("pause", pause_command, private),
        CommandHandler("resume", resume_command, private),
        CallbackQueryHandler(on_tap, pattern=rf"^{engine.PREFIX}:"),
        CallbackQueryHandler(on_pause_choice, pattern=rf"^{PAUSE_PREFIX}:"),
    ]
