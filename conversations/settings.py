"""/help, /language and /settings: available at any point, including mid-onboarding.

```mermaid
stateDiagram-v2
    [*] --> Choosing: /settings (a finished profile)
    [*] --> [*]: /settings while joining (the joining question again), or not a member
    Choosing --> Answering: set:menu:<setting>
    Choosing --> [*]: set:menu:language (the language buttons), or Done
    Answering --> Choosing: the answer is stored
    Answering --> Answering: an answer it cannot use, explained
    Choosing --> [*]: /cancel
    Answering --> [*]: /cancel
```

/help and /language (then a `lang:<code>` tap) are single steps outside that
conversation; both ask onboarding's question again when someone is joining.
"""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from conversations.kit.buttons import keyboard, split_callback
from conversations.kit.context import LANGUAGE, TandemContext, known_person
from conversations.kit.joining import LANGUAGE_NAMES, how_to_join, is_joining, reprompt
from conversations.kit.menus import ADMIN_COMMANDS, COORDINATOR_COMMANDS, publish_coordinator_menu
from conversations.kit.profile import (
    STEPS_BY_KEY,
    CheckinDayStep,
    CheckinTimeStep,
    Invalid,
    NameStep,
    Profile,
    TimezoneStep,
)
from conversations.kit.reply import say
from conversations.kit.text import bold_labelled, labelled
from conversations.kit.unusable import describe_unusable
from locales.translator import SUPPORTED_LANGUAGES, Html, Translator, escape, translator
from storage.materialise import invalidate_future
from storage.models import Membership, Person, Program, Role
from storage.people import coordinated_programs, memberships_of

PREFIX = "set"
EDITING = "settings_step"
CHOOSING, ANSWERING = "choosing", "answering"
EDITABLE = (NameStep.key, TimezoneStep.key, CheckinDayStep.key)
# Answers that move a participant's weekly slot: prompts not sent yet are made again.
SCHEDULE_STEPS = frozenset({TimezoneStep.key, CheckinDayStep.key, CheckinTimeStep.key})


# --- /help ----------------------------------------------------------------------------------


def _admin_lines(tr: Translator) -> list[str]:
    """What only Tandem's admins can do, for /help (an admin may have no person row)."""
    return [
        tr.gettext("<b>For Tandem's admins</b>"),
        *(
            labelled(tr, Html(f"/{command}"), tr.gettext(description))
            for command, description in ADMIN_COMMANDS
        ),
        tr.gettext("/invite: invitation links for any program, its first coordinator included"),
    ]


async def show_help(update: Update, ctx: TandemContext) -> None:
    tr = ctx.tr
    async with ctx.db.session() as session:
        person = await _person(session, update, ctx)
        memberships = await memberships_of(session, person.id or 0) if person else []
    roles = {membership.role for membership in memberships}
    coordinator = Role.COORDINATOR in roles
    participant = bool(roles - {Role.COORDINATOR})
    admin = update.effective_user is not None and (
        update.effective_user.id in ctx.services.settings.admin_telegram_ids
    )
    if person is None and not admin:
        await say(update, how_to_join(ctx))
    elif person is None:
        await say(update, "\n".join(_admin_lines(tr)))
    else:
        lines = [tr.gettext("<b>What I can do</b>")]
        if participant:
            lines += [
                tr.gettext("/checkin: answer this week's check-in, or change your answers"),
                tr.gettext(
                    "/log: log a meeting in one line, e.g. /log 45m yesterday video: résumé"
                ),
                tr.gettext("/logs: your recent meetings and your time together"),
                tr.gettext("/goals: your goals for the program"),
                tr.gettext("/reflect: a reflection prompt now; /journal: your reflections"),
                tr.gettext("/skip: skip this week's check-in"),
                tr.gettext("/pause: pause check-ins until a date (holidays, a busy month)"),
                tr.gettext("/resume: start check-ins again"),
                tr.gettext("/endmatch: ask your coordinator to end your match early"),
            ]
        if participant or coordinator:
            lines.append(
                tr.gettext(
                    "/certificate: your certificate of completion, once your match has "
                    "completed the program (coordinators: send one to a participant)"
                )
            )
        lines += [
            tr.gettext("/settings: change your name, time zone or weekly check-in time"),
            tr.gettext("/language: switch between English and French"),
            tr.gettext("/cancel: stop what we are doing (your answers stay saved)"),
            tr.gettext("/mydata: everything stored about you, with a file to keep"),
            tr.gettext("/deleteme: erase your data and leave the program"),
        ]
        if coordinator:
            lines += [
                "",
                tr.gettext("<b>For coordinators</b>"),
                *(
                    labelled(tr, Html(f"/{command}"), tr.gettext(description))
                    for command, description in COORDINATOR_COMMANDS
                ),
            ]
        if admin:
            lines += ["", *_admin_lines(tr)]
        await say(update, "\n".join(lines))
    if person is None or any(membership.completed_at is None for membership in memberships):
        await reprompt(update, ctx)  # only someone still joining has a question to see again


# --- /language ------------------------------------------------------------------------------


async def choose_language(update: Update, ctx: TandemContext) -> None:
    buttons = [(LANGUAGE_NAMES[code], f"lang:{code}") for code in SUPPORTED_LANGUAGES]
    await say(update, ctx.tr.gettext("Which language do you prefer?"), keyboard([buttons]))


async def set_language(update: Update, ctx: TandemContext) -> None:
    query = update.callback_query
    assert query is not None
    language = (query.data or "").removeprefix("lang:")
    if language not in SUPPORTED_LANGUAGES:
        await query.answer(
            ctx.tr.gettext("That button belongs to an earlier question, so it no longer works.")
        )
        return
    async with ctx.db.session() as session:
        person = await _person(session, update, ctx)
        if person is not None:
            person.locale = language
            session.add(person)
            coordinator = bool(await coordinated_programs(session, person.id or 0))
        else:
            coordinator = False
            if ctx.user_data is not None:
                ctx.user_data[LANGUAGE] = language
    ctx.tr = translator(language)
    await query.answer()
    await say(update, ctx.tr.gettext("Done: I'll write to you in English from now on."))
    admin = query.from_user.id in ctx.services.settings.admin_telegram_ids
    if (coordinator or admin) and update.effective_chat is not None:
        await publish_coordinator_menu(ctx.bot, update.effective_chat.id, language, admin=admin)
    await reprompt(update, ctx)


# --- /settings ------------------------------------------------------------------------------


async def _person(session: AsyncSession, update: Update, ctx: TandemContext) -> Person | None:
    assert update.effective_user is not None
    return await known_person(session, ctx, update.effective_user.id)


async def _profile(session: AsyncSession, update: Update, ctx: TandemContext) -> Profile | None:
    """The participant's profile as /settings edits it: person-level answers, with the
    role and program of their first finished membership (for the program's default slot)."""
    person = await _person(session, update, ctx)
    if person is None:
        return None
    statement = (
        select(Membership)
        .where(Membership.person_id == person.id, col(Membership.completed_at).is_not(None))
        .order_by(col(Membership.role) == Role.COORDINATOR, col(Membership.id))
    )
    membership = (await session.exec(statement)).first()
    if membership is None:
        return None
    program = await session.get(Program, membership.program_id)
    assert update.effective_user is not None
    return Profile(person, membership, program, update.effective_user.full_name)


async def open_settings(update: Update, ctx: TandemContext) -> str | int:
    async with ctx.db.session() as session:
        profile = await _profile(session, update, ctx)
    if profile is not None:
        await _show_menu(update, ctx, profile)
        return CHOOSING
    if not await is_joining(update, ctx):
        await say(update, how_to_join(ctx))
    else:
        await say(update, ctx.tr.gettext("Let's finish setting you up first."))
        await reprompt(update, ctx)
    return ConversationHandler.END


async def _show_menu(update: Update, ctx: TandemContext, profile: Profile) -> None:
    tr = ctx.tr
    editable = [STEPS_BY_KEY[key] for key in EDITABLE if STEPS_BY_KEY[key].applies_to(profile)]
    lines = [tr.gettext("<b>Your settings</b>"), ""]
    for step in editable:
        label, value = step.summary(tr, profile)
        lines.append(bold_labelled(tr, label, Html(value)))
    lines.append(bold_labelled(tr, tr.gettext("Language"), escape(LANGUAGE_NAMES[tr.language])))
    rows = [
        [
            (
                tr.gettext("Change: {what}", what=step.summary(tr, profile)[0]),
                f"{PREFIX}:menu:{step.key}",
            )
        ]
        for step in editable
    ]
    rows.append([(tr.gettext("Change: {what}", what=tr.gettext("Language")), "set:menu:language")])
    rows.append([(tr.gettext("Close"), f"{PREFIX}:menu:close")])
    await say(update, "\n".join(lines), keyboard(rows))


async def on_menu(update: Update, ctx: TandemContext) -> str | int:
    query = update.callback_query
    assert query is not None
    choice = (query.data or "").removeprefix(f"{PREFIX}:menu:")
    await query.answer()
    if choice == "close":
        await say(update, ctx.tr.gettext("Settings closed."))
        return ConversationHandler.END
    if choice == "language":
        await choose_language(update, ctx)
        return ConversationHandler.END
    if choice not in EDITABLE:
        return CHOOSING
    assert ctx.user_data is not None
    ctx.user_data[EDITING] = choice
    return await _ask(update, ctx, choice)


async def _ask(update: Update, ctx: TandemContext, key: str) -> str:
    async with ctx.db.session() as session:
        profile = await _profile(session, update, ctx)
    assert profile is not None
    question = STEPS_BY_KEY[key].question(ctx.tr, profile, PREFIX)
    await say(update, question.text, keyboard(question.buttons) if question.buttons else None)
    return ANSWERING


async def on_answer(update: Update, ctx: TandemContext) -> str | int:
    """A tap or text for the setting being changed: stored at once, then the menu again
    (or, after a new check-in day, the time on that day)."""
    assert ctx.user_data is not None
    key = ctx.user_data.get(EDITING)
    step = STEPS_BY_KEY.get(key or "")
    query = update.callback_query
    message = update.effective_message
    notice: str | None = None
    async with ctx.db.session() as session:
        profile = await _profile(session, update, ctx)
        if step is None or profile is None:
            return ConversationHandler.END
        try:
            if query is not None:
                prefix, stage, choice = split_callback(query.data)
                if prefix != PREFIX or stage != step.key:
                    raise Invalid(
                        ctx.tr.gettext(
                            "That button belongs to an earlier question, so it no longer works."
                        )
                    )
                step.read_choice(ctx.tr, choice, profile)
            elif message is not None and message.text is not None:
                step.read_text(ctx.tr, message.text, profile)
            else:
                raise Invalid(describe_unusable(ctx.tr, update, expects_text=True))
            session.add(profile.person)
            if step.key in SCHEDULE_STEPS and profile.person.id is not None:
                await invalidate_future(session, profile.person.id, ctx.now())
        except Invalid as invalid:
            notice = str(invalid)
    if query is not None:
        await query.answer(notice)
    if notice is not None:
        if query is None:
            await say(update, notice)
        return await _ask(update, ctx, step.key)
    if isinstance(step, CheckinDayStep) and (
        query is None or not (query.data or "").endswith(":keep")
    ):
        ctx.user_data[EDITING] = "time"
        return await _ask(update, ctx, "time")
    ctx.user_data.pop(EDITING, None)
    await say(update, ctx.tr.gettext("Saved."))
    assert profile is not None
    await _show_menu(update, ctx, profile)
    return CHOOSING


async def close(update: Update, ctx: TandemContext) -> int:
    if ctx.user_data is not None:
        ctx.user_data.pop(EDITING, None)
    await say(update, ctx.tr.gettext("Settings closed."))
    return ConversationHandler.END


def handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    private = filters.ChatType.PRIVATE
    return [
        ConversationHandler(
            entry_points=[CommandHandler("settings", open_settings, private)],
            states={
                CHOOSING: [CallbackQueryHandler(on_menu, pattern=rf"^{PREFIX}:menu:")],
                ANSWERING: [
                    CallbackQueryHandler(on_answer, pattern=rf"^{PREFIX}:"),
                    MessageHandler(private & ~filters.COMMAND, on_answer),
                ],
            },
            fallbacks=[
                CommandHandler("cancel", close),
                CommandHandler("settings", open_settings, private),
            ],
            name="settings",
            persistent=True,
        ),
        CommandHandler("help", show_help, private),
        CommandHandler("language", choose_language, private),
        CallbackQueryHandler(set_language, pattern=r"^lang:"),
    ]
