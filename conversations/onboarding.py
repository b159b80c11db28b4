"""Joining a program: `/start <invite code>` → language → consent → profile → summary →
welcome.

```mermaid
stateDiagram-v2
    [*] --> Language: /start <code> (a usable invitation)
    [*] --> Profile: /start <code> from someone who already consented (another program or role)
    [*] --> [*]: /start without a code, a bad code, or any input while not joining
    Language --> Consent: onb:language:<code>
    Consent --> Profile: onb:consent:yes (person, membership, audit event)
    Consent --> [*]: onb:consent:no (nothing kept)
    Profile --> Profile: the next unanswered step
    Profile --> Summary: every step answered
    Summary --> Profile: onb:summary:<step> (change one answer)
    Summary --> [*]: onb:summary:done (the welcome, naming the partner if paired)
    Profile --> [*]: /cancel (answers so far are kept)
```

Its catch-all answers input no other dialogue took: while someone is not joining, a stray
message is first offered to the dialogues bot/app.py lists as `Services.text_takers`. Other
dialogues reach it only through `Services.joining` (conversations/kit/joining.py).

Where a participant is comes from what is stored: before consent, the invite code and
language in `user_data`; after it, the first unanswered profile step of their unfinished
membership. The conversation state is only a cache of that, so a restart or a lost state
resumes at the right question, and every answer is written in the transaction that reads
it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import select
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

from conversations.kit.buttons import Button, keyboard, split_callback
from conversations.kit.consent import CONSENT_VERSION, consent_text
from conversations.kit.context import LANGUAGE, TandemContext, known_person
from conversations.kit.introductions import partner_line, partner_of
from conversations.kit.joining import LANGUAGE_NAMES, how_to_join, offer_text
from conversations.kit.menus import publish_coordinator_menu
from conversations.kit.profile import (
    STEPS_BY_KEY,
    Invalid,
    Profile,
    Question,
    Step,
    first_unanswered,
    program_slot,
    slot_text,
    summary_steps,
)
from conversations.kit.reply import say
from conversations.kit.text import bold_labelled
from conversations.kit.unusable import describe_unusable
from locales.translator import SUPPORTED_LANGUAGES, Html, translator
from storage.goals import import_onboarding_goals
from storage.invites import InviteProblem, check_invite, use_invite
from storage.models import AuditEvent, Membership, Person, PersonStatus, Program, Role
from storage.people import unfinished_membership
from storage.prompts import schedule_changed

NAME = "onboarding"
ONBOARDING = "onboarding"
PREFIX = "onb"
INVITE = "invite"  # user_data key: the code being used, until consent
EDITING = "editing"  # user_data key: the step being changed from the summary
BAD_CODES = "bad_codes"  # user_data key: times of recent unusable codes
BAD_CODE_LIMIT = 5
BAD_CODE_WINDOW = timedelta(minutes=15)


@dataclass
class Position:
    """Where a participant is in onboarding. `stage` is 'language', 'consent', 'summary'
    or a profile step's key."""

    stage: str
    profile: Profile | None = None

    @property
    def step(self) -> Step | None:
        return STEPS_BY_KEY.get(self.stage)


async def locate(session: AsyncSession, update: Update, ctx: TandemContext) -> Position | None:
    """Recompute where this user is in onboarding; None when they are not onboarding."""
    user = update.effective_user
    assert user is not None
    data = _user_data(ctx)
    person = await known_person(session, ctx, user.id)
    if person is None:
        if INVITE not in data:
            return None
        return Position("language" if LANGUAGE not in data else "consent")
    membership = await unfinished_membership(session, person.id or 0)
    if membership is None:
        return None
    program = await session.get(Program, membership.program_id)
    profile = Profile(person, membership, program, user.full_name)
    editing = data.get(EDITING)
    step = STEPS_BY_KEY.get(editing) if editing else first_unanswered(profile)
    return Position(step.key if step else "summary", profile)


def _question(ctx: TandemContext, position: Position) -> Question:
    tr = ctx.tr
    if position.stage == "language":
        bilingual = [
            translator(code).gettext("Welcome to Tandem! Which language do you prefer?")
            for code in _languages_first(ctx.tr.language)
        ]
        buttons = [
            (LANGUAGE_NAMES[code], f"{PREFIX}:language:{code}") for code in SUPPORTED_LANGUAGES
        ]
        return Question("\n".join(bilingual), [buttons], expects_text=False)
    if position.stage == "consent":
        return Question(
            consent_text(tr),
            [
                [
                    (tr.gettext("Yes, I agree"), f"{PREFIX}:consent:yes"),
                    (tr.gettext("No thanks"), f"{PREFIX}:consent:no"),
                ]
            ],
            expects_text=False,
        )
    assert position.profile is not None
    if position.step is not None:
        return position.step.question(tr, position.profile, PREFIX)
    return _summary(ctx, position.profile)


def _languages_first(language: str) -> list[str]:
    return [language, *(code for code in SUPPORTED_LANGUAGES if code != language)]


def _summary(ctx: TandemContext, profile: Profile) -> Question:
    tr = ctx.tr
    steps = summary_steps(profile)
    lines = [tr.gettext("<b>Here is what you told me:</b>"), ""]
    for step in steps:
        label, value = step.summary(tr, profile)
        lines.append(bold_labelled(tr, label, Html(value)))
    lines += ["", tr.gettext("Is everything right?")]
    edits: list[Button] = [
        (
            tr.gettext("Change: {what}", what=step.summary(tr, profile)[0]),
            f"{PREFIX}:summary:{step.key}",
        )
        for step in steps
    ]
    rows = [[(tr.gettext("✅ All good"), f"{PREFIX}:summary:done")]]
    rows += [edits[index : index + 2] for index in range(0, len(edits), 2)]
    return Question("\n".join(lines), rows, expects_text=False)


async def ask(update: Update, ctx: TandemContext, position: Position) -> str:
    question = _question(ctx, position)
    await say(update, question.text, keyboard(question.buttons) if question.buttons else None)
    return ONBOARDING


# --- /start -------------------------------------------------------------------------------


async def start(update: Update, ctx: TandemContext) -> str | int:
    code = ctx.args[0] if ctx.args else None
    if code is not None:
        return await _start_with_code(update, ctx, code)
    async with ctx.db.session() as session:
        position = await locate(session, update, ctx)
        person = await known_person(session, ctx, update.effective_user.id)  # type: ignore[union-attr]
    if position is not None:
        return await ask(update, ctx, position)
    if person is not None:
        await say(
            update,
            ctx.tr.gettext(
                "Welcome back, {name}! Send /help to see what you can do.", name=person.name or ""
            ),
        )
    else:
        await say(update, how_to_join(ctx))
    return ConversationHandler.END


async def _too_many_bad_codes(ctx: TandemContext) -> bool:
    data = _user_data(ctx)
    cutoff = (ctx.now() - BAD_CODE_WINDOW).timestamp()
    recent = [moment for moment in data.get(BAD_CODES, []) if moment > cutoff]
    data[BAD_CODES] = recent
    return len(recent) >= BAD_CODE_LIMIT


def _record_bad_code(ctx: TandemContext) -> None:
    _user_data(ctx).setdefault(BAD_CODES, []).append(ctx.now().timestamp())  # type: ignore[attr-defined]


async def _start_with_code(update: Update, ctx: TandemContext, code: str) -> str | int:
    if await _too_many_bad_codes(ctx):
        await say(
            update,
            ctx.tr.gettext(
                "Several invitation links in a row didn't work. Please wait a few minutes, "
                "then check the link with your program's coordinators."
            ),
        )
        return ConversationHandler.END
    user = update.effective_user
    assert user is not None
    joined: Reply | None = None
    async with ctx.db.session() as session:
        check = await check_invite(session, code[:64], ctx.now())
        person = await known_person(session, ctx, user.id)
        if check.problem is None and person is not None:
            joined = await _join_another(session, update, ctx, person, code)
    if joined is not None:  # sent once the new membership is committed
        return await send(update, ctx, joined)
    if check.problem is not None:
        _record_bad_code(ctx)
        await say(update, _invite_problem_text(ctx, check.problem))
        return ConversationHandler.END
    data = _user_data(ctx)
    data[INVITE] = code
    data.pop(LANGUAGE, None)
    return await ask(update, ctx, Position("language"))


def _invite_problem_text(ctx: TandemContext, problem: InviteProblem) -> str:
    tr = ctx.tr
    if problem is InviteProblem.EXPIRED:
        reason = tr.gettext("This invitation link has expired.")
    elif problem is InviteProblem.USED:
        reason = tr.gettext("This invitation link has already been used.")
    else:
        reason = tr.gettext("I don't recognize this invitation link.")
    return (
        reason
        + " "
        + tr.gettext("Please ask your program coordinator for a new one. Nothing was saved.")
    )


async def _join_another(
    session: AsyncSession, update: Update, ctx: TandemContext, person: Person, code: str
) -> Reply:
    """Someone who already consented opens a new invite (a second program or role)."""
    check = await use_invite(session, code, ctx.now())
    invite = check.invite
    assert invite is not None and person.id is not None
    existing = await session.exec(
        select(Membership).where(
            Membership.person_id == person.id,
            Membership.program_id == invite.program_id,
            Membership.role == invite.role,
        )
    )
    if existing.first() is not None:
        invite.uses -= 1
        return Reply(
            notice=ctx.tr.gettext(
                "You're already part of this program. Send /help to see what you can do."
            ),
            ask=await locate(session, update, ctx),
        )
    session.add(_membership(person.id, invite.program_id, invite.role, invite.id, ctx))
    await session.flush()
    return Reply(ask=await locate(session, update, ctx))


def _membership(
    person_id: int, program_id: int, role: str, invite_id: int | None, ctx: TandemContext
) -> Membership:
    return Membership(
        person_id=person_id,
        program_id=program_id,
        role=role,
        invite_id=invite_id,
        joined_at=ctx.now(),
    )


# --- every other input while onboarding ---------------------------------------------------


@dataclass
class Reply:
    """What to send once the transaction that read and stored the input has committed."""

    ask: Position | None = None
    notice: str | None = None
    closing: str | None = None
    coordinator_menu: bool = False

    @property
    def ends(self) -> bool:
        return self.ask is None


async def on_input(update: Update, ctx: TandemContext) -> str | int:
    """The single handler for taps and messages during onboarding: one transaction reads
    where the participant is and stores their answer; messages go out after it commits."""
    async with ctx.db.session() as session:
        position = await locate(session, update, ctx)
        reply = await _handle(session, update, ctx, position) if position is not None else None
    if reply is None:  # not onboarding: perhaps another dialogue is waiting for this message
        if update.callback_query is None and await offer_text(update, ctx):
            return ConversationHandler.END
        reply = Reply(notice=_not_waiting(ctx, update))
    return await send(update, ctx, reply)


async def send(update: Update, ctx: TandemContext, reply: Reply) -> str | int:
    """Send what a decision produced; the conversation state follows from it."""
    if update.callback_query is not None:
        await update.callback_query.answer(reply.notice)
    elif reply.notice:
        await say(update, reply.notice)
    if reply.closing:
        await say(update, reply.closing)
    if reply.coordinator_menu and update.effective_chat is not None:
        admin = update.effective_chat.id in ctx.services.settings.admin_telegram_ids
        await publish_coordinator_menu(
            ctx.bot, update.effective_chat.id, ctx.tr.language, admin=admin
        )
    if reply.ask is not None:
        return await ask(update, ctx, reply.ask)
    return ConversationHandler.END


def _not_waiting(ctx: TandemContext, update: Update) -> str:
    if update.callback_query is not None:
        return describe_unusable(ctx.tr, update, expects_text=False)
    message = update.effective_message
    if message is not None and message.text and message.text.startswith("/"):
        return ctx.tr.gettext("I don't know that command. Send /help to see what I can do.")
    return ctx.tr.gettext(
        "I'm not waiting for an answer right now. Send /help to see what I can do."
    )


async def _handle(
    session: AsyncSession, update: Update, ctx: TandemContext, position: Position
) -> Reply:
    query = update.callback_query
    message = update.effective_message
    text = message.text if message is not None and query is None else None
    choice: str | None = None
    if query is not None:
        prefix, stage, choice = split_callback(query.data)
        if prefix != PREFIX or stage != position.stage:
            return Reply(ask=position, notice=describe_unusable(ctx.tr, update, expects_text=False))
    elif text is None or text.startswith("/"):
        expects_text = _question(ctx, position).expects_text
        return Reply(
            ask=position, notice=describe_unusable(ctx.tr, update, expects_text=expects_text)
        )
    try:
        return await _use(session, update, ctx, position, choice, text)
    except Invalid as invalid:
        return Reply(ask=position, notice=str(invalid))


async def _use(
    session: AsyncSession,
    update: Update,
    ctx: TandemContext,
    position: Position,
    choice: str | None,
    text: str | None,
) -> Reply:
    tr = ctx.tr
    data = _user_data(ctx)
    if position.stage == "language":
        language = choice if choice in SUPPORTED_LANGUAGES else _language_from_text(text)
        if language is None:
            raise Invalid(tr.gettext("Please answer with one of the buttons below."))
        data[LANGUAGE] = language
        ctx.tr = translator(language)
        return Reply(ask=Position("consent"))
    if position.stage == "consent":
        return await _consent(session, update, ctx, choice)
    profile = position.profile
    assert profile is not None
    if position.stage == "summary":
        return await _summary_choice(session, ctx, profile, choice)
    step = position.step
    assert step is not None
    if choice is not None:
        step.read_choice(tr, choice, profile)
    else:
        step.read_text(tr, text or "", profile)
    data.pop(EDITING, None)
    session.add(profile.person)
    if profile.membership is not None:
        session.add(profile.membership)
    return Reply(ask=await locate(session, update, ctx))


def _user_data(ctx: TandemContext) -> dict[str, object]:
    assert ctx.user_data is not None
    return ctx.user_data


LANGUAGE_WORDS = {
    "english": "en", "anglais": "en", "en": "en",
    "français": "fr", "francais": "fr", "french": "fr", "fr": "fr",
}  # fmt: skip


def _language_from_text(text: str | None) -> str | None:
    return LANGUAGE_WORDS.get((text or "").strip().lower())


async def _consent(
    session: AsyncSession, update: Update, ctx: TandemContext, choice: str | None
) -> Reply:
    tr = ctx.tr
    data = _user_data(ctx)
    if choice == "no":
        data.clear()
        return Reply(
            closing=tr.gettext(
                "No problem: nothing about you was saved. If you change your mind, open your "
                "invitation link again."
            )
        )
    if choice != "yes":
        raise Invalid(tr.gettext("Please answer with one of the buttons below."))
    check = await use_invite(session, str(data.get(INVITE, "")), ctx.now())
    if check.problem is not None or check.invite is None:
        data.clear()
        return Reply(closing=_invite_problem_text(ctx, check.problem or InviteProblem.UNKNOWN))
    user = update.effective_user
    assert user is not None
    now = ctx.now()
    person = Person(
        telegram_id=user.id,
        chat_id=update.effective_chat.id if update.effective_chat else user.id,
        username=user.username,
        locale=tr.language,
        consent_at=now,
        consent_version=CONSENT_VERSION,
        created_at=now,
    )
    session.add(person)
    await session.flush()
    assert person.id is not None
    invite = check.invite
    session.add(_membership(person.id, invite.program_id, invite.role, invite.id, ctx))
    session.add(
        AuditEvent(
            actor_id=person.id,
            actor_label="participant",
            action="consent.given",
            subject=f"person:{person.id}",
            detail={"version": CONSENT_VERSION, "invite": invite.id},
            at=now,
        )
    )
    data.pop(INVITE, None)
    data.pop(LANGUAGE, None)
    await session.flush()
    return Reply(ask=await locate(session, update, ctx))


async def _summary_choice(
    session: AsyncSession, ctx: TandemContext, profile: Profile, choice: str | None
) -> Reply:
    if choice in STEPS_BY_KEY and STEPS_BY_KEY[choice].applies_to(profile):
        _user_data(ctx)[EDITING] = choice
        return Reply(ask=Position(choice, profile))
    if choice != "done":
        raise Invalid(ctx.tr.gettext("Please answer with one of the buttons below."))
    membership, person = profile.membership, profile.person
    assert membership is not None and person.id is not None
    membership.completed_at = ctx.now()
    if person.status == PersonStatus.ONBOARDING:
        person.status = PersonStatus.ACTIVE
    session.add_all([membership, person])
    await import_onboarding_goals(session, membership, ctx.now())  # /goals, check-ins
    await schedule_changed(session)  # a matched participant's first check-in is due
    partner = await partner_of(session, person, membership.program_id)
    return Reply(
        closing=_welcome(ctx, profile, partner),
        coordinator_menu=membership.role == Role.COORDINATOR,
    )


def _welcome(ctx: TandemContext, profile: Profile, partner: Person | None) -> str:
    """What happens next, and who the match partner is when there is one."""
    tr = ctx.tr
    person, membership = profile.person, profile.membership
    assert membership is not None
    program_name = profile.program.name if profile.program else ""
    lines = [
        tr.gettext(
            "You're all set, {name}! Welcome to {program}.",
            name=person.name or "",
            program=program_name,
        )
    ]
    if membership.role == Role.COORDINATOR:
        lines.append(
            tr.gettext(
                "As a coordinator, you can invite people with /invite, pair mentors and mentees "
                "with /pair and see everyone with /people."
            )
        )
    else:
        weekday, moment = program_slot(profile.program)
        if person.checkin_weekday is not None and person.checkin_time is not None:
            weekday, moment = person.checkin_weekday, person.checkin_time
        lines.append(
            tr.gettext(
                "Every week on {slot} (your time), I'll send you a short check-in: a few "
                "taps, under a minute.",
                slot=slot_text(tr, weekday, moment),
            )
        )
        if partner is None:
            lines.append(
                tr.gettext(
                    "Your coordinator will introduce you to your match soon, and I'll let you know."
                )
            )
        else:
            lines.append(partner_line(tr, membership.role, partner))
    lines.append(tr.gettext("Send /help at any time to see what you can do."))
    return "\n\n".join(lines)


async def cancel(update: Update, ctx: TandemContext) -> int:
    await say(
        update,
        ctx.tr.gettext(
            "Okay, let's stop here. Everything you answered is saved: send /start when you "
            "want to continue."
        ),
    )
    return ConversationHandler.END


async def reprompt(update: Update, ctx: TandemContext) -> None:
    """Ask the current onboarding question again, if there is one (after /help, /language)."""
    async with ctx.db.session() as session:
        position = await locate(session, update, ctx)
    if position is not None:
        await ask(update, ctx, position)


def handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    """Register last in group 0: its catch-all entry answers input nothing else took."""
    private = filters.ChatType.PRIVATE
    catch_all = [
        MessageHandler(private & ~filters.COMMAND, on_input),
        CallbackQueryHandler(on_input),
        MessageHandler(private & filters.COMMAND, on_input),
    ]
    return [
        ConversationHandler(
            entry_points=[CommandHandler("start", start, private), *catch_all],
            states={
                ONBOARDING: [
                    CommandHandler("start", start, private),
                    CallbackQueryHandler(on_input),
                    MessageHandler(private & ~filters.COMMAND, on_input),
                ]
            },
            fallbacks=[CommandHandler("cancel", cancel), MessageHandler(filters.COMMAND, on_input)],
            name=NAME,
            persistent=True,
        )
    ]
