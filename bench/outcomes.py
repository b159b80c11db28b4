"""Benchmark: what a program's outcome figures cost once many of its matches have closed.

    python -m bench.outcomes [--matches 10000] [--url postgresql://…]

Seeds a program (a fresh SQLite file unless --url names an empty database) with N closed
matches, both closure surveys of each (most answered, some missed or never sent) and the
mentee's 3- and 6-month follow-ups (most answered, with an employment status and a start
date), then times `program_outcomes` (what /dashboard, the digest and /report add) and
`mentee_outcomes` (the export's sheet), each the median of five runs, against a floor:
one count of the same prompts (the cheapest query that reads them). Absolute times are
noisy on a shared machine; the ratio to the floor is the figure. Prints figures; not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time as clock
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from random import Random
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select

from storage.db import Database, async_database_url
from storage.migrate import upgrade
from storage.models import Answer, Match, Person, Program, Prompt, PromptKind
from storage.outcomes import mentee_outcomes, program_outcomes

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
RUNS = 5
STATUSES = ["employed_field", "employed_other", "studying", "looking", "other"]


async def _insert(session: Any, table: Any, rows: list[dict[str, Any]], chunk: int = 2000) -> None:
    connection = await session.connection()
    for start in range(0, len(rows), chunk):
        await connection.execute(sa.insert(table), rows[start : start + chunk])


async def seed(database: Database, matches: int) -> Program:
    """One program whose `matches` matches closed over the last year, with their surveys."""
    rng = Random(7)
    async with database.session() as session:
        program = Program(name="Bench", created_at=NOW)
        session.add(program)
        await session.flush()
        people = [
            {"telegram_id": 1_000_000 + index, "chat_id": 1_000_000 + index, "status": "active",
             "consent_at": NOW, "consent_version": "bench", "created_at": NOW}
            for index in range(2 * matches)
        ]  # fmt: skip
        await _insert(session, Person.__table__, people)  # type: ignore[attr-defined]
        ids = list((await session.exec(select(Person.id).order_by(col(Person.id)))).all())
        pairs = []
        for index in range(matches):
            started = NOW - timedelta(days=400 + rng.randrange(200))
            closed = started + timedelta(weeks=12)
            pairs.append(
                {"program_id": program.id, "mentor_id": ids[2 * index],
                 "mentee_id": ids[2 * index + 1], "status": "closed", "started_at": started,
                 "closing_at": closed - timedelta(days=14), "closed_at": closed}
            )  # fmt: skip
        await _insert(session, Match.__table__, pairs)  # type: ignore[attr-defined]
        rows = (await session.exec(select(Match.id, Match.mentor_id, Match.mentee_id))).all()
        prompts, answers = [], []
        for match_id, mentor_id, mentee_id in rows:
            surveys = [(mentor_id, "closure", "closure"), (mentee_id, "closure", "closure")]
            surveys += [(mentee_id, "followup", "m3"), (mentee_id, "followup", "m6")]
            for person_id, kind, period in surveys:
                answered = rng.random() < 0.7
                status = "answered" if answered else rng.choice(["missed", "expired"])
                prompts.append(
                    {"person_id": person_id, "match_id": match_id, "kind": kind,
                     "period": period, "instrument": f"{kind}_bench", "due_at": NOW,
                     "closes_at": NOW, "status": status, "attempts": 1,
                     "answered_at": NOW if answered else None}
                )  # fmt: skip
        await _insert(session, Prompt.__table__, prompts)  # type: ignore[attr-defined]
        followups = await session.exec(
            select(Prompt.id).where(Prompt.kind == PromptKind.FOLLOWUP, Prompt.status == "answered")
        )
        for prompt_id in followups.all():
            status = rng.choice(STATUSES)
            answers.append({"prompt_id": prompt_id, "question_key": "employment",
                            "value": status, "answered_at": NOW})  # fmt: skip
            if status in STATUSES[:3]:
                day = (NOW - timedelta(days=rng.randrange(300))).date().isoformat()
                answers.append({"prompt_id": prompt_id, "question_key": "started",
                                "value": day, "answered_at": NOW})  # fmt: skip
        await _insert(session, Answer.__table__, answers)  # type: ignore[attr-defined]
    return program


async def _median(action: Callable[[], Awaitable[Any]]) -> float:
    times = []
    for _ in range(RUNS):
        start = clock.perf_counter()
        await action()
        times.append(clock.perf_counter() - start)
    return statistics.median(times)


async def measure(database: Database, program: Program) -> list[tuple[str, float]]:
    async def timed(action: Callable[[Any], Awaitable[Any]]) -> float:
        async def run() -> None:
            async with database.session() as session:
                await action(session)

        return await _median(run)

    async def floor(session: Any) -> None:
        await session.exec(
            select(sa.func.count(col(Prompt.id)))
            .join(Match, col(Match.id) == col(Prompt.match_id))
            .where(
                Match.program_id == program.id,
                col(Prompt.kind).in_((PromptKind.CLOSURE, PromptKind.FOLLOWUP)),
            )
        )

    return [
        ("floor: count the same prompts", await timed(floor)),
        ("program_outcomes (views)", await timed(lambda s: program_outcomes(s, program))),
        ("mentee_outcomes (export)", await timed(lambda s: mentee_outcomes(s, program))),
    ]


async def run(matches: int, url: str | None) -> None:
    with tempfile.TemporaryDirectory() as folder:
        database = Database(async_database_url(url or f"sqlite:///{Path(folder) / 'bench.db'}"))
        await upgrade(database)
        start = clock.perf_counter()
        program = await seed(database, matches)
        async with database.session() as session:
            await session.exec(sa.text("ANALYZE"))  # as autovacuum would have by then
        print(
            f"seeded {matches:,} closed matches ({matches * 4:,} surveys and follow-ups) on "
            f"{database.engine.dialect.name} in {clock.perf_counter() - start:.1f} s"
        )
        figures = await measure(database, program)
        base = figures[0][1]
        for label, seconds in figures:
            print(f"  {label:<32} {seconds * 1000:8.1f} ms  ×{seconds / base:5.1f} the floor")
        await database.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--matches", type=int, default=10_000)
    parser.add_argument("--url", help="an empty database to seed (default: a SQLite file)")
    arguments = parser.parse_args()
    asyncio.run(run(arguments.matches, arguments.url))


if __name__ == "__main__":
    main()
