"""Certificates of completion: which closed matches earn one, and the facts one states.

A match *completed* the program when it closed on or after its planned end (in the
program's zone), extended or not; one closed earlier ended early. A participant can get
the certificate of a completed match again at any time; a coordinator may send one for
any closed match of their own program, an early end included.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.meetings import meeting_totals
from storage.models import AuditEvent, Match, MatchStatus, Person, Program, Role
from storage.programs import zone_or_none

SENT = "certificate.send"  # the audit action of a certificate a coordinator sent
SHOWN = 20  # closed matches a coordinator picks from, the latest first


@dataclass(frozen=True)
class CertificateFacts:
    """What a certificate says: whose, which program, in which role, when, and how much
    time the pair logged together."""

    name: str
    program: str
    role: str  # Role.MENTEE or Role.MENTOR
    started_on: date
    ended_on: date
    meetings: int
    minutes: int
    issued_on: date


def _local_day(moment: datetime, zone: ZoneInfo | None) -> date:
    return moment.astimezone(zone).date() if zone else moment.date()


def completed(match: Match, program: Program) -> bool:
    """Whether the match closed having run to its planned end."""
    if match.status != MatchStatus.CLOSED or match.closed_at is None:
        return False
    ended = _local_day(match.closed_at, zone_or_none(program.timezone))
    return match.planned_end is not None and ended >= match.planned_end


async def completed_matches(session: AsyncSession, person_id: int) -> list[tuple[Match, Program]]:
    """The closed matches this person completed, as mentor or mentee, latest first."""
    statement = (
        select(Match, Program)
        .join(Program, col(Program.id) == col(Match.program_id))
        .where(
            Match.status == MatchStatus.CLOSED,
            (col(Match.mentor_id) == person_id) | (col(Match.mentee_id) == person_id),
        )
        .order_by(col(Match.closed_at).desc(), col(Match.id).desc())
    )
    rows = (await session.exec(statement)).all()
    return [(match, program) for match, program in rows if completed(match, program)]


@dataclass(frozen=True)
class ClosedMatch:
    match: Match
    program: Program
    mentor: Person
    mentee: Person


async def closed_matches(
    session: AsyncSession, program_ids: list[int], limit: int = SHOWN, match_id: int | None = None
) -> list[ClosedMatch]:
    """The latest closed matches of these programs (or only `match_id`, if it is one of
    them), with both people."""
    mentor, mentee = aliased(Person), aliased(Person)
    statement = (
        select(Match, Program, mentor, mentee)
        .join(Program, col(Program.id) == col(Match.program_id))
        .join(mentor, col(mentor.id) == col(Match.mentor_id))
        .join(mentee, col(mentee.id) == col(Match.mentee_id))
        .where(Match.status == MatchStatus.CLOSED, col(Match.program_id).in_(program_ids))
        .order_by(col(Match.closed_at).desc(), col(Match.id).desc())
        .limit(limit)
    )
    if match_id is not None:
        statement = statement.where(Match.id == match_id)
    return [ClosedMatch(*row) for row in (await session.exec(statement)).all()]


async def certificate_facts(
    session: AsyncSession, match: Match, program: Program, person: Person, now: datetime
) -> CertificateFacts:
    """The facts of `person`'s certificate for `match`: its days in the program's zone,
    and the meetings the pair logged (either of them may have logged each one)."""
    zone = zone_or_none(program.timezone)
    meetings, minutes = await meeting_totals(session, match.id or 0)
    return CertificateFacts(
        name=person.name or "",
        program=program.name,
        role=Role.MENTOR if person.id == match.mentor_id else Role.MENTEE,
        started_on=_local_day(match.started_at, zone),
        ended_on=_local_day(match.closed_at or now, zone),
        meetings=meetings,
        minutes=minutes,
        issued_on=_local_day(now, zone),
    )


def record_sent(
    session: AsyncSession, sent: ClosedMatch, person: Person, actor_id: int, now: datetime
) -> None:
    """A coordinator sent `person` their certificate (the audit trail)."""
    session.add(
        AuditEvent(
            actor_id=actor_id,
            actor_label="coordinator",
            action=SENT,
            subject=f"match:{sent.match.id}",
            detail={"person_id": person.id, "completed": completed(sent.match, sent.program)},
            at=now,
        )
    )
