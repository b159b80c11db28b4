"""Shared fixtures. The suite runs on SQLite (a fresh file per test) and, when
TEST_DATABASE_URL is set, on that PostgreSQL database (schema built once, tables emptied
before each test)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers the tables)
from storage.db import Database, async_database_url

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
_schema_ready = False


async def _fresh_postgres(database: Database) -> None:
    global _schema_ready
    async with database.engine.begin() as connection:
        if not _schema_ready:
            await connection.run_sync(SQLModel.metadata.drop_all)
            await connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
            await connection.run_sync(SQLModel.metadata.create_all)
            _schema_ready = True
        tables = ", ".join(f'"{table.name}"' for table in SQLModel.metadata.sorted_tables)
        await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    if TEST_DATABASE_URL:
        return async_database_url(TEST_DATABASE_URL)
    return f"sqlite+aiosqlite:///{tmp_path / 'tandem.db'}"


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    if db.is_sqlite:
        async with db.engine.begin() as connection:
            await connection.run_sync(SQLModel.metadata.create_all)
    else:
        await _fresh_postgres(db)
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
