"""/start: an invitation code checked (unusable codes counted, a burst of them refused), a
new member asked their language, or someone who already consented joining another program
or role.
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Update
from telegram.ext import ConversationHandler

from conversations.kit.context import LANGUAGE, TandemContext, known_person
from conversations.kit.joining import how_to_join
from conversations.kit.reply import say
from conversations.onboarding.common import (
    INVITE,
    Position,
    Reply,
    ask,
    invite_problem_text,
    locate,
    new_membership,
    send,
    user_data,
)
from storage.invites import check_invite, use_invite
from storage.models import Membership, Person

BAD_CODES = "bad_codes"  # user_data key: times of recent unusable codes
BAD_CODE_LIMIT = 5
BAD_CODE_WINDOW = timedelta(minutes=15)


async def start(update: Update, ctx: TandemContext) -> str | int:
    code = ctx.args[0] if ctx.args else None
    if code is not None:
        return await _start_with_code(update, ctx, code)
    async with ctx.db.session() as session:
        position = await locate(session, update, ctx)
        person = await known_person(session, ctx, update.effective_user.id)  # type: ignore[union-attr]
    if position is not None:
        return await ask(update, ctx, position)
    if person is not None:
        await say(
            update,
            ctx.tr.gettext(
                "Welcome back, {name}! Send /help to see what you can do.", name=person.name or ""
            ),
        )
    else:
        await say(update, how_to_join(ctx))
    return ConversationHandler.END


async def _too_many_bad_codes(ctx: TandemContext) -> bool:
    data = user_data(ctx)
    cutoff = (ctx.now() - BAD_CODE_WINDOW).timestamp()
    recent = [moment for moment in data.get(BAD_CODES, []) if moment > cutoff]
    data[BAD_CODES] = recent
    return len(recent) >= BAD_CODE_LIMIT


def _record_bad_code(ctx: TandemContext) -> None:
    user_data(ctx).setdefault(BAD_CODES, []).append(ctx.now().timestamp())  # type: ignore[attr-defined]


async def _start_with_code(update: Update, ctx: TandemContext, code: str) -> str | int:
    if await _too_many_bad_codes(ctx):
        await say(
            update,
            ctx.tr.gettext(
                "Several invitation links in a row didn't work. Please wait a few minutes, "
                "then check the link with your program's coordinators."
            ),
        )
        return ConversationHandler.END
    user = update.effective_user
    assert user is not None
    joined: Reply | None = None
    async with ctx.db.session() as session:
        check = await check_invite(session, code[:64], ctx.now())
        person = await known_person(session, ctx, user.id)
        if check.problem is None and person is not None:
            joined = await _join_another(session, update, ctx, person, code)
    if joined is not None:  # sent once the new membership is committed
        return await send(update, ctx, joined)
    if check.problem is not None:
        _record_bad_code(ctx)
        await say(update, invite_problem_text(ctx, check.problem))
        return ConversationHandler.END
    data = user_data(ctx)
    data[INVITE] = code
    data.pop(LANGUAGE, None)
    return await ask(update, ctx, Position("language"))


async def _join_another(
    session: AsyncSession, update: Update, ctx: TandemContext, person: Person, code: str
) -> Reply:
    """Someone who already consented opens a new invite (a second program or role)."""
    check = await use_invite(session, code, ctx.now())
    invite = check.invite
    assert invite is not None and person.id is not None
    existing = await session.exec(
        select(Membership).where(
            Membership.person_id == person.id,
            Membership.program_id == invite.program_id,
            Membership.role == invite.role,
        )
    )
    if existing.first() is not None:
        invite.uses -= 1
        return Reply(
            notice=ctx.tr.gettext(
                "You're already part of this program. Send /help to see what you can do."
            ),
            ask=await locate(session, update, ctx),
        )
    session.add(new_membership(person.id, invite.program_id, invite.role, invite.id, ctx))
    await session.flush()
    return Reply(ask=await locate(session, update, ctx))
