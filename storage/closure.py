"""A match's lifecycle after pairing: its planned end, extensions, ending early, closure,
and a mentee's wish for a new match. Dialogues, the command line and the dispatcher call
these services; none of them changes a match's status by itself.

::

                 extension: both say yes, the coordinator approves
                 (planned_end += closure.extension_weeks)
                      ┌───────────┐
                      ▼           │
    ┌────────┐   planned end reached     ┌─────────┐  both closure surveys    ┌────────┐
    │ active │──(no approved extension)─▶│ closing │──answered or expired, ──▶│ closed │
    │ paused │──end_match (coordinator, ─▶│         │  or survey_days passed   └────────┘
    └────────┘   CLI, an end request)     └─────────┘
         notice_weeks before the planned end: a closure notice to both people,
         which asks each whether they want to extend (`answer_extension`)

- **Planned end.** `start_due_closures` (each dispatcher tick) moves an active or paused
  match whose planned end has begun in the program's zone to `closing`, with the reason
  `completed`. An extension only counts once approved: one still waiting for an answer or
  for the coordinator lapses at the planned end.
- **Extension.** `answer_extension` stores each participant's yes or no for the current
  planned end (one `MatchExtension` per match and planned end): one no declines it, two
  yeses make it `agreed`, and `decide_extension` is the coordinator's approval (the
  planned end moves by the extension's weeks) or refusal.
- **Ending early.** `end_match` (reason from `EARLY_REASONS`) starts closure at once and
  resolves the match's open end request; `keep_match` resolves it the other way.
- **Closing.** Entering `closing` drops the match's unsent check-ins, reflections and
  closure notices, cancels their reminders and lapses an open extension; the dispatcher
  then materialises each person's closure survey (`storage.closure_prompts`).
  `finish_closures` makes the match `closed` when both surveys are settled (answered,
  missed, expired…) or `closure.survey_days` have passed since closure began.
- **Rematch.** `set_wants_rematch` marks the mentee's membership; `waiting_for_rematch`
  lists those marked who have had no new match since.

Every change writes an `AuditEvent`; nothing here commits (the caller's transaction).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.closure_schedule import DAY, closure_settings, planned_end_reached
from storage.db import upsert
from storage.flags import Rule
from storage.materialise import schedule_changed
from storage.models import (
    AuditEvent,
    ExtensionStatus,
    Flag,
    FlagStatus,
    Match,
    MatchExtension,
    MatchStatus,
    Membership,
    Program,
    Prompt,
    PromptKind,
    PromptStatus,
    Role,
)
from storage.programs import zone_or_none


class ClosureReason(StrEnum):
    COMPLETED = "completed"  # the planned end (set by the dispatcher)
    GOALS_MET = "goals_met"
    NO_TIME = "no_time"
    NOT_A_GOOD_FIT = "not_a_good_fit"
    MOVED_AWAY = "moved_away"
    FOUND_EMPLOYMENT = "found_employment"
    OTHER = "other"


# The reasons a coordinator chooses from when ending a match before its planned end.
EARLY_REASONS = tuple(reason for reason in ClosureReason if reason != ClosureReason.COMPLETED)
OPEN = (MatchStatus.ACTIVE, MatchStatus.PAUSED)
# Prompts that belong to a running match and go when it starts closing.
RUNNING_KINDS = (PromptKind.CHECKIN, PromptKind.REFLECTION, PromptKind.CLOSURE_NOTICE)
SETTLED = (
    PromptStatus.ANSWERED,
    PromptStatus.SKIPPED,
    PromptStatus.MISSED,
    PromptStatus.EXPIRED,
    PromptStatus.FAILED,
)


class ClosureProblem(StrEnum):
    NOT_OPEN = "not_open"  # the match is closing or closed already
    NOT_PARTICIPANT = "not_participant"
    NOT_ASKING = "not_asking"  # the extension was declined, decided or lapsed
    ALREADY_ANSWERED = "already_answered"
    NOT_AGREED = "not_agreed"  # nothing for the coordinator to decide (yet)
    NOT_MENTEE = "not_mentee"
    EARLIER_ROUND = "earlier_round"  # a button of an earlier extension request


class ClosureError(Exception):
    """A lifecycle step that cannot be taken; `problem` is a code for the caller to word."""

    def __init__(self, problem: ClosureProblem, match: Match) -> None:
        super().__init__(f"match {match.id}: {problem}")
        self.problem, self.match = problem, match


@dataclass(frozen=True)
class Actor:
    """Who takes a step, as the audit trail names them: a person (a coordinator, a
    participant) or none ("tandem" for the dispatcher, "cli ana" for the command line)."""

    person_id: int | None
    label: str


SYSTEM = Actor(None, "tandem")


def _audit(
    session: AsyncSession, actor: Actor, action: str, subject: str, now: datetime, **detail: object
) -> None:
    session.add(
        AuditEvent(
            actor_id=actor.person_id,
            actor_label=actor.label,
            action=action,
            subject=subject,
            detail=detail,
            at=now,
        )
    )


async def _locked(session: AsyncSession, match: Match) -> Match:
    """The match re-read and locked for this transaction (PostgreSQL), so two steps on
    one match (an approval and the planned end, say) happen one after the other."""
    statement = (
        select(Match)
        .where(Match.id == match.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.exec(statement)).one()


def role_in(match: Match, person_id: int) -> Role | None:
    if person_id == match.mentee_id:
        return Role.MENTEE
    if person_id == match.mentor_id:
        return Role.MENTOR
    return None


# --- ending ---------------------------------------------------------------------------


class Decision(StrEnum):
    """What was decided about an end request (``Flag.evidence["decision"]``)."""

    ENDED = "ended"
    KEPT = "kept"


def decision_of(flag: Flag) -> tuple[Decision, ClosureReason | None] | None:
    """The decision recorded on a resolved end request, and the reason the match ended
    for; None when the flag holds none (another rule, or still open)."""
    recorded = (flag.evidence or {}).get("decision")
    if not isinstance(recorded, dict) or recorded.get("outcome") not in set(Decision):
        return None
    reason = recorded.get("reason")
    return Decision(recorded["outcome"]), (
        ClosureReason(reason) if reason in set(ClosureReason) else None
    )


async def _resolve_end_request(
    session: AsyncSession,
    match: Match,
    actor: Actor,
    now: datetime,
    outcome: Decision,
    reason: ClosureReason | None = None,
) -> int | None:
    """Resolve the match's unresolved end request, if any, with the decision recorded on
    it and an audit event; returns its id (the caller brings the coordinators' alert
    copies up to date)."""
    statement = select(Flag).where(
        Flag.match_id == match.id, Flag.rule == Rule.END_REQUEST, Flag.status != FlagStatus.RESOLVED
    )
    flag = (await session.exec(statement.with_for_update())).first()
    if flag is None:
        return None
    flag.status, flag.handled_by, flag.handled_at = FlagStatus.RESOLVED, actor.person_id, now
    flag.snoozed_until = None
    decision = {"outcome": str(outcome), "reason": None if reason is None else str(reason)}
    flag.evidence = {**(flag.evidence or {}), "decision": decision}  # a new dict: saved
    session.add(flag)
    detail = {"match_id": match.id, "rule": flag.rule, "outcome": str(outcome)}
    _audit(session, actor, "flag.resolve", f"flag:{flag.id}", now, **detail)
    return flag.id


@dataclass(frozen=True)
class Ended:
    """A match that began closing, and the end request that was resolved with it."""

    match: Match
    resolved_flag_id: int | None


async def end_match(
    session: AsyncSession, match: Match, reason: ClosureReason, actor: Actor, now: datetime
) -> Ended:
    """Start closing an active or paused match (see the module docstring): its reason,
    an audit event, its open end request resolved. ClosureError(NOT_OPEN) when it is
    closing or closed already."""
    match = await _locked(session, match)
    if match.status not in OPEN:
        raise ClosureError(ClosureProblem.NOT_OPEN, match)
    before = match.status
    match.status, match.closure_reason, match.closing_at = MatchStatus.CLOSING, reason, now
    session.add(match)
    running = (col(Prompt.match_id) == match.id, col(Prompt.kind).in_(RUNNING_KINDS))
    await session.exec(sa.delete(Prompt).where(*running, Prompt.status == PromptStatus.PENDING))
    await session.exec(
        sa.update(Prompt).where(*running, col(Prompt.reminded_at).is_(None)).values(remind_at=None)
    )
    await session.exec(
        sa.update(MatchExtension)
        .where(
            col(MatchExtension.match_id) == match.id,
            col(MatchExtension.status).in_((ExtensionStatus.ASKING, ExtensionStatus.AGREED)),
        )
        .values(status=ExtensionStatus.LAPSED)
    )
    planned_end = match.planned_end.isoformat() if match.planned_end else None
    detail = {"reason": str(reason), "from": before, "planned_end": planned_end}
    _audit(session, actor, "match.end", f"match:{match.id}", now, **detail)
    flag_id = await _resolve_end_request(session, match, actor, now, Decision.ENDED, reason)
    await schedule_changed(session)
    return Ended(match, flag_id)


async def keep_match(
    session: AsyncSession, match: Match, actor: Actor, now: datetime
) -> int | None:
    """The coordinator keeps the match going: its open end request is resolved (returns
    its id, None when there was none)."""
    return await _resolve_end_request(session, match, actor, now, Decision.KEPT)


async def ending_event(session: AsyncSession, match: Match) -> AuditEvent | None:
    """The audit event of the match's end (who ended it, when, why), the latest if an
    extension ever reopened it; None while it has not ended."""
    statement = (
        select(AuditEvent)
        .where(AuditEvent.action == "match.end", AuditEvent.subject == f"match:{match.id}")
        .order_by(col(AuditEvent.id).desc())
        .limit(1)
    )
    return (await session.exec(statement)).first()


async def start_due_closures(session: AsyncSession, now: datetime) -> list[Ended]:
    """Start closing the open matches whose planned end has begun in their program's zone
    (reason `completed`), each through `end_match` (an open end request is resolved with
    it). One indexed query when none is due."""
    horizon = (now + DAY).date()  # no zone is a day ahead of UTC
    statement = (
        select(Match, Program.timezone)
        .join(Program, col(Program.id) == col(Match.program_id))
        .where(
            col(Match.status).in_(OPEN),
            col(Match.planned_end).is_not(None),
            col(Match.planned_end) <= horizon,
        )
        .order_by(col(Match.id))
    )
    started: list[Ended] = []
    for match, zone in (await session.exec(statement)).all():
        assert match.planned_end is not None
        if planned_end_reached(match.planned_end, zone_or_none(zone), now):
            started.append(await end_match(session, match, ClosureReason.COMPLETED, SYSTEM, now))
    return started


async def finish_closures(session: AsyncSession, now: datetime) -> list[int]:
    """Close the closing matches whose two closure surveys are settled, or whose survey
    window (`closure.survey_days` from when closure began) is over; returns their ids."""
    statement = (
        select(Match, Program.settings)
        .join(Program, col(Program.id) == col(Match.program_id))
        .where(Match.status == MatchStatus.CLOSING)
    )
    closing = (await session.exec(statement)).all()
    if not closing:
        return []
    surveys = await session.exec(
        select(Prompt.match_id, Prompt.person_id).where(
            col(Prompt.match_id).in_([match.id for match, _ in closing]),
            Prompt.kind == PromptKind.CLOSURE,
            col(Prompt.status).in_(SETTLED),
        )
    )
    settled = set(surveys.all())
    done = [
        match
        for match, settings in closing
        if now >= (match.closing_at or now) + closure_settings(settings).survey_window
        or {(match.id, match.mentee_id), (match.id, match.mentor_id)} <= settled
    ]
    for match in done:
        match.status, match.closed_at = MatchStatus.CLOSED, now
        session.add(match)
        detail = {"reason": match.closure_reason}
        _audit(session, SYSTEM, "match.closed", f"match:{match.id}", now, **detail)
    if done:
        await schedule_changed(session)  # the follow-ups are materialised from now on
    return [match.id or 0 for match in done]


# --- extension ------------------------------------------------------------------------


async def current_extension(session: AsyncSession, match: Match) -> MatchExtension | None:
    """The extension request for the match's current planned end, if anyone answered."""
    statement = select(MatchExtension).where(
        MatchExtension.match_id == match.id, MatchExtension.planned_end == match.planned_end
    )
    return (await session.exec(statement.with_for_update())).first()


async def answer_extension(
    session: AsyncSession,
    match: Match,
    person_id: int,
    wants: bool,
    now: datetime,
    *,
    planned_end: date | None = None,
) -> MatchExtension:
    """Store one participant's answer to "extend the match?" for its current planned end
    (`planned_end`: the one the question was asked about, the request's round; None:
    the current one). A no declines the request; the second yes makes it `agreed`, for
    the coordinator to decide. Raises ClosureError: NOT_OPEN, NOT_PARTICIPANT,
    EARLIER_ROUND (asked about another planned end), NOT_ASKING, ALREADY_ANSWERED."""
    match = await _locked(session, match)
    role = role_in(match, person_id)
    if role is None:
        raise ClosureError(ClosureProblem.NOT_PARTICIPANT, match)
    if match.status not in OPEN or match.planned_end is None:
        raise ClosureError(ClosureProblem.NOT_OPEN, match)
    if planned_end is not None and planned_end != match.planned_end:
        raise ClosureError(ClosureProblem.EARLIER_ROUND, match)
    extension = await current_extension(session, match)
    if extension is None:
        program = await session.get(Program, match.program_id)
        weeks = closure_settings(program.settings if program else None).extension_weeks
        row = {"match_id": match.id, "planned_end": match.planned_end, "weeks": weeks}
        row |= {"status": ExtensionStatus.ASKING, "created_at": now}
        table = MatchExtension.__table__  # type: ignore[attr-defined]
        insert = upsert(session, table).values(row)
        await session.exec(
            insert.on_conflict_do_nothing(index_elements=["match_id", "planned_end"])
        )
        extension = await current_extension(session, match)
        assert extension is not None
    if extension.status != ExtensionStatus.ASKING:
        raise ClosureError(ClosureProblem.NOT_ASKING, match)
    side = "mentee" if role == Role.MENTEE else "mentor"
    if getattr(extension, f"{side}_wants") is not None:
        raise ClosureError(ClosureProblem.ALREADY_ANSWERED, match)
    setattr(extension, f"{side}_wants", wants)
    setattr(extension, f"{side}_answered_at", now)
    if not wants:
        extension.status = ExtensionStatus.DECLINED
    elif extension.mentee_wants and extension.mentor_wants:
        extension.status = ExtensionStatus.AGREED
    session.add(extension)
    detail = {"wants": wants, "planned_end": match.planned_end.isoformat()}
    actor = Actor(person_id, str(role))
    _audit(session, actor, "match.extension_answer", f"match:{match.id}", now, **detail)
    return extension


async def decide_extension(
    session: AsyncSession,
    match: Match,
    actor: Actor,
    approve: bool,
    now: datetime,
    *,
    extension_id: int | None = None,
) -> MatchExtension:
    """The coordinator's decision on an agreed extension (`extension_id`: the request the
    button was drawn for; None: the current one): approved, the planned end moves by the
    extension's weeks (and the new planned end gets its own notice); refused, the match
    ends at its planned end. Raises ClosureError: NOT_OPEN, EARLIER_ROUND (the request is
    not the current planned end's), NOT_AGREED."""
    match = await _locked(session, match)
    if match.status not in OPEN or match.planned_end is None:
        raise ClosureError(ClosureProblem.NOT_OPEN, match)
    extension = await current_extension(session, match)
    if extension_id is not None and (extension is None or extension.id != extension_id):
        raise ClosureError(ClosureProblem.EARLIER_ROUND, match)
    if extension is None or extension.status != ExtensionStatus.AGREED:
        raise ClosureError(ClosureProblem.NOT_AGREED, match)
    extension.decided_by, extension.decided_at = actor.person_id, now
    subject = f"match:{match.id}"
    if approve:
        before = match.planned_end
        match.planned_end = before + timedelta(weeks=extension.weeks)
        extension.status = ExtensionStatus.APPROVED
        session.add(match)
        detail = {"from": before.isoformat(), "to": match.planned_end.isoformat()}
        _audit(session, actor, "match.extend", subject, now, weeks=extension.weeks, **detail)
        await schedule_changed(session)
    else:
        extension.status = ExtensionStatus.REFUSED
        detail = {"planned_end": match.planned_end.isoformat()}
        _audit(session, actor, "match.extension_refused", subject, now, **detail)
    session.add(extension)
    return extension


# --- rematch --------------------------------------------------------------------------


async def set_wants_rematch(
    session: AsyncSession, match: Match, person_id: int, wants: bool, now: datetime
) -> Membership:
    """The mentee of `match` would like a new match (or no longer does): marked on their
    membership of the program. Raises ClosureError(NOT_MENTEE) for anyone else."""
    if person_id != match.mentee_id:
        raise ClosureError(ClosureProblem.NOT_MENTEE, match)
    statement = select(Membership).where(
        Membership.person_id == person_id,
        Membership.program_id == match.program_id,
        Membership.role == Role.MENTEE,
    )
    membership = (await session.exec(statement)).first()
    if membership is None:
        raise ClosureError(ClosureProblem.NOT_MENTEE, match)
    membership.wants_rematch_at = now if wants else None
    session.add(membership)
    actor = Actor(person_id, str(Role.MENTEE))
    _audit(session, actor, "match.rematch_wanted", f"match:{match.id}", now, wants=wants)
    return membership


async def waiting_for_rematch(session: AsyncSession, program_id: int) -> Sequence[Membership]:
    """The program's mentees who asked for a new match and have not been matched since,
    those who asked first first."""
    later = sa.exists().where(
        col(Match.mentee_id) == col(Membership.person_id),
        col(Match.program_id) == program_id,
        col(Match.started_at) >= col(Membership.wants_rematch_at),
    )
    statement = (
        select(Membership)
        .where(
            Membership.program_id == program_id,
            Membership.role == Role.MENTEE,
            col(Membership.wants_rematch_at).is_not(None),
            ~later,
        )
        .order_by(col(Membership.wants_rematch_at), col(Membership.id))
    )
    return (await session.exec(statement)).all()
