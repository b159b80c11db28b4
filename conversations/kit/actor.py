"""Who is asking, and what they may do: the coordinator commands' actor (/invite, /pair,
/people, /broadcast, /flags, /matches, /dashboard, /export, /report).

Every command and every press is checked again against the person pressing, so callback
data is never trusted: `Actor.may` decides from the programs they finished joining as
coordinator and, for invitations and for /people with erasing someone from it (what
`tandem invite`, `tandem people` and `tandem person erase` let them do anyway), Tandem's
admins in any program."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Update

from conversations.kit.context import TandemContext, known_person
from locales.translator import Translator
from storage.models import Membership, Person, Program, Role
from storage.pairing import UNAVAILABLE


class Task(StrEnum):
    """What a command or button does, which decides who may do it."""

    INVITE = "invite"
    PAIR = "pair"
    PEOPLE = "people"  # a program's own business: its coordinators only
    ROSTER = "roster"  # /people and erasing someone from it


# What Tandem's admins may do in any program, coordinating it or not.
ADMIN_TASKS = (Task.INVITE, Task.ROSTER)


@dataclass(frozen=True)
class Actor:
    """The person pressing or typing. An admin may have no person row at all."""

    telegram_id: int
    person: Person | None
    admin: bool
    coordinates: frozenset[int]  # programs where they finished joining as coordinator

    @property
    def person_id(self) -> int | None:
        return None if self.person is None else self.person.id

    def may(self, task: Task, program_id: int) -> bool:
        """Admins may invite into any program, and list and erase its people; everything
        else is for its coordinators."""
        return program_id in self.coordinates or (self.admin and task in ADMIN_TASKS)

    def label(self, program_id: int) -> str:
        return "coordinator" if program_id in self.coordinates else f"admin {self.telegram_id}"


async def current_actor(session: AsyncSession, update: Update, ctx: TandemContext) -> Actor:
    user = update.effective_user
    assert user is not None
    person = await known_person(session, ctx, user.id)
    coordinates: frozenset[int] = frozenset()
    if person is not None and person.status not in UNAVAILABLE:
        statement = select(Membership.program_id).where(
            Membership.person_id == person.id,
            Membership.role == Role.COORDINATOR,
            col(Membership.completed_at).is_not(None),
        )
        coordinates = frozenset((await session.exec(statement)).all())
    admin = user.id in ctx.services.settings.admin_telegram_ids
    return Actor(user.id, person, admin, coordinates)


async def programs_for(session: AsyncSession, actor: Actor, task: Task) -> Sequence[Program]:
    statement = select(Program).order_by(col(Program.id))
    if not (actor.admin and task in ADMIN_TASKS):
        statement = statement.where(col(Program.id).in_(actor.coordinates))
    return (await session.exec(statement)).all()


class Refused(Exception):
    """Not allowed, or no longer possible: nothing changes and the message says why."""


def not_a_coordinator(tr: Translator) -> Refused:
    return Refused(tr.gettext("This command is for program coordinators."))
