"""How long a program keeps people's data: `retention.months` (default 24) after its last
match closed. Once every program a person belongs to is past that date, the person is due
to be anonymised by `storage.erasure.erase_person` (`tandem purge`).

A program with a match still running, or with no match at all yet, keeps its people: its
clock starts when its last match closes.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Match, MatchStatus, Membership, Person, PersonStatus, Program

DEFAULT_MONTHS = 24


def retention_months(settings: Mapping[str, Any] | None) -> int:
    given = ((settings or {}).get("retention") or {}).get("months")
    return given if isinstance(given, int) and given > 0 else DEFAULT_MONTHS


def add_months(moment: datetime, months: int) -> datetime:
    """The same day `months` later (the month's last day when it is shorter)."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


@dataclass(frozen=True)
class Expiry:
    """A program whose data is past its retention: since when."""

    program: Program
    last_closed: datetime
    expires_at: datetime


async def expired_programs(session: AsyncSession, now: datetime) -> dict[int, Expiry]:
    """Programs whose every match is closed and whose last closure is past retention."""
    statement = select(
        Match.program_id,
        sa.func.max(Match.closed_at),
        sa.func.count().filter(col(Match.status) != MatchStatus.CLOSED),
    ).group_by(col(Match.program_id))
    expired: dict[int, Expiry] = {}
    for program_id, last_closed, running in (await session.exec(statement)).all():
        if running or last_closed is None:
            continue
        program = await session.get(Program, program_id)
        if program is None:
            continue
        expires_at = add_months(last_closed, retention_months(program.settings))
        if expires_at <= now:
            expired[program_id] = Expiry(program, last_closed, expires_at)
    return expired


async def due_for_purge(session: AsyncSession, now: datetime) -> list[tuple[Person, Expiry]]:
    """People not erased yet all of whose programs are past retention, each with the
    program that expired last (their data is kept until then)."""
    expired = await expired_programs(session, now)
    rows = (
        await session.exec(
            select(Person, Membership.program_id)
            .join(Membership, col(Membership.person_id) == col(Person.id))
            .where(col(Person.status) != PersonStatus.ERASED)
            .order_by(col(Person.id))
        )
    ).all()
    programs: dict[int, tuple[Person, list[int]]] = {}
    for person, program_id in rows:
        programs.setdefault(person.id or 0, (person, []))[1].append(program_id)
    due = []
    for person, ids in programs.values():
        if all(program_id in expired for program_id in ids):
            latest = max((expired[program_id] for program_id in ids), key=lambda e: e.expires_at)
            due.append((person, latest))
    return due
