"""Reflection prompts in the database: the one a person is answering, and their own
answers for their journal. Only ever one person's: nothing here reads across a match, so a
partner's reflections cannot end up in someone else's journal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Answer, Prompt, PromptKind, PromptStatus

OPEN = (PromptStatus.SENDING, PromptStatus.SENT)
MAX_ROWS = 1000  # a journal shows at most this many answers


async def open_reflection_of(session: AsyncSession, person_id: int, now: datetime) -> Prompt | None:
    """The reflection this person is answering (sent, still open), the newest first."""
    statement = (
        select(Prompt)
        .where(
            Prompt.person_id == person_id,
            Prompt.kind == PromptKind.REFLECTION,
            col(Prompt.status).in_(OPEN),
            Prompt.closes_at > now,
        )
        .order_by(col(Prompt.due_at).desc(), col(Prompt.id).desc())
    )
    return (await session.exec(statement)).first()


@dataclass(frozen=True)
class Entry:
    """One answer to one reflection question, as a journal shows it."""

    answered_at: datetime
    instrument: str
    question: str
    value: str


async def reflection_answers(session: AsyncSession, person_id: int) -> list[Entry]:
    """The person's own reflection answers (skipped questions left out), newest first."""
    statement = (
        select(Prompt.instrument, Answer.question_key, Answer.value, Answer.answered_at)
        .join(Prompt, col(Prompt.id) == col(Answer.prompt_id))
        .where(
            Prompt.person_id == person_id,
            Prompt.kind == PromptKind.REFLECTION,
            Answer.value != "",
        )
        .order_by(col(Answer.answered_at).desc(), col(Answer.id).desc())
        .limit(MAX_ROWS)
    )
    return [
        Entry(answered_at, instrument, key, value)
        for instrument, key, value, answered_at in (await session.exec(statement)).all()
    ]
