"""Materialising the prompts of a match's end: each person's closure survey while the
match is closing, and the mentee's outcome follow-ups months after it closed. One bulk
``INSERT … ON CONFLICT DO NOTHING`` per kind, as the check-ins (`storage.materialise`); the
closure notice is materialised with the check-ins, page by page, since it belongs to an
active match. The times are `storage.closure_schedule`'s.

Who gets them: everyone still taking part in the match (paused and unreachable people
included: the claim only sends to active people, so a paused person's survey waits for
their return within its window). Follow-ups go to mentees only, and never to someone who
left the program, was erased or is unreachable.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.closure_schedule import (
    CLOSURE_INSTRUMENTS,
    CLOSURE_PERIOD,
    FOLLOWUP_INSTRUMENT,
    MAX_FOLLOWUP_MONTHS,
    Window,
    closure_settings,
    followup_period,
    followup_window,
    survey_window,
)
from storage.materialise import WRITE_ORDER, insert_prompts
from storage.models import Match, MatchStatus, PersonStatus, PromptKind, PromptStatus, Role
from storage.participants import Participant, program_settings, scheduled_participants

# Follow-ups are looked for in matches closed at most this long ago: the longest offset
# allowed, a month's slack and the longest survey window a program could set.
FOLLOWUP_LOOKBACK = timedelta(days=31 * (MAX_FOLLOWUP_MONTHS + 1) + 366)


def _row(
    someone: Participant, kind: str, period: str, instrument: str, window: Window
) -> dict[str, Any]:
    return {
        "person_id": someone.person_id,
        "match_id": someone.match_id,
        "kind": kind,
        "period": period,
        "instrument": instrument,
        "due_at": window.due_at,
        "closes_at": window.closes_at,
        "status": PromptStatus.PENDING,
        "attempts": 0,
        "remind_at": window.remind_at,
    }


async def _when(
    session: AsyncSession, column: Any, status: str, since: datetime | None = None
) -> dict[int, datetime]:
    """{match id: `column`} of the matches in `status` (with `column` at `since` or later)."""
    statement = select(Match.id, column).where(Match.status == status, col(column).is_not(None))
    if since is not None:
        statement = statement.where(col(column) >= since)
    return dict((await session.exec(statement)).all())


def closure_rows(
    participants: list[Participant],
    begun: Mapping[int, datetime],
    settings: Mapping[int, Mapping[str, Any]],
) -> Iterator[dict[str, Any]]:
    """Each participant's closure survey, from when their match began closing."""
    for someone in participants:
        closing_at = begun.get(someone.match_id)
        if someone.slot is None or closing_at is None:
            continue
        days = closure_settings(settings.get(someone.program_id)).survey_days
        instrument = CLOSURE_INSTRUMENTS.get(someone.role)
        if instrument is not None:
            window = survey_window(someone.slot, closing_at, days)
            yield _row(someone, PromptKind.CLOSURE, CLOSURE_PERIOD, instrument, window)


def followup_rows(
    participants: list[Participant],
    closed: Mapping[int, datetime],
    settings: Mapping[int, Mapping[str, Any]],
) -> Iterator[dict[str, Any]]:
    """Each mentee's follow-ups, counted from when their match closed."""
    for someone in participants:
        closed_at = closed.get(someone.match_id)
        if (
            someone.slot is None
            or closed_at is None
            or someone.role != Role.MENTEE
            or someone.status == PersonStatus.UNREACHABLE
        ):
            continue
        chosen = closure_settings(settings.get(someone.program_id))
        for months in chosen.followup_months:
            window = followup_window(someone.slot, closed_at, months, chosen.survey_days)
            period = followup_period(months)
            yield _row(someone, PromptKind.FOLLOWUP, period, FOLLOWUP_INSTRUMENT, window)


def _open(
    rows: Iterator[dict[str, Any]], now: datetime, horizon: timedelta
) -> list[dict[str, Any]]:
    """The rows due by `now + horizon` whose window is still open, in the order every
    writer inserts in (`storage.materialise.WRITE_ORDER`)."""
    kept = [row for row in rows if row["due_at"] <= now + horizon and row["closes_at"] > now]
    kept.sort(key=WRITE_ORDER)
    return kept


async def materialise_closure_prompts(
    session: AsyncSession, now: datetime, horizon: timedelta
) -> int:
    """Create the closure surveys and follow-ups due up to `now + horizon` whose window
    is still open; returns how many are new."""
    settings = await program_settings(session)
    created = 0
    begun = await _when(session, Match.closing_at, MatchStatus.CLOSING)
    if begun:
        criteria = (col(Match.status) == MatchStatus.CLOSING,)
        people = await scheduled_participants(session, active_only=False, matches=criteria)
        rows = _open(closure_rows(people, begun, settings), now, horizon)
        created += await insert_prompts(session, rows)
    since = now - FOLLOWUP_LOOKBACK
    closed = await _when(session, Match.closed_at, MatchStatus.CLOSED, since)
    if closed:
        criteria = (col(Match.status) == MatchStatus.CLOSED, col(Match.closed_at) >= since)
        people = await scheduled_participants(session, active_only=False, matches=criteria)
        rows = _open(followup_rows(people, closed, settings), now, horizon)
        created += await insert_prompts(session, rows)
    return created
