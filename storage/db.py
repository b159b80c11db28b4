"""Database engine and sessions: SQLite (WAL, busy timeout) by default, PostgreSQL at scale."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import sqlite_driver

SQLITE_BUSY_TIMEOUT_MS = 5000
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///tandem.db"


def async_database_url(url: str) -> str:
    """Accept the URL forms people paste (postgres://, postgresql://, sqlite://) and name
    the async driver Tandem uses for each."""
    for prefix in ("postgres://", "postgresql://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    if url.startswith("sqlite://") and not url.startswith("sqlite+aiosqlite://"):
        return "sqlite+aiosqlite://" + url[len("sqlite://") :]
    return url


class DatabaseUrlError(ValueError):
    """The database URL cannot be used; the message says why in one sentence."""


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Temporary tables, sorts and statement journals in memory rather than in temporary
    # files: every write to a table with triggers (prompt, answer, meetinglog: the weekly
    # figures) keeps a statement journal, which in a file cost a claim or a materialised
    # row about twice its own time.
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.close()


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # all C0 controls and DEL but \t and \n


def clean_text(value: str) -> str:
    """Text as Tandem stores it: without NUL (PostgreSQL refuses it in text) and the other
    control characters (terminal escapes, bells); tabs and line breaks kept, \r\n read as
    a line break."""
    return _CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, tuple | list):
        return type(value)(_clean(item) for item in value)
    if isinstance(value, dict):
        return {key: _clean(item) for key, item in value.items()}
    return value


GENERATED = "tandem_generated_rows"
"""An execution option (``statement.execution_options(**{GENERATED: True})``) for bulk
rows the code builds from nothing anyone typed (the materialised prompts: ids, dates and
fixed words): they skip the cleaning below, which would walk every value of 100,000 rows."""


def _clean_parameters(
    _connection: Any, _cursor: Any, statement: str, parameters: Any, context: Any, _many: bool
) -> tuple[str, Any]:
    """Every text written to the database, whichever dialogue, the CLI or a job wrote it,
    passes here: the one edge all stored text crosses (but `GENERATED` rows)."""
    if context is not None and context.execution_options.get(GENERATED):
        return statement, parameters
    return statement, _clean(parameters)


@dataclass
class _Update:
    """What `Database.update()` holds for the task that processes one update: the session
    its first read opened, until the first `session()` adopts it (None before and after)."""

    owner: asyncio.Task[Any] | None
    pending: AsyncSession | None = None


class Database:
    """One engine and its session factory. `session()` yields a session that commits on
    success and rolls back on error.

    Within `update()` (bot/app.py wraps every Telegram update in it) the update's first
    read and its first `session()` are one session and one transaction: the read of the
    sender that starts every update (`reading()`) is left open, and the handler's
    `session()` goes on in it and commits it. That spares a tap a second connection
    check-out, and on PostgreSQL a pre-ping and the read's own round trips."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        try:
            parsed = make_url(url)
        except ArgumentError:
            raise DatabaseUrlError(
                f"DATABASE_URL {url!r} is not a database URL; use e.g. "
                "sqlite+aiosqlite:///tandem.db or postgresql+asyncpg://user@host/db"
            ) from None
        if parsed.get_backend_name() not in ("sqlite", "postgresql"):
            raise DatabaseUrlError("DATABASE_URL must point at SQLite or PostgreSQL")
        self.url = parsed
        # hide_parameters: a failed statement's exception text (logged by the error
        # handler) would otherwise carry its parameters, which hold what participants wrote.
        kwargs: dict[str, Any] = {"echo": echo, "hide_parameters": True}
        if self.is_sqlite:
            arguments, options = parsed.get_dialect()().create_connect_args(parsed)
            options["timeout"] = SQLITE_BUSY_TIMEOUT_MS / 1000
            kwargs["async_creator"] = sqlite_driver.connector(arguments, options)
        else:
            kwargs["pool_pre_ping"] = True
        try:
            self.engine: AsyncEngine = create_async_engine(parsed, **kwargs)
        except (NoSuchModuleError, ModuleNotFoundError, ArgumentError) as error:
            raise DatabaseUrlError(
                f"DATABASE_URL names a driver Tandem cannot load ({error}); use "
                "sqlite+aiosqlite:// or postgresql+asyncpg://"
            ) from None
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(
            self.engine.sync_engine, "before_cursor_execute", _clean_parameters, retval=True
        )
        self._sessions = async_sessionmaker(
            self.engine, class_=AsyncSession, expire_on_commit=False
        )
        self._update: ContextVar[_Update | None] = ContextVar("tandem_update", default=None)

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    @asynccontextmanager
    async def update(self) -> AsyncIterator[None]:
        """The span of one update (see the class): what its first read left open and no
        `session()` took is rolled back and closed at the end."""
        current = _Update(asyncio.current_task())
        token = self._update.set(current)
        try:
            yield
        finally:
            self._update.reset(token)
            if current.pending is not None:
                await current.pending.close()

    def _in_update(self) -> _Update | None:
        """The update this task is processing; None elsewhere, and in a task it started
        (which must not share the update's session)."""
        current = self._update.get()
        if current is None or current.owner is not asyncio.current_task():
            return None
        return current

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        current = self._in_update()
        if current is None or current.pending is None:
            async with self._sessions() as session, session.begin():
                yield session
            return
        session, current.pending = current.pending, None  # adopted: later ones are fresh
        try:
            yield session
            await session.commit()
        finally:
            await session.close()  # after an error, this is the rollback

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """A session for one read that writes nothing. Within `update()` it is left open
        for the update's first `session()`; else on PostgreSQL it runs in autocommit,
        sparing the BEGIN and COMMIT round trips, and on SQLite, where they cost no round
        trip, it is `session()`."""
        current = self._in_update()
        if current is not None:
            session = current.pending or self._sessions()
            current.pending = None  # taken while in use: a nested session() is fresh
            try:
                yield session
            except BaseException:
                await session.close()  # rolls back; the next session() starts afresh
                raise
            if current.pending is None:
                current.pending = session
            else:  # a nested read left its own: one is enough
                await session.close()
            return
        if self.is_sqlite:
            async with self.session() as session:
                yield session
            return
        async with self.engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            async with self._sessions(bind=autocommit) as session:
                yield session

    async def check_connection(self) -> None:
        """Open one connection, so a wrong URL fails at start-up rather than on first use."""
        async with self.engine.connect() as connection:
            await connection.exec_driver_sql("SELECT 1")

    async def dispose(self) -> None:
        await self.engine.dispose()


def dialect_of(session: AsyncSession) -> str:
    """The database the session talks to: "sqlite" or "postgresql"."""
    bind = session.bind
    assert bind is not None, "the session has no engine"
    return bind.dialect.name


def upsert(session: AsyncSession, table: sa.Table) -> Any:
    """An INSERT that understands ON CONFLICT (DO NOTHING / DO UPDATE) on the session's
    database, SQLite or PostgreSQL alike."""
    return (postgresql.insert if dialect_of(session) == "postgresql" else sqlite.insert)(table)


def unnested(name: str, columns: Mapping[str, Any]) -> Any:
    """PostgreSQL: rows handed over as one array per column, ``unnest(:a, :b, …) AS
    name(a, b, …)``; each array's parameter is named after its column, and `columns` gives
    each column's type. A statement that reads it is built, compiled and prepared once
    whatever the number of rows, where a VALUES list of N rows is compiled again for each
    batch (a third of the dispatcher's time in this process on PostgreSQL)."""
    arrays = [
        sa.bindparam(column, type_=postgresql.ARRAY(type_)) for column, type_ in columns.items()
    ]
    return sa.func.unnest(*arrays).table_valued(*columns).render_derived(name=name)


class JsonRows:
    """SQLite: rows handed over as one JSON array of arrays in the parameter `name`, read
    with ``json_each``; `columns` names each position and gives its type. One statement
    and one parameter for a whole page of rows, where an executemany binds ten
    parameters a row (and runs the table's triggers' program once per row even when
    their WHEN is false), so SQLAlchemy's per-value work goes: materialising 100,000
    prompts, the INSERTs took 2.82–3.38 s by executemany and 2.01–2.39 s as JSON (three
    rounds alternately)."""

    def __init__(self, name: str, columns: Mapping[str, Any]) -> None:
        self.name = name
        dialect = sqlite.dialect()
        self._values = itemgetter(*columns)
        # The positions whose values SQLAlchemy converts before binding (dates, times).
        self._converted = [
            (index, process)
            for index, type_ in enumerate(columns.values())
            if (process := type_.dialect_impl(dialect).bind_processor(dialect)) is not None
        ]
        each = sa.func.json_each(sa.bindparam(name, type_=sa.String())).table_valued("value")
        self.rows = sa.select(
            *(
                sa.func.json_extract(each.c.value, sa.literal_column(f"'$[{index}]'")).label(column)
                for index, column in enumerate(columns)
            )
        ).where(sa.true())  # an INSERT … SELECT with ON CONFLICT must have a WHERE (SQLite)

    def params(self, rows: Sequence[Mapping[str, Any]]) -> dict[str, str]:
        """The parameter for `rows`: each value as SQLAlchemy would bind it to its
        column, converted once per distinct value (a page of prompts shares a few
        hundred due dates)."""
        encoded = [list(self._values(row)) for row in rows]
        for index, process in self._converted:
            converted: dict[Any, Any] = {None: None}
            for values in encoded:
                value = values[index]
                if value not in converted:
                    converted[value] = process(value)
                values[index] = converted[value]
        return {self.name: json.dumps(encoded, separators=(",", ":"))}


DIALECTS = ("sqlite", "postgresql")


def one_of(column: Any, name: str, item_type: Any) -> dict[str, Any]:
    """`column` is one of the list parameter `name`, written for each database: SQLite's
    ``IN (…)`` with one parameter per item, PostgreSQL's ``= ANY(:name)`` with one array.
    PostgreSQL prepares a statement once per text, and after five runs plans it once
    for any parameters; with one parameter per item, every list length is a new text,
    and the plan made for the items, not knowing the list, may prefer another index
    (the week's meeting logs by date, every match's, 16 ms, over a batch's matches by
    match, 0.2 ms: `storage.meetings`)."""
    return {
        "sqlite": column.in_(sa.bindparam(name, expanding=True)),
        "postgresql": column == sa.any_(sa.bindparam(name, type_=postgresql.ARRAY(item_type))),
    }
