"""Everything stored about one person, as one document (/mydata, the right of access).

`person_document` gathers, section by section, every row that concerns the person: their
profile and consent, memberships and goals, matches and extension answers, the prompts
they were sent with their answers, the meeting logs they wrote, the flags on their matches
(their own end-request reasons and the notes they wrote, never other people's), the
broadcasts they sent or received, the invites they made, their alert copies, audit events
about them and the bot's cached conversation state for their Telegram id.

`SOURCES` names the table behind each section; a test walks the models and fails when a
table that refers to a person (directly, or through another table) has no section.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime, time
from typing import Any

from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    AlertCopy,
    Answer,
    AuditEvent,
    Broadcast,
    BroadcastDelivery,
    CertificateDelivery,
    ExtensionCopy,
    Flag,
    Goal,
    Invite,
    Match,
    MatchExtension,
    MeetingLog,
    Membership,
    Person,
    Program,
    Prompt,
    StoredState,
)

USER_DATA = "user_data"
# Table -> the section of the document that holds its rows about the person.
SOURCES = {
    "person": "profile",
    "membership": "memberships",
    "goal": "goals",
    "match": "matches",
    "match_extension": "extensions",
    "prompt": "prompts",
    "answer": "prompts",
    "meetinglog": "meeting_logs",
    "flag": "flags",
    "alert_copy": "alert_copies",
    "extension_copy": "extension_copies",
    "certificate_delivery": "certificates_sent",
    "broadcast": "broadcasts_sent",
    "broadcast_delivery": "broadcasts_received",
    "invite": "invites_created",
    "auditevent": "audit_events",
    "stored_state": "conversation_state",
}
# Figures summed from rows the document already holds (storage.week_figures,
# storage.last_contact): a match's week mixes both partners' ratings and its last contact
# either partner's report, so they are not the person's to receive, and they hold nothing
# that is not in the document's sections already.
DERIVED = frozenset({"match_week", "program_week", "match_contact"})


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return value


def _row(**fields: Any) -> dict[str, Any]:
    return {key: _plain(value) for key, value in fields.items()}


async def person_document(session: AsyncSession, person: Person) -> dict[str, Any]:
    """The person's data as plain JSON-ready values, section by section (see SOURCES)."""
    person_id = person.id or 0
    programs = {program.id: program.name for program in (await session.exec(select(Program))).all()}
    memberships = (
        await session.exec(select(Membership).where(Membership.person_id == person_id))
    ).all()
    by_membership = {membership.id: membership for membership in memberships}
    goals = (
        await session.exec(
            select(Goal)
            .where(col(Goal.membership_id).in_(list(by_membership)))
            .order_by(col(Goal.id))
        )
    ).all()
    matches = (
        await session.exec(
            select(Match)
            .where(or_(Match.mentor_id == person_id, Match.mentee_id == person_id))
            .order_by(col(Match.id))
        )
    ).all()
    match_ids = [match.id for match in matches]
    document: dict[str, Any] = {
        "profile": _row(
            person_id=person.id,
            name=person.name,
            username=person.username,
            telegram_id=person.telegram_id,
            language=person.locale,
            timezone=person.timezone,
            checkin_weekday=person.checkin_weekday,
            checkin_time=person.checkin_time,
            status=person.status,
            paused_until=person.paused_until,
            consent_at=person.consent_at,
            consent_version=person.consent_version,
            created_at=person.created_at,
        ),
        "memberships": [
            _row(
                program=programs.get(membership.program_id),
                role=membership.role,
                field=membership.field,
                goals=membership.goals,
                experience_years=membership.experience_years,
                can_help_with=membership.can_help_with,
                joined_at=membership.joined_at,
                completed_at=membership.completed_at,
            )
            for membership in memberships
        ],
        "goals": [
            _row(
                program=programs.get(by_membership[goal.membership_id].program_id),
                text=goal.text,
                status=goal.status,
                created_at=goal.created_at,
                achieved_at=goal.achieved_at,
            )
            for goal in goals
        ],
        "matches": [
            _row(
                match_id=match.id,
                program=programs.get(match.program_id),
                your_role="mentor" if match.mentor_id == person_id else "mentee",
                status=match.status,
                started_at=match.started_at,
                planned_end=match.planned_end,
                closed_at=match.closed_at,
                closure_reason=match.closure_reason,
            )
            for match in matches
        ],
        "extensions": await _extensions(session, matches, person_id),
        "prompts": await _prompts(session, person_id),
        "meeting_logs": await _logs(session, person_id),
        "flags": await _flags(session, match_ids, person_id),
        "alert_copies": [
            _row(flag_id=copy.flag_id, sent_at=copy.sent_at)
            for copy in (
                await session.exec(select(AlertCopy).where(AlertCopy.person_id == person_id))
            ).all()
        ],
        "extension_copies": [
            _row(extension_id=copy.extension_id, sent_at=copy.sent_at)
            for copy in (
                await session.exec(
                    select(ExtensionCopy).where(ExtensionCopy.person_id == person_id)
                )
            ).all()
        ],
        "certificates_sent": [
            _row(match_id=row.match_id, status=row.status, at=row.updated_at)
            for row in (
                await session.exec(
                    select(CertificateDelivery).where(CertificateDelivery.person_id == person_id)
                )
            ).all()
        ],
        **await _broadcasts(session, person_id),
        "invites_created": [
            _row(
                program=programs.get(invite.program_id),
                role=invite.role,
                uses=invite.uses,
                created_at=invite.created_at,
                expires_at=invite.expires_at,
            )
            for invite in (
                await session.exec(select(Invite).where(Invite.created_by == person_id))
            ).all()
        ],
        "audit_events": await _audit(session, person_id),
        "conversation_state": [
            _row(updated_at=row.updated_at, value=row.value)
            for row in (
                await session.exec(
                    select(StoredState).where(
                        StoredState.namespace == USER_DATA,
                        StoredState.key == str(person.telegram_id),
                    )
                )
            ).all()
        ],
    }
    return document


async def _extensions(
    session: AsyncSession, matches: Sequence[Match], person_id: int
) -> list[dict[str, Any]]:
    mentoring = {match.id: match.mentor_id == person_id for match in matches}
    rows = (
        await session.exec(
            select(MatchExtension).where(col(MatchExtension.match_id).in_(list(mentoring)))
        )
    ).all()
    return [
        _row(
            match_id=row.match_id,
            planned_end=row.planned_end,
            weeks=row.weeks,
            status=row.status,
            your_answer=row.mentor_wants if mentoring[row.match_id] else row.mentee_wants,
        )
        for row in rows
    ]


async def _prompts(session: AsyncSession, person_id: int) -> list[dict[str, Any]]:
    prompts = (
        await session.exec(
            select(Prompt).where(Prompt.person_id == person_id).order_by(col(Prompt.due_at))
        )
    ).all()
    answers = (
        await session.exec(
            select(Answer)
            .where(col(Answer.prompt_id).in_([prompt.id for prompt in prompts]))
            .order_by(col(Answer.id))
        )
    ).all()
    by_prompt: dict[int, dict[str, str]] = {}
    for answer in answers:
        by_prompt.setdefault(answer.prompt_id, {})[answer.question_key] = answer.value
    return [
        _row(
            kind=prompt.kind,
            instrument=prompt.instrument,
            period=prompt.period,
            match_id=prompt.match_id,
            status=prompt.status,
            due_at=prompt.due_at,
            answered_at=prompt.answered_at,
            answers=by_prompt.get(prompt.id or 0, {}),
        )
        for prompt in prompts
    ]


async def _logs(session: AsyncSession, person_id: int) -> list[dict[str, Any]]:
    logs = (
        await session.exec(
            select(MeetingLog).where(MeetingLog.author_id == person_id).order_by(col(MeetingLog.id))
        )
    ).all()
    return [
        _row(match_id=log.match_id, met_on=log.met_on, minutes=log.minutes, mode=log.mode,
             topics=log.topics, notes=log.notes, created_at=log.created_at,
             deleted_at=log.deleted_at)
        for log in logs
    ]  # fmt: skip


async def _flags(
    session: AsyncSession, match_ids: list[int | None], person_id: int
) -> list[dict[str, Any]]:
    """Flags on their matches, and flags they handled: what and when, their own end
    request's reason and their own notes; other people's notes and reasons are left out."""
    flags = (
        await session.exec(
            select(Flag)
            .where(or_(col(Flag.match_id).in_(match_ids), Flag.handled_by == person_id))
            .order_by(col(Flag.id))
        )
    ).all()
    found = []
    for flag in flags:
        requests = (flag.evidence or {}).get("requests") or []
        own = [request for request in requests if request.get("person_id") == person_id]
        found.append(
            _row(
                flag_id=flag.id,
                match_id=flag.match_id,
                rule=flag.rule,
                severity=flag.severity,
                status=flag.status,
                opened_at=flag.opened_at,
                your_end_requests=[
                    {"at": request.get("at"), "reason": request.get("reason")} for request in own
                ],
                your_note=flag.note if flag.handled_by == person_id else None,
            )
        )
    return found


async def _broadcasts(session: AsyncSession, person_id: int) -> dict[str, Any]:
    sent = (await session.exec(select(Broadcast).where(Broadcast.created_by == person_id))).all()
    received = (
        await session.exec(
            select(BroadcastDelivery, Broadcast)
            .join(Broadcast, col(Broadcast.id) == col(BroadcastDelivery.broadcast_id))
            .where(BroadcastDelivery.person_id == person_id)
        )
    ).all()
    return {
        "broadcasts_sent": [
            _row(text=row.text, role=row.role, created_at=row.created_at) for row in sent
        ],
        "broadcasts_received": [
            _row(text=broadcast.text, status=delivery.status, sent_at=delivery.sent_at)
            for delivery, broadcast in received
        ],
    }


async def _audit(session: AsyncSession, person_id: int) -> list[dict[str, Any]]:
    """What they did, and what was done about them (who did it, not others' details)."""
    events = (
        await session.exec(
            select(AuditEvent)
            .where(
                or_(AuditEvent.actor_id == person_id, AuditEvent.subject == f"person:{person_id}")
            )
            .order_by(col(AuditEvent.id))
        )
    ).all()
    return [
        _row(
            at=event.at,
            action=event.action,
            subject=event.subject,
            by=event.actor_label,
            detail=event.detail if event.actor_id == person_id else None,
        )
        for event in events
    ]


def document_bytes(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, indent=2, default=str).encode()
