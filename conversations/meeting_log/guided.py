"""/log: the quick line (`/log 45m yesterday video`) or the guided walk, a draft's buttons,
and typed answers to the question a draft is at."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Update

from conversations import engine
from conversations.instruments import Question, load_instrument
from conversations.kit.buttons import keyboard
from conversations.kit.context import TandemContext, known_person
from conversations.kit.meeting_record import INSTRUMENT
from conversations.kit.profile import Invalid
from conversations.kit.prompt import participant_or
from conversations.kit.reply import ASKED, OutgoingMessage, Reply
from conversations.kit.text import partner_name
from conversations.kit.unusable import describe_unusable, too_long
from conversations.meeting_log.draft import (
    CANCEL,
    GUIDED,
    MATCH,
    MAX_QUICK_LOG,
    QUICK,
    SAVE,
    TYPED_WINDOW,
    Draft,
    Outcome,
    bold,
    current_draft,
    ours,
    parse_tap,
    read_date,
    read_duration,
    read_mode,
    read_topics,
    send,
)
from conversations.meeting_log.walk import (
    Logging,
    advance,
    no_match,
    store,
    who_question,
    with_match,
)
from locales.translator import Translator, escape
from storage.meetings import (
    open_matches,
)
from storage.models import Person


async def participant(session: AsyncSession, update: Update, ctx: TandemContext) -> Person | Reply:
    return await participant_or(
        session,
        ctx,
        update,
        ctx.tr.gettext(
            "Meeting logs start once you have joined a program. Send /start to continue "
            "joining, or open the invitation link your coordinator sent you."
        ),
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
        person = await participant(session, update, ctx)
        if isinstance(person, Reply):
            outcome = Outcome(person)
        elif len(text) > MAX_QUICK_LOG:
            outcome = Outcome(Reply(notice=too_long(ctx.tr, MAX_QUICK_LOG)))
        else:
            outcome = await _start(session, ctx, person, text)
    await send(update, ctx, outcome)


async def _start(session: AsyncSession, ctx: TandemContext, person: Person, text: str) -> Outcome:
    matches = await open_matches(session, person.id or 0)
    if not matches:
        return Outcome(Reply(notice=no_match(ctx.tr)), clear=True)
    match_id = matches[0].id if len(matches) == 1 else None
    if text:
        draft = Draft.new(QUICK, [], text=text, match_id=match_id)
    else:
        keys = [question.key for question in load_instrument(INSTRUMENT).questions]
        draft = Draft.new(GUIDED, keys, match_id=match_id)
    return await advance(Logging(session, ctx, person, draft))


async def on_draft_tap(update: Update, ctx: TandemContext) -> None:
    """Every `ml:` button: an answer, a topic ticked, the match chosen, Save or Cancel."""
    query = update.callback_query
    assert query is not None
    tap, draft = parse_tap(query.data), current_draft(ctx)
    message_id = query.message.message_id if query.message else None
    async with ctx.db.session() as session:
        person = await participant(session, update, ctx)
        if isinstance(person, Reply):
            outcome = Outcome(person)
        elif tap is None or draft is None or tap.prompt_id != draft.id:
            outcome = Outcome(Reply(notice=stale(ctx.tr)))
        else:
            logging = Logging(session, ctx, person, draft)
            outcome = await DRAFT_CONTROLS.get(tap.key, _on_answer)(logging, tap, message_id)
    await send(update, ctx, outcome)


def stale(tr: Translator) -> str:
    return tr.gettext("That button belongs to an earlier question, so it no longer works.")


async def _on_answer(logging: Logging, tap: engine.Tap, message_id: int | None) -> Outcome:
    gone = await with_match(logging)
    if gone is not None:
        return gone
    tr, draft = logging.tr, logging.draft
    question = logging.question()
    if logging.match is None or question is None or question.key != tap.key:
        if tap.key in draft.answers:
            return Outcome(Reply(notice=tr.gettext("You've already answered that question.")))
        return Outcome(Reply(notice=stale(tr)))
    try:
        result = engine.read_tap(tr, question, tap.option)
    except Invalid as invalid:
        return Outcome(Reply(notice=str(invalid)))
    if isinstance(result, engine.Toggle):
        rendered = engine.render_question(tr, question, draft.id, result.selection)
        return Outcome(Reply(edit=OutgoingMessage(rendered.text, keyboard(ours(rendered.rows)))))
    if question.key == "date":
        result = (logging.today - timedelta(days=int(result == "yesterday"))).isoformat()
    return await store(logging, question, {question.key: result}, message_id)


async def _on_match(logging: Logging, tap: engine.Tap, message_id: int | None) -> Outcome:
    """The match a meeting was with, among the person's own."""
    tr, draft = logging.tr, logging.draft
    if draft.match_id is not None:
        return Outcome(Reply(notice=tr.gettext("You've already answered that question.")))
    matches = await open_matches(logging.session, logging.person.id or 0)
    match = next((m for m in matches if str(m.id) == tap.option), None)
    if match is None:
        return Outcome(Reply(notice=stale(tr)))
    draft.match_id = match.id
    name = await partner_name(logging.session, tr, match, logging.person.id or 0)
    answered = f"{escape(who_question(tr))} — {bold(name)}"
    outcome = await advance(logging)
    outcome.reply.edit = OutgoingMessage(answered, None)
    return outcome


async def _on_save(logging: Logging, tap: engine.Tap, message_id: int | None) -> Outcome:
    if not logging.draft.confirm:
        return Outcome(Reply(notice=stale(logging.tr)))
    logging.draft.confirm = False
    outcome = await advance(logging)
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


def _waiting(ctx: TandemContext, draft: Draft) -> bool:
    """A typed message answers the draft when it asked within the hour and no check-in
    question was asked since (the latest question gets the answer)."""
    now = ctx.now().timestamp()
    if now - draft.asked_at > TYPED_WINDOW.total_seconds():
        return False
    asked = (ctx.user_data or {}).get(ASKED)
    return not (isinstance(asked, dict) and float(asked.get("at", 0)) >= draft.asked_at)


async def take_text(update: Update, ctx: TandemContext) -> bool:
    """Handle a message (text, sticker, photo, unknown command…) when a meeting log is
    waiting for one: a typed answer, /cancel, or a clear reply and the question again.
    False when no log is waiting, so the caller can try the next dialogue."""
    user, message, draft = update.effective_user, update.effective_message, current_draft(ctx)
    if user is None or message is None or draft is None:
        return False
    if _is_cancel(message.text):
        await send(
            update,
            ctx,
            Outcome(Reply(notice=ctx.tr.gettext("Okay, nothing was logged.")), clear=True),
        )
        return True
    if not _waiting(ctx, draft):
        return False
    async with ctx.db.session() as session:
        person = await known_person(session, ctx, user.id)
        if person is None:
            return False
        outcome = await _typed(Logging(session, ctx, person, draft), update)
    await send(update, ctx, outcome)
    return True


def _is_cancel(text: str | None) -> bool:
    words = (text or "").split(maxsplit=1)
    return bool(words) and words[0].partition("@")[0] == "/cancel"


async def _typed(logging: Logging, update: Update) -> Outcome:
    gone = await with_match(logging)
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
        outcome = await advance(logging)
        outcome.reply.notice = problem
        return outcome
    return await store(logging, question, values, logging.draft.message_id)


def _read_typed(logging: Logging, question: Question, text: str) -> dict[str, str]:
    """A typed answer: dates, durations, modes and topics are read like a quick log's;
    notes and other topics are taken as written."""
    tr = logging.tr
    if question.key == "date":
        return {"date": read_date(tr, text, logging.today)}
    if question.key == "duration":
        return {"duration": read_duration(tr, text)}
    if question.key == "mode":
        return {"mode": read_mode(tr, text)}
    if question.key == "topics":
        return read_topics(tr, text, logging.topics)
    return {question.key: engine.read_text(tr, question, text)}
