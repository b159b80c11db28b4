"""The webhook's HTTP server: Telegram POSTs each update here.

PTB's own handler answers a body that is not JSON with HTTP 500 and logs the raw body of
an update it cannot read (participants' words) at CRITICAL. This one checks the secret
token first (in constant time), answers 400 to anything that is not an update and logs
only the error's class, then hands the update to the application like PTB does.
"""

from __future__ import annotations

import hmac
import json
import logging
from http import HTTPStatus
from typing import Any

import tornado.web
from telegram import Update
from telegram.ext import Application, ExtBot
from tornado.httpserver import HTTPServer

log = logging.getLogger(__name__)

URL_PATH = "telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class UpdateHandler(tornado.web.RequestHandler):
    """POST /telegram: one update, JSON, with the secret token in its header."""

    SUPPORTED_METHODS = ("POST",)  # type: ignore[assignment]

    def initialize(
        self, bot_application: Application[Any, Any, Any, Any, Any, Any], secret: str
    ) -> None:
        self.bot_application = bot_application
        self.secret = secret

    async def post(self) -> None:
        token = self.request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(token.encode(), self.secret.encode()):
            raise tornado.web.HTTPError(HTTPStatus.FORBIDDEN)
        try:
            data = json.loads(self.request.body.decode("utf-8"))
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            update = Update.de_json(data, self.bot_application.bot)
        except Exception as error:  # any body that is not an update is the sender's fault
            log.warning("webhook: refused a body that is not an update (%s)", type(error).__name__)
            raise tornado.web.HTTPError(HTTPStatus.BAD_REQUEST) from None
        bot = self.bot_application.bot
        if isinstance(bot, ExtBot):
            bot.insert_callback_data(update)
        await self.bot_application.update_queue.put(update)
        self.set_status(HTTPStatus.OK)

    def log_exception(self, *args: Any) -> None:
        """Refusals are logged above, without the request."""


def webhook_server(
    application: Application[Any, Any, Any, Any, Any, Any], secret: str
) -> HTTPServer:
    app = tornado.web.Application(
        [(rf"/{URL_PATH}/?", UpdateHandler, {"bot_application": application, "secret": secret})]
    )
    return HTTPServer(app)


async def serve_webhook(
    application: Application[Any, Any, Any, Any, Any, Any],
    *,
    listen: str,
    port: int,
    url: str,
    secret: str,
) -> HTTPServer:
    """Listen on `listen:port`, then point Telegram at `url` with the secret."""
    server = webhook_server(application, secret)
    server.listen(port, listen)
    await application.bot.set_webhook(
        url=url, secret_token=secret, allowed_updates=Update.ALL_TYPES
    )
    return server
