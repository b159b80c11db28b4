"""Claiming queued rows (prompts, broadcast deliveries) for sending, at most once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

Row = TypeVar("Row", bound=SQLModel)


async def claim_rows(
    session: AsyncSession,
    model: type[Row],
    criteria: Sequence[sa.ColumnElement[bool]],
    order: Sequence[Any],
    limit: int,
    changes: Mapping[str, Any],
) -> list[Row]:
    """Move up to `limit` rows of `model` matching `criteria` (in `order`) by `changes`,
    in one statement; rows another transaction has locked are skipped, not waited for.
    Returns them in `order`'s sense only as far as the caller sorts them.

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
        .limit(limit)
        .with_for_update(skip_locked=True)
        .cte("chosen")
    )
    statement = (
        sa.update(model)
        .where(key.in_(select(chosen.c.id)))
        .values(**changes)
        .returning(model)
        .execution_options(synchronize_session=False)
    )
    return list((await session.exec(statement)).scalars().all())  # type: ignore[call-overload]
