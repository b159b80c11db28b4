"""One session per update (storage.db.Database.update): the read that starts an update
and the first transaction after it are one session; a failure rolls it back and closes
it; nothing outlives the update, and a task the update starts has sessions of its own."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import Database
from storage.models import AuditEvent

AT = datetime(2026, 11, 16, 14, 0, tzinfo=UTC)


class Boom(Exception):
    pass


def event(subject: str) -> AuditEvent:
    return AuditEvent(actor_label="test", action="update", subject=subject, at=AT)


async def subjects(database: Database) -> list[str]:
    async with database.session() as session:
        return await subjects_in(session)


async def test_the_first_transaction_goes_on_in_the_read_and_commits(database: Database) -> None:
    async with database.update():
        async with database.reading() as read:
            assert await subjects_in(read) == []
        async with database.session() as session:
            assert session is read
            session.add(event("answer"))
        async with database.session() as later:
            assert later is not read  # the next one is a session of its own
            later.add(event("later"))
        assert await subjects(database) == ["answer", "later"]  # committed, not at the end
    assert database.engine.pool.checkedout() == 0


async def test_a_failing_handler_rolls_back_and_closes_and_the_update_goes_on(
    database: Database,
) -> None:
    async with database.update():
        async with database.reading() as read:
            await subjects_in(read)
        with pytest.raises(Boom):
            async with database.session() as session:
                session.add(event("lost"))
                await session.flush()
                raise Boom
        assert database.engine.pool.checkedout() == 0  # rolled back and closed
        async with database.session() as after:  # what the error handler would do
            assert after is not read
            after.add(event("reported"))
    assert await subjects(database) == ["reported"]


async def test_a_read_no_transaction_took_is_closed_when_the_update_ends(
    database: Database,
) -> None:
    async with database.update():
        async with database.reading() as read:
            await subjects_in(read)
        assert database.engine.pool.checkedout() == 1
    assert database.engine.pool.checkedout() == 0


async def test_a_failed_read_leaves_nothing_for_the_handler(database: Database) -> None:
    async with database.update():
        with pytest.raises(Boom):
            async with database.reading() as read:
                await subjects_in(read)
                raise Boom
        assert database.engine.pool.checkedout() == 0
        async with database.session() as session:
            assert session is not read


async def test_a_task_the_update_starts_has_its_own_session(database: Database) -> None:
    async def elsewhere() -> AsyncSession:
        async with database.session() as session:
            session.add(event("task"))
            return session

    async with database.update():
        async with database.reading() as read:
            await subjects_in(read)
        assert await asyncio.create_task(elsewhere()) is not read
        async with database.session() as session:
            assert session is read  # still there for the update's own transaction
    assert await subjects(database) == ["task"]


async def subjects_in(session: AsyncSession) -> list[str]:
    return list((await session.exec(select(AuditEvent.subject))).all())
