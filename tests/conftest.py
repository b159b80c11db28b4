"""Shared fixtures. The suite runs on SQLite (a fresh file per test) and, when
TEST_DATABASE_URL is set, on that PostgreSQL database (schema built once, tables emptied
before each test)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import SQLModel

from bot.app import build_application
from bot.config import Settings
from storage.db import Database, async_database_url
from storage.invites import create_invites
from storage.models import Program
from tests.builders import Ask, Pair, add_pair
from tests.fakebot import BOT_TOKEN, FakeBotApi
from tests.harness import FakeTelegram

ADMIN_ID = 9000

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
_emptying: str | None = None  # the statement that empties every table, once the schema is built


async def _fresh_postgres(database: Database) -> None:
    """Build the schema once per run, then empty it for each test: one DO block of DELETEs
    (children first) and sequence restarts, about 20 ms. TRUNCATE took about 240 ms a test
    (PostgreSQL makes new files for every table), some 5 minutes over the suite."""
    global _emptying
    async with database.engine.begin() as connection:
        if _emptying is None:
            await connection.run_sync(SQLModel.metadata.drop_all)
            await connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
            await connection.run_sync(SQLModel.metadata.create_all)
            sequences = await connection.execute(
                text(
                    "SELECT sequence_name FROM information_schema.sequences"
                    " WHERE sequence_schema = current_schema()"
                )
            )
            deletes = "".join(
                f'DELETE FROM "{table.name}"; '
                for table in reversed(SQLModel.metadata.sorted_tables)
            )
            restarts = "".join(f'ALTER SEQUENCE "{name}" RESTART; ' for (name,) in sequences)
            # As a replica the session fires no trigger: neither the weekly figures' (a
            # recomputation per deleted row) nor the foreign keys' (children go first).
            replica = "SET LOCAL session_replication_role = replica; "
            _emptying = f"DO $$ BEGIN {replica}{deletes}{restarts}END $$"
        await connection.execute(text(_emptying))


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    if TEST_DATABASE_URL:
        return async_database_url(TEST_DATABASE_URL)
    return f"sqlite+aiosqlite:///{tmp_path / 'tandem.db'}"


async def fresh_schema(database: Database) -> None:
    """Empty tables for one test: created on a new SQLite file, truncated on PostgreSQL."""
    if database.is_sqlite:
        async with database.engine.begin() as connection:
            await connection.run_sync(SQLModel.metadata.create_all)
    else:
        await _fresh_postgres(database)


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    await fresh_schema(db)
    yield db
    await db.dispose()


class FakeClock:
    """A controllable UTC clock."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        from datetime import timedelta

        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 16, 14, 0, tzinfo=UTC))


# --- the bot, driven offline ---------------------------------------------------------------


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        telegram_bot_token=BOT_TOKEN,
        database_url=database_url,
        admin_telegram_ids=frozenset({ADMIN_ID}),
    )


class Bots:
    """Builds the application as the bot runs it, and rebuilds it to simulate a restart
    (clean, or a crash that skips the shutdown that flushes persistence)."""

    def __init__(self, settings: Settings, database: Database, clock: FakeClock) -> None:
        self.settings, self.database, self.clock = settings, database, clock
        self.api = FakeBotApi()
        self.application: Any = None
        self.telegram: FakeTelegram | None = None

    async def start(self) -> FakeTelegram:
        self.application = build_application(
            self.settings, self.database, request=self.api, clock=self.clock, rate_limited=False
        )
        await self.application.initialize()
        if self.telegram is None:
            self.telegram = FakeTelegram(self.application, self.api)
        else:
            self.telegram.application = self.application
        return self.telegram

    async def restart(self, *, crash: bool = False) -> FakeTelegram:
        if not crash:
            await self.application.shutdown()
        return await self.start()

    async def stop(self) -> None:
        await self.application.shutdown()


@pytest.fixture
async def bots(settings: Settings, database: Database, clock: FakeClock) -> AsyncIterator[Bots]:
    bots = Bots(settings, database, clock)
    await bots.start()
    yield bots
    await bots.stop()
    bots.api.assert_no_problems()


@pytest.fixture
def tg(bots: Bots) -> FakeTelegram:
    assert bots.telegram is not None
    return bots.telegram


@pytest.fixture
async def program(database: Database, clock: FakeClock) -> Program:
    async with database.session() as session:
        program = Program(
            name="Career Bridge Toronto",
            weeks=12,
            checkin_weekday=0,
            checkin_time=time(9, 0),
            timezone="America/Toronto",
            created_at=clock(),
        )
        session.add(program)
    return program


@pytest.fixture
async def pair(database: Database, program: Program, clock: FakeClock) -> Pair:
    """Alice Martin (mentee, English) and Robert Tremblay (mentor, French), matched a
    month ago; unpacks as `mentee, mentor, match`."""
    return await add_pair(database, program, clock)


@pytest.fixture
def ask(tg: FakeTelegram, database: Database, clock: FakeClock, pair: Pair) -> Ask:
    return Ask(tg, database, clock, pair)


@pytest.fixture
def invite(database: Database, program: Program, clock: FakeClock) -> Callable[..., Awaitable[str]]:
    """`await invite("mentee")` -> a fresh single-use code for the program."""

    async def make(role: str = "mentee", **options: Any) -> str:
        async with database.session() as session:
            (created,) = await create_invites(
                session, program_id=program.id or 0, role=role, now=clock(), **options
            )
            return created.code

    return make
