"""What a dialogue decided, as values, and sending it.

Handlers decide inside one transaction and return a `Reply`; it is sent after the
transaction commits, so a failed send never loses a stored answer and a rolled-back
decision is never announced. Check-ins, meeting logs, reflections, end requests and
broadcasts share these values; `deliver` sends them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Bot, CallbackQuery, Update
from telegram.error import BadRequest

from conversations.instruments import Instrument, Question
from conversations.kit.alerting import after_answer
from conversations.kit.buttons import Markup
from conversations.kit.context import TandemContext
from conversations.kit.sending import edit_html, send_html
from storage.db import Database
from storage.models import Person, Prompt

ASKED = "checkin_asked"  # user_data: {"prompt", "question", "message", "at"}
AWAITING_DATE = "checkin_pause_at"  # user_data: when /pause asked for a typed date

log = logging.getLogger(__name__)
Effect = Callable[[Bot, Database], Awaitable[None]]
"""Something to do once a decision has committed, such as a message to someone else."""


async def say(update: Update, text: str, markup: Markup | None = None) -> int | None:
    """Send `text` (Telegram HTML) to the chat the update came from; its message id."""
    chat = update.effective_chat
    if chat is None:
        return None
    return await send_html(chat.get_bot(), chat.id, text, markup)


@dataclass(frozen=True)
class OutgoingMessage:
    """A message to send: Telegram HTML and its inline keyboard."""

    text: str
    markup: Markup | None


@dataclass(frozen=True)
class Asked:
    """The question the last message of a reply asks."""

    prompt_id: int
    question: str


@dataclass
class Reply:
    """What a decision produced, sent once its transaction has committed."""

    notice: str | None = None  # the callback answer, or a message sent first
    edit: OutgoingMessage | None = None  # new content for the message that asked
    edit_message_id: int | None = None  # that message, when it was not the one tapped
    drop_buttons: bool = False  # take the buttons off the tapped message
    messages: list[OutgoingMessage] = field(default_factory=list)
    asked: Asked | None = None
    evaluate_match: int | None = None  # a check-in was completed: apply the flag rules
    record_first_message_of: int | None = None  # a prompt whose first message this is
    awaiting_date: bool | None = None  # set or clear the wait for a typed pause date
    effects: list[Effect] = field(default_factory=list)  # run after the messages


@dataclass
class Answering:
    """A question about to be answered, read in the transaction that stores the answer."""

    session: AsyncSession
    ctx: TandemContext
    person: Person
    prompt: Prompt
    instrument: Instrument
    question: Question
    answers: dict[str, str]


async def deliver(update: Update, ctx: TandemContext, reply: Reply) -> list[int | None]:
    """Send what a decision produced: the callback answer (or a notice), the edit of the
    message that asked, new messages; then cache what the last one asks. Returns the new
    messages' ids (other dialogues that reuse this remember which message asked what)."""
    query = update.callback_query
    if query is None and reply.notice:
        await say(update, reply.notice)  # before the messages it introduces
    # The answer to the button, the change to the message that asked and the new
    # messages (in their order) do not wait for one another: with Telegram a round trip
    # away, a tap is answered in the time of one call rather than three. A failure is
    # raised once all three are done, the first in that order.
    outcomes = await asyncio.gather(
        query.answer(reply.notice) if query is not None else asyncio.sleep(0),
        _change(update, ctx, reply),
        _send(update, reply.messages),
        return_exceptions=True,
    )
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
    sent: list[int | None] = outcomes[2]
    _remember(ctx, reply, sent[-1] if sent else None)
    if reply.record_first_message_of is not None and sent and sent[0] is not None:
        await _record_message(ctx, reply.record_first_message_of, sent[0])
    if reply.evaluate_match is not None:
        await after_answer(ctx, reply.evaluate_match)
    for effect in reply.effects:
        await effect(ctx.bot, ctx.db)
    return sent


async def _change(update: Update, ctx: TandemContext, reply: Reply) -> None:
    """The edit of the message that asked (the tapped one unless another is named), or
    the tapped message's buttons taken off."""
    query, chat = update.callback_query, update.effective_chat
    target = reply.edit_message_id
    if query is not None and query.message is not None and target is None:
        target = query.message.message_id
    if reply.edit is not None and target is not None and chat is not None:
        await _edit(ctx, chat.id, target, reply.edit)
    elif reply.drop_buttons and query is not None:
        await _drop_buttons(query)


async def _send(update: Update, messages: list[OutgoingMessage]) -> list[int | None]:
    return [await say(update, message.text, message.markup) for message in messages]


async def _drop_buttons(query: CallbackQuery) -> None:
    try:
        await query.edit_message_reply_markup(None)
    except BadRequest as error:
        log.info("could not remove the buttons of a check-in message: %s", error.message)


async def _edit(
    ctx: TandemContext, chat_id: int, message_id: int, message: OutgoingMessage
) -> None:
    try:
        await edit_html(ctx.bot, chat_id, message_id, message.text, message.markup)
    except BadRequest as error:
        # Deleted or too old to edit (an unchanged one is a success: bot/telegram_bot.py):
        # the answer is stored all the same.
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
