"""Sending and editing HTML messages without building a `Message` from Telegram's answer.

`Bot.send_message` and `Bot.edit_message_text` turn Telegram's answer into a `Message`
(some 150 attributes, each set through TelegramObject's guarded ``__setattr__``) that
Tandem never reads beyond its id. These helpers make the same request through
``Bot._post``, the method every Bot method calls once its arguments are gathered (PTB 20
to 22), and return the id: a reply to a tap sends one message and edits another, the
dispatcher sends thousands. Keyboards are written as Telegram's JSON directly
(`markup_json`): a `Keyboard` from its rows, plain PTB buttons from their slots
(``TelegramObject.to_dict`` walks every slot of every button generically).

Errors are Telegram's, raised as by the Bot methods; the rate limiter, when the bot has
one, gets `rate_limit_args` (the dispatcher's sends use the bulk lane). An edit Telegram
refuses as "not modified" is a success (bot.telegram_bot.TandemBot settles it).
"""

from __future__ import annotations

from typing import Any

from telegram import Bot, InlineKeyboardButton, ReplyParameters
from telegram.constants import ParseMode
from telegram.ext import ExtBot

from conversations.kit.buttons import Keyboard, Markup

NO_PREVIEW = {"is_disabled": True}  # link_preview_options: links are not unfurled


async def send_html(
    bot: Bot,
    chat_id: int | str,
    text: str,
    markup: Markup | None = None,
    reply_to: int | None = None,
    rate_limit_args: Any = None,
    *,
    preview: bool = False,
) -> int:
    """Send an HTML message (replying to `reply_to`, sent even if that one is gone) and
    return its message id. Links are not unfurled unless `preview`."""
    data: dict[str, Any] = {"chat_id": chat_id, "text": text, "parse_mode": ParseMode.HTML}
    if not preview:
        data["link_preview_options"] = NO_PREVIEW
    if markup is not None:
        data["reply_markup"] = markup_json(markup)
    if reply_to is not None:
        data["reply_parameters"] = ReplyParameters(reply_to, allow_sending_without_reply=True)
    result = await _post(bot, "sendMessage", data, rate_limit_args)
    return int(result["message_id"])


async def edit_html(
    bot: Bot, chat_id: int | str, message_id: int, text: str, markup: Markup | None
) -> None:
    """Replace a message's text (HTML, no link preview) and its keyboard (none: removed)."""
    data: dict[str, Any] = {
        "chat_id": chat_id,
        "message_id": message_id,
        "text": text,
        "parse_mode": ParseMode.HTML,
        "link_preview_options": NO_PREVIEW,
    }
    if markup is not None:
        data["reply_markup"] = markup_json(markup)
    await _post(bot, "editMessageText", data, None)


async def _post(bot: Bot, endpoint: str, data: dict[str, Any], rate_limit_args: Any) -> Any:
    extra = None
    if isinstance(bot, ExtBot) and rate_limit_args is not None:
        extra = bot._merge_api_rl_kwargs(None, rate_limit_args)
    return await bot._post(endpoint, data, api_kwargs=extra)


_BUTTON_FIELDS = InlineKeyboardButton.__slots__
_PLAIN = (str, int, bool)


def markup_json(markup: Markup) -> dict[str, Any]:
    """The keyboard as Telegram's JSON, equal to PTB's `to_dict()` of the same keyboard: a
    `Keyboard` from its rows; PTB buttons whose fields are all plain values (text, callback
    data, a URL) from their slots, any other button (a web app, a login URL, extra API
    arguments) by PTB."""
    if isinstance(markup, Keyboard):
        return markup.json()
    if markup.api_kwargs:
        return markup.to_dict()
    return {
        "inline_keyboard": [
            [_button_json(button) for button in row] for row in markup.inline_keyboard
        ]
    }


def _button_json(button: InlineKeyboardButton) -> dict[str, Any]:
    if type(button) is not InlineKeyboardButton or button.api_kwargs:
        return button.to_dict()
    found: dict[str, Any] = {}
    for name in _BUTTON_FIELDS:
        value = getattr(button, name)
        if value is None:
            continue
        if not isinstance(value, _PLAIN):
            return button.to_dict()
        found[name] = value
    return found
