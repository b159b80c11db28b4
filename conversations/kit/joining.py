"""Handing over to onboarding: joining a program (or another role) can start in the middle
of any other dialogue, when someone opens a new invitation link. The dialogues that wait
for a tap or a typed text give the message to onboarding while its question is open, and
ask that question again after refusing a command. Onboarding is reached through
`ctx.services.joining`, which bot/app.py wires, never imported."""

from __future__ import annotations

from telegram import Update

from conversations.kit.context import TandemContext

LANGUAGE_NAMES = {"en": "English", "fr": "Français"}


async def is_joining(update: Update, ctx: TandemContext) -> bool:
    async with ctx.db.session() as session:
        return await ctx.services.joining.locate(session, update, ctx) is not None


async def hand_over(update: Update, ctx: TandemContext) -> bool:
    """While this user is joining, onboarding answers their message (True); else False."""
    if not await is_joining(update, ctx):
        return False
    await ctx.services.joining.on_input(update, ctx)
    return True


async def reprompt(update: Update, ctx: TandemContext) -> None:
    """Ask the current onboarding question again, if there is one (after /help, a refusal)."""
    await ctx.services.joining.reprompt(update, ctx)


async def offer_text(update: Update, ctx: TandemContext) -> bool:
    """Offer a stray message to the dialogues that take typed answers, in the order
    bot/app.py lists them; True once one of them took it."""
    for taker in ctx.services.text_takers:
        if await taker.take_text(update, ctx):
            return True
    return False


def how_to_join(ctx: TandemContext) -> str:
    return ctx.tr.gettext(
        "Hi! I'm Tandem, the companion of your mentorship program. To join, open the "
        "invitation link your program coordinator sent you (it looks like "
        "t.me/…?start=…). No link yet? Ask your coordinator for one."
    )
