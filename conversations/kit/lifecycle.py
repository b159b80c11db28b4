"""What answering the prompts of a match's end does, beyond storing the answer, and the
messages it causes (`storage.closure` is the lifecycle itself):

- the closure notice's ``extend`` question is the person's answer to "extend the
  match?" (`answer_extension`); it is given once. When both said yes, every coordinator
  of the program gets a one-tap Approve / Decline message (callback data
  ``ext:<a|d>:<match id>``, handled by conversations/closure/);
- a mentee's closure survey ``rematch`` answer marks (or unmarks) their wish for a new
  match (`set_wants_rematch`);
- closure surveys and follow-ups are asked with the facts their questions depend on:
  the program's track, and whether the match ended early.

The dispatcher closes a match once both surveys are settled (`finish_closures`), then
`send_certificates` sends each person of a match that completed the program their
certificate, in their language.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import TelegramError

from conversations.instruments import YES
from conversations.kit.alerting import coordinators
from conversations.kit.buttons import keyboard
from conversations.kit.certificate import file_name, render_certificate
from conversations.kit.reply import Effect
from conversations.kit.text import person_name
from locales.translator import Html, Translator, translator
from storage.certificates import CertificateFacts, certificate_facts, completed
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
    ExtensionStatus,
    Match,
    MatchExtension,
    Person,
    PersonStatus,
    Program,
    Prompt,
    PromptKind,
)

log = logging.getLogger(__name__)

EXTEND, REMATCH = "extend", "rematch"  # the question keys with consequences
EXTENSION_PREFIX, APPROVE, DECLINE = "ext", "a", "d"
WITH_FACTS = (PromptKind.CLOSURE, PromptKind.FOLLOWUP)
UNREACHABLE = (PersonStatus.UNREACHABLE, PersonStatus.CLOSED, PersonStatus.ERASED)


def extension_data(action: str, match_id: int) -> str:
    return f"{EXTENSION_PREFIX}:{action}:{match_id}"


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
        extension = await answer_extension(session, match, person.id or 0, wants, now)
    except ClosureError as error:
        if error.problem == ClosureProblem.ALREADY_ANSWERED:
            return Consequence(
                refusal=tr.gettext("Your answer about extending is already recorded.")
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


async def ask_coordinators(bot: Bot, database: Database, match_id: int) -> int:
    """Send each coordinator of the match's program, in their language, the agreed
    extension with Approve / Decline; returns the messages sent."""
    async with database.session() as session:
        match = await session.get(Match, match_id)
        program = await session.get(Program, match.program_id) if match else None
        if match is None or program is None:
            return 0
        mentor = await session.get(Person, match.mentor_id)
        mentee = await session.get(Person, match.mentee_id)
        extension = await current_extension(session, match)
        readers = await coordinators(session, program.id or 0)
    if mentor is None or mentee is None or extension is None:
        return 0
    sent = 0
    for reader in readers:
        if reader.chat_id is None:
            continue
        tr = translator(reader.locale)
        text = extension_request(tr, program, mentor, mentee, extension)
        markup = keyboard(
            [[(tr.gettext("✅ Approve"), extension_data(APPROVE, match_id)),
              (tr.gettext("✖️ Decline"), extension_data(DECLINE, match_id))]]
        )  # fmt: skip
        try:
            await bot.send_message(
                reader.chat_id, text, parse_mode=ParseMode.HTML, reply_markup=markup
            )
        except TelegramError as error:
            log.info("could not ask a coordinator about an extension: %s", type(error).__name__)
            continue
        sent += 1
    return sent


# --- certificates -----------------------------------------------------------------------------


async def send_certificate(bot: Bot, chat_id: int, tr: Translator, facts: CertificateFacts) -> None:
    """Render the PDF off the event loop (it takes a few tenths of a second) and send it."""
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


async def send_certificates(
    bot: Bot, database: Database, match_ids: Sequence[int], now: datetime
) -> int:
    """Each person of the matches that closed having completed the program gets their
    certificate, in their language (not after an early end); returns the documents sent.
    Never raises: a closed match stays closed, and /certificate gives it again."""
    letters: list[tuple[int, Translator, CertificateFacts]] = []
    async with database.session() as session:
        for match_id in match_ids:
            match = await session.get(Match, match_id)
            program = await session.get(Program, match.program_id) if match else None
            if match is None or program is None or not completed(match, program):
                continue
            for person_id in (match.mentee_id, match.mentor_id):
                person = await session.get(Person, person_id)
                if person is None or person.chat_id is None or person.status in UNREACHABLE:
                    continue
                facts = await certificate_facts(session, match, program, person, now)
                letters.append((person.chat_id, translator(person.locale), facts))
    sent = 0
    for chat_id, tr, facts in letters:
        try:
            await send_certificate(bot, chat_id, tr, facts)
        except TelegramError as error:
            log.info("could not send a certificate: %s", type(error).__name__)
            continue
        sent += 1
    return sent
