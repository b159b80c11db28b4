"""Assembling the Telegram application: settings, database, handlers, persistence, limits."""

from __future__ import annotations

import logging
import warnings
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from telegram import Update
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest, HTTPXRequest
from telegram.warnings import PTBUserWarning

from bot.cancel import CANCEL_GROUP, cancel_handler
from bot.config import Settings
from bot.dispatch_job import schedule_dispatcher
from bot.errors import on_error
from bot.forget import forget_if_erased
from bot.limiter import LaneRateLimiter
from bot.telegram_bot import TandemBot
from conversations import (
    alerts,
    broadcast,
    certificate,
    checkin,
    closure,
    consent,
    coordinator,
    dashboard,
    deleteme,
    digest,
    end_request,
    export,
    goals,
    match_end,
    meeting_log,
    mydata,
    onboarding,
    oversight,
    reflection,
    report,
)
from conversations import settings as settings_dialogue
from conversations.kit import alerting, lifecycle
from conversations.kit.context import (
    SERVICES,
    Services,
    TandemContext,
    TextTaker,
    remember_visitor,
    resolve_language,
)
from conversations.kit.erasure import erasure_keeps
from conversations.kit.menus import publish_coordinator_menu, publish_default_menus
from conversations.kit.prompt_router import PromptRouter
from conversations.kit.unusable import refuse_edit
from storage.clock import Clock, utcnow
from storage.db import Database
from storage.models import PersonStatus, PromptKind
from storage.people import note_contact, person_by_telegram_id
from storage.persistence import DatabasePersistence
from storage.state import BOT_USERNAME, remember

log = logging.getLogger(__name__)
EDITS_GROUP = -10  # before every other handler, the alert-note reader included
CONTACT_GROUP = -20  # before everything: whoever writes is reachable again
LEAVING = ("kicked", "left")  # my_chat_member statuses that are no contact at all
TandemApplication = Application[Any, TandemContext, Any, Any, Any, Any]
# Who is offered a message that no conversation took (onboarding's catch-all asks them in
# turn). A goal being typed (just after tapping Add or Reword in /goals) comes first. Then
# a meeting log: it only takes the message when its question is the latest one asked (a
# check-in question asked since wins). A reflection takes it while it waits for a typed
# answer and no other question was asked since it came. A check-in takes any message while
# one is open, which would otherwise swallow the answers of a log started mid-week.
# A closure notice, survey or follow-up takes it on the same terms as a reflection.
TEXT_TAKERS: tuple[TextTaker, ...] = (goals, meeting_log, reflection, closure, checkin)
# Who renders each kind of prompt the dispatcher sends.
PROMPTS = PromptRouter(
    {
        PromptKind.CHECKIN: checkin,
        PromptKind.REFLECTION: checkin,  # asked and reminded like a check-in
        **{kind: closure for kind in closure.KINDS},
    }
)


def rate_limiter() -> LaneRateLimiter:
    """At most 30 messages in any second overall, 20 a minute per group, replies to
    people ahead of the dispatcher's bulk sends (bot/limiter.py). A `RetryAfter` is never
    slept out inside the limiter (that would hold up every later call, every chat's): it
    reaches the caller, and the dispatcher puts that chat's message back for the delay
    Telegram asked for."""
    return LaneRateLimiter()


class UpdateApplication(Application[Any, TandemContext, Any, Any, Any, Any]):
    """PTB's Application, with each update processed inside `Database.update()`: the
    read of the sender that starts it and the handler's transaction are one session."""

    async def process_update(self, update: object) -> None:
        services: Services = self.bot_data[SERVICES]
        async with services.database.update():
            await super().process_update(update)


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
        .application_class(UpdateApplication)
        .bot(bot)
        .context_types(ContextTypes(context=TandemContext))
        .persistence(DatabasePersistence(database, clock=clock))
        .post_init(_post_init)
        .build()
    )
    application.bot_data[SERVICES] = Services(
        settings=settings,
        database=database,
        clock=clock,
        joining=onboarding,
        text_takers=TEXT_TAKERS,
    )
    register_handlers(application)
    schedule_dispatcher(
        application,
        database,
        clock,
        PROMPTS,
        alerts=alerting,
        digests=digest,
        broadcasts=broadcast,
        closures=lifecycle,
        erasure_keeps=erasure_keeps(),
        interval=settings.dispatch_interval,
    )
    return application


async def arrive(update: Update, ctx: TandemContext) -> None:
    """Before everything: the one read of the person who sent the update, kept on the
    context for the language and every handler after (`known_person`); what the bot held
    for someone erased meanwhile is dropped (bot/forget.py). Anything a person
    sends (a message, a tap, unblocking the bot) makes them reachable again; blocking the
    bot or leaving does not."""
    user = update.effective_user
    if user is None:
        return
    member = update.my_chat_member
    leaving = member is not None and member.new_chat_member.status in LEAVING
    try:
        async with ctx.db.reading() as session:
            person = await person_by_telegram_id(session, user.id)
        if person is not None and person.status == PersonStatus.UNREACHABLE and not leaving:
            async with ctx.db.session() as session:
                person = await session.merge(person, load=False)
                if await note_contact(session, person, ctx.now()):
                    log.info("person with update %s is reachable again", update.update_id)
    except SQLAlchemyError:
        # The database is out: the handler that answers reports the failure once; the
        # person becomes reachable with their next update.
        return
    # Someone erased outside this process (the command line, the purge) is a stranger:
    # what the bot still held for them goes before any handler can use it.
    await forget_if_erased(ctx.application, user.id, person)
    remember_visitor(ctx, person)


def register_handlers(application: TandemApplication) -> None:
    application.add_handler(TypeHandler(Update, arrive), group=CONTACT_GROUP)
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
    # Someone who agreed to an older consent wording is asked the new one, once.
    application.add_handler(TypeHandler(Update, consent.check), group=consent.CONSENT_GROUP)
    # Order matters within group 0: onboarding comes last, because its catch-all entry
    # answers whatever no other dialogue took.
    dialogues = (
        alerts,
        settings_dialogue,
        broadcast,  # before coordinator: its wait for a tap would take the text
        coordinator,
        export,
        certificate,
        deleteme,
        mydata,
        consent,
        oversight,
        report,
        dashboard,
        meeting_log,
        end_request,
        match_end,
        goals,
        reflection,
        closure,
        checkin,
    )
    with warnings.catch_warnings():
        # PTB warns about every CallbackQueryHandler in a conversation keyed by user and
        # chat (per_message=False), since it does not track each message separately.
        # Tandem's dialogues mix commands, typed text and buttons, which only
        # per_message=False allows, and every button checks its callback data against the
        # stored state, so the warning tells the admin nothing to act on. Only that warning
        # is silenced, and only while the dialogues are built.
        warnings.filterwarnings(
            "ignore", message=r"If 'per_message=False'", category=PTBUserWarning
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
