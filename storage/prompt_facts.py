"""What wording a batch of prompts reads, fetched once for the whole batch: the partner's
name of people with several matches, a mentee's open goals (asked by name), and the
meetings logged in each prompt's week (they answer "were you in touch?").

The dispatcher words thousands of prompts in a row; one query per kind of fact for a
batch of prompts, instead of three per prompt, is what keeps its tick fast. A dialogue
rendering a single prompt uses the same loader with a batch of one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import DIALECTS, dialect_of, one_of
from storage.goals import checkin_goals_of
from storage.meetings import meetings_of
from storage.models import Goal, Match, MatchStatus, MeetingLog, Person, Prompt, PromptKind, Role

MEETING_WEEK = timedelta(days=7)  # a check-in covers the 7 days up to its due date
ZONE_SLACK = timedelta(days=1)  # a local date is at most a day off the UTC one


@dataclass(frozen=True)
class PromptFacts:
    """The facts of a batch of prompts. `partners` maps a person to the partner's name in
    each of their active matches, `roles` a (person, match) pair to the person's role
    there, `goals` a (mentee, match) pair to the goals the check-in asks about, and
    `meetings` a match to its logs of the batch's weeks, newest first. `answers` collects
    what the wording found already answered (a logged meeting is a contact), to be
    stored for the whole batch in one statement (`storage.answers.store_answers`)."""

    partners: dict[int, dict[int, str | None]] = field(default_factory=dict)
    roles: dict[tuple[int, int], str] = field(default_factory=dict)
    goals: dict[tuple[int, int], list[Goal]] = field(default_factory=dict)
    meetings: dict[int, list[MeetingLog]] = field(default_factory=dict)
    answers: list[tuple[int, str, str, datetime]] = field(default_factory=list)

    def partner_name(self, prompt: Prompt) -> str | None:
        """The match partner's name, when the person has several matches to tell apart."""
        names = self.partners.get(prompt.person_id, {})
        return names.get(prompt.match_id) if len(names) > 1 else None

    def goals_of(self, prompt: Prompt) -> list[Goal]:
        return self.goals.get((prompt.person_id, prompt.match_id), [])

    def meetings_between(self, match_id: int, first: date, last: date) -> list[MeetingLog]:
        """The match's logs held from `first` to `last`, both included, newest first."""
        return [m for m in self.meetings.get(match_id, []) if first <= m.met_on <= last]


def _partners_statement(dialect: str) -> Any:
    sides = []
    for role, own, other in (
        (Role.MENTOR, Match.mentor_id, Match.mentee_id),
        (Role.MENTEE, Match.mentee_id, Match.mentor_id),
    ):
        sides.append(
            select(col(own), Match.id, Match.status, sa.literal(str(role)), Person.name)
            .join(Person, col(Person.id) == col(other))
            .where(one_of(col(own), "people", sa.Integer())[dialect])
        )
    return sa.union_all(*sides)


_PARTNERS = {dialect: _partners_statement(dialect) for dialect in DIALECTS}


async def active_partners(
    session: AsyncSession, person_ids: Iterable[int]
) -> tuple[dict[int, dict[int, str | None]], dict[tuple[int, int], str]]:
    """For each person, their active matches with the partner's name; and each person's
    role in those matches. One query, built once: the matches they mentor and those they
    are mentored in, each found through its own index, the ended ones left out here.
    (With ``mentor_id IN … OR mentee_id IN …``, or with the status in the WHERE, SQLite
    read every active match through the status index instead: a scan of the whole
    program for each batch the dispatcher words, 3 ms a batch at 5,000 matches.)"""
    people = sorted(set(person_ids))
    partners: dict[int, dict[int, str | None]] = defaultdict(dict)
    roles: dict[tuple[int, int], str] = {}
    rows = await session.exec(_PARTNERS[dialect_of(session)], params={"people": people})
    for person_id, match_id, status, role, partner in rows:
        if status == MatchStatus.ACTIVE:
            partners[person_id][match_id] = partner
            roles[(person_id, match_id)] = role
    return dict(partners), roles


async def load_facts(session: AsyncSession, prompts: Sequence[Prompt]) -> PromptFacts:
    """Everything `prompts` need to be worded, in at most three queries (fewer when no
    prompt needs goals or meetings)."""
    if not prompts:
        return PromptFacts()
    partners, roles = await active_partners(session, (p.person_id for p in prompts))
    checkins = sorted({p.match_id for p in prompts if p.kind == PromptKind.CHECKIN})
    goals = await checkin_goals_of(session, checkins) if checkins else {}
    weekly = [p for p in prompts if p.kind in (PromptKind.CHECKIN, PromptKind.REFLECTION)]
    meetings: dict[int, list[MeetingLog]] = {}
    if weekly:
        first = min(p.due_at for p in weekly).date() - MEETING_WEEK - ZONE_SLACK
        last = max(p.due_at for p in weekly).date() + ZONE_SLACK
        meetings = await meetings_of(session, sorted({p.match_id for p in weekly}), first, last)
    return PromptFacts(partners, roles, goals, meetings)
