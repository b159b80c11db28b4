"""Queries about people and their memberships."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Match, MatchStatus, Membership, Person, Program, Role


async def person_by_telegram_id(session: AsyncSession, telegram_id: int) -> Person | None:
    return (await session.exec(select(Person).where(Person.telegram_id == telegram_id))).first()


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
