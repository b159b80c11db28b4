"""Conversation test harness: participants talking to a real Application, offline.

Usage::

    api = FakeBotApi()
    application = build_application(...)          # built with .request(api)
    await application.initialize()                # getMe is answered by the fake
    telegram = FakeTelegram(application, api)
    alice = telegram.user(1001, "Alice", language_code="fr")

    await alice.send("/start invite-code")        # returns the bot messages it produced
    assert "Bienvenue" in alice.last.text
    await alice.tap("Oui")                        # presses an inline button
    assert alice.answers[-1] == ""                # the callback query was answered
    await alice.send_sticker()                    # non-text input
    assert alice.new_messages()                   # bot replied to the sticker
    api.assert_no_problems()                      # no Bot API contract violations
    await application.shutdown()

Every action builds a Bot API update (JSON, as Telegram would send it), turns it into a
`telegram.Update` and awaits ``application.process_update`` — so each action returns once
the blocking handlers are done. Exceptions that escape a handler are caught by an error
handler the harness installs first in line; with ``raise_errors=True`` (the default) the
action re-raises the first one, so a crashing handler fails the test instead of being
logged and forgotten. All errors (also from jobs) are kept in ``FakeTelegram.errors``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from telegram import Update
from telegram.ext import Application, CallbackContext

from tests.fakebot import BOT_USER, Button, FakeBotApi, SentMessage, iter_buttons, utf16_len


class FakeTelegram:
    """The Telegram side of the conversation: users, update ids, error capture.

    ``clock`` (optional) dates the users' messages; defaults to the wall clock.
    """

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        api: FakeBotApi,
        *,
        clock: Callable[[], datetime] | None = None,
        raise_errors: bool = True,
    ) -> None:
        self.api = api
        self.clock = clock
        self.raise_errors = raise_errors
        self.users: dict[int, FakeUser] = {}
        self.errors: list[BaseException] = []
        self._update_id = 0
        self.application = application

    @property
    def application(self) -> Application[Any, Any, Any, Any, Any, Any]:
        return self._application

    @application.setter
    def application(self, application: Application[Any, Any, Any, Any, Any, Any]) -> None:
        """Swap in a (re)built application, e.g. to simulate a restart; users carry over."""
        self._application = application
        if self._record_error in application.error_handlers:
            return
        # Installed first so an application error handler that stops further error
        # handlers (ApplicationHandlerStop) cannot hide the exception from the test.
        others = dict(application.error_handlers)
        application.error_handlers.clear()
        application.error_handlers[self._record_error] = True
        application.error_handlers.update(others)

    async def _record_error(
        self, update: object, context: CallbackContext[Any, Any, Any, Any]
    ) -> None:
        if context.error is not None:
            self.errors.append(context.error)

    def user(
        self,
        telegram_id: int,
        first_name: str = "Alice",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
    ) -> FakeUser:
        """A participant with a private chat with the bot (chat id = telegram_id)."""
        user = FakeUser(
            self,
            telegram_id,
            first_name,
            last_name=last_name,
            username=username,
            language_code=language_code,
        )
        self.users[telegram_id] = user
        self.api.register_chat(user.chat)
        return user

    def assert_no_errors(self) -> None:
        """Fail if any handler or job raised (useful with ``raise_errors=False``)."""
        assert not self.errors, f"errors raised while handling updates or jobs: {self.errors!r}"

    def now(self) -> int:
        return int(self.clock().timestamp()) if self.clock else int(time.time())

    def next_update_id(self) -> int:
        self._update_id += 1
        return self._update_id

    async def feed(self, payload: dict[str, Any]) -> Update:
        """Deliver one update (Bot API JSON without ``update_id``) and wait for the handlers."""
        data = {"update_id": self.next_update_id(), **payload}
        update = Update.de_json(data, self.application.bot)
        seen = len(self.errors)
        await self.application.process_update(update)
        if self.raise_errors and len(self.errors) > seen:
            raise self.errors[seen]
        return update


class FakeUser:
    """One participant. Actions return the bot messages sent in response."""

    def __init__(
        self,
        telegram: FakeTelegram,
        telegram_id: int,
        first_name: str,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
    ) -> None:
        self.telegram = telegram
        self.api = telegram.api
        self.id = telegram_id
        self.chat_id = telegram_id
        self.first_name = first_name
        self.last_name = last_name
        self.username = username
        self.language_code = language_code
        self._mark = self.api.sequence

    def __repr__(self) -> str:
        return f"FakeUser({self.id}, {self.first_name!r})"

    # ------------------------------------------------------------- identities

    @property
    def user(self) -> dict[str, Any]:
        """The Bot API ``User`` object of this participant."""
        data: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data

    @property
    def chat(self) -> dict[str, Any]:
        """The Bot API ``Chat`` object of the private chat with the bot."""
        data: dict[str, Any] = {
            "id": self.chat_id,
            "type": "private",
            "first_name": self.first_name,
        }
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        return data

    # ------------------------------------------------------------- actions

    async def _act(self, payload: dict[str, Any]) -> list[SentMessage]:
        self._mark = self.api.sequence
        await self.telegram.feed(payload)
        return self.new_messages()

    def _message(self, **content: Any) -> dict[str, Any]:
        return {
            "message": {
                "message_id": self.api.incoming_message(self.chat_id),
                "from": self.user,
                "chat": self.chat,
                "date": self.telegram.now(),
                **content,
            }
        }

    async def send(self, text: str) -> list[SentMessage]:
        """A text message; a leading ``/command`` (or ``/command@bot``) gets its entity."""
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            content["entities"] = [
                {"type": "bot_command", "offset": 0, "length": utf16_len(command)}
            ]
        return await self._act(self._message(**content))

    async def send_sticker(self) -> list[SentMessage]:
        sticker = {
            "file_id": f"sticker-{self.id}",
            "file_unique_id": f"sticker-u-{self.id}",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": "👍",
        }
        return await self._act(self._message(sticker=sticker))

    async def send_photo(self, caption: str | None = None) -> list[SentMessage]:
        photo = [
            {
                "file_id": f"photo-s-{self.id}",
                "file_unique_id": f"photo-su-{self.id}",
                "width": 90,
                "height": 90,
            },
            {
                "file_id": f"photo-{self.id}",
                "file_unique_id": f"photo-u-{self.id}",
                "width": 1280,
                "height": 960,
            },
        ]
        content: dict[str, Any] = {"photo": photo}
        if caption is not None:
            content["caption"] = caption
        return await self._act(self._message(**content))

    async def send_document(
        self, file_name: str = "notes.pdf", mime_type: str = "application/pdf"
    ) -> list[SentMessage]:
        document = {
            "file_id": f"document-{self.id}",
            "file_unique_id": f"document-u-{self.id}",
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": 2048,
        }
        return await self._act(self._message(document=document))

    async def send_location(
        self, latitude: float = 45.5017, longitude: float = -73.5673
    ) -> list[SentMessage]:
        return await self._act(
            self._message(location={"latitude": latitude, "longitude": longitude})
        )

    async def send_voice(self, duration: int = 3) -> list[SentMessage]:
        voice = {
            "file_id": f"voice-{self.id}",
            "file_unique_id": f"voice-u-{self.id}",
            "duration": duration,
            "mime_type": "audio/ogg",
        }
        return await self._act(self._message(voice=voice))

    async def tap(self, label: str) -> list[SentMessage]:
        """Press the inline button labelled ``label`` on the latest message that has any.

        Exact label first; otherwise the one button whose label contains ``label``.
        """
        message = self._latest(with_buttons=True)
        if message is None:
            raise AssertionError(f"{self}: no bot message with inline buttons to tap {label!r}")
        button = _pick(message, label)
        if button.callback_data is None:
            raise AssertionError(
                f"{self}: button {button.text!r} has no callback_data (url={button.url!r})"
            )
        return await self._callback(message, button.callback_data)

    async def press(self, callback_data: str, message_id: int | None = None) -> list[SentMessage]:
        """Send a raw callback query (forged or stale data) from a bot message."""
        if message_id is None:
            message = self._latest(with_buttons=False)
            if message is None:
                raise AssertionError(f"{self}: the bot has sent no message to press on")
        else:
            message = self.api.message(self.chat_id, message_id)
        return await self._callback(message, callback_data)

    async def _callback(self, message: SentMessage, data: str) -> list[SentMessage]:
        query_id = self.api.issue_callback_query(
            self.id, chat_id=self.chat_id, message_id=message.message_id, data=data
        )
        payload = {
            "callback_query": {
                "id": query_id,
                "from": self.user,
                "message": dict(message.payload),
                "chat_instance": f"chat-instance-{self.chat_id}",
                "data": data,
            }
        }
        return await self._act(payload)

    async def block_bot(self) -> list[SentMessage]:
        """Block the bot: deliveries now fail with 403, and a my_chat_member update arrives."""
        self.api.block(self.chat_id)
        return await self._member_change("member", {"status": "kicked", "until_date": 0})

    async def unblock_bot(self) -> list[SentMessage]:
        """Unblock the bot (Telegram sends my_chat_member; /start usually follows)."""
        self.api.unblock(self.chat_id)
        return await self._member_change("kicked", {"status": "member"})

    async def _member_change(self, old_status: str, new: dict[str, Any]) -> list[SentMessage]:
        old: dict[str, Any] = {"status": old_status, "user": dict(BOT_USER)}
        if old_status == "kicked":
            old["until_date"] = 0
        payload = {
            "my_chat_member": {
                "chat": self.chat,
                "from": self.user,
                "date": self.telegram.now(),
                "old_chat_member": old,
                "new_chat_member": {**new, "user": dict(BOT_USER)},
            }
        }
        return await self._act(payload)

    # ------------------------------------------------------------- what the user sees

    @property
    def messages(self) -> list[SentMessage]:
        """The bot's messages in this chat still there, oldest first, edits applied."""
        return self.api.visible(self.chat_id)

    @property
    def last(self) -> SentMessage:
        messages = self.messages
        if not messages:
            raise AssertionError(f"{self}: the bot has sent nothing to this chat")
        return messages[-1]

    @property
    def texts(self) -> list[str]:
        """Texts (or captions) as the participant reads them (see SentMessage.raw)."""
        return [message.text for message in self.messages]

    @property
    def buttons(self) -> list[str]:
        """Labels on the latest message with inline buttons (empty when there is none)."""
        message = self._latest(with_buttons=True)
        return message.labels if message else []

    @property
    def answers(self) -> list[str]:
        """Texts of the bot's answers to this user's callback queries, in order; a silent
        answer (no text) counts as ``""``."""
        mine = {
            record.id for record in self.api.callback_queries.values() if record.user_id == self.id
        }
        return [
            str(call.params.get("text", ""))
            for call in self.api.calls_to("answerCallbackQuery")
            if not call.failed and call.params.get("callback_query_id") in mine
        ]

    def new_messages(self) -> list[SentMessage]:
        """Bot messages sent to this chat since this user's latest action began."""
        return [message for message in self.messages if message.seq > self._mark]

    def _latest(self, *, with_buttons: bool) -> SentMessage | None:
        for message in reversed(self.messages):
            if message.has_buttons or not with_buttons:
                return message
        return None


def _pick(message: SentMessage, label: str) -> Button:
    buttons = list(iter_buttons(message))
    exact = [button for button in buttons if button.text == label]
    if exact:
        return exact[0]
    partial = [button for button in buttons if label in button.text]
    if len(partial) == 1:
        return partial[0]
    problem = "several buttons match" if partial else "no button matches"
    raise AssertionError(
        f"{problem} {label!r} on message {message.message_id} ({message.text[:60]!r}); "
        f"buttons: {[button.text for button in buttons]}"
    )
