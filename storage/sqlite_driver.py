"""aiosqlite, one hand-off to its thread per statement.

aiosqlite runs every call on its connection's own thread, and SQLAlchemy's adapter makes
four such calls per statement (make a cursor, execute, fetch the rows, close the cursor)
and one more for the rollback with which the pool resets a connection after a commit.
Each is a wake-up of that thread and a wait for the event loop to hear back: on a busy
machine about a millisecond, most of what a check-in tap cost on SQLite.

`FastConnection` is an aiosqlite connection whose cursors run a statement, fetch its rows
and close in one call, then serve the rows from memory; a commit or rollback with no
transaction open (sqlite3 reports it without a call) is not sent to the thread, where it
would do nothing. SQLAlchemy's adapter drives it as it drives aiosqlite
(`create_async_engine(async_creator=…)`, see storage/db.py); results are the same, only
no cursor stays open on the database between calls.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from typing import Any

import aiosqlite

Outcome = tuple[Any, list[Any], int, int | None]  # description, rows, rowcount, lastrowid


def _run(connection: sqlite3.Connection, sql: str, parameters: Any, many: bool) -> Outcome:
    """On the connection's thread: the whole statement, its rows read and its cursor
    closed."""
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(sql, parameters)
        else:
            cursor.execute(sql, parameters)
        rows = cursor.fetchall() if cursor.description else []
        return cursor.description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class Cursor:
    """What SQLAlchemy's aiosqlite adapter uses of an aiosqlite cursor, for statements
    whose rows are read at once (Tandem streams none)."""

    def __init__(self, connection: FastConnection) -> None:
        self._connection = connection
        self._rows: list[Any] = []
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self.arraysize = 1

    async def __aenter__(self) -> Cursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    async def execute(self, sql: str, parameters: Any = ()) -> Cursor:
        return await self._send(sql, parameters, many=False)

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> Cursor:
        return await self._send(sql, parameters, many=True)

    async def _send(self, sql: str, parameters: Any, *, many: bool) -> Cursor:
        connection = self._connection
        outcome: Outcome = await connection._execute(_run, connection._conn, sql, parameters, many)
        self.description, self._rows, self.rowcount, self.lastrowid = outcome
        return self

    async def fetchall(self) -> list[Any]:
        rows, self._rows = self._rows, []
        return rows

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        count = self.arraysize if size is None else size
        rows, self._rows = self._rows[:count], self._rows[count:]
        return rows

    async def fetchone(self) -> Any:
        return self._rows.pop(0) if self._rows else None

    async def close(self) -> None:
        self._rows = []


class _Opened:
    """`connection.cursor()` as aiosqlite gives it: awaited or entered, without a call
    to the thread."""

    def __init__(self, cursor: Cursor) -> None:
        self.cursor = cursor

    def __await__(self) -> Any:
        return self.__aenter__().__await__()

    async def __aenter__(self) -> Cursor:
        return self.cursor

    async def __aexit__(self, *_exc: object) -> None:
        await self.cursor.close()


class FastConnection(aiosqlite.Connection):
    def cursor(self) -> _Opened:  # type: ignore[override]
        return _Opened(Cursor(self))

    def _open(self) -> bool:
        """Whether a transaction is open (sqlite3 knows it without a statement)."""
        connection = self._connection
        return connection is not None and connection.in_transaction

    async def commit(self) -> None:
        if self._open():
            await super().commit()

    async def rollback(self) -> None:
        if self._open():
            await super().rollback()


def connector(arguments: Sequence[Any], options: dict[str, Any]) -> Callable[[], Any]:
    """`create_async_engine`'s `async_creator` for a SQLite URL's connect arguments (as
    the dialect's `create_connect_args` gives them)."""

    async def connect() -> FastConnection:
        connection = FastConnection(partial(sqlite3.connect, *arguments, **options), 64)
        connection._thread.daemon = True  # as SQLAlchemy's own aiosqlite connect does
        return await connection

    return connect
