"""The last line of defence: log the failure (never the message text or the token), tell
the participant their answers are safe, and let the admins know.

A 409 Conflict (another process polls with the same token, or a webhook is set) is no
bug to report: it is logged once and never sent to the admins, who would otherwise get
a message every few seconds."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Conflict, TelegramError

from conversations.kit.context import TandemContext, resolve_language
from conversations.kit.reply import say

log = logging.getLogger(__name__)
_conflicts_seen: set[str] = set()  # one log line per process for 409 Conflict


def _where(update: object) -> str:
    if isinstance(update, Update):
        kind = "callback" if update.callback_query else "message" if update.message else "update"
        return f"update {update.update_id} ({kind})"
    return "a background job"


async def on_error(update: object, ctx: TandemContext) -> None:
    error = ctx.error
    if isinstance(error, Conflict):
        if not _conflicts_seen:
            log.warning("409 Conflict from Telegram: another process uses this bot token")
        _conflicts_seen.add(type(error).__name__)
        return
    log.error("error while handling %s", _where(update), exc_info=error)
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            # Error handlers get a context of their own: find the participant's language.
            await resolve_language(update, ctx)
            await say(
                update,
                ctx.tr.gettext(
                    "Sorry, something went wrong on my side. Everything you answered so far "
                    "is saved: please try again in a moment."
                ),
            )
        except Exception:  # the apology must never raise from the error handler
            log.warning("could not tell the participant about the error")
    summary = f"⚠️ Tandem error in {_where(update)}: {type(error).__name__}"
    for admin_id in ctx.services.settings.admin_telegram_ids:
        try:
            await ctx.bot.send_message(admin_id, summary)
        except TelegramError:
            log.warning("could not report the error to an admin")
