"""A prompt's answers and the prompts a person is answering: one row per (prompt,
question), written with the dialect's INSERT … ON CONFLICT so that two taps racing keep
one answer; the prompt row locked while an answer is stored."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import dialect_of, unnested, upsert
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
    """`store_answer` for many (prompt id, question key, value, when) in one statement.

    On PostgreSQL the rows go in as one array per column (`_UNNESTED`): an executemany
    runs the statement once per row, and the answer table's per-statement triggers
    (storage.week_figures) with it (a dispatcher's batch stores the contacts found in the
    week's logs). SQLite's triggers fire per row either way, and its executemany is the
    cheapest there."""
    if not answers:
        return
    if dialect_of(session) == "postgresql" and len(answers) > 1:
        # One statement may not change a row twice: the last answer to a question wins,
        # as it would one row at a time.
        last = {(answer[0], answer[1]): answer for answer in answers}
        columns = [list(column) for column in zip(*last.values(), strict=True)]
        await session.exec(_UNNESTED, params=dict(zip(_COLUMNS, columns, strict=True)))
        return
    rows = [dict(zip(_COLUMNS, answer, strict=True)) for answer in answers]
    await session.exec(_upsert(session), params=rows)


_answer = Answer.__table__  # type: ignore[attr-defined]
_COLUMNS = ("prompt_id", "question_key", "value", "answered_at")  # as `store_answers` takes them


def _replacing(statement: Any) -> Any:
    """An answer given again replaces the one stored."""
    return statement.on_conflict_do_update(
        index_elements=["prompt_id", "question_key"],
        set_={"value": statement.excluded.value, "answered_at": statement.excluded.answered_at},
    )


_GIVEN = unnested("given", {name: _answer.c[name].type for name in _COLUMNS})
_UNNESTED = _replacing(
    postgresql.insert(_answer).from_select(
        list(_COLUMNS), sa.select(*(_GIVEN.c[name] for name in _COLUMNS))
    )
)
"""`store_answers` on PostgreSQL, built once (`storage.db.unnested`)."""

_UPSERTS: dict[str, Any] = {}
"""The answer upsert, built once per dialect (see `_TAPPED`), on the table rather than the
mapped class: the ORM's bulk-insert path around an INSERT of the class cost twice the
statement itself (0.9 against 0.35 ms a tap, SQLite), for rows no session holds."""


def _upsert(session: AsyncSession) -> Any:
    dialect = dialect_of(session)
    if dialect not in _UPSERTS:
        _UPSERTS[dialect] = _replacing(upsert(session, _answer))
    return _UPSERTS[dialect]


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


def _tapped_statement() -> Any:
    goal_owner = sa.and_(
        col(Match.id) == col(Prompt.match_id),
        col(Match.mentee_id) == col(Prompt.person_id),
        col(Prompt.kind) == PromptKind.CHECKIN,
    )
    return (
        select(Prompt, Answer.question_key, Answer.value, Goal)
        .outerjoin(Answer, col(Answer.prompt_id) == col(Prompt.id))
        .outerjoin(Match, goal_owner)
        .outerjoin(Membership, mentee_of_match())
        .outerjoin(
            Goal,
            sa.and_(col(Goal.membership_id) == col(Membership.id), Goal.status == GoalStatus.OPEN),
        )
        .where(Prompt.id == sa.bindparam("prompt_id"))
        .with_for_update(of=Prompt)  # type: ignore[arg-type]
    )


_TAPPED = _tapped_statement()
"""Built once, as every tap runs it: building this join and its cache key (which
SQLAlchemy memoizes on the statement object) cost more than running it on SQLite."""


async def tapped_prompt(session: AsyncSession, prompt_id: int) -> Tapped | None:
    """`locked_prompt`, its `stored_answers` and, for a mentee's check-in, the goals it
    asks about, in one statement: one row per answer and open goal (a check-in has a
    dozen answers at most, a mentee ten open goals), the goals ordered and cut here as
    `checkin_goals` does in SQL."""
    rows = (await session.exec(_TAPPED, params={"prompt_id": prompt_id})).all()
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
