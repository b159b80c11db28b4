"""Which instance is active: on PostgreSQL, the one holding a session advisory lock.

Every instance starts, checks its settings and the database, then waits here. The one
that holds the lock polls Telegram (or serves the webhook) and runs the dispatcher; the
others wait quietly — no getUpdates (no 409 Conflict), no webhook changes, no jobs —
trying the lock every `STANDBY_POLL` seconds. PostgreSQL releases a session lock the
moment its connection closes, so when the active instance dies (even by kill -9) a
standby takes over within seconds. If the active instance loses its connection, it can
no longer be sure it holds the lock: it stops (exit status 3) and lets its supervisor
start it again as a standby. SQLite has no second instance: it is always active.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.db import Database

log = logging.getLogger(__name__)

LEADER_KEY = int.from_bytes(b"tandem:a", "big") & 0x7FFF_FFFF_FFFF_FFFF
STANDBY_POLL = 5.0  # seconds between a standby's tries
WATCH_EVERY = 10.0  # seconds between the active instance's checks of its lock connection


async def pause(stop: asyncio.Event, seconds: float) -> bool:
    """Wait `seconds` or until `stop` is set; returns whether it is."""
    with suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    return stop.is_set()


class Leadership:
    """Hold the lock for as long as the instance is active (`lead`)."""

    def __init__(self, database: Database, *, poll: float = STANDBY_POLL) -> None:
        self.database = database
        self.poll = poll
        self._connection: AsyncConnection | None = None

    @asynccontextmanager
    async def lead(self, stop: asyncio.Event) -> AsyncIterator[bool]:
        """Wait until this instance holds the lock (True) or `stop` is set (False)."""
        if self.database.is_sqlite:
            yield not stop.is_set()
            return
        connection = await self.database.engine.connect()
        try:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            self._connection = connection
            waiting_logged = False
            while not stop.is_set():
                if await connection.scalar(
                    text("SELECT pg_try_advisory_lock(:k)"), {"k": LEADER_KEY}
                ):
                    log.info("this instance is active")
                    break
                if not waiting_logged:
                    log.info("another instance is active: standing by")
                    waiting_logged = True
                await pause(stop, self.poll)
            yield not stop.is_set()
        finally:
            self._connection = None
            await connection.close()  # closing the session releases the lock

    async def watch(self, stop: asyncio.Event, lost: asyncio.Event) -> None:
        """While active, check the lock's connection; when it is gone, set `lost` and
        `stop` (another instance may take over at any moment)."""
        while not await pause(stop, WATCH_EVERY):
            if self._connection is None:
                return
            try:
                await self._connection.scalar(text("SELECT 1"))
            except (SQLAlchemyError, OSError) as error:
                log.error(
                    "lost the database connection holding the lock (%s)", type(error).__name__
                )
                lost.set()
                stop.set()
                return
