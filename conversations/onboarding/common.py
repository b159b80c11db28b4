"""What onboarding's steps share: where a participant is (recomputed from what is stored),
the question asked there, and sending a decision once its transaction has committed.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Update
from telegram.ext import ConversationHandler

from conversations.kit.buttons import Button, keyboard
from conversations.kit.consent import consent_text
from conversations.kit.context import LANGUAGE, TandemContext, known_person
from conversations.kit.joining import LANGUAGE_NAMES
from conversations.kit.menus import publish_coordinator_menu
from conversations.kit.profile import (
    STEPS_BY_KEY,
    Profile,
    Question,
    Step,
    first_unanswered,
    summary_steps,
)
from conversations.kit.reply import say
from conversations.kit.text import bold_labelled
from locales.translator import SUPPORTED_LANGUAGES, Html, translator
from storage.invites import InviteProblem
from storage.models import Membership, Program
from storage.people import unfinished_membership

NAME = "onboarding"
ONBOARDING = "onboarding"
PREFIX = "onb"
INVITE = "invite"  # user_data key: the code being used, until consent
EDITING = "editing"  # user_data key: the step being changed from the summary


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
    data = user_data(ctx)
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


def question_at(ctx: TandemContext, position: Position) -> Question:
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
    question = question_at(ctx, position)
    await say(update, question.text, keyboard(question.buttons) if question.buttons else None)
    return ONBOARDING


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


def user_data(ctx: TandemContext) -> dict[str, object]:
    assert ctx.user_data is not None
    return ctx.user_data


def invite_problem_text(ctx: TandemContext, problem: InviteProblem) -> str:
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


def new_membership(
    person_id: int, program_id: int, role: str, invite_id: int | None, ctx: TandemContext
) -> Membership:
    return Membership(
        person_id=person_id,
        program_id=program_id,
        role=role,
        invite_id=invite_id,
        joined_at=ctx.now(),
    )


async def reprompt(update: Update, ctx: TandemContext) -> None:
    """Ask the current onboarding question again, if there is one (after /help, /language)."""
    async with ctx.db.session() as session:
        position = await locate(session, update, ctx)
    if position is not None:
        await ask(update, ctx, position)
