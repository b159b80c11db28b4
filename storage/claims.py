"""Claiming queued rows (prompts, broadcast deliveries) for sending, and recovering the
claims of an instance that died.

A claim is a lease: the row becomes `sending` with `claimed_by` (the instance) and
`lease_until`. The instance records the outcome long before the lease ends (a batch
takes seconds); a row still `sending` after its lease belongs to an instance that died
mid-send, so it may or may not have arrived. `recover_expired` counts that as one
uncertain send and either puts the row back in the queue (when its kind may be re-sent)
or settles it as "may have arrived" (see `bot.delivery.AFTER_UNCERTAIN`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

# How long a claim holds: far longer than a batch takes to send (seconds), short enough
# that a dead instance's rows are recovered by the next tick after it (ticks are a
# minute apart).
CLAIM_LEASE = timedelta(seconds=30)
PENDING, SENDING = "pending", "sending"  # the same words for prompts and deliveries


# A claim's statement is built once per kind of row (`claim_statement`) and run with
# these parameters, so the dispatcher does not build the statement and its cache key
# again for every batch: that cost more than running the claim on SQLite. (A parameter
# in an UPDATE's SET may not take a column's name, hence "claimer" and "lease_end".)
LEASED = {
    "claimed_at": sa.bindparam("now"),
    "claimed_by": sa.bindparam("claimer"),
    "lease_until": sa.bindparam("lease_end"),
}
"""The columns a claim sets besides the status, as `claim_params` gives them."""


def claim_params(
    now: datetime, limit: int, claimed_by: str, length: timedelta = CLAIM_LEASE
) -> dict[str, Any]:
    """What a `claim_statement` runs with: the time, how many rows at most, and the lease."""
    return {"now": now, "limit": limit, "claimer": claimed_by, "lease_end": now + length}


async def recover_expired(
    session: AsyncSession,
    model: type[SQLModel],
    now: datetime,
    resends: int,
    settled: Mapping[str, Any],
) -> int:
    """Rows left `sending` past their lease: each counts one uncertain send. Those with
    fewer than `resends` uncertain sends go back to the queue at once; the others are
    changed by `settled` (they may have arrived and are not sent again). Returns how
    many rows were recovered either way."""
    table: Any = model
    expired = [
        col(table.status) == SENDING,
        sa.func.coalesce(col(table.lease_until), col(table.claimed_at)) < now,
    ]
    uncertain = col(table.uncertain_sends)
    retry = await session.exec(
        sa.update(table)
        .where(*expired, uncertain < resends)
        .values(
            status=PENDING,
            uncertain_sends=uncertain + 1,
            next_attempt_at=now,
            claimed_by=None,
            lease_until=None,
        )
    )
    settle = await session.exec(
        sa.update(table).where(*expired).values(uncertain_sends=uncertain + 1, **settled)
    )
    return int(retry.rowcount or 0) + int(settle.rowcount or 0)  # type: ignore[attr-defined]


def claim_statement(
    model: type[SQLModel],
    criteria: Sequence[sa.ColumnElement[bool]],
    order: Sequence[Any],
    changes: Mapping[str, Any],
) -> Any:
    """The statement that moves up to ``:limit`` rows of `model` matching `criteria` (in
    `order`) by `changes`, in one statement; rows another transaction has locked are
    skipped, not waited for. Its parameters are `claim_params`' (``:now`` and the lease),
    and any the criteria name. Run it with `claim_rows`.

    The chosen ids are a CTE, which PostgreSQL evaluates once. As a plain
    ``IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED)`` it may plan a semi-join that re-runs
    the subquery for every row and so updates far more than `limit` rows (seen on
    PostgreSQL 15: LIMIT 7 claimed 20). The outer WHERE repeats none of the criteria:
    PostgreSQL re-checks them when it locks each row (and skips rows that no longer
    match), SQLite runs the statement alone, and repeating them makes SQLite scan the
    status index for every claim instead of looking the chosen ids up.
    """
    key = col(model.id)  # type: ignore[attr-defined]
    chosen = (
        select(key)
        .where(*criteria)
        .order_by(*order)
        .limit(sa.bindparam("limit", type_=sa.Integer))
        .with_for_update(skip_locked=True)
        .cte("chosen")
    )
    return (
        sa.update(model)
        .where(key.in_(select(chosen.c.id)))
        .values(**changes)
        .returning(model)
        .execution_options(synchronize_session=False)
    )


async def claim_rows(session: AsyncSession, statement: Any, params: Mapping[str, Any]) -> list[Any]:
    """The rows a `claim_statement` claimed with `params`, in no particular order."""
    return list((await session.exec(statement, params=params)).scalars().all())
