"""/cancel, everywhere: one handler, before every dialogue, that ends what is in progress.

A dialogue built on a ConversationHandler has its own /cancel fallback, which ends its
state and says what it kept, and so does a wait registered with `answers_itself`; this
handler lets /cancel through to them. Everything else in
progress (waits in `user_data` that dialogues register through conversations.kit.cancel,
a check-in half answered) is ended here, with one localized answer, and so is "nothing is
in progress" — instead of "I don't know that command"."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import ApplicationHandlerStop, CommandHandler, filters

from bot.conversation_states import holds_state
from conversations.kit.cancel import dialogue_answers, forget_waits
from conversations.kit.context import TandemContext, known_person, resolve_language
from conversations.kit.reply import say
from storage.answers import open_prompt, stored_answers

CANCEL_GROUP = -2  # after the typed-reason (-4) and note (-3) readers, which answer /cancel
# themselves; before every dialogue (0)


async def _checkin_half_answered(update: Update, ctx: TandemContext) -> bool:
    assert update.effective_user is not None
    async with ctx.db.session() as session:
        person = await known_person(session, ctx, update.effective_user.id)
        if person is None or person.id is None:
            return False
        prompt = await open_prompt(session, person.id, ctx.now())
        return prompt is not None and bool(await stored_answers(session, prompt.id or 0))


async def cancel(update: Update, ctx: TandemContext) -> None:
    if holds_state(ctx.application, update) or dialogue_answers(ctx.user_data):
        return  # the dialogue's own fallback ends it and answers
    await resolve_language(update, ctx)
    stopped = forget_waits(ctx.user_data)
    if stopped or await _checkin_half_answered(update, ctx):
        text = ctx.tr.gettext(
            "Okay, stopped. Everything you had already answered is kept; send the command "
            "again when you want to pick it up."
        )
    else:
        text = ctx.tr.gettext("Nothing is in progress, so there is nothing to cancel.")
    await say(update, text)
    raise ApplicationHandlerStop


def cancel_handler() -> CommandHandler[Any, Any]:
    return CommandHandler("cancel", cancel, filters.ChatType.PRIVATE)
