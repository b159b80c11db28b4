"""Invite codes: unguessable, expiring, single-use unless made otherwise."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Invite

# Deep-link payloads allow A-Z a-z 0-9 _ - and at most 64 characters.
CODE_BYTES = 12  # 16 URL-safe characters, 96 bits of randomness


class InviteProblem(StrEnum):
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"


@dataclass(frozen=True)
class InviteCheck:
    invite: Invite | None
    problem: InviteProblem | None


def new_code() -> str:
    return secrets.token_urlsafe(CODE_BYTES)


def invite_link(bot_username: str, code: str) -> str:
    """The deep link that opens a chat with the bot and sends `/start <code>`."""
    return f"https://t.me/{bot_username}?start={code}"


async def create_invites(
    session: AsyncSession,
    *,
    program_id: int,
    role: str,
    now: datetime,
    count: int = 1,
    expires_days: int = 30,
    max_uses: int = 1,
    created_by: int | None = None,
) -> list[Invite]:
    invites = [
        Invite(
            code=new_code(),
            program_id=program_id,
            role=role,
            max_uses=max_uses,
            created_by=created_by,
            created_at=now,
            expires_at=now + timedelta(days=expires_days),
        )
        for _ in range(count)
    ]
    session.add_all(invites)
    await session.flush()
    return invites


def _verdict(invite: Invite | None, now: datetime) -> InviteCheck:
    if invite is None:
        return InviteCheck(None, InviteProblem.UNKNOWN)
    if invite.expires_at <= now:
        return InviteCheck(invite, InviteProblem.EXPIRED)
    if invite.uses >= invite.max_uses:
        return InviteCheck(invite, InviteProblem.USED)
    return InviteCheck(invite, None)


async def check_invite(session: AsyncSession, code: str, now: datetime) -> InviteCheck:
    """Whether `code` can be used now, without using it."""
    invite = (await session.exec(select(Invite).where(Invite.code == code))).first()
    return _verdict(invite, now)


async def use_invite(session: AsyncSession, code: str, now: datetime) -> InviteCheck:
    """Take one use of the invite, locking its row so two people cannot share a
    single-use code (the lock is a no-op on SQLite, whose writers are serialised)."""
    statement = select(Invite).where(Invite.code == code).with_for_update()
    invite = (await session.exec(statement)).first()
    verdict = _verdict(invite, now)
    if verdict.problem is None and invite is not None:
        invite.uses += 1
        session.add(invite)
    return verdict
