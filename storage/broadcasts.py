"""Broadcasts as a queue in the database: who a coordinator's message would reach, the
broadcast with one delivery row per recipient (and its audit event) in one transaction,
claiming deliveries for the dispatcher, recording what Telegram said, and the tally.

Deliveries go pending → sending → sent | failed, like prompts (`storage.prompts`), and
are claimed the same way: one ``WITH chosen AS (SELECT … LIMIT n FOR UPDATE SKIP
LOCKED) UPDATE … RETURNING`` statement, so a delivery is sent at most once however many
dispatchers run. One whose send may have arrived (a timeout, or an instance that died
mid-send and whose lease ran out) becomes `uncertain` and is never sent again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.claims import (
    CLAIM_LEASE,
    LEASED,
    claim_params,
    claim_rows,
    claim_statement,
    recover_expired,
)
from storage.models import (
    AuditEvent,
    Broadcast,
    BroadcastDelivery,
    DeliveryStatus,
    Membership,
    Person,
    PersonStatus,
    Role,
)

# Who receives a broadcast: people taking part, paused ones included (a pause stops the
# check-ins, not the program's news). Unreachable people (they blocked the bot) are left
# out and counted apart; closed and erased people are not counted at all.
RECEIVING = (PersonStatus.ACTIVE, PersonStatus.PAUSED)
AUDIENCE_ROLES = (Role.MENTOR, Role.MENTEE)  # everyone = mentors and mentees

_delivery = BroadcastDelivery.__table__  # type: ignore[attr-defined]


@dataclass
class Audience:
    """Who a broadcast to `role` (None: mentors and mentees) would reach: each recipient's
    person id and language, and how many are left out because they blocked the bot."""

    role: str | None
    recipients: dict[int, str] = field(default_factory=dict)
    unreachable: set[int] = field(default_factory=set)


async def audiences(
    session: AsyncSession, program_id: int, *, author_id: int | None
) -> dict[str | None, Audience]:
    """Everyone, the mentors and the mentees of a program, in one query: people who
    finished joining in that role, never the author (a coordinator who is also a mentor
    does not message themselves). Someone both mentor and mentee is one recipient."""
    statement = (
        select(Person.id, Person.locale, Person.status, Membership.role)
        .join(Membership, col(Membership.person_id) == col(Person.id))
        .where(
            Membership.program_id == program_id,
            col(Membership.role).in_(AUDIENCE_ROLES),
            col(Membership.completed_at).is_not(None),
            col(Person.status).in_((*RECEIVING, PersonStatus.UNREACHABLE)),
        )
        .order_by(col(Person.id))
    )
    if author_id is not None:
        statement = statement.where(col(Person.id) != author_id)
    found = {role: Audience(role) for role in (None, *AUDIENCE_ROLES)}
    for person_id, locale, status, role in await session.exec(statement):
        for audience in (found[None], found[role]):
            if status == PersonStatus.UNREACHABLE:
                audience.unreachable.add(person_id)
            else:
                audience.recipients[person_id] = locale
    return found


async def create_broadcast(
    session: AsyncSession,
    *,
    program_id: int,
    role: str | None,
    text: str,
    author_id: int | None,
    actor_label: str,
    now: datetime,
) -> tuple[Broadcast, int] | None:
    """The broadcast, a pending delivery for each recipient (due now) and the audit event,
    in the caller's transaction; returns the broadcast and its recipient count, or None
    when nobody would receive it."""
    audience = (await audiences(session, program_id, author_id=author_id))[role]
    if not audience.recipients:
        return None
    broadcast = Broadcast(
        program_id=program_id, role=role, text=text, created_by=author_id, created_at=now
    )
    session.add(broadcast)
    await session.flush()
    assert broadcast.id is not None
    rows = [
        {
            "broadcast_id": broadcast.id,
            "person_id": person_id,
            "status": DeliveryStatus.PENDING,
            "attempts": 0,
            "next_attempt_at": now,
        }
        for person_id in sorted(audience.recipients)
    ]
    await session.exec(sa.insert(_delivery), params=rows)
    session.add(
        AuditEvent(
            actor_id=author_id,
            actor_label=actor_label,
            action="broadcast.create",
            subject=f"broadcast:{broadcast.id}",
            detail={"program_id": program_id, "role": role, "recipients": len(rows)},
            at=now,
        )
    )
    return broadcast, len(rows)


# --- the dispatcher's side ----------------------------------------------------------------


_CLAIM = claim_statement(
    BroadcastDelivery,
    [
        col(BroadcastDelivery.status) == DeliveryStatus.PENDING,
        col(BroadcastDelivery.next_attempt_at) <= sa.bindparam("now"),
    ],
    [col(BroadcastDelivery.next_attempt_at), col(BroadcastDelivery.id)],
    {"status": DeliveryStatus.SENDING, "attempts": col(BroadcastDelivery.attempts) + 1, **LEASED},
)


async def claim_deliveries(
    session: AsyncSession,
    now: datetime,
    limit: int,
    *,
    claimed_by: str = "",
    lease_for: timedelta = CLAIM_LEASE,
) -> list[BroadcastDelivery]:
    """Claim up to `limit` pending deliveries that are due (oldest first): they become
    `sending`, with one more attempt, leased (see `storage.claims`)."""
    params = claim_params(now, limit, claimed_by, lease_for)
    claimed: list[BroadcastDelivery] = await claim_rows(session, _CLAIM, params)
    claimed.sort(key=lambda delivery: delivery.id or 0)
    return claimed


def _sending(ids: Sequence[int]) -> list[sa.ColumnElement[bool]]:
    return [
        col(BroadcastDelivery.id).in_(list(ids)),
        col(BroadcastDelivery.status) == DeliveryStatus.SENDING,
    ]


async def record_delivered(
    session: AsyncSession, sent: Sequence[tuple[BroadcastDelivery, int]], now: datetime
) -> None:
    """Mark claimed deliveries sent: `sent` holds (delivery, Telegram message id) pairs;
    the message id is not kept (nobody answers a broadcast)."""
    ids = [delivery.id for delivery, _ in sent if delivery.id is not None]
    if ids:
        await session.exec(
            sa.update(BroadcastDelivery)
            .where(*_sending(ids))
            .values(status=DeliveryStatus.SENT, sent_at=now)
        )


async def release_deliveries(
    session: AsyncSession,
    ids: Sequence[int],
    next_attempt_at: datetime,
    *,
    count_attempt: bool = True,
    uncertain: bool = False,
) -> None:
    """Put claimed deliveries back in the queue until `next_attempt_at`; Telegram's flood
    control (`count_attempt=False`) does not use up an attempt; `uncertain` counts a
    send that may have arrived."""
    if not ids:
        return
    changes: dict[str, Any] = {
        "status": DeliveryStatus.PENDING,
        "next_attempt_at": next_attempt_at,
    }
    if not count_attempt:
        changes["attempts"] = col(BroadcastDelivery.attempts) - 1
    if uncertain:
        changes["uncertain_sends"] = col(BroadcastDelivery.uncertain_sends) + 1
    await session.exec(sa.update(BroadcastDelivery).where(*_sending(ids)).values(**changes))


async def uncertain_deliveries(session: AsyncSession, ids: Sequence[int], now: datetime) -> None:
    """Sends that may have arrived: never repeated, and told apart in the tally."""
    if ids:
        await session.exec(
            sa.update(BroadcastDelivery)
            .where(*_sending(ids))
            .values(
                status=DeliveryStatus.UNCERTAIN,
                uncertain_sends=col(BroadcastDelivery.uncertain_sends) + 1,
            )
        )


async def recover_deliveries(session: AsyncSession, now: datetime, resends: int) -> int:
    """Deliveries a dead instance left `sending` past their lease (`storage.claims`)."""
    settled = {"status": DeliveryStatus.UNCERTAIN}
    return await recover_expired(session, BroadcastDelivery, now, resends, settled)


async def fail_deliveries(session: AsyncSession, ids: Sequence[int]) -> None:
    """Telegram refused these deliveries for good (or the person left meanwhile)."""
    if ids:
        await session.exec(
            sa.update(BroadcastDelivery).where(*_sending(ids)).values(status=DeliveryStatus.FAILED)
        )


# --- the tally ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Tally:
    """How a broadcast went: its recipients by delivery status."""

    broadcast: Broadcast
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def sent(self) -> int:
        return self.counts.get(DeliveryStatus.SENT, 0)

    @property
    def failed(self) -> int:
        return self.counts.get(DeliveryStatus.FAILED, 0)

    @property
    def interrupted(self) -> int:
        """Sends that may have arrived (a timeout, a crash): never repeated."""
        return self.counts.get(DeliveryStatus.UNCERTAIN, 0)

    @property
    def waiting(self) -> int:
        """Not sent yet, or being sent right now."""
        return self.total - self.sent - self.failed - self.interrupted


async def last_broadcast(session: AsyncSession, program_id: int, now: datetime) -> Tally | None:
    """The program's most recent broadcast, whoever sent it, and how it went as of `now`."""
    statement = (
        select(Broadcast)
        .where(Broadcast.program_id == program_id)
        .order_by(col(Broadcast.created_at).desc(), col(Broadcast.id).desc())
        .limit(1)
    )
    broadcast = (await session.exec(statement)).first()
    if broadcast is None:
        return None
    counts = await session.exec(
        select(BroadcastDelivery.status, func.count())
        .where(BroadcastDelivery.broadcast_id == broadcast.id)
        .group_by(col(BroadcastDelivery.status))
    )
    return Tally(broadcast, {status: int(count) for status, count in counts.all()})
