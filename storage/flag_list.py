"""The open flags of some programs in attention order — the most severe first, then the
oldest — counted and paged by the database, so /flags reads one page of rows however many
flags a program has open."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.flags import SEVERITY_ORDER
from storage.models import Flag, FlagStatus, Match

UNRANKED = 9  # a severity SEVERITY_ORDER does not know comes last


def severity_rank() -> Any:
    """SQL: a flag's severity as SEVERITY_ORDER ranks it (0 the most severe)."""
    return sa.case(dict(SEVERITY_ORDER), value=col(Flag.severity), else_=UNRANKED)


@dataclass(frozen=True)
class FlagPage:
    flags: list[tuple[Flag, Match]]  # this page's, in order, with their matches
    total: int  # open flags, all pages together


async def open_flags(
    session: AsyncSession, program_ids: Sequence[int], offset: int, size: int
) -> FlagPage:
    """Open (unresolved) flags `offset` to `offset + size`, and how many there are: one
    statement, the count a window sum beside the rows (0 when the page is past the end)."""
    rows = (
        await session.exec(
            select(Flag, Match, sa.func.count().over())
            .join(Match, col(Match.id) == col(Flag.match_id))
            .where(
                col(Match.program_id).in_(list(program_ids)),
                col(Flag.status) != FlagStatus.RESOLVED,
            )
            .order_by(severity_rank(), col(Flag.opened_at), col(Flag.id))
            .offset(offset)
            .limit(size)
        )
    ).all()
    return FlagPage([(flag, match) for flag, match, _ in rows], rows[0][2] if rows else 0)
