"""Prompts as a queue in the database: claiming them for sending, recording what
Telegram said, closing periods, and giving up on people who blocked the bot. (Creating
them is `storage.materialise`.)

Each function does its work in the caller's transaction with a handful of statements,
whatever the number of rows: the dispatcher handles a week of 100,000 participants with
bulk INSERTs and UPDATEs, never one ORM object at a time. Claims are single
``WITH chosen AS (SELECT … LIMIT n FOR UPDATE SKIP LOCKED) UPDATE … RETURNING``
statements, so two dispatchers can never claim (and send) the same prompt: on PostgreSQL
the row locks keep them apart, on SQLite writers are serialised and the statement is
atomic.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.claims import (
    CLAIM_LEASE,
    LEASED,
    claim_params,
    claim_rows,
    claim_statement,
    recover_expired,
)
from storage.db import dialect_of, unnested, upsert

# The `name as name` imports: moved to storage.materialise and storage.participants, and
# still importable from here for bot/cli.py and conversations/onboarding.py.
from storage.models import (
    Flag,
    FlagStatus,
    Match,
    MatchStatus,
    Person,
    PersonStatus,
    Prompt,
    PromptStatus,
    UTCDateTime,
)

UNREACHABLE_RULE = "unreachable"
UNREACHABLE_SEVERITY = "high"

_prompt = Prompt.__table__  # type: ignore[attr-defined]
_flag = Flag.__table__  # type: ignore[attr-defined]


# --- claiming -------------------------------------------------------------------------


def _reachable() -> sa.ColumnElement[bool]:
    """The prompt's person is active (not paused, unreachable or gone)."""
    return sa.exists().where(
        col(Person.id) == col(Prompt.person_id), col(Person.status) == PersonStatus.ACTIVE
    )


def _claim_statement(
    criteria: Sequence[sa.ColumnElement[bool]], order: Any, changes: Mapping[str, Any]
) -> Any:
    """Claiming prompts of reachable people (see `storage.claims.claim_statement`)."""
    return claim_statement(Prompt, [*criteria, _reachable()], [order], changes)


_NOW = sa.bindparam("now")
_CLAIM_DUE = _claim_statement(
    [
        col(Prompt.status) == PromptStatus.PENDING,
        col(Prompt.due_at) <= _NOW,
        col(Prompt.closes_at) > _NOW,
        sa.or_(col(Prompt.next_attempt_at).is_(None), col(Prompt.next_attempt_at) <= _NOW),
    ],
    col(Prompt.due_at),
    {"status": PromptStatus.SENDING, "attempts": col(Prompt.attempts) + 1, **LEASED},
)
_CLAIM_REMINDERS = _claim_statement(
    [
        col(Prompt.status) == PromptStatus.SENT,
        col(Prompt.remind_at) <= _NOW,
        col(Prompt.reminded_at).is_(None),
        col(Prompt.closes_at) > _NOW,
    ],
    col(Prompt.remind_at),
    {"reminded_at": _NOW},
)


async def _claim(session: AsyncSession, statement: Any, params: Mapping[str, Any]) -> list[Prompt]:
    """The prompts `statement` claimed, by due date."""
    claimed: list[Prompt] = await claim_rows(session, statement, params)
    claimed.sort(key=lambda prompt: (prompt.due_at, prompt.id or 0))
    return claimed


async def claim_due(
    session: AsyncSession,
    now: datetime,
    limit: int,
    *,
    claimed_by: str = "",
    lease_for: timedelta = CLAIM_LEASE,
) -> list[Prompt]:
    """Claim up to `limit` pending prompts that are due, still open and not waiting for a
    retry: they become `sending`, with one more attempt, leased to `claimed_by` for
    `lease_for` (`storage.claims`)."""
    return await _claim(session, _CLAIM_DUE, claim_params(now, limit, claimed_by, lease_for))


async def recover_prompts(session: AsyncSession, now: datetime, resends: int) -> int:
    """Prompts a dead instance left `sending` past their lease: queued again while they
    may be re-sent, otherwise counted sent (they may have arrived; see
    `storage.claims.recover_expired`)."""
    settled = {"status": PromptStatus.SENT, "sent_at": now}
    return await recover_expired(session, Prompt, now, resends, settled)


async def claim_reminders(session: AsyncSession, now: datetime, limit: int) -> list[Prompt]:
    """Claim up to `limit` sent, unanswered prompts whose reminder is due in a period still
    open: each is reminded once (`reminded_at` is set now, and is the whole claim: a
    reminder cut off by a crash counts as sent)."""
    return await _claim(session, _CLAIM_REMINDERS, {"now": now, "limit": limit})


# --- recording outcomes ---------------------------------------------------------------


_SENT_ONE_BY_ONE = (
    sa.update(_prompt)
    .where(_prompt.c.id == sa.bindparam("prompt_id"))
    .where(_prompt.c.status == PromptStatus.SENDING)
    .values(
        status=PromptStatus.SENT,
        sent_at=sa.bindparam("now"),
        telegram_message_id=sa.bindparam("message_id"),
        remind_at=sa.bindparam("new_remind_at"),
    )
)
"""`record_sent` on SQLite, an executemany (built once, as every batch runs it)."""


_SENT = unnested(
    "sent",
    {"prompt_id": sa.Integer(), "message_id": sa.Integer(), "new_remind_at": UTCDateTime()},
)
_SENT_TOGETHER = (
    sa.update(_prompt)
    .where(_prompt.c.id == _SENT.c.prompt_id, _prompt.c.status == PromptStatus.SENDING)
    .values(
        status=PromptStatus.SENT,
        sent_at=sa.bindparam("now"),
        telegram_message_id=_SENT.c.message_id,
        remind_at=_SENT.c.new_remind_at,
    )
)
"""`record_sent` on PostgreSQL: one UPDATE … FROM unnest(…) for the batch, whose
weekly-figure triggers fire once per statement (storage.week_figures): one recomputation
for the batch instead of one per prompt. Built once (`storage.db.unnested`). (SQLite's
fire per row either way; it keeps the executemany.)"""


async def record_sent(
    session: AsyncSession, sent: Sequence[tuple[Prompt, int]], now: datetime
) -> None:
    """Mark claimed prompts sent: `sent` holds (prompt, Telegram message id) pairs.

    The reminder delay counts from when the prompt went out, so a prompt caught up after
    an outage or a retry is not followed by its reminder at once.
    """
    if not sent:
        return
    rows = [
        (
            prompt.id or 0,
            message_id,
            None
            if prompt.remind_at is None
            else prompt.remind_at + max(now - prompt.due_at, timedelta()),
        )
        for prompt, message_id in sent
    ]
    if dialect_of(session) == "postgresql":
        ids, message_ids, remind_ats = (list(column) for column in zip(*rows, strict=True))
        arrays = {"prompt_id": ids, "message_id": message_ids, "new_remind_at": remind_ats}
        await session.exec(_SENT_TOGETHER, params={**arrays, "now": now})
        return
    params = [
        {"prompt_id": prompt_id, "message_id": message_id, "new_remind_at": remind_at, "now": now}
        for prompt_id, message_id, remind_at in rows
    ]
    await session.exec(_SENT_ONE_BY_ONE, params=params)


def _sending(prompt_ids: Iterable[int]) -> list[sa.ColumnElement[bool]]:
    return [col(Prompt.id).in_(list(prompt_ids)), col(Prompt.status) == PromptStatus.SENDING]


async def release_for_retry(
    session: AsyncSession,
    prompt_ids: Sequence[int],
    next_attempt_at: datetime,
    *,
    count_attempt: bool = True,
    uncertain: bool = False,
) -> None:
    """Put claimed prompts back in the queue until `next_attempt_at`. Telegram's flood
    control (`count_attempt=False`) does not use up one of the prompt's attempts;
    `uncertain` counts a send that may have arrived."""
    if not prompt_ids:
        return
    changes: dict[str, Any] = {"status": PromptStatus.PENDING, "next_attempt_at": next_attempt_at}
    if not count_attempt:
        changes["attempts"] = col(Prompt.attempts) - 1
    if uncertain:
        changes["uncertain_sends"] = col(Prompt.uncertain_sends) + 1
    await session.exec(sa.update(Prompt).where(*_sending(prompt_ids)).values(**changes))


async def mark_uncertain(session: AsyncSession, prompt_ids: Sequence[int], now: datetime) -> None:
    """A send that may have arrived, with no re-send left: the prompt counts as sent
    (its reminder follows, and it is answered or missed like any other)."""
    if prompt_ids:
        await session.exec(
            sa.update(Prompt)
            .where(*_sending(prompt_ids))
            .values(
                status=PromptStatus.SENT,
                sent_at=now,
                uncertain_sends=col(Prompt.uncertain_sends) + 1,
            )
        )


async def mark_failed(session: AsyncSession, prompt_ids: Sequence[int]) -> None:
    """Telegram refused these prompts for good."""
    if prompt_ids:
        await session.exec(
            sa.update(Prompt).where(*_sending(prompt_ids)).values(status=PromptStatus.FAILED)
        )


async def release_reminders(
    session: AsyncSession, prompt_ids: Sequence[int], remind_at: datetime
) -> None:
    """A reminder could not be delivered: try again at `remind_at` (while the period is
    open; the claim checks that)."""
    if prompt_ids:
        await session.exec(
            sa.update(Prompt)
            .where(col(Prompt.id).in_(list(prompt_ids)))
            .values(remind_at=remind_at, reminded_at=None)
        )


async def close_periods(session: AsyncSession, now: datetime) -> int:
    """Settle the prompts whose period has closed; returns how many.

    Never sent (pending, or claimed by a dispatcher that died) → expired: an outage is
    not the participant's doing. Sent and unanswered → missed, unless the person is
    paused now (paused weeks are not counted) → expired. Answered and skipped prompts
    keep their status.
    """
    closed = col(Prompt.closes_at) <= now
    paused = sa.exists().where(
        col(Person.id) == col(Prompt.person_id), col(Person.status) == PersonStatus.PAUSED
    )
    statements = (
        (
            sa.and_(col(Prompt.status).in_((PromptStatus.PENDING, PromptStatus.SENDING)), closed),
            PromptStatus.EXPIRED,
        ),
        (sa.and_(col(Prompt.status) == PromptStatus.SENT, closed, paused), PromptStatus.EXPIRED),
        (sa.and_(col(Prompt.status) == PromptStatus.SENT, closed), PromptStatus.MISSED),
    )
    total = 0
    for criteria, status in statements:
        result = await session.exec(sa.update(Prompt).where(criteria).values(status=status))
        total += int(result.rowcount or 0)
    return total


async def mark_unreachable(session: AsyncSession, person_id: int, now: datetime) -> int:
    """The person blocked the bot (or their account is gone): stop prompting them, drop
    their pending prompts and raise one "unreachable" flag on each of their open matches
    for the coordinator (none twice while one is unresolved). Returns the flags raised."""
    await session.exec(
        sa.update(Person).where(col(Person.id) == person_id).values(status=PersonStatus.UNREACHABLE)
    )
    await session.exec(
        sa.delete(Prompt).where(
            col(Prompt.person_id) == person_id, col(Prompt.status) == PromptStatus.PENDING
        )
    )
    matches = select(Match.id).where(
        Match.status != MatchStatus.CLOSED,
        sa.or_(col(Match.mentor_id) == person_id, col(Match.mentee_id) == person_id),
    )
    match_ids = list((await session.exec(matches)).all())
    if not match_ids:
        return 0
    evidence = {"since": now.isoformat(), "person_id": person_id}
    rows = [
        {
            "match_id": match_id,
            "rule": UNREACHABLE_RULE,
            "severity": UNREACHABLE_SEVERITY,
            "evidence": evidence,
            "status": FlagStatus.OPEN,
            "opened_at": now,
        }
        for match_id in match_ids
    ]
    statement = (
        upsert(session, _flag)
        .values(rows)
        .on_conflict_do_nothing(
            index_elements=["match_id", "rule"],
            index_where=sa.text(f"status != '{FlagStatus.RESOLVED}'"),
        )
        .returning(_flag.c.id)
    )
    return len((await session.exec(statement)).all())
