"""What the triggers keep — the weekly figures (storage.week_figures) and each match's
last contact (storage.last_contact) — against plain queries over the rows themselves, on
the random programs of tests/test_standings.py, then after what moves them: statuses
changed in bulk as the dispatcher does, answers changed and dropped, logs edited, deleted
and moved to another week or match, check-ins deleted or moved to another match, a match
and a person deleted (cascades), a person erased, a program's check-ins purged. Refilling
the tables from the rows (the migrations' backfill) gives the same rows. Run on SQLite
and, with TEST_DATABASE_URL, on PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from random import Random
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from conversations.kit.erasure import erasure_keeps
from storage.answers import drop_answers, store_answers
from storage.contacts import NO_CONTACT, is_reported
from storage.db import Database
from storage.erasure import Actor, erase_person
from storage.kept import refill
from storage.metrics import (
    DURATION_MINUTES,
    Rate,
    recent_periods,
    weekly_contact_minutes,
    weekly_rates,
    weekly_ratings,
)
from storage.models import (
    Answer,
    Match,
    MatchContact,
    MatchWeek,
    MeetingLog,
    Person,
    PersonStatus,
    Program,
    ProgramWeek,
    Prompt,
    PromptKind,
    PromptStatus,
)
from storage.schedule import period_key
from storage.summary import local_today
from storage.week_figures import WeekFigures, program_weeks
from tests.conftest import FakeClock
from tests.test_standings import programs  # noqa: F401  (the random programs fixture)

NOTHING = WeekFigures(Rate(), None, None, 0)


def _periods(program: Program, now: datetime) -> list[str]:
    """Every week the random history reaches, and a few around it."""
    return recent_periods(local_today(program, now) + timedelta(weeks=2), 16)


async def _plain(session: AsyncSession, program_id: int, periods: list[str]) -> dict[str, Any]:
    rates = await weekly_rates(session, program_id, periods)
    ratings = await weekly_ratings(session, program_id, periods)
    minutes = await weekly_contact_minutes(session, program_id, periods)
    return {
        period: WeekFigures(
            rates.get(period, Rate()),
            ratings.get(period, {}).get("mentee"),
            ratings.get(period, {}).get("mentor"),
            minutes[period],
        )
        for period in periods
    }


async def _plain_contacts(session: AsyncSession) -> dict[int, tuple[Any, Any]]:
    """Each match's latest meeting (deleted logs left out) and latest contact reported,
    from the logs and answers themselves (None, None for a match with neither)."""
    latest: dict[int, list[Any]] = {
        match_id: [None, None] for match_id in (await session.exec(select(Match.id))).all()
    }
    logs = await session.exec(select(MeetingLog).where(col(MeetingLog.deleted_at).is_(None)))
    for log in logs.all():
        known = latest[log.match_id][0]
        latest[log.match_id][0] = log.met_on if known is None else max(known, log.met_on)
    answers = await session.exec(select(Prompt.match_id, Answer).join(Answer))
    for match_id, answer in answers.all():
        known = latest[match_id][1]
        if is_reported(answer.question_key, answer.value):
            moment = answer.answered_at
            latest[match_id][1] = moment if known is None else max(known, moment)
    return {match_id: (met_on, reported_at) for match_id, (met_on, reported_at) in latest.items()}


async def _check_contacts(session: AsyncSession) -> int:
    """The kept last contacts equal the plain ones; how many matches have one."""
    rows = (await session.exec(select(MatchContact))).all()
    kept = {row.match_id: (row.met_on, row.reported_at) for row in rows}
    plain = await _plain_contacts(session)
    assert {match_id: kept.get(match_id, (None, None)) for match_id in plain} == plain
    assert set(kept) <= set(plain)  # a deleted match keeps no row
    return sum(contact != (None, None) for contact in plain.values())


async def check_kept_rows(database: Database, scope: list[Program], now: datetime) -> int:
    """The kept figures and last contacts equal the plain ones for every week and match;
    how many weeks had any figure."""
    weeks = 0
    async with database.session() as session:
        await _check_contacts(session)
        for program in scope:
            periods = _periods(program, now)
            kept = await program_weeks(session, program.id or 0, periods)
            shown = {period: kept.get(period, NOTHING) for period in periods}
            assert shown == await _plain(session, program.id or 0, periods)
            weeks += sum(week != NOTHING for week in shown.values())
    return weeks


async def _tables(database: Database) -> tuple[list[tuple[object, ...]], ...]:
    tables = (MatchWeek.__table__, ProgramWeek.__table__, MatchContact.__table__)  # type: ignore[attr-defined]
    contents = []
    async with database.engine.connect() as connection:
        for table in tables:
            rows = (await connection.execute(sa.select(table))).all()
            contents.append(sorted(tuple(row) for row in rows))
    return tuple(contents)


async def _refilled_alike(database: Database) -> None:
    """Computing the tables again from the rows gives what the triggers kept (but for
    weeks of zeros, which either may hold: a log moved away leaves one)."""
    kept = await _tables(database)
    async with database.engine.begin() as connection:
        await connection.run_sync(refill)
    for table, before, after in zip(
        ("match_week", "program_week", "match_contact"), kept, await _tables(database), strict=True
    ):
        figures = {"match_week": 3, "program_week": 2, "match_contact": 1}[table]  # after the key
        assert [row for row in after if any(row[figures:])] == [
            row for row in before if any(row[figures:])
        ], table


async def test_kept_figures_equal_the_plain_ones_on_random_programs(
    database: Database,
    programs: list[Program],  # noqa: F811
    clock: FakeClock,
) -> None:
    assert await check_kept_rows(database, programs, clock()) > 10
    async with database.session() as session:
        assert await _check_contacts(session) > 10
    await _refilled_alike(database)


async def _prompts(session: AsyncSession, kind: str = PromptKind.CHECKIN) -> list[Prompt]:
    statement = select(Prompt).where(Prompt.kind == kind).order_by(col(Prompt.id))
    return list((await session.exec(statement)).all())


async def _statuses_in_bulk(session: AsyncSession, rng: Random, now: datetime) -> None:
    """What the dispatcher and the expiry sweep do: one UPDATE for many check-ins."""
    ids = [prompt.id for prompt in await _prompts(session) if rng.random() < 0.3]
    for status in (PromptStatus.SENDING, PromptStatus.SENT, rng.choice(list(PromptStatus))):
        await session.exec(
            sa.update(Prompt).where(col(Prompt.id).in_(ids)).values(status=status)  # type: ignore[call-overload]
        )


async def _answers(session: AsyncSession, rng: Random, now: datetime) -> None:
    """Re-answers (the upsert a tap makes), answers dropped, a check-in deleted."""
    prompts = await _prompts(session)
    changed = [
        (prompt.id or 0, key, rng.choice(["1", "3", "5", "", NO_CONTACT, *DURATION_MINUTES]), now)
        for prompt in rng.sample(prompts, 15)
        for key in rng.sample(["helpful", "going", "duration", "contact"], 2)
    ]
    await store_answers(session, changed)
    for prompt in rng.sample(prompts, 8):
        await drop_answers(session, prompt.id or 0, ["going", "helpful", "duration"])
    await session.delete(rng.choice(prompts))
    await session.flush()
    answered = list(
        (await session.exec(select(Answer).where(Answer.question_key == "contact"))).all()
    )
    for answer in rng.sample(answered, 4):  # a report edited, one given later
        answer.value = NO_CONTACT if is_reported(answer.question_key, answer.value) else "call"
        answer.answered_at = now + timedelta(hours=rng.randint(1, 30))


async def _moved_checkins(session: AsyncSession, rng: Random, now: datetime) -> None:
    """Check-ins (with their answers) moved to another match, as a correction would."""
    matches = list((await session.exec(select(Match.id))).all())
    for prompt in rng.sample(await _prompts(session), 6):
        prompt.match_id = rng.choice(matches) or 0


async def _purge(session: AsyncSession, rng: Random, now: datetime) -> None:
    """One statement deletes many check-ins, their answers going with them (a purge)."""
    ids = [prompt.id for prompt in await _prompts(session) if rng.random() < 0.2]
    await session.exec(sa.delete(Prompt).where(col(Prompt.id).in_(ids)))  # type: ignore[call-overload]


async def _logs(session: AsyncSession, rng: Random, now: datetime) -> None:
    """Logs edited, moved to another week or match, deleted softly and for good."""
    logs = list((await session.exec(select(MeetingLog).order_by(col(MeetingLog.id)))).all())
    matches = list((await session.exec(select(Match.id))).all())
    for log in rng.sample(logs, len(logs) // 3):
        match rng.randrange(5):
            case 0:
                log.minutes += 25
            case 1:
                log.met_on -= timedelta(days=rng.randint(1, 9))
            case 2:
                log.deleted_at = None if log.deleted_at else now
            case 3:
                log.match_id = rng.choice(matches) or 0
            case _:
                await session.delete(log)


async def _deletions(session: AsyncSession, rng: Random, now: datetime) -> None:
    """A match and a person go with everything hanging from them (cascades)."""
    await session.delete(rng.choice(list((await session.exec(select(Match))).all())))
    await session.flush()
    people = list((await session.exec(select(Person).order_by(col(Person.id)))).all())
    await session.delete(rng.choice(people))


async def _erasure(session: AsyncSession, rng: Random, now: datetime) -> None:
    match = rng.choice(list((await session.exec(select(Match))).all()))
    person = await session.get(Person, match.mentee_id)
    assert person is not None
    await erase_person(session, person, Actor(None, "test"), "test", now, keeps=erasure_keeps())


async def test_kept_figures_follow_every_change(
    database: Database,
    programs: list[Program],  # noqa: F811
    clock: FakeClock,
) -> None:
    rng, now = Random(11), clock()
    changes = (_statuses_in_bulk, _answers, _moved_checkins, _logs, _deletions, _erasure, _purge)
    for change in changes:
        async with database.session() as session:
            await change(session, rng, now)
        assert await check_kept_rows(database, programs, now) > 10, change.__name__
    await _refilled_alike(database)


async def _week_of_two_checkins(database: Database, program: Program, now: datetime) -> list[int]:
    """A match whose mentor and mentee both have this week's check-in open: their ids."""
    async with database.session() as session:
        people = [
            Person(
                telegram_id=80_000 + n,
                name=f"P{n}",
                status=PersonStatus.ACTIVE,
                consent_at=now,
                consent_version="t",
                created_at=now,
            )
            for n in (0, 1)
        ]
        session.add_all(people)
        await session.flush()
        match = Match(
            program_id=program.id or 0,
            mentor_id=people[0].id or 0,
            mentee_id=people[1].id or 0,
            started_at=now - timedelta(weeks=3),
        )
        session.add(match)
        await session.flush()
        prompts = [
            Prompt(
                person_id=person.id or 0,
                match_id=match.id or 0,
                kind=PromptKind.CHECKIN,
                period=period_key(now.date()),
                instrument="t",
                due_at=now,
                closes_at=now + timedelta(days=7),
                status=PromptStatus.SENT,
            )
            for person in people
        ]
        session.add_all(prompts)
        await session.flush()
        return [prompt.id or 0 for prompt in prompts]


async def test_two_partners_answering_at_once_both_count(
    database: Database, program: Program, clock: FakeClock
) -> None:
    """The mentor's and the mentee's answers of one week, written by two transactions at
    the same time: the second to recompute the week waits for the first and counts both
    ratings (on PostgreSQL, without the lock, each would recompute from what it saw)."""
    now = clock()
    mentor_prompt, mentee_prompt = await _week_of_two_checkins(database, program, now)

    async def answer(prompt_id: int, key: str, value: str) -> None:
        async with database.session() as session:
            await store_answers(session, [(prompt_id, key, value, now)])

    async with database.session() as first:
        await store_answers(first, [(mentee_prompt, "helpful", "4", now)])
        second = asyncio.create_task(answer(mentor_prompt, "going", "2"))
        await asyncio.sleep(0.3)  # the second transaction is under way, waiting
        assert not second.done()
    await second
    async with database.session() as session:
        week = (await program_weeks(session, program.id or 0, [period_key(now.date())]))[
            period_key(now.date())
        ]
    assert (week.mentee_rating, week.mentor_rating) == (4.0, 2.0)
    assert await check_kept_rows(database, [program], now) == 1


async def test_a_batch_of_answers_counts_each_question_once_the_last_answer_winning(
    database: Database, program: Program, clock: FakeClock
) -> None:
    """The dispatcher stores a batch's answers in one statement (one multi-row VALUES on
    PostgreSQL): a question given twice keeps its last answer, as one row at a time
    would, and the week's figures count it once."""
    now = clock()
    mentor_prompt, mentee_prompt = await _week_of_two_checkins(database, program, now)
    async with database.session() as session:
        await store_answers(
            session,
            [
                (mentee_prompt, "helpful", "2", now),
                (mentor_prompt, "going", "3", now),
                (mentee_prompt, "helpful", "5", now),
            ],
        )
    async with database.session() as session:
        stored = await session.exec(
            select(Answer.prompt_id, Answer.value).order_by(col(Answer.prompt_id))
        )
        assert sorted(stored.all()) == sorted([(mentee_prompt, "5"), (mentor_prompt, "3")])
        period = period_key(now.date())
        week = (await program_weeks(session, program.id or 0, [period]))[period]
    assert (week.mentee_rating, week.mentor_rating) == (5.0, 3.0)
    assert await check_kept_rows(database, [program], now) == 1


async def test_a_transaction_over_many_matches_locks_their_program_once(
    database: Database, program: Program, clock: FakeClock
) -> None:
    """On PostgreSQL the triggers lock what they recompute until the transaction ends. A
    lock per match made a transaction over thousands of matches (a purge, deleting a
    week's prompts) run out of PostgreSQL's lock table; the program is locked once."""
    if database.is_sqlite:
        pytest.skip("SQLite takes no lock: one writer at a time")
    now, matches = clock(), 300
    week = period_key(now.date())
    async with database.session() as session:
        first = (await session.exec(sa.select(sa.func.coalesce(sa.func.max(Person.id), 0)))).one()[
            0
        ]
        people = [
            {"id": first + n + 1, "telegram_id": 90_000 + n, "name": f"P{n}",
             "status": PersonStatus.ACTIVE, "created_at": now, "consent_at": now,
             "consent_version": "t"}
            for n in range(2 * matches)
        ]  # fmt: skip
        await session.exec(sa.insert(Person), params=people)
        pairs = [
            {"program_id": program.id, "mentor_id": first + 2 * n + 1,
             "mentee_id": first + 2 * n + 2, "started_at": now - timedelta(weeks=3)}
            for n in range(matches)
        ]  # fmt: skip
        ids = (await session.exec(sa.insert(Match).returning(Match.id), params=pairs)).all()
        await session.exec(
            sa.insert(Prompt),
            params=[
                {"person_id": first + 2 * n + 1 + side, "match_id": match_id,
                 "kind": PromptKind.CHECKIN, "period": week, "instrument": "t", "due_at": now,
                 "closes_at": now + timedelta(days=7), "status": PromptStatus.SENDING}
                for n, (match_id,) in enumerate(ids)
                for side in (0, 1)
            ],
        )  # fmt: skip
    async with database.session() as session:
        await session.exec(
            sa.update(Prompt)
            .where(col(Prompt.match_id).in_([match_id for (match_id,) in ids]))
            .values(status=PromptStatus.SENT)
        )
        held = await session.exec(
            sa.text(
                "SELECT count(*) FROM pg_locks"
                " WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
            )
        )
        assert held.one()[0] == 1
    async with database.session() as session:
        figures = await program_weeks(session, program.id or 0, [week])
    assert figures[week].rate == Rate(0, 2 * matches)
    assert await check_kept_rows(database, [program], now) >= 1
