"""The benches' Bot API: a python-telegram-bot request object that answers every call at
once, in process, so a bench measures Tandem and not a network. Each bench says what a
call returns (`answer`); getMe and the JSON envelope are handled here."""

from __future__ import annotations

import json
from typing import Any

from telegram.request import BaseRequest, RequestData

BOT_USER = {"id": 1, "is_bot": True, "first_name": "Bench", "username": "bench_bot"}


class InstantBotApi(BaseRequest):
    """Answers getMe with `BOT_USER` and every other method with `answer(name, params)`
    (True unless a subclass says otherwise)."""

    @property
    def read_timeout(self) -> float | None:
        return 5.0

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    def answer(self, name: str, params: dict[str, Any]) -> Any:
        return True

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: object = BaseRequest.DEFAULT_NONE,
        write_timeout: object = BaseRequest.DEFAULT_NONE,
        connect_timeout: object = BaseRequest.DEFAULT_NONE,
        pool_timeout: object = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        name = url.rsplit("/", 1)[-1]
        params = request_data.parameters if request_data is not None else {}
        result = BOT_USER if name == "getMe" else self.answer(name, params)
        return 200, json.dumps({"ok": True, "result": result}).encode()
