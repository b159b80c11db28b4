"""A participant's request to end their match early: an "end request" flag.

`request_end` raises it through the same insert as the rules' flags
(`storage.flag_sweep.insert_flags`); its evidence lists the requests: who, when, and the
reason they gave, which the coordinators read.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.flag_sweep import flag_row, insert_flags
from storage.flags import Candidate, Rule, Severity
from storage.models import AuditEvent, Flag, FlagStatus, Match


class Requested(StrEnum):
    NEW = "new"  # a new flag
    ADDED = "added"  # the partner's request was open: the flag now lists both
    ALREADY = "already"  # this person's request is already with the coordinators


async def open_end_request(session: AsyncSession, match_id: int) -> Flag | None:
    """The match's unresolved end request, locked for this transaction."""
    statement = (
        select(Flag)
        .where(
            Flag.match_id == match_id,
            Flag.rule == Rule.END_REQUEST,
            Flag.status != FlagStatus.RESOLVED,
        )
        .with_for_update()
    )
    return (await session.exec(statement)).first()


def requested_by(flag: Flag | None, person_id: int) -> bool:
    requests = [] if flag is None else (flag.evidence or {}).get("requests") or []
    return any(request.get("person_id") == person_id for request in requests)


async def request_end(
    session: AsyncSession, match: Match, person_id: int, reason: str | None, now: datetime
) -> tuple[Requested, int]:
    """A participant asks to end their match early: a "high" flag for the coordinators
    (or, when the partner's request is open, their flag lists this one too and is open
    again) and an audit event. Nothing about the match changes: the coordinators decide.
    Returns what happened and the flag's id."""
    match_id = match.id or 0
    request = {"person_id": person_id, "at": now.isoformat(), "reason": reason}
    flag = await open_end_request(session, match_id)
    if flag is None:
        candidate = Candidate(Rule.END_REQUEST, Severity.HIGH, {"requests": [request]})
        created = await insert_flags(session, [flag_row(match_id, candidate, now)])
        flag = None if created else await open_end_request(session, match_id)
        if created:
            _audit_request(session, match, person_id, reason, now)
            return Requested.NEW, created[0]
        if flag is None:  # the partner's request, inserted and resolved meanwhile
            raise RuntimeError("the match's end request changed meanwhile")
    if requested_by(flag, person_id):
        return Requested.ALREADY, flag.id or 0
    evidence = flag.evidence or {}
    flag.evidence = {**evidence, "requests": [*(evidence.get("requests") or []), request]}
    flag.status, flag.snoozed_until = FlagStatus.OPEN, None
    session.add(flag)
    _audit_request(session, match, person_id, reason, now)
    return Requested.ADDED, flag.id or 0


def _audit_request(
    session: AsyncSession, match: Match, person_id: int, reason: str | None, now: datetime
) -> None:
    session.add(
        AuditEvent(
            actor_id=person_id,
            actor_label="mentor" if person_id == match.mentor_id else "mentee",
            action="match.end_requested",
            subject=f"match:{match.id}",
            detail={"reason": reason},
            at=now,
        )
    )
