"""Certificates of completion: which closed matches earn one, and the facts one states.

A match *completed* the program when it closed on or after its planned end (in the
program's zone), extended or not; one closed earlier ended early. The dispatcher sends
each person of a completed match their certificate once (`certificates_due`,
`claim_certificate`, `record_certificate`): every tick looks for those not yet sent, so
one lost to a stop between closing and sending goes out on the next tick. A participant can get
the certificate of a completed match again at any time; a coordinator may send one for
any closed match of their own program, an early end included.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import upsert
from storage.meetings import meeting_totals
from storage.models import (
    AuditEvent,
    CertificateDelivery,
    DeliveryStatus,
    Match,
    MatchStatus,
    Person,
    PersonStatus,
    Program,
    Role,
)
from storage.programs import zone_or_none

SENT = "certificate.send"  # the audit action of a certificate a coordinator sent
SHOWN = 20  # closed matches a coordinator picks from, the latest first
# How long after a match closes the dispatcher still sends its certificates (after an
# outage, say); later, /certificate gives them.
DELIVERY_WINDOW = timedelta(days=30)
UNREACHABLE = (PersonStatus.UNREACHABLE, PersonStatus.CLOSED, PersonStatus.ERASED)


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


@dataclass(frozen=True)
class Due:
    """A certificate the dispatcher has yet to send."""

    match: Match
    program: Program
    person: Person


async def certificates_due(session: AsyncSession, now: datetime) -> list[Due]:
    """The people of the matches that closed within `DELIVERY_WINDOW` having completed the
    program, reachable, whose certificate has not been sent (or tried) yet."""
    statement = (
        select(Match, Program)
        .join(Program, col(Program.id) == col(Match.program_id))
        .where(
            Match.status == MatchStatus.CLOSED,
            col(Match.closed_at) >= now - DELIVERY_WINDOW,
            col(Match.planned_end).is_not(None),
        )
        .order_by(col(Match.id))
    )
    matches = [(m, p) for m, p in (await session.exec(statement)).all() if completed(m, p)]
    if not matches:
        return []
    done = await session.exec(
        select(CertificateDelivery.match_id, CertificateDelivery.person_id).where(
            col(CertificateDelivery.match_id).in_([match.id for match, _ in matches])
        )
    )
    tried = set(done.all())
    due: list[Due] = []
    for match, program in matches:
        for person_id in (match.mentee_id, match.mentor_id):
            if (match.id, person_id) in tried:
                continue
            person = await session.get(Person, person_id)
            if (
                person is not None
                and person.chat_id is not None
                and person.status not in UNREACHABLE
            ):
                due.append(Due(match, program, person))
    return due


async def claim_certificate(
    session: AsyncSession, match_id: int, person_id: int, now: datetime
) -> bool:
    """Mark the certificate as being sent, before sending it; False when it already is
    (another instance, an earlier tick), and then it is not sent again."""
    row = {"match_id": match_id, "person_id": person_id}
    row |= {"status": DeliveryStatus.SENDING, "updated_at": now}
    table = CertificateDelivery.__table__  # type: ignore[attr-defined]
    statement = upsert(session, table).values(row)
    statement = statement.on_conflict_do_nothing(index_elements=["match_id", "person_id"])
    result = await session.exec(statement.returning(table.c.id))
    return result.first() is not None


async def record_certificate(
    session: AsyncSession,
    match_id: int,
    person_id: int,
    status: DeliveryStatus | None,
    now: datetime,
) -> None:
    """What became of a claimed certificate: sent, failed or uncertain; None gives the
    claim back (a failure that may pass), and a later tick sends it."""
    statement = select(CertificateDelivery).where(
        CertificateDelivery.match_id == match_id, CertificateDelivery.person_id == person_id
    )
    delivery = (await session.exec(statement)).first()
    if delivery is None:
        return
    if status is None:
        await session.delete(delivery)
        return
    delivery.status, delivery.updated_at = status, now
    session.add(delivery)
