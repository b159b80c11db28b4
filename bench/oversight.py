"""Benchmark: what a coordinator's views cost on a big program.

    python -m bench.oversight [--matches 200] [--weeks 26] [--url postgresql://…]
    python -m bench.oversight --matches 10000          # the issue-14 scale

Seeds a program (a fresh SQLite file unless --url names an empty database) with N
matches and W weeks of history — both partners' weekly check-ins (most answered, some
missed or skipped, with ratings and contact), a meeting log most weeks, a flag on one
match in ten — then times, as of the last week: every open match's health mark
(storage.standings, what /matches orders and counts), the /matches and /flags first
pages, /dashboard's figures, the digest's week in review, and /report's figures and
drawing. The history goes in with the triggers that keep figures off, then the figures are
computed from it as the migrations do (storage.kept.refill): a trigger per row
would make seeding 1,300,000 rows much longer, and seeding is not what is measured.
Each is the median of five runs, printed with the SQL
statements one run sends and its ratio to the /flags first page of the same run (the
reference: the machine may be shared, so absolute times move and ratios hold). Last, what
keeping the weekly figures and last contacts costs a write: a check-in answered, and a
contact reported, with the triggers and without them. Prints figures; not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import tempfile
import time as clock
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from random import Random
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlmodel import SQLModel, select

from conversations.kit.charts import render_report, report_data
from conversations.oversight import ALL, Look, flags_view, matches_view
from locales.translator import translator
from storage.db import Database, async_database_url
from storage.kept import install, refill, uninstall
from storage.migrate import upgrade
from storage.models import (
    Answer,
    Flag,
    Match,
    MeetingLog,
    Person,
    Program,
    Prompt,
    PromptKind,
    PromptStatus,
)
from storage.schedule import period_key
from storage.standings import marks
from storage.summary import dashboard, previous_week, week_in_review

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # a Monday, 10:00 in Toronto
RUNS = 5
REFERENCE = "/flags first page"
CHUNK = 5_000  # rows per executemany


def _people(count: int, start: int) -> list[dict[str, Any]]:
    return [
        {
            "telegram_id": start + index,
            "chat_id": start + index,
            "name": f"Person {start + index}",
            "locale": "fr" if index % 3 == 0 else "en",
            "status": "active",
            "consent_at": NOW,
            "consent_version": "bench",
            "created_at": NOW,
        }
        for index in range(count)
    ]


class Seeder:
    """Rows with their ids chosen here, inserted in bulk (Core executemany): the ORM's
    unit of work would take minutes for a 10,000-match history."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.ids: dict[type[SQLModel], itertools.count[int]] = {}
        self.defaults: dict[type[SQLModel], dict[str, Any]] = {}

    def row(self, model: type[SQLModel], **values: Any) -> dict[str, Any]:
        """One row of `model` with its defaults and a fresh id."""
        if model not in self.defaults:
            self.ids[model] = itertools.count(1)
            self.defaults[model] = {
                name: field.get_default(call_default_factory=True)
                for name, field in model.model_fields.items()
            }
        return self.defaults[model] | values | {"id": next(self.ids[model])}

    async def advance_sequences(self) -> None:
        """On PostgreSQL, move each table's id sequence past the ids chosen here, so that
        later inserts (the writes measured last) get fresh ones."""
        connection = await self.session.connection()
        if connection.dialect.name != "postgresql":
            return
        for model in self.ids:
            table = model.__table__.name  # type: ignore[attr-defined]
            await connection.execute(
                sa.text(
                    f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'),"
                    f' (SELECT max(id) FROM "{table}"))'
                )
            )

    async def insert(self, model: type[SQLModel], rows: list[dict[str, Any]]) -> None:
        table = model.__table__  # type: ignore[attr-defined]
        connection = await self.session.connection()
        for start in range(0, len(rows), CHUNK):
            await connection.execute(sa.insert(table), rows[start : start + CHUNK])


async def seed(database: Database, matches: int, weeks: int) -> Program:
    """One program, `matches` matches that started `weeks` weeks ago, their history."""
    rng = Random(7)
    started = NOW - timedelta(weeks=weeks)
    async with database.session() as session:
        program = Program(name="Bench", created_at=NOW, weeks=weeks)
        session.add(program)
        await session.flush()
        seeder = Seeder(session)
        people = [seeder.row(Person, **row) for row in _people(2 * matches, 1_000_000)]
        await seeder.insert(Person, people)
        pairs = [
            seeder.row(
                Match,
                program_id=program.id or 0,
                mentor_id=people[2 * index]["id"],
                mentee_id=people[2 * index + 1]["id"],
                started_at=started,
            )
            for index in range(matches)
        ]
        await seeder.insert(Match, pairs)
        for week in range(weeks):
            due = started + timedelta(weeks=week)
            await _week(seeder, rng, pairs, due, period_key(due.date()))
        flags = [
            seeder.row(Flag, match_id=match["id"], rule="low_rating", severity="medium",
                       evidence={"marks": []}, opened_at=NOW - timedelta(days=3))
            for match in pairs[::10]
        ]  # fmt: skip
        await seeder.insert(Flag, flags)
        await seeder.advance_sequences()
    return program


async def _week(
    seeder: Seeder, rng: Random, pairs: list[dict[str, Any]], due: datetime, period: str
) -> None:
    """Both partners' check-ins of one week for every match, their answers, the logs."""
    prompts: list[tuple[dict[str, Any], str]] = []
    logs = []
    for match in pairs:
        for person_id, rating_key in (
            (match["mentor_id"], "going"),
            (match["mentee_id"], "helpful"),
        ):
            status = rng.choices(
                (PromptStatus.ANSWERED, PromptStatus.MISSED, PromptStatus.SKIPPED), (8, 1, 1)
            )[0]
            prompt = seeder.row(
                Prompt, person_id=person_id, match_id=match["id"], kind=PromptKind.CHECKIN,
                period=period, instrument="bench", due_at=due,
                closes_at=due + timedelta(days=7), status=status,
            )  # fmt: skip
            prompts.append((prompt, rating_key))
        if rng.random() < 0.7:
            logs.append(
                seeder.row(MeetingLog, match_id=match["id"], author_id=match["mentor_id"],
                           met_on=due.date() + timedelta(days=1),
                           minutes=rng.choice((30, 45, 60, 90)), mode="call", created_at=due)
            )  # fmt: skip
    await seeder.insert(Prompt, [prompt for prompt, _ in prompts])
    await seeder.insert(MeetingLog, logs)
    answers = [
        seeder.row(Answer, prompt_id=prompt["id"], question_key=key, value=value,
                   answered_at=due + timedelta(hours=2))
        for prompt, rating_key in prompts
        if prompt["status"] == PromptStatus.ANSWERED
        for key, value in ((rating_key, str(rng.randint(1, 5))), ("contact", "call"))
    ]  # fmt: skip
    await seeder.insert(Answer, answers)


Figure = tuple[str, float, int | None]  # label, median seconds, statements per run


async def _median(action: Callable[[], Awaitable[Any]]) -> float:
    times = []
    for _ in range(RUNS):
        start = clock.perf_counter()
        await action()
        times.append(clock.perf_counter() - start)
    return statistics.median(times)


def statement_counter(database: Database) -> itertools.count[int]:
    """A counter that every statement the engine sends moves on by one."""
    counter = itertools.count()
    event.listen(database.engine.sync_engine, "before_cursor_execute", lambda *_args: next(counter))
    return counter


async def measure(database: Database, program: Program, weeks: int) -> list[Figure]:
    tr = translator("fr")
    today: date = NOW.date()
    this_week = period_key(today)
    figures: list[Figure] = []
    counter = statement_counter(database)

    async def timed(label: str, action: Callable[[Any], Awaitable[Any]]) -> None:
        async def run() -> None:
            async with database.session() as session:
                await action(session)

        before = next(counter)
        await run()  # one run to count its statements (and warm the caches)
        statements = next(counter) - before - 1
        figures.append((label, await _median(run), statements))

    await timed("match health, all matches", lambda s: marks(s, [program], NOW))
    await timed(
        "/matches first page", lambda s: matches_view(Look(s, tr, [program], NOW), ALL, 0, 0)
    )
    await timed(REFERENCE, lambda s: flags_view(Look(s, tr, [program], NOW), 0))
    await timed("/dashboard figures", lambda s: dashboard(s, program, NOW))
    await timed(
        "digest: last week in review",
        lambda s: week_in_review(s, program, previous_week(this_week), NOW),
    )
    await timed(f"/report figures, {weeks} weeks", lambda s: report_data(s, program, today, weeks))
    async with database.session() as session:
        data = await report_data(session, program, today, weeks)
    figures.append(
        (f"/report drawing, {weeks} weeks", await _median(
            lambda: asyncio.to_thread(render_report, data, tr, program.name)
        ), None)
    )  # fmt: skip
    return figures


WRITES = 300  # writes timed to measure what the triggers that keep figures add to one


async def _rated(connection: Any, prompt_id: int) -> None:
    """A check-in answered: its rating stored, its status set to answered, as a tap does."""
    await connection.execute(sa.insert(Answer.__table__), [  # type: ignore[attr-defined]
        {"prompt_id": prompt_id, "question_key": "helpful", "value": "4", "answered_at": NOW}
    ])  # fmt: skip
    prompts = Prompt.__table__  # type: ignore[attr-defined]
    await connection.execute(
        sa.update(prompts).where(prompts.c.id == prompt_id).values(status=PromptStatus.ANSWERED)
    )


async def _reported(connection: Any, prompt_id: int) -> None:
    """A contact reported: the check-in's "were you in touch?" answered (its match's last
    contact is kept as well as its week's figures)."""
    await connection.execute(sa.insert(Answer.__table__), [  # type: ignore[attr-defined]
        {"prompt_id": prompt_id, "question_key": "contact", "value": "call", "answered_at": NOW}
    ])  # fmt: skip


WRITES_TIMED = (
    ("a check-in answered (rating + status)", _rated),
    ("a contact reported (one answer)", _reported),
)


async def answering(
    database: Database, write: Callable[[Any, int], Awaitable[None]]
) -> tuple[float, float]:
    """Seconds per `write` (the median of a few hundred) with the triggers that keep
    figures and without them, on missed check-ins of the history, in transactions rolled
    back."""
    async with database.session() as session:
        missed = select(Prompt.id).where(Prompt.status == PromptStatus.MISSED).limit(2 * WRITES)
        ids = list((await session.exec(missed)).all())
    half = max(1, len(ids) // 2)  # a tiny program has few missed check-ins
    times = []
    for batch, triggers in ((ids[:half], True), (ids[half:], False)):
        async with database.engine.connect() as connection:
            transaction = await connection.begin()
            if not triggers:
                await connection.run_sync(uninstall)
            each = []
            for prompt_id in batch:
                start = clock.perf_counter()
                await write(connection, prompt_id)
                each.append(clock.perf_counter() - start)
            times.append(statistics.median(each))
            await transaction.rollback()
    return times[0], times[1]


async def run(matches: int, weeks: int, url: str | None) -> None:
    with tempfile.TemporaryDirectory() as folder:
        database = Database(async_database_url(url or f"sqlite:///{Path(folder) / 'bench.db'}"))
        await upgrade(database)
        start = clock.perf_counter()
        async with database.engine.begin() as connection:
            await connection.run_sync(uninstall)
        program = await seed(database, matches, weeks)
        async with database.engine.begin() as connection:
            await connection.run_sync(refill)
            await connection.run_sync(install)
        if not database.is_sqlite:  # statistics, as autovacuum keeps them after such a load
            async with database.engine.connect() as connection:
                await connection.execution_options(isolation_level="AUTOCOMMIT")
                await connection.execute(sa.text("ANALYZE"))
        print(
            f"seeded {matches} matches × {weeks} weeks ({matches * weeks * 2:,} check-ins) "
            f"on {database.engine.dialect.name} in {clock.perf_counter() - start:.1f} s"
        )
        figures = await measure(database, program, weeks)
        reference = next(seconds for label, seconds, _ in figures if label == REFERENCE)
        print(f"  {'view':<34} {'median':>11} {'statements':>10} {'÷ /flags':>9}")
        for label, seconds, statements in figures:
            count = "" if statements is None else str(statements)
            print(f"  {label:<34} {seconds * 1000:8.1f} ms {count:>10} {seconds / reference:8.1f}×")
        for label, write in WRITES_TIMED:
            kept, plain = await answering(database, write)
            print(
                f"  {label}: {kept * 1000:.2f} ms with the weekly figures and last contacts"
                f" kept, {plain * 1000:.2f} ms without ({(kept - plain) * 1000:+.2f} ms)"
            )
        await database.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--matches", type=int, default=200)
    parser.add_argument("--weeks", type=int, default=26)
    parser.add_argument("--url", help="an empty database to seed (default: a SQLite file)")
    arguments = parser.parse_args()
    asyncio.run(run(arguments.matches, arguments.weeks, arguments.url))


if __name__ == "__main__":
    main()
