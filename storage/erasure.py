"""Erasing a person: what they are and what they wrote goes, what a program counts stays.

`erase_person` is the one service behind /deleteme, a coordinator's or an admin's erasure
(`tandem person erase`) and the retention purge (`tandem purge`). In one transaction it

- blanks the person's identity: name, username, chat id, profile (time zone, check-in
  slot, pause), and replaces their Telegram id with ``-person id`` (no real Telegram id is
  negative, so it never collides, and the same person writing again is a stranger whom a
  new invite onboards afresh);
- blanks every free text they wrote: their memberships' profile answers, their goals,
  their typed check-in, reflection and survey answers, the notes and free topic words of
  their meeting logs, the reasons of their end requests (in the flag's evidence and the
  audit trail), the notes of flags they handled and the texts of broadcasts they sent;
- deletes what was still to be sent to them (prompts not yet sent, broadcast deliveries,
  coordinators' alert copies in their chat) and the bot's cached conversation state for
  their Telegram id;
- closes the matches they were in that were still running (the partner has nobody left
  to meet) and drops those matches' prompts that were not sent yet;
- keeps the rows themselves, the dates, the counts, the scale, number, date and tapped
  answers and the topic keys: a program's figures before and after are the same;
- records an audit event naming who erased, when and why (never the erased values).

Which answers are taps and which topic words are keys is known to the instruments, which
live in conversations/ where storage cannot look: the caller hands them down as `Keeps`.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.closure import Actor, ClosureReason
from storage.flags import Rule
from storage.materialise import schedule_changed
from storage.models import (
    AlertCopy,
    Answer,
    AuditEvent,
    Broadcast,
    BroadcastDelivery,
    DeliveryStatus,
    ExtensionCopy,
    Flag,
    Goal,
    Match,
    MatchStatus,
    MeetingLog,
    Membership,
    Person,
    PersonStatus,
    Prompt,
    PromptStatus,
    Role,
    StoredState,
)
from storage.retention import Expiry, due_for_purge, retention_months

ERASED_TEXT = ""  # what a blanked non-nullable text holds
OTHER_TOPIC = "other"  # what a free topic word becomes: "something else"
UNSENT = (PromptStatus.PENDING, PromptStatus.SENDING)
RUNNING = (MatchStatus.ACTIVE, MatchStatus.PAUSED, MatchStatus.CLOSING)
ERASED_ACTOR = "erased"  # the audit label of an erased person's own actions
USER_DATA = "user_data"
CONVERSATION_PREFIX = "conversation:"


class Handling(StrEnum):
    ERASED = "erased"  # blanked, or its row deleted, when the person it concerns is erased
    KEPT = "kept"  # a code, a key or a setting: nothing about a person


# Every text or JSON column of every table and what erasure does with it. A test walks the
# models and fails on a column missing here, so a new table cannot be forgotten.
TEXT_COLUMNS: dict[str, dict[str, Handling]] = {
    "program": dict.fromkeys(
        ("name", "track", "timezone", "default_locale", "languages", "settings"), Handling.KEPT
    ),
    "person": {
        "username": Handling.ERASED,
        "name": Handling.ERASED,
        "timezone": Handling.ERASED,
        "locale": Handling.KEPT,  # the language of the evaluation's figures, not a person
        "status": Handling.KEPT,
        "consent_version": Handling.KEPT,
    },
    "membership": {
        "role": Handling.KEPT,
        **dict.fromkeys(("field", "goals", "can_help_with"), Handling.ERASED),
    },
    "invite": dict.fromkeys(("code", "role"), Handling.KEPT),
    "match": dict.fromkeys(("status", "closure_reason"), Handling.KEPT),
    "match_extension": {"status": Handling.KEPT},
    "extension_copy": {},
    "certificate_delivery": {"status": Handling.KEPT},
    "prompt": dict.fromkeys(
        ("kind", "period", "instrument", "status", "claimed_by"), Handling.KEPT
    ),
    "answer": {"question_key": Handling.KEPT, "value": Handling.ERASED},
    "meetinglog": {
        "mode": Handling.KEPT,
        "source": Handling.KEPT,
        "topics": Handling.ERASED,
        "notes": Handling.ERASED,
    },
    "goal": {"text": Handling.ERASED, "status": Handling.KEPT},
    "flag": {
        **dict.fromkeys(("rule", "severity", "status"), Handling.KEPT),
        **dict.fromkeys(("evidence", "note"), Handling.ERASED),
    },
    "alert_copy": {},
    "broadcast": {"role": Handling.KEPT, "text": Handling.ERASED},
    "broadcast_delivery": dict.fromkeys(("status", "claimed_by"), Handling.KEPT),
    "auditevent": {
        "action": Handling.KEPT,
        "subject": Handling.KEPT,
        "actor_label": Handling.ERASED,
        "detail": Handling.ERASED,
    },
    "stored_state": dict.fromkeys(("namespace", "key", "value"), Handling.ERASED),
    "match_week": {"period": Handling.KEPT},  # weekly counts (storage.week_figures)
    "program_week": {"period": Handling.KEPT},
    "match_contact": {},  # a latest meeting day and report time (storage.last_contact)
}


@dataclass(frozen=True)
class Keeps:
    """What is not free text: the (instrument, question key) pairs answered by a tap or
    with a number or a date, and the topic keys a meeting log may hold."""

    answers: Collection[tuple[str, str]]
    topics: Collection[str]


@dataclass(frozen=True)
class Ended:
    """A running match the erasure closed, and the partner left in it."""

    match_id: int
    program_id: int
    partner_id: int
    partner_role: str  # Role.MENTOR or Role.MENTEE


@dataclass(frozen=True)
class Erased:
    """What an erasure did, for the caller to tell people: the matches it closed and the
    programs the person belonged to."""

    person_id: int
    ended: tuple[Ended, ...]
    program_ids: tuple[int, ...]


def erased_telegram_id(person_id: int) -> int:
    """The Telegram id an erased person keeps: negative, so no real user ever has it."""
    return -person_id


async def erase_person(
    session: AsyncSession,
    person: Person,
    actor: Actor,
    reason: str,
    now: datetime,
    *,
    keeps: Keeps,
) -> Erased:
    """Erase `person` as the module docstring says; `reason` goes to the audit trail only."""
    assert person.id is not None, "erase a stored person"
    person_id, telegram_id = person.id, person.telegram_id
    memberships = list(
        (await session.exec(select(Membership).where(Membership.person_id == person_id))).all()
    )
    membership_ids = [membership.id for membership in memberships]
    for membership in memberships:
        membership.field = membership.goals = membership.can_help_with = None
        membership.experience_years = None
        session.add(membership)
    if membership_ids:
        await session.exec(
            sa.update(Goal)
            .where(col(Goal.membership_id).in_(membership_ids))
            .values(text=ERASED_TEXT)
        )
    await _erase_answers(session, person_id, keeps)
    await _erase_logs(session, person_id, keeps)
    await _erase_flags(session, person_id)
    await session.exec(
        sa.update(Broadcast).where(col(Broadcast.created_by) == person_id).values(text=ERASED_TEXT)
    )
    await session.exec(
        sa.delete(BroadcastDelivery).where(
            col(BroadcastDelivery.person_id) == person_id,
            col(BroadcastDelivery.status).in_((DeliveryStatus.PENDING, DeliveryStatus.SENDING)),
        )
    )
    await session.exec(sa.delete(AlertCopy).where(col(AlertCopy.person_id) == person_id))
    await session.exec(sa.delete(ExtensionCopy).where(col(ExtensionCopy.person_id) == person_id))
    await _erase_audit(session, person_id)
    await _forget_state(session, telegram_id)
    ended = await _close_matches(session, person_id, now)
    await session.exec(
        sa.delete(Prompt).where(col(Prompt.person_id) == person_id, col(Prompt.status).in_(UNSENT))
    )
    person.telegram_id = erased_telegram_id(person_id)
    person.chat_id = person.username = person.name = person.timezone = None
    person.checkin_weekday = person.checkin_time = person.paused_until = None
    person.status = PersonStatus.ERASED
    session.add(person)
    session.add(
        AuditEvent(
            actor_id=actor.person_id if actor.person_id != person_id else None,
            actor_label=ERASED_ACTOR if actor.person_id == person_id else actor.label,
            action="person.erased",
            subject=f"person:{person_id}",
            detail={"reason": reason, "closed_matches": [one.match_id for one in ended]},
            at=now,
        )
    )
    await session.flush()
    await schedule_changed(session)
    return Erased(
        person_id=person_id,
        ended=tuple(ended),
        program_ids=tuple(sorted({membership.program_id for membership in memberships})),
    )


async def _erase_answers(session: AsyncSession, person_id: int, keeps: Keeps) -> None:
    """Blank the answers that are not taps, numbers or dates (typed text)."""
    statement = (
        select(Answer, Prompt.instrument)
        .join(Prompt, col(Prompt.id) == col(Answer.prompt_id))
        .where(Prompt.person_id == person_id)
    )
    for answer, instrument in (await session.exec(statement)).all():
        if (instrument, answer.question_key) not in keeps.answers:
            answer.value = ERASED_TEXT
            session.add(answer)


async def _erase_logs(session: AsyncSession, person_id: int, keeps: Keeps) -> None:
    """Their meeting logs keep date, minutes, mode and topic keys; notes and free topic
    words go (a free word becomes "other", so the topic counts stay)."""
    logs = (await session.exec(select(MeetingLog).where(MeetingLog.author_id == person_id))).all()
    for log in logs:
        topics = [topic if topic in keeps.topics else OTHER_TOPIC for topic in log.topics or []]
        log.topics = list(dict.fromkeys(topics))
        log.notes = None
        session.add(log)


async def _erase_flags(session: AsyncSession, person_id: int) -> None:
    """Notes they wrote when handling a flag, and the reasons of their end requests."""
    await session.exec(sa.update(Flag).where(col(Flag.handled_by) == person_id).values(note=None))
    flags = (await session.exec(select(Flag).where(Flag.rule == Rule.END_REQUEST))).all()
    for flag in flags:
        requests = (flag.evidence or {}).get("requests") or []
        if any(request.get("person_id") == person_id for request in requests):
            flag.evidence = {
                **flag.evidence,
                "requests": [
                    {**request, "reason": None}
                    if request.get("person_id") == person_id
                    else request
                    for request in requests
                ],
            }
            session.add(flag)


async def _erase_audit(session: AsyncSession, person_id: int) -> None:
    """Their own audit events keep what happened, not what they wrote nor who they were
    on Telegram ("admin <telegram id>" becomes "erased")."""
    events = (await session.exec(select(AuditEvent).where(AuditEvent.actor_id == person_id))).all()
    for event in events:
        event.actor_label = ERASED_ACTOR
        if "reason" in (event.detail or {}):
            event.detail = {**event.detail, "reason": None}
        session.add(event)


async def _forget_state(session: AsyncSession, telegram_id: int) -> None:
    """The bot's cached conversation states and user data for this Telegram user."""
    await session.exec(
        sa.delete(StoredState).where(
            col(StoredState.namespace) == USER_DATA, col(StoredState.key) == str(telegram_id)
        )
    )
    rows = (
        await session.exec(
            select(StoredState.namespace, StoredState.key).where(
                col(StoredState.namespace).startswith(CONVERSATION_PREFIX)
            )
        )
    ).all()
    for namespace, key in rows:
        if telegram_id in _ids(key):
            await session.exec(
                sa.delete(StoredState).where(
                    col(StoredState.namespace) == namespace, col(StoredState.key) == key
                )
            )


def _ids(key: str) -> list[Any]:
    try:
        parsed = json.loads(key)
    except ValueError:
        return []
    return parsed if isinstance(parsed, list) else []


async def _close_matches(session: AsyncSession, person_id: int, now: datetime) -> list[Ended]:
    """Close the running matches the person was in; their partners' unsent prompts for
    those matches go too."""
    statement = select(Match).where(
        col(Match.status).in_(RUNNING),
        (col(Match.mentor_id) == person_id) | (col(Match.mentee_id) == person_id),
    )
    closed: list[Ended] = []
    for match in (await session.exec(statement)).all():
        match.status, match.closed_at = MatchStatus.CLOSED, now
        match.closing_at = match.closing_at or now
        match.closure_reason = match.closure_reason or ClosureReason.OTHER
        session.add(match)
        mentoring = match.mentor_id == person_id
        partner = match.mentee_id if mentoring else match.mentor_id
        role = Role.MENTEE if mentoring else Role.MENTOR
        closed.append(Ended(match.id or 0, match.program_id, partner, role))
    if closed:
        await session.exec(
            sa.delete(Prompt).where(
                col(Prompt.match_id).in_([one.match_id for one in closed]),
                col(Prompt.status).in_(UNSENT),
            )
        )
    return closed


async def purge_expired(
    session: AsyncSession, now: datetime, actor: Actor, *, keeps: Keeps
) -> list[tuple[Person, Expiry]]:
    """Anonymise everyone whose programs are all past their retention (`tandem purge` and
    the dispatcher's daily purge); returns who, with the program that expired last."""
    due = await due_for_purge(session, now)
    for person, expiry in due:
        months = retention_months(expiry.program.settings)
        reason = f"retention: {months} months after the last match closed"
        await erase_person(session, person, actor, reason, now, keeps=keeps)
    return due
