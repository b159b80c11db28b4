"""Starting and stopping the bot: every check that can fail does so here, with one
sentence saying what to do, before polling or the webhook starts; then the instance
waits to be the active one (`bot.leader`), runs until SIGTERM or SIGINT, and stops
within seconds (the dispatcher's running tick gives back what it has not sent)."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from telegram import Bot, Update
from telegram.error import Conflict, InvalidToken, NetworkError, TelegramError
from telegram.request import BaseRequest

from bot.app import TandemApplication, build_application
from bot.collector import settle_after_startup
from bot.config import ConfigError, Settings, load_settings
from bot.dispatch_job import stop_dispatchers
from bot.leader import Leadership
from bot.logs import configure_logging
from bot.webhook import URL_PATH, serve_webhook
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


LOST_LEADERSHIP = 3  # exit status when the lock's connection is gone: restart as standby


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
    status = asyncio.run(serve(application, settings, database))
    if status:
        raise SystemExit(status)


async def serve(application: TandemApplication, settings: Settings, database: Database) -> int:
    """Wait to be the active instance, then poll or serve the webhook until a stop
    signal; returns the exit status."""
    stop, lost = asyncio.Event(), asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    leadership = Leadership(database)
    try:
        async with leadership.lead(stop) as active:
            if active:
                # Initialised only now: the persisted conversations are read fresh when
                # a standby takes over.
                async with application:
                    await _run_active(application, settings, leadership, stop, lost)
    finally:
        await database.dispose()
    return LOST_LEADERSHIP if lost.is_set() else 0


async def _run_active(
    application: TandemApplication,
    settings: Settings,
    leadership: Leadership,
    stop: asyncio.Event,
    lost: asyncio.Event,
) -> None:
    if application.post_init is not None:
        await application.post_init(application)
    settle_after_startup()
    updater = application.updater
    assert updater is not None
    server = None
    if settings.webhook_url:
        assert settings.webhook_secret is not None  # the settings refuse one without
        server = await serve_webhook(
            application,
            listen="0.0.0.0",
            port=settings.port,
            url=settings.webhook_url.rstrip("/") + f"/{URL_PATH}",
            secret=settings.webhook_secret.get_secret_value(),
        )
    else:
        await updater.start_polling(
            allowed_updates=Update.ALL_TYPES, error_callback=polling_errors(application)
        )
    await application.start()
    watch = asyncio.create_task(leadership.watch(stop, lost))
    try:
        await stop.wait()
    finally:
        log.info("stopping")
        stop_dispatchers(application)  # before the job queue waits for the running tick
        if server is not None:
            server.stop()
        elif updater.running:
            await updater.stop()
        await application.stop()
        watch.cancel()


def polling_errors(application: TandemApplication) -> Any:
    """getUpdates failures: a 409 Conflict (another process polls with this token, or a
    webhook is set) is logged once, not reported to the admins every few seconds; the
    rest go to the error handler as PTB does."""
    conflicts = 0

    def callback(error: TelegramError) -> None:
        nonlocal conflicts
        if isinstance(error, Conflict):
            conflicts += 1
            if conflicts == 1:
                log.warning(
                    "another process is polling with this bot token, or a webhook is set "
                    "(409 Conflict): run one instance per token, or several on PostgreSQL"
                )
            return
        application.create_task(application.process_error(error=error, update=None))

    return callback
