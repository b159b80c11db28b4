"""Goals as other dialogues show them: the per-goal progress questions a mentee's weekly
check-in asks in place of the generic one, and a count of goals achieved for coordinators.
/goals itself is conversations/goals.py."""

from __future__ import annotations

from dataclasses import replace

from sqlmodel.ext.asyncio.session import AsyncSession

from conversations.engine import FilledQuestion
from conversations.instruments import Instrument, Kind, Question
from locales.translator import N_, Translator
from storage import goals as store
from storage.models import Goal, Prompt, PromptKind

PROGRESS = "progress"  # the generic question the per-goal questions replace
GOAL_KEY = "goal_"
LABEL_LENGTH = 40
GOAL_PROGRESS = N_("How far did you get with “{goal}” this week?")
GOAL_LOW = N_("Not at all")
GOAL_HIGH = N_("A lot")


def goal_question(goal: Goal) -> Question:
    """A 1–5 question about one goal, by name (its key `goal_<id>` is what is stored)."""
    label = goal.text if len(goal.text) <= LABEL_LENGTH else goal.text[: LABEL_LENGTH - 1] + "…"
    return FilledQuestion(
        key=f"{GOAL_KEY}{goal.id}",
        kind=Kind.SCALE,
        text=GOAL_PROGRESS,
        label=label,
        low=GOAL_LOW,
        high=GOAL_HIGH,
        params=(("goal", goal.text),),
    )


def with_goals(instrument: Instrument, goals: list[Goal]) -> Instrument:
    """The instrument asking about each goal where it asks about progress in general:
    in its place, or right after it when a later question depends on its answer."""
    position = next(
        (index for index, q in enumerate(instrument.questions) if q.key == PROGRESS), None
    )
    if position is None or not goals:
        return instrument
    questions = list(instrument.questions)
    asked = [goal_question(goal) for goal in goals]
    if any(q.when and q.when.question == PROGRESS for q in questions):
        questions[position + 1 : position + 1] = asked
    else:
        questions[position : position + 1] = asked
    return replace(instrument, questions=tuple(questions))


async def instrument_with_goals(
    session: AsyncSession, prompt: Prompt, instrument: Instrument, goals: list[Goal] | None = None
) -> Instrument:
    """A mentee's weekly check-in asks about their open goals by name (the oldest three,
    to stay under a minute; `goals` when they were read already); any other prompt is
    asked as its file says."""
    if prompt.kind != PromptKind.CHECKIN or instrument.question(PROGRESS) is None:
        return instrument
    if goals is None:
        goals = await store.checkin_goals(session, prompt.person_id, prompt.match_id)
    return with_goals(instrument, goals)


def achieved_label(tr: Translator, count: int) -> str | None:
    """A count like "2 goals achieved", for a coordinator's view of a mentee (None for
    none)."""
    if count <= 0:
        return None
    return tr.ngettext("{n} goal achieved", "{n} goals achieved", count)
