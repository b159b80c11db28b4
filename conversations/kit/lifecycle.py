"""What answering the prompts of a match's end does, beyond storing the answer, and the
messages it causes (`storage.closure` is the lifecycle itself):

- the closure notice's ``extend`` question is the person's answer to "extend the
  match?" (`answer_extension`) for the planned end that notice gave (its period): it is
  given once, and a notice of an earlier planned end can no longer answer. When both
  said yes, every coordinator of the program gets a one-tap Approve / Decline message
  (callback data ``ext:<y|n>:<extension request id>``, handled by conversations/closure/);
- a mentee's closure survey ``rematch`` answer marks (or unmarks) their wish for a new
  match (`set_wants_rematch`);
- closure surveys and follow-ups are asked with the facts their questions depend on:
  the program's track, and whether the match ended early.

The dispatcher closes a match once both surveys are settled (`finish_closures`), and
every tick `send_certificates` sends each person of a match that completed the program
their certificate, in their language, once (`storage.certificates` records it).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import NetworkError, RetryAfter, TelegramError, TimedOut

from conversations.instruments import YES
from conversations.kit.alerting import coordinators
from conversations.kit.buttons import keyboard
from conversations.kit.certificate import file_name, render_certificate
from conversations.kit.reply import Effect
from conversations.kit.text import person_name
from locales.translator import Html, Translator, translator
from storage.certificates import (
    CertificateFacts,
    Due,
    certificate_facts,
    certificates_due,
    claim_certificate,
    record_certificate,
)
from storage.clock import utcnow
from storage.closure import (
    ClosureError,
    ClosureProblem,
    ClosureReason,
    answer_extension,
    current_extension,
    set_wants_rematch,
)
from storage.db import Database
from storage.models import (
    DeliveryStatus,
    ExtensionCopy,
    ExtensionStatus,
    Match,
    MatchExtension,
    Person,
    Program,
    Prompt,
    PromptKind,
)

log = logging.getLogger(__name__)

EXTEND, REMATCH = "extend", "rematch"  # the question keys with consequences
# y/n rather than the a/d of the buttons that carried a match id, so that those, still
# in coordinators' chats, are refused rather than read as a request's id.
EXTENSION_PREFIX, APPROVE, DECLINE = "ext", "y", "n"
WITH_FACTS = (PromptKind.CLOSURE, PromptKind.FOLLOWUP)


def extension_data(action: str, extension_id: int) -> str:
    return f"{EXTENSION_PREFIX}:{action}:{extension_id}"


async def prompt_facts(session: AsyncSession, prompt: Prompt) -> dict[str, str | None]:
    """The facts a closure survey's or follow-up's questions depend on (see
    `Instrument.given`): the program's track, and whether the match ended as planned."""
    match = await session.get(Match, prompt.match_id)
    program = await session.get(Program, match.program_id) if match else None
    early = match is not None and match.closure_reason not in (None, ClosureReason.COMPLETED)
    return {"track": program.track if program else None, "ending": "early" if early else "planned"}


@dataclass
class Consequence:
    """What an answer did besides being stored: a refusal (nothing stored), lines for the
    person, messages for others once committed."""

    refusal: str | None = None
    lines: list[str] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)


async def on_answer(
    session: AsyncSession,
    tr: Translator,
    prompt: Prompt,
    person: Person,
    answers: dict[str, str],
    key: str,
    value: str,
    now: datetime,
) -> Consequence:
    """Apply an answer to a closure notice or survey before it is stored (see the module
    docstring); nothing for other prompts and questions."""
    if prompt.kind == PromptKind.CLOSURE_NOTICE and key == EXTEND:
        return await _extension(session, tr, prompt, person, answers, value == YES, now)
    if prompt.kind == PromptKind.CLOSURE and key == REMATCH:
        match = await session.get(Match, prompt.match_id)
        if match is not None:
            try:
                await set_wants_rematch(session, match, person.id or 0, value == YES, now)
            except ClosureError:
                return Consequence(refusal=tr.gettext("Only the mentee can ask for a new match."))
    return Consequence()


async def _extension(
    session: AsyncSession,
    tr: Translator,
    prompt: Prompt,
    person: Person,
    answers: dict[str, str],
    wants: bool,
    now: datetime,
) -> Consequence:
    match = await session.get(Match, prompt.match_id)
    if EXTEND in answers or match is None:
        return Consequence(refusal=tr.gettext("Your answer about extending is already recorded."))
    try:
        extension = await answer_extension(
            session, match, person.id or 0, wants, now, planned_end=_notice_end(prompt)
        )
    except ClosureError as error:
        if error.problem == ClosureProblem.ALREADY_ANSWERED:
            return Consequence(
                refusal=tr.gettext("Your answer about extending is already recorded.")
            )
        if error.problem == ClosureProblem.EARLIER_ROUND:
            return Consequence(
                refusal=tr.gettext(
                    "This question was about an earlier end date, so it no longer works. "
                    "Your mentorship now ends on {date}.",
                    date=Html(tr.date(error.match.planned_end)),
                )
            )
        over = tr.gettext("The extension is no longer possible: your mentorship ends as planned.")
        return Consequence(lines=[over])
    if not wants:
        return Consequence(lines=[tr.gettext("Noted: your mentorship ends as planned.")])
    if extension.status == ExtensionStatus.AGREED:
        match_id = match.id or 0
        line = tr.gettext(
            "You both would like to extend. Your coordinator will decide, and I'll tell you."
        )

        async def ask(bot: Bot, database: Database) -> None:
            await ask_coordinators(bot, database, match_id)

        return Consequence(lines=[line], effects=[ask])
    return Consequence(lines=[tr.gettext("Noted. An extension also needs your partner's yes.")])


def _notice_end(prompt: Prompt) -> date | None:
    """The planned end a closure notice was about (its period), which is the extension
    request's round; None for a period that is no date."""
    try:
        return date.fromisoformat(prompt.period)
    except ValueError:
        return None


# --- the coordinators' decision ---------------------------------------------------------------


def extension_request(
    tr: Translator, program: Program, mentor: Person, mentee: Person, extension: MatchExtension
) -> str:
    """The request as coordinators read it (the planned end it would move)."""
    return tr.gettext(
        "<b>{program}</b>: {mentor} and {mentee} (match #{match}) would both like to extend "
        "their mentorship by {weeks} weeks, past {date}. Approve?",
        program=program.name,
        mentor=person_name(tr, mentor),
        mentee=person_name(tr, mentee),
        match=extension.match_id,
        weeks=extension.weeks,
        date=Html(tr.date(extension.planned_end)),
    )


def extension_outcome(tr: Translator, extension: MatchExtension, by: Person | None) -> str:
    """What was decided and by whom, as every coordinator's copy of the request ends."""
    approved = extension.status == ExtensionStatus.APPROVED
    # The planned end it ends on now: moved by the extension when approved.
    ends = extension.planned_end + timedelta(weeks=extension.weeks if approved else 0)
    day = Html(tr.date(ends))
    if approved:
        return tr.gettext(
            "✅ Approved by {name}: the mentorship now ends on {date}.",
            name=person_name(tr, by),
            date=day,
        )
    return tr.gettext(
        "✖️ Declined by {name}: the mentorship ends on {date} as planned.",
        name=person_name(tr, by),
        date=day,
    )


async def _request_parts(
    session: AsyncSession, extension: MatchExtension
) -> tuple[Program, Person, Person] | None:
    match = await session.get(Match, extension.match_id)
    program = await session.get(Program, match.program_id) if match else None
    mentor = await session.get(Person, match.mentor_id) if match else None
    mentee = await session.get(Person, match.mentee_id) if match else None
    if program is None or mentor is None or mentee is None:
        return None
    return program, mentor, mentee


async def decided_request(
    session: AsyncSession, tr: Translator, extension: MatchExtension
) -> str | None:
    """A request nobody can act on any more, as a coordinator's copy shows it: the request,
    then who decided what, or (never decided: a participant's erasure ended the match
    first) that nothing is left to decide. None when its match is gone."""
    parts = await _request_parts(session, extension)
    if parts is None:
        return None
    request = extension_request(tr, *parts, extension)
    if extension.status not in (ExtensionStatus.APPROVED, ExtensionStatus.REFUSED):
        return request + "\n\n" + tr.gettext("The match has ended: nothing is left to decide.")
    by = None if extension.decided_by is None else await session.get(Person, extension.decided_by)
    return request + "\n\n" + extension_outcome(tr, extension, by)


async def ask_coordinators(bot: Bot, database: Database, match_id: int) -> int:
    """Send each coordinator of the match's program, in their language, the agreed
    extension with Approve / Decline, and record each copy (`ExtensionCopy`) so that it
    shows the decision once one of them decides; returns the messages sent."""
    async with database.session() as session:
        match = await session.get(Match, match_id)
        extension = None if match is None else await current_extension(session, match)
        parts = None if extension is None else await _request_parts(session, extension)
        readers = [] if parts is None else await coordinators(session, parts[0].id or 0)
    if extension is None or parts is None:
        return 0
    copies: list[ExtensionCopy] = []
    for reader in readers:
        if reader.chat_id is None:
            continue
        tr = translator(reader.locale)
        text = extension_request(tr, *parts, extension)
        markup = keyboard(
            [[(tr.gettext("✅ Approve"), extension_data(APPROVE, extension.id or 0)),
              (tr.gettext("✖️ Decline"), extension_data(DECLINE, extension.id or 0))]]
        )  # fmt: skip
        try:
            message = await bot.send_message(
                reader.chat_id, text, parse_mode=ParseMode.HTML, reply_markup=markup
            )
        except TelegramError as error:
            log.info("could not ask a coordinator about an extension: %s", type(error).__name__)
            continue
        copies.append(
            ExtensionCopy(
                extension_id=extension.id or 0,
                person_id=reader.id or 0,
                chat_id=reader.chat_id,
                message_id=message.message_id,
                sent_at=utcnow(),
            )
        )
    if copies:
        async with database.session() as session:
            session.add_all(copies)
    return len(copies)


async def refresh_extension_copies(
    bot: Bot, database: Database, extension_id: int, edited: tuple[int, int] | None = None
) -> int:
    """Edit every coordinator's copy of a decided request, but `edited` (chat id, message
    id, already up to date), to show who decided what, each in its reader's language,
    without buttons. Call once the decision has committed; returns the copies edited."""
    edits: list[tuple[int, int, str]] = []
    async with database.session() as session:
        extension = await session.get(MatchExtension, extension_id)
        if extension is None:
            return 0
        rows = await session.exec(
            select(ExtensionCopy, Person)
            .join(Person, col(Person.id) == col(ExtensionCopy.person_id))
            .where(ExtensionCopy.extension_id == extension_id)
            .order_by(col(ExtensionCopy.id))
        )
        for copy, reader in rows.all():
            if (copy.chat_id, copy.message_id) == edited:
                continue
            text = await decided_request(session, translator(reader.locale), extension)
            if text is not None:
                edits.append((copy.chat_id, copy.message_id, text))
    done = 0
    for chat_id, message_id, text in edits:
        try:
            await bot.edit_message_text(
                text, chat_id=chat_id, message_id=message_id, parse_mode=ParseMode.HTML
            )
        except TelegramError as error:
            if "not modified" not in str(error).lower():
                log.info("could not update an extension request: %s", type(error).__name__)
            continue
        done += 1
    return done


# --- certificates -----------------------------------------------------------------------------


async def send_certificate(
    bot: Bot, chat_id: int, tr: Translator, facts: CertificateFacts, content: bytes | None = None
) -> None:
    """Send the certificate, rendering the PDF off the event loop (it takes a few tenths
    of a second) unless it is given."""
    if content is None:
        content = await asyncio.to_thread(render_certificate, tr, facts)
    await bot.send_document(
        chat_id,
        document=content,
        filename=file_name(tr, facts),
        caption=tr.gettext(
            "Your certificate of completion for <b>{program}</b>. Congratulations!",
            program=facts.program,
        ),
        parse_mode=ParseMode.HTML,
    )


async def send_certificates(bot: Bot, database: Database, now: datetime) -> int:
    """Each person of a match that closed having completed the program gets their
    certificate once, in their language (not after an early end). Every dispatcher tick
    sends those not sent yet, so one lost to a stop between closing the match and sending
    goes out on the next tick. Each is rendered, then claimed, then sent, then recorded:
    a send that may have arrived (a timeout) is never repeated, one that surely did not
    (the network, flood control) is tried again on a later tick. Never raises: a closed
    match stays closed, and /certificate gives it again. Returns the documents sent."""
    async with database.session() as session:
        due = [
            (item, translator(item.person.locale), await _facts(session, item, now))
            for item in await certificates_due(session, now)
        ]
    sent = 0
    for item, tr, facts in due:
        match_id, person_id = item.match.id or 0, item.person.id or 0
        content = await asyncio.to_thread(render_certificate, tr, facts)
        async with database.session() as session:
            if not await claim_certificate(session, match_id, person_id, now):
                continue
        status: DeliveryStatus | None = DeliveryStatus.SENT
        try:
            await send_certificate(bot, item.person.chat_id or 0, tr, facts, content)
        except TimedOut:
            status = DeliveryStatus.UNCERTAIN
        except (RetryAfter, NetworkError) as error:
            log.info("a certificate will be sent again: %s", type(error).__name__)
            status = None
        except TelegramError as error:
            log.info("could not send a certificate: %s", type(error).__name__)
            status = DeliveryStatus.FAILED
        async with database.session() as session:
            await record_certificate(session, match_id, person_id, status, now)
        sent += status == DeliveryStatus.SENT
    return sent


async def _facts(session: AsyncSession, item: Due, now: datetime) -> CertificateFacts:
    return await certificate_facts(session, item.match, item.program, item.person, now)
