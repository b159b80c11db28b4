"""The Bot the application talks to Telegram through: PTB's ExtBot, with one answer
Telegram gives settled once for every dialogue.

A double tap on "Older ›", a goal picker or any button that redraws its message asks
Telegram to replace a message with what it already shows; Telegram refuses with "message
is not modified". The message already shows what was wanted, so that is a success: it
returns True (what an edit of an inline message returns) instead of raising in the
middle of a handler.

Messages are sent and edited through conversations/kit/sending.py, which posts the
requests itself (without building a `Message` from each answer) and so lands here too."""

from __future__ import annotations

from typing import Any

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
