"""Match health for a whole program in one SQL statement: each open match's mark and its
place in /matches, sorted and paged by the database.

`storage.health` judges one match at a time in Python and says why (its flags, its
response rate, its last contact); this module asks the same three questions of every
match at once, in SQL, so a coordinator with 10,000 matches gets the first page of
/matches, and the count of each mark, without the program's rows leaving the database.
Both follow the rules written in `storage.health` (tests/test_standings.py checks they
agree on random programs):

- **Flags**: the worst unresolved flag, a snoozed one (still within its snooze) one step
  lighter.
- **Response**: check-ins over the last `RATE_WEEKS` weeks of the program's calendar,
  still-open ones left out; judged from `RATE_MIN_CHECKINS`. The shares are compared in
  integers (answered / reached < 1/2 ⇔ 2 × answered < reached), so no rounding differs.
- **Contact** (active matches only): the latest of the match's start, its meetings logged
  (noon UTC on the day) and its contacts reported, against the program's
  ``no_contact_weeks``. The latest meeting and report are read from the row the database
  keeps for each match (storage.last_contact), not from the logs and answers.

The order is `storage.health.sort_key`'s: at risk, watch, on track; then the most severe
unresolved flag; then the lowest response rate; then the match id. Closed matches: the
latest closed first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.flag_list import UNRANKED, severity_rank
from storage.flags import thresholds
from storage.health import (
    FLAG_MARKS,
    MARK_ORDER,
    RATE_MIN_CHECKINS,
    SILENCE_AT_RISK,
    WEEK,
    Mark,
    recent_checkins,
)
from storage.models import (
    Flag,
    FlagStatus,
    Match,
    MatchContact,
    MatchStatus,
    Program,
    Prompt,
    PromptStatus,
)

AT_RISK, WATCH, ON_TRACK = (MARK_ORDER[mark] for mark in (Mark.AT_RISK, Mark.WATCH, Mark.ON_TRACK))
MARKS = {rank: mark for mark, rank in MARK_ORDER.items()}
NO_SEVERITY = UNRANKED  # storage.health.sort_key's rank for a match without flags
COUNTED = (PromptStatus.ANSWERED, PromptStatus.MISSED, PromptStatus.FAILED)  # reached, not open


@dataclass(frozen=True)
class Standings:
    """One page of matches in attention order, and how many there are of each mark."""

    match_ids: list[int]  # this page's, in order
    counts: dict[Mark, int] = field(default_factory=dict)  # open matches by mark
    listed: int = 0  # matches the filter keeps, all pages together


def _flag_rank(now: datetime) -> Any:
    """One unresolved flag's mark as MARK_ORDER ranks it, a live snooze one step lighter."""
    heavy = [severity for severity, mark in FLAG_MARKS.items() if mark == Mark.AT_RISK]
    base = sa.case((col(Flag.severity).in_(heavy), AT_RISK), else_=WATCH)
    resting = (col(Flag.status) == FlagStatus.SNOOZED) & (
        col(Flag.snoozed_until).is_(None) | (col(Flag.snoozed_until) > now)
    )
    return sa.case((resting, base + 1), else_=base)


def _flags(scope: list[Any], now: datetime) -> Any:
    return (
        select(
            col(Flag.match_id).label("match_id"),
            sa.func.min(severity_rank()).label("severity"),
            sa.func.min(_flag_rank(now)).label("rank"),
        )
        .join(Match, col(Match.id) == col(Flag.match_id))
        .where(*scope, col(Flag.status) != FlagStatus.RESOLVED)
        .group_by(col(Flag.match_id))
        .subquery("flags")
    )


def _responses(scope: list[Any], programs: Sequence[Program], now: datetime) -> Any:
    """Each match's check-ins answered and counted (open ones left out) over its program's
    last RATE_WEEKS weeks."""
    answered = sa.case((col(Prompt.status) == PromptStatus.ANSWERED, 1), else_=0)
    return (
        select(
            col(Prompt.match_id).label("match_id"),
            sa.func.sum(answered).label("answered"),
            sa.func.count().label("reached"),
        )
        .join(Match, col(Match.id) == col(Prompt.match_id))
        .where(*scope, recent_checkins(programs, now), col(Prompt.status).in_(COUNTED))
        .group_by(col(Prompt.match_id))
        .subquery("responses")
    )


def _noon_on_or_before(moment: datetime) -> date:
    """The last day whose noon (UTC), a meeting log's moment, is at or before `moment`."""
    return (moment.astimezone(UTC) - timedelta(hours=12)).date()


def _worst(*ranks: Any) -> Any:
    """The worst (lowest) of several MARK_ORDER ranks, on either database."""
    return sa.case(
        *((sa.or_(*(rank == level for rank in ranks)), level) for level in (AT_RISK, WATCH)),
        else_=ON_TRACK,
    )


def _contact_rank(programs: Sequence[Program], now: datetime) -> Any:
    """On track while anything happened within the program's window, watch within twice
    it, at risk beyond; not judged (on track) unless the match is active."""

    def since(moment: datetime) -> Any:
        return (
            (col(Match.started_at) > moment)
            | (col(MatchContact.met_on) > _noon_on_or_before(moment))
            | (col(MatchContact.reported_at) > moment)
        )

    branches = []
    for program in programs:
        window = thresholds(program.settings)["no_contact_weeks"] * WEEK
        judged = sa.case(
            (since(now - window), ON_TRACK),
            (since(now - SILENCE_AT_RISK * window), WATCH),
            else_=AT_RISK,
        )
        branches.append((col(Match.program_id) == (program.id or 0), judged))
    return sa.case((col(Match.status) != MatchStatus.ACTIVE, ON_TRACK), *branches, else_=ON_TRACK)


def marked(programs: Sequence[Program], now: datetime, match_ids: Sequence[int] | None) -> Any:
    """A subquery: every open match of `programs` (or of `match_ids` among them) with its
    mark's rank, its most severe flag's rank and its response rate."""
    scope: list[Any] = [
        col(Match.program_id).in_([program.id for program in programs]),
        col(Match.status) != MatchStatus.CLOSED,
    ]
    if match_ids is not None:
        scope.append(col(Match.id).in_(list(match_ids)))
    flags, responses = _flags(scope, now), _responses(scope, programs, now)
    reached = sa.func.coalesce(responses.c.reached, 0)
    answered = sa.func.coalesce(responses.c.answered, 0)
    rate_rank = sa.case(
        (reached < RATE_MIN_CHECKINS, ON_TRACK),
        (2 * answered < reached, AT_RISK),  # RATE_AT_RISK = 1/2
        (4 * answered < 3 * reached, WATCH),  # RATE_WATCH = 3/4
        else_=ON_TRACK,
    )
    flag_rank = sa.func.coalesce(flags.c.rank, ON_TRACK)
    rate = sa.case((reached > 0, sa.cast(answered, sa.Float) / reached), else_=1.0)
    return (
        select(
            col(Match.id).label("match_id"),
            _worst(flag_rank, rate_rank, _contact_rank(programs, now)).label("mark"),
            sa.func.coalesce(flags.c.severity, NO_SEVERITY).label("severity"),
            rate.label("rate"),
        )
        .select_from(Match)
        .outerjoin(flags, flags.c.match_id == col(Match.id))
        .outerjoin(responses, responses.c.match_id == col(Match.id))
        .outerjoin(MatchContact, col(MatchContact.match_id) == col(Match.id))
        .where(*scope)
        .subquery("marked")
    )


async def marks(
    session: AsyncSession,
    programs: Sequence[Program],
    now: datetime,
    match_ids: Sequence[int] | None = None,
) -> dict[int, Mark]:
    """Every open match's mark, by match id, in one statement."""
    if not programs:
        return {}
    table = marked(programs, now, match_ids)
    rows = await session.exec(select(table.c.match_id, table.c.mark))
    return {match_id: MARKS[rank] for match_id, rank in rows.all()}


async def open_page(
    session: AsyncSession,
    programs: Sequence[Program],
    now: datetime,
    wanted: Mark | None,
    offset: int,
    size: int,
) -> Standings:
    """Open matches `offset` to `offset + size` in attention order (those marked `wanted`
    only, unless None), with the count of each mark over all open matches: one statement,
    the counts as window sums beside the rows."""
    if not programs:
        return Standings([])
    table = marked(programs, now, None)
    kept = sa.true() if wanted is None else table.c.mark == MARK_ORDER[wanted]
    counts = [
        sa.func.sum(sa.case((table.c.mark == rank, 1), else_=0)).over().label(f"n{rank}")
        for rank in MARKS
    ]
    listed = sa.func.sum(sa.case((kept, 1), else_=0)).over().label("listed")
    rows = (
        await session.exec(
            select(table.c.match_id, sa.case((kept, 0), else_=1), *counts, listed)
            .order_by(
                sa.case((kept, 0), else_=1),
                table.c.mark,
                table.c.severity,
                table.c.rate,
                table.c.match_id,
            )
            .offset(offset)
            .limit(size)
        )
    ).all()
    if not rows:
        return Standings([])
    first = rows[0]
    found = {mark: int(n) for mark, n in zip(MARKS.values(), first[2:-1], strict=True)}
    page = [row[0] for row in rows if row[1] == 0]
    return Standings(page, found, int(first[-1]))


async def closed_page(
    session: AsyncSession, programs: Sequence[Program], offset: int, size: int
) -> Standings:
    """Closed matches `offset` to `offset + size`, the latest closed first, and how many."""
    if not programs:
        return Standings([])
    closed = sa.func.coalesce(col(Match.closed_at), col(Match.started_at))
    rows = (
        await session.exec(
            select(col(Match.id), sa.func.count().over())
            .where(
                col(Match.program_id).in_([program.id for program in programs]),
                col(Match.status) == MatchStatus.CLOSED,
            )
            .order_by(closed.desc(), col(Match.id))
            .offset(offset)
            .limit(size)
        )
    ).all()
    return Standings([row[0] for row in rows], {}, int(rows[0][1]) if rows else 0)
