"""The weekly digest: once a week every coordinator (finished joining, reachable) receives
one message, in their language, summarising each program they coordinate over the last
complete ISO week — open flags (by severity, the most severe few by name and match), the
check-ins answered against the week before, the meetings logged and hours together, and
the active matches with no contact at all; and once a match has closed, the program's
outcomes (`storage.outcomes`).

```mermaid
stateDiagram-v2
    [*] --> Due: the coordinator's digest time passed (looked for each quarter hour)
    Due --> Claimed: (coordinator, week) claimed in the database
    Claimed --> Sent: delivered
    Claimed --> Due: flood control (released, tried at the next look)
    Claimed --> Failed: any other failure (logged, not sent again that week)
    Sent --> [*]
    Failed --> [*]
```

It has no handlers: bot/app.py hands it to the dispatcher.

It falls due at the program's digest day and time (``settings["digest"]``, default Monday
08:00; `storage.summary.digest_slot`) in the coordinator's own time zone, or their
program's while they have none. A coordinator of several programs gets one digest, at
the earliest of their programs' times, covering those that have it on.

The dispatcher's tick calls `send_due`; it looks for due digests once per quarter of an
hour and claims each (coordinator, week) in the database before sending, so a digest is
sent at most once even across restarts and two instances. A digest Telegram refused with
flood control (certainly not delivered) is released and tried again at the next look;
any other failure is logged by its class name and that week's digest is not sent again.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Bot
from telegram.constants import MessageLimit, ParseMode
from telegram.error import Forbidden, RetryAfter, TelegramError

from conversations.kit.outcome_text import outcome_lines
from conversations.kit.text import (
    RULE_TITLES,
    answered,
    flags_line,
    hours,
    person_name,
    telegram_length,
)
from locales.translator import Translator, translator
from storage.db import Database
from storage.flags import Severity
from storage.outcomes import Outcomes, program_outcomes
from storage.schedule import period_monday
from storage.summary import (
    DueDigest,
    FlagLine,
    Review,
    claim_digests,
    digest_check_due,
    digest_recipients,
    due_digest,
    release_digest,
    week_in_review,
)

log = logging.getLogger(__name__)


# --- words ----------------------------------------------------------------------------------


def _flag_line(tr: Translator, line: FlagLine) -> str:
    title = RULE_TITLES.get(line.flag.rule)  # type: ignore[call-overload]
    rule = tr.gettext(title) if title else line.flag.rule
    icon = "🚨" if line.flag.severity == Severity.URGENT else "•"
    return tr.gettext(
        "{icon} {rule} · {mentor} ↔ {mentee} (match {id})",
        icon=icon,
        rule=rule,
        mentor=person_name(tr, line.mentor),
        mentee=person_name(tr, line.mentee),
        id=line.flag.match_id,
    )


def review_text(tr: Translator, review: Review) -> str:
    """One program's block of the digest (Telegram HTML)."""
    lines = [
        tr.gettext("<b>{program}</b>", program=review.program.name),
        flags_line(tr, review.flags),
        *(_flag_line(tr, line) for line in review.flags.top),
        tr.gettext(
            "Check-ins answered: {rate}; the week before: {before}.",
            rate=answered(tr, review.rate),
            before=answered(tr, review.previous),
        ),
        tr.ngettext(
            "Meetings logged: {n}, {hours} h together (logged, or estimated by the mentor).",
            "Meetings logged: {n}, {hours} h together (logged, or estimated by the mentor).",
            review.meetings,
            hours=hours(tr, review.minutes),
        ),
    ]
    if review.active:
        lines.append(
            tr.ngettext(
                "No contact at all: {silent} of {n} active match.",
                "No contact at all: {silent} of {n} active matches.",
                review.active,
                silent=tr.number(review.silent),
            )
        )
    else:
        lines.append(tr.gettext("No match was active all week."))
    return "\n".join(lines)


def digest_texts(
    tr: Translator,
    week: str,
    reviews: Sequence[Review],
    outcomes: Mapping[int, Outcomes] | None = None,
) -> list[str]:
    """The digest: one message, or several when it would exceed Telegram's limit (split
    between programs). Each program's block ends with its outcomes, once a match of it
    has closed (`outcomes`, by program id)."""
    monday = period_monday(week)
    assert monday is not None, week
    head = tr.gettext("📬 <b>Your weekly digest</b> · week of {date}", date=tr.date(monday, "long"))
    foot = tr.gettext("/flags lists every open flag; /dashboard shows this week's figures.")
    messages: list[str] = []
    current = head
    for review in reviews:
        found = (outcomes or {}).get(review.program.id or 0, Outcomes())
        block = "\n".join([review_text(tr, review), *outcome_lines(tr, found)])
        if telegram_length(current) + telegram_length(block) + 2 > MessageLimit.MAX_TEXT_LENGTH:
            messages.append(current)
            current = block
        else:
            current += "\n\n" + block
    if telegram_length(current) + telegram_length(foot) + 2 > MessageLimit.MAX_TEXT_LENGTH:
        messages.append(current)
        current = foot
    else:
        current += "\n\n" + foot
    return [*messages, current]


async def render(session: AsyncSession, digest: DueDigest, now: datetime) -> list[str]:
    tr = translator(digest.person.locale)
    reviews = [
        await week_in_review(session, program, digest.week, now) for program in digest.programs
    ]
    outcomes = {
        program.id or 0: await program_outcomes(session, program) for program in digest.programs
    }
    return digest_texts(tr, digest.week, reviews, outcomes)


# --- sending ----------------------------------------------------------------------------------


async def send_due(bot: Bot, database: Database, now: datetime) -> int:
    """Every dispatcher tick: once per quarter of an hour, claim the digests that are due
    and send them. Never raises. Returns the digests sent."""
    try:
        async with database.session() as session:
            if not await digest_check_due(session, now):
                return 0
            due = [
                digest
                for person, programs in await digest_recipients(session)
                if (digest := due_digest(person, programs, now)) is not None
            ]
            claimed = await claim_digests(session, [digest.key for digest in due], now)
    except Exception:
        log.exception("could not look for due digests")
        return 0
    sent = 0
    for digest in due:
        if digest.key in claimed:
            sent += await _send(bot, database, digest, now)
    if claimed:
        log.info("digests: %d claimed, %d sent", len(claimed), sent)
    return sent


async def _send(bot: Bot, database: Database, digest: DueDigest, now: datetime) -> int:
    """Write and send one claimed digest; 1 once it is delivered."""
    try:
        async with database.session() as session:
            texts = await render(session, digest, now)
    except Exception:
        log.exception("could not write a digest")
        await _release(database, digest)
        return 0
    chat_id = digest.person.chat_id or digest.person.telegram_id
    delivered = 0
    try:
        for text in texts:
            await bot.send_message(chat_id, text, parse_mode=ParseMode.HTML)
            delivered += 1
    except RetryAfter:
        log.warning("digest not delivered: RetryAfter")
        if not delivered:
            await _release(database, digest)
        return 0
    except Forbidden:
        log.info("digest not delivered: the coordinator blocked the bot")
        return 0
    except TelegramError as error:
        log.warning("digest not delivered: %s", type(error).__name__)
        return 0
    return 1


async def _release(database: Database, digest: DueDigest) -> None:
    try:
        async with database.session() as session:
            await release_digest(session, digest.key)
    except Exception:
        log.exception("could not release a digest's claim")
