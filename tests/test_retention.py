"""Retention: `tandem purge` anonymises exactly the people all of whose programs are past
`retention.months` after their last match closed; `--dry-run` lists them and changes
nothing; a running match, a longer retention or another program keeps a person."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import col, select

from bot import cli
from bot.dispatch_job import JOB_NAME
from storage.db import Database
from storage.models import AuditEvent, MatchStatus, Person, PersonStatus, Program, Role
from storage.retention import add_months
from tests.builders import add_match, add_membership, onboarded
from tests.conftest import FakeClock
from tests.harness import FakeTelegram
from tests.test_cli import succeeded, tandem

LAST_CLOSED = datetime(2024, 10, 1, 12, 0, tzinfo=UTC)  # 24 months before: 2026-10-01


@pytest.fixture(autouse=True)
def cli_clock(monkeypatch: pytest.MonkeyPatch, clock: FakeClock) -> None:
    monkeypatch.setattr(cli, "clock", clock)
    monkeypatch.setattr(cli, "cli_actor", lambda: "cli ana")


async def seed(database: Database, clock: FakeClock) -> dict[str, int]:
    """Four programs: `old` (closed 2024, default retention), `long` (closed 2024 but kept
    36 months), `running` (a match still active), `edge` (closed exactly 24 months ago
    today). Olga is in `old` only; Lena in `old` and `long`."""
    now = clock()
    ids: dict[str, int] = {}
    async with database.session() as session:
        programs = {}
        for name, settings in (("old", {}), ("long", {"retention": {"months": 36}}),
                               ("running", {}), ("edge", {})):  # fmt: skip
            program = Program(name=name, settings=settings, created_at=now)
            session.add(program)
            await session.flush()
            programs[name] = program.id or 0
        people = {}
        for number, (name, program, role) in enumerate(
            [("Olga", "old", Role.MENTEE), ("Oscar", "old", Role.MENTOR),
             ("Lena", "long", Role.MENTEE), ("Luc", "long", Role.MENTOR),
             ("Rita", "running", Role.MENTEE), ("Raj", "running", Role.MENTOR),
             ("Eve", "edge", Role.MENTEE), ("Ed", "edge", Role.MENTOR)],
            start=1,
        ):  # fmt: skip
            people[name] = await onboarded(
                session, now, program_id=programs[program], role=role,
                telegram_id=1000 + number, name=name,
            )  # fmt: skip
            ids[name] = people[name].id or 0
        await add_membership(session, now, ids["Lena"], programs["old"], Role.MENTOR)
        closed = {"status": MatchStatus.CLOSED, "closed_at": LAST_CLOSED}
        await add_match(
            session, programs["old"], people["Oscar"], people["Olga"], LAST_CLOSED, **closed
        )
        await add_match(
            session, programs["long"], people["Luc"], people["Lena"], LAST_CLOSED, **closed
        )
        await add_match(session, programs["running"], people["Raj"], people["Rita"], LAST_CLOSED)
        edge = {"status": MatchStatus.CLOSED, "closed_at": add_months(now, -24)}
        await add_match(session, programs["edge"], people["Ed"], people["Eve"], LAST_CLOSED, **edge)
    return ids


async def statuses(database: Database) -> dict[str, str]:
    async with database.session() as session:
        rows = (await session.exec(select(Person).order_by(col(Person.id)))).all()
    return {person.name or f"#{person.id}": person.status for person in rows}


async def test_purge_takes_exactly_who_is_past_retention(
    database: Database, database_url: str, clock: FakeClock
) -> None:
    ids = await seed(database, clock)
    before = await statuses(database)
    listed = await tandem(database_url, "purge", "--dry-run")
    out = succeeded(listed)
    assert [line.split()[1] for line in out.splitlines()[2:]] == ["Olga", "Oscar", "Eve", "Ed"]
    assert "old" in out and "2024-10-01" in out and "2026-10-01" in out
    assert listed.stderr == "4 people would be anonymized (dry run).\n"
    assert await statuses(database) == before

    done = await tandem(database_url, "purge")
    assert done.stderr == "4 people anonymized.\n"
    after = await statuses(database)
    erased = {ids[name] for name in ("Olga", "Oscar", "Ed", "Eve")}
    assert {f"#{person_id}" for person_id in erased} <= set(after)
    assert all(after[f"#{person_id}"] == PersonStatus.ERASED for person_id in erased)
    assert {name: after[name] for name in ("Lena", "Luc", "Rita", "Raj")} == dict.fromkeys(
        ("Lena", "Luc", "Rita", "Raj"), PersonStatus.ACTIVE
    )
    async with database.session() as session:
        events = (
            await session.exec(select(AuditEvent).where(AuditEvent.action == "person.erased"))
        ).all()
    assert len(events) == 4
    assert {event.detail["reason"] for event in events} == {
        "retention: 24 months after the last match closed"
    }
    again = await tandem(database_url, "purge")
    assert (again.stdout, again.stderr) == ("", "Nobody is past their program's retention.\n")

    clock.advance(days=1)  # one more day: nothing changes for the others
    assert (await tandem(database_url, "purge", "--dry-run")).stdout == ""


def test_add_months_keeps_the_day_or_takes_the_months_last() -> None:
    assert add_months(datetime(2024, 1, 31, tzinfo=UTC), 1) == datetime(2024, 2, 29, tzinfo=UTC)
    assert add_months(datetime(2024, 10, 1, tzinfo=UTC), 24) == datetime(2026, 10, 1, tzinfo=UTC)
    assert add_months(datetime(2026, 11, 16, tzinfo=UTC), -24) == datetime(2024, 11, 16, tzinfo=UTC)
    assert add_months(datetime(2026, 1, 16, tzinfo=UTC), -13) == datetime(2024, 12, 16, tzinfo=UTC)


async def test_the_daily_sweep_purges_as_tandem_purge_does_once_a_day(
    database: Database, clock: FakeClock, tg: FakeTelegram
) -> None:
    """The application's own dispatcher anonymises the same people, once per 24 hours."""
    ids = await seed(database, clock)
    (job,) = tg.application.job_queue.get_jobs_by_name(JOB_NAME)
    dispatcher = job.data

    report = await dispatcher.tick()

    assert report.purged == 4
    after = await statuses(database)
    assert {after[f"#{ids[name]}"] for name in ("Olga", "Oscar", "Ed", "Eve")} == {
        PersonStatus.ERASED
    }
    assert {after[name] for name in ("Lena", "Luc", "Rita", "Raj")} == {PersonStatus.ACTIVE}
    async with database.session() as session:
        actors = (
            await session.exec(
                select(AuditEvent.actor_label).where(AuditEvent.action == "person.erased")
            )
        ).all()
    assert actors == ["retention"] * 4

    clock.advance(hours=1)  # the day's purge has run: nothing more today
    assert (await dispatcher.tick()).purged == 0
    clock.advance(days=400)  # Lena's and Luc's 36 months have run out too
    assert (await dispatcher.tick()).purged == 2
