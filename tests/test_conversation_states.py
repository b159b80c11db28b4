"""bot/conversation_states.py, the one place that reaches into python-telegram-bot's private
`ConversationHandler._conversations`: these tests fail if a PTB upgrade renames it, stops
reading states from it, or files them under other keys."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from telegram import Chat, Message, Update, User
from telegram.ext import CommandHandler, ConversationHandler, MessageHandler, filters

from bot.conversation_states import (
    conversation_handlers,
    conversation_key,
    drop_states,
    holds_state,
    live_states,
)
from conversations.settings import CHOOSING
from storage.db import Database
from storage.models import Program
from tests.builders import ALICE, add_pair
from tests.conftest import FakeClock
from tests.harness import FakeTelegram

NOTHING_TO_CANCEL = "Nothing is in progress, so there is nothing to cancel."


def private_message(user_id: int, text: str) -> Update:
    return message_in(Chat(user_id, Chat.PRIVATE), user_id, text)


def message_in(chat: Chat, user_id: int, text: str) -> Update:
    user = User(user_id, "Alice", is_bot=False)
    return Update(1, message=Message(1, datetime.now(UTC), chat, from_user=user, text=text))


async def ignore(update: Update, context: object) -> None:
    return None


def test_ptb_reads_the_states_live_states_writes_under_conversation_key() -> None:
    handler = ConversationHandler(
        entry_points=[CommandHandler("start", ignore)],
        states={"typing": [MessageHandler(filters.TEXT, ignore)]},
        fallbacks=[],
    )
    # A group, so that the chat's id and the user's differ and their order in the key shows.
    update = message_in(Chat(-100, Chat.GROUP), ALICE, "some text")
    assert conversation_key(handler, update) == (-100, ALICE)
    assert handler.check_update(update) is None  # no conversation: the text is not its own
    live_states(handler)[conversation_key(handler, update)] = "typing"
    assert handler.check_update(update) is not None  # PTB finds the state where we put it
    del live_states(handler)[conversation_key(handler, update)]
    assert handler.check_update(update) is None


def test_live_states_fails_loudly_when_ptb_keeps_no_states_there() -> None:
    bare = object.__new__(ConversationHandler)  # a handler without `_conversations`
    with pytest.raises(RuntimeError, match=r"adapt bot/conversation_states\.py"):
        live_states(bare)


async def test_a_dialogue_state_is_found_and_dropped_in_the_running_application(
    tg: FakeTelegram, database: Database, program: Program, clock: FakeClock
) -> None:
    await add_pair(database, program, clock)
    alice, cancel = tg.user(ALICE, "Alice"), private_message(ALICE, "/cancel")
    (settings,) = [h for h in conversation_handlers(tg.application) if h.name == "settings"]
    await alice.send("/settings")
    assert dict(live_states(settings)) == {(ALICE, ALICE): CHOOSING}
    assert holds_state(tg.application, cancel)
    await alice.send("/cancel")  # the dialogue holds a state: its own fallback answers
    assert alice.last.text == "Settings closed."
    assert not holds_state(tg.application, cancel)

    await alice.send("/settings")
    drop_states(tg.application, ALICE)
    assert dict(live_states(settings)) == {}
    await alice.send("/cancel")  # nothing holds a state now: the global /cancel answers
    assert alice.last.text == NOTHING_TO_CANCEL
