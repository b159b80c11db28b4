"""The conversation states python-telegram-bot holds in memory, reached in one place.

Two parts of the bot need a dialogue's state for one person: /cancel (bot/cancel.py) lets
a dialogue that holds a state for the sender answer with its own fallback, and
bot/forget.py drops the states of someone erased outside the running bot. PTB 22 offers
no public way to do either: `ConversationHandler.check_update` is documented as saying
whether the handler takes an update (its tuple result, which carries the state, is not);
the persistence sees a state only at its next flush, and never the one still in memory;
the `Application` drops a user's `user_data` (`drop_user_data`) but not their
conversations. So `live_states` reaches into the private `ConversationHandler._conversations`,
and nothing else in Tandem does; tests/test_conversation_states.py fails if a PTB upgrade
renames it or files states under other keys.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from telegram import Update
from telegram.ext import Application, ConversationHandler

ConversationKey = tuple[int | str, ...]


def live_states(
    handler: ConversationHandler[Any],
) -> MutableMapping[ConversationKey, object]:
    """The states `handler` holds, by conversation key: PTB's own mapping, not a copy, so
    deleting a key ends that conversation (and the next persistence flush deletes its
    stored row). Raises RuntimeError when PTB no longer keeps them there."""
    states = getattr(handler, "_conversations", None)
    if not isinstance(states, MutableMapping):
        raise RuntimeError(
            "python-telegram-bot no longer keeps a ConversationHandler's states in "
            "`_conversations`; adapt bot/conversation_states.py to the new version"
        )
    return states


def conversation_handlers(
    application: Application[Any, Any, Any, Any, Any, Any],
) -> list[ConversationHandler[Any]]:
    """Every ConversationHandler registered on the application, in every group."""
    found = []
    for handlers in application.handlers.values():
        found += [handler for handler in handlers if isinstance(handler, ConversationHandler)]
    return found


def conversation_key(handler: ConversationHandler[Any], update: Update) -> ConversationKey:
    """The key `handler` files this update's conversation under, read from its public
    `per_chat` and `per_user`: the chat's id, then the user's. Tandem has no per-message
    conversation (per_message=True would key them by a button's message)."""
    if handler.per_message:
        raise ValueError(f"{handler.name}: per-message conversations are not supported")
    key: list[int | str] = []
    if handler.per_chat:
        assert update.effective_chat is not None
        key.append(update.effective_chat.id)
    if handler.per_user:
        assert update.effective_user is not None
        key.append(update.effective_user.id)
    return tuple(key)


def holds_state(application: Application[Any, Any, Any, Any, Any, Any], update: Update) -> bool:
    """True when a ConversationHandler holds a state for this update's chat and user."""
    return any(
        live_states(handler).get(conversation_key(handler, update)) is not None
        for handler in conversation_handlers(application)
    )


def drop_states(application: Application[Any, Any, Any, Any, Any, Any], telegram_id: int) -> None:
    """End every conversation this Telegram user takes part in, in every handler."""
    for handler in conversation_handlers(application):
        states = live_states(handler)
        for key in [key for key in states if telegram_id in key]:
            del states[key]
