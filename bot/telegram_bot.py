"""The Bot the application talks to Telegram through: PTB's ExtBot, with one answer
Telegram gives settled once for every dialogue.

A double tap on "Older ›", a goal picker or any button that redraws its message asks
Telegram to replace a message with what it already shows; Telegram refuses with "message
is not modified". The message already shows what was wanted, so that is a success: it
returns True (what an edit of an inline message returns) instead of raising in the
middle of a handler.

`send_html` is the dispatcher's sendMessage: the same request as `Bot.send_message`,
without building a `Message` out of Telegram's answer (some 150 attributes, set one by one
through TelegramObject's guarded `__setattr__`) when only its id is kept, and with a
keyboard of plain buttons written as JSON directly (`TelegramObject.to_dict` walks every
slot of every button generically; together they were a third of the dispatcher's time
per prompt)."""

from __future__ import annotations

from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import ExtBot

NOT_MODIFIED = "message is not modified"


def is_not_modified(error: BadRequest) -> bool:
    return NOT_MODIFIED in error.message.lower()


class TandemBot(ExtBot[None]):
    async def _do_post(self, endpoint: str, data: Any, **timeouts: Any) -> Any:
        try:
            return await super()._do_post(endpoint, data, **timeouts)
        except BadRequest as error:
            if endpoint.startswith("editMessage") and is_not_modified(error):
                return True
            raise


async def send_html(
    bot: Bot,
    chat_id: int,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
    reply_to: int | None = None,
    rate_limit_args: Any = None,
) -> int:
    """Send an HTML message (replying to `reply_to`, sent even if that one is gone) and
    return its message id. Errors are Telegram's, raised as by `Bot.send_message`; the
    rate limiter, when the bot has one, gets `rate_limit_args`. Bot._post is what every
    Bot method calls once its arguments are gathered, in PTB 20 to 22."""
    data: dict[str, Any] = {"chat_id": chat_id, "text": text, "parse_mode": ParseMode.HTML}
    if markup is not None:
        data["reply_markup"] = markup_json(markup)
    if reply_to is not None:
        data["reply_parameters"] = ReplyParameters(reply_to, allow_sending_without_reply=True)
    extra = None
    if isinstance(bot, ExtBot) and rate_limit_args is not None:
        extra = bot._merge_api_rl_kwargs(None, rate_limit_args)
    result = await bot._post("sendMessage", data, api_kwargs=extra)
    return int(result["message_id"])


_BUTTON_FIELDS = InlineKeyboardButton.__slots__
_PLAIN = (str, int, bool)


def markup_json(markup: InlineKeyboardMarkup) -> dict[str, Any]:
    """The keyboard as Telegram's JSON, equal to `markup.to_dict()`: buttons whose fields
    are all plain values (text, callback data, a URL) are written from their slots, any
    other button (a web app, a login URL, extra API arguments) by PTB."""
    rows = [[_button_json(button) for button in row] for row in markup.inline_keyboard]
    if markup.api_kwargs:
        return markup.to_dict()
    return {"inline_keyboard": rows}


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
