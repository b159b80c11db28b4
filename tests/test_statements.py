"""How many SQL statements an update costs: a check-in tap, /help and /start for someone
known. Counted with a SQLAlchemy event listener on the engine (BEGIN and COMMIT are not
statements the listener sees on SQLite; on PostgreSQL they are sent by the driver), so a
change that adds a person lookup or a re-read to the answer path fails here."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import event
from sqlmodel import select

from storage.db import Database
from storage.models import Answer, Person, PersonStatus
from tests.builders import ALICE, Ask, Pair
from tests.harness import FakeTelegram


@contextmanager
def statements(database: Database) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(" ".join(statement.split()))

    event.listen(database.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", record)


def person_reads(seen: list[str]) -> int:
    return sum(1 for text in seen if text.startswith("SELECT person.id, person.telegram_id"))


def show(seen: list[str]) -> str:
    return "\n".join(f"{n}. {text[:120]}" for n, text in enumerate(seen, 1))


async def test_a_check_in_tap_reads_the_person_once_and_stores_the_answer(
    tg: FakeTelegram, database: Database, ask: Ask
) -> None:
    """The tap: the person (once, for the language, reachability and the handler), the
    prompt (locked) with its answers so far and the goals a mentee's check-in asks about
    (one statement: storage.answers.tapped_prompt), the answer stored; the first tap also
    reads the partner's name for the first message's header."""
    alice = tg.user(ALICE, "Alice", last_name="Martin")
    prompt_id, _ = await ask.mentee()
    with statements(database) as first:
        await alice.tap("Yes, by video or phone")
    assert "How helpful was your time with your mentor?" in alice.last.text
    with statements(database) as second:
        await alice.tap("4")
    assert "progress towards your goals" in alice.last.text
    assert await stored(database, prompt_id) == {"contact": "call", "helpful": "4"}
    assert person_reads(first) == person_reads(second) == 1, show(first + second)
    assert len(first) == 4, show(first)
    assert len(second) == 3, show(second)


async def test_help_and_start_for_someone_known(
    tg: FakeTelegram, database: Database, pair: Pair
) -> None:
    """/help: the person and their memberships (which commands to list; nobody still
    joining, so no question to ask again). /start: the person and whether they are
    joining."""
    alice = tg.user(ALICE, "Alice", last_name="Martin")
    await alice.send("/help")  # the first update of a chat also checks the consent wording
    with statements(database) as help_statements:
        await alice.send("/help")
    assert alice.last.text.startswith("What I can do")
    assert "/checkin" in alice.last.text and "For coordinators" not in alice.last.text
    with statements(database) as start_statements:
        await alice.send("/start")
    assert alice.last.text == "Welcome back, Alice Martin! Send /help to see what you can do."
    assert person_reads(help_statements) == person_reads(start_statements) == 1
    assert len(help_statements) == 2, show(help_statements)
    assert len(start_statements) == 2, show(start_statements)


async def test_someone_unreachable_who_writes_is_reachable_in_the_same_read(
    tg: FakeTelegram, database: Database, pair: Pair
) -> None:
    """The read that starts every update also notices a person marked unreachable: they
    are active again before the handler answers, with no second lookup."""
    async with database.session() as session:
        person = await session.get(Person, pair.mentee.id)
        assert person is not None
        person.status = PersonStatus.UNREACHABLE
        session.add(person)
    alice = tg.user(ALICE, "Alice", last_name="Martin")
    with statements(database) as seen:
        await alice.send("/start")
    assert alice.last.text.startswith("Welcome back, Alice Martin!")
    assert person_reads(seen) == 1, show(seen)
    async with database.session() as session:
        person = await session.get(Person, pair.mentee.id)
        assert person is not None and person.status == PersonStatus.ACTIVE


@contextmanager
def sessions(database: Database) -> Iterator[dict[str, int]]:
    """Connections taken from the pool and transactions committed, while it lasts."""
    seen = {"checkouts": 0, "commits": 0}

    def checkout(*_args: Any) -> None:
        seen["checkouts"] += 1

    def commit(_conn: Any) -> None:
        seen["commits"] += 1

    engine = database.engine.sync_engine
    event.listen(engine, "checkout", checkout)
    event.listen(engine, "commit", commit)
    try:
        yield seen
    finally:
        event.remove(engine, "checkout", checkout)
        event.remove(engine, "commit", commit)


async def test_an_update_is_one_session_and_one_transaction(
    tg: FakeTelegram, database: Database, ask: Ask
) -> None:
    """The read of the sender that starts every update and the handler's transaction are
    one session (storage.db.Database.update): one connection from the pool (on
    PostgreSQL one pre-ping, one BEGIN) and one commit, for a tap as for /help."""
    alice = tg.user(ALICE, "Alice", last_name="Martin")
    prompt_id, _ = await ask.mentee()
    await alice.send("/help")  # the first update of a chat also checks the consent wording
    with sessions(database) as tap:
        await alice.tap("Yes, by video or phone")
    assert "How helpful was your time with your mentor?" in alice.last.text
    assert await stored(database, prompt_id) == {"contact": "call"}
    with sessions(database) as help_command:
        await alice.send("/help")
    assert alice.last.text.startswith("What I can do")
    assert tap == help_command == {"checkouts": 1, "commits": 1}


async def test_on_sqlite_a_statement_is_one_call_to_the_connection_thread(
    tg: FakeTelegram, database: Database, ask: Ask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """aiosqlite runs each call on its connection's thread; a tap waits for one call per
    statement and one for the commit (storage/sqlite_driver.py), not four per statement
    and a rollback after the commit."""
    if not database.is_sqlite:
        pytest.skip("aiosqlite's thread is SQLite's")
    calls: list[str] = []
    queue = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(getattr(fn, "__name__", ""))
        return await queue(self, fn, *args, **kwargs)

    alice = tg.user(ALICE, "Alice", last_name="Martin")
    await ask.mentee()
    await alice.send("/help")
    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    with statements(database) as seen:
        await alice.tap("Yes, by video or phone")
    assert "How helpful was your time with your mentor?" in alice.last.text
    assert calls == ["_run"] * len(seen) + ["commit"], calls


async def stored(database: Database, prompt_id: int) -> dict[str, str]:
    async with database.session() as session:
        rows = await session.exec(select(Answer).where(Answer.prompt_id == prompt_id))
        return {row.question_key: row.value for row in rows.all()}
