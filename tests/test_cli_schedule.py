"""`tandem schedule PROGRAM [--days N]`: the coordinator's preview of who gets which
check-in when, in local time and UTC, computed from the slots without writing anything."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlmodel import select

from bot import cli
from storage.db import Database
from storage.models import PersonStatus, Program, Prompt, Role
from tests.conftest import FakeClock
from tests.test_cli import refused, succeeded, tandem
from tests.test_dispatch import ST_JOHNS, TORONTO, VANCOUVER, add_pair
from tests.test_pairing import add_person, join


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, clock: FakeClock) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli, "clock", clock)
    clock.now = datetime(2026, 11, 16, 15, tzinfo=UTC)  # Monday, after 09:00 in Toronto


def rows(output: str) -> list[list[str]]:
    """The table's data lines split on runs of two spaces."""
    lines = output.strip().splitlines()
    return [[cell.strip() for cell in line.split("  ") if cell.strip()] for line in lines[2:]]


async def test_schedule_lists_each_checkin_in_local_time_and_utc(
    database: Database, database_url: str
) -> None:
    career = await add_pair(database, zone=TORONTO, mentor_zone=ST_JOHNS)
    west = await add_pair(
        database,
        zone=VANCOUVER,
        mentee_status=PersonStatus.PAUSED,
        paused_until=date(2026, 11, 25),
    )
    result = await tandem(database_url, "schedule", "Career")
    output = succeeded(result)
    table, _, waiting = output.partition("\n\n")
    assert rows(table) == [
        ["2026-11-16 17:00", "Mon 2026-11-16 09:00 America/Vancouver", west.mentor.name or "",
         "mentor", "weekly", "mentor_weekly"],
        ["2026-11-23 12:30", "Mon 2026-11-23 09:00 America/St_Johns", career.mentor.name or "",
         "mentor", "weekly", "mentor_weekly"],
        ["2026-11-23 14:00", "Mon 2026-11-23 09:00 America/Toronto", career.mentee.name or "",
         "mentee", "weekly", "mentee_weekly"],
    ]  # fmt: skip
    assert table.splitlines()[0].split() == [
        "UTC", "LOCAL", "TIME", "NAME", "ROLE", "CHECK-IN", "INSTRUMENT",
    ]  # fmt: skip
    assert rows(waiting) == [[west.mentee.name or "", "mentee", "paused until 2026-11-25"]]
    assert "3 check-ins in Career from 2026-11-16 15:00 to 2026-11-23 15:00 UTC" in (result.stderr)
    async with database.session() as session:
        assert (await session.exec(select(Prompt))).all() == []  # a preview writes nothing


async def test_schedule_further_ahead_shows_the_pulse_and_the_end_of_a_pause(
    database: Database, database_url: str
) -> None:
    await add_pair(database, zone=TORONTO)
    west = await add_pair(
        database, zone=VANCOUVER, mentee_status=PersonStatus.PAUSED,
        paused_until=date(2026, 11, 25),
    )  # fmt: skip
    output = succeeded(await tandem(database_url, "schedule", "Career", "--days", "21"))
    table, _, _ = output.partition("\n\n")
    paused_mentee = [row for row in rows(table) if row[2] == west.mentee.name]
    assert [row[0] for row in paused_mentee] == ["2026-11-30 17:00"]  # back after the pause
    december = [row for row in rows(table) if row[0].startswith("2026-12-07")]
    assert {(row[4], row[5]) for row in december} == {("pulse", "relationship_pulse")}
    assert len(december) == 2  # Toronto's pair; Vancouver's 09:00 is after the window


async def test_schedule_refuses_bad_input(database: Database, database_url: str) -> None:
    assert "No program" in refused(await tandem(database_url, "schedule", "Nowhere"))
    await add_pair(database)
    assert "--days" in refused(await tandem(database_url, "schedule", "Career", "--days", "0"))
    result = await tandem(database_url, "schedule", "Career", "--days", "1")
    assert result.exit_code == 0
    assert "No check-ins in Career from 2026-11-16 15:00" in result.stderr


async def test_schedule_lists_unmatched_people_as_not_prompted(
    database: Database, database_url: str, clock: FakeClock
) -> None:
    await add_pair(database, zone=TORONTO)
    async with database.session() as session:
        program = (await session.exec(select(Program).where(Program.name == "Career"))).one()
        waiting = await add_person(session, clock.now, 801, "Wanda")
        await join(session, clock.now, waiting, program, Role.MENTEE)
        newcomer = await add_person(session, clock.now, 802, "Nico")
        await join(session, clock.now, newcomer, program, Role.MENTOR, finished=False)
        coordinator = await add_person(session, clock.now, 803, "Cora")
        await join(session, clock.now, coordinator, program, Role.COORDINATOR)
    output = succeeded(await tandem(database_url, "schedule", "Career"))
    _, _, waiting_table = output.partition("\n\n")
    assert waiting_table.splitlines()[0].split() == ["NOT", "PROMPTED", "NOW", "ROLE", "WHY"]
    assert rows(waiting_table) == [
        ["Nico", "mentor", "not matched yet (onboarding not finished)"],
        ["Wanda", "mentee", "not matched yet (`tandem pair` matches them)"],
    ]
