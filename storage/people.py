"""Queries about people and their memberships."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import dialect_of, one_of
from storage.materialise import schedule_changed
from storage.models import (
    Match,
    MatchStatus,
    Membership,
    Person,
    PersonStatus,
    Program,
    Prompt,
    PromptStatus,
    Role,
)

_BY_TELEGRAM_ID = select(Person).where(Person.telegram_id == sa.bindparam("telegram_id"))
"""Built once: every update reads its sender with it, and a statement built once keeps
its cache key (SQLAlchemy memoizes it on the object), so neither the expression nor the
key is made again per update."""


async def person_by_telegram_id(session: AsyncSession, telegram_id: int) -> Person | None:
    rows = await session.exec(_BY_TELEGRAM_ID, params={"telegram_id": telegram_id})
    return rows.first()


_BY_ID = {
    dialect: select(Person).where(of_ids)
    for dialect, of_ids in one_of(col(Person.id), "ids", sa.Integer()).items()
}


async def people_by_id(session: AsyncSession, ids: Sequence[int]) -> dict[int, Person]:
    """The people of `ids` that exist, by id (one statement, built once: the dispatcher
    reads each batch's recipients with it)."""
    found = await session.exec(_BY_ID[dialect_of(session)], params={"ids": list(ids)})
    return {person.id: person for person in found if person.id is not None}


async def memberships_of(session: AsyncSession, person_id: int) -> Sequence[Membership]:
    statement = (
        select(Membership).where(Membership.person_id == person_id).order_by(col(Membership.id))
    )
    return (await session.exec(statement)).all()


async def unfinished_membership(session: AsyncSession, person_id: int) -> Membership | None:
    """The membership whose onboarding is not finished yet, newest first."""
    statement = (
        select(Membership)
        .where(Membership.person_id == person_id, col(Membership.completed_at).is_(None))
        .order_by(col(Membership.id).desc())
    )
    return (await session.exec(statement)).first()


async def coordinated_programs(session: AsyncSession, person_id: int) -> Sequence[Program]:
    """Programs this person coordinates (finished onboarding or not)."""
    statement = (
        select(Program)
        .join(Membership, col(Membership.program_id) == col(Program.id))
        .where(Membership.person_id == person_id, Membership.role == Role.COORDINATOR)
        .order_by(col(Program.id))
    )
    return (await session.exec(statement)).all()


async def active_match_of(session: AsyncSession, person_id: int, program_id: int) -> Match | None:
    statement = select(Match).where(
        Match.program_id == program_id,
        Match.status != MatchStatus.CLOSED,
        (col(Match.mentor_id) == person_id) | (col(Match.mentee_id) == person_id),
    )
    return (await session.exec(statement)).first()


async def note_contact(session: AsyncSession, person: Person, now: datetime) -> bool:
    """The person wrote to the bot, so the bot can write to them: someone marked
    unreachable (they had blocked the bot, or their chat was not found) becomes active
    again, this period's check-ins that failed because of it are queued again and the
    schedule is materialised afresh. Returns whether they were unreachable.

    No statement when nothing changes (the usual case, on every update: the caller has
    read the person already); the coordinator's "unreachable" flag stays for them to
    resolve.
    """
    if person.status != PersonStatus.UNREACHABLE:
        return False
    person_id = person.id
    await session.exec(
        sa.update(Person)
        .where(col(Person.id) == person_id, col(Person.status) == PersonStatus.UNREACHABLE)
        .values(status=PersonStatus.ACTIVE)
    )
    set_committed_value(person, "status", PersonStatus.ACTIVE)  # the row as now stored
    await session.exec(
        sa.update(Prompt)
        .where(
            col(Prompt.person_id) == person_id,
            col(Prompt.status) == PromptStatus.FAILED,
            col(Prompt.closes_at) > now,
        )
        .values(status=PromptStatus.PENDING, attempts=0, next_attempt_at=now)
    )
    await schedule_changed(session)
    return True
