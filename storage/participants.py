"""Who is scheduled: the mentees and mentors of open matches with what their schedule
needs (slot, zone, pause, when they became eligible), read in one query per role and page
of matches, and the pauses that ended. `storage.materialise` turns them into prompts;
`tandem schedule` previews them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    Match,
    MatchStatus,
    Membership,
    Person,
    PersonStatus,
    Program,
    Role,
)
from storage.programs import zone_or_none
from storage.schedule import WEEK, Slot

# Matches per page when materialising: bounds the memory of the hourly full scan.
PAGE_MATCHES = 5000


@dataclass(frozen=True, slots=True)
class Participant:
    """Someone who takes part in an open match, with everything their schedule needs.

    `slot` is the person's own check-in slot and zone, each part falling back to the
    program's; None when the zone is unknown. `starts_at` is when they became eligible
    (the later of the match start, the end of their onboarding and a week after an
    earlier match of theirs ended): no check-in is due for a week that began before they
    were matched, nor in the week after a match ended.
    """

    person_id: int
    match_id: int
    program_id: int
    role: str
    name: str | None
    username: str | None
    status: str
    paused_until: date | None
    slot: Slot | None
    starts_at: datetime
    match_started_at: datetime | None = None
    planned_end: date | None = None


# --- who is scheduled -----------------------------------------------------------------


def _slot(
    zone_name: str | None, weekday: int | None, at: time | None, program: tuple[str, int, time]
) -> Slot | None:
    zone = zone_or_none(zone_name or program[0])
    if zone is None:
        return None
    return Slot(
        weekday=program[1] if weekday is None else weekday,
        at=program[2] if at is None else at,
        zone=zone,
    )


async def scheduled_participants(
    session: AsyncSession,
    *,
    program_id: int | None = None,
    active_only: bool = True,
    match_ids: tuple[int, int] | None = None,
    matches: Sequence[sa.ColumnElement[bool]] = (col(Match.status) == MatchStatus.ACTIVE,),
) -> list[Participant]:
    """Mentees and mentors who finished onboarding and are in an active match (or one
    that meets the `matches` criteria instead), ordered by match.

    `active_only` keeps people whose status is active; otherwise everyone still taking
    part is listed (paused and unreachable people included) for the schedule preview.
    `match_ids` (first, last) limits the matches to an id range, for paging.
    """
    found: list[Participant] = []
    earlier = sa.orm.aliased(Match)
    last_ended = (
        select(sa.func.max(earlier.closing_at))
        .where(
            sa.or_(earlier.mentee_id == col(Person.id), earlier.mentor_id == col(Person.id)),
            earlier.id != col(Match.id),
        )
        .scalar_subquery()
    )
    for role, side in ((Role.MENTEE, Match.mentee_id), (Role.MENTOR, Match.mentor_id)):
        statement = (
            select(
                Person.id,
                Match.id,
                Match.program_id,
                Person.name,
                Person.username,
                Person.status,
                Person.paused_until,
                Person.timezone,
                Person.checkin_weekday,
                Person.checkin_time,
                Program.timezone,
                Program.checkin_weekday,
                Program.checkin_time,
                Match.started_at,
                Membership.completed_at,
                Match.planned_end,
                last_ended,
            )
            .select_from(Match)
            .join(Person, col(Person.id) == col(side))
            .join(
                Membership,
                sa.and_(
                    col(Membership.person_id) == col(Person.id),
                    col(Membership.program_id) == col(Match.program_id),
                    col(Membership.role) == role,
                ),
            )
            .join(Program, col(Program.id) == col(Match.program_id))
            .where(*matches, col(Membership.completed_at).is_not(None))
        )
        if program_id is not None:
            statement = statement.where(Match.program_id == program_id)
        if match_ids is not None:
            statement = statement.where(col(Match.id).between(*match_ids))
        if active_only:
            statement = statement.where(Person.status == PersonStatus.ACTIVE)
        else:
            statement = statement.where(
                col(Person.status).not_in((PersonStatus.CLOSED, PersonStatus.ERASED))
            )
        for row in (await session.exec(statement)).all():
            (person_id, match_id, prog_id, name, username, status, paused_until) = row[:7]
            zone_name, weekday, at, program_zone, program_day, program_at = row[7:13]
            started_at, completed_at, planned_end, ended = row[13:]
            after_ended = started_at if ended is None else ended + WEEK
            found.append(
                Participant(
                    person_id=person_id,
                    match_id=match_id,
                    program_id=prog_id,
                    role=role,
                    name=name,
                    username=username,
                    status=status,
                    paused_until=paused_until,
                    slot=_slot(zone_name, weekday, at, (program_zone, program_day, program_at)),
                    starts_at=max(started_at, completed_at, after_ended),
                    match_started_at=started_at,
                    planned_end=planned_end,
                )
            )
    found.sort(key=lambda someone: (someone.match_id, someone.role))
    return found


async def match_pages(session: AsyncSession, size: int = PAGE_MATCHES) -> list[tuple[int, int]]:
    """The active matches as (first id, last id) ranges of at most `size` matches each,
    so a scan of 100,000 participants never holds them all in memory at once."""
    statement = select(Match.id).where(Match.status == MatchStatus.ACTIVE).order_by(col(Match.id))
    ids = [match_id for match_id in (await session.exec(statement)).all() if match_id is not None]
    return [
        (ids[start], ids[min(start + size, len(ids)) - 1]) for start in range(0, len(ids), size)
    ]


async def program_settings(session: AsyncSession) -> dict[int, Mapping[str, Any]]:
    """Every program's settings by id (there are a handful of programs)."""
    statement = select(Program.id, Program.settings)
    return {program_id: settings or {} for program_id, settings in await session.exec(statement)}


# --- pauses ---------------------------------------------------------------------------


def pause_over(paused_until: date | None, zone_name: str | None, now: datetime) -> bool:
    """A pause lasts until the morning of `paused_until` in the person's zone: from that
    local date on they are active again. No date means paused until they resume."""
    if paused_until is None:
        return False
    zone = zone_or_none(zone_name)
    today = now.astimezone(zone).date() if zone else now.date()
    return today >= paused_until


async def resume_ended_pauses(session: AsyncSession, now: datetime) -> int:
    """Make people whose pause is over active again; returns how many."""
    # No zone is more than 14 h ahead of UTC: anyone resuming today locally is in here.
    horizon = (now + timedelta(days=1)).date()
    statement = select(Person.id, Person.paused_until, Person.timezone).where(
        Person.status == PersonStatus.PAUSED,
        col(Person.paused_until).is_not(None),
        col(Person.paused_until) <= horizon,
    )
    ids = [
        person_id
        for person_id, until, zone in await session.exec(statement)
        if pause_over(until, zone, now)
    ]
    if ids:
        await session.exec(
            sa.update(Person)
            .where(col(Person.id).in_(ids), Person.status == PersonStatus.PAUSED)
            .values(status=PersonStatus.ACTIVE, paused_until=None)
        )
    return len(ids)
