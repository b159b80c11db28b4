"""Command menus: per language for everyone, per chat for coordinators."""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand, BotCommandScopeChat
from telegram.error import TelegramError

from locales.translator import N_, SUPPORTED_LANGUAGES, translator

log = logging.getLogger(__name__)

PARTICIPANT_COMMANDS = (
    ("checkin", N_("Answer this week's check-in")),
    ("log", N_("Log a meeting, e.g. /log 45m yesterday video")),
    ("logs", N_("Your recent meetings and time together")),
    ("goals", N_("Your goals: add, reword, mark achieved")),
    ("reflect", N_("Answer a reflection prompt now")),
    ("journal", N_("Your reflections")),
    ("skip", N_("Skip this week's check-in")),
    ("pause", N_("Pause check-ins, for holidays for example")),
    ("resume", N_("Resume check-ins after a pause")),
    ("endmatch", N_("Ask to end your match early")),
    ("certificate", N_("Your certificate of completion (coordinators: send one)")),
    ("start", N_("Join a program, or continue joining")),
    ("help", N_("What I can do for you")),
    ("settings", N_("Your name, time zone and check-in time")),
    ("language", N_("Switch between English and French")),
    ("cancel", N_("Stop what we are doing")),
    ("mydata", N_("See everything stored about you")),
    ("deleteme", N_("Erase your data and leave")),
)
COORDINATOR_COMMANDS = (  # what needs attention first, then the program's running
    ("flags", N_("Open flags, the most urgent first")),
    ("matches", N_("Every match with its health: on track, watch, at risk")),
    ("match", N_("One match's timeline, e.g. /match 12")),
    ("dashboard", N_("Your program's figures at a glance")),
    ("report", N_("A chart of your program's last weeks")),
    ("broadcast", N_("Send a message to your program's participants")),
    ("invite", N_("Create invitation links")),
    ("pair", N_("Pair a mentor with a mentee")),
    ("people", N_("Everyone in your programs")),
    ("export", N_("Download your program's data")),
)
ADMIN_COMMANDS = (("newprogram", N_("Create a program")),)


def commands(language: str, *, coordinator: bool, admin: bool = False) -> list[BotCommand]:
    tr = translator(language)
    chosen = PARTICIPANT_COMMANDS + (COORDINATOR_COMMANDS if coordinator or admin else ())
    chosen += ADMIN_COMMANDS if admin else ()
    return [BotCommand(name, tr.gettext(description)) for name, description in chosen]


async def publish_default_menus(bot: Bot, default_language: str) -> None:
    """The participants' menu in each language, and in the default one for the rest."""
    for language in SUPPORTED_LANGUAGES:
        await bot.set_my_commands(commands(language, coordinator=False), language_code=language)
    await bot.set_my_commands(commands(default_language, coordinator=False))


async def publish_coordinator_menu(
    bot: Bot, chat_id: int, language: str, *, admin: bool = False
) -> None:
    """Coordinator (and admin) commands appear only in their own chats. An admin who never
    opened the bot has no chat yet: that is logged, not raised."""
    try:
        await bot.set_my_commands(
            commands(language, coordinator=True, admin=admin), scope=BotCommandScopeChat(chat_id)
        )
    except TelegramError as error:
        log.warning("could not set the coordinator menu for a chat: %s", type(error).__name__)
