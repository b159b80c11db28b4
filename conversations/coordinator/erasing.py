"""Erasing a participant from /people, for a request made by email, by phone or in person:
the coordinator picks the person, reads what goes and what stays (the terms /deleteme
shows, `kit.departure.erasure_terms`), confirms, and types the reason, which goes to the
audit trail only. Then `kit.departure.erase` (the service behind /deleteme and `tandem
person erase`) anonymises the person and tells their partner and the program's other
coordinators that they left, without the reason.

```mermaid
stateDiagram-v2
    [*] --> Choice: co:erl:<program>:<page> (the Erase button of /people)
    Choice --> Choice: co:erl:<program>:<page>
    Choice --> Terms: co:era:<program>:<person>
    Terms --> Reason: co:erq:<program>:<person> (Yes, erase)
    Terms --> People: co:ppl:<program>:0 (No, keep)
    Reason --> Reason: a sticker, a photo, a reason too long (explained)
    Reason --> [*]: the reason typed (erased, notices sent), or /cancel
```

Only the program's coordinators and Tandem's admins may (an admin who coordinates no
program reaches /people of any program, as `tandem person erase` can erase anyone; the
audit trail names them "admin <Telegram id>"). The press and the reason are checked again
against the person acting, as every co: button is. The person waiting for the reason is held in
`user_data` between the tap and the text; the erasure itself checks everything again, so
a person erased meanwhile (a double tap, another coordinator, the command line) is
answered "already erased" and nothing happens twice.
"""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Update
from telegram.ext import ConversationHandler

from conversations.coordinator.people import people_page
from conversations.coordinator.press import data
from conversations.kit.actor import Task, current_actor
from conversations.kit.buttons import BUTTON_CLIP, CHOICES_PER_PAGE, page_buttons, page_of
from conversations.kit.context import TandemContext
from conversations.kit.departure import (
    erase,
    erasure_terms,
    refresh_named_copies,
    send_notices,
)
from conversations.kit.reply import say
from conversations.kit.screens import Screen, Turn
from conversations.kit.text import member_name
from conversations.kit.unusable import explain_unusable, too_long
from storage.closure import Actor
from storage.models import Membership, Person, PersonStatus, Program, Role

REASON = "erase_reason"  # the conversation state: the reason is typed next
ERASING = "erasing"  # user_data: {"program": id, "person": id} while the reason is awaited
REASON_LENGTH = 500
PARTICIPANT_ROLES = (Role.MENTOR, Role.MENTEE)


async def _participants(turn: Turn) -> list[Person]:
    """The program's mentors and mentees who are not erased, by name."""
    statement = (
        select(Person)
        .join(Membership, col(Membership.person_id) == col(Person.id))
        .where(
            Membership.program_id == turn.program_id,
            col(Membership.role).in_(PARTICIPANT_ROLES),
            Person.status != PersonStatus.ERASED,
        )
        .distinct()
    )
    people = (await turn.session.exec(statement)).all()
    return sorted(people, key=lambda person: (member_name(turn.tr, person).casefold(), person.id))


async def _member(session: AsyncSession, program_id: int, person_id: int) -> Person | None:
    """The person when they are a mentor or mentee of the program (erased or not)."""
    statement = select(Membership.id).where(
        Membership.program_id == program_id,
        Membership.person_id == person_id,
        col(Membership.role).in_(PARTICIPANT_ROLES),
    )
    if (await session.exec(statement)).first() is None:
        return None
    return await session.get(Person, person_id)


async def _erasable(turn: Turn) -> Person | Screen:
    """The person the press names, or the screen answering a stale press: /people with a
    notice when they are already erased."""
    person = await _member(turn.session, turn.program_id, turn.number(0))
    if person is None:
        raise turn.stale()
    if person.status == PersonStatus.ERASED:
        screen = await people_page(
            Turn(turn.session, turn.update, turn.ctx, turn.actor, turn.program)
        )
        screen.notice = already_erased(turn.ctx)
        return screen
    return person


def already_erased(ctx: TandemContext) -> str:
    return ctx.tr.gettext("That person's data is already erased. Nothing was changed.")


def _back(turn: Turn) -> list[tuple[str, str]]:
    return [(turn.tr.gettext("‹ Back to the list"), data("ppl", turn.program_id, 0))]


async def erase_choice(turn: Turn) -> Screen:
    """co:erl:<program>:<page>: whose data to erase."""
    tr = turn.tr
    shown, page, pages = page_of(await _participants(turn), turn.number(0, 0), CHOICES_PER_PAGE)
    if not shown:
        return Screen(tr.gettext("There is nobody whose data could be erased."), [_back(turn)])
    rows = [
        [(member_name(tr, person, BUTTON_CLIP), data("era", turn.program_id, person.id))]
        for person in shown
    ]
    rows += [page_buttons(tr, page, pages, lambda number: data("erl", turn.program_id, number))]
    text = "\n".join(
        [
            tr.gettext("<b>{program}</b>: whose data should be erased?", program=turn.program.name),
            "",
            tr.gettext(
                "For a request made by email, by phone or in person. You will see what is "
                "erased, and give the reason, before anything happens."
            ),
        ]
    )
    return Screen(text, [*rows, _back(turn)], waiting=True)


async def erase_terms(turn: Turn) -> Screen:
    """co:era:<program>:<person>: what goes and what stays, and the confirmation."""
    person = await _erasable(turn)
    if isinstance(person, Screen):
        return person
    tr = turn.tr
    lines = [
        tr.gettext("<b>Erase the data of {name}?</b>", name=member_name(tr, person)),
        "",
        *erasure_terms(tr, own=False),
        "",
        tr.gettext("Next, you will type the reason, for the audit trail."),
    ]
    rows = [
        [(tr.gettext("Yes, erase their data"), data("erq", turn.program_id, person.id))],
        [(tr.gettext("No, keep their data"), data("ppl", turn.program_id, 0))],
    ]
    return Screen("\n".join(lines), rows, waiting=True)


async def ask_reason(turn: Turn) -> Screen:
    """co:erq:<program>:<person>: the reason is typed next (a second tap asks again)."""
    person = await _erasable(turn)
    if isinstance(person, Screen):
        return person
    assert turn.ctx.user_data is not None
    turn.ctx.user_data[ERASING] = {"program": turn.program_id, "person": person.id}
    text = turn.tr.gettext(
        "Why are you erasing the data of {name}? Type the reason, for example “email of "
        "3 May”. It is kept in the audit trail only; nobody is told it. Or send /cancel.",
        name=member_name(turn.tr, person),
    )
    return Screen(text, awaits=REASON)


def forget_erasing(ctx: TandemContext) -> None:
    if ctx.user_data is not None:
        ctx.user_data.pop(ERASING, None)


async def take_reason(update: Update, ctx: TandemContext) -> str | int:
    """The typed reason: erase, audited, and tell those left behind."""
    message = update.effective_message
    assert message is not None and message.text is not None and update.effective_chat is not None
    tr = ctx.tr
    reason = message.text.strip()
    if len(reason) > REASON_LENGTH:
        await say(update, too_long(tr, REASON_LENGTH))
        return REASON
    waiting = (ctx.user_data or {}).get(ERASING)
    forget_erasing(ctx)
    if not isinstance(waiting, dict):
        await explain_unusable(update, ctx, expects_text=False)
        return ConversationHandler.END
    program_id, person_id = int(waiting.get("program", 0)), int(waiting.get("person", 0))
    async with ctx.db.session() as session:
        actor = await current_actor(session, update, ctx)
        program = (
            await session.get(Program, program_id) if actor.may(Task.ROSTER, program_id) else None
        )
        person = None if program is None else await _member(session, program_id, person_id)
        erased = None
        if program is None or person is None:
            text, notices = tr.gettext("Only this program's coordinators can do that."), []
        elif person.status == PersonStatus.ERASED:
            text, notices = already_erased(ctx), []
        else:
            by = Actor(actor.person_id, actor.label(program_id))
            erased, notices = await erase(session, person, by, reason, ctx.now())
            text = tr.gettext("Done: the data of participant #{id} is erased.", id=erased.person_id)
            if erased.ended:
                text += " " + tr.ngettext(
                    "{n} match is closed and the partner was told.",
                    "{n} matches are closed and the partners were told.",
                    len(erased.ended),
                )
    await say(update, text)
    await send_notices(
        ctx.bot, [notice for notice in notices if notice.chat_id != update.effective_chat.id]
    )
    if erased is not None:
        await refresh_named_copies(ctx.bot, ctx.db, erased.person_id)
    return ConversationHandler.END


async def not_a_reason(update: Update, ctx: TandemContext) -> None:
    """A sticker, a photo… where the reason is expected: explain, and keep waiting."""
    await explain_unusable(update, ctx, expects_text=True)
