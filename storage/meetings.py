"""Queries about meeting logs. A deleted log (`deleted_at` set) is kept for the record but
never listed, counted or used to answer a check-in."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import dialect_of, one_of
from storage.models import Match, MatchStatus, MeetingLog, Person


async def open_matches(session: AsyncSession, person_id: int) -> list[Match]:
    """The matches a person can log meetings for: any not closed (a paused or closing
    match still meets), oldest first."""
    statement = (
        select(Match)
        .where(
            Match.status != MatchStatus.CLOSED,
            (col(Match.mentor_id) == person_id) | (col(Match.mentee_id) == person_id),
        )
        .order_by(col(Match.id))
    )
    return list((await session.exec(statement)).all())


async def meeting_for_update(session: AsyncSession, meeting_id: int) -> MeetingLog | None:
    """The log, locked for this transaction on PostgreSQL (two taps, two instances);
    deleted ones included, so the caller can say why it cannot be changed."""
    statement = select(MeetingLog).where(MeetingLog.id == meeting_id).with_for_update()
    return (await session.exec(statement)).first()


def _kept() -> sa.ColumnElement[bool]:
    return col(MeetingLog.deleted_at).is_(None)


async def recent_meetings(
    session: AsyncSession, match_id: int, limit: int
) -> list[tuple[MeetingLog, str | None]]:
    """The match's latest meetings, newest first, with the name of who logged each."""
    statement = (
        select(MeetingLog, Person.name)
        .join(Person, col(Person.id) == col(MeetingLog.author_id))
        .where(MeetingLog.match_id == match_id, _kept())
        .order_by(col(MeetingLog.met_on).desc(), col(MeetingLog.id).desc())
        .limit(limit)
    )
    return [(meeting, name) for meeting, name in (await session.exec(statement)).all()]


async def meeting_totals(session: AsyncSession, match_id: int) -> tuple[int, int]:
    """(how many meetings, how many minutes) the match has logged."""
    statement = select(
        sa.func.count(col(MeetingLog.id)), sa.func.coalesce(sa.func.sum(MeetingLog.minutes), 0)
    ).where(MeetingLog.match_id == match_id, _kept())
    count, minutes = (await session.exec(statement)).one()
    return int(count), int(minutes)


async def meetings_between(
    session: AsyncSession, match_id: int, first: date, last: date
) -> list[MeetingLog]:
    """The match's meetings held from `first` to `last` (both included), newest first."""
    return (await meetings_of(session, [match_id], first, last)).get(match_id, [])


_MEETINGS_OF = {
    dialect: select(MeetingLog)
    .where(
        of_matches,
        _kept(),
        col(MeetingLog.met_on) >= sa.bindparam("first"),
        col(MeetingLog.met_on) <= sa.bindparam("last"),
    )
    .order_by(col(MeetingLog.met_on).desc(), col(MeetingLog.id).desc())
    for dialect, of_matches in one_of(col(MeetingLog.match_id), "matches", sa.Integer()).items()
}


async def meetings_of(
    session: AsyncSession, match_ids: Sequence[int], first: date, last: date
) -> dict[int, list[MeetingLog]]:
    """`meetings_between` for several matches in one query (built once), by match."""
    params = {"matches": list(match_ids), "first": first, "last": last}
    found: dict[int, list[MeetingLog]] = defaultdict(list)
    for meeting in await session.exec(_MEETINGS_OF[dialect_of(session)], params=params):
        found[meeting.match_id].append(meeting)
    return dict(found)
