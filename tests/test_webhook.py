"""Webhook mode: no start without a secret; over real HTTP on 127.0.0.1, a forged update
(no or wrong secret) is refused with 403, a body that is not an update with 400, and a
real update is answered."""

from __future__ import annotations

import asyncio
import json
import socket
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.app import build_application
from bot.config import ConfigError, Settings, load_settings
from bot.webhook import SECRET_HEADER, URL_PATH, webhook_server
from storage.db import Database
from tests.conftest import FakeClock
from tests.fakebot import BOT_TOKEN, FakeBotApi
from tests.test_startup import run_bot

SECRET = "s3cret_token-for-tests"


def test_webhook_without_a_secret_does_not_start(tmp_path: Path) -> None:
    result = run_bot(
        tmp_path, TELEGRAM_BOT_TOKEN=BOT_TOKEN, WEBHOOK_URL="https://tandem.example.org"
    )
    assert result.returncode == 2
    assert "Tandem cannot start: WEBHOOK_URL is set but WEBHOOK_SECRET is not" in result.stderr
    assert "Traceback" not in result.stderr


def test_webhook_secret_must_be_one_telegram_accepts() -> None:
    with pytest.raises(ConfigError, match="WEBHOOK_SECRET must be 1 to 256 characters"):
        load_settings(webhook_url="https://x.example.org", webhook_secret="has spaces")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def post(port: int, body: bytes, secret: str | None) -> int:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[SECRET_HEADER] = secret
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/{URL_PATH}", data=body, headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


@pytest.fixture
async def served(
    settings: Settings, database: Database, clock: FakeClock
) -> AsyncIterator[tuple[int, FakeBotApi]]:
    api = FakeBotApi()
    application = build_application(
        settings, database, request=api, clock=clock, rate_limited=False
    )
    port = free_port()
    async with application:
        await application.start()
        server = webhook_server(application, SECRET)
        server.listen(port, "127.0.0.1")
        try:
            yield port, api
        finally:
            server.stop()
            await application.stop()
    api.assert_no_problems()


def update(text: str, user_id: int = 4242) -> dict[str, Any]:
    user = {"id": user_id, "is_bot": False, "first_name": "Eve", "language_code": "en"}
    return {
        "update_id": 1,
        "message": {
            "message_id": 1,
            "date": 1_800_000_000,
            "chat": {"id": user_id, "type": "private", "first_name": "Eve"},
            "from": user,
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text)}],
        },
    }


async def test_forged_and_malformed_bodies_are_refused(
    served: tuple[int, FakeBotApi],
) -> None:
    port, api = served
    good = json.dumps(update("/help")).encode()
    for body, secret, expected in [
        (good, None, 403),
        (good, "wrong", 403),
        (b"{not json", SECRET, 400),
        (b"\xff\xfe", SECRET, 400),
        (b"[1, 2]", SECRET, 400),
        (json.dumps({"update_id": "x", "message": 5}).encode(), SECRET, 400),
    ]:
        assert await asyncio.to_thread(post, port, body, secret) == expected, body
    assert api.calls_to("sendMessage") == []
    assert await asyncio.to_thread(post, port, good, SECRET) == 200
    for _ in range(100):  # the update is handled after the answer
        if api.calls_to("sendMessage"):
            break
        await asyncio.sleep(0.02)
    (reply,) = api.calls_to("sendMessage")
    assert int(reply.params["chat_id"]) == 4242
