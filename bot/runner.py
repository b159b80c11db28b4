"""Starting the bot: every check that can fail does so here, with one sentence saying what
to do, before polling or the webhook starts."""

from __future__ import annotations

import asyncio
import logging
import sys

from sqlalchemy.exc import SQLAlchemyError
from telegram import Bot, Update
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.request import BaseRequest

from bot.app import build_application
from bot.config import ConfigError, Settings, load_settings
from bot.logs import configure_logging
from storage.db import Database, DatabaseUrlError
from storage.migrate import upgrade

log = logging.getLogger(__name__)


class StartupError(Exception):
    """Start-up cannot go on; the message is one sentence saying what to do."""


async def preflight(
    settings: Settings, database: Database, request: BaseRequest | None = None
) -> str:
    """Check the database, apply migrations and ask Telegram who we are. Returns the
    bot's username. `request` replaces the HTTP layer (tests)."""
    try:
        await _prepare_database(database)
        return await _identify(settings, request)
    finally:
        await database.dispose()


async def _prepare_database(database: Database) -> None:
    try:
        await database.check_connection()
    except (SQLAlchemyError, OSError) as error:
        raise StartupError(
            f"Cannot open the database at DATABASE_URL ({type(error).__name__}): check the "
            "address, that the server is running and that the user may connect."
        ) from None
    await upgrade(database)


async def _identify(settings: Settings, request: BaseRequest | None) -> str:
    bot = Bot(settings.require_token(), base_url=settings.telegram_api_base_url, request=request)
    try:
        async with bot:
            return bot.username
    except InvalidToken:
        raise StartupError(
            "Telegram rejected TELEGRAM_BOT_TOKEN: copy the token again from @BotFather "
            "(or create a new one with /token)."
        ) from None
    except NetworkError:
        raise StartupError(
            f"Cannot reach the Telegram Bot API at {settings.telegram_api_base_url}: check "
            "the network connection or TELEGRAM_API_BASE_URL."
        ) from None
    except TelegramError as error:
        raise StartupError(f"Telegram refused to start the bot ({error.message}).") from None


def run_bot() -> None:
    """`python -m bot` and `tandem run`: polling, or a webhook when WEBHOOK_URL is set."""
    try:
        settings = load_settings()
        configure_logging(settings.log_level, settings.require_token())
        database = Database(settings.database_url)
        username = asyncio.run(preflight(settings, database))
    except (ConfigError, DatabaseUrlError, StartupError) as error:
        print(f"Tandem cannot start: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    application = build_application(settings, database)
    log.info("starting as @%s", username)
    if settings.webhook_url:
        application.run_webhook(
            listen="0.0.0.0",
            port=settings.port,
            url_path="telegram",
            webhook_url=settings.webhook_url.rstrip("/") + "/telegram",
            secret_token=(
                settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
            ),
            allowed_updates=Update.ALL_TYPES,
        )
    else:
        application.run_polling(allowed_updates=Update.ALL_TYPES)
