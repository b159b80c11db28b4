"""Asking: the reminder, /checkin (continue, start this week's early, or show the answers),
and typed input — a typed answer, or the date /pause waits for."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Update

from conversations import engine
from conversations.checkin.common import (
    current_question,
    no_match,
    participant,
    week_prompt,
)
from conversations.checkin.pause import (
    SKIP_REASON,
    awaiting_date,
    typed_pause_date,
)
from conversations.kit.buttons import keyboard
from conversations.kit.context import TandemContext, known_person
from conversations.kit.profile import Invalid
from conversations.kit.prompt import (
    RESUME,
    asking_message,
    instrument_of,
    question_message,
    render_prompt,
    store_and_continue,
    summary_message,
    week_label,
)
from conversations.kit.reply import (
    ASKED,
    Answering,
    Asked,
    OutgoingMessage,
    Reply,
    deliver,
)
from conversations.kit.unusable import describe_unusable
from locales.translator import translator
from storage.answers import (
    active_matches,
    drop_answers,
    locked_prompt,
    open_prompt,
    stored_answers,
)
from storage.models import (
    Person,
    Prompt,
    PromptKind,
    PromptStatus,
)

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
TYPED_EDIT_WINDOW = timedelta(hours=1)  # a typed answer still changes an answer this long


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


async def checkin_command(update: Update, ctx: TandemContext) -> None:
    """/checkin: answer now — continue the open check-in, start this week's if it is not
    due yet, or show this week's answers to change them."""
    async with ctx.db.session() as session:
        person = await participant(session, update, ctx)
        reply = person if isinstance(person, Reply) else await _checkin_now(session, ctx, person)
    await deliver(update, ctx, reply)


async def _checkin_now(session: AsyncSession, ctx: TandemContext, person: Person) -> Reply:
    tr, now = ctx.tr, ctx.now()
    assert person.id is not None
    resumed = await current_question(
        session, ctx, person, before=tr.gettext("Let's pick up where you left off.")
    )
    if resumed.messages:
        return resumed
    matches = await active_matches(session, person.id)
    if not matches:
        return Reply(notice=no_match(tr))
    done: Prompt | None = None
    for match in matches:
        prompt = await week_prompt(session, person, match, now, status=PromptStatus.SENT)
        if prompt.status in STARTABLE and prompt.closes_at > now:
            return await _start(session, ctx, person, prompt)
        if prompt.status == PromptStatus.ANSWERED and done is None:
            done = prompt
    instrument = await instrument_of(session, done) if done else None
    if done is None or instrument is None:
        return Reply(notice=tr.gettext("There's no check-in to answer right now."))
    answers = await stored_answers(session, done.id or 0)
    title = tr.gettext("You've already answered this week's check-in. Here is what you said:")
    return Reply(messages=[summary_message(tr, done, instrument, answers, title)])


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
    instrument = await instrument_of(session, prompt)
    assert instrument is not None
    question = engine.next_question(instrument, await stored_answers(session, prompt.id))
    return Reply(
        messages=[message],
        asked=Asked(prompt.id, question.key) if question else None,
        record_first_message_of=prompt.id,
    )


async def take_text(update: Update, ctx: TandemContext) -> bool:
    """Handle a message (text, sticker, photo, unknown command…) when a check-in is
    waiting for one: the typed answer to a number or text question, a date for /pause, or
    a clear reply and the question again. False when no check-in is waiting, so the
    caller can say it is not waiting for anything."""
    user, message = update.effective_user, update.effective_message
    if user is None or message is None:
        return False
    async with ctx.db.session() as session:
        person = await known_person(session, ctx, user.id)
        if person is None or person.id is None:
            return False
        if awaiting_date(ctx):
            reply = await typed_pause_date(session, ctx, update, person)
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
        again = question_message(ctx.tr, prompt.id, question)
        return Reply(notice=problem, messages=[again], asked=Asked(prompt.id, question.key))
    return await store_and_continue(target, value, asking_message(ctx, target))


async def _text_target(
    session: AsyncSession, ctx: TandemContext, person: Person
) -> Answering | None:
    """What a message answers: a typed question being changed from the summary (the
    cached `ASKED`, within the hour), else the first unanswered question of the open
    check-in, recomputed from the database."""
    asked = _recent_asked(ctx)
    if asked is not None:
        prompt = await locked_prompt(session, asked.prompt_id)
        if (
            prompt is not None
            and prompt.person_id == person.id
            and prompt.status == PromptStatus.ANSWERED
            and prompt.closes_at > ctx.now()
        ):
            instrument = await instrument_of(session, prompt)
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
    instrument = await instrument_of(session, prompt) if prompt else None
    if prompt is None or instrument is None:
        return None
    prompt = await locked_prompt(session, prompt.id or 0)
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
