"""Introducing a match: the message each partner gets about the other, in their own
language, when a coordinator pairs them in chat (/pair) or an admin does from the command
line (`tandem pair`); and the line naming the partner in onboarding's welcome, for someone
paired before they finished joining.

The letters are built inside the transaction that makes the match and sent once it has
committed; whoever could not be reached is named, so that a person introduces them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import TelegramError

from conversations.kit.profile import FIELD, GOALS, HELP_WITH
from conversations.kit.text import clip, labelled, member_name
from locales.translator import Html, Translator, escape, translator
from storage.models import Match, Membership, Person, Program, Role
from storage.people import active_match_of

DETAIL_CLIP = 600  # a profile answer quoted in a message


@dataclass(frozen=True)
class Letter:
    """A message to someone other than the actor, sent after the transaction commits."""

    chat_id: int | None
    text: str
    name: str


def profile_lines(tr: Translator, membership: Membership, role: Role) -> list[str]:
    """A participant's field and, for a mentor, what they offer; for a mentee, their goals."""
    extra = HELP_WITH if role == Role.MENTOR else GOALS
    details = [(FIELD, membership.field), (extra, getattr(membership, extra.attribute))]
    return [
        labelled(tr, Html(f"<b>{escape(tr.gettext(step.label))}</b>"), clip(value, DETAIL_CLIP))
        for step, value in details
        if value
    ]


def introduction(
    tr: Translator, program: Program, partner: Person, membership: Membership, role: Role
) -> str:
    """The message introducing `partner` (in `role`, with their `membership`) to their new
    match, in the match's language."""
    if role == Role.MENTOR:
        head = tr.gettext(
            "🎉 <b>Meet your mentor!</b> Your coordinator has paired you with <b>{name}</b> "
            "in {program}.",
            name=member_name(tr, partner),
            program=program.name,
        )
    else:
        head = tr.gettext(
            "🎉 <b>Meet your mentee!</b> Your coordinator has paired you with <b>{name}</b> "
            "in {program}.",
            name=member_name(tr, partner),
            program=program.name,
        )
    closing = tr.gettext("Your coordinator will help you get in touch for a first meeting.")
    return "\n\n".join([head, "\n".join(profile_lines(tr, membership, role)), closing])


async def _membership(
    session: AsyncSession, person_id: int, program_id: int, role: Role
) -> Membership | None:
    statement = select(Membership).where(
        Membership.person_id == person_id,
        Membership.program_id == program_id,
        Membership.role == role,
    )
    return (await session.exec(statement)).first()


async def introductions(session: AsyncSession, match: Match) -> list[Letter]:
    """One letter to each partner of a new match about the other: the mentee's first."""
    program = await session.get(Program, match.program_id)
    mentor = await session.get(Person, match.mentor_id)
    mentee = await session.get(Person, match.mentee_id)
    assert program is not None and mentor is not None and mentee is not None
    mentorship = await _membership(session, match.mentor_id, match.program_id, Role.MENTOR)
    menteeship = await _membership(session, match.mentee_id, match.program_id, Role.MENTEE)
    letters = []
    for person, partner, membership, role in (
        (mentee, mentor, mentorship, Role.MENTOR),
        (mentor, mentee, menteeship, Role.MENTEE),
    ):
        assert membership is not None
        text = introduction(translator(person.locale), program, partner, membership, role)
        letters.append(Letter(person.chat_id, text, member_name(translator(person.locale), person)))
    return letters


async def send_letters(bot: Bot, letters: list[Letter]) -> list[str]:
    """Send each letter; the names of those who could not be reached."""
    return [letter.name for letter in letters if not await _deliver(bot, letter)]


async def _deliver(bot: Bot, letter: Letter) -> bool:
    if letter.chat_id is None:
        return False
    try:
        await bot.send_message(letter.chat_id, letter.text, parse_mode=ParseMode.HTML)
    except TelegramError:
        return False
    return True


async def partner_of(session: AsyncSession, person: Person, program_id: int) -> Person | None:
    """The other partner of this person's open match in the program, if they have one."""
    assert person.id is not None
    match = await active_match_of(session, person.id, program_id)
    if match is None:
        return None
    partner_id = match.mentee_id if match.mentor_id == person.id else match.mentor_id
    return await session.get(Person, partner_id)


def partner_line(tr: Translator, role: str, partner: Person) -> str:
    """Onboarding's welcome naming the partner of someone paired while they were joining."""
    if role == Role.MENTEE:
        return tr.gettext("Your mentor is <b>{name}</b>.", name=partner.name or "")
    return tr.gettext("Your mentee is <b>{name}</b>.", name=partner.name or "")
