"""What a dialogue decided, as values, and sending it.

Handlers decide inside one transaction and return a `Reply`; it is sent after the
transaction commits, so a failed send never loses a stored answer and a rolled-back
decision is never announced. Check-ins, meeting logs, reflections, end requests and
broadcasts share these values; `conversations.checkin.deliver` sends them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode

from conversations.instruments import Instrument, Question
from conversations.kit.context import TandemContext
from storage.models import Person, Prompt


async def say(
    update: Update, text: str, markup: InlineKeyboardMarkup | None = None
) -> Message | None:
    """Send `text` (Telegram HTML) to the chat the update came from."""
    chat = update.effective_chat
    if chat is None:
        return None
    return await chat.send_message(
        text, parse_mode=ParseMode.HTML, reply_markup=markup, disable_web_page_preview=True
    )


@dataclass(frozen=True)
class OutgoingMessage:
    """A message to send: Telegram HTML and its inline keyboard."""

    text: str
    markup: InlineKeyboardMarkup | None


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
