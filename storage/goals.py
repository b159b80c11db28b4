"""A mentee's goals: the list they keep with /goals and that their weekly check-in asks
about by name.

Goals belong to a membership (a mentee in one program), so a person in two programs keeps
two lists. Nothing here checks who is asking: the dialogue does (`owned_goal`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import dialect_of, one_of
from storage.models import Goal, GoalStatus, Match, Membership, Role

MAX_GOAL_LENGTH = 300  # Goal.text's column size
MAX_OPEN_GOALS = 10
"""Open goals a mentee keeps at once, so /goals and its pickers fit one message."""
MAX_ASKED_GOALS = 3
"""A check-in asks about this many open goals at most (the oldest), to stay under a minute."""


def split_goals(text: str | None) -> list[str]:
    """The onboarding answer as goals: one per non-empty line, bullets and numbering
    ("- ", "• ", "1. ", "2) ") taken off, each cut to the column's size."""
    goals: list[str] = []
    for line in (text or "").splitlines():
        cleaned = line.strip().lstrip("-•*·–—").strip()
        head, dot, rest = cleaned.partition(".")
        if not dot:
            head, dot, rest = cleaned.partition(")")
        if dot and head.isdigit() and rest.strip():
            cleaned = rest.strip()
        if cleaned:
            goals.append(cleaned[:MAX_GOAL_LENGTH])
    return goals


async def import_onboarding_goals(
    session: AsyncSession, membership: Membership, now: datetime
) -> int:
    """Create the mentee's Goal rows from their onboarding answer (one per line, the first
    `MAX_OPEN_GOALS`; the answer itself stays on the membership), once: a membership that
    already has goals keeps them. Returns how many were created."""
    if membership.role != Role.MENTEE or membership.id is None:
        return 0
    if await session.scalar(
        select(func.count()).select_from(Goal).where(Goal.membership_id == membership.id)
    ):
        return 0
    texts = split_goals(membership.goals)[:MAX_OPEN_GOALS]
    session.add_all(
        Goal(membership_id=membership.id, text=text, position=index, created_at=now)
        for index, text in enumerate(texts)
    )
    return len(texts)


async def goals_of(
    session: AsyncSession, membership_id: int, statuses: Sequence[str] = tuple(GoalStatus)
) -> list[Goal]:
    """The membership's goals with these statuses, oldest first."""
    statement = (
        select(Goal)
        .where(Goal.membership_id == membership_id, col(Goal.status).in_(list(statuses)))
        .order_by(col(Goal.position), col(Goal.created_at), col(Goal.id))
    )
    return list((await session.exec(statement)).all())


async def add_goal(session: AsyncSession, membership_id: int, text: str, now: datetime) -> Goal:
    """A new open goal at the end of the list."""
    last = await session.scalar(
        select(func.max(Goal.position)).where(Goal.membership_id == membership_id)
    )
    goal = Goal(
        membership_id=membership_id,
        text=text[:MAX_GOAL_LENGTH],
        position=(last if last is not None else -1) + 1,
        created_at=now,
    )
    session.add(goal)
    await session.flush()
    return goal


def set_status(goal: Goal, status: GoalStatus, now: datetime) -> None:
    """Mark a goal achieved, dropped or open again (achieved_at follows)."""
    goal.status, goal.updated_at = status, now
    goal.achieved_at = now if status == GoalStatus.ACHIEVED else None


async def owned_goal(session: AsyncSession, goal_id: int, person_id: int) -> Goal | None:
    """The goal, locked for this transaction, when it belongs to `person_id`; None for
    anyone else's goal (a forged button) or a goal that no longer exists."""
    statement = (
        select(Goal)
        .join(Membership, col(Membership.id) == col(Goal.membership_id))
        .where(Goal.id == goal_id, Membership.person_id == person_id)
        .with_for_update(of=Goal)  # type: ignore[arg-type]
    )
    return (await session.exec(statement)).first()


async def achieved_count(session: AsyncSession, membership_id: int) -> int:
    """How many goals this mentee has achieved (coordinators see it in /people)."""
    statement = (
        select(func.count())
        .select_from(Goal)
        .where(Goal.membership_id == membership_id, Goal.status == GoalStatus.ACHIEVED)
    )
    return int(await session.scalar(statement) or 0)


async def achieved_counts(session: AsyncSession, membership_ids: Sequence[int]) -> dict[int, int]:
    """`achieved_count` for a page of mentees in one query (memberships with none are
    left out)."""
    if not membership_ids:
        return {}
    statement = (
        select(Goal.membership_id, func.count())
        .where(
            col(Goal.membership_id).in_(list(membership_ids)), Goal.status == GoalStatus.ACHIEVED
        )
        .group_by(col(Goal.membership_id))
    )
    return {membership_id: int(n) for membership_id, n in (await session.exec(statement)).all()}


def mentee_of_match() -> sa.ColumnElement[bool]:
    """Joins a match to its mentee's membership in the match's program."""
    return sa.and_(
        col(Membership.person_id) == col(Match.mentee_id),
        col(Membership.program_id) == col(Match.program_id),
        col(Membership.role) == Role.MENTEE,
    )


async def checkin_goals(
    session: AsyncSession, person_id: int, match_id: int, limit: int = MAX_ASKED_GOALS
) -> list[Goal]:
    """The open goals a mentee's check-in for this match asks about: the oldest `limit`
    of their goals in the match's program. Empty for the mentor. One statement (a tap
    reads it): with one match named by its key, the join is planned from that row."""
    statement = (
        select(Goal)
        .join(Membership, col(Membership.id) == col(Goal.membership_id))
        .join(Match, mentee_of_match())
        .where(
            Match.id == match_id,
            Membership.person_id == person_id,
            Goal.status == GoalStatus.OPEN,
        )
        .order_by(col(Goal.position), col(Goal.created_at), col(Goal.id))
        .limit(limit)
    )
    return list((await session.exec(statement)).all())


_GOAL_OWNERS = {
    dialect: select(Match.id, Membership.id, Membership.person_id)
    .join(Membership, mentee_of_match())
    .where(of_matches)
    for dialect, of_matches in one_of(col(Match.id), "matches", sa.Integer()).items()
}
_OPEN_GOALS_OF = {
    dialect: select(Goal)
    .where(of_memberships, Goal.status == GoalStatus.OPEN)
    .order_by(col(Goal.position), col(Goal.created_at), col(Goal.id))
    for dialect, of_memberships in one_of(
        col(Goal.membership_id), "memberships", sa.Integer()
    ).items()
}


async def checkin_goals_of(
    session: AsyncSession, match_ids: Sequence[int], limit: int = MAX_ASKED_GOALS
) -> dict[tuple[int, int], list[Goal]]:
    """`checkin_goals` of the mentee of each match, by (mentee id, match id), in two
    queries built once (the dispatcher words a batch of check-ins at once).

    The mentees' memberships are found from the matches' ids first, then their goals by
    membership: each step is a primary-key or indexed lookup whatever the planner knows.
    (As one join, PostgreSQL without fresh statistics planned it from every goal, with
    an index scan of the program's matches for each: 17 s for a batch of 30 with 10,000
    matches.)"""
    by_membership: dict[int, list[tuple[int, int]]] = defaultdict(list)
    dialect = dialect_of(session)
    owners = await session.exec(_GOAL_OWNERS[dialect], params={"matches": list(match_ids)})
    for match_id, membership_id, person_id in owners:
        by_membership[membership_id].append((person_id, match_id))
    if not by_membership:
        return {}
    found: dict[tuple[int, int], list[Goal]] = defaultdict(list)
    memberships = {"memberships": list(by_membership)}
    goals = await session.exec(_OPEN_GOALS_OF[dialect], params=memberships)
    for goal in goals:
        for key in by_membership[goal.membership_id]:
            asked = found[key]
            if len(asked) < limit:
                asked.append(goal)
    return dict(found)


async def mentee_membership(session: AsyncSession, person_id: int) -> Membership | None:
    """The person's mentee membership that finished onboarding (the newest one when they
    joined several programs as a mentee)."""
    statement = (
        select(Membership)
        .where(
            Membership.person_id == person_id,
            Membership.role == Role.MENTEE,
            col(Membership.completed_at).is_not(None),
        )
        .order_by(col(Membership.joined_at).desc(), col(Membership.id).desc())
    )
    return (await session.exec(statement)).first()
