"""Assembling the Telegram application: settings, database, handlers, persistence, limits."""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest, HTTPXRequest

from bot.cancel import CANCEL_GROUP, cancel_handler
from bot.config import Settings
from bot.dispatch import schedule_dispatcher
from bot.errors import on_error
from bot.telegram_bot import TandemBot
from conversations import (
    alerts,
    broadcast,
    checkin,
    coordinator,
    dashboard,
    digest,
    end_request,
    export,
    goals,
    meeting_log,
    onboarding,
    oversight,
    reflection,
    report,
)
from conversations import settings as settings_dialogue
from conversations.kit.context import SERVICES, Services, TandemContext, resolve_language
from conversations.kit.menus import publish_coordinator_menu, publish_default_menus
from conversations.kit.unusable import refuse_edit
from storage.clock import Clock, utcnow
from storage.db import Database
from storage.persistence import DatabasePersistence
from storage.state import BOT_USERNAME, remember

log = logging.getLogger(__name__)
EDITS_GROUP = -10  # before every other handler, the alert-note reader included
TandemApplication = Application[Any, TandemContext, Any, Any, Any, Any]


def rate_limiter() -> AIORateLimiter:
    """At most 30 messages in any second overall (the default limiter bursts to ~59 in
    the first second), 20 a minute per group; RetryAfter is retried up to 3 times."""
    return AIORateLimiter(overall_max_rate=1, overall_time_period=1 / 30, max_retries=3)


def build_application(
    settings: Settings,
    database: Database,
    *,
    request: BaseRequest | None = None,
    clock: Clock = utcnow,
    rate_limited: bool = True,
) -> TandemApplication:
    bot = TandemBot(
        settings.require_token(),
        base_url=settings.telegram_api_base_url,
        # ApplicationBuilder's defaults: a pool for replies, one connection for getUpdates.
        request=request or HTTPXRequest(connection_pool_size=256),
        get_updates_request=request or HTTPXRequest(),
        rate_limiter=rate_limiter() if rate_limited else None,
    )
    application: TandemApplication = (
        ApplicationBuilder()
        .bot(bot)
        .context_types(ContextTypes(context=TandemContext))
        .persistence(DatabasePersistence(database, clock=clock))
        .post_init(_post_init)
        .build()
    )
    application.bot_data[SERVICES] = Services(settings=settings, database=database, clock=clock)
    register_handlers(application)
    schedule_dispatcher(
        application, database, clock, checkin, alerts=alerts, digests=digest, broadcasts=broadcast
    )
    return application


def register_handlers(application: TandemApplication) -> None:
    application.add_handler(
        MessageHandler(filters.UpdateType.EDITED, refuse_edit), group=EDITS_GROUP
    )
    # /cancel ends whatever is in progress, before any dialogue's wait can take it.
    application.add_handler(cancel_handler(), group=CANCEL_GROUP)
    # A coordinator's note after Resolve, before anything else sees the message.
    application.add_handlers(alerts.note_handlers(), group=alerts.NOTE_GROUP)
    # The reason typed after /endmatch, before any dialogue sees the message.
    application.add_handlers(end_request.reason_handlers(), group=end_request.REASON_GROUP)
    application.add_handler(TypeHandler(Update, resolve_language), group=-1)
    # Order matters within group 0: onboarding comes last, because its catch-all entry
    # answers whatever no other dialogue took.
    dialogues = (
        alerts,
        settings_dialogue,
        broadcast,  # before coordinator: its wait for a tap would take the text
        coordinator,
        export,
        oversight,
        report,
        dashboard,
        meeting_log,
        end_request,
        goals,
        reflection,
        checkin,
    )
    for module in (*dialogues, onboarding):
        application.add_handlers(module.handlers())
    application.add_error_handler(on_error)  # type: ignore[arg-type]


async def _post_init(application: TandemApplication) -> None:
    services: Services = application.bot_data[SERVICES]
    async with services.database.session() as session:
        await remember(session, BOT_USERNAME, application.bot.username, services.clock())
    try:
        await publish_default_menus(application.bot, services.settings.default_locale)
    except TelegramError as error:
        log.warning("could not publish the command menus: %s", type(error).__name__)
    for admin_id in services.settings.admin_telegram_ids:
        await publish_coordinator_menu(
            application.bot, admin_id, services.settings.default_locale, admin=True
        )
