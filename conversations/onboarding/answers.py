"""Every other input while onboarding: a language, consent, a profile answer, the summary's
choice and the welcome; /cancel.
"""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Update
from telegram.ext import ConversationHandler

from conversations.kit.buttons import split_callback
from conversations.kit.consent import CONSENT_VERSION
from conversations.kit.context import LANGUAGE, TandemContext
from conversations.kit.introductions import partner_line, partner_of
from conversations.kit.joining import offer_text
from conversations.kit.profile import STEPS_BY_KEY, Invalid, Profile, program_slot, slot_text
from conversations.kit.reply import say
from conversations.kit.unusable import describe_unusable
from conversations.onboarding.common import (
    EDITING,
    INVITE,
    PREFIX,
    Position,
    Reply,
    invite_problem_text,
    locate,
    new_membership,
    question_at,
    send,
    user_data,
)
from locales.translator import SUPPORTED_LANGUAGES, translator
from storage.goals import import_onboarding_goals
from storage.invites import InviteProblem, use_invite
from storage.materialise import schedule_changed
from storage.models import AuditEvent, Person, PersonStatus, Role


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
        expects_text = question_at(ctx, position).expects_text
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
    data = user_data(ctx)
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
    data = user_data(ctx)
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
        return Reply(closing=invite_problem_text(ctx, check.problem or InviteProblem.UNKNOWN))
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
    session.add(new_membership(person.id, invite.program_id, invite.role, invite.id, ctx))
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
        user_data(ctx)[EDITING] = choice
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
