"""Small facts the bot remembers between runs, in the `stored_state` table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import StoredState

META = "meta"
BOT_USERNAME = "bot_username"


async def remember(
    session: AsyncSession, key: str, value: Any, now: datetime, namespace: str = META
) -> None:
    row = await session.get(StoredState, (namespace, key))
    if row is None:
        session.add(StoredState(namespace=namespace, key=key, value=value, updated_at=now))
    else:
        row.value = value
        row.updated_at = now
        session.add(row)


async def recall(session: AsyncSession, key: str, namespace: str = META) -> Any | None:
    row = await session.get(StoredState, (namespace, key))
    return None if row is None else row.value
