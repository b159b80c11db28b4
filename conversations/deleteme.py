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

Nothing is held between the question and the answer: the yes button looks the person up
again by the Telegram id that pressed it, so a button pressed twice, or after the
erasure, finds nobody and says so. After erasure the person is a stranger to the bot.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from conversations.kit.buttons import keyboard
from conversations.kit.context import TandemContext
from conversations.kit.departure import erase, send_notices
from conversations.kit.joining import how_to_join
from conversations.kit.reply import say
from locales.translator import Translator
from storage.closure import Actor
from storage.people import person_by_telegram_id

PREFIX = "del"
YES, NO = f"{PREFIX}:yes", f"{PREFIX}:no"
SELF_REQUEST = "asked by the participant (/deleteme)"


def what_goes(tr: Translator) -> str:
    """Exactly what erasure removes and what it keeps (also shown by the consent re-ask)."""
    return "\n".join(
        [
            tr.gettext("<b>Erase your data?</b>"),
            "",
            tr.gettext(
                "<b>Erased:</b> your name, username and Telegram account, your profile, "
                "everything you typed (check-in notes, meeting notes, goals, reflections, "
                "reasons you gave) and the messages still waiting to be sent to you."
            ),
            tr.gettext(
                "<b>Kept, without your name:</b> dates, counts and the answers you tapped "
                "or rated, which your program needs for its evaluation."
            ),
            tr.gettext(
                "Your matches end; your partner and your coordinator are told that you "
                "left, without any reason. This cannot be undone. To see your data "
                "first, send /mydata."
            ),
        ]
    )


async def deleteme_command(update: Update, ctx: TandemContext) -> None:
    assert update.effective_user is not None
    tr = ctx.tr
    async with ctx.db.session() as session:
        person = await person_by_telegram_id(session, update.effective_user.id)
    if person is None:
        await say(update, how_to_join(ctx))
        return
    buttons = [[(tr.gettext("Yes, erase my data"), YES)], [(tr.gettext("No, keep my data"), NO)]]
    await say(update, what_goes(tr), keyboard(buttons))


async def on_button(update: Update, ctx: TandemContext) -> None:
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    tr = ctx.tr
    if query.data != YES:
        await query.answer()
        await query.edit_message_text(tr.gettext("Nothing was erased."))
        return
    async with ctx.db.session() as session:
        person = await person_by_telegram_id(session, update.effective_user.id)
        if person is None:
            notices = None
        else:
            actor = Actor(person.id, "participant")
            _, notices = await erase(session, person, actor, SELF_REQUEST, ctx.now())
    await query.answer()
    if notices is None:
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


def handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    """Register before onboarding, whose catch-all would otherwise take /deleteme."""
    return [
        CommandHandler("deleteme", deleteme_command, filters.ChatType.PRIVATE),
        CallbackQueryHandler(on_button, pattern=rf"^{PREFIX}:(yes|no)$"),
    ]
