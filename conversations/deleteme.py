"""/deleteme: a participant (or a coordinator) erases their own data, after being told
exactly what goes and what stays.

```mermaid
stateDiagram-v2
    [*] --> Stranger: /deleteme from someone the bot does not know
    [*] --> Asked: /deleteme (what is erased, what is kept; two buttons)
    Asked --> Erased: del:yes (erase_person, partner and coordinators told)
    Asked --> Kept: del:no
    Stranger --> [*]
    Erased --> [*]
    Kept --> [*]
```

The question is `kit.departure.erase_question`, also asked when someone declines a new
consent wording (conversations/consent.py). Nothing is held between the question and the
answer: the yes button looks the person up again by the Telegram id that pressed it, so a
button pressed twice, or after the erasure, finds nobody and says so. After erasure the
person is a stranger to the bot.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from conversations.kit.context import TandemContext, known_person
from conversations.kit.departure import (
    ERASE_PREFIX,
    ERASE_YES,
    erase,
    erase_question,
    refresh_named_copies,
    send_notices,
)
from conversations.kit.joining import how_to_join
from conversations.kit.reply import say
from storage.closure import Actor

SELF_REQUEST = "asked by the participant (/deleteme)"


async def deleteme_command(update: Update, ctx: TandemContext) -> None:
    assert update.effective_user is not None
    tr = ctx.tr
    async with ctx.db.session() as session:
        person = await known_person(session, ctx, update.effective_user.id)
    if person is None:
        await say(update, how_to_join(ctx))
        return
    await say(update, *erase_question(tr))


async def on_button(update: Update, ctx: TandemContext) -> None:
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    tr = ctx.tr
    if query.data != ERASE_YES:
        await query.answer()
        await query.edit_message_text(tr.gettext("Nothing was erased."))
        return
    async with ctx.db.session() as session:
        person = await known_person(session, ctx, update.effective_user.id)
        if person is None:
            erased, notices = None, []
        else:
            actor = Actor(person.id, "participant")
            erased, notices = await erase(session, person, actor, SELF_REQUEST, ctx.now())
    await query.answer()
    if erased is None:
        await query.edit_message_text(tr.gettext("There is no data of yours left to erase."))
        return
    ctx.user_data.clear()
    await query.edit_message_text(
        tr.gettext(
            "Your data is erased. Thank you for taking part. If you are invited again, "
            "you will start afresh."
        )
    )
    await send_notices(ctx.bot, notices)
    await refresh_named_copies(ctx.bot, ctx.db, erased.person_id)


def handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    """Register before onboarding, whose catch-all would otherwise take /deleteme."""
    return [
        CommandHandler("deleteme", deleteme_command, filters.ChatType.PRIVATE),
        CallbackQueryHandler(on_button, pattern=rf"^{ERASE_PREFIX}:(yes|no)$"),
    ]
