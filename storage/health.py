"""Match health: is a match on track, to watch, or at risk — and why.

Three judgements, the worst of which is the match's mark (README, "Match health"):

- **Flags**: its unresolved flags. An urgent or high flag puts the match at risk, a medium
  or low one on watch. A snoozed flag (still within its snooze) weighs one step less — at
  risk becomes watch, watch becomes nothing — because the coordinator has seen it and
  chosen to wait; an acknowledged flag weighs in full, as it is still not settled.
- **Response**: its check-ins answered over the last `RATE_WEEKS` weeks, as
  `storage.metrics` counts them, except check-ins still open (sent, not yet answered,
  not yet missed): nobody is behind on a check-in that arrived this morning. Below
  `RATE_AT_RISK` at risk, below `RATE_WATCH` watch; fewer than `RATE_MIN_CHECKINS`
  counted, no judgement.
- **Contact**: time since its latest contact (a meeting logged or a contact reported in
  a check-in, as the no-contact rule reads them in `storage.contacts`; the match's start
  when there is none) against the program's ``no_contact_weeks`` flag threshold: at or
  over it watch, at or over `SILENCE_AT_RISK` times it at risk. Judged for active matches
  only: a paused or closing match is not expected to meet.

Closed matches get no mark: `match_health` leaves them out unless asked for them alone
(``closed=True``), and then reads nothing but the matches and their people.

Everything is read for all the asked matches at once, in a handful of queries (the
matches and their people, the unresolved flags, the check-in counts, the latest logs, the
latest reported contacts), whatever the number of matches. A view of a large program asks
for one page of matches: `storage.standings` marks and orders all of them in SQL first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.contacts import CONTACT_KEY, NO_CONTACT, logged
from storage.flag_list import UNRANKED
from storage.flags import SEVERITY_ORDER, Severity, thresholds
from storage.metrics import CheckinCount, Rate, rates_by_match, recent_periods
from storage.models import (
    Answer,
    Flag,
    FlagStatus,
    Match,
    MatchStatus,
    MeetingLog,
    Person,
    Program,
    Prompt,
    PromptKind,
    PromptStatus,
)
from storage.programs import zone_or_none

RATE_WEEKS = 4  # weeks of check-ins the response judgement reads, this one included
RATE_MIN_CHECKINS = 2  # fewer check-ins counted: no judgement
RATE_AT_RISK = 0.5  # answered below this share: at risk
RATE_WATCH = 0.75  # … below this one: watch
SILENCE_AT_RISK = 2  # times the program's no_contact_weeks without contact: at risk
WEEK = timedelta(days=7)


class Mark(StrEnum):
    ON_TRACK = "on_track"
    WATCH = "watch"
    AT_RISK = "at_risk"


MARK_ORDER = {Mark.AT_RISK: 0, Mark.WATCH: 1, Mark.ON_TRACK: 2}  # the worst first


class Reason(StrEnum):
    FLAGS = "flags"
    RESPONSE = "response"
    CONTACT = "contact"


@dataclass(frozen=True)
class Judgement:
    reason: Reason
    mark: Mark


FLAG_MARKS = {
    Severity.URGENT: Mark.AT_RISK,
    Severity.HIGH: Mark.AT_RISK,
    Severity.MEDIUM: Mark.WATCH,
    Severity.LOW: Mark.WATCH,
}
LIGHTER = {Mark.AT_RISK: Mark.WATCH, Mark.WATCH: Mark.ON_TRACK, Mark.ON_TRACK: Mark.ON_TRACK}


def worst(marks: Iterable[Mark]) -> Mark:
    return min(marks, key=MARK_ORDER.__getitem__, default=Mark.ON_TRACK)


def snoozed(flag: Flag, now: datetime) -> bool:
    """Snoozed and the snooze not over yet (the dispatcher reopens it once it is)."""
    return flag.status == FlagStatus.SNOOZED and (
        flag.snoozed_until is None or flag.snoozed_until > now
    )


def flag_mark(flag: Flag, now: datetime) -> Mark:
    """What one unresolved flag says about its match."""
    mark = FLAG_MARKS.get(flag.severity, Mark.WATCH)  # type: ignore[call-overload]
    return LIGHTER[mark] if snoozed(flag, now) else mark


def rate_mark(rate: Rate) -> Mark | None:
    """None: too few check-ins to judge."""
    if rate.reached < RATE_MIN_CHECKINS or rate.value is None:
        return None
    if rate.value < RATE_AT_RISK:
        return Mark.AT_RISK
    return Mark.WATCH if rate.value < RATE_WATCH else Mark.ON_TRACK


def contact_mark(silence: timedelta, no_contact_weeks: int) -> Mark:
    window = no_contact_weeks * WEEK
    if silence >= SILENCE_AT_RISK * window:
        return Mark.AT_RISK
    return Mark.WATCH if silence >= window else Mark.ON_TRACK


@dataclass(frozen=True)
class Health:
    """One match with its people, its mark (None when closed) and what it rests on."""

    match: Match
    program: Program
    mentor: Person | None
    mentee: Person | None
    mark: Mark | None
    judgements: tuple[Judgement, ...] = ()  # those not on track, the worst first
    flags: tuple[Flag, ...] = ()  # unresolved, the most severe first, then the oldest
    rate: Rate = field(default_factory=Rate)  # answered over the last RATE_WEEKS weeks
    last_contact: datetime | None = None  # None: no contact since the match started
    silence: timedelta | None = None  # since the latest contact, or the start

    @property
    def silent_weeks(self) -> int:
        return 0 if self.silence is None else self.silence // WEEK

    def weighing(self, now: datetime) -> list[Flag]:
        """The flags that count towards the mark (a snoozed low or medium one does not)."""
        return [flag for flag in self.flags if flag_mark(flag, now) != Mark.ON_TRACK]


def judge(
    match: Match, flags: Sequence[Flag], rate: Rate, silence: timedelta, limit: int, now: datetime
) -> tuple[Judgement, ...]:
    """The judgements that are not "on track", the worst first (flags, then response, then
    contact among equals)."""
    found = [Judgement(Reason.FLAGS, worst(flag_mark(flag, now) for flag in flags))]
    if (by_rate := rate_mark(rate)) is not None:
        found.append(Judgement(Reason.RESPONSE, by_rate))
    if match.status == MatchStatus.ACTIVE:
        found.append(Judgement(Reason.CONTACT, contact_mark(silence, limit)))
    kept = [judgement for judgement in found if judgement.mark != Mark.ON_TRACK]
    return tuple(sorted(kept, key=lambda judgement: MARK_ORDER[judgement.mark]))


def _flag_order(flag: Flag) -> tuple[int, datetime, int]:
    return SEVERITY_ORDER.get(flag.severity, UNRANKED), flag.opened_at, flag.id or 0


def sort_key(health: Health) -> tuple[Any, ...]:
    """At risk first, then watch, then on track; within a mark, the most severe flag first,
    then the lowest response rate, then the oldest match. Closed: the latest closed first."""
    if health.mark is None:
        closed = health.match.closed_at or health.match.started_at
        return (len(MARK_ORDER), -closed.timestamp(), health.match.id or 0)
    severity = min(
        (SEVERITY_ORDER.get(f.severity, UNRANKED) for f in health.flags), default=UNRANKED
    )
    rate = health.rate.value if health.rate.value is not None else 1.0
    return (MARK_ORDER[health.mark], severity, rate, health.match.id or 0)


async def match_health(
    session: AsyncSession,
    programs: Sequence[Program],
    now: datetime,
    *,
    closed: bool = False,
    match_ids: Sequence[int] | None = None,
) -> list[Health]:
    """The health of the programs' matches (or of `match_ids` among them), sorted by
    `sort_key`: the open matches, or with ``closed=True`` the closed ones (unmarked)."""
    by_id = {program.id: program for program in programs if program.id is not None}
    if not by_id:
        return []
    scope: list[Any] = [col(Match.program_id).in_(list(by_id))]
    scope.append(
        col(Match.status) == MatchStatus.CLOSED
        if closed
        else col(Match.status) != MatchStatus.CLOSED
    )
    if match_ids is not None:
        scope.append(col(Match.id).in_(list(match_ids)))
    mentor, mentee = aliased(Person), aliased(Person)
    rows = await session.exec(
        select(Match, mentor, mentee)
        .outerjoin(mentor, mentor.id == Match.mentor_id)  # type: ignore[arg-type]
        .outerjoin(mentee, mentee.id == Match.mentee_id)  # type: ignore[arg-type]
        .where(*scope)
        .order_by(col(Match.id))
    )
    found = [(match, mentor_row, mentee_row) for match, mentor_row, mentee_row in rows.all()]
    if closed:
        result = [
            Health(match, by_id[match.program_id], mentor_row, mentee_row, None)
            for match, mentor_row, mentee_row in found
        ]
        return sorted(result, key=sort_key)
    flags = await _open_flags(session, scope)
    rates = await _rates(session, scope, list(by_id.values()), now)
    contacts = await _last_contacts(session, scope)
    result = []
    for match, mentor_row, mentee_row in found:
        match_id = match.id or 0
        program = by_id[match.program_id]
        own = tuple(sorted(flags.get(match_id, []), key=_flag_order))
        rate = rates.get(match_id, Rate())
        last = contacts.get(match_id)
        silence = now - max(match.started_at, last) if last else now - match.started_at
        limit = thresholds(program.settings)["no_contact_weeks"]
        judgements = judge(match, own, rate, silence, limit, now)
        mark = judgements[0].mark if judgements else Mark.ON_TRACK
        result.append(
            Health(
                match, program, mentor_row, mentee_row, mark, judgements, own, rate, last, silence
            )
        )
    return sorted(result, key=sort_key)


async def _open_flags(session: AsyncSession, scope: list[Any]) -> dict[int, list[Flag]]:
    rows = await session.exec(
        select(Flag)
        .join(Match, col(Match.id) == col(Flag.match_id))
        .where(*scope, col(Flag.status) != FlagStatus.RESOLVED)
    )
    result: dict[int, list[Flag]] = {}
    for flag in rows.all():
        result.setdefault(flag.match_id, []).append(flag)
    return result


def recent_checkins(programs: Sequence[Program], now: datetime) -> Any:
    """A condition on Match and Prompt: the check-in falls in its program's last
    RATE_WEEKS weeks (programs in different time zones may be in different weeks)."""
    by_weeks: dict[tuple[str, ...], list[int]] = {}
    for program in programs:
        zone = zone_or_none(program.timezone)
        today = now.astimezone(zone).date() if zone else now.date()
        by_weeks.setdefault(tuple(recent_periods(today, RATE_WEEKS)), []).append(program.id or 0)
    return sa.and_(
        col(Prompt.kind) == PromptKind.CHECKIN,
        sa.or_(
            *(
                col(Match.program_id).in_(ids) & col(Prompt.period).in_(weeks)
                for weeks, ids in by_weeks.items()
            )
        ),
    )


async def _rates(
    session: AsyncSession, scope: list[Any], programs: Sequence[Program], now: datetime
) -> dict[int, Rate]:
    """Each match's response over the last RATE_WEEKS weeks of its program's calendar,
    check-ins still open left out."""
    rows = await session.exec(
        select(Prompt.match_id, Prompt.period, Prompt.status, sa.func.count(col(Prompt.id)))
        .join(Match, col(Match.id) == col(Prompt.match_id))
        .where(*scope, recent_checkins(programs, now), col(Prompt.status) != PromptStatus.SENT)
        .group_by(col(Prompt.match_id), col(Prompt.period), col(Prompt.status))
    )
    return rates_by_match(CheckinCount(*row) for row in rows.all())


async def _last_contacts(session: AsyncSession, scope: list[Any]) -> dict[int, datetime]:
    """Each match's latest contact: a meeting logged (noon UTC that day) or a contact
    reported in a check-in (when it was answered)."""
    logs = await session.exec(
        select(MeetingLog.match_id, sa.func.max(col(MeetingLog.met_on)))
        .join(Match, col(Match.id) == col(MeetingLog.match_id))
        .where(*scope, col(MeetingLog.deleted_at).is_(None))
        .group_by(col(MeetingLog.match_id))
    )
    result = {match_id: logged(met_on).moment for match_id, met_on in logs.all() if met_on}
    reports = await session.exec(
        select(Prompt.match_id, sa.func.max(col(Answer.answered_at)))
        .join(Prompt, col(Prompt.id) == col(Answer.prompt_id))
        .join(Match, col(Match.id) == col(Prompt.match_id))
        .where(
            *scope,
            Answer.question_key == CONTACT_KEY,
            col(Answer.value).not_in(["", NO_CONTACT]),
        )
        .group_by(col(Prompt.match_id))
    )
    for match_id, answered_at in reports.all():
        if answered_at is not None and (match_id not in result or answered_at > result[match_id]):
            result[match_id] = answered_at
    return result
