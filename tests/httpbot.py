"""A tiny Bot API over real HTTP on 127.0.0.1, for tests that run `python -m bot` as
separate processes. Each process gets its own base URL (`url(name)`), so every call is
recorded with the instance that made it. It answers what the bot calls at start-up,
long-polls getUpdates briefly, and records each sendMessage when it arrives — that is
when Telegram would deliver it — then, while `hold` is set, keeps the answer back (the
sender stays "in flight")."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from tests.fakebot import BOT_USER


@dataclass(frozen=True)
class Call:
    instance: str
    method: str
    params: dict[str, Any]
    at: float


class HttpBotApi:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.lock = threading.Lock()
        self.release = threading.Event()
        self.release.set()
        self._ids = 0
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                api.answer(self)

            def log_message(self, *args: Any) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> HttpBotApi:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def url(self, instance: str) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/{instance}/bot"

    def hold(self) -> None:
        """Keep sendMessage answers back until `release.set()`."""
        self.release.clear()

    def of(self, instance: str, method: str | None = None) -> list[Call]:
        with self.lock:
            return [
                call
                for call in self.calls
                if call.instance == instance and (method is None or call.method == method)
            ]

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        instance, _, method = handler.path.strip("/").partition("/")
        method = method.rsplit("/", 1)[-1]
        length = int(handler.headers.get("Content-Length") or 0)
        params = self._params(handler.rfile.read(length), handler.headers.get("Content-Type"))
        with self.lock:
            self.calls.append(Call(instance, method, params, time.monotonic()))
            self._ids += 1
            message_id = self._ids
        if method == "getUpdates":
            time.sleep(min(float(params.get("timeout") or 0), 0.5))
            result: Any = []
        elif method == "getMe":
            result = BOT_USER
        elif method == "sendMessage":
            self.release.wait()
            chat = {"id": int(params["chat_id"]), "type": "private", "first_name": "P"}
            result = {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": chat,
                "text": params.get("text", ""),
            }
        else:
            result = True
        body = json.dumps({"ok": True, "result": result}).encode()
        try:
            handler.send_response(200)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
        except OSError:  # the caller died (kill -9) while its call was held
            pass

    @staticmethod
    def _params(raw: bytes, content_type: str | None) -> dict[str, Any]:
        if content_type and "json" in content_type:
            return dict(json.loads(raw or b"{}"))
        params: dict[str, Any] = {}
        for key, values in parse_qs(raw.decode()).items():
            try:
                params[key] = json.loads(values[0])
            except ValueError:
                params[key] = values[0]
        return params
