"""A prompt's answers and the prompts a person is answering: one row per (prompt,
question), written with the dialect's INSERT … ON CONFLICT so that two taps racing keep
one answer; the prompt row locked while an answer is stored."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.goals import MAX_ASKED_GOALS, mentee_of_match
from storage.models import (
    Answer,
    Goal,
    GoalStatus,
    Match,
    MatchStatus,
    Membership,
    Prompt,
    PromptKind,
    PromptStatus,
    Role,
)

OPEN = (PromptStatus.SENDING, PromptStatus.SENT)
"""A prompt that is being answered: taps and typed answers count."""


def insert_for(session: AsyncSession) -> Callable[..., Any]:
    """The dialect's INSERT, which knows ON CONFLICT (SQLite and PostgreSQL alike)."""
    bind = session.bind
    assert bind is not None
    return postgresql.insert if bind.dialect.name == "postgresql" else sqlite.insert


async def stored_answers(session: AsyncSession, prompt_id: int) -> dict[str, str]:
    rows = await session.exec(
        select(Answer.question_key, Answer.value).where(Answer.prompt_id == prompt_id)
    )
    return dict(rows.all())


async def store_answer(
    session: AsyncSession, prompt_id: int, key: str, value: str, now: datetime
) -> None:
    """Insert or replace one answer: one row per (prompt, question), even when two taps
    race."""
    await store_answers(session, [(prompt_id, key, value, now)])


async def store_answers(
    session: AsyncSession, answers: Sequence[tuple[int, str, str, datetime]]
) -> None:
    """`store_answer` for many (prompt id, question key, value, when) in one statement."""
    if not answers:
        return
    statement = insert_for(session)(Answer)
    statement = statement.on_conflict_do_update(
        index_elements=["prompt_id", "question_key"],
        set_={"value": statement.excluded.value, "answered_at": statement.excluded.answered_at},
    )
    rows = [
        {"prompt_id": prompt_id, "question_key": key, "value": value, "answered_at": when}
        for prompt_id, key, value, when in answers
    ]
    await session.exec(statement, params=rows)


async def drop_answers(session: AsyncSession, prompt_id: int, keys: Sequence[str]) -> None:
    if keys:
        await session.exec(
            sa.delete(Answer).where(
                col(Answer.prompt_id) == prompt_id, col(Answer.question_key).in_(keys)
            )
        )


async def locked_prompt(session: AsyncSession, prompt_id: int) -> Prompt | None:
    """The prompt, locked for this transaction on PostgreSQL (two taps, two instances)."""
    statement = select(Prompt).where(Prompt.id == prompt_id).with_for_update()
    return (await session.exec(statement)).first()


@dataclass(frozen=True)
class Tapped:
    """What a tap on a prompt's button needs, read in one round trip."""

    prompt: Prompt
    answers: dict[str, str]  # `stored_answers`
    goals: list[Goal]  # a mentee's check-in: `storage.goals.checkin_goals`; else empty


async def tapped_prompt(session: AsyncSession, prompt_id: int) -> Tapped | None:
    """`locked_prompt`, its `stored_answers` and, for a mentee's check-in, the goals it
    asks about, in one statement: one row per answer and open goal (a check-in has a
    dozen answers at most, a mentee ten open goals), the goals ordered and cut here as
    `checkin_goals` does in SQL."""
    goal_owner = sa.and_(
        col(Match.id) == col(Prompt.match_id),
        col(Match.mentee_id) == col(Prompt.person_id),
        col(Prompt.kind) == PromptKind.CHECKIN,
    )
    statement = (
        select(Prompt, Answer.question_key, Answer.value, Goal)
        .outerjoin(Answer, col(Answer.prompt_id) == col(Prompt.id))
        .outerjoin(Match, goal_owner)
        .outerjoin(Membership, mentee_of_match())
        .outerjoin(
            Goal,
            sa.and_(col(Goal.membership_id) == col(Membership.id), Goal.status == GoalStatus.OPEN),
        )
        .where(Prompt.id == prompt_id)
        .with_for_update(of=Prompt)  # type: ignore[arg-type]
    )
    rows = (await session.exec(statement)).all()
    if not rows:
        return None
    answers = {key: value for _, key, value, _ in rows if key is not None}
    goals = {goal.id: goal for *_, goal in rows if goal is not None}
    asked = sorted(goals.values(), key=lambda goal: (goal.position, goal.created_at, goal.id))
    return Tapped(rows[0][0], answers, asked[:MAX_ASKED_GOALS])


async def open_prompt(
    session: AsyncSession,
    person_id: int,
    now: datetime,
    kinds: Sequence[str] = (PromptKind.CHECKIN,),
) -> Prompt | None:
    """The check-in (or prompt of `kinds`) this person is answering: sent, its period
    still open; the oldest first when a mentor has several matches."""
    statement = (
        select(Prompt)
        .where(
            Prompt.person_id == person_id,
            col(Prompt.kind).in_(kinds),
            col(Prompt.status).in_(OPEN),
            Prompt.closes_at > now,
        )
        .order_by(col(Prompt.due_at), col(Prompt.id))
    )
    return (await session.exec(statement)).first()


async def active_matches(session: AsyncSession, person_id: int) -> list[Match]:
    statement = (
        select(Match)
        .where(
            Match.status == MatchStatus.ACTIVE,
            (col(Match.mentor_id) == person_id) | (col(Match.mentee_id) == person_id),
        )
        .order_by(col(Match.id))
    )
    return list((await session.exec(statement)).all())


def role_in(match: Match, person_id: int) -> str:
    return Role.MENTOR if match.mentor_id == person_id else Role.MENTEE
