"""Reading matches' histories and writing their flags: the daily sweep, snoozes that ended.

`evaluate_matches` reads the history of a page of matches in a handful of queries (their
prompts, answers, meeting logs and earlier flags), applies every rule of `storage.flags`
in memory and inserts the new flags with ``INSERT … ON CONFLICT DO NOTHING`` against the
partial unique index, so a match never has two unresolved flags for one rule, whoever
evaluates at the same time. It returns the ids of the flags it created: the caller alerts
the coordinators once its transaction has committed.

A snoozed flag whose snooze is over is opened again by `end_snoozes`; it keeps who snoozed
it and until when (`handled_by`, `snoozed_until`), so its alert can say the snooze ended,
until someone acts on it again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import upsert
from storage.flags import Candidate, Given, History, Rule, evaluate, thresholds
from storage.models import (
    Answer,
    AuditEvent,
    Flag,
    FlagStatus,
    Match,
    MatchStatus,
    MeetingLog,
    Program,
    Prompt,
    PromptKind,
    StoredState,
)
from storage.programs import zone_or_none

SWEEP_EVERY = timedelta(hours=24)
SWEEP_NAMESPACE = "dispatch"
SWEEP_KEY = "flags_swept"
PAGE = 500  # matches evaluated per transaction by the sweep


async def histories(
    session: AsyncSession, match_ids: Sequence[int], now: datetime
) -> list[History]:
    """The open matches among `match_ids` with everything the rules read."""
    if not match_ids:
        return []
    statement = select(Match, Program.settings, Program.timezone).join(
        Program, col(Program.id) == col(Match.program_id)
    )
    statement = statement.where(
        col(Match.id).in_(match_ids), col(Match.status) != MatchStatus.CLOSED
    )
    found = {
        match.id: History(match, thresholds(settings), now, zone_or_none(timezone))
        for match, settings, timezone in (await session.exec(statement)).all()
    }
    if not found:
        return []
    ids = list(found)
    kinds = (PromptKind.CHECKIN, PromptKind.REFLECTION)
    prompts = await session.exec(
        select(Prompt)
        .where(col(Prompt.match_id).in_(ids), col(Prompt.kind).in_(kinds))
        .order_by(col(Prompt.due_at), col(Prompt.id))
    )
    by_id: dict[int, Prompt] = {}
    for prompt in prompts.all():
        found[prompt.match_id].prompts.append(prompt)
        by_id[prompt.id or 0] = prompt
    answers = await session.exec(
        select(Answer)
        .join(Prompt, col(Prompt.id) == col(Answer.prompt_id))
        .where(col(Prompt.match_id).in_(ids), col(Prompt.kind).in_(kinds))
        .order_by(col(Prompt.due_at), col(Answer.id))
    )
    for answer in answers.all():
        prompt = by_id[answer.prompt_id]
        given = Given(prompt, answer.question_key, answer.value, answer.answered_at)
        found[prompt.match_id].answers.append(given)
    logs = await session.exec(
        select(MeetingLog)
        .where(col(MeetingLog.match_id).in_(ids), col(MeetingLog.deleted_at).is_(None))
        .order_by(col(MeetingLog.id))
    )
    for log in logs.all():
        found[log.match_id].logs.append(log)
    flags = await session.exec(
        select(Flag.match_id, Flag.rule, Flag.evidence).where(col(Flag.match_id).in_(ids))
    )
    for match_id, rule, evidence in flags.all():
        found[match_id].marks[rule].update((evidence or {}).get("marks") or [])
    return list(found.values())


def flag_row(match_id: int, candidate: Candidate, now: datetime) -> dict[str, Any]:
    return {
        "match_id": match_id,
        "rule": candidate.rule.value,
        "severity": candidate.severity.value,
        "evidence": candidate.evidence,
        "status": FlagStatus.OPEN.value,
        "opened_at": now,
    }


async def evaluate_matches(
    session: AsyncSession, match_ids: Sequence[int], now: datetime
) -> list[int]:
    """Apply every rule to these matches; insert the new flags. Returns their ids."""
    rows = [
        flag_row(history.match.id or 0, candidate, now)
        for history in await histories(session, match_ids, now)
        for candidate in evaluate(history)
    ]
    return await insert_flags(session, rows)


async def insert_flags(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert these flags, but none for a match and rule that already has an unresolved
    flag (the partial unique index decides, whoever inserts at the same time). Returns
    the ids of the flags inserted."""
    if not rows:
        return []
    statement = (
        upsert(session, Flag.__table__)  # type: ignore[attr-defined]
        .values(rows)
        .on_conflict_do_nothing(
            index_elements=["match_id", "rule"],
            index_where=sa.text(f"status != '{FlagStatus.RESOLVED}'"),
        )
        .returning(Flag.__table__.c.id)  # type: ignore[attr-defined]
    )
    return sorted(int(flag_id) for flag_id in (await session.exec(statement)).scalars().all())


async def new_unreachable_flags(session: AsyncSession, person_id: int, now: datetime) -> list[int]:
    """The "unreachable" flags mark_unreachable raised for this person just now."""
    statement = select(Flag.id, Flag.evidence).where(
        Flag.rule == Rule.UNREACHABLE, Flag.opened_at == now
    )
    return [
        flag_id
        for flag_id, evidence in (await session.exec(statement)).all()
        if flag_id is not None and (evidence or {}).get("person_id") == person_id
    ]


async def end_snoozes(session: AsyncSession, now: datetime) -> list[int]:
    """Open again the snoozed flags whose snooze is over, each with an audit event;
    returns their ids. One statement, which the unresolved flags' partial index serves
    (its condition is repeated word for word so SQLite can use it): cheap enough for
    every dispatcher tick."""
    statement = (
        sa.update(Flag)
        .where(
            sa.text(f"status != '{FlagStatus.RESOLVED}'"),
            col(Flag.status) == FlagStatus.SNOOZED,
            col(Flag.snoozed_until) <= now,
        )
        .values(status=FlagStatus.OPEN)
        .returning(col(Flag.id), col(Flag.match_id), col(Flag.rule))
    )
    reopened = sorted((await session.exec(statement)).all())
    for flag_id, match_id, rule in reopened:
        session.add(
            AuditEvent(
                actor_label="tandem",
                action="flag.snooze_ended",
                subject=f"flag:{flag_id}",
                detail={"match_id": match_id, "rule": rule},
                at=now,
            )
        )
    return [flag_id for flag_id, _, _ in reopened]


# --- the daily sweep ----------------------------------------------------------------------


async def sweep_due(
    session: AsyncSession, now: datetime, every: timedelta = SWEEP_EVERY, key: str = SWEEP_KEY
) -> bool:
    """True (and the watermark `key` moved to `now`) when the last sweep is `every` old."""
    row = await session.get(StoredState, (SWEEP_NAMESPACE, key))
    if row is not None:
        try:
            last = datetime.fromisoformat(str(row.value))
        except ValueError:
            last = None
        if last is not None and now - last < every:
            return False
        row.value, row.updated_at = now.isoformat(), now
        session.add(row)
    else:
        session.add(
            StoredState(namespace=SWEEP_NAMESPACE, key=key, value=now.isoformat(), updated_at=now)
        )
    return True


async def open_match_pages(session: AsyncSession, size: int = PAGE) -> list[list[int]]:
    statement = (
        select(Match.id).where(col(Match.status) != MatchStatus.CLOSED).order_by(col(Match.id))
    )
    ids = [match_id for match_id in (await session.exec(statement)).all() if match_id is not None]
    return [ids[start : start + size] for start in range(0, len(ids), size)]
