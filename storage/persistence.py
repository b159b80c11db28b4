"""PTB persistence in Tandem's own database.

Conversation states and `user_data` are kept in `stored_state` rows so a restarted bot
(or a standby instance) picks dialogues up where they were. They are a cache: the
dialogues recompute where a participant is from the answers stored in the domain tables,
so losing this cache costs a re-asked question at worst, never an answer.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import delete
from sqlmodel import col, select
from telegram.ext import BasePersistence, PersistenceInput
from telegram.ext._utils.types import ConversationDict, ConversationKey

from storage.clock import Clock, utcnow
from storage.db import Database
from storage.models import StoredState
from storage.state import remember

USER_DATA = "user_data"
CONVERSATION_PREFIX = "conversation:"


def _key_text(key: ConversationKey) -> str:
    return json.dumps(list(key))


def _key_tuple(text: str) -> ConversationKey:
    return tuple(json.loads(text))


class DatabasePersistence(BasePersistence[dict[str, Any], dict[str, Any], dict[str, Any]]):
    """Persists conversation states and user_data; chat_data, bot_data and callback data
    are not used by Tandem and are not stored."""

    def __init__(self, database: Database, *, clock: Clock = utcnow, update_interval: float = 10):
        super().__init__(
            store_data=PersistenceInput(
                bot_data=False, chat_data=False, user_data=True, callback_data=False
            ),
            update_interval=update_interval,
        )
        self.database = database
        self.clock = clock

    async def _rows(self, namespace: str) -> list[StoredState]:
        async with self.database.session() as session:
            statement = select(StoredState).where(StoredState.namespace == namespace)
            return list((await session.exec(statement)).all())

    async def _put(self, namespace: str, key: str, value: Any) -> None:
        async with self.database.session() as session:
            await remember(session, key, value, self.clock(), namespace=namespace)

    async def _drop(self, namespace: str, key: str) -> None:
        async with self.database.session() as session:
            await session.exec(
                delete(StoredState).where(
                    col(StoredState.namespace) == namespace, col(StoredState.key) == key
                )
            )

    async def get_conversations(self, name: str) -> ConversationDict:
        rows = await self._rows(CONVERSATION_PREFIX + name)
        return {_key_tuple(row.key): row.value for row in rows}

    async def update_conversation(
        self, name: str, key: ConversationKey, new_state: object | None
    ) -> None:
        if new_state is None:
            await self._drop(CONVERSATION_PREFIX + name, _key_text(key))
        else:
            await self._put(CONVERSATION_PREFIX + name, _key_text(key), new_state)

    async def get_user_data(self) -> dict[int, dict[str, Any]]:
        return {int(row.key): dict(row.value) for row in await self._rows(USER_DATA)}

    async def update_user_data(self, user_id: int, data: dict[str, Any]) -> None:
        if data:
            await self._put(USER_DATA, str(user_id), data)
        else:
            await self._drop(USER_DATA, str(user_id))

    async def drop_user_data(self, user_id: int) -> None:
        await self._drop(USER_DATA, str(user_id))

    async def refresh_user_data(self, user_id: int, user_data: dict[str, Any]) -> None:
        """Nothing to refresh: one instance holds the polling role at a time."""

    async def flush(self) -> None:
        """Every update is written as it happens; nothing is buffered."""

    # Tandem keeps no chat_data, bot_data or callback data (see store_data above).
    async def get_chat_data(self) -> dict[int, dict[str, Any]]:
        return {}

    async def get_bot_data(self) -> dict[str, Any]:
        return {}

    async def get_callback_data(self) -> None:
        return None

    async def update_chat_data(self, chat_id: int, data: dict[str, Any]) -> None:
        """Not stored."""

    async def update_bot_data(self, data: dict[str, Any]) -> None:
        """Not stored."""

    async def update_callback_data(self, data: Any) -> None:
        """Not stored."""

    async def drop_chat_data(self, chat_id: int) -> None:
        """Not stored."""

    async def refresh_chat_data(self, chat_id: int, chat_data: dict[str, Any]) -> None:
        """Not stored."""

    async def refresh_bot_data(self, bot_data: dict[str, Any]) -> None:
        """Not stored."""
