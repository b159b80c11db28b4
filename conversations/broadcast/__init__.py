"""/broadcast: a coordinator's message to the mentors and mentees of one of their
programs (everyone, or one role), previewed and confirmed, then sent by the dispatcher.

```mermaid
stateDiagram-v2
    [*] --> Waiting: /broadcast [text] (the program choice, then the audience)
    Waiting --> Waiting: bc:prog (choose the program)
    Waiting --> Writing: bc:to (an audience, no text yet), or bc:edit
    Writing --> Waiting: the text (the preview)
    Waiting --> [*]: bc:send (the deliveries are written), bc:no, /cancel
    Writing --> [*]: /cancel, or onboarding takes the text
```

Steps: the program (when they coordinate several), the audience (with how many each
would reach and how the program's last broadcast went), the text, a preview showing
exactly what arrives, then Send. `/broadcast <text>` gives the text at once.

Buttons carry `bc:<action>:<program id>:<token>[:<argument>]`. The token names the
coordinator's draft (program, audience, text), kept in their user_data; a new preview
gets a new token, and Send, Cancel or the last step end the draft. So a second tap on
Send, or any button of an older screen, finds no matching draft and is refused as stale.
As in every coordinator command, each press also checks again that the person pressing
coordinates the program in the data.

Send writes the broadcast, one pending delivery per recipient and the audit event in one
transaction (`storage.broadcasts`). The dispatcher (`bot/dispatch.py`) sends the
deliveries through the rate limiter, with its retries, and marks those who blocked the bot
unreachable; each recipient reads a first line naming the program in their own language,
then the coordinator's text exactly as typed (escaped: it is never read as formatting).

The parts: `screens` (what the coordinator sees), `taps` (the buttons), `delivery` (what a
participant receives); what they share is in `common`. The command and the typed text are
here, with the handlers.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from conversations.broadcast.common import (
    AUDIENCES,
    NAME,
    PREFIX,
    TEXT_LIMIT,
    WRITING,
    current_draft,
    drop_draft,
    start_draft,
)
from conversations.broadcast.delivery import render_delivery
from conversations.broadcast.screens import draft_audience, first_screen, preview_screen
from conversations.broadcast.taps import on_button
from conversations.kit.actor import Refused, current_actor
from conversations.kit.context import TandemContext
from conversations.kit.joining import hand_over, reprompt
from conversations.kit.reply import say
from conversations.kit.screens import WAITING, Turn, not_a_tap, show
from conversations.kit.screens import cancel as stopped
from conversations.kit.text import telegram_length
from conversations.kit.unusable import explain_unusable, too_long
from storage.models import Program

# What bot/app.py uses (the handlers, the dispatcher's renderer) and the tests read.
__all__ = ["TEXT_LIMIT", "handlers", "render_delivery"]


async def broadcast_command(update: Update, ctx: TandemContext) -> str | int | None:
    """/broadcast, or /broadcast followed by the text."""
    message = update.effective_message
    assert message is not None
    words = (message.text or "").split(None, 1)
    text = words[1].strip() if len(words) > 1 else None
    if text is not None and telegram_length(text) > TEXT_LIMIT:
        await say(update, too_long(ctx.tr, TEXT_LIMIT))
        return None
    start_draft(ctx, text)
    try:
        async with ctx.db.session() as session:
            screen, state = await first_screen(session, update, ctx, 0)
    except Refused as refusal:
        drop_draft(ctx)
        await say(update, str(refusal))
        await reprompt(update, ctx)
        return ConversationHandler.END
    await show(update, ctx, screen)
    return state


async def on_message(update: Update, ctx: TandemContext) -> str | int | None:
    """A message while the text is expected: the text (a preview follows), or a clear
    answer for anything else. Unless the coordinator has since started joining another
    program or role: then it answers onboarding's question, and this dialogue ends."""
    if await hand_over(update, ctx):
        return ConversationHandler.END
    message, draft = update.effective_message, current_draft(ctx)
    if message is None or message.text is None or not message.text.strip():
        await explain_unusable(update, ctx, expects_text=True)
        return None
    text = message.text.strip()
    if telegram_length(text) > TEXT_LIMIT:
        await say(update, too_long(ctx.tr, TEXT_LIMIT))
        return None
    if draft is None or draft.get("audience") not in AUDIENCES:
        await say(update, ctx.tr.gettext("Send /broadcast to write to your program again."))
        return ConversationHandler.END
    try:
        async with ctx.db.session() as session:
            actor = await current_actor(session, update, ctx)
            program_id = draft.get("program")
            program = (
                await session.get(Program, program_id) if program_id in actor.coordinates else None
            )
            if program is None:
                raise Refused(ctx.tr.gettext("Only this program's coordinators can do that."))
            draft["text"] = text
            turn = Turn(session, update, ctx, actor, program)
            screen, state = await preview_screen(turn, draft, await draft_audience(turn, draft))
    except Refused as refusal:
        drop_draft(ctx)
        await say(update, str(refusal))
        return ConversationHandler.END
    await show(update, ctx, screen)
    return state


async def cancel(update: Update, ctx: TandemContext) -> int:
    drop_draft(ctx)
    return await stopped(update, ctx)


def handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    """Register before onboarding (whose catch-all would take /broadcast) and before the
    other coordinator commands (whose wait for a tap would take the text)."""
    private = filters.ChatType.PRIVATE
    buttons = CallbackQueryHandler(on_button, pattern=rf"^{PREFIX}:")
    return [
        ConversationHandler(
            entry_points=[CommandHandler("broadcast", broadcast_command, private), buttons],
            states={
                WAITING: [
                    buttons,
                    MessageHandler(private & ~filters.COMMAND, not_a_tap),
                ],
                WRITING: [buttons, MessageHandler(private & ~filters.COMMAND, on_message)],
            },
            fallbacks=[CommandHandler("cancel", cancel, private)],
            name=NAME,
            persistent=True,
            allow_reentry=True,
        )
    ]
