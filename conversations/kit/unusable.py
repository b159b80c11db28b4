"""The localized answer to input a step cannot use: a stale button, a sticker where text
was expected, an unknown command, an edited message, a text that is too long."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ApplicationHandlerStop, BaseHandler, CallbackQueryHandler

from conversations.kit.context import TandemContext, resolve_language
from conversations.kit.reply import say
from locales.translator import Translator


def describe_unusable(tr: Translator, update: Update, *, expects_text: bool) -> str:
    """Why this input cannot answer the current question, in the participant's words."""
    message = update.effective_message
    if update.callback_query is not None:
        return tr.gettext("That button belongs to an earlier question, so it no longer works.")
    if message is not None and message.text is not None:
        if message.text.startswith("/"):
            return tr.gettext("I don't know that command. Send /help to see what I can do.")
        if not expects_text:
            return tr.gettext("Please answer with one of the buttons below.")
        return tr.gettext("I couldn't use that answer.")
    kind = tr.gettext("a sticker") if message is not None and message.sticker else None
    if kind is None:
        kind = tr.gettext("that kind of message")
    if expects_text:
        return tr.gettext("I can't read {kind} here. Please answer in a text message.", kind=kind)
    return tr.gettext("I can't read {kind} here. Please tap one of the buttons below.", kind=kind)


async def explain_unusable(update: Update, ctx: TandemContext, *, expects_text: bool) -> None:
    """Tell the participant why their input was not used. A stale button gets the note as
    the button's pop-up answer; everything else as a message."""
    explanation = describe_unusable(ctx.tr, update, expects_text=expects_text)
    if update.callback_query is not None:
        await update.callback_query.answer(explanation)
    else:
        await say(update, explanation)


def too_long(tr: Translator, limit: int) -> str:
    return tr.ngettext(
        "That's a bit long: please keep it under {n} character.",
        "That's a bit long: please keep it under {n} characters.",
        limit,
    )


async def refuse_edit(update: Update, ctx: TandemContext) -> None:
    """Edited messages never reach a dialogue: an edit of an earlier answer would otherwise
    be read as the answer to the current question. The participant is told, in their
    language, and routing stops here."""
    await resolve_language(update, ctx)
    await say(
        update,
        ctx.tr.gettext(
            "I don't read edited messages, so that edit changed nothing. Please send a new "
            "message instead."
        ),
    )
    raise ApplicationHandlerStop


def forget_on_other_buttons(key: str, own_prefix: str) -> BaseHandler:  # type: ignore[type-arg]
    """For a group before the dialogues, beside a handler waiting for the next text under
    user_data[`key`]: a press on any button but `own_prefix`'s means the person moved on,
    so their next message belongs to that other dialogue."""

    async def forget(update: Update, ctx: TandemContext) -> None:
        if ctx.user_data:
            ctx.user_data.pop(key, None)

    return CallbackQueryHandler(forget, pattern=rf"^(?!{own_prefix}:)")
