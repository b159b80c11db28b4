"""How many SQL statements an update costs: a check-in tap, /help and /start for someone
known. Counted with a SQLAlchemy event listener on the engine (BEGIN and COMMIT are not
statements the listener sees on SQLite; on PostgreSQL they are sent by the driver), so a
change that adds a person lookup or a re-read to the answer path fails here."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from storage.db import Database
from tests.builders import ALICE, Ask
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


def show(seen: list[str]) -> str:
    return "\n".join(f"{n}. {text[:160]}" for n, text in enumerate(seen, 1))


async def test_trace(tg: FakeTelegram, database: Database, ask: Ask) -> None:
    alice = tg.user(ALICE, "Alice", last_name="Martin")
    await ask.mentee()
    with statements(database) as seen:
        await alice.tap("Yes, by video or phone")
    print("TAP1\n" + show(seen))
    with statements(database) as seen:
        await alice.tap("4")
    print("TAP2\n" + show(seen))
    with statements(database) as seen:
        await alice.send("/help")
    print("HELP\n" + show(seen))
    with statements(database) as seen:
        await alice.send("/start")
    print("START\n" + show(seen))
