"""Asking a prompt — a weekly check-in or a reflection — and storing its answers: the first
message (`render_prompt`, which the dispatcher sends), each question with its buttons,
storing an answer and asking the next one or showing the summary, and who may answer.
Check-ins (conversations/checkin/) and reflections (conversations/reflection.py) both ask
through here; callback data is ``ci:<prompt id>:<question key>:<option>`` for answers and
``ci:<prompt id>:_<control>:<argument>`` for the controls named below."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime
from functools import lru_cache

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Update

from conversations import engine
from conversations.instruments import (
    Instrument,
    InstrumentError,
    Kind,
    Question,
    load_instrument,
)
from conversations.kit import lifecycle
from conversations.kit.buttons import Button, Keyboard
from conversations.kit.context import TandemContext, known_person
from conversations.kit.goal_questions import instrument_with_goals
from conversations.kit.profile import Invalid
from conversations.kit.reply import (
    ASKED,
    Answering,
    Asked,
    OutgoingMessage,
    Reply,
    deliver,
)
from conversations.kit.text import clip
from conversations.kit.unusable import describe_unusable
from locales.translator import N_, Html, Translator, escape, translator
from storage.answers import (
    drop_answers,
    locked_prompt,
    role_in,
    store_answer,
    store_answers,
    stored_answers,
)
from storage.meetings import meetings_between
from storage.models import (
    Match,
    Person,
    PersonStatus,
    Prompt,
    PromptKind,
    PromptStatus,
    Role,
)
from storage.programs import zone_of
from storage.prompt_facts import MEETING_WEEK, PromptFacts, active_partners, load_facts
from storage.schedule import period_monday

SNOOZE, RESUME, EDIT, SUMMARY, SKIP = "_snooze", "_resume", "_edit", "summary_message", "_skip"
WEEKLY = (PromptKind.CHECKIN, PromptKind.REFLECTION)  # headed by their week
OPENINGS = {
    PromptKind.CHECKIN: N_("A few taps, under a minute."),
    PromptKind.REFLECTION: N_("A moment to look back, in your own words."),
    PromptKind.CLOSURE: N_("Your mentorship has come to an end: thank you for taking part."),
    PromptKind.FOLLOWUP: N_("A few taps, a few minutes."),
}
SAVED = {
    PromptKind.CHECKIN: N_("Thank you! Your check-in is saved."),
    PromptKind.REFLECTION: N_("Thank you! Your reflection is saved."),
}


def week_label(tr: Translator, prompt: Prompt) -> str:
    """The Monday of the prompt's week as people write it: November 16, 16 novembre."""
    return _monday_label(tr, period_monday(prompt.period) or prompt.due_at.date())


@lru_cache(maxsize=512)
def _monday_label(tr: Translator, monday: date) -> str:
    """Kept per language and week: a batch of thousands of check-ins shares a few weeks,
    and formatting a CLDR skeleton costs more than the rest of the heading."""
    return tr.day_month(monday, "MMMMd")


async def instrument_of(
    session: AsyncSession, prompt: Prompt, facts: PromptFacts | None = None
) -> Instrument | None:
    """The prompt's questions: its instrument file, with a mentee's open goals asked by
    name (conversations/kit/goal_questions.py, read from `facts` when the batch's facts
    were fetched); None when the file is gone."""
    try:
        instrument = load_instrument(prompt.instrument)
    except InstrumentError:
        return None
    if prompt.kind in lifecycle.WITH_FACTS:
        return instrument.given(await lifecycle.prompt_facts(session, prompt))
    goals = None if facts is None else facts.goals_of(prompt)
    return await instrument_with_goals(session, prompt, instrument, goals)


def _heading(tr: Translator, prompt: Prompt, instrument: Instrument) -> str:
    if prompt.kind not in WEEKLY:
        return f"<b>{escape(tr.gettext(instrument.title))}</b>"
    title = tr.gettext(
        "{title} · week of {week}", title=tr.gettext(instrument.title), week=week_label(tr, prompt)
    )
    return f"<b>{title}</b>"


async def prompt_header(
    session: AsyncSession, tr: Translator, prompt: Prompt, person: Person, instrument: Instrument
) -> str:
    """The top of a check-in's first message: which week, hello, and the intro."""
    partners, _ = await active_partners(session, [prompt.person_id])
    return header_with(tr, prompt, person, instrument, PromptFacts(partners).partner_name(prompt))


def header_with(
    tr: Translator, prompt: Prompt, person: Person, instrument: Instrument, partner: str | None
) -> str:
    """`prompt_header` with the partner's name (None: one match, no name needed)."""
    lines = [_heading(tr, prompt, instrument)]
    hello = tr.gettext("Hi {name}!", name=person.name) if person.name else tr.gettext("Hi!")
    lines.append(hello + " " + _opening(tr, prompt))
    if partner:
        lines.append(tr.gettext("This one is about your match with {name}.", name=partner))
    if instrument.intro:
        lines.append(escape(tr.gettext(instrument.intro)))
    return "\n".join(lines)


def _opening(tr: Translator, prompt: Prompt) -> str:
    """What the prompt is, after the hello; a closure notice gives the planned end."""
    if prompt.kind == PromptKind.CLOSURE_NOTICE:
        try:
            day = tr.date(date.fromisoformat(prompt.period))
        except ValueError:
            day = tr.date(prompt.closes_at.date())
        return tr.gettext("Your mentorship is planned to end on {date}.", date=Html(day))
    return tr.gettext(OPENINGS.get(prompt.kind, OPENINGS[PromptKind.CHECKIN]))


def snooze_row(tr: Translator, prompt_id: int) -> list[Button]:
    return [
        (tr.gettext("⏰ In 3 hours"), engine.callback(prompt_id, SNOOZE, "3h")),
        (tr.gettext("⏰ Tomorrow"), engine.callback(prompt_id, SNOOZE, "tomorrow")),
    ]


def question_message(
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
    return OutgoingMessage("\n\n".join(parts), Keyboard.of(rows) if rows else None)


SUMMARY_TEXT_CLIP = 600  # characters of a typed answer quoted in a summary


def summary_message(
    tr: Translator, prompt: Prompt, instrument: Instrument, answers: dict[str, str], title: str
) -> OutgoingMessage:
    """The answers as they stand, with "Edit an answer" while the week is open. Typed
    answers are quoted clipped (`SUMMARY_TEXT_CLIP`) so that several long ones fit one
    message; they are saved whole."""
    kept = engine.relevant_answers(instrument, answers)
    lines = [_heading(tr, prompt, instrument), f"<b>{escape(title)}</b>", ""]
    for question in engine.applicable(instrument, kept):
        if question.key in kept:
            answer = kept[question.key]
            if question.kind is Kind.TEXT:
                answer = clip(answer, SUMMARY_TEXT_CLIP)
            value = engine.display_value(tr, question, answer)
            bold = Html(f"<b>{value}</b>")
            lines.append(
                tr.gettext("• {label}: {value}", label=tr.gettext(question.label), value=bold)
            )
    if prompt.kind in WEEKLY:
        lines += ["", tr.gettext("You can change an answer until your next check-in.")]
    else:
        lines += ["", tr.gettext("You can change an answer as long as it is open.")]
    edit = [[(tr.gettext("✏️ Edit an answer"), engine.callback(prompt.id or 0, EDIT))]]
    return OutgoingMessage("\n".join(lines), Keyboard.of(edit))


async def render_prompt(session: AsyncSession, prompt: Prompt, person: Person) -> OutgoingMessage:
    """The check-in's first message, in the person's language: the week, a hello, the
    first question still to answer with its buttons, and "remind me later"."""
    (rendered,) = await render_prompts(session, [(prompt, person)])
    if isinstance(rendered, Exception):
        raise rendered
    return rendered


async def render_prompts(
    session: AsyncSession, items: Sequence[tuple[Prompt, Person]]
) -> list[OutgoingMessage | Exception]:
    """`render_prompt` for a batch (the dispatcher's), with what the prompts read fetched
    once for all of them and the answers found in meeting logs stored at once
    (storage.prompt_facts). A prompt that cannot be worded gives its exception in its
    place, so it fails alone."""
    facts = await load_facts(session, [prompt for prompt, _ in items])
    rendered: list[OutgoingMessage | Exception] = []
    for prompt, person in items:
        try:
            rendered.append(await _render(session, prompt, person, facts))
        except Exception as error:  # one broken prompt (a lost instrument file, say)
            rendered.append(error)
    await store_answers(session, facts.answers)
    return rendered


async def _render(
    session: AsyncSession, prompt: Prompt, person: Person, facts: PromptFacts
) -> OutgoingMessage:
    tr = translator(person.locale)
    instrument = await instrument_of(session, prompt, facts)
    assert prompt.id is not None and instrument is not None
    # Nobody answers a check-in never sent: spare the dispatcher one query per prompt.
    answers = await stored_answers(session, prompt.id) if prompt.sent_at else {}
    header = header_with(tr, prompt, person, instrument, facts.partner_name(prompt))
    noted = await contact_from_logs(session, tr, prompt, person, instrument, answers, facts)
    question = engine.next_question(instrument, answers)
    if question is None:
        return summary_message(
            tr, prompt, instrument, answers, tr.gettext("Thank you! Your check-in is saved.")
        )
    return question_message(
        tr,
        prompt.id,
        question,
        header=header,
        before=noted,
        extra_rows=[snooze_row(tr, prompt.id)],
    )


CONTACT = "contact"


CONTACT_BY_MODE = {
    "in_person": "in_person",
    "video": "call",
    "phone": "call",
    "messages": "messages",
}
"""A logged meeting's mode as the weekly check-ins' contact answer, richest contact first."""


async def contact_from_logs(
    session: AsyncSession,
    tr: Translator,
    prompt: Prompt,
    person: Person,
    instrument: Instrument,
    answers: dict[str, str],
    facts: PromptFacts | None = None,
) -> str | None:
    """Do not ask what the data already says: when the check-in is about to ask whether
    the pair were in touch and either of them logged a meeting in the week it covers (the
    7 days up to its due date), store the answer from the log (the richest contact of the
    week) and return the line that says so; `answers` gets it too. The logs and the
    person's role come from `facts` when the batch's facts were fetched."""
    question = engine.next_question(instrument, answers)
    if question is None or question.key != CONTACT or prompt.id is None:
        return None
    due = prompt.due_at.astimezone(zone_of(person, None)).date()
    first = due - MEETING_WEEK
    logged = (
        facts.meetings_between(prompt.match_id, first, due)
        if facts is not None
        else await meetings_between(session, prompt.match_id, first, due)
    )
    usable = [m for m in logged if CONTACT_BY_MODE.get(m.mode) in (question.values or ())]
    if not usable:
        return None
    ranks = list(CONTACT_BY_MODE.values())
    meeting = min(usable, key=lambda m: ranks.index(CONTACT_BY_MODE[m.mode]))  # newest on ties
    value = CONTACT_BY_MODE[meeting.mode]
    when = max(prompt.due_at, meeting.created_at)
    if facts is None:
        await store_answer(session, prompt.id, CONTACT, value, when)
    else:
        facts.answers.append((prompt.id, CONTACT, value, when))
    answers[CONTACT] = value
    day = tr.date(meeting.met_on, "full")
    if meeting.author_id == person.id:
        return tr.gettext("You logged a meeting on {date}: I noted the contact.", date=day)
    role = None if facts is None else facts.roles.get((person.id or 0, prompt.match_id))
    if role is None:
        match = await session.get(Match, prompt.match_id)
        if match is None:
            return tr.gettext("You logged a meeting on {date}: I noted the contact.", date=day)
        role = role_in(match, person.id or 0)
    if role == Role.MENTEE:
        return tr.gettext("Your mentor logged a meeting on {date}: I noted the contact.", date=day)
    return tr.gettext("Your mentee logged a meeting on {date}: I noted the contact.", date=day)


async def store_and_continue(answering: Answering, value: str, message_id: int | None) -> Reply:
    """Write one answer (dropping answers a changed answer made irrelevant), show it in
    the message that asked (`message_id`), then ask the next question or, at the end,
    mark the check-in answered and show the summary."""
    session, prompt = answering.session, answering.prompt
    instrument, question = answering.instrument, answering.question
    tr, now = answering.ctx.tr, answering.ctx.now()
    assert prompt.id is not None
    consequence = await lifecycle.on_answer(
        session, tr, prompt, answering.person, answering.answers, question.key, value, now
    )
    if consequence.refusal is not None:
        return Reply(notice=consequence.refusal)
    await store_answer(session, prompt.id, question.key, value, now)
    answers = {**answering.answers, question.key: value}
    kept = engine.relevant_answers(instrument, answers)
    irrelevant = [q.key for q in instrument.questions if q.key in answers and q.key not in kept]
    await drop_answers(session, prompt.id, irrelevant)
    answered = engine.render_answered(tr, question, value)
    if message_id is not None and message_id == prompt.telegram_message_id:
        header = await prompt_header(session, tr, prompt, answering.person, instrument)
        answered = header + "\n\n" + answered
    reply = Reply(edit=OutgoingMessage(answered, None), edit_message_id=message_id)
    reply.effects += consequence.effects
    if consequence.lines:
        reply.messages.append(OutgoingMessage("\n".join(consequence.lines), None))
    following = engine.next_question(instrument, kept)
    if following is not None:
        reply.messages.append(question_message(tr, prompt.id, following))
        reply.asked = Asked(prompt.id, following.key)
        return reply
    if prompt.kind in WEEKLY:
        reply.evaluate_match = prompt.match_id
    if prompt.status == PromptStatus.ANSWERED:
        title = tr.gettext("Saved. Here are your answers now:")
        if prompt.kind == PromptKind.CHECKIN:
            title = tr.gettext("Saved. Here is your check-in now:")
    else:
        prompt.status, prompt.answered_at = PromptStatus.ANSWERED, now
        session.add(prompt)
        title = tr.gettext(SAVED.get(prompt.kind, N_("Thank you! Your answers are saved.")))
    reply.messages.append(summary_message(tr, prompt, instrument, kept, title))
    return reply


def asking_message(ctx: TandemContext, answering: Answering) -> int | None:
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


OpenFinder = Callable[[AsyncSession, int, datetime], Awaitable[Prompt | None]]


async def take_typed(update: Update, ctx: TandemContext, find: OpenFinder) -> bool:
    """A message while the prompt `find` returns (person id, now) waits for a typed
    answer, and no other prompt asked something since it came: stored, then the next
    question or the summary. False when it is not waiting for one."""
    user, message = update.effective_user, update.effective_message
    if user is None or message is None or (message.text or "").startswith("/"):
        return False
    async with ctx.db.session() as session:
        person = await known_person(session, ctx, user.id)
        if person is None or person.id is None:
            return False
        found = await find(session, person.id, ctx.now())
        if found is None or asked_since(ctx, found):
            return False
        answering = await typed_answering(session, ctx, person, found)
        if answering is None:
            return False
        reply = await store_typed(update, ctx, answering)
    await deliver(update, ctx, reply)
    return True


async def typed_answering(
    session: AsyncSession, ctx: TandemContext, person: Person, found: Prompt
) -> Answering | None:
    """The open prompt `found`, locked, when its next question is answered by typing."""
    prompt = await locked_prompt(session, found.id or 0)
    instrument = await instrument_of(session, prompt) if prompt else None
    if prompt is None or instrument is None:
        return None
    answers = await stored_answers(session, prompt.id or 0)
    question = engine.next_question(instrument, answers)
    if question is None or not question.kind.typed:
        return None
    return Answering(session, ctx, person, prompt, instrument, question, answers)


async def store_typed(update: Update, ctx: TandemContext, answering: Answering) -> Reply:
    """A typed answer read, stored and followed by the next question; a clear reply when
    it cannot be used."""
    message = update.effective_message
    assert message is not None
    if message.text is None:
        return Reply(notice=describe_unusable(ctx.tr, update, expects_text=True))
    try:
        value = engine.read_text(ctx.tr, answering.question, message.text)
    except Invalid as invalid:
        return Reply(notice=str(invalid))
    return await store_and_continue(answering, value, asking_message(ctx, answering))


def asked_since(ctx: TandemContext, prompt: Prompt) -> bool:
    """Whether another prompt's question was asked after `prompt` was sent (a typed
    message then answers that one, not this)."""
    data = (ctx.user_data or {}).get(ASKED)
    if not isinstance(data, dict) or data.get("prompt") == prompt.id:
        return False
    sent = (prompt.sent_at or prompt.due_at).timestamp()
    return float(data.get("at", 0)) > sent


async def participant_or(
    session: AsyncSession, ctx: TandemContext, update: Update, not_joined: str
) -> Person | Reply:
    """The person behind a command or a tap, or the reply `not_joined` for someone not
    (yet) taking part."""
    assert update.effective_user is not None
    person = await known_person(session, ctx, update.effective_user.id)
    if person is None or person.id is None or person.status == PersonStatus.ONBOARDING:
        return Reply(notice=not_joined)
    return person
