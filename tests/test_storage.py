"""Storage: migrations build exactly the tables the code describes, on SQLite and
PostgreSQL; timestamps are UTC and aware; persistence round-trips conversation states."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import asyncpg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection, make_url
from sqlmodel import SQLModel

from storage.db import Database
from storage.migrate import upgrade
from storage.models import Program
from storage.persistence import DatabasePersistence
from tests.conftest import TEST_DATABASE_URL, FakeClock

MIGRATIONS_DB = "tandem_migrations_test"


@pytest.fixture
async def empty_database(tmp_path: Path) -> AsyncIterator[Database]:
    """An empty database: a new SQLite file, or a freshly created PostgreSQL database
    next to the test one."""
    if not TEST_DATABASE_URL:
        database = Database(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    else:
        url = make_url(TEST_DATABASE_URL)
        admin = await asyncpg.connect(
            host=url.host, port=url.port or 5432, user=url.username, database=url.database
        )
        await admin.execute(f"DROP DATABASE IF EXISTS {MIGRATIONS_DB}")
        await admin.execute(f"CREATE DATABASE {MIGRATIONS_DB}")
        await admin.close()
        database = Database(
            url.set(drivername="postgresql+asyncpg", database=MIGRATIONS_DB).render_as_string(
                hide_password=False
            )
        )
    yield database
    await database.dispose()


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return compare_metadata(context, SQLModel.metadata)


async def test_migrations_match_the_models(empty_database: Database) -> None:
    await upgrade(empty_database)
    async with empty_database.engine.connect() as connection:
        differences = await connection.run_sync(_differences)
    assert differences == []
    await upgrade(empty_database)  # applying again is a no-op


async def test_timestamps_are_stored_in_utc_and_read_aware(
    database: Database, clock: FakeClock
) -> None:
    toronto = timezone(timedelta(hours=-5))
    local = datetime(2026, 11, 16, 9, 0, tzinfo=toronto)
    async with database.session() as session:
        program = Program(name="Zones", created_at=local)
        session.add(program)
    async with database.session() as session:
        stored = await session.get(Program, program.id)
    assert stored is not None
    assert stored.created_at == local
    assert stored.created_at.tzinfo is not None
    assert stored.created_at.utcoffset() == timedelta(0)
    with pytest.raises(Exception, match="naive datetime"):
        async with database.session() as session:
            session.add(Program(name="Naive", created_at=datetime(2026, 1, 1)))


async def test_persistence_round_trips_states_and_user_data(
    database: Database, clock: FakeClock
) -> None:
    persistence = DatabasePersistence(database, clock=clock)
    await persistence.update_conversation("onboarding", (5, 5), "onboarding")
    await persistence.update_conversation("onboarding", (6, 6), "onboarding")
    await persistence.update_conversation("onboarding", (6, 6), None)
    await persistence.update_user_data(5, {"language": "fr", "invite": "abc"})
    fresh = DatabasePersistence(database, clock=clock)
    assert await fresh.get_conversations("onboarding") == {(5, 5): "onboarding"}
    assert await fresh.get_conversations("settings") == {}
    assert await fresh.get_user_data() == {5: {"language": "fr", "invite": "abc"}}
    await fresh.drop_user_data(5)
    assert await fresh.get_user_data() == {}
